// `campaign doctor`: every prerequisite of a campaign, read from the tenant and the ledger, as checks that say
// what was found and what to fix. Read-only: Graph through GraphReader, the ledger by read and a lock taken and
// released (the store's own writability probe; nothing is appended).
// Graph reference: microsoftgraph/microsoft-graph-docs-contrib, api-reference/v1.0/api/<page>.md.
import type * as MG from '@microsoft/microsoft-graph-types';
import { declaredCaPolicy, isGraduated, strengthId, type DeclaredCaPolicy } from '../campaign/ca-policy';
import { FORBIDDEN_GRAPH_ROLES, ONBOARDING_PASS_ROLE, SIGN_IN_LOG_ROLES, issuesOnboardingPasses, requiredGraphRoles, type GraphRole } from '../campaign/graph-roles';
import { isGuid } from '../campaign/roles';
import type { Campaign } from '../campaign/types';
import { CA_STATE_ENABLED, MICROSOFT_GRAPH_APP_ID, caPolicyName, enforcementGroupName, graduatedCaPolicyName, graduatedGroupName } from '../contracts/names';
import { identityRefusal, ledgerPosition } from '../engine/lifecycle';
import type { SnapshotFido2Configuration, TenantSnapshot } from '../engine/snapshot';
import { resolveTargets } from '../engine/targets';
import type { GraphReader } from '../graph/client';
import { GraphError, GraphUnavailableError } from '../graph/errors';
import { BlobAccessDeniedError } from '../ledger/blob/errors';
import { LockHeldError, StateError } from '../ledger/errors';
import type { LedgerStore } from '../ledger/store';
import { EnforcementGroupAmbiguousError } from '../observe/errors';
import { observe } from '../observe/observe';
import type { CheckStatus, DoctorCheck, DoctorReport } from './types';

export interface DoctorOptions {
  campaign: Campaign;
  graph: GraphReader;
  /** The campaign's ledger store; without it the ledger check is skipped. */
  store?: LedgerStore;
  /** Client id of the identity the job runs as; without it the identity checks are skipped. */
  appId?: string;
  /** Catalog id of the campaign's Teams app (CAMPAIGN_TEAMS_APP_ID). */
  teamsAppId?: string;
  /** Sender mailbox when the campaign file names none (the deployment's setting). */
  sender?: string;
  now: Date;
  /**
   * Only the blocking checks, which read a handful of objects and no user (what the scheduled job runs
   * before acting); the per-user checks (FIDO2 scope, Teams installations, mail addresses) are left out.
   */
  blockingOnly?: boolean;
}

/** The most examples a message names; the rest are counted. */
export const EXAMPLES = 5;
/** The Phishing-resistant MFA built-in authentication strength (resources/authenticationstrengthpolicy.md). */
const PHISHING_RESISTANT = '00000000-0000-0000-0000-000000000004';
/** Group write permissions of group-post-members.md, least privileged first. */
const GROUP_WRITE = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];

type Read<T> = { ok: true; value: T } | { ok: false; error: GraphError };

/** A read Graph refused or could not find is a finding; transport failures and throttling past the budget stop doctor (exit 2). */
async function read<T>(fn: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (e instanceof GraphError && !(e instanceof GraphUnavailableError) && e.status >= 400 && e.status !== 401) return { ok: false, error: e };
    throw e;
  }
}

function readFailure(what: string, e: GraphError, permissions: string): { message: string; fix: string } {
  if (e.status === 403) return { message: `reading ${what} was refused (403 ${e.code}).`, fix: `Grant the identity ${permissions} (Microsoft Graph application permission), or run doctor with an identity that holds it.` };
  return { message: `reading ${what} failed: ${e.status} ${e.code} ${e.message}`, fix: 'Check the Graph URL and the tenant, then run doctor again.' };
}

const examples = (items: readonly string[]) => `${items.slice(0, EXAMPLES).join(', ')}${items.length > EXAMPLES ? ` and ${items.length - EXAMPLES} more` : ''}`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const quote = (s: string) => s.replace(/'/g, "''");
const lower = (s: string) => s.toLowerCase();
const sameSet = (a: readonly string[], b: readonly string[]) => {
  const x = new Set(a.map(lower));
  const y = new Set(b.map(lower));
  return x.size === y.size && [...x].every((v) => y.has(v));
};

interface Group {
  id: string;
  displayName: string;
  securityEnabled?: boolean | null;
  mailEnabled?: boolean | null;
  groupTypes?: string[] | null;
}
interface ServicePrincipal {
  id: string;
  appId: string;
  displayName?: string;
  appRoles?: Array<{ id: string; value?: string | null }>;
}
interface ResolvedAccount {
  entry: string;
  user: { id: string; userPrincipalName: string; accountEnabled?: boolean | null } | null;
}

class Checks {
  readonly list: DoctorCheck[] = [];
  add(id: string, title: string, blocking: boolean, status: CheckStatus, message: string, fix = ''): void {
    this.list.push({ id, title, status, blocking, message, fix });
  }
}

/** Runs every check (or only the blocking ones) and returns them in a fixed order. */
export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const { campaign, graph } = opts;
  const name = campaign.metadata.name;
  const checks = new Checks();
  const notStarted = campaign.spec.status === 'notStarted';
  // The ledger first (reported last): a store the job cannot use stops it before any Graph read, as a run would.
  const ledger = new Checks();
  await ledgerCheck(opts, ledger);
  if (opts.blockingOnly && ledger.list.some((c) => c.status === 'fail')) return { campaign: name, checks: ledger.list };

  // --- identity ---------------------------------------------------------------------------------------------
  const identity = await identityChecks(opts, checks);

  // --- FIDO2 ------------------------------------------------------------------------------------------------
  // fido2authenticationmethodconfiguration-get.md
  const fido2 = await read(() => graph.get<SnapshotFido2Configuration>('/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2'));
  fido2Checks(fido2, checks);

  // --- enforcement group ------------------------------------------------------------------------------------
  const groupName = enforcementGroupName(name);
  // group-list.md: $filter on displayName (eq), $select.
  const groups = await read(() => graph.list<Group>('/groups', { filter: `displayName eq '${quote(groupName)}'`, select: ['id', 'displayName', 'securityEnabled', 'mailEnabled', 'groupTypes'] }));
  const group = await groupChecks(graph, groups, groupName, notStarted, identity, checks);

  // --- break-glass accounts (resolved once, used by the CA and break-glass checks) -------------------------
  const breakGlass = await resolveAccounts(graph, campaign.spec.exclusions.breakGlass);
  const excludedUsers = await resolveAccounts(graph, campaign.spec.exclusions.users);

  // --- Conditional Access policy ----------------------------------------------------------------------------
  // conditionalaccessroot-list-policies.md
  const policies = await read(() => graph.list<MG.ConditionalAccessPolicy>('/identity/conditionalAccess/policies'));
  const policy = caChecks(campaign, policies, group, breakGlass, excludedUsers, notStarted, checks);

  // --- break-glass ------------------------------------------------------------------------------------------
  await breakGlassCheck(graph, breakGlass, group, policy, checks);

  // --- graduated enforcement: the second group and its enabled policy -------------------------------------
  if (isGraduated(campaign)) await graduatedChecks(graph, name, policies, breakGlass, notStarted, checks);

  // --- sign-in logs: what campaign impact and graduation read (advisory: a scheduled run checks only blocking) -
  if (!opts.blockingOnly && (isGraduated(campaign) || campaign.spec.enforcement.policyState === 'enabled')) await signInCheck(opts, checks);

  // --- notifications ----------------------------------------------------------------------------------------
  const channel = campaign.spec.notifications.channel;
  if (channel === 'teams') await teamsCatalogCheck(opts, checks);
  else if (channel === 'email') await senderCheck(opts, checks);

  // --- onboarding passes: advisory, a run that cannot issue a pass queues the user and goes on -------------
  if (!opts.blockingOnly && campaign.spec.onboarding.temporaryAccessPass.enabled) await onboardingChecks(opts, identity, checks);

  if (!opts.blockingOnly) {
    const resolved = await targetChecks(opts, checks);
    await passkeyProfilesCheck(opts, resolved, checks);
    await registrationCampaignCheck(opts, fido2.ok ? fido2.value : null, checks);
  }

  const all = [...checks.list, ...ledger.list];
  return { campaign: name, checks: opts.blockingOnly ? all.filter((c) => c.blocking) : all };
}

interface Identity {
  /** Object id of the identity's service principal. */
  id: string;
  /** The Graph application permissions it holds, by name. */
  held: Set<string>;
}

