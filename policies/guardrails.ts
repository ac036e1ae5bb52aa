// The guardrail policies, one factory per rule (after AWSGuard). Kept apart from the pack entry
// (index.ts): constructing a PolicyPack starts a gRPC server, so tests import only this module.
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCampaignFiles, loadCampaignFile } from '../src/campaign/load';
import { isGuid } from '../src/campaign/roles';
import type { EnforcementMode, PolicyState } from '../src/campaign/types';
import { ALLOWED_GRAPH_ROLES, GRAPH_APP_ROLE_IDS, ONBOARDING_PASS_ROLE, SIGN_IN_LOG_ROLES, graphRoleName, issuesOnboardingPasses, type GraphRole } from '../src/stack/graph-roles';
import { AZURE_ROLES, CA_STATE_ENABLED, PHISHING_RESISTANT_STRENGTH_ID, TYPES, caPolicyName, caPolicyOwner, graduatedGroupName } from '../src/contracts/names';
import { KEY_VAULT_REFERENCE_PREFIX, SECRET_APP_SETTINGS, isKeyVaultReference } from '../src/contracts/scheduler';

type Props = Record<string, any>;

/** "Conditional Access policy "passkey-campaign-x-policy" (x-policy)": how messages name a resource. */
function offender(kind: string, args: ResourceValidationArgs, display?: unknown): string {
  return typeof display === 'string' && display !== args.name ? `${kind} "${display}" (${args.name})` : `${kind} "${args.name}"`;
}

function onType(type: string, check: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void) {
  return (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type === type) check(args.props, args, report);
  };
}

const caPolicy = (args: ResourceValidationArgs, props: Props) => offender('Conditional Access policy', args, props.displayName);

export function caPolicyExcludesBreakGlass(): ResourceValidationPolicy {
  return {
    name: 'ca-policy-excludes-break-glass',
    description: 'Checks whether every Conditional Access policy excludes at least one break-glass (emergency access) account.',
    enforcementLevel: 'mandatory',
    validateResource: onType(TYPES.caPolicy, (props, args, report) => {
      const excluded: unknown[] = props.conditions?.users?.excludedUsers ?? [];
      if (excluded.length === 0) {
        report(`${caPolicy(args, props)} excludes no user. It must exclude at least one break-glass account (spec.exclusions.breakGlass) so a mistake cannot lock every admin out.`);
      }
    }),
  };
}

export function caPolicyRequiresPhishingResistantStrength(): ResourceValidationPolicy {
  return {
    name: 'ca-policy-requires-phishing-resistant-strength',
    description: 'Checks whether every Conditional Access policy grants access only with the built-in phishing-resistant MFA authentication strength.',
    enforcementLevel: 'mandatory',
    validateResource: onType(TYPES.caPolicy, (props, args, report) => {
      const grant = props.grantControls ?? {};
      if (grant.authenticationStrengthPolicyId !== PHISHING_RESISTANT_STRENGTH_ID) {
        report(`${caPolicy(args, props)} grants with authentication strength ${JSON.stringify(grant.authenticationStrengthPolicyId ?? null)}. It must require ${PHISHING_RESISTANT_STRENGTH_ID} (phishing-resistant MFA).`);
      }
      const builtIn: unknown[] = grant.builtInControls ?? [];
      if (builtIn.length > 0 && grant.operator !== 'AND') {
        report(`${caPolicy(args, props)} combines the strength with ${builtIn.join(', ')} using operator ${JSON.stringify(grant.operator)}: a user could satisfy the weaker control instead. Use operator AND or drop the built-in controls.`);
      }
    }),
  };
}

/** What the pack needs from a campaign file. */
export interface CampaignFacts {
  policyState: PolicyState;
  mode: EnforcementMode;
  /** spec.exclusions.breakGlass as written (object ids or UPNs). */
  breakGlass: readonly string[];
  /** spec.onboarding.temporaryAccessPass is enabled with deliverTo: manager (the job creates passes). */
  issuesOnboardingPasses: boolean;
}

/** The campaign files of a directory (relative to the project root), by campaign name. */
export type CampaignLookup = (campaignsDir: string) => ReadonlyMap<string, CampaignFacts>;

