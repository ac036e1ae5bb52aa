// File ledger store: DIR/<campaign>/ledger.jsonl (JSON lines, O_APPEND + fsync), DIR/<campaign>/.lock
// (lock.ts), DIR/<campaign>/snapshots/<name>.json (temp + fsync + rename), DIR/<campaign>/archive/<stamp>/.
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHAIN_GENESIS, chainBytes, nextPrev } from '../chain';
import { chainChunks, decodeLedgerBytes, encodeBatchChunks } from '../codec';
import { SnapshotCorruptError } from '../errors';
import { jsonChunks } from '../json-chunks';
import { appendAll } from '../../contracts/arrays';
import type { LedgerEvent } from '../events';
import { overviewOf, type LedgerOverview } from '../overview';
import { fsyncDir, isErrno, renameTemp, replaceFile, writeTemp } from './io';
import { FileLocker } from './lock';
import { scanOverview } from './overview';
import { joined, readTail, tailOfBytes } from '../tail';
import { CompleteLines, fileReadAt, filePieces, lastCompleteLine } from '../raw';
import {
  assertCampaignName,
  assertSnapshotName,
  fileStamp,
  type LedgerMark,
  type LedgerReadResult,
  type LedgerTail,
  type ReadAfterOptions,
  type RawReadResult,
  type LedgerStore,
  type StagedSnapshot,
  type Lock,
  type LockOptions,
} from '../store';

export const DEFAULT_STATE_DIR = '.campaign-state';
export const DEFAULT_LOCK_MAX_AGE_MS = 6 * 60 * 60 * 1000;
export const LEDGER_FILE = 'ledger.jsonl';
export const LOCK_FILE = '.lock';
export const SNAPSHOT_DIR = 'snapshots';
export const ARCHIVE_DIR = 'archive';

const TAIL_CHUNK = 64 * 1024;

export interface FileStoreOptions {
  /** State directory (`--state DIR`); default `.campaign-state`. */
  dir?: string;
  /** A lock older than this is stale even if its process still runs (a hung run); default 6 h. */
  lockMaxAgeMs?: number;
  /** First polling interval while waiting for a lock; doubles up to 500 ms. Default 50 ms. */
  pollMs?: number;
  /** Wall clock for lock ages and forensic file names (not the campaign's `now`). */
  wallClock?: () => number;
  /** Host name recorded in locks; pid liveness is only checked for locks of this host. */
  hostname?: string;
  /** Receives warnings of writes (e.g. a partial tail moved aside) for the caller's log. */
  onWarning?: (message: string) => void;
}

export class FileStore implements LedgerStore {
  readonly dir: string;
  private readonly wallClock: () => number;
  private readonly onWarning: (message: string) => void;
  private readonly locker: FileLocker;

  constructor(opts: FileStoreOptions = {}) {
    this.dir = opts.dir ?? DEFAULT_STATE_DIR;
    this.wallClock = opts.wallClock ?? Date.now;
    this.onWarning = opts.onWarning ?? (() => undefined);
    this.locker = new FileLocker({
      lockMaxAgeMs: opts.lockMaxAgeMs ?? DEFAULT_LOCK_MAX_AGE_MS,
      pollMs: Math.max(1, opts.pollMs ?? 50),
      wallClock: this.wallClock,
      hostname: opts.hostname ?? os.hostname(),
      onWarning: this.onWarning,
    });
  }

  /** DIR/<campaign>, after checking the name cannot escape DIR. */
  campaignDir(campaign: string): string {
    assertCampaignName(campaign);
    return path.join(this.dir, campaign);
  }

  ledgerFile(campaign: string): string {
    return path.join(this.campaignDir(campaign), LEDGER_FILE);
  }

  lockFile(campaign: string): string {
    return path.join(this.campaignDir(campaign), LOCK_FILE);
  }

  async read(campaign: string): Promise<LedgerReadResult> {
    // In pieces, decoded line by line: never the whole ledger as one string or one Buffer (readFile stops at 2 GiB).
    const tail = await this.readAfter(campaign, null);
    if (tail === null) throw new Error(`${this.ledgerFile(campaign)}: the ledger could not be read from its start`);
    return { events: tail.events, warnings: tail.warnings };
  }

