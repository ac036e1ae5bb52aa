// The target resolution as it was before it read the tenant in the form the observation is made of (ReadTenant): the
// reference targets-reference.test.ts compares resolveTargets with, on random snapshots. Not used by src/.
// Target resolution (DESIGN §3–§4), pure: roles (active, eligible with includeEligible) → role-assignable
// group principals → target groups (transitive) and users → minus break-glass and exclusions (and every account
// the ledger recorded as exempt, exemptions.ts) → disabled accounts kept and marked (decide holds them) → FIDO2 policy scope → devices and
// passkeys per user. Input: the tenant snapshot observe read and the ledger's exemption records; output: the
// engine's Observation plus what the run needs beside it.
//
// A group that answers 404, by where it is named (fail-safe = never a reason to enforce someone):
//   exclusion group       an exemption that cannot be established: the run makes no move (exemptions.ts)
//   target group          targets fewer users: a warning; the target-drop guard (valve.ts) stops a large drop
//   role principal        a service principal holding a role answers 404 as a group, so a deleted role-assignable
//                         group looks the same: it targets nobody, silently; the target-drop guard watches it
//   FIDO2 include target  includes nobody: its would-be members are out of scope, held as blocked (a warning)
//   FIDO2 exclude target  cannot tell whom it would exclude: everyone it could exclude gets a read error and
//                         makes no move (a warning), rather than look in scope and be enforced
import type { Campaign } from '../../src/campaign/types';
import { enforcementGroupName } from '../../src/contracts/names';
import { PASSKEY_METHODS } from '../../src/engine/readiness';
import type { EnforcementGroup, SnapshotDevice, SnapshotDirectoryObject, SnapshotFido2Configuration, SnapshotUser, TenantSnapshot } from '../../src/engine/snapshot';
import { checkExemptions, emptyExemptionCheck, emptyExemptionLedger, type ExemptionCheck, type ExemptionLedger } from '../../src/engine/exemptions';
import type { ExclusionKind, Fido2Policy, GraduationObservation, Observation, ObservedDevice, ObservedExclusion, ObservedSignIns, ObservedUser } from '../../src/engine/types';
import { warning, type RunWarning, type WarningCode } from '../../src/engine/warnings';

export interface Prerequisites {
  fido2Enabled: boolean;
  selfServiceRegistrationAllowed: boolean;
  aaGuidRestrictionsEnforced: boolean;
  /** Seed 002: Entra's own Microsoft-managed registration campaign also nudges users only when these hold. */
  qualifiesForMicrosoftManagedCampaign: boolean;
  /** Targeted users outside the FIDO2 policy's targets: they cannot register a passkey. */
  outOfScopeUsers: number;
}

export interface ResolvedTargets {
  observation: Observation;
  /** The enforcement group; id '' when it does not exist yet (plan). */
  group: EnforcementGroup;
  /** Lower-case ids currently in the enforcement group (targeted or not). */
  groupMembers: Set<string>;
  warnings: RunWarning[];
  /** Tenant-level FIDO2 facts for the prerequisite report; null when campaign-level reads failed. */
  prerequisites: Prerequisites | null;
  /** The exemption check: problems stop the run; records go to the ledger. Empty when campaign-level reads failed. */
  exemptions: ExemptionCheck;
  /** Graduated campaigns: the graduated group (null when missing or not read) and its members (lower-case ids). */
  graduated?: { group: EnforcementGroup | null; members: Set<string> };
}

