// Snapshots are written in pieces (at 1,000,000 users the text is more than one JavaScript string holds);
// the pieces must make exactly the text JSON.stringify makes, so the files read as before.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAIN_GENESIS } from '../../src/ledger/chain';
import { decodeLedger, decodeLedgerBytes, encodeBatch, encodeBatchChunks, encodeChainedBatch } from '../../src/ledger/codec';
import { InvalidEventError } from '../../src/ledger/errors';
import type { LedgerEvent } from '../../src/ledger/events';
import { FileStore } from '../../src/ledger/file/store';
import { jsonChunks } from '../../src/ledger/json-chunks';

const joined = (v: unknown, chunk = 7, depth = 3) => [...jsonChunks(v, chunk, depth)].join('');

describe('jsonChunks', () => {
  const samples: Array<[string, unknown]> = [
    ['an observation-like object', { users: [{ userId: 'u1', devices: [{ id: 'd', os: null }], fido2Methods: null, readErrors: [] }, { userId: 'u2', mail: undefined }], excluded: [], readErrors: [], warnings: ['w'] }],
    ['undefined, functions and symbols', { a: undefined, f: () => 1, s: Symbol('x'), list: [undefined, () => 1, Symbol('y'), 1], nested: { deep: { deeper: { x: undefined, y: [undefined] } } } }],
    ['toJSON at every level', { at: new Date(0), list: [new Date(1)], custom: { toJSON: (k: string) => ({ key: k }) }, top: [{ toJSON: () => undefined }] }],
    ['strings that need escaping', { 'k"ey\n': 'é\u2028"\\', emoji: '🙂' }],
    ['empty containers', { a: [], o: {}, n: null, z: 0, f: false }],
    ['a top-level array', [1, 'two', { three: [3] }, null]],
    ['a scalar', 'text'],
    ['null', null],
    ['a null-prototype object', Object.assign(Object.create(null), { a: 1 })],
    ['a Map (JSON.stringify shows {})', { m: new Map([[1, 2]]) }],
  ];
  for (const [name, value] of samples) {
    it(`gives JSON.stringify's text: ${name}`, () => {
      for (const chunk of [1, 7, 1 << 20]) for (const depth of [0, 1, 3, 10]) expect(joined(value, chunk, depth)).toBe(JSON.stringify(value));
    });
  }

  it('gives nothing where JSON.stringify gives undefined', () => {
    expect([...jsonChunks(undefined)]).toEqual([]);
    expect([...jsonChunks(() => 1)]).toEqual([]);
  });

  it('never holds much more than a piece: 200,000 items come in pieces of about the size asked', () => {
    const users = Array.from({ length: 200_000 }, (_, i) => ({ userId: `user-${i}`, stage: 'passkeyRegistration', devices: [] }));
    let total = 0;
    let largest = 0;
    let pieces = 0;
    for (const p of jsonChunks({ users }, 64 * 1024)) {
      total += p.length;
      largest = Math.max(largest, p.length);
      pieces++;
    }
    expect(total).toBe(JSON.stringify({ users }).length);
    expect(largest).toBeLessThan(64 * 1024 + 200);
    expect(pieces).toBeGreaterThan(100);
  });

  it('comes in pieces however deep a long list is (a run\'s million changes deep in a checkpoint header)', () => {
    const transitions = Array.from({ length: 50_000 }, (_, i) => ({ userId: `user-${i}`, userPrincipalName: `user${i}@contoso.com`, from: null, to: 'deviceUpdate', reason: 'DeviceBelowMinimumOs', list: [i] }));
    // Below the depth walked: a member of an object at the depth, and an item of a list at the depth.
    for (const value of [{ fold: { changes: { current: { runId: 'r', transitions } } } }, [[[[transitions]]]], { a: { b: { c: [{ x: 1 }, transitions] } } }]) {
      let total = 0;
      let largest = 0;
      for (const p of jsonChunks(value, 64 * 1024, 3)) {
        total += p.length;
        largest = Math.max(largest, p.length);
      }
      expect(total).toBe(JSON.stringify(value).length);
      expect(largest).toBeLessThan(64 * 1024 + 200);
      expect(joined(value, 64 * 1024, 3)).toBe(JSON.stringify(value));
    }
  });
});

