import { afterEach, describe, expect, it } from 'vitest';
import { GRAPH_LIMITS, resourceUnits } from '../../src/sim/throttle';
import { graphError, noRetry, startHarness, type Harness, type HarnessOptions } from './harness';
import { G, U, tinyTenant } from './tiny-tenant';

let h: Harness;
afterEach(() => h?.close());
const start = async (options: Partial<HarnessOptions> = {}) => (h = await startHarness({ tenant: tinyTenant(), ...options }));
const REPORT = '/reports/authenticationMethods/userRegistrationDetails';

describe('the published limits and the cost table', () => {
  it('defaults to Graph’s published limits', () => {
    expect(GRAPH_LIMITS).toEqual({
      identityResourceUnits: { limit: 8000, windowSeconds: 10 },
      identityWrites: { limit: 3000, windowSeconds: 150 },
      reports: { limit: 5, windowSeconds: 10 },
      conditionalAccess: { limit: 1, windowSeconds: 1 },
      teamsActivity: { limit: 5, windowSeconds: 1 },
      teamsInstalledApps: { limit: 30, windowSeconds: 1 },
    });
  });

  // concepts/throttling-limits.md, "Identity and access service limits": base costs and the other factors.
  it.each([
    { name: 'GET users costs 2', input: { method: 'GET', baseCost: 2 }, want: 2 },
    { name: 'GET groups/{id}/members costs 3', input: { method: 'GET', baseCost: 3 }, want: 3 },
    { name: 'GET groups/{id}/transitiveMembers costs 5', input: { method: 'GET', baseCost: 5 }, want: 5 },
    { name: '$select lowers the cost by 1', input: { method: 'GET', baseCost: 5, select: true }, want: 4 },
    { name: '$expand adds 1', input: { method: 'GET', baseCost: 1, expand: true }, want: 2 },
    { name: '$top below 20 lowers the cost by 1', input: { method: 'GET', baseCost: 3, smallTop: true }, want: 2 },
    { name: 'never below 1', input: { method: 'GET', baseCost: 1, select: true, smallTop: true }, want: 1 },
    { name: 'a write costs 1', input: { method: 'POST', baseCost: 1 }, want: 1 },
  ])('$name', ({ input, want }) => {
    expect(resourceUnits({ throttleClass: 'identity', expand: false, select: false, smallTop: false, ...input })).toBe(want);
  });
});

describe('reports: 5 requests per 10 s', () => {
  it('answers the 6th with 429, Retry-After and Graph’s TooManyRequests body', async () => {
    await start();
    for (let i = 0; i < 5; i++) await h.client.api(REPORT).get();
    h.clock.advance(4_000);
    const err = await graphError(h.client.api(REPORT).middlewareOptions(noRetry()).get());
    expect(err.statusCode).toBe(429);
    expect(err.code).toBe('TooManyRequests');
    expect(err.headers?.get('Retry-After')).toBe('6');
    expect(Object.keys(JSON.parse(err.body as string).innerError).sort()).toEqual(['client-request-id', 'date', 'request-id']);
    expect((await h.sim('GET', '/_sim/requests')).body.throttled).toBe(1);
  });

  it('lets the RetryHandler wait Retry-After (on the fake clock) and succeed', async () => {
    await start();
    for (let i = 0; i < 5; i++) await h.client.api(REPORT).get();
    const res = await h.client.api(REPORT).get();
    expect(res.value.length).toBeGreaterThan(0);
    expect(h.sleeps).toEqual([10]);
  });

  it('counts each inner $batch request on its own; a 429 inside the batch arrives in a 200', async () => {
    await start();
    const requests = Array.from({ length: 7 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: REPORT }));
    const res = await h.client.api('/$batch').post({ requests });
    expect(res.responses.map((r: { status: number }) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(res.responses[5].headers['Retry-After']).toBe('10');
    expect(res.responses[5].body.error.code).toBe('TooManyRequests');
    const stats = (await h.sim('GET', '/_sim/requests')).body;
    expect(stats.total).toBe(1);
    expect(stats.throttled).toBe(2);
    expect(stats.byRoute['GET /v1.0/reports/authenticationMethods/userRegistrationDetails']).toBe(7);
  });
});

describe('Conditional Access: 1 request per second, no Retry-After', () => {
  it('answers the 2nd request within a second with 429 and no Retry-After header', async () => {
    await start();
    await h.client.api('/identity/conditionalAccess/policies').get();
    const err = await graphError(h.client.api('/identity/conditionalAccess/policies').middlewareOptions(noRetry()).get());
    expect(err.statusCode).toBe(429);
    expect(err.headers?.get('Retry-After')).toBeNull();
    h.clock.advance(1_000);
    expect((await h.client.api('/identity/conditionalAccess/policies').get()).value).toHaveLength(1);
  });

  it('leaves the RetryHandler to its own back-off', async () => {
    await start();
    await h.client.api('/identity/conditionalAccess/policies').get();
    await h.client.api('/identity/conditionalAccess/policies').get();
    expect(h.sleeps).toHaveLength(1);
    expect(h.sleeps[0]).toBeGreaterThanOrEqual(3);
    expect(h.sleeps[0]).toBeLessThan(4);
  });
});

describe('identity and access resource units', () => {
  it('throttles by resource units and frees them as the window slides', async () => {
    await start({ limits: { identityResourceUnits: { limit: 10, windowSeconds: 10 } } });
    for (let i = 0; i < 4; i++) await h.client.api('/users').get(); // 8 RU
    h.clock.advance(3_000);
    await h.client.api(`/users/${U.adele}`).get(); // 9 RU
    await h.client.api('/users').select('id').get(); // 10 RU
    const err = await graphError(h.client.api(`/users/${U.alex}`).middlewareOptions(noRetry()).get());
    expect(err.statusCode).toBe(429);
    expect(err.headers?.get('Retry-After')).toBe('7');
    h.clock.advance(7_000);
    expect((await h.client.api(`/users/${U.alex}`).get()).id).toBe(U.alex);
  });

  it('throttles writes on their own quota', async () => {
    await start({ limits: { identityWrites: { limit: 2, windowSeconds: 150 } } });
    const ref = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
    await h.client.api(`/groups/${G.enforced}/members/$ref`).post(ref(U.adele));
    await h.client.api(`/groups/${G.enforced}/members/$ref`).post(ref(U.alex));
    const err = await graphError(h.client.api(`/groups/${G.enforced}/members/$ref`).middlewareOptions(noRetry()).post(ref(U.diego)));
    expect(err.statusCode).toBe(429);
    expect(err.headers?.get('Retry-After')).toBe('150');
    expect((await h.client.api('/users').get()).value).toHaveLength(6); // reads are unaffected
  });

  it('can be switched off and on through /_sim/faults', async () => {
    await start();
    expect((await h.sim('POST', '/_sim/faults', { throttle: false })).body.throttle).toBe(false);
    for (let i = 0; i < 12; i++) await h.client.api(REPORT).middlewareOptions(noRetry()).get();
    await h.sim('POST', '/_sim/faults', { throttle: true, limits: { reports: { limit: 1 } } });
    await h.client.api(REPORT).get();
    expect((await graphError(h.client.api(REPORT).middlewareOptions(noRetry()).get())).statusCode).toBe(429);
    expect((await h.sim('GET', '/_sim/requests')).body.throttled).toBe(1);
  });

  it('starts with throttling off when asked', async () => {
    await start({ faults: { throttle: false } });
    for (let i = 0; i < 8; i++) await h.client.api(REPORT).middlewareOptions(noRetry()).get();
    expect(h.sleeps).toEqual([]);
  });
});
