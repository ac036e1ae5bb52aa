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
import type { Campaign } from '../campaign/types';
import { enforcementGroupName } from '../contracts/names';
import { PASSKEY_METHODS } from './readiness';
import type {
  EnforcementGroup,
  Fido2MethodsRead,
  GraduationSnapshot,
  SnapshotDevice,
  SnapshotDirectoryObject,
  SnapshotFido2Configuration,
  SnapshotReadError,
  SnapshotRoleAssignment,
  SnapshotUser,
  TenantSnapshot,
} from './snapshot';
import { checkExemptions, emptyExemptionCheck, emptyExemptionLedger, type ExemptionCheck, type ExemptionLedger } from './exemptions';
import type { ExclusionKind, Fido2Policy, GraduationObservation, Observation, ObservedDevice, ObservedExclusion, ObservedSignIns, ObservedUser } from './types';
import { warning, type RunWarning, type WarningCode } from './warnings';

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
  return groupsToExpandOf(campaign, (id) => userIds.has(id), s);
}

/** groupsToExpand, with `isUser` telling a user's lower-case id. */
function groupsToExpandOf(campaign: Campaign, isUserId: (id: string) => boolean, s: Pick<TenantSnapshot, 'roleAssignments' | 'roleEligibilities' | 'fido2Policy'>): string[] {
  const nonUserPrincipals = [...rolePrincipals(campaign, s)].filter((p) => !isUserId(p));
  const scopeGroups = [...(s.fido2Policy?.includeTargets ?? []), ...(s.fido2Policy?.excludeTargets ?? [])].map((x) => x.id).filter((id) => id !== ALL_USERS);
  const ex = campaign.spec.exclusions;
  return [...new Set([...nonUserPrincipals, ...campaign.spec.targets.groups, ...ex.groups, ...scopeGroups].map(lower))];
}

/** plan of a campaign not deployed yet: observe found no enforcement group (a failed lookup is a read error instead). */
function groupWarnings(campaign: Campaign, s: Pick<TenantSnapshot, 'enforcementGroup' | 'readErrors'>): RunWarning[] {
  if (s.enforcementGroup !== null || s.readErrors.some((e) => e.read === 'enforcementGroup')) return [];
  return [warning('EnforcementGroupMissing', SAY.EnforcementGroupMissing(enforcementGroupName(campaign.metadata.name)))];
}

// Shared by every user who has none: the engine reads these arrays and never changes them (frozen, so a change
// would throw rather than reach every user). A user who gets a read error gets an array of their own.
const NO_DEVICES: ObservedDevice[] = Object.freeze([]) as unknown as ObservedDevice[];
const NO_METHODS: string[] = Object.freeze([]) as unknown as string[];
const NO_READ_ERRORS: string[] = Object.freeze([]) as unknown as string[];
/** The registered methods of a user the registration report has no row for (yet); resolution replaces it. */
const NO_ROW: string[] = Object.freeze([]) as unknown as string[];
/** A user resolution has taken (final resolution only): the user is then not taken again. */
const TAKEN = Object.freeze({}) as ObservedUser;

const same = (s: string) => s;

/**
 * A device as the observation records it (the same fields in the same order; absent values null). `share` returns the
 * one copy of a repeated value (OS and version), `name` of a device name (which may well not repeat).
 */
export function observedDevice(d: SnapshotDevice, share: (s: string) => string = same, name: (s: string) => string = share): ObservedDevice {
  return {
    id: d.id,
    displayName: d.displayName == null ? '' : name(d.displayName),
    operatingSystem: d.operatingSystem == null ? null : share(d.operatingSystem),
    operatingSystemVersion: d.operatingSystemVersion == null ? null : share(d.operatingSystemVersion),
    approximateLastSignInDateTime: d.approximateLastSignInDateTime ?? null,
    accountEnabled: d.accountEnabled !== false,
  };
}

/** Up to this many devices, a user's list is copied to exactly their number at each device read; past it, it grows. */
const FEW_DEVICES = 8;

