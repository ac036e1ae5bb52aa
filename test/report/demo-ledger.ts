// A realistic ledger for report tests: a generated tenant in the Graph emulator, the example admin
// campaign started, one real reconcile per simulated day, and seeded users who update devices, register
// passkeys, postpone or ignore. Fixed start, fixed seed, fixed run ids: the same options give the same ledger.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCampaignFile } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import { requestPostponement } from '../../src/engine/postpone';
import { foldLedger, inCampaign } from '../../src/engine/state';
import { Graph, SIM_TOKEN } from '../../src/graph/client';
import type { RunResult } from '../../src/reconcile/result';
import { runCampaign } from '../../src/reconcile/run';
import { FakeClock } from '../../src/sim/clock';
import { generateTenant } from '../../src/sim/generate';
import { Prng } from '../../src/sim/prng';
import { startEmulator } from '../../src/sim/server';
import { FileStore } from '../../src/ledger/file/store';

export const DEMO_START = '2026-12-01T06:00:00.000Z';
const DAY = 86_400_000;
const CURRENT_OS: Record<string, string> = { windows: '10.0.26100.2314', ios: '18.1.1', ipados: '18.1.1', iphone: '18.1.1', macos: '15.1', macmdm: '15.1', 'mac os x': '15.1', android: '15.0', androidforwork: '15.0' };
const AUTHENTICATOR = { aaGuid: '90a3ccdf-635c-4729-a248-9b709135078f', model: 'Microsoft Authenticator - iOS', displayName: 'Microsoft Authenticator' };

export interface DemoLedgerOptions {
  /** State directory for the FileStore. */
  dir: string;
  /** Targeted admins. */
  admins: number;
  days: number;
  seed: number;
  /** Day (0-based) on which one enforced user loses every passkey (an EnforcedWithoutPasskey alert). */
  passkeyLossDay?: number;
}

export interface DemoLedger {
  campaign: Campaign;
  store: FileStore;
  runs: RunResult[];
  /** The last run's time. */
  lastRunAt: Date;
}

export function exampleCampaign(): Campaign {
  const file = path.resolve(__dirname, '..', 'fixtures', 'campaigns', 'admins-passkeys.yaml');
  const loaded = loadCampaignFile(path.relative(process.cwd(), file));
  if (!loaded.campaign) throw new Error(`${file} is invalid: ${JSON.stringify(loaded.errors)}`);
  loaded.campaign.spec.status = 'inProgress';
  return loaded.campaign;
}

type Behaviour = 'prompt' | 'late' | 'postpones' | 'ignores';

