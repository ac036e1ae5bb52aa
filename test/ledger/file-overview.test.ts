// The file store's byte scanner (src/ledger/file/overview.ts) against the plain decode of the same bytes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeLedger, encodeBatch, overviewOf } from '../../src/ledger';
import { scanOverview } from '../../src/ledger/file/overview';
import { overviewInPieces } from '../../src/ledger/file/store';
import { ev, variedLedger } from './ledger-store-suite';

const scan = (text: string) => scanOverview(Buffer.from(text, 'utf8'), 'ledger.jsonl');
const plain = (text: string) => {
  const { warnings: _w, ...rest } = overviewOf(decodeLedger(text, 'ledger.jsonl'));
  return rest;
};

describe('scanOverview', () => {
  it('gives the plain overview for every writer\'s key order without falling back', () => {
    const text = encodeBatch(variedLedger());
    expect(scan(text)).not.toBeNull();
    expect(scan(text)).toEqual(plain(text));
  });

  it('falls back (null) on a partial last line, so the store can warn about it', () => {
    expect(scan(`${encodeBatch([ev('one')])}{"v":1,"ty`)).toBeNull();
  });

  it.each([
    { name: 'a line that is not JSON', line: 'nonsense' },
    { name: 'a notice-looking line of a newer version', line: '{"v":2,"type":"runStarted","at":"2026-12-01T06:00:00.000Z"}' },
    { name: 'an event whose at is not a date', line: '{"v":1,"type":"runStarted","at":"yesterday"}' },
  ])('falls back (null) on $name, so the store raises its own error', ({ line }) => {
    expect(scan(`${encodeBatch([ev('one')])}${line}\n`)).toBeNull();
  });

  it('reads an empty ledger as empty', () => {
    expect(scan('')).toEqual({ events: [], notificationsByRun: new Map() });
  });
});

describe('readOverview in pieces (a ledger larger than one Buffer)', () => {
  async function inPieces(text: string, piece: number) {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'overview-pieces-'));
    const file = path.join(dir, 'ledger.jsonl');
    await fs.promises.writeFile(file, text);
    const fh = await fs.promises.open(file, 'r');
    try {
      return await overviewInPieces(fh, 'ledger.jsonl', piece);
    } finally {
      await fh.close();
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }

  it('gives the whole read\'s overview for any piece size: counts per run summed, order kept, partial last line warned', async () => {
    const many = [...variedLedger(), ...variedLedger(), ev('late', { runId: 'r1' })];
    for (const text of [encodeBatch(many), `${encodeBatch(many)}{"v":1,"type":"notificationSe`]) {
      const whole = overviewOf(decodeLedger(text, 'ledger.jsonl'));
      for (const piece of [1, 5, 97, 4096, 1 << 20]) expect(await inPieces(text, piece), `piece ${piece}`).toEqual(whole);
    }
  });

  it('raises the error read() gives, with the same line number, for a corrupt line in a later piece', async () => {
    const text = `${encodeBatch(variedLedger())}nonsense\n${encodeBatch([ev('after')])}`;
    expect(() => decodeLedger(text, 'ledger.jsonl')).toThrow(/ledger\.jsonl:13/);
    await expect(inPieces(text, 64)).rejects.toThrow(/ledger\.jsonl:13/);
  });
});
