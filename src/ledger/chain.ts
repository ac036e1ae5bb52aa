// The ledger's hash chain: every line a writer of this version appends ends with `,"h":"<64 hex>"}`, the SHA-256
// of the hash it follows and of the line without that member. Editing, removing, inserting or reordering a line
// then breaks the chain at that line, which `campaign verify` finds without any copy to compare with.
//
// The definition, in full (docs/auditor.md explains it to auditors):
//   body(line)  = the line without its `,"h":"…"` member (the JSON object the writer encoded, nothing else changed)
//   prev(line)  = the `h` of the line before, when that line carries one; otherwise the SHA-256 of every byte of
//                 the ledger before this line (the empty ledger's: SHA-256 of nothing, e3b0c442…). So a ledger
//                 written before the chain existed is covered as a block by the first chained line after it.
//   h(line)     = hex SHA-256 of the UTF-8 bytes of prev(line) (64 hex characters) followed by body(line).
// The `h` member is always the line's last, so a reader strips it with a fixed-length slice before JSON.parse.
import { createHash, hash as oneShotHash, type Hash } from 'node:crypto';

/** The hash member's key: reserved, no event may carry a field of this name. */
export const CHAIN_KEY = 'h';
const OPEN = `,"${CHAIN_KEY}":"`;
/** `,"h":"` + 64 hex + `"}`. */
export const CHAIN_SUFFIX_LENGTH = OPEN.length + 64 + 2;
const HEX64 = /^[0-9a-f]{64}$/;

/** SHA-256 of nothing: prev() of a ledger's first line. */
export const CHAIN_GENESIS = createHash('sha256').digest('hex');

/** h of a line with this body following `prev`. */
export function chainHash(prev: string, body: string | Buffer): string {
  return createHash('sha256').update(prev, 'utf8').update(body).digest('hex');
}

/** The line a writer appends for `body` (an encoded event, a JSON object) following `prev`: body with h last. */
export function chainLine(prev: string, body: string): { line: string; h: string } {
  const h = chainHash(prev, body);
  return { line: `${body.slice(0, -1)}${OPEN}${h}"}`, h };
}

/** Whether the line (without its '\n') ends with a chain member, cheaply: no hex check. */
export function hasChainSuffix(line: string): boolean {
  const n = line.length;
  return n > CHAIN_SUFFIX_LENGTH && line.charCodeAt(n - 1) === 0x7d && line.charCodeAt(n - 2) === 0x22 && line.startsWith(OPEN, n - CHAIN_SUFFIX_LENGTH);
}

/** The line without its chain member, for JSON.parse; the line itself when it has none. */
export function stripChain(line: string): string {
  return hasChainSuffix(line) ? `${line.slice(0, line.length - CHAIN_SUFFIX_LENGTH)}}` : line;
}

/** The body and h of a chained line; null for a line without a (well-formed) chain member. */
export function splitChained(line: string): { body: string; h: string } | null {
  if (!hasChainSuffix(line)) return null;
  const h = line.slice(line.length - 66, line.length - 2);
  if (!HEX64.test(h)) return null;
  return { body: `${line.slice(0, line.length - CHAIN_SUFFIX_LENGTH)}}`, h };
}

/**
 * prev() for the next line appended to a ledger: the last complete line's h when it carries one, else the SHA-256
 * of all the ledger's complete lines (`prefixSha256` is only called then: it may have to read the whole ledger).
 */
export async function nextPrev(lastLine: string | null, prefixSha256: () => Promise<string>): Promise<string> {
  if (lastLine === null) return CHAIN_GENESIS;
  return splitChained(lastLine)?.h ?? prefixSha256();
}

/** What the walk found wrong at one line. */
export interface ChainBreak {
  /** 1-based line number in the ledger. */
  line: number;
  message: string;
}