/** The sentence of each warning target resolution raises (byte-identical to the run output before codes). */
const SAY = {
  EnforcementGroupMissing: (group: string) => `enforcement group "${group}" does not exist in the tenant. Planning as if it were empty; pulumi up creates it when the campaign is deployed.`,
  TargetGroupMissing: (id: string) => `target group ${id} does not exist; nobody is targeted through it.`,
  TargetUserMissing: (ref: string) => `target user ${ref} does not exist in the tenant.`,
  DisabledAccountsSkipped: (n: number) => `${n} targeted account${n === 1 ? ' is' : 's are'} disabled: held in ${n === 1 ? 'its' : 'their'} stage and contacted by nobody until enabled again (a disabled account that never entered the campaign does not enter).`,
  Fido2NotEnabled: () => 'the FIDO2 (passkey) method is not enabled in the Authentication methods policy: nobody can register a passkey. Enable it before starting the campaign.',
  Fido2SelfServiceNotAllowed: () => 'FIDO2 self-service registration is not allowed: users cannot register passkeys themselves.',
  Fido2ScopeGroupMissing: (target: 'include' | 'exclude', id: string, held: number) =>
    target === 'include'
      ? `the FIDO2 policy includes group ${id}, which does not exist (404): nobody is in the policy's scope through it.`
      : `the FIDO2 policy excludes group ${id}, which does not exist (404): whom it would exclude cannot be told, so ${held} targeted user${held === 1 ? '' : 's'} otherwise in scope make${held === 1 ? 's' : ''} no move until the policy no longer names it or the group is restored.`,
  ScopedRoleAssignmentsSkipped: (n: number) =>
    `${n} holder${n === 1 ? '' : 's'} of the campaign's roles ${n === 1 ? 'has' : 'have'} them only in an administrative unit scope (directoryScopeId other than "/") and ${n === 1 ? 'is' : 'are'} not targeted; set spec.targets.includeScopedRoleAssignments: true to target ${n === 1 ? 'it' : 'them'}.`,
  UsersOutsideFido2Scope: (n: number) => `${n} targeted user${n === 1 ? ' is' : 's are'} outside the FIDO2 policy's targets and cannot register a passkey; they are reported as blocked and not asked to register.`,
} satisfies Partial<Record<WarningCode, (...args: never[]) => string>>;

/** The per-user read error of a user whom a FIDO2 exclude target that answered 404 might exclude. */
export const FIDO2_SCOPE_UNKNOWN = (ids: readonly string[]) =>
  `the FIDO2 policy excludes group${ids.length === 1 ? '' : 's'} ${ids.join(', ')}, which does not exist (404): whether the policy applies to this user is unknown`;

/** The per-user read error of a targeted user the registration report has no row for. */
export const MISSING_REGISTRATION_ROW = 'no userRegistrationDetails row for this user yet (the report lags new users); passkeys unknown';

const lower = (s: string) => s.toLowerCase();
const PASSKEY_LOWER = new Set(PASSKEY_METHODS.map(lower));
const isUser = (m: SnapshotDirectoryObject) => !m['@odata.type'] || m['@odata.type'] === '#microsoft.graph.user';
const ALL_USERS = 'all_users';

