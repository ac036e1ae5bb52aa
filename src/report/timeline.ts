// Per-user detail for the HTML dashboard: each user's timeline from the ledger (stage moves, notices with
// their delivery, postponements, alerts, grace exceeded, the enforcement group) and, from the last
// observation, their devices and registered methods. Compact on purpose: the dashboard carries it for up to
// 50,000 users (all of them in smaller campaigns; `only` limits the work to those), so times are whole
// minutes from a campaign origin, repeated strings are interned once, and each user keeps only their latest
// entries with a count of the earlier ones.
import type { Campaign } from '../campaign/types';
import type { LedgerEvent } from '../ledger/events';
import { compareVersions, isActiveDevice, normalizeOs, parseVersion, readinessContext } from '../engine/readiness';
import { dayOf } from '../engine/time';
import { STAGES, type Observation, type Stage } from '../engine/types';

/**
 * One timeline entry: [minutes from the origin, code, …arguments]. Codes and arguments (s = an index into
 * `strings`, stage = an index into STAGES, -1 for none):
 * - 's' stage move: [t, 's', to stage, from stage, reason s]
 * - 'n' notice: [t, 'n', kind s, sequence, outcome s (-1 when no outcome was recorded), outcome minutes (-1)]
 * - 'p' postponed: [t, 'p', stage, until minutes, count]
 * - 'g' grace exceeded: [t, 'g', stage]
 * - 'a' alert raised / 'c' alert cleared: [t, 'a'|'c', kind s]
 * - 'e' enforcement group: [t, 'e', 1 when already a member else 0] ; 'x' group add not done: [t, 'x', outcome s]
 * - 'l' left the campaign: [t, 'l', reason s, from stage]
 */
export type TimelineEntry = [number, string, ...number[]];

/** A device as the detail shows it: [name, operating system s, version, state] (see DEVICE_STATE). */
export type DetailDevice = [string, number, string, number];

/** Device states: meets the minimum, below it, version unreadable, inactive or unsupported (does not count). */
export const DEVICE_STATE = { ok: 0, below: 1, unknown: 2, inactive: 3 } as const;

export interface UserDetail {
  /** Latest entries, oldest first. */
  timeline: TimelineEntry[];
  /** Entries left out before the first one kept. */
  earlier: number;
  /** null when the user is not in the last observation. */
  devices: DetailDevice[] | null;
  /** methodsRegistered from the last observation, as indexes into `strings`. */
  methods: number[] | null;
}

export interface DashboardDetail {
  /** Minutes since the epoch of the origin (midnight UTC of the first event's day). */
  origin: number;
  strings: string[];
  users: Map<string, UserDetail>;
}

/**
 * What the timelines use of a notice, its outcome and a group add's outcome: the ledger events have these
 * fields, and a reader may pass just them (src/report/read.ts reads them from the ledger's bytes).
 */
export type NoticeEvent =
  | { type: 'notificationSent'; at: string; userId: string; key: string; kind: string; sequence: number }
  | { type: 'notificationOutcome'; at: string; key: string; outcome: string }
  | { type: 'groupAddOutcome'; at: string; userId: string; outcome: string };

export interface DetailOptions {
  campaign: Campaign;
  /** The ledger, oldest first: every event, or the overview's with the notices passed in `notices`. */
  events: readonly LedgerEvent[];
  /** notificationSent, notificationOutcome and groupAddOutcome events, oldest first, when `events` leaves them out. */
  notices?: readonly NoticeEvent[];
  observation: Observation | null;
  /** Entries kept per user, the latest; default 40. */
  cap?: number;
  /** Only these users' detail (the ones a large dashboard carries: detailUsers in html.ts); every user's when absent or null. */
  only?: ReadonlySet<string> | null;
}

const MINUTE = 60_000;
const RANK: Record<string, number> = { x: 0, e: 1, s: 2, l: 2, n: 3, p: 4, g: 5, a: 6, c: 6 };

