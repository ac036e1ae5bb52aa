// `campaign demo`: a generated tenant in the in-process emulator, the example admin campaign
// started, one reconcile per simulated day, and simulated users who act on their notifications
// the way real ones do: some at once, some late, some postpone, some never.
import type { Campaign } from '../../campaign/types';
import { RuntimeError } from '../../errors';
import { gatherImpact } from '../../impact/gather';
import { buildImpactReport, IMPACT_SNAPSHOT, type ImpactReport } from '../../impact/report';
import { requestPostponement } from '../../engine/postpone';
import { foldLedger } from '../../engine/state';
import { Graph, SIM_TOKEN } from '../../graph/client';
import type { RunResult } from '../../reconcile/result';
import { runCampaign, type RunOptions } from '../../reconcile/run';
import type { LedgerStore } from '../../ledger/store';
import { FakeClock } from '../../sim/clock';
import type { TenantFixture } from '../../sim/fixture';
import { generateTenant, graduatedResources, SIM_APP, SIM_IDS } from '../../sim/generate';
import type { ClientAppUsed, SignInMethod } from '../../sim/sign-ins';
import { requiredGraphRoles } from '../../campaign/graph-roles';
import { MFA_CAPABLE_METHODS } from '../../engine/onboarding';
import { Prng } from '../../sim/prng';
import { startEmulator, type Emulator } from '../../sim/server';

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
  /** The campaign file the runs follow (campaign/identity.ts), recorded in every runStarted; omitted: not recorded. */
  source?: RunOptions['source'];
  /** Called once the emulator is up (a test reads what it received, such as the mail to the managers). */
  onEmulator?: (emulator: Emulator) => void;
  /** Called after each simulated day's run. */
  onDay?: (day: number, at: Date, run: RunResult, acted: DayActions) => void;
}

export interface DayActions {
  updatedDevices: number;
  registeredPasskeys: number;
  postponed: number;
}

/** Onboarding passes (spec.onboarding.temporaryAccessPass with manager delivery), all days together. */
export interface DemoOnboarding {
  /** Passes the job issued (onboardingPassIssued in the ledger). */
  issued: number;
  /** Passes a simulated user signed in with (told by their manager), then registered a passkey. */
  used: number;
}

export interface DemoResult {
  runs: RunResult[];
  behaviours: Record<Behaviour, number>;
  graphRequests: number;
  throttled: number;
  /** Sign-ins the simulated users made (POST /_sim/sign-ins), all days together. */
  signIns: number;
  /** The emulator's tenant, as the last run saw it. */
  fixture: TenantFixture;
  onboarding: DemoOnboarding;
  /** campaign impact after the last run (recorded in the state), or why it was not measured. */
  impact: { report: ImpactReport } | { skipped: string };
}

const DAY = 86_400_000;
// Versions a user lands on after "updating"; all at or above the default minimums.
const CURRENT_OS: Record<string, string> = { windows: '10.0.26100.2314', ios: '18.1.1', ipados: '18.1.1', iphone: '18.1.1', macos: '15.1', macmdm: '15.1', 'mac os x': '15.1', android: '15.0', androidforwork: '15.0' };
const AUTHENTICATOR = { aaGuid: '90a3ccdf-635c-4729-a248-9b709135078f', model: 'Microsoft Authenticator - iOS', displayName: 'Microsoft Authenticator' };

interface Pending {
  userId: string;
  action: 'updateDevices' | 'registerPasskey' | 'useOnboardingPass';
  day: number;
  /** useOnboardingPass: when the pass the manager passed on is valid (its ledger event's startDateTime and expiresAt). */
  pass?: { from: number; until: number };
}