function toFido2Policy(c: SnapshotFido2Configuration | null): Fido2Policy | null {
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

/** Tenant-wide: directoryScopeId "/" (an administrative unit scope is "/administrativeUnits/{id}"). */
const TENANT_WIDE = '/';

/**
 * Lower-case ids of the principals holding one of the campaign's roles (users, groups, service principals).
 * Only tenant-wide assignments count unless spec.targets.includeScopedRoleAssignments; `scopedOnly` holds the
 * principals left out because every assignment they have of those roles is scoped (an unknown scope counts as scoped).
 */
function rolePrincipalsByScope(campaign: Campaign, s: Pick<TenantSnapshot, 'roleAssignments' | 'roleEligibilities'>): { principals: Set<string>; scopedOnly: Set<string> } {
  const t = campaign.spec.targets;
  const roleIds = new Set(t.roles.map(lower));
  const principals = new Set<string>();
  const scoped = new Set<string>();
  if (!roleIds.size) return { principals, scopedOnly: scoped };
  const assignments = t.includeEligible ? [...s.roleAssignments, ...s.roleEligibilities] : s.roleAssignments;
  for (const a of assignments) {
    if (!roleIds.has(lower(a.roleDefinitionId))) continue;
    if (a.directoryScopeId === TENANT_WIDE || t.includeScopedRoleAssignments) principals.add(lower(a.principalId));
    else scoped.add(lower(a.principalId));
  }
  return { principals, scopedOnly: new Set([...scoped].filter((p) => !principals.has(p))) };
}

function rolePrincipals(campaign: Campaign, s: Pick<TenantSnapshot, 'roleAssignments' | 'roleEligibilities'>): Set<string> {
  return rolePrincipalsByScope(campaign, s).principals;
}

/**
 * The groups whose transitive members observe must read, lower-case, each once, in request order:
 * role principals that are not users (role-assignable groups), target groups, exclusion groups,
 * FIDO2 policy target groups.
 */
export function groupsToExpand(campaign: Campaign, s: Pick<TenantSnapshot, 'users' | 'roleAssignments' | 'roleEligibilities' | 'fido2Policy'>): string[] {
  const userIds = new Set(s.users.map((u) => lower(u.id)));
  const nonUserPrincipals = [...rolePrincipals(campaign, s)].filter((p) => !userIds.has(p));
  const scopeGroups = [...(s.fido2Policy?.includeTargets ?? []), ...(s.fido2Policy?.excludeTargets ?? [])].map((x) => x.id).filter((id) => id !== ALL_USERS);
  const ex = campaign.spec.exclusions;
  return [...new Set([...nonUserPrincipals, ...campaign.spec.targets.groups, ...ex.groups, ...scopeGroups].map(lower))];
}

/** plan of a campaign not deployed yet: observe found no enforcement group (a failed lookup is a read error instead). */
function groupWarnings(campaign: Campaign, s: TenantSnapshot): RunWarning[] {
  if (s.enforcementGroup !== null || s.readErrors.some((e) => e.read === 'enforcementGroup')) return [];
  return [warning('EnforcementGroupMissing', SAY.EnforcementGroupMissing(enforcementGroupName(campaign.metadata.name)))];
}

// Shared by every user who has none: the engine reads these arrays and never changes them (frozen, so a change
// would throw rather than reach every user). A user who gets a read error gets an array of their own.
const NO_DEVICES: ObservedDevice[] = Object.freeze([]) as unknown as ObservedDevice[];
const NO_METHODS: string[] = Object.freeze([]) as unknown as string[];
const NO_READ_ERRORS: string[] = Object.freeze([]) as unknown as string[];

/** A device as the observation records it (the same fields in the same order; absent values null). */
function observedDevice(d: SnapshotDevice): ObservedDevice {
  return {
    id: d.id,
    displayName: d.displayName ?? '',
    operatingSystem: d.operatingSystem ?? null,
    operatingSystemVersion: d.operatingSystemVersion ?? null,
    approximateLastSignInDateTime: d.approximateLastSignInDateTime ?? null,
    accountEnabled: d.accountEnabled !== false,
  };
}

interface Resolution {
  /** Targeted users after exclusions, in the order they were found (the order fido2Methods are read in). */
  users: ObservedUser[];
  excluded: ObservedExclusion[];
  warnings: RunWarning[];
  fido2: Fido2Policy | null;
}

/**
 * `recorded`: accounts the ledger recorded as exempt (exemptions.ts), excluded even when their entry does not resolve.
 * `groupMembers`: the enforcement group's members, lower-case. `release`: empty the snapshot's bulk collections as
 * soon as they are read, so that the tenant as read and the observation are not both held at their full size.
 * `withDevices`: false when only who is targeted matters (the users then have none).
 */
function resolve(campaign: Campaign, s: TenantSnapshot, recorded: ReadonlyMap<string, ExclusionKind>, groupMembers: ReadonlySet<string>, release: boolean, withDevices = true): Resolution {
  const t = campaign.spec.targets;
  const ex = campaign.spec.exclusions;
  const warnings = groupWarnings(campaign, s);

  const byId = new Map<string, SnapshotUser>();
  for (const u of s.users) byId.set(lower(u.id), u);
  // Only the UPNs the campaign names are looked up: no second map of every user.
  const named = new Set([...t.users, ...ex.breakGlass, ...ex.users].map(lower));
  const byUpn = new Map<string, SnapshotUser>();
  if (named.size) for (const u of s.users) if (named.has(lower(u.userPrincipalName))) byUpn.set(lower(u.userPrincipalName), u);
  const find = (ref: string) => byId.get(lower(ref)) ?? byUpn.get(lower(ref));
  // null: the group answered 404; absent: not read (a group observe did not need). The members as read, not a copy.
  const expanded = new Map<string, SnapshotDirectoryObject[] | null>();
  for (const [gid, list] of Object.entries(s.transitiveMembers)) expanded.set(lower(gid), list);
  function* members(gid: string): Generator<string> {
    for (const m of expanded.get(lower(gid)) ?? []) if (isUser(m)) yield m.id;
  }

  // Who matches the targets, before exclusions. Role principals that are not users are groups (role-assignable) or service principals.
  const candidates = new Set<string>();
  const { principals, scopedOnly } = rolePrincipalsByScope(campaign, s);
  if (scopedOnly.size) warnings.push(warning('ScopedRoleAssignmentsSkipped', SAY.ScopedRoleAssignmentsSkipped(scopedOnly.size)));
  for (const p of principals) {
    if (byId.has(p)) candidates.add(p);
    else for (const m of members(p)) candidates.add(lower(m));
  }
  for (const g of t.groups) {
    // Fewer targets, never more enforcement: a warning, and the target-drop guard stops a large drop.
    if (expanded.get(lower(g)) === null) warnings.push(warning('TargetGroupMissing', SAY.TargetGroupMissing(g)));
    for (const m of members(g)) candidates.add(lower(m));
  }
  for (const ref of t.users) {
    const u = find(ref);
    if (u) candidates.add(lower(u.id));
    else warnings.push(warning('TargetUserMissing', SAY.TargetUserMissing(ref)));
  }

  // An entry that does not resolve is an exemption problem (exemptions.ts): the run makes no move, plan shows it.
  const exclusionOf = new Map<string, ExclusionKind>();
  for (const ref of ex.breakGlass) {
    const u = find(ref);
    if (u) exclusionOf.set(lower(u.id), 'breakGlass');
  }
  for (const ref of ex.users) {
    const u = find(ref);
    if (u && !exclusionOf.has(lower(u.id))) exclusionOf.set(lower(u.id), 'user');
  }
  for (const g of ex.groups) {
    for (const m of members(g)) if (!exclusionOf.has(lower(m))) exclusionOf.set(lower(m), 'group');
  }
  for (const [id, kind] of recorded) if (!exclusionOf.has(id) || kind === 'breakGlass') exclusionOf.set(id, kind);

  // FIDO2 policy scope: include targets (all_users or groups) minus exclude targets.
  const policy = s.fido2Policy;
  const includeAll = (policy?.includeTargets ?? []).some((x) => x.id === ALL_USERS);
  const included = new Set<string>();
  for (const x of policy?.includeTargets ?? []) if (x.id !== ALL_USERS) for (const m of members(x.id)) included.add(lower(m));
  const excludedFromFido2 = new Set<string>();
  for (const x of policy?.excludeTargets ?? []) for (const m of members(x.id)) excludedFromFido2.add(lower(m));
  const missing = (x: { id: string }) => x.id !== ALL_USERS && expanded.get(lower(x.id)) === null;
  const missingIncludes = (policy?.includeTargets ?? []).filter(missing).map((x) => x.id);
  const missingExcludes = (policy?.excludeTargets ?? []).filter(missing).map((x) => x.id);
  let scopeUnknown = 0;
  if (release) {
    expanded.clear();
    s.transitiveMembers = {};
  }

  // Devices and methods of the targeted users only (a campaign of a few admins in a large tenant reads them all).
  const targeted = (id: string) => candidates.has(id) && !exclusionOf.has(id);
  const devicesByOwner = new Map<string, ObservedDevice[]>();
  if (withDevices) for (const d of s.devices) {
    let od: ObservedDevice | undefined;
    for (const o of d.registeredOwners ?? []) {
      const k = lower(o.id);
      if (!targeted(k)) continue;
      od ??= observedDevice(d);
      const list = devicesByOwner.get(k);
      if (list) list.push(od);
      else devicesByOwner.set(k, [od]);
    }
  }
  if (release) s.devices = [];
  // A user's devices kept in an array of exactly their number: an array grown by push keeps room for more.
  const devicesOf = (id: string): ObservedDevice[] => {
    const list = devicesByOwner.get(id);
    return list === undefined ? NO_DEVICES : list.length === 1 ? list : list.slice();
  };
  const methodsOf = new Map<string, string[]>();
  for (const r of s.registrationDetails) if (targeted(lower(r.id))) methodsOf.set(lower(r.id), r.methodsRegistered ?? NO_METHODS);
  if (release) {
    s.registrationDetails = [];
    s.users = [];
  }

  const users: ObservedUser[] = [];
  const excluded: ObservedExclusion[] = [];
  let disabled = 0;
  for (const id of candidates) {
    const u = byId.get(id);
    if (!u) continue; // a group member that is not a user object we can read (guest in another tenant, deleted)
    if (release) byId.delete(id);
    const exclusion = exclusionOf.get(id);
    if (exclusion) {
      excluded.push({ userId: u.id, userPrincipalName: u.userPrincipalName, exclusion });
      continue;
    }
    // Kept, not dropped: a disabled account that vanished from the observation would look as if it left.
    const enabled = u.accountEnabled !== false;
    if (!enabled) disabled++;
    const methods = methodsOf.get(id);
    let inScope = policy ? (includeAll || included.has(id)) && !excludedFromFido2.has(id) : null;
    let readErrors = methods ? NO_READ_ERRORS : [MISSING_REGISTRATION_ROW];
    if (inScope && missingExcludes.length) {
      // A missing exclude group might exclude this user: unknown scope, no move (never "in scope, enforce").
      inScope = null;
      readErrors = [...readErrors, FIDO2_SCOPE_UNKNOWN(missingExcludes)];
      scopeUnknown++;
    }
    users.push({
      userId: u.id,
      userPrincipalName: u.userPrincipalName,
      displayName: u.displayName ?? u.userPrincipalName,
      mail: u.mail ?? null,
      accountEnabled: enabled,
      devices: devicesOf(id),
      methodsRegistered: methods ?? NO_METHODS,
      fido2Methods: null,
      inFido2PolicyScope: inScope,
      inEnforcementGroup: groupMembers.has(id),
      readErrors,
    });
  }
  if (disabled) warnings.push(warning('DisabledAccountsSkipped', SAY.DisabledAccountsSkipped(disabled)));
  for (const id of missingIncludes) warnings.push(warning('Fido2ScopeGroupMissing', SAY.Fido2ScopeGroupMissing('include', id, 0)));
  for (const id of missingExcludes) warnings.push(warning('Fido2ScopeGroupMissing', SAY.Fido2ScopeGroupMissing('exclude', id, scopeUnknown)));
  return { users, excluded, warnings, fido2: toFido2Policy(policy) };
}

/** AAGUID restrictions make the authenticator model matter: passkey holders' fido2Methods are read (not a disabled account's: it is held). */
const holdsPasskey = (u: ObservedUser) => u.accountEnabled && u.readErrors.length === 0 && u.methodsRegistered.some((m) => PASSKEY_LOWER.has(lower(m)));

/** The users whose fido2Methods observe must read (in request order): none unless the FIDO2 policy enforces AAGUID restrictions. Their devices are not resolved for this. */
export function fido2MethodReads(campaign: Campaign, s: TenantSnapshot): string[] {
  if (!toFido2Policy(s.fido2Policy)?.keyRestrictions.isEnforced) return [];
  const groupMembers = new Set(s.enforcementGroupMembers.map((m) => lower(m.id)));
  return resolve(campaign, s, new Map(), groupMembers, false, false).users.filter(holdsPasskey).map((u) => u.userId);
}

/**
 * The campaign's targets in this snapshot: who is targeted, who is excluded and why, and what is in the way.
 * `exemptions`: the ledger's exemption records (foldExemptions); their accounts stay excluded.
 * `release`: for a caller that has no further use for the snapshot's users, devices, registration details and group
 * members: they are emptied as soon as they are read (only `readErrors`, the FIDO2 policy, the fido2Methods and the
 * graduation evidence stay as read), so that the tenant as read is not held beside the whole observation.
 */
export function resolveTargets(campaign: Campaign, s: TenantSnapshot, now: string, exemptions: ExemptionLedger = emptyExemptionLedger(), opts: { release?: boolean } = {}): ResolvedTargets {
  const name = campaign.metadata.name;
  const group = s.enforcementGroup ?? { id: '', displayName: enforcementGroupName(name) };
  const groupMembers = new Set(s.enforcementGroupMembers.map((m) => lower(m.id)));
  if (s.readErrors.length) {
    // Partial reads look like "fewer targets" or "no passkey": resolve nothing, say what failed.
    const warnings = groupWarnings(campaign, s);
    return {
      observation: { v: 1, campaign: name, at: now, fido2Policy: null, users: [], excluded: [], readErrors: s.readErrors.map((e) => e.message) },
      group,
      groupMembers,
      warnings,
      prerequisites: null,
      exemptions: emptyExemptionCheck(),
    };
  }
  const check = checkExemptions(campaign, s, exemptions);
  const { users, excluded, warnings, fido2 } = resolve(campaign, s, check.recordedExclusions, groupMembers, opts.release === true);
  if (opts.release) s.enforcementGroupMembers = [];
  const graduation = graduationOf(campaign, s, users);

  if (fido2?.keyRestrictions.isEnforced) {
    for (const u of users.filter(holdsPasskey)) {
      const read = s.fido2Methods[u.userId];
      if (read?.ok) {
        u.fido2Methods = read.methods.map((m) => ({
          id: String(m.id),
          aaGuid: typeof m.aaGuid === 'string' ? m.aaGuid.toLowerCase() : null,
          model: m.model ?? null,
          displayName: m.displayName ?? null,
          createdDateTime: m.createdDateTime ?? null,
        }));
      } else {
        u.readErrors = [...u.readErrors, `fido2Methods read failed (${read?.status ?? 'no response'})`];
      }
    }
  }

  users.sort((a, b) => a.userPrincipalName.localeCompare(b.userPrincipalName));
  excluded.sort((a, b) => a.userPrincipalName.localeCompare(b.userPrincipalName));
  const outOfScope = users.filter((u) => u.inFido2PolicyScope === false).length;
  const prerequisites: Prerequisites = {
    fido2Enabled: fido2?.state === 'enabled',
    selfServiceRegistrationAllowed: !!fido2?.isSelfServiceRegistrationAllowed,
    aaGuidRestrictionsEnforced: !!fido2?.keyRestrictions.isEnforced,
    qualifiesForMicrosoftManagedCampaign: fido2?.state === 'enabled' && !!fido2.isSelfServiceRegistrationAllowed && !fido2.keyRestrictions.isEnforced,
    outOfScopeUsers: outOfScope,
  };
  if (!prerequisites.fido2Enabled) warnings.push(warning('Fido2NotEnabled', SAY.Fido2NotEnabled()));
  else if (!prerequisites.selfServiceRegistrationAllowed) warnings.push(warning('Fido2SelfServiceNotAllowed', SAY.Fido2SelfServiceNotAllowed()));
  if (outOfScope) warnings.push(warning('UsersOutsideFido2Scope', SAY.UsersOutsideFido2Scope(outOfScope)));

  return {
    observation: { v: 1, campaign: name, at: now, fido2Policy: fido2, users, excluded, readErrors: [], ...(graduation ? { graduation: graduation.observation } : {}) },
    group,
    groupMembers,
    warnings,
    prerequisites,
    exemptions: check,
    ...(graduation ? { graduated: graduation.resolved } : {}),
  };
}

/**
 * A graduated campaign's evidence for the targeted users: their graduated-group membership and their sign-ins.
 * Not observed at all (a paused campaign's counts, doctor) or not established: not available, with the cause.
 */
function graduationOf(campaign: Campaign, s: TenantSnapshot, users: ObservedUser[]): { observation: GraduationObservation; resolved: NonNullable<ResolvedTargets['graduated']> } | null {
  if (campaign.spec.enforcement.mode !== 'graduated') return null;
  const g = s.graduation;
  const members = new Set((g?.members ?? []).map((m) => lower(m.id)));
  for (const u of users) u.inGraduatedGroup = members.has(lower(u.userId));
  const resolved = { group: g?.group ?? null, members };
  if (!g) return { observation: { available: false, cause: 'the sign-in evidence was not read in this run.' }, resolved };
  if (g.unavailable !== null || !g.reportOnlyPolicy || !g.enabledPolicy) {
    return { observation: { available: false, cause: g.unavailable ?? 'the campaign\'s Conditional Access policies were not found.' }, resolved };
  }
  const byUser: Record<string, ObservedSignIns> = {};
  for (const u of users) {
    const x = g.signIns[lower(u.userId)];
    if (x) byUser[u.userId] = x;
  }
  return {
    observation: { available: true, observedDays: g.observedDays, from: g.from, to: g.to, reportOnlyPolicyId: g.reportOnlyPolicy.id, enabledPolicyId: g.enabledPolicy.id, users: byUser },
    resolved,
  };
}
