// A synthetic StatusReport and user detail of any size, built directly (no ledger, no reconcile), for the
// dashboard at scale: the browser test renders it, bench/dashboard.mjs measures it at 1,000,000 users.
// Deterministic (one seeded PRNG) and free of runtime imports, so the bench can transpile this file alone.
// Users come out sorted by UPN, as buildReport sorts them. The detail is a Map whose get() builds a user's
// entries when asked: the dashboard asks only for the users it carries, so a million timelines need not be
// held in memory to measure the page.
import type { Stage } from '../../src/engine/types';
import type { StatusReport, StatusUser } from '../../src/report/model';
import type { DashboardDetail, TimelineEntry, UserDetail } from '../../src/report/timeline';
import { zeroStages } from '../../src/report/stages';

const FIRST = ['aaron', 'abigail', 'adam', 'adrian', 'aisha', 'alex', 'amelia', 'ana', 'andrea', 'anna', 'arjun', 'ben', 'carla', 'carlos', 'chen', 'chloe', 'daniel', 'david', 'elena', 'emma', 'fatima', 'felix', 'grace', 'hana', 'hugo', 'ines', 'isaac', 'ivan', 'jack', 'james', 'jia', 'julia', 'kai', 'karim', 'laura', 'leo', 'lucas', 'maria', 'mateo', 'mei', 'mia', 'noah', 'nora', 'olga', 'omar', 'oscar', 'paula', 'priya', 'rafael', 'rosa', 'sam', 'sara', 'sofia', 'tom', 'uma', 'victor', 'wei', 'yusuf', 'zara', 'zoe'];
const LAST = ['adams', 'ali', 'baker', 'becker', 'brown', 'chen', 'clark', 'costa', 'dubois', 'evans', 'fischer', 'garcia', 'gomez', 'green', 'hall', 'hansen', 'ito', 'jensen', 'johnson', 'kim', 'king', 'kowalski', 'lee', 'lopez', 'martin', 'meyer', 'miller', 'moreau', 'mueller', 'nguyen', 'novak', 'olsen', 'park', 'patel', 'perez', 'rossi', 'sato', 'schmidt', 'silva', 'singh', 'smith', 'suzuki', 'taylor', 'tanaka', 'walker', 'wang', 'weber', 'white', 'wilson', 'wright', 'yamamoto', 'young', 'zhang', 'ziegler'].sort();
const DOMAINS = ['contoso.com', 'contoso.com', 'contoso.com', 'contoso.com', 'contoso.com', 'contoso.com', 'contoso.com', 'eu.contoso.com', 'fabrikam.com', 'northwind.contoso.com'];
const STAGE_NAMES: Stage[] = ['deviceUpdate', 'passkeyRegistration', 'enforcementNotice', 'enforced'];
const DAY = 86_400_000;
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticDashboard {
  report: StatusReport;
  detail: DashboardDetail;
}

