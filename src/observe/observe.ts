// Observe: every Graph read a run needs, in bulk, into a typed tenant snapshot (engine/snapshot.ts: observe), or
// into the form the observation is made of (engine/targets.ts ReadTenant: observeTargets, what a reconcile uses, so
// that the tenant as read is never held beside the observation); no targeting rule is applied while reading
// (engine/targets.ts does that). Both send the same requests in the same order. Reads only, through GraphReader.
// Each request uses only the query options its page documents and follows @odata.nextLink; per-object
// calls (role assignments per role, fido2Methods, group expansion, owners past the $expand limit) go in
// $batch requests of 20 (concepts/json-batching.md).
// Graph reference: microsoftgraph/microsoft-graph-docs-contrib, api-reference/v1.0/api/<page>.md.
import type * as MG from '@microsoft/microsoft-graph-types';
import type { Campaign } from '../campaign/types';
import { caPolicyName, enforcementGroupName, graduatedCaPolicyName, graduatedGroupName } from '../contracts/names';
import type {
  EnforcementGroup,
  Fido2MethodsRead,
  GraduationSnapshot,
  SnapshotCaPolicy,
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
import { ReadTenant, fido2MethodReads, fido2MethodReadsRead, groupsToExpand, groupsToExpandRead, observedDevice, resolveRead, type ResolvedTargets } from '../engine/targets';
import type { ExemptionLedger } from '../engine/exemptions';
import { RuntimeError } from '../errors';
import { toTypedError, type GraphReader, type ListOptions } from '../graph/client';
import { GraphError, GraphUnavailableError } from '../graph/errors';
import { SignInSummaries, readSignIns } from '../impact/signins';
import { DAY_MS } from '../engine/time';
import type { ObservedDevice, ObservedSignIns } from '../engine/types';
import { heapMark } from '../contracts/heap-trace';
import { EnforcementGroupAmbiguousError, EnforcementGroupLookupError, EnforcementGroupNotFoundError, GraduatedGroupNotFoundError } from './errors';

export interface ObserveOptions {
  /** plan: a campaign not deployed yet has no group; observe everything else and say so. */
  allowMissingGroup?: boolean;
  /**
   * Read the graduation evidence of a campaign with spec.enforcement.mode graduated (its group, policies and the sign-ins
   * of the last enableWhen.observedDays before `now`). Omitted: none of it is read (doctor, a paused campaign's counts).
   */
  graduation?: { now: string };
  /** The users the caller already holds by id (the folded state): their ids and UPNs are shared with it. */
  knownUser?: KnownUser;
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

/** Finds a graduated campaign's second group by display name; none or several are campaign-level read errors. */
export async function findGraduatedGroup(graph: GraphReader, campaign: string): Promise<EnforcementGroup> {
  const name = graduatedGroupName(campaign);
  const found = await graph.list<EnforcementGroup>('/groups', { filter: `displayName eq '${name.replace(/'/g, "''")}'`, select: ['id', 'displayName'] });
  if (found.length === 0) throw new GraduatedGroupNotFoundError(name);
  if (found.length > 1) throw new EnforcementGroupAmbiguousError(name, found.map((g) => g.id));
  return found[0];
}

/** The sign-ins permissions (signin-list.md: both, a documented known issue) and the CA data's (includes/signins-roles-for-ca-data.md). */
const SIGN_IN_PERMISSIONS = 'AuditLog.Read.All and Directory.Read.All';
const CA_PERMISSION = 'Policy.Read.All';

/** Why a graduation read failed, naming what to grant or deploy. */
function graduationCause(what: string, e: GraphError, permission: string): string {
  const status = e.status === 0 ? 'no answer' : `${e.status} ${e.code}`;
  if (e.status === 403) return `${what} could not be read (${status}): grant the identity the Microsoft Graph application permission ${permission}.`;
  if (e.status === 404 || e.status === 400) return `${what} could not be read (${status}): this Graph endpoint does not serve the request (${e.method} ${e.url.split('?')[0]}); it needs ${permission}.`;
  return `${what} could not be read (${status}); the next run tries again.`;
}

/**
 * The campaign's two Conditional Access policies by display name (conditionalaccessroot-list-policies.md; a tenant
 * holds at most a few hundred, so all are listed with `$select` and matched here). A failure says why in `unavailable`.
 */
async function readCaPolicies(graph: GraphReader, campaign: string, g: GraduationSnapshot): Promise<void> {
  let all: SnapshotCaPolicy[];
  try {
    all = await graph.list<SnapshotCaPolicy>('/identity/conditionalAccess/policies', { select: ['id', 'displayName', 'state'] });
  } catch (e) {
    if (!(e instanceof GraphError)) throw e;
    g.unavailable = graduationCause('the Conditional Access policies', e, CA_PERMISSION);
    return;
  }
  const pick = (name: string): SnapshotCaPolicy | string => {
    const found = all.filter((p) => p.displayName === name);
    if (found.length === 1) return found[0]!;
    return found.length === 0
      ? `the Conditional Access policy "${name}" does not exist in the tenant: run pulumi up to deploy the graduated campaign's policies.`
      : `${found.length} Conditional Access policies are named "${name}": rename or delete the extra ones so the run can tell which one applies.`;
  };
  const ro = pick(caPolicyName(campaign));
  const en = pick(graduatedCaPolicyName(campaign));
  if (typeof ro === 'string') g.unavailable = ro;
  else g.reportOnlyPolicy = ro;
  if (typeof en === 'string') g.unavailable ??= en;
  else g.enabledPolicy = en;
}

/**
 * The window's sign-ins (signin-list.md), summarised per member of the enforcement or graduated group: the report-only
 * policy's results and the enabled policy's failures. Unreadable, or Conditional Access data omitted: `unavailable`.
 */
async function readGraduationSignIns(graph: GraphReader, g: GraduationSnapshot, members: ReadonlySet<string>): Promise<void> {
  if (g.unavailable !== null || !g.reportOnlyPolicy || !g.enabledPolicy) return;
  const ro = new SignInSummaries([g.reportOnlyPolicy.id], members);
  const en = new SignInSummaries([g.enabledPolicy.id], members);
  let r: { read: number; withoutCaData: number };
  const roId = g.reportOnlyPolicy.id.toLowerCase();
  let hidden = 0;
  try {
    r = await readSignIns(graph, { since: g.from, until: g.to }, (f) => {
      ro.add(f);
      en.add(f);
      if (members.has(f.userId) && f.policies[roId] === 'unknownFutureValue') hidden++;
    });
  } catch (e) {
    if (!(e instanceof GraphError)) throw e;
    g.unavailable = graduationCause('the sign-in logs', e, SIGN_IN_PERMISSIONS);
    return;
  }
  if (r.withoutCaData > 0) {
    g.unavailable = `${r.withoutCaData} of ${r.read} sign-ins came without their Conditional Access results, so whether the policy would have blocked them is unknown: grant the identity the Microsoft Graph application permission ${CA_PERMISSION}.`;
    return;
  }
  // Without the Prefer header's effect, report-only results read `unknownFutureValue`: a would-block is then invisible.
  if (hidden > 0) {
    g.unavailable = `${hidden} sign-in${hidden === 1 ? '' : 's'} of the campaign's users came with the report-only result hidden (unknownFutureValue): Graph did not honour the request header Prefer: include-unknown-enum-members, so whether the policy would have blocked them is unknown.`;
    return;
  }
  const signIns: Record<string, ObservedSignIns> = {};
  for (const [id, s] of ro.users) {
    const e = en.users.get(id);
    signIns[id] = {
      signIns: s.signIns,
      reportOnlySuccess: s.results.reportOnlySuccess,
      reportOnlyFailure: s.results.reportOnlyFailure,
      failure: e?.results.failure ?? 0,
      failureApps: e && e.results.failure > 0 ? e.apps : [],
      failureClientApps: e && e.results.failure > 0 ? e.clientApps : [],
      blocked: !!e && e.results.failure > 0 && (e.lastResult === 'failure' || e.legacyBlocked > 0),
    };
  }
  g.signIns = signIns;
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

// Paged reads are streamed: each item is reduced to the fields the engine reads as its page arrives, and
// the page is dropped (no page, and no item's unread columns, outlives its turn). Values that repeat are shared,
// one copy each: a directory object and its id (a user's id is read again in the registration report, as device
// owner and group member), an object's @odata.type, a device's name, OS and version, a user's list of registered
// methods, a device owner's list of one. A user's id and UPN are the copies the caller already holds when it has them.
// observeTargets keeps less: no directory objects at all (a device goes straight to its owners' lists, a member is
// its user's id), and only the first few thousand distinct device names are looked up for a copy to share.

/** A user the caller already holds (the campaign's folded state): its id and UPN are shared, not read again. */
export type KnownUser = (id: string) => { readonly userId: string; readonly userPrincipalName: string } | undefined;

/** How many distinct device names observeTargets shares (see `Interner.value`). */
const VALUES = 4096;

/** One shared copy of each distinct small value (see `Interner.list`). */
class Interner {
  private readonly strings = new Map<string, string>();
  private readonly lists = new Map<string, string[]>();
  /**
   * Each directory object read, as the list of it alone (the owner list of its devices when it owns them alone):
   * by id, of the first type the id was read with; by type and id, of any other (an id is one object's, so rare).
   */
  private readonly objects = new Map<string, [SnapshotDirectoryObject]>();
  private readonly otherType = new Map<string, [SnapshotDirectoryObject]>();

  constructor(private readonly known?: KnownUser) {}

  /** The one copy of a directory object's id: the known user's when there is one (then no entry here). */
  id(id: string): string {
    const k = this.known?.(id);
    return k?.userId === id ? k.userId : this.string(id);
  }

  /** The known user's copy of an id, when the caller holds that user. */
  knownId(id: string): string | undefined {
    const k = this.known?.(id);
    return k?.userId === id ? k.userId : undefined;
  }

  /**
   * The one copy of a value that may repeat or not (a device's name), among the first VALUES distinct ones:
   * past them a value is kept as read, so that values that never repeat (most computers' names) do not fill a table
   * as large as the tenant.
   */
  value(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (this.strings.size < VALUES) this.strings.set(s, s);
    return s;
  }

  /** A user's UPN: the known user's copy when it is the same. */
  upn(id: string, upn: string): string {
    const k = this.known?.(id);
    return k?.userPrincipalName === upn ? k.userPrincipalName : upn;
  }

  /** One object per directory object (id and type), however often it is read (read-only by convention). */
  directoryObject(o: SnapshotDirectoryObject): SnapshotDirectoryObject {
    return this.alone(o)[0];
  }

  /** A device's owners: the list of one owner (the usual case) is shared by that owner's devices. */
  owners(os: readonly SnapshotDirectoryObject[]): SnapshotDirectoryObject[] {
    return os.length === 1 ? this.alone(os[0]!) : os.map((o) => this.directoryObject(o));
  }

  private alone(o: SnapshotDirectoryObject): [SnapshotDirectoryObject] {
    const type = o['@odata.type'];
    const make = (): [SnapshotDirectoryObject] => [type === undefined ? { id: this.id(o.id) } : { id: this.id(o.id), '@odata.type': this.string(type) }];
    const first = this.objects.get(o.id);
    if (!first) {
      const list = make();
      this.objects.set(list[0].id, list);
      return list;
    }
    if (first[0]['@odata.type'] === type) return first;
    const key = `${type ?? ''}\u0000${o.id}`;
    let list = this.otherType.get(key);
    if (!list) this.otherType.set(key, (list = make()));
    return list;
  }

  string(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    this.strings.set(s, s);
    return s;
  }

  /** A list of short strings, shared by every item with the same list (read-only by convention). */
  list(xs: readonly string[]): string[] {
    const key = xs.join('\u0000');
    const known = this.lists.get(key);
    if (known) return known;
    const copy = xs.map((x) => this.string(x));
    this.lists.set(key, copy);
    return copy;
  }
}

/** A directory object with only what the engine reads: its id and, when Graph sent one, its type; one copy of each. */
function directoryObject(o: SnapshotDirectoryObject, intern: Interner): SnapshotDirectoryObject {
  return intern.directoryObject(o);
}

/** The `value` of a collection answer inside a $batch response. */
function valueOf<T>(body: unknown): T[] {
  return (body as { value?: T[] } | null)?.value ?? [];
}

function errorOf(body: unknown): { code?: string; message?: string } {
  return (body as { error?: { code?: string; message?: string } } | null)?.error ?? {};
}

/** Transitive members of each group (ids lower-case, each once), via $batch; a group that answers 404 maps to null. */
async function expandGroups<T>(graph: GraphReader, ids: string[], reads: Reads, keep: (m: SnapshotDirectoryObject) => T | undefined): Promise<Record<string, T[] | null>> {
  const out: Record<string, T[] | null> = {};
  const add = (members: T[], m: SnapshotDirectoryObject): void => {
    const x = keep(m);
    if (x !== undefined) members.push(x);
  };
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
    const members: T[] = [];
    for (const m of valueOf<SnapshotDirectoryObject>(r.body)) add(members, m);
    out[gid] = members;
    const next = (r.body as { '@odata.nextLink'?: string } | null)?.['@odata.nextLink'];
    // The rest of the group's pages go straight into `members`, one page at a time (a group of any size).
    if (next) followUps.push(reads.attempt('groupMembers', undefined, () => graph.list<SnapshotDirectoryObject>(next, { each: (m) => add(members, m) }).then(() => undefined)));
  });
  // The $batch answer (the groups' first pages) is dropped here, before the follow-ups are awaited.
  responses.clear();
  await Promise.all(followUps);
  return out;
}

/** The answer of an inner $batch request that failed: recorded when Graph answered, thrown otherwise. */
function batchFailure(read: SnapshotRead, path: string, r: { status: number; body: unknown }, reads: Reads): void {
  const { code, message } = errorOf(r.body);
  const e = toTypedError({ statusCode: r.status, code, message }, 'GET', path);
  if (recordable(e)) return reads.record(read, e);
  throw e;
}

/**
 * Several collection reads in $batch, each followed through its @odata.nextLink: the items of all of them.
 * `path` is the request's path without query, for messages.
 */
async function batchedLists<T>(graph: GraphReader, read: SnapshotRead, requests: Array<{ url: string; path: string }>, reads: Reads): Promise<T[][]> {
  const responses = await graph.batch(requests.map((q, i) => ({ id: String(i), method: 'GET' as const, url: q.url })));
  const out: T[][] = requests.map(() => []);
  const followUps: Array<Promise<void>> = [];
  requests.forEach((q, i) => {
    const r = responses.get(String(i));
    if (!r) throw new RuntimeError(`$batch returned no answer for ${q.url}.`, true);
    if (r.status >= 400) return batchFailure(read, q.path, r, reads);
    const items = out[i]!;
    for (const item of valueOf<T>(r.body)) items.push(item);
    const next = (r.body as { '@odata.nextLink'?: string } | null)?.['@odata.nextLink'];
    if (next) followUps.push(reads.attempt(read, undefined, () => graph.list<T>(next, { each: (item) => void items.push(item) }).then(() => undefined)));
  });
  await Promise.all(followUps);
  return out;
}

/**
 * Role assignments (or eligibility instances) of the campaign's roles, one filtered request per role
 * (rbacapplication-list-roleassignments.md, rbacapplication-list-roleeligibilityscheduleinstances.md:
 * `$filter`, `$expand` and `$select` only; no `$top`, so pages are followed). All scopes are read;
 * engine/targets.ts decides which directoryScopeId counts.
 */
async function readRoleAssignments(graph: GraphReader, read: 'roleAssignments' | 'roleEligibilities', roles: readonly string[], reads: Reads): Promise<SnapshotRoleAssignment[]> {
  const path = `/roleManagement/directory/${read === 'roleAssignments' ? 'roleAssignments' : 'roleEligibilityScheduleInstances'}`;
  const select = 'id,principalId,roleDefinitionId,directoryScopeId';
  const requests = roles.map((id) => ({ url: `${path}?$filter=${encodeURIComponent(`roleDefinitionId eq '${id}'`)}&$select=${select}`, path }));
  return (await batchedLists<SnapshotRoleAssignment>(graph, read, requests, reads)).flat();
}

/** An expanded directory relationship holds at most this many items and no nextLink (concepts/query-parameters.md). */
export const EXPAND_LIMIT = 20;

/**
 * Devices with their registered owners (device-list.md). The owners come by `$expand`, which holds at most 20
 * (concepts/query-parameters.md), so a device showing 20 has its owners read in full
 * (device-list-registeredowners.md). No `$top` with `$expand`: the default page size, pages followed.
 */
async function readDevices<D extends { id: string }>(graph: GraphReader, reads: Reads, into: Into<D>): Promise<void> {
  const full: D[] = [];
  const kept = await reads.attempt('devices', false, () => graph.list<SnapshotDevice>('/devices', {
    select: ['id', 'displayName', 'operatingSystem', 'operatingSystemVersion', 'approximateLastSignInDateTime', 'accountEnabled'],
    expand: 'registeredOwners($select=id)',
    each: (d) => {
      const waiting = into.device(d);
      if (waiting) full.push(waiting);
    },
  }).then(() => true));
  if (!kept) return into.lost('devices');
  if (!full.length) return;
  const owners = await batchedLists<SnapshotDirectoryObject>(graph, 'devices',
    full.map((d) => ({ url: `/devices/${d.id}/registeredOwners?$select=id&$top=999`, path: `/devices/${d.id}/registeredOwners` })), reads);
  full.forEach((d, i) => into.owners(d, owners[i]!));
}

/** fido2Methods of the given users via $batch (fido2authenticationmethod-list.md); a failed one stays a per-user read error. */
async function readFido2Methods(graph: GraphReader, userIds: string[], reads: Reads): Promise<Record<string, Fido2MethodsRead>> {
  const out: Record<string, Fido2MethodsRead> = {};
  const responses = await graph.batch(userIds.map((id, i) => ({ id: String(i), method: 'GET' as const, url: `/users/${id}/authentication/fido2Methods` })));
  let denied = false;
  userIds.forEach((id, i) => {
    const r = responses.get(String(i));
    out[id] = r && r.status === 200 ? { ok: true, methods: valueOf<MG.Fido2AuthenticationMethod>(r.body) } : { ok: false, status: r?.status ?? null };
    // A missing permission is the identity's, not the user's: one campaign-level error naming it.
    if (r?.status === 403 && !denied) {
      denied = true;
      batchFailure('fido2Methods', `/users/${id}/authentication/fido2Methods`, r, reads);
    }
  });
  return out;
}

/**
 * Where observe puts the tenant as it reads it: the tenant snapshot (observe), or the tenant in the form the
 * observation is made of (observeTargets). `D` is what a device waiting for its owners is held as.
 */
interface Into<D extends { id: string } = { id: string }> {
  /** Read as they are by both. */
  readonly intern: Interner;
  readonly common: Pick<TenantSnapshot, 'enforcementGroup' | 'roleAssignments' | 'roleEligibilities' | 'fido2Policy' | 'fido2Methods' | 'readErrors' | 'graduation'>;
  user(u: SnapshotUser): void;
  registration(r: SnapshotRegistration): void;
  member(m: SnapshotDirectoryObject): void;
  /** A device as read; one whose owners were cut at the $expand limit is returned, to get its owners read. */
  device(d: SnapshotDevice): D | undefined;
  owners(d: D, owners: SnapshotDirectoryObject[]): void;
  /** A paged read failed (and is recorded): what it gave is dropped. */
  lost(read: 'users' | 'registrationDetails' | 'enforcementGroupMembers' | 'devices'): void;
  /** Lower-case ids of the enforcement group's members. */
  memberIds(): Iterable<string>;
  groupsToExpand(campaign: Campaign): string[];
  expand(graph: GraphReader, ids: string[], reads: Reads): Promise<void>;
  fido2MethodReads(campaign: Campaign): string[];
}

/** The user row as the engine reads it: id and UPN the caller's copies when it has them, `mail` the UPN's when equal. */
function userRow(u: SnapshotUser, id: string, upn: string): SnapshotUser {
  // A mailbox's address is usually the UPN: then one copy.
  return { id, userPrincipalName: upn, displayName: u.displayName, accountEnabled: u.accountEnabled, mail: u.mail === upn ? upn : u.mail };
}

/** Into the tenant snapshot, every collection whole (doctor, tests). */
function intoSnapshot(snapshot: TenantSnapshot, intern: Interner): Into<SnapshotDevice> {
  return {
    intern,
    common: snapshot,
    user: (u) => void snapshot.users.push(userRow(u, intern.id(u.id), intern.upn(u.id, u.userPrincipalName))),
    // Only the id and the methods are kept of each row (the engine finds the user by id).
    registration: (r) => void snapshot.registrationDetails.push({ id: intern.id(r.id), methodsRegistered: r.methodsRegistered == null ? r.methodsRegistered : intern.list(r.methodsRegistered) }),
    member: (m) => void snapshot.enforcementGroupMembers.push(directoryObject(m, intern)),
    device: (d) => {
      const kept: SnapshotDevice = {
        id: d.id,
        displayName: d.displayName == null ? d.displayName : intern.string(d.displayName),
        operatingSystem: d.operatingSystem == null ? d.operatingSystem : intern.string(d.operatingSystem),
        operatingSystemVersion: d.operatingSystemVersion == null ? d.operatingSystemVersion : intern.string(d.operatingSystemVersion),
        approximateLastSignInDateTime: d.approximateLastSignInDateTime,
        accountEnabled: d.accountEnabled,
        ...(d.registeredOwners === undefined ? {} : { registeredOwners: d.registeredOwners === null ? null : intern.owners(d.registeredOwners) }),
      };
      snapshot.devices.push(kept);
      return (kept.registeredOwners?.length ?? 0) >= EXPAND_LIMIT ? kept : undefined;
    },
    owners: (d, owners) => void (d.registeredOwners = owners),
    lost: (read) => {
      if (read === 'users') snapshot.users = [];
      else if (read === 'registrationDetails') snapshot.registrationDetails = [];
      else if (read === 'enforcementGroupMembers') snapshot.enforcementGroupMembers = [];
      else snapshot.devices = [];
    },
    memberIds: () => snapshot.enforcementGroupMembers.map((m) => m.id.toLowerCase()),
    groupsToExpand: (campaign) => groupsToExpand(campaign, snapshot),
    expand: async (graph, ids, reads) => {
      snapshot.transitiveMembers = await expandGroups(graph, ids, reads, (m) => directoryObject(m, intern));
    },
    fido2MethodReads: (campaign) => fido2MethodReads(campaign, snapshot),
  };
}

/**
 * Into the tenant in the form the observation is made of (engine/targets.ts ReadTenant): each user read is the
 * observed user it becomes if targeted, each device the observed device its owners hold, each registration row the
 * owner's list of methods, as its page arrives. No copy of an id is kept beside the user's: a member's id is the
 * user's copy when the user is read, or the caller's.
 */
function intoRead(t: ReadTenant, intern: Interner): Into<ObservedDevice> {
  const id = (raw: string): string => intern.knownId(raw) ?? t.idOf(raw.toLowerCase()) ?? raw;
  return {
    intern,
    common: t,
    user: (u) => t.user(userRow(u, intern.knownId(u.id) ?? u.id, intern.upn(u.id, u.userPrincipalName))),
    registration: (r) => t.registration(r.id, r.methodsRegistered == null ? r.methodsRegistered : intern.list(r.methodsRegistered)),
    member: (m) => t.member(id(m.id)),
    device: (d) => {
      const od = observedDevice(d, (s) => intern.string(s), (s) => intern.value(s));
      if ((d.registeredOwners?.length ?? 0) < EXPAND_LIMIT) return void t.device(od, d.registeredOwners);
      t.deferDevice(od);
      return od;
    },
    owners: (d, owners) => t.ownersRead(d, owners),
    // The read error stops the run: the tenant as read is not resolved.
    lost: () => undefined,
    memberIds: () => t.groupMembers,
    groupsToExpand: (campaign) => groupsToExpandRead(campaign, t),
    expand: async (graph, ids, reads) => {
      // A member that is a user read is kept as that user's id (one copy), lower-case.
      const groups = await expandGroups(graph, ids, reads, (m) => {
        const lowerId = ReadTenant.memberId(m);
        return lowerId === undefined ? undefined : (t.idOf(lowerId)?.toLowerCase() ?? lowerId);
      });
      for (const [gid, members] of Object.entries(groups)) t.groupIds(gid, members);
    },
    fido2MethodReads: (campaign) => fido2MethodReadsRead(campaign, t),
  };
}

/**
 * Everything a run reads about the campaign's targets, in three rounds: the enforcement group; the bulk
 * collections at once; then the group expansions and fido2Methods the engine says it needs. After a
 * campaign-level read failed, nothing further is read.
 */
export async function observe(graph: GraphReader, campaign: Campaign, opts: ObserveOptions = {}): Promise<TenantSnapshot> {
  const intern = new Interner(opts.knownUser);
  const snapshot: TenantSnapshot = {
    enforcementGroup: null,
    enforcementGroupMembers: [],
    users: [],
    roleAssignments: [],
    roleEligibilities: [],
    devices: [],
    registrationDetails: [],
    fido2Policy: null,
    transitiveMembers: {},
    fido2Methods: {},
    readErrors: [],
  };
  await read(graph, campaign, opts, intoSnapshot(snapshot, intern));
  return snapshot;
}

/**
 * observe, then resolveTargets (engine/targets.ts), with the tenant resolved as it is read: the same requests and the
 * same resolved targets, but what is held while reading is the observation being made (each user, device and list of
 * methods in the form the observation keeps), not the tenant as read beside it. Only the read errors are returned of
 * the tenant as read.
 */
export async function observeTargets(graph: GraphReader, campaign: Campaign, now: string, exemptions: ExemptionLedger, opts: ObserveOptions = {}): Promise<{ readErrors: SnapshotReadError[]; targets: ResolvedTargets }> {
  const t = new ReadTenant();
  await read(graph, campaign, opts, intoRead(t, new Interner(opts.knownUser)));
  return { readErrors: t.readErrors, targets: resolveRead(campaign, t, now, exemptions) };
}

async function read<D extends { id: string }>(graph: GraphReader, campaign: Campaign, opts: ObserveOptions, into: Into<D>): Promise<void> {
  const t = campaign.spec.targets;
  const reads = new Reads();
  const c = into.common;
  c.readErrors = reads.errors;
  let group: EnforcementGroup | null = null;
  try {
    group = await findEnforcementGroup(graph, campaign.metadata.name);
  } catch (e) {
    if (e instanceof EnforcementGroupNotFoundError && opts.allowMissingGroup) group = null;
    else if (recordable(e)) reads.record('enforcementGroup', e);
    else throw e;
  }
  c.enforcementGroup = group;
  // Graduated campaigns only (reportOnly ones send no request more): the second group, then the policies and sign-ins.
  let graduation: GraduationSnapshot | undefined;
  if (campaign.spec.enforcement.mode === 'graduated' && opts.graduation && !reads.errors.length) {
    const to = opts.graduation.now;
    const observedDays = campaign.spec.enforcement.enableWhen.observedDays;
    graduation = { group: null, members: [], observedDays, from: new Date(Date.parse(to) - observedDays * DAY_MS).toISOString(), to, reportOnlyPolicy: null, enabledPolicy: null, signIns: {}, unavailable: null };
    try {
      graduation.group = await findGraduatedGroup(graph, campaign.metadata.name);
    } catch (e) {
      if (e instanceof GraduatedGroupNotFoundError && opts.allowMissingGroup) graduation.unavailable = `${e.message} ${e.hint ?? ''}`.trim();
      else if (e instanceof EnforcementGroupLookupError) reads.errors.push({ read: 'graduatedGroup', status: e.matches.length ? 409 : 404, code: e.name, message: e.message, hint: e.hint });
      else if (recordable(e)) reads.record('graduatedGroup', e);
      else throw e;
    }
  }
  if (graduation) c.graduation = graduation;
  if (reads.errors.length) return;
  const g = graduation;

  const none = <T>() => Promise.resolve<T[]>([]);
  /** A paged collection, each item handed to `each` as its page arrives; a failure is recorded and `lost` told. */
  const stream = async <T>(read: 'users' | 'registrationDetails' | 'enforcementGroupMembers', path: string, opts: ListOptions<T>, each: (item: T) => void): Promise<void> => {
    const ok = await reads.attempt(read, false, () => graph.list<T>(path, { ...opts, each }).then(() => true));
    if (!ok) into.lost(read);
  };
  /** A paged collection, each item reduced by `keep` as its page arrives; [] with the failure recorded. */
  const collect = async <T>(read: SnapshotRead, path: string, opts: ListOptions<T>, keep: (item: T) => T): Promise<T[]> => {
    const out: T[] = [];
    const ok = await reads.attempt(read, false, () => graph.list<T>(path, { ...opts, each: (item) => void out.push(keep(item)) }).then(() => true));
    return ok ? out : [];
  };
  const intern = into.intern;
  [, c.roleAssignments, c.roleEligibilities, , , c.fido2Policy] = await Promise.all([
    // user-list.md
    stream<SnapshotUser>('users', '/users', { select: ['id', 'userPrincipalName', 'displayName', 'accountEnabled', 'mail'], top: 999 }, (u) => into.user(u)),
    t.roles.length ? readRoleAssignments(graph, 'roleAssignments', t.roles, reads) : none<SnapshotRoleAssignment>(),
    t.roles.length && t.includeEligible ? readRoleAssignments(graph, 'roleEligibilities', t.roles, reads) : none<SnapshotRoleAssignment>(),
    // App-only code cannot call /users/{id}/registeredDevices, so owners come with the devices.
    readDevices(graph, reads, into),
    // authenticationmethodsroot-list-userregistrationdetails.md: only $filter and $orderBy, so every column and
    // the service's page size; passkey method names need include-unknown-enum-members.
    stream<SnapshotRegistration>('registrationDetails', '/reports/authenticationMethods/userRegistrationDetails', { headers: { Prefer: 'include-unknown-enum-members' } }, (r) => into.registration(r)),
    // fido2authenticationmethodconfiguration-get.md
    reads.attempt('fido2Policy', null, () => graph.get<SnapshotFido2Configuration>('/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2')),
    // group-list-members.md
    group ? stream<SnapshotDirectoryObject>('enforcementGroupMembers', `/groups/${group.id}/members`, { select: ['id'], top: 999 }, (m) => into.member(m)) : undefined,
    g?.group ? collect<SnapshotDirectoryObject>('graduatedGroupMembers', `/groups/${g.group.id}/members`, { select: ['id'], top: 999 }, (m) => directoryObject(m, intern)).then((m) => void (g.members = m)) : undefined,
    g && g.unavailable === null ? readCaPolicies(graph, campaign.metadata.name, g) : undefined,
  ]);
  // The bulk collections read, in the form kept of them.
  heapMark('observe-read');
  if (reads.errors.length) return;

  const members = new Set<string>();
  if (g) {
    for (const id of into.memberIds()) members.add(id);
    for (const x of g.members) members.add(x.id.toLowerCase());
  }
  await Promise.all([
    into.expand(graph, into.groupsToExpand(campaign), reads),
    g ? readGraduationSignIns(graph, g, members) : undefined,
  ]);
  // The groups expanded too: everything but the fido2Methods read.
  heapMark('observe-expanded');
  if (reads.errors.length) return;

  c.fido2Methods = await readFido2Methods(graph, into.fido2MethodReads(campaign), reads);
}
