import { describe, expect, it } from 'vitest';
import { SUPPORTED_ROLES } from '../../src/campaign/roles';
import { validateFixture, type TenantFixture } from '../../src/sim/fixture';
import { GENERATOR_NOW, SIM_GROUP_NAMES, SIM_IDS, adminCount, generateTenant } from '../../src/sim/generate';
import { startEmulator } from '../../src/sim/server';
import { PASSKEY_METHODS } from '../../src/sim/tenant-state';
import { makeClient } from './harness';
import { FakeClock } from '../../src/sim/clock';

const GA = SUPPORTED_ROLES.GlobalAdministrator;
const MINIMUM: Record<string, number[]> = { windows: [10, 0, 18362], ios: [17], macos: [13], android: [14] };
const family = (os: string | null | undefined) =>
  ({ Windows: 'windows', IPhone: 'ios', iOS: 'ios', iPadOS: 'ios', MacMDM: 'macos', 'Mac OS X': 'macos', Android: 'android', AndroidForWork: 'android' })[os ?? ''];
const below = (version: string, min: number[]) => {
  const v = version.split('.').map(Number);
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) < min[i]!;
  return false;
};

describe('generateTenant', () => {
  it('is deterministic: the same seed gives identical JSON, another seed differs', () => {
    const a = JSON.stringify(generateTenant({ users: 300, seed: 'demo' }));
    expect(JSON.stringify(generateTenant({ users: 300, seed: 'demo' }))).toBe(a);
    expect(JSON.stringify(generateTenant({ users: 300, seed: 'other' }))).not.toBe(a);
  });

  it('refuses fewer than the two break-glass accounts', () => {
    expect(() => generateTenant({ users: 1, seed: 1 })).toThrow(RangeError);
  });

  describe('realism (2,000 users)', () => {
    const t = generateTenant({ users: 2000, seed: 11 }) as Required<TenantFixture>;
    const now = new Date(GENERATOR_NOW).getTime();
    const adminIds = new Set([...t.roleAssignments, ...t.roleEligibilityScheduleInstances].map((a) => a.principalId));

    it('passes the fixture validator without warnings', () => {
      const { errors, warnings } = validateFixture(JSON.parse(JSON.stringify(t)));
      expect(errors).toEqual([]);
      expect(warnings).toEqual([]);
    });

    it('has exactly the requested users, all @contoso.com', () => {
      expect(t.users).toHaveLength(2000);
      expect(t.users.every((u) => u.userPrincipalName.endsWith('@contoso.com'))).toBe(true);
    });

    it('makes both break-glass accounts active Global Administrators', () => {
      for (const [id, upn] of [
        [SIM_IDS.breakGlass1, 'bg1@contoso.com'],
        [SIM_IDS.breakGlass2, 'bg2@contoso.com'],
      ]) {
        expect(t.users.find((u) => u.id === id)?.userPrincipalName).toBe(upn);
        expect(t.roleAssignments.some((a) => a.principalId === id && a.roleDefinitionId === GA && a.directoryScopeId === '/')).toBe(true);
      }
    });

    it('defines all 15 supported roles with their template ids and gives each an admin', () => {
      expect(t.roleDefinitions.map((r) => r.templateId).sort()).toEqual(Object.values(SUPPORTED_ROLES).sort());
      expect(t.roleDefinitions.every((r) => r.id === r.templateId)).toBe(true);
      const held = new Set([...t.roleAssignments, ...t.roleEligibilityScheduleInstances].map((a) => a.roleDefinitionId));
      expect([...held].sort()).toEqual(Object.values(SUPPORTED_ROLES).sort());
    });

    it('has some PIM-eligible admins', () => {
      expect(t.roleEligibilityScheduleInstances.length).toBeGreaterThan(2);
    });

    it('has a role-assignable group that holds a role and has members', () => {
      const g = t.groups.find((x) => x.id === SIM_IDS.roleAssignableGroup)!;
      expect(g.isAssignableToRole).toBe(true);
      expect(g.members!.length).toBeGreaterThan(0);
      expect(t.roleAssignments.some((a) => a.principalId === g.id)).toBe(true);
    });

    it('has "All staff" with the regular users and the empty enforcement groups', () => {
      const staff = t.groups.find((g) => g.displayName === SIM_GROUP_NAMES.allStaff)!;
      expect(staff.members!.length).toBe(2000 - 2 - adminCount(2000));
      expect(staff.members!.some((id) => adminIds.has(id))).toBe(false);
      expect(staff.members).not.toContain(SIM_IDS.breakGlass1);
      for (const name of [SIM_GROUP_NAMES.adminsEnforced, SIM_GROUP_NAMES.allStaffEnforced]) {
        const matches = t.groups.filter((g) => g.displayName === name);
        expect(matches).toHaveLength(1);
        expect(matches[0]!.members).toEqual([]);
      }
    });

    it('uses every realistic OS name form, with some devices below the passkey minimums on each platform', () => {
      const names = new Set(t.devices.map((d) => d.operatingSystem));
      for (const os of ['Windows', 'IPhone', 'iOS', 'iPadOS', 'MacMDM', 'Mac OS X', 'Android', 'AndroidForWork']) expect(names).toContain(os);
      for (const fam of Object.keys(MINIMUM)) {
        const versions = t.devices.filter((d) => family(d.operatingSystem) === fam).map((d) => d.operatingSystemVersion!);
        const old = versions.filter((v) => below(v, MINIMUM[fam]!));
        expect(old.length, fam).toBeGreaterThan(0);
        expect(old.length, fam).toBeLessThan(versions.length / 2);
      }
    });

    it('has stale devices (no sign-in for over a year) and disabled devices and accounts', () => {
      const stale = t.devices.filter((d) => now - Date.parse(d.approximateLastSignInDateTime!) > 365 * 86_400_000);
      expect(stale.length).toBeGreaterThan(0);
      expect(stale.length).toBeLessThan(t.devices.length / 4);
      expect(t.devices.some((d) => d.accountEnabled === false)).toBe(true);
      expect(t.users.some((u) => u.accountEnabled === false)).toBe(true);
      expect(t.devices.every((d) => Date.parse(d.approximateLastSignInDateTime!) <= now)).toBe(true);
    });

    it('has users with and without passkeys, consistent between fido2Methods and methodsRegistered', () => {
      const withKeys = new Set(Object.keys(t.fido2Methods));
      expect(withKeys.size).toBeGreaterThan(100);
      expect(withKeys.size).toBeLessThan(1000);
      for (const d of t.userRegistrationDetails) {
        const names = (d.methodsRegistered ?? []).filter((m) => (PASSKEY_METHODS as readonly string[]).includes(m));
        expect(names.length > 0, d.userPrincipalName).toBe(withKeys.has(d.id));
      }
      const aaGuids = new Set(Object.values(t.fido2Methods).flat().map((m) => m.aaGuid));
      expect(aaGuids).toContain('90a3ccdf-635c-4729-a248-9b709135078f'); // Microsoft Authenticator (iOS)
      expect(aaGuids).toContain('08987058-cadc-4b81-b6e1-30de50dcbe96'); // Windows Hello
    });

    it('enables the FIDO2 policy for all users, self-service, excluding a small group', () => {
      const fido = t.authenticationMethodsPolicy.authenticationMethodConfigurations!.find((c) => c.id === 'Fido2')!;
      expect(fido.state).toBe('enabled');
      expect(fido.isSelfServiceRegistrationAllowed).toBe(true);
      expect(fido.includeTargets).toEqual([{ targetType: 'group', id: 'all_users', isRegistrationRequired: false }]);
      const excluded = t.groups.find((g) => g.id === fido.excludeTargets![0]!.id)!;
      expect(excluded.members!.length).toBeGreaterThan(0);
      expect(excluded.members!.length).toBeLessThan(10);
    });
  });

  describe('sign-in logs (signInDays)', () => {
    const t = generateTenant({ users: 400, seed: 3, signInDays: 7 }) as Required<TenantFixture>;
    const now = new Date(GENERATOR_NOW).getTime();

    it('adds none unless asked, and the rest of the tenant is the same either way', () => {
      const plain = generateTenant({ users: 400, seed: 3 });
      expect(plain).not.toHaveProperty('signIns');
      const { signIns: _s, ...rest } = t;
      expect(JSON.stringify(rest)).toBe(JSON.stringify(plain));
    });

    it('gives enabled users sign-ins within the last days, break-glass accounts none, and passes the validator', () => {
      expect(validateFixture(t).errors).toEqual([]);
      expect(t.signIns.length).toBeGreaterThan(400 * 7 * 0.6);
      const enabled = new Set(t.users.filter((u) => u.accountEnabled !== false).map((u) => u.id));
      for (const s of t.signIns) {
        expect(enabled.has(s.userId)).toBe(true);
        const at = Date.parse(s.createdDateTime);
        expect(at).toBeLessThan(now);
        expect(at).toBeGreaterThanOrEqual(now - 8 * 86_400_000);
      }
      expect(t.signIns.some((s) => s.userId === SIM_IDS.breakGlass1 || s.userId === SIM_IDS.breakGlass2)).toBe(false);
    });

    it('evaluates the generated policies: legacy clients are blocked, passkeys used by users who have them, admins asked for MFA', () => {
      const legacy = t.signIns.filter((s) => !['Browser', 'Mobile Apps and Desktop clients'].includes(s.clientAppUsed!));
      expect(legacy.length).toBeGreaterThan(0);
      for (const s of legacy) {
        expect(s.appliedConditionalAccessPolicies!.find((p) => p.id === SIM_IDS.caBlockLegacyAuth)?.result).toBe('failure');
        expect(s.status?.errorCode).toBe(53003);
      }
      const passkey = t.signIns.filter((s) => s.authenticationDetails?.some((d) => d.authenticationMethod !== 'Password' && d.authenticationMethod !== 'Authenticator App'));
      expect(passkey.length).toBeGreaterThan(0);
      for (const s of passkey) expect(t.fido2Methods[s.userId]?.length ?? 0).toBeGreaterThan(0);
      const adminMfa = t.signIns.map((s) => s.appliedConditionalAccessPolicies!.find((p) => p.id === SIM_IDS.caRequireMfaForAdmins)?.result);
      expect(adminMfa).toContain('success');
      expect(adminMfa).toContain('notApplied');
      // The enforcement groups are empty in a generated tenant: the campaigns' report-only policies apply to nobody yet.
      expect(new Set(t.signIns.map((s) => s.appliedConditionalAccessPolicies!.find((p) => p.id === SIM_IDS.caAdminsCampaign)?.result))).toEqual(new Set(['reportOnlyNotApplied']));
    });

    it('refuses more sign-ins than it holds, naming the knob', () => {
      expect(() => generateTenant({ users: 100_000, seed: 1, signInDays: 3 })).toThrow(/ask for fewer days with --sign-in-days \(at most 2 for 100000 users\)/);
      expect(() => generateTenant({ users: 10, seed: 1, signInDays: 91 })).toThrow(RangeError);
    });
  });

  it('generates and serves 100,000 users and their devices quickly', async () => {
    let t0 = performance.now();
    const fixture = generateTenant({ users: 100_000, seed: 1 });
    const generateMs = performance.now() - t0;
    expect(fixture.users).toHaveLength(100_000);
    expect(generateMs).toBeLessThan(10_000);

    const clock = new FakeClock();
    const emu = await startEmulator({ tenant: fixture, token: 't', clock, faults: { throttle: false } });
    try {
      const client = makeClient(emu.url, 't', clock, []);
      t0 = performance.now();
      let users = 0;
      let link: string | undefined = '/users?$top=999&$select=id,userPrincipalName,accountEnabled';
      for (let page = 0; link && page < 200; page++) {
        const res = await client.api(link).get();
        users += res.value.length;
        link = res['@odata.nextLink']?.slice(emu.url.length + '/v1.0'.length);
      }
      expect(users).toBe(100_000);
      const ga = await client.api('/roleManagement/directory/roleAssignments').filter(`roleDefinitionId eq '${GA}'`).get();
      expect(ga.value.map((a: { principalId: string }) => a.principalId)).toEqual(expect.arrayContaining([SIM_IDS.breakGlass1, SIM_IDS.breakGlass2]));
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      await emu.close();
    }
  }, 60_000);
});
