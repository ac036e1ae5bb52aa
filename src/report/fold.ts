// The report's pass over the ledger, one event at a time: the campaign fold plus what the overview keeps beside
// it (users per stage per day, the deadlines exceeded, the last run's changes, notices per run, the onboarding
// folds, the runs and resets the ledger checks read). Fed the whole ledger it is what `status` builds its report
// from; saved at a ledger mark (report-checkpoint.ts) and fed only the events after it, it gives the same answer.
import type { ExemptionUnresolvedEvent, LedgerEvent } from '../ledger/events';
import { OVERVIEW_SKIPPED } from '../ledger/overview';
import { applyEvent, emptyState, type CampaignState, type UserState } from '../engine/state';
import { dateOfDay, dayOf } from '../engine/time';
import { STAGES, type Stage } from '../engine/types';
import { zeroStages } from './stages';
import type { DayCounts, RunChanges } from './model';

/** What the onboarding report keeps per user (onboarding.ts). */
export interface OnboardingUserFold {
  userPrincipalName: string;
  lastPassAt: string | null;
  queuedSince: string | null;
  reason: string | null;
}

export interface OnboardingFold {
  folds: Map<string, OnboardingUserFold>;
  issued: number;
  expired: number;
}

export function emptyOnboardingFold(): OnboardingFold {
  return { folds: new Map(), issued: 0, expired: 0 };
}

/** One event into the onboarding fold (every event may be passed; only the onboarding ones and resets count). */
export function addToOnboardingFold(o: OnboardingFold, e: LedgerEvent): void {
  const fold = (userId: string, upn: string): OnboardingUserFold => {
    let f = o.folds.get(userId);
    if (!f) o.folds.set(userId, (f = { userPrincipalName: upn, lastPassAt: null, queuedSince: null, reason: null }));
    return f;
  };
  switch (e.type) {
    case 'onboardingPassIssued': {
      o.issued++;
      const f = fold(e.userId, e.userPrincipalName);
      f.lastPassAt = e.at;
      f.queuedSince = null;
      f.reason = null;
      break;
    }
    case 'onboardingPassExpired':
      o.expired++;
      break;
    case 'onboardingQueued': {
      const f = fold(e.userId, e.userPrincipalName);
      if (f.queuedSince === null) f.queuedSince = e.at;
      f.reason = e.reason;
      break;
    }
    case 'campaignReset':
      o.folds.clear();
      break;
    default:
      break;
  }
}

/** The folded ledger as buildReport reads it. */
export interface ReportReplay {
  state: CampaignState;
  daily: DayCounts[];
  /** userId → deadline (ISO) of the grace period exceeded in the current stage. */
  exceededAt: ReadonlyMap<string, string>;
  lastRunChanges: RunChanges | null;
  /** The exemption entries the last run could not establish (it stopped without moving anyone). */
  unresolved: ExemptionUnresolvedEvent[];
  onboarding: OnboardingFold;
  /** The runs and resets, oldest first: what the ledger checks (ledgerPosition) read. */
  positionEvents: LedgerEvent[];
  /** Events of the ledger the overview keeps (every event but notices and the delivery records). */
  overviewEvents: number;
  /**
   * state.users as two lists in its order (the keys, the users), when the fold holds them so: a fold restored from a
   * checkpoint, until something reads state.users (which then makes the record). null otherwise. A function, so a
   * caller asks when it reads them.
   */
  usersInOrder?: () => UsersInOrder | null;
}

/** A campaign state's users as lists: `users[i]` is state.users[keys[i]], in the record's order. */
export interface UsersInOrder {
  keys: readonly string[];
  users: readonly UserState[];
}

/** The last run's changes as they build up: the run started last, and the postponements since the one before. */
export interface ChangesFold {
  /** The changes of the run started last (its notices counted per run are added at the end); null before any run. */
  current: Omit<RunChanges, 'ok' | 'at'> | null;
  unresolved: ExemptionUnresolvedEvent[];
  /** Postponements since the last runStarted (or the ledger's start): the next run's changes begin with them. */
  sinceLastStart: RunChanges['postponed'];
}

/**
 * The report's fold. `add` takes every event of the ledger in order (notices and delivery records included:
 * it leaves them out as the overview does), `result` gives what buildReport needs. Users of a fold restored from
 * a checkpoint may share nested objects until an event touches them (restoreUsers in report-checkpoint.ts), so
 * `add` copies a user before it changes it.
 */
export class ReportFold {
  state: CampaignState = emptyState();
  private stages = new Map<string, Stage>();
  /** Adds the stages of a checkpoint's users when first needed (most reads after a checkpoint never need them). */
  private pendingStages: Array<(into: Map<string, Stage>) => void> = [];

