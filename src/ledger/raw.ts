// A ledger's raw bytes, for the hash chain and for copies: its last complete line and the SHA-256 of its complete
// lines (the `prev` of the next appended line, chain.ts), and its complete lines handed out in pieces
// (LedgerStore.readRaw). Shared by the file store and the blob store, so both read the same way.
import type { FileHandle } from 'node:fs/promises';
import type { RawReadResult } from './store';

/** Reads `length` bytes of the ledger at `position` (all of them: the range lies inside the ledger). */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

/** Bytes read at a time while looking backwards for the start of the last line. */
export const LAST_LINE_CHUNK = 64 * 1024;

/** Bytes read at a time from a file (readRaw, prefix hashes). */
export const RAW_PIECE_BYTES = 4 * 1024 * 1024;

/**
 * The last complete line of a ledger whose complete lines end at byte `end` (the byte before it is a '\n'),
 * without its '\n'; null for an empty ledger. Read backwards a chunk at a time until the '\n' before it is found,
 * so a long line costs a few reads and a short one a single read.
 */
export async function lastCompleteLine(end: number, readAt: ReadAt, chunk = LAST_LINE_CHUNK): Promise<string | null> {
  if (end <= 0) return null;
  const pieces: Buffer[] = [];
  for (let to = end - 1; to > 0; ) {
    const from = Math.max(0, to - chunk);
    const buf = await readAt(from, to - from);
    const nl = buf.lastIndexOf(0x0a);
    if (nl !== -1) {
      pieces.push(buf.subarray(nl + 1));
      break;
    }
    pieces.push(buf);
    to = from;
  }
  return Buffer.concat(pieces.reverse()).toString('utf8');
}

/** A ReadAt on an open file. */
export function fileReadAt(fh: FileHandle): ReadAt {
  return async (position, length) => {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, position + got);
      if (bytesRead === 0) throw new Error(`the ledger ended at byte ${position + got} while reading up to byte ${position + length}`);
      got += bytesRead;
    }
    return buf;
  };
}

/** The pieces of the file's first `end` bytes, in order, each a new Buffer of at most `piece` bytes. */
export async function* filePieces(fh: FileHandle, end: number, piece = RAW_PIECE_BYTES): AsyncGenerator<Buffer> {
  const readAt = fileReadAt(fh);
  for (let pos = 0; pos < end; pos += piece) yield await readAt(pos, Math.min(piece, end - pos));
}

/**
 * Turns a ledger's bytes, pushed in pieces of any size, into pieces of complete lines (each ending at a '\n', of
 * about `minPiece` bytes or more) for LedgerStore.readRaw; what is left after the last '\n' is a partial line,
 * counted and never handed out.
 */
export class CompleteLines {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lines = 0;
  private bytes = 0;

  constructor(
    private readonly onPiece: (bytes: Buffer) => void | Promise<void>,
    private readonly minPiece = 1024 * 1024,
  ) {}

  /** The next bytes of the ledger; `buf` is kept until handed out, so it must not be reused by the caller. */
  async push(buf: Buffer): Promise<void> {
    if (buf.length === 0) return;
    const nl = buf.lastIndexOf(0x0a);
    if (nl === -1 || this.pendingBytes + nl + 1 < this.minPiece) {
      this.pending.push(buf);
      this.pendingBytes += buf.length;
      return;
    }
    const head = buf.subarray(0, nl + 1);
    const piece = this.pending.length ? Buffer.concat([...this.pending, head]) : head;
    this.pending = nl + 1 < buf.length ? [buf.subarray(nl + 1)] : [];
    this.pendingBytes = buf.length - nl - 1;
    await this.emit(piece);
  }

  /** Hands out the last complete lines; what follows them is the partial trailing line. */
  async finish(): Promise<RawReadResult> {
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const complete = rest.lastIndexOf(0x0a) + 1;
    if (complete > 0) await this.emit(rest.subarray(0, complete));
    return { lines: this.lines, bytes: this.bytes, partialBytes: rest.length - complete };
  }

  private async emit(piece: Buffer): Promise<void> {
    for (let i = piece.indexOf(0x0a); i !== -1; i = piece.indexOf(0x0a, i + 1)) this.lines++;
    this.bytes += piece.length;
    await this.onPiece(piece);
  }
}