/** Reads the campaign files once per directory; files that do not load are ignored (validate reports them). */
export function campaignFileLookup(root: string): CampaignLookup {
  const cache = new Map<string, Map<string, CampaignFacts>>();
  return (campaignsDir) => {
    const dir = path.resolve(root, campaignsDir);
    let facts = cache.get(dir);
    if (!facts) {
      facts = new Map();
      for (const file of fs.existsSync(dir) ? listCampaignFiles(dir) : []) {
        const c = loadCampaignFile(file).campaign;
        if (c) {
          facts.set(c.metadata.name, {
            policyState: c.spec.enforcement.policyState, mode: c.spec.enforcement.mode, breakGlass: c.spec.exclusions.breakGlass, issuesOnboardingPasses: issuesOnboardingPasses(c),
          });
        }
      }
      cache.set(dir, facts);
    }
    return facts;
  };
}

const campaignsDirOf = (args: ResourceValidationArgs) => args.getConfig<{ campaignsDir?: string }>().campaignsDir ?? 'campaigns';
const CAMPAIGNS_DIR_SCHEMA = { properties: { campaignsDir: { type: 'string' as const, default: 'campaigns' } } };

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Why an enabled graduated policy does not have the shape its campaign allows (none when it does). */
function graduatedShapeProblems(props: Props, facts: CampaignFacts): string[] {
  const users = props.conditions?.users ?? {};
  const problems: string[] = [];
  const groups: unknown[] = users.includedGroups ?? [];
  if (groups.length !== 1) problems.push(`it includes ${groups.length} groups instead of exactly the campaign's graduated group`);
  for (const key of ['includedUsers', 'includedRoles']) {
    const extra: unknown[] = users[key] ?? [];
    if (extra.length > 0) problems.push(`it also includes ${key} ${extra.map(String).join(', ')}`);
  }
  if (users.includedGuestsOrExternalUsers) problems.push('it also includes guests or external users');
  const excluded = new Set((users.excludedUsers ?? []).map((u: unknown) => String(u).toLowerCase()));
  // Object ids are compared; a UPN is resolved by the program, so only the count can be checked here.
  const missing = facts.breakGlass.filter((u) => isGuid(u) && !excluded.has(u.toLowerCase()));
  if (missing.length > 0) problems.push(`it does not exclude the break-glass account${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  else if (excluded.size < facts.breakGlass.length) problems.push(`it excludes ${count(excluded.size, 'user')} but the campaign lists ${count(facts.breakGlass.length, 'break-glass account')}`);
  if (facts.breakGlass.length === 0) problems.push('the campaign lists no break-glass account');
  return problems;
}

export function caPolicyEnabledOnlyWhenCampaignSaysSo(lookup: CampaignLookup): ResourceValidationPolicy {
  return {
    name: 'ca-policy-enabled-only-when-campaign-says-so',
    description: "Checks whether a Conditional Access policy is enforced (state enabled) only when its campaign file sets spec.enforcement.policyState: enabled, or, for a campaign's graduated policy, spec.enforcement.mode: graduated with only the graduated group included and the break-glass accounts excluded.",
    enforcementLevel: 'mandatory',
    configSchema: CAMPAIGNS_DIR_SCHEMA,
    validateResource: onType(TYPES.caPolicy, (props, args, report) => {
      if (props.state !== CA_STATE_ENABLED) return;
      const campaignsDir = campaignsDirOf(args);
      const owner = caPolicyOwner(String(props.displayName ?? ''));
      if (!owner) {
        report(`${caPolicy(args, props)} has state "enabled" but no campaign file owns it. Enforcement needs a reviewed change setting spec.enforcement.policyState: enabled; otherwise use enabledForReportingButNotEnforced.`);
        return;
      }
      const facts = lookup(campaignsDir).get(owner.campaign);
      const file = `campaign "${owner.campaign}" (${campaignsDir}/${owner.campaign}.yaml)`;
      if (owner.kind === 'enforcement') {
        if (facts?.policyState !== 'enabled') {
          report(`${caPolicy(args, props)} has state "enabled" but ${file} has policyState ${facts?.policyState ?? 'missing'}. Enforcement needs a reviewed change setting spec.enforcement.policyState: enabled; otherwise use enabledForReportingButNotEnforced.`);
        }
        return;
      }
      if (facts?.mode !== 'graduated') {
        report(`${caPolicy(args, props)} has state "enabled" but ${file} has mode ${facts?.mode ?? 'missing'}. A graduated policy exists only for a campaign with spec.enforcement.mode: graduated.`);
        return;
      }
      const problems = graduatedShapeProblems(props, facts);
      if (problems.length > 0) {
        report(`${caPolicy(args, props)} is the enabled graduated policy of ${file}, but ${problems.join('; ')}. It must include only the group ${graduatedGroupName(owner.campaign)} and exclude every break-glass account.`);
      }
    }),
  };
}

/** The groups a CA policy's conditions reference: the resources its `conditions` input depends on, else all its dependencies. */
function conditionGroups(r: PolicyResource): PolicyResource[] {
  return (r.propertyDependencies.conditions ?? r.dependencies).filter((d) => d.type === TYPES.group);
}

export function graduatedPolicyIncludesOnlyItsGroup(): StackValidationPolicy {
  return {
    name: 'graduated-policy-includes-only-its-group',
    description: "Checks whether every enabled graduated Conditional Access policy includes its own campaign's graduated group, no other group, and excludes at least the users the campaign's first policy excludes.",
    enforcementLevel: 'mandatory',
    validateStack: (args, report) => {
      const policies = args.resources.filter((r) => r.type === TYPES.caPolicy);
      for (const r of policies) {
        const displayName = String(r.props.displayName ?? '');
        const owner = caPolicyOwner(displayName);
        if (owner?.kind !== 'graduated' || r.props.state !== CA_STATE_ENABLED) continue;
        const who = `Conditional Access policy "${displayName}" (${r.name})`;
        const want = graduatedGroupName(owner.campaign);
        const groups = conditionGroups(r).map((g) => String(g.props.displayName ?? g.name));
        if (groups.length !== 1 || groups[0] !== want) {
          report(`${who} includes ${groups.length ? groups.map((g) => `"${g}"`).join(', ') : 'no group this stack creates'}. An enabled graduated policy must include only its campaign's graduated group "${want}".`);
        }
        const first = policies.find((p) => p.props.displayName === caPolicyName(owner.campaign));
        const firstExcluded: unknown[] = first?.props.conditions?.users?.excludedUsers ?? [];
        const excluded = new Set((r.props.conditions?.users?.excludedUsers ?? []).map(String));
        const missing = firstExcluded.map(String).filter((u) => !excluded.has(u));
        if (!first) report(`${who} has no first policy "${caPolicyName(owner.campaign)}" in this stack to take its exclusions from. Deploy the campaign's policies together.`);
        else if (missing.length > 0) report(`${who} does not exclude ${missing.join(', ')}, which "${caPolicyName(owner.campaign)}" excludes. Both policies of a campaign exclude the same break-glass and excluded users.`);
      }
    },
  };
}

