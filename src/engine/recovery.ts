// Crash safety, the pure half: what an interrupted run left open and what this run does about it. The
// writes themselves are src/act's. Every side effect of a run is preceded by an intent in the ledger and followed by its
// outcome; the next run reads what is still open and settles it before doing anything new.
//
//   group add      groupAddIntent ──► POST members/$ref ──► groupAddOutcome (added | failed)
//                  open at the next run: re-driven if this run's decisions still want the add (already a
//                  member = success), rolled back if they no longer do and the user is in the group.
//                  The same for a graduated campaign's second group: an intent names its group, and what "still
//                  wanted" means follows it (enforced or graduated for the enforcement group, graduated for the other).
//   notification   notificationSent (the decision; at most once) ──► notificationDispatch (a group of keys,
//                  just before Graph sees them) ──► POST ──► notificationOutcome
//                  open and never dispatched: certainly not sent → sent now (if the user is still in that stage).
//                  dispatched without an outcome (the run died mid-send, or no answer came back):
//                    email → looked up by key in the sender's Sent Items: found = delivered, else sent now;
//                    Teams → no read API exists: recorded as inDoubt (final) and never sent again under that
//                    key. An enforcement notice in doubt is not a delivered one: decide sends a NEW enforcement
//                    notice (next sequence) on a later day, since a duplicate is better than enforcing someone
//                    who was never told; other kinds stay at most once.
//
// Only runs that started with `intents: 1` are read this way: older ledgers recorded no outcomes.
import type { NotificationKind } from '../contracts/vocabulary';
import type { GroupAddIntentEvent, LedgerEvent, OnboardingPassIntentEvent, NotificationSentEvent, RunFinishedEvent } from '../ledger/events';
import { LEDGER_VERSION } from '../ledger/events';
import { isEnforcedStage, type AddToGroupDecision, type Decision } from './decide';
import { inCampaign, type CampaignState } from './state';

export interface OpenNotification {
  sent: NotificationSentEvent;
  /** A dispatch was recorded: Graph may have executed it. */
  dispatched: boolean;
}

export interface OpenIntents {
  /** Runs that started and never finished, oldest first. */
  interruptedRuns: string[];
  /** Recorded notifications whose delivery is not settled, in ledger order. */
  notifications: OpenNotification[];
  /** Group adds that were intended and never got an outcome, by group and user. */
  groupAdds: GroupAddIntentEvent[];
  /** Onboarding passes about to be created when a run died: neither issued nor settled (src/act/onboarding.ts). */
  onboardingPasses: OnboardingPassIntentEvent[];
}

/** What is still open in a ledger (events oldest first). */
export function openIntents(events: readonly LedgerEvent[]): OpenIntents {
  const intentRuns = new Set<string>();
  const started: string[] = [];
  const finished = new Set<string>();
  let notifications = new Map<string, OpenNotification>();
  let groupAdds = new Map<string, GroupAddIntentEvent>();
  let passes = new Map<string, OnboardingPassIntentEvent>();
  for (const e of events) {
    switch (e.type) {
      case 'runStarted':
        started.push(e.runId);
        if (e.intents === 1) intentRuns.add(e.runId);
        break;
      case 'runFinished':
        finished.add(e.runId);
        break;
      case 'campaignReset':
      case 'campaignArchived':
        // A new generation starts from a clean slate; what the old one left open went to the archive.
        notifications = new Map();
        groupAdds = new Map();
        passes = new Map();
        break;
      case 'notificationSent':
        if (e.runId !== undefined && intentRuns.has(e.runId)) notifications.set(e.key, { sent: e, dispatched: false });
        break;
      case 'notificationDispatch':
        for (const k of e.keys) {
          const n = notifications.get(k);
          if (n) n.dispatched = true;
        }
        break;
      case 'notificationOutcome': {
        const n = notifications.get(e.key);
        if (!n) break;
        if (e.outcome === 'notSent') n.dispatched = false;
        else if (e.outcome === 'inDoubt' && e.channel === 'email') n.dispatched = true;
        else notifications.delete(e.key);
        break;
      }
      // Keyed by group and user: a graduated campaign's user may have an add open for each of its two groups.
      case 'groupAddIntent':
        groupAdds.set(`${e.groupId}\u0000${e.userId}`, e);
        break;
      case 'groupAddOutcome':
        groupAdds.delete(`${e.groupId}\u0000${e.userId}`);
        break;
      case 'onboardingPassIntent':
        passes.set(e.userId, e);
        break;
      case 'onboardingPassIssued':
      case 'onboardingPassOutcome':
        passes.delete(e.userId);
        break;
      default:
        break;
    }
  }
  return {
    interruptedRuns: started.filter((id) => !finished.has(id)),
    notifications: [...notifications.values()],
    groupAdds: [...groupAdds.values()],
    onboardingPasses: [...passes.values()],
  };
}

