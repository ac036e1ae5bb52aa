// The Pulumi program under mocks: per example campaign one enforcement group and one report-only CA
// policy with exactly the properties, the scheduler's settings and the Graph roles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPH_APP_ROLE_IDS, graphRoleName } from '../../src/stack/graph-roles';
import { DEPLOYER_OBJECT_ID, GRAPH_SP_OBJECT_ID, POSTPONE_KEY, appSettings, isSecret, campaignsCopy, fakeId, inProgress, runProgram, type ProgramRun } from './harness';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { loadCampaignFile } from '../../src/campaign/load';

const GROUP = 'azuread:index/group:Group';
const POLICY = 'azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy';
const STRENGTH = '/policies/authenticationStrengthPolicies/00000000-0000-0000-0000-000000000004';
const EXCLUDED_GUID = 'c0ffee00-0000-4000-8000-000000000001';
const EXCLUDED_GROUP = '0b7e9d42-1c3a-4f5e-8d6b-7a2c9e1f4b35';
// Break-glass accounts as the example files list them, resolved the way the mocked getUser does.
const breakGlassIds = (name: string) =>
  loadCampaignFile(path.join(__dirname, '..', 'fixtures', 'campaigns', `${name}.yaml`)).campaign!.spec.exclusions.breakGlass.map((u) => fakeId(`user:${u}`));
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

