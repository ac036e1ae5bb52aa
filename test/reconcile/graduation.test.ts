// Graduated enforcement end to end: the reconcile job over real HTTP against the emulator through the real Graph
// client. Users sign in through POST /_sim/sign-ins, which records them the way Entra would (each Conditional Access
// policy evaluated from group membership, the method and the client); the job reads /auditLogs/signIns and moves
// exactly the enforced users whose own sign-ins qualify into the graduated group.
import { afterEach, describe, expect, it } from 'vitest';
import type { Campaign } from '../../src/campaign/types';
import { CA_STATE_ENABLED, graduatedCaPolicyName, graduatedGroupName } from '../../src/contracts/names';
import { formatRun } from '../../src/apps/cli/reconcile';
import type { RunResult } from '../../src/reconcile/result';
import { generateTenant, SIM_APP_ROLES, SIM_IDS } from '../../src/sim/generate';
import type { TenantFixture } from '../../src/sim/fixture';
import { adminCampaign, harness, START, DAY, type Harness } from './harness';

const GRAD_GROUP = 'a1100000-0000-4000-8000-0000000000f1';
const GRAD_POLICY = 'ca000000-0000-4000-8000-0000000000f1';
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

function graduatedCampaign(o: Partial<Campaign['spec']['enforcement']> = {}): Campaign {
  const c = adminCampaign();
  c.spec.notifications.channel = 'none';
  c.spec.enforcement = { ...c.spec.enforcement, mode: 'graduated', enableWhen: { observedDays: 3, maxWouldBlockUsersPercent: 1 }, maxGraduationsPerRun: 100, ...o };
  return c;
}

/** A generated tenant plus what pulumi up creates for a graduated campaign: the graduated group and its enabled policy. */
function tenant(o: { deployed?: boolean; appRoles?: readonly string[] } = {}): TenantFixture {
  const f = generateTenant({ users: 40, admins: 16, seed: 11, now: START.toISOString() });
  if (o.deployed !== false) {
    const enforced = f.groups!.find((g) => g.id === SIM_IDS.adminsEnforcedGroup)!;
    f.groups!.push({ ...structuredClone(enforced), id: GRAD_GROUP, displayName: graduatedGroupName('admins-passkeys'), mailNickname: 'graduated', members: [] });
    const ro = f.conditionalAccessPolicies!.find((p) => p.displayName === 'passkey-campaign-admins-passkeys-policy')!;
    const en = structuredClone(ro);
    en.id = GRAD_POLICY;
    en.displayName = graduatedCaPolicyName('admins-passkeys');
    en.state = CA_STATE_ENABLED;
    en.conditions!.users!.includeGroups = [GRAD_GROUP];
    f.conditionalAccessPolicies!.push(en);
  }
  if (o.appRoles) f.application = { appId: '00000000-0000-4000-8000-00000000a99a', appRoles: [...o.appRoles] };
  return f;
}

async function signIn(entries: Array<{ userId: string; day: number; method: 'passkey' | 'password' | 'passwordAndMfa'; clientApp?: string; app?: string }>): Promise<void> {
  const signIns = entries.map((e) => ({ userId: e.userId, at: new Date(START.getTime() + e.day * DAY).toISOString(), method: e.method, ...(e.clientApp ? { clientApp: e.clientApp } : {}), ...(e.app ? { app: e.app } : {}) }));
  const res = await fetch(`${h!.emulator.url}/_sim/sign-ins`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ signIns }) });
  if (!res.ok) throw new Error(`POST /_sim/sign-ins: ${res.status} ${await res.text()}`);
}

async function members(groupId: string): Promise<string[]> {
  const res = await fetch(`${h!.emulator.url}/v1.0/groups/${groupId}/members?$select=id`, { headers: { Authorization: 'Bearer sim-token' } });
  const body = (await res.json()) as { value: Array<{ id: string }> };
  return body.value.map((m) => m.id).sort();
}

/** Runs day 0 (everyone enters) and day 7 (the ready ones are enforced); returns the enforced user ids, sorted. */
async function enforceReadyUsers(): Promise<string[]> {
  await h!.run(0);
  await h!.run(7);
  const st = await h!.state();
  return Object.values(st.users).filter((u) => u.stage === 'enforced').map((u) => u.userId).sort();
}

const requestsTo = (r: Record<string, number>, fragment: string) => Object.entries(r).filter(([k]) => k.includes(fragment)).reduce((n, [, v]) => n + v, 0);

