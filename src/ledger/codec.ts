// The ledger's bytes: one event per line, JSON, UTF-8, each line ended by '\n'. Every store writes and reads
// through this module, so the file store and the blob store hold the same bytes.
//
// Key-order contract (what byte-level readers such as file/overview.ts rely on; encodeEvent guarantees it):
//   1. every line starts with `{"v":<version>,`: `v` is the first key;
//   2. `"type"` is a top-level key that comes before any key whose value is an object or an array, so a
//      scanner finds an event's type without parsing the line (a quote inside a string value is escaped, so
//      the pattern `"type":"` cannot occur inside one);
//   3. every other key keeps the order the writer built the event in (JSON.stringify's order). The bytes on
//      disk are exactly those of the writers: the engine writes v, type, at, runId, userId, userPrincipalName,
//      …; the reconcile pipeline's run and intent records write v, at, (runId,) type, …; both already meet 1
//      and 2, so encodeEvent only moves `v` or `type` forward for a writer that breaks the contract.
//   4. a line a store of this version appends ends with the hash chain member `,"h":"<64 hex>"}` (chain.ts): the
//      store adds it to the encoded event (chainChunks), no event may carry `h` itself, and decodeLine strips it.
import * as path from 'node:path';
import { CHAIN_KEY, chainBytes, stripChain } from './chain';
import { InvalidEventError, LedgerCorruptError, LedgerVersionError } from './errors';
import { LEDGER_VERSION, type LedgerEvent } from './events';
import type { LedgerReadResult } from './store';

/** Why a parsed value is not a valid event envelope, or null when it is. Versions are checked separately. */
export function envelopeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const e = value as Record<string, unknown>;
  if (typeof e.v !== 'number' || !Number.isInteger(e.v) || e.v < 1) return `"v" must be a positive integer (got ${JSON.stringify(e.v)})`;
  if (typeof e.type !== 'string' || e.type === '') return `"type" must be a non-empty string (got ${JSON.stringify(e.type)})`;
  if (typeof e.at !== 'string' || Number.isNaN(Date.parse(e.at))) return `"at" must be an ISO date string (got ${JSON.stringify(e.at)})`;
  return null;
}

/** Whether the event's own key order already meets rules 1 and 2 of the key-order contract. */
function followsKeyOrder(event: LedgerEvent): boolean {
  const fields: Readonly<Record<string, unknown>> = event;
  let first = true;
  for (const key in fields) {
    if (first) {
      if (key !== 'v') return false;
      first = false;
    } else if (key === 'type') {
      return true;
    } else {
      const value = fields[key];
      if (typeof value === 'object' && value !== null) return false;
    }
  }
  return false;
}

/** One event as one JSON line without its '\n', keys in the contract's order (see the top of this file). */
export function encodeEvent(event: LedgerEvent): string {
  if (followsKeyOrder(event)) return JSON.stringify(event);
  const { v, type, ...rest } = event;
  return JSON.stringify({ v, type, ...rest });
}

/**
 * Serializes a batch to JSON lines, validating every event first so a bad one writes nothing. Without the hash
 * chain: the stores chain these bytes when they append (chainChunks, encodeChainedBatch).
 */
export function encodeBatch(events: readonly LedgerEvent[]): string {
  return encodeLines(events).map((l) => `${l}\n`).join('');
}

/**
 * The same bytes as encodeBatch, as buffers of about `chunkBytes` each (every event validated before the first
 * buffer is handed out): a batch of a million events is more text than one string can hold, and buffers live
 * outside the JavaScript heap.
 */
export function encodeBatchChunks(events: readonly LedgerEvent[], chunkBytes = 1 << 20): Buffer[] {
  const chunks: Buffer[] = [];
  let part: string[] = [];
  let size = 0;
  const flush = () => {
    if (!part.length) return;
    part.push('');
    chunks.push(Buffer.from(part.join('\n'), 'utf8'));
    part = [];
    size = 0;
  };
  events.forEach((event, i) => {
    const line = encodeLine(event, i);
    part.push(line);
    size += line.length + 1;
    if (size >= chunkBytes) flush();
  });
  flush();
  return chunks;
}

/**
 * The lines of encodeBatchChunks' buffers with the hash chain (chain.ts), the first following `prev`: what a store
 * appends. Separate from encoding so a store checks every event before it touches the ledger, and only then reads
 * the ledger's end for `prev`. Returns the chained buffers and the h of the last line (`prev` for no lines).
 */
export function chainChunks(chunks: Buffer[], prev: string): { chunks: Buffer[]; h: string } {
  const out: Buffer[] = [];
  let h = prev;
  for (let i = 0; i < chunks.length; i++) {
    const chained = chainBytes(chunks[i], h);
    out.push(chained.bytes);
    h = chained.h;
  }
  return { chunks: out, h };
}

/** encodeBatch with the hash chain: the batch's lines chained after `prev`, and the last line's h. */
export function encodeChainedBatch(events: readonly LedgerEvent[], prev: string): { text: string; h: string } {
  const { chunks, h } = chainChunks(encodeBatchChunks(events), prev);
  return { text: chunks.map((c) => c.toString('utf8')).join(''), h };
}

function encodeLines(events: readonly LedgerEvent[]): string[] {
  const lines: string[] = [];
  events.forEach((event, i) => void lines.push(encodeLine(event, i)));
  return lines;
}