describe('two in-progress example campaigns', () => {
  let run: ProgramRun;
  beforeAll(async () => {
    const dir = campaignsCopy((name, text) => {
      const t = inProgress(text);
      // A GUID (used as is) and a UPN (resolved with getUser) as user exclusions.
      if (name !== 'all-staff-passkeys') return t;
      const doc = parseDocument(t);
      doc.setIn(['spec', 'exclusions', 'users'], [EXCLUDED_GUID, 'carol@contoso.com']);
      doc.setIn(['spec', 'exclusions', 'groups'], [EXCLUDED_GROUP]);
      return doc.toString();
    });
    dirs.push(dir);
    run = await runProgram({ campaignsDir: dir });
  });

  const principalId = () => run.one('azure-native:managedidentity:UserAssignedIdentity').state.principalId as string;

  it.each(['admins-passkeys', 'all-staff-passkeys'])('creates exactly one enforcement group for %s, security-enabled, not mail-enabled, owned by the scheduler identity', (name) => {
    const groups = run.ofType(GROUP).filter((g) => g.inputs.displayName === `passkey-campaign-${name}-enforced`);
    expect(groups).toHaveLength(1);
    expect(groups[0].name).toBe(`${name}-group`);
    expect(groups[0].inputs).toEqual({
      displayName: `passkey-campaign-${name}-enforced`,
      description: `Users enforced by passkey campaign ${name}. Members are managed by the reconcile job; do not edit by hand.`,
      securityEnabled: true,
      mailEnabled: false,
      preventDuplicateNames: true,
      owners: [principalId(), DEPLOYER_OBJECT_ID],
    });
  });

  it('creates one group and one CA policy per campaign and nothing else from Entra', () => {
    expect(run.ofType(GROUP).map((g) => g.name).sort()).toEqual(['admins-passkeys-group', 'all-staff-passkeys-group']);
    expect(run.ofType(POLICY).map((p) => p.name).sort()).toEqual(['admins-passkeys-policy', 'all-staff-passkeys-policy']);
    expect(run.ofType('passkeys:campaign:PasskeyCampaign').map((c) => c.name).sort()).toEqual(['admins-passkeys', 'all-staff-passkeys']);
  });

  it('excludes at least one break-glass account in each example campaign', () => {
    expect(breakGlassIds('admins-passkeys').length).toBeGreaterThan(0);
    expect(breakGlassIds('all-staff-passkeys').length).toBeGreaterThan(0);
  });

  it('gives admins-passkeys a report-only policy for its group with break-glass excluded and phishing-resistant strength required', () => {
    const group = run.one(GROUP, 'admins-passkeys-group');
    expect(run.one(POLICY, 'admins-passkeys-policy').inputs).toEqual({
      displayName: 'passkey-campaign-admins-passkeys-policy',
      state: 'enabledForReportingButNotEnforced',
      conditions: {
        clientAppTypes: ['all'],
        applications: { includedApplications: ['All'] },
        users: {
          includedGroups: [group.state.objectId],
          excludedUsers: breakGlassIds('admins-passkeys'),
          excludedGroups: loadCampaignFile(path.join(__dirname, '..', 'fixtures', 'campaigns', 'admins-passkeys.yaml')).campaign!.spec.exclusions.groups,
        },
      },
      grantControls: { operator: 'AND', authenticationStrengthPolicyId: STRENGTH },
    });
  });

  it('gives all-staff-passkeys a policy excluding break-glass, the user exclusions (GUID as is, UPN resolved) and the exclusion group', () => {
    const group = run.one(GROUP, 'all-staff-passkeys-group');
    expect(run.one(POLICY, 'all-staff-passkeys-policy').inputs).toEqual({
      displayName: 'passkey-campaign-all-staff-passkeys-policy',
      state: 'enabledForReportingButNotEnforced',
      conditions: {
        clientAppTypes: ['all'],
        applications: { includedApplications: ['All'] },
        users: {
          includedGroups: [group.state.objectId],
          excludedUsers: [...breakGlassIds('all-staff-passkeys'), EXCLUDED_GUID, fakeId('user:carol@contoso.com')],
          excludedGroups: [EXCLUDED_GROUP],
        },
      },
      grantControls: { operator: 'AND', authenticationStrengthPolicyId: STRENGTH },
    });
    const looked = run.calls.filter((c) => c.token === 'azuread:index/getUser:getUser').map((c) => c.inputs.userPrincipalName);
    expect(looked).not.toContain(EXCLUDED_GUID);
  });

  it('hardens both storage accounts: no public blob access, TLS 1.2, no shared keys, HTTPS only', () => {
    const accounts = run.ofType('azure-native:storage:StorageAccount');
    expect(accounts.map((a) => a.name).sort()).toEqual(['scheduler-host', 'scheduler-ledger']);
    for (const a of accounts) {
      expect(a.inputs).toMatchObject({ allowBlobPublicAccess: false, minimumTlsVersion: 'TLS1_2', allowSharedKeyAccess: false, enableHttpsTrafficOnly: true, kind: 'StorageV2' });
      expect(a.inputs.accountName).toMatch(/^[a-z0-9]{3,24}$/);
    }
    expect(run.one('azure-native:storage:BlobContainer', 'scheduler-ledger-container').inputs).toMatchObject({ containerName: 'ledger', publicAccess: 'None' });
  });

  it('grants the identity storage rights on the ledger container only', () => {
    const ledger = run.one('azure-native:storage:StorageAccount', 'scheduler-ledger');
    const roles = run.ofType('azure-native:authorization:RoleAssignment');
    const onLedger = roles.filter((r) => String(r.inputs.scope).startsWith(`/subscriptions/00000000-aaaa-4bbb-8ccc-dddddddddddd/fake/StorageAccount/${ledger.name}`));
    expect(onLedger).toHaveLength(1);
    expect(onLedger[0].inputs).toMatchObject({
      principalId: principalId(),
      principalType: 'ServicePrincipal',
      scope: `/subscriptions/00000000-aaaa-4bbb-8ccc-dddddddddddd/fake/StorageAccount/scheduler-ledger/blobServices/default/containers/ledger`,
      roleDefinitionId: '/subscriptions/00000000-aaaa-4bbb-8ccc-dddddddddddd/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe',
    });
  });

  it('runs a Linux Node 22 Flex Consumption function app with the timer schedule, campaigns, ledger, Graph URL, sender and postponement key reference', () => {
    const app = run.one('azure-native:web:WebApp');
    expect(app.inputs).toMatchObject({ kind: 'functionapp,linux', httpsOnly: true, identity: { type: 'UserAssigned' } });
    expect(app.inputs.functionAppConfig.runtime).toEqual({ name: 'node', version: '22' });
    expect(run.one('azure-native:web:AppServicePlan').inputs).toMatchObject({ kind: 'functionapp', reserved: true, sku: { name: 'FC1', tier: 'FlexConsumption' } });
    const ledger = run.one('azure-native:storage:StorageAccount', 'scheduler-ledger').inputs.accountName;
    const s = appSettings(run);
    expect(s).toMatchObject({
      RECONCILE_SCHEDULE: '0 0 6 * * *',
      CAMPAIGN_NAMES: 'admins-passkeys,all-staff-passkeys',
      CAMPAIGNS_DIR: expect.any(String),
      CAMPAIGN_STATE: `azblob://${ledger}/ledger`,
      CAMPAIGN_GRAPH_URL: 'https://graph.microsoft.com',
      CAMPAIGN_NOTIFICATION_SENDER: 'passkeys@contoso.com',
      CAMPAIGN_TEAMS_APP_ID: 'teams-app',
      CAMPAIGN_POSTPONE_KEY: expect.stringMatching(/^@Microsoft\.KeyVault\(SecretUri=https:\/\/passkeys-kv-[0-9a-f]{6}\.vault\.azure\.net\/secrets\/postpone-key\/[0-9a-f]{32}\)$/),
      AZURE_CLIENT_ID: run.one('azure-native:managedidentity:UserAssignedIdentity').state.clientId,
      AzureWebJobsStorage__credential: 'managedidentity',
    });
    // The postponement key itself is only in the vault's secret, a secret in the state and in previews.
    expect(Object.values(s)).not.toContain(POSTPONE_KEY);
    expect(isSecret(run.one('azure-native:keyvault:Secret', 'scheduler-postpone-key').inputs.properties)).toBe(true);
    expect(s.CAMPAIGN_POSTPONE_URL).toMatch(/^https:\/\/passkeys-test-scheduler-[0-9a-f]{6}\.azurewebsites\.net\/api\/postpone$/);
    // No connection string or key anywhere: storage is reached with the identity.
    expect(Object.keys(s).filter((k) => /ConnectionString$|AccountKey/i.test(k) && k !== 'APPLICATIONINSIGHTS_CONNECTION_STRING')).toEqual([]);
  });

  it('assigns exactly the allowed Microsoft Graph app roles for a Teams and an email campaign, to the identity', () => {
    const assignments = run.ofType('azuread:index/appRoleAssignment:AppRoleAssignment');
    expect(assignments.map((a) => graphRoleName(a.inputs.appRoleId)).sort()).toEqual([
      'AuditLog.Read.All', 'Device.Read.All', 'GroupMember.Read.All', 'Mail.Read', 'Mail.Send', 'Policy.Read.AuthenticationMethod',
      'RoleManagement.Read.Directory', 'TeamsActivity.Send',
      'TeamsAppInstallation.ReadWriteSelfForUser.All', 'User.Read.All', 'UserAuthenticationMethod.Read.All',
    ]);
    for (const a of assignments) expect(a.inputs).toMatchObject({ principalObjectId: principalId(), resourceObjectId: GRAPH_SP_OBJECT_ID });
    expect(run.outputs.graphAppRoles).toHaveLength(assignments.length);
  });

  it('exports the groups, the policies and the scheduler outputs', () => {
    expect(run.outputs.deployedCampaigns).toEqual([{ name: 'admins-passkeys', status: 'inProgress' }, { name: 'all-staff-passkeys', status: 'inProgress' }]);
    expect(run.outputs.skippedCampaigns).toEqual([]);
    expect(Object.keys(run.outputs.enforcementGroups as object)).toEqual(['admins-passkeys', 'all-staff-passkeys']);
    expect(run.outputs.ledgerUrl).toMatch(/^azblob:\/\/[a-z0-9]+\/ledger$/);
  });
});

