// Each guardrail gets the happy-path args the stack builds, then one broken field per case, and the
// exact violation message. validateResource is called directly; the pack entry is never imported.
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { describe, expect, it } from 'vitest';
import {
  caPolicyDoesNotTargetAllUsers, caPolicyEnabledOnlyWhenCampaignSaysSo, caPolicyExcludesBreakGlass, caPolicyRequiresPhishingResistantStrength,
  campaignFileLookup, functionAppSecretsFromKeyVault, graduatedPolicyIncludesOnlyItsGroup, guardrailPolicies, schedulerAzureRolesAllowed, schedulerGraphRolesAllowed, storageAccountPrivateTls12,
  type CampaignFacts, type CampaignLookup,
} from './guardrails';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

type Props = Record<string, any>;
const CA = 'azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy';
const STRENGTH = '/policies/authenticationStrengthPolicies/00000000-0000-0000-0000-000000000004';
const SUB = '/subscriptions/00000000-aaaa-4bbb-8ccc-dddddddddddd';

function args(type: string, name: string, props: Props, config: object = {}): ResourceValidationArgs {
  return {
    type, name, props, urn: `urn:pulumi:prod::passkey-campaigns::${type}::${name}`, opts: {} as never, stackTags: new Map(),
    isType: () => false, asType: () => undefined, getConfig: () => config, notApplicable: () => { throw new Error('notApplicable'); },
  } as unknown as ResourceValidationArgs;
}

function violations(policy: ResourceValidationPolicy, a: ResourceValidationArgs): string[] {
  const found: string[] = [];
  const checks = policy.validateResource ?? [];
  for (const check of Array.isArray(checks) ? checks : [checks]) void check(a, (m) => found.push(m));
  return found;
}