/** methodsRegistered values that let a user sign in strongly and so register a passkey on their own (engine/onboarding.ts). */
const canRegisterAlone = (methods: readonly string[] | null | undefined) => (methods ?? []).some((m) => MFA_CAPABLE.has(m.toLowerCase()));
const MFA_CAPABLE: ReadonlySet<string> = new Set(MFA_CAPABLE_METHODS.map((m) => m.toLowerCase()));

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { campaign, store, days } = opts;
  const rng = new Prng(opts.seed);
  // Onboarding draws from a stream of its own, so a campaign with and without it meets the same users.
  const onboardingRng = new Prng(`${opts.seed}:onboarding`);
  // A tenant as Graph documents it: the identity holds exactly what the Pulumi program grants for this campaign
  // (group writes by permission: the emulator does not model ownership), and Teams notices need the org
  // catalog's app, which the job installs for each recipient before notifying them.
  const fixture = generateTenant({ users: opts.users + Math.max(50, Math.ceil(opts.users / 2)) + 2, admins: opts.users, seed: opts.seed, now: opts.start.toISOString(), prerequisites: true });
  fixture.application = { appId: SIM_APP.clientId, appRoles: demoGraphRoles(campaign) };
  // A graduated campaign's stack also creates the graduated group and its enabled policy.
  const graduated = campaign.spec.enforcement.mode === 'graduated' ? graduatedResources(fixture, campaign.metadata.name) : null;
  if (graduated) {
    fixture.groups = [...(fixture.groups ?? []), graduated.group];
    fixture.conditionalAccessPolicies = [...(fixture.conditionalAccessPolicies ?? []), graduated.policy];
  }
  const clock = new FakeClock(opts.start);
  const emulator = await startEmulator({ tenant: fixture, port: 0, host: '127.0.0.1', token: SIM_TOKEN, clock });
  // The client waits on the simulated clock too, so Retry-After costs no real time.
  opts.onEmulator?.(emulator);
  const graph = new Graph({ graphUrl: emulator.url, sleep: async (ms) => clock.advance(ms), now: () => clock.now() });
  const behaviour = new Map<string, Behaviour>();
  const counts: Record<Behaviour, number> = { prompt: 0, late: 0, postpones: 0, ignores: 0 };
  const pending: Pending[] = [];
  const runs: RunResult[] = [];
  let seenNotifications = 0;
  let seenEvents = 0;
  let passesIssued = 0;
  let passesUsed = 0;
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

  const signIns = new SignInHabits(opts.seed, fixture);
  let signedIn = 0;

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
      const passSignIns: Array<{ userId: string; at: string }> = [];
      for (const p of due) {
        if (p.action === 'useOnboardingPass') {
          // Told by their manager, the user signs in with the pass at aka.ms/mysecurityinfo sometime while it is valid
          // (the emulator refuses a pass that is not usable then) and registers a passkey right after.
          const span = Math.max(1, Math.floor((p.pass!.until - p.pass!.from) / 60_000) - 30);
          passSignIns.push({ userId: p.userId, at: new Date(p.pass!.from + onboardingRng.int(10, span) * 60_000).toISOString() });
        } else if (p.action === 'updateDevices') {
          for (const d of devicesByOwner.get(p.userId) ?? []) {
            const current = CURRENT_OS[String(d.operatingSystem ?? '').toLowerCase()];
            if (current) devicePatch.push({ id: d.id, operatingSystemVersion: current, approximateLastSignInDateTime: at.toISOString() });
          }
          acted.updatedDevices++;
        } else if (canRegisterAlone(emulator.state.tenant.registrationDetails.get(p.userId)?.methodsRegistered)) {
          fido2Patch[p.userId] = [{ id: `demo-${p.userId}`, ...AUTHENTICATOR, attestationLevel: 'attested', createdDateTime: at.toISOString() }];
          acted.registeredPasskeys++;
        }
        // A user with no method that can satisfy MFA cannot register a passkey on their own (registering one needs a
        // recent strong sign-in): they try, fail, and stay where they are until someone gives them a pass.
      }
      for (const s of passSignIns) {
        const res = await fetch(`${emulator.url}/_sim/sign-ins`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Prefer: 'return=minimal' },
          body: JSON.stringify({ signIns: [{ userId: s.userId, at: s.at, app: 'My Signins', clientApp: 'Browser', method: 'temporaryAccessPass' }] }),
        });
        if (!res.ok) continue; // the pass was no longer usable (replaced or expired): the user did not get in
        passesUsed++;
        fido2Patch[s.userId] = [{ id: `demo-${s.userId}`, ...AUTHENTICATOR, attestationLevel: 'attested', createdDateTime: new Date(Date.parse(s.at) + 5 * 60_000).toISOString() }];
        acted.registeredPasskeys++;
      }
      if (devicePatch.length || Object.keys(fido2Patch).length) await patch({ devices: devicePatch, fido2Methods: fido2Patch });

      // The day's sign-ins, before the run: Conditional Access evaluates them as the tenant stands (report-only
      // results for the enforced, enforced results for the graduated), so the run can read them from the logs.
      signedIn += await signIns.day(emulator.url, at, (userId) => emulator.state.tenant.fido2Methods(userId).length > 0,
        (userId) => graduated !== null && emulator.state.tenant.isMember(graduated.group.id, userId));

      const run = await runCampaign({ campaign, graph, store, now: at, apply: true, teamsAppId: SIM_APP.teamsAppId, source: opts.source, runId: `demo-day-${String(day + 1).padStart(3, '0')}` });
      runs.push(run);

      // Read the notifications this run delivered and schedule each user's reaction.
      const notes = emulator.state.notifications.slice(seenNotifications);
      seenNotifications = emulator.state.notifications.length;
      const { events } = await store.read(campaign.metadata.name);
      const state = foldLedger(events);
      // Passes the run issued: the manager, who got the mail with the pass, tells the user; most use it while it is valid.
      for (const e of events.slice(seenEvents)) {
        if (e.type !== 'onboardingPassIssued') continue;
        passesIssued++;
        const mailed = notes.some((n) => n.channel === 'email' && n.userId === e.deliveredTo.managerId && n.undeliverable === undefined);
        if (!mailed || !onboardingRng.chance(0.85)) continue;
        const from = Date.parse(e.startDateTime);
        pending.push({ userId: e.userId, action: 'useOnboardingPass', day: day + 1, pass: { from, until: Date.parse(e.expiresAt) } });
      }
      seenEvents = events.length;
      for (const n of notes) {
        const u = state.users[n.userId];
        if (!u || (u.stage !== 'deviceUpdate' && u.stage !== 'passkeyRegistration')) continue;
        const action = u.stage === 'deviceUpdate' ? 'updateDevices' : 'registerPasskey';
        if (pending.some((p) => p.userId === n.userId && (p.action === action || p.action === 'useOnboardingPass'))) continue;
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
    // The evidence a reviewer reads before enabling the policy: campaign impact over the last days, recorded in the
    // state for status and the dashboard. Its reads need the sign-in permissions, which the Pulumi program grants a
    // graduated campaign's identity only; for another campaign the demo says so instead.
    const impact = await measureImpact(graph, campaign, store, new Date(opts.start.getTime() + (days - 1) * DAY));
    const requests = emulator.state.requests();
    return { runs, behaviours: counts, graphRequests: requests.total, throttled: requests.throttled, signIns: signedIn, fixture, impact, onboarding: { issued: passesIssued, used: passesUsed } };
  } finally {
    await emulator.close();
  }
}