/** The dashboard's per-user detail from the ledger and the last observation. */
export function buildDashboardDetail(opts: DetailOptions): DashboardDetail {
  const cap = opts.cap ?? 40;
  const strings: string[] = [];
  const index = new Map<string, number>();
  const s = (text: string): number => {
    let i = index.get(text);
    if (i === undefined) {
      i = strings.length;
      strings.push(text);
      index.set(text, i);
    }
    return i;
  };
  const stageIdx = (st: Stage | null | undefined): number => (st ? STAGES.indexOf(st) : -1);
  const first = opts.events.length ? opts.events[0].at : opts.observation?.at ?? null;
  const origin = first ? dayOf(first) * 1440 : 0;
  // ISO times repeat (one per run), so each is parsed once.
  const minutes = new Map<string, number>();
  const t = (iso: string): number => {
    let m = minutes.get(iso);
    if (m === undefined) {
      const ms = Date.parse(iso);
      m = Number.isNaN(ms) ? 0 : Math.floor(ms / MINUTE) - origin;
      minutes.set(iso, m);
    }
    return m;
  };

  const timelines = new Map<string, TimelineEntry[]>();
  // notification key → its notice entry, so the outcome recorded later lands on it.
  const notices = new Map<string, TimelineEntry>();
  const only = opts.only ?? null;
  const push = (userId: string, entry: TimelineEntry) => {
    if (only !== null && !only.has(userId)) return;
    let list = timelines.get(userId);
    if (!list) timelines.set(userId, (list = []));
    list.push(entry);
  };
  let resetAt = '';
  const addNotice = (e: NoticeEvent) => {
    switch (e.type) {
      case 'notificationSent': {
        if (only !== null && !only.has(e.userId)) break;
        const entry: TimelineEntry = [t(e.at), 'n', s(e.kind), e.sequence, -1, -1];
        push(e.userId, entry);
        notices.set(e.key, entry);
        break;
      }
      case 'notificationOutcome': {
        const entry = notices.get(e.key);
        if (entry) {
          entry[4] = s(e.outcome);
          entry[5] = t(e.at);
          // Settled: a notice's outcome is recorded once (a later one for the same key is a resend's, kept too).
          if (e.outcome === 'delivered') notices.delete(e.key);
        }
        break;
      }
      case 'groupAddOutcome': if (e.outcome !== 'added') push(e.userId, [t(e.at), 'x', s(e.outcome)]); break;
    }
  };
  const add = (e: LedgerEvent) => {
    switch (e.type) {
      case 'userEnteredStage': push(e.userId, [t(e.at), 's', stageIdx(e.to), stageIdx(e.from), s(e.reason)]); break;
      case 'notificationSent': case 'notificationOutcome': case 'groupAddOutcome': addNotice(e); break;
      case 'postponed': push(e.userId, [t(e.at), 'p', stageIdx(e.stage), t(e.until), e.count]); break;
      case 'graceExceeded': push(e.userId, [t(e.at), 'g', stageIdx(e.stage)]); break;
      case 'alertRaised': push(e.userId, [t(e.at), 'a', s(e.kind)]); break;
      case 'alertCleared': push(e.userId, [t(e.at), 'c', s(e.kind)]); break;
      case 'addedToGroup': push(e.userId, [t(e.at), 'e', e.alreadyMember ? 1 : 0]); break;
      case 'leftCampaign': push(e.userId, [t(e.at), 'l', s(e.reason), stageIdx(e.from)]); break;
      // The dashboard shows the campaign since its last reset.
      case 'campaignReset': timelines.clear(); notices.clear(); resetAt = e.at; break;
      default: break;
    }
  };
  for (const e of opts.events) add(e);
  if (opts.notices) {
    const since = resetAt ? t(resetAt) : -Infinity;
    for (const e of opts.notices) if (t(e.at) >= since) addNotice(e);
  }
  // A run stamps all its events with one time: within a minute, entries go in the order a run makes them
  // (group add, stage move, notice, then grace and alerts), whether the notices were read apart or not.
  const before = (a: TimelineEntry, b: TimelineEntry) => a[0] - b[0] || RANK[a[1]] - RANK[b[1]];
  for (const list of timelines.values()) {
    for (let i = 1; i < list.length; i++) {
      if (before(list[i - 1], list[i]) > 0) {
        list.sort(before);
        break;
      }
    }
  }

  const users = new Map<string, UserDetail>();
  for (const [id, list] of timelines) {
    const earlier = Math.max(0, list.length - cap);
    users.set(id, { timeline: earlier ? list.slice(earlier) : list, earlier, devices: null, methods: null });
  }
  const obs = opts.observation;
  if (obs) {
    const ctx = readinessContext(opts.campaign, obs.fido2Policy, obs.at);
    for (const ou of obs.users) {
      if (only !== null && !only.has(ou.userId)) continue;
      // As assessReadiness judges devices: active, on a supported platform, version below the minimum.
      const devices: DetailDevice[] = [];
      for (const d of ou.devices) {
        const platform = normalizeOs(d.operatingSystem);
        let state: number = DEVICE_STATE.inactive;
        if (platform !== null && isActiveDevice(d, ctx)) {
          const parts = parseVersion(d.operatingSystemVersion);
          state = parts === null ? DEVICE_STATE.unknown : compareVersions(parts, ctx.minimum[platform].parts) < 0 ? DEVICE_STATE.below : DEVICE_STATE.ok;
        }
        devices.push([d.displayName, s(d.operatingSystem ?? 'unknown'), d.operatingSystemVersion ?? '', state]);
      }
      const methods: number[] = [];
      for (const m of ou.methodsRegistered) methods.push(s(m));
      let u = users.get(ou.userId);
      if (!u) users.set(ou.userId, (u = { timeline: [], earlier: 0, devices: null, methods: null }));
      u.devices = devices;
      u.methods = methods;
    }
  }
  return { origin, strings, users };
}
