// Operator mistakes of issue #12 (items 1–4), measured through the public CLI against the emulator: a clock going
// backwards, another campaign's ledger, a mistyped --state, and the ended → notStarted reset. Each mistake is
// exit 2 with one clear line and its fix, and nothing is written.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { foldLedger } from '../../src/engine/state';
import { stripChain } from '../../src/ledger/chain';
import type { LedgerEvent } from '../../src/ledger/events';
import { FileStore } from '../../src/ledger/file/store';
import { generateTenant, SIM_IDS, SIM_GROUP_NAMES } from '../../src/sim/generate';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo, sharedClock } from '../helpers/io';
import { harness, type Harness } from './harness';

const ROOT = path.resolve(__dirname, '..', '..');
const GROUP = SIM_GROUP_NAMES.adminsEnforced;
const at = (day: number) => new Date(Date.parse('2026-12-01T06:00:00Z') + day * 86_400_000).toISOString();

let emulator: Emulator | undefined;
let h: Harness | undefined;
let tmp = '';

afterEach(async () => {
  vi.restoreAllMocks();
  await emulator?.close();
  await h?.close();
  emulator = undefined;
  h = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = '';
});

/** A tenant in the emulator and a checkout in a temp directory: campaigns/ with both campaigns, state/ for ledgers. */
async function setup() {
  // Pacing waits run on the emulator's clock: no real time.
  clocks = sharedClock(at(0));
  emulator = await startEmulator({ tenant: generateTenant({ users: 60, admins: 20, seed: 5, now: at(0) }), port: 0, token: 'sim-token', clock: clocks.emulatorClock });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'operator-mistakes-'));
  fs.mkdirSync(path.join(tmp, 'campaigns'));
  for (const name of ['admins-passkeys', 'all-staff-passkeys']) fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'campaigns', `${name}.yaml`), path.join(tmp, 'campaigns', `${name}.yaml`));
  setStatus('admins-passkeys', 'inProgress');
}

function setStatus(name: string, status: string): void {
  const file = path.join(tmp, 'campaigns', `${name}.yaml`);
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^ {2}status: \w+$/m, `  status: ${status}`));
}

/** The CLI as an operator runs it from the checkout (relative --campaign and --state, no CAMPAIGN_* variables). */
let clocks: ReturnType<typeof sharedClock> | undefined;

async function cli(...args: string[]) {
  const io = captureIo(tmp, {}, clocks?.ioClock);
  const code = await run(args, io);
  return { code, out: io.out(), err: io.err() };
}

const graph = () => ['--graph-url', emulator!.url];
const reconcile = (day: number, ...more: string[]) => cli('reconcile', '--campaign', 'admins-passkeys', ...graph(), '--state', 'state', '--now', at(day), ...more);
const ledgerFile = (state: string, name = 'admins-passkeys') => path.join(tmp, state, name, 'ledger.jsonl');
const bytes = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file) : null);
const events = (file: string): LedgerEvent[] => fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(stripChain(l)) as LedgerEvent);
const members = () => [...emulator!.state.tenant.memberIds(SIM_IDS.adminsEnforcedGroup)].sort();
/** A user the ledger has in passkeyRegistration, who may postpone. */
const postponable = (file: string) => Object.values(foldLedger(events(file)).users).find((u) => u.stage === 'passkeyRegistration' && !u.left)!.userPrincipalName;

