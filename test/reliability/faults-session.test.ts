// A failure in the middle of paging, responses slower than the client's time-out, and a token that expires mid-run.
import { Graph } from '../../src/graph/client';
import { faultSuite } from './fault-suite';

faultSuite('paging, time-outs and tokens', [
  {
    name: 'a failure in the middle of paging',
    mayFail: true,
    scenarios: 'paged',
    // Every request for a second page is reset for a while: shorter outages are retried, longer ones stop the run.
    arm: (p, rng) => {
      let left = rng.int(1, 8);
      p.emulator.state.hooks = { before: ({ query }) => (/skiptoken/i.test(query) && left-- > 0 ? 'drop' : undefined) };
      return p.newGraph({ retryBudgetMs: rng.int(2_000, 20_000) });
    },
  },
  {
    name: 'slow responses past the client time-out',
    mayFail: true,
    // From a random request on, a few answers take longer than the client waits: the client gives up while
    // Graph still executes them (reads and group adds are retried; a notification becomes in doubt).
    arm: (p, rng, s) => {
      const from = rng.int(1, s.reference.requests);
      const until = from + rng.int(2, 8);
      p.emulator.state.hooks = {
        before: ({ n }) => {
          if (n === from) p.emulator.state.setFaults({ latencyMs: 60 });
          if (n === until) p.emulator.state.setFaults({ latencyMs: 0 });
          return undefined;
        },
      };
      return p.newGraph({ attemptTimeoutMs: 30 });
    },
  },
  {
    name: 'a token that expires mid-run',
    mayFail: true,
    arm: (p, rng, s) => p.faults({ expireTokenAfterRequests: rng.int(0, s.reference.requests) }),
    rerunGraph: async (p) => {
      const res = await fetch(`${p.emulator.url}/_sim/token`, { method: 'POST' });
      const { access_token: token } = (await res.json()) as { access_token: string };
      return new Graph({ graphUrl: p.emulator.url, token: async () => token, sleep: async (ms) => p.clock.advance(ms), now: () => p.clock.now() });
    },
  },
], 18);
