// The dashboard's per-user detail (src/report/timeline.ts) and the parts of the page that act on counts:
// each user's timeline from the ledger with notice outcomes, postponements, alerts and the group add; their
// devices and methods from the last observation; counts as links that set the table's filters.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStore } from '../../src/ledger/file/store';
import type { LedgerEvent } from '../../src/ledger/events';
import type { Stage } from '../../src/engine/types';
import type { NotificationKind } from '../../src/contracts/vocabulary';
import { buildDashboardDetail, buildReport, detailUsers, readDashboardLedger, renderDashboard, type DashboardDetail } from '../../src/report/index';
import { encode7, escapeHtml, humanTime, timeHtml } from '../../src/report/html';
import { campaign, day, device, observation, OLD_IPHONE, user } from '../engine/fixtures';
import { decode7, detailData, pageData, tableRows } from './dashboard-page';

const ada = { userId: 'u-ada', userPrincipalName: 'ada@contoso.com' };
const cy = { userId: 'u-cy', userPrincipalName: 'cy@contoso.com' };
const run = (d: number, id: string, body: LedgerEvent[]): LedgerEvent[] => [
  { v: 1, type: 'runStarted', at: day(d), runId: id, campaign: 'admins-passkeys', status: 'inProgress' },
  ...body,
  { v: 1, type: 'runFinished', at: day(d), runId: id, ok: true },
];
const enter = (d: number, runId: string, who: typeof ada, from: Stage | null, to: Stage, reason: string): LedgerEvent =>
  ({ v: 1, type: 'userEnteredStage', at: day(d), runId, ...who, from, to, reason, message: reason });
const sent = (d: number, runId: string, who: typeof ada, stage: Stage, sequence = 1): LedgerEvent =>
  ({ v: 1, type: 'notificationSent', at: day(d), runId, ...who, key: `k:${who.userId}:${stage}:${sequence}`, kind: stage as NotificationKind, stage, sequence });
const outcome = (d: number, runId: string, who: typeof ada, stage: Stage, result: 'delivered' | 'failed', sequence = 1): LedgerEvent =>
  ({ v: 1, type: 'notificationOutcome', at: day(d), runId, ...who, key: `k:${who.userId}:${stage}:${sequence}`, channel: 'teams', outcome: result });

function ledger(): LedgerEvent[] {
  return [
    ...run(0, 'r0', [
      enter(0, 'r0', ada, null, 'deviceUpdate', 'DeviceBelowMinimumOs'), sent(0, 'r0', ada, 'deviceUpdate'), outcome(0, 'r0', ada, 'deviceUpdate', 'failed'),
      enter(0, 'r0', cy, null, 'enforcementNotice', 'ReadyForEnforcement'), sent(0, 'r0', cy, 'enforcementNotice'), outcome(0, 'r0', cy, 'enforcementNotice', 'delivered'),
    ]),
    { v: 1, type: 'postponed', at: day(0.5), ...ada, stage: 'deviceUpdate', until: day(3.5), count: 1, days: 3 },
    ...run(3, 'r3', [
      enter(3, 'r3', cy, 'enforcementNotice', 'enforced', 'NoticePeriodElapsed'),
      { v: 1, type: 'groupAddOutcome', at: day(3), runId: 'r3', ...cy, groupId: 'g', outcome: 'failed', detail: '503' },
      { v: 1, type: 'addedToGroup', at: day(3), runId: 'r3', ...cy },
      { v: 1, type: 'graceExceeded', at: day(3), runId: 'r3', ...ada, stage: 'deviceUpdate', deadline: '2026-12-04T00:00:00.000Z' },
      { v: 1, type: 'alertRaised', at: day(3), runId: 'r3', ...cy, kind: 'EnforcedWithoutPasskey', message: 'no passkey' },
      { v: 1, type: 'alertCleared', at: day(3), runId: 'r3', ...cy, kind: 'EnforcedWithoutPasskey', message: 'passkey back' },
    ]),
  ];
}

