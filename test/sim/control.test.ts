import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness';
import { D, G, U, tinyTenant } from './tiny-tenant';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ tenant: tinyTenant() });
});
afterEach(() => h.close());

describe('GET /_sim/requests', () => {
  it('counts Graph requests only, with ids normalised in route keys', async () => {
    await h.client.api('/users').get();
    await h.client.api(`/users/${U.adele}/authentication/fido2Methods`).get();
    await h.client.api('/users/alex@contoso.com/authentication/fido2Methods').get();
    await h.client.api(`/groups/${G.staff}/members/${U.bianca}/$ref`).delete();
    await h.client.api('/users').version('beta').get();
    await h.sim('GET', '/_sim/notifications');
    const res = await h.sim('GET', '/_sim/requests');
    expect(res.body).toEqual({
      total: 5,
      writes: 1,
      throttled: 0,
      byRoute: {
        'GET /v1.0/users': 1,
        'GET /v1.0/users/{id}/authentication/fido2Methods': 2,
        'DELETE /v1.0/groups/{id}/members/{id}/$ref': 1,
        'GET /beta/users': 1,
      },
    });
    // What they used of Graph's limits (throttling off or on): /users costs 2 resource units, fido2Methods 1, a write 1 and one write.
    expect((await h.sim('GET', '/_sim/usage')).body).toEqual({ identityResourceUnits: 7, identityWrites: 1 });
  });

  it('starts again from zero after POST /_sim/reset-counters', async () => {
    await h.client.api('/users').get();
    const reset = await h.sim('POST', '/_sim/reset-counters');
    expect(reset.body).toEqual({ total: 0, writes: 0, throttled: 0, byRoute: {} });
    expect((await h.sim('GET', '/_sim/usage')).body).toEqual({});
    expect((await h.sim('GET', '/_sim/requests')).body.total).toBe(0);
  });
});

