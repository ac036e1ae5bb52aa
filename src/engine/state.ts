// The campaign state is a fold of the ledger: nothing in it is stored that the ledger cannot rebuild.
// Plain records (no Map/Set) so the snapshot can be written as JSON next to the ledger.
import type { AlertKind, NotificationKind } from '../contracts/vocabulary';
import { LEDGER_VERSION, type LedgerEvent } from '../ledger/events';
import type { Stage } from './types';

export interface UserState {
  userId: string;
  userPrincipalName: string;
  /** The current stage; after leaving, the stage the user left from. null if the user never entered. */
  stage: Stage | null;
  stageSince: string | null;
  firstEnteredAt: string | null;
  /** Set while the user is out of the campaign; cleared on re-entry. */
  left: { at: string; reason: string } | null;
  notifications: {
    /** Every idempotency key sent to this user, oldest first. */
    keys: string[];
    /** Highest sequence sent per kind (kind names the stage). */
    count: Partial<Record<NotificationKind, number>>;
    lastNotifiedAt: string | null;
  };
  /** The current stage's entry notice has been sent. */
  stageNotified: boolean;
  /** Last notification of any kind in the current stage. */
  stageLastNotifiedAt: string | null;
  /** Postponements per stage over the whole campaign (the `maxTimes` budget). */
  postponements: Partial<Record<Stage, number>>;
  /** End of the latest postponement in the current stage. */
  postponedUntil: string | null;
  /** Days the current stage's deadline has moved through postponements. */
  extensionDays: number;
  /** The current stage's grace period passed with its action not done. */
  exceededGrace: boolean;
  enforcedAt: string | null;
  addedToGroupAt: string | null;
  /** Alerts currently raised for this user. */
  alerts: AlertKind[];
}

export interface CampaignState {
  v: typeof LEDGER_VERSION;
  /** 0 until the first reset; part of notification keys so a restarted campaign does not reuse them. */
  generation: number;
  runs: number;
  lastRun: { runId: string; startedAt: string; finishedAt: string | null; ok: boolean | null } | null;
  archivedAt: string | null;
  users: Record<string, UserState>;
}

export function emptyState(): CampaignState {
  return { v: LEDGER_VERSION, generation: 0, runs: 0, lastRun: null, archivedAt: null, users: {} };
}

function newUser(userId: string, userPrincipalName: string): UserState {
  return {
    userId,
    userPrincipalName,
    stage: null,
    stageSince: null,
    firstEnteredAt: null,
    left: null,
    notifications: { keys: [], count: {}, lastNotifiedAt: null },
    stageNotified: false,
    stageLastNotifiedAt: null,
    postponements: {},
    postponedUntil: null,
    extensionDays: 0,
    exceededGrace: false,
    enforcedAt: null,
    addedToGroupAt: null,
    alerts: [],
  };
}

/** Rebuilds the state from the whole ledger, oldest event first. */
export function foldLedger(events: Iterable<LedgerEvent>): CampaignState {
  return applyEvents(emptyState(), events);
}

/** Applies events to `state` in place and returns it (the incremental form of foldLedger). */
export function applyEvents(state: CampaignState, events: Iterable<LedgerEvent>): CampaignState {
  for (const e of events) applyEvent(state, e);
  return state;
}

export function applyEvent(state: CampaignState, e: LedgerEvent): CampaignState {
  // A newer ledger version may mean things this fold would silently get wrong.
  if (e.v !== LEDGER_VERSION) throw new RangeError(`ledger event version ${String(e.v)} is not supported (expected ${LEDGER_VERSION})`);
  switch (e.type) {
    case 'runStarted':
      state.runs++;
      state.lastRun = { runId: e.runId, startedAt: e.at, finishedAt: null, ok: null };
      return state;
    case 'runFinished':
      if (state.lastRun && state.lastRun.runId === e.runId) {
        state.lastRun.finishedAt = e.at;
        state.lastRun.ok = e.ok;
      }
      return state;
    case 'campaignArchived':
      state.archivedAt = e.at;
      return state;
    case 'campaignReset':
      state.users = {};
      state.generation = e.generation;
      state.archivedAt = null;
      return state;
    // Intents and their outcomes say how a side effect went, not where a user stands (src/reconcile/intents.ts).
    case 'notificationDispatch':
    case 'notificationOutcome':
    case 'groupAddIntent':
    case 'groupAddOutcome':
      return state;
    default:
      break;
  }
  if (!('userId' in e)) return state; // an unknown campaign-level type from a compatible writer
  let u = state.users[e.userId];
  if (!u) {
    u = newUser(e.userId, e.userPrincipalName);
    state.users[e.userId] = u;
  } else {
    u.userPrincipalName = e.userPrincipalName;
  }
  switch (e.type) {
    case 'userEnteredStage':
      u.stage = e.to;
      u.stageSince = e.at;
      u.firstEnteredAt ??= e.at;
      u.left = null;
      u.stageNotified = false;
      u.stageLastNotifiedAt = null;
      u.postponedUntil = null;
      u.extensionDays = 0;
      u.exceededGrace = false;
      if (e.to === 'enforced') u.enforcedAt = e.at;
      break;
    case 'notificationSent': {
      u.notifications.keys.push(e.key);
      const prev = u.notifications.count[e.kind] ?? 0;
      if (e.sequence > prev) u.notifications.count[e.kind] = e.sequence;
      u.notifications.lastNotifiedAt = e.at;
      if (e.stage === u.stage && !u.left) {
        u.stageLastNotifiedAt = e.at;
        if (e.kind === e.stage) u.stageNotified = true; // the entry notice's kind is the stage's name
      }
      break;
    }
    case 'postponed':
      u.postponements[e.stage] = Math.max(u.postponements[e.stage] ?? 0, e.count);
      if (e.stage === u.stage && !u.left) {
        u.postponedUntil = e.until;
        u.extensionDays += e.days;
      }
      break;
    case 'graceExceeded':
      if (e.stage === u.stage) u.exceededGrace = true;
      break;
    case 'addedToGroup':
      u.addedToGroupAt = e.at;
      break;
    case 'leftCampaign':
      u.left = { at: e.at, reason: e.reason };
      u.alerts = [];
      u.postponedUntil = null;
      break;
    case 'alertRaised':
      if (!u.alerts.includes(e.kind)) u.alerts.push(e.kind);
      break;
    case 'alertCleared':
      u.alerts = u.alerts.filter((k) => k !== e.kind);
      break;
    default:
      break; // unknown user event types from a compatible writer are ignored
  }
  return state;
}

/** Finds a user by object id or (case-insensitively) by UPN. */
export function findUser(state: CampaignState, idOrUpn: string): UserState | undefined {
  const byId = state.users[idOrUpn];
  if (byId) return byId;
  const upn = idOrUpn.toLowerCase();
  for (const id in state.users) {
    if (state.users[id].userPrincipalName.toLowerCase() === upn) return state.users[id];
  }
  return undefined;
}

/** Whether the user is currently in the campaign (entered and not left). */
export function inCampaign(u: UserState | undefined): u is UserState & { stage: Stage; stageSince: string } {
  return !!u && u.stage !== null && u.stageSince !== null && u.left === null;
}
