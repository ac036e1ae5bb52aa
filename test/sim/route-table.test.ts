// The emulator as Microsoft documents Graph: one route-table row per route, query options the page does not
// document are 400s, missing application permissions 403s, and resource units as concepts/throttling-limits.md says.
import { afterEach, describe, expect, it } from 'vitest';
import { validateFixture, type TenantFixture } from '../../src/sim/fixture';
import { KNOWN_APP_ROLES, ROUTE_TABLE, permitted, routeRow } from '../../src/sim/route-table';
import { ROUTES } from '../../src/sim/routes';
import { graphError, noRetry, startHarness, type Harness, type HarnessOptions } from './harness';
import { D, G, U, tinyTenant } from './tiny-tenant';

let h: Harness | undefined;
afterEach(async () => {
  const open = h;
  h = undefined;
  await open?.close();
});
const start = async (options: Partial<HarnessOptions> = {}) => (h = await startHarness({ tenant: tinyTenant(), ...options }));
const hh = () => h!;
const REPORT = '/reports/authenticationMethods/userRegistrationDetails';
const withRoles = (appRoles: string[]): TenantFixture => ({ ...tinyTenant(), application: { appId: '11111111-2222-3333-4444-555555555555', appRoles } });

describe('the route table', () => {
  it('has one row with a docs page for every route the emulator serves, and no row without a route', () => {
    const served = [...ROUTES.map((r) => `${r.method} ${r.template}`), 'POST /$batch'];
    const rows = ROUTE_TABLE.map((r) => `${r.method} ${r.template}`);
    expect(new Set(rows).size).toBe(rows.length);
    expect([...rows].sort()).toEqual([...served].sort());
    for (const r of ROUTE_TABLE) expect(r.docs, `${r.method} ${r.template}`).toMatch(/^(api-reference\/v1\.0\/api|concepts)\/[a-z0-9-]+\.md$/);
    for (const r of ROUTE_TABLE.filter((x) => x.betaDocs)) expect(r.betaDocs, `${r.method} ${r.template}`).toMatch(/^api-reference\/beta\/api\/[a-z0-9-]+\.md$/);
    expect(routeRow('GET', '/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}')?.betaDocs).toBe('api-reference/beta/api/fido2authenticationmethodconfiguration-get.md');
  });

  it('lists documented permissions (least privileged first) for every route but $batch', () => {
    for (const r of ROUTE_TABLE) {
      if (r.template === '/$batch') expect(r.permissions).toEqual([]);
      else expect(r.permissions.length, `${r.method} ${r.template}`).toBeGreaterThan(0);
    }
    expect(routeRow('GET', '/groups/{id}/transitiveMembers')?.permissions[0]).toBe('GroupMember.Read.All');
    expect(routeRow('GET', '/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}')?.permissions[0]).toBe('Policy.Read.AuthenticationMethod');
  });

  it('knows pages that ask for several permissions together', () => {
    const row = routeRow('GET', '/auditLogs/signIns')!;
    expect(row).toMatchObject({ permissions: ['AuditLog.Read.All', 'Directory.Read.All'], requires: 'all', throttle: 'reports', pageSize: { default: 1000, max: 1000 } });
    expect(permitted(row, ['AuditLog.Read.All'])).toBe(false);
    expect(permitted(row, ['Directory.Read.All', 'AuditLog.Read.All'])).toBe(true);
    expect(permitted(routeRow('GET', '/users')!, ['Directory.Read.All'])).toBe(true);
    expect(KNOWN_APP_ROLES.has('Policy.Read.ConditionalAccess')).toBe(true);
  });

  it('takes the costs from concepts/throttling-limits.md', () => {
    expect(routeRow('GET', '/users')?.cost).toBe(2);
    expect(routeRow('GET', '/groups/{id}/members')?.cost).toBe(3);
    expect(routeRow('GET', '/groups/{id}/transitiveMembers')?.cost).toBe(5);
    expect(routeRow('GET', '/groups/{id}/transitiveMembers/microsoft.graph.user')?.cost).toBe(5);
    expect(routeRow('GET', '/devices')?.cost).toBe(1);
  });
});

