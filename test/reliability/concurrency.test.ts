// Two real `bin/campaign reconcile` processes on one ledger at once: the second fails at once naming
// the holder, or waits with --lock-wait; their runs never interleave in the ledger.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/ledger/events';
import { SIM_TOKEN } from '../../src/graph/client';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { FileStore } from '../../src/ledger/file/store';
import { assertRecovered, assertRunsDoNotOverlap, CAMPAIGN, copyLedger, ensureBuilt, prepareScenario, reconcileChild, tmpDir, writeCampaignFile, type Scenario } from './support';

let scenario: Scenario;
let campaignFile: string;
let emulator: Emulator | undefined;
let dir: string | undefined;

beforeAll(async () => {
  ensureBuilt();
  scenario = await prepareScenario('teams', 7);
  campaignFile = writeCampaignFile('teams', tmpDir('rel-conc-'));
}, 180_000);

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function ledger(): Promise<LedgerEvent[]> {
  return (await new FileStore({ dir }).read(CAMPAIGN)).events;
}

describe('two reconcile runs at once on one ledger', () => {
  it('the second exits 2 at once and names the run that holds the lock', async () => {
    // Slow answers keep the first run inside its lock long enough for the second to collide with it.
    emulator = await startEmulator({ tenant: structuredClone(scenario.fixture), port: 0, token: SIM_TOKEN, faults: { latencyMs: 150 } });
    dir = copyLedger(scenario);
    const first = reconcileChild(scenario, campaignFile, emulator.url, dir);
    await waitFor(() => fs.existsSync(path.join(dir!, CAMPAIGN, '.lock')), 15_000, 'the first run to take the lock');
    const second = await reconcileChild(scenario, campaignFile, emulator.url, dir).done;
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`^campaign reconcile: campaign "${CAMPAIGN}" is locked by owner "reconcile [0-9a-f-]{36}" \\(pid ${first.pid} on host [^)]+\\) since \\S+; waited \\d+ ms\\.\n  Another run is probably in progress: wait for it to finish, or pass --lock-wait SECONDS`));
    const r = await first.done;
    expect(r.code, r.stderr).toBe(0);
    const events = await ledger();
    expect(events.filter((e) => e.type === 'runStarted')).toHaveLength(scenario.day + 1);
    assertRunsDoNotOverlap(events, 'fail-fast');
    await assertRecovered(scenario, emulator, dir, 'fail-fast');
  }, 60_000);

  it('with --lock-wait the second waits for the first, and their runs never interleave', async () => {
    emulator = await startEmulator({ tenant: structuredClone(scenario.fixture), port: 0, token: SIM_TOKEN, faults: { latencyMs: 10 } });
    dir = copyLedger(scenario);
    const runs = [0, 1, 2].map(() => reconcileChild(scenario, campaignFile, emulator!.url, dir!, ['--lock-wait', '60']));
    const results = await Promise.all(runs.map((c) => c.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    // Exactly one of them did the day's work; the others found nothing left to do.
    const moved = results.map((r) => (JSON.parse(r.stdout) as { transitions: unknown[] }).transitions.length).sort((a, b) => a - b);
    expect(moved[0]).toBe(0);
    expect(moved[1]).toBe(0);
    expect(moved[2]).toBe(scenario.reference.result.transitions.length);
    const events = await ledger();
    expect(events.filter((e) => e.type === 'runStarted').length).toBe(scenario.day + 3);
    assertRunsDoNotOverlap(events, 'lock-wait');
    await assertRecovered(scenario, emulator, dir, 'lock-wait');
  }, 60_000);
});
