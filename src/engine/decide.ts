// The stage machine: decide(campaign, observation, state, now) → decisions. Pure: no clock, no I/O.
//
//   deviceUpdate --DevicesUpdated--> passkeyRegistration --PasskeyRegistered--> enforcementNotice --NoticePeriodElapsed--> enforced
//        |                                  ^                                      |   ^              (addToGroup, passkey
//        |                                  +----------------PasskeyLost-----------+   |               seen in this run)
//        +-------------------DevicesUpdated, a passkey already registered--------------+
//
//   Entry (a targeted user not in the campaign), by readiness: needsDeviceUpdate -> deviceUpdate,
//   needsPasskey -> passkeyRegistration, ready -> enforcementNotice, already in the group with a passkey -> enforced.
//
//   Grace stages (deviceUpdate, passkeyRegistration): entry notice, a reminder every reminderEveryDays,
//   none while postponed; at the deadline flag exceededGrace once and go quiet, but keep watching.
//   Any stage --> left (LeftTargetSet / Excluded); re-targeted users enter again by readiness.
//   Never back into deviceUpdate (an outdated device only gates users before they pass it), never out of
//   enforced (an enforced user without passkey is an alert). Held where they are, contacting nobody: users
//   with read errors, disabled accounts (alert AccountDisabled; stage, deadline and postponements kept),
//   passkeys unverifiable against AAGUID restrictions, users outside the FIDO2 policy scope (alert),
//   everyone while that policy is disabled. Deadlines count whole UTC days.
//
//   Graduated enforcement (spec.enforcement.mode graduated):
//     enforced --Graduated--> graduated   (addToGroup graduated group; stays in the enforcement group)
//   once enforced at least enableWhen.observedDays ago, in the enforcement group with a passkey, and the user's own
//   sign-ins of the last observedDays show no reportOnlyFailure and at least one reportOnlySuccess of the campaign's
//   report-only policy. Never back out of graduated: sign-ins the enabled policy blocked raise GraduatedSignInFailures.
//   Evidence not established this run (sign-ins unreadable, CA data omitted): nobody graduates, no alert changes.
//
//   Notice integrity (channel teams or email): enforced only noticeDays (+ postponements) after an
//   enforcement notice was DELIVERED (a notificationOutcome `delivered`), never counted from entering the
//   stage. A notice that was not delivered is sent again on a later day as a new notice (next sequence);
//   an in-doubt one too when it is the enforcement notice. After UNREACHABLE_AFTER undelivered notices in
//   a row, or at once for email without a mailbox, alert Unreachable (held, retried daily). Channel none:
//   the campaign tells users another way; enforcement counts from entering enforcementNotice.
import type { Campaign } from '../campaign/types';
import type { AlertKind, NotificationKind } from '../contracts/vocabulary';
import { LEDGER_VERSION, notificationKey, type LedgerEvent } from '../ledger/events';
import { assessReadiness, readinessContext, type DeviceBelowMinimum, type Readiness, type ReadinessContext } from './readiness';
import { explain, type AlertReason, type GraceReason, type LeaveReason, type NotifyReason, type StageReason, type UndeliveredOutcome, type WarnReason } from './reasons';
import { inCampaign, type CampaignState, type UserState } from './state';
import { dateOfDay, dayOf, toMs, DAY_MS } from './time';
import type { Observation, ObservedUser, Stage } from './types';

interface UserDecisionBase {
  userId: string;
  userPrincipalName: string;
  /** The user's stage once this decision is applied (null: not in the campaign). Used for ordering. */
  stage: Stage | null;
  /** PascalCase constant, stable for tests, logs and reports (src/engine/reasons.ts). */
  reason: StageReason | LeaveReason | NotifyReason | GraceReason | AlertReason;
  /** One human sentence. */
  message: string;
}

export interface EnterStageDecision extends UserDecisionBase {
  type: 'enterStage';
  reason: StageReason;
  from: Stage | null;
  to: Stage;
}