/** The runFinished lines that close runs which never finished, written by the run that found them. */
export function closeInterruptedRuns(open: OpenIntents, closedBy: string, at: string): RunFinishedEvent[] {
  return open.interruptedRuns.map((runId) => ({
    v: LEDGER_VERSION,
    at,
    type: 'runFinished',
    runId,
    ok: false,
    interrupted: true,
    closedBy,
    error: `the run was interrupted before it finished (killed or crashed); run ${closedBy} settled what it left open`,
  }));
}

/** One line for plan and the log: what a run will settle first. */
export function describeOpen(open: OpenIntents): string | null {
  const parts: string[] = [];
  if (open.interruptedRuns.length) parts.push(`${open.interruptedRuns.length} interrupted run${open.interruptedRuns.length === 1 ? '' : 's'}`);
  if (open.groupAdds.length) parts.push(`${open.groupAdds.length} unconfirmed group add${open.groupAdds.length === 1 ? '' : 's'}`);
  if (open.onboardingPasses?.length) parts.push(`${open.onboardingPasses.length} unconfirmed onboarding pass${open.onboardingPasses.length === 1 ? '' : 'es'}`);
  if (open.notifications.length) {
    const d = open.notifications.filter((n) => n.dispatched).length;
    parts.push(`${open.notifications.length} unsettled notification${open.notifications.length === 1 ? '' : 's'} (${d} possibly delivered)`);
  }
  return parts.length ? `the ledger has ${parts.join(', ')}; the next reconcile settles them before acting.` : null;
}

// ---------------------------------------------------------------------------------------------------
// Planning: what to do with each open intent, given this run's decisions. No I/O; act/ carries it out.

/** Why an open group add is settled the way it is. Each reason has its ledger detail next to it. */
export const GROUP_RECOVERY = {
  /** The user is (or becomes) enforced: the membership is confirmed (re-driven if needed). */
  Redrive: (runId: string | undefined) => `the interrupted run ${runId ?? '?'} had added the user; this run confirmed the membership`,
  /** Not due and in the group: the add is undone. */
  RollBack: () => 'the run that added the user was interrupted before recording the enforcement, and this run does not enforce the user',
  /** Not due and not in the group: nothing to undo. */
  Supersede: () => 'no longer due for enforcement and not in the group: nothing to undo',
} as const;
export type GroupRecoveryAction = keyof typeof GROUP_RECOVERY;

export interface GroupRecoveryPlan {
  /** Group adds of this run that need a write (the user is not yet a member). */
  toAdd: AddToGroupDecision[];
  /** Open intents confirmed by this run (unless this run's own add for that user fails). */
  redrive: GroupAddIntentEvent[];
  /** Open intents whose membership is undone (DELETE members/{id}/$ref). */
  rollBack: GroupAddIntentEvent[];
  /** Open intents closed without a write. */
  supersede: GroupAddIntentEvent[];
}