/** The identity's service principal and permissions; null when they could not be read. */
async function identityChecks(opts: DoctorOptions, checks: Checks): Promise<Identity | null> {
  const PERMS = 'identity.permissions';
  const FORBIDDEN = 'identity.forbidden';
  const permsTitle = 'The identity holds the Graph permissions the campaign needs';
  const forbiddenTitle = 'The identity holds no forbidden Graph permission';
  if (!opts.appId) {
    const why = "the identity's client id is unknown, so its app role assignments cannot be read.";
    const fix = 'Set CAMPAIGN_CLIENT_ID (or AZURE_CLIENT_ID) to the client id of the identity the scheduled job runs as (the stack output schedulerClientId), and run doctor again.';
    checks.add(PERMS, permsTitle, true, 'skip', why, fix);
    checks.add(FORBIDDEN, forbiddenTitle, true, 'skip', why, fix);
    return null;
  }
  const { graph, campaign } = opts;
  // serviceprincipal-list.md ($filter on appId); serviceprincipal-list-approleassignments.md.
  const mine = await read(() => graph.list<ServicePrincipal>('/servicePrincipals', { filter: `appId eq '${quote(opts.appId!)}'`, select: ['id', 'appId', 'displayName'] }));
  const msGraph = await read(() => graph.list<ServicePrincipal>('/servicePrincipals', { filter: `appId eq '${MICROSOFT_GRAPH_APP_ID}'`, select: ['id', 'appId', 'appRoles'] }));
  const failed = !mine.ok ? mine : !msGraph.ok ? msGraph : null;
  if (failed && !failed.ok) {
    const f = readFailure('service principals', failed.error, 'Application.Read.All');
    checks.add(PERMS, permsTitle, true, 'warn', `${f.message} The identity's permissions could not be checked.`, f.fix);
    checks.add(FORBIDDEN, forbiddenTitle, true, 'warn', `${f.message} The identity's permissions could not be checked.`, f.fix);
    return null;
  }
  const sp = mine.ok ? mine.value[0] : undefined;
  const graphSp = msGraph.ok ? msGraph.value[0] : undefined;
  if (!sp || !graphSp) {
    const missing = !sp ? `no service principal has the client id ${opts.appId}` : 'the Microsoft Graph service principal was not found';
    checks.add(PERMS, permsTitle, true, 'fail', `${missing}: no permission is granted.`, !sp ? 'Deploy the stack (pulumi up) or check CAMPAIGN_CLIENT_ID (the stack output schedulerClientId).' : 'Check the tenant.');
    checks.add(FORBIDDEN, forbiddenTitle, true, 'skip', `${missing}.`, '');
    return null;
  }
  const assignments = await read(() => graph.list<MG.AppRoleAssignment>(`/servicePrincipals/${sp.id}/appRoleAssignments`));
  if (!assignments.ok) {
    const f = readFailure(`the app role assignments of ${sp.displayName ?? sp.id}`, assignments.error, 'Application.Read.All');
    checks.add(PERMS, permsTitle, true, 'warn', f.message, f.fix);
    checks.add(FORBIDDEN, forbiddenTitle, true, 'warn', f.message, f.fix);
    return null;
  }
  // An assignment names its app role by id; the resource's appRoles give the permission's name (resources/approleassignment.md).
  const names = new Map((graphSp.appRoles ?? []).map((r) => [lower(r.id), r.value ?? r.id]));
  const held = new Set(assignments.value.filter((a) => lower(a.resourceId ?? '') === lower(graphSp.id)).map((a) => names.get(lower(a.appRoleId ?? '')) ?? String(a.appRoleId)));
  // Without the onboarding permissions the job only issues no pass (onboarding.permission reports them); the rest blocks.
  const required = requiredGraphRoles([withoutOnboarding(campaign)], { groupMemberWrite: false });
  const missing = required.filter((r) => !held.has(r));
  const who = `${sp.displayName ?? 'the identity'} (${opts.appId})`;
  if (missing.length) {
    checks.add(PERMS, permsTitle, true, 'fail', `${who} lacks ${missing.join(', ')} of the ${plural(required.length, 'permission')} the campaign needs.`,
      `Grant ${missing.join(', ')} (Microsoft Graph, application) with admin consent; the stack does this on pulumi up.`);
  } else {
    checks.add(PERMS, permsTitle, true, 'pass', `${who} holds all ${plural(required.length, 'permission')} the campaign needs (${required.join(', ')}).`);
  }
  const forbidden = Object.values(FORBIDDEN_GRAPH_ROLES).filter((r) => held.has(r));
  if (forbidden.length) {
    checks.add(FORBIDDEN, forbiddenTitle, true, 'fail', `${who} holds ${forbidden.join(', ')}, which the campaign identity must never hold.`, `Remove the app role assignment${forbidden.length === 1 ? '' : 's'} of ${forbidden.join(', ')} from the identity.`);
  } else {
    checks.add(FORBIDDEN, forbiddenTitle, true, 'pass', `${who} holds none of ${Object.values(FORBIDDEN_GRAPH_ROLES).join(', ')}.`);
  }
  return { id: sp.id, held };
}

const withoutOnboarding = (c: Campaign): Campaign =>
  ({ ...c, spec: { ...c.spec, onboarding: { temporaryAccessPass: { ...c.spec.onboarding.temporaryAccessPass, enabled: false } } } });

/** What onboarding passes need beyond the rest of the campaign: UserAuthenticationMethod.ReadWrite.All, Mail.Send for a non-email campaign. */
export function onboardingGraphRoles(c: Campaign): GraphRole[] {
  const rest = new Set(requiredGraphRoles([withoutOnboarding(c)], { groupMemberWrite: false }));
  return requiredGraphRoles([c], { groupMemberWrite: false }).filter((r) => !rest.has(r));
}

/** temporaryAccessPassAuthenticationMethodConfiguration (resources/temporaryaccesspassauthenticationmethodconfiguration.md). */
interface TapConfiguration {
  state?: string | null;
  defaultLifetimeInMinutes?: number | null;
  minimumLifetimeInMinutes?: number | null;
  maximumLifetimeInMinutes?: number | null;
  isUsableOnce?: boolean | null;
  includeTargets?: Array<{ id?: string | null; targetType?: string | null }> | null;
}

const TAP_FIX = 'Entra admin center → Protection → Authentication methods → Temporary Access Pass';

