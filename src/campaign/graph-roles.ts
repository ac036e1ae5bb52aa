// Microsoft Graph application permissions of the scheduler identity: the allowed list, why each is
// needed, and which ones the deployed campaigns actually require. Pure: the stack, the policy pack and
// `campaign doctor` share it (the stack declares the grants, doctor reads what the tenant holds).
import { isGraduated } from './ca-policy';
import type { Campaign } from './types';

/** Graph app role ids (the "Application" permission ids, identical in every tenant). */
export const GRAPH_APP_ROLE_IDS = {
  'User.Read.All': 'df021288-bdef-4463-88db-98f22de89214',
  'GroupMember.Read.All': '98830695-27a2-44f7-8c18-0c3ebc9698f6',
  'AuditLog.Read.All': 'b0afded3-3588-46d8-8b3d-9842eff778da',
  'UserAuthenticationMethod.Read.All': '38d9df27-64da-44fd-b7c5-a6fbac20248f',
  'Device.Read.All': '7438b122-aefc-4978-80ed-43db9fcc7715',
  'RoleManagement.Read.Directory': '483bed4a-2ad3-4361-a73b-c83ccdbdc53c',
  'RoleEligibilitySchedule.Read.Directory': 'ff278e11-4a33-4d0c-83d2-d01dc58929a5',
  // concepts/permissions-reference.md, Policy.Read.AuthenticationMethod (application): "Read authentication method policies".
  'Policy.Read.AuthenticationMethod': '8e3bc81b-d2f3-4b7b-838c-32c88218d2f0',
  'GroupMember.ReadWrite.All': 'dbaae8cf-10b5-4b86-a4a1-f871c94c6695',
  'Mail.Send': 'b633e1c5-b582-4048-a93e-9f11b44c7e96',
  // concepts/permissions-reference.md, Mail.Read (application): "Read mail in all mailboxes".
  'Mail.Read': '810c84a8-4a9e-49e6-bf7d-12d183f40d01',
  'TeamsActivity.Send': 'a267235f-af13-44dc-8385-c1dc93023186',
  'TeamsAppInstallation.ReadWriteSelfForUser.All': '908de74d-f8b2-4d6b-a9ed-2a17b3b78179',
  // concepts/includes/permissions-ids.md (Application rows), the same ids in public grant scripts; graduated campaigns only.
  'Directory.Read.All': '7ab1d382-f21e-4acd-a863-ba3e13f7da61',
  'Policy.Read.All': '246dd0d5-5bd0-4def-940b-0421030a5b68',
  // concepts/includes/permissions-ids.md (Application row), the same id in public grant scripts; manager-delivery onboarding only.
  'UserAuthenticationMethod.ReadWrite.All': '50483e42-d915-4231-9639-7fdb7fd190e5',
} as const;

export type GraphRole = keyof typeof GRAPH_APP_ROLE_IDS;

/** Why the reconcile job needs each role; shown in docs and kept next to the assignment. */
export const GRAPH_ROLE_REASONS: Record<GraphRole, string> = {
  // Targets and exclusions are UPNs or ids; resolving them and reading accountEnabled needs user reads.
  'User.Read.All': 'read targeted users (UPN, display name, account enabled)',
  // Group targets are expanded transitively and role holders may be role-assignable groups; also finds the enforcement group by name.
  'GroupMember.Read.All': 'expand target and exclusion groups, find the enforcement group and read its members',
  // userRegistrationDetails (which passkey kinds a user registered) is a report under AuditLog.
  'AuditLog.Read.All': 'read userRegistrationDetails (registered authentication methods)',
  // /users/{id}/authentication/fido2Methods gives the passkey model and AAGUID.
  'UserAuthenticationMethod.Read.All': "read each user's FIDO2/passkey methods",
  // App-only code cannot read /users/{id}/registeredDevices; /devices with registeredOwners is the way.
  'Device.Read.All': 'read devices, their OS version, last sign-in and registered owners',
  // Active role assignments and role definitions of the targeted admin roles.
  'RoleManagement.Read.Directory': 'read active directory role assignments and definitions',
  // PIM-eligible holders count as members when includeEligible is true. Not granted: the eligibility page accepts
  // RoleManagement.Read.Directory, which role targeting needs anyway; allowed for tenants that grant it by hand.
  'RoleEligibilitySchedule.Read.Directory': 'read PIM-eligible role assignments (covered by RoleManagement.Read.Directory, so not granted)',
  // The FIDO2 authentication methods policy decides who may register a passkey at all.
  // fido2authenticationmethodconfiguration-get.md lists it first (least privileged); Policy.Read.All would also read every other policy.
  'Policy.Read.AuthenticationMethod': 'read the FIDO2 authentication methods policy (who may register passkeys)',
  // Only when ownership of the enforcement group is not enough in the tenant (see groupMemberWrite).
  'GroupMember.ReadWrite.All': 'add users to the enforcement group when group ownership is not enough',
  // Email channel; scope it to the sender mailbox with an Exchange application access policy.
  'Mail.Send': 'send email notifications from the configured sender mailbox',
  // Crash recovery of email: the Sent Items $filter on singleValueExtendedProperties needs Mail.Read
  // (singlevaluelegacyextendedproperty-get.md; Mail.ReadBasic.All does not cover extended properties).
  // Scope it to the sender mailbox with the same application access policy (or RBAC for Applications) as Mail.Send.
  'Mail.Read': "look up a dispatched email by its key in the sender mailbox's Sent Items after an interrupted run",
  // Teams channel: activity feed notifications via the campaign's Teams app.
  'TeamsActivity.Send': "send Teams activity feed notifications",
  // userteamwork-post-installedapps.md: least-privileged application permission; "Self" = only the Teams app whose
  // manifest names this identity in webApplicationInfo, installed for a recipient before the first notice.
  'TeamsAppInstallation.ReadWriteSelfForUser.All': "install the campaign's Teams app for each recipient (the app names this identity in webApplicationInfo)",
  // signin-list.md: application permissions "AuditLog.Read.All and Directory.Read.All", both (a documented known issue).
  // Broad (every directory object), so only a graduated campaign, whose job reads sign-ins, gets it.
  'Directory.Read.All': 'read sign-in logs (graduated campaigns): the sign-in API requires it together with AuditLog.Read.All',
  // appliedConditionalAccessPolicy.md: sign-ins carry Conditional Access results only for callers that may read CA
  // data; conditionalaccesspolicy-get.md lists Policy.Read.All as the least-privileged application permission.
  'Policy.Read.All': "read the Conditional Access results in sign-ins and the campaign's policies (graduated campaigns)",
  // authentication-post-temporaryaccesspassmethods.md: the only application permission that creates a Temporary Access Pass.
  // It can create a sign-in credential for any user, admins included, so only a campaign that asks the job to issue passes gets it.
  'UserAuthenticationMethod.ReadWrite.All': "create onboarding Temporary Access Passes mailed to users' managers (campaigns with onboarding deliverTo: manager)",
};

