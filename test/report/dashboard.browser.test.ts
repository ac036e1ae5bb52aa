// The HTML dashboard in a real browser (Debian's chromium through playwright-core): a 500-admin demo ledger,
// rendered by `campaign status --html`, must show the same counts as `status --json`, sort and search its
// user table, and never touch the network.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import type { StatusReport } from '../../src/report/model';
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
  const offline: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-'));
    const state = path.join(tmp, 'state');
    await buildDemoLedger({ dir: state, admins: 500, days: 36, seed: 11, passkeyLossDay: 30 });
    const campaignFile = writeStartedCampaign(tmp);

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
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    // Every request the page makes goes through here: only the file itself may load.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      offline.push(url);
      return route.abort();
    });
    page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(pathToFileURL(htmlFile).href);
    await page.waitForSelector('html[data-ready="true"]');
    expect(errors).toEqual([]);
  });

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
    expect(await page.locator('[data-count="estimatedEnd"]').innerText()).toBe(report.estimatedEnd);
    expect(await page.locator('#table-status').innerText()).toBe(`Showing 1–50 of ${report.counts.targeted} users`);
    expect(await page.locator('#user-rows tr').count()).toBe(50);
    // The demo has users in every kind of trouble the dashboard must surface.
    expect(report.counts.exceededGrace).toBeGreaterThan(0);
    expect(await page.locator('[data-alert="EnforcedWithoutPasskey"]').count()).toBe(1);
    expect(await page.locator('[data-alert="GraceExceeded"]').innerText()).toContain(`${report.counts.exceededGrace} users have exceeded a grace period`);
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
    expect(exceeded.slice(0, report.counts.exceededGrace > 50 ? 50 : report.counts.exceededGrace).every((t) => /^\d{4}-\d{2}-\d{2}$/.test(t))).toBe(true);
  });

  it('searches by UPN or display name and pages through the results', async () => {
    const needle = report.users[123].userPrincipalName.split('@')[0].split('.').slice(0, 2).join('.');
    const expected = report.users.filter((u) => u.userPrincipalName.toLowerCase().includes(needle) || (u.displayName ?? '').toLowerCase().includes(needle)).length;
    await page.locator('#user-search').fill(needle);
    await expect.poll(() => page.locator('#table-status').innerText()).toMatch(new RegExp(`of ${expected} users \\(filtered from ${report.counts.targeted}\\)$`));
    for (const upn of await firstCells()) expect(upn.toLowerCase()).toContain(needle);

    await page.locator('#user-search').fill('');
    await page.locator('#stage-filter').selectOption({ label: 'Enforced' });
    await expect.poll(() => page.locator('#table-status').innerText()).toContain(`of ${report.counts.enforced} users`);
    await page.locator('#next-page').click();
    expect(await page.locator('#table-status').innerText()).toMatch(/^Showing 51–/);
    expect(await page.locator('#page-info').innerText()).toBe(`Page 2 of ${Math.ceil(report.counts.enforced / 50)}`);
    await page.locator('#stage-filter').selectOption({ value: '' });
    await page.locator('#exceeded-filter').check();
    await expect.poll(() => page.locator('#table-status').innerText()).toContain(`of ${report.counts.exceededGrace} users`);
    await page.locator('#exceeded-filter').uncheck();
    await page.locator('th[data-col="user"] button').click();
  });

  it('makes no network request and saves a screenshot', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    fs.copyFileSync(htmlFile, path.join(ARTIFACTS, 'dashboard.html'));
    expect(offline).toEqual([]);
  });
});
