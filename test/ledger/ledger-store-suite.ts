// The contract every LedgerStore must meet; run for the file store now and the Azure Blob store later.
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CHAIN_GENESIS,
  ChainWalker,
  chainHash,
  splitChained,
  InvalidEventError,
  InvalidNameError,
  LedgerCorruptError,
  LedgerVersionError,
  LockHeldError,
  overviewOf,
  type LedgerEvent,
  type LedgerStore,
} from '../../src/ledger';

export interface StoreHarness {
  store: LedgerStore;
  /** Writes raw bytes to the end of a campaign's ledger, bypassing validation (to simulate damage). */
  appendRaw?: (campaign: string, text: string) => Promise<void>;
  /** The campaign's ledger bytes as stored, read around the store (empty when missing). */
  rawBytes: (campaign: string) => Promise<Buffer>;
  /** Another store instance on the same storage, as a later process would open it. */
  reopen: () => LedgerStore;
  cleanup: () => Promise<void>;
  /** What LockHeldError advises when the holder is gone; default the file store's "delete the lock file". */
  lockGoneAdvice?: RegExp;
}

const NOW = '2026-12-01T06:00:00.000Z';

/**
 * An event with the envelope only. Stores check the envelope, not the schema (codec.ts: a type this build does
 * not know round-trips), so the contract is tested with made-up types and fields.
 */
export function ev(type: string, extra: Record<string, unknown> = {}, at = NOW): LedgerEvent {
  return { v: 1, type, at, ...extra } as LedgerEvent;
}

const who = { userId: 'u1', userPrincipalName: 'ada@contoso.com' };
/** The writers' key orders (codec.ts), and lines a byte scanner could get wrong. */
/** A made-up field of an event written with ev() (the union does not know it). */
export function field(e: LedgerEvent, name: string): unknown {
  const fields: Readonly<Record<string, unknown>> = e;
  return fields[name];
}

export const variedLedger = (): LedgerEvent[] => [
  { v: 1, at: NOW, type: 'runStarted', runId: 'r1', campaign: 'admins-passkeys', status: 'inProgress', intents: 1 },
  { v: 1, at: NOW, runId: 'r1', ...who, type: 'groupAddIntent', groupId: 'g1' },
  { v: 1, type: 'userEnteredStage', at: NOW, runId: 'r1', ...who, from: null, to: 'enforced', reason: 'R', message: 'says "type":"notificationSent" in text' },
  { v: 1, type: 'notificationSent', at: NOW, runId: 'r1', ...who, key: 'k1', kind: 'enforced', stage: 'enforced', sequence: 1 },
  { v: 1, type: 'notificationSent', at: NOW, ...who, key: 'k2', kind: 'enforced', stage: 'enforced', sequence: 2 },
  { v: 1, at: NOW, type: 'notificationDispatch', runId: 'r1', channel: 'teams', keys: ['k1'] },
  { v: 1, at: NOW, runId: 'r1', type: 'notificationOutcome', ...who, key: 'k1', channel: 'teams', outcome: 'delivered', status: 201 },
  { v: 1, at: NOW, runId: 'r1', ...who, type: 'groupAddOutcome', groupId: 'g1', outcome: 'added' },
  // The type far into the line, and a "runId" key inside a nested value before the real one.
  { v: 1, at: NOW, userId: 'u2', userPrincipalName: `${'x'.repeat(300)}@contoso.com`, type: 'notificationSent', runId: 'r2', key: 'k3', kind: 'enforced', stage: 'enforced', sequence: 1 },
  ev('notificationSent', { devices: [{ runId: 'nested' }], runId: 'r3' }),
  ev('somethingNew', { runId: 'r1', detail: { a: 1 } }),
  { v: 1, at: NOW, type: 'runFinished', runId: 'r1', ok: true, counts: { moved: 1 } },
];