/** The tenant's Temporary Access Pass policy against the campaign's onboarding section, and (manager delivery) the identity's rights. */
async function onboardingChecks(opts: DoctorOptions, identity: Identity | null, checks: Checks): Promise<void> {
  const tap = opts.campaign.spec.onboarding.temporaryAccessPass;
  const manager = issuesOnboardingPasses(opts.campaign);
  const FIELD = 'spec.onboarding.temporaryAccessPass';
  const what = manager ? 'the job creates no pass and queues the users for the helpdesk' : 'the helpdesk cannot issue the passes the queue asks for';
  // temporaryaccesspassauthenticationmethodconfiguration-get.md
  const cfg = await read(() => opts.graph.get<TapConfiguration>('/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass'));
  const T_ENABLED = 'The Temporary Access Pass method is enabled';
  const T_LIFETIME = "The pass lifetime is within the tenant's limits";
  const T_ONCE = "One-time or multi-use passes as the tenant's policy allows";
  if (!cfg.ok) {
    const f = cfg.error.status === 404
      ? { message: 'the tenant has no Temporary Access Pass method configuration.', fix: `${TAP_FIX}: enable it for the targeted users.` }
      : readFailure('the Temporary Access Pass method policy', cfg.error, 'Policy.Read.AuthenticationMethod');
    checks.add('onboarding.tapEnabled', T_ENABLED, false, 'fail', `${f.message} Until it can be read, ${what}.`, f.fix);
    checks.add('onboarding.lifetime', T_LIFETIME, false, 'skip', 'the Temporary Access Pass policy could not be read.');
    checks.add('onboarding.usableOnce', T_ONCE, false, 'skip', 'the Temporary Access Pass policy could not be read.');
  } else {
    const p = cfg.value;
    const targets = (p.includeTargets ?? []).map((t) => (t.id === ALL_USERS ? 'all users' : `${t.targetType ?? 'target'} ${t.id}`));
    const scope = targets.length ? ` for ${targets.join(', ')}` : '';
    if (p.state === 'enabled') checks.add('onboarding.tapEnabled', T_ENABLED, false, 'pass', `the Temporary Access Pass method is enabled${scope}.`);
    else checks.add('onboarding.tapEnabled', T_ENABLED, false, 'fail', `the Temporary Access Pass method's state is ${p.state ?? 'unset'}: ${what}.`, `${TAP_FIX}: enable it for the targeted users, or set ${FIELD}.enabled: false.`);

    const { minimumLifetimeInMinutes: min, maximumLifetimeInMinutes: max } = p;
    const want = tap.lifetimeMinutes;
    // The job creates no pass from a policy whose limits it cannot read (observe/onboarding.ts), so neither does doctor guess.
    if (typeof min !== 'number' || typeof max !== 'number') {
      checks.add('onboarding.lifetime', T_LIFETIME, false, 'fail', `the policy shows no lifetime limits (minimumLifetimeInMinutes ${min ?? 'unset'}, maximumLifetimeInMinutes ${max ?? 'unset'}), so ${FIELD}.lifetimeMinutes ${want} cannot be checked and ${what}.`, `${TAP_FIX}: set the minimum and maximum lifetime.`);
    } else if (want < min || want > max) {
      checks.add('onboarding.lifetime', T_LIFETIME, false, 'fail', `${FIELD}.lifetimeMinutes is ${want}, outside the tenant's ${min} to ${max} minutes: Entra refuses such a pass, so ${what}.`,
        `Set ${FIELD}.lifetimeMinutes between ${min} and ${max}, or change the policy's limits (${TAP_FIX}).`);
    } else {
      checks.add('onboarding.lifetime', T_LIFETIME, false, 'pass', `${FIELD}.lifetimeMinutes ${want} is within the tenant's ${min} to ${max} minutes.`);
    }

    // authentication-post-temporaryaccesspassmethods.md: a multi-use pass can only be created if the policy allows it.
    if (typeof p.isUsableOnce !== 'boolean') {
      checks.add('onboarding.usableOnce', T_ONCE, false, 'fail', `the policy does not say whether passes are one-time (isUsableOnce ${p.isUsableOnce ?? 'unset'}), so ${what}.`, `${TAP_FIX}: set "Require one-time use" either way.`);
    } else if (!tap.usableOnce && p.isUsableOnce) {
      checks.add('onboarding.usableOnce', T_ONCE, false, 'fail', `${FIELD}.usableOnce is false but the tenant's policy makes every pass one-time (isUsableOnce true): Entra refuses a multi-use pass, so ${what}.`,
        `Set ${FIELD}.usableOnce: true (recommended: one sign-in to register the passkey is enough), or allow multi-use passes in the policy.`);
    } else {
      checks.add('onboarding.usableOnce', T_ONCE, false, 'pass', tap.usableOnce ? 'the campaign asks for one-time passes, which every policy allows.' : 'the campaign asks for multi-use passes and the policy allows them.');
    }
  }

  if (!manager) return;
  const T_PERM = 'The identity may create Temporary Access Passes and mail them to managers';
  const needed = onboardingGraphRoles(opts.campaign);
  if (!identity) {
    checks.add('onboarding.permission', T_PERM, false, 'skip', `the identity's permissions could not be read (see identity.permissions); it needs ${needed.join(', ')}.`);
  } else {
    const lacking = needed.filter((r) => !identity.held.has(r));
    if (lacking.length) {
      checks.add('onboarding.permission', T_PERM, false, 'fail', `the identity lacks ${lacking.join(', ')}: the job creates no pass and queues the users for the helpdesk.`,
        `Deploy the stack with this campaign file (pulumi up grants ${lacking.join(', ')}); ${ONBOARDING_PASS_ROLE} can create a sign-in credential for any user, so it is granted only while a campaign delivers passes to managers.`);
    } else {
      checks.add('onboarding.permission', T_PERM, false, 'pass', `the identity holds ${needed.join(', ')}.`);
    }
  }
  // An email campaign's sender is checked by mail.sender; for any other channel the mail to the manager is the only mail.
  if (opts.campaign.spec.notifications.channel !== 'email') await onboardingSenderCheck(opts, checks);
}

async function onboardingSenderCheck(opts: DoctorOptions, checks: Checks): Promise<void> {
  const TITLE = 'A sender mailbox for the mail to the manager exists';
  const n = opts.campaign.spec.notifications;
  const sender = n.senders?.[0] ?? n.sender ?? opts.sender;
  if (!sender) {
    checks.add('onboarding.sender', TITLE, false, 'fail', 'no sender: the campaign names no spec.notifications.sender and CAMPAIGN_NOTIFICATION_SENDER is not set, so no pass can be mailed to a manager.', 'Set spec.notifications.sender (a mailbox UPN) in the campaign file.');
    return;
  }
  // user-get.md; the Sent Items probe of mail.sender needs Mail.Read, which a campaign without email is not granted.
  const u = await read(() => opts.graph.get<{ id: string; mail?: string | null }>(`/users/${encodeURIComponent(sender)}?$select=id,userPrincipalName,mail`));
  if (!u.ok) {
    const f = u.error.status === 404 ? { message: `sender ${sender} is not a user of the tenant.`, fix: 'Create the mailbox (a shared mailbox is enough) or fix spec.notifications.sender.' } : readFailure(`sender ${sender}`, u.error, 'User.Read.All');
    checks.add('onboarding.sender', TITLE, false, 'fail', f.message, f.fix);
  } else if (!u.value.mail) {
    checks.add('onboarding.sender', TITLE, false, 'fail', `sender ${sender} (${u.value.id}) has no mail address, so no mailbox.`, 'Give the account an Exchange Online mailbox (a shared mailbox is enough).');
  } else {
    checks.add('onboarding.sender', TITLE, false, 'pass', `sender ${sender} has the address ${u.value.mail}.`);
  }
}

function fido2Checks(fido2: Read<SnapshotFido2Configuration>, checks: Checks): void {
  if (!fido2.ok) {
    const f = readFailure('the FIDO2 authentication method policy', fido2.error, 'Policy.Read.All');
    for (const [id, title] of [['fido2.enabled', 'The passkey (FIDO2) method is enabled'], ['fido2.selfService', 'Users may register passkeys themselves']] as const) checks.add(id, title, true, 'fail', f.message, f.fix);
    return;
  }
  const p = fido2.value;
  checks.add('fido2.enabled', 'The passkey (FIDO2) method is enabled', true, p.state === 'enabled' ? 'pass' : 'fail',
    `the FIDO2 method's state is ${p.state ?? 'unset'}.`, p.state === 'enabled' ? '' : 'Entra admin center → Authentication methods → Passkey (FIDO2): enable it for the targeted users.');
  checks.add('fido2.selfService', 'Users may register passkeys themselves', true, p.isSelfServiceRegistrationAllowed ? 'pass' : 'fail',
    `self-service registration is ${p.isSelfServiceRegistrationAllowed ? 'allowed' : 'not allowed'}.`,
    p.isSelfServiceRegistrationAllowed ? '' : 'Authentication methods → Passkey (FIDO2) → Configure: allow self-service set up.');
  const k = p.keyRestrictions;
  const aaGuids = k?.aaGuids ?? [];
  checks.add('fido2.keyRestrictions', 'Passkey model (AAGUID) restrictions', false, 'pass',
    k?.isEnforced
      ? `key restrictions are enforced: ${k.enforcementType === 'allow' ? 'only' : 'all but'} ${plural(aaGuids.length, 'AAGUID')}${aaGuids.length ? ` (${examples(aaGuids)})` : ''} may be registered; passkeys of other models do not count towards the campaign.`
      : 'no key restrictions: any passkey model may be registered.');
}

async function groupChecks(graph: GraphReader, groups: Read<Group[]>, name: string, notStarted: boolean, identity: Identity | null, checks: Checks): Promise<Group | null> {
  const TITLE = 'The enforcement group exists once and is a security group';
  if (!groups.ok) {
    const f = readFailure(`group "${name}"`, groups.error, 'GroupMember.Read.All');
    checks.add('group.exists', TITLE, true, 'fail', f.message, f.fix);
    checks.add('group.write', 'The identity can add members to the enforcement group', true, 'skip', 'the group could not be read.');
    return null;
  }
  const found = groups.value;
  let group: Group | null = null;
  if (found.length === 0) {
    if (notStarted) checks.add('group.exists', TITLE, true, 'skip', `no group "${name}" yet; the campaign is notStarted and the stack creates the group when spec.status becomes inProgress.`);
    else checks.add('group.exists', TITLE, true, 'fail', `no group named "${name}".`, 'Deploy the campaign (pulumi up); the stack creates the group.');
  } else if (found.length > 1) {
    checks.add('group.exists', TITLE, true, 'fail', `${found.length} groups are named "${name}" (${found.map((g) => g.id).join(', ')}); the job cannot tell which one enforces.`, 'Delete or rename every group of that name the stack did not create.');
  } else {
    group = found[0]!;
    const problems: string[] = [];
    if (group.securityEnabled !== true) problems.push('it is not security-enabled');
    if (group.mailEnabled === true) problems.push('it is mail-enabled');
    if ((group.groupTypes ?? []).some((t) => t === 'DynamicMembership')) problems.push('its membership is dynamic');
    if (problems.length) checks.add('group.exists', TITLE, true, 'fail', `group "${name}" (${group.id}): ${problems.join(', ')}; Conditional Access needs a security group whose members the job manages.`, 'Let the stack recreate the group (securityEnabled, not mail-enabled, assigned membership).');
    else checks.add('group.exists', TITLE, true, 'pass', `group "${name}" (${group.id}) is a security group, not mail-enabled.`);
  }
  const WRITE = 'The identity can add members to the enforcement group';
  if (!group) checks.add('group.write', WRITE, true, 'skip', 'there is no single enforcement group to add members to.');
  else if (identity === null) checks.add('group.write', WRITE, true, 'skip', "the identity's permissions are unknown (see identity.permissions).");
  else {
    const grant = GROUP_WRITE.find((r) => identity.held.has(r));
    if (grant) checks.add('group.write', WRITE, true, 'pass', `the identity holds ${grant}.`);
    else {
      // group-list-owners.md; the stack makes the identity an owner instead of granting a write permission.
      const owners = await read(() => graph.list<{ id: string }>(`/groups/${group!.id}/owners`, { select: ['id'] }));
      const undocumented = 'Graph documents the permissions for adding members (group-post-members.md), not group ownership, for an application';
      if (!owners.ok) {
        const f = readFailure(`the owners of ${name}`, owners.error, 'GroupMember.Read.All');
        checks.add('group.write', WRITE, true, 'warn', `the identity holds none of ${GROUP_WRITE.join(', ')}, and ${f.message}`, f.fix);
      } else if (owners.value.some((o) => lower(o.id) === lower(identity.id))) {
        checks.add('group.write', WRITE, true, 'pass',
          `the identity owns the group and holds no group write permission; ${undocumented}: if the first run's adds are refused (403), grant GroupMember.ReadWrite.All (passkey-campaigns:groupMemberWrite: true).`);
      } else {
        checks.add('group.write', WRITE, true, 'fail', `the identity (${identity.id}) holds none of ${GROUP_WRITE.join(', ')} and does not own the group.`,
          'Run pulumi up (the stack makes the identity an owner of the group), or grant GroupMember.ReadWrite.All (passkey-campaigns:groupMemberWrite: true).');
      }
    }
  }
  return group;
}

