import { afterEach, describe, expect, it } from 'vitest';
import { SUPPORTED_ROLE_TEMPLATE_IDS } from '../../src/campaign/roles';
import { SIM_IDS } from '../../src/sim/generate';
import { adminCampaign, DAY, harness, START, type Harness } from './harness';

// An oracle written independently of the engine: who should land where, from the fixture alone.
function oracle(h: Harness, opts: { includeEligible?: boolean } = {}) {
  const f = h.fixture;
  const roleIds = new Set(SUPPORTED_ROLE_TEMPLATE_IDS);
  const users = new Map((f.users ?? []).map((u) => [u.id, u]));
  const groups = new Map((f.groups ?? []).map((g) => [g.id, g.members ?? []]));
  const principals = [...(f.roleAssignments ?? []), ...(opts.includeEligible === false ? [] : f.roleEligibilityScheduleInstances ?? [])]
    .filter((a) => roleIds.has(a.roleDefinitionId!))
    .flatMap((a) => (users.has(a.principalId!) ? [a.principalId!] : groups.get(a.principalId!) ?? []));
  const breakGlass = new Set<string>([SIM_IDS.breakGlass1, SIM_IDS.breakGlass2]);
  const fido2Excluded = new Set(groups.get(SIM_IDS.fido2ExclusionGroup) ?? []);
  const targeted = [...new Set(principals)].filter((id) => !breakGlass.has(id) && users.get(id)!.accountEnabled !== false);
  // Disabled accounts are targeted too, and held where they are (never entered here, so they never enter).
  const disabled = [...new Set(principals)].filter((id) => !breakGlass.has(id) && users.get(id)!.accountEnabled === false);
  const min: Record<string, number[]> = { windows: [10, 0, 18362], ios: [17], macos: [13], android: [14] };
  const platform = (os: string) => {
    const o = os.toLowerCase().replace(/\s+/g, '');
    if (o.startsWith('windows')) return 'windows';
    if (['ios', 'iphone', 'ipad', 'ipados'].includes(o)) return 'ios';
    if (['macos', 'macmdm', 'macosx'].includes(o)) return 'macos';
    if (o.startsWith('android')) return 'android';
    return null;
  };
  const below = (v: string, m: number[]) => {
    const parts = (v.match(/^\d+(\.\d+)*/)?.[0] ?? '').split('.').map(Number);
    for (let i = 0; i < Math.max(parts.length, m.length); i++) {
      const a = parts[i] ?? 0;
      const b = m[i] ?? 0;
      if (a !== b) return a < b;
    }
    return false;
  };
  const passkeyMethods = ['passKeyDeviceBound', 'passKeyDeviceBoundAuthenticator', 'passKeyDeviceBoundWindowsHello', 'passKeySynced', 'fido2SecurityKey'];
  const out = { needsDevice: [] as string[], needsPasskey: [] as string[], ready: [] as string[], blocked: [] as string[], targeted, disabled };
  for (const id of targeted) {
    if (fido2Excluded.has(id)) {
      out.blocked.push(id);
      continue;
    }
    const devices = (f.devices ?? []).filter((d) => (d.registeredOwners ?? []).includes(id));
    const active = devices.filter((d) => d.accountEnabled !== false && d.approximateLastSignInDateTime && START.getTime() - Date.parse(d.approximateLastSignInDateTime) <= 365 * DAY);
    const outdated = active.some((d) => {
      const p = platform(d.operatingSystem ?? '');
      return p !== null && below(d.operatingSystemVersion ?? '', min[p]);
    });
    const reg = (f.userRegistrationDetails ?? []).find((r) => r.id === id);
    const hasPasskey = (reg?.methodsRegistered ?? []).some((m) => passkeyMethods.includes(m as string));
    if (outdated) out.needsDevice.push(id);
    else if (!hasPasskey) out.needsPasskey.push(id);
    else out.ready.push(id);
  }
  return out;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('reconcile against the Graph emulator, end to end', () => {
  it('moves a 40-admin tenant where nobody acts to the expected per-stage counts over 30 days', async () => {
    h = await harness({ admins: 40 });
    const o = oracle(h);
    expect(o.needsDevice.length).toBeGreaterThan(0);
    expect(o.needsPasskey.length).toBeGreaterThan(0);
    expect(o.ready.length).toBeGreaterThan(0);
    const first = await h.run(0);
    expect(o.disabled.length).toBeGreaterThan(0);
    expect(first.counts).toMatchObject({
      targeted: o.targeted.length + o.disabled.length,
      deviceUpdate: o.needsDevice.length,
      passkeyRegistration: o.needsPasskey.length,
      enforcementNotice: o.ready.length,
      enforced: 0,
      excluded: 2,
      blocked: o.blocked.length,
    });
    let last = first;
    for (let day = 1; day < 30; day++) {
      last = await h.run(day);
      if (day === 6) expect(last.counts.enforced).toBe(0);
      if (day === 7) expect(last.counts.enforced).toBe(o.ready.length);
    }
    expect(last.counts).toMatchObject({
      deviceUpdate: o.needsDevice.length,
      passkeyRegistration: o.needsPasskey.length,
      enforcementNotice: 0,
      enforced: o.ready.length,
      exceededGrace: o.needsDevice.length + o.needsPasskey.length,
    });
    // The enforcement group holds exactly the enforced users.
    const members = await (await fetch(`${h.emulator.url}/v1.0/groups/${SIM_IDS.adminsEnforcedGroup}/members?$select=id&$top=999`, { headers: { Authorization: 'Bearer sim-token' } })).json() as { value: Array<{ id: string }> };
    expect(new Set(members.value.map((m: { id: string }) => m.id))).toEqual(new Set(o.ready));
  });

  it('enforces everyone who acts on their notification within 30 days', async () => {
    h = await harness({ admins: 40 });
    const o = oracle(h);
    await h.run(0);
    // Day 2: everyone fixes what they were asked to.
    const devices = (h.fixture.devices ?? []).filter((d) => o.needsDevice.some((id) => (d.registeredOwners ?? []).includes(id)));
    await h.patch({
      devices: devices.map((d) => ({ id: d.id, operatingSystemVersion: /windows/i.test(d.operatingSystem ?? '') ? '10.0.26100' : /android/i.test(d.operatingSystem ?? '') ? '15' : '18.1' })),
      fido2Methods: Object.fromEntries([...o.needsDevice, ...o.needsPasskey].map((id) => [id, [{ id: `new-${id}`, displayName: 'Authenticator', aaGuid: '90a3ccdf-635c-4729-a248-9b709135078f', model: 'Microsoft Authenticator - iOS', createdDateTime: new Date(START.getTime() + 2 * DAY).toISOString() }]])),
    });
    let last = await h.run(2);
    for (let day = 3; day < 30; day++) last = await h.run(day);
    expect(last.counts).toMatchObject({ deviceUpdate: 0, passkeyRegistration: 0, enforcementNotice: 0, enforced: o.targeted.length - o.blocked.length, exceededGrace: 0 });
  });

  it('never touches the break-glass accounts', async () => {
    h = await harness({ admins: 40 });
    for (let day = 0; day < 10; day++) await h.run(day);
    const bg: string[] = [SIM_IDS.breakGlass1, SIM_IDS.breakGlass2];
    expect(h.emulator.state.notifications.filter((n) => bg.includes(n.userId))).toEqual([]);
    expect((await h.events()).filter((e) => 'userId' in e && bg.includes((e as { userId: string }).userId))).toEqual([]);
    const members = await (await fetch(`${h.emulator.url}/v1.0/groups/${SIM_IDS.adminsEnforcedGroup}/members?$select=id`, { headers: { Authorization: 'Bearer sim-token' } })).json() as { value: Array<{ id: string }> };
    expect(members.value.map((m: { id: string }) => m.id).filter((id: string) => bg.includes(id))).toEqual([]);
  });

  it('targets PIM-eligible admins and members of role-assignable groups, and only with includeEligible', async () => {
    h = await harness({ admins: 40 });
    const f = h.fixture;
    const active = new Set((f.roleAssignments ?? []).map((a) => a.principalId));
    const eligibleOnly = (f.roleEligibilityScheduleInstances ?? []).map((e) => e.principalId!).filter((id) => !active.has(id) && (f.users ?? []).some((u) => u.id === id && u.accountEnabled !== false));
    const groupMembers = (f.groups ?? []).find((g) => g.id === SIM_IDS.roleAssignableGroup)!.members ?? [];
    expect(eligibleOnly.length).toBeGreaterThan(0);
    expect(groupMembers.length).toBeGreaterThan(0);
    await h.run(0);
    const state = await h.state();
    for (const id of [...eligibleOnly, ...groupMembers]) {
      if ((f.users ?? []).find((u) => u.id === id)?.accountEnabled === false) continue;
      const inScope = !oracle(h).blocked.includes(id);
      if (inScope) expect(state.users[id]?.stage, id).not.toBeNull();
    }
    const without = adminCampaign();
    without.spec.targets.includeEligible = false;
    const plan = await (await import('../../src/reconcile/run')).runCampaign({ campaign: without, graph: h.graph, store: h.store, now: START, apply: false });
    const narrow = oracle(h, { includeEligible: false });
    expect(plan.counts.targeted).toBe(narrow.targeted.length + narrow.disabled.length);
    expect(plan.counts.targeted).toBeLessThan(oracle(h).targeted.length);
  });

  it('ignores devices not signed in for a year', async () => {
    h = await harness({ admins: 40 });
    const o = oracle(h);
    const f = h.fixture;
    const staleOnlyOutdated = o.targeted.filter((id) => {
      const mine = (f.devices ?? []).filter((d) => (d.registeredOwners ?? []).includes(id));
      return !o.needsDevice.includes(id) && mine.some((d) => d.approximateLastSignInDateTime && START.getTime() - Date.parse(d.approximateLastSignInDateTime) > 365 * DAY);
    });
    expect(staleOnlyOutdated.length).toBeGreaterThan(0);
    await h.run(0);
    const state = await h.state();
    for (const id of staleOnlyOutdated) expect(state.users[id]?.stage ?? null).not.toBe('deviceUpdate');
  });

  it('slows down under a 429 storm but reaches exactly the same outcome', async () => {
    h = await harness({ admins: 40 });
    const calm = [];
    for (let day = 0; day < 12; day++) calm.push((await h.run(day)).counts);
    const calmState = await h.state();
    await h.close();

    h = await harness({ admins: 40 });
    // Tight limits: many requests are throttled, each with a Retry-After the client must honour. A run's first
    // round holds one role-assignment read per targeted role (30 of them), so the window fits a few rounds' worth.
    await h.faults({ limits: { identityResourceUnits: { limit: 12, windowSeconds: 10 }, reports: { limit: 1, windowSeconds: 10 } } });
    const stormy = [];
    for (let day = 0; day < 12; day++) stormy.push((await h.run(day)).counts);
    expect(h.graph.stats.throttled).toBeGreaterThan(20);
    expect(stormy).toEqual(calm);
    const stormState = await h.state();
    const stages = (s: typeof calmState) => Object.fromEntries(Object.values(s.users).map((u) => [u.userId, [u.stage, u.exceededGrace, u.enforcedAt]]));
    expect(stages(stormState)).toEqual(stages(calmState));
  });

  it('plans without a single write request and without touching the ledger', async () => {
    h = await harness({ admins: 40 });
    const plan = await h.run(0, false);
    expect(plan.applied).toBe(false);
    expect(plan.transitions.length).toBeGreaterThan(0);
    expect(plan.notifications).toBeGreaterThan(0);
    const req = await (await fetch(`${h.emulator.url}/_sim/requests`)).json() as { total: number; writes: number; byRoute: Record<string, number> };
    expect(req.writes).toBe(0);
    expect(Object.keys(req.byRoute).filter((k) => !k.startsWith('GET ') && k !== 'POST /v1.0/$batch')).toEqual([]);
    expect(h.emulator.state.notifications).toEqual([]);
    expect(await h.events()).toEqual([]);
    expect(plan.graphRequests).toBe(req.total);
  });

  it('does the same work on a second run at the same moment: nothing', async () => {
    h = await harness({ admins: 40 });
    const first = await h.run(0);
    expect(first.transitions.length).toBeGreaterThan(0);
    const again = await h.run(0);
    expect(again.transitions).toEqual([]);
    expect(again.notifications).toBe(0);
    expect(again.groupAdds).toBe(0);
  });
});
