// Observe: every Graph read a run needs, in bulk, into a typed tenant snapshot (engine/snapshot.ts);
// no targeting rule is applied here (engine/targets.ts does that). Reads only, through GraphReader.
// Bulk collections are paged 999 at a time; per-user calls exist only where Graph has no bulk form
// (fido2Methods, group expansion) and go in $batch requests of 20 (concepts/json-batching.md).
// Graph reference: microsoftgraph/microsoft-graph-docs-contrib, api-reference/v1.0/api/<page>.md.
import type * as MG from '@microsoft/microsoft-graph-types';
import type { Campaign } from '../campaign/types';
import { enforcementGroupName } from '../contracts/names';
import type {
  EnforcementGroup,
  Fido2MethodsRead,
  SnapshotDevice,
  SnapshotDirectoryObject,
  SnapshotFido2Configuration,
  SnapshotRead,
  SnapshotReadError,
  SnapshotRegistration,
  SnapshotRoleAssignment,
  SnapshotUser,
  TenantSnapshot,
} from '../engine/snapshot';
import { fido2MethodReads, groupsToExpand } from '../engine/targets';
import { RuntimeError } from '../errors';
import { toTypedError, type GraphReader } from '../graph/client';
import { GraphError, GraphUnavailableError } from '../graph/errors';
import { EnforcementGroupAmbiguousError, EnforcementGroupNotFoundError } from './errors';

export interface ObserveOptions {
  /** plan: a campaign not deployed yet has no group; observe everything else and say so. */
  allowMissingGroup?: boolean;
}

/** Finds the campaign's enforcement group by display name; none or several stop the run. */
export async function findEnforcementGroup(graph: GraphReader, campaign: string): Promise<EnforcementGroup> {
  const name = enforcementGroupName(campaign);
  // group-list.md: $filter on displayName (eq).
  const found = await graph.list<EnforcementGroup>('/groups', { filter: `displayName eq '${name.replace(/'/g, "''")}'`, select: ['id', 'displayName'] });
  if (found.length === 0) throw new EnforcementGroupNotFoundError(name);
  if (found.length > 1) throw new EnforcementGroupAmbiguousError(name, found.map((g) => g.id));
  return found[0];
}

/**
 * A read Graph answered with an HTTP error status is recorded, not thrown: the run then moves nobody.
 * Transport failures, 401 and throttling or unavailability past the retry budget still throw.
 */
function recordable(e: unknown): e is GraphError {
  return e instanceof GraphError && !(e instanceof GraphUnavailableError) && e.status >= 400 && e.status !== 401;
}

class Reads {
  readonly errors: SnapshotReadError[] = [];

  record(read: SnapshotRead, e: GraphError): void {
    this.errors.push({ read, status: e.status, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
  }

  /** fn's result, or `fallback` with the failure recorded. */
  async attempt<T>(read: SnapshotRead, fallback: T, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!recordable(e)) throw e;
      this.record(read, e);
      return fallback;
    }
  }
}

/** The `value` of a collection answer inside a $batch response. */
function valueOf<T>(body: unknown): T[] {
  return (body as { value?: T[] } | null)?.value ?? [];
}

function errorOf(body: unknown): { code?: string; message?: string } {
  return (body as { error?: { code?: string; message?: string } } | null)?.error ?? {};
}

/** Transitive members of each group (ids lower-case, each once), via $batch; a group that answers 404 maps to null. */
async function expandGroups(graph: GraphReader, ids: string[], reads: Reads): Promise<Record<string, SnapshotDirectoryObject[] | null>> {
  const out: Record<string, SnapshotDirectoryObject[] | null> = {};
  // group-list-transitivemembers.md
  const responses = await graph.batch(ids.map((id, i) => ({ id: String(i), method: 'GET' as const, url: `/groups/${id}/transitiveMembers?$select=id&$top=999` })));
  const followUps: Array<Promise<void>> = [];
  ids.forEach((gid, i) => {
    const r = responses.get(String(i));
    if (!r) throw new RuntimeError(`$batch returned no answer for group ${gid}.`, true);
    if (r.status === 404) {
      out[gid] = null;
      return;
    }
    if (r.status >= 400) {
      const { code, message } = errorOf(r.body);
      const e = toTypedError({ statusCode: r.status, code, message }, 'GET', `/groups/${gid}/transitiveMembers`);
      if (recordable(e)) return reads.record('groupMembers', e);
      throw new RuntimeError(`reading members of group ${gid} failed: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`, r.status === 429 || r.status >= 500);
    }
    const members = valueOf<SnapshotDirectoryObject>(r.body);
    out[gid] = members;
    const next = (r.body as { '@odata.nextLink'?: string } | null)?.['@odata.nextLink'];
    if (next) {
      followUps.push(
        reads.attempt('groupMembers', [], () => graph.list<SnapshotDirectoryObject>(next)).then((rest) => {
          members.push(...rest);
        }),
      );
    }
  });
  await Promise.all(followUps);
  return out;
}

