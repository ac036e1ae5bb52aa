#!/usr/bin/env node
// `node bench/report.mjs [USERS]`: how long `campaign status --html` takes for a large campaign.
// Builds a synthetic ledger + observation directly (no emulator): USERS (default 100,000) admins over 45
// daily runs with the event mix a real campaign writes (entries, notices, reminders, grace exceeded,
// postponements, group adds), then times the compiled code in dist/ in-process and as a whole CLI process.
// Prints figures; asserts nothing. Run `npx tsc -p tsconfig.build.json` first.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DAY = 86_400_000;
const START = Date.parse('2026-12-01T06:00:00.000Z');
const CAMPAIGN = 'admins-passkeys';

/** A small deterministic PRNG (mulberry32), so every run benchmarks the same ledger. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STAGE_GRACE = { deviceUpdate: 14, passkeyRegistration: 14 };
const NOTICE_DAYS = 7;

/**
 * A synthetic campaign: `days` daily runs over `users` users. Returns the ledger events (oldest first, per
 * day: runStarted, user events, runFinished) and the last run's observation.
 */
export function syntheticCampaign(users, { days = 45, seed = 1 } = {}) {
  const rnd = prng(seed);
  const id = (i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const upn = (i) => `admin.${String(i).padStart(6, '0')}@contoso.com`;
  // Per user: start stage, the day each action happens (Infinity: never), postponement day.
  const people = [];
  for (let i = 0; i < users; i++) {
    const r = rnd();
    const start = r < 0.15 ? 'deviceUpdate' : r < 0.6 ? 'passkeyRegistration' : 'enforcementNotice';
    const act = () => (rnd() < 0.12 ? Infinity : Math.floor(rnd() < 0.6 ? 1 + rnd() * 4 : 5 + rnd() * 15));
    people.push({ i, stage: null, since: 0, start, deviceDay: act(), passkeyDay: act(), postponeDay: rnd() < 0.1 ? 1 + Math.floor(rnd() * 5) : -1, exceeded: false, notified: 0, ext: 0, outOfScope: rnd() < 0.002 });
  }
  const events = [];
  for (let day = 0; day < days; day++) {
    const at = new Date(START + day * DAY).toISOString();
    const runId = `bench-day-${String(day + 1).padStart(3, '0')}`;
    events.push({ v: 1, at, type: 'runStarted', runId, campaign: CAMPAIGN, status: 'inProgress' });
    const counts = { deviceUpdate: 0, passkeyRegistration: 0, enforcementNotice: 0, enforced: 0, exceededGrace: 0 };
    let notifications = 0, groupAdds = 0;
    for (const p of people) {
      // Key order as the engine writes them: v, type, at, runId, userId, userPrincipalName, then the rest.
      const ev = (type, rest) => events.push({ v: 1, type, at, runId, userId: id(p.i), userPrincipalName: upn(p.i), ...rest });
      const enter = (to, reason) => {
        ev('userEnteredStage', { from: p.stage, to, reason, message: `${reason.replace(/([A-Z])/g, ' $1').trim().toLowerCase()}` });
        p.stage = to; p.since = day; p.exceeded = false; p.notified = 1; p.ext = 0;
        ev('notificationSent', { key: `${CAMPAIGN}:${id(p.i)}:${to}:1`, kind: to, stage: to, sequence: 1 });
        notifications++;
      };
      if (p.outOfScope) {
        if (day === 0) ev('alertRaised', { kind: 'OutsideFido2PolicyScope', message: 'not in scope of the FIDO2 (passkey) authentication method policy' });
        continue;
      }
      if (p.stage === null) enter(p.start, p.start === 'deviceUpdate' ? 'DeviceBelowMinimumOs' : p.start === 'passkeyRegistration' ? 'NoPasskeyRegistered' : 'ReadyForEnforcement');
      else if (p.stage === 'deviceUpdate' && day >= p.deviceDay) enter('passkeyRegistration', 'DevicesUpdated');
      else if (p.stage === 'passkeyRegistration' && day >= p.since + Math.min(p.passkeyDay, 1e9)) enter('enforcementNotice', 'PasskeyRegistered');
      else if (p.stage === 'enforcementNotice' && day >= p.since + NOTICE_DAYS + p.ext) {
        ev('groupAddIntent', { groupId: 'a1100000-0000-4000-8000-000000000004' });
        ev('groupAddOutcome', { groupId: 'a1100000-0000-4000-8000-000000000004', outcome: 'added' });
        ev('addedToGroup', {});
        groupAdds++;
        enter('enforced', 'NoticePeriodElapsed');
      } else if (p.stage in STAGE_GRACE) {
        const deadline = p.since + STAGE_GRACE[p.stage] + p.ext;
        if (day >= deadline && !p.exceeded) {
          p.exceeded = true;
          ev('graceExceeded', { stage: p.stage, deadline: new Date(START - 6 * 3_600_000 + deadline * DAY).toISOString() });
        } else if (!p.exceeded && (day - p.since) % 3 === 0) {
          p.notified++;
          ev('notificationSent', { key: `${CAMPAIGN}:${id(p.i)}:${p.stage}Reminder:${p.notified}`, kind: `${p.stage}Reminder`, stage: p.stage, sequence: p.notified });
          notifications++;
        }
      }
      if (p.stage) counts[p.stage]++;
      if (p.exceeded) counts.exceededGrace++;
    }
    // Delivery records as src/reconcile/intents.ts writes them: one dispatch per batch of 20, one outcome each.
    const sent = [];
    for (let k = events.length - 1; k >= 0 && events[k].type !== 'runStarted'; k--) if (events[k].type === 'notificationSent') sent.push(events[k]);
    sent.reverse();
    for (let k = 0; k < sent.length; k += 20) {
      const batch = sent.slice(k, k + 20);
      events.push({ v: 1, at, type: 'notificationDispatch', runId, channel: 'teams', keys: batch.map((n) => n.key) });
      for (const n of batch) events.push({ v: 1, at, runId, type: 'notificationOutcome', userId: n.userId, userPrincipalName: n.userPrincipalName, key: n.key, channel: 'teams', outcome: 'delivered', status: 201 });
    }
    events.push({ v: 1, at, type: 'runFinished', runId, ok: true, counts: { targeted: users, ...counts, notifications, groupAdds } });
    // Postponements arrive between runs, through the link in a notification.
    const later = new Date(START + day * DAY + 3 * 3_600_000).toISOString();
    for (const p of people) {
      if (p.postponeDay !== day || (p.stage !== 'deviceUpdate' && p.stage !== 'passkeyRegistration') || p.exceeded) continue;
      p.ext += 3;
      events.push({ v: 1, type: 'postponed', at: later, userId: id(p.i), userPrincipalName: upn(p.i), stage: p.stage, until: new Date(Date.parse(later) + 3 * DAY).toISOString(), count: 1, days: 3 });
    }
  }
  const lastAt = new Date(START + (days - 1) * DAY).toISOString();
  const recent = new Date(START + (days - 3) * DAY).toISOString();
  const observation = {
    v: 1, campaign: CAMPAIGN, at: lastAt,
    fido2Policy: { state: 'enabled', isSelfServiceRegistrationAllowed: true, keyRestrictions: { isEnforced: false, enforcementType: 'block', aaGuids: [] } },
    users: people.map((p) => ({
      userId: id(p.i), userPrincipalName: upn(p.i), displayName: `Admin ${p.i}`, accountEnabled: true,
      devices: [
        { id: `d1-${p.i}`, displayName: `LAPTOP-${p.i}`, operatingSystem: 'Windows', operatingSystemVersion: p.stage === 'deviceUpdate' ? '10.0.17763.6659' : '10.0.22631.4602', approximateLastSignInDateTime: recent, accountEnabled: true },
        { id: `d2-${p.i}`, displayName: `iPhone ${p.i}`, operatingSystem: 'iOS', operatingSystemVersion: '18.1.1', approximateLastSignInDateTime: recent, accountEnabled: true },
      ],
      methodsRegistered: p.stage === 'enforcementNotice' || p.stage === 'enforced' ? ['microsoftAuthenticatorPush', 'passKeyDeviceBoundAuthenticator'] : ['microsoftAuthenticatorPush'],
      fido2Methods: null,
      inFido2PolicyScope: !p.outOfScope,
      inEnforcementGroup: p.stage === 'enforced',
      readErrors: [],
    })),
    excluded: [], readErrors: [],
  };
  return { events, observation };
}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

async function main() {
  const users = Number(process.argv[2] ?? 100_000);
  const require = createRequire(import.meta.url);
  const dist = (p) => path.join(ROOT, 'dist', p);
  if (!fs.existsSync(dist('report/index.js'))) {
    console.error('bench/report.mjs: dist/report/index.js is missing; run "npx tsc -p tsconfig.build.json" first.');
    process.exit(2);
  }
  const { FileStore } = require(dist('ledger/file/store.js'));
  const { readReportLedger, readDashboardLedger, buildDashboardDetail, buildReport, renderDashboard, writeDashboard } = require(dist('report/index.js'));
  const { loadCampaignFile } = require(dist('campaign/load.js'));

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
  try {
    let t0 = process.hrtime.bigint();
    const store = new FileStore({ dir: path.join(tmp, 'state') });
    // In a function, so the generated events are garbage before anything is timed.
    const eventCount = await (async () => {
      const { events, observation } = syntheticCampaign(users);
      for (let i = 0; i < events.length; i += 50_000) await store.append(CAMPAIGN, events.slice(i, i + 50_000));
      await store.writeSnapshot(CAMPAIGN, 'observation', observation);
      return events.length;
    })();
    const ledgerBytes = fs.statSync(store.ledgerFile(CAMPAIGN)).size;
    const snapshotBytes = fs.statSync(path.join(tmp, 'state', CAMPAIGN, 'snapshots', 'observation.json')).size;
    console.log(`report bench: ${users.toLocaleString('en-US')} users, ${eventCount.toLocaleString('en-US')} ledger events (${mb(ledgerBytes)}), observation snapshot ${mb(snapshotBytes)}, built in ${ms(t0).toFixed(0)} ms`);

    const campaignDir = path.join(tmp, 'campaigns');
    fs.mkdirSync(campaignDir);
    const yaml = fs.readFileSync(path.join(ROOT, 'campaigns', `${CAMPAIGN}.yaml`), 'utf8').replace(/^  status: notStarted$/m, '  status: inProgress');
    fs.writeFileSync(path.join(campaignDir, `${CAMPAIGN}.yaml`), yaml);
    const campaign = loadCampaignFile(path.join(campaignDir, `${CAMPAIGN}.yaml`)).campaign;

    // In-process, step by step (median of 3).
    const steps = { read: [], build: [], render: [], total: [] };
    let htmlBytes = 0;
    for (let k = 0; k < 3; k++) {
      const all = process.hrtime.bigint();
      t0 = process.hrtime.bigint();
      const loaded = await readReportLedger(store, CAMPAIGN);
      steps.read.push(ms(t0));
      t0 = process.hrtime.bigint();
      const report = buildReport({ campaign, events: loaded.events, observation: loaded.observation, notificationsByRun: loaded.notificationsByRun });
      steps.build.push(ms(t0));
      t0 = process.hrtime.bigint();
      const html = renderDashboard(report, campaign);
      steps.render.push(ms(t0));
      htmlBytes = Buffer.byteLength(html);
      steps.total.push(ms(all));
    }
    const med = (xs) => [...xs].sort((a, b) => a - b)[1].toFixed(0);
    console.log(`  in-process (median of 3): read ledger + snapshot ${med(steps.read)} ms, build report ${med(steps.build)} ms, render HTML ${med(steps.render)} ms (${mb(htmlBytes)}); total ${med(steps.total)} ms`);
    // The dashboard's extra: the notices and their outcomes for the per-user timelines.
    if (readDashboardLedger && buildDashboardDetail) {
      t0 = process.hrtime.bigint();
      const full = await readDashboardLedger(store, CAMPAIGN);
      const tRead = ms(t0);
      t0 = process.hrtime.bigint();
      const detail = buildDashboardDetail({ campaign, events: full.timelineEvents, notices: full.notices ?? undefined, observation: full.observation });
      const tDetail = ms(t0);
      const report = buildReport({ campaign, events: full.events, observation: full.observation, notificationsByRun: full.notificationsByRun });
      t0 = process.hrtime.bigint();
      const html = renderDashboard(report, campaign, { detail });
      console.log(`  with user detail: read ledger + notices + snapshot ${tRead.toFixed(0)} ms, build timelines ${tDetail.toFixed(0)} ms, render HTML ${ms(t0).toFixed(0)} ms (${mb(Buffer.byteLength(html))})`);
    }
    t0 = process.hrtime.bigint();
    await writeDashboard({ campaign, store, file: path.join(tmp, 'api.html') });
    console.log(`  writeDashboard(): ${ms(t0).toFixed(0)} ms`);

    // The whole command, as CI runs it: process start, campaign load, ledger read, HTML written.
    const times = [];
    let last;
    for (let k = 0; k < 3; k++) {
      t0 = process.hrtime.bigint();
      last = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'campaign'), 'status', '--campaign', CAMPAIGN, '--state', 'state', '--html', 'out.html'], { cwd: tmp, encoding: 'utf8' });
      times.push(ms(t0));
    }
    console.log(`  campaign status --html (whole process, median of 3): ${med(times)} ms, exit ${last.status}${last.status ? `: ${last.stderr.trim()}` : ''}; target < 5000 ms`);
    if (last.status === 0) await browserFigures(path.join(tmp, 'out.html'), require);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Whether the page stays usable: load, search and sort times in headless Chromium, when it is installed. */