describe('unsupported query options: 400 Request_UnsupportedQuery', () => {
  it.each([
    [`${REPORT}?$select=id`, '$select'],
    [`${REPORT}?$top=999`, '$top'],
    ['/roleManagement/directory/roleAssignments?$top=999', '$top'],
    ['/roleManagement/directory/roleEligibilityScheduleInstances?$top=999', '$top'],
    [`/users/${U.adele}/authentication/fido2Methods?$select=id`, '$select'],
    ['/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2?$select=state', '$select'],
  ])('%s', async (url, option) => {
    await start();
    const err = await graphError(hh().client.api(url).middlewareOptions(noRetry()).get());
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('Request_UnsupportedQuery');
    expect(err.message).toContain(option);
  });

  it('accepts what the pages document', async () => {
    await start();
    expect((await hh().client.api(`${REPORT}?$filter=userPrincipalName eq 'adele@contoso.com'`).get()).value).toHaveLength(1);
    const res = await hh().client.api(`/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '62e90394-69f5-4237-9190-012177145e10'&$select=id,principalId`).get();
    expect(res.value.length).toBeGreaterThan(0);
  });

  it('checks each inner $batch request on its own', async () => {
    await start();
    const res = await hh().client.api('/$batch').post({
      requests: [
        { id: '1', method: 'GET', url: `${REPORT}?$top=999` },
        { id: '2', method: 'GET', url: `${REPORT}?$filter=userPrincipalName eq 'adele@contoso.com'` },
      ],
    });
    const byId = Object.fromEntries(res.responses.map((r: { id: string }) => [r.id, r]));
    expect(byId['1'].status).toBe(400);
    expect(byId['1'].body.error.code).toBe('Request_UnsupportedQuery');
    expect(byId['2'].status).toBe(200);
  });

  it('follows its own nextLink ($skiptoken) on a collection without $top', async () => {
    const tenant = tinyTenant();
    tenant.userRegistrationDetails = Array.from({ length: 150 }, (_, i) => ({ id: `r-${i}`, userPrincipalName: `u${i}@contoso.com`, methodsRegistered: [] }));
    await start({ tenant });
    const first = await hh().client.api(REPORT).get();
    expect(first.value).toHaveLength(100);
    const second = await hh().client.api(hh().next(first['@odata.nextLink'])).get();
    expect(second.value).toHaveLength(50);
  });
});

