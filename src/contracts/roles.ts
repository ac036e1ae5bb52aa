// The 15 admin roles that Microsoft's passkey campaign targets by default, keyed by the name a campaign
// file uses. Campaign files, the Graph emulator's tenants and the reports all name roles by these keys.
// Template ids are from Microsoft's "Entra built-in roles" reference.
export const SUPPORTED_ROLES = {
  AuthenticationAdministrator: 'c4e39bd9-1100-46d3-8c65-fb160da0071f',
  BillingAdministrator: 'b0f54661-2d74-4c50-afa3-1ec803f12efe',
  CloudApplicationAdministrator: '158c047a-c907-4556-b7ef-446551a6b5f7',
  ConditionalAccessAdministrator: 'b1be1c3e-b65d-4f19-8427-f6fa0d97feb9',
  ExchangeAdministrator: '29232cdf-9323-42fd-ade2-1d097af3e4de',
  GlobalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  HelpdeskAdministrator: '729827e3-9c14-49f7-bb1b-9608f156bbb8',
  IntuneAdministrator: '3a2c62db-5318-420d-8d74-23affee5d9d5',
  PasswordAdministrator: '966707d0-3269-4727-9be2-8c3a10f19b9d',
  PrivilegedAuthenticationAdministrator: '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
  PrivilegedRoleAdministrator: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  SecurityAdministrator: '194ae4cb-b126-40b2-bd5b-6091b380977d',
  SharePointAdministrator: 'f28a1f50-f6e7-4571-818b-6a12f2af6b6c',
  TeamsAdministrator: '69091246-20e8-4a56-aa4d-066075b2a7a8',
  UserAdministrator: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
} as const;

export type SupportedRoleName = keyof typeof SUPPORTED_ROLES;

/** Display names as Entra shows them (the seed calls Intune's "Intune Service Administrator"). */
export const ROLE_DISPLAY_NAMES: Record<SupportedRoleName, string> = {
  AuthenticationAdministrator: 'Authentication Administrator',
  BillingAdministrator: 'Billing Administrator',
  CloudApplicationAdministrator: 'Cloud Application Administrator',
  ConditionalAccessAdministrator: 'Conditional Access Administrator',
  ExchangeAdministrator: 'Exchange Administrator',
  GlobalAdministrator: 'Global Administrator',
  HelpdeskAdministrator: 'Helpdesk Administrator',
  IntuneAdministrator: 'Intune Administrator',
  PasswordAdministrator: 'Password Administrator',
  PrivilegedAuthenticationAdministrator: 'Privileged Authentication Administrator',
  PrivilegedRoleAdministrator: 'Privileged Role Administrator',
  SecurityAdministrator: 'Security Administrator',
  SharePointAdministrator: 'SharePoint Administrator',
  TeamsAdministrator: 'Teams Administrator',
  UserAdministrator: 'User Administrator',
};

export const SUPPORTED_ROLE_NAMES = Object.keys(SUPPORTED_ROLES) as SupportedRoleName[];
