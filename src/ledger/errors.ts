// Typed errors of the ledger stores. `retryable` tells the caller whether running again can help.
import type { LockInfo } from './store';

/** Base class so callers can tell state-layer failures apart and read `retryable`. */
export abstract class StateError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A complete ledger line is not a valid event: the file was damaged or edited. Terminal. */
export class LedgerCorruptError extends StateError {
  readonly code = 'LedgerCorrupt';
  readonly retryable = false;
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(
      `${file}:${line}: ledger line is not a valid event (${problem}). ` +
        'Only the last line of an append-only ledger can be damaged by an interrupted write, so this file was changed by something else. ' +
        'Restore it from a backup or repair the line by hand; campaign will not guess which events to keep.',
    );
  }
}

/** An event was written by a newer schema than this build understands. Terminal until upgraded. */
export class LedgerVersionError extends StateError {
  readonly code = 'LedgerVersion';
  readonly retryable = false;
  constructor(
    readonly file: string,
    readonly line: number,
    readonly version: number,
    readonly supported: number,
  ) {
    super(
      `${file}:${line}: event schema version ${version} was written by a newer version of campaign ` +
        `(this one reads up to version ${supported}). Upgrade campaign before reading or writing this ledger.`,
    );
  }
}

/** How a store locks a campaign: a lock file (file store) or a blob lease (blob store). */
export type LockKind = 'file' | 'lease';

/** How a LockHeldError names a holder that has not recorded itself (yet); the file store takes such a lock over (file/lock.ts). */
const UNRECORDED_HOLDER: Record<LockKind, string> = {
  file: 'a process that has not finished writing the lock file',
  lease: 'a run that has not yet recorded itself on the lock blob',
};

/** Another run holds the campaign lock. Retryable: it is released when that run ends. */
export class LockHeldError extends StateError {
  readonly code = 'LockHeld';
  readonly retryable = true;
  readonly campaign: string;
  readonly kind: LockKind;
  /** The lock file, or the lock blob's URL. */
  readonly lockPath: string;
  /** Who holds it, as recorded on the lock; null when the holder has not recorded itself. */
  readonly holder: LockInfo | null;
  readonly waitedMs: number;
  /** The store's advice for a holder that is gone, one or two sentences (delete the file / the lease lapses). */
  readonly ifGone: string;

  constructor(init: { campaign: string; kind: LockKind; lockPath: string; holder: LockInfo | null; waitedMs: number; ifGone: string }) {
    const summary = lockedSummary(init.campaign, init.kind, init.holder, init.waitedMs);
    super(`${summary} Another run is probably in progress: wait for it to finish. ${init.ifGone}`);
    this.campaign = init.campaign;
    this.kind = init.kind;
    this.lockPath = init.lockPath;
    this.holder = init.holder;
    this.waitedMs = init.waitedMs;
    this.ifGone = init.ifGone;
  }

  /** The first sentence of the message: `campaign "x" is locked by <holder>; waited <n> ms.` */
  get summary(): string {
    return lockedSummary(this.campaign, this.kind, this.holder, this.waitedMs);
  }
}

/** `owner "reconcile …" (pid 123 on host h) since <ISO>`: a lock holder in messages. */
export function describeHolder(info: LockInfo): string {
  return `owner "${info.owner}" (pid ${info.pid} on host ${info.host}) since ${info.startedAt}`;
}

function lockedSummary(campaign: string, kind: LockKind, holder: LockInfo | null, waitedMs: number): string {
  return `campaign "${campaign}" is locked by ${holder ? describeHolder(holder) : UNRECORDED_HOLDER[kind]}; waited ${waitedMs} ms.`;
}

/** A campaign or snapshot name is not a safe slug (would escape the state directory). Terminal. */
export class InvalidNameError extends StateError {
  readonly code = 'InvalidName';
  readonly retryable = false;
  constructor(
    readonly kind: 'campaign' | 'snapshot',
    readonly value: string,
    readonly pattern: string,
  ) {
    super(`${kind} name ${JSON.stringify(value)} is not allowed: it must match ${pattern}. Use lower-case letters, digits and hyphens.`);
  }
}

/** An event passed to append() lacks the envelope (v, type, at) or cannot be written as one JSON line. Terminal. */
export class InvalidEventError extends StateError {
  readonly code = 'InvalidEvent';
  readonly retryable = false;
  constructor(
    readonly index: number,
    readonly problem: string,
  ) {
    super(`event #${index} of the batch cannot be appended: ${problem}. Nothing from this batch was written.`);
  }
}

/** A snapshot file does not hold valid JSON. Terminal, but snapshots are derived and can be rebuilt. */
export class SnapshotCorruptError extends StateError {
  readonly code = 'SnapshotCorrupt';
  readonly retryable = false;
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: snapshot is not valid JSON (${problem}). Snapshots are derived from the ledger: delete the file and run again to rebuild it.`);
  }
}
