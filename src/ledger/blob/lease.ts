// The blob store's run lock: a lease on <prefix><campaign>/.lock (15–60 s, renewed in the background while
// held), with the holder recorded as blob metadata so another run can name it.
import { randomUUID } from 'node:crypto';
import type { BlobClient, BlobLeaseClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import type { Lock, LockInfo, LockOptions } from '../store';
import { describeHolder, LockHeldError } from '../errors';
import { LEASE_GONE_CODES, display, failure, is, storageError } from './errors';

/** Azure's lease bounds: 15–60 s (or infinite, which a crashed run would never give back). */
export const MIN_LEASE_SECONDS = 15;
export const MAX_LEASE_SECONDS = 60;

const MAX_POLL_MS = 2_000;
const RENEW_RETRY_MS = 2_000;

/** Timer functions, injectable so tests can drive lease renewal without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref(); // a held lock must not keep a finished CLI process alive
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};


interface HolderMetadata {
  owner: string;
  host: string;
  pid: string;
  since: string;
}

function encodeHolder(info: LockInfo): HolderMetadata {
  // Metadata travels as HTTP headers: percent-encode so any host or owner name survives.
  return { owner: encodeURIComponent(info.owner), host: encodeURIComponent(info.host), pid: String(info.pid), since: info.startedAt };
}

function decodeHolder(meta: Record<string, string> | undefined): LockInfo | null {
  if (!meta?.owner || !meta.host || !meta.since) return null;
  const pid = Number(meta.pid);
  try {
    return { owner: decodeURIComponent(meta.owner), host: decodeURIComponent(meta.host), pid: Number.isInteger(pid) ? pid : -1, startedAt: meta.since };
  } catch {
    return null;
  }
}


type BlobProperties = Awaited<ReturnType<BlobClient['getProperties']>>;

export interface LeaseLockerOptions {
  container: ContainerClient;
  leaseSeconds: number;
  renewEveryMs: number;
  pollMs: number;
  wallClock: () => number;
  hostname: string;
  onWarning: (message: string) => void;
  timers: Timers;
  /** The blob's properties, or null when it does not exist (a missing container throws instead). */
  properties(blob: BlobClient, operation: string): Promise<BlobProperties | null>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Takes run locks for a blob store: one lease per campaign lock blob. */
export class LeaseLocker {
  constructor(private readonly o: LeaseLockerOptions) {}

  async acquire(campaign: string, blob: BlockBlobClient, opts: LockOptions, onEnd: (lock: BlobLock) => void): Promise<BlobLock> {
    if (typeof opts?.owner !== 'string' || opts.owner.trim() === '') {
      throw new TypeError('acquireLock needs a non-empty owner (e.g. "reconcile") so another run can say who holds the lock');
    }
    const waitMs = Math.max(0, opts.waitMs ?? 0);
    const started = this.o.wallClock();
    let interval = this.o.pollMs;
    for (let quickRetries = 0; ; ) {
      const lease = blob.getBlobLeaseClient(randomUUID());
      if (await this.tryLease(blob, lease)) return this.recordHolder(campaign, blob, lease, opts.owner, onEnd);
      const holder = await this.o.properties(blob, 'read the lock holder of');
      // Released, lapsed or deleted between our attempt and the read: try again at once (a few times).
      if ((holder === null || holder.leaseState !== 'leased') && quickRetries++ < 5) continue;
      const waited = this.o.wallClock() - started;
      if (waited >= waitMs) {
        throw new LockHeldError({
          campaign, kind: 'lease', lockPath: display(blob), holder: decodeHolder(holder?.metadata), waitedMs: waited,
          ifGone: `If that process is gone, its lease on ${display(blob)} lapses by itself within ${this.o.leaseSeconds} s of its last renewal; to end it at once: ${this.breakCommand(blob)}`,
        });
      }
      // Jittered, growing, bounded polling so waiting runs do not retry in lockstep.
      const delay = Math.min(waitMs - waited, Math.round(interval * (0.5 + Math.random())));
      await sleep(Math.max(1, delay));
      interval = Math.min(MAX_POLL_MS, interval * 2);
    }
  }

  /** True when the lease was acquired; creates the (empty) lock blob on first use. */
  private async tryLease(blob: BlockBlobClient, lease: BlobLeaseClient): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await lease.acquireLease(this.o.leaseSeconds);
        return true;
      } catch (err) {
        if (is(err, 409, 'LeaseAlreadyPresent')) return false;
        if (!is(err, 404, 'BlobNotFound') || attempt >= 3) throw storageError(this.o.container, 'lease', blob, err);
      }
      try {
        await blob.upload('', 0, { conditions: { ifNoneMatch: '*' } });
      } catch (err) {
        // Another run created it first: fine, race for the lease.
        if (!is(err, 409, 'BlobAlreadyExists') && !is(err, 412)) throw storageError(this.o.container, 'create the lock', blob, err);
      }
    }
  }

  private async recordHolder(campaign: string, blob: BlockBlobClient, lease: BlobLeaseClient, owner: string, onEnd: (lock: BlobLock) => void): Promise<BlobLock> {
    const info: LockInfo = { pid: process.pid, host: this.o.hostname, owner, startedAt: new Date(this.o.wallClock()).toISOString() };
    const warnings: string[] = [];
    try {
      // Release clears the holder, so a holder still recorded here never released: its lease lapsed or was broken.
      const previous = decodeHolder((await this.o.properties(blob, 'read the lock holder of'))?.metadata);
      if (previous) {
        const message =
          `${display(blob)}: took over a stale lock of campaign "${campaign}" held by ${describeHolder(previous)}: ` +
          'its lease ran out without being released (that run crashed or lost contact with storage).';
        warnings.push(message);
        this.o.onWarning(message);
      }
      try {
        await blob.setMetadata({ ...encodeHolder(info) }, { conditions: { leaseId: lease.leaseId } });
      } catch (err) {
        throw storageError(this.o.container, 'record the lock holder on', blob, err);
      }
    } catch (err) {
      await lease.releaseLease().catch(() => undefined);
      throw err;
    }
    return new BlobLock(campaign, info, warnings, {
      blob,
      lease,
      renewEveryMs: this.o.renewEveryMs,
      timers: this.o.timers,
      onWarning: this.o.onWarning,
      onEnd,
    });
  }

  private breakCommand(blob: BlockBlobClient): string {
    return `az storage blob lease break --account-name ${this.o.container.accountName} --container-name ${this.o.container.containerName} --blob-name '${blob.name}' --auth-mode login`;
  }
}

