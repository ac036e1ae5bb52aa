import { describe, expect, it } from 'vitest';
import {
  CHAIN_GENESIS,
  ChainWalker,
  InvalidEventError,
  LEDGER_VERSION,
  chainBytes,
  chainChunks,
  chainLine,
  encodeBatchChunks,
  encodeChainedBatch,
  LedgerCorruptError,
  LedgerVersionError,
  decodeLedger,
  decodeLine,
  encodeBatch,
  encodeEvent,
  type LedgerEvent,
} from '../../src/ledger';

const AT = '2026-12-01T06:00:00.000Z';
const who = { userId: 'u1', userPrincipalName: 'ada@contoso.com' };

describe('encodeEvent: the key-order contract', () => {
  // The orders today's writers build their events in; the bytes must stay exactly these.
  const kept: Array<{ name: string; event: LedgerEvent; line: string }> = [
    {
      name: 'keeps the engine order (v, type, at, runId, user, …)',
      event: { v: 1, type: 'notificationSent', at: AT, runId: 'r1', ...who, key: 'k', kind: 'deviceUpdate', stage: 'deviceUpdate', sequence: 1 },
      line: `{"v":1,"type":"notificationSent","at":"${AT}","runId":"r1","userId":"u1","userPrincipalName":"ada@contoso.com","key":"k","kind":"deviceUpdate","stage":"deviceUpdate","sequence":1}`,
    },
    {
      name: 'keeps the run records\' order (v, at, type, runId, …) with a nested object after the type',
      event: { v: 1, at: AT, type: 'runFinished', runId: 'r1', ok: true, counts: { moved: 2 } },
      line: `{"v":1,"at":"${AT}","type":"runFinished","runId":"r1","ok":true,"counts":{"moved":2}}`,
    },
    {
      name: 'keeps the intent records\' order (v, at, runId, user, type, …)',
      event: { v: 1, at: AT, runId: 'r1', ...who, type: 'groupAddIntent', groupId: 'g1' },
      line: `{"v":1,"at":"${AT}","runId":"r1","userId":"u1","userPrincipalName":"ada@contoso.com","type":"groupAddIntent","groupId":"g1"}`,
    },
  ];
  it.each(kept)('$name', ({ event, line }) => {
    expect(encodeEvent(event)).toBe(line);
  });

  it('moves v to the front when a writer put it later, so every line starts {"v":1,', () => {
    const event = { type: 'campaignReset', at: AT, v: 1, generation: 2 } as const;
    expect(encodeEvent(event)).toBe(`{"v":1,"type":"campaignReset","at":"${AT}","generation":2}`);
  });

  it('moves type before a nested value that a writer put first, so a byte scanner finds it without parsing', () => {
    const event: LedgerEvent = { v: 1, at: AT, counts: { a: 1 }, type: 'runFinished', runId: 'r1', ok: true };
    expect(encodeEvent(event)).toBe(`{"v":1,"type":"runFinished","at":"${AT}","counts":{"a":1},"runId":"r1","ok":true}`);
  });

  it('writes one line per event, each ended by a newline', () => {
    const text = encodeBatch([
      { v: 1, at: AT, type: 'runStarted', runId: 'r1', campaign: 'c', status: 'inProgress' },
      { v: 1, type: 'addedToGroup', at: AT, ...who, note: 'a\nb' } as LedgerEvent,
    ]);
    expect(text.split('\n')).toHaveLength(3);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n').slice(0, 2).every((l) => l.startsWith('{"v":1,'))).toBe(true);
  });

  it('refuses an event newer than this build, naming its index', () => {
    const newer = { v: LEDGER_VERSION + 1, type: 't', at: AT } as unknown as LedgerEvent;
    expect(() => encodeBatch([newer])).toThrow(InvalidEventError);
    expect(() => encodeBatch([newer])).toThrow(/event #0 .* writes at most version 1/);
  });
});

describe('decodeLine and decodeLedger', () => {
  it('returns a line of a type this build does not know as it is (a newer compatible writer), so it round-trips', () => {
    const line = `{"v":1,"type":"somethingNew","at":"${AT}","extra":[1,2]}`;
    const e = decodeLine(line, 'ledger.jsonl', 1);
    expect(e).toEqual({ v: 1, type: 'somethingNew', at: AT, extra: [1, 2] });
    expect(encodeEvent(e)).toBe(line);
  });

  it('refuses a newer schema version with LedgerVersionError before looking at the rest', () => {
    const err = (() => { try { decodeLine('{"v":2,"kind":"x"}', 'f', 7); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(LedgerVersionError);
    expect(err).toMatchObject({ file: 'f', line: 7, version: 2, supported: LEDGER_VERSION });
  });

  it.each([
    { line: '', problem: 'empty line' },
    { line: '{"v":1,', problem: 'not valid JSON' },
    { line: `{"v":1,"at":"${AT}"}`, problem: '"type" must be a non-empty string' },
  ])('refuses $problem with LedgerCorruptError naming file and line', ({ line, problem }) => {
    expect(() => decodeLine(line, 'f', 3)).toThrow(LedgerCorruptError);
    expect(() => decodeLine(line, 'f', 3)).toThrow(`f:3: ledger line is not a valid event (${problem}`);
  });

  it('leaves a partial last line out with a warning', () => {
    const r = decodeLedger(`{"v":1,"type":"a","at":"${AT}"}\n{"v":1,"ty`, '/x/ledger.jsonl');
    expect(r.events).toEqual([{ v: 1, type: 'a', at: AT }]);
    expect(r.warnings).toEqual([expect.stringContaining('/x/ledger.jsonl:2: partial trailing line (10 bytes')]);
    expect(r.warnings[0]).toContain('moves it to ledger.jsonl.corrupt-<timestamp>');
  });
});

describe('the hash chain on encoded lines', () => {
  const batch: LedgerEvent[] = [
    { v: 1, at: AT, type: 'runStarted', runId: 'r1', campaign: 'c', status: 'inProgress' },
    { v: 1, type: 'userEnteredStage', at: AT, runId: 'r1', ...who, from: null, to: 'enforced', reason: 'R', message: 'é🙂 "quoted" \u2028' } as LedgerEvent,
    { v: 1, at: AT, type: 'runFinished', runId: 'r1', ok: true, counts: { moved: 1 } },
  ];

  it('chains every line as chainLine does, the first after prev, and gives the last h', () => {
    const prev = 'a'.repeat(64);
    let h = prev;
    const expected = batch.map((e) => {
      const c = chainLine(h, encodeEvent(e));
      h = c.h;
      return `${c.line}\n`;
    });
    expect(encodeChainedBatch(batch, prev)).toEqual({ text: expected.join(''), h });
    const w = new ChainWalker();
    for (const line of encodeChainedBatch(batch, CHAIN_GENESIS).text.split('\n').slice(0, -1)) w.line(line);
    expect([w.broken, w.startsAt, w.lines]).toEqual([null, 1, 3]);
  });

  it('continues from one buffer to the next, so the pieces of a large batch chain as one', () => {
    const many = Array.from({ length: 500 }, (_, i): LedgerEvent => ({ ...batch[1], runId: `r${i}` }) as LedgerEvent);
    const pieces = encodeBatchChunks(many, 1024);
    expect(pieces.length).toBeGreaterThan(10);
    const chained = chainChunks(pieces, CHAIN_GENESIS);
    expect(Buffer.concat(chained.chunks).toString('utf8')).toBe(encodeChainedBatch(many, CHAIN_GENESIS).text);
    expect(chained.h).toBe(encodeChainedBatch(many, CHAIN_GENESIS).h);
    expect(chainChunks([], 'b'.repeat(64))).toEqual({ chunks: [], h: 'b'.repeat(64) });
  });

  it('refuses bytes that are not JSON object lines ended by a newline', () => {
    expect(() => chainBytes(Buffer.from('{"v":1}'), CHAIN_GENESIS)).toThrow(/byte 0 does not start a JSON object line/);
    expect(() => chainBytes(Buffer.from('{"v":1}\n[1]\n'), CHAIN_GENESIS)).toThrow(/byte 8 does not start/);
  });

  it('decodes a chained line to the event as written, without h', () => {
    const { text } = encodeChainedBatch(batch, CHAIN_GENESIS);
    expect(decodeLedger(text, 'ledger.jsonl').events).toEqual(batch);
  });

  it('refuses to encode an event that carries h, naming it', () => {
    const forged = { v: 1, type: 'runFinished', at: AT, h: 'x' } as unknown as LedgerEvent;
    expect(() => encodeBatchChunks([batch[0], forged])).toThrow(InvalidEventError);
    expect(() => encodeChainedBatch([batch[0], forged], CHAIN_GENESIS)).toThrow(/event #1 .*"h" is reserved for the ledger's hash chain/);
  });
});
