// The Graph paths the product calls, answered from the TenantState with Graph's JSON shapes.
import type { FixtureDevice, FixtureMethodConfiguration, FixtureSignIn, FixtureRegistrationDetails, FixtureRoleAssignment, FixtureTeamsApp, FixtureUser } from './fixture';
import { servicePrincipals } from './service-principals';
import {
  GraphHttpError,
  badRequest,
  buildQuery,
  compileFilter,
  decodeSkipToken,
  encodeSkipToken,
  notFound,
  parseExpand,
  parseSelect,
  parseTop,
  project,
  unsupportedQuery,
  type ExpandItem,
  type FilterSpec,
} from './odata';
import { sendingLimitsOf } from './mail-limits';
import { createTap, shapeTap } from './temporary-access-pass';
import { CA_DATA_PERMISSIONS } from './route-table';
import { randomUUID } from 'node:crypto';
import type { DirectoryObject, GroupRecord, TenantState } from './tenant-state';
import type { ThrottleClass } from './throttle';

export interface SimNotification {
  userId: string;
  channel: 'teams' | 'email';
  receivedAt: string;
  request: unknown;
  /**
   * Mail that sendMail accepted (202) but Exchange could not deliver: with the fixture's `mailboxes`, an
   * address that is no mailbox's. The non-delivery report's status; absent when the mail was delivered.
   */
  undeliverable?: string;
}

export interface RouteContext {
  method: string;
  version: 'v1.0' | 'beta';
  /** The `{id}` captures of the route template, in order. */
  params: string[];
  /** The path after the version, as sent (still percent-encoded), for nextLinks. */
  rawPath: string;
  query: URLSearchParams;
  header(name: string): string | undefined;
  body: unknown;
  tenant: TenantState;
  origin: string;
  now(): number;
  notify(n: SimNotification): void;
  /** The status POST /_sim/faults `notificationFailures` injects for notifications to this user, if any. */
  notificationFailure(user: FixtureUser): number | undefined;
  /** The route's documented page size (route-table.ts); absent: 100, `$top` up to 999. */
  pageSize?: { default: number; max?: number };
  /** Items an `$expand`ed directory relationship returns at most (route-table.ts). */
  expandMax?: number;
}

export interface GraphResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** A text/plain body (raw $count). */
  text?: string;
}

export interface Route {
  method: string;
  template: string;
  throttle: ThrottleClass;
  collection: boolean;
  transitive?: boolean;
  handle(ctx: RouteContext): GraphResponse;
}

// Graph v1.0 returns only these user properties unless $select asks for more (accountEnabled is not among them).
const USER_DEFAULT_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
] as const satisfies readonly (keyof FixtureUser)[];
// Evolvable-enum members Graph hides (as unknownFutureValue) unless the caller sends Prefer: include-unknown-enum-members.
const EVOLVABLE_METHODS = new Set(['passKeyDeviceBoundAuthenticator', 'passKeyDeviceBoundWindowsHello', 'passKeySynced']);

const USER_FILTER: FilterSpec = {
  id: ['eq', 'in'],
  accountEnabled: ['eq'],
  displayName: ['eq', 'in', 'startswith'],
  userPrincipalName: ['eq', 'in', 'startswith'],
  mail: ['eq', 'startswith'],
};
const DEVICE_FILTER: FilterSpec = { id: ['eq', 'in'], deviceId: ['eq'], accountEnabled: ['eq'], displayName: ['eq', 'startswith'] };
const GROUP_FILTER: FilterSpec = { id: ['eq', 'in'], displayName: ['eq', 'in', 'startswith'] };
const ROLE_ASSIGNMENT_FILTER: FilterSpec = {
  id: ['eq', 'in'],
  roleDefinitionId: ['eq', 'in'],
  principalId: ['eq', 'in'],
  directoryScopeId: ['eq'],
};
const ROLE_DEFINITION_FILTER: FilterSpec = { id: ['eq', 'in'], displayName: ['eq', 'startswith'], templateId: ['eq', 'in'] };
const REGISTRATION_FILTER: FilterSpec = {
  id: ['eq', 'in'],
  userPrincipalName: ['eq', 'in', 'startswith'],
  userDisplayName: ['eq', 'startswith'],
  isAdmin: ['eq'],
};

// resources/signin.md, "Supports $filter" per property (v1.0; beta documents the same operators). createdDateTime:
// eq, le and ge only (not lt or gt). Lambda filters on collections (appliedConditionalAccessPolicies/any(…)) are not
// emulated and answer 400.
const SIGN_IN_FILTER: FilterSpec = {
  id: ['eq'],
  createdDateTime: ['eq', 'le', 'ge'],
  userId: ['eq'],
  userPrincipalName: ['eq', 'startswith'],
  userDisplayName: ['eq', 'startswith'],
  appId: ['eq'],
  appDisplayName: ['eq', 'startswith'],
  clientAppUsed: ['eq'],
  conditionalAccessStatus: ['eq'],
  correlationId: ['eq'],
  ipAddress: ['eq', 'startswith'],
  resourceDisplayName: ['eq'],
  resourceId: ['eq'],
  riskDetail: ['eq'],
  riskLevelAggregated: ['eq'],
  riskLevelDuringSignIn: ['eq'],
  riskState: ['eq'],
  'status/errorCode': ['eq'],
  'deviceDetail/browser': ['eq', 'startswith'],
  'deviceDetail/operatingSystem': ['eq', 'startswith'],
  'location/city': ['eq', 'startswith'],
  'location/state': ['eq', 'startswith'],
  'location/countryOrRegion': ['eq', 'startswith'],
};
// The signIn properties of v1.0 (resources/signin.md); the rest of what the emulator records is beta's.
const SIGN_IN_V1_PROPERTIES = new Set([
  'id', 'createdDateTime', 'appDisplayName', 'appId', 'appliedConditionalAccessPolicies', 'clientAppUsed', 'conditionalAccessStatus', 'correlationId',
  'deviceDetail', 'ipAddress', 'isInteractive', 'location', 'resourceDisplayName', 'resourceId', 'riskDetail', 'riskEventTypes', 'riskEventTypes_v2',
  'riskLevelAggregated', 'riskLevelDuringSignIn', 'riskState', 'status', 'userDisplayName', 'userId', 'userPrincipalName',
]);
// appliedConditionalAccessPolicy.result members Graph hides (as unknownFutureValue) without Prefer: include-unknown-enum-members.
const EVOLVABLE_CA_RESULTS = new Set(['reportOnlySuccess', 'reportOnlyFailure', 'reportOnlyNotApplied', 'reportOnlyInterrupted']);

/**
 * A sign-in as the caller may see it: beta-only properties on /beta only, appliedConditionalAccessPolicies omitted
 * without a Conditional Access permission (includes/signins-roles-for-ca-data.md), evolvable results hidden
 * without the Prefer header (resources/appliedconditionalaccesspolicy.md).
 */
function shapeSignIn(s: FixtureSignIn, opts: { beta: boolean; caData: boolean; unknownEnums: boolean }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) if (opts.beta || SIGN_IN_V1_PROPERTIES.has(k)) out[k] = v;
  if (!opts.caData) delete out.appliedConditionalAccessPolicies;
  else if (Array.isArray(s.appliedConditionalAccessPolicies)) {
    out.appliedConditionalAccessPolicies = s.appliedConditionalAccessPolicies.map((p) => ({
      id: p.id,
      displayName: p.displayName ?? null,
      enforcedGrantControls: p.enforcedGrantControls ?? [],
      enforcedSessionControls: p.enforcedSessionControls ?? [],
      ...(opts.beta ? p : {}),
      result: !opts.unknownEnums && EVOLVABLE_CA_RESULTS.has(p.result ?? '') ? 'unknownFutureValue' : p.result,
    }));
  }
  return out;
}

