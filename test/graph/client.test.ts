import { afterEach, describe, expect, it } from 'vitest';
import { Graph, SIM_TOKEN } from '../../src/graph/client';
import { GraphAuthError, GraphRequestError, GraphUnavailableError } from '../../src/graph/errors';
import { FakeClock } from '../../src/sim/clock';
import { generateTenant } from '../../src/sim/generate';
import { startEmulator, type Emulator } from '../../src/sim/server';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function setup(opts: { token?: string; faults?: Record<string, unknown>; graph?: Partial<ConstructorParameters<typeof Graph>[0]> } = {}) {
  const clock = new FakeClock('2026-12-01T06:00:00Z');
  emulator = await startEmulator({ tenant: generateTenant({ users: 35, seed: 2 }), port: 0, token: opts.token ?? SIM_TOKEN, clock });
  if (opts.faults) await fetch(`${emulator.url}/_sim/faults`, { method: 'POST', body: JSON.stringify(opts.faults), headers: { 'Content-Type': 'application/json' } });
  const sleeps: number[] = [];
  const graph = new Graph({ graphUrl: emulator.url, sleep: async (ms) => { sleeps.push(ms); clock.advance(ms); }, now: () => clock.now(), ...opts.graph });
  return { graph, sleeps, clock, emulator };
}

describe('the Graph client', () => {
  it('follows http:// next links through the real client and counts every request', async () => {
    const { graph, emulator } = await setup();
    const users = await graph.list<{ id: string }>('/users', { select: ['id'], top: 10 });
    expect(users).toHaveLength(35);
    expect(graph.stats.requests).toBe(4);
    expect(((await (await fetch(`${emulator.url}/_sim/requests`)).json()) as { total: number }).total).toBe(4);
  });

  it('waits the Retry-After of a 429 before sending again', async () => {
    const { graph, sleeps } = await setup({ faults: { limits: { reports: { limit: 1, windowSeconds: 10 } } } });
    await graph.list('/reports/authenticationMethods/userRegistrationDetails', { top: 999 });
    await graph.list('/reports/authenticationMethods/userRegistrationDetails', { top: 999 });
    expect(graph.stats.throttled).toBe(1);
    expect(sleeps.some((ms) => ms >= 1000 && ms <= 10_000)).toBe(true);
  });

  it('retries only the throttled requests inside a $batch', async () => {
    const { graph } = await setup({ faults: { limits: { identityResourceUnits: { limit: 8, windowSeconds: 10 } } } });
    const users = await graph.list<{ id: string }>('/users', { select: ['id'], top: 999 });
    const res = await graph.batch(users.slice(0, 20).map((u, i) => ({ id: String(i), method: 'GET', url: `/users/${u.id}/authentication/fido2Methods` })));
    expect([...res.values()].map((r) => r.status)).toEqual(new Array(20).fill(200));
    expect(graph.stats.throttled).toBeGreaterThan(0);
  });

  it('gives up on a persistent 503 with a typed, retryable error once the budget is spent', async () => {
    const { graph, sleeps } = await setup({ faults: { error503Rate: 1 }, graph: { retryBudgetMs: 20_000 } });
    const err = await graph.get('/users').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphUnavailableError);
    expect(err).toMatchObject({ status: 503, retryable: true });
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(20_000);
    expect(graph.stats.retries).toBeGreaterThan(2);
  });

  it('does not retry a 401 and reports it as an authentication error', async () => {
    const { graph } = await setup({ token: 'expected-token' });
    const err = await graph.get('/users').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphAuthError);
    expect(err).toMatchObject({ status: 401, code: 'InvalidAuthenticationToken', retryable: false });
    expect(graph.stats.requests).toBe(1);
  });

  it("reports a 404 with Graph's error code", async () => {
    const { graph } = await setup();
    const err = await graph.get('/users/00000000-0000-4000-8000-00000000dead').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphRequestError);
    expect(err).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
  });

  it('abandons an attempt that outlives the time-out and says so', async () => {
    const { graph } = await setup({ faults: { latencyMs: 400 }, graph: { attemptTimeoutMs: 50, retryBudgetMs: 3_000 } });
    const err = await graph.get('/users').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphUnavailableError);
    expect(err).toMatchObject({ code: 'Timeout', retryable: true });
  });

  it('rejects a base URL that is not a URL', () => {
    expect(() => new Graph({ graphUrl: 'graph.microsoft' })).toThrow('--graph-url "graph.microsoft" is not a URL.');
  });
});
