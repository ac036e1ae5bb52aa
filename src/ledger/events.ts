// Ledger events: the one typed union every writer and reader of the ledger uses. One JSON object per line
// (codec.ts), append-only, schema-versioned (`v`). Every user event names userId and userPrincipalName so an
// auditor can read the ledger without a lookup. Object types, not interfaces: an event is a plain JSON record,
// so it is assignable to Record<string, unknown> where code reads fields generically.
import type { AlertKind, NotificationKind, Stage } from '../contracts/vocabulary';

/** The event schema version: the highest this build reads, and the one it writes. */
export const LEDGER_VERSION = 1 as const;

type Base = {
  v: typeof LEDGER_VERSION;
  at: string;
};

type UserBase = Base & {
  userId: string;
  userPrincipalName: string;
  /** The reconcile run that wrote it; absent for events from `campaign postpone`. */
  runId?: string;
};

export type RunStartedEvent = Base & {
  type: 'runStarted';
  runId: string;
  campaign: string;
  /** The campaign's spec.status during the run. */
  status: string;
  /** 1 when the run records intents before side effects (src/reconcile/intents.ts); absent in older ledgers. */
  intents?: 1;
  /**
   * The Entra tenant the run read (ledger identity, DESIGN §10). Typed but not written yet: no run reads the
   * tenant id today (there is no organization read), and a new Graph read was not worth it for this alone.
   */
  tenantId?: string;
  /** The operator started this ledger with `reconcile --new-ledger` while the enforcement group had members. */
  newLedger?: true;
  /** Hex SHA-256 of the campaign file's bytes as the run loaded them (DESIGN §10); absent in older ledgers. */
  campaignSha256?: string;
  /** The git commit the campaign file came from, when known (a clean checkout, or the deploy's commit). */
  campaignCommit?: string;
  /** The campaign file's path in that repository (forward slashes), when the commit is known. */
  campaignFile?: string;
};

export type RunFinishedEvent = Base & {
  type: 'runFinished';
  runId: string;
  ok: boolean;
  /** Free-form counts for the audit trail (moved, notified, groupAdds, …). */
  counts?: Record<string, number>;
  error?: string;
  /** Written by a later run for a run that never finished (killed, crashed): its open intents were reconciled. */
  interrupted?: boolean;
  /** The run that closed an interrupted run. */
  closedBy?: string;
};

export type UserEnteredStageEvent = UserBase & {
  type: 'userEnteredStage';
  /** null when the user enters the campaign. */
  from: Stage | null;
  to: Stage;
  reason: string;
  message: string;
};

export type NotificationSentEvent = UserBase & {
  type: 'notificationSent';
  /** `campaign:userId:kind:sequence`, the channel's idempotency key. */
  key: string;
  kind: NotificationKind;
  stage: Stage;
  /** 1-based count of notifications of this kind to this user. */
  sequence: number;
  /** What a recovery run needs to render the same notice again (absent in older ledgers). */
  channel?: 'teams' | 'email' | 'none';
  deadline?: string | null;
  devices?: Array<{ displayName: string; platform: string; version: string; minimum: string }>;
};

/**
 * Written just before a group of notifications is handed to Graph: from here on each of them may
 * have been delivered. A notificationSent without a dispatch was certainly not sent.
 */
export type NotificationDispatchEvent = Base & {
  type: 'notificationDispatch';
  runId: string;
  channel: 'teams' | 'email';
  keys: string[];
  /** Email: the mailbox the group was sent from (counts against its sending limits). Absent on older lines. */
  sender?: string;
};

/**
 * What became of a recorded notification. delivered, failed and cancelled are final; notSent means
 * Graph refused it before executing it (429/503/401), so a later run sends it; inDoubt means the
 * request may have executed but no answer came back: final for Teams (no read API, never resent),
 * for email the next run looks for it in the sender's Sent Items.
 */
export const NOTIFICATION_OUTCOMES = ['delivered', 'failed', 'cancelled', 'notSent', 'inDoubt'] as const;
export type NotificationOutcome = (typeof NOTIFICATION_OUTCOMES)[number];

export type NotificationOutcomeEvent = UserBase & {
  type: 'notificationOutcome';
  key: string;
  channel: 'teams' | 'email' | 'none';
  outcome: NotificationOutcome;
  /** HTTP status of the answer; 0 when none came (time-out, reset). */
  status?: number;
  /** How a recovery run settled it: found in Sent Items, sent again, or nothing to check. */
  recovered?: 'sentItems' | 'resent';
  detail?: string;
};