/**
 * `list` with `d` at index `at`: while short, a new array of exactly their number (a list grown by push keeps room
 * for more: 17 places for 2 devices); past FEW_DEVICES (an enrollment account owning thousands), grown in place and
 * trimmed when its user is taken, so that reading stays linear.
 */
function withDevice(list: ObservedDevice[], d: ObservedDevice, at: number): ObservedDevice[] {
  if (list === NO_DEVICES) return [d];
  if (list.length >= FEW_DEVICES) {
    list.splice(at, 0, d);
    return list;
  }
  const out = new Array<ObservedDevice>(list.length + 1);
  for (let i = 0, j = 0; i < out.length; i++) out[i] = i === at ? d : list[j++]!;
  return out;
}

/** What a user has before the user's own row is read: devices and registered methods read first. */
interface Attached {
  devices: ObservedDevice[];
  methodsRegistered: string[];
}

/**
 * The tenant as read, in the form the observation is made of, so that reading it holds little more than the
 * observation will: each user read is the ObservedUser it becomes if targeted (targeting fields not yet set), its
 * devices (each an ObservedDevice, shared by its owners, in read order, in an array of exactly their number) and its
 * registered methods attached as they are read, whichever page comes first; the enforcement group's members as a set
 * of lower-case ids; each expanded group as the lower-case ids of its members that are users. Resolution
 * (resolveRead) takes the targeted users as they are, sets their targeting fields, and drops the rest.
 * Read once: resolveRead empties it.
 */
export class ReadTenant {
  enforcementGroup: EnforcementGroup | null = null;
  roleAssignments: SnapshotRoleAssignment[] = [];
  roleEligibilities: SnapshotRoleAssignment[] = [];
  fido2Policy: SnapshotFido2Configuration | null = null;
  fido2Methods: Record<string, Fido2MethodsRead> = {};
  readErrors: SnapshotReadError[] = [];
  graduation?: GraduationSnapshot;
  /** Lower-case ids of the enforcement group's members (users or not). */
  readonly groupMembers = new Set<string>();
  /** Per lower-case group id: the lower-case ids of its transitive members that are users; null when it answered 404. */
  readonly transitive = new Map<string, string[] | null>();
  /** The groups read, as the exemption check reads them: null for one that answered 404. */
  groupsRead: Record<string, SnapshotDirectoryObject[] | null> = {};
  /** Users by lower-case id. */
  readonly users = new Map<string, ObservedUser>();
  /** Devices and methods of ids whose user row is not read (yet). */
  private readonly early = new Map<string, Attached>();
  /** Once a device waits for its owners: the read position of it and of every device read after it. */
  private order: Map<ObservedDevice, number> | null = null;
  private devicesRead = 0;

  /** The copy of a read user's id, by lower-case id. */
  idOf(lowerId: string): string | undefined {
    const u = this.users.get(lowerId);
    return u === undefined || u === TAKEN ? undefined : u.userId;
  }

  user(u: SnapshotUser): void {
    const key = lower(u.id);
    const before = this.users.get(key) ?? this.early.get(key);
    this.early.delete(key);
    this.users.set(key, {
      userId: u.id,
      userPrincipalName: u.userPrincipalName,
      displayName: u.displayName ?? u.userPrincipalName,
      mail: u.mail ?? null,
      accountEnabled: u.accountEnabled !== false,
      devices: before?.devices ?? NO_DEVICES,
      methodsRegistered: before?.methodsRegistered ?? NO_ROW,
      fido2Methods: null,
      inFido2PolicyScope: null,
      inEnforcementGroup: false,
      readErrors: NO_READ_ERRORS,
    });
  }

  private slot(key: string): Attached {
    let a: Attached | undefined = this.users.get(key) ?? this.early.get(key);
    if (a === undefined) this.early.set(key, (a = { devices: NO_DEVICES, methodsRegistered: NO_ROW }));
    return a;
  }

