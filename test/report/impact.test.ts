// The recorded impact report (`campaign impact --record`, the state's `impact` snapshot) in the status model:
// carried with its age, checked field by field, and shown in the text, Markdown and HTML outputs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Campaign } from '../../src/campaign/types';
import type { AlertKind } from '../../src/contracts/vocabulary';
import { STAGES, type Stage } from '../../src/engine/types';
import type { LedgerEvent } from '../../src/ledger/events';
import { FileStore } from '../../src/ledger/file/store';
import { buildReport, IMPACT_SNAPSHOT, readDashboardLedger, readReportLedger, renderDashboard, renderMarkdown, type StatusReport } from '../../src/report/index';
import { formatStatusText, impactText } from '../../src/report/text';
import { campaign, day, observation, ready, user } from '../engine/fixtures';
import { pageData, unpack } from './dashboard-page';

const ada = { userId: 'u-ada', userPrincipalName: 'ada@contoso.com' };
const cy = { userId: 'u-cy', userPrincipalName: 'Cy@contoso.com' };

function ledger(): LedgerEvent[] {
  return [
    { v: 1, type: 'runStarted', at: day(3), runId: 'r3', campaign: 'admins-passkeys', status: 'inProgress' },
    { v: 1, type: 'userEnteredStage', at: day(3), runId: 'r3', ...ada, from: null, to: 'deviceUpdate', reason: 'DeviceBelowMinimumOs', message: 'm' },
    { v: 1, type: 'userEnteredStage', at: day(3), runId: 'r3', ...cy, from: null, to: 'enforced', reason: 'AlreadyInEnforcementGroup', message: 'm' },
    { v: 1, type: 'runFinished', at: day(3), runId: 'r3', ok: true },
  ];
}
const obs = () => observation([user({ ...ada }), ready({ ...cy, inEnforcementGroup: true })], { at: day(3) });

/** An impact report as `campaign impact --record` saves it, with an extra this reader does not know (kept as is). */
function impact(): Record<string, unknown> {
  return {
    campaign: 'admins-passkeys',
    policyId: 'a1b2c3d4-0000-4000-8000-000000000001',
    days: 14,
    users: { observed: 40, satisfied: 35, interrupted: 2, wouldBlock: 3, noPasskeySignIn: 5 },
    wouldBlock: [
      { userId: 'u-cy', userPrincipalName: 'Cy@contoso.com', apps: ['Office 365 Exchange Online'], clientApps: ['Exchange ActiveSync'], legacyClientApps: ['Exchange ActiveSync'], legacy: true, signIns: 6, lastAt: day(2.9) },
      { userId: 'u-x', userPrincipalName: 'xavier@contoso.com', apps: ['Office 365 Exchange Online', 'Azure Portal'], clientApps: ['IMAP4', 'Browser'] },
      { userId: 'u-y', userPrincipalName: 'yara@contoso.com', apps: ['Azure Portal'], clientApps: ['Browser'] },
    ],
    gate: { met: false, reason: 'TooManyWouldBlock', message: '3 observed users of 40 (7.5 %) had a sign-in the policy would have blocked; the gate allows at most 1 % (enableWhen.maxWouldBlockUsersPercent).', observedDays: 14, maxWouldBlockUsersPercent: 1, wouldBlockPercent: 7.5, coveredDays: 14 },
    at: day(3),
    window: { from: day(-11), to: day(3) },
    members: 42,
    unobserved: 2,
    policyState: 'enabledForReportingButNotEnforced',
    graduated: null,
    somethingNewer: { kept: true },
  };
}

const report = (o: { impact?: unknown; now?: string; campaign?: Campaign } = {}): StatusReport =>
  buildReport({ campaign: o.campaign ?? campaign(), events: ledger(), observation: obs(), impact: o.impact, now: o.now ? new Date(o.now) : undefined });