/** Written before the POST members/$ref that adds a user to the enforcement group. */
export type GroupAddIntentEvent = UserBase & {
  type: 'groupAddIntent';
  groupId: string;
};

/**
 * What became of a group-add intent: added (the write succeeded or the user was already a member),
 * failed (the user makes no move this run), rolledBack (a recovery run found the user in the group
 * although the ledger never enforced them, and the decision no longer holds), superseded (nothing to undo).
 */
export type GroupAddOutcomeEvent = UserBase & {
  type: 'groupAddOutcome';
  groupId: string;
  outcome: 'added' | 'failed' | 'rolledBack' | 'superseded';
  detail?: string;
};

export type PostponedEvent = UserBase & {
  type: 'postponed';
  stage: Stage;
  until: string;
  /** How many times the user has postponed this stage, this one included. */
  count: number;
  /** Days the deadline moved. */
  days: number;
  /** Id of the signed link or request the user postponed through, when there is one. */
  tokenId?: string;
};

export type GraceExceededEvent = UserBase & {
  type: 'graceExceeded';
  stage: Stage;
  /** The deadline that passed (ISO, start of the UTC day). */
  deadline: string;
};

export type AddedToGroupEvent = UserBase & {
  type: 'addedToGroup';
  /** true when observe already saw the user in the group and no write was needed. */
  alreadyMember?: boolean;
  /** The graduated group of a graduated campaign; absent: the enforcement group. */
  group?: 'graduated';
};

export type LeftCampaignEvent = UserBase & {
  type: 'leftCampaign';
  from: Stage | null;
  reason: string;
  message: string;
};

export type AlertRaisedEvent = UserBase & {
  type: 'alertRaised';
  kind: AlertKind;
  message: string;
};

export type AlertClearedEvent = UserBase & {
  type: 'alertCleared';
  kind: AlertKind;
  message: string;
};

/**
 * Onboarding (Temporary Access Pass). A pass was created for the user and mailed to their manager. The pass itself
 * is a secret and is never recorded: only that it was issued, how long it is valid and to whom it went.
 */
export type OnboardingPassIssuedEvent = UserBase & {
  type: 'onboardingPassIssued';
  /** The temporaryAccessPassAuthenticationMethod's id (not the pass). */
  methodId: string;
  lifetimeMinutes: number;
  usableOnce: boolean;
  /** When the pass becomes usable and when it stops being usable (ISO). */
  startDateTime: string;
  expiresAt: string;
  /** The manager the pass was mailed to. */
  deliveredTo: { managerId: string; managerUpn: string };
};

/**
 * Written just before the POST that creates a user's pass. Closed by onboardingPassIssued (the pass was created and
 * mailed) or onboardingPassOutcome. Left open by a run that died: the next run deletes any pass the user holds that
 * was created from this intent on (its delivery cannot be confirmed) and records the outcome `revoked`.
 */
export type OnboardingPassIntentEvent = UserBase & {
  type: 'onboardingPassIntent';
  managerId: string;
};

/** What became of a pass intent that did not end with onboardingPassIssued (never the pass). */
export type OnboardingPassOutcomeEvent = UserBase & {
  type: 'onboardingPassOutcome';
  /** failed: no pass exists; revoked: a pass was created and then deleted (not delivered, or delivery not confirmed). */
  outcome: 'failed' | 'revoked';
  methodId?: string;
  detail?: string;
};

/** Why a user who needs an onboarding pass was left to the helpdesk instead of being mailed one. */
export const ONBOARDING_QUEUE_REASONS = ['helpdesk', 'noManager', 'managerUnreadable', 'managerNoMailbox', 'passRefused'] as const;
export type OnboardingQueueReason = (typeof ONBOARDING_QUEUE_REASONS)[number];

/** The user needs an onboarding pass and is in the helpdesk queue: no pass was created by the job. */
export type OnboardingQueuedEvent = UserBase & {
  type: 'onboardingQueued';
  reason: OnboardingQueueReason;
};

/** A pass issued to the user expired while the user still had no passkey. */
export type OnboardingPassExpiredEvent = UserBase & {
  type: 'onboardingPassExpired';
  methodId: string;
  expiresAt: string;
};

export type OnboardingEvent = OnboardingPassIssuedEvent | OnboardingQueuedEvent | OnboardingPassExpiredEvent;

export type CampaignArchivedEvent = Base & {
  type: 'campaignArchived';
  /** Where the archived ledger went (store-specific path or blob name). */
  archive?: string;
  reason?: string;
};

