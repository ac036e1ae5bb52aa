// The Blob ledger store against Azurite on 127.0.0.1: the shared LedgerStore contract plus what is blob-specific.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppendBlobClient, BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BlobAccessDeniedError, BlobContainerNotFoundError, BlobCredentialError, LedgerConflictError, LockLostError } from '../../src/ledger/blob/errors';
import { BlobLock, type Timers } from '../../src/ledger/blob/lease';
import { BlobStore, MAX_APPEND_BLOCK_BYTES, type BlobStoreOptions } from '../../src/ledger/blob/store';
import { CHAIN_GENESIS, ChainWalker, FileStore, InvalidEventError, LockHeldError, SnapshotCorruptError, type LedgerEvent, type LedgerStore } from '../../src/ledger';
import { encodeChainedBatch } from '../../src/ledger/codec';
import { foldLedger } from '../../src/engine/state';
import { readRunLedger, writeCheckpoint } from '../../src/reconcile/checkpoint';
import { startAzurite, type Azurite } from './azurite';
import { describeLedgerStore, ev, field } from './ledger-store-suite';

const NOW = '2026-12-01T06:00:00.000Z';
const CAMPAIGN = 'admins-passkeys';

let azurite: Azurite;
let service: BlobServiceClient;

beforeAll(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
afterAll(async () => {
  await azurite?.stop();
});

async function newContainer(): Promise<ContainerClient> {
  const container = service.getContainerClient(`t-${randomBytes(8).toString('hex')}`);
  await container.create();
  return container;
}

/** A second client of the same container, as another process would have. */
function otherClient(container: ContainerClient): ContainerClient {
  return BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(container.containerName);
}

async function rawAppend(container: ContainerClient, name: string, text: string): Promise<void> {
  const blob = container.getAppendBlobClient(name);
  await blob.createIfNotExists();
  await blob.appendBlock(text, Buffer.byteLength(text));
}

async function text(container: ContainerClient, name: string): Promise<string> {
  return (await container.getBlobClient(name).downloadToBuffer()).toString('utf8');
}

/** The blob's bytes; empty when it does not exist. */
async function bytesOf(container: ContainerClient, name: string): Promise<Buffer> {
  const blob = container.getBlobClient(name);
  return (await blob.exists()) ? blob.downloadToBuffer() : Buffer.alloc(0);
}

async function names(container: ContainerClient, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const b of container.listBlobsFlat({ prefix })) out.push(b.name);
  return out.sort();
}

describeLedgerStore('Azure Blob (Azurite)', async () => {
  const container = await newContainer();
  return {
    store: new BlobStore({ container, pollMs: 20 }),
    appendRaw: (campaign, raw) => rawAppend(container, `${campaign}/ledger.jsonl`, raw),
    rawBytes: (campaign) => bytesOf(container, `${campaign}/ledger.jsonl`),
    reopen: () => new BlobStore({ container: otherClient(container), pollMs: 20 }),
    // A lease cannot be deleted away like a lock file: it lapses, or is broken.
    lockGoneAdvice: /If that process is gone, its lease on .* lapses by itself within 60 s of its last renewal; to end it at once: az storage blob lease break /,
    cleanup: async () => {
      await container.delete();
    },
  };
});

