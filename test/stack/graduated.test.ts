// A graduated campaign under mocks: a second group, owned like the enforcement group, and a second policy,
// enabled, for that group only, with the first policy's exclusions and grant. A reportOnly campaign gets neither.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { DEPLOYER_OBJECT_ID, campaignsCopy, fakeId, inProgress, runProgram, type ProgramRun } from './harness';

const GROUP = 'azuread:index/group:Group';
const POLICY = 'azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy';
const STRENGTH = '/policies/authenticationStrengthPolicies/00000000-0000-0000-0000-000000000004';
const BREAK_GLASS = ['bg1@contoso.com', 'bg2@contoso.com'].map((u) => fakeId(`user:${u}`));
const EXCLUDED_GUID = 'c0ffee00-0000-4000-8000-000000000001';
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

/** admins-passkeys in graduated mode (with a user exclusion), all-staff-passkeys left reportOnly; both in progress. */
function graduatedAdmins(): string {
  const dir = campaignsCopy((name, text) => {
    const t = inProgress(text);
    if (name !== 'admins-passkeys') return t;
    const doc = parseDocument(t);
    doc.setIn(['spec', 'enforcement', 'mode'], 'graduated');
    doc.setIn(['spec', 'exclusions', 'users'], [EXCLUDED_GUID, 'carol@contoso.com']);
    return doc.toString();
  });
  dirs.push(dir);
  return dir;
}

describe('a graduated campaign', () => {
  let run: ProgramRun;
  beforeAll(async () => { run = await runProgram({ campaignsDir: graduatedAdmins() }); });

  it('gets a second group, security-enabled and owned by the scheduler identity and the deployer like the enforcement group', () => {
    const principal = run.one('azure-native:managedidentity:UserAssignedIdentity').state.principalId as string;
    const group = run.one(GROUP, 'admins-passkeys-graduated-group');
    expect(group.inputs).toEqual({
      displayName: 'passkey-campaign-admins-passkeys-graduated',
      description: expect.stringContaining('Members are managed by the reconcile job') as unknown as string,
      securityEnabled: true,
      mailEnabled: false,
      preventDuplicateNames: true,
      owners: [principal, DEPLOYER_OBJECT_ID],
    });
    expect(run.one(GROUP, 'admins-passkeys-group').inputs.owners).toEqual(group.inputs.owners);
  });

  it('gets an enabled policy for the graduated group only, excluding break-glass and the user exclusions exactly like the first policy', () => {
    const graduatedGroup = run.one(GROUP, 'admins-passkeys-graduated-group');
    const policy = run.one(POLICY, 'admins-passkeys-graduated-policy');
    const first = run.one(POLICY, 'admins-passkeys-policy');
    expect(policy.inputs).toEqual({
      displayName: 'passkey-campaign-admins-passkeys-graduated-policy',
      state: 'enabled',
      conditions: {
        clientAppTypes: ['all'],
        applications: { includedApplications: ['All'] },
        users: {
          includedGroups: [graduatedGroup.state.objectId],
          excludedUsers: [...BREAK_GLASS, EXCLUDED_GUID, fakeId('user:carol@contoso.com')],
          excludedGroups: [],
        },
      },
      grantControls: { operator: 'AND', authenticationStrengthPolicyId: STRENGTH },
    });
    expect(policy.inputs.conditions.users.excludedUsers).toEqual(first.inputs.conditions.users.excludedUsers);
    expect(policy.inputs.conditions.users.includedGroups).not.toContain(run.one(GROUP, 'admins-passkeys-group').state.objectId);
    expect(policy.dependsOn).toContain('admins-passkeys-graduated-group');
    expect(policy.dependsOn).not.toContain('admins-passkeys-group');
  });

  it('is the only enabled policy: the first policy stays report-only as the file says, and the reportOnly campaign gets no second policy', () => {
    const enabled = run.ofType(POLICY).filter((p) => p.inputs.state === 'enabled').map((p) => p.name);
    expect(enabled).toEqual(['admins-passkeys-graduated-policy']);
    expect(run.one(POLICY, 'admins-passkeys-policy').inputs.state).toBe('enabledForReportingButNotEnforced');
    expect(run.ofType(GROUP).map((g) => g.name).sort()).toEqual(['admins-passkeys-graduated-group', 'admins-passkeys-group', 'all-staff-passkeys-group']);
    expect(run.ofType(POLICY).map((p) => p.name).sort()).toEqual(['admins-passkeys-graduated-policy', 'admins-passkeys-policy', 'all-staff-passkeys-policy']);
  });

  it('exports the graduated group and policy like the enforcement group and policy', () => {
    expect(run.outputs.graduatedGroups).toEqual({ 'admins-passkeys': run.one(GROUP, 'admins-passkeys-graduated-group').state.objectId });
    expect(run.outputs.graduatedConditionalAccessPolicies).toEqual({
      'admins-passkeys': { id: run.one(POLICY, 'admins-passkeys-graduated-policy').id, state: 'enabled' },
    });
    expect(Object.keys(run.outputs.enforcementGroups as object)).toEqual(['admins-passkeys', 'all-staff-passkeys']);
  });

  it('grants the identity what reading sign-in logs needs: AuditLog.Read.All, Directory.Read.All and Policy.Read.All', async () => {
    const { graphRoleName } = await import('../../src/stack/graph-roles');
    const roles = run.ofType('azuread:index/appRoleAssignment:AppRoleAssignment').map((a) => graphRoleName(a.inputs.appRoleId));
    expect(roles).toEqual(expect.arrayContaining(['AuditLog.Read.All', 'Directory.Read.All', 'Policy.Read.All']));
  });
});

describe('reportOnly campaigns', () => {
  it('get no graduated group, no graduated policy, no graduated exports and no sign-in roles beyond the usual', async () => {
    const dir = campaignsCopy((_name, text) => inProgress(text));
    dirs.push(dir);
    const run = await runProgram({ campaignsDir: dir });
    expect(run.ofType(GROUP).map((g) => g.inputs.displayName).filter((n: string) => n.endsWith('-graduated'))).toEqual([]);
    expect(run.ofType(POLICY).map((p) => p.name).sort()).toEqual(['admins-passkeys-policy', 'all-staff-passkeys-policy']);
    expect(run.ofType(POLICY).filter((p) => p.inputs.state === 'enabled')).toEqual([]);
    expect(run.outputs.graduatedGroups).toEqual({});
    expect(run.outputs.graduatedConditionalAccessPolicies).toEqual({});
    const { graphRoleName } = await import('../../src/stack/graph-roles');
    const roles = run.ofType('azuread:index/appRoleAssignment:AppRoleAssignment').map((a) => graphRoleName(a.inputs.appRoleId));
    expect(roles).not.toContain('Directory.Read.All');
    expect(roles).not.toContain('Policy.Read.All');
  });
});