  /** A userRegistrationDetails row (the user's id); a later row of the same user replaces it. */
  registration(id: string, methods: string[] | null | undefined): void {
    this.slot(lower(id)).methodsRegistered = methods ?? NO_METHODS;
  }

  /** A device with its owners, attached to each (an owner listed twice holds it twice). */
  device(d: ObservedDevice, owners: readonly SnapshotDirectoryObject[] | null | undefined): void {
    const at = ++this.devicesRead;
    this.order?.set(d, at);
    for (const o of owners ?? []) {
      const a = this.slot(lower(o.id));
      a.devices = withDevice(a.devices, d, a.devices.length);
    }
  }

  /** A device whose owners are read later (`ownersRead`): it keeps its place in the read order. */
  deferDevice(d: ObservedDevice): void {
    (this.order ??= new Map()).set(d, ++this.devicesRead);
  }

  /** The owners of a deferred device: each gets it where it was read among their devices. */
  ownersRead(d: ObservedDevice, owners: readonly SnapshotDirectoryObject[]): void {
    const order = this.order!;
    const at = order.get(d)!;
    for (const o of owners) {
      const a = this.slot(lower(o.id));
      const i = a.devices.findIndex((x) => (order.get(x) ?? 0) > at);
      a.devices = withDevice(a.devices, d, i < 0 ? a.devices.length : i);
    }
  }

  /** A member of the enforcement group. */
  member(id: string): void {
    this.groupMembers.add(lower(id));
  }

  /** The transitive members of a group (null: it answered 404). */
  groupRead(gid: string, members: SnapshotDirectoryObject[] | null): void {
    this.transitive.set(lower(gid), members === null ? null : members.filter(isUser).map((m) => lower(m.id)));
    this.groupsRead[gid] = members === null ? null : [];
  }

  /** The lower-case id of a transitive member that is a user (what `transitive` keeps of it), else undefined. */
  static memberId(m: SnapshotDirectoryObject): string | undefined {
    return isUser(m) ? lower(m.id) : undefined;
  }

  /** The transitive members of a group, read as `memberId` keeps them (null: it answered 404). */
  groupIds(gid: string, ids: string[] | null): void {
    this.transitive.set(lower(gid), ids);
    this.groupsRead[gid] = ids === null ? null : [];
  }

  /**
   * A snapshot as read, in this form. `release`: the snapshot's users, devices, registration details and group
   * members are emptied once read into it.
   */
  static fromSnapshot(s: TenantSnapshot, release = false): ReadTenant {
    const t = new ReadTenant();
    t.enforcementGroup = s.enforcementGroup;
    t.roleAssignments = s.roleAssignments;
    t.roleEligibilities = s.roleEligibilities;
    t.fido2Policy = s.fido2Policy;
    t.fido2Methods = s.fido2Methods;
    t.readErrors = s.readErrors;
    if (s.graduation) t.graduation = s.graduation;
    for (const m of s.enforcementGroupMembers) t.member(m.id);
    for (const u of s.users) t.user(u);
    for (const d of s.devices) t.device(observedDevice(d), d.registeredOwners);
    for (const r of s.registrationDetails) t.registration(r.id, r.methodsRegistered);
    for (const [gid, members] of Object.entries(s.transitiveMembers)) t.groupRead(gid, members);
    if (release) {
      s.users = [];
      s.devices = [];
      s.registrationDetails = [];
      s.enforcementGroupMembers = [];
      s.transitiveMembers = {};
    }
    return t;
  }
}

/** The groups whose transitive members observe must read (see groupsToExpand), of a tenant being read. */
export function groupsToExpandRead(campaign: Campaign, t: ReadTenant): string[] {
  return groupsToExpandOf(campaign, (id) => t.users.has(id), t);
}

interface Resolution {
  /** Targeted users after exclusions, in the order they were found (the order fido2Methods are read in). */
  users: ObservedUser[];
  excluded: ObservedExclusion[];
  warnings: RunWarning[];
  fido2: Fido2Policy | null;
  /** The targeted users whose fido2Methods are read (peek only). */
  fido2Reads: string[];
}

