// The Functions handlers with a fake reconcile runtime: the timer runs every in-progress campaign, and
// the postponement endpoint never spends a token on GET (mail scanners open links).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { postponeHttp, RateLimiter, reconcileTimer, type HandlerDeps } from '../../src/apps/functions/handlers';
import { loadRuntime, type SchedulerRuntime } from '../../src/apps/functions/runtime';
import { UnresolvedKeyVaultReferenceError, readSettings } from '../../src/apps/functions/settings';
import { normalizeSchedule } from '../../src/stack/settings';

const NOW = new Date('2026-12-01T06:00:00Z');
const env = { CAMPAIGN_NAMES: 'admins-passkeys,all-staff-passkeys', CAMPAIGN_STATE: 'azblob://acct/ledger', CAMPAIGN_POSTPONE_KEY: 'k'.repeat(48) };

function deps(runtime: Partial<SchedulerRuntime>, extraEnv: Record<string, string> = {}) {
  const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const d: HandlerDeps = { env: { ...env, ...extraEnv }, runtime: async () => runtime as SchedulerRuntime, now: () => NOW, log, limiter: new RateLimiter(10) };
  return { d, log };
}

describe('reconcile timer', () => {
  it('runs the in-progress campaigns with the app settings and logs one line per campaign', async () => {
    const runScheduledReconcile = vi.fn(async () => [{ campaign: 'admins-passkeys', ok: true, summary: { groupAdds: 2 } }, { campaign: 'all-staff-passkeys', ok: true, summary: {} }]);
    const { d, log } = deps({ runScheduledReconcile });
    await reconcileTimer(d);
    expect(runScheduledReconcile).toHaveBeenCalledWith(expect.objectContaining({ now: NOW, settings: expect.objectContaining({ campaigns: ['admins-passkeys', 'all-staff-passkeys'], state: 'azblob://acct/ledger', graphUrl: 'https://graph.microsoft.com' }) }));
    expect(log.info).toHaveBeenCalledWith('reconcile run finished', { campaign: 'admins-passkeys', groupAdds: 2 });
  });

  it('fails the run when a campaign failed, naming it', async () => {
    const { d } = deps({ runScheduledReconcile: async () => [{ campaign: 'admins-passkeys', ok: false, error: 'Graph 503' }] });
    await expect(reconcileTimer(d)).rejects.toThrow('reconcile failed for admins-passkeys; see the logged errors.');
  });

  it('does nothing when no campaign is in progress', async () => {
    const runScheduledReconcile = vi.fn();
    const { d } = deps({ runScheduledReconcile }, { CAMPAIGN_NAMES: '' });
    await reconcileTimer(d);
    expect(runScheduledReconcile).not.toHaveBeenCalled();
  });

  it('names a missing app setting', () => {
    expect(() => readSettings({})).toThrow('app setting CAMPAIGN_STATE is missing; it is set by the Pulumi stack (CampaignScheduler). Run pulumi up.');
  });

  it('reads the postponement keys App Service resolved from their Key Vault references like any other setting', () => {
    expect(readSettings({ ...env, CAMPAIGN_POSTPONE_KEY_PREVIOUS: 'p'.repeat(48) })).toMatchObject({ postponeKey: 'k'.repeat(48), postponeKeyPrevious: 'p'.repeat(48) });
  });

  // App Service passes a reference it cannot resolve through as its literal text; that must never become the HMAC key.
  it.each(['CAMPAIGN_POSTPONE_KEY', 'CAMPAIGN_POSTPONE_KEY_PREVIOUS'])('refuses %s when it is still an unresolved Key Vault reference, naming the setting', (name) => {
    const reference = '@Microsoft.KeyVault(SecretUri=https://passkeys-kv-2ce5e2.vault.azure.net/secrets/postpone-key/0123456789abcdef0123456789abcdef)';
    let error: unknown;
    try { readSettings({ ...env, [name]: reference }); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(UnresolvedKeyVaultReferenceError);
    expect((error as UnresolvedKeyVaultReferenceError).setting).toBe(name);
    expect((error as Error).message).toMatch(new RegExp(`^app setting ${name} is an unresolved Key Vault reference: App Service could not read the secret\\. Check that the app's keyVaultReferenceIdentity`));
  });

  it('fails the timer run, before any reconcile, when the key is an unresolved reference', async () => {
    const runScheduledReconcile = vi.fn();
    const { d } = deps({ runScheduledReconcile }, { CAMPAIGN_POSTPONE_KEY: '@Microsoft.KeyVault(VaultName=passkeys-kv-2ce5e2;SecretName=postpone-key)' });
    await expect(reconcileTimer(d)).rejects.toThrow(/^app setting CAMPAIGN_POSTPONE_KEY is an unresolved Key Vault reference/);
    expect(runScheduledReconcile).not.toHaveBeenCalled();
  });
});

describe('postponement endpoint', () => {
  it('answers 429 with Retry-After once a client has posted 10 times in a minute, and other clients still get through', async () => {
    const applyPostponeLink = vi.fn(async () => ({ ok: false, reason: 'badSignature', message: 'no' }));
    const { d } = deps({ applyPostponeLink });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await postponeHttp({ method: 'POST', token: 'abc.def', client: '203.0.113.9' }, d)).status);
    expect(statuses).toEqual([...Array(10).fill(410), 429, 429]);
    const limited = await postponeHttp({ method: 'POST', token: 'abc.def', client: '203.0.113.9' }, d);
    expect(limited.headers['retry-after']).toBe('60');
    expect(applyPostponeLink).toHaveBeenCalledTimes(10);
    expect((await postponeHttp({ method: 'POST', token: 'abc.def', client: '198.51.100.1' }, d)).status).toBe(410);
  });

  it('lets a limited client through again once its minute is over', () => {
    const limiter = new RateLimiter(2);
    const t = Date.parse('2026-12-01T06:00:00Z');
    expect([limiter.take('a', t), limiter.take('a', t + 1), limiter.take('a', t + 2)]).toEqual([{ ok: true }, { ok: true }, { ok: false, retryAfterSeconds: 60 }]);
    expect(limiter.take('a', t + 60_000)).toEqual({ ok: true });
  });

  it('asks the user to retry (503, the link stays valid) while the campaign is being reconciled', async () => {
    const { d } = deps({ applyPostponeLink: async () => ({ ok: false, reason: 'busy', message: 'The campaign is being updated right now.' }) });
    const res = await postponeHttp({ method: 'POST', token: 'abc.def', client: '203.0.113.7' }, d);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('60');
  });

  it('shows a confirmation form on GET and records nothing', async () => {
    const applyPostponeLink = vi.fn();
    const { d } = deps({ applyPostponeLink });
    const res = await postponeHttp({ method: 'GET', token: 'abc.def', client: '203.0.113.7' }, d);
    expect(res.status).toBe(200);
    expect(res.body).toContain('<form method="post"><input type="hidden" name="token" value="abc.def">');
    expect(applyPostponeLink).not.toHaveBeenCalled();
  });

  it('records the postponement on POST and says the new deadline', async () => {
    const { d } = deps({ applyPostponeLink: async () => ({ ok: true, reason: 'Postponed', message: 'Your deadline is now 4 December.' }) });
    const res = await postponeHttp({ method: 'POST', token: 'abc.def', client: '203.0.113.7' }, d);
    expect(res).toMatchObject({ status: 200, headers: { 'cache-control': 'no-store' } });
    expect(res.body).toContain('<p>Your deadline is now 4 December.</p>');
  });

  it('answers 410 for a link that no longer works, escaping the message', async () => {
    const { d } = deps({ applyPostponeLink: async () => ({ ok: false, reason: 'replayed', message: 'This link was <already> used.' }) });
    const res = await postponeHttp({ method: 'POST', token: 'abc.def', client: '203.0.113.7' }, d);
    expect(res.status).toBe(410);
    expect(res.body).toContain('This link was &#60;already&#62; used.');
  });

  it('answers 400 without a token and 405 for other methods', async () => {
    const { d } = deps({});
    expect((await postponeHttp({ method: 'GET', token: null, client: '203.0.113.7' }, d)).status).toBe(400);
    expect((await postponeHttp({ method: 'DELETE', token: 'x', client: '203.0.113.7' }, d)).status).toBe(405);
  });
});

