// What the observation resolveTargets returns holds per user: shared read-only arrays where users have nothing
// (and a read error never written into one of them), arrays of exactly their length, and a measured heap bound.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { Campaign } from '../../src/campaign/types';
import type { SnapshotDevice, SnapshotDirectoryObject, SnapshotUser, TenantSnapshot } from '../../src/engine/snapshot';
import { resolveTargets } from '../../src/engine/targets';
import { NOW, campaign as baseCampaign } from './fixtures';

const GROUP = 'g-everyone';
const YUBIKEY = '2fc0579f-8113-47ea-b116-bb5a8db9202a';

/** Targets one group of `n` users; user i has `devicesOf(i)` devices and a passkey when i is a multiple of 7. */
function tenant(n: number, devicesOf: (i: number) => number, o: Partial<TenantSnapshot> = {}): { campaign: Campaign; snapshot: TenantSnapshot } {
  const c = baseCampaign();
  const campaign: Campaign = { ...c, spec: { ...c.spec, targets: { ...c.spec.targets, roles: [], groups: [GROUP] }, exclusions: { ...c.spec.exclusions, breakGlass: [], acknowledgeNoBreakGlass: true } } };
  const users: SnapshotUser[] = [];
  const members: SnapshotDirectoryObject[] = [];
  const devices: SnapshotDevice[] = [];
  const push = ['microsoftAuthenticatorPush'];
  const passkey = ['microsoftAuthenticatorPush', 'passKeyDeviceBound'];
  const registrationDetails = [];
  for (let i = 0; i < n; i++) {
    const id = `u-${String(i).padStart(6, '0')}`;
    const upn = `user${i}@contoso.com`;
    users.push({ id, userPrincipalName: upn, displayName: `User ${i}`, accountEnabled: true, mail: upn });
    members.push({ id, '@odata.type': '#microsoft.graph.user' });
    registrationDetails.push({ id, methodsRegistered: i % 7 === 0 ? passkey : push });
    for (let d = 0; d < devicesOf(i); d++) {
      devices.push({ id: `d-${i}-${d}`, displayName: 'LAPTOP', operatingSystem: 'Windows', operatingSystemVersion: '10.0.22631', approximateLastSignInDateTime: '2026-11-20T08:00:00Z', accountEnabled: true, registeredOwners: [{ id }] });
    }
  }
  const snapshot: TenantSnapshot = {
    enforcementGroup: { id: 'g-enforced', displayName: 'enforced' },
    enforcementGroupMembers: [],
    users,
    roleAssignments: [],
    roleEligibilities: [],
    devices,
    registrationDetails,
    fido2Policy: { state: 'enabled', isSelfServiceRegistrationAllowed: true, keyRestrictions: { isEnforced: false, enforcementType: 'block', aaGuids: [] }, includeTargets: [{ id: 'all_users', targetType: 'group' }], excludeTargets: [] },
    transitiveMembers: { [GROUP]: members },
    fido2Methods: {},
    readErrors: [],
    ...o,
  };
  return { campaign, snapshot };
}