/** Every Graph role the scheduler identity may ever hold; the policy pack rejects anything else. */
export const ALLOWED_GRAPH_ROLES: readonly GraphRole[] = Object.keys(GRAPH_APP_ROLE_IDS) as GraphRole[];

/** Graph roles that must never be granted to the scheduler identity, with their ids for messages. */
export const FORBIDDEN_GRAPH_ROLES: Readonly<Record<string, string>> = {
  '19dbc75e-c2e2-444c-a770-ec69d8559fc7': 'Directory.ReadWrite.All',
  '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8': 'RoleManagement.ReadWrite.Directory',
  '01c0a623-fc9b-48e9-b794-0756f8e8f067': 'Policy.ReadWrite.ConditionalAccess',
  '62a82d76-70ea-41e2-9197-370581804d09': 'Group.ReadWrite.All',
};

/** What a graduated campaign's job needs to read sign-in logs with their Conditional Access results. */
export const SIGN_IN_LOG_ROLES: readonly GraphRole[] = ['AuditLog.Read.All', 'Directory.Read.All', 'Policy.Read.All'];

/** Creates sign-in credentials for any user: granted only while a campaign issues onboarding passes itself. */
export const ONBOARDING_PASS_ROLE: GraphRole = 'UserAuthenticationMethod.ReadWrite.All';

/** The campaign's job creates Temporary Access Passes and mails them to managers (not the helpdesk queue). */
export function issuesOnboardingPasses(c: Campaign): boolean {
  const tap = c.spec.onboarding.temporaryAccessPass;
  return tap.enabled && tap.deliverTo === 'manager';
}

/** The role name for a Graph app role id, when known. */
export function graphRoleName(id: string): string | undefined {
  const lower = id.toLowerCase();
  const allowed = (Object.entries(GRAPH_APP_ROLE_IDS) as [GraphRole, string][]).find(([, v]) => v === lower)?.[0];
  return allowed ?? FORBIDDEN_GRAPH_ROLES[lower];
}

export interface GraphRoleOptions {
  /** Grant GroupMember.ReadWrite.All because enforcement-group ownership is not enough in this tenant. */
  groupMemberWrite: boolean;
}

/** The least-privilege set for the deployed campaigns, in the allowed list's order. */
export function requiredGraphRoles(campaigns: readonly Campaign[], opts: GraphRoleOptions): GraphRole[] {
  const need = new Set<GraphRole>(['User.Read.All', 'GroupMember.Read.All', 'AuditLog.Read.All', 'UserAuthenticationMethod.Read.All', 'Device.Read.All', 'Policy.Read.AuthenticationMethod']);
  if (campaigns.some((c) => c.spec.targets.roles.length > 0)) need.add('RoleManagement.Read.Directory');
  // PIM-eligible holders (includeEligible) are read with RoleManagement.Read.Directory too
  // (rbacapplication-list-roleeligibilityscheduleinstances.md), so no eligibility permission is added.
  if (opts.groupMemberWrite) need.add('GroupMember.ReadWrite.All');
  if (campaigns.some((c) => c.spec.notifications.channel === 'email')) {
    need.add('Mail.Send');
    need.add('Mail.Read');
  }
  // The pass goes by mail to the manager whatever the campaign's channel (user-list-manager.md: User.Read.All, held
  // above, reads the manager). Mail.Read is not added: a pass is never re-sent after a crash (its value is shown once).
  if (campaigns.some(issuesOnboardingPasses)) {
    need.add(ONBOARDING_PASS_ROLE);
    need.add('Mail.Send');
  }
  if (campaigns.some((c) => c.spec.notifications.channel === 'teams')) {
    need.add('TeamsActivity.Send');
    need.add('TeamsAppInstallation.ReadWriteSelfForUser.All');
  }
  // Graduation reads each user's sign-ins (signin-list.md); no other campaign needs the broad Directory.Read.All.
  if (campaigns.some(isGraduated)) for (const r of SIGN_IN_LOG_ROLES) need.add(r);
  return ALLOWED_GRAPH_ROLES.filter((r) => need.has(r));
}
