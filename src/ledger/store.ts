// The ledger store contract: an append-only event log, a lock and derived snapshots per campaign.
// Implemented by the file store (file/, the default) and the Azure Blob store (blob/: append blobs + blob lease).
import { InvalidNameError } from './errors';
import type { LedgerEvent } from './events';

/** The snapshots the pipeline writes and the reports read (derived data, rebuilt by the next run). */
export const SNAPSHOTS = {
  /** The last run's observation of the tenant (engine Observation). */
  observation: 'observation',
  /** Per-user notice delivery after the last run (engine DeliverySnapshot), for the reports. */
  delivery: 'delivery',
} as const;

export interface LedgerReadResult {
  /** Every event, oldest first. */
  events: LedgerEvent[];
  /** Recoverable oddities (e.g. a partial trailing line that was ignored), one sentence each. */
  warnings: string[];
}

export interface LedgerOverview {
  /** Every event but notificationSent and the delivery records (overview.ts OVERVIEW_SKIPPED), oldest first. */
  events: LedgerEvent[];
  /** notificationSent events per runId ('' for none), counted instead of kept. */
  notificationsByRun: Map<string, number>;
  /** Recoverable oddities of the read (e.g. a partial trailing line), as LedgerReadResult.warnings. */
  warnings: string[];
}

/** Where a ledger ends: its complete lines, their bytes and the SHA-256 of those bytes (checkpoint.ts). */
export interface LedgerMark {
  events: number;
  bytes: number;
  /** Hex SHA-256 of the ledger's first `bytes` bytes. */
  sha256: string;
}

export interface LedgerTail extends LedgerReadResult {
  /** The events after the mark (all of them when read without one), oldest first. */
  events: LedgerEvent[];
  /** Where the ledger's complete lines end now. */
  end: LedgerMark;
}

export interface ReadAfterOptions {
  /** Count the lines after the mark without decoding them (events is then empty): where the ledger ends, cheaply. */
  linesOnly?: boolean;
  /**
   * Receives the decoded events a piece at a time, oldest first, instead of their being kept in `events` (which is
   * then empty): a large ledger is folded without holding every event at once.
   */
  onEvents?: (events: LedgerEvent[]) => void;
}

/** What LedgerStore.readRaw handed out. */
export interface RawReadResult {
  /** Complete lines handed out. */
  lines: number;
  /** Their bytes, '\n' included. */
  bytes: number;
  /** Bytes of a partial trailing line (an interrupted write) that was left out; 0 when the ledger ends at a '\n'. */
  partialBytes: number;
}

export interface LockOptions {
  /** Who takes the lock, for the message another run sees (e.g. "reconcile", "postpone"). */
  owner: string;
  /** How long to keep trying while another live run holds it; 0 (default) fails at once. */
  waitMs?: number;
}

/** What a lock records about its holder. */
export interface LockInfo {
  pid: number;
  host: string;
  owner: string;
  /** ISO time the lock was taken (wall clock, not the campaign's `now`). */
  startedAt: string;
}

export interface Lock {
  readonly campaign: string;
  readonly info: LockInfo;
  /** E.g. that a stale lock of a dead process was taken over. */
  readonly warnings: string[];
  /** Releases the lock if this holder still owns it; safe to call twice. */
  release(): Promise<void>;
}

/** A snapshot written but not yet visible (LedgerStore.stageSnapshot). */
export interface StagedSnapshot {
  /** Makes the staged value the snapshot, atomically: readers see the old or the new value. */
  commit(): Promise<void>;
  /** Drops the staged value; the snapshot stays as it was. Safe after commit (does nothing) and to call twice. */
  discard(): Promise<void>;
}

