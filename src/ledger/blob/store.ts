// Azure Blob ledger store, same contract as the file store:
//   <prefix><campaign>/ledger.jsonl              append blob; one batch = one Append Block of whole lines (≤ 4 MiB)
//   <prefix><campaign>/.lock                     empty block blob; its lease (60 s, renewed while held) is the run lock
//   <prefix><campaign>/snapshots/<name>.json     block blob written in one upload (atomic replace)
//   <prefix><campaign>/archive/<stamp>/…         copies made by archive(), originals deleted after the copy is checked
import { randomBytes, randomUUID } from 'node:crypto';
import * as os from 'node:os';
import type { AppendBlobClient, BlobClient, BlobLeaseClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { InvalidEventError, LockHeldError, SnapshotCorruptError, StateError } from '../errors';
import { decodeLedger, encodeBatch } from '../codec';
import type { LedgerEvent } from '../events';
import { LEDGER_FILE } from '../file/store';
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

export const LOCK_BLOB = '.lock';
export const SNAPSHOT_PREFIX = 'snapshots/';
export const ARCHIVE_PREFIX = 'archive/';
/** Marker blob that claims an archive location (the blob counterpart of mkdir). */
export const ARCHIVE_MARKER = '.archived';
/** Azure's lease bounds: 15–60 s (or infinite, which a crashed run would never give back). */
export const MIN_LEASE_SECONDS = 15;
export const MAX_LEASE_SECONDS = 60;
/** The Append Block limit every service version accepts (newer versions allow more; we do not rely on it). */
export const MAX_APPEND_BLOCK_BYTES = 4 * 1024 * 1024;
/** The role the identity needs; named in every access-denied message. */
export const REQUIRED_ROLE = 'Storage Blob Data Contributor';

const MAX_POLL_MS = 2_000;
const RENEW_RETRY_MS = 2_000;
const COPY_POLL_MS = 250;

/** Timer functions, injectable so tests can drive lease renewal without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref(); // a held lock must not keep a finished CLI process alive
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface BlobStoreOptions {
  /** The container holding the ledgers (the stack creates `ledger`). It is never created here. */
  container: ContainerClient;
  /** Folder inside the container, e.g. `prod/` (a trailing slash is added); default none. */
  prefix?: string;
  /** Lease duration of the run lock, 15–60 s; default 60. A crashed run's lock lapses after this. */
  leaseSeconds?: number;
  /** How often a held lease is renewed; default a third of the lease duration. */
  renewEveryMs?: number;
  /** First polling interval while waiting for a lock; doubles up to 2 s. Default 200 ms. */
  pollMs?: number;
  /** Largest Append Block this store writes; default (and maximum) 4 MiB. */
  maxBlockBytes?: number;
  /** Wall clock for lock times and forensic blob names (not the campaign's `now`). */
  wallClock?: () => number;
  /** Host name recorded on the lock blob. */
  hostname?: string;
  /** Receives warnings (a partial tail moved aside, a lost lease) for the caller's log. */
  onWarning?: (message: string) => void;
  timers?: Timers;
}

// ---------------------------------------------------------------------------------------------------------
// Errors of this store (the shared ones are in errors.ts).

/** The identity may not use the container (403/401). Terminal until a role is assigned. */
export class BlobAccessDeniedError extends StateError {
  readonly code = 'BlobAccessDenied';
  readonly retryable = false;
  constructor(
    readonly operation: string,
    readonly url: string,
    readonly status: number,
    readonly storageCode: string,
    readonly account: string,
    readonly container: string,
  ) {
    super(
      `Azure Storage refused to ${operation} ${url} (${status} ${storageCode}). ` +
        `The identity campaign runs as needs the "${REQUIRED_ROLE}" role on container "${container}" of storage account "${account}" ` +
        '(or on the account); new role assignments can take a few minutes to apply. ' +
        'With a connection string, check its account key or SAS (it needs read, add, create, write, delete and list).',
    );
  }
}