describe('the impact report in the status model', () => {
  it('carries the recorded report as saved, with its age in days and not stale within two days', () => {
    const r = report({ impact: impact(), now: day(4.5) });
    expect(r.impact).toEqual({ ...impact(), ageDays: 1, stale: false });
    expect(JSON.parse(JSON.stringify(r)).impact.somethingNewer).toEqual({ kept: true });
    expect(r.enforcement).toEqual({ mode: 'reportOnly', policyState: 'reportOnly', enableWhen: { observedDays: 14, maxWouldBlockUsersPercent: 1 } });
    expect(r.warnings).toEqual([]);
  });

  it.each([
    { name: 'exactly two days old: not stale yet', now: day(5), ageDays: 2, stale: false },
    { name: 'a minute past two days: stale', now: day(5 + 1 / 1440), ageDays: 2, stale: true },
    { name: 'a week old: stale', now: day(10), ageDays: 7, stale: true },
  ])('$name', ({ now, ageDays, stale }) => {
    expect(report({ impact: impact(), now }).impact).toMatchObject({ ageDays, stale });
  });

  it('measures the age against the data\'s time without a clock, and takes the window\'s end when the time is missing', () => {
    expect(report({ impact: impact() }).impact).toMatchObject({ ageDays: 0, stale: false });
    const { at: _at, ...noAt } = impact();
    expect(report({ impact: noAt, now: day(4) }).impact).toMatchObject({ ageDays: 1, stale: false });
  });

  it('calls a report of unknown age stale: nothing says when it was measured', () => {
    const { at: _at, window: _w, ...bare } = impact();
    expect(report({ impact: bare, now: day(4) }).impact).toMatchObject({ ageDays: null, stale: true });
    expect(impactText(report({ impact: bare, now: day(4) }))).toContain('  Stale: measured at an unknown time; run `campaign impact --campaign admins-passkeys --record` again before relying on it.');
  });

  it.each([
    { name: 'a count that is not a whole number', change: (x: Record<string, unknown>) => { (x.users as Record<string, unknown>).wouldBlock = '3'; }, problem: 'users.wouldBlock: expected a whole number' },
    { name: 'a gate without its verdict', change: (x: Record<string, unknown>) => { x.gate = { reason: 'r' }; }, problem: 'gate: expected { met, reason }' },
    { name: 'a would-block user without client types', change: (x: Record<string, unknown>) => { delete (x.wouldBlock as Array<Record<string, unknown>>)[1].clientApps; }, problem: 'wouldBlock[1]: expected { userId, userPrincipalName, apps, clientApps }' },
  ])('leaves out a snapshot with $name, and says which field and what to run', ({ change, problem }) => {
    const bad = impact();
    change(bad);
    const r = report({ impact: bad, now: day(4) });
    expect(r.impact).toBeNull();
    expect(r.warnings).toEqual([`The recorded impact report cannot be read (${problem}): run campaign impact --campaign admins-passkeys --record again.`]);
  });

  it('leaves out another campaign\'s report, and an extra of the wrong type rather than showing it wrong', () => {
    const other = { ...impact(), campaign: 'helpdesk-passkeys' };
    const r = report({ impact: other, now: day(4) });
    expect(r.impact).toBeNull();
    expect(r.warnings).toEqual(['The recorded impact report is of the campaign helpdesk-passkeys, not admins-passkeys: run campaign impact --campaign admins-passkeys --record.']);
    const odd = report({ impact: { ...impact(), members: 'many', policyState: 7 }, now: day(4) }).impact!;
    expect(odd).not.toHaveProperty('members');
    expect(odd).not.toHaveProperty('policyState');
    expect(odd.users.wouldBlock).toBe(3);
  });

  it('shows a short impact block in the status text: verdict, counts, would-block users, apps and legacy clients', () => {
    const r = report({ impact: impact(), now: day(4.5) });
    expect(impactText(r)).toEqual([
      'Sign-in impact of the report-only policy over 14 days, measured 2026-12-04T06:00:00.000Z (1 day ago):',
      '  Gate not met: 3 observed users of 40 (7.5 %) had a sign-in the policy would have blocked; the gate allows at most 1 % (enableWhen.maxWouldBlockUsersPercent).',
      '  Needs 14 days of sign-ins observed and at most 1 % of observed users would be blocked (spec.enforcement.enableWhen).',
      '  Observed users 40 of 42 in the enforcement group · satisfied 35 · interrupted 2 · would block 3 (7.5 %) · no passkey sign-in 5 · not observed 2',
      '  Would be blocked: Cy@contoso.com, xavier@contoso.com, yara@contoso.com',
      '  Top would-block apps: Azure Portal (2), Office 365 Exchange Online (2)',
      '  Client types: Browser (2 users), Exchange ActiveSync (legacy, 1 user), IMAP4 (legacy, 1 user)',
      '  Legacy clients (Exchange ActiveSync, IMAP4) cannot use a passkey: move those users to a modern client or app before enabling the policy.',
    ]);
    const text = formatStatusText(r);
    expect(text).toContain('\nSign-in impact of the report-only policy over 14 days');
    // A week later it says it is stale and what to run.
    expect(impactText(report({ impact: impact(), now: day(10) }))).toContain('  Stale: measured 7 days ago; run `campaign impact --campaign admins-passkeys --record` again before relying on it.');
  });

  it('says there is no impact report yet and how to get one', () => {
    const r = report({ now: day(4) });
    expect(r.impact).toBeNull();
    expect(impactText(r)).toEqual(['Sign-in impact: no impact report yet; run `campaign impact --campaign admins-passkeys --record` to measure the report-only policy\'s sign-in impact and save it for this report.']);
    expect(renderMarkdown(r)).toContain('### Sign-in impact\n\nNo impact report yet: run `campaign impact --campaign admins-passkeys --record` to measure');
  });

  it('counts graduated users in the block of a graduated campaign', () => {
    const c = campaign();
    c.spec.enforcement.mode = 'graduated';
    const r = report({ impact: impact(), now: day(4), campaign: c });
    expect(r.enforcement.mode).toBe('graduated');
    expect(impactText(r)).toContain('  Graduated users (under the enabled policy): 0');
    expect(renderMarkdown(r)).toContain('| Graduated users (enabled policy) | 0 |');
    expect(impactText(report({ impact: impact(), now: day(4) })).some((l) => l.includes('Graduated'))).toBe(false);
  });

  it('renders the Markdown section: verdict, the gate, counts, the would-block users with legacy clients marked', () => {
    const md = renderMarkdown(report({ impact: impact(), now: day(10) }));
    expect(md).toContain('### Sign-in impact\n\n**Gate not met**: 3 observed users of 40 (7.5 %) had a sign-in the policy would have blocked; the gate allows at most 1 % (enableWhen.maxWouldBlockUsersPercent).\n');
    expect(md).toContain('Needs 14 days of sign-ins observed and at most 1 % of observed users would be blocked (`spec.enforcement.enableWhen`). Measured 2026-12-04T06:00:00.000Z (7 days ago) over 14 days, policy report-only. **Stale**: run `campaign impact --campaign admins-passkeys --record` again before relying on it.');
    expect(md).toContain('| Enforcement group members | 42 |\n| Observed (the policy evaluated at least one sign-in) | 40 |\n| Satisfied the policy | 35 |\n| Interrupted (asked for more) | 2 |\n| Would be blocked (7.5 % of observed) | 3 |\n| No passkey sign-in in the window | 5 |\n| Not observed (no sign-in the policy evaluated) | 2 |');
    expect(md).toContain('| `xavier@contoso.com` | Office 365 Exchange Online, Azure Portal | IMAP4 (legacy), Browser |');
    expect(md).toContain('Legacy clients (Exchange ActiveSync: 1, IMAP4: 1) cannot use a passkey');
  });

  it('gives the dashboard an impact panel with the exact counts, and the would-block users\' rows for the table filter', () => {
    const r = report({ impact: impact(), now: day(4) });
    const html = renderDashboard(r, campaign());
    const panel = html.slice(html.indexOf('<section aria-labelledby="impact-h"'), html.indexOf('</section>', html.indexOf('<section aria-labelledby="impact-h"')));
    const shown = (key: string) => new RegExp(`data-count="${key}"[^>]*>([\\d,]+)<`).exec(panel)?.[1];
    expect([shown('impactObserved'), shown('impactSatisfied'), shown('impactInterrupted'), shown('impactWouldBlock'), shown('impactNoPasskey'), shown('impactUnobserved')]).toEqual(['40', '35', '2', '3', '5', '2']);
    expect(panel).toContain('href="#users?impact=wouldBlock"');
    expect(panel).toContain('<strong>Gate not met</strong>: 3 observed users of 40 (7.5 %) had a sign-in the policy would have blocked; the gate allows at most 1 % (enableWhen.maxWouldBlockUsersPercent).');
    expect(panel).toContain('<tr data-client="Exchange ActiveSync" data-legacy="true">');
    expect(panel).toContain('<tr data-client="Browser"><td>Browser</td>');
    expect(panel).toContain('2 of the users it would block are not in the user table');
    // The table's would-block rows: Cy only (the others are not targeted).
    const t = unpack(html, 'dashboard-rows', pageData(html, 'dashboard-data').length) as { upn: string[]; wb: number[] };
    expect(t.wb.map((i) => t.upn[i])).toEqual(['Cy']);
    expect(html).toContain('<select id="impact-filter">');
    // Without a report: how to get one, and no filter; a proposal has no panel at all.
    const none = renderDashboard(report({ now: day(4) }), campaign());
    expect(none).toContain('No impact report yet. Run <code>campaign impact --campaign admins-passkeys --record</code>');
    expect(none).not.toContain('<select id="impact-filter">');
    expect(renderDashboard(report({ now: day(4) }), campaign(), { proposal: true })).not.toContain('id="impact-h"');
  });
});