describe('runtime loading', () => {
  it('finds the scheduled runtime next to it in the built package', async () => {
    const built = path.join(__dirname, '..', '..', 'dist', 'apps', 'functions', 'runtime.js');
    const { loadRuntime: loadBuilt } = createRequire(__filename)(built) as { loadRuntime: typeof loadRuntime };
    const runtime = await loadBuilt();
    expect(typeof runtime.runScheduledReconcile).toBe('function');
    expect(typeof runtime.applyPostponeLink).toBe('function');
  });

  it('says which exports the reconcile module must provide', async () => {
    await expect(loadRuntime('node:path')).rejects.toThrow('node:path must export runScheduledReconcile and applyPostponeLink (see src/contracts/scheduler.ts).');
  });
});

describe('schedule', () => {
  it.each([
    ['0 0 6 * * *', '0 0 6 * * *'],
    ['30 5 * * 1-5', '0 30 5 * * 1-5'],
  ])('accepts %s as %s', (input, expected) => {
    expect(normalizeSchedule(input)).toBe(expected);
  });

  it('rejects a non-CRON value with the config key and an example', () => {
    expect(() => normalizeSchedule('daily')).toThrow('passkey-campaigns:schedule: "daily" is not a CRON expression. Use six NCRONTAB fields (sec min hour day month weekday), e.g. "0 0 6 * * *" for daily 06:00 UTC.');
  });
});
