// Issue #11, "Exemptions are facts", cases 1 and 2 through the public CLI against the emulator: a renamed
// break-glass account and a deleted exclusion group must stop the campaign (exit 2), never let it enforce.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { stripChain } from '../../src/ledger/chain';
import type { LedgerEvent } from '../../src/ledger/events';
import { generateTenant, SIM_IDS } from '../../src/sim/generate';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo, sharedClock } from '../helpers/io';

const ROOT = path.resolve(__dirname, '..', '..');
const BG1 = SIM_IDS.breakGlass1;
const EXEMPT_GROUP = 'e0000000-0000-4000-8000-0000000000e1';
const DAY = 86_400_000;
const START = Date.parse('2026-12-01T06:00:00.000Z');
const at = (d: number) => new Date(START + d * DAY).toISOString();

let emulator: Emulator | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

interface Setup {
  file: string;
  state: string;
  /** Three targeted admins (user objects holding a role), not break-glass. */
  admins: string[];
}

/** A generated tenant in the emulator, the example admin campaign inProgress; `edit` rewrites the campaign text. */
async function setup(opts: { exemptGroup?: boolean; edit?: (text: string) => string } = {}): Promise<Setup> {
  const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: new Date(START).toISOString() });
  const userIds = new Set((fixture.users ?? []).filter((u) => u.accountEnabled !== false).map((u) => u.id));
  const admins = [...new Set((fixture.roleAssignments ?? []).map((a) => a.principalId))].filter((id) => userIds.has(id) && id !== BG1 && id !== SIM_IDS.breakGlass2).sort().slice(0, 3);
  if (opts.exemptGroup) fixture.groups!.push({ id: EXEMPT_GROUP, displayName: 'passkey-exempt-admins', members: admins });
  // Pacing waits run on the emulator's clock: no real time.
  clocks = sharedClock(START);
  emulator = await startEmulator({ tenant: fixture, port: 0, token: 'sim-token', faults: { throttle: false }, clock: clocks.emulatorClock });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exemptions-'));
  const file = path.join(tmp, 'admins-passkeys.yaml');
  const text = fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8').replace('status: notStarted', 'status: inProgress');
  fs.writeFileSync(file, (opts.edit ?? ((t) => t))(text));
  return { file, state: path.join(tmp, 'state'), admins };
}

let clocks: ReturnType<typeof sharedClock> | undefined;

async function cli(args: string[]) {
  const io = captureIo(process.cwd(), process.env, clocks?.ioClock);
  const code = await run(args, io);
  return { code, out: io.out(), err: io.err() };
}

const runAt = (cmd: 'reconcile' | 'plan', s: Setup, day: number) =>
  cli([cmd, '--campaign', s.file, '--graph-url', emulator!.url, '--state', s.state, '--now', at(day), '--json']);
