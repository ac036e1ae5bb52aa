// SIGKILL of a real `bin/campaign reconcile` at a random point, then reruns to completion: the
// outcome must equal the uninterrupted run's. Kill points: at the n-th Graph request before Graph
// executes it, after Graph executed it but before the answer arrives, or after a random delay
// (anywhere: start-up, ledger writes, between requests).
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../src/sim/prng';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { SIM_TOKEN } from '../../src/graph/client';
import { assertRecovered, copyLedger, ensureBuilt, prepareScenario, reconcileChild, settled, cpuHogWhileSuiteRuns, loadedShare, SUITE_TIMEOUT_MS, tmpDir, writeCampaignFile, type Channel, type ChildRun, type Scenario } from './support';

type Mode = 'beforeRequest' | 'afterRequest' | 'delay';

export function killSuite(channel: Channel, allSeeds: number[]): void {
  const seeds = loadedShare(allSeeds);
  describe(`SIGKILL of bin/campaign reconcile (${channel})`, () => {
    cpuHogWhileSuiteRuns();
    const scenarios: Scenario[] = [];
    let files: string;
    let campaignFile: string;
    const childMs: number[] = [];

    beforeAll(async () => {
      ensureBuilt();
      // A real child process paces Teams notices at Graph's 5 a second in real time: 12 admins keep each run near 3 s.
      const admins = channel === 'teams' ? 12 : 28;
      scenarios.push(await prepareScenario(channel, 0, 21, 40, admins), await prepareScenario(channel, 7, 21, 40, admins));
      files = tmpDir('rel-kill-');
      campaignFile = writeCampaignFile(channel, files);
      // How long an uninterrupted child run takes, so delay kills land inside it.
      for (const s of scenarios) {
        const emulator = await startEmulator({ tenant: structuredClone(s.fixture), port: 0, token: SIM_TOKEN });
        const dir = copyLedger(s);
        const t0 = Date.now();
        const r = await reconcileChild(s, campaignFile, emulator.url, dir).done;
        childMs.push(Date.now() - t0);
        expect(r.code, r.stderr).toBe(0);
        await assertRecovered(s, emulator, dir, `${s.name} uninterrupted child`);
        await emulator.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, SUITE_TIMEOUT_MS);

    afterAll(() => {
      if (files) fs.rmSync(files, { recursive: true, force: true });
    });

    it(`keeps every invariant over ${seeds.length} random kill seeds`, async () => {
      const stats: Record<string, number> = {};
      for (const seed of seeds) {
        const rng = new Prng(`${channel}-kill-${seed}`);
        const si = rng.int(0, scenarios.length - 1);
        const s = scenarios[si]!;
        const dir = copyLedger(s);
        let target: { mode: Mode; at: number; child: ChildRun; offset: number } | null = null;
        const fire = (n: number, mode: Mode) => {
          if (!target || target.mode !== mode || n - target.offset !== target.at) return undefined;
          target.child.kill();
          target = null;
          return 'drop' as const;
        };
        const emulator: Emulator = await startEmulator({
          tenant: structuredClone(s.fixture), port: 0, token: SIM_TOKEN,
          hooks: { before: ({ n }) => fire(n, 'beforeRequest'), after: ({ n }) => fire(n, 'afterRequest') },
        });
        const kills = rng.chance(0.25) ? 2 : 1;
        const label = `seed ${seed} (${s.name})`;
        try {
          for (let k = 0; k < kills; k++) {
            const mode = rng.pick<Mode>(['beforeRequest', 'afterRequest', 'delay']);
            stats[mode] = (stats[mode] ?? 0) + 1;
            const offset = emulator.state.requests().total;
            const child = reconcileChild(s, campaignFile, emulator.url, dir);
            let timer: NodeJS.Timeout | undefined;
            if (mode === 'delay') timer = setTimeout(() => child.kill(), rng.int(0, Math.round(childMs[si]! * 1.1)));
            else target = { mode, at: rng.int(1, s.reference.requests + 1), child, offset };
            const r = await child.done;
            clearTimeout(timer);
            target = null;
            stats[r.signal === 'SIGKILL' ? 'killed' : 'finished'] = (stats[r.signal === 'SIGKILL' ? 'killed' : 'finished'] ?? 0) + 1;
            if (r.signal !== 'SIGKILL') expect(r.code, `${label}: ${r.stderr}`).toBe(0);
          }
          // A killed client's last request may still be executing in the emulator; then rerun to completion
          // (the lock of the killed process is taken over: its pid is gone).
          await settled(emulator, label);
          const final = await reconcileChild(s, campaignFile, emulator.url, dir).done;
          expect(final.code, `${label}: ${final.stderr}`).toBe(0);
          await assertRecovered(s, emulator, dir, label);
        } finally {
          await emulator.close();
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      // The seeds must actually kill runs mid-way, not only before they start or after they end.
      expect(stats.killed ?? 0).toBeGreaterThan(seeds.length / 2);
      console.log(`kill seeds (${channel}): ${seeds.length}, ${JSON.stringify(stats)}`);
    }, SUITE_TIMEOUT_MS);
  });
}
