// The fold as it was before users shared their unchanged values: every user its own mutable objects, every
// notification key kept. The equality tests fold the same events both ways and compare what the engine reads.
import type { LedgerEvent, NotificationOutcome } from '../../src/ledger/events';
import { LEDGER_VERSION } from '../../src/ledger/events';
import type { OnboardingState, UserState as CurrentUserState } from '../../src/engine/state';
import type { Stage } from '../../src/engine/types';

type DeliveryState = CurrentUserState['delivery'] & { earlier: Array<{ key: string; stage: Stage; at: string }> | null };
/** The user as the previous fold kept it: `notifications` also held every key sent. */
export type ReferenceUser = Omit<CurrentUserState, 'notifications' | 'delivery' | 'alerts' | 'postponements' | 'left'> & {
  left: { at: string; reason: string } | null;
  notifications: { keys: string[]; count: Record<string, number>; lastNotifiedAt: string | null };
  postponements: Record<string, number>;
  alerts: string[];
  delivery: DeliveryState & Record<string, unknown>;
};
export interface ReferenceState {
  v: typeof LEDGER_VERSION;
  generation: number;
  runs: number;
  lastRun: { runId: string; startedAt: string; finishedAt: string | null; ok: boolean | null } | null;
  archivedAt: string | null;
  users: Record<string, ReferenceUser>;
  outcomeRun: string | null;
}
type CampaignState = ReferenceState;
type UserState = ReferenceUser;

/** foldLedger as it was. */
export function referenceFold(events: Iterable<LedgerEvent>): ReferenceState {
  const state: ReferenceState = { v: LEDGER_VERSION, generation: 0, runs: 0, lastRun: null, archivedAt: null, users: {}, outcomeRun: null };
  for (const e of events) referenceApplyEvent(state, e);
  return state;
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
    delivery: { lastKey: null, lastKind: null, lastStage: null, lastSentAt: null, outcome: null, settled: true, at: null, attempts: 0, stageDeliveredAt: null, earlier: null },
  };
}

function emptyOnboarding(): OnboardingState {
  return { passIssuedAt: null, methodId: null, expiresAt: null, expiredReported: false, queuedAt: null, queuedReason: null, issued: 0 };
}

function referenceApplyEvent(state: CampaignState, e: LedgerEvent): CampaignState {
  // A newer ledger version may mean things this fold would silently get wrong.
  if (e.v !== LEDGER_VERSION) throw new RangeError(`ledger event version ${String(e.v)} is not supported (expected ${LEDGER_VERSION})`);
  switch (e.type) {
    case 'runStarted':
      state.runs++;
      state.lastRun = { runId: e.runId, startedAt: e.at, finishedAt: null, ok: null };
      state.outcomeRun = e.intents === 1 ? e.runId : null;
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
    case 'notificationOutcome': {
      const u = state.users[e.userId];
      if (u) applyOutcome(u, e.key, e.outcome, e.channel, e.at);
      return state;
    }
    // Dispatch records and group-add intents say how a side effect went, not where a user stands (recovery.ts).
    case 'notificationDispatch':
    case 'groupAddIntent':
    case 'groupAddOutcome':
    case 'onboardingPassIntent':
    case 'onboardingPassOutcome':
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
      u.delivery.stageDeliveredAt = null;
      if (e.to === 'enforced') u.enforcedAt = e.at;
      break;
    case 'notificationSent': {
      u.notifications.keys.push(e.key);
      const prev = u.notifications.count[e.kind] ?? 0;
      if (e.sequence > prev) u.notifications.count[e.kind] = e.sequence;
      u.notifications.lastNotifiedAt = e.at;
      const current = e.stage === u.stage && !u.left;
      if (current) {
        u.stageLastNotifiedAt = e.at;
        if (e.kind === e.stage) u.stageNotified = true; // the entry notice's kind is the stage's name
      }
      const d = u.delivery;
      // The previous notice still waits for its outcome: remember it apart (no allocation on the common path).
      if (!d.settled && d.lastKey !== null && d.lastStage !== null && d.lastSentAt !== null) (d.earlier ??= []).push({ key: d.lastKey, stage: d.lastStage, at: d.lastSentAt });
      d.lastKey = e.key;
      d.lastKind = e.kind;
      d.lastStage = e.stage;
      d.lastSentAt = e.at;
      d.at = e.at;
      if (e.runId !== undefined && e.runId === state.outcomeRun) {
        d.outcome = 'pending';
        d.settled = false;
      } else {
        d.outcome = 'delivered';
        d.settled = true;
        d.attempts = 0;
        if (current) d.stageDeliveredAt ??= e.at;
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
      // addedToGroupAt is the enforcement group's; the graduated group's add is told by the stage (stageSince).
      if (e.group !== 'graduated') u.addedToGroupAt = e.at;
      break;
    case 'leftCampaign':
      u.left = { at: e.at, reason: e.reason };
      u.alerts = [];
      u.postponedUntil = null;
      u.delivery.attempts = 0;
      break;
    case 'alertRaised':
      if (!u.alerts.includes(e.kind)) u.alerts.push(e.kind);
      break;
    case 'alertCleared':
      u.alerts = u.alerts.filter((k) => k !== e.kind);
      break;
    case 'onboardingPassIssued': {
      const o = (u.onboarding ??= emptyOnboarding());
      o.passIssuedAt = e.at;
      o.methodId = e.methodId;
      o.expiresAt = e.expiresAt;
      o.expiredReported = false;
      o.queuedAt = null;
      o.queuedReason = null;
      o.issued++;
      break;
    }
    case 'onboardingQueued': {
      const o = (u.onboarding ??= emptyOnboarding());
      o.queuedAt ??= e.at;
      o.queuedReason = e.reason;
      break;
    }
    case 'onboardingPassExpired': {
      const o = (u.onboarding ??= emptyOnboarding());
      if (o.methodId === e.methodId) o.expiredReported = true;
      break;
    }
    default:
      break; // unknown user event types from a compatible writer are ignored
  }
  return state;
}

/**
 * One notificationOutcome: settles its notice if it is still open (a final outcome closes it; notSent and an
 * email in doubt leave it open for recovery) and updates the user's delivery state. An outcome for a notice
 * that is not open (older ledgers, a repeat) changes nothing.
 */
function applyOutcome(u: UserState, key: string, outcome: NotificationOutcome, channel: string, at: string): void {
  const d = u.delivery;
  const final = outcome !== 'notSent' && !(outcome === 'inDoubt' && channel === 'email');
  let stage: Stage;
  let sentAt: string;
  if (key === d.lastKey && !d.settled) {
    stage = d.lastStage!;
    sentAt = d.lastSentAt!;
    d.outcome = outcome;
    d.settled = final;
    d.at = at;
  } else {
    const i = d.earlier ? d.earlier.findIndex((n) => n.key === key) : -1;
    if (i < 0) return;
    ({ stage, at: sentAt } = d.earlier![i]);
    if (final) {
      d.earlier!.splice(i, 1);
      if (d.earlier!.length === 0) d.earlier = null;
    }
  }
  if (outcome === 'delivered') {
    d.attempts = 0;
    if (stage === u.stage && !u.left && u.stageSince !== null && sentAt >= u.stageSince) d.stageDeliveredAt ??= at;
  } else if (final && (outcome === 'failed' || outcome === 'inDoubt')) {
    d.attempts++;
  }
}