describe('BlobStore on Azurite', () => {
  let container: ContainerClient;
  let warnings: string[];
  const make = (opts: Partial<BlobStoreOptions> = {}, client = container): BlobStore =>
    new BlobStore({ container: client, pollMs: 20, onWarning: (m) => warnings.push(m), ...opts });

  beforeEach(async () => {
    container = await newContainer();
    warnings = [];
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await container.delete().catch(() => undefined);
  });

  describe('layout', () => {
    it('writes the ledger as an append blob <campaign>/ledger.jsonl with one block per batch', async () => {
      const store = make();
      await store.append(CAMPAIGN, [ev('one'), ev('two')]);
      await store.append(CAMPAIGN, [ev('three')]);
      const props = await container.getAppendBlobClient(`${CAMPAIGN}/ledger.jsonl`).getProperties();
      expect(props.blobType).toBe('AppendBlob');
      expect(props.blobCommittedBlockCount).toBe(2);
      // Every line carries the hash chain, continued from one batch to the next.
      expect(await text(container, `${CAMPAIGN}/ledger.jsonl`)).toBe(encodeChainedBatch([ev('one'), ev('two'), ev('three')], CHAIN_GENESIS).text);
    });

    it('keeps everything under a prefix when one is given', async () => {
      const store = make({ prefix: 'prod/eu' });
      await store.append(CAMPAIGN, [ev('one')]);
      await store.writeSnapshot(CAMPAIGN, 'observation', { a: 1 });
      await (await store.acquireLock(CAMPAIGN, { owner: 'test' })).release();
      expect(await names(container)).toEqual([
        `prod/eu/${CAMPAIGN}/.lock`,
        `prod/eu/${CAMPAIGN}/ledger.jsonl`,
        `prod/eu/${CAMPAIGN}/snapshots/observation.json`,
      ]);
      expect((await make().read(CAMPAIGN)).events).toEqual([]);
    });

    it('writes snapshots as JSON block blobs in one upload', async () => {
      const store = make();
      await store.writeSnapshot(CAMPAIGN, 'observation', { a: 1 });
      const blob = container.getBlockBlobClient(`${CAMPAIGN}/snapshots/observation.json`);
      expect((await blob.getProperties()).contentType).toBe('application/json');
      expect(await text(container, `${CAMPAIGN}/snapshots/observation.json`)).toBe('{"a":1}\n');
    });

    it('stages a snapshot larger than a block as uncommitted blocks: the blob is the old value until commit, and after a discard', async () => {
      const store = make({ snapshotBlockBytes: 64 * 1024 });
      const value = (tag: string) => ({ tag, users: Array.from({ length: 10_000 }, (_, i) => ({ userId: `u-${i}`, n: i })) });
      await store.writeSnapshot(CAMPAIGN, 'observation', { old: true });
      const name = `${CAMPAIGN}/snapshots/observation.json`;
      const blob = container.getBlockBlobClient(name);
      const dropped = await store.stageSnapshot(CAMPAIGN, 'observation', value('dropped'));
      expect((await blob.getBlockList('uncommitted')).uncommittedBlocks?.length ?? 0).toBeGreaterThan(1);
      await dropped.discard();
      expect(await text(container, name)).toBe('{"old":true}\n');
      const staged = await store.stageSnapshot(CAMPAIGN, 'observation', value('new'));
      expect(await text(container, name)).toBe('{"old":true}\n');
      expect(await make().readSnapshot(CAMPAIGN, 'observation')).toEqual({ old: true });
      await staged.commit();
      expect(await text(container, name)).toBe(`${JSON.stringify(value('new'))}\n`);
      expect((await blob.getBlockList('uncommitted')).uncommittedBlocks ?? []).toEqual([]);
    });

    it('writes a snapshot larger than a block as staged blocks committed at once: the same bytes, no whole copy held', async () => {
      const store = make({ snapshotBlockBytes: 256 * 1024 });
      const value = { v: 1, users: Array.from({ length: 30_000 }, (_, i) => ({ userId: `u-${i}`, stage: 'passkeyRegistration', n: i })) };
      await store.writeSnapshot(CAMPAIGN, 'observation', { old: true });
      await store.writeSnapshot(CAMPAIGN, 'observation', value);
      const blob = container.getBlockBlobClient(`${CAMPAIGN}/snapshots/observation.json`);
      expect((await blob.getProperties()).contentType).toBe('application/json');
      const list = await blob.getBlockList('committed');
      expect(list.committedBlocks?.length ?? 0).toBeGreaterThan(1);
      expect(await text(container, `${CAMPAIGN}/snapshots/observation.json`)).toBe(`${JSON.stringify(value)}\n`);
      expect(await store.readSnapshot(CAMPAIGN, 'observation')).toEqual(value);
    });

    it('says a damaged snapshot can be deleted and rebuilt', async () => {
      await container.getBlockBlobClient(`${CAMPAIGN}/snapshots/observation.json`).upload('{"a":', 5);
      const err = await make().readSnapshot(CAMPAIGN, 'observation').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SnapshotCorruptError);
      expect((err as Error).message).toMatch(/\/admins-passkeys\/snapshots\/observation\.json: snapshot is not valid JSON .* delete the file and run again to rebuild it\.$/);
    });
  });

  describe('append blocks', () => {
    it('splits a batch over 4 MiB into blocks of whole lines, each at most 4 MiB', async () => {
      const sent: Buffer[] = [];
      const original = AppendBlobClient.prototype.appendBlock;
      vi.spyOn(AppendBlobClient.prototype, 'appendBlock').mockImplementation(function (this: AppendBlobClient, body, length, options) {
        sent.push(Buffer.from(body as Buffer));
        return original.call(this, body, length, options);
      });
      const pad = 'x'.repeat(1000);
      const batch = Array.from({ length: 9000 }, (_, i) => ev('userEnteredStage', { seq: i, pad }));
      const store = make();
      await store.append(CAMPAIGN, batch);
      expect(sent.length).toBe(3);
      for (const block of sent) {
        expect(block.length).toBeLessThanOrEqual(MAX_APPEND_BLOCK_BYTES);
        expect(block[block.length - 1]).toBe(0x0a);
        for (const line of block.toString('utf8').trimEnd().split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();
      }
      expect(sent.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(2 * MAX_APPEND_BLOCK_BYTES);
      const props = await container.getAppendBlobClient(`${CAMPAIGN}/ledger.jsonl`).getProperties();
      expect(props.blobCommittedBlockCount).toBe(3);
      const { events, warnings: readWarnings } = await store.read(CAMPAIGN);
      expect(readWarnings).toEqual([]);
      expect(events.map((e) => field(e, 'seq'))).toEqual(batch.map((e) => field(e, 'seq')));
    });

    it('counts the chain member when it checks that a line fits in one block', async () => {
      const store = make({ maxBlockBytes: 1000 });
      const base = `${JSON.stringify(ev('fits'))}\n`.length;
      // Fits as the event's JSON line (1000 bytes), not once the 71-byte chain member is added.
      const event = ev('fits', { pad: 'x'.repeat(1000 - base - ',"pad":""'.length) });
      expect(`${JSON.stringify(event)}\n`.length).toBe(1000);
      const err = await store.append(CAMPAIGN, [ev('small'), event]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidEventError);
      expect((err as Error).message).toMatch(/^event #1 of the batch cannot be appended: it is 1071 bytes as JSON, more than the 1000 bytes one append block/);
      expect(await names(container)).toEqual([]);
      await store.append(CAMPAIGN, [ev('fits', { pad: 'x'.repeat(1000 - base - ',"pad":""'.length - 71) })]);
      expect((await container.getAppendBlobClient(`${CAMPAIGN}/ledger.jsonl`).getProperties()).contentLength).toBe(1000);
    });

    it('refuses an event that cannot fit in one block and writes nothing of the batch', async () => {
      const store = make();
      const err = await store.append(CAMPAIGN, [ev('small'), ev('huge', { pad: 'x'.repeat(MAX_APPEND_BLOCK_BYTES) })]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidEventError);
      expect((err as Error).message).toMatch(/^event #1 of the batch cannot be appended: it is \d+ bytes as JSON, more than the 4194304 bytes one append block/);
      expect(await names(container)).toEqual([]);
    });

    it('counts a block that landed before its response was lost as written, not twice', async () => {
      const original = AppendBlobClient.prototype.appendBlock;
      let calls = 0;
      vi.spyOn(AppendBlobClient.prototype, 'appendBlock').mockImplementation(async function (this: AppendBlobClient, body, length, options) {
        calls++;
        if (calls === 1) {
          // The block lands, the response is lost and the request is sent again: the append position refuses it.
          await original.call(this, body, length, options);
        }
        return original.call(this, body, length, options);
      });
      const store = make();
      await store.append(CAMPAIGN, [ev('once')]);
      expect(calls).toBe(1);
      expect((await store.read(CAMPAIGN)).events).toEqual([ev('once')]);
    });

    it('stops with LedgerConflictError when something appended without the lock in between', async () => {
      const store = make();
      await store.append(CAMPAIGN, [ev('one')]);
      const original = AppendBlobClient.prototype.appendBlock;
      let first = true;
      vi.spyOn(AppendBlobClient.prototype, 'appendBlock').mockImplementation(async function (this: AppendBlobClient, body, length, options) {
        if (first) {
          first = false;
          const intruder = `${JSON.stringify(ev('intruder'))}\n`;
          await original.call(this, intruder, Buffer.byteLength(intruder));
        }
        return original.call(this, body, length, options);
      });
      const err = await store.append(CAMPAIGN, [ev('two')]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LedgerConflictError);
      expect((err as LedgerConflictError).retryable).toBe(true);
      expect((err as Error).message).toMatch(/the ledger changed while this run was appending \(expected it to end at byte \d+, it ends at \d+\); another process is writing it without holding the campaign lock/);
      vi.restoreAllMocks();
      expect((await store.read(CAMPAIGN)).events.map((e) => e.type)).toEqual(['one', 'intruder']);
    });

    it('moves a partial trailing line to ledger.jsonl.corrupt-<stamp> before appending, like the file store', async () => {
      const store = make({ wallClock: () => Date.parse(NOW) });
      await store.append(CAMPAIGN, [ev('one')]);
      await rawAppend(container, `${CAMPAIGN}/ledger.jsonl`, '{"v":1,"type":"tw');
      await store.append(CAMPAIGN, [ev('three')]);
      expect(await text(container, `${CAMPAIGN}/ledger.jsonl.corrupt-2026-12-01T060000.000Z`)).toBe('{"v":1,"type":"tw');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/ledger\.jsonl: moved a partial trailing line \(17 bytes, most likely an interrupted write\) to .*ledger\.jsonl\.corrupt-2026-12-01T060000\.000Z and truncated the ledger/);
      expect((await container.getAppendBlobClient(`${CAMPAIGN}/ledger.jsonl`).getProperties()).blobType).toBe('AppendBlob');
      expect(await store.read(CAMPAIGN)).toEqual({ events: [ev('one'), ev('three')], warnings: [] });
      expect(await names(container)).toEqual([`${CAMPAIGN}/ledger.jsonl`, `${CAMPAIGN}/ledger.jsonl.corrupt-2026-12-01T060000.000Z`]);
    });
  });

  describe('lease lock', () => {
    it('keeps a second store instance out and names the holder from the lock blob metadata', async () => {
      const a = make({ hostname: 'host-a' });
      const b = make({ hostname: 'host-b' }, otherClient(container));
      const lock = await a.acquireLock(CAMPAIGN, { owner: 'reconcile' });
      const meta = (await container.getBlobClient(`${CAMPAIGN}/.lock`).getProperties()).metadata;
      expect(meta).toEqual({ owner: 'reconcile', host: 'host-a', pid: String(process.pid), since: lock.info.startedAt });
      const err = await b.acquireLock(CAMPAIGN, { owner: 'postpone', waitMs: 100 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockHeldError);
      expect((err as LockHeldError).name).toBe('LockHeldError');
      expect((err as LockHeldError).holder).toEqual({ owner: 'reconcile', host: 'host-a', pid: process.pid, startedAt: lock.info.startedAt });
      expect((err as Error).message).toMatch(
        new RegExp(`^campaign "admins-passkeys" is locked by owner "reconcile" \\(pid ${process.pid} on host host-a\\) since ${lock.info.startedAt}; waited \\d+ ms\\. Another run is probably in progress`),
      );
      expect((err as Error).message).toContain(`--container-name ${container.containerName} --blob-name '${CAMPAIGN}/.lock' --auth-mode login`);
      const waiting = b.acquireLock(CAMPAIGN, { owner: 'postpone', waitMs: 5_000 });
      setTimeout(() => void lock.release(), 100);
      const second = await waiting;
      expect(second.warnings).toEqual([]);
      expect((await container.getBlobClient(`${CAMPAIGN}/.lock`).getProperties()).metadata).toMatchObject({ owner: 'postpone', host: 'host-b' });
      await second.release();
      const after = await container.getBlobClient(`${CAMPAIGN}/.lock`).getProperties();
      expect(after.metadata).toEqual({});
      expect(after.leaseState).toBe('available');
    });

    it('keeps the lock past the lease duration by renewing it, while an unrenewed lease lapses', { timeout: 30_000 }, async () => {
      const holder = make({ leaseSeconds: 15, renewEveryMs: 1_000, hostname: 'renewing' });
      const neverRenews: Timers = { setTimeout: () => undefined, clearTimeout: () => undefined };
      const crashed = make({ leaseSeconds: 15, timers: neverRenews, hostname: 'crashed' });
      const other = make({}, otherClient(container));
      const renewed = await holder.acquireLock('renewed', { owner: 'long-run' });
      await crashed.acquireLock('lapsed', { owner: 'crashed-run' });
      await new Promise((r) => setTimeout(r, 16_500));
      const err = await other.acquireLock('renewed', { owner: 'second' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockHeldError);
      expect((err as LockHeldError).holder?.host).toBe('renewing');
      expect((renewed as BlobLock).renewals).toBeGreaterThanOrEqual(10);
      const taken = await other.acquireLock('lapsed', { owner: 'second' });
      expect(taken.warnings).toHaveLength(1);
      expect(taken.warnings[0]).toMatch(/\.lock: took over a stale lock of campaign "lapsed" held by owner "crashed-run" \(pid \d+ on host crashed\) since .*: its lease ran out without being released/);
      await taken.release();
      await renewed.release();
      await (await other.acquireLock('renewed', { owner: 'second' })).release();
    });

    it('notices a lost lease at the next renewal and refuses further writes of that run', async () => {
      const pending: Array<() => void> = [];
      const manual: Timers = { setTimeout: (fn) => pending.push(fn), clearTimeout: () => undefined };
      const store = make({ timers: manual });
      const lock = await store.acquireLock(CAMPAIGN, { owner: 'reconcile' });
      expect(pending).toHaveLength(1);
      pending.shift()!();
      await vi.waitFor(() => expect(pending).toHaveLength(1));
      expect((lock as BlobLock).renewals).toBe(1);
      // An operator breaks the lease and another run takes the lock.
      await container.getBlobClient(`${CAMPAIGN}/.lock`).getBlobLeaseClient().breakLease(0);
      const thief = await new BlobStore({ container: otherClient(container) }).acquireLock(CAMPAIGN, { owner: 'thief' });
      pending.shift()!();
      await vi.waitFor(() => expect(lock.warnings).toHaveLength(1));
      expect(lock.warnings[0]).toMatch(/^campaign "admins-passkeys": lost the run lock \(its lease on .*\/admins-passkeys\/\.lock could not be renewed: 409 LeaseIdMismatchWithLeaseOperation\)/);
      expect(warnings).toEqual(lock.warnings);
      const err = await store.append(CAMPAIGN, [ev('late')]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockLostError);
      expect((err as Error).message).toMatch(/^campaign "admins-passkeys" lost its run lock/);
      await expect(store.archive(CAMPAIGN, new Date(NOW))).rejects.toBeInstanceOf(LockLostError);
      await lock.release();
      expect((await container.getBlobClient(`${CAMPAIGN}/.lock`).getProperties()).metadata).toMatchObject({ owner: 'thief' });
      await thief.release();
      await store.append(CAMPAIGN, [ev('next-run')]);
    });

    it('rejects a lease duration Azure does not offer', () => {
      expect(() => make({ leaseSeconds: 10 })).toThrow(/leaseSeconds must be a whole number from 15 to 60 \(got 10\)/);
      expect(() => make({ leaseSeconds: 61 })).toThrow(RangeError);
    });
  });

  describe('archive', () => {
    it('copies everything to archive/<stamp>/, checks it, deletes the originals and leaves the lock alone', async () => {
      const store = make();
      await store.append(CAMPAIGN, [ev('one'), ev('two')]);
      await store.append(CAMPAIGN, [ev('three')]);
      await store.writeSnapshot(CAMPAIGN, 'observation', { users: 2 });
      const before = await text(container, `${CAMPAIGN}/ledger.jsonl`);
      const lock = await store.acquireLock(CAMPAIGN, { owner: 'reset' });
      const where = await store.archive(CAMPAIGN, new Date(NOW));
      expect(where).toBe(`${container.url}/${CAMPAIGN}/archive/2026-12-01T060000.000Z/`);
      const root = `${CAMPAIGN}/archive/2026-12-01T060000.000Z/`;
      expect(await names(container)).toEqual([`${CAMPAIGN}/.lock`, `${root}.archived`, `${root}ledger.jsonl`, `${root}snapshots/observation.json`]);
      expect(await text(container, `${root}ledger.jsonl`)).toBe(before);
      expect((await container.getBlobClient(`${root}ledger.jsonl`).getProperties()).blobType).toBe('AppendBlob');
      expect(JSON.parse(await text(container, `${root}snapshots/observation.json`))).toEqual({ users: 2 });
      expect((await container.getBlobClient(`${CAMPAIGN}/.lock`).getProperties()).leaseState).toBe('leased');
      await lock.release();
    });

    it('numbers a second archive of the same instant and keeps both ledgers', async () => {
      const store = make();
      await store.append(CAMPAIGN, [ev('one')]);
      const first = await store.archive(CAMPAIGN, new Date(NOW));
      await store.append(CAMPAIGN, [ev('two')]);
      const second = await store.archive(CAMPAIGN, new Date(NOW));
      expect(second).toBe(first.replace(/\/$/, '-2/'));
      expect(await text(container, `${CAMPAIGN}/archive/2026-12-01T060000.000Z/ledger.jsonl`)).toContain('"one"');
      expect(await text(container, `${CAMPAIGN}/archive/2026-12-01T060000.000Z-2/ledger.jsonl`)).toContain('"two"');
    });

    it('with an opening, keeps the old ledger in the archive and replaces the ledger with an append blob holding the opening', async () => {
      const store = make();
      await store.append(CAMPAIGN, [ev('one'), ev('two')]);
      const before = await text(container, `${CAMPAIGN}/ledger.jsonl`);
      const lock = await store.acquireLock(CAMPAIGN, { owner: 'reset' });
      const where = await store.archive(CAMPAIGN, new Date(NOW), (at) => [ev('campaignArchived', { archive: at })]);
      const root = `${CAMPAIGN}/archive/2026-12-01T060000.000Z/`;
      expect(await text(container, `${root}ledger.jsonl`)).toBe(before);
      // The new ledger's chain starts afresh.
      expect(await text(container, `${CAMPAIGN}/ledger.jsonl`)).toBe(encodeChainedBatch([ev('campaignArchived', { archive: where })], CHAIN_GENESIS).text);
      expect((await container.getBlobClient(`${CAMPAIGN}/ledger.jsonl`).getProperties()).blobType).toBe('AppendBlob');
      expect(await names(container)).toEqual([`${CAMPAIGN}/.lock`, `${root}.archived`, `${root}ledger.jsonl`, `${CAMPAIGN}/ledger.jsonl`].sort());
      await store.append(CAMPAIGN, [ev('three')]);
      expect((await store.read(CAMPAIGN)).events.map((e) => e.type)).toEqual(['campaignArchived', 'three']);
      await lock.release();
    });

    it('with an opening, keeps the ledger when it changes after the copy to the archive', async () => {
      const store = make();
      await store.append(CAMPAIGN, [ev('one')]);
      const proto = Object.getPrototypeOf(AppendBlobClient.prototype) as { beginCopyFromURL: (...a: unknown[]) => Promise<unknown> };
      const original = proto.beginCopyFromURL;
      vi.spyOn(proto, 'beginCopyFromURL').mockImplementation(async function (this: { name: string }, ...args: unknown[]) {
        // The copy of the new ledger over the old one: someone appended in between.
        if (this.name === `${CAMPAIGN}/ledger.jsonl`) await rawAppend(container, this.name, `${JSON.stringify(ev('late'))}\n`);
        return original.apply(this, args);
      });
      const err = await store.archive(CAMPAIGN, new Date(NOW), () => [ev('campaignReset')]).catch((e: unknown) => e);
      vi.restoreAllMocks();
      expect(err).toBeInstanceOf(Error);
      expect((await store.read(CAMPAIGN)).events.map((e) => e.type)).toEqual(['one', 'late']);
    });

    it('keeps the original when it changes after the copy', async () => {
      const store = make();
      await store.append(CAMPAIGN, [ev('one')]);
      const blobProto = Object.getPrototypeOf(AppendBlobClient.prototype) as { delete: (...a: unknown[]) => Promise<unknown> };
      const originalDelete = blobProto.delete;
      vi.spyOn(blobProto, 'delete').mockImplementation(async function (this: { name: string }, ...args: unknown[]) {
        if (this.name === `${CAMPAIGN}/ledger.jsonl`) await rawAppend(container, this.name, `${JSON.stringify(ev('late'))}\n`);
        return originalDelete.apply(this, args);
      });
      const err = await store.archive(CAMPAIGN, new Date(NOW)).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/ledger\.jsonl: it changed after it was copied to .*archive\/2026-12-01T060000\.000Z\/ledger\.jsonl, so it was kept/);
      vi.restoreAllMocks();
      expect((await store.read(CAMPAIGN)).events.map((e) => e.type)).toEqual(['one', 'late']);
    });
  });

  describe('storage errors', () => {
    it('names the role needed when storage refuses the identity', async () => {
      const wrongKey = azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('not the key').toString('base64')}`);
      const denied = make({}, BlobServiceClient.fromConnectionString(wrongKey).getContainerClient(container.containerName));
      for (const call of [() => denied.read(CAMPAIGN), () => denied.append(CAMPAIGN, [ev('x')]), () => denied.acquireLock(CAMPAIGN, { owner: 'x' })]) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BlobAccessDeniedError);
        expect((err as BlobAccessDeniedError).retryable).toBe(false);
        expect((err as Error).message).toMatch(
          new RegExp(`^Azure Storage refused to .* \\(403 \\w+\\)\\. The identity campaign runs as needs the "Storage Blob Data Contributor" role on container "${container.containerName}" of storage account "devstoreaccount1"`),
        );
      }
    });

    it('explains a missing credential instead of showing the SDK error', async () => {
      const noCredential = {
        getToken: async () => {
          const err = new Error('DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted credentials: …');
          err.name = 'CredentialUnavailableError';
          throw err;
        },
      };
      // https so the SDK sends a bearer token; it asks the credential first and never connects.
      const client = new BlobServiceClient('https://127.0.0.1:9/devstoreaccount1', noCredential, { retryOptions: { maxTries: 1 } });
      const err = await make({}, client.getContainerClient('ledger')).read(CAMPAIGN).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BlobCredentialError);
      expect((err as Error).message).toBe(
        'no Azure credential could get a token to read the ledger https://127.0.0.1:9/devstoreaccount1/ledger/admins-passkeys/ledger.jsonl: ' +
          'DefaultAzureCredential failed to retrieve a token from the included credentials. ' +
          'Locally, sign in with "az login"; in Azure, give the app its managed identity and set AZURE_CLIENT_ID to its client id.',
      );
    });

    it('says so when the container does not exist instead of creating it', async () => {
      const missing = make({}, service.getContainerClient('no-such-container'));
      for (const call of [() => missing.read(CAMPAIGN), () => missing.append(CAMPAIGN, [ev('x')]), () => missing.acquireLock(CAMPAIGN, { owner: 'x' }), () => missing.readSnapshot(CAMPAIGN, 'observation')]) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BlobContainerNotFoundError);
        expect((err as Error).message).toBe(
          `container "no-such-container" does not exist in ${azurite.blobEndpoint}. Check the --state location (the stack creates the container "ledger"), or create the container first.`,
        );
      }
      expect(await service.getContainerClient('no-such-container').exists()).toBe(false);
    });
  });

  it('reads back 100k events appended in 10 batches', async () => {
    const store = make();
    const total = 100_000;
    const batch = 10_000;
    for (let start = 0; start < total; start += batch) {
      await store.append(CAMPAIGN, Array.from({ length: batch }, (_, k): LedgerEvent => ev('userEnteredStage', { seq: start + k, userId: `user-${(start + k) % 5000}` })));
    }
    const { events } = await store.read(CAMPAIGN);
    expect(events).toHaveLength(total);
    for (let i = 0; i < total; i++) if (field(events[i], 'seq') !== i) expect(field(events[i], 'seq')).toBe(i);
  });
});

describe('the same bytes as the file store', () => {
  it('writes, continues, repairs and replaces a ledger byte for byte as the file store does', async () => {
    const container = await newContainer();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blob-vs-file-'));
    try {
      const blob = new BlobStore({ container, pollMs: 20, maxBlockBytes: 64 * 1024 });
      const file = new FileStore({ dir });
      const both = async (fn: (store: LedgerStore) => Promise<unknown>): Promise<void> => {
        await fn(blob);
        await fn(file);
        const fromBlob = await bytesOf(container, `${CAMPAIGN}/ledger.jsonl`);
        expect(fromBlob.length).toBeGreaterThan(0);
        expect(fromBlob.equals(fs.readFileSync(file.ledgerFile(CAMPAIGN)))).toBe(true);
      };
      const raw = async (text: string): Promise<void> => {
        await rawAppend(container, `${CAMPAIGN}/ledger.jsonl`, text);
        fs.mkdirSync(path.dirname(file.ledgerFile(CAMPAIGN)), { recursive: true });
        fs.appendFileSync(file.ledgerFile(CAMPAIGN), text);
      };
      // A ledger written before the chain existed, continued.
      await raw([ev('old-one'), ev('old-two')].map((e) => `${JSON.stringify(e)}\n`).join(''));
      await both((s) => s.append(CAMPAIGN, [ev('one'), ev('two', { note: 'é🙂\u2028' })]));
      // A batch over several blocks, with long lines.
      await both((s) => s.append(CAMPAIGN, Array.from({ length: 300 }, (_, i) => ev('many', { i, pad: 'z'.repeat(i * 37) }))));
      await raw('{"v":1,"type":"partial');
      await both((s) => s.append(CAMPAIGN, [ev('after-repair')]));
      await both((s) => s.archive(CAMPAIGN, new Date(NOW), (at) => [ev('campaignArchived', { archived: at.startsWith('http') || at.startsWith(dir) })]));
      await both((s) => s.append(CAMPAIGN, [ev('fresh')]));
      const w = new ChainWalker();
      for (const line of (await bytesOf(container, `${CAMPAIGN}/ledger.jsonl`)).toString('utf8').split('\n').slice(0, -1)) w.line(line);
      expect({ broken: w.broken, startsAt: w.startsAt, lines: w.lines }).toEqual({ broken: null, startsAt: 1, lines: 2 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await container.delete().catch(() => undefined);
    }
  });
});

describe('checkpoints on the blob store', () => {
  it('a run resumes from a checkpoint in blob snapshots; a ledger replaced underneath is read whole', async () => {
    const container = await newContainer();
    const store = new BlobStore({ container, pollMs: 20 });
    const run = (n: number, at: string): LedgerEvent[] => [
      { v: 1, at, type: 'runStarted', runId: `r${n}`, campaign: CAMPAIGN, status: 'inProgress' },
      { v: 1, type: 'userEnteredStage', at, runId: `r${n}`, userId: `u${n}`, userPrincipalName: `u${n}@contoso.com`, from: null, to: 'passkeyRegistration', reason: 'NoPasskeyRegistered', message: 'no passkey' },
      { v: 1, at, type: 'runFinished', runId: `r${n}`, ok: true, counts: { targeted: n } },
    ];
    await store.append(CAMPAIGN, run(1, NOW));
    const first = (await store.readAfter(CAMPAIGN, null))!;
    await writeCheckpoint(store, CAMPAIGN, first.end, foldLedger((await store.read(CAMPAIGN)).events), (await store.read(CAMPAIGN)).events);
    await store.append(CAMPAIGN, run(2, '2026-12-02T06:00:00.000Z'));
    const read = await readRunLedger(store, CAMPAIGN);
    expect([read.fromCheckpoint, read.warnings, read.total]).toEqual([true, [], 6]);
    expect(read.state).toEqual(foldLedger((await store.read(CAMPAIGN)).events));

    // Another ledger of the same length in the same place: the hash tells them apart.
    await container.getBlobClient(`${CAMPAIGN}/ledger.jsonl`).delete();
    await store.append(CAMPAIGN, run(3, NOW));
    await store.append(CAMPAIGN, run(4, '2026-12-02T06:00:00.000Z'));
    const again = await readRunLedger(store, CAMPAIGN);
    expect(again.fromCheckpoint).toBe(false);
    expect(again.warnings.join(' ')).toMatch(/no longer starts with/);
    expect(again.state).toEqual(foldLedger((await store.read(CAMPAIGN)).events));
  });
});