/** fido2Methods of the given users via $batch (fido2authenticationmethod-list.md); a failed one stays a per-user read error. */
async function readFido2Methods(graph: GraphReader, userIds: string[]): Promise<Record<string, Fido2MethodsRead>> {
  const out: Record<string, Fido2MethodsRead> = {};
  const responses = await graph.batch(userIds.map((id, i) => ({ id: String(i), method: 'GET' as const, url: `/users/${id}/authentication/fido2Methods` })));
  userIds.forEach((id, i) => {
    const r = responses.get(String(i));
    out[id] = r && r.status === 200 ? { ok: true, methods: valueOf<MG.Fido2AuthenticationMethod>(r.body) } : { ok: false, status: r?.status ?? null };
  });
  return out;
}

/**
 * Everything a run reads about the campaign's targets, in three rounds: the enforcement group; the bulk
 * collections at once; then the group expansions and fido2Methods the engine says it needs. After a
 * campaign-level read failed, nothing further is read.
 */
export async function observe(graph: GraphReader, campaign: Campaign, opts: ObserveOptions = {}): Promise<TenantSnapshot> {
  const t = campaign.spec.targets;
  const reads = new Reads();
  let group: EnforcementGroup | null = null;
  try {
    group = await findEnforcementGroup(graph, campaign.metadata.name);
  } catch (e) {
    if (e instanceof EnforcementGroupNotFoundError && opts.allowMissingGroup) group = null;
    else if (recordable(e)) reads.record('enforcementGroup', e);
    else throw e;
  }
  const snapshot: TenantSnapshot = {
    enforcementGroup: group,
    enforcementGroupMembers: [],
    users: [],
    roleAssignments: [],
    roleEligibilities: [],
    devices: [],
    registrationDetails: [],
    fido2Policy: null,
    transitiveMembers: {},
    fido2Methods: {},
    readErrors: reads.errors,
  };
  if (reads.errors.length) return snapshot;

  const roleFields = ['id', 'principalId', 'roleDefinitionId', 'directoryScopeId'];
  const none = <T>() => Promise.resolve<T[]>([]);
  [
    snapshot.users,
    snapshot.roleAssignments,
    snapshot.roleEligibilities,
    snapshot.devices,
    snapshot.registrationDetails,
    snapshot.fido2Policy,
    snapshot.enforcementGroupMembers,
  ] = await Promise.all([
    // user-list.md
    reads.attempt('users', [], () => graph.list<SnapshotUser>('/users', { select: ['id', 'userPrincipalName', 'displayName', 'accountEnabled', 'mail'], top: 999 })),
    // rbacapplication-list-roleassignments.md
    t.roles.length
      ? reads.attempt('roleAssignments', [], () => graph.list<SnapshotRoleAssignment>('/roleManagement/directory/roleAssignments', { select: roleFields, top: 999 }))
      : none<SnapshotRoleAssignment>(),
    // rbacapplication-list-roleeligibilityscheduleinstances.md
    t.roles.length && t.includeEligible
      ? reads.attempt('roleEligibilities', [], () => graph.list<SnapshotRoleAssignment>('/roleManagement/directory/roleEligibilityScheduleInstances', { select: roleFields, top: 999 }))
      : none<SnapshotRoleAssignment>(),
    // device-list.md: app-only code cannot call /users/{id}/registeredDevices, so owners come with the devices.
    reads.attempt('devices', [], () => graph.list<SnapshotDevice>('/devices', {
      select: ['id', 'displayName', 'operatingSystem', 'operatingSystemVersion', 'approximateLastSignInDateTime', 'accountEnabled'],
      expand: 'registeredOwners($select=id)',
      top: 999,
    })),
    // authenticationmethodsroot-list-userregistrationdetails.md: passkey method names need include-unknown-enum-members.
    reads.attempt('registrationDetails', [], () => graph.list<SnapshotRegistration>('/reports/authenticationMethods/userRegistrationDetails', {
      select: ['id', 'userPrincipalName', 'methodsRegistered'],
      top: 999,
      headers: { Prefer: 'include-unknown-enum-members' },
    })),
    // fido2authenticationmethodconfiguration-get.md
    reads.attempt('fido2Policy', null, () => graph.get<SnapshotFido2Configuration>('/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2')),
    // group-list-members.md
    group ? reads.attempt('enforcementGroupMembers', [], () => graph.list<SnapshotDirectoryObject>(`/groups/${group.id}/members`, { select: ['id'], top: 999 })) : none<SnapshotDirectoryObject>(),
  ]);
  if (reads.errors.length) return snapshot;

  snapshot.transitiveMembers = await expandGroups(graph, groupsToExpand(campaign, snapshot), reads);
  if (reads.errors.length) return snapshot;

  snapshot.fido2Methods = await readFido2Methods(graph, fido2MethodReads(campaign, snapshot));
  return snapshot;
}