describe('1. the clock going backwards', () => {
  it('refuses a reconcile and a postponement earlier than the last recorded run, naming both times, and writes nothing', async () => {
    await setup();
    expect((await reconcile(0)).code).toBe(0);
    expect((await reconcile(7)).code).toBe(0);
    const file = ledgerFile('state');
    const before = bytes(file);
    const requests = emulator!.state.requests().total;
    const said = (cmd: string) =>
      `campaign ${cmd}: now is ${at(6)}, earlier than the last run recorded for admins-passkeys (${at(7)}); nothing was written.\n` +
      `  A ledger only moves forward in time: check --now (or the machine's clock) and use a time at or after ${at(7)}.\n`;

    expect(await reconcile(6)).toEqual({ code: 2, out: '', err: said('reconcile') });
    const user = postponable(file);
    expect(await cli('postpone', '--campaign', 'admins-passkeys', '--user', user, '--state', 'state', '--now', at(6))).toEqual({ code: 2, out: '', err: said('postpone') });
    expect(bytes(file)).toEqual(before);
    expect(emulator!.state.requests().total).toBe(requests); // refused before any Graph read

    // plan writes nothing anyway: it says a reconcile would stop.
    const plan = await cli('plan', '--campaign', 'admins-passkeys', ...graph(), '--state', 'state', '--now', at(6), '--json');
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.out).warnings).toContain(
      `now is ${at(6)}, earlier than the last run recorded for admins-passkeys (${at(7)}); nothing was written. A reconcile would stop here. ` +
        `A ledger only moves forward in time: check --now (or the machine's clock) and use a time at or after ${at(7)}.`,
    );
    // The same time again is a rerun, not a step back.
    expect((await reconcile(7)).code).toBe(0);
  });

  it.each([
    ['reconcile', []],
    ['plan', []],
    ['postpone', ['--user', 'a@contoso.com']],
    ['status', []],
  ])('rejects an impossible --now in %s as a usage error (JavaScript reads 2026-02-30 as 2 March)', async (cmd, more) => {
    await setup();
    expect(await cli(cmd, '--campaign', 'admins-passkeys', '--state', 'state', ...more, '--now', '2026-02-30T00:00:00Z')).toEqual({
      code: 2, out: '', err: `campaign ${cmd}: --now must be an ISO 8601 date-time such as 2026-12-01T06:00:00Z (got "2026-02-30T00:00:00Z": 2026-02 has 28 days).\n`,
    });
    expect(fs.existsSync(path.join(tmp, 'state'))).toBe(false);
  });

  it.each([
    ['2026-02-30T00:00:00Z', '2026-02 has 28 days'],
    ['2028-02-30', '2028-02 has 29 days'],
    ['2026-04-31T06:00:00Z', '2026-04 has 30 days'],
    ['2026-13-01T06:00:00Z', 'there is no month 13'],
    ['2026-12-01T24:00:00Z', '24:00:00 is not a time of day'],
  ])('rejects --now %s (%s)', async (now, why) => {
    await setup();
    expect(await cli('reconcile', '--campaign', 'admins-passkeys', '--state', 'state', '--now', now)).toEqual({
      code: 2, out: '', err: `campaign reconcile: --now must be an ISO 8601 date-time such as 2026-12-01T06:00:00Z (got "${now}": ${why}).\n`,
    });
  });
});

describe("2. another campaign's ledger", () => {
  it('refuses a ledger copied from another campaign in every command, naming both campaigns, and writes nothing', async () => {
    await setup();
    expect((await reconcile(0)).code).toBe(0);
    const user = postponable(ledgerFile('state'));
    fs.cpSync(path.join(tmp, 'state', 'admins-passkeys'), path.join(tmp, 'state', 'all-staff-passkeys'), { recursive: true });
    setStatus('all-staff-passkeys', 'inProgress');
    const copy = ledgerFile('state', 'all-staff-passkeys');
    const before = bytes(copy);
    const said = (cmd: string) =>
      `campaign ${cmd}: the ledger at ${copy} belongs to campaign admins-passkeys, not all-staff-passkeys.\n` +
      '  Check --state and --campaign: each campaign keeps its own ledger (all-staff-passkeys/ under --state), and a ledger copied from another campaign cannot be reused.\n';
    const common = ['--campaign', 'all-staff-passkeys', '--state', 'state'];
    for (const [cmd, ...args] of [
      ['reconcile', ...graph(), '--now', at(1)],
      ['plan', ...graph(), '--now', at(1)],
      ['postpone', '--user', user, '--now', at(1)],
      ['status'],
      ['history'],
    ]) {
      expect({ cmd, ...(await cli(cmd, ...common, ...args)) }).toEqual({ cmd, code: 2, out: '', err: said(cmd) });
    }
    expect(bytes(copy)).toEqual(before);
  });
});

