// Observe: every Graph read a run needs, in bulk, turned into the engine's Observation.
// Bulk collections are paged 999 at a time; per-user calls exist only where Graph has no bulk
// form (fido2Methods, group expansion) and go in $batch requests of 20.
import type { Campaign } from '../campaign/types';
import { PASSKEY_METHODS } from '../engine/readiness';
import type { Fido2Policy, Observation, ObservedDevice, ObservedExclusion, ObservedUser } from '../engine/types';
import { RuntimeError } from '../errors';
import { Graph, type BatchRequest } from '../graph/client';
import { enforcementGroupName } from '../contracts/names';

interface GraphUser {
  id: string;
  userPrincipalName: string;
  displayName?: string | null;
  accountEnabled?: boolean | null;
}
interface RoleAssignmentLike {
  principalId: string;
  roleDefinitionId: string;
}
interface GraphDevice {
  id: string;
  displayName?: string | null;
  operatingSystem?: string | null;
  operatingSystemVersion?: string | null;
  approximateLastSignInDateTime?: string | null;
  accountEnabled?: boolean | null;
  registeredOwners?: Array<{ id: string }>;
}
interface RegistrationRow {
  id: string;
  methodsRegistered?: string[] | null;
}
interface Fido2Config {
  state?: string;
  isSelfServiceRegistrationAllowed?: boolean;
  keyRestrictions?: { isEnforced?: boolean; enforcementType?: string; aaGuids?: string[] } | null;
  includeTargets?: Array<{ id: string; targetType?: string }>;
  excludeTargets?: Array<{ id: string; targetType?: string }>;
}

export interface EnforcementGroup {
  id: string;
  displayName: string;
}

export interface ObserveResult {
  observation: Observation;
  group: EnforcementGroup;
  /** Ids currently in the enforcement group (targeted or not). */
  groupMembers: Set<string>;
  warnings: string[];
  /** Tenant-level FIDO2 facts for the prerequisite report. */
  prerequisites: Prerequisites;
}

export interface Prerequisites {
  fido2Enabled: boolean;
  selfServiceRegistrationAllowed: boolean;
  aaGuidRestrictionsEnforced: boolean;
  /** Seed 002: Entra's own Microsoft-managed registration campaign also nudges users only when these hold. */
  qualifiesForMicrosoftManagedCampaign: boolean;
  /** Targeted users outside the FIDO2 policy's targets: they cannot register a passkey. */
  outOfScopeUsers: number;
}

/** Finds the campaign's enforcement group by display name; none or several stop the run. */
export async function findEnforcementGroup(graph: Graph, campaign: string): Promise<EnforcementGroup> {
  const name = enforcementGroupName(campaign);
  const found = await graph.list<EnforcementGroup>('/groups', { filter: `displayName eq '${name.replace(/'/g, "''")}'`, select: ['id', 'displayName'] });
  if (found.length === 0) {
    throw new RuntimeError(`enforcement group "${name}" does not exist in the tenant.`, false,
      'Deploy the campaign first (pulumi up creates the group), or create a security group with exactly this name.');
  }
  if (found.length > 1) {
    throw new RuntimeError(`${found.length} groups are named "${name}" (${found.map((g) => g.id).join(', ')}); the run cannot tell which one the Conditional Access policy targets.`, false,
      'Rename or delete the extra groups so exactly one has this name.');
  }
  return found[0];
}

const lower = (s: string) => s.toLowerCase();
const PASSKEY_LOWER = new Set(PASSKEY_METHODS.map(lower));