export interface NotifyDecision extends UserDecisionBase {
  type: 'notify';
  reason: NotifyReason;
  stage: Stage;
  kind: NotificationKind;
  sequence: number;
  /** `campaign:userId:kind:sequence`; the channel must treat a repeated key as already sent. */
  key: string;
  channel: Campaign['spec']['notifications']['channel'];
  /** The date the notice is about (YYYY-MM-DD): grace deadline or enforcement day; null once enforced. */
  deadline: string | null;
  /** For device-update notices: the devices to update. */
  devices?: DeviceBelowMinimum[];
}

export interface FlagGraceExceededDecision extends UserDecisionBase {
  type: 'flagGraceExceeded';
  reason: GraceReason;
  stage: Stage;
  deadline: string;
}

export interface AddToGroupDecision extends UserDecisionBase {
  type: 'addToGroup';
  reason: StageReason;
  stage: 'enforced' | 'graduated';
  /** Which group: absent for the enforcement group, 'graduated' for a graduated campaign's second group. */
  group?: 'graduated';
}

export interface LeaveDecision extends UserDecisionBase {
  type: 'leave';
  reason: LeaveReason;
  stage: null;
  from: Stage | null;
}

export interface RaiseAlertDecision extends UserDecisionBase {
  type: 'raiseAlert';
  reason: AlertKind;
  kind: AlertKind;
}

export interface ClearAlertDecision extends UserDecisionBase {
  type: 'clearAlert';
  reason: 'AlertCleared';
  kind: AlertKind;
}

/** Describes the observation, changes nothing, is repeated every run while it holds. */
export interface WarnDecision {
  type: 'warn';
  /** null for a campaign-level warning. */
  userId: string | null;
  userPrincipalName: string | null;
  stage: Stage | null;
  reason: WarnReason;
  message: string;
}

/**
 * One step of a run. A user's decisions are consecutive and in order (addToGroup, then enterStage,
 * then notify): an applier that skips or fails one must skip the rest of that user's decisions.
 */
export type Decision =
  | EnterStageDecision
  | NotifyDecision
  | FlagGraceExceededDecision
  | AddToGroupDecision
  | LeaveDecision
  | RaiseAlertDecision
  | ClearAlertDecision
  | WarnDecision;

export { STAGE_LABEL } from './reasons';

/**
 * Notices in a row not delivered (failed, or in doubt) after which a user is alerted as Unreachable. Three
 * daily attempts tell a passing Graph hiccup from a lasting cause (no Teams app installed, no mailbox).
 */
export const UNREACHABLE_AFTER = 3;

// Ordering: campaign warnings, then by stage in campaign order, then users out of the campaign.
const STAGE_RANK: Record<Stage, number> = { deviceUpdate: 1, passkeyRegistration: 2, enforcementNotice: 3, enforced: 4, graduated: 5 };
const LEFT_RANK = 6;

/** Stages in which the user is in the enforcement group for good (graduated users stay in it too). */
export function isEnforcedStage(stage: Stage | null | undefined): boolean {
  return stage === 'enforced' || stage === 'graduated';
}

interface Run {
  campaign: Campaign;
  observation: Observation;
  state: CampaignState;
  nowDay: number;
  observedAtMs: number;
  blockedByPolicy: boolean;
  /** YYYY-MM-DD per day number, computed once per run. */
  dates: Map<number, string>;
  /** Graduated campaigns with the evidence established this run; else null (nobody graduates). */
  graduation: Extract<NonNullable<Observation['graduation']>, { available: true }> | null;
  /** Lower-case ids and UPNs that must never graduate: excluded users and break-glass entries. */
  neverGraduate: Set<string>;
}