/** Whether a Prefer header asks for evolvable enum members (it may carry several comma-separated preferences). */
function prefersUnknownEnums(prefer: string | undefined): boolean {
  return (prefer ?? '').split(',').some((p) => p.trim().toLowerCase() === 'include-unknown-enum-members');
}

const COLLECTION_OPTIONS = new Set(['$filter', '$select', '$top', '$skiptoken', '$count', '$expand', '$orderby', '$search', '$skip', '$format']);

function checkQueryOptions(ctx: RouteContext, collection: boolean): void {
  for (const name of new Set(ctx.query.keys())) {
    if (!name.startsWith('$')) continue;
    const lower = name.toLowerCase();
    if (!COLLECTION_OPTIONS.has(lower)) throw badRequest(`Query option '${name}' is not supported.`);
    if (lower === '$orderby' || lower === '$search' || lower === '$skip')
      throw unsupportedQuery(`The query option '${name}' is not supported by this emulator (the product does not send it).`);
    if (!collection && (lower === '$filter' || lower === '$top' || lower === '$skiptoken' || lower === '$count'))
      throw badRequest(`Query option '${name}' is not allowed on a single entity.`);
  }
}

// Query option names are case-insensitive in Graph.
function q(ctx: RouteContext, name: string): string | null {
  for (const [k, v] of ctx.query) if (k.toLowerCase() === name) return v;
  return null;
}

function contextUrl(ctx: RouteContext, path: string, select?: string[]): string {
  return `${ctx.origin}/${ctx.version}/$metadata#${path}${select ? `(${select.join(',')})` : ''}`;
}

interface ListOptions<T> {
  context: string;
  items: readonly T[];
  filter?: FilterSpec;
  resource: string;
  /** Directory objects (users, devices, groups) allow at most 15 values in an `in` clause. */
  maxInValues?: number;
  /** DateTimeOffset properties of `filter`. */
  dateTimes?: readonly string[];
  /**
   * `items` is a snapshot that is never changed in place (a new array after any change): the filtered list is kept for
   * the next page of the same query instead of filtering the whole collection again for every page.
   */
  memoFilter?: boolean;
  expand?: readonly string[];
  typeName?: string;
  shape(item: T, select: string[] | undefined, expand: ExpandItem[]): Record<string, unknown>;
}

/** Filtered lists by filter text, per items array (see ListOptions.memoFilter). */
const filteredLists = new WeakMap<readonly unknown[], Map<string, readonly unknown[]>>();
function memoFiltered<T>(items: readonly T[], text: string, filter: (item: Record<string, unknown>) => boolean): readonly T[] {
  let byText = filteredLists.get(items);
  if (!byText) filteredLists.set(items, (byText = new Map()));
  let hit = byText.get(text) as readonly T[] | undefined;
  if (!hit) {
    if (byText.size >= 16) byText.clear();
    hit = items.filter((item) => filter(item as Record<string, unknown>));
    byText.set(text, hit);
  }
  return hit;
}

function list<T>(ctx: RouteContext, o: ListOptions<T>): GraphResponse {
  checkQueryOptions(ctx, true);
  const select = parseSelect(q(ctx, '$select'));
  const expand = parseExpand(q(ctx, '$expand'), o.expand ?? [], o.typeName ?? o.resource);
  const top = parseTop(q(ctx, '$top'), ctx.pageSize?.max ?? 999);
  const filterText = q(ctx, '$filter');
  if (filterText !== null && !o.filter) throw unsupportedQuery(`Filtering is not supported on '${o.context}'.`);
  const filter = o.filter ? compileFilter(filterText, o.filter, o.resource, o.maxInValues, o.dateTimes) : undefined;
  const countText = q(ctx, '$count');
  let count = false;
  if (countText !== null) {
    if (!/^(true|false)$/i.test(countText)) throw badRequest(`Invalid value '${countText}' for $count; use true or false.`);
    count = countText.toLowerCase() === 'true';
    if (count && ctx.header('consistencylevel')?.toLowerCase() !== 'eventual')
      throw new GraphHttpError(400, 'Request_BadRequest', '$count is not currently supported.');
  }
  const offset = decodeSkipToken(q(ctx, '$skiptoken'));
  const matching = !filter ? o.items : o.memoFilter ? memoFiltered(o.items, filterText!, filter) : o.items.filter((item) => filter(item as Record<string, unknown>));
  const size = top ?? ctx.pageSize?.default ?? 100;
  const page = matching.slice(offset, offset + size);
  const body: Record<string, unknown> = { '@odata.context': contextUrl(ctx, o.context, select) };
  if (count) body['@odata.count'] = matching.length;
  if (offset + size < matching.length) {
    const params: Array<[string, string]> = [];
    for (const [k, v] of ctx.query) if (k.toLowerCase() !== '$skiptoken') params.push([k, v]);
    params.push(['$skiptoken', encodeSkipToken(offset + size)]);
    body['@odata.nextLink'] = `${ctx.origin}/${ctx.version}${ctx.rawPath}?${buildQuery(params)}`;
  }
  body.value = page.map((item) => o.shape(item, select, expand));
  return { status: 200, body };
}

function entity(ctx: RouteContext, context: string, shape: (select: string[] | undefined, expand: ExpandItem[]) => Record<string, unknown>, expandable: readonly string[] = [], typeName = 'microsoft.graph.entity'): GraphResponse {
  checkQueryOptions(ctx, false);
  const select = parseSelect(q(ctx, '$select'));
  const expand = parseExpand(q(ctx, '$expand'), expandable, typeName);
  return { status: 200, body: { '@odata.context': `${contextUrl(ctx, context, select)}/$entity`, ...shape(select, expand) } };
}

/**
 * A method configuration as v1.0 shows it: passkey profiles (beta resources/fido2authenticationmethodconfiguration.md
 * `passkeyProfiles`, `defaultPasskeyProfile`; resources/passkeyauthenticationmethodtarget.md `allowedPasskeyProfiles`)
 * are beta-only in the v1.0 pages the route table cites.
 */
function withoutBetaProperties(cfg: FixtureMethodConfiguration): Record<string, unknown> {
  const { passkeyProfiles: _profiles, defaultPasskeyProfile: _default, ...rest } = structuredClone(cfg);
  const targets = (list: unknown) => (Array.isArray(list) ? list.map((t: Record<string, unknown>) => { const { allowedPasskeyProfiles: _allowed, ...kept } = t; return kept; }) : list);
  return { ...rest, ...('includeTargets' in rest ? { includeTargets: targets(rest.includeTargets) } : {}), ...('excludeTargets' in rest ? { excludeTargets: targets(rest.excludeTargets) } : {}) };
}

function shapeUser(ctx: RouteContext, user: FixtureUser, select: string[] | undefined): Record<string, unknown> {
  // managerId is the fixture's, not Graph's: the manager is a relationship (/users/{id}/manager).
  const { managerId: _manager, ...u } = user;
  if (select) return project(u, select);
  if (ctx.version === 'beta') return { ...u };
  const out: Record<string, unknown> = {};
  for (const k of USER_DEFAULT_PROPERTIES) out[k] = u[k] ?? (k === 'businessPhones' ? [] : null);
  return out;
}

function shapeGroup(g: GroupRecord, select: string[] | undefined): Record<string, unknown> {
  // owners is a relationship (group-list-owners.md), not a property.
  const { owners: _owners, ...rest } = g;
  return project(rest, select);
}