describe('reading the impact snapshot', () => {
  it('reads the state\'s impact snapshot beside the observation, for status and for the dashboard', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-impact-'));
    try {
      const store = new FileStore({ dir });
      await store.writeSnapshot('admins-passkeys', IMPACT_SNAPSHOT, impact());
      expect((await readReportLedger(store, 'admins-passkeys')).impact).toEqual(impact());
      expect((await readDashboardLedger(store, 'admins-passkeys')).impact).toEqual(impact());
      expect((await readReportLedger(store, 'other-campaign')).impact).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The stage after `enforced` comes with graduated enforcement's stage machine: these run once the vocabulary has it.
describe('a graduated campaign in the reports', () => {
  const GRADUATED = 'graduated' as Stage;
  const graduatedLedger = (): LedgerEvent[] => [
    ...ledger().slice(0, -1),
    { v: 1, type: 'userEnteredStage', at: day(3), runId: 'r3', ...cy, from: 'enforced', to: GRADUATED, reason: 'Graduated', message: 'm' },
    { v: 1, type: 'alertRaised', at: day(3), runId: 'r3', ...cy, kind: 'GraduatedSignInFailures' as AlertKind, message: 'blocked' },
    { v: 1, type: 'runFinished', at: day(3), runId: 'r3', ok: true },
  ];
  const graduatedCampaign = () => {
    const c = campaign();
    c.spec.enforcement.mode = 'graduated';
    return c;
  };
  const r = () => buildReport({ campaign: graduatedCampaign(), events: graduatedLedger(), observation: obs(), impact: impact(), now: new Date(day(4)) });

  it('counts the graduated stage, reaches enforcement with it, and reports its alert', () => {
    const rep = r();
    const cyRow = rep.users.find((u) => u.userId === 'u-cy')!;
    expect([cyRow.stage, cyRow.deadline]).toEqual([GRADUATED, null]);
    expect(rep.readiness.enforced).toBe(1);
    expect(rep.daily.at(-1)).toMatchObject({ enforced: 0, [GRADUATED]: 1 });
    expect(rep.alerts).toContainEqual({ code: 'GraduatedSignInFailures', severity: 'error', message: '1 graduated user has sign-ins failing under the enabled policy; they stay in the graduated group until someone acts.', users: [{ userId: 'u-cy', userPrincipalName: 'Cy@contoso.com' }] });
    const text = formatStatusText(rep).split('\n');
    expect(text).toContainEqual(expect.stringMatching(/^ {4}Graduated {2,}1 {2}50%$/));
    expect(impactText(rep)).toContain('  Graduated users (under the enabled policy): 1');
    expect(renderMarkdown(rep)).toContain('| Graduated | 1 | 50% |');
  });

  it('shows graduated in the funnel, the legend, the impact panel and the table', () => {
    const html = renderDashboard(r(), graduatedCampaign());
    expect(html).toContain('<span class="f-label">Graduated to the enabled policy</span>');
    expect(html).toMatch(/<a class="count n" href="#users\?stage=graduated" data-count="impactGraduated"[^>]*>1<\/a><span class="what">graduated to the enabled policy<\/span>/);
    expect(html).toContain('href="#users?stage=enforcedOrLater" data-count="readinessEnforced"');
    // The Enforced figure counts graduated users too, and links to both stages.
    expect(html).toMatch(/<a class="kpi" href="#users\?stage=enforcedOrLater"><div class="label">Enforced<\/div><div class="value">1<\/div><div class="sub">50% of targeted · 1 graduated<\/div>/);
    expect(html).toContain(`.st-${STAGES.indexOf(GRADUATED)}{background:#cffafe;color:#164e63}`);
    const t = unpack(html, 'dashboard-rows', pageData(html, 'dashboard-data').length) as { upn: string[]; stage: number[] };
    expect(t.stage[t.upn.indexOf('Cy')]).toBe(STAGES.indexOf(GRADUATED));
    expect(t.stage[t.upn.indexOf('ada')]).toBe(STAGES.indexOf('deviceUpdate'));
    expect(pageData(html, 'dashboard-data').stageKeys).toEqual([...STAGES, 'notEntered']);
  });
});