describe('reconcile of a graduated campaign', () => {
  it('moves exactly the enforced users whose own sign-ins qualify, and none before observedDays', async () => {
    h = await harness({ fixture: tenant(), campaign: graduatedCampaign() });
    const enforced = await enforceReadyUsers();
    expect(enforced.length).toBeGreaterThanOrEqual(5);
    const [ok, blocked, interrupted, silent, ok2] = enforced;
    await signIn([
      { userId: ok!, day: 7.5, method: 'passkey' },
      { userId: ok2!, day: 8, method: 'passkey', app: 'Microsoft Teams' },
      { userId: blocked!, day: 7.5, method: 'passkey' },
      // A legacy client cannot do passkeys: the report-only policy would have blocked it.
      { userId: blocked!, day: 8, method: 'password', clientApp: 'Exchange ActiveSync', app: 'Office 365 Exchange Online' },
      { userId: interrupted!, day: 8, method: 'passwordAndMfa' },
      // Break-glass accounts are excluded from the policy and from the campaign: never graduated.
      { userId: SIM_IDS.breakGlass1, day: 8, method: 'password' },
    ]);

    // Day 9: enforced 2 days ago, observedDays is 3: nobody yet.
    const early = await h.run(9);
    expect(early.transitions.filter((t) => t.to === 'graduated')).toEqual([]);
    expect(early.graduation).toMatchObject({ available: true, observedDays: 3, graduated: 0 });

    const r = await h.run(10);
    expect(r.transitions.filter((t) => t.to === 'graduated').map((t) => [t.userId, t.reason]).sort()).toEqual([[ok, 'Graduated'], [ok2, 'Graduated']].sort());
    expect(r.graduation).toEqual({ available: true, observedDays: 3, window: { from: new Date(START.getTime() + 7 * DAY).toISOString(), to: new Date(START.getTime() + 10 * DAY).toISOString() }, graduated: 2, deferred: 0, signInFailures: [] });
    expect(r.counts).toMatchObject({ enforced: enforced.length - 2, graduated: 2 });
    expect(await members(GRAD_GROUP)).toEqual([ok, ok2].sort());
    // They stay in the enforcement group; nobody was removed from it.
    const enf = await members(SIM_IDS.adminsEnforcedGroup);
    for (const id of enforced) expect(enf).toContain(id);
    expect(enf).not.toContain(SIM_IDS.breakGlass1);
    const st = await h.state();
    expect(st.users[silent!]!.stage).toBe('enforced');
    expect(st.users[SIM_IDS.breakGlass1]).toBeUndefined();
    const ev = (await h.events()).filter((e) => e.type === 'userEnteredStage' && e.to === 'graduated');
    expect(ev.map((e) => 'message' in e && e.message)).toContain('enforced 3 days ago; in the last 3 days 1 sign-in satisfied the report-only policy and none would have been blocked; added to the graduated group (enabled policy), and stays in the enforcement group');

    // The same time again: nothing more to do.
    const again = await h.run(10);
    expect(again.transitions).toEqual([]);
    expect(again.groupAdds).toBe(0);
  });

  it('reports a graduated user whose sign-ins the enabled policy blocks, raises the alert once and removes nobody', async () => {
    h = await harness({ fixture: tenant(), campaign: graduatedCampaign() });
    const [ada] = await enforceReadyUsers();
    await signIn([{ userId: ada!, day: 8, method: 'passkey' }]);
    await h.run(10);
    expect(await members(GRAD_GROUP)).toEqual([ada]);
    // Now under the enabled policy, a legacy mail client fails.
    await signIn([{ userId: ada!, day: 10.5, method: 'password', clientApp: 'IMAP4', app: 'Office 365 Exchange Online' }]);
    const r = await h.run(11);
    expect(r.graduation?.signInFailures).toEqual([{ userId: ada, userPrincipalName: expect.any(String), failures: 1, apps: ['Office 365 Exchange Online'], clientApps: ['IMAP4'] }]);
    expect(r.warnings.some((w) => w.includes('graduated, and the enabled policy blocked 1 sign-in in the last 3 days (Office 365 Exchange Online); not removed from any group'))).toBe(true);
    const upn = h.fixture.users!.find((u) => u.id === ada)!.userPrincipalName;
    expect(formatRun(r)).toContain(`\n    ${upn}: graduated, 1 sign-in blocked by the enabled policy (Office 365 Exchange Online; IMAP4)`);
    expect(formatRun(r)).toContain(' · enforced ');
    expect(formatRun(r)).toMatch(/ · graduated 1\n/);
    const alerts = (await h.events()).filter((e) => e.type === 'alertRaised' && e.kind === 'GraduatedSignInFailures');
    expect(alerts.map((e) => 'userId' in e && e.userId)).toEqual([ada]);
    expect(await members(GRAD_GROUP)).toEqual([ada]);
    expect(await members(SIM_IDS.adminsEnforcedGroup)).toContain(ada);
    expect((await h.state()).users[ada!]!.stage).toBe('graduated');
    // Once the window no longer holds a blocked sign-in, the alert clears; the user stays where they are.
    await signIn([{ userId: ada!, day: 13, method: 'passkey' }]);
    await h.run(14);
    const cleared = (await h.events()).filter((e) => e.type === 'alertCleared' && e.kind === 'GraduatedSignInFailures');
    expect(cleared).toHaveLength(1);
    expect((await h.state()).users[ada!]!.stage).toBe('graduated');
  });

  it('graduates at most maxGraduationsPerRun users per run; the rest wait and a warning says so', async () => {
    h = await harness({ fixture: tenant(), campaign: graduatedCampaign({ maxGraduationsPerRun: 2 }) });
    const enforced = await enforceReadyUsers();
    await signIn(enforced.slice(0, 4).map((userId) => ({ userId, day: 8, method: 'passkey' as const })));
    const r = await h.run(10);
    expect(r.graduation).toMatchObject({ graduated: 2, deferred: 2 });
    expect(r.warnings).toContain('2 users ready to graduate to the enabled policy wait for the next run: spec.enforcement.maxGraduationsPerRun is 2.');
    expect(await members(GRAD_GROUP)).toHaveLength(2);
    const next = await h.run(11);
    expect(next.graduation).toMatchObject({ graduated: 2, deferred: 0 });
    expect(await members(GRAD_GROUP)).toEqual(enforced.slice(0, 4).sort());
  });

  it('graduates nobody when the sign-in logs cannot be read, names the permission, and runs otherwise as before', async () => {
    // Everything the job needs except Directory.Read.All, which the sign-in logs require beside AuditLog.Read.All.
    h = await harness({ fixture: tenant({ appRoles: SIM_APP_ROLES }), campaign: graduatedCampaign() });
    const enforced = await enforceReadyUsers();
    expect(enforced.length).toBeGreaterThan(0);
    await signIn(enforced.map((userId) => ({ userId, day: 8, method: 'passkey' as const })));
    const r = await h.run(10);
    expect(r.applied).toBe(true);
    expect(r.transitions.filter((t) => t.to === 'graduated')).toEqual([]);
    expect(r.graduation).toMatchObject({ available: false, graduated: 0 });
    expect(r.graduation?.cause).toMatch(/^the sign-in logs could not be read \(403 [^)]*\): grant the identity the Microsoft Graph application permission AuditLog\.Read\.All and Directory\.Read\.All\.$/);
    expect(r.warnings).toContain(`nobody graduates this run: ${r.graduation!.cause}`);
    expect(await members(GRAD_GROUP)).toEqual([]);
    const last = (await h.events()).filter((e) => e.type === 'runFinished').pop();
    expect(last).toMatchObject({ ok: true });
  });

  it('graduates nobody when Conditional Access data is withheld (no Policy.Read.All), naming the permission', async () => {
    h = await harness({ fixture: tenant({ appRoles: [...SIM_APP_ROLES.filter((r) => r !== 'Policy.Read.All'), 'Directory.Read.All'] }), campaign: graduatedCampaign() });
    const enforced = await enforceReadyUsers();
    await signIn(enforced.map((userId) => ({ userId, day: 8, method: 'passkey' as const })));
    const r = await h.run(10);
    expect(r.transitions.filter((t) => t.to === 'graduated')).toEqual([]);
    expect(r.graduation?.cause).toMatch(/Policy\.Read\.All/);
    expect(await members(GRAD_GROUP)).toEqual([]);
  });

  it('stops before any write when the graduated group was not deployed, and says to run pulumi up', async () => {
    h = await harness({ fixture: tenant({ deployed: false }), campaign: graduatedCampaign() });
    await expect(h.run(0)).rejects.toThrow(/graduated group "passkey-campaign-admins-passkeys-graduated" does not exist/);
    expect(await h.events()).toEqual([]);
    // plan shows the same and goes on without graduating.
    const plan = await h.run(0, false);
    expect(plan.warnings).toContain('nobody graduates this run: graduated group "passkey-campaign-admins-passkeys-graduated" does not exist in the tenant, and the campaign\'s spec.enforcement.mode is graduated. Run pulumi up: it creates the graduated group and its enabled policy for a graduated campaign (or set spec.enforcement.mode back to reportOnly).');
  });

  it('settles an interrupted run\'s graduated-group adds: confirmed for a user who still qualifies, undone for one who does not', async () => {
    h = await harness({ fixture: tenant(), campaign: graduatedCampaign() });
    const [ada, bob] = await enforceReadyUsers();
    await signIn([
      { userId: ada!, day: 8, method: 'passkey' },
      { userId: bob!, day: 8, method: 'passkey' },
      { userId: bob!, day: 8.5, method: 'password', clientApp: 'POP3' },
    ]);
    // A run that recorded both intents and added both users, then died before recording anything else.
    const at = new Date(START.getTime() + 9.9 * DAY).toISOString();
    const upn = (id: string) => h!.fixture.users!.find((u) => u.id === id)!.userPrincipalName!;
    await h.store.append('admins-passkeys', [
      { v: 1, type: 'runStarted', at, runId: 'r-dead', campaign: 'admins-passkeys', status: 'inProgress', intents: 1 },
      { v: 1, type: 'groupAddIntent', at, runId: 'r-dead', userId: ada!, userPrincipalName: upn(ada!), groupId: GRAD_GROUP },
      { v: 1, type: 'groupAddIntent', at, runId: 'r-dead', userId: bob!, userPrincipalName: upn(bob!), groupId: GRAD_GROUP },
    ]);
    await h.patch({ groups: [{ ...structuredClone(h.fixture.groups!.find((g) => g.id === GRAD_GROUP)!), members: [ada, bob] }] });
    expect(await members(GRAD_GROUP)).toEqual([ada, bob].sort());

    const r = await h.run(10);
    expect(r.transitions.filter((t) => t.to === 'graduated').map((t) => t.userId)).toEqual([ada]);
    expect(await members(GRAD_GROUP)).toEqual([ada]);
    expect(r.warnings.some((w) => w.includes(`was added to passkey-campaign-admins-passkeys-graduated by an interrupted run but is no longer due for graduation; the add was undone.`))).toBe(true);
    const outcomes = (await h.events()).filter((e) => e.type === 'groupAddOutcome');
    expect(outcomes.map((e) => [e.userId, e.groupId, e.outcome])).toEqual(expect.arrayContaining([[ada, GRAD_GROUP, 'added'], [bob, GRAD_GROUP, 'rolledBack']]));
    expect((await h.events()).find((e) => e.type === 'runFinished' && e.runId === 'r-dead')).toMatchObject({ interrupted: true });
    // bob stays enforced, and in the enforcement group.
    expect((await h.state()).users[bob!]!.stage).toBe('enforced');
    expect(await members(SIM_IDS.adminsEnforcedGroup)).toContain(bob);
  });
});