/**
 * What the Pulumi program grants the campaign's identity (campaign/graph-roles.ts). With onboarding passes mailed to
 * managers it also holds UserAuthenticationMethod.ReadWrite.All (to create passes) and Mail.Send (the mail to the
 * manager), added here for a campaign file whose roles do not list them yet.
 */
function demoGraphRoles(campaign: Campaign): string[] {
  const roles = new Set<string>(requiredGraphRoles([campaign], { groupMemberWrite: true }));
  const tap = campaign.spec.onboarding?.temporaryAccessPass;
  if (tap?.enabled && tap.deliverTo === 'manager') {
    roles.add('UserAuthenticationMethod.ReadWrite.All');
    roles.add('Mail.Send');
  }
  return [...roles];
}

// Applications people open in a day, by weight; a legacy client always reaches Exchange Online.
const DAY_APPS: Array<[string, number]> = [
  ['Microsoft Office', 30],
  ['Microsoft Teams', 35],
  ['Office 365 Exchange Online', 20],
  ['Office 365 SharePoint Online', 15],
];
const LEGACY: Array<[ClientAppUsed, number]> = [
  ['IMAP4', 40],
  ['Exchange ActiveSync', 35],
  ['Authenticated SMTP', 25],
];

/**
 * How the simulated users sign in, seeded apart from the rest of the demo (so adding sign-ins changes no other
 * outcome): each enabled user signs in on about two days in three, sometime in the 20 hours before the day's run;
 * a user with a passkey mostly uses it, the others password and MFA or a password; one in twenty-five also has an
 * old mail client or device on a legacy protocol, which signs in with a password and would be blocked. The
 * break-glass accounts sign in about once a week, with their security keys.
 */
