// Ledger events: one JSON object per line, append-only, schema-versioned (`v: 1`). Every user
// event names userId and userPrincipalName so an auditor can read the ledger without a lookup.
import type { Stage } from './types';

export const LEDGER_VERSION = 1 as const;

/** Notification kinds: the stage's entry notice, its reminders, and the one sent on enforcement. */
export const NOTIFICATION_KINDS = [
  'deviceUpdate',
  'deviceUpdateReminder',
  'passkeyRegistration',
  'passkeyRegistrationReminder',
  'enforcementNotice',
  'enforcementNoticeReminder',
  'enforced',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Conditions reported once per episode (raised, then cleared when they stop holding). */
export const ALERT_KINDS = ['EnforcedWithoutPasskey', 'OutsideFido2PolicyScope', 'NotInEnforcementGroup'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

interface Base {
  v: typeof LEDGER_VERSION;
  at: string;
}

interface UserBase extends Base {
  userId: string;
  userPrincipalName: string;
  /** The reconcile run that wrote it; absent for events from `campaign postpone`. */
  runId?: string;
}

export interface RunStartedEvent extends Base {
  type: 'runStarted';
  runId: string;
  campaign: string;
  /** The campaign's spec.status during the run. */
  status: string;
}

export interface RunFinishedEvent extends Base {
  type: 'runFinished';
  runId: string;
  ok: boolean;
  /** Free-form counts for the audit trail (moved, notified, groupAdds, …). */
  counts?: Record<string, number>;
  error?: string;
}

export interface UserEnteredStageEvent extends UserBase {
  type: 'userEnteredStage';
  /** null when the user enters the campaign. */
  from: Stage | null;
  to: Stage;
  reason: string;
  message: string;
}

export interface NotificationSentEvent extends UserBase {
  type: 'notificationSent';
  /** `campaign:userId:kind:sequence`, the channel's idempotency key. */
  key: string;
  kind: NotificationKind;
  stage: Stage;
  /** 1-based count of notifications of this kind to this user. */
  sequence: number;
}

export interface PostponedEvent extends UserBase {
  type: 'postponed';
  stage: Stage;
  until: string;
  /** How many times the user has postponed this stage, this one included. */
  count: number;
  /** Days the deadline moved. */
  days: number;
  /** Id of the signed link or request the user postponed through, when there is one. */
  tokenId?: string;
}

export interface GraceExceededEvent extends UserBase {
  type: 'graceExceeded';
  stage: Stage;
  /** The deadline that passed (ISO, start of the UTC day). */
  deadline: string;
}

export interface AddedToGroupEvent extends UserBase {
  type: 'addedToGroup';
  /** true when observe already saw the user in the group and no write was needed. */
  alreadyMember?: boolean;
}

export interface LeftCampaignEvent extends UserBase {
  type: 'leftCampaign';
  from: Stage | null;
  reason: string;
  message: string;
}

export interface AlertRaisedEvent extends UserBase {
  type: 'alertRaised';
  kind: AlertKind;
  message: string;
}

export interface AlertClearedEvent extends UserBase {
  type: 'alertCleared';
  kind: AlertKind;
  message: string;
}

export interface CampaignArchivedEvent extends Base {
  type: 'campaignArchived';
  /** Where the archived ledger went (store-specific path or blob name). */
  archive?: string;
  reason?: string;
}

/** Starts a new generation: per-user state is cleared; enforced users stay in the group. */
export interface CampaignResetEvent extends Base {
  type: 'campaignReset';
  generation: number;
  reason?: string;
}

export type UserEvent =
  | UserEnteredStageEvent
  | NotificationSentEvent
  | PostponedEvent
  | GraceExceededEvent
  | AddedToGroupEvent
  | LeftCampaignEvent
  | AlertRaisedEvent
  | AlertClearedEvent;

export type LedgerEvent = RunStartedEvent | RunFinishedEvent | UserEvent | CampaignArchivedEvent | CampaignResetEvent;
export type LedgerEventType = LedgerEvent['type'];

/** The idempotency key of a notification: campaign (with generation after a reset), user, kind, sequence. */
export function notificationKey(campaign: string, generation: number, userId: string, kind: NotificationKind, sequence: number): string {
  // A slug cannot contain '.', so `name.g2` never collides with another campaign's name.
  const c = generation > 0 ? `${campaign}.g${generation}` : campaign;
  return `${c}:${userId}:${kind}:${sequence}`;
}

export function isUserEvent(e: LedgerEvent): e is UserEvent {
  return 'userId' in e;
}