  /** userId → the stage the user last entered, while in the campaign. */
  get stageOf(): Map<string, Stage> {
    if (this.pendingStages.length > 0) {
      const pending = this.pendingStages;
      this.pendingStages = [];
      for (const load of pending) load(this.stages);
    }
    return this.stages;
  }

  /** Restoring a checkpoint: `load` adds stages to stageOf the first time it is read (in the order of the calls). */
  deferStages(load: (into: Map<string, Stage>) => void): void {
    this.pendingStages.push(load);
  }
  /** The users of a restored fold as lists (restoreState), until state.users is first read or replaced. */
  private inOrder: { of: CampaignState; lists: UsersInOrder } | null = null;

  /**
   * Restoring a checkpoint: the state without its users, and its users as lists in the record's order. The record
   * keyed by a million ids takes a second or two to make: it is made when state.users is first read (an event after
   * the mark, a caller that reads the record), and until then usersInOrder gives the lists.
   */
  restoreState(rest: Omit<CampaignState, 'users'>, keys: string[], users: UserState[]): void {
    const state = { ...rest } as CampaignState;
    const inOrder: UsersInOrder = { keys, users };
    const settle = (record: CampaignState['users']) => {
      Object.defineProperty(state, 'users', { value: record, writable: true, enumerable: true, configurable: true });
      if (this.inOrder?.lists === inOrder) this.inOrder = null;
      return record;
    };
    Object.defineProperty(state, 'users', {
      get: () => {
        const record: CampaignState['users'] = {};
        for (let i = 0; i < keys.length; i++) record[keys[i]] = users[i];
        return settle(record);
      },
      set: (record: CampaignState['users']) => void settle(record),
      enumerable: true,
      configurable: true,
    });
    this.state = state;
    this.inOrder = { of: state, lists: inOrder };
  }

  /** state.users as lists in its order, while the fold holds them so (see restoreState); else null. */
  usersInOrder(): UsersInOrder | null {
    // Not once the state was replaced (a caller assigning another one).
    return this.inOrder !== null && this.inOrder.of === this.state ? this.inOrder.lists : null;
  }

  exceeded = new Map<string, string>();
  totals: Record<Stage, number> = zeroStages();
  days = new Map<number, DayCounts>();
  notificationsByRun = new Map<string, number>();
  changes: ChangesFold = { current: null, unresolved: [], sinceLastStart: [] };
  onboarding: OnboardingFold = emptyOnboardingFold();
  positionEvents: LedgerEvent[] = [];
  overviewEvents = 0;
  /**
   * For a fold restored from a checkpoint, whose users share nested objects: the users already copied (see the class
   * comment). null when no user shares anything.
   */
  copied: Set<string> | null = null;

  /**
   * `overview` (a ledger read whole): notices are counted per run and the delivery records left out, as the
   * overview read does. Without it every event given is folded, as buildReport does with a list of events.
   */
  constructor(readonly overview = true) {}

  /** One event of the ledger, in order. */
  add(e: LedgerEvent): void {
    if (this.overview) {
      if (e.type === 'notificationSent') {
        const runId = e.runId ?? '';
        this.notificationsByRun.set(runId, (this.notificationsByRun.get(runId) ?? 0) + 1);
        return;
      }
      if (OVERVIEW_SKIPPED.has(e.type)) return;
    }
    this.overviewEvents++;
    if (this.copied && 'userId' in e && !this.copied.has(e.userId)) {
      this.copied.add(e.userId);
      const u = this.state.users[e.userId];
      // A restored user shares its values with others; the fold replaces a user's nested values, never changes them.
      if (u) this.state.users[e.userId] = { ...u };
    }
    applyEvent(this.state, e);
    addToOnboardingFold(this.onboarding, e);
    this.changed(e);
    switch (e.type) {
      case 'userEnteredStage': {
        const from = this.stageOf.get(e.userId);
        if (from) this.totals[from]--;
        this.totals[e.to]++;
        this.stageOf.set(e.userId, e.to);
        this.exceeded.delete(e.userId);
        break;
      }
      case 'leftCampaign': {
        const from = this.stageOf.get(e.userId);
        if (from) this.totals[from]--;
        this.stageOf.delete(e.userId);
        this.exceeded.delete(e.userId);
        break;
      }
      case 'graceExceeded':
        if (this.stageOf.get(e.userId) === e.stage) this.exceeded.set(e.userId, e.deadline);
        break;
      case 'campaignReset':
        this.stageOf.clear();
        this.exceeded.clear();
        this.copied = null;
        for (const s of STAGES) this.totals[s] = 0;
        this.positionEvents.push(e);
        break;
      case 'runStarted':
        this.positionEvents.push(e);
        break;
      case 'runFinished':
        this.snapshot(this.days, dayOf(e.at), true);
        break;
      default:
        break;
    }
  }

  private snapshot(days: Map<number, DayCounts>, day: number, finished: boolean): void {
    const prev = days.get(day);
    days.set(day, { date: dateOfDay(day), ...this.totals, exceededGrace: this.exceeded.size, runs: (prev?.runs ?? 0) + (finished ? 1 : 0) } as DayCounts);
  }

