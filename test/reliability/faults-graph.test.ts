// 429 storms (with and without Retry-After), 503 bursts, connection resets and a $batch with mixed inner statuses.
import { faultSuite } from './fault-suite';

faultSuite('Graph faults during a run', [
  {
    name: '429 storm with Retry-After',
    mayFail: false,
    // A run's first round reads role assignments per targeted role (~30 requests), so the window must let that
    // round through within one request's retry budget: honouring Retry-After must never fail a run.
    arm: (p, rng) => p.faults({ limits: { identityResourceUnits: { limit: rng.int(10, 24), windowSeconds: 10 }, reports: { limit: 1, windowSeconds: 10 } } }),
  },
  {
    name: '429 storm without Retry-After',
    mayFail: true,
    arm: (p, rng) => p.faults({ omitRetryAfter: true, limits: { identityResourceUnits: { limit: rng.int(3, 12), windowSeconds: 10 }, reports: { limit: 1, windowSeconds: 10 } } }),
  },
  {
    name: '503 bursts',
    mayFail: true,
    arm: (p, rng) => p.faults({ error503Rate: 0.1 + rng.next() * 0.4 }),
  },
  {
    name: 'connection resets',
    mayFail: true,
    arm: (p, rng) => p.faults({ resetConnectionRate: 0.05 + rng.next() * 0.25 }),
  },
  {
    name: 'a $batch with mixed inner statuses',
    mayFail: true,
    // Inside each $batch some requests succeed, some are throttled, some answer 503; with a short retry
    // budget some group adds stay failed (those users make no move) while others in the same batch succeed.
    arm: (p, rng) => {
      p.faults({ error503Rate: 0.2 + rng.next() * 0.4, limits: { identityResourceUnits: { limit: rng.int(8, 30), windowSeconds: 10 } } });
      return p.newGraph({ retryBudgetMs: rng.int(1_000, 8_000) });
    },
  },
], 18);
