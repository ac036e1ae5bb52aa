// The campaign state is a fold of the ledger: nothing in it is stored that the ledger cannot rebuild.
// Plain records (no Map/Set) so the snapshot can be written as JSON next to the ledger.
//
// Memory: a large tenant holds a million users here. A user's nested values (notifications, counts, postponements,
// alerts, left, delivery, onboarding) are never changed in place: the fold replaces them. So users share them — every
// user without alerts has the same frozen empty array, users a run moved alike share one `left` or `notifications`
// value, and times are one string per distinct time — and a copy of a user (applyEventsToCopy) is a shallow one.
// A user's delivery is shared too, though its latest notice's key names the user: users whose delivery differs only
// by their id in that key share one value (KeyedDelivery), and `delivery` is an accessor that writes the key in.
import type { AlertKind, NotificationKind } from '../contracts/vocabulary';
import { LEDGER_VERSION, type LedgerEvent, type NotificationOutcome } from '../ledger/events';
import type { Stage } from './types';

/** What became of a user's latest notice: a recorded outcome, or 'pending' while none is recorded yet. */
export type DeliveryOutcome = NotificationOutcome | 'pending';

/**
 * Per-user delivery, folded from notificationSent → notificationOutcome (outcomes name their notice's key).
 * A notice recorded by a run that wrote no outcomes (a ledger from before intents) counts as delivered when
 * recorded: that is all such a ledger can say, and what it meant.
 */
export interface DeliveryState {
  /** The latest notice recorded for the user, in any stage, and when it was recorded; null before the first. */
  lastKey: string | null;
  lastKind: NotificationKind | null;
  lastStage: Stage | null;
  lastSentAt: string | null;
  /** Its latest outcome; null before the first notice. */
  outcome: DeliveryOutcome | null;
  /**
   * The latest notice has a final outcome (delivered, failed, cancelled, or in doubt over Teams). false while
   * it is pending, refused before Graph ran it (notSent), or an email in doubt: the next run's recovery settles those.
   */
  settled: boolean;
  /** When the latest notice was recorded, or when its latest outcome was. */
  at: string | null;
  /** Notices in a row not known to be delivered (failed, or final in doubt); 0 after a delivery and on leaving. */
  attempts: number;
  /** First delivery of a notice of the current stage, since entering it: the enforcement notice period starts here. */
  stageDeliveredAt: string | null;
  /**
   * Earlier notices still waiting for a final outcome when a newer one was recorded (rare: a run died, or
   * recovery resends while a reminder goes out); null when none. The latest one is tracked by the fields above.
   */
  earlier: OpenNotice[] | null;
}

/** A recorded notice without a final outcome yet. */
export interface OpenNotice {
  key: string;
  stage: Stage;
  /** When it was recorded. */
  at: string;
}

