// Every reason a decision can carry, with the sentence that explains it. Reasons are stable constants
// (tests, logs, the ledger and reports key on them); the sentence is for people. decide() builds every
// message through `explain`, so a reason cannot exist without its sentence or be misspelled.
import type { AlertKind, NotificationKind, Stage } from '../contracts/vocabulary';
import { describeDevices, type DeviceBelowMinimum } from './readiness';

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export const STAGE_LABEL: Record<Stage, string> = {
  deviceUpdate: 'device update',
  passkeyRegistration: 'passkey registration',
  enforcementNotice: 'enforcement notice',
  enforced: 'enforcement',
  graduated: 'graduated enforcement',
};

const EXCLUSION_FIELD = { breakGlass: 'spec.exclusions.breakGlass', user: 'spec.exclusions.users', group: 'spec.exclusions.groups' } as const;
const stays = (enforced: boolean) => (enforced ? ' (stays in the enforcement group)' : '');

/** Why a user enters a stage (enterStage, and the addToGroup that goes with entering enforced). */
const STAGE_REASONS = {
  AlreadyInEnforcementGroup: () => 'already a member of the enforcement group with a passkey registered',
  DeviceBelowMinimumOs: (p: { devices: DeviceBelowMinimum[] }) =>
    `${plural(p.devices.length, 'active device')} below the minimum OS: ${describeDevices(p.devices)}`,
  NoPasskeyRegistered: () => 'devices meet the minimum OS; no passkey registered',
  ReadyForEnforcement: (p: { noticeDays: number }) =>
    `devices meet the minimum OS and a passkey is registered; enforcement in ${plural(p.noticeDays, 'day')}`,
  DevicesUpdated: (p: { hasPasskey: boolean; noticeDays: number }) => p.hasPasskey
    ? `all active devices meet the minimum OS and a passkey is registered; enforcement in ${plural(p.noticeDays, 'day')}`
    : 'all active devices meet the minimum OS; no passkey registered yet',
  PasskeyRegistered: (p: { evidence: string; noticeDays: number }) =>
    `passkey registered (${p.evidence}); enforcement in ${plural(p.noticeDays, 'day')}`,
  PasskeyLost: () => 'no passkey registered any more; back to passkey registration',
  NoticePeriodElapsed: (p: { days: number; alreadyMember: boolean }) =>
    `enforcement notice of ${plural(p.days, 'day')} elapsed; ${p.alreadyMember ? 'already a member of' : 'added to'} the enforcement group`,
  Graduated: (p: GraduationEvidence) =>
    `enforced ${plural(p.enforcedDays, 'day')} ago; in the last ${plural(p.observedDays, 'day')} ${plural(p.satisfied, 'sign-in')} satisfied the report-only policy and none would have been blocked; ` +
    `${p.alreadyMember ? 'already a member of' : 'added to'} the graduated group (enabled policy), and stays in the enforcement group`,
};

/** What a graduation rests on: the user's own sign-ins under the report-only policy. */
export interface GraduationEvidence {
  enforcedDays: number;
  observedDays: number;
  /** Sign-ins with reportOnlySuccess for the campaign's report-only policy. */
  satisfied: number;
  alreadyMember: boolean;
}

/** Why a user leaves the campaign. */
const LEAVE_REASONS = {
  Excluded: (p: { exclusion: keyof typeof EXCLUSION_FIELD; wasEnforced: boolean }) =>
    `excluded by ${EXCLUSION_FIELD[p.exclusion]}; left the campaign${stays(p.wasEnforced)}`,
  LeftTargetSet: (p: { wasEnforced: boolean }) =>
    `no longer in the target set (no targeted role, group or user entry); left the campaign${stays(p.wasEnforced)}`,
};

/** What a stage's entry notice asks of the user (the StageEntered sentence without its "notified: "). */
function stageNotice(stage: Stage, devices: DeviceBelowMinimum[] | null, date: string): string {
  switch (stage) {
    case 'deviceUpdate':
      return devices && devices.length > 0 ? `update ${describeDevices(devices)} by ${date}` : `device update required by ${date}`;
    case 'passkeyRegistration':
      return `register a passkey by ${date}`;
    case 'enforcementNotice':
      return `phishing-resistant sign-in will be required from ${date}`;
    case 'enforced':
      return 'phishing-resistant sign-in is now required';
    case 'graduated':
      return 'phishing-resistant sign-in is now enforced by the enabled policy';
  }
}

/** How the last notice went, when it has to be sent again. */
export type UndeliveredOutcome = 'failed' | 'inDoubt' | 'cancelled';
const UNDELIVERED: Record<UndeliveredOutcome, string> = {
  failed: 'was not delivered (Graph refused it)',
  inDoubt: 'may not have arrived (Graph gave no answer)',
  cancelled: 'was never sent',
};

/** Why a notification goes out. */
const NOTIFY_REASONS = {
  StageEntered: (p: { stage: Stage; devices: DeviceBelowMinimum[] | null; date: string }) => `notified: ${stageNotice(p.stage, p.devices, p.date)}`,
  ReminderDue: (p: { stage: Stage; days: number; deadline: string }) =>
    `reminder: ${STAGE_LABEL[p.stage]} not done ${plural(p.days, 'day')} after first notice; deadline ${p.deadline}`,
  PostponementEnded: (p: { date: string }) => `postponement ended; enforcement on ${p.date}`,
  NoticeNotDelivered: (p: { stage: Stage; kind: NotificationKind; outcome: UndeliveredOutcome; devices: DeviceBelowMinimum[] | null; date: string }) =>
    p.kind.endsWith('Reminder')
      ? `the last reminder ${UNDELIVERED[p.outcome]}; sent again: ${STAGE_LABEL[p.stage]} not done; deadline ${p.date}`
      : `the last notice ${UNDELIVERED[p.outcome]}; sent again: ${stageNotice(p.stage, p.devices, p.date)}`,
};