describe('3. a mistyped --state', () => {
  it('refuses to start an empty ledger while the enforcement group has members, unless --new-ledger is given', async () => {
    await setup();
    expect((await reconcile(0)).code).toBe(0);
    expect((await reconcile(7)).code).toBe(0);
    const enforced = members();
    expect(enforced.length).toBeGreaterThan(0);
    const n = enforced.length;
    const typo = ledgerFile(path.join('state', 'admins-passkeys'));
    const refused =
      `there is no ledger at ${typo}, but the enforcement group "${GROUP}" already has ${n} member${n === 1 ? '' : 's'}; nothing was written.`;
    const fix = 'If --state (or CAMPAIGN_STATE) is mistyped, fix it and run again. To start admins-passkeys on this ledger anyway (the members stay in the group; the campaign treats them as new users), run reconcile with --new-ledger.';
    const wrong = ['--campaign', 'admins-passkeys', '--state', 'state/admins-passkeys'];

    const plan = await cli('plan', ...wrong, ...graph(), '--now', at(8), '--json');
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.out).warnings).toContain(`${refused} A reconcile would stop here. ${fix}`);

    expect(await cli('reconcile', ...wrong, ...graph(), '--now', at(8))).toEqual({ code: 2, out: '', err: `campaign reconcile: ${refused}\n  ${fix}\n` });
    expect(fs.existsSync(typo)).toBe(false);
    expect(members()).toEqual(enforced);

    const noLedger = (cmd: string) =>
      `campaign ${cmd}: campaign admins-passkeys is inProgress in its file, but there is no ledger at ${typo}: a started campaign must have one.\n` +
      '  Check --state (or CAMPAIGN_STATE): it names the directory or container that holds admins-passkeys/.\n';
    expect(await cli('status', ...wrong)).toEqual({ code: 2, out: '', err: noLedger('status') });
    expect(await cli('history', ...wrong)).toEqual({ code: 2, out: '', err: noLedger('history') });

    // The right --state is untouched and carries on; --new-ledger there is refused, so a script cannot leave it on.
    const right = ledgerFile('state');
    expect(await reconcile(8, '--new-ledger')).toEqual({
      code: 2, out: '',
      err: `campaign reconcile: --new-ledger starts admins-passkeys on a new ledger, but the ledger at ${right} already records its runs; nothing was written.\n  Run again without --new-ledger.\n`,
    });

    // Deliberately: --new-ledger starts there, records that it did, and removes nobody from the group.
    const started = await cli('reconcile', ...wrong, ...graph(), '--now', at(8), '--new-ledger', '--json');
    expect(started.code).toBe(0);
    expect(events(typo).find((e) => e.type === 'runStarted')).toMatchObject({ campaign: 'admins-passkeys', status: 'inProgress', newLedger: true });
    expect(members()).toEqual(expect.arrayContaining(enforced));
    expect((await cli('reconcile', ...wrong, ...graph(), '--now', at(9))).code).toBe(0);
  });

  it('refuses a paused or ended campaign without a ledger unless --new-ledger is given', async () => {
    await setup();
    setStatus('admins-passkeys', 'paused');
    const file = ledgerFile('state');
    expect(await reconcile(0)).toEqual({
      code: 2, out: '',
      err: `campaign reconcile: campaign admins-passkeys is paused in its file, but there is no ledger at ${file}: a started campaign must have one.\n` +
        '  Check --state (or CAMPAIGN_STATE): it names the directory or container that holds admins-passkeys/. To record the campaign on a new, empty ledger anyway, run reconcile with --new-ledger.\n',
    });
    expect(fs.existsSync(file)).toBe(false);
    expect((await reconcile(0, '--new-ledger')).code).toBe(0);
    expect(events(file).map((e) => e.type)).toEqual(['runStarted', 'runFinished']);
  });
});

