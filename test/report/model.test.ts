import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { estimateAssumptions, estimateEnd, outlook, stuckActions } from '../../src/engine/estimate';
import { formatStatusText } from '../../src/report/text';
import type { LedgerEvent } from '../../src/ledger/events';
import { foldLedger, type DeliverySnapshot } from '../../src/engine/state';
import type { Stage } from '../../src/engine/types';
import type { NotificationKind } from '../../src/contracts/vocabulary';
import { tableRows } from './dashboard-page';
import { buildDashboardDetail, buildReport, jsonForScript, readReportLedger, renderDashboard, renderMarkdown } from '../../src/report/index';
import { FileStore } from '../../src/ledger/file/store';
import { campaign, day, device, observation, OLD_IPHONE, ready, user } from '../engine/fixtures';

// A hand-written ledger: three daily runs (none on day 2), a postponement, a grace period exceeded, an alert.
const ada = { userId: 'u-ada', userPrincipalName: 'ada@contoso.com' };
const bob = { userId: 'u-bob', userPrincipalName: 'bob@contoso.com' };
const cy = { userId: 'u-cy', userPrincipalName: 'Cy@contoso.com' };
const run = (d: number, id: string, body: LedgerEvent[], ok: boolean | null = true): LedgerEvent[] => [
  { v: 1, type: 'runStarted', at: day(d), runId: id, campaign: 'admins-passkeys', status: 'inProgress' },
  ...body,
  ...(ok === null ? [] : [{ v: 1 as const, type: 'runFinished' as const, at: day(d), runId: id, ok }]),
];
const enter = (d: number, runId: string, who: typeof ada, from: Stage | null, to: Stage, reason = 'R'): LedgerEvent =>
  ({ v: 1, type: 'userEnteredStage', at: day(d), runId, ...who, from, to, reason, message: reason });
const notified = (d: number, runId: string, who: typeof ada, stage: Stage, sequence = 1): LedgerEvent =>
  ({ v: 1, type: 'notificationSent', at: day(d), runId, ...who, key: `k:${who.userId}:${stage}:${sequence}`, kind: stage as NotificationKind, stage, sequence });

function ledger(): LedgerEvent[] {
  return [
    ...run(0, 'r0', [
      enter(0, 'r0', ada, null, 'deviceUpdate'), notified(0, 'r0', ada, 'deviceUpdate'),
      enter(0, 'r0', bob, null, 'passkeyRegistration'), notified(0, 'r0', bob, 'passkeyRegistration'),
      enter(0, 'r0', cy, null, 'enforcementNotice'), notified(0, 'r0', cy, 'enforcementNotice'),
    ]),
    { v: 1, type: 'postponed', at: day(0.5), ...ada, stage: 'deviceUpdate', until: day(3.5), count: 1, days: 3 },
    ...run(1, 'r1', [notified(1, 'r1', bob, 'passkeyRegistration', 2)]),
    { v: 1, type: 'postponed', at: day(2.5), ...bob, stage: 'passkeyRegistration', until: day(5.5), count: 1, days: 3 },
    ...run(3, 'r3', [
      enter(3, 'r3', cy, 'enforcementNotice', 'enforced', 'NoticePeriodElapsed'), notified(3, 'r3', cy, 'enforced'),
      { v: 1, type: 'addedToGroup', at: day(3), runId: 'r3', ...cy },
      { v: 1, type: 'graceExceeded', at: day(3), runId: 'r3', ...ada, stage: 'deviceUpdate', deadline: '2026-12-04T00:00:00.000Z' },
      { v: 1, type: 'alertRaised', at: day(3), runId: 'r3', ...cy, kind: 'EnforcedWithoutPasskey', message: 'no passkey' },
    ]),
  ];
}

const obs = () => observation([
  user({ ...ada, devices: [OLD_IPHONE(), device({ id: 'dev-ok' })] }),
  user({ ...bob }),
  user({ ...cy, methodsRegistered: [], fido2Methods: [], inEnforcementGroup: true }),
], { at: day(3) });

