// The service principals the emulator derives from the fixture's `application` (DESIGN §10): the calling app's,
// holding one app role assignment per permission it names, and Microsoft Graph's, whose appRoles define the
// permissions by name. Graph consumers map an assignment's appRoleId to a name through the resource's appRoles
// (resources/approleassignment.md, resources/serviceprincipal.md), so ids here are derived from the names.
import { createHash } from 'node:crypto';
import { MICROSOFT_GRAPH_APP_ID } from '../contracts/names';
import type { FixtureApplication } from './fixture';
import { KNOWN_APP_ROLES } from './route-table';

export interface SimServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  appDisplayName: string;
  accountEnabled: boolean;
  servicePrincipalType: 'Application';
  appRoles: Array<{ id: string; value: string; displayName: string; allowedMemberTypes: string[]; isEnabled: boolean; origin: string; description: string }>;
}

export interface SimAppRoleAssignment {
  id: string;
  appRoleId: string;
  createdDateTime: string;
  deletedDateTime: null;
  principalDisplayName: string;
  principalId: string;
  principalType: 'ServicePrincipal';
  resourceDisplayName: string;
  resourceId: string;
}

/** A stable GUID for a name (not a real Graph id: consumers must map by value). */
export function derivedGuid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The object id of the calling app's service principal, derived from its client id. */
export function servicePrincipalIdOf(appId: string): string {
  return derivedGuid(`servicePrincipal:${appId.toLowerCase()}`);
}

export const GRAPH_SERVICE_PRINCIPAL_ID = derivedGuid(`servicePrincipal:${MICROSOFT_GRAPH_APP_ID}`);

export function appRoleIdOf(name: string): string {
  return derivedGuid(`appRole:${name}`);
}

/** Both service principals and the calling app's assignments; none without `application`. */
export function servicePrincipals(application: FixtureApplication | undefined, created: string): { principals: SimServicePrincipal[]; assignments: SimAppRoleAssignment[] } {
  if (!application) return { principals: [], assignments: [] };
  const names = [...new Set([...KNOWN_APP_ROLES, ...application.appRoles])].sort();
  const graph: SimServicePrincipal = {
    id: GRAPH_SERVICE_PRINCIPAL_ID,
    appId: MICROSOFT_GRAPH_APP_ID,
    displayName: 'Microsoft Graph',
    appDisplayName: 'Microsoft Graph',
    accountEnabled: true,
    servicePrincipalType: 'Application',
    appRoles: names.map((value) => ({ id: appRoleIdOf(value), value, displayName: value, allowedMemberTypes: ['Application'], isEnabled: true, origin: 'Application', description: value })),
  };
  const self: SimServicePrincipal = {
    id: servicePrincipalIdOf(application.appId),
    appId: application.appId,
    displayName: 'passkey-campaign scheduler',
    appDisplayName: 'passkey-campaign scheduler',
    accountEnabled: true,
    servicePrincipalType: 'Application',
    appRoles: [],
  };
  const assignments = application.appRoles.map((value) => ({
    id: derivedGuid(`assignment:${self.id}:${value}`),
    appRoleId: appRoleIdOf(value),
    createdDateTime: created,
    deletedDateTime: null,
    principalDisplayName: self.displayName,
    principalId: self.id,
    principalType: 'ServicePrincipal' as const,
    resourceDisplayName: graph.displayName,
    resourceId: graph.id,
  }));
  return { principals: [self, graph], assignments };
}
