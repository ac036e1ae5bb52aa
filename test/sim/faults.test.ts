import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GraphError } from '@microsoft/microsoft-graph-client';
import { graphError, noRetry, startHarness, type Harness } from './harness';
import { U, tinyTenant } from './tiny-tenant';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ tenant: tinyTenant(), faults: { throttle: false } });
});
afterEach(() => h.close());

describe('POST /_sim/faults', () => {
  it('returns the current fault settings', async () => {
    const res = await h.sim('POST', '/_sim/faults', { latencyMs: 5, error503Rate: 0.25, seed: 9 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ latencyMs: 5, throttle: false, error503Rate: 0.25, resetConnectionRate: 0, failAfterRequests: null, failPaths: [], seed: 9 });
    expect(res.body.limits.reports).toEqual({ limit: 5, windowSeconds: 10 });
    expect((await h.sim('GET', '/_sim/faults')).body).toEqual(res.body);
  });

  it.each([
    { name: 'a rate above 1', body: { error503Rate: 2 }, message: 'faults.error503Rate: must be a number from 0 to 1 (got 2).' },
    { name: 'a non-boolean throttle', body: { throttle: 'yes' }, message: 'faults.throttle: must be true or false (got "yes").' },
    { name: 'an unknown setting', body: { chaos: true }, message: /^faults\.chaos: unknown setting/ },
  ])('rejects $name with 400', async ({ body, message }) => {
    const res = await h.sim('POST', '/_sim/faults', body);
    expect(res.status).toBe(400);
    if (typeof message === 'string') expect(res.body.error.message).toBe(message);
    else expect(res.body.error.message).toMatch(message);
  });
});

describe('503 injection', () => {
  it('answers 503 with a Graph error body, retried by the RetryHandler until it gives up', async () => {
    await h.sim('POST', '/_sim/faults', { error503Rate: 1 });
    const err = await graphError(h.client.api('/users').get());
    expect(err.statusCode).toBe(503);
    expect(err.code).toBe('serviceNotAvailable');
    expect(h.sleeps).toHaveLength(3);
  });

  it('is reproducible from the seed', async () => {
    const run = async () => {
      await h.sim('POST', '/_sim/faults', { error503Rate: 0.5, seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        try {
          await h.client.api(`/users/${U.adele}`).middlewareOptions(noRetry()).get();
          statuses.push(200);
        } catch (e) {
          statuses.push((e as GraphError).statusCode);
        }
      }
      return statuses;
    };
    const first = await run();
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(await run()).toEqual(first);
  });

  it('fails every request after failAfterRequests', async () => {
    await h.sim('POST', '/_sim/faults', { failAfterRequests: 2 });
    await h.client.api('/users').get();
    await h.client.api('/devices').get();
    expect((await graphError(h.client.api('/users').middlewareOptions(noRetry()).get())).statusCode).toBe(503);
    await h.sim('POST', '/_sim/faults', { failAfterRequests: null });
    expect((await h.client.api('/users').get()).value).toHaveLength(6);
  });

  it('fails only the paths in failPaths', async () => {
    await h.sim('POST', '/_sim/faults', { failPaths: [`/users/${U.alex}/authentication`] });
    expect((await graphError(h.client.api(`/users/${U.alex}/authentication/fido2Methods`).middlewareOptions(noRetry()).get())).statusCode).toBe(503);
    expect((await h.client.api(`/users/${U.adele}/authentication/fido2Methods`).get()).value).toHaveLength(1);
  });
});

describe('latency and connection resets', () => {
  it('delays Graph responses by latencyMs', async () => {
    await h.sim('POST', '/_sim/faults', { latencyMs: 150 });
    const t0 = performance.now();
    await h.client.api(`/users/${U.adele}`).get();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('resets connections at resetConnectionRate', async () => {
    await h.sim('POST', '/_sim/faults', { resetConnectionRate: 1 });
    const failure = await h.client.api('/users').get().then(
      () => undefined,
      (e: unknown) => e,
    );
    // graph-client wraps network failures in a GraphError without an HTTP status
    expect(failure).toBeInstanceOf(GraphError);
    expect((failure as GraphError).statusCode).toBe(-1);
    expect((failure as GraphError).message).toBe('fetch failed');
    await h.sim('POST', '/_sim/faults', { resetConnectionRate: 0 });
    expect((await h.client.api('/users').get()).value).toHaveLength(6);
  });
});