describe('buildReport', () => {
  it('puts the DESIGN §5 fields first and lists users by UPN, case-insensitively', () => {
    const r = buildReport({ campaign: campaign(), events: ledger(), observation: obs() });
    expect(Object.keys(r).slice(0, 6)).toEqual(['campaign', 'status', 'counts', 'users', 'estimatedEnd', 'outlook']);
    expect(r.users.map((u) => u.userPrincipalName)).toEqual(['ada@contoso.com', 'bob@contoso.com', 'Cy@contoso.com']);
    expect(r.users[0]).toMatchObject({
      userId: 'u-ada', stage: 'deviceUpdate', stageSince: day(0), exceededGrace: true, exceededGraceAt: '2026-12-04T00:00:00.000Z',
      postponedUntil: day(3.5), deadline: '2026-12-18', readiness: 'needsDeviceUpdate',
      devicesBelowMinimum: ["iOS 16.5 on Ada's iPhone (minimum 17.0)"],
    });
    expect(Object.keys(r.users[0]).slice(0, 6)).toEqual(['userId', 'userPrincipalName', 'stage', 'stageSince', 'exceededGrace', 'postponedUntil']);
    expect(r.counts).toMatchObject({ targeted: 3, deviceUpdate: 1, passkeyRegistration: 1, enforcementNotice: 0, enforced: 1, exceededGrace: 1 });
    // Cy is enforced (and has lost her passkey): counted as enforced, in no readiness category.
    expect(r.readiness).toEqual({ needsDeviceUpdate: 1, needsPasskey: 1, ready: 0, unassessed: 0, enforced: 1 });
    expect(r.users.find((u) => u.userId === 'u-cy')?.readiness).toBe('needsPasskey');
  });

  it('keeps readiness apart from stage: enforced users are never "ready for enforcement"', () => {
    const o = observation([
      user({ ...ada, devices: [OLD_IPHONE()] }),
      ready({ ...bob }),
      ready({ ...cy, inEnforcementGroup: true }),
    ], { at: day(3) });
    const r = buildReport({ campaign: campaign(), events: ledger(), observation: o });
    expect(r.readiness).toEqual({ needsDeviceUpdate: 1, needsPasskey: 0, ready: 1, unassessed: 0, enforced: 1 });
    const { enforced, ...categories } = r.readiness;
    expect(enforced + Object.values(categories).reduce((a, b) => a + b, 0)).toBe(o.users.length);
    expect(r.outlook[0]).toBe('3 users are targeted: 1 already enforced; of the other 2, 1 needs a device update (50%), 0 need a passkey (0%), 1 is ready for enforcement (50%).');
    expect(formatStatusText(r)).toContain('needs device update 1 · needs passkey 0 · ready 1 (not counting 1 already enforced)');
    expect(renderMarkdown(r)).toContain('ready for enforcement 1 (not counting 1 already enforced)');
  });

  it('names the users past a grace period, since when, and what the admin can do; the estimate says it is the earliest', () => {
    const r = buildReport({ campaign: campaign(), events: ledger(), observation: obs() });
    expect(r.stuck).toEqual({
      users: 1,
      oldestSince: '2026-12-04T00:00:00.000Z',
      message: '1 user is past a grace period (the oldest since 2026-12-04, 0 days ago) and gets no more reminders. They make no progress until they act, so the campaign cannot end before they do; the estimated end is reached only if they act today.',
      actions: stuckActions(campaign()),
    });
    expect(r.estimateAssumptions).toBe(estimateAssumptions(campaign()));
    expect(r.estimatedEnd).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const text = formatStatusText(r).split('\n');
    expect(text).toContain(`  Estimated end               ${r.estimatedEnd} at the earliest, if the 1 user past a grace period acts today`);
    expect(text).toContain(`Stuck users: ${r.stuck!.message}`);
    expect(text).toContain('What you can do:');
    for (const a of r.stuck!.actions) expect(text).toContain(`  - ${a}`);
    expect(text).toContain(`  ${r.estimateAssumptions}`);
    const md = renderMarkdown(r);
    expect(md).toContain(`estimated end **${r.estimatedEnd}** at the earliest, if the 1 user past a grace period acts today`);
    expect(md).toContain('### Stuck users (1)');
    expect(md).toContain('- Contact them directly: `campaign status --campaign admins-passkeys --csv stuck-users.csv --stuck` writes');
    expect(md).toContain('spec.exclusions.users');
    expect(md).toContain(`- ${r.estimateAssumptions}`);
    const json = JSON.parse(JSON.stringify(r));
    expect(json.stuck.users).toBe(1);
    expect(typeof json.estimateAssumptions).toBe('string');
  });

  it('has no stuck users and a plain estimated end while nobody is past a grace period', () => {
    const events = ledger().filter((e) => e.type !== 'graceExceeded');
    const r = buildReport({ campaign: campaign(), events, observation: obs() });
    expect(r.stuck).toBeNull();
    expect(formatStatusText(r)).toMatch(new RegExp(`\n  Estimated end {2,}${r.estimatedEnd}\n`));
    expect(formatStatusText(r)).not.toContain('Stuck users');
    expect(renderMarkdown(r)).toContain(`estimated end **${r.estimatedEnd}**\n`);
    expect(renderMarkdown(r)).not.toContain('### Stuck users');
  });

  it('carries each user\'s mail from the observation for the contact list', () => {
    const o = obs();
    o.users[0].mail = 'ada.lovelace@contoso.com';
    const r = buildReport({ campaign: campaign(), events: ledger(), observation: o });
    expect(r.users.find((u) => u.userId === 'u-ada')?.mail).toBe('ada.lovelace@contoso.com');
    expect(buildReport({ campaign: campaign(), events: ledger(), observation: null }).users.every((u) => u.mail === null)).toBe(true);
  });

  it('carries the last counts over days without a run in the daily series', () => {
    const r = buildReport({ campaign: campaign(), events: ledger(), observation: obs() });
    expect(r.daily.map((d) => [d.date, d.deviceUpdate, d.passkeyRegistration, d.enforcementNotice, d.enforced, d.exceededGrace, d.runs])).toEqual([
      ['2026-12-01', 1, 1, 1, 0, 0, 1],
      ['2026-12-02', 1, 1, 1, 0, 0, 1],
      ['2026-12-03', 1, 1, 1, 0, 0, 0],
      ['2026-12-04', 1, 1, 0, 1, 1, 1],
    ]);
  });

  it('reports the last run\'s changes, with the postponements recorded since the run before', () => {
    const r = buildReport({ campaign: campaign(), events: ledger(), observation: obs() });
    expect(r.lastRunChanges).toEqual({
      runId: 'r3', at: day(3), ok: true,
      transitions: [{ ...cy, from: 'enforcementNotice', to: 'enforced', reason: 'NoticePeriodElapsed' }],
      notifications: 1, groupAdds: 1,
      graceExceeded: [{ ...ada, stage: 'deviceUpdate' }],
      alertsRaised: [{ ...cy, kind: 'EnforcedWithoutPasskey' }], alertsCleared: [],
      postponed: [{ ...bob, stage: 'passkeyRegistration', until: day(5.5) }],
      onboarding: { issued: 0, queued: 0, expired: 0 },
    });
  });

  it('counts notifications the reader left out of the events', () => {
    const events = ledger().filter((e) => e.type !== 'notificationSent');
    const r = buildReport({ campaign: campaign(), events, observation: obs(), notificationsByRun: new Map([['r3', 1]]) });
    expect(r.lastRunChanges?.notifications).toBe(1);
    expect(r.users).toEqual(buildReport({ campaign: campaign(), events: ledger(), observation: obs() }).users);
  });

  it('raises alerts for enforced users without a passkey, exceeded grace, an unfinished run and a stopped scheduler', () => {
    const events = [...ledger(), ...run(4, 'r4', [], null)];
    const r = buildReport({ campaign: campaign(), events, observation: obs(), now: new Date(day(7)) });
    expect(r.alerts.map((a) => [a.code, a.severity, a.users.map((u) => u.userId)])).toEqual([
      ['LastRunUnfinished', 'warning', []],
      ['StaleRun', 'warning', []],
      ['EnforcedWithoutPasskey', 'error', ['u-cy']],
      ['GraceExceeded', 'warning', ['u-ada']],
    ]);
    expect(r.daily.at(-1)).toMatchObject({ date: '2026-12-05', runs: 0 });
  });

  it('shows exemptions the last run could not establish as one campaign alert, in place of LastRunFailed, until a run goes on', () => {
    const unresolved = (entry: string, message: string): LedgerEvent =>
      ({ v: 1, at: day(4), runId: 'r4', type: 'exemptionUnresolved', list: 'breakGlass', entry, problem: 'notFound', message });
    const stopped = [...ledger(), ...run(4, 'r4', [unresolved('bg1@contoso.com', 'bg1 is gone. Fix it.'), unresolved('bg2@contoso.com', 'bg2 is gone. Fix it too.')], false)];
    const r = buildReport({ campaign: campaign(), events: stopped, observation: obs() });
    expect(r.alerts.filter((a) => a.code === 'ExemptionUnresolved' || a.code === 'LastRunFailed')).toEqual([{
      code: 'ExemptionUnresolved', severity: 'error', users: [],
      message: `The last reconcile run (r4, ${day(4)}) stopped without moving anyone: 2 exemption entries could not be established. bg1 is gone. Fix it. bg2 is gone. Fix it too.`,
    }]);
    const later = buildReport({ campaign: campaign(), events: [...stopped, ...run(5, 'r5', [])], observation: obs() });
    expect(later.alerts.map((a) => a.code)).not.toContain('ExemptionUnresolved');
  });

  it('lists targeted users who never entered (outside the FIDO2 policy) with stage null and the alert', () => {
    const o = obs();
    o.users.push(user({ userId: 'u-dee', userPrincipalName: 'dee@contoso.com', inFido2PolicyScope: false }));
    const r = buildReport({ campaign: campaign(), events: ledger(), observation: o });
    expect(r.users.find((u) => u.userId === 'u-dee')).toMatchObject({ stage: null, stageSince: null, alerts: ['OutsideFido2PolicyScope'] });
    expect(r.alerts.find((a) => a.code === 'OutsideFido2PolicyScope')?.message).toBe('1 targeted user is outside the FIDO2 (passkey) policy scope and cannot register a passkey.');
    expect(r.counts.blocked).toBe(1);
  });

  it('gives the same estimate and outlook as the engine on the full observation', () => {
    // buildReport hands the engine an observation trimmed to the devices that decide readiness.
    const o = observation([
      user({ ...ada, devices: [OLD_IPHONE(), device({ id: 'w-ok' }), device({ id: 'old-win', operatingSystemVersion: '10.0.17134', approximateLastSignInDateTime: day(-400) }), device({ id: 'weird', operatingSystemVersion: 'unknown' })] }),
      ready({ ...bob, devices: [device({ id: 'linux', operatingSystem: 'Linux', operatingSystemVersion: '6.1' }), device({ id: 'mac', operatingSystem: 'MacMDM', operatingSystemVersion: '12.7' })] }),
      user({ ...cy, devices: [], readErrors: ['GET failed'] }),
    ], { at: day(3) });
    const c = campaign();
    const events = ledger();
    const r = buildReport({ campaign: c, events, observation: o });
    const state = foldLedger(events);
    expect(r.estimatedEnd).toBe(estimateEnd(c, o, state, day(3)));
    expect(r.outlook).toEqual(outlook(c, o, state, day(3)));
    expect(r.outlook.join(' ')).toContain('could not be read');
  });

  it('says what is missing before any run and without an observation snapshot', () => {
    expect(buildReport({ campaign: campaign(), events: [], observation: null })).toMatchObject({
      asOf: null, runs: 0, lastRun: null, estimatedEnd: null, users: [], daily: [], lastRunChanges: null,
      outlook: ['No reconcile run has been recorded yet.'],
    });
    const r = buildReport({ campaign: campaign(), events: ledger(), observation: null });
    expect(r.counts.targeted).toBe(3);
    expect(r.alerts.map((a) => a.code)).toContain('NoObservation');
    expect(r.users.every((u) => u.readiness === null)).toBe(true);
  });
});