  /** The last run's changes: the events carrying its runId, and the postponements since the run before it started. */
  private changed(e: LedgerEvent): void {
    const c = this.changes;
    if (e.type === 'runStarted') {
      c.current = {
        runId: e.runId, transitions: [], notifications: 0, groupAdds: 0, graceExceeded: [], alertsRaised: [], alertsCleared: [],
        postponed: c.sinceLastStart, onboarding: { issued: 0, queued: 0, expired: 0 },
      };
      c.unresolved = [];
      c.sinceLastStart = [];
      return;
    }
    const ch = c.current;
    if (e.type === 'postponed') {
      const p = { userId: e.userId, userPrincipalName: e.userPrincipalName, stage: e.stage, until: e.until };
      c.sinceLastStart.push(p);
      if (ch) ch.postponed.push(p);
      return;
    }
    if (!ch || !('runId' in e) || e.runId !== ch.runId) return;
    const who = 'userId' in e ? { userId: e.userId, userPrincipalName: e.userPrincipalName } : null;
    switch (e.type) {
      // Object literals, not a spread of `who`: a spread object is about four times the size, and a first run at a
      // large tenant moves every user (a million transitions held until the report is written).
      case 'userEnteredStage': ch.transitions.push({ userId: e.userId, userPrincipalName: e.userPrincipalName, from: e.from, to: e.to, reason: e.reason }); break;
      case 'leftCampaign': ch.transitions.push({ userId: e.userId, userPrincipalName: e.userPrincipalName, from: e.from, to: null, reason: e.reason }); break;
      case 'notificationSent': ch.notifications++; break;
      case 'addedToGroup': if (!e.alreadyMember) ch.groupAdds++; break;
      case 'graceExceeded': ch.graceExceeded.push({ ...who!, stage: e.stage }); break;
      case 'alertRaised': ch.alertsRaised.push({ ...who!, kind: e.kind }); break;
      case 'alertCleared': ch.alertsCleared.push({ ...who!, kind: e.kind }); break;
      case 'exemptionUnresolved': c.unresolved.push(e); break;
      case 'onboardingPassIssued': ch.onboarding.issued++; break;
      case 'onboardingQueued': ch.onboarding.queued++; break;
      case 'onboardingPassExpired': ch.onboarding.expired++; break;
      default: break;
    }
  }

  /** What buildReport reads; the fold itself is left as it was (more events may follow). */
  result(): ReportReplay {
    const state = this.state;
    const days = new Map(this.days);
    // A run that never finished (crash, or one in progress) still changed the ledger: count its day too.
    if (state.lastRun && state.lastRun.finishedAt === null) this.snapshot(days, dayOf(state.lastRun.startedAt), false);
    const daily: DayCounts[] = [];
    const keys = [...days.keys()].sort((a, b) => a - b);
    if (keys.length > 0) {
      let carry: DayCounts | null = null;
      for (let d = keys[0]; d <= keys[keys.length - 1]; d++) {
        const row: DayCounts = days.get(d) ?? { ...(carry as DayCounts), date: dateOfDay(d), runs: 0 };
        daily.push(row);
        carry = row;
      }
    }
    const last = state.lastRun;
    const ch = this.changes.current;
    let lastRunChanges: RunChanges | null = null;
    let unresolved: ExemptionUnresolvedEvent[] = [];
    if (last && ch && ch.runId === last.runId) {
      lastRunChanges = {
        runId: last.runId, at: last.startedAt, ok: last.ok,
        transitions: ch.transitions, notifications: (this.notificationsByRun.get(last.runId) ?? 0) + ch.notifications, groupAdds: ch.groupAdds,
        graceExceeded: ch.graceExceeded, alertsRaised: ch.alertsRaised, alertsCleared: ch.alertsCleared, postponed: ch.postponed,
        onboarding: ch.onboarding,
      };
      unresolved = this.changes.unresolved;
    }
    return {
      state, daily, exceededAt: this.exceeded, lastRunChanges, unresolved, onboarding: this.onboarding, positionEvents: this.positionEvents, overviewEvents: this.overviewEvents,
      usersInOrder: () => this.usersInOrder(),
    };
  }
}

/**
 * The report's fold of a list of events as given, oldest first (the overview's events with their notices counted
 * in `notificationsByRun`, or every event).
 */
export function foldReport(events: Iterable<LedgerEvent>, notificationsByRun?: ReadonlyMap<string, number>): ReportReplay {
  const f = new ReportFold(false);
  for (const e of events) f.add(e);
  if (notificationsByRun) for (const [k, v] of notificationsByRun) f.notificationsByRun.set(k, (f.notificationsByRun.get(k) ?? 0) + v);
  return f.result();
}