/** No credential could get a token for Azure Storage. Terminal. */
export class BlobCredentialError extends StateError {
  readonly code = 'BlobCredential';
  readonly retryable = false;
  constructor(
    readonly operation: string,
    readonly url: string,
    readonly problem: string,
  ) {
    super(
      `no Azure credential could get a token to ${operation} ${url}: ${problem.replace(/\.+$/, '')}. ` +
        'Locally, sign in with "az login"; in Azure, give the app its managed identity and set AZURE_CLIENT_ID to its client id.',
    );
  }
}

/** The container does not exist. Terminal: campaign never creates it, so a typo cannot scatter ledgers. */
export class BlobContainerNotFoundError extends StateError {
  readonly code = 'BlobContainerNotFound';
  readonly retryable = false;
  constructor(
    readonly container: string,
    readonly accountUrl: string,
  ) {
    super(
      `container "${container}" does not exist in ${accountUrl}. ` +
        'Check the --state location (the stack creates the container "ledger"), or create the container first.',
    );
  }
}

/** Any other storage failure; retryable for throttling, timeouts, 5xx and network errors. */
export class BlobStorageError extends StateError {
  readonly code = 'BlobStorage';
  constructor(
    readonly operation: string,
    readonly url: string,
    readonly status: number | undefined,
    readonly storageCode: string | undefined,
    readonly retryable: boolean,
    detail: string,
  ) {
    super(`Azure Storage failed to ${operation} ${url}: ${detail}${retryable ? ' This is usually temporary: run again.' : ''}`);
  }
}

/** The ledger grew under this writer: something appends without holding the campaign lock. */
export class LedgerConflictError extends StateError {
  readonly code = 'LedgerConflict';
  readonly retryable = true;
  constructor(
    readonly url: string,
    readonly expectedEnd: number,
    readonly actualEnd: number,
  ) {
    super(
      `${url}: the ledger changed while this run was appending (expected it to end at byte ${expectedEnd}, it ends at ${actualEnd}); ` +
        'another process is writing it without holding the campaign lock. This block was not written (earlier blocks of the batch were); run again.',
    );
  }
}

/** This process's lease on the campaign lock was lost (broken, or expired and taken). Retryable. */
export class LockLostError extends StateError {
  readonly code = 'LockLost';
  readonly retryable = true;
  constructor(
    readonly campaign: string,
    readonly why: string,
  ) {
    super(`campaign "${campaign}" lost its run lock (${why}); nothing more was written. Another run may be in progress: run again later.`);
  }
}

/** LockHeldError with advice that fits a lease (it lapses by itself) instead of a lock file. */
export class BlobLockHeldError extends LockHeldError {
  constructor(campaign: string, lockUrl: string, holder: LockInfo | null, waitedMs: number, leaseMs: number, breakCommand: string) {
    super(campaign, lockUrl, holder, waitedMs, leaseMs);
    this.name = 'LockHeldError';
    const who = holder
      ? `owner "${holder.owner}" (pid ${holder.pid} on host ${holder.host}) since ${holder.startedAt}`
      : 'a run that has not yet recorded itself on the lock blob';
    this.message =
      `campaign "${campaign}" is locked by ${who}; waited ${waitedMs} ms. ` +
      'Another run is probably in progress: wait for it to finish. ' +
      `If that process is gone, its lease on ${lockUrl} lapses by itself within ${Math.round(leaseMs / 1000)} s of its last renewal; ` +
      `to end it at once: ${breakCommand}`;
  }
}

// ---------------------------------------------------------------------------------------------------------

interface StorageFailure {
  status?: number;
  code?: string;
  name?: string;
  message?: string;
}

function failure(err: unknown): StorageFailure {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as { statusCode?: unknown; code?: unknown; name?: unknown; message?: unknown; details?: { errorCode?: unknown } };
  const code = typeof e.details?.errorCode === 'string' ? e.details.errorCode : typeof e.code === 'string' ? e.code : undefined;
  return {
    status: typeof e.statusCode === 'number' ? e.statusCode : undefined,
    code,
    name: typeof e.name === 'string' ? e.name : undefined,
    message: typeof e.message === 'string' ? e.message : undefined,
  };
}

function is(err: unknown, status: number, ...codes: string[]): boolean {
  const f = failure(err);
  return f.status === status && (codes.length === 0 || (f.code !== undefined && codes.includes(f.code)));
}