export function caPolicyDoesNotTargetAllUsers(): ResourceValidationPolicy {
  return {
    name: 'ca-policy-does-not-target-all-users',
    description: 'Checks whether every Conditional Access policy targets only its enforcement group, never "All" users.',
    enforcementLevel: 'mandatory',
    validateResource: onType(TYPES.caPolicy, (props, args, report) => {
      const users = props.conditions?.users ?? {};
      const included: unknown[] = users.includedUsers ?? [];
      if (included.some((u) => String(u).toLowerCase() === 'all')) {
        report(`${caPolicy(args, props)} includes "All" users. It must include only the campaign's enforcement group (conditions.users.includedGroups).`);
      }
      if ((users.includedGroups ?? []).length === 0) {
        report(`${caPolicy(args, props)} includes no group. It must include the campaign's enforcement group, so it applies only to users who completed the notice period.`);
      }
    }),
  };
}

export function storageAccountPrivateTls12(): ResourceValidationPolicy {
  return {
    name: 'storage-account-private-tls12',
    description: 'Checks whether every storage account blocks public blob access and shared-key access, requires HTTPS and TLS 1.2 or later.',
    enforcementLevel: 'mandatory',
    validateResource: onType(TYPES.storageAccount, (props, args, report) => {
      const who = offender('Storage account', args, props.accountName);
      if (props.allowBlobPublicAccess !== false) report(`${who} allows public blob access. Set allowBlobPublicAccess: false; the ledger is audit evidence.`);
      if (!['TLS1_2', 'TLS1_3'].includes(props.minimumTlsVersion)) report(`${who} accepts ${props.minimumTlsVersion ?? 'the default'} as minimum TLS version. Set minimumTlsVersion: TLS1_2.`);
      if (props.allowSharedKeyAccess !== false) report(`${who} allows shared-key access. Set allowSharedKeyAccess: false so only Entra ID roles grant access.`);
      if (props.enableHttpsTrafficOnly === false) report(`${who} accepts plain HTTP. Set enableHttpsTrafficOnly: true.`);
    }),
  };
}

