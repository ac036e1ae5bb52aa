// `campaign doctor` on the generated tenant: every check passes; each test breaks exactly one prerequisite
// (in the fixture or through PATCH /_sim/tenant) and asserts the check's status, message and the exit code.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/apps/cli/main';
import type { DoctorCheck, DoctorReport } from '../../src/doctor';
import { Graph } from '../../src/graph/client';
import { GraphError } from '../../src/graph/errors';
import { generateTenant, SIM_APP, SIM_APP_ROLES, SIM_IDS, type TenantFixture } from '../../src/sim';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo } from '../helpers/io';

const ROOT = path.resolve(__dirname, '..', '..');
const START = '2026-12-01T06:00:00Z';
let emulator: Emulator | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

type Channel = 'teams' | 'email';

/** The admins campaign, started, its break-glass accounts named by object id, on the given channel. */
function campaignFile(dir: string, opts: { channel?: Channel; policyState?: 'reportOnly' | 'enabled'; breakGlass?: string[]; name?: string; senders?: string[] } = {}): string {
  let text = fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8')
    .replace('status: notStarted', 'status: inProgress')
    .replace('breakGlass: [bg1@contoso.com, bg2@contoso.com]', `breakGlass: [${(opts.breakGlass ?? [SIM_IDS.breakGlass1, SIM_IDS.breakGlass2]).join(', ')}]`);
  if (opts.channel === 'email') text = text.replace('channel: teams', 'channel: email\n    sender: passkeys@contoso.com');
  if (opts.senders) text = text.replace('sender: passkeys@contoso.com', `senders: [${opts.senders.join(', ')}]`);
  if (opts.policyState) text = text.replace('policyState: reportOnly', `policyState: ${opts.policyState}`);
  if (opts.name) text = text.replace('name: admins-passkeys', `name: ${opts.name}`);
  const file = path.join(dir, `${opts.name ?? 'admins-passkeys'}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

interface Setup {
  mutate?: (f: TenantFixture) => void;
  patch?: unknown;
  channel?: Channel;
  campaign?: Parameters<typeof campaignFile>[1];
  env?: NodeJS.ProcessEnv;
  prerequisites?: boolean;
}

async function doctor(s: Setup = {}, format = 'json') {
  const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: START, prerequisites: s.prerequisites ?? true });
  s.mutate?.(fixture);
  emulator = await startEmulator({ tenant: fixture, port: 0, token: 'sim-token' });
  if (s.patch) {
    const res = await fetch(`${emulator.url}/_sim/tenant`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(s.patch) });
    expect(res.status).toBe(200);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-'));
  const file = campaignFile(tmp, { channel: s.channel, ...s.campaign });
  const env: NodeJS.ProcessEnv = { AZURE_CLIENT_ID: SIM_APP.clientId, CAMPAIGN_TEAMS_APP_ID: SIM_APP.teamsAppId, ...s.env };
  const io = captureIo(tmp, env);
  const code = await run(['doctor', '--campaign', file, '--graph-url', emulator.url, '--state', path.join(tmp, 'state'), '--now', START, '--format', format], io);
  const report = format === 'json' && io.out() ? (JSON.parse(io.out()) as DoctorReport) : undefined;
  return { code, out: io.out(), err: io.err(), report, check: (id: string) => report?.checks.find((c) => c.id === id) as DoctorCheck, tmp };
}

const withoutRole = (role: string) => ({ application: { appId: SIM_APP.clientId, appRoles: SIM_APP_ROLES.filter((r) => r !== role) } });

describe('campaign doctor on the generated tenant', () => {
  it.each(['teams', 'email'] as const)('passes every check for a %s campaign (exit 0)', async (channel) => {
    const r = await doctor({ channel });
    expect(r.err).toBe('');
    expect(r.report!.campaign).toBe('admins-passkeys');
    expect(r.report!.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.status}: ${c.message}`)).toEqual([]);
    const ids = r.report!.checks.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['identity.permissions', 'identity.forbidden', 'fido2.enabled', 'fido2.selfService', 'fido2.keyRestrictions', 'fido2.scope', 'fido2.passkeyProfiles',
      'group.exists', 'group.write', 'ca.exists', 'ca.targets', 'ca.grant', 'ca.state', 'ca.breakGlass', 'ca.drift', 'breakGlass.accounts', 'registration.campaign', 'ledger.store']));
    expect(ids).toEqual(expect.arrayContaining(channel === 'teams' ? ['teams.app', 'teams.installed'] : ['mail.sender', 'mail.recipients']));
    for (const c of r.report!.checks) expect(Object.keys(c).sort()).toEqual(['blocking', 'fix', 'id', 'message', 'status', 'title']);
    expect(r.code).toBe(0);
    // Read-only: nothing was written to the tenant.
    expect(emulator!.state.tenant.memberIds(SIM_IDS.adminsEnforcedGroup).size).toBe(0);
    expect(emulator!.state.notifications).toEqual([]);
  });

  it('prints a text report and a github annotation per failing check', async () => {
    const text = await doctor();
    expect(text.code).toBe(0);
    await emulator!.close();
    emulator = undefined;
    const ok = await doctor({}, 'text');
    expect(ok.out).toMatch(/^doctor admins-passkeys\n/);
    expect(ok.out).toContain('ok    ca.breakGlass');
    expect(ok.out).toMatch(/ready: no blocking check failed\.\n$/);
    await emulator!.close();
    emulator = undefined;
    const bad = await doctor({ patch: { conditionalAccessPolicies: [{ id: SIM_IDS.caAdminsCampaign, state: 'enabled' }] } }, 'github');
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^::error file=admins-passkeys\.yaml,title=campaign doctor%3A ca\.state::the policy is enabled; the campaign asks for enabledForReportingButNotEnforced/m);
  });
});

