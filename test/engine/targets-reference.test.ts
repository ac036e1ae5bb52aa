// resolveTargets (which reads the tenant in the form the observation is made of, ReadTenant) resolves what the
// resolution before it did (targets-reference.ts), on random snapshots: mixed-case ids and references, devices of
// several owners (twice the same, non-user owners, owners never read, more than 8 for one user), missing and null registration rows, groups
// that answered 404, scoped and eligible roles, FIDO2 include and exclude groups, exemptions recorded by the ledger,
// AAGUID restrictions. Same observation JSON, warnings, prerequisites, group members, exemption check and fido2Methods reads.
import { describe, expect, it } from 'vitest';
import type { Campaign } from '../../src/campaign/types';
import { foldExemptions } from '../../src/engine/exemptions';
import type { SnapshotDevice, SnapshotDirectoryObject, SnapshotRoleAssignment, SnapshotUser, TenantSnapshot } from '../../src/engine/snapshot';
import { fido2MethodReads, resolveTargets, type ResolvedTargets } from '../../src/engine/targets';
import type { LedgerEvent } from '../../src/ledger/events';
import { NOW, campaign as baseCampaign } from './fixtures';
import * as reference from './targets-reference';

const ROLE = '62e90394-69f5-4237-9190-012177145e10';
const OTHER_ROLE = '194ae4cb-b126-40b2-bd5b-6091b380977d';
const YUBIKEY = '2fc0579f-8113-47ea-b116-bb5a8db9202a';

function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const chance = (p: number) => next() < p;
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const some = <T>(xs: readonly T[], p: number): T[] => xs.filter(() => chance(p));
  return { int, chance, pick, some };
}

function scenario(seed: number): { campaign: Campaign; snapshot: TenantSnapshot; events: LedgerEvent[] } {
  const r = prng(seed);
  const n = 1 + r.int(30);
  const users: SnapshotUser[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.chance(0.15) ? `U-${i}-X` : `u-${i}-x`;
    const upn = r.chance(0.2) ? `User.${i}@Contoso.com` : `user.${i}@contoso.com`;
    users.push({ id, userPrincipalName: upn, displayName: r.chance(0.1) ? null : `User ${i}`, accountEnabled: r.pick([true, true, true, false, null, undefined]), mail: r.pick([upn, upn, null, `other.${i}@contoso.com`]) });
  }
  // A reference to a user, as a campaign or Graph may spell it: the id or UPN in either case, or one not read.
  const ref = (): string => {
    if (r.chance(0.15)) return `missing-${r.int(5)}@contoso.com`;
    const u = r.pick(users);
    const s = r.chance(0.5) ? u.id : u.userPrincipalName;
    return r.chance(0.3) ? s.toUpperCase() : s;
  };
  const object = (): SnapshotDirectoryObject => {
    const x = r.int(10);
    if (x === 0) return { id: `g-${r.int(4)}`, '@odata.type': '#microsoft.graph.group' };
    if (x === 1) return { id: `u-missing-${r.int(3)}`, '@odata.type': '#microsoft.graph.user' };
    const u = r.pick(users);
    const id = r.chance(0.1) ? u.id.toUpperCase() : u.id;
    return r.chance(0.3) ? { id } : { id, '@odata.type': '#microsoft.graph.user' };
  };
  const groups = ['g-0', 'g-1', 'g-2', 'g-3'];
  const transitiveMembers: Record<string, SnapshotDirectoryObject[] | null> = {};
  for (const g of groups) transitiveMembers[g] = r.chance(0.15) ? null : Array.from({ length: r.int(n + 3) }, object);
  const devices: SnapshotDevice[] = [];
  // Sometimes an account that enrolls devices for others: an owner of about half of them.
  const enrolls = r.chance(0.3) ? r.pick(users) : null;
  for (let i = r.int(2 * n + 2) + (enrolls ? 16 : 0); i > 0; i--) {
    const owners = r.chance(0.1) ? r.pick([undefined, null]) : Array.from({ length: r.int(4) }, object);
    if (owners && enrolls && r.chance(0.5)) owners.splice(r.int(owners.length + 1), 0, { id: enrolls.id });
    devices.push({
      id: `d-${devices.length}`,
      displayName: r.chance(0.1) ? null : r.pick(['LAPTOP-1', 'iPhone', `PC-${devices.length}`]),
      operatingSystem: r.chance(0.1) ? null : r.pick(['Windows', 'iOS', 'MacMDM', 'AndroidForWork']),
      operatingSystemVersion: r.chance(0.1) ? undefined : r.pick(['10.0.22631.4169', '17.5', '13.1', '14']),
      approximateLastSignInDateTime: r.chance(0.1) ? null : `2026-11-${10 + r.int(18)}T08:00:00Z`,
      accountEnabled: r.pick([true, true, false, null]),
      ...(owners === undefined ? {} : { registeredOwners: owners }),
    });
  }
  const methods = [['microsoftAuthenticatorPush'], ['passKeyDeviceBound', 'microsoftAuthenticatorPush'], ['passKeyDeviceBoundAuthenticator'], [], null];
  const registrationDetails = [];
  for (const u of users) {
    if (r.chance(0.15)) continue;
    registrationDetails.push({ id: r.chance(0.1) ? u.id.toUpperCase() : u.id, methodsRegistered: r.pick(methods) });
    if (r.chance(0.05)) registrationDetails.push({ id: u.id, methodsRegistered: r.pick(methods) });
  }
  registrationDetails.push({ id: 'u-never-read', methodsRegistered: ['passKeyDeviceBound'] });
  const assignment = (i: number): SnapshotRoleAssignment => ({
    id: `ra-${i}`,
    principalId: r.chance(0.3) ? r.pick(groups) : r.chance(0.1) ? 'sp-1' : r.pick(users).id,
    roleDefinitionId: r.chance(0.8) ? ROLE : OTHER_ROLE,
    directoryScopeId: r.pick(['/', '/', '/', '/administrativeUnits/au-1', null]),
  });
  const enforced = r.chance(0.9);
  const aaGuids = r.chance(0.4);
  const snapshot: TenantSnapshot = {
    enforcementGroup: enforced ? { id: 'g-enforced', displayName: 'enforced' } : null,
    enforcementGroupMembers: Array.from({ length: r.int(n) }, object),
    users,
    roleAssignments: Array.from({ length: r.int(8) }, (_, i) => assignment(i)),
    roleEligibilities: Array.from({ length: r.int(4) }, (_, i) => assignment(100 + i)),
    devices,
    registrationDetails,
    fido2Policy: r.chance(0.1)
      ? null
      : {
          state: r.chance(0.9) ? 'enabled' : 'disabled',
          isSelfServiceRegistrationAllowed: r.chance(0.9),
          keyRestrictions: { isEnforced: aaGuids, enforcementType: 'allow', aaGuids: [YUBIKEY] },
          includeTargets: r.chance(0.6) ? [{ id: 'all_users', targetType: 'group' }] : r.some(groups, 0.5).map((id) => ({ id, targetType: 'group' as const })),
          excludeTargets: r.some([...groups, 'g-gone'], 0.2).map((id) => ({ id, targetType: 'group' as const })),
        },
    transitiveMembers,
    fido2Methods: {},
    readErrors: [],
  };
  if (r.chance(0.2)) transitiveMembers['g-gone'] = null;
  for (const u of users) if (r.chance(0.5)) snapshot.fido2Methods[u.id] = r.chance(0.8) ? { ok: true, methods: [{ id: `m-${u.id}`, aaGuid: YUBIKEY.toUpperCase(), model: 'YubiKey 5' }] } : { ok: false, status: 500 };
  const c = baseCampaign();
  const campaign: Campaign = {
    ...c,
    spec: {
      ...c.spec,
      targets: { roles: r.chance(0.7) ? [ROLE] : [], includeEligible: r.chance(0.5), includeScopedRoleAssignments: r.chance(0.3), groups: r.some([...groups, 'G-1', 'g-gone'], 0.4), users: Array.from({ length: r.int(4) }, ref) },
      exclusions: { breakGlass: Array.from({ length: r.int(3) }, ref), users: Array.from({ length: r.int(3) }, ref), groups: r.some(groups, 0.2), acknowledgeNoBreakGlass: true, retired: [] },
    },
  };
  const events: LedgerEvent[] = [];
  for (let i = r.int(3); i > 0; i--) {
    const u = r.pick(users);
    events.push({ v: 1, at: NOW, runId: 'r0', type: 'exemptionResolved', list: r.pick(['breakGlass', 'users'] as const), entry: r.chance(0.5) ? u.userPrincipalName : `gone-${i}@contoso.com`, objectId: u.id, userPrincipalName: u.userPrincipalName });
  }
  return { campaign, snapshot, events };
}

