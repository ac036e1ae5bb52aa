import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPostponeLink, runScheduledReconcile } from '../../src/apps/functions/scheduled';
import type { SchedulerSettings } from '../../src/apps/functions/settings';
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
  const text = fs.readFileSync('campaigns/admins-passkeys.yaml', 'utf8').replace('status: notStarted', 'status: inProgress');
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

describe('the Functions entry points', () => {
  it('load the compiled runtime from the built package', async () => {
    const { loadRuntime } = await import('../../src/apps/functions/runtime');
    const runtime = await loadRuntime(path.resolve('dist/apps/functions/scheduled.js'));
    expect(typeof runtime.runScheduledReconcile).toBe('function');
    expect(typeof runtime.applyPostponeLink).toBe('function');
  });
});
