// Ledger checkpoints: what a reconcile run needs from the ledger, written at the end of a successful run, so the
// next run decodes only the events written since instead of the whole ledger.
//
// A checkpoint is derived data (snapshots, never the ledger): the header snapshot `checkpoint` and the users in
// `checkpoint-users-<n>` pieces (a million users' state is more text than one string holds). The header says where
// in the ledger it ends (LedgerMark: complete lines, bytes, SHA-256 of those bytes), the folded state without its
// users, and the carried events: the few events whose folds are not kept as state (runs, resets, exemption records,
// intents still open, recent email dispatches). For every fold a run makes — foldLedger, openIntents,
// foldExemptions, ledgerPosition, previousTargeted, and the mail history of the last days — the carried events
// followed by the tail give the same answer as the whole ledger.
//
// A checkpoint is used only when the ledger still starts with the bytes it hashes and every piece carries its id;
// anything else (an edited or replaced ledger, a piece from another write, an older format) is a full read.
import { randomBytes } from 'node:crypto';
import { appendAll } from '../contracts/arrays';
import { openIntents } from '../engine/recovery';
import { applyEvents, foldLedger, heldKey, sharedString, userFromJson, type CampaignState, type UserState } from '../engine/state';
import { DAY_MS } from '../engine/time';
import { LEDGER_VERSION, type LedgerEvent } from '../ledger/events';
import type { LedgerMark, LedgerStore } from '../ledger/store';

export const CHECKPOINT_SNAPSHOT = 'checkpoint';
export const CHECKPOINT_FORMAT = 'campaign-ledger-checkpoint';
/**
 * 2: users no longer list every notification key they were sent. A version-1 reader would fail on such a user, so
 * it takes a version-2 checkpoint for another format (and reads the ledger whole); this version reads both.
 */
export const CHECKPOINT_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, CHECKPOINT_VERSION];
/**
 * Users per piece: about 20 MB of JSON each. A piece is written and read as one string and parsed whole, so its
 * size is what reading or writing the checkpoint adds to the run's memory for a moment, whatever the tenant's size.
 */
export const USERS_PER_PIECE = 25_000;
/** Email dispatches carried: the sending limits look back one day; a week leaves room for clock skew. */
export const MAIL_HISTORY_MS = 7 * DAY_MS;

export interface CheckpointHeader {
  format: typeof CHECKPOINT_FORMAT;
  v: typeof CHECKPOINT_VERSION;
  /** Random; every piece repeats it, so pieces of two writes are never mixed. */
  id: string;
  /** Where in the ledger the checkpoint ends. */
  ledger: LedgerMark;
  /** The folded state without its users. */
  state: Omit<CampaignState, 'users'>;
  users: number;
  pieces: number;
  /** The events the other folds need, oldest first (see carriedEvents). */
  carry: LedgerEvent[];
}

export interface CheckpointPiece {
  id: string;
  piece: number;
  /** [key in state.users, the user's state], in the state's order. */
  users: Array<[string, UserState]>;
}

export const pieceName = (n: number) => `${CHECKPOINT_SNAPSHOT}-users-${n}`;

/** The ledger as a run reads it. */
export interface RunLedger {
  /**
   * The events the folds other than foldLedger need (carriedEvents): those folds over them give what they give over
   * the whole ledger. Every event from a store without readAfter.
   */
  events: LedgerEvent[];
  /** The whole ledger folded (foldLedger). */
  state: CampaignState;
  /** Events in the ledger: 0 for an empty one. */
  total: number;
  /** Where the ledger ended when read; null from a store without readAfter (no checkpoint is written then). */
  end: LedgerMark | null;
  /** Whether a checkpoint was used. */
  fromCheckpoint: boolean;
  warnings: string[];
}

/**
 * The ledger for a run: the checkpoint and the events after it when the checkpoint matches the ledger, else the
 * whole ledger. Never a wrong state: a checkpoint that does not match is left aside with a warning.
 */