/** Transitive user members of each group, via $batch; groups that do not exist map to null. */
async function expandGroups(graph: Graph, ids: string[]): Promise<Map<string, string[] | null>> {
  const out = new Map<string, string[] | null>();
  const unique = [...new Set(ids.map(lower))];
  const requests: BatchRequest[] = unique.map((id, i) => ({ id: String(i), method: 'GET', url: `/groups/${id}/transitiveMembers?$select=id&$top=999` }));
  const responses = await graph.batch(requests);
  const followUps: Array<Promise<void>> = [];
  unique.forEach((gid, i) => {
    const r = responses.get(String(i));
    if (!r) throw new RuntimeError(`$batch returned no answer for group ${gid}.`, true);
    if (r.status === 404) {
      out.set(gid, null);
      return;
    }
    if (r.status >= 400) throw new RuntimeError(`reading members of group ${gid} failed: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`, r.status === 429 || r.status >= 500);
    const body = r.body as { value?: Array<{ id: string; '@odata.type'?: string }>; '@odata.nextLink'?: string };
    const members = (body.value ?? []).filter((m) => !m['@odata.type'] || m['@odata.type'] === '#microsoft.graph.user').map((m) => m.id);
    out.set(gid, members);
    const next = body['@odata.nextLink'];
    if (next) {
      followUps.push(
        graph.list<{ id: string; '@odata.type'?: string }>(next).then((rest) => {
          members.push(...rest.filter((m) => !m['@odata.type'] || m['@odata.type'] === '#microsoft.graph.user').map((m) => m.id));
        }),
      );
    }
  });
  await Promise.all(followUps);
  return out;
}

function toFido2Policy(c: Fido2Config | null): Fido2Policy | null {
  if (!c) return null;
  return {
    state: c.state === 'enabled' ? 'enabled' : 'disabled',
    isSelfServiceRegistrationAllowed: c.isSelfServiceRegistrationAllowed !== false,
    keyRestrictions: {
      isEnforced: !!c.keyRestrictions?.isEnforced,
      enforcementType: c.keyRestrictions?.enforcementType === 'block' ? 'block' : 'allow',
      aaGuids: (c.keyRestrictions?.aaGuids ?? []).map(lower),
    },
  };
}

export interface ObserveOptions {
  /** plan: a campaign not deployed yet has no group; observe everything else and say so. */
  allowMissingGroup?: boolean;
}

