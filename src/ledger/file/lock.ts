// The file store's run lock: DIR/<campaign>/.lock, created exclusively, naming its holder (pid, host, owner,
// start) so another run can say who holds it and take it over once that holder is gone.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { LockHeldError, describeHolder } from '../errors';
import type { Lock, LockInfo, LockOptions } from '../store';
import { isErrno, sleep } from './io';

// A lock file with no readable content younger than this is assumed to be mid-creation, not abandoned.
const INCOMPLETE_LOCK_GRACE_MS = 5_000;
const MAX_POLL_MS = 500;

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
    const now = this.o.wallClock();
    const { info } = current;
    if (!info) {
      const age = now - current.mtimeMs;
      return age > INCOMPLETE_LOCK_GRACE_MS ? `the lock file is unreadable and ${Math.round(age / 1000)} s old (its writer crashed)` : null;
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