const status = async (s: Setup) => JSON.parse((await cli(['status', '--campaign', s.file, '--state', s.state, '--json'])).out);
const ledger = (s: Setup): LedgerEvent[] =>
  fs.readFileSync(path.join(s.state, 'admins-passkeys', 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(stripChain(l)) as LedgerEvent);
const patchTenant = async (body: unknown) => {
  const res = await fetch(`${emulator!.url}/_sim/tenant`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
};
const enforcementMembers = () => [...emulator!.state.tenant.memberIds(SIM_IDS.adminsEnforcedGroup)];
const editCampaign = (s: Setup, edit: (text: string) => string) => fs.writeFileSync(s.file, edit(fs.readFileSync(s.file, 'utf8')));
const enteredUsers = (s: Setup) => new Set(ledger(s).flatMap((e) => (e.type === 'userEnteredStage' ? [e.userId] : [])));

const BG1_RENAMED = `  - spec.exclusions.breakGlass[0] bg1@contoso.com does not resolve to an account in the tenant; the ledger recorded it as ${BG1} (bg1@contoso.com, 2026-12-01), and that account stays excluded. ` +
  `If the account was renamed, replace the entry by its object id ${BG1}; if it was deleted, move the entry to spec.exclusions.retired (with by and reason).`;
const HINT = '  Every break-glass entry, excluded user and excluded group must resolve in each run (docs/campaign-author.md, "Exemptions"). Every run stops here until the campaign file is fixed; campaign plan shows the same.\n';

describe('case 1: a renamed break-glass account is never enforced', () => {
  it('stops reconcile with exit 2 naming the entry and the fix, shows it in plan and status, and moves nobody', async () => {
    const s = await setup();
    const first = await runAt('reconcile', s, 0);
    expect(first.code).toBe(0);

    await patchTenant({ users: [{ id: BG1, userPrincipalName: 'emergency1@contoso.com' }] });
    const sent = emulator!.state.notifications.length;
    const lines = ledger(s).length;
    emulator!.state.resetCounters();

    const stopped = await runAt('reconcile', s, 1);
    expect(stopped.err).toBe(`campaign reconcile: an exemption of the campaign could not be established, so this run moved nobody and sent nothing:\n${BG1_RENAMED}\n${HINT}`);
    expect(stopped.code).toBe(2);
    expect(stopped.out).toBe('');
    // The first run recorded which accounts the break-glass entries are; the stopped run added no record.
    expect(ledger(s).filter((e) => e.type === 'exemptionResolved')).toEqual([
      { v: 1, at: at(0), runId: expect.any(String), type: 'exemptionResolved', list: 'breakGlass', entry: 'bg1@contoso.com', objectId: BG1, userPrincipalName: 'bg1@contoso.com' },
      { v: 1, at: at(0), runId: expect.any(String), type: 'exemptionResolved', list: 'breakGlass', entry: 'bg2@contoso.com', objectId: SIM_IDS.breakGlass2, userPrincipalName: 'bg2@contoso.com' },
    ]);
    expect(emulator!.state.notifications.length).toBe(sent);
    expect(emulator!.state.requests().writes).toBe(0);
    // The run is recorded so status can say why: runStarted, the problem, runFinished ok: false; nobody moved.
    const runLines = ledger(s).slice(lines);
    expect(runLines.map((e) => e.type)).toEqual(['runStarted', 'exemptionUnresolved', 'runFinished']);
    expect(runLines[1]).toEqual({ v: 1, at: at(1), runId: runLines[0].type === 'runStarted' ? runLines[0].runId : '', type: 'exemptionUnresolved', list: 'breakGlass', entry: 'bg1@contoso.com', problem: 'notFound', recordedObjectId: BG1, message: BG1_RENAMED.slice(4) });
    expect(runLines[2]).toMatchObject({ type: 'runFinished', ok: false, error: 'exemption check failed, nobody moved: spec.exclusions.breakGlass bg1@contoso.com (notFound)' });

    const plan = await runAt('plan', s, 1);
    expect(plan.code).toBe(0);
    const p = JSON.parse(plan.out);
    expect(p.warnings).toEqual([`${BG1_RENAMED.slice(4)} A reconcile stops here and moves nobody.`]);
    expect(p).toMatchObject({ applied: false, transitions: [], notifications: 0, groupAdds: 0 });

    const st = await status(s);
    expect(st.alerts.map((a: { code: string }) => a.code)).toContain('ExemptionUnresolved');
    expect(st.alerts.find((a: { code: string }) => a.code === 'ExemptionUnresolved')).toEqual({
      code: 'ExemptionUnresolved', severity: 'error', users: [],
      message: `The last reconcile run (${runLines[0].type === 'runStarted' ? runLines[0].runId : ''}, ${at(1)}) stopped without moving anyone: 1 exemption entry could not be established. ${BG1_RENAMED.slice(4)}`,
    });
    expect(st.alerts.map((a: { code: string }) => a.code)).not.toContain('LastRunFailed');

    // Nine days of stopped runs later, the account is still nowhere near the enforcement group.
    for (let d = 2; d <= 9; d++) expect((await runAt('reconcile', s, d)).code).toBe(2);
    expect(enteredUsers(s).has(BG1)).toBe(false);
    expect(enforcementMembers()).not.toContain(BG1);
  });

  it('accepts the UPN replaced by the recorded object id: the run goes on and the account stays excluded for good', async () => {
    const s = await setup();
    expect((await runAt('reconcile', s, 0)).code).toBe(0);
    await patchTenant({ users: [{ id: BG1, userPrincipalName: 'emergency1@contoso.com' }] });
    expect((await runAt('reconcile', s, 1)).code).toBe(2);

    editCampaign(s, (t) => t.replace('breakGlass: [bg1@contoso.com, bg2@contoso.com]', `breakGlass: [${BG1}, bg2@contoso.com]   # ${BG1} was bg1@contoso.com`));
    const fixed = await runAt('reconcile', s, 2);
    expect(fixed.err).toBe('');
    expect(fixed.code).toBe(0);
    expect(ledger(s).filter((e) => e.type === 'exemptionResolved').at(-1)).toEqual({
      v: 1, at: at(2), runId: expect.any(String), type: 'exemptionResolved', list: 'breakGlass', entry: BG1, objectId: BG1, userPrincipalName: 'emergency1@contoso.com', replaces: 'bg1@contoso.com',
    });
    for (let d = 3; d <= 12; d++) expect((await runAt('reconcile', s, d)).code).toBe(0);
    expect(enteredUsers(s).has(BG1)).toBe(false);
    expect(enforcementMembers()).not.toContain(BG1);
    expect(enforcementMembers().length).toBeGreaterThan(0); // the campaign itself did enforce others
  });

  it('stops with exit 2 when the object id put in place of the UPN is not the account the ledger recorded', async () => {
    const s = await setup();
    expect((await runAt('reconcile', s, 0)).code).toBe(0);
    const other = s.admins[0];
    editCampaign(s, (t) => t.replace('breakGlass: [bg1@contoso.com, bg2@contoso.com]', `breakGlass: [${other}, bg2@contoso.com]`));
    const r = await runAt('reconcile', s, 1);
    expect(r.code).toBe(2);
    expect(r.err).toBe('campaign reconcile: an exemption of the campaign could not be established, so this run moved nobody and sent nothing:\n' +
      `  - spec.exclusions.breakGlass no longer lists bg1@contoso.com, which the ledger recorded as ${BG1} (bg1@contoso.com, 2026-12-01), and no entry of spec.exclusions.breakGlass is that object id. ` +
      `List ${BG1} (the account recorded for bg1@contoso.com) instead of the id that replaced it, or, if that account is gone, move bg1@contoso.com to spec.exclusions.retired (with by and reason).\n${HINT}`);
    expect(ledger(s).at(-2)).toMatchObject({ type: 'exemptionUnresolved', list: 'breakGlass', entry: 'bg1@contoso.com', problem: 'replacedByOtherId', recordedObjectId: BG1 });
  });

  it('retires the entry with the marker: the ledger records who retired it, and the recorded account stays excluded', async () => {
    const s = await setup();
    expect((await runAt('reconcile', s, 0)).code).toBe(0);
    await patchTenant({ users: [{ id: BG1, userPrincipalName: 'emergency1@contoso.com' }] });
    editCampaign(s, (t) => t.replace('breakGlass: [bg1@contoso.com, bg2@contoso.com]',
      'breakGlass: [bg2@contoso.com]\n    retired:\n      - { entry: bg1@contoso.com, from: breakGlass, by: alice@contoso.com, reason: "account retired in CHG-1234" }'));
    const r = await runAt('reconcile', s, 1);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(ledger(s).filter((e) => e.type === 'exemptionRetired')).toEqual([
      { v: 1, at: at(1), runId: expect.any(String), type: 'exemptionRetired', list: 'breakGlass', entry: 'bg1@contoso.com', by: 'alice@contoso.com', reason: 'account retired in CHG-1234', objectIds: [BG1] },
    ]);
    for (let d = 2; d <= 10; d++) expect((await runAt('reconcile', s, d)).code).toBe(0);
    expect(ledger(s).filter((e) => e.type === 'exemptionRetired')).toHaveLength(1); // recorded once
    expect(enteredUsers(s).has(BG1)).toBe(false);
    expect(enforcementMembers()).not.toContain(BG1);
  });
});

describe('case 2: a deleted exclusion group excludes nobody only by a reviewed change', () => {
  const withExemptGroup = (t: string) => t.replace('  devices:\n', `    groups: [${EXEMPT_GROUP}]\n  devices:\n`);
  const GROUP_GONE = `spec.exclusions.groups[0] ${EXEMPT_GROUP} does not exist (Graph answered 404), so it would exclude nobody. ` +
    'If the group was deleted, move the entry to spec.exclusions.retired (with by and reason): its former members are then no longer excluded through it, so add the group that replaces it, if any. A group restored from the recycle bin resolves again.';

  it('stops reconcile with exit 2 naming the group and the fix, shows it in plan and status, and its members never enter the campaign', async () => {
    const s = await setup({ exemptGroup: true, edit: withExemptGroup });
    const first = await runAt('reconcile', s, 0);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out).counts.excluded).toBe(5); // two break-glass accounts and the group's three admins

    await patchTenant({ remove: { groups: [EXEMPT_GROUP] } });
    const stopped = await runAt('reconcile', s, 1);
    expect(stopped.err).toBe(`campaign reconcile: an exemption of the campaign could not be established, so this run moved nobody and sent nothing:\n  - ${GROUP_GONE}\n${HINT}`);
    expect(stopped.code).toBe(2);
    expect(ledger(s).at(-2)).toMatchObject({ type: 'exemptionUnresolved', list: 'groups', entry: EXEMPT_GROUP, problem: 'notFound', message: GROUP_GONE });

    const plan = await runAt('plan', s, 1);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.out)).toMatchObject({ applied: false, transitions: [], warnings: [`${GROUP_GONE} A reconcile stops here and moves nobody.`] });
    expect((await status(s)).alerts.find((a: { code: string }) => a.code === 'ExemptionUnresolved').message).toContain(GROUP_GONE);

    for (let d = 2; d <= 10; d++) expect((await runAt('reconcile', s, d)).code).toBe(2);
    const entered = enteredUsers(s);
    expect(s.admins.filter((id) => entered.has(id))).toEqual([]);
    expect(enforcementMembers().filter((id) => s.admins.includes(id))).toEqual([]);
  });

  it('goes on once the group is retired with the marker: its former members are targeted again, by that reviewed decision', async () => {
    const s = await setup({ exemptGroup: true, edit: withExemptGroup });
    expect((await runAt('reconcile', s, 0)).code).toBe(0);
    await patchTenant({ remove: { groups: [EXEMPT_GROUP] } });
    editCampaign(s, (t) => t.replace(`    groups: [${EXEMPT_GROUP}]\n`, `    retired:\n      - { entry: ${EXEMPT_GROUP}, from: groups, by: alice@contoso.com, reason: group deleted in CHG-7 }\n`));
    const r = await runAt('reconcile', s, 1);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(ledger(s).filter((e) => e.type === 'exemptionRetired')).toEqual([
      { v: 1, at: at(1), runId: expect.any(String), type: 'exemptionRetired', list: 'groups', entry: EXEMPT_GROUP, by: 'alice@contoso.com', reason: 'group deleted in CHG-7', objectIds: [] },
    ]);
    expect(JSON.parse(r.out).transitions.map((t: { userId: string }) => t.userId).filter((id: string) => s.admins.includes(id)).sort()).toEqual(s.admins);
  });
});