const LEASE_GONE_CODES = ['LeaseIdMismatchWithLeaseOperation', 'LeaseNotPresentWithLeaseOperation', 'LeaseLost', 'LeaseIdMismatchWithBlobOperation', 'LeaseNotPresentWithBlobOperation'];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A blob's URL without any SAS query, for messages. */
function display(client: { url: string }): string {
  const i = client.url.indexOf('?');
  return i < 0 ? client.url : client.url.slice(0, i);
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Splits JSON lines into blocks of at most `max` bytes, never inside a line. Line i is event i. */
export function splitIntoBlocks(text: string, max: number): Buffer[] {
  const blocks: Buffer[] = [];
  let current: Buffer[] = [];
  let size = 0;
  let index = 0;
  for (let pos = 0; pos < text.length; index++) {
    const nl = text.indexOf('\n', pos);
    const line = Buffer.from(text.slice(pos, nl + 1), 'utf8');
    pos = nl + 1;
    if (line.length > max) {
      throw new InvalidEventError(index, `it is ${line.length} bytes as JSON, more than the ${max} bytes one append block of the ledger can hold`);
    }
    if (size + line.length > max) {
      blocks.push(Buffer.concat(current, size));
      current = [];
      size = 0;
    }
    current.push(line);
    size += line.length;
  }
  if (size > 0) blocks.push(Buffer.concat(current, size));
  return blocks;
}

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

function holderText(info: LockInfo): string {
  return `owner "${info.owner}" (pid ${info.pid} on host ${info.host}) since ${info.startedAt}`;
}

export class BlobStore implements LedgerStore {
  readonly container: ContainerClient;
  readonly prefix: string;
  private readonly leaseSeconds: number;
  private readonly renewEveryMs: number;
  private readonly pollMs: number;
  private readonly maxBlockBytes: number;
  private readonly wallClock: () => number;
  private readonly hostname: string;
  private readonly onWarning: (message: string) => void;
  private readonly timers: Timers;
  /** Locks this instance holds, so writes stop once a lease was lost. */
  private readonly held = new Map<string, BlobLock>();

  constructor(opts: BlobStoreOptions) {
    this.container = opts.container;
    const prefix = (opts.prefix ?? '').replace(/^\/+/, '');
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    const lease = opts.leaseSeconds ?? MAX_LEASE_SECONDS;
    if (!Number.isInteger(lease) || lease < MIN_LEASE_SECONDS || lease > MAX_LEASE_SECONDS) {
      throw new RangeError(`leaseSeconds must be a whole number from ${MIN_LEASE_SECONDS} to ${MAX_LEASE_SECONDS} (got ${lease})`);
    }
    this.leaseSeconds = lease;
    this.renewEveryMs = Math.max(1, opts.renewEveryMs ?? Math.floor((lease * 1000) / 3));
    if (this.renewEveryMs >= lease * 1000) throw new RangeError(`renewEveryMs (${this.renewEveryMs}) must be shorter than the lease (${lease} s)`);
    this.pollMs = Math.max(1, opts.pollMs ?? 200);
    this.maxBlockBytes = Math.min(MAX_APPEND_BLOCK_BYTES, Math.max(1, opts.maxBlockBytes ?? MAX_APPEND_BLOCK_BYTES));
    this.wallClock = opts.wallClock ?? Date.now;
    this.hostname = opts.hostname ?? os.hostname();
    this.onWarning = opts.onWarning ?? (() => undefined);
    this.timers = opts.timers ?? realTimers;
  }

  /** `<prefix><campaign>/`, after checking the name is a slug. */
  campaignPrefix(campaign: string): string {
    assertCampaignName(campaign);
    return `${this.prefix}${campaign}/`;
  }

  ledgerBlob(campaign: string): AppendBlobClient {
    return this.container.getAppendBlobClient(`${this.campaignPrefix(campaign)}${LEDGER_FILE}`);
  }

  lockBlob(campaign: string): BlockBlobClient {
    return this.container.getBlockBlobClient(`${this.campaignPrefix(campaign)}${LOCK_BLOB}`);
  }

  snapshotBlob(campaign: string, name: string): BlockBlobClient {
    const dir = this.campaignPrefix(campaign);
    assertSnapshotName(name);
    return this.container.getBlockBlobClient(`${dir}${SNAPSHOT_PREFIX}${name}.json`);
  }

  // --- ledger --------------------------------------------------------------------------------------------

  async read(campaign: string): Promise<LedgerReadResult> {
    const blob = this.ledgerBlob(campaign);
    const data = await this.download(blob, 'read the ledger');
    if (data === null) return { events: [], warnings: [] };
    return decodeLedger(data.toString('utf8'), display(blob));
  }

  async append(campaign: string, events: readonly LedgerEvent[]): Promise<void> {
    const blob = this.ledgerBlob(campaign);
    const text = encodeBatch(events);
    if (text === '') return;
    const blocks = splitIntoBlocks(text, this.maxBlockBytes);
    this.assertLockNotLost(campaign);
    let end = await this.ledgerEnd(blob);
    for (const block of blocks) {
      await this.appendAt(blob, block, end);
      end += block.length;
    }
  }

  /** Where the next block goes: creates a missing ledger, and repairs a partial trailing line first. */
  private async ledgerEnd(blob: AppendBlobClient): Promise<number> {
    const props = await this.properties(blob, 'read the ledger size of');
    if (props === null) {
      await this.call('create the ledger', blob, () => blob.createIfNotExists());
      return 0;
    }
    if (props.blobType !== 'AppendBlob') {
      throw new BlobStorageError(
        'append to', display(blob), undefined, 'InvalidBlobType', false,
        `it is a ${props.blobType ?? 'blob of unknown type'}, not an append blob, so campaign did not write it. Move it aside and restore the ledger.`,
      );
    }
    const size = props.contentLength ?? 0;
    if (size === 0) return 0;
    const last = await this.call('read the end of the ledger', blob, async () =>
      streamToBuffer((await blob.download(size - 1, 1)).readableStreamBody),
    );
    if (last[0] === 0x0a) return size;
    return this.repairTail(blob, props.etag ?? '');
  }

  /**
   * Appends one block at `at`. The append-position condition makes a block land only at the end we expect, so a
   * request the SDK retried after a lost response cannot land twice; a refused block that did land counts as written.
   */
  private async appendAt(blob: AppendBlobClient, block: Buffer, at: number): Promise<void> {
    try {
      await blob.appendBlock(block, block.length, { conditions: { appendPosition: at } });
      return;
    } catch (err) {
      if (!is(err, 412, 'AppendPositionConditionNotMet')) throw this.storageError('append to', blob, err);
    }
    const props = await this.properties(blob, 'read the ledger size of');
    const size = props?.contentLength ?? 0;
    if (size === at + block.length) {
      const there = await this.call('check the last append to', blob, async () =>
        streamToBuffer((await blob.download(at, block.length)).readableStreamBody),
      );
      if (there.equals(block)) return;
    }
    throw new LedgerConflictError(display(blob), at, size);
  }

  /**
   * Same handling as the file store: the partial line goes to ledger.jsonl.corrupt-<stamp> and the ledger keeps
   * its complete lines. An append blob cannot be truncated, so the complete part is written to a temporary append
   * blob and copied over the ledger on condition that the ledger is still the one we read (a copy replaces the
   * destination atomically).
   */
  private async repairTail(blob: AppendBlobClient, etag: string): Promise<number> {
    const url = display(blob);
    const data = await this.call('read the ledger', blob, async () =>
      streamToBuffer((await blob.download(0, undefined, { conditions: { ifMatch: etag } })).readableStreamBody),
    );
    const cut = data.lastIndexOf(0x0a) + 1;
    const tail = data.subarray(cut);
    const aside = await this.uploadExclusive(`${blob.name}.corrupt-${fileStamp(new Date(this.wallClock()))}`, tail);
    const temp = this.container.getAppendBlobClient(`${blob.name}.repair-${randomBytes(6).toString('hex')}`);
    try {
      await this.call('create a temporary ledger copy', temp, () => temp.create());
      for (let off = 0; off < cut; off += this.maxBlockBytes) {
        const chunk = data.subarray(off, Math.min(cut, off + this.maxBlockBytes));
        await this.call('write a temporary ledger copy', temp, () => temp.appendBlock(chunk, chunk.length, { conditions: { appendPosition: off } }));
      }
      await this.copyVerified(temp, blob, { destinationEtag: etag, expectedSize: cut });
    } finally {
      await temp.deleteIfExists().catch(() => undefined);
    }
    this.onWarning(
      `${url}: moved a partial trailing line (${tail.length} bytes, most likely an interrupted write) to ${display(aside)} and truncated the ledger to its last complete line before appending.`,
    );
    return cut;
  }

  // --- lock ----------------------------------------------------------------------------------------------

  async acquireLock(campaign: string, opts: LockOptions): Promise<Lock> {
    const blob = this.lockBlob(campaign);
    if (typeof opts?.owner !== 'string' || opts.owner.trim() === '') {
      throw new TypeError('acquireLock needs a non-empty owner (e.g. "reconcile") so another run can say who holds the lock');
    }
    const waitMs = Math.max(0, opts.waitMs ?? 0);
    const started = this.wallClock();
    let interval = this.pollMs;
    for (let quickRetries = 0; ; ) {
      const lease = blob.getBlobLeaseClient(randomUUID());
      if (await this.tryLease(blob, lease)) return this.recordHolder(campaign, blob, lease, opts.owner);
      const holder = await this.properties(blob, 'read the lock holder of');
      // Released, lapsed or deleted between our attempt and the read: try again at once (a few times).
      if ((holder === null || holder.leaseState !== 'leased') && quickRetries++ < 5) continue;
      const waited = this.wallClock() - started;
      if (waited >= waitMs) {
        throw new BlobLockHeldError(campaign, display(blob), decodeHolder(holder?.metadata), waited, this.leaseSeconds * 1000, this.breakCommand(blob));
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
        await lease.acquireLease(this.leaseSeconds);
        return true;
      } catch (err) {
        if (is(err, 409, 'LeaseAlreadyPresent')) return false;
        if (!is(err, 404, 'BlobNotFound') || attempt >= 3) throw this.storageError('lease', blob, err);
      }
      try {
        await blob.upload('', 0, { conditions: { ifNoneMatch: '*' } });
      } catch (err) {
        // Another run created it first: fine, race for the lease.
        if (!is(err, 409, 'BlobAlreadyExists') && !is(err, 412)) throw this.storageError('create the lock', blob, err);
      }
    }
  }

  private async recordHolder(campaign: string, blob: BlockBlobClient, lease: BlobLeaseClient, owner: string): Promise<Lock> {
    const info: LockInfo = { pid: process.pid, host: this.hostname, owner, startedAt: new Date(this.wallClock()).toISOString() };
    const warnings: string[] = [];
    try {
      // Release clears the holder, so a holder still recorded here never released: its lease lapsed or was broken.
      const previous = decodeHolder((await this.properties(blob, 'read the lock holder of'))?.metadata);
      if (previous) {
        const message =
          `${display(blob)}: took over a stale lock of campaign "${campaign}" held by ${holderText(previous)}: ` +
          'its lease ran out without being released (that run crashed or lost contact with storage).';
        warnings.push(message);
        this.onWarning(message);
      }
      await this.call('record the lock holder on', blob, () => blob.setMetadata({ ...encodeHolder(info) }, { conditions: { leaseId: lease.leaseId } }));
    } catch (err) {
      await lease.releaseLease().catch(() => undefined);
      throw err;
    }
    const lock = new BlobLock(campaign, info, warnings, {
      blob,
      lease,
      renewEveryMs: this.renewEveryMs,
      timers: this.timers,
      onWarning: this.onWarning,
      onEnd: (l) => {
        if (this.held.get(campaign) === l) this.held.delete(campaign);
      },
    });
    this.held.set(campaign, lock);
    return lock;
  }

  private breakCommand(blob: BlockBlobClient): string {
    return `az storage blob lease break --account-name ${this.container.accountName} --container-name ${this.container.containerName} --blob-name '${blob.name}' --auth-mode login`;
  }

  private assertLockNotLost(campaign: string): void {
    const lock = this.held.get(campaign);
    if (lock?.lostBecause) throw new LockLostError(campaign, lock.lostBecause);
  }

  // --- archive -------------------------------------------------------------------------------------------

  async archive(campaign: string, now: Date): Promise<string> {
    const base = this.campaignPrefix(campaign);
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('archive needs a valid Date for now');
    this.assertLockNotLost(campaign);
    // Claim a fresh location first (the counterpart of mkdir), so two archives of one instant never mix.
    let root = '';
    for (let n = 1; ; n++) {
      root = `${base}${ARCHIVE_PREFIX}${n === 1 ? fileStamp(now) : `${fileStamp(now)}-${n}`}/`;
      const marker = this.container.getBlockBlobClient(`${root}${ARCHIVE_MARKER}`);
      const body = `${JSON.stringify({ archivedAt: now.toISOString(), by: { host: this.hostname, pid: process.pid } })}\n`;
      try {
        await marker.upload(body, Buffer.byteLength(body), { conditions: { ifNoneMatch: '*' } });
        break;
      } catch (err) {
        if (!is(err, 409, 'BlobAlreadyExists') && !is(err, 412)) throw this.storageError('claim the archive location', marker, err);
      }
    }
    const names: string[] = [];
    try {
      for await (const item of this.container.listBlobsFlat({ prefix: base })) {
        const rel = item.name.slice(base.length);
        // The lock stays (the caller holds it); earlier archives stay where they are.
        if (rel === LOCK_BLOB || rel.startsWith(ARCHIVE_PREFIX)) continue;
        names.push(rel);
      }
    } catch (err) {
      throw this.storageError('list the blobs of', { url: `${display(this.container)}/${base}` }, err);
    }
    // The ledger moves last: if we stop halfway the campaign still has its ledger and the reset can be rerun.
    names.sort((a, b) => (a === LEDGER_FILE ? 1 : b === LEDGER_FILE ? -1 : a.localeCompare(b)));
    for (const rel of names) {
      await this.moveBlob(this.container.getBlobClient(`${base}${rel}`), this.container.getBlobClient(`${root}${rel}`));
    }
    return `${display(this.container)}/${root}`;
  }

  /** Copy, check the copy's size, then delete the original only if it is still the version that was copied. */
  private async moveBlob(source: BlobClient, target: BlobClient): Promise<void> {
    const props = await this.properties(source, 'read');
    if (props === null) return;
    await this.copyVerified(source, target, { sourceEtag: props.etag, expectedSize: props.contentLength ?? 0 });
    try {
      await source.delete({ conditions: { ifMatch: props.etag } });
    } catch (err) {
      if (is(err, 404)) return;
      if (is(err, 412)) {
        throw new BlobStorageError(
          'archive', display(source), 412, 'ConditionNotMet', true,
          `it changed after it was copied to ${display(target)}, so it was kept. Hold the campaign lock while archiving and run again.`,
        );
      }
      throw this.storageError('delete the archived original', source, err);
    }
  }

  private async copyVerified(
    source: BlobClient,
    target: BlobClient,
    opts: { sourceEtag?: string; destinationEtag?: string; expectedSize: number },
  ): Promise<void> {
    const result = await this.call(`copy ${display(source)} to`, target, async () => {
      const poller = await target.beginCopyFromURL(source.url, {
        intervalInMs: COPY_POLL_MS,
        sourceConditions: opts.sourceEtag ? { ifMatch: opts.sourceEtag } : undefined,
        conditions: opts.destinationEtag ? { ifMatch: opts.destinationEtag } : undefined,
      });
      return poller.pollUntilDone();
    });
    const copied = await this.properties(target, 'check the copy');
    if (result.copyStatus !== 'success' || copied?.contentLength !== opts.expectedSize) {
      throw new BlobStorageError(
        'copy', display(source), undefined, 'CopyIncomplete', true,
        `the copy at ${display(target)} is ${copied?.contentLength ?? 'missing'} bytes with status ${result.copyStatus ?? 'unknown'} ` +
          `instead of ${opts.expectedSize} bytes; the original was kept.`,
      );
    }
  }

  // --- snapshots -----------------------------------------------------------------------------------------

  async writeSnapshot(campaign: string, name: string, json: unknown): Promise<void> {
    const blob = this.snapshotBlob(campaign, name);
    const text = JSON.stringify(json);
    if (text === undefined) throw new TypeError(`snapshot "${name}" must be a JSON value (got ${typeof json})`);
    this.assertLockNotLost(campaign);
    const body = `${text}\n`;
    // One Put Blob: readers see the old or the new value, never a mix.
    await this.call('write the snapshot', blob, () =>
      blob.upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } }),
    );
  }

  async readSnapshot<T = unknown>(campaign: string, name: string): Promise<T | null> {
    const blob = this.snapshotBlob(campaign, name);
    const data = await this.download(blob, 'read the snapshot');
    if (data === null) return null;
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch (err) {
      throw new SnapshotCorruptError(display(blob), (err as Error).message);
    }
  }

  // --- storage helpers -----------------------------------------------------------------------------------

  /** Creates `name` (or `name-2`, …) with the given bytes; returns the blob used. */
  private async uploadExclusive(name: string, data: Buffer): Promise<BlockBlobClient> {
    for (let n = 1; ; n++) {
      const blob = this.container.getBlockBlobClient(n === 1 ? name : `${name}-${n}`);
      try {
        await blob.upload(data, data.length, { conditions: { ifNoneMatch: '*' } });
        return blob;
      } catch (err) {
        if (!is(err, 409, 'BlobAlreadyExists') && !is(err, 412)) throw this.storageError('write', blob, err);
      }
    }
  }

  private async download(blob: BlobClient, operation: string): Promise<Buffer | null> {
    try {
      return await streamToBuffer((await blob.download(0)).readableStreamBody);
    } catch (err) {
      if (is(err, 404, 'BlobNotFound')) return null;
      throw this.storageError(operation, blob, err);
    }
  }

  private async properties(blob: BlobClient, operation: string) {
    try {
      return await blob.getProperties();
    } catch (err) {
      // HEAD responses carry no body, so a missing container can look like a missing blob; ask the container.
      if (is(err, 404)) {
        const { code } = failure(err);
        if (code === 'BlobNotFound') return null;
        if (code === 'ContainerNotFound' || !(await this.containerExists())) throw this.containerNotFound();
        return null;
      }
      throw this.storageError(operation, blob, err);
    }
  }

  private async containerExists(): Promise<boolean> {
    try {
      return await this.container.exists();
    } catch {
      return true; // let the original error speak
    }
  }

  private containerNotFound(): BlobContainerNotFoundError {
    return new BlobContainerNotFoundError(this.container.containerName, display(this.container).replace(/\/[^/]*$/, ''));
  }

  private async call<T>(operation: string, blob: { url: string }, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.storageError(operation, blob, err);
    }
  }

  /** Turns an SDK or credential failure into one of the typed errors above. */
  private storageError(operation: string, blob: { url: string }, err: unknown): Error {
    if (err instanceof StateError) return err;
    const url = display(blob);
    const f = failure(err);
    if (f.name !== undefined && ['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError', 'AuthenticationRequiredError'].includes(f.name)) {
      return new BlobCredentialError(operation, url, (f.message ?? 'unknown error').split('\n')[0]);
    }
    if (f.status === 403 || f.status === 401) {
      return new BlobAccessDeniedError(operation, url, f.status, f.code ?? 'AuthorizationFailure', this.container.accountName, this.container.containerName);
    }
    if (f.status === 404 && f.code === 'ContainerNotFound') return this.containerNotFound();
    if (f.code === 'BlockCountExceedsLimit') {
      return new BlobStorageError(operation, url, f.status, f.code, false,
        'the ledger reached Azure\'s limit of 50,000 append blocks. Archive the campaign (reset it) to start a new ledger.');
    }
    const retryable = f.status === undefined || f.status === 408 || f.status === 429 || f.status >= 500;
    const first = (f.message ?? 'unknown error').split('\n')[0];
    const detail = f.status !== undefined ? `${f.status} ${f.code ?? ''}: ${first}`.replace(' :', ':') : first;
    return new BlobStorageError(operation, url, f.status, f.code, retryable, `${detail}.`);
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

/** The store for a container client (see open-store.ts for `--state azblob://…` and connection strings). */
export function createBlobStore(container: ContainerClient, opts: Omit<BlobStoreOptions, 'container'> = {}): BlobStore {
  return new BlobStore({ ...opts, container });
}
