import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPostponeLink, runScheduledReconcile } from '../../src/apps/functions/scheduled';
import type { SchedulerSettings } from '../../src/apps/functions/settings';
import type { LedgerStore } from '../../src/ledger/store';
import { createPostponeToken } from '../../src/notify/postpone-token';
import { harness, START, type Harness } from './harness';

const KEY = 'k'.repeat(40);
const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
let h: Harness | undefined;
let dir: string;
afterEach(async () => {
  await h?.close();
  h = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function settings(extra: Partial<SchedulerSettings> = {}): SchedulerSettings {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scheduled-'));
  const text = fs.readFileSync('test/fixtures/campaigns/admins-passkeys.yaml', 'utf8').replace('status: notStarted', 'status: inProgress');
  fs.writeFileSync(path.join(dir, 'admins-passkeys.yaml'), text);
  return { campaigns: ['admins-passkeys', 'missing-campaign'], campaignsDir: dir, state: path.join(dir, 'state'), graphUrl: h!.emulator.url, postponeKey: KEY, postponeUrl: 'https://scheduler.example/api/postpone', ...extra };
}

describe('the scheduler runtime (what the Functions app runs)', () => {
  it('reconciles every campaign with the CLI code and keeps going past one that fails', async () => {
    h = await harness({ admins: 20 });
    const s = settings();
    const results = await runScheduledReconcile({ settings: s, now: START, log }, { store: h.store, graph: h.graph });
    expect(results.map((r) => [r.campaign, r.ok])).toEqual([['admins-passkeys', true], ['missing-campaign', false]]);
    expect(results[0].summary).toMatchObject({ campaign: 'admins-passkeys', applied: true });
    expect(results[1].error).toMatch(/missing-campaign/);
  });

  it('records a postponement from the signed link in a notification, once', async () => {
    h = await harness({ admins: 20 });
    const s = settings();
    await runScheduledReconcile({ settings: s, now: START, log }, { store: h.store, graph: h.graph });
    const state = await h.state();
    const note = h.emulator.state.notifications.find((n) => state.users[n.userId]?.stage === 'passkeyRegistration')!;
    const text = JSON.stringify(note.request);
    const token = decodeURIComponent(/token=([^\s"\\]+)/.exec(text)![1]);
    const later = new Date(START.getTime() + 86_400_000);
    const first = await applyPostponeLink({ token, settings: s, now: later, log }, { store: h.store });
    expect(first).toEqual({ ok: true, reason: 'Postponed', message: 'Postponed until 2026-12-05.' });
    const again = await applyPostponeLink({ token, settings: s, now: later, log }, { store: h.store });
    expect(again.ok).toBe(false);
    expect(again.reason).toMatch(/replayed|AlreadyPostponed/);
    const tampered = await applyPostponeLink({ token: token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA'), settings: s, now: later, log }, { store: h.store });
    expect(tampered).toMatchObject({ ok: false, reason: 'badSignature' });
  });
});

/** The store with a record of who asked for the campaign lock. */
function watched(store: LedgerStore): { store: LedgerStore; lockOwners: string[] } {
  const lockOwners: string[] = [];
  const proxy: LedgerStore = Object.create(store);
  proxy.acquireLock = (campaign, opts) => {
    lockOwners.push(opts.owner);
    return store.acquireLock(campaign, opts);
  };
  return { store: proxy, lockOwners };
}

describe('the postponement endpoint under abuse and key rotation', () => {
  const forged = (i: number) => createPostponeToken({ campaign: 'admins-passkeys', userId: `u${i}`, stage: 'passkeyRegistration', expiresAt: new Date(START.getTime() + 7 * 86_400_000), key: 'f'.repeat(40) });

  it('checks the signature before touching the store: 64 forged links take no lock and the daily reconcile runs', async () => {
    h = await harness({ admins: 20 });
    const s = settings();
    const w = watched(h.store);
    const [results, refused] = await Promise.all([
      runScheduledReconcile({ settings: { ...s, campaigns: ['admins-passkeys'] }, now: START, log }, { store: w.store, graph: h.graph }),
      Promise.all(Array.from({ length: 64 }, (_, i) => applyPostponeLink({ token: forged(i), settings: s, now: START, log }, { store: w.store }))),
    ]);
    expect(results.map((r) => [r.campaign, r.ok])).toEqual([['admins-passkeys', true]]);
    expect(new Set(refused.map((r) => r.reason))).toEqual(new Set(['badSignature']));
    expect(w.lockOwners.filter((o) => o === 'postpone link')).toEqual([]);
  });

  it('refuses an expired link without touching the store', async () => {
    h = await harness({ admins: 20 });
    const s = settings();
    const w = watched(h.store);
    const token = createPostponeToken({ campaign: 'admins-passkeys', userId: 'u1', stage: 'passkeyRegistration', expiresAt: START, key: KEY });
    expect(await applyPostponeLink({ token, settings: s, now: new Date(START.getTime() + 1), log }, { store: w.store })).toMatchObject({ ok: false, reason: 'expired' });
    expect(w.lockOwners).toEqual([]);
  });

  it('lets the scheduled reconcile wait for a lock a postponement holds instead of failing', async () => {
    h = await harness({ admins: 20 });
    const s = settings();
    const held = await h.store.acquireLock('admins-passkeys', { owner: 'postpone link' });
    setTimeout(() => void held.release(), 300);
    const results = await runScheduledReconcile({ settings: { ...s, campaigns: ['admins-passkeys'] }, now: START, log }, { store: h.store, graph: h.graph });
    expect(results.map((r) => [r.campaign, r.ok, r.error])).toEqual([['admins-passkeys', true, undefined]]);
  });

  it('keeps links signed with the previous key working after a rotation, and only while that key is configured', async () => {
    h = await harness({ admins: 20 });
    const OLD = 'o'.repeat(40);
    const s = settings({ postponeKey: OLD });
    await runScheduledReconcile({ settings: s, now: START, log }, { store: h.store, graph: h.graph });
    const state = await h.state();
    const note = h.emulator.state.notifications.find((n) => state.users[n.userId]?.stage === 'passkeyRegistration')!;
    const token = decodeURIComponent(/token=([^\s"\\]+)/.exec(JSON.stringify(note.request))![1]);
    const later = new Date(START.getTime() + 86_400_000);
    expect(await applyPostponeLink({ token, settings: { ...s, postponeKey: KEY }, now: later, log }, { store: h.store })).toMatchObject({ ok: false, reason: 'badSignature' });
    expect(await applyPostponeLink({ token, settings: { ...s, postponeKey: KEY, postponeKeyPrevious: OLD }, now: later, log }, { store: h.store })).toMatchObject({ ok: true, reason: 'Postponed' });
  });
});

describe('the Functions entry points', () => {
  it('load the compiled runtime from the built package', async () => {
    const { loadRuntime } = await import('../../src/apps/functions/runtime');
    const runtime = await loadRuntime(path.resolve('dist/apps/functions/scheduled.js'));
    expect(typeof runtime.runScheduledReconcile).toBe('function');
    expect(typeof runtime.applyPostponeLink).toBe('function');
  });
});

describe('the configuration the scheduled runs record (campaign-source.json at the package root)', () => {
  const COMMIT = '0123456789abcdef0123456789abcdef01234567';
  /** A package root holding campaigns/admins-passkeys.yaml and, unless null, this campaign-source.json text. */
  function packageRoot(source: string | null): { root: string; sha256: string } {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scheduled-package-'));
    fs.mkdirSync(path.join(dir, 'campaigns'));
    const bytes = Buffer.from(fs.readFileSync('test/fixtures/campaigns/admins-passkeys.yaml', 'utf8').replace('status: notStarted', 'status: inProgress'));
    fs.writeFileSync(path.join(dir, 'campaigns', 'admins-passkeys.yaml'), bytes);
    if (source !== null) fs.writeFileSync(path.join(dir, 'campaign-source.json'), source);
    return { root: dir, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  async function runJob(source: string | null) {
    h = await harness({ admins: 20 });
    const { root, sha256 } = packageRoot(source);
    const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
    const s: SchedulerSettings = { campaigns: ['admins-passkeys'], campaignsDir: 'campaigns', state: path.join(root, 'state'), graphUrl: h.emulator.url, postponeKey: KEY };
    const results = await runScheduledReconcile({ settings: s, now: START, log: { ...log, warn: (m, f) => warnings.push([m, f]) } }, { store: h.store, graph: h.graph, packageRoot: root });
    expect(results.map((r) => [r.campaign, r.ok, r.error])).toEqual([['admins-passkeys', true, undefined]]);
    const started = (await h.events()).filter((e) => e.type === 'runStarted');
    expect(started).toHaveLength(1);
    return { started: started[0], sha256, unknown: warnings.filter(([m]) => m === 'campaign source unknown').map(([, f]) => f!) };
  }

  it('records the deploy\'s commit and the campaign file\'s repository path next to its SHA-256', async () => {
    const r = await runJob(JSON.stringify({ commit: COMMIT, campaignsDir: 'passkeys/campaigns' }));
    expect(r.started).toMatchObject({ campaignSha256: r.sha256, campaignCommit: COMMIT, campaignFile: 'passkeys/campaigns/admins-passkeys.yaml' });
    expect(r.unknown).toEqual([]);
  });

  it.each([
    { name: 'no campaign-source.json', source: null, problem: /no campaign-source\.json \(it was not built with deploy\/functions\/build\.sh\)/ },
    { name: 'a campaign-source.json that is not JSON', source: '{ commit: nope', problem: /not valid JSON/ },
    { name: 'a commit that is not a commit id', source: JSON.stringify({ commit: 'main', campaignsDir: 'campaigns' }), problem: /"commit" is not a 40-character hexadecimal commit id/ },
    { name: 'a build that recorded no commit', source: JSON.stringify({ campaignsDir: 'campaigns', note: 'campaigns has 1 uncommitted change(s)' }), problem: /recorded no commit: campaigns has 1 uncommitted change/ },
    { name: 'another campaigns directory than CAMPAIGNS_DIR', source: JSON.stringify({ commit: COMMIT, campaignsDir: 'other' }), problem: /describes the campaigns directory other, but CAMPAIGNS_DIR is campaigns/ },
  ])('with $name: runs, records the SHA-256 alone and logs a warning', async ({ source, problem }) => {
    const r = await runJob(source);
    expect(r.started).toMatchObject({ campaignSha256: r.sha256 });
    expect(r.started).not.toHaveProperty('campaignCommit');
    expect(r.started).not.toHaveProperty('campaignFile');
    expect(r.unknown).toHaveLength(1);
    expect(r.unknown[0]).toMatchObject({ file: path.join(dir, 'campaign-source.json'), effect: expect.stringMatching(/record only the SHA-256/) });
    expect(String(r.unknown[0].problem)).toMatch(problem);
  });
});
