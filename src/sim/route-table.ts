// What Microsoft documents for every route the emulator serves, one row each, with the page it comes from.
// The server enforces it: a query option the page does not document is a 400, a missing application
// permission (with the fixture's `application`) a 403, and the resource-unit cost feeds the throttle.
//
// Sources (repository microsoftgraph/microsoft-graph-docs-contrib):
// - permissions and query options: each row's `docs` page, sections "Permissions" and "Optional query parameters";
//   `permissions` lists the Application permissions of that table, least privileged first, any one of them suffices,
//   unless `requires: 'all'` (a page that asks for "X and Y", such as signin-list.md).
// - costs: concepts/throttling-limits.md, "Identity and access service limits": GET `users` 2, GET
//   `groups/{id}/members` 3, GET `groups/{id}/transitiveMembers` 5, any other identity path 1 (writes: 1 and
//   1 write); `$select` −1, `$expand` +1, `$top` below 20 −1, never below 1.
// - classes: the same page; identity and access covers user, group, device, directory objects and policies,
//   "Identity and access reports" (5 requests / 10 s) the authentication methods reports, "Identity protection
//   and conditional access" (1 request / s, no Retry-After) conditionalAccessPolicy.
// - page sizes: the list pages and concepts/paging.md (directory collections: 100 by default, `$top` up to 999).
// - `$expand` on directory objects: concepts/query-parameters.md, "With Microsoft Entra resources that derive
//   from directoryObject … `$expand` typically returns a maximum of 20 items for the expanded relationship and
//   has no @odata.nextLink."
// - errors: a query the API does not support is 400 `Request_UnsupportedQuery` (concepts/aad-advanced-queries.md
//   shows the body); a directory call without the permission is 403 `Authorization_RequestDenied`
//   "Insufficient privileges to complete the operation." (concepts/errors.md lists 403 as "Forbidden: access is
//   denied"; Exchange answers `ErrorAccessDenied`, Teams `Forbidden`).
import type { ThrottleClass } from './throttle';

export type DeniedStyle = 'directory' | 'mail' | 'teams';

export interface RouteRow {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** As in routes.ts ROUTES, `{id}` for each capture. */
  template: string;
  /** Application permissions by Graph name, least privileged first; any one suffices (see `requires`). Empty: none needed. */
  permissions: readonly string[];
  /** 'all': the page asks for every one of `permissions` together (signin-list.md: "AuditLog.Read.All and Directory.Read.All"). */
  requires?: 'any' | 'all';
  /** The OData system query options the page documents, lower-case with `$`. */
  query: readonly string[];
  /** Page size of a collection: `default` without `$top`, `$top` up to `max` (when `$top` is documented). */
  pageSize?: { default: number; max?: number };
  /** Base resource units of an identity-and-access request (1 for everything else). */
  cost: number;
  throttle: ThrottleClass;
  /** How a missing permission is refused. */
  denied: DeniedStyle;
  /** The page the row comes from, under microsoftgraph/microsoft-graph-docs-contrib. */
  docs: string;
  /** The beta page, when /beta answers with more than v1.0 (the emulator shows beta-only properties on /beta only). */
  betaDocs?: string;
  /** Items an `$expand`ed directory relationship returns at most (no nextLink). */
  expandMax?: number;
}

const USER_READ = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'] as const;
const DEVICE_READ = ['Device.Read.All', 'Device.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'] as const;
const GROUP_READ = ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'] as const;
const MEMBERS_READ = ['GroupMember.Read.All', 'Group.Read.All', 'GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.Read.All'] as const;
const MEMBERS_WRITE = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'] as const;
const ROLE_READ = ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'Directory.Read.All', 'RoleManagement.ReadWrite.Directory', 'Directory.ReadWrite.All'] as const;
const ELIGIBILITY_READ = [
  'RoleEligibilitySchedule.Read.Directory',
  'RoleManagement.Read.Directory',
  'RoleManagement.Read.All',
  'RoleEligibilitySchedule.ReadWrite.Directory',
  'RoleManagement.ReadWrite.Directory',
] as const;
const AUTH_METHODS_READ = ['UserAuthenticationMethod.Read.All', 'UserAuthenticationMethod.ReadWrite.All'] as const;
const METHODS_POLICY_READ = ['Policy.Read.AuthenticationMethod', 'Policy.ReadWrite.AuthenticationMethod', 'Policy.Read.All'] as const;
/**
 * What lets an app see appliedConditionalAccessPolicies in sign-in logs (api-reference/includes/signins-roles-for-ca-data.md:
 * "at least one of"); without one the property is omitted from the response.
 */