describe('the dashboard HTML', () => {
  const hostile = '</script><script>alert(1)</script><!--';

  it('embeds data so that no value can close the script element or inject markup', () => {
    expect(jsonForScript({ a: hostile, b: '\u2028' })).not.toMatch(/<\/script|<!--|\u2028/);
    expect(JSON.parse(jsonForScript({ a: hostile }))).toEqual({ a: hostile });
    const o = obs();
    o.users[0].displayName = hostile;
    o.users[0].userPrincipalName = `x${hostile}@contoso.com`;
    const c = campaign();
    c.metadata.description = hostile;
    o.users[0].devices[0].displayName = hostile;
    o.users[0].methodsRegistered = [hostile];
    const detail = buildDashboardDetail({ campaign: c, events: ledger(), observation: o });
    const html = renderDashboard(buildReport({ campaign: c, events: ledger(), observation: o }), c, { detail });
    // The table data, the user detail, their compressed payloads, the script.
    expect(html.match(/<script\b/g)).toHaveLength(5);
    expect(html.match(/<\/script>/g)).toHaveLength(5);
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--');
  });

  it('loads nothing from the network and forbids it with a Content-Security-Policy', () => {
    const html = renderDashboard(buildReport({ campaign: campaign(), events: ledger(), observation: obs() }), campaign());
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'/);
    expect(html).not.toMatch(/\b(?:src|href)="(?!#)/);
    expect(html).not.toMatch(/url\(/);
  });
});

describe('the Markdown summary', () => {
  it('escapes Markdown in free text and stays within GitHub\'s comment limit for large campaigns', () => {
    const c = campaign();
    c.metadata.description = '# not a heading | *not bold*';
    const users = Array.from({ length: 3000 }, (_, i) => user({ userId: `u${i}`, userPrincipalName: `user${i}@contoso.com` }));
    const events: LedgerEvent[] = run(0, 'r0', users.flatMap((u) => [enter(0, 'r0', u, null, 'passkeyRegistration')]));
    events.push(...run(20, 'r20', users.map((u) => ({ v: 1 as const, type: 'graceExceeded' as const, at: day(20), runId: 'r20', userId: u.userId, userPrincipalName: u.userPrincipalName, stage: 'passkeyRegistration' as const, deadline: day(14) }))));
    const text = renderMarkdown(buildReport({ campaign: c, events, observation: observation(users, { at: day(20) }) }));
    expect(text).toContain('\\# not a heading \\| \\*not bold\\*');
    expect(text).toContain('… and 2950 more users');
    expect(text.length).toBeLessThan(65_536);
  });
});

describe('notice delivery in the reports', () => {
  // As a run writes it: bob's latest notice failed three times in a row (Unreachable), cy's was delivered.
  const delivery: DeliverySnapshot = {
    v: 1, at: day(3),
    users: {
      'u-bob': { key: 'k:u-bob:passkeyRegistration:3', kind: 'passkeyRegistration', outcome: 'failed', at: day(3), attempts: 3, stageDeliveredAt: null },
      'u-cy': { key: 'k:u-cy:enforced:1', kind: 'enforced', outcome: 'delivered', at: day(3), attempts: 0, stageDeliveredAt: day(3) },
    },
  };
  const events = () => [...ledger(), { v: 1 as const, type: 'alertRaised' as const, at: day(3), runId: 'r3', ...bob, kind: 'Unreachable' as const, message: 'm' }];

  it('puts each user\'s latest notice in status --json users[] and counts the outcomes', () => {
    const r = buildReport({ campaign: campaign(), events: events(), observation: obs(), delivery });
    expect(r.users.map((u) => [u.userId, u.delivery])).toEqual([
      ['u-ada', null],
      ['u-bob', delivery.users['u-bob']],
      ['u-cy', delivery.users['u-cy']],
    ]);
    expect(r.notices).toEqual({ channel: 'teams', latest: { delivered: 1, failed: 1, inDoubt: 0, pending: 0, notSent: 0, cancelled: 0 }, unknown: 1 });
    expect(r.alerts.find((a) => a.code === 'Unreachable')).toEqual({
      code: 'Unreachable', severity: 'error', users: [bob],
      message: '1 user is unreachable (no mailbox, or notices not delivered) and is held: never enforced without a delivered enforcement notice.',
    });
  });

  it('lists users whose latest notice was not delivered in the Markdown summary', () => {
    const text = renderMarkdown(buildReport({ campaign: campaign(), events: events(), observation: obs(), delivery }));
    const section = text.slice(text.indexOf('### Notice delivery'), text.indexOf('### Outlook'));
    expect(section).toBe([
      '### Notice delivery',
      '',
      'Latest notice per user in the campaign (teams): delivered 1 · failed 1 · no delivery record 1.',
      '',
      '| User | Stage | Latest notice | Alert |',
      '|---|---|---|---|',
      '| `bob@contoso.com` | Passkey registration | passkey registration notice failed 2026-12-04 (3 undelivered in a row) | Unreachable |',
      '',
      '',
    ].join('\n'));
  });

  it('says notifications are off for a campaign with channel none', () => {
    const text = renderMarkdown(buildReport({ campaign: campaign({ channel: 'none' }), events: ledger(), observation: obs() }));
    expect(text).toContain('### Notice delivery\n\nNotifications are off (`spec.notifications.channel: none`): users are told outside this tool');
  });

  it('shows the latest notice in the dashboard\'s user table data', () => {
    const html = renderDashboard(buildReport({ campaign: campaign(), events: events(), observation: obs(), delivery }), campaign());
    expect(tableRows(html).map((u) => u[10])).toEqual(['', 'passkey registration notice failed 2026-12-04 (3 undelivered in a row)', 'enforced notice delivered 2026-12-04']);
    expect(html).toContain('<th scope="col" data-col="notice"><button type="button">Last notice');
  });
});

describe('readReportLedger', () => {
  it('reads the file store like store.read(), with notifications counted per run instead of kept', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-read-'));
    try {
      const store = new FileStore({ dir });
      // Delivery records (one per notification) are left out like the notifications themselves.
      const delivery: LedgerEvent[] = [
        { v: 1, at: day(3), runId: 'r3', type: 'notificationOutcome', ...cy, key: 'k:u-cy:enforced:1', channel: 'teams', outcome: 'delivered', status: 201 },
        { v: 1, at: day(3), type: 'notificationDispatch', runId: 'r3', channel: 'teams', keys: ['k:u-cy:enforced:1'] },
        { v: 1, at: day(3), runId: 'r3', type: 'groupAddIntent', ...cy, groupId: 'g1' },
        { v: 1, at: day(3), runId: 'r3', type: 'groupAddOutcome', ...cy, groupId: 'g1', outcome: 'added' },
      ];
      await store.append('admins-passkeys', [...ledger(), ...delivery]);
      await store.writeSnapshot('admins-passkeys', 'observation', obs());
      const r = await readReportLedger(store, 'admins-passkeys');
      expect(r.events).toEqual(ledger().filter((e) => e.type !== 'notificationSent'));
      expect([...r.notificationsByRun]).toEqual([['r0', 3], ['r1', 1], ['r3', 1]]);
      expect(r.observation).toEqual(obs());

      // A partial last line (an interrupted write) goes through the store's own reader and its warning.
      fs.appendFileSync(store.ledgerFile('admins-passkeys'), '{"v":1,"type":"runSt');
      const partial = await readReportLedger(store, 'admins-passkeys');
      expect(partial.events).toEqual(r.events);
      expect(partial.warnings).toEqual([expect.stringContaining('partial trailing line')]);

      expect(await readReportLedger(store, 'other-campaign')).toEqual({ events: [], notificationsByRun: new Map(), observation: null, delivery: null, impact: null, warnings: [] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