  /**
   * In pieces, never the whole file at once: the bytes up to the mark are only hashed, the rest is decoded a piece
   * at a time, so a ledger larger than one Buffer can hold (2 GiB for readFile) is read too.
   */
  async readAfter(campaign: string, mark: LedgerMark | null, opts: ReadAfterOptions = {}): Promise<LedgerTail | null> {
    const file = this.ledgerFile(campaign);
    let fh: FileHandle;
    try {
      fh = await fsp.open(file, 'r');
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      return tailOfBytes(Buffer.alloc(0), mark, file, opts);
    }
    try {
      return await readTail(fh, mark, file, opts);
    } finally {
      await fh.close();
    }
  }

  async readOverview(campaign: string): Promise<LedgerOverview> {
    const file = this.ledgerFile(campaign);
    let fh: FileHandle;
    try {
      fh = await fsp.open(file, 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return { events: [], notificationsByRun: new Map(), warnings: [] };
      throw err;
    }
    try {
      return await overviewInPieces(fh, file);
    } finally {
      await fh.close();
    }
  }

  /** The ledger's complete lines in pieces read from the file (LedgerStore.readRaw). */
  async readRaw(campaign: string, onPiece: (bytes: Buffer) => void | Promise<void>): Promise<RawReadResult> {
    const file = this.ledgerFile(campaign);
    let fh: FileHandle;
    try {
      fh = await fsp.open(file, 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return { lines: 0, bytes: 0, partialBytes: 0 };
      throw err;
    }
    try {
      const out = new CompleteLines(onPiece);
      const { size } = await fh.stat();
      for await (const piece of filePieces(fh, size)) await out.push(piece);
      return await out.finish();
    } finally {
      await fh.close();
    }
  }

  async append(campaign: string, events: readonly LedgerEvent[]): Promise<void> {
    const file = this.ledgerFile(campaign);
    // Every event is checked and encoded before anything is written; buffers, not one string (a million events).
    const chunks = encodeBatchChunks(events);
    if (chunks.length === 0) return;
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const base = fsConstants.O_RDWR | fsConstants.O_APPEND | fsConstants.O_CREAT;
    let created = true;
    let fh: FileHandle;
    try {
      fh = await fsp.open(file, base | fsConstants.O_EXCL, 0o644);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      created = false;
      fh = await fsp.open(file, base);
    }
    try {
      const end = created ? 0 : await this.repairTail(fh, file);
      // The hash chain continues from the last complete line (chain.ts); a ledger written before the chain existed
      // is hashed whole, once: the first chained line covers it.
      let prev = await nextPrev(await lastCompleteLine(end, fileReadAt(fh)), () => fileSha256(fh, end));
      // The batch written in order: a crash can only leave a partial line at the end, which repairTail handles.
      for (let i = 0; i < chunks.length; i++) {
        const { bytes: data, h } = chainBytes(chunks[i], prev);
        chunks[i] = EMPTY;
        prev = h;
        let off = 0;
        while (off < data.length) {
          const { bytesWritten } = await fh.write(data, off, data.length - off);
          off += bytesWritten;
        }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (created) await fsyncDir(path.dirname(file));
  }

  /**
   * Moves a partial trailing line aside and truncates to the last newline, so new lines never join garbage.
   * Returns where the ledger's complete lines end (its size afterwards).
   */
  private async repairTail(fh: FileHandle, file: string): Promise<number> {
    const { size } = await fh.stat();
    if (size === 0) return 0;
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] === 0x0a) return size;
    let cut = 0;
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - TAIL_CHUNK);
      const chunk = Buffer.alloc(end - start);
      await fh.read(chunk, 0, chunk.length, start);
      const i = chunk.lastIndexOf(0x0a);
      if (i >= 0) {
        cut = start + i + 1;
        break;
      }
      end = start;
    }
    const tail = Buffer.alloc(size - cut);
    await fh.read(tail, 0, tail.length, cut);
    const aside = await this.writeExclusive(`${file}.corrupt-${fileStamp(new Date(this.wallClock()))}`, tail);
    await fh.truncate(cut);
    await fh.sync();
    this.onWarning(
      `${file}: moved a partial trailing line (${tail.length} bytes, most likely an interrupted write) to ${aside} and truncated the ledger to its last complete line before appending.`,
    );
    return cut;
  }

