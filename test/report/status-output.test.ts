// How `campaign status` reads and writes at a large tenant, checked against the plain ways it replaced: the ledger
// after the report checkpoint's mark read on a worker thread, the JSON and the text written in pieces, the estimate
// without a map of every user's day.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectedEnforcementDays, estimateEnd } from '../../src/engine/estimate';
import { dateOfDay } from '../../src/engine/time';
import type { LedgerEvent } from '../../src/ledger/events';
import { FileStore } from '../../src/ledger/file/store';
import type { StatusReport, StatusUser } from '../../src/report/model';
import { reportJsonChunks, writeChunks } from '../../src/report/stream-out';
import { startTailRead } from '../../src/report/tail-thread';
import { alignTable, USER_HEADER, userRow, userTableChunks } from '../../src/report/text';
import { NOW, OLD_IPHONE, campaign, day, observation, ready, runDays, user } from '../engine/fixtures';

const NAME = 'admins-passkeys';
/** The compiled worker (npm run build); the thread is tested when it is there. */
const WORKER = path.resolve(__dirname, '../../dist/report/tail-worker.js');
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'status-output-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const started = (i: number): LedgerEvent => ({ v: 1, at: day(i), type: 'runStarted', runId: `run-${i}`, campaign: NAME, status: 'inProgress' }) as LedgerEvent;
const finished = (i: number): LedgerEvent => ({ v: 1, at: day(i), type: 'runFinished', runId: `run-${i}`, ok: true }) as unknown as LedgerEvent;

describe('the ledger after the report checkpoint mark, read on a worker thread', () => {
  async function ledger(dir: string) {
    const store = new FileStore({ dir: path.join(tmp, dir) });
    await store.append(NAME, [started(0), finished(0), started(1), finished(1)]);
    const mark = (await store.readAfter(NAME, null))!.end;
    await store.append(NAME, [started(2), finished(2)]);
    return { store, mark };
  }

  it.skipIf(!fs.existsSync(WORKER))('gives what the calling thread reads: the events after the mark, or null once the prefix changed', async () => {
    const { store, mark } = await ledger('thread');
    const here = await store.readAfter(NAME, mark);
    expect(here!.events.map((e) => e.type)).toEqual(['runStarted', 'runFinished']);
    expect(await startTailRead(store, NAME, mark, { worker: WORKER, fromBytes: 0 }).result()).toEqual(here);
    // One byte of the prefix changed (same length): the hash no longer matches, in the thread as here.
    const file = store.ledgerFile(NAME);
    const bytes = fs.readFileSync(file);
    bytes[bytes.indexOf('run-0')] = 'R'.charCodeAt(0);
    fs.writeFileSync(file, bytes);
    expect(await store.readAfter(NAME, mark)).toBeNull();
    expect(await startTailRead(store, NAME, mark, { worker: WORKER, fromBytes: 0 }).result()).toBeNull();
  });

  it('reads in the calling thread when the worker cannot start, or the prefix is small', async () => {
    const { store, mark } = await ledger('fallback');
    const here = await store.readAfter(NAME, mark);
    expect(await startTailRead(store, NAME, mark, { worker: path.join(tmp, 'no-such-worker.js'), fromBytes: 0 }).result()).toEqual(here);
    expect(await startTailRead(store, NAME, mark, { worker: null }).result()).toEqual(here);
    expect(await startTailRead(store, NAME, mark).result()).toEqual(here);
  });
});

const someUser = (i: number, o: Partial<StatusUser> = {}): StatusUser => ({
  userId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, userPrincipalName: `user.${i}@contoso.com`, stage: 'passkeyRegistration',
  stageSince: '2026-12-01T06:00:00.000Z', exceededGrace: false, postponedUntil: null, displayName: `User ${i}`, deadline: '2026-12-15',
  exceededGraceAt: null, readiness: 'needsPasskey', devicesBelowMinimum: [], alerts: [], accountEnabled: true, unread: false, delivery: null, mail: null, ...o,
});

/** Users with every kind of cell: long and short, lists of one and several, unicode, no stage, past a deadline. */
function variedUsers(n: number): StatusUser[] {
  const out: StatusUser[] = [];
  for (let i = 0; i < n; i++) {
    const o: Partial<StatusUser> = {};
    if (i % 7 === 0) o.stage = null;
    if (i % 5 === 0) Object.assign(o, { exceededGrace: true, exceededGraceAt: '2026-12-20T00:00:00.000Z' });
    if (i % 11 === 0) o.devicesBelowMinimum = ['iOS 16.5 on Ådå’s iPhone (minimum 17.0)', 'Android 11 on Pixel (minimum 13)'];
    if (i % 13 === 0) o.alerts = ['Unreachable', 'OutsideFido2PolicyScope'];
    if (i % 3 === 0) o.delivery = { key: `k${i}`, kind: 'passkeyRegistrationReminder', outcome: 'failed', at: '2026-12-03T06:00:00.000Z', attempts: 2, firstDeliveredAt: null } as unknown as StatusUser['delivery'];
    if (i % 17 === 0) o.postponedUntil = '2026-12-09T06:00:00.000Z';
    if (i === n - 2) o.userPrincipalName = `a.very.long.user.principal.name.${i}@subsidiary.contoso.onmicrosoft.com`;
    if (i === 3) o.deadline = null;
    out.push(someUser(i, o));
  }
  return out;
}

