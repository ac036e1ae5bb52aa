// The events after a mark in a ledger's bytes (LedgerStore.readAfter): the prefix is hashed, not decoded, so a
// run that resumes from a checkpoint decodes only what was written since. Hashing runs at about 1 GB/s; decoding
// JSON lines is tens of times slower.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { appendAll } from '../contracts/arrays';
import { decodeLedgerBytes } from './codec';
import type { LedgerEvent } from './events';
import type { LedgerMark, LedgerReadResult, LedgerTail, ReadAfterOptions } from './store';

/** The complete lines of `body` decoded, or only counted (ReadAfterOptions.linesOnly). */
function decodeOrCount(body: Buffer, file: string, linesBefore: number, opts: ReadAfterOptions): LedgerReadResult & { lines: number } {
  if (!opts.linesOnly) {
    const read = decodeLedgerBytes(body, file, linesBefore);
    const lines = read.events.length;
    if (opts.onEvents) {
      opts.onEvents(read.events);
      return { events: [], warnings: read.warnings, lines };
    }
    return { ...read, lines };
  }
  let lines = 0;
  for (let i = body.indexOf(0x0a); i !== -1; i = body.indexOf(0x0a, i + 1)) lines++;
  const partial = body.length - (body.lastIndexOf(0x0a) + 1);
  // The partial last line's warning, as a decode gives it.
  const warnings = partial ? decodeLedgerBytes(body.subarray(body.length - partial), file, linesBefore + lines).warnings : [];
  return { events: [], warnings, lines };
}

/** The tail of `bytes` after `mark`, or null when the first mark.bytes bytes are not the ones it hashes. */
export function tailOfBytes(bytes: Buffer, mark: LedgerMark | null, file: string, opts: ReadAfterOptions = {}): LedgerTail | null {
  const from = mark?.bytes ?? 0;
  if (from > bytes.length) return null;
  if (from > 0 && bytes[from - 1] !== 0x0a) return null;
  const hash = createHash('sha256');
  if (mark) {
    hash.update(bytes.subarray(0, from));
    if (hash.copy().digest('hex') !== mark.sha256) return null;
  }
  const rest = bytes.subarray(from);
  const { lines, ...read } = decodeOrCount(rest, file, mark?.events ?? 0, opts);
  const complete = rest.lastIndexOf(0x0a) + 1;
  hash.update(rest.subarray(0, complete));
  return { ...read, end: { events: (mark?.events ?? 0) + lines, bytes: from + complete, sha256: hash.digest('hex') } };
}

/** `head` then `tail` in a new Buffer: the partial line left over from one piece joined to the next piece. */
export function joined(head: Buffer, tail: Buffer): Buffer {
  const out = Buffer.allocUnsafe(head.length + tail.length);
  head.copy(out, 0);
  tail.copy(out, head.length);
  return out;
}

/** Bytes read at a time by readTail: a piece of the ledger is decoded while the next is not yet read. */
export const TAIL_PIECE_BYTES = 64 * 1024 * 1024;

/** tailOfBytes on an open file, read in pieces of `piece` bytes: the prefix hashed, the rest decoded line by line. */
export async function readTail(fh: FileHandle, mark: LedgerMark | null, file: string, opts: ReadAfterOptions = {}, piece = TAIL_PIECE_BYTES): Promise<LedgerTail | null> {
  const { size } = await fh.stat();
  const from = mark?.bytes ?? 0;
  if (from > size) return null;
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.max(2, piece));
  let pos = 0;
  let last = 0x0a;
  // The prefix in the two halves of the buffer: the next half is read while this one is hashed (no more memory).
  const half = Math.max(1, Math.floor(piece / 2));
  const halves = [buf.subarray(0, half), buf.subarray(half, 2 * half)];
  let k = 0;
  let reading = from > 0 ? fh.read(halves[k], 0, Math.min(half, from), 0) : null;
  while (pos < from) {
    const { bytesRead } = await reading!;
    if (bytesRead === 0) return null;
    const got = halves[k].subarray(0, bytesRead);
    pos += bytesRead;
    k ^= 1;
    reading = pos < from ? fh.read(halves[k], 0, Math.min(half, from - pos), pos) : null;
    hash.update(got);
    last = got[bytesRead - 1];
  }
  if (last !== 0x0a || (mark && hash.copy().digest('hex') !== mark.sha256)) return null;
  const events: LedgerEvent[] = [];
  const warnings: string[] = [];
  let lines = mark?.events ?? 0;
  let end = from;
  // A piece ends at its last newline; the partial line left over starts the next piece.
  let carry = Buffer.alloc(0);
  while (pos < size) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(piece, size - pos), pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    const chunk = carry.length ? joined(carry, buf.subarray(0, bytesRead)) : buf.subarray(0, bytesRead);
    const complete = chunk.lastIndexOf(0x0a) + 1;
    const body = chunk.subarray(0, complete);
    const read = decodeOrCount(body, file, lines, opts);
    appendAll(events, read.events);
    lines += read.lines;
    hash.update(body);
    end += complete;
    carry = Buffer.from(chunk.subarray(complete));
  }
  // What is left is a partial last line: decoded alone it gives read()'s warning.
  if (carry.length) appendAll(warnings, decodeLedgerBytes(carry, file, lines).warnings);
  return { events, warnings, end: { events: lines, bytes: end, sha256: hash.digest('hex') } };
}
