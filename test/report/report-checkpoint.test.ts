import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { requestPostponement } from '../../src/engine/postpone';
import { foldLedger } from '../../src/engine/state';
import { FileStore } from '../../src/ledger/file/store';
import { foldReport, ReportFold } from '../../src/report/fold';
import { readFoldedReportLedger, type FoldedReportLedger } from '../../src/report/read';
import { readReportCheckpoint, REPORT_CHECKPOINT_SNAPSHOT, writeReportCheckpoint } from '../../src/report/report-checkpoint';
import { BlobServiceClient } from '@azure/storage-blob';
import { BlobStore } from '../../src/ledger/blob/store';
import { buildReport, positionsOf } from '../../src/report/model';
import { readReportLedger } from '../../src/report/read';
import { updateReportCheckpoint } from '../../src/report/report-checkpoint';
import { startAzurite } from '../ledger/azurite';
import type { Campaign } from '../../src/campaign/types';
import type { Observation } from '../../src/engine/types';
import { LEDGER_VERSION } from '../../src/ledger/events';
import { captureIo } from '../helpers/io';
import { buildDemoLedger, writeStartedCampaign, type DemoLedger } from './demo-ledger';

let tmp: string;
let state: string;
let campaignFile: string;
let demo: DemoLedger;
/** A campaign a few days in (users who may still postpone), and one 30 days in (users past a grace period, alerts). */
let early: { state: string; demo: DemoLedger };
let late: { state: string; demo: DemoLedger };
const NOW = '2027-01-02T08:00:00Z';
const NAME = 'admins-passkeys';