describe('status output in pieces', () => {
  it('the users table is what alignTable lays out, in pieces that join to it', () => {
    for (const n of [1, 2, 4095, 4096, 4097, 9000]) {
      const users = variedUsers(n);
      const expected = alignTable([USER_HEADER, ...users.map(userRow)]).map((l) => `  ${l}`).join('\n');
      const chunks = [...userTableChunks(users)];
      expect(chunks.length).toBe(Math.ceil((n + 1) / 4096));
      expect(chunks.join('')).toBe(expected);
    }
  });

  it('the users table is what alignTable lays out when cells end in blanks or repeat (each column padded once per value)', () => {
    const users = variedUsers(300).map((u, i) => {
      if (i % 4 === 1) return { ...u, delivery: { ...(u.delivery ?? { key: 'k', kind: 'enforced', outcome: 'delivered', attempts: 0, firstDeliveredAt: null }), at: '' } as StatusUser['delivery'] };
      if (i % 4 === 2) return { ...u, userPrincipalName: `${u.userPrincipalName}  `, alerts: ['Unreachable '] as unknown as StatusUser['alerts'] };
      if (i % 4 === 3) return { ...u, stageSince: `2026-12-${String(1 + (i % 28)).padStart(2, '0')}T00:00:00.000Z`, deadline: i % 8 === 3 ? '2027-01-01' : u.deadline };
      return u;
    });
    const expected = alignTable([USER_HEADER, ...users.map(userRow)]).map((l) => `  ${l}`).join('\n');
    expect([...userTableChunks(users)].join('')).toBe(expected);
    expect(expected).toMatch(/delivered\n/);
  });

  it('the JSON pieces join to JSON.stringify of the report, whatever the members around the users', () => {
    const users = variedUsers(9000);
    const cases: Array<Record<string, unknown>> = [
      { campaign: 'c', status: 'inProgress', counts: { targeted: 2 }, users, estimatedEnd: null, outlook: ['a "quoted" line'], skipped: undefined, impact: null },
      { users, after: 1 },
      { before: 'x', users },
      { users },
      { campaign: 'c', users: [], tail: { nested: [1, 2, 3] } },
      { campaign: 'c', users: [users[0], undefined, users[1]] },
    ];
    for (const report of cases) expect([...reportJsonChunks(report as unknown as StatusReport)].join('')).toBe(JSON.stringify(report));
  });

  it('writes every piece in order, waiting while the stream is full', async () => {
    const got: string[] = [];
    let drains = 0;
    const slow = new Writable({
      highWaterMark: 16,
      decodeStrings: false,
      write(chunk: string, _enc, done) {
        got.push(chunk);
        setImmediate(done);
      },
    });
    slow.on('drain', () => drains++);
    const pieces = Array.from({ length: 50 }, (_, i) => `piece ${i};`);
    await writeChunks(slow, pieces, '\n');
    await new Promise<void>((resolve) => slow.end(resolve));
    expect(got.join('')).toBe(`${pieces.join('')}\n`);
    expect(drains).toBeGreaterThan(0);
  });
});

describe('the estimated end without a map of every user', () => {
  const fromMap = (days: Map<string, number>) => {
    let last: number | null = null;
    for (const d of days.values()) if (last === null || d > last) last = d;
    return last === null ? null : dateOfDay(last);
  };

  it('is the latest projected day, also when a user is listed twice (the later listing counts, as in the map)', () => {
    const c = campaign({ status: 'notStarted' });
    const slow = user({ userId: 'u-1', userPrincipalName: 'one@contoso.com', devices: [OLD_IPHONE()] });
    const quick = ready({ userId: 'u-1', userPrincipalName: 'one@contoso.com' });
    const other = ready({ userId: 'u-2', userPrincipalName: 'two@contoso.com' });
    const lists = [[slow, other], [other, slow], [slow, quick, other], [quick, slow], [slow, other, quick], [slow, slow], [], [other]];
    for (const users of lists) {
      const o = observation(users);
      const state = runDays(c, 1, { users: () => [] }).state;
      const expected = fromMap(projectedEnforcementDays(c, o, state, NOW));
      expect({ users: users.map((u) => u.userId), end: estimateEnd(c, o, state, NOW) }).toEqual({ users: users.map((u) => u.userId), end: expected });
    }
    // The case the map decides: the latest day's user listed again later with an earlier day.
    const o = observation([slow, other, quick]);
    expect(estimateEnd(c, o, runDays(c, 1, { users: () => [] }).state, NOW)).not.toBe(estimateEnd(c, observation([slow, other]), runDays(c, 1, { users: () => [] }).state, NOW));
  });
});
