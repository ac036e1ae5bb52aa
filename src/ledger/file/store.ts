// File ledger store: DIR/<campaign>/ledger.jsonl (JSON lines, O_APPEND + fsync), DIR/<campaign>/.lock
// (O_EXCL), DIR/<campaign>/snapshots/<name>.json (temp + fsync + rename), DIR/<campaign>/archive/<stamp>/.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeLedger, encodeBatch } from '../codec';
import { LockHeldError, SnapshotCorruptError, describeHolder } from '../errors';
import type { LedgerEvent } from '../events';
import { overviewOf, type LedgerOverview } from '../overview';
import { scanOverview } from './overview';
import {
  assertCampaignName,
  assertSnapshotName,
  fileStamp,
  type LedgerReadResult,
  type LedgerStore,
  type Lock,
  type LockInfo,
  type LockOptions,
} from '../store';

export const DEFAULT_STATE_DIR = '.campaign-state';
export const DEFAULT_LOCK_MAX_AGE_MS = 6 * 60 * 60 * 1000;
export const LEDGER_FILE = 'ledger.jsonl';
export const LOCK_FILE = '.lock';
export const SNAPSHOT_DIR = 'snapshots';
export const ARCHIVE_DIR = 'archive';

// A lock file with no readable content younger than this is assumed to be mid-creation, not abandoned.
const INCOMPLETE_LOCK_GRACE_MS = 5_000;
const MAX_POLL_MS = 500;
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

interface StoredLock extends LockInfo {
  /** Random id of this acquisition, so release never removes a lock someone else took over. */
  token: string;
}

type LockFileState = { raw: string; info: StoredLock | null; mtimeMs: number } | 'gone';

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseStoredLock(raw: string): StoredLock | null {
  try {
    const v = JSON.parse(raw) as Partial<StoredLock>;
    if (
      typeof v === 'object' && v !== null &&
      Number.isInteger(v.pid) && typeof v.host === 'string' && typeof v.owner === 'string' &&
      typeof v.startedAt === 'string' && typeof v.token === 'string'
    ) {
      return v as StoredLock;
    }
  } catch {
    // Unreadable content is handled by the caller as an incomplete lock.
  }
  return null;
}