const ALLOWED_GRAPH_IDS = new Set<string>(ALLOWED_GRAPH_ROLES.map((r) => GRAPH_APP_ROLE_IDS[r]));
// AuditLog.Read.All also reads registration details, which every campaign needs; the other two only read sign-ins.
const GRADUATED_ONLY = new Map<string, GraphRole>(SIGN_IN_LOG_ROLES.filter((r) => r !== 'AuditLog.Read.All').map((r) => [GRAPH_APP_ROLE_IDS[r], r]));

export function schedulerGraphRolesAllowed(lookup: CampaignLookup): ResourceValidationPolicy {
  return {
    name: 'scheduler-graph-roles-allowed',
    description: 'Checks whether every Microsoft Graph app role assigned by this stack is on the allowed least-privilege list, the sign-in log roles only while a campaign is in graduated mode, and UserAuthenticationMethod.ReadWrite.All only while a campaign delivers onboarding passes to managers.',
    enforcementLevel: 'mandatory',
    configSchema: CAMPAIGNS_DIR_SCHEMA,
    validateResource: onType(TYPES.appRoleAssignment, (props, args, report) => {
      const id = String(props.appRoleId ?? '').toLowerCase();
      if (!ALLOWED_GRAPH_IDS.has(id)) {
        const known = graphRoleName(id);
        report(`App role assignment "${args.name}" grants ${known ? `${known} (${id})` : `app role ${id}`}, which is not on the allowed list (${ALLOWED_GRAPH_ROLES.join(', ')}). Directory.ReadWrite.All, RoleManagement.ReadWrite.Directory and Policy.ReadWrite.* are never allowed.`);
        return;
      }
      if (id === GRAPH_APP_ROLE_IDS[ONBOARDING_PASS_ROLE]) {
        const campaignsDir = campaignsDirOf(args);
        if (![...lookup(campaignsDir).values()].some((c) => c.issuesOnboardingPasses)) {
          report(`App role assignment "${args.name}" grants ${ONBOARDING_PASS_ROLE} (${id}), but no campaign in ${campaignsDir}/ has spec.onboarding.temporaryAccessPass enabled with deliverTo: manager. ` +
            'It lets the identity create a Temporary Access Pass, a sign-in credential, for any user in the tenant, admins included; it is granted only while a campaign issues onboarding passes itself. Remove it.');
        }
        return;
      }
      const role = GRADUATED_ONLY.get(id);
      if (!role) return;
      const campaignsDir = campaignsDirOf(args);
      if (![...lookup(campaignsDir).values()].some((c) => c.mode === 'graduated')) {
        report(`App role assignment "${args.name}" grants ${role} (${id}), but no campaign in ${campaignsDir}/ has spec.enforcement.mode: graduated. It is granted only to read sign-in logs for graduated campaigns; remove it.`);
      }
    }),
  };
}

const ALLOWED_AZURE_ROLES: Readonly<Record<string, string>> = {
  [AZURE_ROLES.storageBlobDataContributor]: 'Storage Blob Data Contributor',
  [AZURE_ROLES.storageBlobDataOwner]: 'Storage Blob Data Owner',
  [AZURE_ROLES.storageBlobDataReader]: 'Storage Blob Data Reader',
  [AZURE_ROLES.keyVaultSecretsUser]: 'Key Vault Secrets User',
};