const obs = () => observation([
  user({ ...ada, devices: [OLD_IPHONE(), device({ id: 'dev-ok' }), device({ id: 'dev-old', displayName: 'OLD-PC', approximateLastSignInDateTime: null })] }),
  user({ ...cy, methodsRegistered: ['passKeyDeviceBoundAuthenticator', 'microsoftAuthenticatorPush'], inEnforcementGroup: true }),
], { at: day(3) });

/** A user's timeline entries as text, strings and times decoded. */
function timelineText(d: DashboardDetail, id: string): string[] {
  const str = (i: number) => d.strings[i];
  const at = (m: number) => new Date((d.origin + m) * 60_000).toISOString();
  return d.users.get(id)!.timeline.map(([t, code, ...a]) => {
    switch (code) {
      case 's': return `${at(t)} stage ${a[1]}→${a[0]} ${str(a[2])}`;
      case 'n': return `${at(t)} notice ${str(a[0])} #${a[1]} ${a[2] >= 0 ? `${str(a[2])} ${at(a[3])}` : 'no outcome'}`;
      case 'p': return `${at(t)} postponed ${a[0]} until ${at(a[1])} (${a[2]})`;
      case 'g': return `${at(t)} grace ${a[0]}`;
      case 'a': case 'c': return `${at(t)} ${code} ${str(a[0])}`;
      case 'e': return `${at(t)} group ${a[0]}`;
      case 'x': return `${at(t)} group add ${str(a[0])}`;
      default: return `${code}?`;
    }
  });
}