export interface LedgerStore {
  /** Reads the whole ledger; a missing ledger is empty. */
  read(campaign: string): Promise<LedgerReadResult>;
  /**
   * The ledger as the reports read it: notificationSent counted per run, delivery records left out (overview.ts).
   * Same events and warnings as overviewOf(await read()); a store may compute it faster from its own bytes.
   */
  readOverview(campaign: string): Promise<LedgerOverview>;
  /**
   * The events after `mark`, when the ledger still starts with the bytes the mark hashes (same length at least,
   * same SHA-256); null when it does not (an edited, truncated or replaced ledger). Without a mark: every event.
   * Optional: a store without it is read whole and gets no checkpoint.
   */
  readAfter?(campaign: string, mark: LedgerMark | null, opts?: ReadAfterOptions): Promise<LedgerTail | null>;
  /**
   * The ledger's complete lines exactly as stored (hash chain members included, chain.ts), oldest first, handed to
   * `onPiece` a piece at a time (each piece ends at a '\n'; the next is read once `onPiece` has returned or its
   * promise settled), never the whole ledger at once. A partial trailing line is left out and only counted; a
   * missing ledger gives no piece at all. For byte-exact copies and for checking the chain.
   */
  readRaw(campaign: string, onPiece: (bytes: Buffer) => void | Promise<void>): Promise<RawReadResult>;
  /**
   * Appends a batch, all-or-nothing as far as the medium allows. Call while holding the lock. Every line gets the
   * hash chain member (chain.ts), following the ledger's last complete line.
   */
  append(campaign: string, events: readonly LedgerEvent[]): Promise<void>;
  /** Takes the per-campaign lock so two runs cannot interleave. */
  acquireLock(campaign: string, opts: LockOptions): Promise<Lock>;
  /**
   * Moves the ledger and snapshots aside under a name stamped with `now` (never deletes them) and returns
   * where they went. Used by the ended → notStarted reset. Call while holding the lock.
   *
   * With `opening`, the ledger is not left missing: it is replaced in one step by a new ledger holding
   * `opening(where)`, so a reader (or a run after a crash) sees the old ledger or the new one, never none. The new
   * ledger's chain starts afresh (CHAIN_GENESIS): it does not follow the archived one.
   * A crash before that step leaves the old ledger in place (and a copy in the archive): archiving again is safe.
   */
  archive(campaign: string, now: Date, opening?: (where: string) => readonly LedgerEvent[]): Promise<string>;
  /** Where the campaign's ledger is, for messages: a file path or a blob URL without its query. */
  location(campaign: string): string;
  /** Writes derived data (e.g. the last observation) atomically: readers see the old or the new value. */
  writeSnapshot(campaign: string, name: string, json: unknown): Promise<void>;
  /**
   * Writes a snapshot's bytes now and makes them the snapshot only on commit (what writeSnapshot does, split in
   * two): a large value can be let go of long before the run is ready to show it. Until commit, readers see the
   * snapshot as it was; after discard, or a crash before commit, it stays so. Call while holding the lock.
   * Optional: a store without it is given the value with writeSnapshot when it is to be shown.
   */
  stageSnapshot?(campaign: string, name: string, json: unknown): Promise<StagedSnapshot>;
  /** The snapshot's value, or null when none was written. */
  readSnapshot<T = unknown>(campaign: string, name: string): Promise<T | null>;
}

export const CAMPAIGN_NAME_PATTERN = /^[a-z0-9-]{3,40}$/;
export const SNAPSHOT_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Throws unless `name` is a campaign slug; keeps every path inside the state directory. */
export function assertCampaignName(name: string): void {
  if (typeof name !== 'string' || !CAMPAIGN_NAME_PATTERN.test(name)) {
    throw new InvalidNameError('campaign', String(name), CAMPAIGN_NAME_PATTERN.source);
  }
}

export function assertSnapshotName(name: string): void {
  if (typeof name !== 'string' || !SNAPSHOT_NAME_PATTERN.test(name)) {
    throw new InvalidNameError('snapshot', String(name), SNAPSHOT_NAME_PATTERN.source);
  }
}

/** Timestamp safe in file and blob names on every OS (no colons), still sortable. */
export function fileStamp(at: Date): string {
  return at.toISOString().replace(/:/g, '');
}
