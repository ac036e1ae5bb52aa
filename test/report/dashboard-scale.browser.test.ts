// The HTML dashboard at 1,000,000 targeted users, in headless Chromium: the page stays under 20 MB, a
// readiness count filters the whole table to exactly its users, a sort and a search run over every row, and
// a user's row opens their detail, or, for a user the page carries no detail for, says how to see it.
// The report is synthetic (test/report/dashboard-synthetic.ts), built directly: no ledger, no reconcile.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETAIL_LIMIT, renderDashboard } from '../../src/report/html';
import type { StatusReport } from '../../src/report/model';
import { campaign } from '../engine/fixtures';
import { syntheticDashboard } from './dashboard-synthetic';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing in CI: .ci/run should have installed it with .ci/install-chromium.sh.`);

const USERS = 1_000_000;
const fmt = (n: number) => n.toLocaleString('en-US');

describe.skipIf(!haveChromium)(`the HTML dashboard of ${fmt(USERS)} users in headless Chromium`, () => {
  let tmp: string;
  let report: StatusReport;
  let bytes: number;
  let file: string;
  let browser: Browser;
  let page: Page;
  const offline: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-scale-'));
    const synthetic = syntheticDashboard(USERS);
    report = synthetic.report;
    const html = renderDashboard(report, campaign(), { detail: synthetic.detail });
    bytes = Buffer.byteLength(html);
    file = path.join(tmp, 'dashboard.html');
    fs.writeFileSync(file, html);

    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      offline.push(url);
      return route.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('html[data-ready="true"]', { timeout: 120_000 });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const status = () => page.locator('#table-status').innerText();
  const shownUpns = () => page.locator('#user-rows tr td:first-child .upn').allInnerTexts();

  it('writes a page under 20 MB that shows every user', async () => {
    expect(report.users.length).toBe(USERS);
    expect(bytes).toBeLessThan(20_000_000);
    expect(await status()).toBe(`Showing 1–50 of ${fmt(USERS)} users`);
    expect(await shownUpns()).toEqual(report.users.slice(0, 50).map((u) => u.userPrincipalName));
    expect(await page.locator('#page-info').innerText()).toBe(`Page 1 of ${fmt(USERS / 50)}`);
  });

  it('a readiness count filters the million rows to exactly its users', async () => {
    const expected = report.users.filter((u) => u.readiness === 'needsPasskey' && u.stage !== 'enforced');
    expect(expected.length).toBe(report.readiness.needsPasskey);
    expect(expected.length).toBeGreaterThan(100_000);
    await page.locator('a[data-count="needsPasskey"]').click();
    await expect.poll(status, { timeout: 30_000 }).toMatch(new RegExp(`^${fmt(expected.length)} users needing a passkey, not yet enforced, showing 1–50 \\(filtered from ${fmt(USERS)}\\)$`));
    expect(await shownUpns()).toEqual(expected.slice(0, 50).map((u) => u.userPrincipalName));
    await page.locator('#last-page').click();
    expect(await shownUpns()).toEqual(expected.slice(Math.floor((expected.length - 1) / 50) * 50).map((u) => u.userPrincipalName));
    await page.locator('#clear-filters').click();
    await expect.poll(status, { timeout: 30_000 }).toBe(`Showing 1–50 of ${fmt(USERS)} users`);
  });

  it('sorts the million rows by deadline, earliest first, then by UPN', async () => {
    const withDeadline = report.users.filter((u) => u.deadline !== null);
    const first = withDeadline.reduce((m, u) => (u.deadline! < m ? u.deadline! : m), '9999');
    const expected = withDeadline.filter((u) => u.deadline === first).slice(0, 50).map((u) => u.userPrincipalName);
    await page.locator('th[data-col="deadline"] button').click();
    await expect.poll(() => page.locator('th[data-col="deadline"]').getAttribute('aria-sort'), { timeout: 30_000 }).toBe('ascending');
    expect((await shownUpns()).slice(0, expected.length)).toEqual(expected);
    // Users without a deadline (enforced, not entered) come last.
    await page.locator('#last-page').click();
    expect(await page.locator('#user-rows tr:last-child td:nth-child(4)').innerText()).toBe('—');
    await page.locator('th[data-col="user"] button').click();
    await expect.poll(() => page.locator('th[data-col="user"]').getAttribute('aria-sort'), { timeout: 30_000 }).toBe('ascending');
  });

  it('opens the detail of a user who needs attention, and says how to see the others\'', async () => {
    // More users are past a grace period than the page carries details for: the first of them has one, an
    // enforced user without alerts has none.
    expect(report.counts.exceededGrace).toBeGreaterThan(DETAIL_LIMIT);
    const stuck = report.users.find((u) => u.exceededGrace)!;
    const calm = report.users.find((u) => u.stage === 'enforced' && u.alerts.length === 0 && u.accountEnabled && !u.unread)!;
    const open = async (upn: string) => {
      await page.locator('#user-search').fill(upn);
      await expect.poll(status, { timeout: 30_000 }).toMatch(new RegExp(`^1 user matching "${upn.replace(/\./g, '\\.')}"`));
      expect(await shownUpns()).toEqual([upn]);
      await page.locator('#user-rows tr td:nth-child(2)').click();
      await expect.poll(() => page.evaluate('document.getElementById("user-detail").open'), { timeout: 30_000 }).toBe(true);
      expect(await page.locator('#detail-sub').innerText()).toBe(upn);
    };
    await open(stuck.userPrincipalName);
    const items = await page.locator('#user-detail .tl li').allInnerTexts();
    expect(items.some((t) => t.includes('grace period: no more reminders'))).toBe(true);
    expect(await page.locator('#user-detail table.devices tbody tr').count()).toBe(2);
    await page.keyboard.press('Escape');

    await open(calm.userPrincipalName);
    expect(await page.locator('#user-detail .tl li').count()).toBe(0);
    const note = await page.locator('#user-detail p.absent').innerText();
    expect(note).toContain(`this page carries the timeline, devices and methods of ${fmt(DETAIL_LIMIT)} of them`);
    expect(await page.locator('#user-detail p.absent code').innerText()).toBe(`campaign history --campaign admins-passkeys --user ${calm.userPrincipalName}`);
    expect(await page.locator('#user-detail').innerText()).toContain('Not included in this page.');
    await page.keyboard.press('Escape');
    await page.locator('#user-search').fill('');
    expect(pageErrors).toEqual([]);
    expect(offline).toEqual([]);
  });
});