describe('the observation resolveTargets returns', () => {
  it('shares one frozen empty array of devices and of read errors among the users who have none', () => {
    const { campaign, snapshot } = tenant(20, (i) => (i % 2 ? 0 : 1));
    const users = resolveTargets(campaign, snapshot, NOW).observation.users;
    const without = users.filter((u) => u.devices.length === 0);
    expect(without.length).toBe(10);
    expect(new Set(without.map((u) => u.devices)).size).toBe(1);
    expect(Object.isFrozen(without[0]!.devices)).toBe(true);
    expect(new Set(users.map((u) => u.readErrors)).size).toBe(1);
    expect(Object.isFrozen(users[0]!.readErrors)).toBe(true);
    // Users with the same registered methods hold the snapshot's one list, not copies.
    expect(new Set(users.map((u) => u.methodsRegistered)).size).toBe(2);
  });

  it('gives a user with a read error an array of their own: the others keep none', () => {
    const { campaign, snapshot } = tenant(14, () => 1);
    snapshot.registrationDetails = snapshot.registrationDetails.filter((r) => r.id !== 'u-000003');
    snapshot.fido2Policy = { ...snapshot.fido2Policy!, keyRestrictions: { isEnforced: true, enforcementType: 'allow', aaGuids: [YUBIKEY] } };
    // u-000000 holds a passkey and its fido2Methods read failed; u-000007's was read.
    snapshot.fido2Methods = { 'u-000000': { ok: false, status: 500 }, 'u-000007': { ok: true, methods: [{ id: 'm-1', aaGuid: YUBIKEY }] } };
    const users = resolveTargets(campaign, snapshot, NOW).observation.users;
    const byId = new Map(users.map((u) => [u.userId, u]));
    expect(byId.get('u-000000')!.readErrors).toEqual(['fido2Methods read failed (500)']);
    expect(byId.get('u-000003')!.readErrors).toHaveLength(1);
    expect(byId.get('u-000003')!.methodsRegistered).toEqual([]);
    expect(byId.get('u-000007')!.readErrors).toEqual([]);
    expect(users.filter((u) => u.readErrors.length > 0).map((u) => u.userId).sort()).toEqual(['u-000000', 'u-000003']);
    // Resolving the same snapshot again finds the shared arrays still empty.
    const again = resolveTargets(campaign, snapshot, NOW).observation.users;
    expect(again.filter((u) => u.readErrors.length > 0).map((u) => u.userId).sort()).toEqual(['u-000000', 'u-000003']);
  });

  it('keeps each user\'s devices in an array of their number: a device list is the same with one or several owners', () => {
    const { campaign, snapshot } = tenant(3, (i) => i + 1);
    snapshot.devices[0]!.registeredOwners = [{ id: 'u-000000' }, { id: 'u-000002' }];
    const users = resolveTargets(campaign, snapshot, NOW).observation.users;
    expect(users.map((u) => u.devices.map((d) => d.id))).toEqual([['d-0-0'], ['d-1-0', 'd-1-1'], ['d-0-0', 'd-2-0', 'd-2-1', 'd-2-2']]);
    expect(users[0]!.devices[0]).toBe(users[2]!.devices[0]);
  });

  it('with release, empties the snapshot\'s bulk collections as it reads them and resolves the same observation', () => {
    const { campaign, snapshot } = tenant(40, (i) => i % 3);
    snapshot.enforcementGroupMembers = [{ id: 'u-000001' }, { id: 'u-000005' }];
    const kept = resolveTargets(campaign, snapshot, NOW);
    const released = resolveTargets(campaign, snapshot, NOW, undefined, { release: true });
    expect(JSON.stringify(released.observation)).toBe(JSON.stringify(kept.observation));
    expect(released.groupMembers).toEqual(kept.groupMembers);
    expect(released.warnings).toEqual(kept.warnings);
    expect(released.prerequisites).toEqual(kept.prerequisites);
    expect([snapshot.users, snapshot.devices, snapshot.registrationDetails, snapshot.enforcementGroupMembers]).toEqual([[], [], [], []]);
    expect(snapshot.transitiveMembers).toEqual({});
    expect(snapshot.readErrors).toEqual([]);
  });

  it('with release, a caller still holding the snapshot holds less than 560 bytes per user with two devices', () => {
    const heap = measure();
    resolveTargets(tenant(50, () => 2).campaign, flat(tenant(50, () => 2).snapshot), NOW, undefined, { release: true });
    const n = 50_000;
    const base = heap();
    const { campaign, snapshot } = flatTenant(n);
    const observation = resolveTargets(campaign, snapshot, NOW, undefined, { release: true }).observation;
    const perUser = (heap() - base) / n;
    expect(observation.users).toHaveLength(n);
    expect(snapshot.readErrors).toEqual([]);
    // Measured: about 490 bytes per user, as without the snapshot; about 1000 when the tenant as read is kept whole.
    expect(perUser).toBeLessThan(560);
  });

  it('holds less than 560 bytes of heap per user with two devices once the snapshot is dropped', () => {
    const heap = measure();
    // Warm: the code compiled and its caches filled before the heap is measured.
    resolveTargets(tenant(50, () => 2).campaign, tenant(50, () => 2).snapshot, NOW);
    const n = 50_000;
    const base = heap();
    const observation = observed(n);
    // What stays: the users, their devices and arrays, and the strings they hold (ids, names, UPNs).
    const perUser = (heap() - base) / n;
    expect(observation.users).toHaveLength(n);
    // Measured: about 490 bytes per user (the user, 2 devices, their array, the user's strings); about 650 with an
    // array grown by push for each user's devices and an empty array of read errors of each user's own.
    expect(perUser).toBeLessThan(560);
  });
});

/** The snapshot as observe makes it of Graph's JSON: flat strings, one copy of each, one list per distinct methodsRegistered. */
function flat(s: TenantSnapshot): TenantSnapshot {
  const strings = new Map<string, string>();
  const copy = JSON.parse(JSON.stringify(s), (_k, v: unknown) => {
    if (typeof v !== 'string') return v;
    if (!strings.has(v)) strings.set(v, v);
    return strings.get(v);
  }) as TenantSnapshot;
  const lists = new Map<string, string[]>();
  for (const r of copy.registrationDetails) {
    const key = JSON.stringify(r.methodsRegistered);
    if (!lists.has(key)) lists.set(key, r.methodsRegistered!);
    r.methodsRegistered = lists.get(key)!;
  }
  return copy;
}

/** The observation of a tenant of `n` users with two devices each, built and resolved in a frame of its own (its
 * temporaries, the snapshot among them, are gone once it returns). */
function observed(n: number) {
  const { campaign, snapshot } = tenant(n, () => 2);
  // Flat strings, as Graph's JSON gives them (a concatenation is a rope that holds its parts).
  return resolveTargets(campaign, flat(snapshot), NOW).observation;
}

/** A tenant of `n` users with two devices each, its snapshot as observe makes it (built in a frame of its own). */
function flatTenant(n: number): ReturnType<typeof tenant> {
  const { campaign, snapshot } = tenant(n, () => 2);
  return { campaign, snapshot: flat(snapshot) };
}

/** The heap in use after full collections (the collector reached without --expose-gc). */
function measure(): () => number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
}
