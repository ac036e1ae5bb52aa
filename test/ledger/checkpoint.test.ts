// Ledger checkpoints (src/reconcile/checkpoint.ts): a checkpoint and the events after it fold to exactly what
// the whole ledger folds to, for the state and every other fold a run makes; a ledger that no longer starts with
// the bytes a checkpoint summarises, or a checkpoint that is incomplete, is read whole instead.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldExemptions } from '../../src/engine/exemptions';
import { ledgerPosition } from '../../src/engine/lifecycle';
import { mailSends } from '../../src/engine/mail-limits';
import { openIntents } from '../../src/engine/recovery';
import { foldLedger } from '../../src/engine/state';
import { previousTargeted } from '../../src/engine/valve';
import { encodeBatch } from '../../src/ledger/codec';
import type { LedgerEvent } from '../../src/ledger/events';
import { FileStore } from '../../src/ledger/file/store';
import type { LedgerMark } from '../../src/ledger/store';
import { readTail, tailOfBytes } from '../../src/ledger/tail';
import { CHECKPOINT_SNAPSHOT, MAIL_HISTORY_MS, pieceName, readRunLedger, USERS_PER_PIECE, writeCheckpoint, type CheckpointHeader, type CheckpointPiece } from '../../src/reconcile/checkpoint';
import { buildDemoLedger, type DemoLedger } from '../report/demo-ledger';

let tmp: string;
let demo: DemoLedger;
let name: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'checkpoint-'));
  // Real reconcile runs, one a day: each run after the first reads the previous run's checkpoint.
  demo = await buildDemoLedger({ dir: path.join(tmp, 'demo'), admins: 40, days: 24, seed: 5, passkeyLossDay: 20 });
  name = demo.campaign.metadata.name;
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Every fold a run makes over the ledger, as plain data for deep equality. */
function folds(events: readonly LedgerEvent[], lastAt: number) {
  return {
    position: ledgerPosition(events),
    open: openIntents(events),
    exemptions: foldExemptions(events),
    previousTargeted: previousTargeted(events),
    // The sending limits look back one day from the run's time: the window a checkpoint carries.
    mail: mailSends(events).filter((m) => m.at >= lastAt - MAIL_HISTORY_MS),
  };
}

const lastAtOf = (events: readonly LedgerEvent[]) => events.reduce((m, e) => Math.max(m, Date.parse(e.at)), -Infinity);