/** Why a grace period is flagged as exceeded. */
const GRACE_REASONS = {
  GraceExceeded: (p: { stage: Stage; days: number }) => `${STAGE_LABEL[p.stage]} not done ${plural(p.days, 'day')} after first notice`,
};

/** Why a user is unreachable: no mailbox for an email campaign, or notices that keep failing. */
export type UnreachableWhy = { why: 'noMailbox' } | { why: 'undelivered'; attempts: number; enforced: boolean };

/** Alerts: raised with their kind as the reason, cleared with AlertCleared. */
const ALERT_REASONS = {
  EnforcedWithoutPasskey: () => 'enforced but no passkey registered any more: the user cannot satisfy the phishing-resistant policy; not removed automatically',
  OutsideFido2PolicyScope: () => 'not in scope of the FIDO2 (passkey) authentication method policy, so the user cannot register or use a passkey; add the user to its includeTargets',
  NotInEnforcementGroup: () => 'enforced but no longer a member of the enforcement group; not re-added automatically',
  Unreachable: (p: UnreachableWhy) => p.why === 'noMailbox'
    ? 'unreachable by email: the account has no mailbox (its mail attribute is empty), so no notice is sent and the user is held, never enforced without a delivered notice; give it a mailbox or exclude it'
    : `unreachable: the last ${plural(p.attempts, 'notice')} in a row ${p.attempts === 1 ? 'was' : 'were'} not delivered; ` +
      (p.enforced ? 'the user is already enforced, so no further notice is sent' : 'the user is held, never enforced without a delivered enforcement notice, and due notices keep being sent each day'),
  AccountDisabled: () => 'account is disabled: held in its stage with its deadline and postponements, contacted by nobody, until it is enabled again',
  GraduatedSignInFailures: (p: { failures: number; days: number; apps: readonly string[]; clientApps: readonly string[] }) =>
    `graduated, and the enabled policy blocked ${plural(p.failures, 'sign-in')} in the last ${plural(p.days, 'day')}` +
    `${p.apps.length ? ` (${p.apps.join(', ')}${p.clientApps.length ? `; ${p.clientApps.join(', ')}` : ''})` : ''}: ` +
    'the user may be locked out of those applications; not removed from any group automatically',
  AlertCleared: (p: { kind: AlertKind }) => ALERT_CLEARED[p.kind],
} satisfies Record<AlertKind | 'AlertCleared', unknown>;

const ALERT_CLEARED: Record<AlertKind, string> = {
  EnforcedWithoutPasskey: 'a passkey is registered again',
  OutsideFido2PolicyScope: 'now in scope of the FIDO2 (passkey) authentication method policy',
  NotInEnforcementGroup: 'a member of the enforcement group again',
  Unreachable: 'reachable again: a notice was delivered, or the account has a mailbox again',
  AccountDisabled: 'the account is enabled again; the user continues from the stage it was held in',
  GraduatedSignInFailures: 'the newest sign-in under the enabled policy succeeded, and no legacy client is blocked in the observation window any more',
};

/** Holds: the observation says nothing may move (for one user, or for the whole campaign). */
const WARN_REASONS = {
  CampaignReadErrors: (p: { errors: readonly string[] }) =>
    `no user moves this run: ${plural(p.errors.length, 'campaign-level Graph read')} failed (${p.errors[0]})`,
  Fido2PolicyDisabled: () =>
    'the FIDO2 (passkey) authentication method policy is disabled: nobody can register or use a passkey, so no user moves until it is enabled',
  ReadErrors: (p: { errors: readonly string[] }) =>
    `no move this run: ${plural(p.errors.length, 'Graph read')} failed for this user (${p.errors[0]})`,
  NotificationsOff: () =>
    'spec.notifications.channel is none: this tool notifies nobody, so tell users another way; enforcement follows noticeDays after a user enters the enforcement notice stage',
  GraduationUnavailable: (p: { cause: string }) =>
    `nobody graduates this run: ${p.cause}`,
  PasskeyUnverifiable: () =>
    'no move this run: the FIDO2 policy restricts AAGUIDs but the user\'s fido2Methods were not read, so the passkey cannot be checked',
};

const MESSAGES = { ...STAGE_REASONS, ...LEAVE_REASONS, ...NOTIFY_REASONS, ...GRACE_REASONS, ...ALERT_REASONS, ...WARN_REASONS };

export type StageReason = keyof typeof STAGE_REASONS;
export type LeaveReason = keyof typeof LEAVE_REASONS;
export type NotifyReason = keyof typeof NOTIFY_REASONS;
export type GraceReason = keyof typeof GRACE_REASONS;
export type AlertReason = keyof typeof ALERT_REASONS;
export type WarnReason = keyof typeof WARN_REASONS;
export type Reason = keyof typeof MESSAGES;

/** Every reason constant, for tests and documentation. */
export const REASONS = Object.keys(MESSAGES) as Reason[];

type Params<R extends Reason> = Parameters<(typeof MESSAGES)[R]>;

/** The sentence for a reason. */
export function explain<R extends Reason>(reason: R, ...params: Params<R>): string {
  return (MESSAGES[reason] as (...p: Params<R>) => string)(...params);
}