/** One event checked and encoded; `i` names it in errors. */
function encodeLine(event: LedgerEvent, i: number): string {
  // Callers in JavaScript (and tests) can pass anything: check the envelope the types promise.
  const problem = envelopeProblem(event);
  if (problem) throw new InvalidEventError(i, problem);
  if (event.v > LEDGER_VERSION) {
    throw new InvalidEventError(i, `"v" is ${event.v} but this build writes at most version ${LEDGER_VERSION}`);
  }
  if (Object.prototype.hasOwnProperty.call(event, CHAIN_KEY)) {
    throw new InvalidEventError(i, `"${CHAIN_KEY}" is reserved for the ledger's hash chain (chain.ts), which the store adds when it appends`);
  }
  try {
    return encodeEvent(event);
  } catch (err) {
    throw new InvalidEventError(i, `not serializable as JSON (${(err as Error).message})`);
  }
}

/**
 * Decodes one complete line (without its '\n'); `file` and `lineNo` only name it in errors.
 *
 * Only the envelope is checked (v, type, at). A line whose `type` this build does not know is returned as it is:
 * within one schema version a newer build may add event types, and every reader has a branch for them (the fold
 * skips them, `history` prints their fields). Refusing such a line would leave an older CLI unable to read the
 * ledger the scheduler writes; dropping it would lose it from `history --export` and from a copy.
 */
export function decodeLine(line: string, file: string, lineNo: number, shared?: Map<string, string>): LedgerEvent {
  let value: unknown;
  try {
    // The chain member (chain.ts) is the store's, not the event's: readers get the event as its writer built it.
    value = JSON.parse(stripChain(line));
  } catch (err) {
    throw new LedgerCorruptError(file, lineNo, line.trim() === '' ? 'empty line' : `not valid JSON: ${(err as Error).message}`);
  }
  // Check the version before the envelope: a newer schema may have changed the other fields.
  const v = (value as { v?: unknown } | null)?.v;
  if (typeof v === 'number' && Number.isInteger(v) && v > LEDGER_VERSION) {
    throw new LedgerVersionError(file, lineNo, v, LEDGER_VERSION);
  }
  if (!hasEnvelope(value)) throw new LedgerCorruptError(file, lineNo, envelopeProblem(value) ?? 'not a valid event');
  if (shared) share(value as Record<string, unknown>, shared);
  return value as LedgerEvent;
}

/**
 * Fields whose values repeat from event to event: a run stamps all its events with one `at` and `runId`, a user's
 * events name the same id and UPN, and the rest come from small vocabularies. Each value is kept once while a
 * ledger is decoded (a ledger of a million users holds millions of events, each otherwise with its own copies).
 */
const SHARED_FIELDS = ['at', 'type', 'runId', 'userId', 'userPrincipalName', 'from', 'to', 'stage', 'kind', 'channel', 'reason', 'outcome', 'groupId', 'deadline'] as const;

function share(event: Record<string, unknown>, shared: Map<string, string>): void {
  for (const k of SHARED_FIELDS) {
    const value = event[k];
    if (typeof value !== 'string') continue;
    const known = shared.get(value);
    if (known === undefined) shared.set(value, value);
    else event[k] = known;
  }
}

/**
 * The last `at` that parsed as a date. A run stamps all its events with one `at`, so this spares Date.parse on
 * nearly every line of a large ledger (it is a measurable part of decoding one).
 */
let lastValidAt = '';

/** envelopeProblem(value) === null, cheaper on the hot path of decoding. */
function hasEnvelope(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { v, type, at } = value as Record<string, unknown>;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || typeof type !== 'string' || type === '' || typeof at !== 'string') return false;
  if (at === lastValidAt) return true;
  if (Number.isNaN(Date.parse(at))) return false;
  lastValidAt = at;
  return true;
}

/**
 * decodeLedger of the ledger's bytes, line by line: a ledger of a million users is more text than one string can
 * hold, so the whole file is never one string. Same events, same warnings.
 */
export function decodeLedgerBytes(bytes: Buffer, file: string, linesBefore = 0): LedgerReadResult {
  const events: LedgerEvent[] = [];
  const warnings: string[] = [];
  const bodyEnd = bytes.lastIndexOf(0x0a) + 1;
  const shared = new Map<string, string>();
  let pos = 0;
  let lineNo = linesBefore;
  while (pos < bodyEnd) {
    const nl = bytes.indexOf(0x0a, pos);
    const line = bytes.toString('utf8', pos, nl);
    pos = nl + 1;
    lineNo++;
    events.push(decodeLine(line, file, lineNo, shared));
  }
  if (bodyEnd < bytes.length) warnings.push(partialLineWarning(file, lineNo + 1, Buffer.byteLength(bytes.toString('utf8', bodyEnd))));
  return { events, warnings };
}

function partialLineWarning(file: string, lineNo: number, bytes: number): string {
  return (
    `${file}:${lineNo}: partial trailing line (${bytes} bytes without a final newline, most likely an interrupted write) was ignored; ` +
    `the next append moves it to ${path.basename(file)}.corrupt-<timestamp> and continues after the last complete line.`
  );
}

/** Decodes ledger text. A partial last line (an interrupted write) is left out with a warning, never an error. */
export function decodeLedger(text: string, file: string): LedgerReadResult {
  const events: LedgerEvent[] = [];
  const warnings: string[] = [];
  const bodyEnd = text.lastIndexOf('\n') + 1;
  let pos = 0;
  let lineNo = 0;
  while (pos < bodyEnd) {
    const nl = text.indexOf('\n', pos);
    const line = text.slice(pos, nl);
    pos = nl + 1;
    lineNo++;
    events.push(decodeLine(line, file, lineNo));
  }
  if (bodyEnd < text.length) warnings.push(partialLineWarning(file, lineNo + 1, Buffer.byteLength(text.slice(bodyEnd))));
  return { events, warnings };
}