describe('application permissions: 403 when the identity holds none the page lists', () => {
  it('answers 403 Authorization_RequestDenied for a directory read without its permission', async () => {
    await start({ tenant: withRoles(['User.Read.All']) });
    expect((await hh().client.api('/users').get()).value.length).toBeGreaterThan(0);
    const err = await graphError(hh().client.api('/devices').middlewareOptions(noRetry()).get());
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe('Authorization_RequestDenied');
    expect(err.message).toBe('Insufficient privileges to complete the operation.');
  });

  it('accepts any permission of the list, a higher privileged one too', async () => {
    await start({ tenant: withRoles(['Directory.Read.All']) });
    expect((await hh().client.api('/devices').get()).value).toHaveLength(3);
    expect((await hh().client.api(`/groups/${G.staff}/transitiveMembers`).get()).value.length).toBeGreaterThan(0);
  });

  it('refuses writes without a write permission, and mail as Exchange does', async () => {
    await start({ tenant: withRoles(['GroupMember.Read.All', 'User.Read.All']) });
    const err = await graphError(hh().client.api(`/groups/${G.enforced}/members/$ref`).middlewareOptions(noRetry()).post({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${U.alex}` }));
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe('Authorization_RequestDenied');
    const mail = await graphError(hh().client.api(`/users/${U.adele}/sendMail`).middlewareOptions(noRetry()).post({ message: { subject: 's', toRecipients: [{ emailAddress: { address: 'alex@contoso.com' } }] } }));
    expect(mail.statusCode).toBe(403);
    expect(mail.code).toBe('ErrorAccessDenied');
  });

  it('checks each inner $batch request on its own', async () => {
    await start({ tenant: withRoles(['User.Read.All']) });
    const res = await hh().client.api('/$batch').post({ requests: [{ id: '1', method: 'GET', url: '/users' }, { id: '2', method: 'GET', url: '/devices' }] });
    const status = Object.fromEntries(res.responses.map((r: { id: string; status: number }) => [r.id, r.status]));
    expect(status).toEqual({ '1': 200, '2': 403 });
  });

  it('grants everything without the fixture key, and PATCH /_sim/tenant can set it', async () => {
    await start();
    expect((await hh().client.api('/devices').get()).value).toHaveLength(3);
    expect((await hh().sim('PATCH', '/_sim/tenant', { application: { appId: 'a', appRoles: ['User.Read.All'] } })).status).toBe(200);
    expect((await graphError(hh().client.api('/devices').middlewareOptions(noRetry()).get())).statusCode).toBe(403);
    expect((await hh().sim('GET', '/_sim/tenant')).body.application).toEqual({ appId: 'a', appRoles: ['User.Read.All'] });
  });

  it('rejects an unknown permission name in the fixture, naming the field', () => {
    const r = validateFixture(withRoles(['User.Read.All', 'Devices.Read.All']));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain('$.application.appRoles[1]');
    expect(r.errors[0]).toContain('Devices.Read.All');
    expect(validateFixture({ application: { appRoles: [] } }).errors[0]).toContain('$.application.appId');
    expect(KNOWN_APP_ROLES.has('AuditLog.Read.All')).toBe(true);
  });
});

describe('resource units as documented', () => {
  const limited = (units: number) => ({ limits: { identityResourceUnits: { limit: units, windowSeconds: 10 } } });

  it('transitiveMembers costs 5: a second read in a 5-unit window is throttled', async () => {
    await start(limited(5));
    await hh().client.api(`/groups/${G.staff}/transitiveMembers`).get();
    expect((await graphError(hh().client.api(`/groups/${G.staff}/transitiveMembers`).middlewareOptions(noRetry()).get())).statusCode).toBe(429);
  });

  it('members costs 3, $select takes one off', async () => {
    await start(limited(5));
    await hh().client.api(`/groups/${G.staff}/members`).get();
    expect((await graphError(hh().client.api(`/groups/${G.staff}/members`).middlewareOptions(noRetry()).get())).statusCode).toBe(429);
    hh().clock.advance(10_000);
    await hh().client.api(`/groups/${G.staff}/members?$select=id`).get();
    await hh().client.api(`/groups/${G.staff}/members?$select=id`).get(); // 2 + 2 ≤ 5
    expect((await graphError(hh().client.api(`/groups/${G.staff}/members?$select=id`).middlewareOptions(noRetry()).get())).statusCode).toBe(429);
  });

  it('users costs 2 and a device 1', async () => {
    await start(limited(3));
    await hh().client.api('/users').get();
    await hh().client.api(`/devices/${D.adeleWin}`).get();
    expect((await graphError(hh().client.api(`/devices/${D.adeleWin}`).middlewareOptions(noRetry()).get())).statusCode).toBe(429);
  });
});

describe('$expand on directory objects', () => {
  it('returns at most 20 expanded owners (concepts/query-parameters.md)', async () => {
    const tenant = tinyTenant();
    const owners = Array.from({ length: 25 }, (_, i) => `00000000-0000-4000-8000-1000000000${String(i).padStart(2, '0')}`);
    tenant.users!.push(...owners.map((id, i) => ({ id, userPrincipalName: `o${i}@contoso.com`, displayName: `o${i}`, accountEnabled: true })));
    tenant.devices![0]!.registeredOwners = owners;
    await start({ tenant });
    const res = await hh().client.api(`/devices?$select=id&$expand=registeredOwners($select=id)`).get();
    const d = res.value.find((x: { id: string }) => x.id === D.adeleWin);
    expect(d.registeredOwners).toHaveLength(20);
  });
});