export class SignInHabits {
  private readonly rng: Prng;
  private readonly users: Array<{ id: string; legacy: ClientAppUsed | null; breakGlass: boolean; mfa: boolean }> = [];

  constructor(seed: number, fixture: TenantFixture) {
    this.rng = new Prng(`${seed}:sign-ins`);
    const mfa = new Set((fixture.userRegistrationDetails ?? []).filter((d) => d.isMfaRegistered).map((d) => d.id));
    for (const u of fixture.users ?? []) {
      if (u.accountEnabled === false) continue;
      const breakGlass = u.id === SIM_IDS.breakGlass1 || u.id === SIM_IDS.breakGlass2;
      // A user's old mail client or device keeps its one protocol.
      this.users.push({ id: u.id, legacy: !breakGlass && this.rng.chance(0.04) ? this.rng.weighted(LEGACY) : null, breakGlass, mfa: mfa.has(u.id) });
    }
  }

  /** Records the sign-ins of the day that ends at `at`; returns how many. */
  async day(url: string, at: Date, hasPasskey: (userId: string) => boolean, enforcedByPolicy: (userId: string) => boolean = () => false): Promise<number> {
    const rng = this.rng;
    const batch: Array<{ userId: string; at: string; app: string; clientApp: ClientAppUsed; method: SignInMethod }> = [];
    for (const u of this.users) {
      if (!rng.chance(u.breakGlass ? 1 / 7 : 2 / 3)) continue;
      const when = new Date(at.getTime() - rng.int(60, 20 * 60) * 60_000).toISOString();
      const passkey = hasPasskey(u.id);
      if (u.legacy && rng.chance(0.5)) {
        batch.push({ userId: u.id, at: when, app: 'Office 365 Exchange Online', clientApp: u.legacy, method: 'password' });
        continue;
      }
      // Under an enabled policy a passkey holder who starts with a password is asked for the passkey and nearly
      // always goes on with it; elsewhere a passkey holder mostly picks it.
      const method: SignInMethod = passkey && rng.chance(enforcedByPolicy(u.id) ? 0.98 : 0.85) ? 'passkey' : u.mfa && rng.chance(0.75) ? 'passwordAndMfa' : 'password';
      batch.push({ userId: u.id, at: when, app: rng.weighted(DAY_APPS), clientApp: rng.chance(0.5) ? 'Browser' : 'Mobile Apps and Desktop clients', method });
    }
    for (let i = 0; i < batch.length; i += 5000) {
      const res = await fetch(`${url}/_sim/sign-ins`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Prefer: 'return=minimal' },
        body: JSON.stringify({ signIns: batch.slice(i, i + 5000) }),
      });
      if (!res.ok) throw new Error(`POST /_sim/sign-ins failed: ${res.status} ${await res.text()}`);
    }
    return batch.length;
  }
}

async function measureImpact(graph: Graph, campaign: Campaign, store: LedgerStore, now: Date): Promise<DemoResult['impact']> {
  try {
    const days = campaign.spec.enforcement.enableWhen.observedDays;
    const gathered = await gatherImpact(graph, campaign, { now, days });
    const report = buildImpactReport({ campaign, policy: gathered.policy, members: gathered.members, tally: gathered.tally, now, days, graduated: gathered.graduated });
    await store.writeSnapshot(campaign.metadata.name, IMPACT_SNAPSHOT, report);
    return { report };
  } catch (e) {
    if (e instanceof RuntimeError) return { skipped: e.message };
    throw e;
  }
}
