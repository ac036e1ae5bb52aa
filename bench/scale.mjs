#!/usr/bin/env node
// Scale benchmark (issue 7): tenants of 1,000 / 10,000 / 100,000 targeted users in the emulator, run as
// a separate process with 50 ms injected latency and Graph's throttling limits on (real clock). For each:
// a first run and a steady-state run of the real `campaign reconcile` process (wall time, Graph requests,
// throttled responses, peak RSS), and for 1,000 and 10,000 a per-user baseline: what an admin's script
// does (per user: the user, its fido2Methods, the enforcement group's members). Writes bench/results.md.
// Sizes: BENCH_SCALE_SIZES=1000,10000 (default; add 100000 for an hour-long run); BENCH_BASELINE_MAX=10000.
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
const sizes = (process.env.BENCH_SCALE_SIZES ?? '1000,10000').split(',').map(Number);
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

function reconcile(url, campaignFile, stateDir, now) {
  // GNU time reports the child's peak resident set size in KiB.
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, 'reconcile', '--campaign', campaignFile, '--graph-url', url, '--state', stateDir, '--now', now.toISOString(), '--json'], { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`reconcile failed: ${r.stderr.slice(-2000)}`);
  const rssKiB = Number(r.stderr.trim().split('\n').pop());
  return { result: JSON.parse(r.stdout), rssMiB: rssKiB / 1024 };
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
    const { result, rssMiB } = reconcile(emu.url, campaignFile, stateDir, new Date(start.getTime() + day * 86_400_000));
    const wall = (performance.now() - t0) / 1000;
    const req = await control(emu.url, '/_sim/requests');
    rows.push({ n, label, wall, requests: req.total, throttled: req.throttled, rssMiB, targeted: result.counts.targeted, notifications: result.notifications });
    console.log(`scale ${n} ${label}: ${wall.toFixed(1)} s, ${req.total} requests (${req.throttled} throttled), peak RSS ${rssMiB.toFixed(0)} MiB, ${result.counts.targeted} targeted, ${result.notifications} notifications`);
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
fs.rmSync(tmp, { recursive: true, force: true });

const steady = (n) => rows.find((r) => r.n === n && r.label === 'steady state');
const md = [
  '# Benchmark results',
  '',
  `Produced by \`npm run bench\` (\`bench/scale.mjs\`) on ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  `The emulator runs as its own process with ${LATENCY} ms injected latency per request and Graph's throttling limits on`,
  '(identity 8,000 RU / 10 s, writes 3,000 / 150 s, reports 5 requests / 10 s) and the documented resource-unit costs',
  '(`users` 2, `groups/{id}/members` 3, `groups/{id}/transitiveMembers` 5, anything else 1; `$select` −1, `$expand` +1);',
  'each figure is one real `campaign reconcile` process. The campaign sends no notices here (`channel: none`): Teams',
  'notices go at Graph\'s documented 5 a second (about 0.26 s each with the app installation), at most 15,000 a run,',
  'and email at 30 a minute and 10,000 a day per sender mailbox, so notices, not reads, set the pace of a large first run.',
  '',
  'Reads are bound by `userRegistrationDetails`: its page documents only `$filter` and `$orderBy` (no `$top`), the',
  'emulator serves it 100 per page, and it is an identity and access report, limited to 5 requests per 10 seconds per',
  'app per tenant. Reading it takes about 2 s per 100 targeted users whatever else the run does (10,000 users: about',
  '200 s; 100,000: about 2,000 s), which is why the runs below are far slower than the previous figures taken with',
  '`$top=999`, an option that page does not document.',
  '',
  '| targeted users | run | wall time | Graph requests | throttled | peak RSS |',
  '|---:|---|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.n.toLocaleString('en')} | ${r.label} | ${r.wall.toFixed(1)} s | ${r.requests.toLocaleString('en')} | ${r.throttled} | ${r.rssMiB.toFixed(0)} MiB |`),
  '',
  'Per-user baseline (what an admin\'s script does: per user the user object, its fido2Methods and the enforcement group\'s members; 8 in parallel):',
  '',
  '| targeted users | wall time | Graph requests | throttled | requests vs steady-state reconcile |',
  '|---:|---:|---:|---:|---:|',
  ...baselines.map((b) => `| ${b.n.toLocaleString('en')} | ${b.wall.toFixed(1)} s | ${b.requests.toLocaleString('en')} | ${b.throttled} | ${steady(b.n) ? `${(b.requests / steady(b.n).requests).toFixed(0)}×` : ''} |`),
  '',
];
fs.writeFileSync(path.join(ROOT, 'bench', 'results.md'), md.join('\n'));
console.log('wrote bench/results.md');
