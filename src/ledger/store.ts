// The ledger store contract: an append-only event log, a lock and derived snapshots per campaign.
// Implemented by the file store (default) and, later, an Azure Blob store (append blobs + blob lease).
import { InvalidEventError, InvalidNameError } from './errors';

/** Highest event schema version this build reads and writes. */
export const LEDGER_SCHEMA_VERSION = 1;

/** The envelope every ledger event carries; other fields belong to the engine and are opaque here. */
export type LedgerEvent = { v: number; type: string; at: string; [k: string]: unknown };

export interface LedgerReadResult {
  /** Every event, oldest first. */
  events: LedgerEvent[];
  /** Recoverable oddities (e.g. a partial trailing line that was ignored), one sentence each. */
  warnings: string[];
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

export interface LedgerStore {
  /** Reads the whole ledger; a missing ledger is empty. */
  read(campaign: string): Promise<LedgerReadResult>;
  /** Appends a batch, all-or-nothing as far as the medium allows. Call while holding the lock. */
  append(campaign: string, events: readonly LedgerEvent[]): Promise<void>;
  /** Takes the per-campaign lock so two runs cannot interleave. */
  acquireLock(campaign: string, opts: LockOptions): Promise<Lock>;
  /**
   * Moves the ledger and snapshots aside under a name stamped with `now` (never deletes them) and returns
   * where they went. Used by the ended → notStarted reset. Call while holding the lock.
   */
  archive(campaign: string, now: Date): Promise<string>;
  /** Writes derived data (e.g. the last observation) atomically: readers see the old or the new value. */
  writeSnapshot(campaign: string, name: string, json: unknown): Promise<void>;
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

/** Why a parsed value is not a valid event envelope, or null when it is. Versions are checked separately. */
export function envelopeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const e = value as Record<string, unknown>;
  if (typeof e.v !== 'number' || !Number.isInteger(e.v) || e.v < 1) return `"v" must be a positive integer (got ${JSON.stringify(e.v)})`;
  if (typeof e.type !== 'string' || e.type === '') return `"type" must be a non-empty string (got ${JSON.stringify(e.type)})`;
  if (typeof e.at !== 'string' || Number.isNaN(Date.parse(e.at))) return `"at" must be an ISO date string (got ${JSON.stringify(e.at)})`;
  return null;
}

/** Serializes a batch to JSON lines, validating every event first so a bad one writes nothing. */
export function encodeBatch(events: readonly LedgerEvent[]): string {
  const lines: string[] = [];
  events.forEach((event, i) => {
    const problem = envelopeProblem(event);
    if (problem) throw new InvalidEventError(i, problem);
    if (event.v > LEDGER_SCHEMA_VERSION) {
      throw new InvalidEventError(i, `"v" is ${event.v} but this build writes at most version ${LEDGER_SCHEMA_VERSION}`);
    }
    let line: string;
    try {
      line = JSON.stringify(event);
    } catch (err) {
      throw new InvalidEventError(i, `not serializable as JSON (${(err as Error).message})`);
    }
    lines.push(line);
  });
  return lines.map((l) => `${l}\n`).join('');
}

/** Timestamp safe in file and blob names on every OS (no colons), still sortable. */
export function fileStamp(at: Date): string {
  return at.toISOString().replace(/:/g, '');
}
