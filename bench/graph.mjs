#!/usr/bin/env node
// Graph requests per reconcile for 1,000 and 10,000 targeted users, first run and steady state,
// against the emulator with Graph's throttling limits on (its clock is simulated, so waits are free).
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { loadCampaignFile } = require(path.join(ROOT, 'dist/campaign/load.js'));
const { Graph, SIM_TOKEN } = require(path.join(ROOT, 'dist/graph/client.js'));
const { runCampaign } = require(path.join(ROOT, 'dist/reconcile/run.js'));
const { FakeClock } = require(path.join(ROOT, 'dist/sim/clock.js'));
const { generateTenant } = require(path.join(ROOT, 'dist/sim/generate.js'));
const { startEmulator } = require(path.join(ROOT, 'dist/sim/server.js'));
const { FileStore } = require(path.join(ROOT, 'dist/ledger/file/store.js'));

const sizes = (process.env.BENCH_GRAPH_SIZES ?? '1000,10000').split(',').map(Number);
const start = new Date('2026-12-01T06:00:00Z');
const lines = [];

for (const n of sizes) {
  const fixture = generateTenant({ users: n + 100, admins: n, seed: 3, now: start.toISOString() });
  const clock = new FakeClock(start);
  const emulator = await startEmulator({ tenant: fixture, port: 0, token: SIM_TOKEN, clock });
  const graph = new Graph({ graphUrl: emulator.url, sleep: async (ms) => clock.advance(ms), now: () => clock.now() });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-graph-'));
  const store = new FileStore({ dir });
  const campaign = loadCampaignFile(path.join(ROOT, 'campaigns/admins-passkeys.yaml')).campaign;
  campaign.spec.status = 'inProgress';
  campaign.spec.enforcement.maxNewPerRun = n;
  for (const [label, day] of [['first run', 0], ['steady state', 1]]) {
    await fetch(`${emulator.url}/_sim/reset-counters`, { method: 'POST' });
    const now = new Date(start.getTime() + day * 86_400_000);
    clock.set(now);
    const t0 = performance.now();
    const r = await runCampaign({ campaign, graph, store, now, apply: true });
    const ms = performance.now() - t0;
    const req = await (await fetch(`${emulator.url}/_sim/requests`)).json();
    const reads = Object.entries(req.byRoute).filter(([k]) => k.startsWith('GET ')).reduce((a, [, v]) => a + v, 0);
    lines.push(`graph ${String(n).padStart(6)} targeted, ${label.padEnd(12)}: ${String(r.graphRequests).padStart(5)} requests (${req.throttled} throttled, ${reads} reads incl. inner batch reads), ${r.notifications} notifications, ${r.groupAdds} group adds, ${(ms / 1000).toFixed(1)} s`);
  }
  lines.push(`graph ${String(n).padStart(6)} targeted, a per-user script would need ≥ ${3 * n} requests per run (methods, devices, membership per user); pages of 999 per collection: ${Math.ceil((n + 100) / 999)}`);
  await emulator.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
for (const l of lines) console.log(l);
