#!/usr/bin/env node
// Scale benchmark. Two kinds of rows, each one real `campaign reconcile` process (its own child, so the peak
// RSS measured is the reconcile's alone), a first run and a steady-state run (the next day):
//
// Throttled (default): tenants of 1,000 / 10,000 targeted admins in the emulator, run as a separate process
// with 50 ms injected latency and Graph's throttling limits on (real clock): wall time, Graph requests,
// throttled responses, peak RSS, and the floor Graph's documented limits allow for the same requests (from GET /_sim/usage:
// what the emulator counted of each limit: resource units per 10 s, reports per 10 s, ...; the route table
// src/sim/route-table.ts gives each request's cost, class and page size) with the ratio wall time / floor.
// For 1,000 and 10,000 also a per-user baseline: what an admin's script does (per user: the user, its
// fido2Methods, the enforcement group's members).
//   BENCH_SCALE_SIZES=1000,10000 (default; 100000 is the documented-limits run: over an hour for its two runs)
//   BENCH_BASELINE_MAX=10000
//
// Unthrottled (large; off by default): one all-staff group plus the admins of the 15 roles, 300,000 and
// 1,000,000 users, no latency and no throttling, to see memory and CPU rather than Graph's limits. The tenant
// is generated inside the emulator's process (bench/serve-generated.mjs; no fixture file).
//   npm run bench -- --large            300,000 and 1,000,000 (about half an hour on 2 cores)
//   BENCH_LARGE_SIZES=300000 npm run bench -- --large
//   BENCH_SKIP_THROTTLED=1              only the large rows
//   BENCH_RECONCILE_HEAP_MB=1024        the reconcile's V8 heap limit (default: the Functions app's, src/contracts/scheduler.ts)
//
// Writes its tables into bench/results.md, replacing only the section(s) it measured.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { generateTenant, SIM_IDS } = require(path.join(ROOT, 'dist/sim/generate.js'));
const BIN = path.join(ROOT, 'bin', 'campaign');
// 100,000 is no longer a default: at Graph's documented reports limit (5 requests / 10 s) and the emulator's
// page of 100 registration details, its two runs alone take over an hour (see the note written under the table).
const sizes = process.env.BENCH_SKIP_THROTTLED ? [] : (process.env.BENCH_SCALE_SIZES ?? '1000,10000').split(',').map(Number);
const large = process.argv.includes('--large') || process.env.BENCH_LARGE === '1';
const largeSizes = large ? (process.env.BENCH_LARGE_SIZES ?? '300000,1000000').split(',').map(Number) : [];
const { FUNCTIONS_HEAP_LIMIT_MB } = require(path.join(ROOT, 'dist/contracts/scheduler.js'));
const heapMb = Number(process.env.BENCH_RECONCILE_HEAP_MB ?? FUNCTIONS_HEAP_LIMIT_MB);
const { GRAPH_LIMITS } = require(path.join(ROOT, 'dist/sim/throttle.js'));
const baselineMax = Number(process.env.BENCH_BASELINE_MAX ?? 10000);
const LATENCY = 50;
const start = new Date('2026-12-01T06:00:00Z');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scale-'));
const rows = [];
const baselines = [];

async function serve(tenantFile) {
  const child = spawn(process.execPath, ['--max-old-space-size=8192', BIN, 'sim', 'serve', '--tenant', tenantFile, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('emulator did not start')), 120_000);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /listening on (\S+)\n/.exec(buf);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
  return { url, stop: () => new Promise((r) => { child.on('exit', r); child.kill('SIGTERM'); }) };
}