/** Decisions for one run, ordered by stage then userPrincipalName so a valve can take the first N. */
export function decide(campaign: Campaign, observation: Observation, state: CampaignState, now: string): Decision[] {
  // Another campaign's observation would move the wrong people: a caller bug, not a condition.
  if (observation.campaign !== campaign.metadata.name) {
    throw new RangeError(`observation is for campaign ${observation.campaign}, not ${campaign.metadata.name}`);
  }
  // Paused, ended and not-started campaigns contact and move nobody.
  if (campaign.spec.status !== 'inProgress') return [];
  if (observation.readErrors.length > 0) {
    return [campaignWarn('CampaignReadErrors', explain('CampaignReadErrors', { errors: observation.readErrors }))];
  }
  const run: Run = {
    campaign,
    observation,
    state,
    nowDay: dayOf(now),
    observedAtMs: toMs(observation.at),
    blockedByPolicy: observation.fido2Policy?.state === 'disabled',
    dates: new Map(),
    graduation: null,
    neverGraduate: new Set(),
  };
  if (campaign.spec.enforcement.mode === 'graduated') {
    const g = observation.graduation;
    if (g?.available) run.graduation = g;
    for (const x of observation.excluded) run.neverGraduate.add(x.userId.toLowerCase());
    for (const ref of campaign.spec.exclusions.breakGlass) run.neverGraduate.add(ref.toLowerCase());
  }
  const ctx = readinessContext(campaign, observation.fido2Policy, now);
  const head: Decision[] = [];
  if (run.blockedByPolicy) {
    head.push(campaignWarn('Fido2PolicyDisabled', explain('Fido2PolicyDisabled')));
  }
  // Once per run: nothing else tells an operator that no notice leaves this tool.
  if (campaign.spec.notifications.channel === 'none') head.push(campaignWarn('NotificationsOff', explain('NotificationsOff')));
  if (campaign.spec.enforcement.mode === 'graduated' && run.graduation === null) {
    const g = observation.graduation;
    head.push(campaignWarn('GraduationUnavailable', explain('GraduationUnavailable', { cause: g && !g.available ? g.cause : 'the sign-in evidence was not read in this run.' })));
  }

  // Decisions go into one flat array; per user we keep where its run starts and its sort key.
  const flat: Decision[] = [];
  const starts: number[] = [];
  const ranks: number[] = [];
  const upns: string[] = [];
  const ids: string[] = [];
  // Most users get the same few sentences (the same reason, the same date): one string each, not one per decision.
  const messages = new Map<string, string>();
  const add = (list: Decision[], userId: string, upn: string): void => {
    const last = list[list.length - 1].stage;
    starts.push(flat.length);
    ranks.push(last === null ? LEFT_RANK : STAGE_RANK[last]);
    upns.push(upn.toLowerCase());
    ids.push(userId);
    for (const d of list) {
      const m = messages.get(d.message);
      if (m === undefined) messages.set(d.message, (d.message = flattened(d.message)));
      else d.message = m;
      flat.push(d);
    }
  };

  const seen = new Set<string>();
  const cursor = { run } as Cursor;
  for (const ou of observation.users) {
    if (seen.has(ou.userId)) continue; // observe should not repeat a user; if it does, the first wins
    seen.add(ou.userId);
    const list = decideUser(run, ou, state.users[ou.userId], ctx, cursor);
    if (list.length > 0) add(list, ou.userId, ou.userPrincipalName);
  }

  const excluded = new Map<string, Observation['excluded'][number]>();
  for (const x of observation.excluded) excluded.set(x.userId, x);
  for (const id in state.users) {
    const u = state.users[id];
    if (seen.has(id) || (u.left !== null && u.alerts.length === 0) || (u.stage === null && u.alerts.length === 0)) continue;
    const x = excluded.get(id);
    const wasEnforced = isEnforcedStage(u.stage);
    const leave: LeaveDecision = x
      ? { type: 'leave', userId: id, userPrincipalName: u.userPrincipalName, stage: null, from: u.stage, reason: 'Excluded',
          message: explain('Excluded', { exclusion: x.exclusion, wasEnforced }) }
      : { type: 'leave', userId: id, userPrincipalName: u.userPrincipalName, stage: null, from: u.stage, reason: 'LeftTargetSet',
          message: explain('LeftTargetSet', { wasEnforced }) };
    add([leave], id, u.userPrincipalName);
  }

  const n = starts.length;
  starts.push(flat.length);
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => ranks[a] - ranks[b] || cmp(upns[a], upns[b]) || cmp(ids[a], ids[b]));
  const out = head;
  for (const g of order) for (let i = starts[g]; i < starts[g + 1]; i++) out.push(flat[i]);
  return out;
}