function shapeDevice(ctx: RouteContext, d: FixtureDevice, select: string[] | undefined, expand: ExpandItem[]): Record<string, unknown> {
  const { registeredOwners, ...rest } = d;
  const out = project(rest, select);
  const owners = expand.find((e) => e.property === 'registeredOwners');
  if (owners) {
    // concepts/query-parameters.md: an expanded directory relationship holds at most 20 items, with no nextLink.
    out.registeredOwners = (registeredOwners ?? []).slice(0, ctx.expandMax ?? Infinity).flatMap((id) => {
      const obj = ctx.tenant.directoryObject(id);
      return obj ? [shapeDirectoryObject(ctx, obj, owners.select)] : [];
    });
  }
  return out;
}

function shapeDirectoryObject(ctx: RouteContext, obj: DirectoryObject, select: string[] | undefined): Record<string, unknown> {
  const type = { '@odata.type': `#microsoft.graph.${obj.type}` };
  switch (obj.type) {
    case 'user':
      return { ...type, ...shapeUser(ctx, obj.item, select) };
    case 'group':
      return { ...type, ...shapeGroup(obj.item, select) };
    case 'device':
      return { ...type, ...shapeDevice(ctx, obj.item, select, []) };
  }
}

function shapeAssignment(ctx: RouteContext, a: FixtureRoleAssignment, select: string[] | undefined, expand: ExpandItem[]): Record<string, unknown> {
  const out = project(a, select);
  for (const e of expand) {
    if (e.property === 'principal') {
      const obj = ctx.tenant.directoryObject(a.principalId);
      out.principal = obj ? shapeDirectoryObject(ctx, obj, e.select) : null;
    } else if (e.property === 'roleDefinition') {
      const def = ctx.tenant.roleDefinitions.get(a.roleDefinitionId);
      out.roleDefinition = def ? project(def, e.select) : null;
    }
  }
  return out;
}

function requireUser(ctx: RouteContext, idOrUpn: string): FixtureUser {
  const user = ctx.tenant.findUser(idOrUpn);
  if (!user) throw notFound(idOrUpn);
  return user;
}

/** The user behind a mailbox route: Exchange's 404s for an unknown user or one without a mailbox. */
function requireMailUser(ctx: RouteContext, idOrUpn: string): FixtureUser {
  const user = ctx.tenant.findUser(idOrUpn);
  if (!user) throw new GraphHttpError(404, 'ErrorInvalidUser', `The requested user '${idOrUpn}' is invalid.`);
  if (!ctx.tenant.hasMailbox(user)) throw new GraphHttpError(404, 'MailboxNotEnabledForRESTAPI', 'REST API is not yet supported for this mailbox.');
  return user;
}

/**
 * Whether mail to `address` reaches the user's mailbox. Without the fixture's `mailboxes` any UPN or mail
 * address of the user does; with it, only the `mail` of a user who has a mailbox (their UPN when they have no
 * `mail`), since a UPN is not a mailbox address by itself.
 */
function isMailboxAddress(ctx: RouteContext, user: FixtureUser, address: string): boolean {
  if (!ctx.tenant.checksMailboxes) return true;
  if (!ctx.tenant.hasMailbox(user)) return false;
  return (user.mail ?? user.userPrincipalName).toLowerCase() === address.toLowerCase();
}

/**
 * The catalog apps that may send as the caller: those whose manifest names an Entra app in webApplicationInfo (the
 * caller's identity is not modelled, so any named one), or every app when none names one.
 */
function sendingCandidates(ctx: RouteContext): FixtureTeamsApp[] {
  const catalog = ctx.tenant.teamsApps.all();
  const named = catalog.filter((a) => a.webApplicationInfoId);
  return [...(named.length ? named : catalog)];
}