describe('FileStore.writeSnapshot', () => {
  it('writes the same bytes as JSON.stringify plus a newline, and reads them back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'json-chunks-'));
    try {
      const store = new FileStore({ dir });
      const value = { users: Array.from({ length: 5000 }, (_, i) => ({ userId: `u${i}`, at: new Date(i * 1000), gone: undefined })), warnings: [] };
      await store.writeSnapshot('chunks-test', 'observation', value);
      expect(fs.readFileSync(store.snapshotFile('chunks-test', 'observation'), 'utf8')).toBe(`${JSON.stringify(value)}\n`);
      expect(await store.readSnapshot('chunks-test', 'observation')).toEqual(JSON.parse(JSON.stringify(value)));
      await expect(store.writeSnapshot('chunks-test', 'observation', undefined)).rejects.toThrow(TypeError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('encodeBatchChunks', () => {
  const events = (n: number): LedgerEvent[] =>
    Array.from({ length: n }, (_, i): LedgerEvent => ({ v: 1, at: '2026-12-01T06:00:00.000Z', counts: { targeted: i, ['é']: 1 }, type: 'runFinished', runId: `r${i}`, ok: true }));

  it('makes the bytes encodeBatch makes, in buffers of about the size asked', () => {
    const batch = events(3000);
    const chunks = encodeBatchChunks(batch, 4096);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(encodeBatch(batch));
    expect(chunks.length).toBeGreaterThan(10);
    for (const c of chunks) expect(c.length).toBeLessThan(4096 + 300);
    expect(encodeBatchChunks([])).toEqual([]);
  });

  it('checks every event before handing out anything: a bad last event gives no buffer at all', () => {
    const batch = [...events(5000), { v: 1, type: 'runFinished' } as unknown as LedgerEvent];
    expect(() => encodeBatchChunks(batch, 1024)).toThrow(InvalidEventError);
  });

  it('appends through the file store as before', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'json-chunks-'));
    try {
      const store = new FileStore({ dir });
      const batch = events(20_000);
      await store.append('chunks-test', batch.slice(0, 10));
      await store.append('chunks-test', batch.slice(10));
      expect((await store.read('chunks-test')).events).toEqual(batch);
      // The second batch's chain follows the first's: the bytes of one chained batch.
      expect(fs.readFileSync(store.ledgerFile('chunks-test'), 'utf8')).toBe(encodeChainedBatch(batch, CHAIN_GENESIS).text);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('decodeLedgerBytes', () => {
  const text = encodeBatch([
    { v: 1, at: '2026-12-01T06:00:00.000Z', type: 'runFinished', runId: 'r1', ok: true, counts: { 'né': 1 } },
    { v: 1, at: '2026-12-01T06:00:00.000Z', type: 'runFinished', runId: 'r2', ok: false, error: '🙂 failed' },
  ] as LedgerEvent[]);

  it('gives what decodeLedger gives for the same bytes, partial last lines included', () => {
    const bytes = Buffer.from(text, 'utf8');
    const partial = Buffer.from('{"v":1,"at":"2026-12-01T06:00:00.000Z","type":"runFi🙂', 'utf8');
    for (const b of [bytes, Buffer.concat([bytes, partial]), Buffer.concat([bytes, partial.subarray(0, partial.length - 2)]), Buffer.alloc(0), partial]) {
      expect(decodeLedgerBytes(b, 'ledger.jsonl')).toEqual(decodeLedger(b.toString('utf8'), 'ledger.jsonl'));
    }
    expect(decodeLedgerBytes(Buffer.concat([bytes, partial]), 'ledger.jsonl').warnings).toHaveLength(1);
  });

  it('names the line of a corrupt one as decodeLedger does', () => {
    const bad = Buffer.from(`${text}not json\n`, 'utf8');
    expect(() => decodeLedgerBytes(bad, 'ledger.jsonl')).toThrow(/ledger\.jsonl:3/);
    expect(() => decodeLedger(bad.toString('utf8'), 'ledger.jsonl')).toThrow(/ledger\.jsonl:3/);
  });
});