/** True unless the OS says the pid does not exist (EPERM means it exists under another user). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // Directories cannot be opened or fsynced on some platforms (Windows); the rename is still atomic there.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

export class FileStore implements LedgerStore {
  readonly dir: string;
  private readonly lockMaxAgeMs: number;
  private readonly pollMs: number;
  private readonly wallClock: () => number;
  private readonly hostname: string;
  private readonly onWarning: (message: string) => void;

  constructor(opts: FileStoreOptions = {}) {
    this.dir = opts.dir ?? DEFAULT_STATE_DIR;
    this.lockMaxAgeMs = opts.lockMaxAgeMs ?? DEFAULT_LOCK_MAX_AGE_MS;
    this.pollMs = Math.max(1, opts.pollMs ?? 50);
    this.wallClock = opts.wallClock ?? Date.now;
    this.hostname = opts.hostname ?? os.hostname();
    this.onWarning = opts.onWarning ?? (() => undefined);
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
    const file = this.ledgerFile(campaign);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return { events: [], warnings: [] };
      throw err;
    }
    return decodeLedger(text, file);
  }

  async readOverview(campaign: string): Promise<LedgerOverview> {
    const file = this.ledgerFile(campaign);
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(file);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return { events: [], notificationsByRun: new Map(), warnings: [] };
      throw err;
    }
    // This store wrote these bytes, so it may scan them (overview.ts); anything unusual is decoded as read() does.
    const fast = scanOverview(bytes, file);
    return fast ? { ...fast, warnings: [] } : overviewOf(decodeLedger(bytes.toString('utf8'), file));
  }

  async append(campaign: string, events: readonly LedgerEvent[]): Promise<void> {
    const file = this.ledgerFile(campaign);
    const data = Buffer.from(encodeBatch(events), 'utf8');
    if (data.length === 0) return;
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
      if (!created) await this.repairTail(fh, file);
      // One write of the whole batch: a crash can only leave a partial line at the end, which repairTail handles.
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await fh.write(data, off, data.length - off);
        off += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (created) await fsyncDir(path.dirname(file));
  }

  /** Moves a partial trailing line aside and truncates to the last newline, so new lines never join garbage. */
  private async repairTail(fh: FileHandle, file: string): Promise<void> {
    const { size } = await fh.stat();
    if (size === 0) return;
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] === 0x0a) return;
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
    const lockFile = this.lockFile(campaign);
    if (typeof opts?.owner !== 'string' || opts.owner.trim() === '') {
      throw new TypeError('acquireLock needs a non-empty owner (e.g. "reconcile") so another run can say who holds the lock');
    }
    const waitMs = Math.max(0, opts.waitMs ?? 0);
    await fsp.mkdir(path.dirname(lockFile), { recursive: true });
    const started = this.wallClock();
    const warnings: string[] = [];
    let interval = this.pollMs;
    for (;;) {
      const mine: StoredLock = {
        pid: process.pid,
        host: this.hostname,
        owner: opts.owner,
        startedAt: new Date(this.wallClock()).toISOString(),
        token: randomBytes(16).toString('hex'),
      };
      if (await this.tryCreateLock(lockFile, mine)) {
        const { token, ...info } = mine;
        return new FileLock(campaign, lockFile, info, token, warnings);
      }
      const current = await this.readLockFile(lockFile);
      if (current === 'gone') continue; // released between our attempt and the read: try again at once
      const stale = this.staleReason(current);
      if (stale) {
        if (await this.removeIfUnchanged(lockFile, current.raw)) {
          const who = current.info
            ? describeHolder(current.info)
            : 'an unknown holder (unreadable lock file)';
          const message = `${lockFile}: took over a stale lock of campaign "${campaign}" held by ${who}: ${stale}.`;
          warnings.push(message);
          this.onWarning(message);
        }
        continue;
      }
      const waited = this.wallClock() - started;
      if (waited >= waitMs) {
        const holder = current.info ? { pid: current.info.pid, host: current.info.host, owner: current.info.owner, startedAt: current.info.startedAt } : null;
        const hours = Math.round((this.lockMaxAgeMs / 3_600_000) * 10) / 10;
        throw new LockHeldError({
          campaign, kind: 'file', lockPath: lockFile, holder, waitedMs: waited,
          ifGone: `If that process is gone, delete ${lockFile} (a lock is also taken over automatically once its pid is dead on this host or it is older than ${hours} h).`,
        });
      }
      // Jittered, growing, bounded polling so waiting processes do not retry in lockstep.
      const delay = Math.min(waitMs - waited, Math.round(interval * (0.5 + Math.random())));
      await sleep(Math.max(1, delay));
      interval = Math.min(MAX_POLL_MS, interval * 2);
    }
  }

  private async tryCreateLock(lockFile: string, lock: StoredLock): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(lockFile, 'wx', 0o644);
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return false;
      throw err;
    }
    try {
      await fh.writeFile(`${JSON.stringify(lock)}\n`);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fsp.unlink(lockFile).catch(() => undefined);
      throw err;
    }
    await fh.close();
    return true;
  }

  private async readLockFile(lockFile: string): Promise<LockFileState> {
    try {
      const [raw, st] = await Promise.all([fsp.readFile(lockFile, 'utf8'), fsp.stat(lockFile)]);
      return { raw, info: parseStoredLock(raw), mtimeMs: st.mtimeMs };
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 'gone';
      throw err;
    }
  }

  /** Why the lock may be taken over, or null while its holder may still be working. */
  private staleReason(current: Exclude<LockFileState, 'gone'>): string | null {
    const now = this.wallClock();
    const { info } = current;
    if (!info) {
      const age = now - current.mtimeMs;
      return age > INCOMPLETE_LOCK_GRACE_MS ? `the lock file is unreadable and ${Math.round(age / 1000)} s old (its writer crashed)` : null;
    }
    const startedAt = Date.parse(info.startedAt);
    const age = now - (Number.isNaN(startedAt) ? current.mtimeMs : startedAt);
    if (age > this.lockMaxAgeMs) {
      return `it is ${Math.round(age / 60_000)} min old, more than the maximum lock age of ${Math.round(this.lockMaxAgeMs / 60_000)} min`;
    }
    if (info.host === this.hostname && !isPidAlive(info.pid)) {
      return `pid ${info.pid} is no longer running on this host`;
    }
    return null;
  }

  /**
   * Removes the lock only if it still holds `raw`: rename it aside first (atomic), then compare, and put it
   * back if another process replaced it in between, so two takers of one stale lock cannot both win.
   */
  private async removeIfUnchanged(lockFile: string, raw: string): Promise<boolean> {
    const aside = `${lockFile}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await fsp.rename(lockFile, aside);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
    const moved = await fsp.readFile(aside, 'utf8').catch(() => null);
    if (moved === raw) {
      await fsp.unlink(aside).catch(() => undefined);
      return true;
    }
    try {
      await fsp.link(aside, lockFile);
    } catch (err) {
      // EEXIST: a third process locked in the gap; its lock wins and the replaced holder's release is a no-op.
      if (!isErrno(err, 'EEXIST')) await fsp.rename(aside, lockFile).catch(() => undefined);
    }
    await fsp.unlink(aside).catch(() => undefined);
    return false;
  }

  async archive(campaign: string, now: Date): Promise<string> {
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
    for (const name of toMove) await fsp.rename(path.join(dir, name), path.join(target, name));
    await fsyncDir(target);
    await fsyncDir(dir);
    return target;
  }

  snapshotFile(campaign: string, name: string): string {
    assertSnapshotName(name);
    return path.join(this.campaignDir(campaign), SNAPSHOT_DIR, `${name}.json`);
  }

  async writeSnapshot(campaign: string, name: string, json: unknown): Promise<void> {
    // Compact: the observation snapshot of a 100,000-user campaign is read by every status report.
    const file = this.snapshotFile(campaign, name);
    const text = JSON.stringify(json);
    if (text === undefined) throw new TypeError(`snapshot "${name}" must be a JSON value (got ${typeof json})`);
    const dir = path.dirname(file);
    await fsp.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.${name}.json.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      const fh = await fsp.open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(`${text}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, file);
    } catch (err) {
      await fsp.unlink(tmp).catch(() => undefined);
      throw err;
    }
    await fsyncDir(dir);
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

class FileLock implements Lock {
  private released = false;

  constructor(
    readonly campaign: string,
    private readonly lockFile: string,
    readonly info: LockInfo,
    private readonly token: string,
    readonly warnings: string[],
  ) {}

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    let raw: string;
    try {
      raw = await fsp.readFile(this.lockFile, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    // Someone took the lock over as stale (e.g. we ran past the max age): theirs now, leave it.
    if (parseStoredLock(raw)?.token !== this.token) return;
    await fsp.unlink(this.lockFile).catch((err: unknown) => {
      if (!isErrno(err, 'ENOENT')) throw err;
    });
  }
}

/** The store for `--state DIR`. */
export function createFileStore(dir: string = DEFAULT_STATE_DIR, opts: Omit<FileStoreOptions, 'dir'> = {}): FileStore {
  return new FileStore({ ...opts, dir });
}
