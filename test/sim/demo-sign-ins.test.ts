// The demo's simulated users sign in every day through POST /_sim/sign-ins: users with a passkey mostly with it, a
// few on legacy clients (password only, blocked), the others with a password; deterministic from the seed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../../src/campaign/load';
import { SignInHabits, runDemo } from '../../src/apps/demo/demo';
import { FileStore } from '../../src/ledger/file/store';
import type { FixtureSignIn } from '../../src/sim/fixture';
import { SIM_IDS, generateTenant } from '../../src/sim/generate';
import { fixtureCampaign } from '../helpers/campaigns';
import { startHarness, type Harness } from './harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
const AT = new Date('2026-12-02T06:00:00Z');
const tenant = () => generateTenant({ users: 120, admins: 40, seed: 9, now: '2026-12-01T06:00:00Z' });

async function signInsOf(habitsSeed: number, before?: (hh: Harness) => Promise<void>): Promise<FixtureSignIn[]> {
  const fixture = tenant();
  const hh = (h = await startHarness({ tenant: fixture }));
  await before?.(hh);
  const n = await new SignInHabits(habitsSeed, fixture).day(hh.emu.url, AT, (id) => hh.emu.state.tenant.fido2Methods(id).length > 0);
  const all: FixtureSignIn[] = [];
  let page = await hh.client.api('/auditLogs/signIns').version('beta').header('Prefer', 'include-unknown-enum-members').get();
  for (;;) {
    all.push(...page.value);
    if (!page['@odata.nextLink']) break;
    page = await hh.client.api(hh.next(page['@odata.nextLink'])).version('beta').header('Prefer', 'include-unknown-enum-members').get();
  }
  expect(all).toHaveLength(n);
  await hh.close();
  h = undefined;
  return all;
}

describe('the demo users sign in every day', () => {
  it('in the 20 hours before the run, most users, passkey users mostly with their passkey, legacy clients with a password', async () => {
    const fixture = tenant();
    const list = await signInsOf(4);
    const enabled = fixture.users!.filter((u) => u.accountEnabled !== false).length;
    expect(list.length).toBeGreaterThan(enabled / 2);
    for (const s of list) {
      const at = Date.parse(s.createdDateTime);
      expect(at).toBeLessThan(AT.getTime());
      expect(at).toBeGreaterThanOrEqual(AT.getTime() - 20 * 3_600_000);
    }
    const legacy = list.filter((s) => !['Browser', 'Mobile Apps and Desktop clients'].includes(s.clientAppUsed!));
    expect(legacy.length).toBeGreaterThan(0);
    for (const s of legacy) {
      expect(s.authenticationDetails!.map((d) => d.authenticationMethod)).toEqual(['Password']);
      expect(s.appliedConditionalAccessPolicies!.find((p) => p.id === SIM_IDS.caBlockLegacyAuth)?.result).toBe('failure');
    }
    const withPasskey = list.filter((s) => (fixture.fido2Methods![s.userId] ?? []).length > 0 && !legacy.includes(s));
    const usedPasskey = withPasskey.filter((s) => s.authenticationDetails!.some((d) => !['Password', 'Authenticator App'].includes(d.authenticationMethod!)));
    expect(usedPasskey.length / withPasskey.length).toBeGreaterThan(0.6);
    for (const s of list.filter((x) => (fixture.fido2Methods![x.userId] ?? []).length === 0)) expect(s.authenticationDetails!.map((d) => d.authenticationMethod)).toContain('Password');
  });

  it('is the same for the same seed, and another seed differs', async () => {
    const key = (l: FixtureSignIn[]) => l.map((s) => `${s.userId} ${s.createdDateTime} ${s.clientAppUsed} ${s.appDisplayName}`).join('\n');
    const a = key(await signInsOf(4));
    expect(key(await signInsOf(4))).toBe(a);
    expect(key(await signInsOf(5))).not.toBe(a);
  });

  it('sign-ins of users in the enforcement group carry the report-only results of the campaign policy', async () => {
    const fixture = tenant();
    const admins = [...new Set((fixture.roleAssignments ?? []).map((a) => a.principalId))].filter((id) => fixture.users!.some((u) => u.id === id && u.accountEnabled !== false));
    const list = await signInsOf(4, async (hh) => {
      expect((await hh.sim('PATCH', '/_sim/tenant', { groups: [{ id: SIM_IDS.adminsEnforcedGroup, members: admins }] })).status).toBe(200);
    });
    const results = new Set(list.filter((s) => admins.includes(s.userId) && !s.userId.startsWith('b9')).map((s) => s.appliedConditionalAccessPolicies!.find((p) => p.id === SIM_IDS.caAdminsCampaign)!.result));
    expect(results).toContain('reportOnlySuccess');
    expect([...results].every((r) => r!.startsWith('reportOnly') && r !== 'reportOnlyNotApplied')).toBe(true);
    // Break-glass accounts are excluded from the campaign's policy.
    for (const s of list.filter((x) => x.userId === SIM_IDS.breakGlass1 || x.userId === SIM_IDS.breakGlass2))
      expect(s.appliedConditionalAccessPolicies!.find((p) => p.id === SIM_IDS.caAdminsCampaign)!.result).toBe('reportOnlyNotApplied');
  });

  it('runDemo records them every day and counts them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-sign-ins-'));
    try {
      const loaded = loadCampaignFile(fixtureCampaign('admins-passkeys'));
      const campaign = loaded.campaign!;
      campaign.spec.status = 'inProgress';
      const days: number[] = [];
      const result = await runDemo({ campaign, store: new FileStore({ dir }), users: 30, days: 3, seed: 2, start: new Date('2026-12-01T06:00:00Z'), onDay: (d) => days.push(d) });
      expect(days).toEqual([0, 1, 2]);
      expect(result.signIns).toBeGreaterThan(3 * 30 * 0.5);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