describe('each prerequisite, broken alone, fails its check', () => {
  it('identity.permissions: a permission the campaign needs is not granted (exit 1)', async () => {
    const r = await doctor({ patch: withoutRole('UserAuthenticationMethod.Read.All') });
    expect(r.check('identity.permissions')).toMatchObject({ status: 'fail', blocking: true });
    expect(r.check('identity.permissions').message).toMatch(/lacks UserAuthenticationMethod\.Read\.All of the \d+ permissions the campaign needs/);
    expect(r.code).toBe(1);
  });

  it('identity.forbidden: a forbidden permission is granted (exit 1)', async () => {
    const r = await doctor({ patch: { application: { appId: SIM_APP.clientId, appRoles: [...SIM_APP_ROLES, 'Directory.ReadWrite.All'] } } });
    expect(r.check('identity.forbidden')).toMatchObject({ status: 'fail', blocking: true });
    expect(r.check('identity.forbidden').message).toContain('holds Directory.ReadWrite.All, which the campaign identity must never hold');
    expect(r.check('identity.permissions').status).toBe('pass');
    expect(r.code).toBe(1);
  });

  it('identity.*: skipped, saying why, without the client id; and without a fixture application', async () => {
    const r = await doctor({ env: { AZURE_CLIENT_ID: '' } });
    expect(r.check('identity.permissions')).toMatchObject({ status: 'skip', message: expect.stringContaining("client id is unknown") });
    expect(r.check('group.write').status).toBe('skip');
    expect(r.code).toBe(0);
  });

  it('identity.permissions: no service principal for the client id (exit 1)', async () => {
    const r = await doctor({ env: { AZURE_CLIENT_ID: '11111111-2222-4333-8444-555555555555' } });
    expect(r.check('identity.permissions')).toMatchObject({ status: 'fail', message: 'no service principal has the client id 11111111-2222-4333-8444-555555555555: no permission is granted.' });
    expect(r.code).toBe(1);
  });

  const fido2 = (f: TenantFixture) => f.authenticationMethodsPolicy!.authenticationMethodConfigurations!.find((c) => c.id === 'Fido2')!;

  it('fido2.enabled: the passkey method is disabled (exit 1)', async () => {
    const r = await doctor({ mutate: (f) => void (fido2(f).state = 'disabled') });
    expect(r.check('fido2.enabled')).toMatchObject({ status: 'fail', blocking: true, message: "the FIDO2 method's state is disabled." });
    expect(r.code).toBe(1);
  });

  it('fido2.selfService: self-service registration is off (exit 1)', async () => {
    const r = await doctor({ mutate: (f) => void (fido2(f).isSelfServiceRegistrationAllowed = false) });
    expect(r.check('fido2.selfService')).toMatchObject({ status: 'fail', message: 'self-service registration is not allowed.' });
    expect(r.code).toBe(1);
  });

  it('fido2.keyRestrictions: describes an allow list', async () => {
    const r = await doctor({ mutate: (f) => void (fido2(f).keyRestrictions = { isEnforced: true, enforcementType: 'allow', aaGuids: ['cb69481e-8ff7-4039-93ec-0a2729a154a8'] }) });
    expect(r.check('fido2.keyRestrictions').message).toContain('only 1 AAGUID (cb69481e-8ff7-4039-93ec-0a2729a154a8) may be registered');
  });

  it('fido2.scope: the FIDO2 policy targets a pilot group; users outside are listed (advisory, exit 0)', async () => {
    const r = await doctor({ mutate: (f) => void (fido2(f).includeTargets = [{ targetType: 'group', id: SIM_IDS.fido2ExclusionGroup, isRegistrationRequired: false }]) });
    const c = r.check('fido2.scope');
    expect(c).toMatchObject({ status: 'fail', blocking: false });
    expect(c.message).toMatch(/^\d+ of \d+ targeted users \(100 %\) are outside the FIDO2 policy's targets and cannot register a passkey: .+@contoso\.com, .+ and \d+ more\.$/);
    expect(r.code).toBe(0);
  });

  // Passkey profiles: beta fido2authenticationmethodconfiguration-get.md, resources/passkeyprofile.md and
  // resources/passkeyauthenticationmethodtarget.md (beta); passkeyTypes is a flags string.
  const OPEN = { id: '00000000-0000-0000-0000-000000000001', name: 'Default passkey profile', passkeyTypes: 'deviceBound,synced', attestationEnforcement: 'disabled', keyRestrictions: { isEnforced: false, enforcementType: 'allow' as const, aaGuids: [] } };
  const YUBIKEYS = { id: 'b0000000-0000-4000-8000-000000000002', name: 'Security keys', passkeyTypes: 'deviceBound', attestationEnforcement: 'registrationOnly', keyRestrictions: { isEnforced: true, enforcementType: 'allow' as const, aaGuids: ['cb69481e-8ff7-4039-93ec-0a2729a154a8'] } };
  const LOCKED = { id: 'b0000000-0000-4000-8000-000000000003', name: 'Locked down', passkeyTypes: 'deviceBound', attestationEnforcement: 'disabled', keyRestrictions: { isEnforced: true, enforcementType: 'allow' as const, aaGuids: [] } };
  const PILOT = 'b1000000-0000-4000-8000-000000000001';
  /** A group of the first `n` targeted admins (users holding an active role, break-glass accounts left out). */
  const pilotOf = (f: TenantFixture, n: number) => {
    const users = new Set((f.users ?? []).map((u) => u.id));
    const admins = [...new Set((f.roleAssignments ?? []).map((a) => a.principalId))].filter((id) => users.has(id) && id !== SIM_IDS.breakGlass1 && id !== SIM_IDS.breakGlass2);
    f.groups!.push({ id: PILOT, displayName: 'Passkey pilot', securityEnabled: true, mailEnabled: false, members: admins.slice(0, n) });
  };

  it('fido2.passkeyProfiles: passes with "no passkey profiles" when beta shows none', async () => {
    const r = await doctor();
    expect(r.check('fido2.passkeyProfiles')).toMatchObject({ status: 'pass', blocking: false, message: 'no passkey profiles: the FIDO2 settings above apply to everyone in its targets.' });
  });

  it('fido2.passkeyProfiles: describes each profile and the include targets that use it (advisory, exit 0)', async () => {
    const r = await doctor({
      mutate: (f) => {
        pilotOf(f, 2);
        const c = fido2(f);
        c.passkeyProfiles = [OPEN, YUBIKEYS];
        c.defaultPasskeyProfile = OPEN.id;
        c.includeTargets = [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false, allowedPasskeyProfiles: [OPEN.id] }, { targetType: 'group', id: PILOT, isRegistrationRequired: false, allowedPasskeyProfiles: [YUBIKEYS.id] }];
      },
    });
    expect(r.check('fido2.passkeyProfiles')).toMatchObject({
      status: 'pass',
      message: '2 passkey profiles: "Default passkey profile" (deviceBound and synced, any model, default); "Security keys" (deviceBound, only 1 AAGUID (cb69481e-8ff7-4039-93ec-0a2729a154a8), attestation registrationOnly). '
        + `Include targets: all users → "Default passkey profile"; group ${PILOT} → "Security keys".`,
    });
    expect(r.code).toBe(0);
  });

  it('fido2.passkeyProfiles: warns, naming the profile, when some targeted users can register no passkey under theirs (exit 0)', async () => {
    const r = await doctor({
      mutate: (f) => {
        pilotOf(f, 3);
        const c = fido2(f);
        c.passkeyProfiles = [OPEN, LOCKED];
        c.includeTargets = [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false, allowedPasskeyProfiles: [LOCKED.id] }, { targetType: 'group', id: PILOT, isRegistrationRequired: false, allowedPasskeyProfiles: [OPEN.id] }];
      },
    });
    const c = r.check('fido2.passkeyProfiles');
    expect(c).toMatchObject({ status: 'warn', blocking: false });
    expect(c.message).toMatch(/^\d+ of the \d+ targeted users in the FIDO2 policy's targets can register no passkey under passkey profile "Locked down" \(its AAGUID allow list is empty\): /);
    expect(c.fix).toContain('passkey profiles');
    expect(r.code).toBe(0);
  });

  it('fido2.passkeyProfiles: fails (exit 1) when no targeted user can register a passkey under the profiles', async () => {
    const r = await doctor({
      mutate: (f) => {
        const c = fido2(f);
        c.passkeyProfiles = [{ ...LOCKED, passkeyTypes: '', keyRestrictions: { isEnforced: false, enforcementType: 'block', aaGuids: [] } }];
        c.includeTargets = [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false, allowedPasskeyProfiles: [LOCKED.id] }];
      },
    });
    const c = r.check('fido2.passkeyProfiles');
    expect(c).toMatchObject({ status: 'fail', blocking: true });
    expect(c.message).toMatch(/^every one of the \d+ targeted users in the FIDO2 policy's targets can register no passkey under passkey profile "Locked down" \(it allows no passkey type\)/);
    expect(r.code).toBe(1);
  });

  it('fido2.passkeyProfiles: skipped, saying why, when beta answers 404 (tenant not migrated); doctor goes on', async () => {
    const real = Graph.prototype.get;
    const spy = vi.spyOn(Graph.prototype, 'get').mockImplementation(function (this: Graph, p: string, o?: { headers?: Record<string, string>; version?: string }) {
      if (o?.version === 'beta') return Promise.reject(new GraphError('Resource not found.', 404, 'Request_ResourceNotFound', 'GET', `/beta${p}`, false));
      return real.call(this, p, o);
    });
    try {
      const r = await doctor();
      expect(spy).toHaveBeenCalled();
      expect(r.check('fido2.passkeyProfiles')).toMatchObject({ status: 'skip', blocking: false, message: 'the beta FIDO2 configuration answered 404 Request_ResourceNotFound: this tenant shows no passkey profiles (not migrated to them); the v1.0 settings above apply.' });
      expect(r.report!.checks.filter((x) => x.status !== 'pass' && x.status !== 'skip')).toEqual([]);
      expect(r.code).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('group.exists: the enforcement group is mail-enabled (exit 1)', async () => {
    const r = await doctor({ patch: { groups: [{ id: SIM_IDS.adminsEnforcedGroup, mailEnabled: true }] } });
    expect(r.check('group.exists')).toMatchObject({ status: 'fail', message: expect.stringContaining(`(${SIM_IDS.adminsEnforcedGroup}): it is mail-enabled`) });
    expect(r.code).toBe(1);
  });

  it('group.exists: two groups of that name (exit 1)', async () => {
    const r = await doctor({ patch: { groups: [{ id: 'a1100000-0000-4000-8000-0000000000ff', displayName: 'passkey-campaign-admins-passkeys-enforced', securityEnabled: true, mailEnabled: false }] } });
    expect(r.err).toBe('');
    expect(r.check('group.exists').message).toMatch(/^2 groups are named "passkey-campaign-admins-passkeys-enforced"/);
    expect(r.code).toBe(1);
  });

  it('group.write: without a group write permission, ownership passes, saying Graph does not document it', async () => {
    const r = await doctor({ patch: withoutRole('GroupMember.ReadWrite.All') });
    expect(r.check('group.write')).toMatchObject({ status: 'pass', message: expect.stringContaining('the identity owns the group and holds no group write permission; Graph documents the permissions for adding members (group-post-members.md), not group ownership') });
    expect(r.code).toBe(0);
  });

  it('group.write: neither the permission nor ownership (exit 1)', async () => {
    const r = await doctor({ patch: { ...withoutRole('GroupMember.ReadWrite.All'), groups: [{ id: SIM_IDS.adminsEnforcedGroup, owners: [] }] } });
    expect(r.check('group.write')).toMatchObject({ status: 'fail', blocking: true, message: expect.stringMatching(/^the identity \([0-9a-f-]{36}\) holds none of GroupMember\.ReadWrite\.All, Group\.ReadWrite\.All, Directory\.ReadWrite\.All and does not own the group\.$/) });
    expect(r.code).toBe(1);
  });

  it('ca.exists: the policy was deleted (exit 1)', async () => {
    const r = await doctor({ patch: { remove: { conditionalAccessPolicies: [SIM_IDS.caAdminsCampaign] } } });
    expect(r.check('ca.exists')).toMatchObject({ status: 'fail', message: 'no Conditional Access policy named "passkey-campaign-admins-passkeys-policy".' });
    expect(r.check('ca.state').status).toBe('skip');
    expect(r.code).toBe(1);
  });

  const edited = (f: TenantFixture, edit: (p: NonNullable<TenantFixture['conditionalAccessPolicies']>[number]) => void) => edit(f.conditionalAccessPolicies!.find((p) => p.id === SIM_IDS.caAdminsCampaign)!);

  it('ca.targets: the policy also includes another group (exit 1)', async () => {
    const r = await doctor({ mutate: (f) => edited(f, (p) => void p.conditions!.users!.includeGroups!.push(SIM_IDS.allStaffGroup)) });
    expect(r.check('ca.targets')).toMatchObject({ status: 'fail', message: `the policy includes group ${SIM_IDS.adminsEnforcedGroup}, group ${SIM_IDS.allStaffGroup}; it must include only the enforcement group ${SIM_IDS.adminsEnforcedGroup}.` });
    expect(r.check('ca.drift').message).toContain(`conditions.users.includeGroups: live [${SIM_IDS.adminsEnforcedGroup}, ${SIM_IDS.allStaffGroup}], declared [${SIM_IDS.adminsEnforcedGroup}]`);
    expect(r.code).toBe(1);
  });

  it('ca.grant: the grant was changed to plain MFA (exit 1)', async () => {
    const r = await doctor({ mutate: (f) => edited(f, (p) => void (p.grantControls = { operator: 'OR', builtInControls: ['mfa'] })) });
    expect(r.check('ca.grant')).toMatchObject({ status: 'fail', message: 'the grant is mfa, not the Phishing-resistant MFA strength 00000000-0000-0000-0000-000000000004.' });
    expect(r.code).toBe(1);
  });

  it('ca.state: enabled while the campaign asks for report-only (exit 1)', async () => {
    const r = await doctor({ patch: { conditionalAccessPolicies: [{ id: SIM_IDS.caAdminsCampaign, state: 'enabled' }] } });
    expect(r.check('ca.state')).toMatchObject({ status: 'fail', message: 'the policy is enabled; the campaign asks for enabledForReportingButNotEnforced (report-only unless spec.enforcement.policyState is enabled).' });
    expect(r.code).toBe(1);
    await emulator!.close();
    emulator = undefined;
    // The campaign file enabling enforcement makes the report-only policy the drift.
    const e = await doctor({ campaign: { policyState: 'enabled' } });
    expect(e.check('ca.state')).toMatchObject({ status: 'fail', message: 'the policy is enabledForReportingButNotEnforced; the campaign asks for enabled.' });
  });

  it('ca.breakGlass: a break-glass account is no longer excluded (exit 1)', async () => {
    const r = await doctor({ mutate: (f) => edited(f, (p) => void (p.conditions!.users!.excludeUsers = [SIM_IDS.breakGlass1])) });
    expect(r.check('ca.breakGlass')).toMatchObject({ status: 'fail', message: `${SIM_IDS.breakGlass2} (${SIM_IDS.breakGlass2}) is not excluded.` });
    expect(r.check('breakGlass.accounts').message).toContain(`${SIM_IDS.breakGlass2} is not excluded from the policy`);
    expect(r.code).toBe(1);
  });

  it('ca.drift: a field the other checks do not cover, reported field by field (advisory, exit 0)', async () => {
    const r = await doctor({ mutate: (f) => edited(f, (p) => void (p.conditions!.clientAppTypes = ['browser'])) });
    expect(r.check('ca.drift')).toMatchObject({ status: 'fail', blocking: false, message: 'the live policy differs from the declaration: conditions.clientAppTypes: live [browser], declared [all].' });
    expect(r.report!.checks.filter((c) => c.status === 'fail' && c.id !== 'teams.installed').map((c) => c.id)).toEqual(['ca.drift']);
    expect(r.code).toBe(0);
  });

  it('breakGlass.accounts: a disabled break-glass account (exit 1); UPN entries are a warning', async () => {
    const r = await doctor({ patch: { users: [{ id: SIM_IDS.breakGlass2, accountEnabled: false }] } });
    expect(r.check('breakGlass.accounts')).toMatchObject({ status: 'fail', message: `${SIM_IDS.breakGlass2} is disabled.` });
    expect(r.code).toBe(1);
    await emulator!.close();
    emulator = undefined;
    const upn = await doctor({ campaign: { breakGlass: ['bg1@contoso.com', SIM_IDS.breakGlass2] } });
    expect(upn.check('breakGlass.accounts')).toMatchObject({ status: 'warn', message: expect.stringContaining(`bg1@contoso.com (${SIM_IDS.breakGlass1}) is named by UPN`) });
    expect(upn.check('ca.breakGlass').status).toBe('pass');
    expect(upn.code).toBe(0);
  });

  it('breakGlass.accounts: a break-glass account in the enforcement group (exit 1)', async () => {
    const r = await doctor({ mutate: (f) => void (f.groups!.find((g) => g.id === SIM_IDS.adminsEnforcedGroup)!.members = [SIM_IDS.breakGlass1]) });
    expect(r.check('breakGlass.accounts').message).toBe(`${SIM_IDS.breakGlass1} is a member of the enforcement group.`);
    expect(r.code).toBe(1);
  });

  it('teams.app: the catalog has no app of that id (exit 1)', async () => {
    const r = await doctor({ env: { CAMPAIGN_TEAMS_APP_ID: '7e000000-0000-4000-8000-0000000000ff' } });
    expect(r.check('teams.app')).toMatchObject({ status: 'fail', message: 'no app with catalog id 7e000000-0000-4000-8000-0000000000ff in the org app catalog.' });
    expect(r.code).toBe(1);
  });

  it('teams.app: the manifest names another identity (exit 1)', async () => {
    const r = await doctor({ patch: { teamsApps: [{ id: SIM_APP.teamsAppId, webApplicationInfoId: '99999999-0000-4000-8000-000000000000' }] } });
    expect(r.check('teams.app').message).toContain(`its manifest's webApplicationInfo names 99999999-0000-4000-8000-000000000000, not the identity ${SIM_APP.clientId}`);
    expect(r.code).toBe(1);
  });

  it('teams.installed: targeted users without the app are counted with examples (advisory, exit 0)', async () => {
    let missing: string[] = [];
    const r = await doctor({
      mutate: (f) => {
        // Every user has the app but three admins.
        const admins = f.users!.filter((u) => u.userPrincipalName.startsWith('adm.')).map((u) => u.id);
        missing = admins.slice(0, 3);
        f.teamsAppInstallations = Object.fromEntries(f.users!.filter((u) => !missing.includes(u.id)).map((u) => [u.id, [SIM_APP.teamsAppId]]));
      },
    });
    const c = r.check('teams.installed');
    expect(c).toMatchObject({ status: 'fail', blocking: false });
    expect(c.message).toMatch(/^3 of \d+ enabled targeted users do not have the app: adm\.[^,]+@contoso\.com, adm\.[^,]+@contoso\.com, adm\.[^,]+@contoso\.com\.$/);
    expect(r.code).toBe(0);
  });

  it('mail.sender: the sender does not exist (exit 1)', async () => {
    const r = await doctor({ channel: 'email', patch: { remove: { users: ['5e000000-0000-4000-8000-000000000001'] } } });
    expect(r.check('mail.sender')).toMatchObject({ status: 'fail', message: 'sender passkeys@contoso.com is not a user of the tenant.' });
    expect(r.code).toBe(1);
  });

  it('mail.sender: the sender has no mailbox (exit 1)', async () => {
    const r = await doctor({ channel: 'email', mutate: (f) => void (f.mailboxes = [SIM_IDS.breakGlass1]) });
    expect(r.check('mail.sender')).toMatchObject({ status: 'fail', message: expect.stringMatching(/^sender passkeys@contoso\.com has no Exchange Online mailbox/) });
    expect(r.code).toBe(1);
  });

  it('mail.sender: one of several senders has no mailbox (exit 1)', async () => {
    const r = await doctor({ channel: 'email', campaign: { senders: ['passkeys@contoso.com', 'bg1@contoso.com'] }, mutate: (f) => void (f.mailboxes = ['passkeys@contoso.com']) });
    expect(r.check('mail.sender')).toMatchObject({ status: 'fail', title: 'The sender mailboxes exist', message: 'sender bg1@contoso.com has no Exchange Online mailbox (MailboxNotEnabledForRESTAPI).' });
    expect(r.code).toBe(1);
  });

  it('mail.recipients: targeted users without a mail address are counted and named (advisory, exit 0)', async () => {
    let upn = '';
    const r = await doctor({
      channel: 'email',
      mutate: (f) => {
        const admin = f.users!.find((u) => u.userPrincipalName.startsWith('admin') || (u.jobTitle ?? '').includes('Admin'))!;
        upn = admin.userPrincipalName;
        admin.mail = null;
      },
    });
    const c = r.check('mail.recipients');
    expect(c).toMatchObject({ status: 'fail', blocking: false });
    expect(c.message).toMatch(new RegExp(`^1 of \\d+ targeted users have no mail address and cannot be notified by email: ${upn.replace(/\./g, '\\.')}\\.$`));
    expect(r.code).toBe(0);
  });

  it("registration.campaign: Entra's own campaign is enabled (warning, exit 0)", async () => {
    const r = await doctor({ mutate: (f) => void (f.authenticationMethodsPolicy!.registrationEnforcement!.authenticationMethodsRegistrationCampaign!.state = 'enabled') });
    expect(r.check('registration.campaign')).toMatchObject({ status: 'warn', blocking: false, message: expect.stringContaining('the Microsoft registration campaign is enabled for all_users (microsoftAuthenticator), snooze 1 days; the tenant qualifies for the Microsoft-managed passkey campaign (FIDO2 enabled, self-service, no key restrictions): Entra may also nudge') });
    expect(r.code).toBe(0);
  });

  it('ledger.store: the ledger at --state belongs to another campaign (exit 1)', async () => {
    const r = await doctor();
    expect(r.check('ledger.store')).toMatchObject({ status: 'pass', message: expect.stringContaining('no ledger yet; the lock was taken and released') });
    // A run of admins-passkeys writes its ledger; that ledger copied to where another campaign keeps its own.
    const state = path.join(r.tmp, 'state');
    const env = { AZURE_CLIENT_ID: SIM_APP.clientId, CAMPAIGN_TEAMS_APP_ID: SIM_APP.teamsAppId };
    expect(await run(['reconcile', '--campaign', path.join(r.tmp, 'admins-passkeys.yaml'), '--graph-url', emulator!.url, '--state', state, '--now', START, '--json'], captureIo(r.tmp, env))).toBe(0);
    fs.mkdirSync(path.join(state, 'other-campaign'));
    fs.copyFileSync(path.join(state, 'admins-passkeys', 'ledger.jsonl'), path.join(state, 'other-campaign', 'ledger.jsonl'));
    const before = fs.readFileSync(path.join(state, 'other-campaign', 'ledger.jsonl'), 'utf8');
    const io = captureIo(r.tmp, env);
    const code = await run(['doctor', '--campaign', campaignFile(r.tmp, { name: 'other-campaign' }), '--graph-url', emulator!.url, '--state', state, '--now', START, '--format', 'json'], io);
    const c = (JSON.parse(io.out()) as DoctorReport).checks.find((x) => x.id === 'ledger.store')!;
    expect(c).toMatchObject({ status: 'fail', blocking: true, message: expect.stringContaining('belongs to campaign admins-passkeys, not other-campaign') });
    expect(code).toBe(1);
    expect(fs.readFileSync(path.join(state, 'other-campaign', 'ledger.jsonl'), 'utf8')).toBe(before);
  });
});

describe('usage and runtime errors', () => {
  it('exit 2 with one line when Graph cannot be reached, and for usage mistakes', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-'));
    const file = campaignFile(tmp);
    const io = captureIo(tmp, {});
    expect(await run(['doctor', '--campaign', file, '--graph-url', 'http://127.0.0.1:59999', '--state', path.join(tmp, 'state')], io)).toBe(2);
    expect(io.err()).toMatch(/^campaign doctor: cannot reach Microsoft Graph at http:\/\/127\.0\.0\.1:59999/);
    expect(io.err()).not.toMatch(/internal error|\n\s+at /);
    const usage = captureIo(tmp, {});
    expect(await run(['doctor', '--campaign', file, '--format', 'xml'], usage)).toBe(2);
    expect(usage.err()).toBe('campaign doctor: --format must be one of text, json, github (got "xml").\n');
    const missing = captureIo(tmp, {});
    expect(await run(['doctor'], missing)).toBe(2);
    expect(missing.err()).toMatch(/^campaign doctor: --campaign is required\./);
  });
});
