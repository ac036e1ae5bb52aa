#!/usr/bin/env node
// `node bench/dashboard.mjs [USERS] [--random-names]`: the HTML dashboard for a large campaign (default
// 1,000,000 users). --random-names gives every user a random UPN and display name (compresses worst, and the
// rows are not in UPN order, so the page carries the order too).
// Builds a synthetic StatusReport and user detail directly (test/report/dashboard-synthetic.ts, transpiled
// here), renders the page with the compiled code in dist/, and opens it in headless Chromium
// (/usr/bin/chromium through playwright-core): prints the file size, the render time in Node, the time to
// interactive and the time of a filter, a sort, a search and opening a user. Asserts nothing.
// Run `npm run build` first.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

async function main() {
  const args = process.argv.slice(2);
  const users = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
  const randomNames = args.includes('--random-names');
  const dist = (p) => path.join(ROOT, 'dist', p);
  if (!fs.existsSync(dist('report/html.js'))) {
    console.error('bench/dashboard.mjs: dist/report/html.js is missing; run "npm run build" first.');
    process.exit(2);
  }
  const { renderDashboard } = require(dist('report/html.js'));
  const { loadCampaignFile } = require(dist('campaign/load.js'));
  const ts = require('typescript');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dashboard-'));
  try {
    const source = fs.readFileSync(path.join(ROOT, 'test', 'report', 'dashboard-synthetic.ts'), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    fs.writeFileSync(path.join(tmp, 'synthetic.mjs'), js);
    const { syntheticDashboard } = await import(pathToFileURL(path.join(tmp, 'synthetic.mjs')).href);

    const yaml = fs.readFileSync(path.join(ROOT, 'campaigns', 'admins-passkeys.yaml'), 'utf8').replace(/^  status: notStarted$/m, '  status: inProgress');
    fs.writeFileSync(path.join(tmp, 'admins-passkeys.yaml'), yaml);
    const campaign = loadCampaignFile(path.join(tmp, 'admins-passkeys.yaml')).campaign;

    let t0 = process.hrtime.bigint();
    const { report, detail } = syntheticDashboard(users);
    if (randomNames) {
      let seed = 12345;
      const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
      const word = (min, max) => { let w = ''; const len = min + Math.floor(rnd() * (max - min + 1)); for (let k = 0; k < len; k++) w += String.fromCharCode(97 + Math.floor(rnd() * 26)); return w; };
      for (const u of report.users) {
        const first = word(3, 8), last = word(4, 10);
        u.userPrincipalName = `${first}.${last}@${u.userPrincipalName.split('@')[1]}`;
        u.displayName = `${first[0].toUpperCase()}${first.slice(1)} ${last[0].toUpperCase()}${last.slice(1)}`;
      }
      // In UPN order, as buildReport leaves them.
      report.users.sort((a, b) => (a.userPrincipalName.toLowerCase() < b.userPrincipalName.toLowerCase() ? -1 : 1));
    }
    console.log(`dashboard bench: ${users.toLocaleString('en-US')} users (${report.counts.exceededGrace.toLocaleString('en-US')} past a grace period), synthetic report built in ${ms(t0).toFixed(0)} ms${randomNames ? ', random names' : ''}`);
    // Warm-up on a small page, then the timed render.
    renderDashboard(syntheticDashboard(1000).report, campaign, { detail: syntheticDashboard(1000).detail });
    t0 = process.hrtime.bigint();
    const html = renderDashboard(report, campaign, { detail });
    const tRender = ms(t0);
    const file = path.join(tmp, 'dashboard.html');
    fs.writeFileSync(file, html);
    const part = (id) => {
      const from = html.indexOf(`id="${id}">`);
      return html.indexOf('</script>', from) - from;
    };
    console.log(`  render in Node: ${tRender.toFixed(0)} ms; file ${mb(Buffer.byteLength(html))} (table data ${mb(part('dashboard-rows'))}, user detail ${mb(part('dashboard-timelines'))}); peak RSS so far ${mb(process.resourceUsage().maxRSS * 1024)}`);

    const CHROMIUM = '/usr/bin/chromium';
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`  (no ${CHROMIUM}: browser timings skipped)`);
      return;
    }
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      t0 = process.hrtime.bigint();
      await page.goto(pathToFileURL(file).href, { timeout: 300_000 });
      const tLoad = ms(t0);
      await page.waitForSelector('html[data-ready="true"]', { timeout: 300_000 });
      const tReady = ms(t0);
      const timed = async (what, act, until) => {
        const t = process.hrtime.bigint();
        await act();
        // Polled from here: the page's CSP forbids the eval behind page.waitForFunction.
        while (!(await page.evaluate(until))) await new Promise((r) => setTimeout(r, 10));
        return `${what} ${ms(t).toFixed(0)} ms`;
      };
      const status = "document.getElementById('table-status').textContent";
      const out = [];
      out.push(await timed('filter by readiness', () => page.locator('#readiness-filter').selectOption('needsPasskey'), `${status}.indexOf('needing a passkey') >= 0`));
      out.push(await timed('clear', () => page.locator('#clear-filters').click(), `${status}.indexOf('Showing 1') === 0`));
      out.push(await timed('sort by deadline', () => page.locator('th[data-col="deadline"] button').click(), `document.querySelector('th[data-col="deadline"]').getAttribute('aria-sort') === 'ascending'`));
      const needle = report.users[Math.floor(users / 2)].userPrincipalName.split('@')[0];
      out.push(await timed(`search "${needle}"`, () => page.locator('#user-search').fill(needle), `${status}.indexOf('matching') >= 0`));
      out.push(await timed('open a user', () => page.locator('#user-rows tr:first-child td:nth-child(2)').click(), `document.getElementById('user-detail').open`));
      const heap = await page.evaluate('performance.memory ? Math.round(performance.memory.usedJSHeapSize / 1e6) : -1');
      console.log(`  Chromium: load ${tLoad.toFixed(0)} ms, interactive (table shown) ${tReady.toFixed(0)} ms; ${out.join(', ')} (search includes its 200 ms debounce); JS heap ${heap} MB${errors.length ? `; page errors: ${errors.join('; ')}` : ''}`);
    } finally {
      await browser.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
