// The reads `campaign doctor` makes of the calling identity and the Teams catalog, as Graph answers them:
// serviceprincipal-list.md, serviceprincipal-list-approleassignments.md, appcatalogs-list-teamsapps.md.
import { afterEach, describe, expect, it } from 'vitest';
import { generateTenant, SIM_APP, SIM_APP_ROLES, SIM_IDS } from '../../src/sim';
import { startEmulator, type Emulator } from '../../src/sim/server';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emulator!.url}/v1.0${path}`, { headers: { Authorization: 'Bearer sim-token' } });
  return { status: res.status, body: await res.json() };
}

describe('service principals derived from the fixture application', () => {
  it("serves the caller's service principal, Graph's with its appRoles, and one app role assignment per permission", async () => {
    emulator = await startEmulator({ tenant: generateTenant({ users: 10, seed: 1, prerequisites: true }), port: 0, token: 'sim-token' });
    const mine = await get(`/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${SIM_APP.clientId}'`)}&$select=id,appId,displayName`);
    expect(mine.status).toBe(200);
    expect(mine.body.value).toEqual([{ id: expect.any(String), appId: SIM_APP.clientId, displayName: 'passkey-campaign scheduler' }]);
    const graph = await get(`/servicePrincipals?$filter=${encodeURIComponent("appId eq '00000003-0000-0000-c000-000000000000'")}&$select=id,appRoles`);
    const roles = new Map((graph.body.value[0].appRoles as Array<{ id: string; value: string }>).map((r) => [r.id, r.value]));
    const assignments = await get(`/servicePrincipals/${mine.body.value[0].id}/appRoleAssignments`);
    expect(assignments.status).toBe(200);
    expect(assignments.body.value.map((a: { appRoleId: string }) => roles.get(a.appRoleId)).sort()).toEqual([...SIM_APP_ROLES].sort());
    expect(assignments.body.value[0]).toMatchObject({ principalType: 'ServicePrincipal', principalId: mine.body.value[0].id, resourceId: graph.body.value[0].id, resourceDisplayName: 'Microsoft Graph' });
  });

  it('needs Application.Read.All (403) and serves none without an application', async () => {
    const fixture = generateTenant({ users: 10, seed: 1, prerequisites: true });
    fixture.application!.appRoles = fixture.application!.appRoles.filter((r) => r !== 'Application.Read.All');
    emulator = await startEmulator({ tenant: fixture, port: 0, token: 'sim-token' });
    expect((await get('/servicePrincipals')).body.error.code).toBe('Authorization_RequestDenied');
    await emulator.close();
    emulator = await startEmulator({ tenant: generateTenant({ users: 10, seed: 1 }), port: 0, token: 'sim-token' });
    expect((await get('/servicePrincipals')).body.value).toEqual([]);
  });

  it('lists the org catalog with $filter and $expand=appDefinitions, without the manifest-only activity types', async () => {
    emulator = await startEmulator({ tenant: generateTenant({ users: 10, seed: 1, prerequisites: true }), port: 0, token: 'sim-token' });
    const r = await get(`/appCatalogs/teamsApps?$filter=${encodeURIComponent(`id eq '${SIM_APP.teamsAppId}'`)}&$expand=appDefinitions`);
    expect(r.status).toBe(200);
    expect(r.body.value).toEqual([{
      id: SIM_APP.teamsAppId, externalId: SIM_APP.teamsManifestId, displayName: 'Passkey campaign', distributionMethod: 'organization',
      appDefinitions: [expect.objectContaining({ teamsAppId: SIM_APP.teamsAppId, azureADAppId: SIM_APP.clientId, publishingState: 'published' })],
    }]);
    expect((await get('/appCatalogs/teamsApps?$top=5')).status).toBe(400);
  });

  it("lists a group's owners (group-list-owners.md), the identity's service principal among them; the group itself shows no owners property", async () => {
    emulator = await startEmulator({ tenant: generateTenant({ users: 10, seed: 1, prerequisites: true }), port: 0, token: 'sim-token' });
    const owners = await get(`/groups/${SIM_IDS.adminsEnforcedGroup}/owners?$select=id`);
    expect(owners.status).toBe(200);
    const sp = await get(`/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${SIM_APP.clientId}'`)}&$select=id`);
    expect(owners.body.value).toEqual([{ '@odata.type': '#microsoft.graph.servicePrincipal', id: sp.body.value[0].id }]);
    expect(Object.keys((await get(`/groups/${SIM_IDS.adminsEnforcedGroup}`)).body)).not.toContain('owners');
  });
});
