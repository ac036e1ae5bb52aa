// Typed failures of observing a tenant; callers read their fields, never their message.
import type { SnapshotReadError } from '../engine/snapshot';
import { RuntimeError } from '../errors';

/** The campaign's enforcement group is found by display name; none or several matches stop the run (DESIGN §6). */
export abstract class EnforcementGroupLookupError extends RuntimeError {
  constructor(
    message: string,
    /** The display name looked up (contracts/names.ts enforcementGroupName). */
    readonly groupName: string,
    /** Object ids of the groups carrying that name: none, or several. */
    readonly matches: readonly string[],
    hint: string,
  ) {
    super(message, false, hint);
  }
}

/** No group carries the name: the campaign is not deployed yet (plan goes on without it). */
export class EnforcementGroupNotFoundError extends EnforcementGroupLookupError {
  override readonly name: string = 'EnforcementGroupNotFoundError';
  constructor(groupName: string) {
    super(`enforcement group "${groupName}" does not exist in the tenant.`, groupName, [],
      'Deploy the campaign first (pulumi up creates the group), or create a security group with exactly this name.');
  }
}

/** Several groups carry the name: the run cannot tell which one the Conditional Access policy targets. */
export class EnforcementGroupAmbiguousError extends EnforcementGroupLookupError {
  override readonly name: string = 'EnforcementGroupAmbiguousError';
  constructor(groupName: string, matches: readonly string[]) {
    super(`${matches.length} groups are named "${groupName}" (${matches.join(', ')}); the run cannot tell which one the Conditional Access policy targets.`, groupName, matches,
      'Rename or delete the extra groups so exactly one has this name.');
  }
}

/** A graduated campaign's second group is missing: graduation cannot write anywhere (a campaign-level read error). */
export class GraduatedGroupNotFoundError extends EnforcementGroupLookupError {
  override readonly name: string = 'GraduatedGroupNotFoundError';
  constructor(groupName: string) {
    super(`graduated group "${groupName}" does not exist in the tenant, and the campaign's spec.enforcement.mode is graduated.`, groupName, [],
      'Run pulumi up: it creates the graduated group and its enabled policy for a graduated campaign (or set spec.enforcement.mode back to reportOnly).');
  }
}

/** Campaign-level reads answered with an HTTP error status: a reconcile stops before writing anything. */
export class TenantReadError extends RuntimeError {
  override readonly name: string = 'TenantReadError';
  constructor(readonly reads: readonly SnapshotReadError[]) {
    super(`${reads.length === 1 ? 'a Graph read' : `${reads.length} Graph reads`} of the tenant failed, so this run changed nothing: ${reads.map((r) => r.message).join('; ')}`,
      reads.some((r) => r.status >= 500),
      reads.find((r) => r.hint)?.hint ?? 'Check that the objects the campaign names exist and that the identity may read them, then run again.');
  }
}