/** The Teams deep link prefix of an app: https://teams.microsoft.com/l/entity/<app id>/ (catalog id or manifest id). */
function pointsAtApp(webUrl: string, app: FixtureTeamsApp): boolean {
  const prefix = 'https://teams.microsoft.com/l/entity/';
  if (!webUrl.toLowerCase().startsWith(prefix)) return false;
  const id = decodeURIComponent(webUrl.slice(prefix.length).split(/[/?#]/)[0] ?? '').toLowerCase();
  return id === app.id.toLowerCase() || (app.externalId !== undefined && id === app.externalId.toLowerCase());
}

/** A teamsAppInstallation as Graph shapes it (userteamwork-list-installedapps.md), with the requested expansions. */
function shapeInstallation(ctx: RouteContext, userId: string, appId: string, expand: ExpandItem[]): Record<string, unknown> {
  const app = ctx.tenant.teamsApps.get(appId);
  const out: Record<string, unknown> = { id: Buffer.from(`${userId}##${appId}`).toString('base64') };
  for (const e of expand) {
    if (e.property === 'teamsApp') {
      out.teamsApp = project({ id: appId, externalId: app?.externalId ?? null, displayName: app?.displayName ?? null, distributionMethod: 'organization' }, e.select);
    } else if (e.property === 'teamsAppDefinition') {
      out.teamsAppDefinition = project({ id: Buffer.from(`${appId}##1.0.0`).toString('base64'), teamsAppId: appId, azureADAppId: app?.webApplicationInfoId ?? null, displayName: app?.displayName ?? null, version: '1.0.0' }, e.select);
    }
  }
  return out;
}

/** Graph's 403 for a recipient without the sending app (see the sendActivityNotification route). */
function notInstalled(ctx: RouteContext, user: FixtureUser, appId: string): GraphHttpError {
  return new GraphHttpError(403, 'Forbidden',
    `Application with AAD App Id '${appId}' is not authorized to generate custom text notifications about '/${ctx.version}/users/${user.id}/teamwork/sendActivityNotification' to the recipient. Ensure that the expected Teams app is installed in the target scope (user, team, or chat).`);
}

/** The Graph error of a POST /_sim/faults `notificationFailures` entry. */
function injectedFailure(status: number, channel: 'teams' | 'email', user: FixtureUser): GraphHttpError {
  const code = INJECTED_CODES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
  const headers: Record<string, string> = status === 429 || status === 503 ? { 'Retry-After': '1' } : {};
  return new GraphHttpError(status, code, `The ${channel === 'teams' ? 'Teams activity notification' : 'mail'} to ${user.userPrincipalName} failed (emulator fault notificationFailures).`, headers);
}

/** Graph's error code for an injected notification failure, by status (recipient-side codes, never a sender's). */
const INJECTED_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'InvalidAuthenticationToken',
  403: 'Forbidden',
  404: 'ResourceNotFound',
  409: 'Conflict',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'serviceNotAvailable',
  504: 'GatewayTimeout',
};

function requireGroup(ctx: RouteContext, id: string): GroupRecord {
  const group = ctx.tenant.groups.get(id);
  if (!group) throw notFound(id);
  return group;
}

function bodyObject(ctx: RouteContext): Record<string, unknown> {
  const b = ctx.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badRequest('Empty Payload. JSON content expected.');
  return b as Record<string, unknown>;
}

/** The object id at the end of an `@odata.id` / `members@odata.bind` URL (…/directoryObjects/{id}). */
function refId(ref: unknown): string {
  if (typeof ref !== 'string' || ref.trim() === '') throw badRequest(`Invalid object reference ${JSON.stringify(ref)}.`, 'Request_BadRequest');
  const clean = ref.replace(/\/\$ref$/, '').replace(/\/+$/, '');
  const last = clean.slice(clean.lastIndexOf('/') + 1);
  const m = /^[A-Za-z]+\('([^']+)'\)$/.exec(last);
  return decodeURIComponent(m ? m[1]! : last);
}

function alreadyExists(): GraphHttpError {
  return new GraphHttpError(400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'.");
}

function countText(ctx: RouteContext, n: number): GraphResponse {
  if (ctx.header('consistencylevel')?.toLowerCase() !== 'eventual')
    throw unsupportedQuery(
      "Raw count (/$count) is not supported because the 'ConsistencyLevel:eventual' header is missing. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
    );
  return { status: 200, text: String(n) };
}

/** The directory objects among `ids` (a device's registered owners), as a page. */
function objectsList(ctx: RouteContext, ids: readonly string[]): GraphResponse {
  const objects: DirectoryObject[] = [];
  for (const id of ids) {
    const obj = ctx.tenant.directoryObject(id);
    if (obj) objects.push(obj);
  }
  return list(ctx, { context: 'directoryObjects', items: objects, resource: 'DirectoryObject', shape: (obj, select) => shapeDirectoryObject(ctx, obj, select) });
}

/** A group's (transitive) members, as a page; resolved once per tenant change (TenantState.memberObjects). */
function membersList(ctx: RouteContext, groupId: string, transitive: boolean, cast: 'user' | 'group' | undefined): GraphResponse {
  return list(ctx, {
    context: cast ? `${cast}s` : 'directoryObjects',
    items: ctx.tenant.memberObjects(groupId, transitive, cast),
    resource: 'DirectoryObject',
    shape: (obj, select) => shapeDirectoryObject(ctx, obj, select),
  });
}

const SERVICE_PRINCIPAL_FILTER: FilterSpec = { id: ['eq', 'in'], appId: ['eq', 'in'], displayName: ['eq', 'startswith'] };
const TEAMS_APP_FILTER: FilterSpec = { id: ['eq'], externalId: ['eq'], displayName: ['eq'], distributionMethod: ['eq'] };

function principalsOf(ctx: RouteContext): ReturnType<typeof servicePrincipals> {
  return servicePrincipals(ctx.tenant.application, '2026-01-01T00:00:00Z');
}

/** A catalog app as Graph shapes a teamsApp (resources/teamsapp.md) with its one published teamsAppDefinition. */
function catalogApp(a: FixtureTeamsApp) {
  return {
    id: a.id,
    externalId: a.externalId ?? null,
    displayName: a.displayName ?? null,
    distributionMethod: 'organization',
    appDefinitions: [{
      id: Buffer.from(`${a.id}##1.0.0`).toString('base64'),
      teamsAppId: a.id,
      azureADAppId: a.webApplicationInfoId ?? null,
      displayName: a.displayName ?? null,
      version: '1.0.0',
      publishingState: 'published',
    }],
  };
}

function methodConfiguration(ctx: RouteContext, id: string): GraphResponse {
  const cfg = (ctx.tenant.authenticationMethodsPolicy.authenticationMethodConfigurations ?? []).find((c) => c.id.toLowerCase() === id.toLowerCase());
  if (!cfg) throw notFound(id);
  return entity(ctx, 'policies/authenticationMethodsPolicy/authenticationMethodConfigurations', (select) =>
    project(ctx.version === 'beta' ? structuredClone(cfg) : withoutBetaProperties(cfg), select, ['@odata.type']),
  );
}

const route = (
  method: string,
  template: string,
  throttle: ThrottleClass,
  collection: boolean,
  handle: (ctx: RouteContext) => GraphResponse,
  extra: { transitive?: boolean } = {},
): Route => ({ method, template, throttle, collection, handle, ...extra });

export const ROUTES: Route[] = [
  // users
  route('GET', '/users', 'identity', true, (ctx) =>
    list(ctx, {
      context: 'users',
      items: ctx.tenant.users.all(),
      filter: USER_FILTER,
      resource: 'User',
      maxInValues: 15,
      typeName: 'microsoft.graph.user',
      shape: (u, select) => shapeUser(ctx, u, select),
    }),
  ),
  route('GET', '/users/$count', 'identity', true, (ctx) => countText(ctx, ctx.tenant.users.size)),
  route('GET', '/users/{id}', 'identity', false, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    return entity(ctx, 'users', (select) => shapeUser(ctx, user, select), [], 'microsoft.graph.user');
  }),
  route('GET', '/users/{id}/authentication/fido2Methods', 'identity', false, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    return list(ctx, {
      context: `users('${user.id}')/authentication/fido2Methods`,
      items: ctx.tenant.fido2Methods(user.id),
      resource: 'fido2AuthenticationMethod',
      shape: (m, select) => project({ '@odata.type': '#microsoft.graph.fido2AuthenticationMethod', ...m }, select, ['@odata.type']),
    });
  }),
  route('GET', '/users/{id}/authentication/fido2Methods/{id}', 'identity', false, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    const method = ctx.tenant.fido2Methods(user.id).find((m) => m.id === ctx.params[1]);
    if (!method) throw notFound(ctx.params[1]!);
    return entity(ctx, `users('${user.id}')/authentication/fido2Methods`, (select) =>
      project({ '@odata.type': '#microsoft.graph.fido2AuthenticationMethod', ...method }, select, ['@odata.type']),
    );
  }),
  // user-list-manager.md: the manager as a directoryObject (a user here), `$select` and `$expand` documented; a user
  // without one is 404 Request_ResourceNotFound "Resource 'manager' does not exist or one of its queried
  // reference-property objects are not present." (the directory's answer for an empty navigation property).
  route('GET', '/users/{id}/manager', 'identity', false, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    const manager = user.managerId ? ctx.tenant.users.get(user.managerId) : undefined;
    if (!manager) throw notFound('manager');
    return entity(ctx, `users('${user.id}')/manager`, (select) => ({ '@odata.type': '#microsoft.graph.user', ...shapeUser(ctx, manager, select) }), [], 'microsoft.graph.user');
  }),
  // Temporary Access Passes (src/sim/temporary-access-pass.ts cites the pages): list (at most one), create (the pass
  // in this response only), get and delete (204).
  route('GET', '/users/{id}/authentication/temporaryAccessPassMethods', 'identity', true, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    const tap = ctx.tenant.temporaryAccessPass(user.id);
    return list(ctx, {
      context: `users('${user.id}')/authentication/temporaryAccessPassMethods`,
      items: tap ? [tap] : [],
      resource: 'temporaryAccessPassAuthenticationMethod',
      shape: (t) => shapeTap(ctx.tenant, t, ctx.now()),
    });
  }),
  route('POST', '/users/{id}/authentication/temporaryAccessPassMethods', 'identity', false, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    checkQueryOptions(ctx, false);
    const body = bodyObject(ctx);
    const created = createTap(ctx.tenant, user, body, ctx.now());
    return { status: 201, body: { '@odata.context': `${contextUrl(ctx, `users('${user.id}')/authentication/temporaryAccessPassMethods`)}/$entity`, ...created } };
  }),
  route('GET', '/users/{id}/authentication/temporaryAccessPassMethods/{id}', 'identity', false, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    const tap = ctx.tenant.temporaryAccessPass(user.id);
    if (!tap || tap.id !== ctx.params[1]) throw notFound(ctx.params[1]!);
    return entity(ctx, `users('${user.id}')/authentication/temporaryAccessPassMethods`, () => shapeTap(ctx.tenant, tap, ctx.now()));
  }),
  route('DELETE', '/users/{id}/authentication/temporaryAccessPassMethods/{id}', 'identity', false, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    if (!ctx.tenant.deleteTemporaryAccessPass(user.id, ctx.params[1]!)) throw notFound(ctx.params[1]!);
    return { status: 204 };
  }),
  // userteamwork-sendactivitynotification.md: 204 No Content. concepts/teams-send-activityfeednotifications.md
  // (Requirements; FAQ "Who needs to install the Teams app?"): the sending Teams app must be installed for the
  // recipient. The docs name no status for a missing installation; Graph answers 403 Forbidden "… is not
  // authorized to generate custom text notifications … Ensure that the expected Teams app is installed in the
  // target scope (user, team, or chat)." (as reported in OfficeDev/microsoft-365-agents-toolkit#6067).
  // With a catalog (`teamsApps`), the activity type must be declared in the sending app's manifest ("This must be
  // declared in the Teams app manifest"; systemDefault is reserved and always allowed) and a text topic needs a
  // webUrl (teamworkactivitytopic.md) that "must start with the Microsoft Teams domain"; the docs name no status
  // for either, so both are the conservative 400 BadRequest of an invalid parameter. The product's topic deep-links
  // to its own app (https://teams.microsoft.com/l/entity/<app id>/…), so a webUrl into another app is refused too.
  route('POST', '/users/{id}/teamwork/sendActivityNotification', 'teamsActivity', false, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    const body = bodyObject(ctx);
    if (typeof body.topic !== 'object' || body.topic === null) throw badRequest("The 'topic' parameter is required.");
    if (typeof body.activityType !== 'string' || body.activityType === '') throw badRequest("The 'activityType' parameter is required.");
    if (typeof body.previewText !== 'object' || body.previewText === null) throw badRequest("The 'previewText' parameter is required.");
    const injected = ctx.notificationFailure(user);
    if (injected !== undefined) throw injectedFailure(injected, 'teams', user);
    const candidates = sendingCandidates(ctx);
    if (candidates.length === 0) {
      // No catalog: nothing tells the sending app apart, so any installed app counts.
      if (!ctx.tenant.hasTeamsApp(user.id, undefined)) throw notInstalled(ctx, user, 'unknown');
    } else {
      const installed = candidates.filter((a) => ctx.tenant.hasTeamsApp(user.id, new Set([a.id])));
      if (installed.length === 0) throw notInstalled(ctx, user, candidates[0]!.webApplicationInfoId ?? 'unknown');
      const activityType = body.activityType;
      const app = activityType === 'systemDefault' ? installed[0]! : installed.find((a) => (a.activityTypes ?? []).includes(activityType));
      if (!app) throw badRequest(`Activity type '${activityType}' is not declared in the manifest of the Teams app '${installed[0]!.displayName ?? installed[0]!.id}'.`, 'BadRequest');
      const topic = body.topic as { source?: unknown; webUrl?: unknown };
      if (topic.source === 'text') {
        if (typeof topic.webUrl !== 'string' || topic.webUrl === '') throw badRequest("The topic's 'webUrl' is required when its source is 'text'.", 'BadRequest');
        if (!pointsAtApp(topic.webUrl, app)) throw badRequest(`The topic's webUrl '${topic.webUrl}' does not point at the Teams app '${app.displayName ?? app.id}' (https://teams.microsoft.com/l/entity/${app.id}/…).`, 'BadRequest');
      }
    }
    ctx.notify({ userId: user.id, channel: 'teams', receivedAt: new Date(ctx.now()).toISOString(), request: body });
    return { status: 204 };
  }),
  // userteamwork-list-installedapps.md: $filter, $select, $expand (teamsApp, teamsAppDefinition); the docs' example
  // filters on teamsApp/externalId, and teamsApp/id is the catalog id the product knows.
  route('GET', '/users/{id}/teamwork/installedApps', 'teamsInstalledApps', true, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    for (const name of new Set(ctx.query.keys())) {
      if (name.startsWith('$') && !['$filter', '$select', '$expand'].includes(name.toLowerCase())) throw badRequest(`Query option '${name}' is not supported.`);
    }
    const select = parseSelect(q(ctx, '$select'));
    const expand = parseExpand(q(ctx, '$expand'), ['teamsApp', 'teamsAppDefinition'], 'microsoft.graph.teamsAppInstallation');
    let ids = ctx.tenant.installedTeamsApps(user.id);
    const filter = q(ctx, '$filter');
    if (filter !== null) {
      const m = /^\s*teamsApp\/(id|externalId)\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(filter);
      if (!m) throw unsupportedQuery(`Invalid filter clause: only teamsApp/id eq '…' and teamsApp/externalId eq '…' are supported on installedApps.`);
      const value = m[2]!.replace(/''/g, "'").toLowerCase();
      ids = ids.filter((id) => (m[1] === 'id' ? id.toLowerCase() === value : (ctx.tenant.teamsApps.get(id)?.externalId ?? '').toLowerCase() === value));
    }
    return {
      status: 200,
      body: {
        '@odata.context': contextUrl(ctx, `users('${user.id}')/teamwork/installedApps`, select),
        value: ids.map((id) => project(shapeInstallation(ctx, user.id, id, expand), select, expand.map((e) => e.property))),
      },
    };
  }),
  // userteamwork-post-installedapps.md: body { "teamsApp@odata.bind": ".../appCatalogs/teamsApps/{id}" }, 201 Created
  // with no body. The docs name no status for an app that is not in the catalog or already installed: the
  // conservative choices are 404 NotFound and 409 Conflict (a resource that already exists).
  route('POST', '/users/{id}/teamwork/installedApps', 'teamsInstalledApps', false, (ctx) => {
    const user = requireUser(ctx, ctx.params[0]!);
    const body = bodyObject(ctx);
    const bind = body['teamsApp@odata.bind'];
    if (typeof bind !== 'string' || !/\/appCatalogs\/teamsApps\/[^/]+$/.test(bind)) throw badRequest("The 'teamsApp@odata.bind' property is required (…/appCatalogs/teamsApps/{id}).", 'BadRequest');
    const appId = refId(bind);
    if (ctx.tenant.teamsApps.size > 0 && !ctx.tenant.teamsApps.get(appId)) throw new GraphHttpError(404, 'NotFound', `The Teams app '${appId}' is not in the app catalog.`);
    if (!ctx.tenant.installTeamsApp(user.id, appId)) throw new GraphHttpError(409, 'Conflict', `The Teams app '${appId}' is already installed for the user.`);
    return { status: 201 };
  }),
  // user-sendmail.md: 202 Accepted means accepted, not delivered. The page documents no error for a sender that is
  // not a mailbox: Exchange answers 404 MailboxNotEnabledForRESTAPI "REST API is not yet supported for this
  // mailbox." (Exchange troubleshooting KB 4462988, "rest-api-is-not-yet-supported-for-this-mailbox-error"), and
  // 404 ErrorInvalidUser for a user that does not exist. A recipient without a mailbox is not refused: the mail
  // is accepted and bounces later (a non-delivery report), which is what `undeliverable` records.
  // Exchange Online sending limits per sender mailbox (30 a minute, 10,000 recipients a day) and Outlook's
  // concurrency: src/sim/mail-limits.ts, which cites them.
  route('POST', '/users/{id}/sendMail', 'none', false, (ctx) => {
    const sender = requireMailUser(ctx, ctx.params[0]!);
    const body = bodyObject(ctx);
    const message = body.message as Record<string, unknown> | undefined;
    if (typeof message !== 'object' || message === null) throw badRequest("The 'message' parameter is required.", 'ErrorInvalidParameter');
    const recipients = Array.isArray(message.toRecipients) ? (message.toRecipients as Array<{ emailAddress?: { address?: unknown } }>) : [];
    const addresses = recipients.map((r) => r?.emailAddress?.address).filter((a): a is string => typeof a === 'string' && a.includes('@'));
    if (addresses.length === 0) throw badRequest('At least one recipient is required, but none were found.', 'ErrorInvalidRecipients');
    const allRecipients = ['toRecipients', 'ccRecipients', 'bccRecipients'].reduce((n, k) => n + (Array.isArray(message[k]) ? (message[k] as unknown[]).length : 0), 0);
    // The notified user is the first recipient found in the tenant (by mail or UPN); mail sent to outsiders counts for the sender.
    const found = addresses
      .map((a) => ({ address: a, user: ctx.tenant.findUserByUpn(a) ?? ctx.tenant.users.all().find((u) => u.mail?.toLowerCase() === a.toLowerCase()) }))
      .find((r) => r.user !== undefined);
    const recipient = found?.user;
    const props = checkExtendedProperties(message.singleValueExtendedProperties);
    const injected = recipient ? ctx.notificationFailure(recipient) : undefined;
    if (injected !== undefined) throw injectedFailure(injected, 'email', recipient!);
    sendingLimitsOf(ctx.tenant).admit(sender.id, allRecipients, ctx.now());
    const undeliverable = found && recipient && !isMailboxAddress(ctx, recipient, found.address)
      ? `550 5.1.10 RESOLVER.ADR.RecipientNotFound; ${found.address} is not the address of a mailbox`
      : undefined;
    ctx.notify({ userId: (recipient ?? sender).id, channel: 'email', receivedAt: new Date(ctx.now()).toISOString(), request: body, ...(undeliverable ? { undeliverable } : {}) });
    // Graph saves a copy in the sender's Sent Items unless saveToSentItems is false.
    if (body.saveToSentItems !== false && body.saveToSentItems !== 'false') {
      const at = new Date(ctx.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      ctx.tenant.saveSentItem(sender.id, {
        id: randomUUID(),
        createdDateTime: at,
        sentDateTime: at,
        subject: typeof message.subject === 'string' ? message.subject : null,
        toRecipients: recipients,
        ...(Array.isArray(message.internetMessageHeaders) ? { internetMessageHeaders: message.internetMessageHeaders as unknown[] } : {}),
        ...(props ? { singleValueExtendedProperties: props } : {}),
      });
    }
    return { status: 202 };
  }),
  // user-list-messages.md; a user without a mailbox answers as sendMail does (see above). The $filter on
  // singleValueExtendedProperties needs Mail.Read (singlevaluelegacyextendedproperty-get.md), not Mail.ReadBasic.All.
  route('GET', '/users/{id}/mailFolders/{id}/messages', 'none', true, (ctx) => {
    const user = requireMailUser(ctx, ctx.params[0]!);
    const folder = ctx.params[1]!;
    // Only the well-known Sent Items folder holds anything here; other folder names are unknown to the emulator.
    if (folder.toLowerCase() !== 'sentitems') throw new GraphHttpError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
    const filterText = q(ctx, '$filter');
    const match = filterText === null ? undefined : extendedPropertyFilter(filterText);
    const items = match ? ctx.tenant.sentItems(user.id).filter((m) => (m.singleValueExtendedProperties ?? []).some((p) => p.id.toLowerCase() === match.id.toLowerCase() && p.value === match.value)) : ctx.tenant.sentItems(user.id);
    const query = new URLSearchParams([...ctx.query].filter(([k]) => k.toLowerCase() !== '$filter'));
    return list({ ...ctx, query }, {
      context: `users('${user.id}')/mailFolders('${folder}')/messages`,
      items,
      resource: 'message',
      shape: (m, select) => {
        const { singleValueExtendedProperties: _hidden, ...rest } = m;
        return project({ '@odata.etag': `W/"${m.id.slice(0, 8)}"`, ...rest }, select, ['@odata.etag']);
      },
    });
  }),

  // reports
  route('GET', '/reports/authenticationMethods/userRegistrationDetails', 'reports', true, (ctx) => {
    const includeUnknown = /include-unknown-enum-members/i.test(ctx.header('prefer') ?? '');
    const res = list(ctx, {
      context: 'reports/authenticationMethods/userRegistrationDetails',
      items: ctx.tenant.registrationDetails.all(),
      filter: REGISTRATION_FILTER,
      resource: 'userRegistrationDetails',
      shape: (d, select) => project(registrationShape(d, includeUnknown), select),
    });
    if (includeUnknown) res.headers = { 'Preference-Applied': 'include-unknown-enum-members' };
    return res;
  }),
  route('GET', '/reports/authenticationMethods/userRegistrationDetails/{id}', 'reports', false, (ctx) => {
    const d = ctx.tenant.registrationDetails.get(ctx.params[0]!);
    if (!d) throw notFound(ctx.params[0]!);
    const includeUnknown = /include-unknown-enum-members/i.test(ctx.header('prefer') ?? '');
    return entity(ctx, 'reports/authenticationMethods/userRegistrationDetails', (select) => project(registrationShape(d, includeUnknown), select));
  }),

  // devices
  route('GET', '/devices', 'identity', true, (ctx) =>
    list(ctx, {
      context: 'devices',
      items: ctx.tenant.devices.all(),
      filter: DEVICE_FILTER,
      resource: 'Device',
      maxInValues: 15,
      expand: ['registeredOwners'],
      typeName: 'microsoft.graph.device',
      shape: (d, select, expand) => shapeDevice(ctx, d, select, expand),
    }),
  ),
  route('GET', '/devices/$count', 'identity', true, (ctx) => countText(ctx, ctx.tenant.devices.size)),
  route('GET', '/devices/{id}', 'identity', false, (ctx) => {
    const d = ctx.tenant.devices.get(ctx.params[0]!);
    if (!d) throw notFound(ctx.params[0]!);
    return entity(ctx, 'devices', (select, expand) => shapeDevice(ctx, d, select, expand), ['registeredOwners'], 'microsoft.graph.device');
  }),
  route('GET', '/devices/{id}/registeredOwners', 'identity', true, (ctx) => {
    const d = ctx.tenant.devices.get(ctx.params[0]!);
    if (!d) throw notFound(ctx.params[0]!);
    return objectsList(ctx, d.registeredOwners ?? []);
  }),

  // role management
  route('GET', '/roleManagement/directory/roleDefinitions', 'identity', true, (ctx) =>
    list(ctx, {
      context: 'roleManagement/directory/roleDefinitions',
      items: ctx.tenant.roleDefinitions.all(),
      filter: ROLE_DEFINITION_FILTER,
      resource: 'unifiedRoleDefinition',
      shape: (d, select) => project(d, select),
    }),
  ),
  route('GET', '/roleManagement/directory/roleDefinitions/{id}', 'identity', false, (ctx) => {
    const d = ctx.tenant.roleDefinitions.get(ctx.params[0]!) ?? ctx.tenant.roleDefinitions.all().find((r) => r.templateId === ctx.params[0]);
    if (!d) throw notFound(ctx.params[0]!);
    return entity(ctx, 'roleManagement/directory/roleDefinitions', (select) => project(d, select));
  }),
  route('GET', '/roleManagement/directory/roleAssignments', 'identity', true, (ctx) =>
    list(ctx, {
      context: 'roleManagement/directory/roleAssignments',
      items: ctx.tenant.roleAssignments.all(),
      filter: ROLE_ASSIGNMENT_FILTER,
      resource: 'unifiedRoleAssignment',
      expand: ['principal', 'roleDefinition'],
      typeName: 'microsoft.graph.unifiedRoleAssignment',
      shape: (a, select, expand) => shapeAssignment(ctx, a, select, expand),
    }),
  ),
  route('GET', '/roleManagement/directory/roleAssignments/{id}', 'identity', false, (ctx) => {
    const a = ctx.tenant.roleAssignments.get(ctx.params[0]!);
    if (!a) throw notFound(ctx.params[0]!);
    return entity(ctx, 'roleManagement/directory/roleAssignments', (select, expand) => shapeAssignment(ctx, a, select, expand), [
      'principal',
      'roleDefinition',
    ]);
  }),
  route('GET', '/roleManagement/directory/roleEligibilityScheduleInstances', 'identity', true, (ctx) =>
    list(ctx, {
      context: 'roleManagement/directory/roleEligibilityScheduleInstances',
      items: ctx.tenant.roleEligibilities.all(),
      filter: ROLE_ASSIGNMENT_FILTER,
      resource: 'unifiedRoleEligibilityScheduleInstance',
      expand: ['principal', 'roleDefinition'],
      typeName: 'microsoft.graph.unifiedRoleEligibilityScheduleInstance',
      shape: (a, select, expand) => shapeAssignment(ctx, a, select, expand),
    }),
  ),

  // groups
  route('GET', '/groups', 'identity', true, (ctx) =>
    list(ctx, {
      context: 'groups',
      items: ctx.tenant.groups.all(),
      filter: GROUP_FILTER,
      resource: 'Group',
      maxInValues: 15,
      typeName: 'microsoft.graph.group',
      shape: (g, select) => shapeGroup(g, select),
    }),
  ),
  route('GET', '/groups/$count', 'identity', true, (ctx) => countText(ctx, ctx.tenant.groups.size)),
  route('GET', '/groups/{id}', 'identity', false, (ctx) => {
    const g = requireGroup(ctx, ctx.params[0]!);
    return entity(ctx, 'groups', (select) => shapeGroup(g, select), [], 'microsoft.graph.group');
  }),
  // group-list-owners.md: users and service principals; the fixture's `owners` ids, service principals from `application`.
  route('GET', '/groups/{id}/owners', 'identity', true, (ctx) => {
    const group = requireGroup(ctx, ctx.params[0]!);
    const principals = principalsOf(ctx).principals;
    const owners = (group.owners ?? []).flatMap((id): Array<Record<string, unknown>> => {
      const sp = principals.find((p) => p.id === id);
      if (sp) return [{ '@odata.type': '#microsoft.graph.servicePrincipal', id: sp.id, appId: sp.appId, displayName: sp.displayName }];
      const obj = ctx.tenant.directoryObject(id);
      return obj ? [{ '@odata.type': `#microsoft.graph.${obj.type}`, ...obj.item }] : [];
    });
    return list(ctx, {
      context: 'directoryObjects',
      items: owners,
      resource: 'directoryObject',
      shape: (o, select) => {
        const { members: _m, owners: _o, registeredOwners: _r, ...rest } = o;
        return project(rest, select, ['@odata.type']);
      },
    });
  }),
  route('GET', '/groups/{id}/members', 'identity', true, (ctx) => membersList(ctx, requireGroup(ctx, ctx.params[0]!).id, false, undefined)),
  route('GET', '/groups/{id}/members/microsoft.graph.user', 'identity', true, (ctx) =>
    membersList(ctx, requireGroup(ctx, ctx.params[0]!).id, false, 'user'),
  ),
  route('GET', '/groups/{id}/members/microsoft.graph.group', 'identity', true, (ctx) =>
    membersList(ctx, requireGroup(ctx, ctx.params[0]!).id, false, 'group'),
  ),
  route('GET', '/groups/{id}/transitiveMembers', 'identity', true, (ctx) => membersList(ctx, requireGroup(ctx, ctx.params[0]!).id, true, undefined), {
    transitive: true,
  }),
  route(
    'GET',
    '/groups/{id}/transitiveMembers/microsoft.graph.user',
    'identity',
    true,
    (ctx) => membersList(ctx, requireGroup(ctx, ctx.params[0]!).id, true, 'user'),
    { transitive: true },
  ),
  route('POST', '/groups/{id}/members/$ref', 'identity', false, (ctx) => {
    const group = requireGroup(ctx, ctx.params[0]!);
    const body = bodyObject(ctx);
    if (!('@odata.id' in body)) throw badRequest("A reference must be given as { \"@odata.id\": \"https://graph.microsoft.com/v1.0/directoryObjects/{id}\" }.", 'Request_BadRequest');
    const id = refId(body['@odata.id']);
    if (!ctx.tenant.directoryObject(id)) throw notFound(id);
    if (ctx.tenant.isMember(group.id, id)) throw alreadyExists();
    ctx.tenant.addMember(group.id, id);
    return { status: 204 };
  }),
  route('PATCH', '/groups/{id}', 'identity', false, (ctx) => {
    const group = requireGroup(ctx, ctx.params[0]!);
    const body = bodyObject(ctx);
    const binds = body['members@odata.bind'];
    let ids: string[] = [];
    if (binds !== undefined) {
      if (!Array.isArray(binds)) throw badRequest("'members@odata.bind' must be an array of directoryObject URLs.", 'Request_BadRequest');
      if (binds.length > 20)
        throw new GraphHttpError(400, 'Request_BadRequest', `The number of added members (${binds.length}) exceeds the limit of 20 per request.`);
      ids = binds.map(refId);
      for (const id of ids) if (!ctx.tenant.directoryObject(id)) throw notFound(id);
      if (ids.some((id) => ctx.tenant.isMember(group.id, id)) || new Set(ids).size !== ids.length) throw alreadyExists();
    }
    const props: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) {
      if (k === 'members@odata.bind' || k === 'id') continue;
      if (k.includes('@odata.')) throw badRequest(`Property '${k}' is not supported by this emulator.`);
      props[k] = v;
    }
    for (const id of ids) ctx.tenant.addMember(group.id, id);
    if (Object.keys(props).length > 0) ctx.tenant.groups.upsert({ ...group, ...props, id: group.id } as GroupRecord);
    return { status: 204 };
  }),
  route('DELETE', '/groups/{id}/members/{id}/$ref', 'identity', false, (ctx) => {
    const group = requireGroup(ctx, ctx.params[0]!);
    const memberId = ctx.params[1]!;
    if (!ctx.tenant.removeMember(group.id, memberId)) throw notFound(memberId);
    return { status: 204 };
  }),

  // policies
  route('GET', '/policies/authenticationMethodsPolicy', 'identity', false, (ctx) =>
    entity(ctx, 'policies/authenticationMethodsPolicy', (select) => project(structuredClone(ctx.tenant.authenticationMethodsPolicy), select)),
  ),
  // temporaryaccesspassauthenticationmethodconfiguration-get.md (its own permissions, route-table.ts); same shape.
  route('GET', '/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass', 'identity', false, (ctx) =>
    methodConfiguration(ctx, 'TemporaryAccessPass'),
  ),
  route('GET', '/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}', 'identity', false, (ctx) => methodConfiguration(ctx, ctx.params[0]!)),
  route('GET', '/identity/conditionalAccess/policies', 'conditionalAccess', true, (ctx) =>
    list(ctx, {
      context: 'identity/conditionalAccess/policies',
      items: ctx.tenant.conditionalAccessPolicies.all(),
      resource: 'conditionalAccessPolicy',
      shape: (p, select) => project(p, select),
    }),
  ),
  route('GET', '/identity/conditionalAccess/policies/{id}', 'conditionalAccess', false, (ctx) => {
    const p = ctx.tenant.conditionalAccessPolicies.get(ctx.params[0]!);
    if (!p) throw notFound(ctx.params[0]!);
    return entity(ctx, 'identity/conditionalAccess/policies', (select) => project(p, select));
  }),

  // Sign-in logs (signin-list.md): newest first, $filter as resources/signin.md documents it, pages of up to 1,000.
  route('GET', '/auditLogs/signIns', 'reports', true, (ctx) => {
    const held = ctx.tenant.application?.appRoles;
    const opts = {
      beta: ctx.version === 'beta',
      caData: held === undefined || CA_DATA_PERMISSIONS.some((p) => held.includes(p)),
      unknownEnums: prefersUnknownEnums(ctx.header('prefer')),
    };
    return list(ctx, {
      context: 'auditLogs/signIns',
      items: ctx.tenant.signInsNewestFirst(),
      memoFilter: true,
      filter: SIGN_IN_FILTER,
      dateTimes: ['createdDateTime'],
      resource: 'signIn',
      shape: (s) => shapeSignIn(s, opts),
    });
  }),

  // service principals (read by `campaign doctor`), derived from the fixture's `application` (service-principals.ts).
  // serviceprincipal-list.md: "supports the OData Query Parameters"; the doctor filters on appId.
  route('GET', '/servicePrincipals', 'identity', true, (ctx) =>
    list(ctx, {
      context: 'servicePrincipals',
      items: principalsOf(ctx).principals,
      filter: SERVICE_PRINCIPAL_FILTER,
      resource: 'ServicePrincipal',
      maxInValues: 15,
      typeName: 'microsoft.graph.servicePrincipal',
      shape: (sp, select) => project(sp, select),
    }),
  ),
  // serviceprincipal-get.md
  route('GET', '/servicePrincipals/{id}', 'identity', false, (ctx) => {
    const sp = principalsOf(ctx).principals.find((p) => p.id === ctx.params[0]);
    if (!sp) throw notFound(ctx.params[0]!);
    return entity(ctx, 'servicePrincipals', (select) => project(sp, select), [], 'microsoft.graph.servicePrincipal');
  }),
  // serviceprincipal-list-approleassignments.md: the app role assignments granted to the service principal.
  route('GET', '/servicePrincipals/{id}/appRoleAssignments', 'identity', true, (ctx) => {
    const all = principalsOf(ctx);
    const sp = all.principals.find((p) => p.id === ctx.params[0]);
    if (!sp) throw notFound(ctx.params[0]!);
    return list(ctx, {
      context: `servicePrincipals('${sp.id}')/appRoleAssignments`,
      items: all.assignments.filter((a) => a.principalId === sp.id),
      resource: 'appRoleAssignment',
      shape: (a, select) => project(a, select),
    });
  }),
  // appcatalogs-list-teamsapps.md: `$filter`, `$select` and `$expand` (appDefinitions); the org catalog only
  // (distributionMethod `organization`). A manifest's activity types are not part of teamsApp or
  // teamsAppDefinition, so the fixture's `activityTypes` are not served.
  route('GET', '/appCatalogs/teamsApps', 'none', true, (ctx) =>
    list(ctx, {
      context: 'appCatalogs/teamsApps',
      items: ctx.tenant.teamsApps.all().map(catalogApp),
      filter: TEAMS_APP_FILTER,
      resource: 'teamsApp',
      expand: ['appDefinitions'],
      typeName: 'microsoft.graph.teamsApp',
      shape: (a, select, expand) => {
        const { appDefinitions, ...rest } = a;
        const out = project(rest, select);
        const defs = expand.find((e) => e.property === 'appDefinitions');
        if (defs) out.appDefinitions = appDefinitions.map((d) => project(d, defs.select));
        return out;
      },
    }),
  ),
];