export function schedulerAzureRolesAllowed(): ResourceValidationPolicy {
  return {
    name: 'scheduler-azure-roles-allowed',
    description: 'Checks whether every Azure role assignment is a storage blob data role, with Contributor and Reader scoped to a single container, or Key Vault Secrets User scoped to a single vault.',
    enforcementLevel: 'mandatory',
    validateResource: onType(TYPES.roleAssignment, (props, args, report) => {
      const roleId = String(props.roleDefinitionId ?? '').split('/').pop()?.toLowerCase() ?? '';
      const role = ALLOWED_AZURE_ROLES[roleId];
      if (!role) {
        report(`Role assignment "${args.name}" grants role definition ${roleId || '(none)'}. Only ${Object.values(ALLOWED_AZURE_ROLES).join(', ')} are allowed for the scheduler and audit identities.`);
        return;
      }
      // Reader too: the audit identity reads the ledgers, not the Functions host's storage or anything else.
      if ((roleId === AZURE_ROLES.storageBlobDataContributor || roleId === AZURE_ROLES.storageBlobDataReader) && !/\/blobServices\/default\/containers\/[^/]+$/.test(String(props.scope ?? ''))) {
        report(`Role assignment "${args.name}" grants ${role} on ${props.scope}. It must be scoped to the ledger container (…/blobServices/default/containers/<name>).`);
      }
      // On a resource group or subscription it would read every vault's secrets, not only the postponement keys.
      if (roleId === AZURE_ROLES.keyVaultSecretsUser && !/\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+$/i.test(String(props.scope ?? ''))) {
        report(`Role assignment "${args.name}" grants ${role} on ${props.scope}. It must be scoped to the scheduler's vault (…/providers/Microsoft.KeyVault/vaults/<name>).`);
      }
    }),
  };
}

const SECRET_SETTING_NAMES = new Set(SECRET_APP_SETTINGS.map((n) => n.toUpperCase()));

/** name → value of the app settings a resource sets: a WebAppApplicationSettings' properties, a WebApp's siteConfig.appSettings. */
function appSettingsOf(type: string, props: Props): [string, unknown][] {
  if (type === TYPES.webAppSettings) return Object.entries((props.properties ?? {}) as Props);
  const list: unknown = props.siteConfig?.appSettings;
  return Array.isArray(list) ? list.map((s: Props): [string, unknown] => [String(s?.name ?? ''), s?.value]) : [];
}

export function functionAppSecretsFromKeyVault(): ResourceValidationPolicy {
  return {
    name: 'function-app-secrets-from-key-vault',
    description: 'Checks whether every secret app setting of the Function App (the postponement keys) is a Key Vault reference rather than a plain value.',
    enforcementLevel: 'mandatory',
    validateResource: (args, report) => {
      if (args.type !== TYPES.webAppSettings && args.type !== TYPES.webApp) return;
      for (const [name, value] of appSettingsOf(args.type, args.props)) {
        if (!SECRET_SETTING_NAMES.has(name.toUpperCase())) continue;
        if (typeof value === 'string' && isKeyVaultReference(value)) continue;
        // Never echo the value: it may be the key itself.
        const what = typeof value === 'string' && value.startsWith(KEY_VAULT_REFERENCE_PREFIX) ? 'is not a well-formed Key Vault reference' : 'holds a plain value';
        report(`App setting ${name} of "${args.name}" ${what}. A secret setting must be a Key Vault reference, ${KEY_VAULT_REFERENCE_PREFIX}SecretUri=https://<vault>.vault.azure.net/secrets/<name>/<version>), so the key stays in the vault and only the app's identity reads it.`);
      }
    },
  };
}

/** Every mandatory guardrail, in the order the pack lists them. */
export function guardrailPolicies(lookup: CampaignLookup): (ResourceValidationPolicy | StackValidationPolicy)[] {
  return [
    caPolicyExcludesBreakGlass(),
    caPolicyRequiresPhishingResistantStrength(),
    caPolicyEnabledOnlyWhenCampaignSaysSo(lookup),
    graduatedPolicyIncludesOnlyItsGroup(),
    caPolicyDoesNotTargetAllUsers(),
    storageAccountPrivateTls12(),
    schedulerGraphRolesAllowed(lookup),
    schedulerAzureRolesAllowed(),
    functionAppSecretsFromKeyVault(),
  ];
}