describe('policy state', () => {
  it('is enabled only for the campaign whose file says policyState: enabled', async () => {
    const dir = campaignsCopy((name, text) => {
      const t = inProgress(text);
      return name === 'admins-passkeys' ? t.replace('policyState: reportOnly', 'policyState: enabled') : t;
    });
    dirs.push(dir);
    const run = await runProgram({ campaignsDir: dir });
    expect(run.one(POLICY, 'admins-passkeys-policy').inputs.state).toBe('enabled');
    expect(run.one(POLICY, 'all-staff-passkeys-policy').inputs.state).toBe('enabledForReportingButNotEnforced');
  });
});

describe('campaigns that have not started', () => {
  it('creates nothing for a notStarted campaign that never started, and the scheduler reconciles none', async () => {
    const dir = campaignsCopy();
    dirs.push(dir);
    const run = await runProgram({ campaignsDir: dir });
    expect(run.ofType(GROUP)).toEqual([]);
    expect(run.ofType(POLICY)).toEqual([]);
    expect(run.ofType('passkeys:campaign:PasskeyCampaign')).toEqual([]);
    expect(run.outputs.skippedCampaigns).toEqual(['admins-passkeys', 'all-staff-passkeys']);
    expect(appSettings(run).CAMPAIGN_NAMES).toBe('');
  });

  it('keeps the group and policy of a campaign reset to notStarted that is listed in previouslyStarted, and schedules it so the job resets it', async () => {
    const dir = campaignsCopy();
    dirs.push(dir);
    const run = await runProgram({ campaignsDir: dir, previouslyStarted: '["admins-passkeys"]' });
    expect(run.ofType(GROUP).map((g) => g.inputs.displayName)).toEqual(['passkey-campaign-admins-passkeys-enforced']);
    expect(run.ofType(POLICY)).toHaveLength(1);
    expect(appSettings(run).CAMPAIGN_NAMES).toBe('admins-passkeys');
  });

  it('schedules paused and ended campaigns too, so the job records their status', async () => {
    const dir = campaignsCopy((name, text) => text.replace(/^ {2}status: notStarted$/m, `  status: ${name === 'admins-passkeys' ? 'paused' : 'ended'}`));
    dirs.push(dir);
    const run = await runProgram({ campaignsDir: dir });
    expect(appSettings(run).CAMPAIGN_NAMES).toBe('admins-passkeys,all-staff-passkeys');
  });
});

describe('an invalid campaign', () => {
  it('fails the program with the same file:line:col message as campaign validate', async () => {
    const dir = campaignsCopy((name, text) => (name === 'admins-passkeys' ? inProgress(text).replace('deviceUpdate:        { gracePeriodDays', 'deviceUpdate:        { gracePeroidDays') : text));
    dirs.push(dir);
    const { formatDiagnostic, validatePaths } = await import('../../src/campaign/validate');
    const expected = validatePaths([dir]).files.flatMap((f: { errors: Parameters<typeof formatDiagnostic>[0][] }) => f.errors.map(formatDiagnostic));
    expect(expected).toHaveLength(1);
    expect(expected[0]).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/admins-passkeys\\.yaml:\\d+:\\d+: spec\\.stages\\.deviceUpdate\\.gracePeroidDays: `));
    await expect(runProgram({ campaignsDir: dir })).rejects.toThrow(expected[0]);
  });
});

describe('Graph app role ids', () => {
  it('are the well-known ids the policy pack checks', () => {
    expect(Object.values(GRAPH_APP_ROLE_IDS).every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
  });
});
