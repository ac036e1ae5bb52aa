#!/usr/bin/env node
// Where a large reconcile's memory goes, step by step. Serves a generated tenant (bench/serve-generated.mjs, no
// throttling), runs a first run and a steady-state run of the all-staff campaign (as `bench/scale.mjs --large` does),
// each with --expose-gc and CAMPAIGN_HEAP_TRACE=1: every step forces a collection and prints the heap still in use.
// Also prints each run's peak RSS (GNU time) and wall time. Nothing is written to results.md.
//   node bench/heap-phases.mjs [USERS=100000] [--heap MB]     (after npm run build)
// --heap sets the reconcile's V8 heap limit (default 12288, so a step's full need shows; the Functions app runs with 1024).
// --rss: no forced collections; each step prints the highest resident set sampled since the step before
// (CAMPAIGN_RSS_TRACE=1), to find the step that sets the run's peak RSS. --first-only: the first run only.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'campaign');
const args = process.argv.slice(2);
const heapAt = args.indexOf('--heap');
const heapMb = heapAt >= 0 ? Number(args[heapAt + 1]) : 12288;
const rssMode = args.includes('--rss');
const firstOnly = args.includes('--first-only');
// --keep DIR: the state directory is copied to DIR at the end (for measuring a step on its own).
const keepAt = args.indexOf('--keep');
const keep = keepAt >= 0 ? args[keepAt + 1] : null;
const users = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--heap') ?? 100000);
const start = new Date('2026-12-01T06:00:00Z');
const ROLES = ['AuthenticationAdministrator', 'GlobalAdministrator', 'HelpdeskAdministrator', 'PrivilegedRoleAdministrator', 'SecurityAdministrator', 'UserAdministrator'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-heap-'));

const admins = Math.min(2000, Math.floor(users / 100));
const child = spawn(process.execPath, ['--max-old-space-size=16384', path.join(ROOT, 'bench', 'serve-generated.mjs'), String(users), String(admins), '5', start.toISOString(), '--no-throttle'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let buf = '';
  const timer = setTimeout(() => reject(new Error('emulator did not start')), 900_000);
  child.on('exit', (code) => reject(new Error(`emulator exited (${code})`)));
  child.stdout.on('data', (d) => {
    buf += d;
    const m = /listening on (\S+)\n/.exec(buf);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
});
const file = path.join(tmp, 'all-staff-passkeys.yaml');
fs.writeFileSync(file, fs.readFileSync(path.join(ROOT, 'campaigns/all-staff-passkeys.yaml'), 'utf8')
  .replace('status: notStarted', 'status: inProgress')
  .replace(/roles: \[\][^\n]*/, `roles: [${ROLES.join(', ')}]`)
  .replace(/maxNewPerRun: \d+/, `maxNewPerRun: ${Math.min(users, 100_000)}`)
  .replace('channel: email', 'channel: none'));
const stateDir = path.join(tmp, 'state');
try {
  for (const [label, day] of firstOnly ? [['first run', 0]] : [['first run', 0], ['steady state', 1]]) {
    const t = performance.now();
    const r = spawnSync('/usr/bin/time', ['-f', 'bench-time %M %U %S', process.execPath, ...(rssMode ? [] : ['--expose-gc']), `--max-old-space-size=${heapMb}`, BIN, 'reconcile', '--campaign', file, '--graph-url', url, '--state', stateDir, '--now', new Date(start.getTime() + day * 86_400_000).toISOString(), '--json'],
      { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, ...(rssMode ? { CAMPAIGN_RSS_TRACE: '1' } : { CAMPAIGN_HEAP_TRACE: '1' }) } });
    const wall = (performance.now() - t) / 1000;
    const [, rss, u, s] = /bench-time (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr) ?? [];
    console.log(`${users} users, ${label}: exit ${r.status}, ${wall.toFixed(1)} s wall, ${(Number(u) + Number(s)).toFixed(1)} s CPU, peak RSS ${(Number(rss) / 1024).toFixed(0)} MiB (heap limit ${heapMb} MiB)`);
    for (const line of r.stderr.split('\n')) if (line.startsWith('heap-trace ') || line.startsWith('rss-trace ')) console.log(`  ${line.replace(/^(heap|rss)-trace /, '')}`);
    if (r.status !== 0) { console.log(r.stderr.split('\n').filter((l) => !/^(heap|rss)-trace/.test(l)).slice(-15).join('\n')); break; }
  }
} finally {
  if (keep) fs.cpSync(tmp, keep, { recursive: true });
  child.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