export interface GroupRecoveryInput {
  open: readonly GroupAddIntentEvent[];
  state: CampaignState;
  /** Every decision of this run, before the valve. */
  decisions: readonly Decision[];
  /** The decisions this run carries out (after the valve). */
  kept: readonly Decision[];
  /** The enforcement group this run writes to, and its members as observed (lower-case ids). */
  groupId: string;
  groupMembers: ReadonlySet<string>;
  /** A graduated campaign's second group and its members as observed (lower-case ids). */
  graduated?: { groupId: string; members: ReadonlySet<string> };
}

/**
 * Open group adds: confirmed if the user is (or now becomes) enforced, left open if the valve deferred
 * them, undone if the user is in the group without being due, else closed with nothing to undo.
 */
export function planGroupRecovery(x: GroupRecoveryInput): GroupRecoveryPlan {
  // Only the users of open intents are asked about: no set of everyone entering a stage (a first run's every user).
  const asked = new Set(x.open.map((g) => g.userId));
  const enters = (list: readonly Decision[], to: 'enforced' | 'graduated') => {
    const out = new Set<string>();
    if (asked.size) for (const d of list) if (d.type === 'enterStage' && d.to === to && asked.has(d.userId)) out.add(d.userId);
    return out;
  };
  const enforcedNow = enters(x.kept, 'enforced');
  const enforcedLater = enters(x.decisions, 'enforced');
  const graduatedNow = enters(x.kept, 'graduated');
  const graduatedLater = enters(x.decisions, 'graduated');
  const grad = x.graduated;
  const isGraduatedGroup = (g: GroupAddIntentEvent) => grad !== undefined && g.groupId === grad.groupId;
  // Still wanted: in (or entering) a stage that belongs in the intent's group. Graduated users stay in the enforcement group.
  const holds = (g: GroupAddIntentEvent) => {
    const u = x.state.users[g.userId];
    const stage = inCampaign(u) ? u.stage : null;
    if (isGraduatedGroup(g)) return graduatedNow.has(g.userId) || stage === 'graduated';
    return enforcedNow.has(g.userId) || graduatedNow.has(g.userId) || isEnforcedStage(stage);
  };
  const wantedLater = (g: GroupAddIntentEvent) => (isGraduatedGroup(g) ? graduatedLater : enforcedLater).has(g.userId);
  const membersOf = (g: GroupAddIntentEvent): ReadonlySet<string> | null =>
    (isGraduatedGroup(g) ? grad!.members : g.groupId === x.groupId ? x.groupMembers : null);
  const toAdd = x.kept.filter((d): d is AddToGroupDecision =>
    d.type === 'addToGroup' && !(d.group === 'graduated' ? grad?.members ?? new Set<string>() : x.groupMembers).has(d.userId.toLowerCase()));
  const redrive = x.open.filter((g) => holds(g));
  const undecided = x.open.filter((g) => !holds(g) && !wantedLater(g));
  const rollBack = undecided.filter((g) => membersOf(g)?.has(g.userId.toLowerCase()) === true);
  const supersede = undecided.filter((g) => !rollBack.includes(g));
  return { toAdd, redrive, rollBack, supersede };
}

/** How an open notification is settled, with the ledger detail of each final outcome. */
export const NOTIFICATION_RECOVERY = {
  /** Notifications are off: nothing will ever be sent. */
  CancelChannelNone: () => 'notifications are off (channel none)',
  /** Never dispatched and the user moved on (or is held): certainly unsent and no longer wanted now. */
  CancelNotDue: (stage: string, held = false) => held
    ? 'never sent by the interrupted run, and the account is now disabled: nobody contacts it; once it is enabled again a new notice is sent'
    : `never sent by the interrupted run, and the user is no longer in ${stage}`,
  /** Never dispatched and still wanted: certainly unsent, so sent now. */
  Resend: () => 'never sent by the interrupted run; sent now',
  /** Dispatched over Teams: no read API can tell, so that key is never sent again. */
  InDoubt: (kind: NotificationKind) => kind === 'enforcementNotice' || kind === 'enforcementNoticeReminder'
    ? 'the run that sent it got no answer (interrupted or timed out); Teams has no read API for activity notifications, so this key is not sent again; as an enforcement notice not known to be delivered, a new one is sent on the next day\'s run'
    : 'the run that sent it got no answer (interrupted or timed out); Teams has no read API for activity notifications, so it is not sent again (at most once)',
  /** Dispatched email: looked up in the sender's Sent Items by its key. */
  LookUp: () => 'dispatched by email: looked up in the Sent Items',
  /** Dispatched email, but no sender to look in. */
  FailNoSender: () => 'no sender mailbox to look it up in',
} as const;
export type NotificationRecoveryAction = keyof typeof NOTIFICATION_RECOVERY;