export async function observe(graph: Graph, campaign: Campaign, now: Date, opts: ObserveOptions = {}): Promise<ObserveResult> {
  const name = campaign.metadata.name;
  const t = campaign.spec.targets;
  const ex = campaign.spec.exclusions;
  const warnings: string[] = [];
  let group: EnforcementGroup;
  try {
    group = await findEnforcementGroup(graph, name);
  } catch (e) {
    if (!opts.allowMissingGroup || !(e instanceof RuntimeError) || !/does not exist in the tenant/.test(e.message)) throw e;
    group = { id: '', displayName: enforcementGroupName(name) };
    warnings.push(`${e.message} Planning as if it were empty; pulumi up creates it when the campaign is deployed.`);
  }
  const roleIds = new Set(t.roles.map(lower));

  const [users, active, eligible, devices, registrations, fido2Config, groupMemberList] = await Promise.all([
    graph.list<GraphUser>('/users', { select: ['id', 'userPrincipalName', 'displayName', 'accountEnabled'], top: 999 }),
    roleIds.size ? graph.list<RoleAssignmentLike>('/roleManagement/directory/roleAssignments', { select: ['id', 'principalId', 'roleDefinitionId', 'directoryScopeId'], top: 999 }) : Promise.resolve([]),
    roleIds.size && t.includeEligible
      ? graph.list<RoleAssignmentLike>('/roleManagement/directory/roleEligibilityScheduleInstances', { select: ['id', 'principalId', 'roleDefinitionId', 'directoryScopeId'], top: 999 })
      : Promise.resolve([]),
    graph.list<GraphDevice>('/devices', {
      select: ['id', 'displayName', 'operatingSystem', 'operatingSystemVersion', 'approximateLastSignInDateTime', 'accountEnabled'],
      expand: 'registeredOwners($select=id)',
      top: 999,
    }),
    graph.list<RegistrationRow>('/reports/authenticationMethods/userRegistrationDetails', {
      select: ['id', 'userPrincipalName', 'methodsRegistered'],
      top: 999,
      headers: { Prefer: 'include-unknown-enum-members' },
    }),
    graph.get<Fido2Config>('/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2'),
    group.id ? graph.list<{ id: string }>(`/groups/${group.id}/members`, { select: ['id'], top: 999 }) : Promise.resolve([]),
  ]);

  const byId = new Map(users.map((u) => [lower(u.id), u]));
  const byUpn = new Map(users.map((u) => [lower(u.userPrincipalName), u]));
  const resolve = (ref: string) => byId.get(lower(ref)) ?? byUpn.get(lower(ref));

  // Role principals that are not users are groups (role-assignable) or service principals.
  const rolePrincipals = new Set<string>();
  for (const a of [...active, ...eligible]) if (roleIds.has(lower(a.roleDefinitionId))) rolePrincipals.add(lower(a.principalId));
  const nonUserPrincipals = [...rolePrincipals].filter((p) => !byId.has(p));

  const fido2 = toFido2Policy(fido2Config);
  const scopeGroups = [...(fido2Config?.includeTargets ?? []), ...(fido2Config?.excludeTargets ?? [])].map((x) => x.id).filter((id) => id !== 'all_users');
  const expanded = await expandGroups(graph, [...nonUserPrincipals, ...t.groups, ...ex.groups, ...scopeGroups]);
  const members = (gid: string) => expanded.get(lower(gid)) ?? [];

  // Who matches the targets, before exclusions.
  const candidates = new Set<string>();
  for (const p of rolePrincipals) {
    if (byId.has(p)) candidates.add(p);
    else for (const m of members(p)) candidates.add(lower(m));
  }
  for (const g of t.groups) {
    if (expanded.get(lower(g)) === null) warnings.push(`target group ${g} does not exist; nobody is targeted through it.`);
    for (const m of members(g)) candidates.add(lower(m));
  }
  for (const ref of t.users) {
    const u = resolve(ref);
    if (u) candidates.add(lower(u.id));
    else warnings.push(`target user ${ref} does not exist in the tenant.`);
  }

  const exclusionOf = new Map<string, ObservedExclusion['exclusion']>();
  for (const ref of ex.breakGlass) {
    const u = resolve(ref);
    if (u) exclusionOf.set(lower(u.id), 'breakGlass');
    else warnings.push(`break-glass account ${ref} does not exist in the tenant; check spec.exclusions.breakGlass.`);
  }
  for (const ref of ex.users) {
    const u = resolve(ref);
    if (u && !exclusionOf.has(lower(u.id))) exclusionOf.set(lower(u.id), 'user');
  }
  for (const g of ex.groups) {
    if (expanded.get(lower(g)) === null) warnings.push(`exclusion group ${g} does not exist.`);
    for (const m of members(g)) if (!exclusionOf.has(lower(m))) exclusionOf.set(lower(m), 'group');
  }

  // FIDO2 policy scope: include targets (all_users or groups) minus exclude targets.
  const includeAll = (fido2Config?.includeTargets ?? []).some((x) => x.id === 'all_users');
  const included = new Set<string>();
  for (const x of fido2Config?.includeTargets ?? []) if (x.id !== 'all_users') for (const m of members(x.id)) included.add(lower(m));
  const excludedFromFido2 = new Set<string>();
  for (const x of fido2Config?.excludeTargets ?? []) for (const m of members(x.id)) excludedFromFido2.add(lower(m));

  const devicesByOwner = new Map<string, ObservedDevice[]>();
  for (const d of devices) {
    const od: ObservedDevice = {
      id: d.id,
      displayName: d.displayName ?? '',
      operatingSystem: d.operatingSystem ?? null,
      operatingSystemVersion: d.operatingSystemVersion ?? null,
      approximateLastSignInDateTime: d.approximateLastSignInDateTime ?? null,
      accountEnabled: d.accountEnabled !== false,
    };
    for (const o of d.registeredOwners ?? []) {
      const k = lower(o.id);
      const list = devicesByOwner.get(k);
      if (list) list.push(od);
      else devicesByOwner.set(k, [od]);
    }
  }
  const methodsOf = new Map(registrations.map((r) => [lower(r.id), r.methodsRegistered ?? []]));
  const groupMembers = new Set(groupMemberList.map((m) => lower(m.id)));

  const observed: ObservedUser[] = [];
  const excluded: ObservedExclusion[] = [];
  let disabled = 0;
  for (const id of candidates) {
    const u = byId.get(id);
    if (!u) continue; // a group member that is not a user object we can read (guest in another tenant, deleted)
    const exclusion = exclusionOf.get(id);
    if (exclusion) {
      excluded.push({ userId: u.id, userPrincipalName: u.userPrincipalName, exclusion });
      continue;
    }
    if (u.accountEnabled === false) {
      disabled++;
      continue;
    }
    const methods = methodsOf.get(id);
    const readErrors: string[] = [];
    if (!methods) readErrors.push('no userRegistrationDetails row for this user yet (the report lags new users); passkeys unknown');
    observed.push({
      userId: u.id,
      userPrincipalName: u.userPrincipalName,
      displayName: u.displayName ?? u.userPrincipalName,
      accountEnabled: true,
      devices: devicesByOwner.get(id) ?? [],
      methodsRegistered: methods ?? [],
      fido2Methods: null,
      inFido2PolicyScope: fido2Config ? (includeAll || included.has(id)) && !excludedFromFido2.has(id) : null,
      inEnforcementGroup: groupMembers.has(id),
      readErrors,
    });
  }
  if (disabled) warnings.push(`${disabled} targeted account${disabled === 1 ? ' is' : 's are'} disabled and skipped.`);

  // AAGUID restrictions make the authenticator model matter: read fido2Methods of passkey holders.
  if (fido2?.keyRestrictions.isEnforced) {
    const holders = observed.filter((u) => u.readErrors.length === 0 && u.methodsRegistered.some((m) => PASSKEY_LOWER.has(m.toLowerCase())));
    const responses = await graph.batch(holders.map((u, i) => ({ id: String(i), method: 'GET', url: `/users/${u.userId}/authentication/fido2Methods` })));
    holders.forEach((u, i) => {
      const r = responses.get(String(i));
      if (r && r.status === 200) {
        const value = ((r.body as { value?: Array<Record<string, unknown>> }).value ?? []);
        u.fido2Methods = value.map((m) => ({
          id: String(m.id),
          aaGuid: typeof m.aaGuid === 'string' ? m.aaGuid.toLowerCase() : null,
          model: (m.model as string | null | undefined) ?? null,
          displayName: (m.displayName as string | null | undefined) ?? null,
          createdDateTime: (m.createdDateTime as string | null | undefined) ?? null,
        }));
      } else {
        u.readErrors.push(`fido2Methods read failed (${r?.status ?? 'no response'})`);
      }
    });
  }

  observed.sort((a, b) => a.userPrincipalName.localeCompare(b.userPrincipalName));
  excluded.sort((a, b) => a.userPrincipalName.localeCompare(b.userPrincipalName));
  const outOfScope = observed.filter((u) => u.inFido2PolicyScope === false).length;
  const prerequisites: Prerequisites = {
    fido2Enabled: fido2?.state === 'enabled',
    selfServiceRegistrationAllowed: !!fido2?.isSelfServiceRegistrationAllowed,
    aaGuidRestrictionsEnforced: !!fido2?.keyRestrictions.isEnforced,
    qualifiesForMicrosoftManagedCampaign: fido2?.state === 'enabled' && !!fido2.isSelfServiceRegistrationAllowed && !fido2.keyRestrictions.isEnforced,
    outOfScopeUsers: outOfScope,
  };
  if (!prerequisites.fido2Enabled) warnings.push('the FIDO2 (passkey) method is not enabled in the Authentication methods policy: nobody can register a passkey. Enable it before starting the campaign.');
  else if (!prerequisites.selfServiceRegistrationAllowed) warnings.push('FIDO2 self-service registration is not allowed: users cannot register passkeys themselves.');
  if (outOfScope) warnings.push(`${outOfScope} targeted user${outOfScope === 1 ? ' is' : 's are'} outside the FIDO2 policy's targets and cannot register a passkey; they are reported as blocked and not asked to register.`);

  return {
    observation: { v: 1, campaign: name, at: now.toISOString(), fido2Policy: fido2, users: observed, excluded, readErrors: [] },
    group,
    groupMembers,
    warnings,
    prerequisites,
  };
}