/**
 * `recorded`: accounts the ledger recorded as exempt (exemptions.ts), excluded even when their entry does not resolve.
 * `final`: the targeted users are taken from the tenant as they are (their targeting fields set) and the tenant is
 * emptied; otherwise (`peek`, before fido2Methods are read) the tenant is left as it is and only the users whose
 * fido2Methods would be read are named.
 */
function resolve(campaign: Campaign, t: ReadTenant, recorded: ReadonlyMap<string, ExclusionKind>, final: boolean): Resolution {
  const tg = campaign.spec.targets;
  const ex = campaign.spec.exclusions;
  const warnings = groupWarnings(campaign, t);
  const byId = t.users;

  // Only the users the campaign names (by id or UPN) are indexed for lookup by reference.
  const named = new Set([...tg.users, ...ex.breakGlass, ...ex.users].map(lower));
  const byRef = new Map<string, ObservedUser>();
  if (named.size) {
    for (const u of byId.values()) if (named.has(lower(u.userPrincipalName))) byRef.set(lower(u.userPrincipalName), u);
    for (const ref of named) {
      const u = byId.get(ref);
      if (u) byRef.set(`\u0000${ref}`, u);
    }
  }
  const find = (ref: string) => byRef.get(`\u0000${lower(ref)}`) ?? byRef.get(lower(ref));
  // null: the group answered 404; absent: not read (a group observe did not need).
  const expanded = t.transitive;
  const members = (gid: string): readonly string[] => expanded.get(lower(gid)) ?? [];

  // An entry that does not resolve is an exemption problem (exemptions.ts): the run makes no move, plan shows it.
  const exclusionOf = new Map<string, ExclusionKind>();
  for (const ref of ex.breakGlass) {
    const u = find(ref);
    if (u) exclusionOf.set(lower(u.userId), 'breakGlass');
  }
  for (const ref of ex.users) {
    const u = find(ref);
    if (u && !exclusionOf.has(lower(u.userId))) exclusionOf.set(lower(u.userId), 'user');
  }
  for (const g of ex.groups) {
    for (const m of members(g)) if (!exclusionOf.has(m)) exclusionOf.set(m, 'group');
  }
  for (const [id, kind] of recorded) if (!exclusionOf.has(id) || kind === 'breakGlass') exclusionOf.set(id, kind);

  // FIDO2 policy scope: include targets (all_users or groups) minus exclude targets.
  const policy = t.fido2Policy;
  const includeAll = (policy?.includeTargets ?? []).some((x) => x.id === ALL_USERS);
  const included = new Set<string>();
  for (const x of policy?.includeTargets ?? []) if (x.id !== ALL_USERS) for (const m of members(x.id)) included.add(m);
  const excludedFromFido2 = new Set<string>();
  for (const x of policy?.excludeTargets ?? []) for (const m of members(x.id)) excludedFromFido2.add(m);
  const missing = (x: { id: string }) => x.id !== ALL_USERS && expanded.get(lower(x.id)) === null;
  const missingIncludes = (policy?.includeTargets ?? []).filter(missing).map((x) => x.id);
  const missingExcludes = (policy?.excludeTargets ?? []).filter(missing).map((x) => x.id);

  const users: ObservedUser[] = [];
  const excluded: ObservedExclusion[] = [];
  const fido2Reads: string[] = [];
  let disabled = 0;
  let scopeUnknown = 0;
  // Each user once, in the order the targets find them: a final resolution marks the ones it took in place.
  const seen = final ? null : new Set<string>();
  const take = (id: string): void => {
    const u = byId.get(id);
    // Not a user we read (a group, a guest in another tenant, deleted), or already taken.
    if (u === undefined || u === TAKEN) return;
    if (seen) {
      if (seen.has(id)) return;
      seen.add(id);
    } else byId.set(id, TAKEN);
    const exclusion = exclusionOf.get(id);
    if (exclusion) {
      if (final) excluded.push({ userId: u.userId, userPrincipalName: u.userPrincipalName, exclusion });
      return;
    }
    // Kept, not dropped: a disabled account that vanished from the observation would look as if it left.
    if (!u.accountEnabled) disabled++;
    const row = u.methodsRegistered !== NO_ROW;
    let inScope = policy ? (includeAll || included.has(id)) && !excludedFromFido2.has(id) : null;
    let readErrors = row ? NO_READ_ERRORS : [MISSING_REGISTRATION_ROW];
    if (inScope && missingExcludes.length) {
      // A missing exclude group might exclude this user: unknown scope, no move (never "in scope, enforce").
      inScope = null;
      readErrors = [...readErrors, FIDO2_SCOPE_UNKNOWN(missingExcludes)];
      scopeUnknown++;
    }
    if (!final) {
      // AAGUID restrictions make the authenticator model matter: passkey holders' fido2Methods are read.
      if (u.accountEnabled && readErrors.length === 0 && u.methodsRegistered.some((m) => PASSKEY_LOWER.has(lower(m)))) fido2Reads.push(u.userId);
      return;
    }
    if (!row) u.methodsRegistered = NO_METHODS;
    if (u.devices.length > FEW_DEVICES) u.devices = u.devices.slice();
    u.inFido2PolicyScope = inScope;
    u.inEnforcementGroup = t.groupMembers.has(id);
    u.readErrors = readErrors;
    users.push(u);
  };

  // Who the targets find, each once. Role principals that are not users are groups (role-assignable) or service principals.
  const { principals, scopedOnly } = rolePrincipalsByScope(campaign, t);
  if (scopedOnly.size) warnings.push(warning('ScopedRoleAssignmentsSkipped', SAY.ScopedRoleAssignmentsSkipped(scopedOnly.size)));
  for (const p of principals) {
    if (byId.has(p)) take(p);
    else for (const m of members(p)) take(m);
  }
  for (const g of tg.groups) {
    // Fewer targets, never more enforcement: a warning, and the target-drop guard stops a large drop.
    if (expanded.get(lower(g)) === null) warnings.push(warning('TargetGroupMissing', SAY.TargetGroupMissing(g)));
    for (const m of members(g)) take(m);
  }
  for (const ref of tg.users) {
    const u = find(ref);
    if (u) take(lower(u.userId));
    else warnings.push(warning('TargetUserMissing', SAY.TargetUserMissing(ref)));
  }
  if (final) {
    // What was not taken is no one's: the tenant as read is gone.
    byId.clear();
    t.transitive.clear();
    t.groupsRead = {};
  }
  if (disabled) warnings.push(warning('DisabledAccountsSkipped', SAY.DisabledAccountsSkipped(disabled)));
  for (const id of missingIncludes) warnings.push(warning('Fido2ScopeGroupMissing', SAY.Fido2ScopeGroupMissing('include', id, 0)));
  for (const id of missingExcludes) warnings.push(warning('Fido2ScopeGroupMissing', SAY.Fido2ScopeGroupMissing('exclude', id, scopeUnknown)));
  return { users, excluded, warnings, fido2: toFido2Policy(policy), fido2Reads };
}

