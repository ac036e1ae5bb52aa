// The HTML dashboard in a real browser (Debian's chromium through playwright-core): a 500-admin demo ledger,
// rendered by `campaign status --html`, must show the same counts as `status --json`, sort and search its
// user table, and never touch the network. At 800 and 1600 px: a count opens exactly the users behind it
// (mouse and keyboard), a user's row opens their timeline and devices, the CSV holds the filtered users,
// and the funnel's labels are not clipped. With a recorded impact report in the state, the impact panel shows
// its exact counts and its would-block count opens exactly the would-block users.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import type { Observation } from '../../src/engine/types';
import type { LedgerEvent } from '../../src/ledger/events';
import { IMPACT_SNAPSHOT, type ImpactSnapshot } from '../../src/report/impact';
import type { StatusReport, StatusUser } from '../../src/report/model';
import { captureIo } from '../helpers/io';
import { buildDemoLedger, writeStartedCampaign } from './demo-ledger';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipping the dashboard browser test: ${CHROMIUM} is missing (run .ci/install-chromium.sh as root to install Debian's chromium).`);

const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');

// In CI the browser is installed by .ci/run, so a missing one is a failure there, not a skip.
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing in CI: .ci/run should have installed it with .ci/install-chromium.sh.`);
describe.skipIf(!haveChromium)('the HTML dashboard of a 500-admin demo campaign in headless Chromium', () => {
  let tmp: string;
  let report: StatusReport;
  let htmlFile: string;
  let browser: Browser;
  let page: Page;
  let events: LedgerEvent[];
  let observation: Observation;
  let impact: ImpactSnapshot;
  const offline: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-'));
    const state = path.join(tmp, 'state');
    const demo = await buildDemoLedger({ dir: state, admins: 500, days: 36, seed: 11, passkeyLossDay: 30 });
    events = (await demo.store.read(demo.campaign.metadata.name)).events;
    observation = (await demo.store.readSnapshot<Observation>(demo.campaign.metadata.name, 'observation'))!;
    const campaignFile = writeStartedCampaign(tmp);
    // A recorded `campaign impact` report: every 70th targeted user would be blocked, and one user no longer targeted.
    const blocked = observation.users.filter((_, i) => i % 70 === 5).map((u, i) => ({
      userId: u.userId, userPrincipalName: u.userPrincipalName,
      apps: i % 2 ? ['Office 365 Exchange Online'] : ['Office 365 Exchange Online', 'Azure Portal'],
      clientApps: i % 3 === 0 ? ['Exchange ActiveSync'] : i % 3 === 1 ? ['IMAP4', 'Browser'] : ['Browser'],
    }));
    blocked.push({ userId: 'u-no-longer-targeted', userPrincipalName: 'gone@contoso.com', apps: ['Azure Portal'], clientApps: ['Browser'] });
    impact = {
      campaign: demo.campaign.metadata.name, policyId: '6f1c9c55-2c59-4b8e-9b1e-0c3e6d0b1a01', days: 14,
      users: { observed: 301, satisfied: 287, interrupted: 9, wouldBlock: blocked.length, noPasskeySignIn: 23 },
      wouldBlock: blocked, gate: { met: false, reason: 'TooManyWouldBlock', message: `${blocked.length} observed users of 301 had a sign-in the policy would have blocked; the gate allows at most 1 % (enableWhen.maxWouldBlockUsersPercent).` },
      at: '2027-01-05T06:30:00.000Z', window: { from: '2026-12-22T06:30:00.000Z', to: '2027-01-05T06:30:00.000Z' }, members: 312, unobserved: 11, policyState: 'enabledForReportingButNotEnforced',
    };
    await demo.store.writeSnapshot(demo.campaign.metadata.name, IMPACT_SNAPSHOT, impact);

    // The CLI as a user runs it, on a started copy of the example campaign (the checkout's copy is notStarted).
    const json = captureIo(process.cwd(), {});
    expect(await run(['status', '--campaign', campaignFile, '--state', state, '--json', '--now', '2027-01-05T07:00:00Z'], json)).toBe(0);
    report = JSON.parse(json.out()) as StatusReport;
    htmlFile = path.join(tmp, 'out', 'dashboard.html');
    expect(report.status).toBe('inProgress');
    const html = captureIo(process.cwd(), {});
    expect(await run(['status', '--campaign', campaignFile, '--state', state, '--html', htmlFile, '--now', '2027-01-05T07:00:00Z'], html)).toBe(0);
    expect(html.out()).toBe(`wrote the dashboard to ${htmlFile}\n`);

    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await openAt(1360);
  });

  const pageErrors: string[] = [];
  /** The dashboard in a fresh browser context `width` px wide, offline (only the file itself may load). */
  async function openAt(width: number, hash = ''): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      offline.push(url);
      return route.abort();
    });
    const p = await context.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    p.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
    await p.goto(pathToFileURL(htmlFile).href + hash);
    await p.waitForSelector('html[data-ready="true"]');
    expect(pageErrors).toEqual([]);
    return p;
  }

  afterAll(async () => {
    await browser?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const countShown = async (key: string) => Number((await page.locator(`[data-count="${key}"]`).first().innerText()).replace(/[^\d]/g, ''));
  const firstCells = async () => page.locator('#user-rows tr td:first-child .upn').allInnerTexts();

  it('shows the same counts as status --json', async () => {
    // 500 admins generated; a few hold no supported role directly (only through PIM or a group) or are excluded.
    expect(report.counts.targeted).toBeGreaterThan(450);
    expect(report.users.length).toBe(report.counts.targeted);
    for (const key of ['targeted', 'deviceUpdate', 'passkeyRegistration', 'enforcementNotice', 'enforced', 'exceededGrace'] as const) {
      expect({ key, shown: await countShown(key) }).toEqual({ key, shown: report.counts[key] });
    }
    for (const key of ['needsDeviceUpdate', 'needsPasskey', 'ready'] as const) {
      expect({ key, shown: await countShown(key) }).toEqual({ key, shown: report.readiness[key] });
    }
    // Human-readable, with the exact value in datetime and on hover.
    const end = page.locator('[data-count="estimatedEnd"] time');
    expect(await end.getAttribute('datetime')).toBe(report.estimatedEnd);
    expect(await end.getAttribute('title')).toBe(`${report.estimatedEnd} (UTC)`);
    expect(await end.innerText()).toMatch(/^\d{1,2} [A-Z][a-z]{2} \d{4}$/);
    expect(await page.locator('#table-status').innerText()).toBe(`Showing 1–50 of ${report.counts.targeted} users`);
    expect(await page.locator('#user-rows tr').count()).toBe(50);
    // A deadline reads as a date, with how far it is from the day the data was observed.
    const i = report.users.slice(0, 50).findIndex((u) => u.deadline);
    const u = report.users[i];
    const days = Math.round((Date.parse(`${u.deadline}T00:00:00Z`) - Date.parse(`${report.asOf!.slice(0, 10)}T00:00:00Z`)) / 86_400_000);
    const deadline = page.locator(`#user-rows tr:nth-child(${i + 1}) td:nth-child(4)`);
    expect(await deadline.locator('time').getAttribute('datetime')).toBe(u.deadline);
    expect(await deadline.locator('.dn').innerText()).toBe(days === 0 ? 'on the day observed' : days > 0 ? `in ${days} day${days === 1 ? '' : 's'}` : `${-days} day${days === -1 ? '' : 's'} ago`);
    // The demo has users in every kind of trouble the dashboard must surface.
    expect(report.counts.exceededGrace).toBeGreaterThan(0);
    expect(await page.locator('[data-alert="EnforcedWithoutPasskey"]').count()).toBe(1);
    expect(await page.locator('[data-alert="GraceExceeded"]').innerText()).toContain(`${report.counts.exceededGrace} users have exceeded a grace period`);
  });

  it('shows the recorded impact report in its panel with the exact counts, the gate and the legacy clients marked', async () => {
    expect(report.impact).toMatchObject({ ...impact, ageDays: 0, stale: false });
    const shown = { impactObserved: 301, impactSatisfied: 287, impactInterrupted: 9, impactWouldBlock: impact.wouldBlock.length, impactNoPasskey: 23, impactUnobserved: 11 };
    for (const [key, n] of Object.entries(shown)) expect({ key, shown: await countShown(key) }).toEqual({ key, shown: n });
    const panel = page.locator('section#impact');
    expect(await panel.locator('h2').innerText()).toBe('Sign-in impact of the Conditional Access policy');
    expect(await panel.locator('[data-impact="gate"]').innerText()).toBe(`Gate not met: ${impact.gate.message}`);
    expect(await panel.locator('[data-impact="stale"]').count()).toBe(0);
    expect(await panel.locator('time').first().getAttribute('datetime')).toBe(impact.at);
    // Client types: the legacy ones marked, each with its number of would-block users.
    const rows = await panel.locator('tr[data-client]').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-client'), tr.getAttribute('data-legacy'), tr.querySelector('td.num')!.textContent]));
    const users = (c: string) => String(impact.wouldBlock.filter((w) => w.clientApps.includes(c)).length);
    expect(rows).toEqual([
      ['Browser', null, users('Browser')],
      ['Exchange ActiveSync', 'true', users('Exchange ActiveSync')],
      ['IMAP4', 'true', users('IMAP4')],
    ].sort((a, b) => Number(b[2]) - Number(a[2]) || (a[0]! < b[0]! ? -1 : 1)));
    expect(await panel.innerText()).toContain('1 of the users it would block is not in the user table');
  });

  it('sorts by a column from its header button, by mouse and by keyboard, and says so with aria-sort', async () => {
    const upns = report.users.map((u) => u.userPrincipalName.toLowerCase()).sort();
    const userTh = page.locator('th[data-col="user"]');
    expect(await userTh.getAttribute('aria-sort')).toBe('ascending');
    expect((await firstCells())[0].toLowerCase()).toBe(upns[0]);

    await userTh.locator('button').click();
    expect(await userTh.getAttribute('aria-sort')).toBe('descending');
    expect((await firstCells())[0].toLowerCase()).toBe(upns[upns.length - 1]);

    // Keyboard: focus the Stage header's button and press Enter.
    await page.locator('th[data-col="stage"] button').focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('th[data-col="stage"]').getAttribute('aria-sort')).toBe('ascending');
    expect(await userTh.getAttribute('aria-sort')).toBeNull();
    const firstStage = await page.locator('#user-rows tr:first-child .stage').innerText();
    const order = ['deviceUpdate', 'passkeyRegistration', 'enforcementNotice', 'enforced'];
    const earliest = report.users.map((u) => (u.stage === null ? 4 : order.indexOf(u.stage))).sort()[0];
    expect(firstStage).toBe(['Device update', 'Passkey registration', 'Enforcement notice', 'Enforced', 'Not entered'][earliest]);
    await page.keyboard.press('Space');
    expect(await page.locator('th[data-col="stage"]').getAttribute('aria-sort')).toBe('descending');

    // Exceeded grace: users who exceeded come first, the latest date first when descending.
    await page.locator('th[data-col="exceeded"] button').click();
    const exceeded = await page.locator('#user-rows tr td:nth-child(5)').allInnerTexts();
    expect(exceeded.slice(0, report.counts.exceededGrace > 50 ? 50 : report.counts.exceededGrace).every((t) => /^\d{1,2} [A-Z][a-z]{2} \d{4}$/.test(t))).toBe(true);
    const isoDates = await page.locator('#user-rows tr td:nth-child(5) time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));
    expect(isoDates.length).toBeGreaterThan(0);
    expect(isoDates.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(String(d)))).toBe(true);
  });

  it('searches by UPN or display name and pages through the results', async () => {
    const needle = report.users[123].userPrincipalName.split('@')[0].split('.').slice(0, 2).join('.');
    const expected = report.users.filter((u) => u.userPrincipalName.toLowerCase().includes(needle) || (u.displayName ?? '').toLowerCase().includes(needle)).length;
    await page.locator('#user-search').fill(needle);
    await expect.poll(() => page.locator('#table-status').innerText()).toMatch(new RegExp(`^${expected} users? matching "${needle.replace(/\./g, '\\.')}", showing 1–\\d+ \\(filtered from ${report.counts.targeted}\\)$`));
    for (const upn of await firstCells()) expect(upn.toLowerCase()).toContain(needle);

    await page.locator('#user-search').fill('');
    await page.locator('#stage-filter').selectOption({ label: 'Enforced' });
    await expect.poll(() => page.locator('#table-status').innerText()).toContain(`${report.counts.enforced} users in the stage Enforced`);
    await page.locator('#next-page').click();
    expect(await page.locator('#table-status').innerText()).toContain(', showing 51–');
    expect(await page.locator('#page-info').innerText()).toBe(`Page 2 of ${Math.ceil(report.counts.enforced / 50)}`);
    await page.locator('#stage-filter').selectOption({ value: '' });
    await page.locator('#exceeded-filter').check();
    await expect.poll(() => page.locator('#table-status').innerText()).toContain(`${report.counts.exceededGrace} users past their grace period`);
    await page.locator('#exceeded-filter').uncheck();
    await page.locator('th[data-col="user"] button').click();
  });

  /** The users behind a readiness count, from the report: by category, without enforced users when the counts leave them out. */
  function readinessUsers(key: 'needsDeviceUpdate' | 'needsPasskey' | 'ready'): StatusUser[] {
    // The readiness counts leave enforced users out (they are counted apart).
    const list = report.users.filter((u) => u.readiness === key && u.stage !== 'enforced');
    expect(list.length).toBe(report.readiness[key]);
    return list;
  }

  /** Every UPN the table shows across its pages (250 per page). */
  async function allTableUpns(p: Page): Promise<string[]> {
    await p.locator('#page-size').selectOption('250');
    const out: string[] = [];
    for (;;) {
      out.push(...(await p.locator('#user-rows tr td:first-child .upn').allInnerTexts()));
      if (await p.locator('#next-page').isDisabled()) break;
      await p.locator('#next-page').click();
    }
    return out;
  }

  /** Timeline entries a user's ledger events give (notices, stage moves, …), as the dashboard lists them. */
  function timelineEvents(userId: string): LedgerEvent[] {
    return events.filter((e) => 'userId' in e && e.userId === userId && ['userEnteredStage', 'notificationSent', 'postponed', 'graceExceeded', 'alertRaised', 'alertCleared', 'addedToGroup', 'leftCampaign'].includes(e.type));
  }

  for (const width of [800, 1600]) {
    describe(`at ${width} px`, () => {
      let p: Page;
      beforeAll(async () => { p = await openAt(width); });

      it('fits the funnel labels: none is cut or overflows its row', async () => {
        // Plain JavaScript in the page (this test is type-checked without the DOM library).
        const labels = await p.evaluate(`[...document.querySelectorAll('.funnel li')].map((li) => {
          const label = li.querySelector('.f-label');
          const range = document.createRange();
          range.selectNodeContents(label);
          const text = range.getBoundingClientRect(), box = label.getBoundingClientRect(), row = li.getBoundingClientRect();
          return { text: label.textContent, clipped: label.scrollWidth > label.clientWidth || text.left < box.left - 0.5 || text.right > box.right + 0.5 || box.right > row.right + 0.5 };
        })`) as Array<{ text: string; clipped: boolean }>;
        expect(labels.map((l) => l.text)).toEqual(['Targeted', 'Devices meet the minimum OS', 'Passkey registered', 'Enforced']);
        for (const l of labels) expect({ label: l.text, clipped: l.clipped }).toEqual({ label: l.text, clipped: false });
        // Values stay whole too.
        const values = await p.evaluate(`[...document.querySelectorAll('.funnel .f-value')].map((v) => v.scrollWidth <= v.clientWidth)`);
        expect(values).toEqual([true, true, true, true]);
      });

      it('a readiness count opens the user table filtered to exactly those users, and the view can be linked to', async () => {
        const expected = readinessUsers('needsPasskey');
        expect(expected.length).toBeGreaterThan(0);
        await p.locator('a[data-count="needsPasskey"]').click();
        await expect.poll(() => p.locator('#table-status').innerText()).toMatch(new RegExp(`^${expected.length} users? needing a passkey, not yet enforced, showing 1–`));
        expect(await p.evaluate('document.activeElement && document.activeElement.id')).toBe('users-h');
        expect(await p.evaluate('location.hash')).toContain('readiness=needsPasskey');
        expect(await p.locator('#readiness-filter').inputValue()).toBe('needsPasskey');
        expect((await allTableUpns(p)).sort()).toEqual(expected.map((u) => u.userPrincipalName).sort());
        await p.locator('#page-size').selectOption('50');

        // The CSV holds the same users.
        const [download] = await Promise.all([p.waitForEvent('download'), p.locator('#download-csv').click()]);
        const csv = fs.readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
        expect(csv[0].split(',')[0]).toBe('userPrincipalName');
        expect(csv.slice(1).map((l) => l.split(',')[0].replace(/^"|"$/g, '')).sort()).toEqual(expected.map((u) => u.userPrincipalName).sort());
        expect(download.suggestedFilename()).toBe('admins-passkeys-users.csv');

        // Stage, KPI and alert counts open their users too.
        await p.locator('.legend a[data-count="enforced"]').click();
        await expect.poll(() => p.locator('#table-status').innerText()).toMatch(new RegExp(`^${report.counts.enforced} users in the stage Enforced`));
        await p.locator('a.kpi', { hasText: 'Exceeded grace period' }).click();
        await expect.poll(() => p.locator('#table-status').innerText()).toMatch(new RegExp(`^${report.counts.exceededGrace} users past their grace period`));
        const ewp = report.users.filter((u) => u.alerts.includes('EnforcedWithoutPasskey'));
        await p.locator('[data-alert="EnforcedWithoutPasskey"] a.show-users').click();
        await expect.poll(() => p.locator('#table-status').innerText()).toMatch(new RegExp(`^${ewp.length} users? with the alert Enforced without passkey`));
        expect(await p.locator('#user-rows tr td:first-child .upn').allInnerTexts()).toEqual(ewp.map((u) => u.userPrincipalName));
        // The Alerts figure: every user an alert names (alert kinds, past a grace period, unread, disabled).
        const alerted = report.users.filter((u) => u.alerts.length > 0 || u.exceededGrace || u.unread || u.accountEnabled === false);
        await p.locator('a.kpi', { hasText: 'Alerts' }).click();
        await expect.poll(() => p.locator('#table-status').innerText()).toMatch(new RegExp(`^${alerted.length} users with an alert`));
        expect(await p.locator('a.kpi', { hasText: 'Alerts' }).innerText()).toContain(`${alerted.length} users concerned`);
        await p.locator('#clear-filters').click();
        await expect.poll(() => p.locator('#table-status').innerText()).toBe(`Showing 1–50 of ${report.counts.targeted} users`);
      });

      it('the would-block count opens exactly the users the policy would block, with the filter shown in its control', async () => {
        const expected = impact.wouldBlock.map((w) => w.userPrincipalName).filter((upn) => upn !== 'gone@contoso.com').sort();
        expect(expected.length).toBeGreaterThan(3);
        await p.locator('a[data-count="impactWouldBlock"]').click();
        await expect.poll(() => p.locator('#table-status').innerText()).toMatch(new RegExp(`^${expected.length} users whose sign-ins the policy would block, showing 1–${expected.length} \\(filtered from ${report.counts.targeted}\\)$`));
        expect(await p.evaluate('document.activeElement && document.activeElement.id')).toBe('users-h');
        expect(await p.evaluate('location.hash')).toBe('#users?impact=wouldBlock');
        expect(await p.locator('#impact-filter').inputValue()).toBe('wouldBlock');
        expect((await allTableUpns(p)).sort()).toEqual(expected);
        await p.locator('#page-size').selectOption('50');
        // Combined with a stage filter, and cleared with the others.
        const enforced = report.users.filter((u) => u.stage === 'enforced' && expected.includes(u.userPrincipalName));
        await p.locator('#stage-filter').selectOption('enforced');
        await expect.poll(() => p.locator('#table-status').innerText()).toMatch(enforced.length ? new RegExp(`^${enforced.length} users? in the stage Enforced, whose sign-ins the policy would block`) : /^No users in the stage Enforced, whose sign-ins the policy would block\.$/);
        await p.locator('#clear-filters').click();
        await expect.poll(() => p.locator('#table-status').innerText()).toBe(`Showing 1–50 of ${report.counts.targeted} users`);
        expect(await p.locator('#impact-filter').inputValue()).toBe('');
        // The panel fits the width: nothing in it overflows its section.
        const overflow = await p.evaluate(`(() => { const s = document.getElementById('impact'); const r = s.getBoundingClientRect(); return [...s.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > r.right + 0.5 && !e.closest('details:not([open])')).map((e) => e.tagName + '.' + e.className); })()`);
        expect(overflow).toEqual([]);
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        await p.locator('section#impact').screenshot({ path: path.join(ARTIFACTS, `dashboard-impact-${width}.png`) });
      });

      it('opens a linked view: the filters in the address are applied when the page loads', async () => {
        const linked = await openAt(width, '#users?readiness=ready&stage=enforced');
        const expected = report.users.filter((u) => u.readiness === 'ready' && u.stage === 'enforced');
        await expect.poll(() => linked.locator('#table-status').innerText()).toMatch(new RegExp(`^${expected.length} users? ready \\(passkey and compatible devices\\), in the stage Enforced`));
        expect(await linked.locator('#stage-filter').inputValue()).toBe('enforced');
        await linked.context().close();
      });

      it('by keyboard: Tab to a count and Enter filters the table', async () => {
        await p.locator('a.kpi').last().focus();
        await p.keyboard.press('Tab');
        expect(await p.evaluate('document.activeElement && document.activeElement.getAttribute("data-count")')).toBe('needsDeviceUpdate');
        await p.keyboard.press('Enter');
        const expected = readinessUsers('needsDeviceUpdate');
        await expect.poll(() => p.locator('#table-status').innerText()).toMatch(new RegExp(`^${expected.length} users? needing a device update`));
        expect(await p.evaluate('document.activeElement && document.activeElement.id')).toBe('users-h');
        await p.locator('#clear-filters').click();
      });

      it('a user\'s row opens their timeline from the ledger and their devices; Escape closes it and focus returns', async () => {
        // A user with a postponement, a grace period exceeded and a device below the minimum: the richest detail.
        const postponed = new Set(events.filter((e) => e.type === 'postponed').map((e) => (e as { userId: string }).userId));
        const user = report.users.find((u) => postponed.has(u.userId) && u.exceededGrace) ?? report.users.find((u) => postponed.has(u.userId))!;
        const ou = observation.users.find((o) => o.userId === user.userId)!;
        await p.locator('#user-search').fill(user.userPrincipalName);
        await expect.poll(() => p.locator('#user-rows tr').count()).toBe(1);
        await p.locator('#user-rows tr td:nth-child(2)').click();
        const dialog = p.locator('dialog#user-detail');
        await expect.poll(() => p.evaluate('document.getElementById("user-detail").open')).toBe(true);
        expect(await p.locator('#detail-sub').innerText()).toBe(user.userPrincipalName);
        expect(await p.evaluate('document.activeElement && document.activeElement.id')).toBe('detail-close');

        const expectedEntries = timelineEvents(user.userId);
        const items = await dialog.locator('.tl li').allInnerTexts();
        expect(items.length).toBe(Math.min(40, expectedEntries.length));
        const times = await p.evaluate(`[...document.querySelectorAll('#user-detail .tl li time')].map((t) => t.getAttribute('datetime'))`) as string[];
        expect(times).toEqual(expectedEntries.slice(-40).map((e) => new Date(Math.floor(Date.parse(e.at) / 60000) * 60000).toISOString()));
        expect(items.filter((t) => t.includes('Postponed')).length).toBe(expectedEntries.filter((e) => e.type === 'postponed').length);
        expect(items.filter((t) => / sent · /.test(t)).length).toBe(expectedEntries.filter((e) => e.type === 'notificationSent').length);
        expect(items.some((t) => t.includes('sent · delivered'))).toBe(true);
        expect(items.filter((t) => t.includes('grace period: no more reminders')).length).toBe(expectedEntries.filter((e) => e.type === 'graceExceeded').length);
        const firstEntry = expectedEntries.find((e) => e.type === 'userEnteredStage') as { to: string } | undefined;
        expect(items.find((t) => t.includes('Entered '))).toContain(`Entered ${{ deviceUpdate: 'Device update', passkeyRegistration: 'Passkey registration', enforcementNotice: 'Enforcement notice', enforced: 'Enforced' }[firstEntry!.to as 'enforced']}`);

        const deviceRows = await p.evaluate(`[...document.querySelectorAll('#user-detail table.devices tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))`) as string[][];
        expect(deviceRows.map((r) => r[0])).toEqual(ou.devices.map((d) => d.displayName));
        expect(deviceRows.map((r) => r[2])).toEqual(ou.devices.map((d) => d.operatingSystemVersion ?? 'unknown'));
        const below = deviceRows.filter((r) => r[3] === 'Below the minimum OS').length;
        expect(below).toBe(user.devicesBelowMinimum.length);
        expect(await dialog.locator('ul li').allInnerTexts()).toEqual(ou.methodsRegistered);

        fs.mkdirSync(ARTIFACTS, { recursive: true });
        await p.screenshot({ path: path.join(ARTIFACTS, `dashboard-detail-${width}.png`) });
        await p.keyboard.press('Escape');
        await expect.poll(() => p.evaluate('document.getElementById("user-detail").open')).toBe(false);
        await expect.poll(() => p.evaluate('document.activeElement && document.activeElement.className')).toBe('upn');

        // Keyboard only: Enter on the row's button opens it again.
        await p.locator('#user-rows tr button.upn').focus();
        await p.keyboard.press('Enter');
        await expect.poll(() => p.evaluate('document.getElementById("user-detail").open')).toBe(true);
        await p.keyboard.press('Escape');
        await p.locator('#user-search').fill('');
      });

      it('keeps text contrast at 4.5:1 or more against its background, and shows where the keyboard focus is', async () => {
        // Every element with its own text (not disabled controls, which WCAG exempts), against the first opaque background behind it.
        const low = await p.evaluate(`(() => {
          const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
          const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
          const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3); } return [255, 255, 255]; };
          const out = [];
          let checked = 0;
          for (const el of document.querySelectorAll('body *')) {
            if (el.closest('svg, dialog:not([open]), .sr-only, [hidden]') || el.disabled) continue;
            const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
            if (!own || el.getClientRects().length === 0) continue;
            checked++;
            const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            if (ratio < 4.5) out.push(el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
          }
          return { checked, low: out };
        })()`) as { checked: number; low: string[] };
        expect(low.checked).toBeGreaterThan(200);
        expect(low.low).toEqual([]);
        await p.locator('a.kpi').last().focus();
        await p.keyboard.press('Tab');
        expect(await p.evaluate(`[document.activeElement.getAttribute('data-count'), getComputedStyle(document.activeElement).outlineStyle]`)).toEqual(['needsDeviceUpdate', 'solid']);
      });

      it('draws exceeded grace as a series of the progress chart, and saves a screenshot', async () => {
        expect(await p.locator('.exceeded-series polyline').count()).toBe(2);
        expect(await p.locator('#timeline-desc').textContent()).toContain(`${report.daily[report.daily.length - 1].exceededGrace} on the last day`);
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        await p.evaluate('window.scrollTo(0, 0)');
        await p.screenshot({ path: path.join(ARTIFACTS, `dashboard-${width}.png`), fullPage: true });
        expect(pageErrors).toEqual([]);
      });
    });
  }

  it('makes no network request and saves a screenshot', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    fs.copyFileSync(htmlFile, path.join(ARTIFACTS, 'dashboard.html'));
    expect(offline).toEqual([]);
  });
});