describe('reconcile of a reportOnly campaign', () => {
  async function dayZero(c: Campaign): Promise<{ r: RunResult; byRoute: Record<string, number> }> {
    h = await harness({ fixture: tenant(), campaign: c });
    await signIn([{ userId: SIM_IDS.breakGlass1, day: -1, method: 'password' }]);
    const r = await h.run(0);
    const byRoute = h.emulator.state.requests().byRoute;
    await h.close();
    h = undefined;
    return { r, byRoute };
  }

  it('sends no request for sign-ins, Conditional Access policies or a graduated group: exactly the graduated campaign\'s requests minus those four', async () => {
    const reportOnly = adminCampaign();
    reportOnly.spec.notifications.channel = 'none';
    const plain = await dayZero(reportOnly);
    const graduated = await dayZero(graduatedCampaign());
    expect(requestsTo(plain.byRoute, 'auditLogs/signIns')).toBe(0);
    expect(requestsTo(plain.byRoute, 'conditionalAccess')).toBe(0);
    expect(plain.r.graduation).toBeUndefined();
    expect(requestsTo(graduated.byRoute, 'auditLogs/signIns')).toBe(1);
    expect(requestsTo(graduated.byRoute, 'conditionalAccess')).toBe(1);
    // The graduated campaign adds: the group lookup, its members, the CA policies and the sign-ins.
    expect(graduated.r.graphRequests - plain.r.graphRequests).toBe(4);
    expect(plain.r.transitions).toEqual(graduated.r.transitions);
  });
});