  /** Creates `wanted` (or `wanted-2`, … if taken) with the given bytes, durably; returns the path used. */
  private async writeExclusive(wanted: string, data: Buffer): Promise<string> {
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? wanted : `${wanted}-${n}`;
      let fh: FileHandle;
      try {
        fh = await fsp.open(candidate, 'wx', 0o644);
      } catch (err) {
        if (isErrno(err, 'EEXIST')) continue;
        throw err;
      }
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsyncDir(path.dirname(candidate));
      return candidate;
    }
  }

  async acquireLock(campaign: string, opts: LockOptions): Promise<Lock> {
    return this.locker.acquire(campaign, this.lockFile(campaign), opts);
  }

  location(campaign: string): string {
    return this.ledgerFile(campaign);
  }

  async archive(campaign: string, now: Date, opening?: (where: string) => readonly LedgerEvent[]): Promise<string> {
    const dir = this.campaignDir(campaign);
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('archive needs a valid Date for now');
    let entries: string[];
    try {
      entries = await fsp.readdir(dir);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      entries = [];
    }
    // The lock stays (the caller holds it); earlier archives stay where they are.
    const toMove = entries.filter((n) => n !== LOCK_FILE && n !== ARCHIVE_DIR && !n.startsWith(`${LOCK_FILE}.`));
    const archiveRoot = path.join(dir, ARCHIVE_DIR);
    await fsp.mkdir(archiveRoot, { recursive: true });
    let target = '';
    for (let n = 1; ; n++) {
      target = path.join(archiveRoot, n === 1 ? fileStamp(now) : `${fileStamp(now)}-${n}`);
      try {
        await fsp.mkdir(target);
        break;
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
    }
    // The ledger moves last: if we crash halfway the campaign still has its ledger and the reset can be rerun.
    toMove.sort((a, b) => (a === LEDGER_FILE ? 1 : b === LEDGER_FILE ? -1 : a.localeCompare(b)));
    for (const name of toMove) {
      if (name === LEDGER_FILE && opening) await this.replaceLedger(campaign, target, opening(target));
      else await fsp.rename(path.join(dir, name), path.join(target, name));
    }
    if (opening && !toMove.includes(LEDGER_FILE)) await this.append(campaign, opening(target));
    await fsyncDir(target);
    await fsyncDir(dir);
    return target;
  }

  /** The ledger into `target` (a hard link, a copy where links fail), then the new ledger renamed over it in one step. */
  private async replaceLedger(campaign: string, target: string, events: readonly LedgerEvent[]): Promise<void> {
    const file = this.ledgerFile(campaign);
    const archived = path.join(target, LEDGER_FILE);
    try {
      await fsp.link(file, archived);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw err;
      await fsp.copyFile(file, archived, fsConstants.COPYFILE_EXCL);
      const fh = await fsp.open(archived, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await fsyncDir(target);
    // A new ledger: its chain starts afresh, it does not follow the archived one.
    const { chunks } = chainChunks(encodeBatchChunks(events), CHAIN_GENESIS);
    await replaceFile(`${file}.reset-${process.pid}-${randomBytes(6).toString('hex')}`, file, chunks);
  }

  snapshotFile(campaign: string, name: string): string {
    assertSnapshotName(name);
    return path.join(this.campaignDir(campaign), SNAPSHOT_DIR, `${name}.json`);
  }

  async writeSnapshot(campaign: string, name: string, json: unknown): Promise<void> {
    await (await this.stage(campaign, name, json)).commit();
  }

  /**
   * The snapshot written to a temp file next to it now (`.<name>.json.tmp-<pid>-<random>`, which readers never
   * read), renamed over it on commit. Temp files of this snapshot left by a process that is gone (killed before
   * commit) are removed first.
   */
  async stageSnapshot(campaign: string, name: string, json: unknown): Promise<StagedSnapshot> {
    return this.stage(campaign, name, json);
  }

  private async stage(campaign: string, name: string, json: unknown): Promise<StagedSnapshot> {
    // Compact: the observation snapshot of a 100,000-user campaign is read by every status report.
    // Written in pieces: at 1,000,000 users the text is more than one string can hold.
    const file = this.snapshotFile(campaign, name);
    if (json === undefined || typeof json === 'function' || typeof json === 'symbol') throw new TypeError(`snapshot "${name}" must be a JSON value (got ${typeof json})`);
    const dir = path.dirname(file);
    // A discarded first snapshot leaves no directory behind either.
    const created = await fsp.mkdir(dir, { recursive: true });
    await removeAbandonedTemps(dir, name);
    const tmp = path.join(dir, `${snapshotTempPrefix(name)}${process.pid}-${randomBytes(6).toString('hex')}`);
    await writeTemp(tmp, (function* () {
      yield* jsonChunks(json);
      yield '\n';
    })());
    let settled = false;
    return {
      commit: async () => {
        if (settled) throw new Error(`snapshot "${name}" was already committed or discarded`);
        settled = true;
        await renameTemp(tmp, file);
        await fsyncDir(dir);
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await fsp.unlink(tmp).catch(() => undefined);
        // The directories this stage created, innermost first, each only while empty.
        for (let d = dir; created !== undefined && d.length >= created.length; d = path.dirname(d)) {
          if (!(await fsp.rmdir(d).then(() => true, () => false))) break;
        }
      },
    };
  }

  async readSnapshot<T = unknown>(campaign: string, name: string): Promise<T | null> {
    const file = this.snapshotFile(campaign, name);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new SnapshotCorruptError(file, (err as Error).message);
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** Temp files of a snapshot: `.<name>.json.tmp-<pid>-<random>` next to it. */
const snapshotTempPrefix = (name: string) => `.${name}.json.tmp-`;

/** Removes temp files of snapshot `name` whose writer is no longer running on this machine (killed before commit). */
async function removeAbandonedTemps(dir: string, name: string): Promise<void> {
  const prefix = snapshotTempPrefix(name);
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processRuns(pid)) continue;
    await fsp.unlink(path.join(dir, n)).catch(() => undefined);
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
}

/** Hex SHA-256 of the file's first `end` bytes, read in pieces. */
async function fileSha256(fh: FileHandle, end: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of filePieces(fh, end)) hash.update(piece);
  return hash.digest('hex');
}

/** Bytes of the ledger scanned at a time by readOverview. */
export const OVERVIEW_PIECE_BYTES = 64 * 1024 * 1024;

/**
 * The overview of a file store ledger, a piece of whole lines at a time (a large campaign's ledger is more than one
 * Buffer holds). This store wrote these bytes, so it may scan them (overview.ts); a piece with anything unusual is
 * decoded as read() decodes it, with the same line numbers, errors and warnings.
 */
export async function overviewInPieces(fh: FileHandle, file: string, piece = OVERVIEW_PIECE_BYTES): Promise<LedgerOverview> {
  const overview: LedgerOverview = { events: [], notificationsByRun: new Map(), warnings: [] };
  const buf = Buffer.allocUnsafe(piece);
  let pos = 0;
  let lines = 0;
  let rest = Buffer.alloc(0);
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, piece, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    const chunk = rest.length ? joined(rest, buf.subarray(0, bytesRead)) : buf.subarray(0, bytesRead);
    const complete = chunk.lastIndexOf(0x0a) + 1;
    const body = chunk.subarray(0, complete);
    const fast = scanOverview(body, file);
    const part = fast ?? overviewOf(decodeLedgerBytes(body, file, lines));
    appendAll(overview.events, part.events);
    for (const [run, n] of part.notificationsByRun) overview.notificationsByRun.set(run, (overview.notificationsByRun.get(run) ?? 0) + n);
    for (let i = body.indexOf(0x0a); i !== -1; i = body.indexOf(0x0a, i + 1)) lines++;
    rest = Buffer.from(chunk.subarray(complete));
  }
  if (rest.length) appendAll(overview.warnings, decodeLedgerBytes(rest, file, lines).warnings);
  return overview;
}

/** The store for `--state DIR`. */
export function createFileStore(dir: string = DEFAULT_STATE_DIR, opts: Omit<FileStoreOptions, 'dir'> = {}): FileStore {
  return new FileStore({ ...opts, dir });
}
