// The events after a mark in a ledger's bytes (LedgerStore.readAfter): the prefix is hashed, not decoded, so a
// run that resumes from a checkpoint decodes only what was written since. Hashing runs at about 1 GB/s; decoding
// JSON lines is tens of times slower.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { appendAll } from '../contracts/arrays';
import { decodeLedgerBytes } from './codec';
import type { LedgerEvent } from './events';
import type { LedgerMark, LedgerReadResult, LedgerTail, ReadAfterOptions } from './store';

/** Bytes decoded at a time when each decoded piece is handed to ReadAfterOptions.onEvents. */
export const DECODE_SLICE_BYTES = 4 * 1024 * 1024;

/**
 * The complete lines of `body` decoded, or only counted (ReadAfterOptions.linesOnly). With onEvents the events are
 * handed over a slice of lines at a time (about DECODE_SLICE_BYTES): a 64 MiB piece of ledger is some 150,000 events,
 * more heap than the caller folding them ever keeps.
 */
function decodeOrCount(body: Buffer, file: string, linesBefore: number, opts: ReadAfterOptions): LedgerReadResult & { lines: number } {
  if (!opts.linesOnly) {
    if (opts.onEvents) {
      const warnings: string[] = [];
      let lines = 0;
      for (let from = 0; from < body.length;) {
        let to = from + DECODE_SLICE_BYTES;
        if (to >= body.length) to = body.length;
        else {
          const nl = body.indexOf(0x0a, to - 1);
          to = nl === -1 ? body.length : nl + 1;
        }
        const read = decodeLedgerBytes(body.subarray(from, to), file, linesBefore + lines);
        lines += read.events.length;
        appendAll(warnings, read.warnings);
        opts.onEvents(read.events);
        from = to;
      }
      return { events: [], warnings, lines };
    }
    const read = decodeLedgerBytes(body, file, linesBefore);
    return { ...read, lines: read.events.length };
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
  // A piece ends at its last newline; the partial line left over is moved to the start of the buffer and the next
  // piece read after it (one buffer for the whole read: a new one per piece is 64 MiB outside the heap each time,
  // freed only when the collector gets to it). A line longer than the buffer doubles it.
  let buffer = buf;
  let carry = 0;
  while (pos < size) {
    if (carry === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, carry);
      buffer = bigger;
    }
    const { bytesRead } = await fh.read(buffer, carry, Math.min(buffer.length - carry, size - pos), pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    const chunk = buffer.subarray(0, carry + bytesRead);
    const complete = chunk.lastIndexOf(0x0a) + 1;
    const body = chunk.subarray(0, complete);
    const read = decodeOrCount(body, file, lines, opts);
    appendAll(events, read.events);
    lines += read.lines;
    hash.update(body);
    end += complete;
    carry = chunk.length - complete;
    if (carry && complete) buffer.copyWithin(0, complete, chunk.length);
  }
  // What is left is a partial last line: decoded alone it gives read()'s warning.
  if (carry) appendAll(warnings, decodeLedgerBytes(buffer.subarray(0, carry), file, lines).warnings);
  return { events, warnings, end: { events: lines, bytes: end, sha256: hash.digest('hex') } };
}
