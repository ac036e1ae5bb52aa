// `campaign demo`: a generated tenant in the in-process emulator, the example admin campaign
// started, one reconcile per simulated day, and simulated users who act on their notifications
// the way real ones do: some at once, some late, some postpone, some never.
import type { Campaign } from '../../campaign/types';
import { requestPostponement } from '../../engine/postpone';
import { foldLedger } from '../../engine/state';
import { Graph, SIM_TOKEN } from '../../graph/client';
import type { RunResult } from '../../reconcile/result';
import { runCampaign } from '../../reconcile/run';
import type { LedgerStore } from '../../ledger/store';
import { FakeClock } from '../../sim/clock';
import type { TenantFixture } from '../../sim/fixture';
import { generateTenant, SIM_APP } from '../../sim/generate';
import { requiredGraphRoles } from '../../campaign/graph-roles';
import { Prng } from '../../sim/prng';
import { startEmulator } from '../../sim/server';

export type Behaviour = 'prompt' | 'late' | 'postpones' | 'ignores';

export interface DemoOptions {
  campaign: Campaign;
  store: LedgerStore;
  /** Targeted admins; the tenant also holds regular staff and the two break-glass accounts. */
  users: number;
  days: number;
  seed: number;
  /** First run (06:00 UTC of the first day). */
  start: Date;
  /** Called after each simulated day's run. */
  onDay?: (day: number, at: Date, run: RunResult, acted: DayActions) => void;
}

export interface DayActions {
  updatedDevices: number;
  registeredPasskeys: number;
  postponed: number;
}

export interface DemoResult {
  runs: RunResult[];
  behaviours: Record<Behaviour, number>;
  graphRequests: number;
  throttled: number;
  /** The emulator's tenant, as the last run saw it. */
  fixture: TenantFixture;
}

const DAY = 86_400_000;
// Versions a user lands on after "updating"; all at or above the default minimums.
const CURRENT_OS: Record<string, string> = { windows: '10.0.26100.2314', ios: '18.1.1', ipados: '18.1.1', iphone: '18.1.1', macos: '15.1', macmdm: '15.1', 'mac os x': '15.1', android: '15.0', androidforwork: '15.0' };
const AUTHENTICATOR = { aaGuid: '90a3ccdf-635c-4729-a248-9b709135078f', model: 'Microsoft Authenticator - iOS', displayName: 'Microsoft Authenticator' };

interface Pending {
  userId: string;
  action: 'updateDevices' | 'registerPasskey';
  day: number;
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { campaign, store, days } = opts;
  const rng = new Prng(opts.seed);
  // A tenant as Graph documents it: the identity holds exactly what the Pulumi program grants for this campaign
  // (group writes by permission: the emulator does not model ownership), and Teams notices need the org
  // catalog's app, which the job installs for each recipient before notifying them.
  const fixture = generateTenant({ users: opts.users + Math.max(50, Math.ceil(opts.users / 2)) + 2, admins: opts.users, seed: opts.seed, now: opts.start.toISOString(), prerequisites: true });
  fixture.application = { appId: SIM_APP.clientId, appRoles: requiredGraphRoles([campaign], { groupMemberWrite: true }) };
  const clock = new FakeClock(opts.start);
  const emulator = await startEmulator({ tenant: fixture, port: 0, host: '127.0.0.1', token: SIM_TOKEN, clock });
  // The client waits on the simulated clock too, so Retry-After costs no real time.
  const graph = new Graph({ graphUrl: emulator.url, sleep: async (ms) => clock.advance(ms), now: () => clock.now() });
  const behaviour = new Map<string, Behaviour>();
  const counts: Record<Behaviour, number> = { prompt: 0, late: 0, postpones: 0, ignores: 0 };
  const pending: Pending[] = [];
  const runs: RunResult[] = [];
  let seenNotifications = 0;
  const devicesByOwner = new Map<string, Array<{ id: string; operatingSystem?: string | null }>>();
  for (const d of fixture.devices ?? []) {
    for (const owner of d.registeredOwners ?? []) devicesByOwner.set(owner, [...(devicesByOwner.get(owner) ?? []), { id: d.id, operatingSystem: d.operatingSystem }]);
  }

