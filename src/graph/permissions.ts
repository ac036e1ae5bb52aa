// The Microsoft Graph application permissions of every request the job sends, as each API's page lists them
// (api-reference/v1.0/api/<page>.md, "Permissions", Application row, least privileged first; any one suffices).
// A 403 names them, so an operator knows which permission to grant. test/graph/permissions.test.ts holds this
// list against the emulator's route table (src/sim/route-table.ts), which the job may not import.

export interface RequestPermissions {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path after the version, `{id}` for each id segment. */
  template: string;
  permissions: readonly string[];
  /** api-reference/v1.0/api/<page>.md */
  docs: string;
}

const api = (page: string) => `api-reference/v1.0/api/${page}.md`;
const MEMBERS_READ = ['GroupMember.Read.All', 'Group.Read.All', 'GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.Read.All'] as const;
const MEMBERS_WRITE = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'] as const;

export const JOB_REQUEST_PERMISSIONS: readonly RequestPermissions[] = [
  { method: 'GET', template: '/users', permissions: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'], docs: api('user-list') },
  { method: 'GET', template: '/groups', permissions: ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'], docs: api('group-list') },
  { method: 'GET', template: '/groups/{id}/members', permissions: MEMBERS_READ, docs: api('group-list-members') },
  { method: 'GET', template: '/groups/{id}/transitiveMembers', permissions: MEMBERS_READ, docs: api('group-list-transitivemembers') },
  { method: 'GET', template: '/devices', permissions: ['Device.Read.All', 'Device.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'], docs: api('device-list') },
  { method: 'GET', template: '/devices/{id}/registeredOwners', permissions: ['Device.Read.All', 'Device.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'], docs: api('device-list-registeredowners') },
  {
    method: 'GET', template: '/roleManagement/directory/roleAssignments',
    permissions: ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'Directory.Read.All', 'RoleManagement.ReadWrite.Directory', 'Directory.ReadWrite.All'], docs: api('rbacapplication-list-roleassignments'),
  },
  {
    method: 'GET', template: '/roleManagement/directory/roleEligibilityScheduleInstances',
    permissions: ['RoleEligibilitySchedule.Read.Directory', 'RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleEligibilitySchedule.ReadWrite.Directory', 'RoleManagement.ReadWrite.Directory'],
    docs: api('rbacapplication-list-roleeligibilityscheduleinstances'),
  },
  { method: 'GET', template: '/reports/authenticationMethods/userRegistrationDetails', permissions: ['AuditLog.Read.All'], docs: api('authenticationmethodsroot-list-userregistrationdetails') },
  { method: 'GET', template: '/users/{id}/authentication/fido2Methods', permissions: ['UserAuthenticationMethod.Read.All', 'UserAuthenticationMethod.ReadWrite.All'], docs: api('fido2authenticationmethod-list') },
  // Onboarding passes (campaigns with spec.onboarding.temporaryAccessPass enabled, deliverTo manager).
  { method: 'GET', template: '/users/{id}/manager', permissions: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'], docs: api('user-list-manager') },
  { method: 'GET', template: '/users/{id}/authentication/temporaryAccessPassMethods', permissions: ['UserAuthenticationMethod.Read.All', 'UserAuthenticationMethod.ReadWrite.All'], docs: api('authentication-list-temporaryaccesspassmethods') },
  { method: 'POST', template: '/users/{id}/authentication/temporaryAccessPassMethods', permissions: ['UserAuthenticationMethod.ReadWrite.All'], docs: api('authentication-post-temporaryaccesspassmethods') },
  { method: 'DELETE', template: '/users/{id}/authentication/temporaryAccessPassMethods/{id}', permissions: ['UserAuthenticationMethod.ReadWrite.All'], docs: api('temporaryaccesspassauthenticationmethod-delete') },
  {
    method: 'GET', template: '/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass',
    permissions: ['Policy.Read.AuthenticationMethod', 'Policy.ReadWrite.AuthenticationMethod', 'Policy.Read.All'], docs: api('temporaryaccesspassauthenticationmethodconfiguration-get'),
  },
  {
    method: 'GET', template: '/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}',
    permissions: ['Policy.Read.AuthenticationMethod', 'Policy.ReadWrite.AuthenticationMethod', 'Policy.Read.All'], docs: api('fido2authenticationmethodconfiguration-get'),
  },
  { method: 'POST', template: '/groups/{id}/members/$ref', permissions: MEMBERS_WRITE, docs: api('group-post-members') },
  { method: 'PATCH', template: '/groups/{id}', permissions: MEMBERS_WRITE, docs: api('group-post-members') },
  { method: 'DELETE', template: '/groups/{id}/members/{id}/$ref', permissions: MEMBERS_WRITE, docs: api('group-delete-members') },
  { method: 'POST', template: '/users/{id}/sendMail', permissions: ['Mail.Send'], docs: api('user-sendmail') },
  { method: 'POST', template: '/users/{id}/teamwork/sendActivityNotification', permissions: ['TeamsActivity.Send.User', 'TeamsActivity.Send'], docs: api('userteamwork-sendactivitynotification') },
  { method: 'POST', template: '/users/{id}/teamwork/installedApps', permissions: ['TeamsAppInstallation.ReadWriteSelfForUser.All', 'TeamsAppInstallation.ReadWriteForUser.All'], docs: api('userteamwork-post-installedapps') },
  { method: 'GET', template: '/users/{id}/mailFolders/{id}/messages', permissions: ['Mail.Read', 'Mail.ReadWrite'], docs: api('mailfolder-list-messages') },
];

/** The path of a request URL or batch url, after the version, without its query. */
function pathOf(url: string): string[] {
  let path = url;
  try {
    if (/^https?:\/\//i.test(url)) path = new URL(url).pathname;
  } catch {
    // not a URL: a relative path as given
  }
  path = path.split('?')[0]!.replace(/^\/*(v1\.0|beta)(?=\/)/i, '');
  return path.split('/').filter(Boolean);
}

/** What the page of the request (method and URL, relative or absolute) says it needs; undefined when the job does not send it. */
export function requestPermissions(method: string, url: string): RequestPermissions | undefined {
  const segments = pathOf(url);
  return JOB_REQUEST_PERMISSIONS.find((r) => {
    if (r.method !== method.toUpperCase()) return false;
    const parts = r.template.split('/').filter(Boolean);
    return parts.length === segments.length && parts.every((p, i) => (p === '{id}' ? !segments[i]!.startsWith('$') : p.toLowerCase() === segments[i]!.toLowerCase()));
  });
}

/** The sentence a 403 carries: which permission to grant, and where Microsoft documents it. */
export function missingPermissionHint(method: string, url: string): string | undefined {
  const r = requestPermissions(method, url);
  if (!r) return undefined;
  const [least, ...higher] = r.permissions;
  return `grant the Microsoft Graph application permission ${least}${higher.length ? ` (or one of ${higher.join(', ')})` : ''} to the identity; ${r.method} ${r.template} needs it (${r.docs}).`;
}