/** AAGUID restrictions make the authenticator model matter: passkey holders' fido2Methods are read (not a disabled account's: it is held). */
const holdsPasskey = (u: ObservedUser) => u.accountEnabled && u.readErrors.length === 0 && u.methodsRegistered.some((m) => PASSKEY_LOWER.has(lower(m)));

/** The users whose fido2Methods observe must read (in request order): none unless the FIDO2 policy enforces AAGUID restrictions. Their devices are not resolved for this. */
export function fido2MethodReads(campaign: Campaign, s: TenantSnapshot): string[] {
  if (!toFido2Policy(s.fido2Policy)?.keyRestrictions.isEnforced) return [];
  return fido2MethodReadsRead(campaign, ReadTenant.fromSnapshot(s));
}

/** fido2MethodReads of a tenant being read; leaves it as it is. */
export function fido2MethodReadsRead(campaign: Campaign, t: ReadTenant): string[] {
  if (!toFido2Policy(t.fido2Policy)?.keyRestrictions.isEnforced) return [];
  return resolve(campaign, t, new Map(), false).fido2Reads;
}

/**
 * The campaign's targets in this snapshot: who is targeted, who is excluded and why, and what is in the way.
 * `exemptions`: the ledger's exemption records (foldExemptions); their accounts stay excluded.
 * `release`: for a caller that has no further use for the snapshot's users, devices, registration details and group
 * members: they are emptied once read (only `readErrors`, the FIDO2 policy, the fido2Methods and the graduation
 * evidence stay as read), so that the tenant as read is not held beside the whole observation.
 */
