// Azure Blob ledger store, same contract as the file store (the run lock is in lease.ts, the errors in errors.ts):
//   <prefix><campaign>/ledger.jsonl              append blob; one batch = one Append Block of whole lines (≤ 4 MiB)
//   <prefix><campaign>/.lock                     empty block blob; its lease (60 s, renewed while held) is the run lock
//   <prefix><campaign>/snapshots/<name>.json     block blob written in one upload (atomic replace)
//   <prefix><campaign>/archive/<stamp>/…         copies made by archive(), originals deleted after the copy is checked
import { createHash, randomBytes } from 'node:crypto';
import * as os from 'node:os';
import type { AppendBlobClient, BlobClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { CHAIN_ADDED_BYTES, CHAIN_GENESIS, nextPrev } from '../chain';
import { chainChunks, decodeLedgerBytes, encodeBatchChunks } from '../codec';
import { InvalidEventError, SnapshotCorruptError } from '../errors';
import { jsonChunks } from '../json-chunks';
import type { LedgerEvent } from '../events';
import { overviewOf, type LedgerOverview } from '../overview';
import { CompleteLines, lastCompleteLine } from '../raw';
import { tailOfBytes } from '../tail';
import { LEDGER_FILE } from '../file/store';
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
import { BlobStorageError, LedgerConflictError, LockLostError, containerNotFound, display, failure, is, storageError } from './errors';
import { BlobLock, LeaseLocker, MAX_LEASE_SECONDS, MIN_LEASE_SECONDS, realTimers, type Timers } from './lease';

export const LOCK_BLOB = '.lock';
export const SNAPSHOT_PREFIX = 'snapshots/';
export const ARCHIVE_PREFIX = 'archive/';
/** Marker blob that claims an archive location (the blob counterpart of mkdir). */
export const ARCHIVE_MARKER = '.archived';
/** The Append Block limit every service version accepts (newer versions allow more; we do not rely on it). */
export const MAX_APPEND_BLOCK_BYTES = 4 * 1024 * 1024;
const COPY_POLL_MS = 250;

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
  /**
   * A snapshot of more bytes is written as staged blocks of this size, committed at once; a smaller one in one
   * upload. Default 16 MiB.
   */
  snapshotBlockBytes?: number;
  /** Wall clock for lock times and forensic blob names (not the campaign's `now`). */
  wallClock?: () => number;
  /** Host name recorded on the lock blob. */
  hostname?: string;
  /** Receives warnings (a partial tail moved aside, a lost lease) for the caller's log. */
  onWarning?: (message: string) => void;
  timers?: Timers;
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Every line of `chunks` (buffers of whole lines, each ended by '\n'), '\n' included, in order. */
function* linesOf(chunks: readonly Buffer[]): Generator<Buffer> {
  for (const chunk of chunks) {
    for (let pos = 0; pos < chunk.length; ) {
      const nl = chunk.indexOf(0x0a, pos);
      const end = nl === -1 ? chunk.length : nl + 1;
      yield chunk.subarray(pos, end);
      pos = end;
    }
  }
}

/**
 * Throws InvalidEventError for the first line that, `added` bytes longer, would not fit in one block of `max`
 * bytes: checked on the encoded batch before the ledger is touched (the chain member comes later, CHAIN_ADDED_BYTES).
 */
export function assertLinesFit(chunks: readonly Buffer[], max: number, added = 0): void {
  let index = 0;
  for (const line of linesOf(chunks)) {
    if (line.length + added > max) {
      throw new InvalidEventError(index, `it is ${line.length + added} bytes as JSON, more than the ${max} bytes one append block of the ledger can hold`);
    }
    index++;
  }
}

/** Splits JSON lines (buffers of whole lines) into blocks of at most `max` bytes, never inside a line. Line i is event i. */
export function splitIntoBlocks(chunks: readonly Buffer[], max: number): Buffer[] {
  assertLinesFit(chunks, max);
  const blocks: Buffer[] = [];
  let current: Buffer[] = [];
  let size = 0;
  for (const line of linesOf(chunks)) {
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

/** The ledger gave fewer bytes than it held a moment before: it was replaced while this run appends. */
function shrank(blob: BlobClient, operation: string, expected: number, got: number): BlobStorageError {
  return new BlobStorageError(
    operation, display(blob), undefined, 'LedgerChanged', true,
    `it gave ${got} bytes where it held ${expected} a moment before, so it was replaced while this run was appending ` +
      '(another process writes it without holding the campaign lock); nothing of the batch was written.',
  );
}

export class BlobStore implements LedgerStore {
  readonly container: ContainerClient;
  readonly prefix: string;
  private readonly maxBlockBytes: number;
  private readonly snapshotBlockBytes: number;
  private readonly wallClock: () => number;
  private readonly hostname: string;
  private readonly onWarning: (message: string) => void;
  private readonly locker: LeaseLocker;
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
    const renewEveryMs = Math.max(1, opts.renewEveryMs ?? Math.floor((lease * 1000) / 3));
    if (renewEveryMs >= lease * 1000) throw new RangeError(`renewEveryMs (${renewEveryMs}) must be shorter than the lease (${lease} s)`);
    this.maxBlockBytes = Math.min(MAX_APPEND_BLOCK_BYTES, Math.max(1, opts.maxBlockBytes ?? MAX_APPEND_BLOCK_BYTES));
    this.snapshotBlockBytes = Math.max(1, opts.snapshotBlockBytes ?? 16 * 1024 * 1024);
    this.wallClock = opts.wallClock ?? Date.now;
    this.hostname = opts.hostname ?? os.hostname();
    this.onWarning = opts.onWarning ?? (() => undefined);
    this.locker = new LeaseLocker({
      container: this.container,
      leaseSeconds: lease,
      renewEveryMs,
      pollMs: Math.max(1, opts.pollMs ?? 200),
      wallClock: this.wallClock,
      hostname: this.hostname,
      onWarning: this.onWarning,
      timers: opts.timers ?? realTimers,
      properties: (blob, operation) => this.properties(blob, operation),
    });
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
    return decodeLedgerBytes(data, display(blob));
  }

  async readAfter(campaign: string, mark: LedgerMark | null, opts: ReadAfterOptions = {}): Promise<LedgerTail | null> {
    const blob = this.ledgerBlob(campaign);
    const data = await this.download(blob, 'read the ledger');
    return tailOfBytes(data ?? Buffer.alloc(0), mark, display(blob), opts);
  }

  /** The plain overview: the whole ledger is downloaded anyway, and its decode dominates. */
  async readOverview(campaign: string): Promise<LedgerOverview> {
    return overviewOf(await this.read(campaign));
  }

  /** The ledger's complete lines in pieces as the download streams in (LedgerStore.readRaw). */
  async readRaw(campaign: string, onPiece: (bytes: Buffer) => void | Promise<void>): Promise<RawReadResult> {
    const blob = this.ledgerBlob(campaign);
    let stream: NodeJS.ReadableStream | undefined;
    try {
      stream = (await blob.download(0)).readableStreamBody;
    } catch (err) {
      if (is(err, 404, 'BlobNotFound')) return { lines: 0, bytes: 0, partialBytes: 0 };
      throw this.storageError('read the ledger', blob, err);
    }
    const out = new CompleteLines(onPiece);
    if (!stream) return out.finish();
    // Only the download's failures are storage errors; onPiece's own (e.g. a full disk) pass through as they are.
    const chunks = stream[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        let next: IteratorResult<string | Buffer>;
        try {
          next = await chunks.next();
        } catch (err) {
          done = true;
          throw this.storageError('read the ledger', blob, err);
        }
        if (next.done) {
          done = true;
          break;
        }
        await out.push(typeof next.value === 'string' ? Buffer.from(next.value) : next.value);
      }
    } finally {
      if (!done) await chunks.return?.();
    }
    return out.finish();
  }

  async append(campaign: string, events: readonly LedgerEvent[]): Promise<void> {
    const blob = this.ledgerBlob(campaign);
    // Every event checked, and known to fit in a block with its chain member, before the ledger is touched.
    const encoded = encodeBatchChunks(events);
    if (encoded.length === 0) return;
    assertLinesFit(encoded, this.maxBlockBytes, CHAIN_ADDED_BYTES);
    this.assertLockNotLost(campaign);
    let end = await this.ledgerEnd(blob);
    // The hash chain continues from the last complete line (chain.ts); a ledger written before the chain existed
    // is hashed whole, once: the first chained line covers it.
    const prev = await nextPrev(
      await lastCompleteLine(end, (at, length) => this.downloadRange(blob, at, length)),
      () => this.sha256Of(blob, end),
    );
    const blocks = splitIntoBlocks(chainChunks(encoded, prev).chunks, this.maxBlockBytes);
    encoded.length = 0;
    for (const block of blocks) {
      await this.appendAt(blob, block, end);
      end += block.length;
    }
  }

  /** `length` bytes of the ledger from `at`. */
  private async downloadRange(blob: AppendBlobClient, at: number, length: number): Promise<Buffer> {
    const data = await this.call('read the end of the ledger', blob, async () => streamToBuffer((await blob.download(at, length)).readableStreamBody));
    if (data.length !== length) throw shrank(blob, 'read the end of', at + length, at + data.length);
    return data;
  }

  /** Hex SHA-256 of the ledger's first `end` bytes, hashed as the download streams in. */
  private async sha256Of(blob: AppendBlobClient, end: number): Promise<string> {
    return this.call('read the ledger', blob, async () => {
      const hash = createHash('sha256');
      const stream = (await blob.download(0, end)).readableStreamBody;
      let got = 0;
      if (stream) {
        for await (const chunk of stream) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
          hash.update(bytes);
          got += bytes.length;
        }
      }
      if (got !== end) throw shrank(blob, 'read', end, got);
      return hash.digest('hex');
    });
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

  // --- lock (lease.ts) -----------------------------------------------------------------------------------

  async acquireLock(campaign: string, opts: LockOptions): Promise<Lock> {
    const lock = await this.locker.acquire(campaign, this.lockBlob(campaign), opts, (l) => {
      if (this.held.get(campaign) === l) this.held.delete(campaign);
    });
    this.held.set(campaign, lock);
    return lock;
  }

  private assertLockNotLost(campaign: string): void {
    const lock = this.held.get(campaign);
    if (lock?.lostBecause) throw new LockLostError(campaign, lock.lostBecause);
  }

  // --- archive -------------------------------------------------------------------------------------------

  location(campaign: string): string {
    return display(this.ledgerBlob(campaign));
  }

  async archive(campaign: string, now: Date, opening?: (where: string) => readonly LedgerEvent[]): Promise<string> {
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
    const where = `${display(this.container)}/${root}`;
    for (const rel of names) {
      const source = this.container.getBlobClient(`${base}${rel}`);
      const target = this.container.getBlobClient(`${root}${rel}`);
      if (rel === LEDGER_FILE && opening) await this.replaceLedger(campaign, target, opening(where));
      else await this.moveBlob(source, target);
    }
    if (opening && !names.includes(LEDGER_FILE)) await this.append(campaign, opening(where));
    return where;
  }

  /**
   * The ledger is copied into the archive, then replaced by the new ledger in one server-side copy (as repairTail
   * does), on condition that it is still the version that was archived. It is never missing in between.
   */
  private async replaceLedger(campaign: string, archived: BlobClient, events: readonly LedgerEvent[]): Promise<void> {
    const ledger = this.ledgerBlob(campaign);
    const props = await this.properties(ledger, 'read');
    if (props === null) {
      await this.append(campaign, events);
      return;
    }
    await this.copyVerified(ledger, archived, { sourceEtag: props.etag, expectedSize: props.contentLength ?? 0 });
    // A new ledger: its chain starts afresh, it does not follow the archived one.
    const blocks = splitIntoBlocks(chainChunks(encodeBatchChunks(events), CHAIN_GENESIS).chunks, this.maxBlockBytes);
    const size = blocks.reduce((n, b) => n + b.length, 0);
    const temp = this.container.getAppendBlobClient(`${ledger.name}.reset-${randomBytes(6).toString('hex')}`);
    try {
      await this.call('create the new ledger', temp, () => temp.create());
      for (const [i, block] of blocks.entries()) {
        await this.call('write the new ledger', temp, () => temp.appendBlock(block, block.length, i === 0 ? { conditions: { appendPosition: 0 } } : {}));
      }
      this.assertLockNotLost(campaign);
      await this.copyVerified(temp, ledger, { destinationEtag: props.etag, expectedSize: size });
    } finally {
      await temp.deleteIfExists().catch(() => undefined);
    }
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
    await (await this.stage(campaign, name, json)).commit();
  }

  /**
   * A snapshot larger than a block is staged as uncommitted blocks now and committed with one Put Block List; a
   * smaller one is held as bytes and uploaded on commit. Uncommitted blocks are not part of the blob: readers see
   * the old value until commit, and the service drops blocks never committed (at the next commit, or after a week).
   */
  async stageSnapshot(campaign: string, name: string, json: unknown): Promise<StagedSnapshot> {
    return this.stage(campaign, name, json);
  }

  private async stage(campaign: string, name: string, json: unknown): Promise<StagedSnapshot> {
    const blob = this.snapshotBlob(campaign, name);
    if (json === undefined || typeof json === 'function' || typeof json === 'symbol') throw new TypeError(`snapshot "${name}" must be a JSON value (got ${typeof json})`);
    // Built from pieces: at 1,000,000 users the text is more than one string (or a Buffer one would want to hold)
    // can hold. A snapshot that fits in one block is one Put Blob; a larger one is staged a block at a time and
    // committed with one Put Block List. Either way readers see the old or the new value, never a mix.
    const headers = { blobHTTPHeaders: { blobContentType: 'application/json' } };
    const ids: string[] = [];
    const stage = randomBytes(6).toString('hex');
    let pieces: Buffer[] = [];
    let size = 0;
    const stageBlock = async () => {
      const block = Buffer.concat(pieces);
      pieces = [];
      size = 0;
      // Block ids of one blob must all have the same length.
      const id = Buffer.from(`${stage}-${String(ids.length).padStart(6, '0')}`).toString('base64');
      this.assertLockNotLost(campaign);
      await this.call('write the snapshot', blob, () => blob.stageBlock(id, block, block.length));
      ids.push(id);
    };
    for (const piece of jsonChunks(json)) {
      const bytes = Buffer.from(piece, 'utf8');
      pieces.push(bytes);
      size += bytes.length;
      if (size >= this.snapshotBlockBytes) await stageBlock();
    }
    pieces.push(Buffer.from('\n'));
    size += 1;
    let body: Buffer | null = null;
    if (!ids.length) {
      body = Buffer.concat(pieces);
      pieces = [];
    } else {
      await stageBlock();
    }
    let settled = false;
    return {
      commit: async () => {
        if (settled) throw new Error(`snapshot "${name}" was already committed or discarded`);
        settled = true;
        this.assertLockNotLost(campaign);
        if (body) {
          const bytes = body;
          body = null;
          await this.call('write the snapshot', blob, () => blob.upload(bytes, bytes.length, headers));
          return;
        }
        await this.call('write the snapshot', blob, () => blob.commitBlockList(ids, headers));
      },
      discard: async () => {
        settled = true;
        body = null;
      },
    };
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
        if (code === 'ContainerNotFound' || !(await this.containerExists())) throw containerNotFound(this.container);
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

  private async call<T>(operation: string, blob: { url: string }, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.storageError(operation, blob, err);
    }
  }

  /** Turns an SDK or credential failure into one of the typed errors of errors.ts. */
  private storageError(operation: string, blob: { url: string }, err: unknown): Error {
    return storageError(this.container, operation, blob, err);
  }
}

/** The store for a container client (see open-store.ts for `--state azblob://…` and connection strings). */
export function createBlobStore(container: ContainerClient, opts: Omit<BlobStoreOptions, 'container'> = {}): BlobStore {
  return new BlobStore({ ...opts, container });
}