/** Each entry as written (object id or UPN) and the account it names; user null when it does not resolve (404). */
async function resolveAccounts(graph: GraphReader, entries: readonly string[]): Promise<ResolvedAccount[]> {
  const out: ResolvedAccount[] = [];
  for (const entry of entries) {
    // user-get.md: by id or userPrincipalName; $select.
    const r = await read(() => graph.get<{ id: string; userPrincipalName: string; accountEnabled?: boolean | null }>(`/users/${encodeURIComponent(entry)}?$select=id,userPrincipalName,accountEnabled`));
    if (r.ok) out.push({ entry, user: r.value });
    else if (r.error.status === 404) out.push({ entry, user: null });
    else throw r.error;
  }
  return out;
}

/** The tenant's policy, compared with the declaration field by field; returns the policy when exactly one has the campaign's name. */
function caChecks(
  campaign: Campaign,
  policies: Read<MG.ConditionalAccessPolicy[]>,
  group: Group | null,
  breakGlass: ResolvedAccount[],
  excludedUsers: ResolvedAccount[],
  notStarted: boolean,
  checks: Checks,
): MG.ConditionalAccessPolicy | null {
  const name = caPolicyName(campaign.metadata.name);
  const declared = declaredCaPolicy(campaign);
  const ids = ['ca.targets', 'ca.grant', 'ca.state', 'ca.breakGlass', 'ca.drift'] as const;
  const titles: Record<(typeof ids)[number] | 'ca.exists', string> = {
    'ca.exists': 'The Conditional Access policy exists',
    'ca.targets': 'The policy targets exactly the enforcement group',
    'ca.grant': 'The policy requires the phishing-resistant authentication strength',
    'ca.state': 'The policy state matches the campaign',
    'ca.breakGlass': 'The policy excludes every break-glass account by object id',
    'ca.drift': 'The policy matches what the stack declares',
  };
  const skipRest = (why: string) => ids.forEach((id) => checks.add(id, titles[id], id !== 'ca.drift', 'skip', why));
  if (!policies.ok) {
    const f = readFailure('Conditional Access policies', policies.error, 'Policy.Read.All');
    checks.add('ca.exists', titles['ca.exists'], true, 'fail', f.message, f.fix);
    skipRest('the policies could not be read.');
    return null;
  }
  const found = policies.value.filter((p) => p.displayName === name);
  if (found.length !== 1) {
    if (found.length === 0 && notStarted) checks.add('ca.exists', titles['ca.exists'], true, 'skip', `no policy "${name}" yet; the campaign is notStarted and the stack creates it when spec.status becomes inProgress.`);
    else if (found.length === 0) checks.add('ca.exists', titles['ca.exists'], true, 'fail', `no Conditional Access policy named "${name}".`, 'Deploy the campaign (pulumi up); the stack creates the policy.');
    else checks.add('ca.exists', titles['ca.exists'], true, 'fail', `${found.length} policies are named "${name}" (${found.map((p) => p.id).join(', ')}).`, 'Delete every policy of that name the stack did not create.');
    skipRest('there is no single campaign policy.');
    return null;
  }
  const p = found[0]!;
  checks.add('ca.exists', titles['ca.exists'], true, 'pass', `policy "${name}" (${p.id}).`);
  const users = p.conditions?.users ?? {};
  const includeGroups = users.includeGroups ?? [];
  const extra = [...(users.includeUsers ?? []).map((u) => `user ${u}`), ...(users.includeRoles ?? []).map((r) => `role ${r}`), ...(users.includeGuestsOrExternalUsers ? ['guests or external users'] : [])];
  if (!group) checks.add('ca.targets', titles['ca.targets'], true, 'skip', 'there is no single enforcement group to compare with.');
  else if (includeGroups.length === 1 && lower(includeGroups[0]!) === lower(group.id) && extra.length === 0) checks.add('ca.targets', titles['ca.targets'], true, 'pass', `the policy includes only group ${group.id}.`);
  else {
    checks.add('ca.targets', titles['ca.targets'], true, 'fail',
      `the policy includes ${[...includeGroups.map((g) => `group ${g}`), ...extra].join(', ') || 'nobody'}; it must include only the enforcement group ${group.id}.`,
      'Run pulumi up to restore the policy, and stop editing it in the portal.');
  }
  const grant = p.grantControls;
  const strength = grant?.authenticationStrength?.id ?? null;
  if (strength !== null && lower(strength) === PHISHING_RESISTANT) checks.add('ca.grant', titles['ca.grant'], true, 'pass', `the grant is the Phishing-resistant MFA strength (${PHISHING_RESISTANT}).`);
  else {
    checks.add('ca.grant', titles['ca.grant'], true, 'fail',
      `the grant is ${strength ? `authentication strength ${strength}` : (grant?.builtInControls ?? []).join(` ${grant?.operator ?? 'OR'} `) || 'empty'}, not the Phishing-resistant MFA strength ${PHISHING_RESISTANT}.`,
      'Run pulumi up to restore the policy.');
  }
  const want = declared.state;
  checks.add('ca.state', titles['ca.state'], true, p.state === want ? 'pass' : 'fail',
    `the policy is ${p.state}; the campaign asks for ${want}${want === CA_STATE_ENABLED ? '' : ' (report-only unless spec.enforcement.policyState is enabled)'}.`,
    p.state === want ? '' : 'Run pulumi up: the state follows spec.enforcement.policyState in the campaign file.');
  const excluded = new Set((users.excludeUsers ?? []).map(lower));
  const notExcluded = breakGlass.filter((b) => b.user && !excluded.has(lower(b.user.id)));
  const unresolved = breakGlass.filter((b) => !b.user);
  if (notExcluded.length || unresolved.length) {
    const parts = [
      ...notExcluded.map((b) => `${b.entry} (${b.user!.id}) is not excluded`),
      ...unresolved.map((b) => `${b.entry} does not resolve to an account`),
    ];
    checks.add('ca.breakGlass', titles['ca.breakGlass'], true, 'fail', `${parts.join('; ')}.`, 'Run pulumi up to restore the exclusions; fix spec.exclusions.breakGlass for entries that do not resolve.');
  } else checks.add('ca.breakGlass', titles['ca.breakGlass'], true, 'pass', `all ${plural(breakGlass.length, 'break-glass account')} are excluded by object id.`);
  const drift = driftOf(p, declared, group, [...breakGlass, ...excludedUsers]);
  if (drift.length) checks.add('ca.drift', titles['ca.drift'], false, 'fail', `the live policy differs from the declaration: ${drift.join('; ')}.`, 'Run pulumi up to restore the declared policy (pulumi preview shows the same differences).');
  else checks.add('ca.drift', titles['ca.drift'], false, 'pass', 'every declared field matches the live policy.');
  return p;
}

