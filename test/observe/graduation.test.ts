// observe for graduated campaigns against the emulator: the graduated group, the campaign's two Conditional Access
// policies and the window's sign-ins; every fact that cannot be established says why, and a reportOnly campaign
// sends none of these requests.
import { afterEach, describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import { CA_STATE_ENABLED, graduatedCaPolicyName, graduatedGroupName } from '../../src/contracts/names';
import { Graph, SIM_TOKEN, type GraphReader } from '../../src/graph/client';
import { observe } from '../../src/observe/observe';
import { FakeClock } from '../../src/sim/clock';
import type { TenantFixture } from '../../src/sim/fixture';
import { generateTenant, SIM_IDS } from '../../src/sim/generate';
import { startEmulator, type Emulator } from '../../src/sim/server';

const START = '2026-12-01T06:00:00.000Z';
const GRAD_GROUP = 'a1100000-0000-4000-8000-0000000000f1';
let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function admins(mode: 'reportOnly' | 'graduated' = 'graduated'): Campaign {
  const c = loadCampaignFile('test/fixtures/campaigns/admins-passkeys.yaml').campaign!;
  c.spec.status = 'inProgress';
  c.spec.enforcement.mode = mode;
  c.spec.enforcement.enableWhen.observedDays = 7;
  return c;
}

/** The generated tenant with the admins campaign deployed in graduated mode; `member` is in the enforcement group. */
function deployed(o: { group?: boolean; policy?: 0 | 1 | 2 } = {}): (f: TenantFixture) => void {
  return (f) => {
    const enforced = f.groups!.find((g) => g.id === SIM_IDS.adminsEnforcedGroup)!;
    const admin = f.users!.find((u) => (f.fido2Methods?.[u.id] ?? []).length > 0 && u.id !== SIM_IDS.breakGlass1 && u.id !== SIM_IDS.breakGlass2)!;
    enforced.members = [admin.id];
    if (o.group !== false) f.groups!.push({ ...structuredClone(enforced), id: GRAD_GROUP, displayName: graduatedGroupName('admins-passkeys'), mailNickname: 'graduated', members: [] });
    const ro = f.conditionalAccessPolicies!.find((p) => p.displayName === 'passkey-campaign-admins-passkeys-policy')!;
    for (let i = 0; i < (o.policy ?? 1); i++) {
      const en = structuredClone(ro);
      en.id = `ca000000-0000-4000-8000-0000000000f${i}`;
      en.displayName = graduatedCaPolicyName('admins-passkeys');
      en.state = CA_STATE_ENABLED;
      en.conditions!.users!.includeGroups = [GRAD_GROUP];
      f.conditionalAccessPolicies!.push(en);
    }
  };
}

async function start(mutate: (f: TenantFixture) => void) {
  const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: START });
  mutate(fixture);
  const clock = new FakeClock(START);
  emulator = await startEmulator({ tenant: fixture, port: 0, token: SIM_TOKEN, clock });
  const graph = new Graph({ graphUrl: emulator.url, sleep: async (ms) => clock.advance(ms), now: () => clock.now(), retryBudgetMs: 10_000 });
  const member = fixture.groups!.find((g) => g.id === SIM_IDS.adminsEnforcedGroup)!.members![0]!;
  return { graph, fixture, member };
}

async function signIn(userId: string, method: string, at = '2026-11-30T08:00:00Z'): Promise<void> {
  const res = await fetch(`${emulator!.url}/_sim/sign-ins`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ signIns: [{ userId, at, method }] }) });
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
}

const routes = () => Object.keys(emulator!.state.requests().byRoute);

describe('observe: graduated campaigns', () => {
  it('summarises the window\'s sign-ins per member for the report-only policy', async () => {
    const { graph, member } = await start(deployed());
    await signIn(member, 'passkey');
    await signIn(member, 'passkey', '2026-11-20T08:00:00Z'); // before the 7-day window
    const s = await observe(graph, admins(), { graduation: { now: START } });
    expect(s.readErrors).toEqual([]);
    expect(s.graduation).toMatchObject({ group: { id: GRAD_GROUP }, observedDays: 7, from: '2026-11-24T06:00:00.000Z', to: START, unavailable: null });
    expect(s.graduation!.signIns).toEqual({ [member.toLowerCase()]: { signIns: 1, reportOnlySuccess: 1, reportOnlyFailure: 0, failure: 0, failureApps: [], failureClientApps: [], blocked: false } });
  });

  it('reads nothing of it for a reportOnly campaign', async () => {
    const { graph } = await start(deployed());
    const s = await observe(graph, admins('reportOnly'), { graduation: { now: START } });
    expect(s.graduation).toBeUndefined();
    expect(routes().filter((r) => /signIns|conditionalAccess/.test(r))).toEqual([]);
  });

  it('records a missing graduated group as a campaign-level read error that says to run pulumi up', async () => {
    const { graph } = await start(deployed({ group: false }));
    const s = await observe(graph, admins(), { graduation: { now: START } });
    expect(s.readErrors).toEqual([{
      read: 'graduatedGroup', status: 404, code: 'GraduatedGroupNotFoundError',
      message: 'graduated group "passkey-campaign-admins-passkeys-graduated" does not exist in the tenant, and the campaign\'s spec.enforcement.mode is graduated.',
      hint: 'Run pulumi up: it creates the graduated group and its enabled policy for a graduated campaign (or set spec.enforcement.mode back to reportOnly).',
    }]);
  });

  it.each([
    { name: 'the graduated policy is missing', policy: 0 as const, cause: 'the Conditional Access policy "passkey-campaign-admins-passkeys-graduated-policy" does not exist in the tenant: run pulumi up to deploy the graduated campaign\'s policies.' },
    { name: 'two policies carry the graduated policy\'s name', policy: 2 as const, cause: '2 Conditional Access policies are named "passkey-campaign-admins-passkeys-graduated-policy": rename or delete the extra ones so the run can tell which one applies.' },
  ])('establishes no evidence when $name, and reads no sign-in', async ({ policy, cause }) => {
    const { graph } = await start(deployed({ policy }));
    const s = await observe(graph, admins(), { graduation: { now: START } });
    expect(s.readErrors).toEqual([]);
    expect(s.graduation!.unavailable).toBe(cause);
    expect(routes().filter((r) => /signIns/.test(r))).toEqual([]);
  });

  it('establishes no evidence when the report-only results come back hidden (unknownFutureValue)', async () => {
    const { graph, member } = await start(deployed());
    await signIn(member, 'passkey');
    // A reader that drops the request headers, as a proxy that strips Prefer would.
    const stripped: GraphReader = { ...graph, baseUrl: graph.baseUrl, stats: graph.stats, concurrency: graph.concurrency, get: (p, o) => graph.get(p, o), batch: (r) => graph.batch(r), list: (p, o) => graph.list(p, o && { ...o, headers: undefined }) };
    const s = await observe(stripped, admins(), { graduation: { now: START } });
    expect(s.graduation!.unavailable).toBe('1 sign-in of the campaign\'s users came with the report-only result hidden (unknownFutureValue): Graph did not honour the request header Prefer: include-unknown-enum-members, so whether the policy would have blocked them is unknown.');
  });
});