/** `users` targeted users, `days` days into a campaign that started on 1 Dec 2026. */
export function syntheticDashboard(users: number, { days = 60, seed = 7 } = {}): SyntheticDashboard {
  const rnd = prng(seed);
  const start = Date.parse('2026-12-01T06:00:00.000Z');
  const asOf = new Date(start + (days - 1) * DAY).toISOString();
  const iso = (day: number) => new Date(start + day * DAY).toISOString();
  const date = (day: number) => iso(day).slice(0, 10);
  const per = Math.ceil(users / (FIRST.length * LAST.length));
  const width = String(per - 1).length;
  const list: StatusUser[] = new Array<StatusUser>(users);
  // Every stage of the vocabulary (graduated too, once it has it), then the established counts.
  const counts = { ...zeroStages(), targeted: users, deviceUpdate: 0, passkeyRegistration: 0, enforcementNotice: 0, enforced: 0, exceededGrace: 0, excluded: 0, unread: 0, blocked: 0 };
  const readiness = { needsDeviceUpdate: 0, needsPasskey: 0, ready: 0, unassessed: 0, enforced: 0 };
  const kinds: Array<'deviceUpdate' | 'passkeyRegistration' | 'enforcementNotice' | 'enforced'> = ['deviceUpdate', 'passkeyRegistration', 'enforcementNotice', 'enforced'];
  for (let i = 0; i < users; i++) {
    // In UPN order: first name, last name, then a number.
    const f = FIRST[Math.floor(i / (LAST.length * per))], l = LAST[Math.floor(i / per) % LAST.length], k = String(i % per).padStart(width, '0');
    const upn = `${f}.${l}${per > 1 ? `.${k}` : ''}@${DOMAINS[Math.floor(rnd() * DOMAINS.length)]}`;
    const r = rnd();
    const unread = r < 0.001, disabled = !unread && r < 0.004, outside = !unread && !disabled && r < 0.006;
    const st: Stage | null = r < 0.006 ? null : r < 0.1 ? 'deviceUpdate' : r < 0.35 ? 'passkeyRegistration' : r < 0.5 ? 'enforcementNotice' : 'enforced';
    const sinceDay = st === null ? -1 : Math.floor(rnd() * days);
    const graced = st === 'deviceUpdate' || st === 'passkeyRegistration';
    const exceeded = graced && sinceDay + 14 < days - 1 && rnd() < 0.5;
    const postponed = graced && !exceeded && rnd() < 0.05;
    const rd = st === 'deviceUpdate' ? 'needsDeviceUpdate' : st === 'passkeyRegistration' ? 'needsPasskey' : st === null ? (unread ? 'unassessed' : 'needsPasskey') : 'ready';
    const u: StatusUser = {
      userId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      userPrincipalName: upn,
      stage: st,
      stageSince: st === null ? null : iso(sinceDay),
      exceededGrace: exceeded,
      postponedUntil: postponed ? iso(days + 2) : null,
      displayName: `${cap(f)} ${cap(l)}`,
      deadline: st === null || st === 'enforced' ? null : date(sinceDay + (st === 'enforcementNotice' ? 7 : 14) + (postponed ? 3 : 0)),
      exceededGraceAt: exceeded ? iso(sinceDay + 14) : null,
      readiness: rd,
      devicesBelowMinimum: st === 'deviceUpdate' ? [`iOS 16.7.${Math.floor(rnd() * 10)} on ${cap(f)}'s iPhone (minimum 17.0)`] : [],
      alerts: outside ? ['OutsideFido2PolicyScope'] : disabled ? ['AccountDisabled'] : [],
      accountEnabled: !disabled,
      unread,
      delivery: st === null ? null : {
        key: `k:${i}`, kind: kinds[STAGE_NAMES.indexOf(st)], outcome: rnd() < 0.03 ? 'failed' : 'delivered', at: iso(Math.max(sinceDay, days - 1 - Math.floor(rnd() * 3))), attempts: 0, stageDeliveredAt: iso(sinceDay),
      },
      mail: upn,
    };
    if (u.delivery && u.delivery.outcome === 'failed') u.delivery.attempts = 1 + Math.floor(rnd() * 3);
    list[i] = u;
    if (st) counts[st]++;
    if (exceeded) counts.exceededGrace++;
    if (unread) counts.unread++;
    if (outside) counts.blocked++;
    if (st === 'enforced') readiness.enforced++;
    else readiness[rd]++;
  }
  const daily = Array.from({ length: days }, (_, d) => {
    const f = (d + 1) / days;
    return { ...zeroStages(), date: date(d), deviceUpdate: Math.round(counts.deviceUpdate * f), passkeyRegistration: Math.round(counts.passkeyRegistration * f), enforcementNotice: Math.round(counts.enforcementNotice * f), enforced: Math.round(counts.enforced * f), exceededGrace: Math.round(counts.exceededGrace * f), runs: 1 };
  });
  const report: StatusReport = {
    campaign: 'admins-passkeys', status: 'inProgress', counts, users: list, estimatedEnd: date(days + 40),
    outlook: [`${counts.enforced} of ${users} targeted users are enforced.`], description: 'Passkeys for every employee',
    asOf, runs: days, lastRun: { runId: `run-${days}`, startedAt: asOf, finishedAt: asOf, ok: true }, readiness,
    alerts: [{ code: 'GraceExceeded', severity: 'warning', message: `${counts.exceededGrace} users have exceeded a grace period.`, users: list.filter((u) => u.exceededGrace).slice(0, 500).map((u) => ({ userId: u.userId, userPrincipalName: u.userPrincipalName })) }],
    lastRunChanges: null, daily, warnings: [],
    notices: { channel: 'teams', latest: { delivered: 0, failed: 0, inDoubt: 0, pending: 0, cancelled: 0, notSent: 0 } as unknown as StatusReport['notices']['latest'], unknown: 0 },
    stuck: null, estimateAssumptions: 'Synthetic.',
    enforcement: { mode: 'reportOnly', policyState: 'reportOnly', enableWhen: { observedDays: 14, maxWouldBlockUsersPercent: 1 } }, impact: null,
    onboarding: { enabled: false, deliverTo: 'helpdesk', needPass: 0, issued: 0, expired: 0, queued: 0, queue: [] },
  };
  return { report, detail: lazyDetail(list, start, days) };
}

