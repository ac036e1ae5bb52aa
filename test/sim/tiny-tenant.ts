// A small hand-written tenant whose every id a test can name.
import type { TenantFixture } from '../../src/sim/fixture';

export const GA = '62e90394-69f5-4237-9190-012177145e10';
export const SEC = '194ae4cb-b126-40b2-bd5b-6091b380977d';
export const HELPDESK = '729827e3-9c14-49f7-bb1b-9608f156bbb8';

export const U = {
  adele: '00000000-0000-4000-8000-0000000000a1',
  alex: '00000000-0000-4000-8000-0000000000a2',
  bianca: '00000000-0000-4000-8000-0000000000a3',
  diego: '00000000-0000-4000-8000-0000000000a4',
  emily: '00000000-0000-4000-8000-0000000000a5',
  bg1: '00000000-0000-4000-8000-0000000000b1',
};
export const G = {
  staff: '00000000-0000-4000-8000-0000000000c1',
  helpdesk: '00000000-0000-4000-8000-0000000000c2',
  nested: '00000000-0000-4000-8000-0000000000c3',
  enforced: '00000000-0000-4000-8000-0000000000c4',
};
export const D = {
  adeleWin: '00000000-0000-4000-8000-0000000000d1',
  adeleIphone: '00000000-0000-4000-8000-0000000000d2',
  alexMac: '00000000-0000-4000-8000-0000000000d3',
};

export function tinyTenant(): TenantFixture {
  const user = (id: string, upn: string, displayName: string, accountEnabled = true) => ({
    id,
    userPrincipalName: upn,
    displayName,
    accountEnabled,
    mail: upn,
  });
  return {
    users: [
      user(U.adele, 'adele@contoso.com', 'Adele Vance'),
      user(U.alex, 'alex@contoso.com', 'Alex Wilber'),
      user(U.bianca, 'bianca@contoso.com', 'Bianca Pires', false),
      user(U.diego, 'diego@contoso.com', 'Diego Siciliani'),
      user(U.emily, 'emily@contoso.com', 'Emily Braxton'),
      user(U.bg1, 'bg1@contoso.com', 'Break Glass 1'),
    ],
    userRegistrationDetails: [
      { id: U.adele, userPrincipalName: 'adele@contoso.com', methodsRegistered: ['microsoftAuthenticatorPush', 'passKeyDeviceBound', 'passKeyDeviceBoundAuthenticator'] },
      { id: U.alex, userPrincipalName: 'alex@contoso.com', methodsRegistered: ['mobilePhone'] },
      { id: U.bg1, userPrincipalName: 'bg1@contoso.com', methodsRegistered: ['passKeyDeviceBound', 'fido2SecurityKey'] },
    ],
    fido2Methods: {
      [U.adele]: [
        { id: 'm-adele-1', displayName: 'Authenticator', aaGuid: '90a3ccdf-635c-4729-a248-9b709135078f', model: 'Microsoft Authenticator - iOS', createdDateTime: '2026-03-01T10:00:00Z' },
      ],
      [U.bg1]: [{ id: 'm-bg1-1', displayName: 'YubiKey', aaGuid: 'ee882879-721c-4913-9775-3dfcce97072a', model: 'YubiKey 5 Series with NFC', createdDateTime: '2025-01-01T10:00:00Z' }],
    },
    devices: [
      { id: D.adeleWin, displayName: 'DESKTOP-ADELE', operatingSystem: 'Windows', operatingSystemVersion: '10.0.17763.6659', approximateLastSignInDateTime: '2026-11-20T08:00:00Z', accountEnabled: true, registeredOwners: [U.adele] },
      { id: D.adeleIphone, displayName: 'iPhone', operatingSystem: 'IPhone', operatingSystemVersion: '17.5.1', approximateLastSignInDateTime: '2026-11-28T08:00:00Z', accountEnabled: true, registeredOwners: [U.adele] },
      { id: D.alexMac, displayName: 'MacBook Air', operatingSystem: 'MacMDM', operatingSystemVersion: '12.7.6', approximateLastSignInDateTime: '2024-06-01T08:00:00Z', accountEnabled: false, registeredOwners: [U.alex] },
    ],
    roleDefinitions: [
      { id: GA, displayName: 'Global Administrator', templateId: GA, isBuiltIn: true },
      { id: SEC, displayName: 'Security Administrator', templateId: SEC, isBuiltIn: true },
      { id: HELPDESK, displayName: 'Helpdesk Administrator', templateId: HELPDESK, isBuiltIn: true },
    ],
    roleAssignments: [
      { id: 'ra-bg1', principalId: U.bg1, roleDefinitionId: GA, directoryScopeId: '/' },
      { id: 'ra-adele', principalId: U.adele, roleDefinitionId: SEC, directoryScopeId: '/' },
      { id: 'ra-group', principalId: G.helpdesk, roleDefinitionId: HELPDESK, directoryScopeId: '/' },
    ],
    roleEligibilityScheduleInstances: [{ id: 're-alex', principalId: U.alex, roleDefinitionId: GA, directoryScopeId: '/' }],
    groups: [
      { id: G.staff, displayName: 'All staff', members: [U.adele, U.alex, U.bianca, U.diego, U.emily] },
      { id: G.helpdesk, displayName: 'role-helpdesk-administrators', isAssignableToRole: true, members: [U.diego, G.nested] },
      { id: G.nested, displayName: 'helpdesk-nested', members: [U.emily, U.diego] },
      { id: G.enforced, displayName: 'passkey-campaign-admins-passkeys-enforced', members: [] },
    ],
    authenticationMethodsPolicy: {
      id: 'authenticationMethodsPolicy',
      displayName: 'Authentication Methods Policy',
      authenticationMethodConfigurations: [
        {
          '@odata.type': '#microsoft.graph.fido2AuthenticationMethodConfiguration',
          id: 'Fido2',
          state: 'enabled',
          isSelfServiceRegistrationAllowed: true,
          keyRestrictions: { isEnforced: false, enforcementType: 'block', aaGuids: [] },
          includeTargets: [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false }],
          excludeTargets: [],
        },
      ],
    },
    conditionalAccessPolicies: [{ id: 'ca-1', displayName: 'Require MFA for admins', state: 'enabled' }],
  };
}