export async function readRunLedger(store: LedgerStore, campaign: string): Promise<RunLedger> {
  if (!store.readAfter) {
    const read = await store.read(campaign);
    return { events: read.events, state: foldLedger(read.events), total: read.events.length, end: null, fromCheckpoint: false, warnings: read.warnings };
  }
  const warnings: string[] = [];
  const header = await readHeader(store, campaign, warnings);
  if (header) {
    const users = await readUsers(store, campaign, header);
    if (users) {
      shareCarried(header.carry, users);
      const state: CampaignState = { ...header.state, users };
      const read = await foldAfter(store, campaign, header.ledger, state, header.carry);
      if (read) {
        appendAll(warnings, read.warnings);
        return { ...read, warnings, fromCheckpoint: true };
      }
      warnings.push(`the ledger at ${store.location(campaign)} no longer starts with the ${header.ledger.events} events its checkpoint summarises (edited, truncated or replaced): it was read whole, and the next run writes a new checkpoint.`);
    } else {
      warnings.push(`the checkpoint of ${campaign} is incomplete (a piece is missing or from another write): the ledger was read whole, and the next run writes a new checkpoint.`);
    }
  }
  const all = await foldAfter(store, campaign, null, foldLedger([]), []);
  if (!all) throw new Error(`${store.location(campaign)}: the ledger could not be read from its start`);
  appendAll(warnings, all.warnings);
  return { ...all, warnings, fromCheckpoint: false };
}

/**
 * The events after `mark` folded onto `state` a piece at a time, the carried events kept up to date as they go
 * (carriedEvents of the carried events and a piece is the carried events of everything so far): a run never holds
 * every event of a long campaign at once. null when the ledger does not start with what the mark hashes.
 */
async function foldAfter(store: LedgerStore, campaign: string, mark: LedgerMark | null, state: CampaignState, carry: LedgerEvent[]) {
  let carried = carry;
  const tail = await store.readAfter!(campaign, mark, {
    onEvents: (events) => {
      applyEvents(state, events);
      const both: LedgerEvent[] = [];
      appendAll(both, carried);
      appendAll(both, events);
      carried = carriedEvents(both);
    },
  });
  if (!tail) return null;
  return { events: carried, state, total: tail.end.events, end: tail.end, warnings: tail.warnings };
}

async function readHeader(store: LedgerStore, campaign: string, warnings: string[]): Promise<CheckpointHeader | null> {
  let h: CheckpointHeader | null;
  try {
    h = await store.readSnapshot<CheckpointHeader>(campaign, CHECKPOINT_SNAPSHOT);
  } catch (e) {
    warnings.push(`the checkpoint of ${campaign} could not be read (${e instanceof Error ? e.message : String(e)}): the ledger was read whole.`);
    return null;
  }
  if (h === null) return null;
  const ok = typeof h === 'object' && h.format === CHECKPOINT_FORMAT && READABLE_VERSIONS.includes(h.v) && h.state?.v === LEDGER_VERSION
    && typeof h.id === 'string' && Array.isArray(h.carry) && Number.isInteger(h.pieces) && Number.isInteger(h.users)
    && !!h.ledger && Number.isInteger(h.ledger.bytes) && Number.isInteger(h.ledger.events) && typeof h.ledger.sha256 === 'string';
  if (!ok) {
    warnings.push(`the checkpoint of ${campaign} is of another format or version: the ledger was read whole, and the next run writes a new checkpoint.`);
    return null;
  }
  return h;
}

async function readUsers(store: LedgerStore, campaign: string, h: CheckpointHeader): Promise<Record<string, UserState> | null> {
  const users: Record<string, UserState> = {};
  let n = 0;
  // One piece at a time: each is tens of megabytes of text.
  for (let i = 0; i < h.pieces; i++) {
    let p: CheckpointPiece | null;
    try {
      p = await store.readSnapshot<CheckpointPiece>(campaign, pieceName(i));
    } catch {
      return null;
    }
    if (!p || p.id !== h.id || p.piece !== i || !Array.isArray(p.users)) return null;
    const list = p.users;
    p = null;
    // Each user as the fold keeps it (values shared with the other users'), its parsed form dropped as it goes:
    // the piece never stays whole next to its users.
    for (let j = 0; j < list.length; j++) {
      const entry = list[j];
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !entry[1] || typeof entry[1] !== 'object') return null;
      users[entry[0]] = userFromJson(entry[0], entry[1]);
      (list as unknown[])[j] = undefined;
    }
    n += list.length;
  }
  return n === h.users ? users : null;
}

/** Fields of the carried events whose values repeat from event to event (a run's time and id, small vocabularies). */
const REPEATED = ['at', 'type', 'runId', 'from', 'to', 'stage', 'kind', 'channel', 'reason', 'outcome', 'groupId', 'deadline'] as const;

/**
 * The carried events as read from the header with their strings shared: with their user's (id, principal name,
 * latest notice's key) and with each other's. After a large first run every user's first notice is still open and
 * carried, and JSON.parse gives each of its strings a copy of its own: about half a kilobyte a user. Values are unchanged.
 */