/** The graduated group exists once as a security group, and its policy is enabled for it alone, phishing-resistant, break-glass excluded. */
async function graduatedChecks(graph: GraphReader, campaign: string, policies: Read<MG.ConditionalAccessPolicy[]>, breakGlass: ResolvedAccount[], notStarted: boolean, checks: Checks): Promise<void> {
  const GROUP = 'graduated.group';
  const GROUP_TITLE = 'The graduated group exists once and is a security group';
  const POLICY = 'graduated.policy';
  const POLICY_TITLE = 'The graduated policy is enabled, for the graduated group only, and excludes every break-glass account';
  const groupName = graduatedGroupName(campaign);
  const policyName = graduatedCaPolicyName(campaign);
  const deploy = 'Deploy the campaign (pulumi up); the stack creates it for a campaign in graduated mode.';
  // group-list.md: $filter on displayName (eq), $select.
  const groups = await read(() => graph.list<Group>('/groups', { filter: `displayName eq '${quote(groupName)}'`, select: ['id', 'displayName', 'securityEnabled', 'mailEnabled', 'groupTypes'] }));
  let group: Group | null = null;
  if (!groups.ok) {
    const f = readFailure('groups', groups.error, 'GroupMember.Read.All');
    checks.add(GROUP, GROUP_TITLE, true, 'fail', f.message, f.fix);
  } else if (groups.value.length === 0) {
    if (notStarted) checks.add(GROUP, GROUP_TITLE, true, 'skip', `no group "${groupName}" yet; the campaign is notStarted and the stack creates the group when spec.status becomes inProgress.`);
    else checks.add(GROUP, GROUP_TITLE, true, 'fail', `no group named "${groupName}".`, deploy);
  } else if (groups.value.length > 1) {
    checks.add(GROUP, GROUP_TITLE, true, 'fail', `${groups.value.length} groups are named "${groupName}" (${groups.value.map((g) => g.id).join(', ')}); the job cannot tell which one graduates users.`, 'Delete or rename every group of that name the stack did not create.');
  } else {
    group = groups.value[0]!;
    const problems = [group.securityEnabled ? null : 'not security-enabled', group.mailEnabled ? 'mail-enabled' : null, (group.groupTypes ?? []).includes('DynamicMembership') ? 'dynamic membership' : null].filter((x): x is string => x !== null);
    if (problems.length) checks.add(GROUP, GROUP_TITLE, true, 'fail', `group "${groupName}" (${group.id}): ${problems.join(', ')}.`, 'Let the stack recreate the group (securityEnabled, not mail-enabled, assigned membership).');
    else checks.add(GROUP, GROUP_TITLE, true, 'pass', `group "${groupName}" (${group.id}) is a security group, not mail-enabled.`);
  }

  if (!policies.ok) {
    checks.add(POLICY, POLICY_TITLE, true, 'skip', 'the Conditional Access policies could not be read (see ca.exists).');
    return;
  }
  const found = policies.value.filter((p) => p.displayName === policyName);
  if (found.length !== 1) {
    if (found.length === 0 && notStarted) checks.add(POLICY, POLICY_TITLE, true, 'skip', `no policy "${policyName}" yet; the campaign is notStarted.`);
    else if (found.length === 0) checks.add(POLICY, POLICY_TITLE, true, 'fail', `no Conditional Access policy named "${policyName}".`, deploy);
    else checks.add(POLICY, POLICY_TITLE, true, 'fail', `${found.length} policies are named "${policyName}" (${found.map((p) => p.id).join(', ')}).`, 'Delete every policy of that name the stack did not create.');
    return;
  }
  const p = found[0]!;
  const users = p.conditions?.users ?? {};
  const problems: string[] = [];
  if (p.state !== CA_STATE_ENABLED) problems.push(`its state is ${p.state}, not enabled, so graduated users are not enforced`);
  const includes = [...(users.includeGroups ?? []).map((g) => `group ${g}`), ...(users.includeUsers ?? []).map((u) => `user ${u}`), ...(users.includeRoles ?? []).map((r) => `role ${r}`), ...(users.includeGuestsOrExternalUsers ? ['guests or external users'] : [])];
  if (group && !(includes.length === 1 && lower(users.includeGroups?.[0] ?? '') === lower(group.id))) problems.push(`it includes ${includes.join(', ') || 'nobody'}, not only the graduated group ${group.id}`);
  const strength = p.grantControls?.authenticationStrength?.id ?? null;
  if (strength === null || lower(strength) !== PHISHING_RESISTANT) problems.push(`its grant is ${strength ? `authentication strength ${strength}` : 'not an authentication strength'}, not Phishing-resistant MFA (${PHISHING_RESISTANT})`);
  const excluded = new Set((users.excludeUsers ?? []).map(lower));
  const missing = breakGlass.filter((b) => !b.user || !excluded.has(lower(b.user.id))).map((b) => (b.user ? `${b.entry} (${b.user.id})` : `${b.entry} (does not resolve)`));
  if (breakGlass.length === 0) problems.push('the campaign names no break-glass account');
  else if (missing.length) problems.push(`it does not exclude the break-glass account${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`);
  if (problems.length) checks.add(POLICY, POLICY_TITLE, true, 'fail', `policy "${policyName}" (${p.id}): ${problems.join('; ')}.`, 'Run pulumi up to restore the graduated policy, and stop editing it in the portal.');
  else checks.add(POLICY, POLICY_TITLE, true, 'pass', `policy "${policyName}" (${p.id}) is enabled for group ${group?.id ?? '(unknown)'} only, requires Phishing-resistant MFA and excludes ${plural(breakGlass.length, 'break-glass account')}.`);
}

/**
 * One sign-in of the campaign's window, read as campaign impact and graduation read them (signin-list.md: the documented
 * $filter on createdDateTime, $top; reportOnly results with the Prefer header), to learn whether this identity may read
 * sign-ins at all and whether they carry Conditional Access results (appliedconditionalaccesspolicy.md).
 */
async function signInCheck(opts: DoctorOptions, checks: Checks): Promise<void> {
  const ID = 'signIns.read';
  const TITLE = 'Sign-in logs can be read, with their Conditional Access results';
  const days = opts.campaign.spec.enforcement.enableWhen.observedDays;
  // resources/signin.md: createdDateTime supports eq, le and ge; whole seconds, as the docs' examples write the literal.
  // The newest sign-in since the window opened is enough ($top=1, newest first).
  const since = new Date(Math.floor(opts.now.getTime() / 1000) * 1000 - days * 86_400_000).toISOString().replace('.000Z', 'Z');
  const filter = `createdDateTime ge ${since}`;
  const perms = SIGN_IN_LOG_ROLES.join(', ');
  const r = await read(() => opts.graph.get<{ value?: Array<{ appliedConditionalAccessPolicies?: unknown[] }> }>(`/auditLogs/signIns?$top=1&$filter=${encodeURIComponent(filter)}`, { headers: { Prefer: 'include-unknown-enum-members' } }));
  if (!r.ok) {
    const f = r.error.status === 403
      ? { message: `reading sign-in logs was refused (403 ${r.error.code}); campaign impact cannot check the enableWhen gate and nobody graduates.`, fix: `Grant the identity AuditLog.Read.All and Directory.Read.All (both: the sign-in API requires them together), and Policy.Read.All for the Conditional Access results.` }
      : readFailure('sign-in logs', r.error, perms);
    checks.add(ID, TITLE, false, 'fail', f.message, f.fix);
    return;
  }
  const first = r.value.value?.[0];
  if (!first) {
    checks.add(ID, TITLE, false, 'warn', `sign-in logs can be read, but there is no sign-in in the last ${days} days, so whether they carry Conditional Access results cannot be told.`, 'Run doctor again once users have signed in.');
    return;
  }
  if (!Array.isArray(first.appliedConditionalAccessPolicies)) {
    checks.add(ID, TITLE, false, 'fail', `sign-in logs can be read, but without their Conditional Access results (appliedConditionalAccessPolicies is omitted); campaign impact cannot tell who would be blocked and nobody graduates.`,
      'Grant the identity Policy.Read.All (Microsoft Graph, application) with admin consent.');
    return;
  }
  checks.add(ID, TITLE, false, 'pass', `sign-in logs of the last ${days} days can be read, with their Conditional Access results.`);
}

/** One line per field where the live policy differs from the declaration: `field: live …, declared …`. */
function driftOf(p: MG.ConditionalAccessPolicy, d: DeclaredCaPolicy, group: Group | null, accounts: ResolvedAccount[]): string[] {
  const out: string[] = [];
  const show = (v: readonly string[]) => (v.length ? `[${v.join(', ')}]` : '[]');
  const cmp = (field: string, live: readonly string[], declared: readonly string[]) => {
    if (!sameSet(live, declared)) out.push(`${field}: live ${show(live)}, declared ${show(declared)}`);
  };
  if (p.state !== d.state) out.push(`state: live ${p.state}, declared ${d.state}`);
  cmp('conditions.clientAppTypes', p.conditions?.clientAppTypes ?? [], d.clientAppTypes);
  cmp('conditions.applications.includeApplications', p.conditions?.applications?.includeApplications ?? [], d.includeApplications);
  if (group) cmp('conditions.users.includeGroups', p.conditions?.users?.includeGroups ?? [], [group.id]);
  cmp('conditions.users.includeUsers', p.conditions?.users?.includeUsers ?? [], []);
  cmp('conditions.users.includeRoles', p.conditions?.users?.includeRoles ?? [], []);
  const byEntry = new Map(accounts.map((a) => [a.entry, a.user?.id ?? a.entry]));
  cmp('conditions.users.excludeUsers', p.conditions?.users?.excludeUsers ?? [], d.excludeUsers.map((e) => byEntry.get(e) ?? e));
  cmp('conditions.users.excludeGroups', p.conditions?.users?.excludeGroups ?? [], d.excludeGroups);
  if ((p.grantControls?.operator ?? null) !== d.grantOperator) out.push(`grantControls.operator: live ${p.grantControls?.operator ?? 'none'}, declared ${d.grantOperator}`);
  const strength = p.grantControls?.authenticationStrength?.id ?? 'none';
  if (lower(strength) !== lower(strengthId(d.authenticationStrengthPolicyId))) out.push(`grantControls.authenticationStrength.id: live ${strength}, declared ${strengthId(d.authenticationStrengthPolicyId)}`);
  const builtIn = p.grantControls?.builtInControls ?? [];
  if (builtIn.length) out.push(`grantControls.builtInControls: live ${show(builtIn)}, declared []`);
  return out;
}

