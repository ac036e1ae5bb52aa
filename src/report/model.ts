// The campaign overview as one plain model: the ledger folded, the last observation assessed, the
// projections. Status text, JSON, Markdown and the HTML dashboard all render this, so they cannot disagree.
import type { Campaign, CampaignStatus } from '../campaign/types';
import { ALERT_KINDS, type AlertKind } from '../contracts/vocabulary';
import type { ExemptionUnresolvedEvent, LedgerEvent } from '../ledger/events';
import { estimateAssumptions, estimateEnd, outlook, stuckActions, stuckMessage, stuckUsers } from '../engine/estimate';
import { assessReadiness, describeDevices, readinessContext, type Readiness, type ReadinessCategory, type ReadinessContext } from '../engine/readiness';
import { inCampaign, type CampaignState, type DeliveryOutcome, type DeliverySnapshot, type DeliverySummary, type UserState } from '../engine/state';
import { dateOfDay, dayOf, DAY_MS } from '../engine/time';
import { STAGES, type Observation, type ObservedUser, type Stage } from '../engine/types';
import { countStages, type RunCounts } from '../reconcile/result';
import { parseImpactSnapshot, withAge, type ImpactStatus } from './impact';
import { foldReport, type ReportReplay } from './fold';
import { onboardingFromFold, type OnboardingStatus } from './onboarding';
import { enforcedOrLater, GRADUATED, hasStage } from './stages';

export { STAGE_TITLE, stageTitle } from './stages';

/** One row of the per-user detail (the six fields of `status --json` users[] first, then compatible extensions). */
export interface StatusUser {
  userId: string;
  userPrincipalName: string;
  /** null for a targeted user who has not entered the campaign (held: unread, disabled, outside the FIDO2 policy). */
  stage: Stage | null;
  stageSince: string | null;
  exceededGrace: boolean;
  postponedUntil: string | null;
  displayName: string | null;
  /** YYYY-MM-DD on which the current stage's grace period or notice ends; null when enforced or not in the campaign. */
  deadline: string | null;
  /** The deadline that passed (ISO) when exceededGrace; the seed's "Exceeded grace period" column. */
  exceededGraceAt: string | null;
  /** Readiness in the last observation; 'unassessed' when its reads failed, null when not observed. */
  readiness: ReadinessCategory | 'unassessed' | null;
  /** Active devices below the minimum OS in the last observation, e.g. "iOS 16.7.10 on Ada's iPhone (minimum 17.0)". */
  devicesBelowMinimum: string[];
  /** Alerts currently raised in the ledger, plus OutsideFido2PolicyScope when the last observation says so. */
  alerts: AlertKind[];
  accountEnabled: boolean | null;
  /** The last run could not read this user. */
  unread: boolean;
  /**
   * How the user's notices went, as of the last run: the latest notice (key, kind), its outcome (delivered,
   * failed, inDoubt, pending, …) and when, undelivered notices in a row, and when the current stage's notice
   * was first delivered. null when no notice was recorded, or no run wrote the delivery snapshot yet.
   */
  delivery: DeliverySummary | null;
  /** The user's mail address in the last observation (for the contact list); null when unknown. */
  mail: string | null;
}

export type AlertCode =
  | AlertKind
  | 'GraceExceeded'
  | 'UnreadUsers'
  | 'DisabledAccounts'
  | 'Fido2PolicyDisabled'
  | 'ObservationFailed'
  | 'ExemptionUnresolved'
  | 'LastRunFailed'
  | 'LastRunUnfinished'
  | 'NoObservation'
  | 'StaleRun';

export interface ReportAlert {
  code: AlertCode;
  severity: 'error' | 'warning';
  /** One sentence that stands on its own (count included). */
  message: string;
  /** The users concerned, sorted by UPN; empty for campaign-level alerts. */
  users: Array<{ userId: string; userPrincipalName: string }>;
}

/** Users per stage at the end of a day: one number per stage of the vocabulary (graduated too, once it has it). */
export type DayCounts = {
  /** YYYY-MM-DD (UTC). */
  date: string;
  exceededGrace: number;
  /** Reconcile runs that finished that day (0: the counts carry over from the day before). */
  runs: number;
} & Record<Stage, number>;

export interface ChangedUser {
  userId: string;
  userPrincipalName: string;
}