function markOf(lines: Buffer[], upTo: number): LedgerMark {
  const bytes = Buffer.concat(lines.slice(0, upTo));
  return { events: upTo, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The ledger's lines, each with its newline. */
function linesOf(file: string): Buffer[] {
  const buf = fs.readFileSync(file);
  const out: Buffer[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const nl = buf.indexOf(0x0a, pos);
    out.push(buf.subarray(pos, nl + 1));
    pos = nl + 1;
  }
  return out;
}

/** A copy of `lines` as a campaign ledger in a fresh store. */
function storeWith(dir: string, lines: Buffer[]): FileStore {
  const store = new FileStore({ dir: path.join(tmp, dir) });
  fs.mkdirSync(store.campaignDir(name), { recursive: true });
  fs.writeFileSync(store.ledgerFile(name), Buffer.concat(lines));
  return store;
}

describe('checkpoints written by real runs', () => {
  it('the last run left a checkpoint at the end of the ledger, and it folds to what the whole ledger folds to', async () => {
    const all = (await demo.store.read(name)).events;
    const header = await demo.store.readSnapshot<CheckpointHeader>(name, CHECKPOINT_SNAPSHOT);
    expect(header?.ledger.events).toBe(all.length);
    expect(header?.ledger.bytes).toBe(fs.statSync(demo.store.ledgerFile(name)).size);
    const read = await readRunLedger(demo.store, name);
    expect(read.fromCheckpoint).toBe(true);
    expect(read.warnings).toEqual([]);
    expect(read.total).toBe(all.length);
    expect(read.state).toEqual(foldLedger(all));
    expect(folds(read.events, lastAtOf(all))).toEqual(folds(all, lastAtOf(all)));
    // The carried events are a small part of the ledger.
    expect(header!.carry.length).toBeLessThan(all.length / 10);
  });
});

describe('a checkpoint at any point of a ledger', () => {
  it('folds with the events after it to exactly the whole fold, including intents left open across the checkpoint', async () => {
    const real = linesOf(demo.store.ledgerFile(name));
    const events = (await demo.store.read(name)).events;
    // An interrupted run that recorded a notice (sent and dispatched, no outcome) and a group add without outcome,
    // then a run that settles them: intents open across a checkpoint between the two.
    const user = events.find((e): e is Extract<LedgerEvent, { type: 'notificationSent' }> => e.type === 'notificationSent')!;
    const at = new Date(lastAtOf(events) + 3_600_000).toISOString();
    const later = new Date(lastAtOf(events) + 7_200_000).toISOString();
    const key = `${name}:interrupted:1`;
    const extra: LedgerEvent[] = [
      { v: 1, at, type: 'runStarted', runId: 'cut-1', campaign: name, status: 'inProgress', intents: 1 },
      { ...user, at, runId: 'cut-1', key },
      { v: 1, at, type: 'notificationDispatch', runId: 'cut-1', channel: 'email', keys: [key], sender: 'noreply@contoso.com' } as LedgerEvent,
      { v: 1, at, type: 'groupAddIntent', runId: 'cut-1', userId: user.userId, userPrincipalName: user.userPrincipalName, groupId: 'a1100000-0000-4000-8000-000000000004' } as LedgerEvent,
      { v: 1, at: later, type: 'runStarted', runId: 'cut-2', campaign: name, status: 'inProgress', intents: 1 },
      { v: 1, at: later, type: 'runFinished', runId: 'cut-1', ok: false, error: 'closed by cut-2' } as LedgerEvent,
      { v: 1, at: later, type: 'notificationOutcome', runId: 'cut-2', key, userId: user.userId, outcome: 'delivered', channel: 'email' } as LedgerEvent,
      { v: 1, at: later, type: 'runFinished', runId: 'cut-2', ok: true, counts: {} },
    ];
    const lines = [...real, ...encodeBatch(extra).split(/(?<=\n)/).map((l) => Buffer.from(l))];
    const store = storeWith('cuts', lines);
    const all = (await store.read(name)).events;
    expect(all.length).toBe(lines.length);
    const whole = { state: foldLedger(all), ...folds(all, lastAtOf(all)) };
    // Every run boundary of the real ledger, and every line of the extra runs.
    const cuts = new Set<number>([0, all.length]);
    all.forEach((e, i) => (e.type === 'runFinished' || i >= real.length) && cuts.add(i + 1));
    for (const cut of cuts) {
      const prefix = all.slice(0, cut);
      await writeCheckpoint(store, name, markOf(lines, cut), foldLedger(prefix), prefix);
      const read = await readRunLedger(store, name);
      expect(read.fromCheckpoint, `cut at ${cut}`).toBe(true);
      expect(read.total).toBe(all.length);
      expect({ state: read.state, ...folds(read.events, lastAtOf(all)) }, `cut at ${cut}`).toEqual(whole);
    }
  });

  it('splits the users into pieces and joins them back', async () => {
    const all = (await demo.store.read(name)).events;
    const lines = linesOf(demo.store.ledgerFile(name));
    const store = storeWith('pieces', lines);
    const state = foldLedger(all);
    // More users than one piece holds: copies of the real users under other ids.
    const one = Object.values(state.users)[0];
    for (let i = 0; i < USERS_PER_PIECE + 5; i++) state.users[`copy-${i}`] = { ...one, userId: `copy-${i}` };
    await writeCheckpoint(store, name, markOf(lines, lines.length), state, all);
    expect(fs.existsSync(store.snapshotFile(name, pieceName(1)))).toBe(true);
    const read = await readRunLedger(store, name);
    expect(read.fromCheckpoint).toBe(true);
    expect(read.state).toEqual(state);
  });
});

describe('a checkpoint of the previous version', () => {
  it('(users listing every notification key sent to them) is read, and gives what the whole ledger folds to', async () => {
    const all = (await demo.store.read(name)).events;
    const lines = linesOf(demo.store.ledgerFile(name));
    const store = storeWith('version-1', lines);
    await writeCheckpoint(store, name, markOf(lines, lines.length), foldLedger(all), all);
    // As version 1 wrote it: the same, with each user's keys (the ledger's notificationSent keys, oldest first).
    const header = (await store.readSnapshot<CheckpointHeader>(name, CHECKPOINT_SNAPSHOT))!;
    const keys = new Map<string, string[]>();
    for (const e of all) if (e.type === 'notificationSent') keys.set(e.userId, [...(keys.get(e.userId) ?? []), e.key]);
    expect(keys.size).toBeGreaterThan(0);
    for (let i = 0; i < header.pieces; i++) {
      const piece = (await store.readSnapshot<CheckpointPiece>(name, pieceName(i)))!;
      for (const [id, u] of piece.users) (u.notifications as { keys?: string[] }).keys = keys.get(id) ?? [];
      await store.writeSnapshot(name, pieceName(i), piece);
    }
    await store.writeSnapshot(name, CHECKPOINT_SNAPSHOT, { ...header, v: 1 });
    const read = await readRunLedger(store, name);
    expect(read.fromCheckpoint).toBe(true);
    expect(read.warnings).toEqual([]);
    const whole = foldLedger(all);
    expect(read.state).toEqual(whole);
    // Each user as the fold has it, field order included (a later checkpoint's pieces are written from these).
    for (const id in whole.users) expect(JSON.stringify(read.state.users[id])).toBe(JSON.stringify(whole.users[id]));
    expect(folds(read.events, lastAtOf(all))).toEqual(folds(all, lastAtOf(all)));
  });
});

describe('a checkpoint that does not match is left aside', () => {
  async function checkpointed(dir: string) {
    const lines = linesOf(demo.store.ledgerFile(name));
    const store = storeWith(dir, lines);
    const all = (await store.read(name)).events;
    const cut = Math.floor(all.length / 2);
    await writeCheckpoint(store, name, markOf(lines, cut), foldLedger(all.slice(0, cut)), all.slice(0, cut));
    return { store, lines, file: store.ledgerFile(name) };
  }

  it('an edited line before the checkpoint (same length): read whole, with a warning, the edit folded', async () => {
    const { store, file } = await checkpointed('edited');
    const buf = fs.readFileSync(file);
    const i = buf.indexOf('"to":"passkeyRegistration"');
    expect(i).toBeGreaterThan(0);
    // Same byte length (JSON allows the spaces), still before the checkpoint: only the hash can tell.
    expect(i).toBeLessThan((await store.readSnapshot<CheckpointHeader>(name, CHECKPOINT_SNAPSHOT))!.ledger.bytes);
    buf.write('"to":"enforcementNotice"  ', i);
    fs.writeFileSync(file, buf);
    const read = await readRunLedger(store, name);
    expect(read.fromCheckpoint).toBe(false);
    expect(read.warnings.join(' ')).toMatch(/no longer starts with/);
    const edited = (await store.read(name)).events;
    expect(read.state).toEqual(foldLedger(edited));
    expect(edited).not.toEqual((await demo.store.read(name)).events);
  });

  it('a truncated ledger, a missing piece, another format: read whole', async () => {
    const { store, lines, file } = await checkpointed('broken');
    const whole = foldLedger((await store.read(name)).events);
    expect((await readRunLedger(store, name)).fromCheckpoint).toBe(true);

    const piece = store.snapshotFile(name, pieceName(0));
    const saved = fs.readFileSync(piece);
    fs.rmSync(piece);
    let read = await readRunLedger(store, name);
    expect([read.fromCheckpoint, read.warnings.join(' ')]).toEqual([false, expect.stringMatching(/incomplete/)]);
    expect(read.state).toEqual(whole);
    fs.writeFileSync(piece, saved);

    const header = store.snapshotFile(name, CHECKPOINT_SNAPSHOT);
    const h = JSON.parse(fs.readFileSync(header, 'utf8'));
    fs.writeFileSync(header, JSON.stringify({ ...h, v: 99 }));
    read = await readRunLedger(store, name);
    expect([read.fromCheckpoint, read.warnings.join(' ')]).toEqual([false, expect.stringMatching(/another format/)]);
    fs.writeFileSync(header, JSON.stringify(h));

    fs.writeFileSync(file, Buffer.concat(lines.slice(0, 3)));
    read = await readRunLedger(store, name);
    expect(read.fromCheckpoint).toBe(false);
    expect(read.state).toEqual(foldLedger((await store.read(name)).events));
  });

  it('no checkpoint (a ledger written before checkpoints): read whole, silently', async () => {
    const store = storeWith('old', linesOf(demo.store.ledgerFile(name)));
    const read = await readRunLedger(store, name);
    expect([read.fromCheckpoint, read.warnings]).toEqual([false, []]);
    expect(read.state).toEqual(foldLedger((await store.read(name)).events));
  });
});

describe('the file store reads after a mark in pieces', () => {
  it('gives what one read of the whole file gives, whatever the piece size, partial last line included', async () => {
    const file = demo.store.ledgerFile(name);
    const lines = linesOf(file).slice(0, 300);
    const partial = Buffer.from('{"v":1,"type":"notificationSe');
    const bytes = Buffer.concat([...lines, partial]);
    const copy = path.join(tmp, 'pieces.jsonl');
    fs.writeFileSync(copy, bytes);
    // A piece of one byte reads byte by byte: over a dozen lines, not three hundred (which took most of a minute).
    const few = lines.slice(0, 12);
    const fewCopy = path.join(tmp, 'pieces-few.jsonl');
    const fewBytes = Buffer.concat([...few, partial]);
    fs.writeFileSync(fewCopy, fewBytes);
    const cases = [
      { ls: lines, b: bytes, f: copy, pieces: [97, 4096, 1 << 20] },
      { ls: few, b: fewBytes, f: fewCopy, pieces: [1, 97] },
    ];
    for (const { ls, b, f, pieces } of cases) {
      for (const mark of [null, markOf(ls, 0), markOf(ls, 7), markOf(ls, ls.length)]) {
        const expected = tailOfBytes(b, mark, f);
        expect(expected).not.toBeNull();
        for (const piece of pieces) {
          const fh = await fs.promises.open(f, 'r');
          try {
            expect(await readTail(fh, mark, f, {}, piece), `piece ${piece}`).toEqual(expected);
            expect(await readTail(fh, mark, f, { linesOnly: true }, piece), `piece ${piece}, lines only`).toEqual({ ...expected, events: [] });
          } finally {
            await fh.close();
          }
        }
      }
    }
    const fh = await fs.promises.open(copy, 'r');
    try {
      expect(await readTail(fh, { ...markOf(lines, 7), sha256: 'f'.repeat(64) }, copy, {}, 4096)).toBeNull();
    } finally {
      await fh.close();
    }
  });
});
