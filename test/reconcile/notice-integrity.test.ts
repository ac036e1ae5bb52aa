// Issue #11, cases 5 and 7, through the public CLI against the Graph emulator:
//  5. a Teams enforcement notice whose answer was lost is recorded in doubt; the user must not be enforced
//     on it: a new enforcement notice is sent, and enforcement follows noticeDays after that one is delivered;
//  7. a disabled user keeps their place: held in the stage with deadline and postponements, alert
//     AccountDisabled, never logged as having left; enabled again, they continue.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { foldLedger } from '../../src/engine/state';
import type { LedgerEvent } from '../../src/ledger/events';
import { FileStore } from '../../src/ledger/file/store';
import { generateTenant, SIM_IDS } from '../../src/sim/generate';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo, sharedClock } from '../helpers/io';
import { assertToldBeforeEnforced } from '../reliability/support';

const ROOT = path.resolve(__dirname, '..', '..');
const START = Date.parse('2026-12-01T06:00:00.000Z');
const DAY = 86_400_000;
const at = (d: number) => new Date(START + d * DAY).toISOString();

let emulator: Emulator | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

async function setup() {
  const fixture = generateTenant({ users: 40, admins: 16, seed: 5, now: at(0) });
  // Pacing and Retry-After waits run on the emulator's clock: no real time.
  const { emulatorClock, ioClock } = sharedClock(at(0));
  emulator = await startEmulator({ tenant: fixture, port: 0, token: 'sim-token', clock: emulatorClock });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notice-integrity-'));
  const file = path.join(tmp, 'admins-passkeys.yaml');
  fs.writeFileSync(file, fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8').replace('status: notStarted', 'status: inProgress'));
  const state = path.join(tmp, 'state');
  const cli = async (args: string[]) => {
    const io = captureIo(process.cwd(), process.env, ioClock);
    const code = await run([...args, '--campaign', file, '--state', state], io);
    return { code, out: io.out(), err: io.err() };
  };
  const reconcile = async (day: number) => {
    const r = await cli(['reconcile', '--graph-url', emulator!.url, '--now', at(day), '--json']);
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out) as { warnings: string[]; transitions: Array<{ userId: string; to: string | null; reason: string }> };
  };
  const events = async (): Promise<LedgerEvent[]> => (await new FileStore({ dir: state }).read('admins-passkeys')).events;
  const members = () => emulator!.state.tenant.memberIds(SIM_IDS.adminsEnforcedGroup);
  const patch = async (body: unknown) => {
    const res = await fetch(`${emulator!.url}/_sim/tenant`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
  };
  return { fixture, cli, reconcile, events, members, patch };
}

const isNotificationBatch = (p: string, method: string, body: string) => method === 'POST' && p.endsWith('/$batch') && /\/(sendMail|sendActivityNotification)"/.test(body);

describe('case 5: an enforcement notice in doubt is no notice', () => {
  it('does not enforce a user whose Teams enforcement notice got no answer: it sends a new one and enforces noticeDays after that is delivered', async () => {
    const t = await setup();
    // Day 0: every notification $batch is lost before Graph runs it; the run records the notices in doubt.
    emulator!.state.hooks = { before: ({ method, path: p, body }) => (isNotificationBatch(p, method, body) ? 'drop' : undefined) };
    const day0 = await t.reconcile(0);
    emulator!.state.hooks = {};
    const ledger0 = await t.events();
    const inDoubt = ledger0.filter((e) => e.type === 'notificationOutcome' && e.outcome === 'inDoubt').map((e) => (e as { key: string }).key);
    const noticed = ledger0.flatMap((e) => (e.type === 'notificationSent' && e.kind === 'enforcementNotice' && inDoubt.includes(e.key) ? [e.userId] : []));
    expect(noticed.length).toBeGreaterThan(0);
    expect(day0.warnings.some((w) => w.includes('recorded as in doubt'))).toBe(true);
    expect(emulator!.state.notifications).toEqual([]);

    // Day 1: a new enforcement notice (next sequence) goes to each of them, and is delivered.
    await t.reconcile(1);
    const delivered = new Set(emulator!.state.notifications.map((n) => n.userId));
    for (const id of noticed) expect(delivered.has(id), id).toBe(true);
    const ledger1 = await t.events();
    const resent = ledger1.filter((e) => e.type === 'notificationSent' && e.at === at(1) && e.kind === 'enforcementNotice');
    expect(resent.map((e) => (e as { userId: string }).userId).sort()).toEqual([...noticed].sort());
    expect(resent.every((e) => (e as { sequence: number }).sequence === 2)).toBe(true);

    // Day 7 (noticeDays after entering): not enforced; day 8 (noticeDays after the delivery): enforced.
    for (let d = 2; d <= 7; d++) await t.reconcile(d);
    for (const id of noticed) expect(t.members().has(id), `${id} enforced on day 7 without a delivered notice 7 days old`).toBe(false);
    const day8 = await t.reconcile(8);
    for (const id of noticed) {
      expect(t.members().has(id), id).toBe(true);
      expect(day8.transitions.find((x) => x.userId === id)).toMatchObject({ to: 'enforced', reason: 'NoticePeriodElapsed' });
    }
    assertToldBeforeEnforced(await t.events(), 7, 'case 5', t.members(), new Set(t.fixture.groups!.find((g) => g.id === SIM_IDS.adminsEnforcedGroup)?.members ?? []));

    // status --json shows each user's latest notice and how it went.
    const s = await t.cli(['status', '--json']);
    expect(s.code, s.err).toBe(0);
    const users = (JSON.parse(s.out) as { users: Array<{ userId: string; delivery: unknown }> }).users;
    expect(users.find((u) => u.userId === noticed[0])?.delivery).toEqual({
      key: `admins-passkeys:${noticed[0]}:enforced:1`, kind: 'enforced', outcome: 'delivered', at: at(8), attempts: 0, stageDeliveredAt: at(8),
    });
  }, 60_000);
});

describe('case 7: a disabled account keeps its place', () => {
  it('holds a disabled user in their stage with deadline and postponements and alert AccountDisabled, and lets them continue when enabled again', async () => {
    const t = await setup();
    await t.reconcile(0);
    const s0 = foldLedger(await t.events());
    const ada = Object.values(s0.users).find((u) => u.stage === 'passkeyRegistration')!;
    expect(ada).toBeDefined();
    const post = await t.cli(['postpone', '--user', ada.userPrincipalName, '--now', at(1)]);
    expect(post.code, post.err).toBe(0);
    await t.reconcile(1);

    // Day 2: the account is disabled.
    await t.patch({ users: [{ id: ada.userId, accountEnabled: false }] });
    const day2 = await t.reconcile(2);
    expect(day2.transitions.filter((x) => x.userId === ada.userId)).toEqual([]);
    expect(day2.warnings.filter((w) => /^\d+ targeted accounts? (is|are) disabled: held in (its|their) stage and contacted by nobody until enabled again/.test(w))).toHaveLength(1);
    const sent = emulator!.state.notifications.length;
    for (let d = 3; d <= 6; d++) await t.reconcile(d);
    expect(emulator!.state.notifications.slice(sent).filter((n) => n.userId === ada.userId)).toEqual([]);
    const held = await t.events();
    const mine = held.filter((e) => 'userId' in e && e.userId === ada.userId);
    expect(mine.filter((e) => e.type === 'leftCampaign')).toEqual([]);
    expect(mine.filter((e) => e.type === 'alertRaised').map((e) => [(e as { kind: string }).kind, e.at])).toEqual([['AccountDisabled', at(2)]]);
    expect(foldLedger(held).users[ada.userId]).toMatchObject({ stage: 'passkeyRegistration', stageSince: ada.stageSince, postponements: { passkeyRegistration: 1 }, extensionDays: 3, left: null, alerts: ['AccountDisabled'] });
    const status = await t.cli(['status', '--json']);
    const row = (JSON.parse(status.out) as { users: Array<{ userId: string; stage: string; deadline: string; alerts: string[]; accountEnabled: boolean }> }).users.find((u) => u.userId === ada.userId);
    expect(row).toMatchObject({ stage: 'passkeyRegistration', deadline: '2026-12-18', alerts: ['AccountDisabled'], accountEnabled: false });

    // Day 7: enabled again: the alert clears and the user goes on from where they were.
    await t.patch({ users: [{ id: ada.userId, accountEnabled: true }] });
    await t.reconcile(7);
    const after = await t.events();
    expect(after.filter((e) => e.type === 'alertCleared' && e.userId === ada.userId).map((e) => [(e as { kind: string }).kind, e.at])).toEqual([['AccountDisabled', at(7)]]);
    expect(foldLedger(after).users[ada.userId]).toMatchObject({ stage: 'passkeyRegistration', stageSince: ada.stageSince, postponements: { passkeyRegistration: 1 }, extensionDays: 3, left: null, alerts: [] });
    expect(emulator!.state.notifications.slice(sent).filter((n) => n.userId === ada.userId).length).toBe(1);
  }, 60_000);

  it('does not let a disabled account that never entered the campaign enter; enabled, it enters like anyone', async () => {
    const t = await setup();
    const userIds = new Set(t.fixture.users!.map((u) => u.id));
    const id = t.fixture.roleAssignments!.map((a) => a.principalId!).find((p) => userIds.has(p) && p !== SIM_IDS.breakGlass1 && p !== SIM_IDS.breakGlass2)!;
    await t.patch({ users: [{ id, accountEnabled: false }] });
    for (let d = 0; d < 3; d++) await t.reconcile(d);
    const status = await t.cli(['status', '--json']);
    const row = (JSON.parse(status.out) as { users: Array<{ userId: string; stage: string | null; accountEnabled: boolean }> }).users.find((u) => u.userId === id);
    expect(row).toMatchObject({ stage: null, accountEnabled: false });
    expect((await t.events()).filter((e) => 'userId' in e && e.userId === id)).toEqual([]);
    expect(emulator!.state.notifications.filter((n) => n.userId === id)).toEqual([]);
    await t.patch({ users: [{ id, accountEnabled: true }] });
    const day3 = await t.reconcile(3);
    expect(day3.transitions.filter((x) => x.userId === id)).toMatchObject([{ to: expect.any(String) }]);
  }, 60_000);
});