describe('buildDashboardDetail', () => {
  it('gives each user a timeline of stage moves, notices with their outcome, postponements, grace, alerts and the group add', () => {
    const d = buildDashboardDetail({ campaign: campaign(), events: ledger(), observation: obs() });
    expect(new Date(d.origin * 60_000).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    const readable = (id: string) => timelineText(d, id);
    expect(readable('u-ada')).toEqual([
      `${day(0)} stage -1→0 DeviceBelowMinimumOs`,
      `${day(0)} notice deviceUpdate #1 failed ${day(0)}`,
      `${day(0.5)} postponed 0 until ${day(3.5)} (1)`,
      `${day(3)} grace 0`,
    ]);
    expect(readable('u-cy')).toEqual([
      `${day(0)} stage -1→2 ReadyForEnforcement`,
      `${day(0)} notice enforcementNotice #1 delivered ${day(0)}`,
      `${day(3)} group add failed`,
      `${day(3)} group 0`,
      `${day(3)} stage 2→3 NoticePeriodElapsed`,
      `${day(3)} a EnforcedWithoutPasskey`,
      `${day(3)} c EnforcedWithoutPasskey`,
    ]);
  });

  it('lists devices from the last observation with their standing against the minimum OS, and the registered methods', () => {
    const d = buildDashboardDetail({ campaign: campaign(), events: ledger(), observation: obs() });
    const ada = d.users.get('u-ada')!;
    // [name, platform, version, state]: 1 below the minimum, 0 meets it, 3 inactive (no sign-in: does not count).
    expect(ada.devices!.map(([n, p, v, s]) => [n, d.strings[p], v, s])).toEqual([
      ["Ada's iPhone", 'IPhone', '16.5', 1],
      ['LAPTOP-1', 'Windows', '10.0.22631.4169', 0],
      ['OLD-PC', 'Windows', '10.0.22631.4169', 3],
    ]);
    expect(d.users.get('u-cy')!.methods!.map((i) => d.strings[i])).toEqual(['passKeyDeviceBoundAuthenticator', 'microsoftAuthenticatorPush']);
  });

  it('keeps the latest entries per user and counts the earlier ones; a campaign reset starts afresh', () => {
    const events = ledger();
    const capped = buildDashboardDetail({ campaign: campaign(), events, observation: null, cap: 3 });
    expect(capped.users.get('u-cy')!.timeline.map((e) => e[1])).toEqual(['s', 'a', 'c']);
    expect(capped.users.get('u-cy')!.earlier).toBe(4);
    expect(capped.users.get('u-cy')!.devices).toBeNull();
    const reset = buildDashboardDetail({
      campaign: campaign(), observation: null,
      events: [...events, { v: 1, type: 'campaignReset', at: day(4), generation: 2 }, ...run(5, 'r5', [enter(5, 'r5', ada, null, 'passkeyRegistration', 'NoPasskeyRegistered')])],
    });
    expect([...reset.users.keys()]).toEqual(['u-ada']);
    expect(reset.users.get('u-ada')!.timeline).toHaveLength(1);
  });
});

describe('readDashboardLedger', () => {
  it('reads every event for the timelines; a ledger too large to read whole is scanned for its notices, with the same timelines', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dash-ledger-'));
    try {
      const store = new FileStore({ dir });
      const events = ledger();
      await store.append('admins-passkeys', events);
      const whole = await readDashboardLedger(store, 'admins-passkeys');
      expect([whole.timelineEvents.length, whole.notices]).toEqual([events.length, null]);
      // The overview (what the report is built from) leaves notification lines out either way.
      expect(whole.events.some((e) => e.type.startsWith('notification'))).toBe(false);

      const read = await readDashboardLedger(store, 'admins-passkeys', { wholeReadBelowBytes: 0 });
      expect(read.timelineEvents.some((e) => e.type.startsWith('notification'))).toBe(false);
      // Only what the timelines use (a notice's outcome is matched by its key).
      const pick = (e: { type: string }) => JSON.stringify(e, ['type', 'at', 'key', 'kind', 'sequence', 'outcome']);
      expect(read.notices!.map(pick)).toEqual(events.filter((e) => e.type === 'notificationSent' || e.type === 'notificationOutcome' || e.type === 'groupAddOutcome').map(pick));
      expect(read.notices!.filter((e) => e.type !== 'notificationOutcome').map((e) => (e as { userId: string }).userId)).toEqual(['u-ada', 'u-cy', 'u-cy']);
      const split = buildDashboardDetail({ campaign: campaign(), events: read.timelineEvents, notices: read.notices!, observation: obs() });
      const all = buildDashboardDetail({ campaign: campaign(), events: whole.timelineEvents, observation: obs() });
      expect(timelineText(split, 'u-ada')).toEqual([
        `${day(0)} stage -1→0 DeviceBelowMinimumOs`, `${day(0)} notice deviceUpdate #1 failed ${day(0)}`, `${day(0.5)} postponed 0 until ${day(3.5)} (1)`, `${day(3)} grace 0`,
      ]);
      for (const id of ['u-ada', 'u-cy']) expect(timelineText(split, id)).toEqual(timelineText(all, id));
      // A missing ledger: nothing to read, no error.
      expect((await readDashboardLedger(store, 'other-campaign', { wholeReadBelowBytes: 0 })).timelineEvents).toEqual([]);
      expect((await readDashboardLedger(store, 'other-campaign')).timelineEvents).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the dashboard acts on its counts', () => {
  const c = campaign();
  const report = buildReport({ campaign: c, events: ledger(), observation: obs() });
  const html = renderDashboard(report, c, { detail: buildDashboardDetail({ campaign: c, events: ledger(), observation: obs() }) });

  it('makes every count a link to the filtered user table', () => {
    const link = (count: string) => new RegExp(`<a class="count[^"]*" href="([^"]+)" data-count="${count}"`).exec(html)?.[1];
    expect(link('needsDeviceUpdate')).toBe('#users?readiness=needsDeviceUpdate&amp;stage=notEnforced');
    expect(link('needsPasskey')).toBe('#users?readiness=needsPasskey&amp;stage=notEnforced');
    expect(link('ready')).toBe('#users?readiness=ready&amp;stage=notEnforced');
    expect(link('enforced')).toBe('#users?stage=enforced');
    expect(link('enforcementNotice')).toBe('#users?stage=enforcementNotice');
    expect(html).toContain('<a class="kpi" href="#users"><div class="label">Targeted users</div><div class="value" data-count="targeted">2</div>');
    expect(html).toContain('<a class="kpi bad" href="#users?exceeded=1"><div class="label">Exceeded grace period</div>');
    expect(html).toContain('<a class="kpi" href="#users?stage=enforced"><div class="label">Enforced</div>');
    expect(html).toMatch(/<li class="alert warning" data-alert="GraceExceeded"><span class="sev">Warning<\/span><div><p>1 user has exceeded a grace period[^<]*<\/p><a class="show-users" href="#users\?exceeded=1" data-alert-count="GraceExceeded">Show this user in the table<\/a>/);
    expect(html).toContain('<h2 id="users-h" tabindex="-1">Users</h2>');
  });

  it('does not call users ready for enforcement while counting enforced ones among them', () => {
    // Cy is enforced with a passkey: ready by devices and passkey, but counted as already enforced, not as ready.
    const u = report.users.find((x) => x.userId === 'u-cy')!;
    expect([u.stage, u.readiness, report.readiness.ready, report.readiness.enforced]).toEqual(['enforced', 'ready', 0, 1]);
    expect(html).toContain('<span class="what">Ready for enforcement</span>');
    expect(html).toContain('href="#users?readiness=ready&amp;stage=notEnforced" data-count="ready"');
    expect(html).toMatch(/href="#users\?stage=enforced" data-count="readinessEnforced" aria-label="1 users already enforced: show them in the user table">1<\/a><span class="what">Already enforced<\/span>/);
  });

  it('shows times readably with the exact UTC value in datetime and on hover', () => {
    expect(humanTime('2027-01-27T06:00:00.000Z')).toBe('27 Jan 2027, 06:00 UTC');
    expect(humanTime('2026-11-29')).toBe('29 Nov 2026');
    expect(timeHtml('2027-01-27T06:00:00.000Z')).toBe('<time datetime="2027-01-27T06:00:00.000Z" title="2027-01-27T06:00:00.000Z">27 Jan 2027, 06:00 UTC</time>');
    expect(html).toContain(`data observed ${timeHtml(day(3))}`);
    expect(html).not.toMatch(/>\d{4}-\d{2}-\d{2}T[^<]*</);
  });

  it('draws exceeded grace as its own series and lists it in the chart\'s table', () => {
    expect(report.daily.map((d) => d.exceededGrace)).toEqual([0, 0, 0, 1]);
    expect(html).toContain('<g class="exceeded-series">');
    expect(html).toContain('a dashed line for users past a grace period (1 on the last day)');
    expect(html).toContain('<th scope="col" class="num">Exceeded grace</th>');
    expect(html).toContain('<span class="sw sw-x"></span>Exceeded grace period (dashed line)');
  });

  it('carries the detail parallel to the table rows, compactly', () => {
    expect(tableRows(html).map((u) => u[0])).toEqual(['ada@contoso.com', 'cy@contoso.com']);
    const detail = detailData(html) as { ix: number[]; u: unknown[]; left: number };
    expect(detail.ix).toEqual([0, 1]);
    expect(detail.u).toHaveLength(2);
    expect(detail.left).toBe(0);
    expect((detail.u[1] as unknown[][])[0]).toHaveLength(7);
    // The payload is compressed: no UPN in clear in the page's data.
    expect(pageData(html, 'dashboard-data')).not.toHaveProperty('users');
    // Without a detail (e.g. a proposal) the page says so rather than showing empty timelines.
    expect(detailData(renderDashboard(report, c, { proposal: true }))).toMatchObject({ none: true });
  });

  it('beyond the detail limit, carries the detail of the users who need attention first', () => {
    // Ada is past her grace period (needs attention), Cy is not: with room for one, Ada's is the one kept.
    const one = detailData(renderDashboard(report, c, { detail: buildDashboardDetail({ campaign: c, events: ledger(), observation: obs() }), detailLimit: 1 })) as { ix: number[]; u: unknown[]; left: number };
    expect(report.users.map((u) => [u.userPrincipalName, u.exceededGrace])).toEqual([['ada@contoso.com', true], ['cy@contoso.com', false]]);
    expect(one.ix).toEqual([0]);
    expect(one.u).toHaveLength(1);
    expect(one.left).toBe(1);
    const none = detailData(renderDashboard(report, c, { detail: buildDashboardDetail({ campaign: c, events: ledger(), observation: obs() }), detailLimit: 0 })) as { ix: number[]; left: number };
    expect([none.ix, none.left]).toEqual([[], 2]);
  });

  it('builds timelines only for the users the page will carry, and the page carries the same detail', () => {
    expect(detailUsers(report)).toBeNull();
    const only = detailUsers(report, 1)!;
    expect([...only]).toEqual(['u-ada']);
    const lean = buildDashboardDetail({ campaign: c, events: ledger(), observation: obs(), only });
    expect([...lean.users.keys()]).toEqual(['u-ada']);
    const full = buildDashboardDetail({ campaign: c, events: ledger(), observation: obs() });
    // The same entries, devices and methods, with the strings they name (their indexes differ: fewer are interned).
    const STRING_ARGS: Record<string, number[]> = { s: [4], n: [2, 4], a: [2], c: [2], x: [2], l: [2] };
    const resolved = (d: DashboardDetail, id: string) => {
      const u = d.users.get(id)!;
      const str = (i: number) => (i < 0 ? null : d.strings[i]);
      return {
        timeline: u.timeline.map((e) => e.map((v, k) => ((STRING_ARGS[e[1]] ?? []).includes(k) ? str(v as number) : v))),
        earlier: u.earlier,
        devices: u.devices?.map((dv) => [dv[0], str(dv[1]), dv[2], dv[3]]),
        methods: u.methods?.map(str),
      };
    };
    expect(resolved(lean, 'u-ada')).toEqual(resolved(full, 'u-ada'));
    expect(resolved(lean, 'u-ada').timeline.length).toBeGreaterThan(3);
    const page = (detail: DashboardDetail) => detailData(renderDashboard(report, c, { detail, detailLimit: 1 })) as { ix: number[]; left: number };
    expect([page(lean).ix, page(lean).left]).toEqual([[0], 1]);
  });

  it('shows the stuck users, what to do and the estimate\'s assumptions', () => {
    // Ada is past her grace period: the model reports her as stuck.
    expect(report.stuck?.users).toBe(1);
    expect(html).toContain(`<h3>Users holding the end date</h3><p>${escapeHtml(report.stuck!.message)}</p>`);
    for (const a of report.stuck!.actions) expect(html).toContain(`<li>${escapeHtml(a)}</li>`);
    expect(html).toContain('<a class="show-users" href="#users?exceeded=1">Show the user past their grace period</a>');
    expect(html).toContain(`Assumptions: ${escapeHtml(report.estimateAssumptions)}`);
    expect(renderDashboard({ ...report, stuck: null }, c)).not.toContain('Users holding the end date');
  });
});

describe('the compressed payload', () => {
  it('carries any bytes through a script element: no NUL, CR or "<" in the text, and decodes to the same bytes', () => {
    // Every byte value, runs that make each unsafe 7-bit group, and lengths that end mid-group.
    const inputs = [Buffer.alloc(0), Buffer.from([0]), Buffer.from([13 << 1]), Buffer.from([60 << 1, 0xff]), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.alloc(999, 0), Buffer.alloc(77, 0xff)];
    let seed = 3;
    inputs.push(Buffer.from(Array.from({ length: 5003 }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24))));
    for (const bytes of inputs) {
      const text = encode7(bytes).toString('utf8');
      expect(text).not.toMatch(/[\u0000\r<]/);
      expect(decode7(text, bytes.length).equals(bytes)).toBe(true);
      // 8 bits of input take at most 8/7 bytes of page (base64 takes 8/6).
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(Math.ceil((bytes.length * 8) / 7) + 1);
    }
  });
});