export function describeLedgerStore(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`LedgerStore contract: ${name}`, () => {
    let h: StoreHarness;
    let store: LedgerStore;
    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    describe('read and append', () => {
      it('reads a campaign that was never written as an empty ledger without warnings', async () => {
        expect(await store.read('never-written')).toEqual({ events: [], warnings: [] });
      });

      it('reads back appended events in order with every opaque field intact', async () => {
        const first = [
          ev('runStarted', { runId: 'r1' }),
          ev('userEnteredStage', { userId: 'u1', userPrincipalName: 'ådmin@contoso.com', stage: 'deviceUpdate', note: 'line1\nline2 "quoted" \u2028' }),
        ];
        const second = [ev('runFinished', { runId: 'r1', counts: { moved: 1 }, list: [1, null, true] })];
        await store.append('admins-passkeys', first);
        await store.append('admins-passkeys', second);
        const { events, warnings } = await store.read('admins-passkeys');
        expect(warnings).toEqual([]);
        expect(events).toEqual([...first, ...second]);
      });

      it('treats an empty batch as a no-op', async () => {
        await store.append('admins-passkeys', []);
        expect((await store.read('admins-passkeys')).events).toEqual([]);
      });

      it('keeps campaigns apart', async () => {
        await store.append('campaign-a', [ev('a')]);
        await store.append('campaign-b', [ev('b')]);
        expect((await store.read('campaign-a')).events.map((e) => e.type)).toEqual(['a']);
        expect((await store.read('campaign-b')).events.map((e) => e.type)).toEqual(['b']);
      });

      const badEvents: Array<{ name: string; event: unknown; problem: RegExp }> = [
        { name: 'rejects an event without v', event: { type: 't', at: NOW }, problem: /"v" must be a positive integer/ },
        { name: 'rejects an event with v 0', event: { v: 0, type: 't', at: NOW }, problem: /"v" must be a positive integer/ },
        { name: 'rejects an event with a fractional v', event: { v: 1.5, type: 't', at: NOW }, problem: /"v" must be a positive integer/ },
        { name: 'rejects an event newer than this build writes', event: { v: 2, type: 't', at: NOW }, problem: /writes at most version 1/ },
        { name: 'rejects an event without type', event: { v: 1, at: NOW }, problem: /"type" must be a non-empty string/ },
        { name: 'rejects an event with an empty type', event: { v: 1, type: '', at: NOW }, problem: /"type" must be a non-empty string/ },
        { name: 'rejects an event whose at is not a date', event: { v: 1, type: 't', at: 'yesterday' }, problem: /"at" must be an ISO date string/ },
        { name: 'rejects an array', event: [1], problem: /not a JSON object/ },
        { name: 'rejects an event that cannot be serialized', event: { v: 1, type: 't', at: NOW, big: 1n }, problem: /not serializable as JSON/ },
      ];
      it.each(badEvents)('$name and writes nothing from the batch', async ({ event, problem }) => {
        const batch = [ev('good'), event as LedgerEvent];
        const err = await store.append('admins-passkeys', batch).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidEventError);
        expect((err as InvalidEventError).message).toMatch(problem);
        expect((err as InvalidEventError).message).toMatch(/^event #1 of the batch/);
        expect((err as InvalidEventError).retryable).toBe(false);
        expect((await store.read('admins-passkeys')).events).toEqual([]);
      });
    });

    describe('campaign names', () => {
      const badNames = ['../etc', '..', 'ab', 'a'.repeat(41), 'a/b', 'a\\b', 'Admins', 'a b', '', 'admins.passkeys', '/tmp/x'];
      it.each(badNames.map((n) => ({ name: JSON.stringify(n), value: n })))('rejects the campaign name $name everywhere', async ({ value }) => {
        const calls: Array<() => Promise<unknown>> = [
          () => store.read(value),
          () => store.append(value, [ev('x')]),
          () => store.acquireLock(value, { owner: 'test' }),
          () => store.archive(value, new Date(NOW)),
          () => store.writeSnapshot(value, 'observation', {}),
          () => store.readSnapshot(value, 'observation'),
        ];
        for (const call of calls) {
          const err = await call().catch((e: unknown) => e);
          expect(err).toBeInstanceOf(InvalidNameError);
          expect((err as Error).message).toContain('[a-z0-9-]{3,40}');
        }
      });

      it('accepts names of 3 and 40 characters', async () => {
        await store.append('abc', [ev('x')]);
        await store.append('a'.repeat(40), [ev('y')]);
        expect((await store.read('abc')).events).toHaveLength(1);
        expect((await store.read('a'.repeat(40))).events).toHaveLength(1);
      });
    });

    describe('lock', () => {
      it('lets one holder in and tells the second who holds it', async () => {
        const lock = await store.acquireLock('admins-passkeys', { owner: 'reconcile' });
        expect(lock.info.owner).toBe('reconcile');
        expect(lock.info.pid).toBe(process.pid);
        const err = await store.acquireLock('admins-passkeys', { owner: 'postpone' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LockHeldError);
        const held = err as LockHeldError;
        expect(held.retryable).toBe(true);
        expect(held.holder).toMatchObject({ owner: 'reconcile', pid: process.pid, host: lock.info.host, startedAt: lock.info.startedAt });
        expect(held.message).toContain(`pid ${process.pid}`);
        expect(held.message).toContain(`since ${lock.info.startedAt}`);
        expect(held.message).toMatch(h.lockGoneAdvice ?? /If that process is gone, delete /);
        // Callers read fields, never the message: it is built from them.
        expect(held).toMatchObject({ campaign: 'admins-passkeys', lockPath: expect.stringContaining('admins-passkeys'), waitedMs: expect.any(Number) });
        expect(held.summary).toBe(`campaign "admins-passkeys" is locked by owner "reconcile" (pid ${process.pid} on host ${lock.info.host}) since ${lock.info.startedAt}; waited ${held.waitedMs} ms.`);
        expect(held.message).toBe(`${held.summary} Another run is probably in progress: wait for it to finish. ${held.ifGone}`);
        expect(held.ifGone).toMatch(h.lockGoneAdvice ?? /If that process is gone, delete /);
        await lock.release();
        const again = await store.acquireLock('admins-passkeys', { owner: 'postpone' });
        await again.release();
      });

      it('never lets two concurrent acquirers both hold the lock', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => store.acquireLock('admins-passkeys', { owner: `racer-${i}` })),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(7);
        for (const r of lost) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LockHeldError);
        await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<LedgerStore['acquireLock']>>>).value.release();
      });

      it('lets a waiting acquirer in once the holder releases', async () => {
        const first = await store.acquireLock('admins-passkeys', { owner: 'first' });
        const waiting = store.acquireLock('admins-passkeys', { owner: 'second', waitMs: 5_000 });
        setTimeout(() => void first.release(), 150);
        const second = await waiting;
        expect(second.info.owner).toBe('second');
        await second.release();
      });

      it('gives up after waitMs when the holder keeps the lock', async () => {
        const first = await store.acquireLock('admins-passkeys', { owner: 'first' });
        const started = Date.now();
        const err = await store.acquireLock('admins-passkeys', { owner: 'second', waitMs: 200 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LockHeldError);
        expect(Date.now() - started).toBeGreaterThanOrEqual(150);
        await first.release();
      });

      it('does not remove a later holder when an old lock is released twice', async () => {
        const a = await store.acquireLock('admins-passkeys', { owner: 'a' });
        await a.release();
        const b = await store.acquireLock('admins-passkeys', { owner: 'b' });
        await a.release();
        await expect(store.acquireLock('admins-passkeys', { owner: 'c' })).rejects.toBeInstanceOf(LockHeldError);
        await b.release();
      });

      it('locks campaigns independently', async () => {
        const a = await store.acquireLock('campaign-a', { owner: 'a' });
        const b = await store.acquireLock('campaign-b', { owner: 'b' });
        await a.release();
        await b.release();
      });
    });

    describe('archive', () => {
      it('moves the ledger and snapshots aside and starts the campaign empty', async () => {
        await store.append('admins-passkeys', [ev('runStarted'), ev('runFinished')]);
        await store.writeSnapshot('admins-passkeys', 'observation', { users: 3 });
        const lock = await store.acquireLock('admins-passkeys', { owner: 'reset' });
        const where = await store.archive('admins-passkeys', new Date(NOW));
        expect(where).toContain('20');
        expect(await store.read('admins-passkeys')).toEqual({ events: [], warnings: [] });
        expect(await store.readSnapshot('admins-passkeys', 'observation')).toBeNull();
        await store.append('admins-passkeys', [ev('runStarted', { after: 'reset' })]);
        expect((await store.read('admins-passkeys')).events).toEqual([ev('runStarted', { after: 'reset' })]);
        await lock.release();
      });

      it('gives each archive of the same instant its own location', async () => {
        await store.append('admins-passkeys', [ev('one')]);
        const first = await store.archive('admins-passkeys', new Date(NOW));
        await store.append('admins-passkeys', [ev('two')]);
        const second = await store.archive('admins-passkeys', new Date(NOW));
        expect(second).not.toBe(first);
      });

      it('archives a campaign that has no ledger yet', async () => {
        expect(typeof (await store.archive('fresh-campaign', new Date(NOW)))).toBe('string');
        expect((await store.read('fresh-campaign')).events).toEqual([]);
      });

      it('with an opening, replaces the ledger by a new one that starts with the opening events', async () => {
        await store.append('admins-passkeys', [ev('runStarted'), ev('runFinished')]);
        await store.writeSnapshot('admins-passkeys', 'observation', { users: 3 });
        const lock = await store.acquireLock('admins-passkeys', { owner: 'reset' });
        const seen: string[] = [];
        const where = await store.archive('admins-passkeys', new Date(NOW), (at) => {
          seen.push(at);
          return [ev('campaignArchived', { archive: at }), ev('campaignReset', { generation: 1 })];
        });
        expect(seen.every((at) => at === where)).toBe(true);
        expect((await store.read('admins-passkeys')).events).toEqual([ev('campaignArchived', { archive: where }), ev('campaignReset', { generation: 1 })]);
        expect(await store.readSnapshot('admins-passkeys', 'observation')).toBeNull();
        await store.append('admins-passkeys', [ev('runStarted', { after: 'reset' })]);
        expect((await store.read('admins-passkeys')).events.map((e) => e.type)).toEqual(['campaignArchived', 'campaignReset', 'runStarted']);
        await lock.release();
      });

      it('with an opening, starts a campaign that has no ledger yet with the opening events', async () => {
        const where = await store.archive('fresh-campaign', new Date(NOW), (at) => [ev('campaignArchived', { archive: at })]);
        expect((await store.read('fresh-campaign')).events).toEqual([ev('campaignArchived', { archive: where })]);
      });
    });

    describe('hash chain (every appended line carries h)', () => {
      const C = 'admins-passkeys';
      /** The ledger's complete lines, without their '\n'. */
      const linesOf = async (campaign = C): Promise<string[]> => {
        const text = (await h.rawBytes(campaign)).toString('utf8');
        return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').slice(0, -1);
      };
      const walk = (lines: string[]): ChainWalker => {
        const w = new ChainWalker();
        for (const l of lines) w.line(l);
        return w;
      };
      const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
      /** An old line: the event as a writer before the chain wrote it. */
      const oldLine = (e: LedgerEvent): string => `${JSON.stringify(e)}\n`;

      it('chains a new ledger from the empty ledger: line 1 follows SHA-256 of nothing, each next line the one before', async () => {
        const events = variedLedger();
        await store.append(C, events);
        const lines = await linesOf();
        expect(lines).toHaveLength(events.length);
        const w = walk(lines);
        expect({ broken: w.broken, startsAt: w.startsAt, unchained: w.unchained }).toEqual({ broken: null, startsAt: 1, unchained: 0 });
        // By hand: h = SHA-256 of the previous hash's 64 hex characters followed by the line without its h member.
        const body1 = JSON.stringify(events[0]);
        const h1 = createHash('sha256').update(sha256('')).update(body1).digest('hex');
        expect(lines[0]).toBe(`${body1.slice(0, -1)},"h":"${h1}"}`);
        const body2 = JSON.stringify(events[1]);
        expect(lines[1]).toBe(`${body2.slice(0, -1)},"h":"${createHash('sha256').update(h1).update(body2).digest('hex')}"}`);
      });

      it('continues the chain across appends and in another store instance (a later process)', async () => {
        await store.append(C, [ev('one'), ev('two')]);
        // A last line longer than one backward read of the ledger's end.
        await store.append(C, [ev('three', { pad: 'y'.repeat(150_000) })]);
        await h.reopen().append(C, [ev('four'), ev('five')]);
        await store.append(C, [ev('six')]);
        const lines = await linesOf();
        const w = walk(lines);
        expect({ broken: w.broken, startsAt: w.startsAt, lines: w.lines }).toEqual({ broken: null, startsAt: 1, lines: 6 });
        // Each batch's first line follows the h of the line before it, not the hash of the ledger.
        for (const i of [2, 3, 5]) expect(splitChained(lines[i])!.h).toBe(chainHash(splitChained(lines[i - 1])!.h, splitChained(lines[i])!.body));
        expect((await store.read(C)).events.map((e) => e.type)).toEqual(['one', 'two', 'three', 'four', 'five', 'six']);
      });

      it('continues a ledger written before the chain existed: the first chained line follows the SHA-256 of the old bytes', async () => {
        if (!h.appendRaw) return;
        // Its last line longer than one backward read of the ledger's end.
        const old = [oldLine(ev('runStarted', { runId: 'r0' })), oldLine(ev('userEnteredStage', { userId: 'u1' })), oldLine(ev('runFinished', { runId: 'r0', note: 'x'.repeat(150_000) }))].join('');
        await h.appendRaw(C, old);
        await h.reopen().append(C, [ev('runStarted', { runId: 'r1' }), ev('runFinished', { runId: 'r1' })]);
        await store.append(C, [ev('after')]);
        const lines = await linesOf();
        expect(lines.slice(0, 3).join('\n') + '\n').toBe(old);
        const body = JSON.stringify(ev('runStarted', { runId: 'r1' }));
        expect(lines[3]).toBe(`${body.slice(0, -1)},"h":"${createHash('sha256').update(sha256(old)).update(body).digest('hex')}"}`);
        const w = walk(lines);
        expect({ broken: w.broken, startsAt: w.startsAt, unchained: w.unchained, lines: w.lines }).toEqual({ broken: null, startsAt: 4, unchained: 3, lines: 6 });
        expect((await store.read(C)).events.map((e) => e.type)).toEqual(['runStarted', 'userEnteredStage', 'runFinished', 'runStarted', 'runFinished', 'after']);
      });

      it('moves a partial trailing line aside, then chains after the last complete line', async () => {
        if (!h.appendRaw) return;
        await store.append(C, [ev('one'), ev('two')]);
        const [, two] = await linesOf();
        await h.appendRaw(C, '{"v":1,"type":"thr');
        await store.append(C, [ev('three')]);
        const lines = await linesOf();
        expect(lines).toHaveLength(3);
        expect(lines[2]).toBe(`${JSON.stringify(ev('three')).slice(0, -1)},"h":"${chainHash(splitChained(two)!.h, JSON.stringify(ev('three')))}"}`);
        expect(walk(lines).broken).toBeNull();
        expect((await h.rawBytes(C)).toString('utf8').endsWith('\n')).toBe(true);
      });

      it('hashes only the complete lines of an old ledger whose last line is partial', async () => {
        if (!h.appendRaw) return;
        const old = oldLine(ev('one')) + oldLine(ev('two'));
        await h.appendRaw(C, `${old}{"v":1,"type":"thr`);
        await store.append(C, [ev('three')]);
        const lines = await linesOf();
        expect(lines).toHaveLength(3);
        expect(splitChained(lines[2])!.h).toBe(chainHash(sha256(old), JSON.stringify(ev('three'))));
        const w = walk(lines);
        expect({ broken: w.broken, startsAt: w.startsAt }).toEqual({ broken: null, startsAt: 3 });
      });

      it('starts the chain afresh in the ledger that replaces an archived one, with or without an opening', async () => {
        await store.append(C, [ev('one'), ev('two')]);
        await store.archive(C, new Date(NOW), (at) => [ev('campaignArchived', { archive: at }), ev('campaignReset')]);
        let lines = await linesOf();
        expect(lines).toHaveLength(2);
        expect(splitChained(lines[0])!.h).toBe(chainHash(CHAIN_GENESIS, splitChained(lines[0])!.body));
        await store.append(C, [ev('three')]);
        expect(walk(await linesOf()).broken).toBeNull();
        await store.archive(C, new Date(NOW));
        await store.append(C, [ev('four')]);
        lines = await linesOf();
        expect(lines).toEqual([`${JSON.stringify(ev('four')).slice(0, -1)},"h":"${chainHash(CHAIN_GENESIS, JSON.stringify(ev('four')))}"}`]);
      });

      it('gives readers the events without h, though every line carries it', async () => {
        await store.append(C, variedLedger());
        expect((await linesOf()).every((l) => splitChained(l) !== null)).toBe(true);
        const has = (e: LedgerEvent): boolean => Object.prototype.hasOwnProperty.call(e, 'h');
        const read = await store.read(C);
        expect(read.events).toEqual(variedLedger());
        expect(read.events.some(has)).toBe(false);
        expect((await store.readOverview(C)).events.some(has)).toBe(false);
        if (store.readAfter) expect((await store.readAfter(C, null))!.events.some(has)).toBe(false);
      });

      it('refuses an event that carries h itself and writes nothing of the batch', async () => {
        const err = await store.append(C, [ev('good'), ev('forged', { h: 'a'.repeat(64) })]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidEventError);
        expect((err as Error).message).toMatch(/^event #1 of the batch .*"h" is reserved for the ledger's hash chain/);
        expect((await h.rawBytes(C)).length).toBe(0);
      });

      describe('readRaw', () => {
        const collect = async (campaign: string) => {
          const pieces: Buffer[] = [];
          const result = await store.readRaw!(campaign, async (piece) => {
            await new Promise((r) => setTimeout(r, 1));
            pieces.push(piece);
          });
          return { pieces, result, bytes: Buffer.concat(pieces) };
        };

        it('gives nothing for a ledger that was never written', async () => {
          expect(store.readRaw).toBeTypeOf('function');
          expect(await collect('never-written')).toEqual({ pieces: [], result: { lines: 0, bytes: 0, partialBytes: 0 }, bytes: Buffer.alloc(0) });
        });

        it('hands out exactly the complete lines as stored, chain members included, in pieces ending at a newline', async () => {
          await store.append(C, variedLedger());
          // Over 4 MiB of lines, so the ledger comes in more than one piece.
          await store.append(C, Array.from({ length: 120 }, (_, i) => ev('padded', { i, pad: 'é'.repeat(20_000) })));
          const stored = await h.rawBytes(C);
          const { pieces, result, bytes } = await collect(C);
          expect(bytes.equals(stored)).toBe(true);
          expect(pieces.length).toBeGreaterThan(1);
          for (const p of pieces) expect(p[p.length - 1]).toBe(0x0a);
          expect(result).toEqual({ lines: variedLedger().length + 120, bytes: stored.length, partialBytes: 0 });
          expect(walk(bytes.toString('utf8').split('\n').slice(0, -1)).broken).toBeNull();
        });

        it('lets an error of onPiece through as it is', async () => {
          // More than one piece, so onPiece runs while the ledger is still being read.
          await store.append(C, Array.from({ length: 60 }, (_, i) => ev('padded', { i, pad: 'x'.repeat(40_000) })));
          const mine = new Error('the export disk is full');
          await expect(store.readRaw!(C, () => Promise.reject(mine))).rejects.toBe(mine);
        });

        it('leaves a partial trailing line out and counts its bytes', async () => {
          if (!h.appendRaw) return;
          await store.append(C, [ev('one'), ev('two')]);
          const complete = await h.rawBytes(C);
          await h.appendRaw(C, '{"v":1,"type":"thré');
          const { bytes, result } = await collect(C);
          expect(bytes.equals(complete)).toBe(true);
          expect(result).toEqual({ lines: 2, bytes: complete.length, partialBytes: Buffer.byteLength('{"v":1,"type":"thré') });
        });
      });
    });

    describe('location', () => {
      it('names where the campaign\'s ledger is, per campaign, and checks the name', () => {
        expect(store.location('admins-passkeys')).toMatch(/admins-passkeys\/ledger\.jsonl$/);
        expect(store.location('all-staff-passkeys')).not.toBe(store.location('admins-passkeys'));
        expect(() => store.location('../etc')).toThrow(InvalidNameError);
      });
    });

    describe('snapshots', () => {
      it('returns null for a snapshot that was never written', async () => {
        expect(await store.readSnapshot('admins-passkeys', 'observation')).toBeNull();
      });

      it('reads back the last written value', async () => {
        await store.writeSnapshot('admins-passkeys', 'observation', { users: [{ id: 'u1' }], at: NOW });
        await store.writeSnapshot('admins-passkeys', 'observation', { users: [], at: NOW });
        expect(await store.readSnapshot('admins-passkeys', 'observation')).toEqual({ users: [], at: NOW });
      });

      it('keeps snapshots of different names apart', async () => {
        await store.writeSnapshot('admins-passkeys', 'observation', 1);
        await store.writeSnapshot('admins-passkeys', 'state', 2);
        expect(await store.readSnapshot('admins-passkeys', 'observation')).toBe(1);
        expect(await store.readSnapshot('admins-passkeys', 'state')).toBe(2);
      });

      it('shows a staged snapshot only once it is committed, and a discarded one never', async () => {
        if (!store.stageSnapshot) return;
        await store.writeSnapshot('admins-passkeys', 'observation', { users: ['old'] });
        const staged = await store.stageSnapshot('admins-passkeys', 'observation', { users: ['new'] });
        expect(await store.readSnapshot('admins-passkeys', 'observation')).toEqual({ users: ['old'] });
        expect(await h.reopen().readSnapshot('admins-passkeys', 'observation')).toEqual({ users: ['old'] });
        await staged.commit();
        expect(await store.readSnapshot('admins-passkeys', 'observation')).toEqual({ users: ['new'] });
        await staged.discard();
        expect(await store.readSnapshot('admins-passkeys', 'observation')).toEqual({ users: ['new'] });
        const dropped = await store.stageSnapshot('admins-passkeys', 'observation', { users: ['dropped'] });
        await dropped.discard();
        await dropped.discard();
        expect(await store.readSnapshot('admins-passkeys', 'observation')).toEqual({ users: ['new'] });
        await expect(dropped.commit()).rejects.toThrow(/already committed or discarded/);
        expect(await store.readSnapshot('admins-passkeys', 'observation')).toEqual({ users: ['new'] });
        // Nothing staged is a snapshot, even for a snapshot never written before.
        const first = await store.stageSnapshot('admins-passkeys', 'delivery', { n: 1 });
        expect(await store.readSnapshot('admins-passkeys', 'delivery')).toBeNull();
        await first.discard();
        expect(await store.readSnapshot('admins-passkeys', 'delivery')).toBeNull();
      });

      it.each(['../ledger', 'a/b', 'Observation', '', '.hidden'])('rejects the snapshot name %j', async (bad) => {
        await expect(store.writeSnapshot('admins-passkeys', bad, {})).rejects.toBeInstanceOf(InvalidNameError);
        await expect(store.readSnapshot('admins-passkeys', bad)).rejects.toBeInstanceOf(InvalidNameError);
      });
    });

    describe('readAfter (what a run reads after a checkpoint)', () => {
      it('returns only the events after a mark, and where the ledger ends', async () => {
        if (!store.readAfter) return;
        expect(await store.readAfter('never-written', null)).toEqual({ events: [], warnings: [], end: { events: 0, bytes: 0, sha256: expect.any(String) } });
        const first = variedLedger();
        await store.append('admins-passkeys', first);
        const all = await store.readAfter('admins-passkeys', null);
        expect(all?.events).toEqual((await store.read('admins-passkeys')).events);
        expect(all?.end.events).toBe(first.length);
        await store.append('admins-passkeys', [ev('runStarted', { runId: 'r9', campaign: 'admins-passkeys', status: 'inProgress' }), ev('runFinished', { runId: 'r9', ok: true })]);
        const tail = await store.readAfter('admins-passkeys', all!.end);
        expect(tail?.events.map((e) => field(e, 'runId'))).toEqual(['r9', 'r9']);
        expect(tail?.end.events).toBe(first.length + 2);
        expect(tail?.end.bytes).toBeGreaterThan(all!.end.bytes);
        // The same mark from a full read, and from counting the lines instead of decoding them.
        expect((await store.readAfter('admins-passkeys', null))?.end).toEqual(tail?.end);
        expect(await store.readAfter('admins-passkeys', all!.end, { linesOnly: true })).toEqual({ ...tail, events: [] });
        // Handed over a piece at a time instead of kept.
        const pieces: LedgerEvent[] = [];
        const streamed = await store.readAfter('admins-passkeys', null, { onEvents: (es) => { for (const e of es) pieces.push(e); } });
        expect(streamed).toEqual({ events: [], warnings: [], end: tail?.end });
        expect(pieces).toEqual((await store.read('admins-passkeys')).events);
      });

      it('returns null when the ledger does not start with the bytes the mark hashes', async () => {
        if (!store.readAfter) return;
        await store.append('admins-passkeys', variedLedger());
        const { end } = (await store.readAfter('admins-passkeys', null))!;
        expect(await store.readAfter('admins-passkeys', { ...end, sha256: '0'.repeat(64) })).toBeNull();
        expect(await store.readAfter('admins-passkeys', { ...end, bytes: end.bytes + 1 })).toBeNull();
        expect(await store.readAfter('admins-passkeys', { ...end, bytes: end.bytes - 1 })).toBeNull();
        expect(await store.readAfter('admins-passkeys', end)).toEqual({ events: [], warnings: [], end });
      });

      it('leaves a partial trailing line out of the mark, with the warning read() gives', async () => {
        if (!store.readAfter || !h.appendRaw) return;
        await store.append('admins-passkeys', variedLedger());
        const { end } = (await store.readAfter('admins-passkeys', null))!;
        await h.appendRaw('admins-passkeys', '{"v":1,"type":"notificationSe');
        const tail = await store.readAfter('admins-passkeys', end);
        expect(tail?.end).toEqual(end);
        expect(tail?.warnings).toEqual([expect.stringMatching(/:13: partial trailing line/)]);
      });
    });

    describe('overview (what the reports read)', () => {
      it('equals the overview of read(): notices counted per run, delivery records left out, other events kept', async () => {
        await store.append('admins-passkeys', variedLedger());
        const overview = await store.readOverview('admins-passkeys');
        expect(overview).toEqual(overviewOf(await store.read('admins-passkeys')));
        expect(overview.events.map((e) => e.type)).toEqual(['runStarted', 'userEnteredStage', 'somethingNew', 'runFinished']);
        expect([...overview.notificationsByRun]).toEqual([['r1', 1], ['', 1], ['r2', 1], ['r3', 1]]);
        expect(overview.warnings).toEqual([]);
      });

      it('reads a campaign that was never written as empty', async () => {
        expect(await store.readOverview('never-written')).toEqual({ events: [], notificationsByRun: new Map(), warnings: [] });
      });

      it('warns about a partial trailing line as read() does', async () => {
        if (!h.appendRaw) return;
        await store.append('admins-passkeys', variedLedger());
        await h.appendRaw('admins-passkeys', '{"v":1,"type":"notificationSe');
        const overview = await store.readOverview('admins-passkeys');
        expect(overview).toEqual(overviewOf(await store.read('admins-passkeys')));
        expect(overview.warnings).toEqual([expect.stringMatching(/:13: partial trailing line/)]);
      });

      it('refuses a corrupt line with the error read() gives', async () => {
        if (!h.appendRaw) return;
        await store.append('admins-passkeys', variedLedger());
        await h.appendRaw('admins-passkeys', '{"v":1,"type":"runFinished","at":"yesterday"}\n');
        const err = await store.readOverview('admins-passkeys').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LedgerCorruptError);
        expect(err).toEqual(await store.read('admins-passkeys').catch((e: unknown) => e));
        expect((err as LedgerCorruptError).line).toBe(13);
      });
    });

    describe('damaged ledgers', () => {
      const raw = async (campaign: string, text: string): Promise<void> => {
        if (!h.appendRaw) throw new Error('harness has no appendRaw');
        await h.appendRaw(campaign, text);
      };
      const line = (e: object): string => `${JSON.stringify(e)}\n`;

      it('reports and ignores a partial trailing line, and later appends stay valid', async () => {
        if (!h.appendRaw) return;
        await store.append('admins-passkeys', [ev('one'), ev('two')]);
        await raw('admins-passkeys', '{"v":1,"type":"thr');
        const before = await store.read('admins-passkeys');
        expect(before.events.map((e) => e.type)).toEqual(['one', 'two']);
        expect(before.warnings).toHaveLength(1);
        expect(before.warnings[0]).toMatch(/:3: partial trailing line/);
        await store.append('admins-passkeys', [ev('three'), ev('four')]);
        const after = await store.read('admins-passkeys');
        expect(after.warnings).toEqual([]);
        expect(after.events.map((e) => e.type)).toEqual(['one', 'two', 'three', 'four']);
      });

      it('refuses a corrupt line in the middle and names its line number', async () => {
        if (!h.appendRaw) return;
        await store.append('admins-passkeys', [ev('one')]);
        await raw('admins-passkeys', '{"v":1,"type":"two","at":\n');
        await store.append('admins-passkeys', [ev('three')]);
        const err = await store.read('admins-passkeys').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LedgerCorruptError);
        expect((err as LedgerCorruptError).line).toBe(2);
        expect((err as LedgerCorruptError).retryable).toBe(false);
        expect((err as Error).message).toMatch(/:2: ledger line is not a valid event \(not valid JSON/);
      });

      it('refuses an event written by a newer version of campaign', async () => {
        if (!h.appendRaw) return;
        await store.append('admins-passkeys', [ev('one')]);
        await raw('admins-passkeys', line({ v: 2, type: 'future', at: NOW }));
        const err = await store.read('admins-passkeys').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LedgerVersionError);
        expect((err as LedgerVersionError).line).toBe(2);
        expect((err as Error).message).toMatch(/:2: event schema version 2 was written by a newer version of campaign \(this one reads up to version 1\)/);
      });
    });
  });
}
