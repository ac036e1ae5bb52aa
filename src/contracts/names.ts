// Names and constants shared by the Pulumi program, the reconcile job and the guardrail policy pack.
// Pure: no Pulumi import, so the policy pack and the Functions package can load it cheaply.

/** Display name of a campaign's enforcement group; the reconcile job looks the group up by it. */
export function enforcementGroupName(campaign: string): string {
  return `passkey-campaign-${campaign}-enforced`;
}

/** Display name of a campaign's Conditional Access policy. */
export function caPolicyName(campaign: string): string {
  return `passkey-campaign-${campaign}-policy`;
}

/** Display name of a graduated campaign's second group: users whose own sign-ins qualified them for enforcement. */
export function graduatedGroupName(campaign: string): string {
  return `passkey-campaign-${campaign}-graduated`;
}

/** Display name of a graduated campaign's second Conditional Access policy (enabled, for the graduated group only). */
export function graduatedCaPolicyName(campaign: string): string {
  return `passkey-campaign-${campaign}-graduated-policy`;
}

/** Which of a campaign's two policies a display name is. */
export type CaPolicyKind = 'enforcement' | 'graduated';

/**
 * The campaign and kind a CA policy display name belongs to, or null for a policy this stack did not name.
 * "-graduated-policy" is read as the graduated policy: `campaign validate` refuses campaign names ending in
 * "-graduated", whose first policy would carry the same name.
 */
export function caPolicyOwner(displayName: string): { campaign: string; kind: CaPolicyKind } | null {
  const graduated = /^passkey-campaign-([a-z0-9-]{3,40})-graduated-policy$/.exec(displayName);
  if (graduated) return { campaign: graduated[1]!, kind: 'graduated' };
  const first = /^passkey-campaign-([a-z0-9-]{3,40})-policy$/.exec(displayName);
  return first ? { campaign: first[1]!, kind: 'enforcement' } : null;
}

/** The campaign a CA policy display name belongs to (either of its policies), or null for a policy this stack did not name. */
export function campaignOfCaPolicy(displayName: string): string | null {
  return caPolicyOwner(displayName)?.campaign ?? null;
}

/** Built-in authentication strength "Phishing-resistant MFA", in the form azuread's CA policy expects. */
export const PHISHING_RESISTANT_STRENGTH_ID = '/policies/authenticationStrengthPolicies/00000000-0000-0000-0000-000000000004';

/** CA policy states: report-only unless the campaign file explicitly enables enforcement. */
export const CA_STATE_REPORT_ONLY = 'enabledForReportingButNotEnforced';
export const CA_STATE_ENABLED = 'enabled';

/** Microsoft Graph's application id, the same in every tenant. */
export const MICROSOFT_GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** Resource type tokens the program creates and the policy pack inspects. */
export const TYPES = {
  campaign: 'passkeys:campaign:PasskeyCampaign',
  scheduler: 'passkeys:campaign:CampaignScheduler',
  group: 'azuread:index/group:Group',
  caPolicy: 'azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy',
  appRoleAssignment: 'azuread:index/appRoleAssignment:AppRoleAssignment',
  storageAccount: 'azure-native:storage:StorageAccount',
  roleAssignment: 'azure-native:authorization:RoleAssignment',
  webApp: 'azure-native:web:WebApp',
  webAppSettings: 'azure-native:web:WebAppApplicationSettings',
  keyVault: 'azure-native:keyvault:Vault',
  keyVaultSecret: 'azure-native:keyvault:Secret',
} as const;

/** Azure built-in role definition ids (the same in every subscription). */
export const AZURE_ROLES = {
  /** Read, write and lease blobs; no account management. Granted on the ledger container only. */
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  /** What the Functions host needs on its own storage account for identity-based AzureWebJobsStorage. */
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  /** Read and list blobs, nothing else. The audit identity's, granted on the ledger container only. */
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  /** Read secret contents; what a Key Vault reference needs on an RBAC vault. Granted on the scheduler's vault only. */
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
} as const;