/** Each user's detail as buildDashboardDetail makes it, built on get(): stage moves, notices, reminders, grace exceeded, group add. */
function lazyDetail(list: StatusUser[], start: number, days: number): DashboardDetail {
  const strings = ['DeviceBelowMinimumOs', 'NoPasskeyRegistered', 'ReadyForEnforcement', 'DevicesUpdated', 'PasskeyRegistered', 'NoticePeriodElapsed',
    'deviceUpdate', 'deviceUpdateReminder', 'passkeyRegistration', 'passkeyRegistrationReminder', 'enforcementNotice', 'enforced', 'delivered', 'failed', 'iOS', 'Windows',
    'microsoftAuthenticatorPush', 'passKeyDeviceBoundAuthenticator'];
  const S = (s: string) => strings.indexOf(s);
  const origin = Math.floor(start / DAY) * 1440;
  const at = (day: number) => Math.floor((start + day * DAY) / 60_000) - origin;
  const byId = new Map<string, number>();
  class Lazy extends Map<string, UserDetail> {
    override get(id: string): UserDetail | undefined {
      if (byId.size === 0) list.forEach((u, i) => byId.set(u.userId, i));
      const i = byId.get(id);
      if (i === undefined) return undefined;
      const u = list[i];
      const tl: TimelineEntry[] = [];
      const since = u.stageSince ? Math.floor((Date.parse(u.stageSince) - start) / DAY) : -1;
      if (u.stage) {
        const order = STAGE_NAMES.indexOf(u.stage);
        // Earlier stages, a few days apart, then the current one.
        let d = Math.max(0, since - 3 * order);
        for (let s = 0; s <= order; s++, d = Math.min(since, d + 3)) {
          tl.push([at(d), 's', s, s - 1, S(['DeviceBelowMinimumOs', 'DevicesUpdated', 'PasskeyRegistered', 'NoticePeriodElapsed'][s])]);
          tl.push([at(d), 'n', S(STAGE_NAMES[s]), 1, S('delivered'), at(d)]);
        }
        if (u.stage === 'deviceUpdate' || u.stage === 'passkeyRegistration') {
          for (let r = since + 3, q = 2; r < Math.min(days, since + 14) && !(u.exceededGrace && r >= since + 14); r += 3, q++) tl.push([at(r), 'n', S(`${u.stage}Reminder`), q, S('delivered'), at(r)]);
          if (u.exceededGrace) tl.push([at(since + 14), 'g', STAGE_NAMES.indexOf(u.stage)]);
        }
        if (u.stage === 'enforced') tl.push([at(since), 'e', 0]);
      }
      return {
        timeline: tl.slice(-40), earlier: Math.max(0, tl.length - 40),
        devices: [[`${u.displayName}'s laptop`, S('Windows'), '10.0.22631.4602', 0], [`${u.displayName?.split(' ')[0]}'s iPhone`, S('iOS'), u.devicesBelowMinimum.length ? '16.7.1' : '18.1.1', u.devicesBelowMinimum.length ? 1 : 0]],
        methods: u.stage === 'enforcementNotice' || u.stage === 'enforced' ? [S('microsoftAuthenticatorPush'), S('passKeyDeviceBoundAuthenticator')] : [S('microsoftAuthenticatorPush')],
      };
    }
  }
  return { origin, strings, users: new Lazy() };
}
