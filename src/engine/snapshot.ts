// The tenant snapshot: what observe read from Graph for one campaign, in Graph's own shapes (the
// fields we $select), before any targeting rule is applied. resolveTargets (targets.ts) turns it
// into the Observation. Types only: the engine never reads Graph itself.
import type * as MG from '@microsoft/microsoft-graph-types';
import type { ObservedSignIns } from './types';

/** A directory object as `$select=id` returns it; `@odata.type` tells users from groups and devices. */
export interface SnapshotDirectoryObject {
  id: string;
  '@odata.type'?: string;
}

export interface EnforcementGroup {
  id: string;
  displayName: string;
}

/** `mail` is the primary SMTP address of the user's mailbox; null when the user has none. */
export type SnapshotUser = Pick<MG.User, 'displayName' | 'accountEnabled' | 'mail'> & { id: string; userPrincipalName: string };

/** An active role assignment or a PIM eligibility instance (same fields). */
export type SnapshotRoleAssignment = Pick<MG.UnifiedRoleAssignment, 'directoryScopeId'> & {
  id: string;
  principalId: string;
  roleDefinitionId: string;
};

/** A device with `$expand=registeredOwners($select=id)`. */
export type SnapshotDevice = Pick<MG.Device, 'displayName' | 'operatingSystem' | 'operatingSystemVersion' | 'approximateLastSignInDateTime' | 'accountEnabled'> & {
  id: string;
  registeredOwners?: SnapshotDirectoryObject[] | null;
};

/** A `userRegistrationDetails` row; its id is the user's id. */
export type SnapshotRegistration = Pick<MG.UserRegistrationDetails, 'userPrincipalName' | 'methodsRegistered'> & { id: string };

/** An include or exclude target of the FIDO2 policy: a group id, or `all_users`. */
export type SnapshotMethodTarget = Pick<MG.AuthenticationMethodTarget, 'targetType'> & { id: string };

export type SnapshotFido2Configuration = Pick<MG.Fido2AuthenticationMethodConfiguration, 'state' | 'isSelfServiceRegistrationAllowed' | 'keyRestrictions'> & {
  includeTargets?: SnapshotMethodTarget[] | null;
  excludeTargets?: SnapshotMethodTarget[] | null;
};

/** One user's `fido2Methods` read: the methods, or the status it answered (null: no answer in the $batch). */
export type Fido2MethodsRead = { ok: true; methods: MG.Fido2AuthenticationMethod[] } | { ok: false; status: number | null };

/** The campaign-level reads a snapshot is made of. */
export type SnapshotRead =
  | 'enforcementGroup'
  | 'enforcementGroupMembers'
  | 'users'
  | 'roleAssignments'
  | 'roleEligibilities'
  | 'devices'
  | 'registrationDetails'
  | 'fido2Policy'
  | 'groupMembers'
  | 'fido2Methods'
  | 'graduatedGroup'
  | 'graduatedGroupMembers';

/** A campaign-level read that Graph answered with an HTTP error status (not a transport failure, 401 or throttling). */
export interface SnapshotReadError {
  read: SnapshotRead;
  /** HTTP status Graph answered with. */
  status: number;
  /** Graph's error code, e.g. `Request_ResourceNotFound`. */
  code: string;
  /** One line naming the request, e.g. `GET /devices: 500 InternalServerError: …`. */
  message: string;
  /** What to do about it, when known (e.g. a missing permission). */
  hint?: string;
}

/** A Conditional Access policy as listed (`$select=id,displayName,state`). */
export interface SnapshotCaPolicy {
  id: string;
  displayName: string;
  state?: string | null;
}

/**
 * Graduated campaigns only: the graduated group and its members, the campaign's two CA policies, and the window's
 * sign-ins summarised per member of the enforcement or graduated group. `unavailable` says why the sign-in evidence
 * could not be established this run (nobody graduates then); the group reads are ordinary campaign-level reads.
 */
export interface GraduationSnapshot {
  /** null when it does not exist (a read error, or a warning in plan) or its lookup failed. */
  group: EnforcementGroup | null;
  members: SnapshotDirectoryObject[];
  observedDays: number;
  from: string;
  to: string;
  reportOnlyPolicy: SnapshotCaPolicy | null;
  enabledPolicy: SnapshotCaPolicy | null;
  /** Per lower-case user id. */
  signIns: Record<string, ObservedSignIns>;
  /** null when the evidence was read; else why not (permission, route, deployment). */
  unavailable: string | null;
}

export interface TenantSnapshot {
  /** Found by display name; null when it does not exist yet (plan only) or its lookup failed (see readErrors). */
  enforcementGroup: EnforcementGroup | null;
  /** Direct members of the enforcement group. */
  enforcementGroupMembers: SnapshotDirectoryObject[];
  users: SnapshotUser[];
  /** Active role assignments; not read (empty) when the campaign targets no role. */
  roleAssignments: SnapshotRoleAssignment[];
  /** PIM-eligible assignments; not read (empty) unless the campaign targets roles with includeEligible. */
  roleEligibilities: SnapshotRoleAssignment[];
  devices: SnapshotDevice[];
  registrationDetails: SnapshotRegistration[];
  /** null when the read failed (see readErrors). */
  fido2Policy: SnapshotFido2Configuration | null;
  /** Transitive members per group id (role-assignable role holders, target, exclusion and FIDO2 policy groups); null: the group answered 404. */
  transitiveMembers: Record<string, SnapshotDirectoryObject[] | null>;
  /** Per user id; read only for passkey holders when the FIDO2 policy enforces AAGUID restrictions. */
  fido2Methods: Record<string, Fido2MethodsRead>;
  /** Campaign-level reads that failed with an HTTP error status; non-empty means no user moves. */
  readErrors: SnapshotReadError[];
  /** Campaigns with spec.enforcement.mode graduated only. */
  graduation?: GraduationSnapshot;
}