export interface UserState {
  userId: string;
  userPrincipalName: string;
  /** The current stage; after leaving, the stage the user left from. null if the user never entered. */
  stage: Stage | null;
  stageSince: string | null;
  firstEnteredAt: string | null;
  /** Set while the user is out of the campaign; cleared on re-entry. */
  left: { at: string; reason: string } | null;
  /** Never changed in place (see the top of this file), like every nested value of a user. */
  notifications: {
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
  /** How the user's notices went. */
  delivery: DeliveryState;
  /** Onboarding pass facts (absent until the first onboarding event for the user). */
  onboarding?: OnboardingState;
}

/** What the ledger says about a user's onboarding passes: never the pass itself. */
export interface OnboardingState {
  /** The latest pass issued: its method id, when, and when it expires. */
  passIssuedAt: string | null;
  methodId: string | null;
  expiresAt: string | null;
  /** The latest issued pass was reported expired unused. */
  expiredReported: boolean;
  /** The latest helpdesk-queue record: when and why; cleared when a pass is issued. */
  queuedAt: string | null;
  queuedReason: string | null;
  /** Passes issued over the campaign. */
  issued: number;
}

export interface CampaignState {
  v: typeof LEDGER_VERSION;
  /** 0 until the first reset; part of notification keys so a restarted campaign does not reuse them. */
  generation: number;
  runs: number;
  lastRun: { runId: string; startedAt: string; finishedAt: string | null; ok: boolean | null } | null;
  archivedAt: string | null;
  users: Record<string, UserState>;
  /** The run being folded, when it records notification outcomes (its runStarted has `intents: 1`); else null. */
  outcomeRun: string | null;
}

export function emptyState(): CampaignState {
  return { v: LEDGER_VERSION, generation: 0, runs: 0, lastRun: null, archivedAt: null, users: {}, outcomeRun: null };
}

/** The frozen values users share; a user's nested values are replaced, never changed (see the top of this file). */
const EMPTY_RECORD = Object.freeze({}) as Record<string, number>;
const NO_ALERTS = Object.freeze([]) as unknown as AlertKind[];
const NO_NOTIFICATIONS: UserState['notifications'] = Object.freeze({ count: EMPTY_RECORD, lastNotifiedAt: null });
const NO_DELIVERY: DeliveryState = Object.freeze({ lastKey: null, lastKind: null, lastStage: null, lastSentAt: null, outcome: null, settled: true, at: null, attempts: 0, stageDeliveredAt: null, earlier: null });
const NO_ONBOARDING: OnboardingState = Object.freeze({ passIssuedAt: null, methodId: null, expiresAt: null, expiredReported: false, queuedAt: null, queuedReason: null, issued: 0 });

/** Distinct values kept for sharing before the tables start over (a bound, never reached by the values of a campaign). */
const SHARED_MAX = 20_000;
const strings = new Map<string, string>();
const values = new Map<string, object>();

/**
 * The one string of this value: times repeat across users (a run stamps every event with its time) and the rest
 * come from small vocabularies. JSON.parse and the ledger's pieces give each occurrence a string of its own.
 */
export function sharedString<T extends string | null>(s: T): T {
  if (s === null) return s;
  const had = strings.get(s);
  if (had !== undefined) return had as T;
  if (strings.size >= SHARED_MAX) strings.clear();
  strings.set(s, s);
  return s;
}

/** The frozen value equal (as JSON) to `v`, shared by every user holding it: counts, postponements, alerts, left, notifications. */
function sharedValue<T extends object>(v: T): T {
  if (Array.isArray(v) ? v.length === 0 : isEmpty(v)) return (Array.isArray(v) ? NO_ALERTS : EMPTY_RECORD) as unknown as T;
  const text = JSON.stringify(v);
  const had = values.get(text);
  if (had !== undefined) return had as T;
  if (values.size >= SHARED_MAX) values.clear();
  values.set(text, Object.freeze(v));
  return v;
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** Shared notifications values by their (shared) count and their time: found without writing them as JSON. */
const byCount = new Map<object, Map<string | null, UserState['notifications']>>();

function notificationsOf(count: UserState['notifications']['count'], lastNotifiedAt: string | null): UserState['notifications'] {
  if (count === EMPTY_RECORD && lastNotifiedAt === null) return NO_NOTIFICATIONS;
  let times = byCount.get(count);
  if (!times) {
    if (byCount.size >= SHARED_MAX) byCount.clear();
    byCount.set(count, (times = new Map()));
  }
  let n = times.get(lastNotifiedAt);
  if (!n) {
    if (times.size >= SHARED_MAX) times.clear();
    times.set(lastNotifiedAt, (n = Object.freeze({ count, lastNotifiedAt })));
  }
  return n;
}

function newUser(userId: string, userPrincipalName: string): UserState {
  return new (User as unknown as UserConstructor)(userId, userPrincipalName, null, null, null, null, NO_NOTIFICATIONS, false, null, EMPTY_RECORD, null, 0, false, null, null, NO_ALERTS, NO_DELIVERY);
}

/** Where a user of this fold keeps its delivery: not enumerable, so never in JSON, copies (spread, structuredClone) or comparisons. */
const DELIVERY = Symbol('delivery');

/**
 * The delivery of every user whose latest notice's key is `head + userId + tail` and whose other delivery fields
 * are those of `rest`: notices of one run, kind and sequence differ only by the user id in their key. Exact: a user
 * is given this value only when its key and fields are these (holds), and a user's id never changes.
 */
class KeyedDelivery {
  constructor(readonly head: string, readonly tail: string, readonly rest: DeliveryState) {}

  /** Whether this is the value of `d`, the delivery of the user `userId`: the check that keeps the rebuilt key exact. */
  holds(userId: string, d: DeliveryState): boolean {
    const key = d.lastKey;
    const r = this.rest;
    return key !== null && key.length === this.head.length + userId.length + this.tail.length && key.startsWith(this.head)
      && key.startsWith(userId, this.head.length) && key.endsWith(this.tail) && d.earlier === null
      && d.lastKind === r.lastKind && d.lastStage === r.lastStage && d.lastSentAt === r.lastSentAt && d.outcome === r.outcome
      && d.settled === r.settled && d.at === r.at && Object.is(d.attempts, r.attempts) && d.stageDeliveredAt === r.stageDeliveredAt;
  }

  of(userId: string): DeliveryState {
    const r = this.rest;
    return Object.freeze({
      lastKey: this.head + userId + this.tail, lastKind: r.lastKind, lastStage: r.lastStage, lastSentAt: r.lastSentAt, outcome: r.outcome,
      settled: r.settled, at: r.at, attempts: r.attempts, stageDeliveredAt: r.stageDeliveredAt, earlier: r.earlier,
    });
  }
}

type UserConstructor = new (
  userId: string, userPrincipalName: string, stage: Stage | null, stageSince: string | null, firstEnteredAt: string | null, left: UserState['left'],
  notifications: UserState['notifications'], stageNotified: boolean, stageLastNotifiedAt: string | null, postponements: UserState['postponements'],
  postponedUntil: string | null, extensionDays: number, exceededGrace: boolean, enforcedAt: string | null, addedToGroupAt: string | null,
  alerts: AlertKind[], delivery: DeliveryState | KeyedDelivery,
) => UserState;

/** `delivery` of a user of this fold: an own, enumerable accessor (the key order and JSON stay those of a plain user). */
const DELIVERY_ACCESSOR: PropertyDescriptor = {
  get(this: { [DELIVERY]: DeliveryState | KeyedDelivery; userId: string }): DeliveryState {
    const d = this[DELIVERY];
    return d instanceof KeyedDelivery ? d.of(this.userId) : d;
  },
  set(this: { [DELIVERY]: DeliveryState | KeyedDelivery; userId: string }, d: DeliveryState) {
    this[DELIVERY] = compactDelivery(this.userId, d);
  },
  enumerable: true,
  configurable: true,
};

/**
 * A user as this fold keeps it: a plain object (its prototype is Object.prototype) with the fields of UserState in
 * their order, `delivery` an accessor over its hidden shared value. A constructor rather than a literal: its
 * objects hold the hidden field in the object itself, not in a properties array of their own.
 */
function User(
  this: Record<string | symbol, unknown>, userId: string, userPrincipalName: string, stage: Stage | null, stageSince: string | null, firstEnteredAt: string | null,
  left: UserState['left'], notifications: UserState['notifications'], stageNotified: boolean, stageLastNotifiedAt: string | null,
  postponements: UserState['postponements'], postponedUntil: string | null, extensionDays: number, exceededGrace: boolean, enforcedAt: string | null,
  addedToGroupAt: string | null, alerts: AlertKind[], delivery: DeliveryState | KeyedDelivery,
): void {
  this.userId = userId;
  this.userPrincipalName = userPrincipalName;
  this.stage = stage;
  this.stageSince = stageSince;
  this.firstEnteredAt = firstEnteredAt;
  this.left = left;
  this.notifications = notifications;
  this.stageNotified = stageNotified;
  this.stageLastNotifiedAt = stageLastNotifiedAt;
  this.postponements = postponements;
  this.postponedUntil = postponedUntil;
  this.extensionDays = extensionDays;
  this.exceededGrace = exceededGrace;
  this.enforcedAt = enforcedAt;
  this.addedToGroupAt = addedToGroupAt;
  this.alerts = alerts;
  // One descriptor for every user (a new one per user made this the slow part of restoring a checkpoint).
  HIDDEN.value = delivery;
  Object.defineProperty(this, DELIVERY, HIDDEN);
  HIDDEN.value = undefined;
  Object.defineProperty(this, 'delivery', DELIVERY_ACCESSOR);
}
const HIDDEN: PropertyDescriptor = { value: undefined, writable: true, enumerable: false, configurable: true };
User.prototype = Object.prototype;

/** The shared KeyedDelivery values, by their fields. */
const keyed = new Map<string, KeyedDelivery>();

/** What a user of this fold keeps for `d`: a shared value when the key can be rebuilt from the user's id, else `d`. */
function compactDelivery(userId: string, d: DeliveryState): DeliveryState | KeyedDelivery {
  if (d === NO_DELIVERY) return d;
  const key = d.lastKey;
  if (key === null) return sameDelivery(d, NO_DELIVERY) ? NO_DELIVERY : d;
  if (userId === '' || d.earlier !== null) return d;
  // The fold gives most users of a run the same few values: those are found without writing their fields out.
  for (let j = 0; j < recent.length; j++) if (recent[j].holds(userId, d)) return recent[j];
  const i = key.indexOf(userId);
  if (i < 0) return d;
  const head = key.slice(0, i);
  const tail = key.slice(i + userId.length);
  const id = `${head}\u0000${tail}\u0000${d.lastKind}\u0000${d.lastStage}\u0000${d.lastSentAt}\u0000${d.outcome}\u0000${d.settled}\u0000${d.at}\u0000${d.attempts}\u0000${d.stageDeliveredAt}`;
  let k = keyed.get(id);
  if (k === undefined) {
    if (keyed.size >= SHARED_MAX) keyed.clear();
    const rest: DeliveryState = Object.freeze({
      lastKey: null, lastKind: sharedString(d.lastKind), lastStage: sharedString(d.lastStage), lastSentAt: sharedString(d.lastSentAt), outcome: sharedString(d.outcome),
      settled: d.settled, at: sharedString(d.at), attempts: d.attempts, stageDeliveredAt: sharedString(d.stageDeliveredAt), earlier: null,
    });
    k = new KeyedDelivery(sharedString(head), sharedString(tail), rest);
    keyed.set(id, k);
  } else if (!k.holds(userId, d)) {
    return d; // written out alike, yet not the same value (a field holding the separator): kept as it is
  }
  recent.unshift(k);
  if (recent.length > RECENT) recent.pop();
  return k;
}
const RECENT = 4;
const recent: KeyedDelivery[] = [];

/**
 * The latest notice's key as the user holds it, or null when the user rebuilds it on each read of `delivery` (or
 * has none): what a value read alongside may share rather than hold a copy of.
 */
export function heldKey(u: UserState): string | null {
  const d = (u as unknown as { [DELIVERY]?: DeliveryState | KeyedDelivery })[DELIVERY];
  if (d instanceof KeyedDelivery) return null;
  return (d ?? u.delivery)?.lastKey ?? null;
}

/** A shallow copy of a user: of this fold's kind when `u` is (its delivery still shared), else a plain one. */
function copyUser(u: UserState): UserState {
  const d = (u as unknown as { [DELIVERY]?: DeliveryState | KeyedDelivery })[DELIVERY];
  if (d === undefined) return { ...u };
  const c = new (User as unknown as UserConstructor)(u.userId, u.userPrincipalName, u.stage, u.stageSince, u.firstEnteredAt, u.left, u.notifications, u.stageNotified,
    u.stageLastNotifiedAt, u.postponements, u.postponedUntil, u.extensionDays, u.exceededGrace, u.enforcedAt, u.addedToGroupAt, u.alerts, d);
  if (u.onboarding !== undefined) c.onboarding = u.onboarding;
  return c;
}

/**
 * A user as JSON gave it back (a checkpoint's piece) in the form the fold keeps: the same values, shared with the
 * other users' as the fold shares them (see the top of this file). `key` is its key in `users`. A field this
 * version does not keep (the notification keys older versions listed) is left out.
 */
export function userFromJson(key: string, u: UserState): UserState {
  const n = u.notifications;
  const d = u.delivery;
  const userId = u.userId === key ? key : u.userId;
  const user = new (User as unknown as UserConstructor)(
    userId,
    u.userPrincipalName,
    sharedString(u.stage),
    sharedString(u.stageSince),
    sharedString(u.firstEnteredAt),
    u.left ? sharedValue({ at: sharedString(u.left.at), reason: u.left.reason }) : u.left,
    n ? notificationsOf(sharedValue(n.count), sharedString(n.lastNotifiedAt)) : n,
    u.stageNotified,
    sharedString(u.stageLastNotifiedAt),
    sharedValue(u.postponements),
    sharedString(u.postponedUntil),
    u.extensionDays,
    u.exceededGrace,
    sharedString(u.enforcedAt),
    sharedString(u.addedToGroupAt),
    sharedValue(u.alerts),
    !d ? d : typeof userId === 'string' ? compactDelivery(userId, {
      lastKey: d.lastKey,
      lastKind: sharedString(d.lastKind),
      lastStage: sharedString(d.lastStage),
      lastSentAt: sharedString(d.lastSentAt),
      outcome: sharedString(d.outcome),
      settled: d.settled,
      at: sharedString(d.at),
      attempts: d.attempts,
      stageDeliveredAt: sharedString(d.stageDeliveredAt),
      earlier: d.earlier,
    }) : d,
  );
  if (u.onboarding !== undefined) user.onboarding = u.onboarding;
  return user;
}

function sameDelivery(a: DeliveryState, b: DeliveryState): boolean {
  return a.lastKey === b.lastKey && a.lastKind === b.lastKind && a.lastStage === b.lastStage && a.lastSentAt === b.lastSentAt && a.outcome === b.outcome
    && a.settled === b.settled && a.at === b.at && a.attempts === b.attempts && a.stageDeliveredAt === b.stageDeliveredAt && a.earlier === b.earlier;
}

/** Rebuilds the state from the whole ledger, oldest event first. */
export function foldLedger(events: Iterable<LedgerEvent>): CampaignState {
  return applyEvents(emptyState(), events);
}

/**
 * The state after `events`, leaving `state` as it was: what applyEvents(structuredClone(state), events) returns,
 * without copying every user. Only the users the events name are copied (the rest are shared with `state`, so
 * the caller must not change those through either). At a large tenant a whole copy doubled the run's memory. A copied
 * user is a shallow copy: the fold never changes a user's nested values in place.
 */
export function applyEventsToCopy(state: CampaignState, events: readonly LedgerEvent[]): CampaignState {
  const copy: CampaignState = { ...state, lastRun: state.lastRun ? { ...state.lastRun } : null, users: { ...state.users } };
  const copied = new Set<string>();
  for (const e of events) {
    if (e.type === 'campaignReset') copied.clear(); // a new, empty users record: users named later are new ones
    else if ('userId' in e && typeof e.userId === 'string' && !copied.has(e.userId)) {
      copied.add(e.userId);
      const u = copy.users[e.userId];
      if (u) copy.users[e.userId] = copyUser(u); // its nested values are replaced, never changed (see the top of this file)
    }
    applyEvent(copy, e);
  }
  return copy;
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
  const at = sharedString(e.at);
  switch (e.type) {
    case 'userEnteredStage':
      u.stage = sharedString(e.to);
      u.stageSince = at;
      u.firstEnteredAt ??= at;
      u.left = null;
      u.stageNotified = false;
      u.stageLastNotifiedAt = null;
      u.postponedUntil = null;
      u.extensionDays = 0;
      u.exceededGrace = false;
      {
        const d = u.delivery;
        if (d.stageDeliveredAt !== null) u.delivery = { ...d, stageDeliveredAt: null };
      }
      if (e.to === 'enforced') u.enforcedAt = at;
      break;
    case 'notificationSent': {
      const kind = sharedString(e.kind);
      const stage = sharedString(e.stage);
      const n = u.notifications;
      const count = e.sequence > (n.count[kind] ?? 0) ? sharedValue({ ...n.count, [kind]: e.sequence }) : n.count;
      u.notifications = notificationsOf(count, at);
      const current = stage === u.stage && !u.left;
      if (current) {
        u.stageLastNotifiedAt = at;
        if (kind === stage) u.stageNotified = true; // the entry notice's kind is the stage's name
      }
      const d = u.delivery;
      const pending = e.runId !== undefined && e.runId === state.outcomeRun;
      u.delivery = {
        lastKey: e.key,
        lastKind: kind,
        lastStage: stage,
        lastSentAt: at,
        outcome: pending ? 'pending' : 'delivered',
        settled: !pending,
        at,
        attempts: pending ? d.attempts : 0,
        stageDeliveredAt: !pending && current ? (d.stageDeliveredAt ?? at) : d.stageDeliveredAt,
        // The previous notice still waits for its outcome: remember it apart.
        earlier: !d.settled && d.lastKey !== null && d.lastStage !== null && d.lastSentAt !== null
          ? [...(d.earlier ?? []), { key: d.lastKey, stage: d.lastStage, at: d.lastSentAt }]
          : d.earlier,
      };
      break;
    }
    case 'postponed':
      u.postponements = sharedValue({ ...u.postponements, [e.stage]: Math.max(u.postponements[e.stage] ?? 0, e.count) });
      if (e.stage === u.stage && !u.left) {
        u.postponedUntil = sharedString(e.until);
        u.extensionDays += e.days;
      }
      break;
    case 'graceExceeded':
      if (e.stage === u.stage) u.exceededGrace = true;
      break;
    case 'addedToGroup':
      // addedToGroupAt is the enforcement group's; the graduated group's add is told by the stage (stageSince).
      if (e.group !== 'graduated') u.addedToGroupAt = at;
      break;
    case 'leftCampaign':
      u.left = sharedValue({ at, reason: e.reason });
      u.alerts = NO_ALERTS;
      u.postponedUntil = null;
      {
        const d = u.delivery;
        if (d.attempts !== 0) u.delivery = { ...d, attempts: 0 };
      }
      break;
    case 'alertRaised':
      if (!u.alerts.includes(e.kind)) u.alerts = sharedValue([...u.alerts, e.kind]);
      break;
    case 'alertCleared':
      if (u.alerts.includes(e.kind)) u.alerts = sharedValue(u.alerts.filter((k) => k !== e.kind));
      break;
    case 'onboardingPassIssued':
      u.onboarding = { ...(u.onboarding ?? NO_ONBOARDING), passIssuedAt: at, methodId: e.methodId, expiresAt: e.expiresAt, expiredReported: false, queuedAt: null, queuedReason: null };
      u.onboarding.issued++;
      break;
    case 'onboardingQueued': {
      const o = u.onboarding ?? NO_ONBOARDING;
      u.onboarding = { ...o, queuedAt: o.queuedAt ?? at, queuedReason: e.reason };
      break;
    }
    case 'onboardingPassExpired': {
      const o = u.onboarding ?? NO_ONBOARDING;
      u.onboarding = o.methodId === e.methodId ? { ...o, expiredReported: true } : o;
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
  const was = u.delivery;
  const final = outcome !== 'notSent' && !(outcome === 'inDoubt' && channel === 'email');
  let stage: Stage;
  let sentAt: string;
  let d: DeliveryState;
  if (key === was.lastKey && !was.settled) {
    stage = was.lastStage!;
    sentAt = was.lastSentAt!;
    d = { ...was, outcome: sharedString(outcome), settled: final, at: sharedString(at) };
  } else {
    const i = was.earlier ? was.earlier.findIndex((n) => n.key === key) : -1;
    if (i < 0) return;
    ({ stage, at: sentAt } = was.earlier![i]);
    d = { ...was };
    if (final) {
      const rest = was.earlier!.filter((_, j) => j !== i);
      d.earlier = rest.length === 0 ? null : rest;
    }
  }
  if (outcome === 'delivered') {
    d.attempts = 0;
    if (stage === u.stage && !u.left && u.stageSince !== null && sentAt >= u.stageSince) d.stageDeliveredAt ??= sharedString(at);
  } else if (final && (outcome === 'failed' || outcome === 'inDoubt')) {
    d.attempts++;
  }
  u.delivery = d;
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

/** A user's delivery state as the reports show it. */
export interface DeliverySummary {
  /** The latest notice: its key and kind, its outcome and when that was recorded. */
  key: string;
  kind: NotificationKind;
  outcome: DeliveryOutcome;
  at: string;
  /** Notices in a row not delivered (failed or in doubt). */
  attempts: number;
  /** When a notice of the current stage was first delivered (for enforcementNotice: the notice period's start). */
  stageDeliveredAt: string | null;
}

/**
 * Every user's delivery state after a run, written as a snapshot: the reports read the ledger without its
 * notification lines (ledger/overview.ts), so they take delivery from here. Its summaries are read, or written as
 * JSON (some are written out only then), never changed.
 */
export interface DeliverySnapshot {
  v: 1;
  /** The run's time. */
  at: string;
  /** By user id; users without any notice are left out. */
  users: Record<string, DeliverySummary>;
}

export function deliverySummary(u: UserState): DeliverySummary | null {
  const d = u.delivery;
  if (d.lastKey === null || d.lastKind === null || d.outcome === null || d.at === null) return null;
  return { key: d.lastKey, kind: d.lastKind, outcome: d.outcome, at: d.at, attempts: d.attempts, stageDeliveredAt: d.stageDeliveredAt };
}

/**
 * The summary of a user whose delivery is shared (KeyedDelivery): the same values, its key written out only when
 * read or written as JSON. A snapshot of every user held a key string for each while it was written.
 */
class KeyedSummary implements DeliverySummary {
  readonly #userId: string;
  readonly #d: KeyedDelivery;
  constructor(userId: string, d: KeyedDelivery) {
    this.#userId = userId;
    this.#d = d;
  }
  get key(): string { return this.#d.head + this.#userId + this.#d.tail; }
  get kind(): NotificationKind { return this.#d.rest.lastKind!; }
  get outcome(): DeliveryOutcome { return this.#d.rest.outcome!; }
  get at(): string { return this.#d.rest.at!; }
  get attempts(): number { return this.#d.rest.attempts; }
  get stageDeliveredAt(): string | null { return this.#d.rest.stageDeliveredAt; }
  toJSON(): DeliverySummary {
    return { key: this.key, kind: this.kind, outcome: this.outcome, at: this.at, attempts: this.attempts, stageDeliveredAt: this.stageDeliveredAt };
  }
}

export function deliverySnapshot(state: CampaignState, at: string): DeliverySnapshot {
  const users: Record<string, DeliverySummary> = {};
  for (const id in state.users) {
    const u = state.users[id];
    const d = (u as unknown as { [DELIVERY]?: DeliveryState | KeyedDelivery })[DELIVERY];
    const s = d instanceof KeyedDelivery && d.rest.lastKind !== null && d.rest.outcome !== null && d.rest.at !== null
      ? new KeyedSummary(u.userId, d)
      : deliverySummary(u);
    if (s) users[id] = s;
  }
  return { v: 1, at, users };
}