/** Starts a new generation: per-user state is cleared; enforced users stay in the group. */
export type CampaignResetEvent = Base & {
  type: 'campaignReset';
  generation: number;
  reason?: string;
};

/**
 * Exemption facts (issue #11). An exemption entry is one item of spec.exclusions.breakGlass, .users or .groups,
 * as written in the campaign file. Campaign-level records: they carry no userId, so the stage fold never mistakes
 * an exempt account for a campaign user.
 */
export const EXEMPTION_LISTS = ['breakGlass', 'users', 'groups'] as const;
export type ExemptionList = (typeof EXEMPTION_LISTS)[number];

/**
 * A break-glass or excluded-user entry resolved to this account. Written the first time an entry resolves and
 * again whenever the account it resolves to, or that account's UPN, changes. Every object id ever recorded
 * stays excluded from enforcement for the campaign's life, even while its entry does not resolve.
 */
export type ExemptionResolvedEvent = Base & {
  runId: string;
  type: 'exemptionResolved';
  list: 'breakGlass' | 'users';
  /** The entry as written in the campaign file (a UPN or an object id). */
  entry: string;
  objectId: string;
  userPrincipalName: string;
  /** The UPN entry this object-id entry replaced; the run checked that the ledger recorded this id for it. */
  replaces?: string;
};

/** An entry moved to spec.exclusions.retired: written once, by the first run that reads the marker. */
export type ExemptionRetiredEvent = Base & {
  runId: string;
  type: 'exemptionRetired';
  list: ExemptionList;
  entry: string;
  /** Who retired it, as the marker says (the marker is reviewed in the pull request that adds it). */
  by: string;
  reason: string;
  /** The object ids the ledger recorded for the entry: they stay excluded from enforcement. */
  objectIds: string[];
};

/** Why an exemption entry could not be established this run. */
export const EXEMPTION_PROBLEMS = ['notFound', 'replacedByOtherId'] as const;
export type ExemptionProblemKind = (typeof EXEMPTION_PROBLEMS)[number];

/**
 * An exemption entry this run could not establish, so the run stopped without moving anyone (it ends with
 * runFinished ok: false). status shows the last run's entries as the campaign alert ExemptionUnresolved.
 */
export type ExemptionUnresolvedEvent = Base & {
  runId: string;
  type: 'exemptionUnresolved';
  list: ExemptionList;
  entry: string;
  /** notFound: no account (or group) answers to the entry; replacedByOtherId: a recorded UPN entry is gone and no entry names its recorded id. */
  problem: ExemptionProblemKind;
  /** The account the ledger recorded for the entry, when there is one. */
  recordedObjectId?: string;
  /** The problem and its fix, as reconcile printed them. */
  message: string;
};

export type ExemptionEvent = ExemptionResolvedEvent | ExemptionRetiredEvent | ExemptionUnresolvedEvent;

export type UserEvent =
  | UserEnteredStageEvent
  | NotificationSentEvent
  | PostponedEvent
  | GraceExceededEvent
  | AddedToGroupEvent
  | LeftCampaignEvent
  | AlertRaisedEvent
  | AlertClearedEvent
  | OnboardingEvent;

/** Crash-safety records: intents before side effects and their outcomes. The stage fold ignores them. */
export type IntentEvent = NotificationDispatchEvent | NotificationOutcomeEvent | GroupAddIntentEvent | GroupAddOutcomeEvent | OnboardingPassIntentEvent | OnboardingPassOutcomeEvent;

export type LedgerEvent = RunStartedEvent | RunFinishedEvent | UserEvent | CampaignArchivedEvent | CampaignResetEvent | IntentEvent | ExemptionEvent;
export type LedgerEventType = LedgerEvent['type'];

/** The idempotency key of a notification: campaign (with generation after a reset), user, kind, sequence. */
export function notificationKey(campaign: string, generation: number, userId: string, kind: NotificationKind, sequence: number): string {
  // A slug cannot contain '.', so `name.g2` never collides with another campaign's name.
  const c = generation > 0 ? `${campaign}.g${generation}` : campaign;
  // join, not a template: one flat string. A template builds a chain of concatenations that a decision holds as it
  // is (several small strings per key), which a first run at a large tenant holds for every user.
  return [c, userId, kind, sequence].join(':');
}

export function isUserEvent(e: LedgerEvent): e is UserEvent {
  return 'userId' in e;
}