function comparable(t: ResolvedTargets) {
  return {
    observation: JSON.stringify(t.observation),
    group: t.group,
    groupMembers: [...t.groupMembers],
    warnings: t.warnings,
    prerequisites: t.prerequisites,
    exemptions: { ...t.exemptions, recordedExclusions: [...t.exemptions.recordedExclusions] },
    graduated: t.graduated && { group: t.graduated.group, members: [...t.graduated.members] },
  };
}

describe('resolveTargets: the resolution before ReadTenant, on random snapshots', () => {
  it('resolves the same targets, with and without release, and names the same fido2Methods reads', () => {
    let targeted = 0;
    let withDevices = 0;
    let withMany = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const { campaign, snapshot, events } = scenario(seed);
      const copy = () => JSON.parse(JSON.stringify(snapshot)) as TenantSnapshot;
      const ledger = () => foldExemptions(events);
      const want = comparable(reference.resolveTargets(campaign, copy(), NOW, ledger()));
      expect(comparable(resolveTargets(campaign, copy(), NOW, ledger())), `seed ${seed}`).toEqual(want);
      expect(comparable(resolveTargets(campaign, copy(), NOW, ledger(), { release: true })), `seed ${seed}, release`).toEqual(want);
      expect(fido2MethodReads(campaign, copy()), `seed ${seed}`).toEqual(reference.fido2MethodReads(campaign, copy()));
      const users = JSON.parse(want.observation).users as Array<{ devices: unknown[] }>;
      targeted += users.length;
      withDevices += users.filter((u) => u.devices.length > 1).length;
      withMany += users.filter((u) => u.devices.length > 8).length;
    }
    // The scenarios reach what they are for: targeted users, several with more than one device.
    expect(targeted).toBeGreaterThan(1000);
    expect(withDevices).toBeGreaterThan(100);
    // Past 8 devices a user's list grows in place while read and is trimmed when taken.
    expect(withMany).toBeGreaterThan(0);
  });
});