async function breakGlassCheck(graph: GraphReader, accounts: ResolvedAccount[], group: Group | null, policy: MG.ConditionalAccessPolicy | null, checks: Checks): Promise<void> {
  const ID = 'breakGlass.accounts';
  const TITLE = 'Break-glass accounts are enabled, excluded from the policy and not enforced';
  if (accounts.length === 0) {
    checks.add(ID, TITLE, true, 'fail', 'the campaign names no break-glass account.', 'List the emergency-access accounts under spec.exclusions.breakGlass, by object id.');
    return;
  }
  let members = new Set<string>();
  if (group) {
    // group-list-members.md
    const r = await read(() => graph.list<{ id: string }>(`/groups/${group.id}/members`, { select: ['id'], top: 999 }));
    if (!r.ok) {
      const f = readFailure(`the members of ${group.displayName}`, r.error, 'GroupMember.Read.All');
      checks.add(ID, TITLE, true, 'fail', f.message, f.fix);
      return;
    }
    members = new Set(r.value.map((m) => lower(m.id)));
  }
  const excluded = new Set((policy?.conditions?.users?.excludeUsers ?? []).map(lower));
  const problems: string[] = [];
  const byUpn: string[] = [];
  for (const a of accounts) {
    if (!a.user) {
      problems.push(`${a.entry} does not resolve to an account`);
      continue;
    }
    const who = a.entry === a.user.id ? a.entry : `${a.entry} (${a.user.id})`;
    if (a.user.accountEnabled === false) problems.push(`${who} is disabled`);
    if (members.has(lower(a.user.id))) problems.push(`${who} is a member of the enforcement group`);
    if (policy && !excluded.has(lower(a.user.id))) problems.push(`${who} is not excluded from the policy`);
    if (!isGuid(a.entry)) byUpn.push(`${a.entry} (${a.user.id})`);
  }
  if (problems.length) checks.add(ID, TITLE, true, 'fail', `${problems.join('; ')}.`, 'Keep break-glass accounts enabled, out of the enforcement group (remove them by hand) and excluded from the policy (pulumi up).');
  else if (byUpn.length) {
    checks.add(ID, TITLE, true, 'warn', `all ${plural(accounts.length, 'account')} are fine, but ${byUpn.join(', ')} ${byUpn.length === 1 ? 'is' : 'are'} named by UPN; a renamed account would silently stop being excluded.`,
      'Name break-glass accounts by object id in spec.exclusions.breakGlass.');
  } else checks.add(ID, TITLE, true, 'pass', `${plural(accounts.length, 'account')}: enabled, excluded from the policy, not in the enforcement group.`);
}

async function teamsCatalogCheck(opts: DoctorOptions, checks: Checks): Promise<void> {
  const ID = 'teams.app';
  const TITLE = "The campaign's Teams app is in the org catalog";
  const id = opts.teamsAppId;
  if (!id) {
    checks.add(ID, TITLE, true, 'warn', 'CAMPAIGN_TEAMS_APP_ID is not set: which Teams app sends the notifications cannot be checked, and notices link to no app.', 'Publish the app built by `campaign teams-app` to the org catalog and set CAMPAIGN_TEAMS_APP_ID (the scheduler setting) to its catalog id.');
    return;
  }
  // appcatalogs-list-teamsapps.md: $filter on id, $expand=appDefinitions (publishingState, azureADAppId).
  type App = { id: string; externalId?: string | null; displayName?: string | null; appDefinitions?: Array<{ publishingState?: string | null; azureADAppId?: string | null; version?: string | null }> };
  const r = await read(() => opts.graph.list<App>('/appCatalogs/teamsApps', { filter: `id eq '${quote(id)}'`, expand: 'appDefinitions' }));
  if (!r.ok) {
    const f = readFailure('the Teams app catalog', r.error, 'AppCatalog.Read.All');
    checks.add(ID, TITLE, true, r.error.status === 403 ? 'warn' : 'fail', f.message, f.fix);
    return;
  }
  const app = r.value[0];
  if (!app) {
    checks.add(ID, TITLE, true, 'fail', `no app with catalog id ${id} in the org app catalog.`, 'Upload the package `campaign teams-app` builds (Teams admin center → Manage apps → Upload) and set CAMPAIGN_TEAMS_APP_ID to the id the catalog gives it.');
    return;
  }
  const def = app.appDefinitions?.[app.appDefinitions.length - 1];
  const problems: string[] = [];
  if (def?.publishingState && def.publishingState !== 'published') problems.push(`its latest definition is ${def.publishingState}, not published`);
  if (opts.appId && def?.azureADAppId && lower(def.azureADAppId) !== lower(opts.appId)) problems.push(`its manifest's webApplicationInfo names ${def.azureADAppId}, not the identity ${opts.appId}, so the identity cannot send as it`);
  const label = `${app.displayName ?? app.id} (${app.id}${app.externalId ? `, manifest id ${app.externalId}` : ''})`;
  if (problems.length) checks.add(ID, TITLE, true, 'fail', `${label}: ${problems.join('; ')}.`, 'Rebuild the package with `campaign teams-app` for this identity and publish it.');
  else {
    checks.add(ID, TITLE, true, 'pass',
      `${label} is published. Graph does not show a manifest's activity types; the package \`campaign teams-app\` builds declares passkeyCampaign.`);
  }
}

async function senderCheck(opts: DoctorOptions, checks: Checks): Promise<void> {
  const ID = 'mail.sender';
  const n = opts.campaign.spec.notifications;
  const senders = n.senders?.length ? n.senders : [n.sender ?? opts.sender].filter((x): x is string => !!x);
  const TITLE = senders.length > 1 ? 'The sender mailboxes exist' : 'The sender mailbox exists';
  if (!senders.length) {
    checks.add(ID, TITLE, true, 'fail', 'no sender: the campaign names no spec.notifications.sender and CAMPAIGN_NOTIFICATION_SENDER is not set.', 'Set spec.notifications.sender (a mailbox UPN) in the campaign file.');
    return;
  }
  const found: Array<{ status: CheckStatus; message: string; fix: string }> = [];
  for (const sender of senders) found.push(await senderMailbox(opts.graph, sender));
  const worst = found.find((f) => f.status === 'fail') ?? found.find((f) => f.status === 'warn') ?? found[0]!;
  const problems = found.filter((f) => f.status !== 'pass');
  checks.add(ID, TITLE, true, worst.status, (problems.length ? problems : found).map((f) => f.message).join(' '), problems.length ? worst.fix : '');
}

/** One sender: a user of the tenant with a mail address whose Sent Items answer. */
async function senderMailbox(graph: GraphReader, sender: string): Promise<{ status: CheckStatus; message: string; fix: string }> {
  // user-get.md
  const u = await read(() => graph.get<{ id: string; userPrincipalName: string; mail?: string | null }>(`/users/${encodeURIComponent(sender)}?$select=id,userPrincipalName,mail`));
  if (!u.ok) {
    if (u.error.status === 404) return { status: 'fail', message: `sender ${sender} is not a user of the tenant.`, fix: 'Create the mailbox (a shared mailbox is enough) or fix spec.notifications.sender.' };
    return { status: 'fail', ...readFailure(`sender ${sender}`, u.error, 'User.Read.All') };
  }
  if (!u.value.mail) return { status: 'fail', message: `sender ${sender} (${u.value.id}) has no mail address, so no mailbox.`, fix: 'Give the account an Exchange Online mailbox (a shared mailbox is enough).' };
  // mailfolder-list-messages.md: the Sent Items folder answers only when the mailbox exists (404 MailboxNotEnabledForRESTAPI otherwise).
  const box = await read(() => graph.get<unknown>(`/users/${u.value.id}/mailFolders/sentitems/messages?$top=1&$select=id`));
  if (box.ok) return { status: 'pass', message: `sender ${sender} has the mailbox ${u.value.mail}.`, fix: '' };
  if (box.error.status === 404) return { status: 'fail', message: `sender ${sender} has no Exchange Online mailbox (${box.error.code}).`, fix: 'Give the account a mailbox (a shared mailbox is enough) or name another sender.' };
  return {
    status: 'warn',
    message: `sender ${sender} has the address ${u.value.mail}, but its mailbox could not be read (${box.error.status} ${box.error.code}) to confirm it exists.`,
    fix: "Grant Mail.Read scoped to the sender mailboxes (the job's Sent Items look-up needs it too), or send a test notification.",
  };
}