interface BlobLockParts {
  blob: BlockBlobClient;
  lease: BlobLeaseClient;
  renewEveryMs: number;
  timers: Timers;
  onWarning: (message: string) => void;
  onEnd: (lock: BlobLock) => void;
}

/** A held lease, renewed in the background until released or lost. */
export class BlobLock implements Lock {
  private released = false;
  private timer: unknown;
  private renewing: Promise<void> | undefined;
  /** Why the lease is gone, once it is; writes of the store that took it stop then. */
  lostBecause: string | null = null;
  /** Successful renewals so far (for tests and logs). */
  renewals = 0;

  constructor(
    readonly campaign: string,
    readonly info: LockInfo,
    readonly warnings: string[],
    private readonly parts: BlobLockParts,
  ) {
    this.schedule(parts.renewEveryMs);
  }

  private schedule(ms: number): void {
    if (this.released || this.lostBecause) return;
    this.timer = this.parts.timers.setTimeout(() => {
      this.renewing = this.renew();
    }, ms);
  }

  private async renew(): Promise<void> {
    if (this.released || this.lostBecause) return;
    try {
      await this.parts.lease.renewLease();
      this.renewals++;
      this.schedule(this.parts.renewEveryMs);
    } catch (err) {
      if (this.released) return;
      const f = failure(err);
      if ((f.status === 409 && f.code !== undefined && LEASE_GONE_CODES.includes(f.code)) || f.status === 404) {
        this.lostBecause = `its lease on ${display(this.parts.blob)} could not be renewed: ${f.status} ${f.code ?? ''}`.trimEnd();
        const message = `campaign "${this.campaign}": lost the run lock (${this.lostBecause}); the lease was broken or ran out and another run may hold it now. This run's further writes are refused.`;
        this.warnings.push(message);
        this.parts.onWarning(message);
        return;
      }
      // Transient (network, 5xx, throttling): the lease still has time left, so try again soon.
      this.parts.onWarning(`campaign "${this.campaign}": renewing the run lock failed (${(f.message ?? 'unknown error').split('\n')[0]}); retrying.`);
      this.schedule(Math.min(this.parts.renewEveryMs, RENEW_RETRY_MS));
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.parts.timers.clearTimeout(this.timer);
    await this.renewing?.catch(() => undefined);
    this.parts.onEnd(this);
    if (this.lostBecause) return;
    const { blob, lease } = this.parts;
    // Clear the holder first, so a holder still recorded later means "never released" (see recordHolder).
    await blob.setMetadata({}, { conditions: { leaseId: lease.leaseId } }).catch(() => undefined);
    try {
      await lease.releaseLease();
    } catch (err) {
      const f = failure(err);
      // Someone took the lease over (ours ran out): theirs now, leave it.
      if (f.status === 404 || (f.status === 409 && f.code !== undefined && LEASE_GONE_CODES.includes(f.code))) return;
      throw err;
    }
  }
}