function shareCarried(carry: LedgerEvent[], users: Record<string, UserState>): void {
  const keys = new Map<string, string>();
  for (const e of carry) {
    const r = e as unknown as Record<string, unknown>;
    for (const k of REPEATED) {
      const v = r[k];
      if (typeof v === 'string') r[k] = sharedString(v);
    }
    const u = 'userId' in e && typeof e.userId === 'string' ? users[e.userId] : undefined;
    if (u) {
      if (r.userId === u.userId) r.userId = u.userId;
      if (r.userPrincipalName === u.userPrincipalName) r.userPrincipalName = u.userPrincipalName;
      if (typeof r.key === 'string') {
        // A user that rebuilds its key on each read holds none to share: the event keeps its own.
        const held = heldKey(u);
        const earlier = u.delivery?.earlier;
        if (held !== null && r.key === held) r.key = held;
        else if (earlier) r.key = earlier.find((n) => n.key === r.key)?.key ?? r.key;
      }
    }
    if (typeof r.key === 'string') {
      const had = keys.get(r.key);
      if (had === undefined) keys.set(r.key, r.key);
      else r.key = had;
    }
    if (e.type === 'notificationDispatch' && Array.isArray(e.keys)) e.keys = e.keys.map((k) => keys.get(k) ?? k);
  }
}

/**
 * The events of `events` (a whole ledger, or a checkpoint's carried events and what followed) that the folds other
 * than foldLedger need, so that those folds over them and any later events equal the folds over every event:
 * runs and resets (ledgerPosition, previousTargeted, openIntents' interrupted runs), exemption records
 * (foldExemptions), every event of a notification or group add still open (openIntents), and the email
 * dispatches of the last MAIL_HISTORY_MS (mail limits).
 */
export function carriedEvents(events: readonly LedgerEvent[]): LedgerEvent[] {
  const open = openIntents(events);
  const keys = new Set(open.notifications.map((n) => n.sent.key));
  const adds = new Set(open.groupAdds.map((g) => g.userId));
  const passes = new Set(open.onboardingPasses.map((p) => p.userId));
  let last = -Infinity;
  for (const e of events) {
    const ms = Date.parse(e.at);
    if (ms > last) last = ms;
  }
  const since = last - MAIL_HISTORY_MS;
  const out: LedgerEvent[] = [];
  for (const e of events) {
    switch (e.type) {
      case 'runStarted':
      case 'runFinished':
      case 'campaignReset':
      case 'campaignArchived':
      case 'exemptionResolved':
      case 'exemptionRetired':
        out.push(e);
        break;
      case 'notificationSent':
      case 'notificationOutcome':
        if (keys.has(e.key)) out.push(e);
        break;
      case 'notificationDispatch':
        if ((e.channel === 'email' && Date.parse(e.at) >= since) || e.keys.some((k) => keys.has(k))) out.push(e);
        break;
      case 'groupAddIntent':
      case 'groupAddOutcome':
        if (adds.has(e.userId)) out.push(e);
        break;
      case 'onboardingPassIntent':
      case 'onboardingPassOutcome':
        if (passes.has(e.userId)) out.push(e);
        break;
      default:
        break;
    }
  }
  return out;
}

/**
 * Writes the checkpoint of a ledger that ends at `end`, whose whole fold is `state` and whose carried events (or
 * every event) are `events`. The pieces first, the header last: a reader sees the old header or the new one, and
 * the ids tell it whether the pieces belong to it.
 */
export async function writeCheckpoint(store: LedgerStore, campaign: string, end: LedgerMark, state: CampaignState, events: readonly LedgerEvent[]): Promise<void> {
  const id = randomBytes(12).toString('hex');
  const keys = Object.keys(state.users);
  const pieces = Math.ceil(keys.length / USERS_PER_PIECE);
  for (let i = 0; i < pieces; i++) {
    const users: Array<[string, UserState]> = [];
    for (let j = i * USERS_PER_PIECE; j < Math.min(keys.length, (i + 1) * USERS_PER_PIECE); j++) users.push([keys[j], state.users[keys[j]]]);
    const piece: CheckpointPiece = { id, piece: i, users };
    await store.writeSnapshot(campaign, pieceName(i), piece);
  }
  const { users: _users, ...rest } = state;
  const header: CheckpointHeader = { format: CHECKPOINT_FORMAT, v: CHECKPOINT_VERSION, id, ledger: end, state: rest, users: keys.length, pieces, carry: carriedEvents(events) };
  await store.writeSnapshot(campaign, CHECKPOINT_SNAPSHOT, header);
}
