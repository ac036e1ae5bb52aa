// The events after a mark in a ledger's bytes (LedgerStore.readAfter): the prefix is hashed, not decoded, so a
// run that resumes from a checkpoint decodes only what was written since. Hashing runs at about 1 GB/s; decoding
// JSON lines is tens of times slower.
import { createHash } from 'node:crypto';
import { decodeLedgerBytes } from './codec';
import type { LedgerMark, LedgerTail } from './store';

/** The tail of `bytes` after `mark`, or null when the first mark.bytes bytes are not the ones it hashes. */
export function tailOfBytes(bytes: Buffer, mark: LedgerMark | null, file: string): LedgerTail | null {
  const from = mark?.bytes ?? 0;
  if (from > bytes.length) return null;
  if (from > 0 && bytes[from - 1] !== 0x0a) return null;
  const hash = createHash('sha256');
  if (mark) {
    hash.update(bytes.subarray(0, from));
    if (hash.copy().digest('hex') !== mark.sha256) return null;
  }
  const rest = bytes.subarray(from);
  const read = decodeLedgerBytes(rest, file, mark?.events ?? 0);
  const complete = rest.lastIndexOf(0x0a) + 1;
  hash.update(rest.subarray(0, complete));
  return { ...read, end: { events: (mark?.events ?? 0) + read.events.length, bytes: from + complete, sha256: hash.digest('hex') } };
}