async function browserFigures(file, require) {
  const CHROMIUM = '/usr/bin/chromium';
  if (!fs.existsSync(CHROMIUM)) {
    console.log(`  browser: skipped (${CHROMIUM} missing; .ci/install-chromium.sh installs it)`);
    return;
  }
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    let t0 = process.hrtime.bigint();
    await page.goto(`file://${file}`);
    await page.waitForSelector('html[data-ready="true"]', { timeout: 120_000 });
    const load = ms(t0);
    const status = () => page.locator('#table-status').innerText();
    const before = await status();
    t0 = process.hrtime.bigint();
    await page.locator('#user-search').fill('admin.0999');
    await page.waitForFunction((b) => document.getElementById('table-status').textContent !== b, before, { timeout: 60_000 });
    const search = ms(t0);
    const found = await status();
    await page.locator('#user-search').fill('');
    await page.waitForFunction(() => !/filtered/.test(document.getElementById('table-status').textContent), null, { timeout: 60_000 });
    t0 = process.hrtime.bigint();
    await page.locator('th[data-col="deadline"] button').click();
    await page.waitForFunction(() => document.querySelector('th[data-col="deadline"]').getAttribute('aria-sort') === 'ascending');
    const sort = ms(t0);
    t0 = process.hrtime.bigint();
    await page.locator('#last-page').click();
    const pageTurn = ms(t0);
    const heap = await page.evaluate(() => (performance.memory ? performance.memory.usedJSHeapSize : 0));
    console.log(`  browser (headless Chromium): page ready ${load.toFixed(0)} ms, search ${search.toFixed(0)} ms ("${found}"), sort all rows ${sort.toFixed(0)} ms, last page ${pageTurn.toFixed(0)} ms, JS heap ${mb(heap)}`);
  } finally {
    await browser.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