// A new emulator may get the port of the one just stopped; fetch's pool can then hand out a dead
// keep-alive socket once (other side closed, EPIPE, reset). Retry transport failures only.
async function control(url, p, method = 'GET', body) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await (await fetch(`${url}${p}`, { method, headers: { 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined })).json();
    } catch (e) {
      if (attempt >= 2 || !(e instanceof TypeError) || !e.cause) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function reconcile(url, campaignFile, stateDir, now, nodeArgs = []) {
  // GNU time reports the child's peak resident set size in KiB and its CPU seconds (user + system).
  const r = spawnSync('/usr/bin/time', ['-f', 'bench-time %M %U %S', process.execPath, ...nodeArgs, BIN, 'reconcile', '--campaign', campaignFile, '--graph-url', url, '--state', stateDir, '--now', now.toISOString(), '--json'], { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
  const m = /bench-time (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  const rssMiB = m ? Number(m[1]) / 1024 : NaN;
  const cpu = m ? Number(m[2]) + Number(m[3]) : NaN;
  if (r.status !== 0) {
    const lines = r.stderr.replace(/bench-time.*\n?/, '').trim().split('\n');
    // V8 stops a process past its heap limit with a fatal error and SIGABRT (no JavaScript error to show).
    if (/heap out of memory|OOMErrorHandler/.test(r.stderr)) return { error: 'Error: JavaScript heap out of memory at the heap limit', rssMiB, cpu };
    // The message, then the innermost frames.
    const at = lines.findIndex((l) => /^\s+at /.test(l));
    return { error: (at > 0 ? lines.slice(0, at + 4) : lines.slice(-8)).join('\n'), rssMiB, cpu };
  }
  return { result: JSON.parse(r.stdout), rssMiB, cpu };
}

/** The least time Graph's documented limits allow for what a run used of them: per limit, whole windows after the first. */
function floorSeconds(used) {
  let floor = 0;
  let bound = 'none';
  for (const [k, units] of Object.entries(used ?? {})) {
    const l = GRAPH_LIMITS[k];
    if (!l || !units) continue;
    const s = Math.max(0, Math.ceil(units / l.limit) - 1) * l.windowSeconds;
    if (s > floor) { floor = s; bound = k; }
  }
  return { floor, bound };
}

async function baseline(url, users) {
  // An admin's script: one request after another per user, a few in parallel.
  const headers = { Authorization: 'Bearer sim-token' };
  const ids = users.slice();
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      for (const p of [`/v1.0/users/${id}?$select=id,accountEnabled`, `/v1.0/users/${id}/authentication/fido2Methods`, `/v1.0/groups/${SIM_IDS.adminsEnforcedGroup}/members?$select=id`]) {
        for (let attempt = 0; attempt < 20; attempt++) {
          const res = await fetch(`${url}${p}`, { headers });
          await res.arrayBuffer();
          if (res.status !== 429) break;
          await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

const campaignFile = path.join(tmp, 'admins-passkeys.yaml');
for (const n of sizes) {
  const text = fs.readFileSync(path.join(ROOT, 'campaigns/admins-passkeys.yaml'), 'utf8').replace('status: notStarted', 'status: inProgress').replace('maxNewPerRun: 50', `maxNewPerRun: ${n}`)
    // Notices are paced to Graph's documented Teams limit (5 a second), so with them on a first run would measure
    // the pacing, not the reads: the scale runs send none (what notices cost is in the note under the table).
    .replace('channel: teams', 'channel: none');
  fs.writeFileSync(campaignFile, text);
  const tenantFile = path.join(tmp, `tenant-${n}.json`);
  const fixture = generateTenant({ users: n + 200, admins: n, seed: 5, now: start.toISOString() });
  fs.writeFileSync(tenantFile, JSON.stringify(fixture));
  const adminIds = fixture.users.filter((u) => u.userPrincipalName.startsWith('adm.')).map((u) => u.id);
  const emu = await serve(tenantFile);
  await control(emu.url, '/_sim/faults', 'POST', { latencyMs: LATENCY, throttle: true });
  const stateDir = path.join(tmp, `state-${n}`);
  for (const [label, day] of [['first run', 0], ['steady state', 1]]) {
    await control(emu.url, '/_sim/reset-counters', 'POST');
    const t0 = performance.now();
    const { result, rssMiB, error } = reconcile(emu.url, campaignFile, stateDir, new Date(start.getTime() + day * 86_400_000));
    if (error) throw new Error(`reconcile failed: ${error}`);
    const wall = (performance.now() - t0) / 1000;
    const req = await control(emu.url, '/_sim/requests');
    const { floor, bound } = floorSeconds(await control(emu.url, '/_sim/usage'));
    rows.push({ n, label, wall, requests: req.total, throttled: req.throttled, rssMiB, targeted: result.counts.targeted, notifications: result.notifications, floor, bound });
    console.log(`scale ${n} ${label}: ${wall.toFixed(1)} s, ${req.total} requests (${req.throttled} throttled), peak RSS ${rssMiB.toFixed(0)} MiB, ${result.counts.targeted} targeted, ${result.notifications} notifications; Graph floor ${floor.toFixed(0)} s (${bound}), ratio ${floor ? (wall / floor).toFixed(2) : '-'}`);
  }
  if (n <= baselineMax) {
    await control(emu.url, '/_sim/reset-counters', 'POST');
    const t0 = performance.now();
    await baseline(emu.url, adminIds);
    const wall = (performance.now() - t0) / 1000;
    const req = await control(emu.url, '/_sim/requests');
    baselines.push({ n, wall, requests: req.total, throttled: req.throttled });
    console.log(`baseline ${n}: ${wall.toFixed(1)} s, ${req.total} requests (${req.throttled} throttled)`);
  }
  await emu.stop();
}
// Large rows: no latency, no throttling; the all-staff group plus the admins of the 15 roles.
const largeRows = [];
const ROLES = ['AuthenticationAdministrator', 'BillingAdministrator', 'CloudApplicationAdministrator', 'ConditionalAccessAdministrator', 'ExchangeAdministrator', 'GlobalAdministrator', 'HelpdeskAdministrator', 'IntuneAdministrator', 'PasswordAdministrator', 'PrivilegedAuthenticationAdministrator', 'PrivilegedRoleAdministrator', 'SecurityAdministrator', 'SharePointAdministrator', 'TeamsAdministrator', 'UserAdministrator'];
async function serveGenerated(users, admins) {
  // The emulator's own peak RSS comes from GNU time when it exits.
  const child = spawn('/usr/bin/time', ['-f', 'bench-time %M', process.execPath, '--max-old-space-size=16384', path.join(ROOT, 'bench', 'serve-generated.mjs'), String(users), String(admins), '5', start.toISOString(), '--no-throttle'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const { url, ready } = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('emulator did not start')), 900_000);
    child.on('exit', (code) => reject(new Error(`emulator exited (${code}): ${err.slice(-1000)}`)));
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /listening on (\S+)\n(ready [^\n]*)\n/.exec(buf);
      if (m) { clearTimeout(timer); resolve({ url: m[1], ready: m[2] }); }
    });
  });
  const stop = () => new Promise((r) => {
    child.removeAllListeners('exit');
    child.on('exit', () => r(Number(/bench-time (\d+)/.exec(err)?.[1] ?? NaN) / 1024));
    // Stop the emulator itself, so GNU time sees it exit and reports.
    process.kill(Number(/pid=(\d+)/.exec(ready)[1]), 'SIGTERM');
  });
  return { url, ready, stop };
}
for (const n of largeSizes) {
  const admins = Math.min(2000, Math.floor(n / 100));
  fs.mkdirSync(path.join(tmp, `large-${n}`));
  const file = path.join(tmp, `large-${n}`, 'all-staff-passkeys.yaml');
  const text = fs.readFileSync(path.join(ROOT, 'campaigns/all-staff-passkeys.yaml'), 'utf8')
    .replace('status: notStarted', 'status: inProgress')
    .replace(/roles: \[\][^\n]*/, `roles: [${ROLES.join(', ')}]`)
    .replace('includeEligible: false', 'includeEligible: true')
    .replace(/maxNewPerRun: \d+/, `maxNewPerRun: ${Math.min(n, 100_000)}`)
    .replace('channel: email', 'channel: none');
  fs.writeFileSync(file, text);
  const t0 = performance.now();
  const emu = await serveGenerated(n, admins);
  console.log(`large ${n}: emulator up in ${((performance.now() - t0) / 1000).toFixed(0)} s (${emu.ready})`);
  const stateDir = path.join(tmp, `large-state-${n}`);
  for (const [label, day] of [['first run', 0], ['steady state', 1]]) {
    await control(emu.url, '/_sim/reset-counters', 'POST');
    const t1 = performance.now();
    const r = reconcile(emu.url, file, stateDir, new Date(start.getTime() + day * 86_400_000), [`--max-old-space-size=${heapMb}`]);
    const wall = (performance.now() - t1) / 1000;
    const req = await control(emu.url, '/_sim/requests');
    const ledgerBytes = fs.existsSync(stateDir) ? fs.readdirSync(stateDir, { recursive: true }).reduce((sum, f) => { const st = fs.statSync(path.join(stateDir, String(f))); return sum + (st.isFile() ? st.size : 0); }, 0) : 0;
    const row = { n, label, wall, cpu: r.cpu, requests: req.total, rssMiB: r.rssMiB, targeted: r.result?.counts.targeted, error: r.error, stateMiB: ledgerBytes / 1048576 };
    largeRows.push(row);
    console.log(`large ${n} ${label}: ${r.error ? `FAILED:\n${r.error}\n` : `${row.targeted} targeted`}, ${wall.toFixed(1)} s wall, ${r.cpu.toFixed(1)} s CPU, ${req.total} requests, peak RSS ${r.rssMiB.toFixed(0)} MiB, state directory ${row.stateMiB.toFixed(0)} MiB`);
    if (r.error) break;
  }
  const emuRss = await emu.stop();
  largeRows.filter((x) => x.n === n).forEach((x) => { x.emulatorMiB = emuRss; x.emulatorReady = emu.ready; });
  console.log(`large ${n}: emulator peak RSS ${emuRss.toFixed(0)} MiB`);
}
fs.rmSync(tmp, { recursive: true, force: true });

/** Replaces the part of results.md between `<!-- name -->` and `<!-- /name -->` (appends it when missing). */
function writeSection(name, lines) {
  const file = path.join(ROOT, 'bench', 'results.md');
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  const open = `<!-- ${name} -->`;
  const close = `<!-- /${name} -->`;
  const block = `${open}\n${lines.join('\n')}\n${close}`;
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + close.length) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, text);
}
const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`;

const steady = (n) => rows.find((r) => r.n === n && r.label === 'steady state');
if (rows.length) writeSection('throttled', [
  '## Throttled: Graph\'s documented limits',
  '',
  `Produced by \`npm run bench\` (\`bench/scale.mjs\`) on ${machine}.`,
  `The emulator runs as its own process with ${LATENCY} ms injected latency per request and Graph's throttling limits on`,
  '(identity 8,000 RU / 10 s, writes 3,000 / 150 s, reports 5 requests / 10 s) and the documented resource-unit costs',
  '(`users` 2, `groups/{id}/members` 3, `groups/{id}/transitiveMembers` 5, anything else 1; `$select` −1, `$expand` +1);',
  'each figure is one real `campaign reconcile` process. The campaign sends no notices here (`channel: none`): Teams',
  'notices go at Graph\'s documented 5 a second (about 0.26 s each with the app installation), at most 15,000 a run,',
  'and email at 30 a minute and 10,000 a day per sender mailbox, so notices, not reads, set the pace of a large first run.',
  '',
  'Reads are bound by `userRegistrationDetails`: its page documents only `$filter` and `$orderBy` (no `$top`), the',
  'emulator serves it 100 per page, and it is an identity and access report, limited to 5 requests per 10 seconds per',
  'app per tenant. **Graph floor**: the least time the documented limits allow for the requests the run was answered,',
  'per limit (resource units, writes, report requests, …) whole windows after the first, the largest of them (the',
  'limit named is the one that binds); latency not included. **Ratio**: wall time / floor.',
  '',
  '| targeted users | run | wall time | Graph floor | ratio | Graph requests | throttled | peak RSS |',
  '|---:|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.n.toLocaleString('en')} | ${r.label} | ${r.wall.toFixed(1)} s | ${r.floor.toFixed(0)} s (${r.bound}) | ${r.floor ? (r.wall / r.floor).toFixed(2) : '–'} | ${r.requests.toLocaleString('en')} | ${r.throttled} | ${r.rssMiB.toFixed(0)} MiB |`),
  '',
  'Per-user baseline (what an admin\'s script does: per user the user object, its fido2Methods and the enforcement group\'s members; 8 in parallel):',
  '',
  '| targeted users | wall time | Graph requests | throttled | requests vs steady-state reconcile |',
  '|---:|---:|---:|---:|---:|',
  ...baselines.map((b) => `| ${b.n.toLocaleString('en')} | ${b.wall.toFixed(1)} s | ${b.requests.toLocaleString('en')} | ${b.throttled} | ${steady(b.n) ? `${(b.requests / steady(b.n).requests).toFixed(0)}×` : ''} |`),
]);
/** The rows and notes of sizes not measured this time, kept from the section as it was. */
function keptLines(name, measured) {
  const file = path.join(ROOT, 'bench', 'results.md');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const a = text.indexOf(`<!-- ${name} -->`);
  const b = text.indexOf(`<!-- /${name} -->`);
  if (a < 0 || b < a) return { rows: [], notes: [] };
  const size = (line) => Number(/^(?:\| |Emulator, )([\d,]+)/.exec(line)?.[1].replace(/,/g, '') ?? NaN);
  const lines = text.slice(a, b).split('\n').filter((l) => Number.isFinite(size(l)) && !measured.has(size(l)));
  return { rows: lines.filter((l) => l.startsWith('| ')), notes: lines.filter((l) => l.startsWith('Emulator, ')) };
}
const emulatorNote = (ready) => {
  const v = (k) => new RegExp(`${k}=([\\d.]+)`).exec(ready)?.[1] ?? '?';
  return `generated in ${v('generate')} s and loaded in ${v('load')} s, ${Number(v('rss')).toLocaleString('en')} MiB resident once serving`;
};
const keptLarge = keptLines('large', new Set(largeSizes));
const today = new Date().toISOString().slice(0, 10);
if (largeRows.length) writeSection('large', [
  '## Unthrottled: 300,000 and 1,000,000 users (memory and CPU)',
  '',
  `Produced by \`npm run bench -- --large\` (\`bench/scale.mjs\`) on ${machine}.`,
  'One all-staff group plus the admins of the 15 roles (active and eligible), the break-glass accounts excluded; no',
  'latency, no throttling, no notices (`channel: none`). The tenant is generated inside the emulator\'s process',
  '(`bench/serve-generated.mjs`). Each run is one `campaign reconcile` process of its own, with',
  'the V8 heap limit given in the last column (by default the Functions app\'s, `NODE_OPTIONS` in the stack); peak RSS is that',
  'process\'s (GNU time), CPU its user + system seconds. Target for 1,000,000: peak RSS',
  'under 1.5 GiB (the Functions instance has 2,048 MB).',
  '',
  '| users in tenant | targeted | run | wall time | CPU | Graph requests | peak RSS (reconcile) | state directory after | emulator peak RSS | measured |',
  '|---:|---:|---|---:|---:|---:|---:|---:|---:|---|',
  ...[...keptLarge.rows, ...largeRows.map((r) => `| ${r.n.toLocaleString('en')} | ${r.targeted?.toLocaleString('en') ?? '–'} | ${r.label}${r.error ? ` (failed: ${r.error.split('\n').find((l) => /Error/.test(l))?.trim().slice(0, 160) ?? 'see the log'})` : ''} | ${r.wall.toFixed(1)} s | ${r.cpu.toFixed(1)} s | ${r.requests.toLocaleString('en')} | ${r.rssMiB.toFixed(0)} MiB | ${r.stateMiB.toFixed(0)} MiB | ${r.emulatorMiB?.toFixed(0) ?? '–'} MiB | ${today}, heap limit ${heapMb} MiB |`)]
    .sort((x, y) => Number(/^\| ([\d,]+)/.exec(x)[1].replace(/,/g, '')) - Number(/^\| ([\d,]+)/.exec(y)[1].replace(/,/g, ''))),
  '',
  ...[...keptLarge.notes, ...[...new Set(largeRows.map((r) => r.n))].map((n) => `Emulator, ${n.toLocaleString('en')} users: ${emulatorNote(largeRows.find((r) => r.n === n).emulatorReady)}.`)]
    .sort((x, y) => Number(/^Emulator, ([\d,]+)/.exec(x)[1].replace(/,/g, '')) - Number(/^Emulator, ([\d,]+)/.exec(y)[1].replace(/,/g, ''))),
]);
if (rows.length || largeRows.length) console.log('wrote bench/results.md');
