import { afterEach, describe, expect, it, vi } from 'vitest';
import { FETCH_BAD_PORTS, Graph, SIM_TOKEN } from '../../src/graph/client';
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
    await graph.list('/reports/authenticationMethods/userRegistrationDetails');
    await graph.list('/reports/authenticationMethods/userRegistrationDetails');
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

// Issue #12 item 8: a Graph URL nothing answers at fails within seconds, naming the URL; a server that did
// answer and then resets a connection still gets the whole retry budget. fetch is replaced by one that fails
// the way undici does (a TypeError whose cause carries the system error code) and spends fake time.
describe('connect failures', () => {
  afterEach(() => vi.unstubAllGlobals());

  function failingGraph(code: string, opts: { attemptMs?: number } = {}) {
    const clock = new FakeClock('2026-12-01T06:00:00Z');
    const started = clock.now();
    let calls = 0;
    vi.stubGlobal('fetch', async () => {
      calls++;
      clock.advance(opts.attemptMs ?? 0);
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(`connect ${code} 127.0.0.1:8080`), { code }) });
    });
    const graph = new Graph({ graphUrl: 'http://127.0.0.1:8080', sleep: async (ms) => clock.advance(ms), now: () => clock.now(), retryBudgetMs: 120_000 });
    return { graph, calls: () => calls, elapsed: () => clock.now() - started };
  }

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'])('%s: two retries, then a typed error naming the URL', async (code) => {
    const { graph, calls, elapsed } = failingGraph(code);
    const err = await graph.get('/users').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphUnavailableError);
    expect(err).toMatchObject({ code, retryable: true });
    expect((err as Error).message).toMatch(/^cannot reach Microsoft Graph at http:\/\/127\.0\.0\.1:8080 \(.+\): connect /);
    expect(calls()).toBe(3);
    expect(elapsed()).toBeLessThan(10_000);
  });

  it('a connection that times out at each attempt is not tried again past the 10 s connect budget', async () => {
    const { graph, calls, elapsed } = failingGraph('UND_ERR_CONNECT_TIMEOUT', { attemptMs: 10_000 });
    const err = await graph.get('/users').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UND_ERR_CONNECT_TIMEOUT' });
    expect(calls()).toBe(1);
    expect(elapsed()).toBeLessThan(15_000);
  });

  it('a reset (the server answered the connection) is still retried for the whole retry budget', async () => {
    const { graph, calls, elapsed } = failingGraph('ECONNRESET');
    const err = await graph.get('/users').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNRESET' });
    expect((err as Error).message).toMatch(/^GET http:\/\/127\.0\.0\.1:8080\/v1\.0\/users: connect ECONNRESET/);
    expect(calls()).toBeGreaterThan(5);
    expect(elapsed()).toBeGreaterThan(60_000);
    expect(elapsed()).toBeLessThanOrEqual(120_000);
  });

  it('refuses a port fetch never connects to, at once and naming the URL', () => {
    expect(FETCH_BAD_PORTS.has('6000')).toBe(true);
    expect(() => new Graph({ graphUrl: 'http://127.0.0.1:6000' })).toThrow(GraphRequestError);
    expect(() => new Graph({ graphUrl: 'http://127.0.0.1:6000/' })).toThrow('--graph-url http://127.0.0.1:6000: port 6000 is one that fetch never connects to');
    // Default ports and ordinary ones are fine.
    expect(() => new Graph({ graphUrl: 'https://graph.microsoft.com', token: async () => 't' })).not.toThrow();
    expect(() => new Graph({ graphUrl: 'http://127.0.0.1:8080' })).not.toThrow();
  });

  it('the bad-port list is the one this Node refuses', async () => {
    // Every listed port fails in this Node's fetch before any connection is tried.
    for (const port of FETCH_BAD_PORTS) {
      const cause = await fetch(`http://127.0.0.1:${port}/`).then(() => undefined, (e: { cause?: Error }) => e.cause);
      expect(cause?.message).toBe('bad port');
    }
  });
});
