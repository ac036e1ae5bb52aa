// The file store's run lock: DIR/<campaign>/.lock, naming its holder (pid, host, owner, start) so another run
// can say who holds it and take it over once that holder is gone.
//
// A lock file exists complete or not at all: the record is written and fsynced to a temp file next to it, then
// hard-linked to the lock path (link fails if the lock exists, like O_EXCL). A writer killed before the link
// leaves only its temp file, which blocks nobody and is swept by a later holder.
//
// Rule for a lock file whose content is not a complete lock record (empty, cut short, not JSON): it is taken
// over at once, with a warning. This build never publishes such a file, so it was left by an older build that
// created the lock and then wrote it (killed in between), or it was damaged; no holder can be named or asked.
// (Older builds waited 5 s for such a file to be completed, so a run started right after a killed one failed.)
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { LockHeldError, describeHolder } from '../errors';
import type { Lock, LockInfo, LockOptions } from '../store';
import { isErrno, sleep } from './io';

const MAX_POLL_MS = 500;
/** Temp files of lock writers: `.lock.tmp-<pid>-<random>` next to the lock. */
const TEMP_INFIX = '.tmp-';
/** A writer holds its temp file for the milliseconds between writing and linking it; older ones were abandoned. */
const ABANDONED_TEMP_MS = 60_000;

interface StoredLock extends LockInfo {
  /** Random id of this acquisition, so release never removes a lock someone else took over. */
  token: string;
}

type LockFileState = { raw: string; info: StoredLock | null; mtimeMs: number } | 'gone';

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

export interface FileLockerOptions {
  lockMaxAgeMs: number;
  pollMs: number;
  wallClock: () => number;
  hostname: string;
  onWarning: (message: string) => void;
}

/** Takes run locks for a file store. */
export class FileLocker {
  constructor(private readonly o: FileLockerOptions) {}

  async acquire(campaign: string, lockFile: string, opts: LockOptions): Promise<Lock> {
    if (typeof opts?.owner !== 'string' || opts.owner.trim() === '') {
      throw new TypeError('acquireLock needs a non-empty owner (e.g. "reconcile") so another run can say who holds the lock');
    }
    const waitMs = Math.max(0, opts.waitMs ?? 0);
    await fsp.mkdir(path.dirname(lockFile), { recursive: true });
    const started = this.o.wallClock();
    const warnings: string[] = [];
    let interval = this.o.pollMs;
    for (;;) {
      const mine: StoredLock = {
        pid: process.pid,
        host: this.o.hostname,
        owner: opts.owner,
        startedAt: new Date(this.o.wallClock()).toISOString(),
        token: randomBytes(16).toString('hex'),
      };
      if (await this.tryCreateLock(lockFile, mine)) {
        const { token, ...info } = mine;
        await sweepAbandonedTemps(lockFile);
        return new FileLock(campaign, lockFile, info, token, warnings);
      }
      const current = await this.readLockFile(lockFile);
      if (current === 'gone') continue; // released between our attempt and the read: try again at once
      const stale = this.staleReason(current);
      if (stale) {
        if (await this.removeIfUnchanged(lockFile, current.raw)) {
          const who = current.info ? describeHolder(current.info) : 'an unknown holder (unreadable lock file)';
          const message = `${lockFile}: took over a stale lock of campaign "${campaign}" held by ${who}: ${stale}.`;
          warnings.push(message);
          this.o.onWarning(message);
        }
        continue;
      }
      const waited = this.o.wallClock() - started;
      if (waited >= waitMs) {
        const holder = current.info ? { pid: current.info.pid, host: current.info.host, owner: current.info.owner, startedAt: current.info.startedAt } : null;
        const hours = Math.round((this.o.lockMaxAgeMs / 3_600_000) * 10) / 10;
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

  /** True when `lock` is now the lock file; false when another lock exists (or appeared while writing ours). */
  private async tryCreateLock(lockFile: string, lock: StoredLock): Promise<boolean> {
    // Cheap check first, so waiting runs do not write and fsync a temp file on every poll.
    if (await fsp.stat(lockFile).then(() => true, () => false)) return false;
    const temp = `${lockFile}${TEMP_INFIX}${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      const fh: FileHandle = await fsp.open(temp, 'wx', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(lock)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await fsp.link(temp, lockFile);
      } catch (err) {
        // EEXIST: another run linked first. ENOENT: our temp file was swept as abandoned (a skewed clock); retry.
        if (isErrno(err, 'EEXIST') || isErrno(err, 'ENOENT')) return false;
        throw err;
      }
      return true;
    } finally {
      await fsp.unlink(temp).catch(() => undefined);
    }
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
    const now = this.o.wallClock();
    const { info } = current;
    if (!info) {
      const what = current.raw.length === 0 ? 'empty' : `${Buffer.byteLength(current.raw)} bytes that are not a lock record`;
      return `the lock file is ${what}; this build writes lock files whole, so its writer died while writing it (an older build) or it was damaged`;
    }
    const startedAt = Date.parse(info.startedAt);
    const age = now - (Number.isNaN(startedAt) ? current.mtimeMs : startedAt);
    if (age > this.o.lockMaxAgeMs) {
      return `it is ${Math.round(age / 60_000)} min old, more than the maximum lock age of ${Math.round(this.o.lockMaxAgeMs / 60_000)} min`;
    }
    if (info.host === this.o.hostname && !isPidAlive(info.pid)) {
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
}

/** Removes lock writers' temp files that were abandoned (their writer was killed before linking). Best effort. */
async function sweepAbandonedTemps(lockFile: string): Promise<void> {
  const dir = path.dirname(lockFile);
  const prefix = `${path.basename(lockFile)}${TEMP_INFIX}`;
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(prefix))) {
    const file = path.join(dir, name);
    // File times are real time, so this compares with the real clock, not the injectable wall clock.
    const st = await fsp.stat(file).catch(() => null);
    if (st && Date.now() - st.mtimeMs > ABANDONED_TEMP_MS) await fsp.unlink(file).catch(() => undefined);
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