/** What the last reconcile run changed (events carrying its runId) and what users did since the run before. */
export interface RunChanges {
  runId: string;
  at: string;
  ok: boolean | null;
  transitions: Array<ChangedUser & { from: Stage | null; to: Stage | null; reason: string }>;
  notifications: number;
  groupAdds: number;
  graceExceeded: Array<ChangedUser & { stage: Stage }>;
  alertsRaised: Array<ChangedUser & { kind: AlertKind }>;
  alertsCleared: Array<ChangedUser & { kind: AlertKind }>;
  /** Postponements recorded between the previous run and the end of this one. */
  postponed: Array<ChangedUser & { stage: Stage; until: string }>;
  /** Onboarding passes the run issued, users it queued for the helpdesk, passes it found expired unused (never a pass). */
  onboarding: { issued: number; queued: number; expired: number };
}

export interface StatusReport {
  campaign: string;
  status: CampaignStatus;
  counts: RunCounts;
  users: StatusUser[];
  estimatedEnd: string | null;
  outlook: string[];
  description: string;
  /** When the data shown was observed (the last observation snapshot, else the last run); null before any run. */
  asOf: string | null;
  runs: number;
  lastRun: { runId: string; startedAt: string; finishedAt: string | null; ok: boolean | null } | null;
  /**
   * The seed's three readiness categories over the targeted users of the last observation who are not yet
   * enforced (`unassessed`: their reads failed); `enforced` counts the rest, already done, in no category.
   */
  readiness: { needsDeviceUpdate: number; needsPasskey: number; ready: number; unassessed: number; enforced: number };
  alerts: ReportAlert[];
  lastRunChanges: RunChanges | null;
  /** Stage counts at the end of each UTC day from the first run to the last: the dashboard's stacked chart. */
  daily: DayCounts[];
  /** Notes on the inputs (no observation yet, ledger read warnings). */
  warnings: string[];
  /**
   * Notice delivery over the users in the campaign: the channel, and how many users' latest notice ended how
   * (`unknown`: no notice recorded, or no delivery snapshot yet).
   */
  notices: { channel: Campaign['spec']['notifications']['channel']; latest: Record<DeliveryOutcome, number>; unknown: number };
  /**
   * Users past a grace period, who make no progress until they act: how many, when the oldest grace period
   * ended (ISO), one sentence on what that means for the end date, and what the admin can do (one sentence
   * each). null when nobody is past a grace period. While it is set, estimatedEnd is the earliest end.
   */
  stuck: { users: number; oldestSince: string | null; message: string; actions: string[] } | null;
  /** One sentence stating what the estimated end assumes. */
  estimateAssumptions: string;
  /** How the campaign enforces (spec.enforcement): report-only or graduated, the policy's state and the gate. */
  enforcement: { mode: Campaign['spec']['enforcement']['mode']; policyState: Campaign['spec']['enforcement']['policyState']; enableWhen: Campaign['spec']['enforcement']['enableWhen'] };
  /**
   * The last `campaign impact --record` (or a graduated campaign's reconcile) saved in the state: the
   * `campaign impact --json` object, its age in days and whether it is stale. null when none was recorded.
   */
  impact: ImpactStatus | null;
  /**
   * Onboarding passes (Temporary Access Pass): whether the campaign issues them and how, how many users need
   * one now (whether or not the feature is on), passes issued and expired, and the helpdesk queue. Never a pass.
   */
  onboarding: OnboardingStatus;
}

export interface ReportInput {
  campaign: Campaign;
  /** The ledger, oldest first. */
  events: readonly LedgerEvent[];
  /** The last run's observation snapshot; null when none was written yet. */
  observation: Observation | null;
  /** The last run's delivery snapshot (per-user notice outcomes, which the overview's events leave out). */
  delivery?: DeliverySnapshot | null;
  /** Wall clock, only to flag a scheduler that stopped running; omit for output that depends on the ledger alone. */
  now?: Date;
  ledgerWarnings?: string[];
  /** The `impact` snapshot as read from the state (checked here); null or absent when none was recorded. */
  impact?: unknown;
  /**
   * notificationSent events the reader counted instead of passing in `events`, per runId. The overview
   * needs only these counts, and leaving them out halves the work on a large ledger.
   */
  notificationsByRun?: ReadonlyMap<string, number>;
  /** The ledger already folded (a report checkpoint and the events after it): `events` and `notificationsByRun` are then not read. */
  replay?: ReportReplay;
}