/** A message's singleValueExtendedProperties as sendMail accepts them: [{ id: "String {guid} Name X", value }]. */
function checkExtendedProperties(v: unknown): Array<{ id: string; value: string }> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw badRequest("Property 'singleValueExtendedProperties' must be a collection.", 'ErrorInvalidParameter');
  return v.map((p: unknown) => {
    const e = p as { id?: unknown; value?: unknown };
    if (typeof e?.id !== 'string' || !/^(String|Integer|Boolean|SystemTime|Binary|Long|Double)\s+(\{[0-9a-f-]{36}\}\s+(Name\s+\S+|Id\s+0x[0-9a-f]+)|0x[0-9a-f]+)$/i.test(e.id.trim()))
      throw badRequest(`The extended property id '${String(e?.id)}' is not valid; use for example "String {guid} Name MyProperty".`, 'ErrorInvalidProperty');
    if (typeof e.value !== 'string') throw badRequest('An extended property value must be a string.', 'ErrorInvalidProperty');
    return { id: e.id.trim(), value: e.value };
  });
}

/**
 * The one $filter form on messages that Graph supports for extended properties and the product sends:
 * singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…') (any lambda variable, either order).
 */
function extendedPropertyFilter(text: string): { id: string; value: string } {
  const lit = "'((?:[^']|'')*)'";
  const m = new RegExp(`^\\s*singleValueExtendedProperties/any\\(\\s*(\\w+)\\s*:\\s*(.+)\\)\\s*$`, 'i').exec(text);
  if (m) {
    const v = m[1]!;
    const clause = (name: string) => new RegExp(`^${v}/${name}\\s+eq\\s+${lit}$`, 'i');
    const parts = m[2]!.split(/\s+and\s+/i).map((p) => p.trim());
    if (parts.length === 2) {
      let id: string | undefined;
      let value: string | undefined;
      for (const p of parts) {
        const i = clause('id').exec(p);
        const val = clause('value').exec(p);
        if (i) id = i[1]!.replace(/''/g, "'");
        else if (val) value = val[1]!.replace(/''/g, "'");
      }
      if (id !== undefined && value !== undefined) return { id, value };
    }
  }
  throw new GraphHttpError(400, 'ErrorInvalidUrlQueryFilter', `The query filter '${text}' is not supported by this emulator; it answers singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…').`);
}