/** The ledger the next tests read. */
function use(l: { state: string; demo: DemoLedger }) {
  state = l.state;
  demo = l.demo;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-checkpoint-'));
  // Real reconcile runs over the Graph emulator, with postponements between them.
  const build = async (dir: string, days: number, seed: number) => ({ state: path.join(tmp, dir), demo: await buildDemoLedger({ dir: path.join(tmp, dir), admins: 14, days, seed, passkeyLossDay: days - 1 }) });
  late = await build('late', 30, 3);
  early = await build('early', 6, 5);
  campaignFile = writeStartedCampaign(tmp);
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fold's result as JSON (maps as their entries, in order). */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v: unknown) => (v instanceof Map ? [...v] : v)));

const snapshots = () => path.join(state, NAME, 'snapshots');
const checkpointFiles = () => fs.readdirSync(snapshots()).filter((f) => f.startsWith(REPORT_CHECKPOINT_SNAPSHOT));

async function status(args: string[]) {
  const io = captureIo(process.cwd(), {});
  const code = await run(['status', '--campaign', campaignFile, '--state', state, '--now', NOW, ...args], io);
  return { code, out: io.out(), err: io.err() };
}

/** Every output of status that reads the fold: text, JSON, Markdown, the contact list, the helpdesk queue. */
async function outputs(tag: string) {
  const dir = path.join(tmp, 'out', path.basename(state), tag);
  const text = await status([]);
  const json = await status(['--json']);
  const files = await status(['--markdown', path.join(dir, 'summary.md'), '--csv', path.join(dir, 'users.csv'), '--onboarding-queue', path.join(dir, 'queue.md')]);
  expect([text.code, json.code, files.code]).toEqual([0, 0, 0]);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  return { text: text.out, json: json.out, err: text.err + json.err, markdown: read('summary.md'), csv: read('users.csv'), queue: read('queue.md') };
}

/** The outputs after the report checkpoint is moved away (status then reads the whole ledger), and it put back. */
async function outputsWithout() {
  const aside = path.join(tmp, 'aside', path.basename(state));
  fs.mkdirSync(aside, { recursive: true });
  const files = checkpointFiles();
  for (const f of files) fs.renameSync(path.join(snapshots(), f), path.join(aside, f));
  try {
    expect(checkpointFiles()).toEqual([]);
    expect((await readFoldedReportLedger(demo.store, NAME)).fromCheckpoint).toBe(false);
    return await outputs('without');
  } finally {
    for (const f of files) fs.renameSync(path.join(aside, f), path.join(snapshots(), f));
  }
}

describe('the report checkpoint a reconcile run leaves for campaign status', () => {
  it('is written by the run, and status from it prints exactly what status prints from the whole ledger', async () => {
    use(late);
    expect(checkpointFiles()).toContain(`${REPORT_CHECKPOINT_SNAPSHOT}.json`);
    const read = await readFoldedReportLedger(demo.store, NAME, demo.campaign);
    expect(read.fromCheckpoint).toBe(true);
    expect(read.reducedObservation).toBe(true);
    expect(read.warnings).toEqual([]);
    // The observation saved with it keeps only the devices that decide readiness: fewer than the snapshot's.
    const full = (await demo.store.readSnapshot<Observation>(NAME, 'observation'))!;
    const devices = (o: Observation) => o.users.reduce((n, u) => n + u.devices.length, 0);
    expect(devices(read.observation!)).toBeLessThan(devices(full));
    expect(read.observation!.users.map((u) => u.userId)).toEqual(full.users.map((u) => u.userId));
    const withCheckpoint = await outputs('with');
    expect(withCheckpoint.json).toContain('"runs":30');
    // Users past a grace period (their deadlines are folded apart from the users' state).
    expect(withCheckpoint.json).toMatch(/"exceededGraceAt":"2/);
    expect(await outputsWithout()).toEqual(withCheckpoint);
  });

  it('folds the events appended after it (a postponement): the same output as the whole ledger, which it differs from before', async () => {
    use(early);
    expect((await readFoldedReportLedger(demo.store, NAME)).fromCheckpoint).toBe(true);
    const before = await outputs('before-postpone');
    const all = await demo.store.read(NAME);
    const folded = foldLedger(all.events);
    let appended = false;
    for (const id of Object.keys(folded.users)) {
      const r = requestPostponement(demo.campaign, folded, id, '2026-12-06T09:00:00.000Z');
      if (!r.ok) continue;
      await demo.store.append(NAME, [r.event]);
      appended = true;
      break;
    }
    expect(appended).toBe(true);
    const read = await readFoldedReportLedger(demo.store, NAME, demo.campaign);
    expect(read.fromCheckpoint).toBe(true);
    expect(read.reducedObservation).toBe(true);
    const withCheckpoint = await outputs('after-postpone');
    expect(withCheckpoint.json).not.toEqual(before.json);
    expect(await outputsWithout()).toEqual(withCheckpoint);
  });

  it('is left aside with a warning when the ledger no longer starts with what it summarises', async () => {
    use(late);
    const file = demo.store.ledgerFile(NAME);
    const original = fs.readFileSync(file);
    const expected = JSON.parse((await outputsWithout()).json) as { warnings: string[] };
    try {
      // The first line rewritten with the same meaning (its keys' spacing): the bytes the checkpoint hashes changed.
      const nl = original.indexOf(0x0a);
      const first = JSON.stringify(JSON.parse(original.toString('utf8', 0, nl)), null, 0).replace('{', '{ ');
      fs.writeFileSync(file, Buffer.concat([Buffer.from(first), original.subarray(nl)]));
      const read = await readFoldedReportLedger(demo.store, NAME);
      expect(read.fromCheckpoint).toBe(false);
      expect(read.warnings).toEqual([expect.stringMatching(/^the report checkpoint of admins-passkeys does not match the ledger at .*ledger\.jsonl, which no longer starts with the \d+ events it summarises \(edited, truncated or replaced\): the ledger was read whole, and the next reconcile run writes a new one\.$/)]);
      const json = JSON.parse((await status(['--json'])).out) as { warnings: string[] };
      expect(json.warnings).toEqual([...expected.warnings, read.warnings[0]]);
      expect({ ...json, warnings: expected.warnings }).toEqual(expected);
      expect((await status([])).out).toContain('report checkpoint of admins-passkeys does not match');
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('restored at any point of the ledger and given the rest, folds to what the whole ledger folds to', async () => {
    use(late);
    const all = (await demo.store.read(NAME)).events;
    const whole = new ReportFold();
    for (const e of all) whole.add(e);
    const expected = plain(whole.result());
    const scratch = new FileStore({ dir: path.join(tmp, 'scratch') });
    const mark = { events: 0, bytes: 0, sha256: '' };
    // Each restored fold's users share their values until an event changes one (an alert raised, a stage entered):
    // any event leaking into another user would show here.
    for (const at of [0, 1, Math.floor(all.length / 3), Math.floor(all.length / 2), all.length - 5, all.length]) {
      const head = new ReportFold();
      for (const e of all.slice(0, at)) head.add(e);
      await writeReportCheckpoint(scratch, NAME, mark, head);
      const restored = await readReportCheckpoint(scratch, NAME);
      if (!restored || !('fold' in restored)) throw new Error(`not restored at ${at}`);
      for (const e of all.slice(at)) restored.fold.add(e);
      expect({ at, fold: plain(restored.fold.result()) }).toEqual({ at, fold: expected });
    }
  });

  it('restores the users as lists in the record\'s order, the record made from them only when read', async () => {
    use(late);
    const all = (await demo.store.read(NAME)).events;
    const whole = new ReportFold();
    for (const e of all) whole.add(e);
    const scratch = new FileStore({ dir: path.join(tmp, 'scratch-lists') });
    await writeReportCheckpoint(scratch, NAME, { events: 0, bytes: 0, sha256: '' }, whole);
    const restore = async () => {
      const r = await readReportCheckpoint(scratch, NAME);
      if (!r || !('fold' in r)) throw new Error('not restored');
      return r.fold;
    };
    const fold = await restore();
    const lists = fold.usersInOrder()!;
    expect(lists.keys).toEqual(Object.keys(whole.state.users));
    expect(plain(lists.users)).toEqual(plain(Object.values(whole.state.users)));
    expect(fold.result().usersInOrder?.()).toBe(lists);
    // Read once, the record is made of the same users in the same order; the lists are no longer given.
    const record = fold.state.users;
    expect(Object.keys(record)).toEqual(lists.keys);
    lists.keys.forEach((k, i) => expect(record[k]).toBe(lists.users[i]));
    expect(fold.state.users).toBe(record);
    expect(fold.usersInOrder()).toBeNull();
    expect(fold.result().usersInOrder?.()).toBeNull();
    // An event after the mark that names a user changes the record: no lists after it.
    const moved = await restore();
    const userEvent = all.find((e) => e.type === 'userEnteredStage')!;
    moved.add(userEvent);
    expect(moved.usersInOrder()).toBeNull();
    // A state replaced (a reset empties the record) or assigned by a caller: no lists either.
    const reset = await restore();
    reset.state.users = {};
    expect(reset.usersInOrder()).toBeNull();
    expect(reset.state.users).toEqual({});
    const replaced = await restore();
    replaced.state = whole.state;
    expect(replaced.usersInOrder()).toBeNull();
  });

  it('gives the report the record gives, by position, whatever order the observation names the users in', async () => {
    use(late);
    const all = (await demo.store.read(NAME)).events;
    const whole = new ReportFold();
    for (const e of all) whole.add(e);
    const scratch = new FileStore({ dir: path.join(tmp, 'scratch-positions') });
    await writeReportCheckpoint(scratch, NAME, { events: 0, bytes: 0, sha256: '' }, whole);
    const restore = async () => {
      const r = await readReportCheckpoint(scratch, NAME);
      if (!r || !('fold' in r)) throw new Error('not restored');
      return r.fold;
    };
    const full = (await demo.store.readSnapshot<Observation>(NAME, 'observation'))!;
    const users = full.users;
    expect(users.length).toBeGreaterThan(5);
    const stranger = { ...users[0], userId: '99999999-9999-4999-8999-999999999999', userPrincipalName: 'stranger@contoso.com' };
    const orders: Record<string, Observation['users']> = {
      same: users,
      reversed: [...users].reverse(),
      rotated: [...users.slice(3), ...users.slice(0, 3)],
      // One missing (listed after the others), one named twice, one the ledger does not know.
      gaps: [users[1], users[0], ...users.slice(3), users[4], stranger],
      reversedTwice: [...users].reverse().concat([users[2], stranger]),
    };
    for (const [name, list] of Object.entries(orders)) {
      const observation: Observation = { ...full, users: list };
      const byPosition = await restore();
      const byRecord = await restore();
      void byRecord.state.users;
      expect(byRecord.usersInOrder()).toBeNull();
      const got = buildReport({ campaign: demo.campaign, events: [], replay: byPosition.result(), observation });
      // Built without the record: the lists were read, not state.users.
      expect(byPosition.usersInOrder()).not.toBeNull();
      const expected = buildReport({ campaign: demo.campaign, events: [], replay: byRecord.result(), observation });
      expect({ name, report: got }).toEqual({ name, report: expected });
      expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
    }
  });

  it('builds the report while the ledger is checked only when nothing follows the mark, and keeps it only if the ledger matches', async () => {
    use(late);
    let builds = 0;
    const build = (l: FoldedReportLedger) => {
      builds++;
      return buildReport({ campaign: demo.campaign, events: [], replay: l.replay, observation: l.observation, delivery: l.delivery, impact: l.impact, ledgerWarnings: l.warnings });
    };
    const same = await readFoldedReportLedger(demo.store, NAME, demo.campaign, build);
    expect(same.fromCheckpoint).toBe(true);
    expect(builds).toBe(1);
    expect(same.built).toBeDefined();
    expect(same.built).toEqual(build(same));
    const file = demo.store.ledgerFile(NAME);
    const original = fs.readFileSync(file);
    try {
      // A line written after the mark while the report was built: dropped, the line folded.
      const lastLine = original.subarray(original.lastIndexOf(0x0a, original.length - 2) + 1);
      builds = 0;
      const racing = await readFoldedReportLedger(demo.store, NAME, demo.campaign, (l) => {
        if (builds === 0) fs.appendFileSync(file, lastLine);
        return build(l);
      });
      expect(builds).toBe(1);
      expect(racing.fromCheckpoint).toBe(true);
      expect(racing.built).toBeUndefined();
      expect(racing.replay.overviewEvents).toBe(same.replay.overviewEvents + 1);
      fs.writeFileSync(file, original);
      // The same size, another first line: built early, then dropped (the checkpoint is left aside).
      const nl = original.indexOf(0x0a);
      const first = original.toString('utf8', 0, nl);
      const changed = first.replace(/(T\d\d:\d\d:)(\d)/, (_m, head: string, d: string) => `${head}${d === '0' ? '1' : '0'}`);
      expect(changed).not.toBe(first);
      expect(Buffer.byteLength(changed)).toBe(nl);
      fs.writeFileSync(file, Buffer.concat([Buffer.from(changed), original.subarray(nl)]));
      builds = 0;
      const other = await readFoldedReportLedger(demo.store, NAME, demo.campaign, build);
      expect(builds).toBe(1);
      expect(other.fromCheckpoint).toBe(false);
      expect(other.built).toBeUndefined();
      expect(other.warnings).toEqual([expect.stringContaining('report checkpoint of admins-passkeys does not match the ledger at')]);
      // An event after the mark: not built early (the file is longer than the mark), folded as before.
      fs.writeFileSync(file, original);
      await demo.store.append(NAME, [{ v: LEDGER_VERSION, at: '2027-01-01T06:00:00.000Z', type: 'runStarted', runId: 'later', campaign: NAME, status: 'inProgress' }]);
      builds = 0;
      const later = await readFoldedReportLedger(demo.store, NAME, demo.campaign, build);
      expect(builds).toBe(0);
      expect(later.fromCheckpoint).toBe(true);
      expect(later.built).toBeUndefined();
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('finds each observed user\'s position among the state\'s users as a map of every id would, in any order', () => {
    // A small pseudo-random generator: the same cases every run.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const keys = Array.from({ length: 3000 }, (_, i) => `id-${i}`);
    const index = new Map(keys.map((k, i) => [k, i]));
    const shuffled = (list: string[]) => {
      const out = [...list];
      for (let i = out.length - 1; i > 0; i--) {
        const j = rand(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    };
    const cases: Record<string, string[]> = {
      same: keys,
      // Long runs of the state's users the observation does not name (left), and users it names that are not there.
      gaps: keys.filter((_, i) => i % 100 >= 40).concat(['new-1', 'new-2']),
      interleaved: keys.flatMap((k, i) => (i % 7 === 0 ? [`held-${i}`, k] : [k])),
      shuffled: shuffled(keys),
      blocks: [...keys.slice(2000), ...keys.slice(0, 1000), ...keys.slice(1000, 2000)],
      twice: [...keys.slice(0, 50), ...keys.slice(10, 20), ...shuffled(keys.slice(50)), 'id-7', 'id-2999'],
      none: [],
    };
    for (const [name, ids] of Object.entries(cases)) {
      const { at, found } = positionsOf(keys, ids.map((userId) => ({ userId })));
      expect({ name, at: [...at] }).toEqual({ name, at: ids.map((id) => index.get(id) ?? -1) });
      const named = new Set(ids);
      expect({ name, found: [...found] }).toEqual({ name, found: keys.map((k) => (named.has(k) ? 1 : 0)) });
    }
  });

  it('folds the ledger as the overview read does (notices counted per run, delivery records left out)', async () => {
    use(late);
    const all = (await demo.store.read(NAME)).events;
    const overview = await demo.store.readOverview(NAME);
    const fold = new ReportFold();
    for (const e of all) fold.add(e);
    expect(plain(fold.result())).toEqual(plain(foldReport(overview.events, overview.notificationsByRun)));
    expect(fold.result().overviewEvents).toBe(overview.events.length);
  });

  it('works the same in the Azure Blob store (Azurite): written, read with the events after it, left aside when it does not match', async () => {
    use(late);
    const azurite = await startAzurite();
    try {
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('report-checkpoint');
      await container.create();
      const blob = new BlobStore({ container, pollMs: 20 });
      const all = (await demo.store.read(NAME)).events;
      const half = Math.floor(all.length / 2);
      await blob.append(NAME, all.slice(0, half));
      for (const name of ['observation', 'delivery']) await blob.writeSnapshot(NAME, name, await demo.store.readSnapshot(NAME, name));
      const report = async () => {
        const whole = await readReportLedger(blob, NAME);
        const expected = buildReport({ campaign: demo.campaign, ...whole, ledgerWarnings: whole.warnings });
        const folded = await readFoldedReportLedger(blob, NAME);
        return { folded, expected, got: buildReport({ campaign: demo.campaign, events: [], ...folded, ledgerWarnings: folded.warnings }) };
      };
      expect(await updateReportCheckpoint(blob, NAME)).toEqual([]);
      await blob.append(NAME, all.slice(half));
      const r = await report();
      expect(r.folded.fromCheckpoint).toBe(true);
      expect(r.got).toEqual(r.expected);
      expect(r.got.runs).toBe(30);
      // Another ledger under the same name: the checkpoint is left aside, the report is the new ledger's.
      await container.getBlobClient(`${NAME}/ledger.jsonl`).delete();
      await blob.append(NAME, all.slice(0, 40));
      const other = await report();
      expect(other.folded.fromCheckpoint).toBe(false);
      expect(other.got.warnings).toEqual([expect.stringContaining('report checkpoint of admins-passkeys does not match the ledger at')]);
      expect({ ...other.got, warnings: [] }).toEqual({ ...other.expected, warnings: [] });
    } finally {
      await azurite.stop();
    }
  }, 60_000);

  it('uses the snapshot instead of the observation saved with it when a run started since, or the device rules changed', async () => {
    use(late);
    const report = async (campaign: Campaign) => {
      const folded = await readFoldedReportLedger(demo.store, NAME, campaign);
      const whole = await readReportLedger(demo.store, NAME);
      return {
        reduced: folded.reducedObservation,
        got: buildReport({ campaign, events: [], ...folded, ledgerWarnings: folded.warnings }),
        expected: buildReport({ campaign, ...whole, ledgerWarnings: whole.warnings }),
      };
    };
    // A higher minimum for Windows: other devices decide readiness.
    const stricter: Campaign = JSON.parse(JSON.stringify(demo.campaign)) as Campaign;
    stricter.spec.devices.minimumOs.Windows = '10.0.99999';
    const s = await report(stricter);
    expect(s.reduced).toBe(false);
    expect(s.got).toEqual(s.expected);
    expect(s.got).not.toEqual((await report(demo.campaign)).got);
    const file = demo.store.ledgerFile(NAME);
    const original = fs.readFileSync(file);
    try {
      // A run that started after the checkpoint (and wrote its observation, or would have).
      await demo.store.append(NAME, [{ v: LEDGER_VERSION, at: '2027-01-01T06:00:00.000Z', type: 'runStarted', runId: 'later', campaign: NAME, status: 'inProgress' }]);
      const later = await report(demo.campaign);
      expect(later.reduced).toBe(false);
      expect(later.got).toEqual(later.expected);
    } finally {
      fs.writeFileSync(file, original);
    }
    expect((await report(demo.campaign)).reduced).toBe(true);
    // A run under the stricter rules saves the devices they make decisive: the same report as from the snapshot.
    await updateReportCheckpoint(demo.store, NAME, { campaign: stricter, observation: (await demo.store.readSnapshot<Observation>(NAME, 'observation'))! });
    const strict = await report(stricter);
    expect(strict.reduced).toBe(true);
    expect(strict.got.users.filter((u) => u.devicesBelowMinimum.length > 0).length).toBeGreaterThan(3);
    expect(strict.got).toEqual(strict.expected);
  });
  it('writes the observation reduced first and lets go of it before it folds the ledger (a holder of the handed object no longer keeps it)', async () => {
    use(late);
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const observed: { campaign: Campaign; observation: Observation | null } = { campaign: demo.campaign, observation: (await demo.store.readSnapshot<Observation>(NAME, 'observation'))! };
    const ref = new WeakRef(observed.observation!);
    const readAfter = demo.store.readAfter.bind(demo.store);
    let heldWhileFolding: boolean | null = null;
    demo.store.readAfter = (async (...args: Parameters<typeof readAfter>) => {
      if (heldWhileFolding === null) {
        gc();
        heldWhileFolding = ref.deref() !== undefined;
      }
      return readAfter(...args);
    }) as typeof demo.store.readAfter;
    try {
      await updateReportCheckpoint(demo.store, NAME, observed);
    } finally {
      demo.store.readAfter = readAfter;
    }
    expect(observed.observation).toBeNull();
    expect(heldWhileFolding).toBe(false);
    // And the checkpoint it wrote still serves status the report the whole ledger gives.
    const folded = await readFoldedReportLedger(demo.store, NAME, demo.campaign);
    const whole = await readReportLedger(demo.store, NAME);
    expect(folded.reducedObservation).toBe(true);
    expect(buildReport({ campaign: demo.campaign, events: [], ...folded, ledgerWarnings: folded.warnings })).toEqual(buildReport({ campaign: demo.campaign, ...whole, ledgerWarnings: whole.warnings }));
  });
});
