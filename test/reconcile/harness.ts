// A generated tenant in the emulator on 127.0.0.1, a campaign, a temp ledger, and a clock that
// both the emulator and the client share, so throttling waits cost no real time.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCampaignFile } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import type { LedgerEvent } from '../../src/ledger/events';
import { foldLedger, type CampaignState } from '../../src/engine/state';
import { Graph, SIM_TOKEN } from '../../src/graph/client';
import type { RunResult } from '../../src/reconcile/result';
import { runCampaign } from '../../src/reconcile/run';
import { FakeClock } from '../../src/sim/clock';
import type { TenantFixture } from '../../src/sim/fixture';
import { generateTenant } from '../../src/sim/generate';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { FileStore } from '../../src/ledger/file/store';

export const START = new Date('2026-12-01T06:00:00Z');
export const DAY = 86_400_000;

export interface Harness {
  fixture: TenantFixture;
  emulator: Emulator;
  clock: FakeClock;
  graph: Graph;
  store: FileStore;
  dir: string;
  campaign: Campaign;
  run(day: number, apply?: boolean): Promise<RunResult>;
  state(): Promise<CampaignState>;
  events(): Promise<LedgerEvent[]>;
  patch(body: unknown): Promise<void>;
  faults(body: unknown): Promise<void>;
  close(): Promise<void>;
}

export function adminCampaign(): Campaign {
  const c = loadCampaignFile('test/fixtures/campaigns/admins-passkeys.yaml').campaign!;
  c.spec.status = 'inProgress';
  return c;
}

export async function harness(opts: { admins?: number; users?: number; seed?: number; campaign?: Campaign; fixture?: TenantFixture } = {}): Promise<Harness> {
  const admins = opts.admins ?? 40;
  const fixture = opts.fixture ?? generateTenant({ users: opts.users ?? admins + 30, admins, seed: opts.seed ?? 11, now: START.toISOString() });
  const clock = new FakeClock(START);
  const emulator = await startEmulator({ tenant: fixture, port: 0, token: SIM_TOKEN, clock });
  const graph = new Graph({ graphUrl: emulator.url, sleep: async (ms) => clock.advance(ms), now: () => clock.now() });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-ledger-'));
  const store = new FileStore({ dir });
  const campaign = opts.campaign ?? adminCampaign();
  const send = async (p: string, method: string, body: unknown) => {
    const res = await fetch(`${emulator.url}${p}`, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  };
  const h: Harness = {
    fixture, emulator, clock, graph, store, dir, campaign,
    async run(day, apply = true) {
      const now = new Date(START.getTime() + day * DAY);
      clock.set(now);
      return runCampaign({ campaign, graph, store, now, apply });
    },
    async events() {
      return (await store.read(campaign.metadata.name)).events;
    },
    async state() {
      return foldLedger(await h.events());
    },
    patch: (body) => send('/_sim/tenant', 'PATCH', body),
    faults: (body) => send('/_sim/faults', 'POST', body),
    async close() {
      await emulator.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}