/** Per-user checks: FIDO2 scope, Teams installations or mail addresses of the targeted users. */
async function targetChecks(opts: DoctorOptions, checks: Checks): Promise<Resolved | null> {
  const { campaign, graph } = opts;
  const channel = campaign.spec.notifications.channel;
  const SCOPE = 'fido2.scope';
  const SCOPE_TITLE = "Targeted users are in the FIDO2 policy's targets";
  let snapshot;
  try {
    snapshot = await observe(graph, campaign, { allowMissingGroup: true });
  } catch (e) {
    if (!(e instanceof EnforcementGroupAmbiguousError)) throw e;
    const why = 'the targets are not resolved while several groups carry the enforcement group\'s name (see group.exists).';
    checks.add(SCOPE, SCOPE_TITLE, false, 'skip', why);
    if (channel === 'teams') checks.add('teams.installed', 'The Teams app is installed for the targeted users', false, 'skip', why);
    if (channel === 'email') checks.add('mail.recipients', 'Targeted users have a mail address', false, 'skip', why);
    return null;
  }
  const resolved = resolveTargets(campaign, snapshot, opts.now.toISOString());
  if (snapshot.readErrors.length) {
    const why = `the targets could not be read: ${snapshot.readErrors.map((e) => `${e.read} ${e.status} ${e.code ?? ''}`.trim()).join('; ')}.`;
    checks.add(SCOPE, SCOPE_TITLE, false, 'fail', why, 'Grant the permissions identity.permissions names, then run doctor again.');
    if (channel === 'teams') checks.add('teams.installed', 'The Teams app is installed for the targeted users', false, 'skip', why);
    if (channel === 'email') checks.add('mail.recipients', 'Targeted users have a mail address', false, 'skip', why);
    return null;
  }
  const users = resolved.observation.users;
  const outside = users.filter((u) => u.inFido2PolicyScope === false).map((u) => u.userPrincipalName);
  if (users.length === 0) checks.add(SCOPE, SCOPE_TITLE, false, 'warn', 'the campaign targets nobody in this tenant.', 'Check spec.targets.');
  else if (outside.length) {
    checks.add(SCOPE, SCOPE_TITLE, false, 'fail', `${outside.length} of ${plural(users.length, 'targeted user')} (${Math.round((100 * outside.length) / users.length)} %) are outside the FIDO2 policy's targets and cannot register a passkey: ${examples(outside)}.`,
      'Include them in Authentication methods → Passkey (FIDO2) → Enable and target (or exclude them from the campaign).');
  } else checks.add(SCOPE, SCOPE_TITLE, false, 'pass', `all ${plural(users.length, 'targeted user')} are in the FIDO2 policy's targets.`);

  if (channel === 'email') {
    const without = users.filter((u) => !u.mail).map((u) => u.userPrincipalName);
    checks.add('mail.recipients', 'Targeted users have a mail address', false, without.length ? 'fail' : 'pass',
      without.length ? `${without.length} of ${plural(users.length, 'targeted user')} have no mail address and cannot be notified by email: ${examples(without)}.` : `all ${plural(users.length, 'targeted user')} have a mail address.`,
      without.length ? 'Give them a mailbox, or exclude them and reach them another way.' : '');
  }
  if (channel === 'teams') {
    const TITLE = 'The Teams app is installed for the targeted users';
    const appId = opts.teamsAppId;
    if (!appId) {
      checks.add('teams.installed', TITLE, false, 'skip', 'CAMPAIGN_TEAMS_APP_ID is not set (see teams.app).');
      return { snapshot, users };
    }
    const enabled = users.filter((u) => u.accountEnabled);
    // userteamwork-list-installedapps.md: $filter on teamsApp/id, in $batch of 20 (concepts/json-batching.md).
    const answers = await graph.batch(enabled.map((u, i) => ({ id: String(i), method: 'GET' as const, url: `/users/${u.userId}/teamwork/installedApps?$filter=${encodeURIComponent(`teamsApp/id eq '${quote(appId)}'`)}` })));
    const without: string[] = [];
    let denied: number | null = null;
    enabled.forEach((u, i) => {
      const r = answers.get(String(i));
      if (!r || r.status >= 400) {
        if (r && (r.status === 403 || r.status === 401)) denied = r.status;
        else without.push(u.userPrincipalName);
        return;
      }
      if (((r.body as { value?: unknown[] } | null)?.value ?? []).length === 0) without.push(u.userPrincipalName);
    });
    if (denied !== null) checks.add('teams.installed', TITLE, false, 'warn', `reading installed apps was refused (${denied}).`, 'Grant TeamsAppInstallation.ReadForUser.All (or the ReadWriteSelfForUser permission the job uses).');
    else if (without.length) {
      checks.add('teams.installed', TITLE, false, 'fail', `${without.length} of ${plural(enabled.length, 'enabled targeted user')} do not have the app: ${examples(without)}.`,
        'The job installs the app for them before its first notice; to do it ahead, use a Teams app setup policy.');
    } else checks.add('teams.installed', TITLE, false, 'pass', `all ${plural(enabled.length, 'enabled targeted user')} have the app installed.`);
  }
  return { snapshot, users };
}

/** What the per-user checks resolved: the snapshot and the targeted users. */
interface Resolved {
  snapshot: TenantSnapshot;
  users: ReturnType<typeof resolveTargets>['observation']['users'];
}

/** A passkey profile as beta shows it (resources/passkeyprofile.md); `passkeyTypes` is a flags enum, "deviceBound,synced". */
interface PasskeyProfile {
  id: string;
  name?: string | null;
  passkeyTypes?: string | string[] | null;
  attestationEnforcement?: string | null;
  keyRestrictions?: MG.Fido2KeyRestrictions | null;
}
/** The beta FIDO2 configuration's passkey profile properties (beta resources/fido2authenticationmethodconfiguration.md). */
interface BetaFido2Configuration {
  passkeyProfiles?: PasskeyProfile[] | null;
  defaultPasskeyProfile?: string | null;
  /** resources/passkeyauthenticationmethodtarget.md: `allowedPasskeyProfiles` holds profile ids. */
  includeTargets?: Array<{ id: string; targetType?: string | null; allowedPasskeyProfiles?: string[] | null }> | null;
}

const ALL_USERS = 'all_users';
const typesOf = (p: PasskeyProfile): string[] | null =>
  Array.isArray(p.passkeyTypes) ? p.passkeyTypes : typeof p.passkeyTypes === 'string' ? p.passkeyTypes.split(',').map((t) => t.trim()).filter(Boolean) : null;

/** Why no passkey at all can be registered under the profile; null when some can (or the profile does not say). */
function allowsNoPasskey(p: PasskeyProfile): string | null {
  const types = typesOf(p);
  if (types && types.length === 0) return 'it allows no passkey type';
  const k = p.keyRestrictions;
  if (k?.isEnforced && k.enforcementType === 'allow' && (k.aaGuids ?? []).length === 0) return 'its AAGUID allow list is empty';
  return null;
}

function describeProfile(p: PasskeyProfile, defaultId: string | null | undefined): string {
  const types = typesOf(p);
  const k = p.keyRestrictions;
  const aaGuids = k?.aaGuids ?? [];
  const models = k?.isEnforced && k.enforcementType === 'allow' && aaGuids.length === 0 ? 'no model (empty AAGUID allow list)' : k?.isEnforced ? `${k.enforcementType === 'allow' ? 'only' : 'all but'} ${plural(aaGuids.length, 'AAGUID')}${aaGuids.length ? ` (${examples(aaGuids)})` : ''}` : 'any model';
  const attestation = p.attestationEnforcement && p.attestationEnforcement !== 'disabled' ? `, attestation ${p.attestationEnforcement}` : '';
  const isDefault = defaultId && lower(defaultId) === lower(p.id) ? ', default' : '';
  return `"${p.name ?? p.id}" (${types ? types.join(' and ') || 'no type' : 'types unset'}, ${models}${attestation}${isDefault})`;
}

/**
 * Passkey profiles (beta only): each profile, which include targets use it, and the targeted users whose every profile
 * allows no passkey at all. Other restrictions (one passkey type, an AAGUID list) leave some passkey the notice
 * offers, so they are described, not judged. A beta read that fails skips the check (never fails doctor).
 */