export const CA_DATA_PERMISSIONS = ['Policy.Read.All', 'Policy.ReadWrite.ConditionalAccess', 'Policy.Read.ConditionalAccess'] as const;
const DIRECTORY_LIST = ['$count', '$expand', '$filter', '$orderby', '$search', '$select', '$top'] as const;
const DIRECTORY_PAGE = { default: 100, max: 999 } as const;
const api = (page: string) => `api-reference/v1.0/api/${page}.md`;

export const ROUTE_TABLE: readonly RouteRow[] = [
  // JSON batching: no permission of its own, each inner request is checked as if sent alone.
  { method: 'POST', template: '/$batch', permissions: [], query: [], cost: 1, throttle: 'none', denied: 'directory', docs: 'concepts/json-batching.md' },

  // users
  { method: 'GET', template: '/users', permissions: USER_READ, query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 2, throttle: 'identity', denied: 'directory', docs: api('user-list') },
  { method: 'GET', template: '/users/$count', permissions: USER_READ, query: ['$filter', '$search'], cost: 1, throttle: 'identity', denied: 'directory', docs: api('user-list') },
  { method: 'GET', template: '/users/{id}', permissions: USER_READ, query: ['$expand', '$select'], cost: 1, throttle: 'identity', denied: 'directory', docs: api('user-get') },
  // "This method does not support optional query parameters to customize the response." Identity class: the reports
  // limit's list names authenticationMethod, but its source note says it means the authenticationMethodsRoot reports.
  { method: 'GET', template: '/users/{id}/authentication/fido2Methods', permissions: AUTH_METHODS_READ, query: [], cost: 1, throttle: 'identity', denied: 'directory', docs: api('fido2authenticationmethod-list') },
  { method: 'GET', template: '/users/{id}/authentication/fido2Methods/{id}', permissions: AUTH_METHODS_READ, query: [], cost: 1, throttle: 'identity', denied: 'directory', docs: api('fido2authenticationmethod-get') },
  // user-list-manager.md: "supports the `$select` and `$expand` OData query parameters".
  { method: 'GET', template: '/users/{id}/manager', permissions: USER_READ, query: ['$expand', '$select'], cost: 1, throttle: 'identity', denied: 'directory', docs: api('user-list-manager') },
  // Temporary Access Passes, "Permissions acting on other users", Application row of each page; list: "This method does
  // not support optional query parameters"; get likewise; create and delete need the write permission only.
  { method: 'GET', template: '/users/{id}/authentication/temporaryAccessPassMethods', permissions: AUTH_METHODS_READ, query: [], cost: 1, throttle: 'identity', denied: 'directory', docs: api('authentication-list-temporaryaccesspassmethods') },
  { method: 'POST', template: '/users/{id}/authentication/temporaryAccessPassMethods', permissions: ['UserAuthenticationMethod.ReadWrite.All'], query: [], cost: 1, throttle: 'identity', denied: 'directory', docs: api('authentication-post-temporaryaccesspassmethods') },
  { method: 'GET', template: '/users/{id}/authentication/temporaryAccessPassMethods/{id}', permissions: AUTH_METHODS_READ, query: [], cost: 1, throttle: 'identity', denied: 'directory', docs: api('temporaryaccesspassauthenticationmethod-get') },
  { method: 'DELETE', template: '/users/{id}/authentication/temporaryAccessPassMethods/{id}', permissions: ['UserAuthenticationMethod.ReadWrite.All'], query: [], cost: 1, throttle: 'identity', denied: 'directory', docs: api('temporaryaccesspassauthenticationmethod-delete') },
  { method: 'POST', template: '/users/{id}/teamwork/sendActivityNotification', permissions: ['TeamsActivity.Send.User', 'TeamsActivity.Send'], query: [], cost: 1, throttle: 'teamsActivity', denied: 'teams', docs: api('userteamwork-sendactivitynotification') },
  // Teams limits (concepts/throttling-limits.md, "Microsoft Teams service limits"): installedApps 30 requests a second.
  {
    method: 'GET', template: '/users/{id}/teamwork/installedApps',
    permissions: ['TeamsAppInstallation.ReadForUser.All', 'TeamsAppInstallation.ReadWriteSelfForUser.All', 'TeamsAppInstallation.ReadWriteForUser.All'],
    query: ['$expand', '$filter', '$select'], cost: 1, throttle: 'teamsInstalledApps', denied: 'teams', docs: api('userteamwork-list-installedapps'),
  },
  {
    method: 'POST', template: '/users/{id}/teamwork/installedApps',
    permissions: ['TeamsAppInstallation.ReadWriteSelfForUser.All', 'TeamsAppInstallation.ReadWriteForUser.All'],
    query: [], cost: 1, throttle: 'teamsInstalledApps', denied: 'teams', docs: api('userteamwork-post-installedapps'),
  },
  { method: 'POST', template: '/users/{id}/sendMail', permissions: ['Mail.Send'], query: [], cost: 1, throttle: 'none', denied: 'mail', docs: api('user-sendmail') },
  // "This method supports OData query parameters to help customize the response." The job filters on an extended
  // property, which needs Mail.Read (singlevaluelegacyextendedproperty-get.md; Mail.ReadBasic.All omits extended properties).
  {
    method: 'GET', template: '/users/{id}/mailFolders/{id}/messages', permissions: ['Mail.Read', 'Mail.ReadWrite'],
    query: ['$count', '$expand', '$filter', '$orderby', '$search', '$select', '$skip', '$top'], pageSize: { default: 10, max: 1000 }, cost: 1, throttle: 'none', denied: 'mail', docs: api('mailfolder-list-messages'),
  },

  // reports: "This method supports only the `$filter` and `$orderBy` OData query parameters".
  {
    method: 'GET', template: '/reports/authenticationMethods/userRegistrationDetails', permissions: ['AuditLog.Read.All'], query: ['$filter', '$orderby'], pageSize: { default: 100 },
    cost: 1, throttle: 'reports', denied: 'directory', docs: api('authenticationmethodsroot-list-userregistrationdetails'),
  },
  // Sign-in logs (signin-list.md): "AuditLog.Read.All and Directory.Read.All" (a documented known issue: both are
  // required); "supports the `$top`, `$skiptoken`, and `$filter` OData query parameters"; "The maximum and default page
  // size is 1,000 objects"; identity and access reports throttling (signIn is in that list). beta adds
  // authenticationDetails (beta resources/authenticationdetail.md; v1.0 has no authenticationDetail).
  {
    method: 'GET', template: '/auditLogs/signIns', permissions: ['AuditLog.Read.All', 'Directory.Read.All'], requires: 'all', query: ['$filter', '$skiptoken', '$top'],
    pageSize: { default: 1000, max: 1000 }, cost: 1, throttle: 'reports', denied: 'directory', docs: api('signin-list'), betaDocs: 'api-reference/beta/api/signin-list.md',
  },
  { method: 'GET', template: '/reports/authenticationMethods/userRegistrationDetails/{id}', permissions: ['AuditLog.Read.All'], query: [], cost: 1, throttle: 'reports', denied: 'directory', docs: api('userregistrationdetails-get') },

  // devices
  { method: 'GET', template: '/devices', permissions: DEVICE_READ, query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 1, throttle: 'identity', denied: 'directory', docs: api('device-list'), expandMax: 20 },
  { method: 'GET', template: '/devices/$count', permissions: DEVICE_READ, query: ['$filter', '$search'], cost: 1, throttle: 'identity', denied: 'directory', docs: api('device-list') },
  { method: 'GET', template: '/devices/{id}', permissions: DEVICE_READ, query: ['$expand', '$select'], cost: 1, throttle: 'identity', denied: 'directory', docs: api('device-get'), expandMax: 20 },
  { method: 'GET', template: '/devices/{id}/registeredOwners', permissions: DEVICE_READ, query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 1, throttle: 'identity', denied: 'directory', docs: api('device-list-registeredowners') },

  // role management
  { method: 'GET', template: '/roleManagement/directory/roleDefinitions', permissions: ROLE_READ, query: ['$filter', '$select'], pageSize: { default: 100 }, cost: 1, throttle: 'identity', denied: 'directory', docs: api('rbacapplication-list-roledefinitions') },
  { method: 'GET', template: '/roleManagement/directory/roleDefinitions/{id}', permissions: ROLE_READ, query: ['$select'], cost: 1, throttle: 'identity', denied: 'directory', docs: api('unifiedroledefinition-get') },
  // "This method supports the `$filter`, `$expand`, and `$select` OData query parameters" (no `$top`).
  { method: 'GET', template: '/roleManagement/directory/roleAssignments', permissions: ROLE_READ, query: ['$expand', '$filter', '$select'], pageSize: { default: 100 }, cost: 1, throttle: 'identity', denied: 'directory', docs: api('rbacapplication-list-roleassignments') },
  { method: 'GET', template: '/roleManagement/directory/roleAssignments/{id}', permissions: ROLE_READ, query: ['$expand', '$select'], cost: 1, throttle: 'identity', denied: 'directory', docs: api('unifiedroleassignment-get') },
  // "This method supports the `$select`, `$filter`, and `$expand` OData query parameters" (no `$top`).
  {
    method: 'GET', template: '/roleManagement/directory/roleEligibilityScheduleInstances', permissions: ELIGIBILITY_READ, query: ['$expand', '$filter', '$select'], pageSize: { default: 100 },
    cost: 1, throttle: 'identity', denied: 'directory', docs: api('rbacapplication-list-roleeligibilityscheduleinstances'),
  },

  // groups
  { method: 'GET', template: '/groups', permissions: GROUP_READ, query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 1, throttle: 'identity', denied: 'directory', docs: api('group-list') },
  { method: 'GET', template: '/groups/$count', permissions: GROUP_READ, query: ['$filter', '$search'], cost: 1, throttle: 'identity', denied: 'directory', docs: api('group-list') },
  { method: 'GET', template: '/groups/{id}', permissions: GROUP_READ, query: ['$expand', '$select'], cost: 1, throttle: 'identity', denied: 'directory', docs: api('group-get') },
  // "This method supports the OData Query Parameters"; owners are users or service principals.
  { method: 'GET', template: '/groups/{id}/owners', permissions: MEMBERS_READ, query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 1, throttle: 'identity', denied: 'directory', docs: api('group-list-owners') },
  { method: 'GET', template: '/groups/{id}/members', permissions: MEMBERS_READ, query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 3, throttle: 'identity', denied: 'directory', docs: api('group-list-members') },
  { method: 'GET', template: '/groups/{id}/members/microsoft.graph.user', permissions: MEMBERS_READ, query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 3, throttle: 'identity', denied: 'directory', docs: api('group-list-members') },
  { method: 'GET', template: '/groups/{id}/members/microsoft.graph.group', permissions: MEMBERS_READ, query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 3, throttle: 'identity', denied: 'directory', docs: api('group-list-members') },
  { method: 'GET', template: '/groups/{id}/transitiveMembers', permissions: MEMBERS_READ, query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 5, throttle: 'identity', denied: 'directory', docs: api('group-list-transitivemembers') },
  {
    method: 'GET', template: '/groups/{id}/transitiveMembers/microsoft.graph.user', permissions: MEMBERS_READ, query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE,
    cost: 5, throttle: 'identity', denied: 'directory', docs: api('group-list-transitivemembers'),
  },
  { method: 'POST', template: '/groups/{id}/members/$ref', permissions: MEMBERS_WRITE, query: [], cost: 1, throttle: 'identity', denied: 'directory', docs: api('group-post-members') },
  // group-post-members.md, "Add multiple members to a group in a single request": PATCH with members@odata.bind (≤ 20).
  { method: 'PATCH', template: '/groups/{id}', permissions: MEMBERS_WRITE, query: [], cost: 1, throttle: 'identity', denied: 'directory', docs: api('group-post-members') },
  { method: 'DELETE', template: '/groups/{id}/members/{id}/$ref', permissions: MEMBERS_WRITE, query: [], cost: 1, throttle: 'identity', denied: 'directory', docs: api('group-delete-members') },

  // policies: "This method does not support any optional query parameters."
  { method: 'GET', template: '/policies/authenticationMethodsPolicy', permissions: METHODS_POLICY_READ, query: [], cost: 1, throttle: 'identity', denied: 'directory', docs: api('authenticationmethodspolicy-get') },
  // temporaryaccesspassauthenticationmethodconfiguration-get.md lists Policy.Read.All and Policy.ReadWrite.AuthenticationMethod
  // (Application); Policy.Read.AuthenticationMethod is the least privileged read of every authentication method
  // configuration (fido2authenticationmethodconfiguration-get.md, below), so it is accepted here as well.
  {
    method: 'GET', template: '/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass', permissions: METHODS_POLICY_READ, query: [],
    cost: 1, throttle: 'identity', denied: 'directory', docs: api('temporaryaccesspassauthenticationmethodconfiguration-get'),
  },
  {
    method: 'GET', template: '/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}', permissions: METHODS_POLICY_READ, query: [],
    cost: 1, throttle: 'identity', denied: 'directory', docs: api('fido2authenticationmethodconfiguration-get'),
    // beta adds passkeyProfiles (resources/passkeyprofile.md) and includeTargets[].allowedPasskeyProfiles.
    betaDocs: 'api-reference/beta/api/fido2authenticationmethodconfiguration-get.md',
  },
  {
    method: 'GET', template: '/identity/conditionalAccess/policies', permissions: ['Policy.Read.All', 'Policy.ReadWrite.ConditionalAccess'],
    query: ['$count', '$filter', '$orderby', '$select', '$skip', '$top'], pageSize: { default: 100, max: 999 }, cost: 1, throttle: 'conditionalAccess', denied: 'directory', docs: api('conditionalaccessroot-list-policies'),
  },
  { method: 'GET', template: '/identity/conditionalAccess/policies/{id}', permissions: ['Policy.Read.All', 'Policy.ReadWrite.ConditionalAccess'], query: ['$select'], cost: 1, throttle: 'conditionalAccess', denied: 'directory', docs: api('conditionalaccesspolicy-get') },

  // service principals and their app role assignments (campaign doctor). serviceprincipal-list.md and
  // serviceprincipal-list-approleassignments.md: "supports the OData query parameters"; Application.Read.All least.
  { method: 'GET', template: '/servicePrincipals', permissions: ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All'], query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 1, throttle: 'identity', denied: 'directory', docs: api('serviceprincipal-list') },
  { method: 'GET', template: '/servicePrincipals/{id}', permissions: ['Application.Read.All', 'Application.ReadWrite.OwnedBy', 'Application.ReadWrite.All', 'Directory.Read.All'], query: ['$expand', '$select'], cost: 1, throttle: 'identity', denied: 'directory', docs: api('serviceprincipal-get') },
  {
    method: 'GET', template: '/servicePrincipals/{id}/appRoleAssignments', permissions: ['Application.Read.All', 'Directory.Read.All', 'Application.ReadWrite.All', 'Directory.ReadWrite.All'],
    query: DIRECTORY_LIST, pageSize: DIRECTORY_PAGE, cost: 1, throttle: 'identity', denied: 'directory', docs: api('serviceprincipal-list-approleassignments'),
  },
  // Teams app catalog: "supports the `$filter`, `$select`, and `$expand` OData query parameters".
  { method: 'GET', template: '/appCatalogs/teamsApps', permissions: ['AppCatalog.Read.All', 'AppCatalog.ReadWrite.All'], query: ['$expand', '$filter', '$select'], pageSize: { default: 100 }, cost: 1, throttle: 'none', denied: 'teams', docs: api('appcatalogs-list-teamsapps') },
];

const byKey = new Map(ROUTE_TABLE.map((r) => [`${r.method} ${r.template}`, r]));

/** The row of a route of routes.ts (by method and template). */
export function routeRow(method: string, template: string): RouteRow | undefined {
  return byKey.get(`${method} ${template}`);
}

/** Every application permission some route accepts: the names the fixture's `application.appRoles` may use. */
export const KNOWN_APP_ROLES: ReadonlySet<string> = new Set([...ROUTE_TABLE.flatMap((r) => r.permissions), ...CA_DATA_PERMISSIONS]);

/** Whether the held permissions satisfy the row: any one of them, or every one with `requires: 'all'`. */
export function permitted(row: RouteRow, held: readonly string[]): boolean {
  if (row.permissions.length === 0) return true;
  return row.requires === 'all' ? row.permissions.every((p) => held.includes(p)) : row.permissions.some((p) => held.includes(p));
}

/** Graph's refusal of a request whose token lacks the row's permission (or one of them, with `requires: 'all'`). */
export function deniedError(row: RouteRow): { status: 403; code: string; message: string } {
  switch (row.denied) {
    case 'mail':
      return { status: 403, code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' };
    case 'teams':
      return { status: 403, code: 'Forbidden', message: `Missing role permissions on the request. API requires one of '${row.permissions.join(', ')}'.` };
    case 'directory':
      return { status: 403, code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' };
  }
}
