// observeTargets resolves the tenant as it reads it: against the emulator, the same Graph requests in the same order,
// and the same resolved targets (observation JSON, warnings, group members, prerequisites, exemptions) as observe
// followed by resolveTargets, in the cases that take a different path through the reads.
import { afterEach, describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import { CA_STATE_ENABLED, caPolicyName, graduatedCaPolicyName, graduatedGroupName } from '../../src/contracts/names';
import { emptyExemptionLedger } from '../../src/engine/exemptions';
import { resolveTargets, type ResolvedTargets } from '../../src/engine/targets';
import { Graph, SIM_TOKEN, type GraphReader } from '../../src/graph/client';
import { observe, observeTargets, type ObserveOptions } from '../../src/observe/observe';
import { FakeClock } from '../../src/sim/clock';
import type { TenantFixture } from '../../src/sim/fixture';
import { generateTenant, SIM_IDS } from '../../src/sim/generate';
import { GraphError } from '../../src/graph/errors';
import { startEmulator, type Emulator } from '../../src/sim/server';

const START = '2026-12-01T06:00:00Z';
const YUBIKEY = '2fc0579f-8113-47ea-b116-bb5a8db9202a';
const GRADUATED = 'a9900000-0000-4000-8000-000000000001';
let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function campaignOf(file: string, mutate?: (c: Campaign) => void): Campaign {
  const c = loadCampaignFile(file).campaign!;
  c.spec.status = 'inProgress';
  mutate?.(c);
  return c;
}
const admins = (mutate?: (c: Campaign) => void) => campaignOf('test/fixtures/campaigns/admins-passkeys.yaml', mutate);
const allStaff = (mutate?: (c: Campaign) => void) => campaignOf('campaigns/all-staff-passkeys.yaml', mutate);

async function start(mutate?: (f: TenantFixture) => void) {
  const fixture = generateTenant({ users: 80, admins: 20, seed: 5, now: START });
  mutate?.(fixture);
  const clock = new FakeClock(START);
  emulator = await startEmulator({ tenant: fixture, port: 0, token: SIM_TOKEN, clock });
  const graph = new Graph({ graphUrl: emulator.url, token: async () => SIM_TOKEN, sleep: async (ms) => clock.advance(ms), now: () => clock.now(), retryBudgetMs: 10_000 });
  return { graph, fixture };
}

/** Every request path a reader is asked for, in order (the pages of a list are the client's: one entry per list). */
function recording(graph: GraphReader, fail: (path: string) => boolean = () => false): { reader: GraphReader; urls: string[] } {
  const urls: string[] = [];
  const reader: GraphReader = {
    baseUrl: graph.baseUrl,
    stats: graph.stats,
    concurrency: graph.concurrency,
    get: (path, opts) => (urls.push(`get ${path}`), graph.get(path, opts)),
    list: (path, opts = {}) => {
      urls.push(`list ${path} ${JSON.stringify({ ...opts, each: undefined })}`);
      return fail(path) ? Promise.reject(new GraphError(`GET ${path}: 500 InternalServerError`, 500, 'InternalServerError', 'GET', path, false)) : graph.list(path, opts);
    },
    batch: (requests) => (urls.push(...requests.map((r) => `batch ${r.url}`)), graph.batch(requests)),
  };
  return { reader, urls };
}

/** What a run uses of resolved targets, comparable: the observation as its snapshot JSON, sets as sorted lists. */
function comparable(r: ResolvedTargets) {
  return {
    observation: JSON.stringify(r.observation),
    group: r.group,
    groupMembers: [...r.groupMembers].sort(),
    warnings: r.warnings,
    prerequisites: r.prerequisites,
    exemptions: { ...r.exemptions, recordedExclusions: [...r.exemptions.recordedExclusions] },
    graduated: r.graduated ? { group: r.graduated.group, members: [...r.graduated.members].sort() } : undefined,
  };
}

/** observe + resolveTargets, then observeTargets, on the same tenant: requests and results. */
async function both(campaign: Campaign, opts: ObserveOptions = {}, mutate?: (f: TenantFixture) => void, fail?: (path: string) => boolean) {
  const { graph } = await start(mutate);
  const before = recording(graph, fail);
  const snapshot = await observe(before.reader, campaign, opts);
  const old = resolveTargets(campaign, snapshot, START, emptyExemptionLedger(), { release: true });
  const after = recording(graph, fail);
  const now = await observeTargets(after.reader, campaign, START, emptyExemptionLedger(), opts);
  return { before: { urls: before.urls, readErrors: snapshot.readErrors, targets: comparable(old) }, after: { urls: after.urls, readErrors: now.readErrors, targets: comparable(now.targets) }, old, now: now.targets };
}

describe('observeTargets: the reads and targets of observe then resolveTargets', () => {
  it('for a campaign of roles (active and eligible)', async () => {
    const r = await both(admins());
    expect(r.now.observation.users.length).toBeGreaterThan(10);
    expect(r.after).toEqual(r.before);
  });

  it('for a campaign of a group, with exclusions and a user targeted by UPN', async () => {
    const r = await both(allStaff((c) => {
      c.spec.exclusions.breakGlass = [SIM_IDS.breakGlass1];
      c.spec.exclusions.users = ['BG2@contoso.com'];
      c.spec.exclusions.groups = [SIM_IDS.allStaffGroup.replace(/1$/, '9')];
      c.spec.targets.users = ['someone.missing@contoso.com', SIM_IDS.breakGlass2];
    }), {}, (f) => {
      f.users!.find((u) => u.id === SIM_IDS.breakGlass2)!.userPrincipalName = 'bg2@contoso.com';
    });
    expect(r.now.warnings.map((w) => w.code)).toContain('TargetUserMissing');
    expect(r.now.exemptions.problems.length).toBeGreaterThan(0);
    expect(r.now.observation.users.length).toBeGreaterThan(50);
    expect(r.now.observation.excluded.length).toBeGreaterThan(0);
    expect(r.after).toEqual(r.before);
  });

  it('with AAGUID restrictions: the same fido2Methods reads, in the same order', async () => {
    const r = await both(admins(), {}, (f) => {
      const fido2 = f.authenticationMethodsPolicy!.authenticationMethodConfigurations!.find((c) => c.id === 'Fido2')!;
      fido2.keyRestrictions = { isEnforced: true, enforcementType: 'allow', aaGuids: [YUBIKEY] };
    });
    expect(r.after.urls.filter((u) => u.includes('fido2Methods')).length).toBeGreaterThan(0);
    expect(r.now.observation.users.some((u) => u.fido2Methods !== null)).toBe(true);
    expect(r.after).toEqual(r.before);
  });

  it('with a device whose owners reach the $expand limit: each owner holds it where it was read', async () => {
    const r = await both(allStaff(), {}, (f) => {
      // Owners who have devices read before and after it, so its place among theirs shows.
      const middle = Math.floor(f.devices!.length / 2);
      f.devices![middle]!.registeredOwners = f.users!.slice(0, 25).map((u) => u.id);
      f.devices![middle + 3]!.registeredOwners = f.users!.slice(10, 40).map((u) => u.id);
    });
    expect(r.after.urls.filter((u) => u.includes('/registeredOwners')).length).toBe(2);
    const holders = r.now.observation.users.filter((u) => u.devices.length >= 3);
    expect(holders.length).toBeGreaterThan(0);
    expect(r.after).toEqual(r.before);
  });

  it('with the caller\'s users known: shares their ids and UPNs and resolves the same', async () => {
    const known = new Map<string, { userId: string; userPrincipalName: string }>();
    const r = await both(allStaff(), { knownUser: (id) => known.get(id) }, (f) => {
      for (const u of f.users!.slice(0, 30)) known.set(u.id, { userId: `${u.id}`, userPrincipalName: `${u.userPrincipalName}` });
    });
    expect(r.after).toEqual(r.before);
    const shared = r.now.observation.users.filter((u) => known.get(u.userId)?.userId === u.userId);
    expect(shared.length).toBeGreaterThan(0);
    for (const u of shared) {
      expect(Object.is(u.userId, known.get(u.userId)!.userId)).toBe(true);
    }
  });

  it('for a graduated campaign: the graduated group, policies and sign-ins read alike', async () => {
    const r = await both(admins((c) => {
      c.spec.enforcement.mode = 'graduated';
    }), { graduation: { now: START } }, (f) => {
      // Deployed in graduated mode: the second group (two enforced admins in it) and its enabled policy.
      const enforced = f.groups!.find((g) => g.id === SIM_IDS.adminsEnforcedGroup)!;
      const admins = f.users!.filter((u) => u.id !== SIM_IDS.breakGlass1 && u.id !== SIM_IDS.breakGlass2 && (f.fido2Methods?.[u.id] ?? []).length > 0).slice(0, 3);
      enforced.members = admins.map((u) => u.id);
      f.groups!.push({ ...structuredClone(enforced), id: GRADUATED, displayName: graduatedGroupName('admins-passkeys'), mailNickname: 'graduated', members: admins.slice(0, 2).map((u) => u.id) });
      const policy = structuredClone(f.conditionalAccessPolicies!.find((p) => p.displayName === caPolicyName('admins-passkeys'))!);
      policy.id = 'ca000000-0000-4000-8000-0000000000f0';
      policy.displayName = graduatedCaPolicyName('admins-passkeys');
      policy.state = CA_STATE_ENABLED;
      policy.conditions!.users!.includeGroups = [GRADUATED];
      f.conditionalAccessPolicies!.push(policy);
    });
    expect(r.now.graduated!.members.size).toBe(2);
    expect(r.now.observation.readErrors).toEqual([]);
    expect(r.now.graduated).toBeDefined();
    expect(r.after.urls.some((u) => u.includes('/conditionalAccess/policies'))).toBe(true);
    expect(r.after).toEqual(r.before);
  });

  it('with the enforcement group missing (plan) and with a campaign-level read error', async () => {
    const missing = await both(admins(), { allowMissingGroup: true }, (f) => {
      f.groups = f.groups!.filter((g) => !g.displayName?.startsWith('passkey-campaign-'));
    });
    expect(missing.now.warnings.map((w) => w.code)).toContain('EnforcementGroupMissing');
    expect(missing.after).toEqual(missing.before);
    await emulator!.close();
    emulator = undefined;
    const failed = await both(admins(), {}, undefined, (path) => path === '/devices');
    expect(failed.now.observation.readErrors.length).toBe(1);
    expect(failed.after).toEqual(failed.before);
  });
});