describe('4. the lifecycle in the job, and the reset', () => {
  it('refuses ended → inProgress without a reset; ended → notStarted archives the ledger and the next start begins fresh with enforced users kept', async () => {
    await setup();
    for (const day of [0, 7, 15]) expect((await reconcile(day)).code).toBe(0);
    setStatus('admins-passkeys', 'ended');
    expect((await reconcile(16)).code).toBe(0);
    const file = ledgerFile('state');
    const old = bytes(file)!;
    const oldState = foldLedger(events(file));
    expect(Object.values(oldState.users).some((u) => u.exceededGrace)).toBe(true);
    const enforced = members();
    expect(enforced.length).toBeGreaterThan(0);

    // ended → inProgress (or paused) skips the reset: refused naming both statuses and the fix.
    for (const status of ['inProgress', 'paused']) {
      setStatus('admins-passkeys', status);
      expect(await reconcile(17)).toEqual({
        code: 2, out: '',
        err: `campaign reconcile: campaign admins-passkeys is ${status} in its file, but its ledger at ${file} last recorded ended; a run cannot move it from ended to ${status}. Nothing was written.\n` +
          '  From ended a campaign can only move to notStarted. An ended campaign starts again through a reset: set spec.status to notStarted and run reconcile once (it archives this ledger and starts a new one), then set inProgress.\n',
      });
    }
    expect(bytes(file)).toEqual(old);

    // plan says what the reset will do and writes nothing.
    setStatus('admins-passkeys', 'notStarted');
    const plan = await cli('plan', '--campaign', 'admins-passkeys', ...graph(), '--state', 'state', '--now', at(17), '--json');
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.out).warnings[0]).toBe(`admins-passkeys ended and is notStarted again: a reconcile archives the ledger at ${file} and starts generation 1; this plan shows the campaign as that reset leaves it.`);
    expect(bytes(file)).toEqual(old);

    // The reset: the old ledger goes to archive/<stamp>/ byte for byte; the new one opens with where it went.
    const reset = await cli('reconcile', '--campaign', 'admins-passkeys', ...graph(), '--state', 'state', '--now', at(17), '--json');
    expect(reset.code).toBe(0);
    const archive = path.join(tmp, 'state', 'admins-passkeys', 'archive', '2026-12-18T060000.000Z');
    expect(bytes(path.join(archive, 'ledger.jsonl'))).toEqual(old);
    expect(JSON.parse(reset.out).warnings).toContain(`admins-passkeys was reset: its ledger was archived to ${archive}; generation 1 starts with no users (enforced users stay in the enforcement group).`);
    const reason = 'spec.status moved from ended to notStarted';
    expect(events(file)).toEqual([
      { v: 1, type: 'campaignArchived', at: at(17), archive, reason },
      { v: 1, type: 'campaignReset', at: at(17), generation: 1, reason },
      expect.objectContaining({ type: 'runStarted', status: 'notStarted' }),
      expect.objectContaining({ type: 'runFinished', ok: true }),
    ]);
    expect(members()).toEqual(enforced);

    // Idempotent: another run at notStarted archives nothing more.
    expect((await reconcile(18)).code).toBe(0);
    expect(fs.readdirSync(path.join(tmp, 'state', 'admins-passkeys', 'archive'))).toEqual(['2026-12-18T060000.000Z']);
    expect(events(file).filter((e) => e.type === 'campaignReset')).toHaveLength(1);

    // The next start begins fresh: everyone enters anew, no exceeded grace carried over, new notification keys.
    setStatus('admins-passkeys', 'inProgress');
    const start = await reconcile(19, '--json');
    expect(start.code).toBe(0);
    const j = JSON.parse(start.out);
    expect(j.transitions.length).toBeGreaterThan(0);
    expect(j.transitions.every((t: { from: string | null }) => t.from === null)).toBe(true);
    expect(j.counts.exceededGrace).toBe(0);
    const fresh = foldLedger(events(file));
    expect(fresh.generation).toBe(1);
    const all = events(file);
    const sentSinceReset = all.slice(all.findIndex((e) => e.type === 'campaignReset') + 1).flatMap((e) => (e.type === 'notificationSent' ? [e.key] : []));
    expect(sentSinceReset.length).toBeGreaterThan(0);
    expect(sentSinceReset.every((k) => k.startsWith('admins-passkeys.g1:'))).toBe(true);
    expect(members()).toEqual(expect.arrayContaining(enforced));

    const history = await cli('history', '--campaign', 'admins-passkeys', '--state', 'state');
    expect(history.out).toContain(`ledger archived to ${archive} (${reason})`);
    expect(history.out).toContain(`campaign reset: generation 1 (${reason})`);
  });

  it('a reset killed before the new ledger is in place is done by the next run; one killed after it is not done twice', async () => {
    h = await harness({ admins: 10 });
    await h.run(0);
    h.campaign.spec.status = 'ended';
    await h.run(1);
    h.campaign.spec.status = 'notStarted';
    const before = await h.events();

    // Killed inside archive, before the swap: the old ledger stays, so the next run resets.
    const archive = vi.spyOn(FileStore.prototype, 'archive').mockRejectedValueOnce(new Error('killed mid-archive'));
    await expect(h.run(2)).rejects.toThrow('killed mid-archive');
    expect(await h.events()).toEqual(before);
    archive.mockRestore();

    // Killed after the swap, before the run's own records: the ledger already opens the new generation.
    const append = vi.spyOn(FileStore.prototype, 'append').mockRejectedValueOnce(new Error('killed after the swap'));
    await expect(h.run(2)).rejects.toThrow('killed after the swap');
    append.mockRestore();
    expect((await h.events()).map((e) => e.type)).toEqual(['campaignArchived', 'campaignReset']);

    await h.run(3);
    expect((await h.events()).map((e) => e.type)).toEqual(['campaignArchived', 'campaignReset', 'runStarted', 'runFinished']);
    expect(fs.readdirSync(path.join(h.dir, 'admins-passkeys', 'archive'))).toHaveLength(1);
    expect((await h.state()).generation).toBe(1);
  });

  it('refuses in the job, as in validate, any move the lock rule does not allow', async () => {
    h = await harness({ admins: 10 });
    await h.run(0);
    h.campaign.spec.status = 'notStarted';
    const err = await h.run(1).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'UsageError', code: 'StatusMoveRefused' });
    expect((await h.events()).filter((e) => e.type === 'runStarted')).toHaveLength(1);
  });
});