export async function buildDemoLedger(opts: DemoLedgerOptions): Promise<DemoLedger> {
  const campaign = exampleCampaign();
  const name = campaign.metadata.name;
  const store = new FileStore({ dir: opts.dir });
  const start = new Date(DEMO_START);
  const rng = new Prng(`report-${opts.seed}`);
  const fixture = generateTenant({ users: opts.admins + 30, admins: opts.admins, seed: opts.seed, now: DEMO_START });
  const clock = new FakeClock(start);
  const emulator = await startEmulator({ tenant: fixture, port: 0, host: '127.0.0.1', token: SIM_TOKEN, clock });
  const graph = new Graph({ graphUrl: emulator.url, sleep: async (ms) => clock.advance(ms), now: () => clock.now() });

  const devices = new Map<string, Array<{ id: string; operatingSystem: string | null }>>();
  for (const d of fixture.devices ?? []) {
    for (const owner of d.registeredOwners ?? []) devices.set(owner, [...(devices.get(owner) ?? []), { id: d.id, operatingSystem: d.operatingSystem ?? null }]);
  }
  const methods = new Map<string, string[]>();
  for (const [userId, list] of Object.entries(fixture.fido2Methods ?? {})) methods.set(userId, list.map((m) => m.id));
  const behaviour = new Map<string, Behaviour>();
  const behaviourOf = (userId: string): Behaviour => {
    let b = behaviour.get(userId);
    if (!b) {
      const r = rng.next();
      b = r < 0.45 ? 'prompt' : r < 0.68 ? 'late' : r < 0.8 ? 'postpones' : 'ignores';
      behaviour.set(userId, b);
    }
    return b;
  };
  // userId:stage → the day the user acts
  const pending = new Map<string, number>();
  const patch = async (body: unknown) => {
    const res = await fetch(`${emulator.url}/_sim/tenant`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`PATCH /_sim/tenant: ${res.status} ${await res.text()}`);
  };

  const runs: RunResult[] = [];
  let at = start;
  try {
    for (let day = 0; day < opts.days; day++) {
      at = new Date(start.getTime() + day * DAY);
      clock.set(at);
      const devicePatch: Array<Record<string, unknown>> = [];
      const fido2Patch: Record<string, unknown[]> = {};
      for (const [key, due] of [...pending.entries()]) {
        if (due > day) continue;
        pending.delete(key);
        const [userId, stage] = key.split(':');
        if (stage === 'deviceUpdate') {
          for (const d of devices.get(userId) ?? []) {
            const current = CURRENT_OS[String(d.operatingSystem ?? '').toLowerCase()];
            if (current) devicePatch.push({ id: d.id, operatingSystemVersion: current, approximateLastSignInDateTime: at.toISOString() });
          }
        } else {
          const id = `report-${userId}`;
          fido2Patch[userId] = [{ id, ...AUTHENTICATOR, attestationLevel: 'attested', createdDateTime: at.toISOString() }];
          methods.set(userId, [...(methods.get(userId) ?? []), id]);
        }
      }
      const body: Record<string, unknown> = { devices: devicePatch, fido2Methods: fido2Patch };
      if (day === opts.passkeyLossDay) {
        // The first enforced user (in ledger order) deletes every passkey: the dashboard must show the alert.
        const state = foldLedger((await store.read(name)).events);
        const victim = Object.values(state.users).find((u) => inCampaign(u) && u.stage === 'enforced' && (methods.get(u.userId) ?? []).length > 0);
        if (victim) body.remove = { fido2Methods: { [victim.userId]: methods.get(victim.userId) } };
      }
      await patch(body);

      runs.push(await runCampaign({ campaign, graph, store, now: at, apply: true, runId: `day-${String(day + 1).padStart(3, '0')}` }));

      const state = foldLedger((await store.read(name)).events);
      for (const u of Object.values(state.users)) {
        if (!inCampaign(u) || (u.stage !== 'deviceUpdate' && u.stage !== 'passkeyRegistration')) continue;
        const key = `${u.userId}:${u.stage}`;
        if (pending.has(key)) continue;
        const b = behaviourOf(u.userId);
        if (b === 'ignores') {
          pending.set(key, Number.MAX_SAFE_INTEGER);
          continue;
        }
        if (b === 'postpones' && !u.exceededGrace) {
          const r = requestPostponement(campaign, state, u.userId, at.toISOString());
          if (r.ok) {
            await store.append(name, [r.event]);
            pending.set(key, day + campaign.spec.postponement.days + rng.int(0, 2));
            continue;
          }
        }
        const grace = campaign.spec.stages[u.stage].gracePeriodDays;
        pending.set(key, day + (b === 'prompt' ? rng.int(1, 3) : rng.int(Math.max(1, grace - 6), grace + 4)));
      }
    }
  } finally {
    await emulator.close();
  }
  return { campaign, store, runs, lastRunAt: at };
}

/** A checkout-like directory whose campaigns/admins-passkeys.yaml is the example, started: for CLI runs. */
export function writeStartedCampaign(cwd: string): string {
  const source = path.resolve(__dirname, '..', 'fixtures', 'campaigns', 'admins-passkeys.yaml');
  const text = fs.readFileSync(source, 'utf8').replace(/^  status: notStarted$/m, '  status: inProgress');
  if (!text.includes('status: inProgress')) throw new Error(`${source}: expected "  status: notStarted" to start the campaign`);
  fs.mkdirSync(path.join(cwd, 'campaigns'), { recursive: true });
  const file = path.join(cwd, 'campaigns', 'admins-passkeys.yaml');
  fs.writeFileSync(file, text);
  return file;
}