/**
 * Walks a ledger's complete lines in order and checks the chain. Feed every line (without '\n') to `line()`; the
 * first break is kept and later lines are no longer checked. `startsAt` is the first chained line (null: none).
 */
export class ChainWalker {
  private readonly all: Hash = createHash('sha256');
  private prevH: string | null = null;
  private lineNo = 0;
  startsAt: number | null = null;
  /** Lines before the chain begins (written by an older version). */
  unchained = 0;
  broken: ChainBreak | null = null;

  get lines(): number {
    return this.lineNo;
  }

  /** The next complete line, without its '\n'. */
  line(text: string): void {
    this.lineNo++;
    const n = this.lineNo;
    if (!this.broken) this.check(text, n);
    this.all.update(text, 'utf8').update('\n');
  }

  private check(text: string, n: number): void {
    const chained = splitChained(text);
    if (!chained) {
      if (this.startsAt === null) {
        this.unchained++;
        return;
      }
      this.broken = {
        line: n,
        message: hasChainSuffix(text)
          ? 'its chain hash is not 64 lowercase hex digits'
          : `it carries no chain hash, although the chain began at line ${this.startsAt}: a line was inserted here (or written by an older version of campaign)`,
      };
      return;
    }
    const prev = this.prevH ?? this.all.copy().digest('hex');
    if (chainHash(prev, chained.body) !== chained.h) {
      this.broken = {
        line: n,
        message:
          this.prevH === null && n > 1
            ? `its chain hash does not match: this line, or one of lines 1–${n - 1} written before the chain began, was edited, removed, inserted or reordered`
            : n === 1
              ? 'its chain hash does not match: the line was edited, or lines before it were removed'
              : `its chain hash does not match this line and line ${n - 1}: this line was edited, or a line was removed, inserted or reordered here`,
      };
      return;
    }
    if (this.startsAt === null) this.startsAt = n;
    this.prevH = chained.h;
  }
}

/** The bytes chainLine adds to a line: a chained line is this much longer than its body. */
export const CHAIN_ADDED_BYTES = CHAIN_SUFFIX_LENGTH - 1;

/** prev's hex followed by a line's body, hashed in one call (chainBytes); grown for a longer line. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * chainLine for every line of `lines` (encoded events, each ended by '\n', as the codec writes them) in order,
 * the first following `prev`: the same bytes as chainLine gives line by line, without turning them into strings.
 * Returns the chained bytes and the last line's h (`prev` itself when there are no lines). The hash input (prev's
 * 64 hex characters, then the body) is laid out in one buffer and hashed in one call: twice as fast as chainHash's
 * three, which is most of what the chain adds to an append.
 */
export function chainBytes(lines: Buffer, prev: string): { bytes: Buffer; h: string } {
  let count = 0;
  for (let i = lines.indexOf(0x0a); i !== -1; i = lines.indexOf(0x0a, i + 1)) count++;
  const out = Buffer.allocUnsafe(lines.length + count * CHAIN_ADDED_BYTES);
  let h = prev;
  let hBytes = Buffer.byteLength(prev);
  let pos = 0;
  let o = 0;
  while (pos < lines.length) {
    const nl = lines.indexOf(0x0a, pos);
    if (nl === -1 || nl - pos < 2 || lines[nl - 1] !== 0x7d) {
      throw new Error(`chainBytes: byte ${pos} does not start a JSON object line ended by a newline`);
    }
    const size = hBytes + nl - pos;
    if (scratch.length < size) scratch = Buffer.allocUnsafe(2 * size);
    scratch.write(h, 0, hBytes, 'utf8');
    lines.copy(scratch, hBytes, pos, nl);
    h = oneShotHash('sha256', scratch.subarray(0, size), 'hex');
    hBytes = 64;
    o += lines.copy(out, o, pos, nl - 1);
    o += out.write(`${OPEN}${h}"}\n`, o, 'latin1');
    pos = nl + 1;
  }
  return { bytes: out, h };
}