async function passkeyProfilesCheck(opts: DoctorOptions, resolved: Resolved | null, checks: Checks): Promise<void> {
  const ID = 'fido2.passkeyProfiles';
  const TITLE = 'Passkey profiles (beta)';
  let cfg: BetaFido2Configuration;
  try {
    // beta fido2authenticationmethodconfiguration-get.md
    cfg = await opts.graph.get<BetaFido2Configuration>('/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2', { version: 'beta' });
  } catch (e) {
    if (!(e instanceof GraphError)) throw e;
    if (e.status === 400 || e.status === 404) {
      checks.add(ID, TITLE, false, 'skip', `the beta FIDO2 configuration answered ${e.status} ${e.code}: this tenant shows no passkey profiles (not migrated to them); the v1.0 settings above apply.`);
    } else {
      checks.add(ID, TITLE, false, 'skip', `the beta FIDO2 configuration could not be read (${e.status} ${e.code}); passkey profiles, if any, were not checked.`,
        e.status === 403 ? 'Grant Policy.Read.AuthenticationMethod (or Policy.Read.All), then run doctor again.' : 'Run doctor again later.');
    }
    return;
  }
  const profiles = cfg.passkeyProfiles ?? [];
  if (profiles.length === 0) {
    checks.add(ID, TITLE, false, 'pass', 'no passkey profiles: the FIDO2 settings above apply to everyone in its targets.');
    return;
  }
  const byId = new Map(profiles.map((p) => [lower(p.id), p]));
  const targets = cfg.includeTargets ?? [];
  const who = (id: string) => (id === ALL_USERS ? 'all users' : `group ${id}`);
  const uses = targets.map((t) => {
    const ids = t.allowedPasskeyProfiles ?? [];
    return `${who(t.id)} → ${ids.length ? ids.map((x) => (byId.get(lower(x)) ? `"${byId.get(lower(x))!.name ?? x}"` : `unknown profile ${x}`)).join(', ') : 'no profile named'}`;
  });
  const description = `${plural(profiles.length, 'passkey profile')}: ${profiles.map((p) => describeProfile(p, cfg.defaultPasskeyProfile)).join('; ')}. Include targets: ${uses.join('; ') || 'none'}.`;

  // A targeted user in the policy's scope is stuck only when every profile of every include target they are in is
  // known and allows no passkey; an unknown membership or profile id leaves them undecided (not judged).
  const stuck: string[] = [];
  const culprits = new Set<string>();
  let inScope = 0;
  if (resolved) {
    const members = new Map(Object.entries(resolved.snapshot.transitiveMembers).map(([g, m]) => [lower(g), m === null ? null : new Set(m.map((x) => lower(x.id)))]));
    for (const u of resolved.users) {
      if (u.inFido2PolicyScope !== true) continue;
      inScope++;
      let known = true;
      const mine: PasskeyProfile[] = [];
      for (const t of targets) {
        const m = t.id === ALL_USERS ? true : members.get(lower(t.id));
        if (m === undefined || m === null) {
          known = false;
          continue;
        }
        if (m !== true && !m.has(lower(u.userId))) continue;
        const ids = t.allowedPasskeyProfiles ?? [];
        if (ids.length === 0) known = false;
        for (const x of ids) {
          const p = byId.get(lower(x));
          if (p) mine.push(p);
          else known = false;
        }
      }
      if (known && mine.length && mine.every((p) => allowsNoPasskey(p) !== null)) {
        stuck.push(u.userPrincipalName);
        for (const p of mine) culprits.add(p.id);
      }
    }
  }
  if (stuck.length === 0) {
    checks.add(ID, TITLE, false, 'pass', description);
    return;
  }
  const named = [...culprits].map((id) => byId.get(lower(id))!).map((p) => `"${p.name ?? p.id}" (${allowsNoPasskey(p)})`).join(', ');
  const all = stuck.length === inScope;
  // Blocking only when nobody targeted could register a passkey: the campaign cannot succeed.
  checks.add(ID, TITLE, all, all ? 'fail' : 'warn',
    `${all ? 'every one' : stuck.length} of the ${plural(inScope, 'targeted user')} in the FIDO2 policy's targets can register no passkey under passkey profile ${named}: ${examples(stuck)}. ${description}`,
    'Authentication methods → Passkey (FIDO2) → passkey profiles: allow at least one passkey type and model in that profile, or give these users\' include target a profile that does.');
}

async function registrationCampaignCheck(opts: DoctorOptions, fido2: SnapshotFido2Configuration | null, checks: Checks): Promise<void> {
  const ID = 'registration.campaign';
  const TITLE = "Entra's own registration campaign";
  type Policy = { registrationEnforcement?: { authenticationMethodsRegistrationCampaign?: { state?: string; snoozeDurationInDays?: number; includeTargets?: Array<{ id: string; targetType?: string; targetedAuthenticationMethod?: string }> } } };
  // authenticationmethodspolicy-get.md: registrationEnforcement.authenticationMethodsRegistrationCampaign.
  const r = await read(() => opts.graph.get<Policy>('/policies/authenticationMethodsPolicy'));
  if (!r.ok) {
    const f = readFailure('the authentication methods policy', r.error, 'Policy.Read.All');
    checks.add(ID, TITLE, false, 'warn', f.message, f.fix);
    return;
  }
  const c = r.value.registrationEnforcement?.authenticationMethodsRegistrationCampaign;
  const state = c?.state ?? 'default';
  const targets = (c?.includeTargets ?? []).map((t) => `${t.id} (${t.targetedAuthenticationMethod ?? 'microsoftAuthenticator'})`);
  // Microsoft-managed ("default") nudges towards passkeys once the tenant qualifies (see the FIDO2 checks).
  const active = state === 'enabled' || state === 'default';
  // The engine's rule (targets.ts, qualifiesForMicrosoftManagedCampaign): passkeys enabled, self-service, no key restrictions.
  const qualifies = fido2 ? fido2.state === 'enabled' && !!fido2.isSelfServiceRegistrationAllowed && !fido2.keyRestrictions?.isEnforced : null;
  const qualification = qualifies === null ? '' : qualifies
    ? '; the tenant qualifies for the Microsoft-managed passkey campaign (FIDO2 enabled, self-service, no key restrictions)'
    : '; the tenant does not qualify for the Microsoft-managed passkey campaign';
  checks.add(ID, TITLE, false, active ? 'warn' : 'pass',
    `the Microsoft registration campaign is ${state}${targets.length ? ` for ${examples(targets)}` : ''}${c?.snoozeDurationInDays !== undefined ? `, snooze ${c.snoozeDurationInDays} days` : ''}${qualification}${active ? ': Entra may also nudge the targeted users to register at sign-in' : ''}.`,
    active ? 'Nothing is required; to have only this campaign ask users, set the registration campaign to disabled (Authentication methods → Registration campaign).' : '');
}

async function ledgerCheck(opts: DoctorOptions, checks: Checks): Promise<void> {
  const ID = 'ledger.store';
  const TITLE = 'The ledger is reachable, belongs to this campaign and is writable';
  const { store, campaign } = opts;
  const name = campaign.metadata.name;
  if (!store) {
    checks.add(ID, TITLE, true, 'skip', 'no state store given.', 'Pass --state (or set CAMPAIGN_STATE).');
    return;
  }
  const where = store.location(name);
  try {
    const { events } = await store.read(name);
    const refusal = identityRefusal(ledgerPosition(events), { campaign: name, where });
    if (refusal) {
      checks.add(ID, TITLE, true, 'fail', refusal.message, refusal.hint ?? '');
      return;
    }
    // The store's own writability probe: take the run lock and give it back; nothing is appended.
    try {
      const lock = await store.acquireLock(name, { owner: 'doctor' });
      await lock.release();
    } catch (e) {
      // A read-only identity (the pull-request check's) may read the ledger but not take its lock.
      if (!(e instanceof BlobAccessDeniedError) && !['EACCES', 'EPERM', 'EROFS'].includes(String((e as { code?: unknown }).code))) throw e;
      checks.add(ID, TITLE, true, 'warn', `${where}: ${events.length ? `${plural(events.length, 'event')} of ${name}` : 'no ledger yet'}, but this identity may not write it (${e instanceof Error ? e.message : String(e)}).`,
        "Expected for a read-only identity; the scheduler's identity needs write access (Storage Blob Data Contributor on the ledger container, which the stack grants).");
      return;
    }
    checks.add(ID, TITLE, true, 'pass', `${where}: ${events.length ? `${plural(events.length, 'event')} of ${name}` : 'no ledger yet'}; the lock was taken and released.`);
  } catch (e) {
    if (e instanceof LockHeldError) checks.add(ID, TITLE, true, 'warn', `${where}: a run holds the lock right now (${e.message}).`, 'Run doctor again when the run has finished.');
    else if (e instanceof StateError || (e instanceof Error && 'code' in e)) checks.add(ID, TITLE, true, 'fail', `${where}: ${e.message}`, 'Check --state / CAMPAIGN_STATE and the identity\'s access to the storage.');
    else throw e;
  }
}
