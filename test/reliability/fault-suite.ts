// Faults injected into the emulator during one run (in process, on a fake clock so retries cost no
// real time), then the faults are cleared and the run is repeated until it completes: the outcome must
// equal the uninterrupted run's, with every invariant of assertRecovered kept.
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GRAPH_LIMITS } from '../../src/sim/throttle';
import { Prng } from '../../src/sim/prng';
import { RuntimeError } from '../../src/errors';
import type { Graph } from '../../src/graph/client';
import { assertRecovered, copyLedger, inProcess, prepareScenario, settled, cpuHogWhileSuiteRuns, LOADED, SUITE_TIMEOUT_MS, type InProcess, type Scenario } from './support';

const CALM = { latencyMs: 0, throttle: true, error503Rate: 0, resetConnectionRate: 0, failAfterRequests: null, failPaths: [], limits: GRAPH_LIMITS, expireTokenAfterRequests: null, omitRetryAfter: false };

export interface FaultCase {
  name: string;
  /** Arms the fault; may return a Graph to use for the faulted run (e.g. with a short time-out). */
  arm(p: InProcess, rng: Prng, s: Scenario): Graph | void;
  /** Whether the faulted run may fail (with a typed error); otherwise it must complete. */
  mayFail: boolean;
  /** Graph for the reruns (e.g. with a fresh token). */
  rerunGraph?(p: InProcess): Promise<Graph>;
  scenarios?: 'small' | 'paged';
}

export function faultSuite(title: string, cases: FaultCase[], allSeedsPerCase: number): void {
  const seedsPerCase = LOADED ? Math.ceil(allSeedsPerCase / 3) : allSeedsPerCase;
  describe(title, () => {
    cpuHogWhileSuiteRuns();
    const small: Scenario[] = [];
    const paged: Scenario[] = [];
    beforeAll(async () => {
      small.push(await prepareScenario('teams', 0), await prepareScenario('email', 0), await prepareScenario('teams', 7), await prepareScenario('email', 7));
      if (cases.some((c) => c.scenarios === 'paged')) paged.push(await prepareScenario('teams', 7, 5, 1100), await prepareScenario('email', 7, 5, 1100));
    }, SUITE_TIMEOUT_MS);

    it.each(cases)(`$name: ${seedsPerCase} seeds keep every invariant`, async (c) => {
      let failedRuns = 0;
      let hit = 0;
      const outcomes: Record<string, number> = {};
      for (let seed = 1; seed <= seedsPerCase; seed++) {
        const rng = new Prng(`${c.name}-${seed}`);
        const pool = c.scenarios === 'paged' ? paged : small;
        const s = pool[rng.int(0, pool.length - 1)]!;
        const dir = copyLedger(s);
        const p = await inProcess(s, dir);
        const label = `${c.name}, seed ${seed} (${s.name})`;
        try {
          p.faults({ seed });
          const graph = c.arm(p, rng, s) ?? undefined;
          const used = graph ?? p.graph;
          let failed = false;
          try {
            await p.run(s.day, { graph });
          } catch (e) {
            failed = true;
            failedRuns++;
            expect(c.mayFail, `${label}: ${String(e)}`).toBe(true);
            expect(e, `${label}: not a typed error`).toBeInstanceOf(RuntimeError);
          }
          p.emulator.state.setFaults(CALM);
          p.emulator.state.hooks = {};
          // Requests that timed out on the client may still be executing in the emulator: the rerun starts
          // after they finished, as a real rerun (a day later) would.
          await settled(p.emulator, label);
          const rerun = c.rerunGraph ? await c.rerunGraph(p) : p.graph;
          await p.run(s.day, { graph: rerun });
          await assertRecovered(s, p.emulator, dir, label, rerun);
          const events = await p.events();
          // The fault must have hit: a retry, a throttled answer, a failed run or an unanswered notification.
          const unanswered = events.some((e) => e.type === 'notificationOutcome' && (e.outcome === 'inDoubt' || e.outcome === 'notSent'));
          if (used.stats.retries + used.stats.throttled > 0 || unanswered || failed) hit++;
          for (const e of events) if (e.type === 'notificationOutcome' || e.type === 'groupAddOutcome') outcomes[`${e.type === 'groupAddOutcome' ? 'groupAdd' : 'notification'}:${e.outcome}`] = (outcomes[`${e.type === 'groupAddOutcome' ? 'groupAdd' : 'notification'}:${e.outcome}`] ?? 0) + 1;
        } finally {
          await p.close();
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      expect(hit, `${c.name}: the fault hardly ever hit`).toBeGreaterThanOrEqual(seedsPerCase / 2);
      console.log(`${c.name}: ${seedsPerCase} seeds, ${hit} hit, ${failedRuns} faulted runs stopped with a typed error; ledger outcomes ${JSON.stringify(outcomes)}`);
    }, SUITE_TIMEOUT_MS);
  });
}