  const behaviourOf = (userId: string): Behaviour => {
    let b = behaviour.get(userId);
    if (!b) {
      const r = rng.next();
      b = r < 0.45 ? 'prompt' : r < 0.7 ? 'late' : r < 0.82 ? 'postpones' : 'ignores';
      behaviour.set(userId, b);
      counts[b]++;
    }
    return b;
  };

  const patch = async (body: unknown) => {
    const res = await fetch(`${emulator.url}/_sim/tenant`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`PATCH /_sim/tenant failed: ${res.status} ${await res.text()}`);
  };

  try {
    for (let day = 0; day < days; day++) {
      const at = new Date(opts.start.getTime() + day * DAY);
      clock.set(at);
      const acted: DayActions = { updatedDevices: 0, registeredPasskeys: 0, postponed: 0 };

      // Users act on what they were asked to do, on the day they chose.
      const due = pending.filter((p) => p.day <= day);
      for (const p of due) pending.splice(pending.indexOf(p), 1);
      const devicePatch: Array<Record<string, unknown>> = [];
      const fido2Patch: Record<string, unknown[]> = {};
      for (const p of due) {
        if (p.action === 'updateDevices') {
          for (const d of devicesByOwner.get(p.userId) ?? []) {
            const current = CURRENT_OS[String(d.operatingSystem ?? '').toLowerCase()];
            if (current) devicePatch.push({ id: d.id, operatingSystemVersion: current, approximateLastSignInDateTime: at.toISOString() });
          }
          acted.updatedDevices++;
        } else {
          fido2Patch[p.userId] = [{ id: `demo-${p.userId}`, ...AUTHENTICATOR, attestationLevel: 'attested', createdDateTime: at.toISOString() }];
          acted.registeredPasskeys++;
        }
      }
      if (devicePatch.length || Object.keys(fido2Patch).length) await patch({ devices: devicePatch, fido2Methods: fido2Patch });

      const run = await runCampaign({ campaign, graph, store, now: at, apply: true, teamsAppId: SIM_APP.teamsAppId, runId: `demo-day-${String(day + 1).padStart(3, '0')}` });
      runs.push(run);

      // Read the notifications this run delivered and schedule each user's reaction.
      const notes = emulator.state.notifications.slice(seenNotifications);
      seenNotifications = emulator.state.notifications.length;
      const state = foldLedger((await store.read(campaign.metadata.name)).events);
      for (const n of notes) {
        const u = state.users[n.userId];
        if (!u || (u.stage !== 'deviceUpdate' && u.stage !== 'passkeyRegistration')) continue;
        const action = u.stage === 'deviceUpdate' ? 'updateDevices' : 'registerPasskey';
        if (pending.some((p) => p.userId === n.userId && p.action === action)) continue;
        const b = behaviourOf(n.userId);
        if (b === 'ignores') continue;
        if (b === 'postpones' && u.postponedUntil === null && !u.exceededGrace) {
          const r = requestPostponement(campaign, state, n.userId, at.toISOString());
          if (r.ok) {
            await store.append(campaign.metadata.name, [r.event]);
            acted.postponed++;
            pending.push({ userId: n.userId, action, day: day + campaign.spec.postponement.days + rng.int(0, 2) });
            continue;
          }
        }
        const grace = campaign.spec.stages[u.stage].gracePeriodDays;
        const delay = b === 'prompt' ? rng.int(1, 3) : rng.int(Math.max(1, grace - 6), grace + 4);
        pending.push({ userId: n.userId, action, day: day + delay });
      }
      opts.onDay?.(day, at, run, acted);
    }
    const requests = emulator.state.requests();
    return { runs, behaviours: counts, graphRequests: requests.total, throttled: requests.throttled, fixture };
  } finally {
    await emulator.close();
  }
}