/** A run is overdue after this long: the scheduler fires every 24 h. */
const STALE_AFTER_MS = 2 * DAY_MS;

/** Sorts in place by lower-case UPN, then id; keys computed once (100k users, ~1.7M comparisons). */
function sortByUpn(users: StatusUser[]): void {
  // Often in order already (the observation's order): then left as it is, which a stable sort would do too.
  const lower = users.map((u) => u.userPrincipalName.toLowerCase());
  let sorted = true;
  for (let i = 1; i < users.length && sorted; i++) {
    const a = lower[i - 1], b = lower[i];
    sorted = a < b || (a === b && users[i - 1].userId <= users[i].userId);
  }
  if (sorted) return;
  const keyed = users.map((u, i) => ({ k: lower[i], id: u.userId, u }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 0; i < keyed.length; i++) users[i] = keyed[i].u;
}

/** How far ahead of the last user found the next one is looked for among the state's users in order. */
const LOOKAHEAD = 16;
/** After this many observed users in a row not found there, the orders differ: every id is put in a map. */
const MAP_AFTER_MISSES = 64;

/**
 * The position of each observed user among the state's users as lists (UsersInOrder: state.users[id] is
 * users[at[i]]; -1 when the state has no such user), and 1 at each position found. The observation names users
 * mostly in the state's order (a run enters them in the order it observes them): each is looked for just after the
 * last one found. Those not there (not entered, entered later) are found by one pass over the keys at the end; when
 * many in a row are not there, the orders differ, and a map of every id finds the rest. Every position is that of a
 * key equal to the id, so the order only decides how fast.
 */
export function positionsOf(keys: readonly string[], observed: ReadonlyArray<Pick<ObservedUser, 'userId'>>): { at: Int32Array; found: Uint8Array } {
  const n = keys.length;
  const at = new Int32Array(observed.length).fill(-1);
  const found = new Uint8Array(n);
  const pending: number[] = [];
  let index: Map<string, number> | null = null;
  let misses = 0;
  let next = 0;
  for (let i = 0; i < observed.length; i++) {
    const id = observed[i].userId;
    const end = Math.min(n, next + LOOKAHEAD);
    let r = -1;
    for (let k = next; k < end; k++) {
      if (keys[k] === id) {
        r = k;
        break;
      }
    }
    if (r === -1 && index !== null) {
      r = index.get(id) ?? -1;
      if (r === -1) continue;
    }
    if (r === -1) {
      pending.push(i);
      if (++misses === MAP_AFTER_MISSES) {
        index = new Map();
        for (let k = 0; k < n; k++) index.set(keys[k], k);
      }
      continue;
    }
    misses = 0;
    at[i] = r;
    found[r] = 1;
    next = r + 1;
  }
  if (pending.length === 0) return { at, found };
  if (index !== null) {
    for (const i of pending) {
      const r = index.get(observed[i].userId);
      if (r === undefined) continue;
      at[i] = r;
      found[r] = 1;
    }
    return { at, found };
  }
  // The ids not found in order (the first time each is named), then every key once.
  const wanted = new Map<string, number>();
  const again: number[] = [];
  for (const i of pending) {
    const id = observed[i].userId;
    if (wanted.has(id)) again.push(i);
    else wanted.set(id, i);
  }
  for (let r = 0; r < n; r++) {
    const i = wanted.get(keys[r]);
    if (i === undefined) continue;
    at[i] = r;
    found[r] = 1;
  }
  for (const i of again) at[i] = at[wanted.get(observed[i].userId)!];
  return { at, found };
}

/** A stand-in observation for a ledger without a snapshot: every user in the campaign, nothing assessed. */
function observationFromState(name: string, state: CampaignState, at: string): Observation {
  const users: ObservedUser[] = [];
  for (const id in state.users) {
    const u = state.users[id];
    if (!inCampaign(u)) continue;
    users.push({ userId: u.userId, userPrincipalName: u.userPrincipalName, displayName: u.userPrincipalName, mail: null, accountEnabled: true, devices: [], methodsRegistered: [], fido2Methods: null, inFido2PolicyScope: null, inEnforcementGroup: false, readErrors: [] });
  }
  return { v: 1, campaign: name, at, fido2Policy: null, users, excluded: [], readErrors: [] };
}

// A literal, not a spread: this runs once per targeted user.
function leanUser(ou: ObservedUser, devices: ObservedUser['devices']): ObservedUser {
  return {
    userId: ou.userId, userPrincipalName: ou.userPrincipalName, displayName: ou.displayName, mail: ou.mail, accountEnabled: ou.accountEnabled, devices,
    methodsRegistered: ou.methodsRegistered, fido2Methods: ou.fido2Methods, inFido2PolicyScope: ou.inFido2PolicyScope,
    inEnforcementGroup: ou.inEnforcementGroup, readErrors: ou.readErrors,
  };
}

/** Days a stage lasts before its deadline; null for a stage without one (enforced and later). */
function stageDays(campaign: Campaign, stage: string): number | null {
  const s = campaign.spec.stages;
  switch (stage) {
    case 'deviceUpdate': return s.deviceUpdate.gracePeriodDays;
    case 'passkeyRegistration': return s.passkeyRegistration.gracePeriodDays;
    case 'enforcementNotice': return s.enforcement.noticeDays;
    default: return null;
  }
}

function deadlineOf(campaign: Campaign, u: UserState): string | null {
  if (!inCampaign(u)) return null;
  const days = stageDays(campaign, u.stage);
  return days === null ? null : dayDate(dayOf(u.stageSince) + days + u.extensionDays);
}

// Deadlines fall on a few dozen distinct days; formatting each once matters at 100k users.
const dayDates = new Map<number, string>();
function dayDate(day: number): string {
  let d = dayDates.get(day);
  if (d === undefined) dayDates.set(day, (d = dateOfDay(day)));
  return d;
}

// AccountDisabled is reported by DisabledAccounts (every disabled targeted account, entered or not). A kind
// missing here (a newer vocabulary) is still reported, as an error under its own name.
const ALERT_TEXT: Readonly<Record<string, { severity: ReportAlert['severity']; one: string; many: string }>> = {
  EnforcedWithoutPasskey: { severity: 'error', one: 'enforced user has no passkey any more and cannot satisfy the phishing-resistant policy', many: 'enforced users have no passkey any more and cannot satisfy the phishing-resistant policy' },
  NotInEnforcementGroup: { severity: 'error', one: 'enforced user is no longer in the enforcement group', many: 'enforced users are no longer in the enforcement group' },
  Unreachable: { severity: 'error', one: 'user is unreachable (no mailbox, or notices not delivered) and is held: never enforced without a delivered enforcement notice', many: 'users are unreachable (no mailbox, or notices not delivered) and are held: never enforced without a delivered enforcement notice' },
  OutsideFido2PolicyScope: { severity: 'warning', one: 'targeted user is outside the FIDO2 (passkey) policy scope and cannot register a passkey', many: 'targeted users are outside the FIDO2 (passkey) policy scope and cannot register a passkey' },
  GraduatedSignInFailures: { severity: 'error', one: 'graduated user has sign-ins failing under the enabled policy; they stay in the graduated group until someone acts', many: 'graduated users have sign-ins failing under the enabled policy; they stay in the graduated group until someone acts' },
};
/** The order the per-user alerts are listed in: the established four first, then any other kind of the vocabulary. */
const USER_ALERTS: readonly AlertKind[] = (() => {
  const first = ['EnforcedWithoutPasskey', 'NotInEnforcementGroup', 'Unreachable', 'OutsideFido2PolicyScope'];
  const rest = ALERT_KINDS.filter((k) => k !== 'AccountDisabled' && !first.includes(k));
  return [...ALERT_KINDS.filter((k) => first.includes(k)).sort((a, b) => first.indexOf(a) - first.indexOf(b)), ...rest];
})();

/**
 * What the estimate and the outlook read of a readiness without devices below the minimum or of unreadable version
 * (its category and whether a passkey counts), one object for every such user alike instead of one per user.
 */
const SHARED_READINESS = new Map<string, Readiness>();
function sharedReadiness(r: Readiness): Readiness {
  const key = `${r.category}:${String(r.hasPasskey)}`;
  let s = SHARED_READINESS.get(key);
  if (s === undefined) {
    s = Object.freeze({ category: r.category, hasPasskey: r.hasPasskey, passkeyEvidence: [], disallowedFido2: [], devicesBelowMinimum: [], unknownVersions: [], activeDevices: 0 });
    SHARED_READINESS.set(key, s);
  }
  return s;
}

/** The empty list of a row's devices or alerts: one for every row without any (a million rows at a large tenant). */
const NONE = Object.freeze([]) as unknown as never[];

/** Builds the overview. Pure: same ledger, observation and `now` → same report. */
export function buildReport(input: ReportInput): StatusReport {
  const { campaign } = input;
  const name = campaign.metadata.name;
  const folded = input.replay ?? foldReport(input.events, input.notificationsByRun);
  const { state, daily, exceededAt, lastRunChanges, unresolved } = folded;
  const warnings = [...(input.ledgerWarnings ?? [])];
  const lastRun = state.lastRun ? { ...state.lastRun } : null;
  const asOf = input.observation?.at ?? lastRun?.startedAt ?? null;
  const observation = input.observation ?? observationFromState(name, state, asOf ?? new Date(0).toISOString());
  // Each observed user's state, looked up once: the counts, the estimate and the outlook read it by position.
  const observed = observation.users;
  const stateOf: Array<UserState | undefined> = [];
  const userAt = (i: number): UserState | undefined => stateOf[i];
  // The state's users in the campaign (and their keys), in the state's order, collected once.
  const insideUsers: UserState[] = [];
  const insideIds: string[] = [];
  // A fold restored from a checkpoint holds its users as lists, in the record's order: read by position, no record.
  const inOrder = folded.usersInOrder?.() ?? null;
  // With them, the position of each of insideUsers.
  const insideAt: number[] = [];
  if (inOrder) {
    const { keys, users: list } = inOrder;
    for (let r = 0; r < list.length; r++) {
      if (!inCampaign(list[r])) continue;
      insideUsers.push(list[r]);
      insideIds.push(keys[r]);
      insideAt.push(r);
    }
  } else {
    for (const id in state.users) {
      const u = state.users[id];
      if (!inCampaign(u)) continue;
      insideUsers.push(u);
      insideIds.push(id);
    }
  }
  const positions = inOrder ? positionsOf(inOrder.keys, observed) : null;

  // Readiness as the last run saw it (its own time decides which devices were active).
  const readiness = { needsDeviceUpdate: 0, needsPasskey: 0, ready: 0, unassessed: 0, enforced: 0 };
  const users: StatusUser[] = [];
  // The users of the fold that the observation names and that are in the campaign (the only ones looked up below):
  // by object, one per key, which a set finds faster than a million ids.
  const seen = new Set<UserState>();
  const ctx = input.observation ? readinessContext(campaign, observation.fido2Policy, observation.at) : null;
  // From the snapshot only, never from the fold: the overview's events hold no notification lines.
  const deliveryOf = (id: string): DeliverySummary | null => input.delivery?.users[id] ?? null;
  // The same observation with only the devices that decide readiness, for estimateEnd and outlook below:
  // they assess every user again, and most devices meet the minimum. One lean user per observed user, in order;
  // `assessed` holds the readiness of each (undefined where none was assessed).
  const lean: ObservedUser[] = [];
  const assessed: Array<Readiness | undefined> = [];
  for (let i = 0; i < observed.length; i++) {
    const ou = observed[i];
    const u = positions ? (positions.at[i] === -1 ? undefined : inOrder!.users[positions.at[i]]) : state.users[ou.userId];
    stateOf.push(u);
    const inside = inCampaign(u);
    if (inside && !positions) seen.add(u);
    let category: StatusUser['readiness'] = null;
    let devices: string[] = NONE;
    // An enforced user is done: counted apart, never as "ready for enforcement".
    const enforced = inside && enforcedOrLater(u.stage);
    if (ctx && enforced) readiness.enforced++;
    if (ctx) {
      if (ou.readErrors.length > 0) {
        category = 'unassessed';
        if (!enforced) readiness.unassessed++;
      } else {
        const r = assessReadiness(ou, ctx);
        category = r.category;
        if (!enforced) readiness[r.category]++;
        if (r.devicesBelowMinimum.length > 0) devices = r.devicesBelowMinimum.map((d) => describeDevices([d]));
        const decisive = r.devicesBelowMinimum.length + r.unknownVersions.length;
        let l = ou;
        if (decisive !== ou.devices.length) {
          const keep = new Set<string>();
          for (const d of r.devicesBelowMinimum) keep.add(d.deviceId);
          for (const d of r.unknownVersions) keep.add(d.deviceId);
          l = leanUser(ou, decisive === 0 ? [] : ou.devices.filter((d) => keep.has(d.id)));
        }
        lean.push(l);
        // The lean user's readiness is this one (same devices below the minimum or unreadable, same methods)
        // but for activeDevices, which the estimate and the outlook do not read; for most users one shared alike.
        assessed.push(decisive === 0 ? sharedReadiness(r) : r);
      }
    }
    if (!ctx || ou.readErrors.length > 0) {
      lean.push(ou);
      assessed.push(undefined);
    }
    let alerts: AlertKind[] = inside && u.alerts.length > 0 ? [...u.alerts] : NONE;
    if (ou.inFido2PolicyScope === false && !alerts.includes('OutsideFido2PolicyScope')) alerts = [...alerts, 'OutsideFido2PolicyScope'];
    users.push({
      userId: ou.userId,
      userPrincipalName: ou.userPrincipalName,
      stage: inside ? u.stage : null,
      stageSince: inside ? u.stageSince : null,
      exceededGrace: inside ? u.exceededGrace : false,
      postponedUntil: inside ? u.postponedUntil : null,
      displayName: input.observation ? ou.displayName : null,
      deadline: inside ? deadlineOf(campaign, u) : null,
      exceededGraceAt: inside && u.exceededGrace ? (exceededAt.get(ou.userId) ?? null) : null,
      readiness: category,
      devicesBelowMinimum: devices,
      alerts,
      accountEnabled: input.observation ? ou.accountEnabled : null,
      unread: ou.readErrors.length > 0,
      delivery: deliveryOf(ou.userId),
      mail: input.observation ? ou.mail : null,
    });
  }
  const counts = countStages(state, observation, userAt);
  // Users still in the campaign by the ledger but missing from the observation (should not happen; shown, not hidden).
  for (let k = 0; k < insideUsers.length; k++) {
    const u = insideUsers[k];
    const id = insideIds[k];
    if (positions ? positions.found[insideAt[k]] === 1 : seen.has(u)) continue;
    users.push({
      userId: u.userId, userPrincipalName: u.userPrincipalName, stage: u.stage, stageSince: u.stageSince, exceededGrace: u.exceededGrace,
      postponedUntil: u.postponedUntil, displayName: null, deadline: deadlineOf(campaign, u), exceededGraceAt: u.exceededGrace ? (exceededAt.get(id) ?? null) : null,
      readiness: null, devicesBelowMinimum: NONE, alerts: u.alerts.length > 0 ? [...u.alerts] : NONE, accountEnabled: null, unread: false, delivery: deliveryOf(id), mail: null,
    });
  }
  sortByUpn(users);

  const alerts = collectAlerts(input, users, observation, lastRun, unresolved);
  const notices: StatusReport['notices'] = { channel: campaign.spec.notifications.channel, latest: { delivered: 0, failed: 0, inDoubt: 0, pending: 0, notSent: 0, cancelled: 0 }, unknown: 0 };
  for (const u of users) {
    if (u.stage === null) continue;
    if (u.delivery) notices.latest[u.delivery.outcome]++;
    else notices.unknown++;
  }
  const haveEstimate = input.observation !== null && asOf !== null;
  const leanObservation: Observation = { ...observation, users: lean };
  // The oldest deadline as the ledger's graceExceeded events recorded it; computed from the state only without one.
  const stuckNow = stuckUsers(campaign, state, insideUsers);
  let recorded: string | null = null;
  for (const u of users) {
    if (u.stage !== null && u.exceededGrace && u.exceededGraceAt !== null && (recorded === null || u.exceededGraceAt < recorded)) recorded = u.exceededGraceAt;
  }
  if (recorded !== null) stuckNow.oldestSince = recorded;
  const stuck: StatusReport['stuck'] = stuckNow.users === 0 ? null : {
    users: stuckNow.users,
    oldestSince: stuckNow.oldestSince,
    message: stuckMessage(stuckNow, asOf ?? stuckNow.oldestSince ?? new Date(0).toISOString()),
    actions: stuckActions(campaign),
  };
  // estimateEnd and outlook assess every user of the lean observation: the loop above already did (same context).
  // They ask in the observation's order, so the lean user asked for is found at or after the last one found.
  let at = 0;
  const assess = (ou: ObservedUser, c: ReadinessContext): Readiness => {
    if (lean[at] !== ou) {
      at = lean.indexOf(ou, at);
      if (at === -1) at = lean.indexOf(ou);
    }
    if (at === -1) {
      at = 0;
      return assessReadiness(ou, c);
    }
    let r = assessed[at];
    if (r === undefined) assessed[at] = r = assessReadiness(ou, c);
    at++;
    return r;
  };
  const projection = { assess, userAt, inCampaign: insideUsers };
  const estimatedEnd = haveEstimate ? estimateEnd(campaign, leanObservation, state, asOf, projection) : null;
  return {
    campaign: name,
    status: campaign.spec.status,
    counts,
    users,
    estimatedEnd,
    outlook: haveEstimate ? outlook(campaign, leanObservation, state, asOf, { ...projection, end: estimatedEnd }) : [lastRun ? 'No observation snapshot yet: the next reconcile run writes one.' : 'No reconcile run has been recorded yet.'],
    description: campaign.metadata.description,
    asOf,
    runs: state.runs,
    lastRun,
    readiness,
    alerts,
    lastRunChanges,
    daily,
    warnings,
    notices,
    stuck,
    estimateAssumptions: estimateAssumptions(campaign),
    enforcement: { mode: campaign.spec.enforcement.mode, policyState: campaign.spec.enforcement.policyState, enableWhen: { ...campaign.spec.enforcement.enableWhen } },
    impact: impactOf(input, name, asOf, warnings),
    onboarding: onboardingFromFold(campaign, folded.onboarding, state, input.observation, input.observation === observation ? userAt : undefined),
  };
}

/** The recorded impact report with its age (against the clock, else the data's time); null, with a warning, when it cannot be used. */
function impactOf(input: ReportInput, name: string, asOf: string | null, warnings: string[]): ImpactStatus | null {
  if (input.impact === undefined || input.impact === null) return null;
  const parsed = parseImpactSnapshot(input.impact);
  if (!parsed.ok) {
    warnings.push(`The recorded impact report cannot be read (${parsed.problem}): run campaign impact --campaign ${name} --record again.`);
    return null;
  }
  if (parsed.impact.campaign !== name) {
    warnings.push(`The recorded impact report is of the campaign ${parsed.impact.campaign}, not ${name}: run campaign impact --campaign ${name} --record.`);
    return null;
  }
  return withAge(parsed.impact, input.now ? input.now.toISOString() : asOf);
}

function collectAlerts(input: ReportInput, users: StatusUser[], observation: Observation, lastRun: StatusReport['lastRun'], unresolved: readonly ExemptionUnresolvedEvent[]): ReportAlert[] {
  const out: ReportAlert[] = [];
  const who = (list: StatusUser[]) => list.map((u) => ({ userId: u.userId, userPrincipalName: u.userPrincipalName }));
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  // The exemption alert says why the last run failed and what to do: it replaces the generic LastRunFailed.
  if (unresolved.length) {
    out.push({ code: 'ExemptionUnresolved', severity: 'error', message: `The last reconcile run (${lastRun?.runId ?? unresolved[0].runId}, ${unresolved[0].at}) stopped without moving anyone: ${n(unresolved.length, 'exemption entry', 'exemption entries')} could not be established. ${unresolved.map((e) => e.message).join(' ')}`, users: [] });
  } else if (lastRun && lastRun.ok === false) out.push({ code: 'LastRunFailed', severity: 'error', message: `The last reconcile run (${lastRun.runId}, ${lastRun.startedAt}) failed; see campaign history for its error.`, users: [] });
  if (lastRun && lastRun.ok === null) out.push({ code: 'LastRunUnfinished', severity: 'warning', message: `The last reconcile run (${lastRun.runId}, ${lastRun.startedAt}) has no finish record: it is still running or was interrupted.`, users: [] });
  if (input.now && lastRun && input.campaign.spec.status === 'inProgress') {
    const age = input.now.getTime() - Date.parse(lastRun.startedAt);
    if (age > STALE_AFTER_MS) out.push({ code: 'StaleRun', severity: 'warning', message: `The last reconcile run started ${Math.floor(age / DAY_MS)} days ago; the scheduler runs every 24 h, so it may have stopped.`, users: [] });
  }
  if (lastRun && !input.observation) out.push({ code: 'NoObservation', severity: 'warning', message: 'No observation snapshot was found: readiness and device details are missing until the next run.', users: [] });
  if (observation.readErrors.length > 0) out.push({ code: 'ObservationFailed', severity: 'error', message: `The last observation had campaign-level read errors, so no user moved: ${observation.readErrors[0]}`, users: [] });
  if (observation.fido2Policy?.state === 'disabled') out.push({ code: 'Fido2PolicyDisabled', severity: 'error', message: 'The FIDO2 (passkey) authentication method policy is disabled: nobody can register a passkey until it is enabled.', users: [] });
  // The users of each alert kind, in one pass (a user listing a kind twice is in its list once).
  const byKind = new Map<string, StatusUser[]>();
  for (const kind of USER_ALERTS) byKind.set(kind, []);
  for (const u of users) {
    for (const kind of u.alerts) {
      const list = byKind.get(kind);
      if (list && list[list.length - 1] !== u) list.push(u);
    }
  }
  for (const kind of USER_ALERTS) {
    const list = byKind.get(kind)!;
    const text = ALERT_TEXT[kind] ?? { severity: 'error', one: `user has the alert ${kind}`, many: `users have the alert ${kind}` };
    if (list.length) out.push({ code: kind, severity: text.severity, message: `${list.length} ${list.length === 1 ? text.one : text.many}.`, users: who(list) });
  }
  const exceeded = users.filter((u) => u.exceededGrace);
  if (exceeded.length) out.push({ code: 'GraceExceeded', severity: 'warning', message: `${n(exceeded.length, 'user has', 'users have')} exceeded a grace period and get no more reminders.`, users: who(exceeded) });
  const unread = users.filter((u) => u.unread);
  if (unread.length) out.push({ code: 'UnreadUsers', severity: 'warning', message: `${n(unread.length, 'user', 'users')} could not be read in the last run and made no move.`, users: who(unread) });
  const disabled = users.filter((u) => u.accountEnabled === false);
  if (disabled.length) out.push({ code: 'DisabledAccounts', severity: 'warning', message: `${n(disabled.length, 'targeted account is', 'targeted accounts are')} disabled and held where they are.`, users: who(disabled) });
  return out;
}

export const READINESS_TITLE: Record<ReadinessCategory, string> = {
  needsDeviceUpdate: 'Needs a device update',
  needsPasskey: 'Needs to register a passkey',
  ready: 'Ready for enforcement',
};

/** Notice kinds as people read them (a kind missing here reads as its key). */
const KIND_TITLE: Readonly<Record<string, string>> = {
  deviceUpdate: 'device update notice',
  deviceUpdateReminder: 'device update reminder',
  passkeyRegistration: 'passkey registration notice',
  passkeyRegistrationReminder: 'passkey registration reminder',
  enforcementNotice: 'enforcement notice',
  enforcementNoticeReminder: 'enforcement notice reminder',
  enforced: 'enforced notice',
};

export const DELIVERY_OUTCOME_TITLE: Record<DeliveryOutcome, string> = {
  delivered: 'delivered',
  failed: 'failed',
  inDoubt: 'in doubt',
  pending: 'pending',
  notSent: 'not sent yet',
  cancelled: 'cancelled',
};

/** One line on a user's latest notice, e.g. "enforcement notice failed 2026-12-03 (3 undelivered in a row)". */
export function deliveryText(d: DeliverySummary): string {
  const row = d.attempts > 0 ? ` (${d.attempts} undelivered in a row)` : '';
  return `${KIND_TITLE[d.kind] ?? d.kind} ${DELIVERY_OUTCOME_TITLE[d.outcome]} ${d.at.slice(0, 10)}${row}`;
}

/**
 * Users in a stage: the run's count, or for a stage the counts do not carry (a newer vocabulary) the users
 * of the report in it.
 */
export function stageCount(r: StatusReport, stage: Stage): number {
  const n = (r.counts as unknown as Record<string, unknown>)[stage];
  if (typeof n === 'number') return n;
  let k = 0;
  for (const u of r.users) if (u.stage === stage) k++;
  return k;
}

/** The stages a report lists: every stage, except graduated for a campaign that does not graduate and has nobody there. */
export function shownStages(r: StatusReport): Stage[] {
  return STAGES.filter((s) => (s as string) !== GRADUATED || r.enforcement.mode === 'graduated' || stageCount(r, s) > 0);
}

/** Users in the graduated stage; while the vocabulary has no such stage, the graduated group's members the impact report counted. */
export function graduatedCount(r: StatusReport): number {
  return hasStage(GRADUATED) ? stageCount(r, GRADUATED as Stage) : (r.impact?.graduated ?? 0);
}