export function resolveTargets(campaign: Campaign, s: TenantSnapshot, now: string, exemptions: ExemptionLedger = emptyExemptionLedger(), opts: { release?: boolean } = {}): ResolvedTargets {
  if (s.readErrors.length) return resolveRead(campaign, readErrorsOnly(s), now, exemptions);
  return resolveRead(campaign, ReadTenant.fromSnapshot(s, opts.release === true), now, exemptions);
}

/** A snapshot with campaign-level read errors: only what is resolved of it (the group, its members, the errors). */
function readErrorsOnly(s: TenantSnapshot): ReadTenant {
  const t = new ReadTenant();
  t.enforcementGroup = s.enforcementGroup;
  t.readErrors = s.readErrors;
  for (const m of s.enforcementGroupMembers) t.member(m.id);
  return t;
}

/**
 * The campaign's targets in a tenant being read (observe's streaming form): as resolveTargets, and the tenant is
 * emptied as the observation is made of it.
 */
export function resolveRead(campaign: Campaign, t: ReadTenant, now: string, exemptions: ExemptionLedger = emptyExemptionLedger()): ResolvedTargets {
  const name = campaign.metadata.name;
  const group = t.enforcementGroup ?? { id: '', displayName: enforcementGroupName(name) };
  const groupMembers = t.groupMembers;
  if (t.readErrors.length) {
    // Partial reads look like "fewer targets" or "no passkey": resolve nothing, say what failed.
    const warnings = groupWarnings(campaign, t);
    t.users.clear();
    return {
      observation: { v: 1, campaign: name, at: now, fido2Policy: null, users: [], excluded: [], readErrors: t.readErrors.map((e) => e.message) },
      group,
      groupMembers,
      warnings,
      prerequisites: null,
      exemptions: emptyExemptionCheck(),
    };
  }
  const check = checkExemptions(campaign, exemptionView(campaign, t), exemptions);
  const { users, excluded, warnings, fido2 } = resolve(campaign, t, check.recordedExclusions, true);
  const graduation = graduationOf(campaign, t, users);

  if (fido2?.keyRestrictions.isEnforced) {
    for (const u of users.filter(holdsPasskey)) {
      const read = t.fido2Methods[u.userId];
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

/** What the exemption check reads of a tenant being read: the users its lists name (by id or UPN) and the groups read. */
function exemptionView(campaign: Campaign, t: ReadTenant): Pick<TenantSnapshot, 'users' | 'transitiveMembers'> {
  const ex = campaign.spec.exclusions;
  const named = new Set([...ex.breakGlass, ...ex.users].map(lower));
  const users: SnapshotUser[] = [];
  if (named.size) for (const u of t.users.values()) if (named.has(lower(u.userId)) || named.has(lower(u.userPrincipalName))) users.push({ id: u.userId, userPrincipalName: u.userPrincipalName });
  return { users, transitiveMembers: t.groupsRead };
}

/**
 * A graduated campaign's evidence for the targeted users: their graduated-group membership and their sign-ins.
 * Not observed at all (a paused campaign's counts, doctor) or not established: not available, with the cause.
 */
function graduationOf(campaign: Campaign, s: Pick<TenantSnapshot, 'graduation'>, users: ObservedUser[]): { observation: GraduationObservation; resolved: NonNullable<ResolvedTargets['graduated']> } | null {
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