export interface NotificationRecoveryStep {
  action: NotificationRecoveryAction;
  notice: NotificationSentEvent;
  /** The channel the outcome is recorded under. */
  channel: 'teams' | 'email' | 'none';
  detail: string;
}

export interface NotificationRecoveryInput {
  open: readonly OpenNotification[];
  /** The campaign's channel now, and whether an email sender is configured. */
  channel: 'teams' | 'email' | 'none';
  hasSender: boolean;
  /** The state after this run's decisions, and who was observed this run. */
  after: CampaignState;
  observedIds: ObservedIds;
}

/** Who was observed this run (a Set will do). */
export interface ObservedIds {
  has(userId: string): boolean;
}

/** Whether a recorded notice is still wanted: the user is still in its stage, still observed and not held as disabled. */
export function stillDue(n: NotificationSentEvent, after: CampaignState, observedIds: ObservedIds): boolean {
  const u = after.users[n.userId];
  return inCampaign(u) && u.stage === n.stage && observedIds.has(n.userId) && !held(after, n.userId);
}

/** A disabled account (decide raised AccountDisabled): contacted by nobody, recovery included. */
function held(after: CampaignState, userId: string): boolean {
  return after.users[userId]?.alerts.includes('AccountDisabled') ?? false;
}

/**
 * Settles notifications an interrupted run recorded but did not confirm. Never dispatched: sent now if
 * the user is still in that stage, else cancelled. Dispatched: email is looked up in Sent Items by its
 * key (see `afterLookUp`); Teams cannot be looked up and is recorded in doubt.
 */
export function planNotificationRecovery(x: NotificationRecoveryInput): NotificationRecoveryStep[] {
  return x.open.map((n) => {
    const channel = n.sent.channel ?? x.channel;
    const step = (action: NotificationRecoveryAction, ch: NotificationRecoveryStep['channel'], detail: string): NotificationRecoveryStep => ({ action, notice: n.sent, channel: ch, detail });
    if (channel === 'none' || x.channel === 'none') return step('CancelChannelNone', channel, NOTIFICATION_RECOVERY.CancelChannelNone());
    if (!n.dispatched) {
      return stillDue(n.sent, x.after, x.observedIds)
        ? step('Resend', channel, NOTIFICATION_RECOVERY.Resend())
        : step('CancelNotDue', channel, NOTIFICATION_RECOVERY.CancelNotDue(n.sent.stage, held(x.after, n.sent.userId)));
    }
    if (channel === 'teams') return step('InDoubt', channel, NOTIFICATION_RECOVERY.InDoubt(n.sent.kind));
    if (!x.hasSender) return step('FailNoSender', 'email', NOTIFICATION_RECOVERY.FailNoSender());
    return step('LookUp', 'email', NOTIFICATION_RECOVERY.LookUp());
  });
}

/** What a Sent Items look-up decides: found = delivered, missing = sent again if still due, else cancelled. */
export type LookUpResult = 'delivered' | 'resend' | 'cancelled';

export function afterLookUp(n: NotificationSentEvent, found: boolean, after: CampaignState, observedIds: ObservedIds): LookUpResult {
  if (found) return 'delivered';
  return stillDue(n, after, observedIds) ? 'resend' : 'cancelled';
}