function registrationShape(d: FixtureRegistrationDetails, includeUnknown: boolean): object {
  if (includeUnknown || !d.methodsRegistered) return d;
  const methods: string[] = [];
  for (const m of d.methodsRegistered) {
    const v = EVOLVABLE_METHODS.has(m) ? 'unknownFutureValue' : m;
    if (!methods.includes(v)) methods.push(v);
  }
  return { ...d, methodsRegistered: methods };
}

export interface RouteMatch {
  route: Route;
  params: string[];
}

/** Matches a decoded path (after the version) against the route table; literal segments are case-insensitive. */
export function matchRoute(method: string, segments: string[]): { match?: RouteMatch; methodNotAllowed: boolean; templateKey?: string } {
  let methodNotAllowed = false;
  let templateKey: string | undefined;
  for (const r of ROUTES) {
    const parts = r.template.split('/').filter(Boolean);
    if (parts.length !== segments.length) continue;
    const params: string[] = [];
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const part = parts[i]!;
      if (part === '{id}') {
        if (segments[i]!.startsWith('$') || segments[i] === '') ok = false;
        else params.push(segments[i]!);
      } else if (part.toLowerCase() !== segments[i]!.toLowerCase()) ok = false;
    }
    if (!ok) continue;
    if (r.method !== method) {
      methodNotAllowed = true;
      templateKey ??= r.template;
      continue;
    }
    return { match: { route: r, params }, methodNotAllowed: false };
  }
  return { methodNotAllowed, templateKey };
}