/**
 * The same text as one string. A sentence built from parts is held as a chain of concatenations, several times the
 * size of its text; the few that are not shared (naming a user's devices) are kept as the text alone.
 */
function flattened(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function campaignWarn(reason: WarnReason, message: string): WarnDecision {
  return { type: 'warn', userId: null, userPrincipalName: null, stage: null, reason, message };
}

/** The user being decided; one object per run, overwritten per user, so the hot loop allocates little. */
interface Cursor {
  run: Run;
  ou: ObservedUser;
  u: UserState | undefined;
  r: Readiness;
  current: Stage | null;
  out: Decision[];
  /** No notice may go out to this user this run (email without a mailbox). */
  mute: boolean;
}

function date(run: Run, day: number): string {
  let s = run.dates.get(day);
  if (s === undefined) {
    s = dateOfDay(day);
    run.dates.set(day, s);
  }
  return s;
}

function userWarn(ou: ObservedUser, current: Stage | null, reason: WarnReason, message: string): Decision[] {
  return [{ type: 'warn', userId: ou.userId, userPrincipalName: ou.userPrincipalName, stage: current, reason, message }];
}

function decideUser(run: Run, ou: ObservedUser, u: UserState | undefined, ctx: ReadinessContext, x: Cursor): Decision[] {
  const active = inCampaign(u);
  const current: Stage | null = active ? u.stage : null;

  // Disabled: held in the stage with deadline and postponements, contacted by nobody; one who never entered
  // does not enter. The alert is the only decision (raised once); re-enabled, it clears and the user goes on.
  if (!ou.accountEnabled) {
    if (!active || u.alerts.includes('AccountDisabled')) return [];
    return [{ type: 'raiseAlert', userId: ou.userId, userPrincipalName: ou.userPrincipalName, stage: current, kind: 'AccountDisabled', reason: 'AccountDisabled', message: explain('AccountDisabled') }];
  }
  // A failed read must never look like "no passkey" or "no device": no move at all.
  if (ou.readErrors.length > 0) {
    return userWarn(ou, current, 'ReadErrors', explain('ReadErrors', { errors: ou.readErrors }));
  }
  const r = assessReadiness(ou, ctx);
  if (r.hasPasskey === null) {
    return userWarn(ou, current, 'PasskeyUnverifiable', explain('PasskeyUnverifiable'));
  }
  const hasPasskey = r.hasPasskey;
  const out: Decision[] = [];
  x.ou = ou;
  x.u = u;
  x.r = r;
  x.current = current;
  x.out = out;
  const channel = run.campaign.spec.notifications.channel;
  // Email goes to the mailbox, never to the UPN: without one the user cannot be told, so nothing is sent.
  const noMailbox = channel === 'email' && ou.mail === null;
  x.mute = noMailbox;

  // Alerts: raised once when the condition starts, cleared when it ends.
  const outOfScope = ou.inFido2PolicyScope === false;
  const enforced = isEnforcedStage(current);
  const withoutPasskey = enforced && !hasPasskey;
  // An observation taken when or before we added the user cannot show the membership yet.
  const notInGroup = enforced && !ou.inEnforcementGroup && u!.enforcedAt !== null && toMs(u!.enforcedAt) < run.observedAtMs;
  // Graduated users the enabled policy still blocks (their newest sign-in, or a legacy client); null: the evidence is
  // unknown this run (kept as it is).
  const signIns = run.graduation ? run.graduation.users[ou.userId] : undefined;
  const graduatedFailures = current !== 'graduated' ? false : run.graduation === null ? null : signIns?.blocked === true;
  const attempts = u?.delivery.attempts ?? 0;
  const unreachable = channel !== 'none' && (noMailbox || attempts >= UNREACHABLE_AFTER);
  if (u && u.alerts.length > 0) {
    for (const k of u.alerts) {
      if (!alertHolds(k, { outOfScope, withoutPasskey, notInGroup, unreachable, graduatedFailures })) {
        out.push({ type: 'clearAlert', userId: ou.userId, userPrincipalName: ou.userPrincipalName, stage: current, kind: k, reason: 'AlertCleared', message: explain('AlertCleared', { kind: k }) });
      }
    }
  }
  if (outOfScope) raise(x, 'OutsideFido2PolicyScope', explain('OutsideFido2PolicyScope'));
  if (withoutPasskey) raise(x, 'EnforcedWithoutPasskey', explain('EnforcedWithoutPasskey'));
  if (notInGroup) raise(x, 'NotInEnforcementGroup', explain('NotInEnforcementGroup'));
  if (unreachable) raise(x, 'Unreachable', explain('Unreachable', noMailbox ? { why: 'noMailbox' } : { why: 'undelivered', attempts, enforced }));
  if (graduatedFailures === true && signIns) {
    raise(x, 'GraduatedSignInFailures', explain('GraduatedSignInFailures', { failures: signIns.failure, days: run.graduation!.observedDays, apps: signIns.failureApps, clientApps: signIns.failureClientApps }));
  }

  // Blocked users cannot register or use a passkey: hold them where they are, contact nobody.
  if ((run.blockedByPolicy || outOfScope) && !enforced) return out;

  const noticeDays = run.campaign.spec.stages.enforcement.noticeDays;
  if (!active) {
    if (hasPasskey && ou.inEnforcementGroup) {
      enterAndNotify(x, 'enforced', 'AlreadyInEnforcementGroup', explain('AlreadyInEnforcementGroup'));
    } else if (r.category === 'needsDeviceUpdate') {
      enterAndNotify(x, 'deviceUpdate', 'DeviceBelowMinimumOs', explain('DeviceBelowMinimumOs', { devices: r.devicesBelowMinimum }));
    } else if (r.category === 'needsPasskey') {
      enterAndNotify(x, 'passkeyRegistration', 'NoPasskeyRegistered', explain('NoPasskeyRegistered'));
    } else {
      enterAndNotify(x, 'enforcementNotice', 'ReadyForEnforcement', explain('ReadyForEnforcement', { noticeDays }));
    }
    return out;
  }

  const sinceDay = dayOf(u.stageSince);
  const postponed = u.postponedUntil !== null && run.nowDay < dayOf(u.postponedUntil);
  switch (u.stage) {
    case 'deviceUpdate':
      if (r.devicesBelowMinimum.length === 0) {
        enterAndNotify(x, hasPasskey ? 'enforcementNotice' : 'passkeyRegistration', 'DevicesUpdated', explain('DevicesUpdated', { hasPasskey, noticeDays }));
        return out;
      }
      graceStage(x, u, 'deviceUpdate', sinceDay, postponed);
      return out;
    case 'passkeyRegistration':
      if (hasPasskey) {
        enterAndNotify(x, 'enforcementNotice', 'PasskeyRegistered', explain('PasskeyRegistered', { evidence: r.passkeyEvidence[0], noticeDays }));
        return out;
      }
      graceStage(x, u, 'passkeyRegistration', sinceDay, postponed);
      return out;
    case 'enforcementNotice': {
      if (!hasPasskey) {
        enterAndNotify(x, 'passkeyRegistration', 'PasskeyLost', explain('PasskeyLost'));
        return out;
      }
      // The notice period runs from the first delivered enforcement notice (with channel none, from entering
      // the stage: the campaign tells users another way). Not delivered yet: held, and the date a notice sent
      // today announces is counted from today.
      const d = u.delivery;
      const toldDay = channel === 'none' ? sinceDay : d.stageDeliveredAt === null ? null : dayOf(d.stageDeliveredAt);
      const dueDay = (toldDay ?? run.nowDay) + noticeDays + u.extensionDays;
      if (toldDay !== null && run.nowDay >= dueDay && !postponed) {
        // The passkey was checked above on this very observation: enforcement never relies on an older one.
        enterAndNotify(x, 'enforced', 'NoticePeriodElapsed', explain('NoticePeriodElapsed', { days: noticeDays + u.extensionDays, alreadyMember: ou.inEnforcementGroup }));
        return out;
      }
      if (!u.stageNotified) {
        notify(x, 'enforcementNotice', 'enforcementNotice', 'StageEntered', explain('StageEntered', { stage: 'enforcementNotice', devices: null, date: date(run, dueDay) }), dueDay);
      } else if (!postponed && resendUndelivered(x, u, 'enforcementNotice', toldDay === null, dueDay)) {
        // sent again
      } else if (!postponed && u.postponedUntil !== null &&
        (u.stageLastNotifiedAt === null || dayOf(u.stageLastNotifiedAt) < dayOf(u.postponedUntil))) {
        notify(x, 'enforcementNotice', 'enforcementNoticeReminder', 'PostponementEnded', explain('PostponementEnded', { date: date(run, dueDay) }), dueDay);
      }
      return out;
    }
    case 'enforced': {
      const before = out.length;
      if (!u.stageNotified) notify(x, 'enforced', 'enforced', 'StageEntered', explain('StageEntered', { stage: 'enforced', devices: null, date: '' }), null);
      // Enforcement is done; its notice is retried a few times, not for ever.
      else if (u.delivery.attempts < UNREACHABLE_AFTER) resendUndelivered(x, u, 'enforced', false, null);
      // A notice due this run goes first; graduation waits for the next run rather than hold the notice behind the valve.
      if (!out.slice(before).some((d) => d.type === 'notify') && !run.blockedByPolicy && !outOfScope && hasPasskey) graduate(x, u);
      return out;
    }
    case 'graduated':
      // Never moved back: blocked sign-ins are the GraduatedSignInFailures alert above. No notice of its own.
      return out;
  }
}

/**
 * enforced → graduated, when the evidence of this run qualifies the user (see the diagram at the top). The group add
 * (unless already a member) goes first, like enforcement's.
 */
function graduate(x: Cursor, u: UserState): void {
  const { run, ou } = x;
  const g = run.graduation;
  if (g === null || !ou.inEnforcementGroup || u.enforcedAt === null) return;
  // Excluded and break-glass accounts are never targeted, so never here; checked again because this is where it matters.
  if (run.neverGraduate.has(ou.userId.toLowerCase()) || run.neverGraduate.has(ou.userPrincipalName.toLowerCase())) return;
  const enforcedDays = run.nowDay - dayOf(u.enforcedAt);
  if (enforcedDays < g.observedDays) return;
  const s = g.users[ou.userId];
  if (!s || s.reportOnlyFailure > 0 || s.reportOnlySuccess < 1) return;
  const alreadyMember = ou.inGraduatedGroup === true;
  if (!alreadyMember) {
    x.out.push({ type: 'addToGroup', userId: ou.userId, userPrincipalName: ou.userPrincipalName, stage: 'graduated', group: 'graduated', reason: 'Graduated', message: 'add to the graduated group' });
  }
  x.out.push({
    type: 'enterStage', userId: ou.userId, userPrincipalName: ou.userPrincipalName, stage: 'graduated', from: 'enforced', to: 'graduated', reason: 'Graduated',
    message: explain('Graduated', { enforcedDays, observedDays: g.observedDays, satisfied: s.reportOnlySuccess, alreadyMember }),
  });
}

/** Whether a raised alert's condition still holds for an enabled, readable user (AccountDisabled: no, or decide would not be here). */
function alertHolds(kind: AlertKind, c: { outOfScope: boolean; withoutPasskey: boolean; notInGroup: boolean; unreachable: boolean; graduatedFailures: boolean | null }): boolean {
  switch (kind) {
    case 'OutsideFido2PolicyScope': return c.outOfScope;
    case 'EnforcedWithoutPasskey': return c.withoutPasskey;
    case 'NotInEnforcementGroup': return c.notInGroup;
    case 'Unreachable': return c.unreachable;
    case 'AccountDisabled': return false;
    // Unknown this run (evidence not read): kept, never cleared on missing data.
    case 'GraduatedSignInFailures': return c.graduatedFailures !== false;
  }
}

function raise(x: Cursor, kind: AlertKind, message: string): void {
  if (x.u && x.u.alerts.includes(kind)) return;
  x.out.push({ type: 'raiseAlert', userId: x.ou.userId, userPrincipalName: x.ou.userPrincipalName, stage: x.current, kind, reason: kind, message });
}

/**
 * Sends the current stage's last notice again when it was not delivered: failed, or never sent (cancelled);
 * in doubt only when `inDoubtToo`. Enforcement notices pass it while the user has not been told: a possible
 * duplicate is better than enforcing someone who was never told. Other notices stay at most once when in
 * doubt: the user may well have it, and their reminders follow on schedule anyway. Never on the day of the
 * outcome: a rerun that day would meet the same refusal, and an in-doubt notice may just have arrived.
 * The new notice has the next sequence (a new key): the old key is never sent again. Returns whether it sent.
 */
function resendUndelivered(x: Cursor, u: UserState, stage: Stage, inDoubtToo: boolean, deadlineDay: number | null): boolean {
  const run = x.run;
  const d = u.delivery;
  if (run.campaign.spec.notifications.channel === 'none' || d.lastStage !== stage || d.lastKind === null || !d.settled || d.at === null) return false;
  const o = d.outcome;
  const outcome: UndeliveredOutcome | null = o === 'failed' || o === 'cancelled' || (o === 'inDoubt' && inDoubtToo) ? o : null;
  if (outcome === null || dayOf(d.at) >= run.nowDay) return false;
  // Not yet told of enforcement: whatever went missing, what is sent again is the enforcement notice itself.
  const kind: NotificationKind = stage === 'enforcementNotice' && inDoubtToo ? 'enforcementNotice' : d.lastKind;
  const devices = stage === 'deviceUpdate' ? x.r.devicesBelowMinimum : null;
  notify(x, stage, kind, 'NoticeNotDelivered', explain('NoticeNotDelivered', { stage, kind, outcome, devices, date: deadlineDay === null ? '' : date(run, deadlineDay) }), deadlineDay);
  return true;
}

function notify(x: Cursor, stage: Stage, kind: NotificationKind, reason: NotifyReason, message: string, deadlineDay: number | null): void {
  if (x.mute) return;
  const { run, ou } = x;
  const sequence = (x.u?.notifications.count[kind] ?? 0) + 1;
  const d: NotifyDecision = {
    type: 'notify', userId: ou.userId, userPrincipalName: ou.userPrincipalName, stage, kind, sequence,
    key: notificationKey(run.campaign.metadata.name, run.state.generation, ou.userId, kind, sequence),
    channel: run.campaign.spec.notifications.channel,
    deadline: deadlineDay === null ? null : date(run, deadlineDay),
    reason, message,
  };
  if (stage === 'deviceUpdate') d.devices = x.r.devicesBelowMinimum;
  x.out.push(d);
}

// Entering a stage today: the group add first when enforcing, the move, then the stage's entry notice.
function enterAndNotify(x: Cursor, to: Exclude<Stage, 'graduated'>, reason: StageReason, message: string): void {
  const { run, ou } = x;
  const c = run.campaign;
  if (to === 'enforced' && !ou.inEnforcementGroup) {
    x.out.push({ type: 'addToGroup', userId: ou.userId, userPrincipalName: ou.userPrincipalName, stage: 'enforced', reason, message: 'add to the enforcement group' });
  }
  x.out.push({ type: 'enterStage', userId: ou.userId, userPrincipalName: ou.userPrincipalName, stage: to, from: x.current, to, reason, message });
  const deadline = to === 'enforced' ? null : run.nowDay + (to === 'enforcementNotice' ? c.spec.stages.enforcement.noticeDays : c.spec.stages[to].gracePeriodDays);
  notify(x, to, to, 'StageEntered', explain('StageEntered', { stage: to, devices: x.r.devicesBelowMinimum, date: deadline === null ? '' : date(run, deadline) }), deadline);
}

function graceStage(x: Cursor, u: UserState, stage: 'deviceUpdate' | 'passkeyRegistration', sinceDay: number, postponed: boolean): void {
  // No reminders while postponed; the deadline moved with the postponement so grace cannot end meanwhile.
  if (postponed) return;
  const run = x.run;
  const { gracePeriodDays, reminderEveryDays } = run.campaign.spec.stages[stage];
  const deadlineDay = sinceDay + gracePeriodDays + u.extensionDays;
  if (run.nowDay >= deadlineDay) {
    if (!u.exceededGrace) {
      x.out.push({
        type: 'flagGraceExceeded', userId: x.ou.userId, userPrincipalName: x.ou.userPrincipalName, stage,
        deadline: new Date(deadlineDay * DAY_MS).toISOString(),
        reason: 'GraceExceeded', message: explain('GraceExceeded', { stage, days: run.nowDay - sinceDay }),
      });
    }
    return;
  }
  if (!u.stageNotified) {
    notify(x, stage, stage, 'StageEntered', explain('StageEntered', { stage, devices: null, date: date(run, deadlineDay) }), deadlineDay);
    return;
  }
  if (resendUndelivered(x, u, stage, false, deadlineDay)) return;
  const last = u.stageLastNotifiedAt === null ? sinceDay : dayOf(u.stageLastNotifiedAt);
  if (run.nowDay - last >= reminderEveryDays) {
    notify(x, stage, `${stage}Reminder`, 'ReminderDue', explain('ReminderDue', { stage, days: run.nowDay - sinceDay, deadline: date(run, deadlineDay) }), deadlineDay);
  }
}

/** The ledger events that applying `decisions` records (warnings record nothing). */
export function decisionsToEvents(decisions: readonly Decision[], opts: { runId: string; now: string }): LedgerEvent[] {
  const out: LedgerEvent[] = [];
  const v = LEDGER_VERSION;
  const { now: at, runId } = opts;
  // Literal objects, not `{ ...base }`: spreading is an order of magnitude slower at 100k users.
  for (const d of decisions) {
    switch (d.type) {
      case 'enterStage':
        out.push({ v, type: 'userEnteredStage', at, runId, userId: d.userId, userPrincipalName: d.userPrincipalName, from: d.from, to: d.to, reason: d.reason, message: d.message });
        break;
      case 'notify':
        out.push({ v, type: 'notificationSent', at, runId, userId: d.userId, userPrincipalName: d.userPrincipalName, key: d.key, kind: d.kind, stage: d.stage, sequence: d.sequence });
        break;
      case 'flagGraceExceeded':
        out.push({ v, type: 'graceExceeded', at, runId, userId: d.userId, userPrincipalName: d.userPrincipalName, stage: d.stage, deadline: d.deadline });
        break;
      case 'addToGroup':
        if (d.group === 'graduated') out.push({ v, type: 'addedToGroup', at, runId, userId: d.userId, userPrincipalName: d.userPrincipalName, group: 'graduated' });
        else out.push({ v, type: 'addedToGroup', at, runId, userId: d.userId, userPrincipalName: d.userPrincipalName });
        break;
      case 'leave':
        out.push({ v, type: 'leftCampaign', at, runId, userId: d.userId, userPrincipalName: d.userPrincipalName, from: d.from, reason: d.reason, message: d.message });
        break;
      case 'raiseAlert':
        out.push({ v, type: 'alertRaised', at, runId, userId: d.userId, userPrincipalName: d.userPrincipalName, kind: d.kind, message: d.message });
        break;
      case 'clearAlert':
        out.push({ v, type: 'alertCleared', at, runId, userId: d.userId, userPrincipalName: d.userPrincipalName, kind: d.kind, message: d.message });
        break;
      case 'warn':
        break;
    }
  }
  return out;
}