describe('PATCH /_sim/tenant', () => {
  it('updates a device by id, keeping the fields it does not mention', async () => {
    const res = await h.sim('PATCH', '/_sim/tenant', { devices: [{ id: D.adeleWin, operatingSystemVersion: '10.0.26100.2605' }] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ upserted: { devices: 1 }, removed: {} });
    const device = await h.client.api(`/devices/${D.adeleWin}`).expand('registeredOwners').get();
    expect(device.operatingSystemVersion).toBe('10.0.26100.2605');
    expect(device.displayName).toBe('DESKTOP-ADELE');
    expect(device.registeredOwners[0].id).toBe(U.adele);
  });

  it('lets a user register a passkey: fido2Methods and registration details follow', async () => {
    const method = { id: 'm-alex-1', displayName: 'Windows Hello', aaGuid: '08987058-cadc-4b81-b6e1-30de50dcbe96', model: 'Windows Hello Hardware Authenticator', createdDateTime: '2026-12-01T05:00:00Z' };
    await h.sim('PATCH', '/_sim/tenant', { fido2Methods: { [U.alex]: [method] } });
    const methods = await h.client.api(`/users/${U.alex}/authentication/fido2Methods`).get();
    expect(methods.value).toEqual([{ '@odata.type': '#microsoft.graph.fido2AuthenticationMethod', ...method }]);
    const details = await h.client.api('/reports/authenticationMethods/userRegistrationDetails').header('Prefer', 'include-unknown-enum-members').filter(`id in ('${U.alex}')`).get();
    expect(details.value[0].methodsRegistered).toEqual(['mobilePhone', 'passKeyDeviceBound', 'passKeyDeviceBoundWindowsHello']);
  });

  it('removes items and passkeys with "remove"', async () => {
    const res = await h.sim('PATCH', '/_sim/tenant', { remove: { fido2Methods: { [U.adele]: ['m-adele-1'] }, devices: [D.alexMac] } });
    expect(res.body).toEqual({ upserted: {}, removed: { devices: 1, fido2Methods: 1 } });
    expect((await h.client.api(`/users/${U.adele}/authentication/fido2Methods`).get()).value).toEqual([]);
    const details = await h.client.api('/reports/authenticationMethods/userRegistrationDetails').filter(`userPrincipalName eq 'adele@contoso.com'`).get();
    expect(details.value[0].methodsRegistered).toEqual(['microsoftAuthenticatorPush']);
  });

  it('keeps registration details the patch sets itself', async () => {
    await h.sim('PATCH', '/_sim/tenant', {
      fido2Methods: { [U.alex]: [{ id: 'm-alex-2', aaGuid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8' }] },
      userRegistrationDetails: [{ id: U.alex, methodsRegistered: ['mobilePhone'] }],
    });
    const details = await h.client.api('/reports/authenticationMethods/userRegistrationDetails').filter(`id in ('${U.alex}')`).get();
    expect(details.value[0].methodsRegistered).toEqual(['mobilePhone']);
  });

  it('adds new users, groups with members and role assignments', async () => {
    const id = '00000000-0000-4000-8000-0000000000a9';
    await h.sim('PATCH', '/_sim/tenant', {
      users: [{ id, userPrincipalName: 'new.admin@contoso.com', displayName: 'New Admin' }],
      roleAssignments: [{ id: 'ra-new', principalId: id, roleDefinitionId: '194ae4cb-b126-40b2-bd5b-6091b380977d' }],
      groups: [{ id: G.enforced, members: [id] }],
    });
    expect((await h.client.api('/users/new.admin@contoso.com').select('accountEnabled').get()).accountEnabled).toBe(true);
    expect((await h.client.api('/roleManagement/directory/roleAssignments').filter(`principalId eq '${id}'`).get()).value[0].directoryScopeId).toBe('/');
    expect((await h.client.api(`/groups/${G.enforced}/members`).get()).value.map((m: { id: string }) => m.id)).toEqual([id]);
    expect((await h.client.api(`/groups/${G.enforced}`).get()).displayName).toBe('passkey-campaign-admins-passkeys-enforced');
  });

  it('rejects an invalid partial fixture with 400 and the JSON path', async () => {
    const res = await h.sim('PATCH', '/_sim/tenant', { users: [{ id: 'new-user', displayName: 'No UPN' }] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('InvalidFixture');
    expect(res.body.error.details).toEqual(['$.users[0].userPrincipalName: is required (such as "adele@contoso.com").']);
    const typo = await h.sim('PATCH', '/_sim/tenant', { device: [] });
    expect(typo.body.error.details[0]).toMatch(/^\$\.device: unknown collection/);
    expect((await h.sim('PATCH', '/_sim/tenant', 'not json')).status).toBe(400);
  });

  it('serves the current tenant at GET /_sim/tenant', async () => {
    const res = await h.sim('GET', '/_sim/tenant');
    expect(res.body.users).toHaveLength(6);
    expect(res.body.groups.find((g: { id: string }) => g.id === G.helpdesk).members).toEqual([U.diego, G.nested]);
  });
});

describe('control endpoints', () => {
  it('need no token, and unknown ones answer 404', async () => {
    const res = await fetch(`${h.emu.url}/_sim/requests`);
    expect(res.status).toBe(200);
    const unknown = await h.sim('GET', '/_sim/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NotFound');
  });

  it('clears notifications with DELETE /_sim/notifications', async () => {
    await h.client.api(`/users/${U.adele}/teamwork/sendActivityNotification`).post({ topic: { source: 'text', value: 'x' }, activityType: 'systemDefault', previewText: { content: 'x' } });
    expect((await h.sim('GET', '/_sim/notifications')).body.value).toHaveLength(1);
    expect((await h.sim('DELETE', '/_sim/notifications')).status).toBe(204);
    expect((await h.sim('GET', '/_sim/notifications')).body.value).toEqual([]);
  });
});