const caProps = (): Props => ({
  displayName: 'passkey-campaign-admins-passkeys-policy',
  state: 'enabledForReportingButNotEnforced',
  conditions: {
    clientAppTypes: ['all'],
    applications: { includedApplications: ['All'] },
    users: { includedGroups: ['group-id'], excludedUsers: ['bg1-id', 'bg2-id'], excludedGroups: [] },
  },
  grantControls: { operator: 'AND', authenticationStrengthPolicyId: STRENGTH },
});
const storageProps = (): Props => ({ accountName: 'passkeysled2ce5e2', kind: 'StorageV2', allowBlobPublicAccess: false, minimumTlsVersion: 'TLS1_2', allowSharedKeyAccess: false, enableHttpsTrafficOnly: true });
const ledgerScope = `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/passkeysled2ce5e2/blobServices/default/containers/ledger`;
const roleProps = (): Props => ({ principalId: 'p', principalType: 'ServicePrincipal', scope: ledgerScope, roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe` });

const vaultScope = `${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/passkeys-kv-2ce5e2`;
const SETTINGS = 'azure-native:web:WebAppApplicationSettings';
const PLAIN_KEY = 'k'.repeat(48);
const KEY_REF = '@Microsoft.KeyVault(SecretUri=https://passkeys-kv-2ce5e2.vault.azure.net/secrets/postpone-key/0123456789abcdef0123456789abcdef)';
const settingsProps = (over: Props = {}): Props => ({ name: 'passkeys-prod-scheduler-2ce5e2', resourceGroupName: 'rg', properties: {
  RECONCILE_SCHEDULE: '0 0 6 * * *', CAMPAIGN_STATE: 'azblob://passkeysled2ce5e2/ledger', CAMPAIGN_POSTPONE_KEY: KEY_REF,
  CAMPAIGN_POSTPONE_KEY_PREVIOUS: KEY_REF.replace('postpone-key/', 'postpone-key-previous/'), ...over,
} });
const MUST = 'A secret setting must be a Key Vault reference, @Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/<version>), so the key stays in the vault and only the app\'s identity reads it.';

const BG1 = 'b9000000-0000-4000-8000-000000000001';
const BG2 = 'b9000000-0000-4000-8000-000000000002';
const facts = (policyState: 'reportOnly' | 'enabled', mode: 'reportOnly' | 'graduated', breakGlass: string[] = [BG1, BG2], issuesOnboardingPasses = false): CampaignFacts =>
  ({ policyState, mode, breakGlass, issuesOnboardingPasses });
const FILES = new Map<string, CampaignFacts>([
  ['enforced-campaign', facts('enabled', 'reportOnly')],
  ['admins-passkeys', facts('reportOnly', 'reportOnly')],
  ['pilot', facts('reportOnly', 'graduated')],
  // Break-glass by UPN: the program resolves it, the pack can only count.
  ['upn-pilot', facts('reportOnly', 'graduated', ['bg1@contoso.com'])],
  // Onboarding enabled with deliverTo: manager: the job creates Temporary Access Passes.
  ['onboarding', facts('reportOnly', 'reportOnly', [BG1], true)],
]);
const lookup: CampaignLookup = () => FILES;
const noGraduated: CampaignLookup = () => new Map([...FILES].filter(([, f]) => f.mode !== 'graduated'));
const noManagerDelivery: CampaignLookup = () => new Map([...FILES].filter(([, f]) => !f.issuesOnboardingPasses));
const TAP_WRITE = '50483e42-d915-4231-9639-7fdb7fd190e5';
const CA_NAME = 'Conditional Access policy "passkey-campaign-admins-passkeys-policy" (admins-passkeys-policy)';
const graduatedProps = (over: Props = {}): Props => ({
  ...caProps(), displayName: 'passkey-campaign-pilot-graduated-policy', state: 'enabled',
  conditions: { ...caProps().conditions, users: { includedGroups: ['graduated-group-id'], excludedUsers: [BG1, BG2], excludedGroups: [], ...over } },
});
const GRAD_NAME = 'Conditional Access policy "passkey-campaign-pilot-graduated-policy" (pilot-graduated-policy)';
const MUST_GRADUATED = 'It must include only the group passkey-campaign-pilot-graduated and exclude every break-glass account.';

interface Case {
  name: string;
  policy: ResourceValidationPolicy;
  type: string;
  resource: string;
  props: Props;
  config?: object;
  messages: string[];
}

const cases: Case[] = [
  { name: 'ca-policy-excludes-break-glass passes a policy that excludes the break-glass accounts', policy: caPolicyExcludesBreakGlass(), type: CA, resource: 'admins-passkeys-policy', props: caProps(), messages: [] },
  { name: 'ca-policy-excludes-break-glass rejects a policy that excludes no user', policy: caPolicyExcludesBreakGlass(), type: CA, resource: 'admins-passkeys-policy',
    props: { ...caProps(), conditions: { ...caProps().conditions, users: { includedGroups: ['group-id'], excludedUsers: [] } } },
    messages: [`${CA_NAME} excludes no user. It must exclude at least one break-glass account (spec.exclusions.breakGlass) so a mistake cannot lock every admin out.`] },
  { name: 'ca-policy-requires-phishing-resistant-strength passes the built-in phishing-resistant strength', policy: caPolicyRequiresPhishingResistantStrength(), type: CA, resource: 'admins-passkeys-policy', props: caProps(), messages: [] },
  { name: 'ca-policy-requires-phishing-resistant-strength rejects the multifactor strength', policy: caPolicyRequiresPhishingResistantStrength(), type: CA, resource: 'admins-passkeys-policy',
    props: { ...caProps(), grantControls: { operator: 'AND', authenticationStrengthPolicyId: '/policies/authenticationStrengthPolicies/00000000-0000-0000-0000-000000000002' } },
    messages: [`${CA_NAME} grants with authentication strength "/policies/authenticationStrengthPolicies/00000000-0000-0000-0000-000000000002". It must require ${STRENGTH} (phishing-resistant MFA).`] },
  { name: 'ca-policy-requires-phishing-resistant-strength rejects plain MFA offered as an alternative', policy: caPolicyRequiresPhishingResistantStrength(), type: CA, resource: 'admins-passkeys-policy',
    props: { ...caProps(), grantControls: { operator: 'OR', builtInControls: ['mfa'], authenticationStrengthPolicyId: STRENGTH } },
    messages: [`${CA_NAME} combines the strength with mfa using operator "OR": a user could satisfy the weaker control instead. Use operator AND or drop the built-in controls.`] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so passes a report-only policy', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'admins-passkeys-policy', props: caProps(), messages: [] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so passes an enabled policy whose campaign file says enabled', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'enforced-campaign-policy',
    props: { ...caProps(), displayName: 'passkey-campaign-enforced-campaign-policy', state: 'enabled' }, messages: [] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so rejects an enabled policy whose campaign file says reportOnly', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'admins-passkeys-policy',
    props: { ...caProps(), state: 'enabled' }, config: { campaignsDir: 'campaigns' },
    messages: [`${CA_NAME} has state "enabled" but campaign "admins-passkeys" (campaigns/admins-passkeys.yaml) has policyState reportOnly. Enforcement needs a reviewed change setting spec.enforcement.policyState: enabled; otherwise use enabledForReportingButNotEnforced.`] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so rejects an enabled policy no campaign owns', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'rogue',
    props: { ...caProps(), displayName: 'Require MFA', state: 'enabled' },
    messages: ['Conditional Access policy "Require MFA" (rogue) has state "enabled" but no campaign file owns it. Enforcement needs a reviewed change setting spec.enforcement.policyState: enabled; otherwise use enabledForReportingButNotEnforced.'] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so passes an enabled graduated policy of a graduated campaign that includes one group and excludes the break-glass accounts', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'pilot-graduated-policy',
    props: graduatedProps(), messages: [] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so passes a graduated policy whose break-glass UPN the program resolved (one excluded user per account)', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'upn-pilot-graduated-policy',
    props: { ...graduatedProps({ excludedUsers: ['resolved-bg1-id'] }), displayName: 'passkey-campaign-upn-pilot-graduated-policy' }, messages: [] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so rejects an enabled graduated policy whose campaign file is in reportOnly mode (not read as campaign "admins-passkeys-graduated")', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'admins-passkeys-graduated-policy',
    props: { ...graduatedProps(), displayName: 'passkey-campaign-admins-passkeys-graduated-policy' },
    messages: ['Conditional Access policy "passkey-campaign-admins-passkeys-graduated-policy" (admins-passkeys-graduated-policy) has state "enabled" but campaign "admins-passkeys" (campaigns/admins-passkeys.yaml) has mode reportOnly. A graduated policy exists only for a campaign with spec.enforcement.mode: graduated.'] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so rejects an enabled graduated policy whose campaign has no file', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'gone-graduated-policy',
    props: { ...graduatedProps(), displayName: 'passkey-campaign-gone-graduated-policy' },
    messages: ['Conditional Access policy "passkey-campaign-gone-graduated-policy" (gone-graduated-policy) has state "enabled" but campaign "gone" (campaigns/gone.yaml) has mode missing. A graduated policy exists only for a campaign with spec.enforcement.mode: graduated.'] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so rejects an enabled graduated policy that also includes the enforcement group', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'pilot-graduated-policy',
    props: graduatedProps({ includedGroups: ['graduated-group-id', 'enforcement-group-id'] }),
    messages: [`${GRAD_NAME} is the enabled graduated policy of campaign "pilot" (campaigns/pilot.yaml), but it includes 2 groups instead of exactly the campaign's graduated group. ${MUST_GRADUATED}`] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so rejects an enabled graduated policy that also includes users', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'pilot-graduated-policy',
    props: graduatedProps({ includedUsers: ['someone-id'] }),
    messages: [`${GRAD_NAME} is the enabled graduated policy of campaign "pilot" (campaigns/pilot.yaml), but it also includes includedUsers someone-id. ${MUST_GRADUATED}`] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so rejects an enabled graduated policy that leaves out a break-glass account', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'pilot-graduated-policy',
    props: graduatedProps({ excludedUsers: [BG1, 'other-id'] }),
    messages: [`${GRAD_NAME} is the enabled graduated policy of campaign "pilot" (campaigns/pilot.yaml), but it does not exclude the break-glass account ${BG2}. ${MUST_GRADUATED}`] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so rejects an enabled graduated policy excluding fewer users than the campaign has break-glass accounts by UPN', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'upn-pilot-graduated-policy',
    props: { ...graduatedProps({ excludedUsers: [] }), displayName: 'passkey-campaign-upn-pilot-graduated-policy' },
    messages: ['Conditional Access policy "passkey-campaign-upn-pilot-graduated-policy" (upn-pilot-graduated-policy) is the enabled graduated policy of campaign "upn-pilot" (campaigns/upn-pilot.yaml), but it excludes 0 users but the campaign lists 1 break-glass account. It must include only the group passkey-campaign-upn-pilot-graduated and exclude every break-glass account.'] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so rejects the first policy of a graduated campaign enabled while its file says reportOnly', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(lookup), type: CA, resource: 'pilot-policy',
    props: { ...caProps(), displayName: 'passkey-campaign-pilot-policy', state: 'enabled' },
    messages: ['Conditional Access policy "passkey-campaign-pilot-policy" (pilot-policy) has state "enabled" but campaign "pilot" (campaigns/pilot.yaml) has policyState reportOnly. Enforcement needs a reviewed change setting spec.enforcement.policyState: enabled; otherwise use enabledForReportingButNotEnforced.'] },
  { name: 'ca-policy-enabled-only-when-campaign-says-so passes a report-only graduated-named policy (only enabled ones are judged)', policy: caPolicyEnabledOnlyWhenCampaignSaysSo(noGraduated), type: CA, resource: 'pilot-graduated-policy',
    props: { ...graduatedProps(), state: 'enabledForReportingButNotEnforced' }, messages: [] },
  { name: 'ca-policy-does-not-target-all-users passes a policy that includes only the enforcement group', policy: caPolicyDoesNotTargetAllUsers(), type: CA, resource: 'admins-passkeys-policy', props: caProps(), messages: [] },
  { name: 'ca-policy-does-not-target-all-users rejects a policy that includes All users', policy: caPolicyDoesNotTargetAllUsers(), type: CA, resource: 'admins-passkeys-policy',
    props: { ...caProps(), conditions: { ...caProps().conditions, users: { ...caProps().conditions.users, includedUsers: ['All'] } } },
    messages: [`${CA_NAME} includes "All" users. It must include only the campaign's enforcement group (conditions.users.includedGroups).`] },
  { name: 'ca-policy-does-not-target-all-users rejects a policy without the enforcement group', policy: caPolicyDoesNotTargetAllUsers(), type: CA, resource: 'admins-passkeys-policy',
    props: { ...caProps(), conditions: { ...caProps().conditions, users: { excludedUsers: ['bg1-id'] } } },
    messages: [`${CA_NAME} includes no group. It must include the campaign's enforcement group, so it applies only to users who completed the notice period.`] },
  { name: 'storage-account-private-tls12 passes the hardened ledger account', policy: storageAccountPrivateTls12(), type: 'azure-native:storage:StorageAccount', resource: 'scheduler-ledger', props: storageProps(), messages: [] },
  { name: 'storage-account-private-tls12 rejects public blob access', policy: storageAccountPrivateTls12(), type: 'azure-native:storage:StorageAccount', resource: 'scheduler-ledger',
    props: { ...storageProps(), allowBlobPublicAccess: true },
    messages: ['Storage account "passkeysled2ce5e2" (scheduler-ledger) allows public blob access. Set allowBlobPublicAccess: false; the ledger is audit evidence.'] },
  { name: 'storage-account-private-tls12 rejects TLS 1.0', policy: storageAccountPrivateTls12(), type: 'azure-native:storage:StorageAccount', resource: 'scheduler-ledger',
    props: { ...storageProps(), minimumTlsVersion: 'TLS1_0' },
    messages: ['Storage account "passkeysled2ce5e2" (scheduler-ledger) accepts TLS1_0 as minimum TLS version. Set minimumTlsVersion: TLS1_2.'] },
  { name: 'storage-account-private-tls12 rejects shared-key access left at its default', policy: storageAccountPrivateTls12(), type: 'azure-native:storage:StorageAccount', resource: 'scheduler-ledger',
    props: { ...storageProps(), allowSharedKeyAccess: undefined },
    messages: ['Storage account "passkeysled2ce5e2" (scheduler-ledger) allows shared-key access. Set allowSharedKeyAccess: false so only Entra ID roles grant access.'] },
  { name: 'storage-account-private-tls12 rejects plain HTTP', policy: storageAccountPrivateTls12(), type: 'azure-native:storage:StorageAccount', resource: 'scheduler-ledger',
    props: { ...storageProps(), enableHttpsTrafficOnly: false },
    messages: ['Storage account "passkeysled2ce5e2" (scheduler-ledger) accepts plain HTTP. Set enableHttpsTrafficOnly: true.'] },
  { name: 'scheduler-graph-roles-allowed passes Directory.Read.All while a campaign is in graduated mode', policy: schedulerGraphRolesAllowed(lookup), type: 'azuread:index/appRoleAssignment:AppRoleAssignment', resource: 'scheduler-graph-Directory.Read.All',
    props: { appRoleId: '7ab1d382-f21e-4acd-a863-ba3e13f7da61', principalObjectId: 'p', resourceObjectId: 'graph' }, messages: [] },
  { name: 'scheduler-graph-roles-allowed rejects Directory.Read.All when no campaign is in graduated mode', policy: schedulerGraphRolesAllowed(noGraduated), type: 'azuread:index/appRoleAssignment:AppRoleAssignment', resource: 'scheduler-graph-Directory.Read.All',
    props: { appRoleId: '7ab1d382-f21e-4acd-a863-ba3e13f7da61', principalObjectId: 'p', resourceObjectId: 'graph' }, config: { campaignsDir: 'campaigns' },
    messages: ['App role assignment "scheduler-graph-Directory.Read.All" grants Directory.Read.All (7ab1d382-f21e-4acd-a863-ba3e13f7da61), but no campaign in campaigns/ has spec.enforcement.mode: graduated. It is granted only to read sign-in logs for graduated campaigns; remove it.'] },
  { name: 'scheduler-graph-roles-allowed rejects Policy.Read.All when no campaign is in graduated mode', policy: schedulerGraphRolesAllowed(noGraduated), type: 'azuread:index/appRoleAssignment:AppRoleAssignment', resource: 'scheduler-graph-Policy.Read.All',
    props: { appRoleId: '246dd0d5-5bd0-4def-940b-0421030a5b68', principalObjectId: 'p', resourceObjectId: 'graph' },
    messages: ['App role assignment "scheduler-graph-Policy.Read.All" grants Policy.Read.All (246dd0d5-5bd0-4def-940b-0421030a5b68), but no campaign in campaigns/ has spec.enforcement.mode: graduated. It is granted only to read sign-in logs for graduated campaigns; remove it.'] },
  { name: 'scheduler-graph-roles-allowed passes AuditLog.Read.All without a graduated campaign (registration details)', policy: schedulerGraphRolesAllowed(noGraduated), type: 'azuread:index/appRoleAssignment:AppRoleAssignment', resource: 'scheduler-graph-AuditLog.Read.All',
    props: { appRoleId: 'b0afded3-3588-46d8-8b3d-9842eff778da', principalObjectId: 'p', resourceObjectId: 'graph' }, messages: [] },
  { name: 'scheduler-graph-roles-allowed passes User.Read.All', policy: schedulerGraphRolesAllowed(lookup), type: 'azuread:index/appRoleAssignment:AppRoleAssignment', resource: 'scheduler-graph-User.Read.All',
    props: { appRoleId: 'df021288-bdef-4463-88db-98f22de89214', principalObjectId: 'p', resourceObjectId: 'graph' }, messages: [] },
  { name: 'scheduler-graph-roles-allowed rejects Directory.ReadWrite.All', policy: schedulerGraphRolesAllowed(lookup), type: 'azuread:index/appRoleAssignment:AppRoleAssignment', resource: 'scheduler-graph-extra',
    props: { appRoleId: '19dbc75e-c2e2-444c-a770-ec69d8559fc7', principalObjectId: 'p', resourceObjectId: 'graph' },
    messages: ['App role assignment "scheduler-graph-extra" grants Directory.ReadWrite.All (19dbc75e-c2e2-444c-a770-ec69d8559fc7), which is not on the allowed list (User.Read.All, GroupMember.Read.All, AuditLog.Read.All, UserAuthenticationMethod.Read.All, Device.Read.All, RoleManagement.Read.Directory, RoleEligibilitySchedule.Read.Directory, Policy.Read.AuthenticationMethod, GroupMember.ReadWrite.All, Mail.Send, Mail.Read, TeamsActivity.Send, TeamsAppInstallation.ReadWriteSelfForUser.All, Directory.Read.All, Policy.Read.All, UserAuthenticationMethod.ReadWrite.All). Directory.ReadWrite.All, RoleManagement.ReadWrite.Directory and Policy.ReadWrite.* are never allowed.'] },
  { name: 'scheduler-graph-roles-allowed passes UserAuthenticationMethod.ReadWrite.All while a campaign delivers onboarding passes to managers', policy: schedulerGraphRolesAllowed(lookup), type: 'azuread:index/appRoleAssignment:AppRoleAssignment', resource: 'scheduler-graph-UserAuthenticationMethod.ReadWrite.All',
    props: { appRoleId: TAP_WRITE, principalObjectId: 'p', resourceObjectId: 'graph' }, messages: [] },
  { name: 'scheduler-graph-roles-allowed rejects UserAuthenticationMethod.ReadWrite.All when no campaign delivers onboarding passes to managers', policy: schedulerGraphRolesAllowed(noManagerDelivery), type: 'azuread:index/appRoleAssignment:AppRoleAssignment', resource: 'scheduler-graph-UserAuthenticationMethod.ReadWrite.All',
    props: { appRoleId: TAP_WRITE, principalObjectId: 'p', resourceObjectId: 'graph' },
    messages: [`App role assignment "scheduler-graph-UserAuthenticationMethod.ReadWrite.All" grants UserAuthenticationMethod.ReadWrite.All (${TAP_WRITE}), but no campaign in campaigns/ has spec.onboarding.temporaryAccessPass enabled with deliverTo: manager. ` +
      'It lets the identity create a Temporary Access Pass, a sign-in credential, for any user in the tenant, admins included; it is granted only while a campaign issues onboarding passes itself. Remove it.'] },
  { name: 'scheduler-graph-roles-allowed rejects an unknown role id', policy: schedulerGraphRolesAllowed(lookup), type: 'azuread:index/appRoleAssignment:AppRoleAssignment', resource: 'scheduler-graph-x',
    props: { appRoleId: '01234567-89ab-4cde-8f01-23456789abcd' },
    messages: [expect.stringMatching(/^App role assignment "scheduler-graph-x" grants app role 01234567-89ab-4cde-8f01-23456789abcd, which is not on the allowed list/) as unknown as string] },
  { name: 'scheduler-azure-roles-allowed passes Blob Data Contributor on the ledger container', policy: schedulerAzureRolesAllowed(), type: 'azure-native:authorization:RoleAssignment', resource: 'scheduler-ledger-role', props: roleProps(), messages: [] },
  { name: 'scheduler-azure-roles-allowed rejects Blob Data Contributor on the whole account', policy: schedulerAzureRolesAllowed(), type: 'azure-native:authorization:RoleAssignment', resource: 'scheduler-ledger-role',
    props: { ...roleProps(), scope: `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/passkeysled2ce5e2` },
    messages: [`Role assignment "scheduler-ledger-role" grants Storage Blob Data Contributor on ${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/passkeysled2ce5e2. It must be scoped to the ledger container (…/blobServices/default/containers/<name>).`] },
  { name: 'scheduler-azure-roles-allowed passes Blob Data Reader (the audit identity) on the ledger container', policy: schedulerAzureRolesAllowed(), type: 'azure-native:authorization:RoleAssignment', resource: 'scheduler-audit-reader-role',
    props: { ...roleProps(), roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1` }, messages: [] },
  { name: 'scheduler-azure-roles-allowed rejects Blob Data Reader on the whole account', policy: schedulerAzureRolesAllowed(), type: 'azure-native:authorization:RoleAssignment', resource: 'scheduler-audit-reader-role',
    props: { ...roleProps(), scope: `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/passkeysled2ce5e2`, roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1` },
    messages: [`Role assignment "scheduler-audit-reader-role" grants Storage Blob Data Reader on ${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/passkeysled2ce5e2. It must be scoped to the ledger container (…/blobServices/default/containers/<name>).`] },
  { name: 'scheduler-azure-roles-allowed rejects Owner', policy: schedulerAzureRolesAllowed(), type: 'azure-native:authorization:RoleAssignment', resource: 'scheduler-owner',
    props: { ...roleProps(), roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635` },
    messages: ['Role assignment "scheduler-owner" grants role definition 8e3af657-a8ff-443c-a75c-2fe8c4bcb635. Only Storage Blob Data Contributor, Storage Blob Data Owner, Storage Blob Data Reader, Key Vault Secrets User are allowed for the scheduler and audit identities.'] },
  { name: 'scheduler-azure-roles-allowed passes Key Vault Secrets User on the scheduler\'s vault', policy: schedulerAzureRolesAllowed(), type: 'azure-native:authorization:RoleAssignment', resource: 'scheduler-vault-role',
    props: { ...roleProps(), scope: vaultScope, roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6` }, messages: [] },
  { name: 'scheduler-azure-roles-allowed rejects Key Vault Secrets User on a resource group', policy: schedulerAzureRolesAllowed(), type: 'azure-native:authorization:RoleAssignment', resource: 'scheduler-vault-role',
    props: { ...roleProps(), scope: `${SUB}/resourceGroups/rg`, roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6` },
    messages: [`Role assignment "scheduler-vault-role" grants Key Vault Secrets User on ${SUB}/resourceGroups/rg. It must be scoped to the scheduler's vault (…/providers/Microsoft.KeyVault/vaults/<name>).`] },
  { name: 'scheduler-azure-roles-allowed rejects Key Vault Secrets Officer (write)', policy: schedulerAzureRolesAllowed(), type: 'azure-native:authorization:RoleAssignment', resource: 'scheduler-vault-role',
    props: { ...roleProps(), scope: vaultScope, roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/b86a8fe4-44ce-4948-aee5-eccb2c155cd7` },
    messages: ['Role assignment "scheduler-vault-role" grants role definition b86a8fe4-44ce-4948-aee5-eccb2c155cd7. Only Storage Blob Data Contributor, Storage Blob Data Owner, Storage Blob Data Reader, Key Vault Secrets User are allowed for the scheduler and audit identities.'] },
  { name: 'function-app-secrets-from-key-vault passes the postponement keys as Key Vault references', policy: functionAppSecretsFromKeyVault(), type: SETTINGS, resource: 'scheduler-app-settings', props: settingsProps(), messages: [] },
  { name: 'function-app-secrets-from-key-vault passes the other name form (VaultName, SecretName)', policy: functionAppSecretsFromKeyVault(), type: SETTINGS, resource: 'scheduler-app-settings',
    props: settingsProps({ CAMPAIGN_POSTPONE_KEY: '@Microsoft.KeyVault(VaultName=passkeys-kv-2ce5e2;SecretName=postpone-key)' }), messages: [] },
  { name: 'function-app-secrets-from-key-vault rejects the key as a plain value, without echoing it', policy: functionAppSecretsFromKeyVault(), type: SETTINGS, resource: 'scheduler-app-settings',
    props: settingsProps({ CAMPAIGN_POSTPONE_KEY: PLAIN_KEY }),
    messages: [`App setting CAMPAIGN_POSTPONE_KEY of "scheduler-app-settings" holds a plain value. ${MUST}`] },
  { name: 'function-app-secrets-from-key-vault rejects a plain previous key', policy: functionAppSecretsFromKeyVault(), type: SETTINGS, resource: 'scheduler-app-settings',
    props: settingsProps({ CAMPAIGN_POSTPONE_KEY_PREVIOUS: PLAIN_KEY }),
    messages: [`App setting CAMPAIGN_POSTPONE_KEY_PREVIOUS of "scheduler-app-settings" holds a plain value. ${MUST}`] },
  { name: 'function-app-secrets-from-key-vault rejects a malformed reference', policy: functionAppSecretsFromKeyVault(), type: SETTINGS, resource: 'scheduler-app-settings',
    props: settingsProps({ CAMPAIGN_POSTPONE_KEY: '@Microsoft.KeyVault(SecretUri=http://evil.example/secrets/k)' }),
    messages: [`App setting CAMPAIGN_POSTPONE_KEY of "scheduler-app-settings" is not a well-formed Key Vault reference. ${MUST}`] },
  { name: 'function-app-secrets-from-key-vault rejects a plain key in the site\'s siteConfig.appSettings', policy: functionAppSecretsFromKeyVault(), type: 'azure-native:web:WebApp', resource: 'scheduler-app',
    props: { name: 'passkeys-prod-scheduler-2ce5e2', siteConfig: { appSettings: [{ name: 'RECONCILE_SCHEDULE', value: '0 0 6 * * *' }, { name: 'campaign_postpone_key', value: PLAIN_KEY }] } },
    messages: [`App setting campaign_postpone_key of "scheduler-app" holds a plain value. ${MUST}`] },
];

// Stack policy: resources as validateStack sees them, with the CA policy's `conditions` depending on its group.
function resource(type: string, name: string, props: Props, conditionsOn: PolicyResource[] = []): PolicyResource {
  return { type, name, props, urn: `urn:pulumi:prod::passkey-campaigns::${type}::${name}`, opts: {} as never, dependencies: conditionsOn,
    propertyDependencies: { conditions: conditionsOn }, isType: () => false, asType: () => undefined } as unknown as PolicyResource;
}

function stackViolations(policy: StackValidationPolicy, resources: PolicyResource[]): string[] {
  const found: string[] = [];
  void policy.validateStack({ resources, getConfig: () => ({}), stackTags: new Map(), notApplicable: () => { throw new Error('notApplicable'); } } as never, (m) => found.push(m));
  return found;
}

const GROUP = 'azuread:index/group:Group';
const pilotStack = (over: { graduated?: Props; groupName?: string; extraGroup?: boolean } = {}): PolicyResource[] => {
  const enforcement = resource(GROUP, 'pilot-group', { displayName: 'passkey-campaign-pilot-enforced' });
  const graduated = resource(GROUP, 'pilot-graduated-group', { displayName: over.groupName ?? 'passkey-campaign-pilot-graduated' });
  const first = resource(CA, 'pilot-policy', { ...caProps(), displayName: 'passkey-campaign-pilot-policy', conditions: { users: { includedGroups: ['enf-id'], excludedUsers: [BG1, BG2] } } }, [enforcement]);
  const second = resource(CA, 'pilot-graduated-policy', { ...graduatedProps(), ...over.graduated }, over.extraGroup ? [graduated, enforcement] : [graduated]);
  return [enforcement, graduated, first, second];
};

interface StackCase { name: string; resources: PolicyResource[]; messages: string[] }
const GRAD_WHO = 'Conditional Access policy "passkey-campaign-pilot-graduated-policy" (pilot-graduated-policy)';
const stackCases: StackCase[] = [
  { name: 'passes an enabled graduated policy that includes its campaign\'s graduated group and excludes what the first policy excludes', resources: pilotStack(), messages: [] },
  { name: 'rejects an enabled graduated policy that includes another group', resources: pilotStack({ groupName: 'All staff' }),
    messages: [`${GRAD_WHO} includes "All staff". An enabled graduated policy must include only its campaign's graduated group "passkey-campaign-pilot-graduated".`] },
  { name: 'rejects an enabled graduated policy that also includes the enforcement group', resources: pilotStack({ extraGroup: true }),
    messages: [`${GRAD_WHO} includes "passkey-campaign-pilot-graduated", "passkey-campaign-pilot-enforced". An enabled graduated policy must include only its campaign's graduated group "passkey-campaign-pilot-graduated".`] },
  { name: 'rejects an enabled graduated policy that leaves out a user the first policy excludes', resources: pilotStack({ graduated: { conditions: { users: { includedGroups: ['g'], excludedUsers: [BG1] } } } }),
    messages: [`${GRAD_WHO} does not exclude ${BG2}, which "passkey-campaign-pilot-policy" excludes. Both policies of a campaign exclude the same break-glass and excluded users.`] },
  { name: 'ignores a report-only graduated-named policy', resources: pilotStack({ groupName: 'All staff', graduated: { state: 'enabledForReportingButNotEnforced' } }), messages: [] },
];

describe('graduated-policy-includes-only-its-group (stack policy)', () => {
  it.each(stackCases)('$name', ({ resources, messages }) => {
    expect(stackViolations(graduatedPolicyIncludesOnlyItsGroup(), resources)).toEqual(messages);
  });
});

describe('guardrail policies', () => {
  it.each(cases)('$name', ({ policy, type, resource, props, config, messages }) => {
    expect(violations(policy, args(type, resource, props, config))).toEqual(messages);
  });

  it('gives every policy a passing and a failing case', () => {
    for (const p of guardrailPolicies(lookup)) {
      if (p.name === graduatedPolicyIncludesOnlyItsGroup().name) {
        expect(stackCases.some((c) => c.messages.length === 0) && stackCases.some((c) => c.messages.length > 0)).toBe(true);
        continue;
      }
      const mine = cases.filter((c) => c.policy.name === p.name);
      expect(mine.some((c) => c.messages.length === 0), `${p.name} has a passing case`).toBe(true);
      expect(mine.some((c) => c.messages.length > 0), `${p.name} has a failing case`).toBe(true);
    }
  });

  it('names every policy in kebab-case with a description starting "Checks whether" and mandatory enforcement', () => {
    for (const p of guardrailPolicies(lookup)) {
      expect(p.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(p.description.startsWith('Checks whether ')).toBe(true);
      expect(p.enforcementLevel).toBe('mandatory');
    }
  });

  it('documents every policy in policies/README.md and docs/platform-engineer.md', () => {
    const readme = fs.readFileSync(path.join(__dirname, 'README.md'), 'utf8');
    const docs = fs.readFileSync(path.join(__dirname, '..', 'docs', 'platform-engineer.md'), 'utf8');
    for (const p of guardrailPolicies(lookup)) {
      expect(readme, p.name).toContain(`| \`${p.name}\` |`);
      expect(docs, p.name).toContain(`| \`${p.name}\` |`);
    }
  });

  it('ignores resources of other types', () => {
    expect(violations(caPolicyExcludesBreakGlass(), args('azuread:index/group:Group', 'g', {}))).toEqual([]);
  });
});

describe('campaignFileLookup', () => {
  it('reads each campaign\'s policyState, mode and break-glass accounts from the campaign files', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-lookup-'));
    try {
      fs.mkdirSync(path.join(root, 'campaigns'));
      const src = fs.readFileSync(path.join(__dirname, '..', 'campaigns', 'admins-passkeys.yaml'), 'utf8');
      fs.writeFileSync(path.join(root, 'campaigns', 'admins-passkeys.yaml'), src.replace('policyState: reportOnly', 'policyState: enabled\n    mode: graduated'));
      const onboarding = 'spec:\n  onboarding:\n    temporaryAccessPass: { enabled: true, deliverTo: manager }\n';
      fs.writeFileSync(path.join(root, 'campaigns', 'helpers.yaml'), src.replace('name: admins-passkeys', 'name: helpers').replace(/^spec:\n/m, onboarding));
      const look = campaignFileLookup(root);
      expect(look('campaigns').get('admins-passkeys')).toEqual({ policyState: 'enabled', mode: 'graduated', breakGlass: ['bg1@contoso.com', 'bg2@contoso.com'], issuesOnboardingPasses: false });
      expect(look('campaigns').get('helpers')?.issuesOnboardingPasses).toBe(true);
      expect(look('campaigns').get('all-staff-passkeys')).toBeUndefined();
      expect(look('missing').get('admins-passkeys')).toBeUndefined();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
