// The file store's byte scanner (src/ledger/file/overview.ts) against the plain decode of the same bytes.
import { describe, expect, it } from 'vitest';
import { decodeLedger, encodeBatch, overviewOf } from '../../src/ledger';
import { scanOverview } from '../../src/ledger/file/overview';
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
