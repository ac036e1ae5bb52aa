import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTenant } from '../../src/sim/generate';
import { graphError, noRetry, startHarness, type Harness } from './harness';
import { D, G, GA, HELPDESK, SEC, U, tinyTenant } from './tiny-tenant';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ tenant: tinyTenant() });
});
afterAll(() => h.close());

describe('authentication', () => {
  it('answers 401 InvalidAuthenticationToken without a bearer token', async () => {
    const anon = await startHarness({ tenant: tinyTenant(), clientToken: null });
    try {
      const err = await graphError(anon.client.api('/users').get());
      expect(err.statusCode).toBe(401);
      expect(err.code).toBe('InvalidAuthenticationToken');
      expect(err.message).toBe('Access token is empty.');
      const body = JSON.parse(err.body as string);
      expect(Object.keys(body.innerError).sort()).toEqual(['client-request-id', 'date', 'request-id']);
    } finally {
      await anon.close();
    }
  });

  it('answers 401 to a wrong token', async () => {
    const wrong = await startHarness({ tenant: tinyTenant(), clientToken: 'not-the-token' });
    try {
      const err = await graphError(wrong.client.api('/users').get());
      expect(err.statusCode).toBe(401);
      expect(err.code).toBe('InvalidAuthenticationToken');
    } finally {
      await wrong.close();
    }
  });

  it('accepts any bearer token when no token is configured', async () => {
    const open = await startHarness({ tenant: tinyTenant(), token: undefined, clientToken: 'whatever' });
    try {
      const res = await open.client.api('/users').get();
      expect(res.value).toHaveLength(6);
    } finally {
      await open.close();
    }
  });
});

describe('users', () => {
  it('returns Graph v1.0 default properties (no accountEnabled) unless $select asks', async () => {
    const res = await h.client.api('/users').get();
    expect(res['@odata.context']).toBe(`${h.emu.url}/v1.0/$metadata#users`);
    expect(res.value[0]).toEqual({
      businessPhones: [],
      displayName: 'Adele Vance',
      givenName: null,
      jobTitle: null,
      mail: 'adele@contoso.com',
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: null,
      surname: null,
      userPrincipalName: 'adele@contoso.com',
      id: U.adele,
    });
  });

  it('applies $select, with the selection in @odata.context', async () => {
    const res = await h.client.api('/users').select(['id', 'accountEnabled']).get();
    expect(res['@odata.context']).toBe(`${h.emu.url}/v1.0/$metadata#users(id,accountEnabled)`);
    expect(res.value[2]).toEqual({ id: U.bianca, accountEnabled: false });
  });

  it('serves /beta with the full object', async () => {
    const res = await h.client.api('/users/adele@contoso.com').version('beta').get();
    expect(res.accountEnabled).toBe(true);
    expect(res['@odata.context']).toBe(`${h.emu.url}/beta/$metadata#users/$entity`);
  });

  it('finds a user by id or by UPN, case-insensitively', async () => {
    expect((await h.client.api(`/users/${U.alex}`).get()).userPrincipalName).toBe('alex@contoso.com');
    expect((await h.client.api('/users/ALEX@contoso.com').get()).id).toBe(U.alex);
  });

  it('answers 404 Request_ResourceNotFound for an unknown user', async () => {
    const err = await graphError(h.client.api('/users/nobody@contoso.com').get());
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('Request_ResourceNotFound');
    expect(err.message).toBe("Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present.");
  });

  it('answers 400 for an unknown segment, like Graph', async () => {
    const err = await graphError(h.client.api('/usersx').get());
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe("Resource not found for the segment 'usersx'.");
  });
});

describe('paging', () => {
  let big: Harness;
  beforeAll(async () => {
    big = await startHarness({ tenant: generateTenant({ users: 250, seed: 3 }) });
  });
  afterAll(() => big.close());

  it('pages 100 at a time by default with an absolute, opaque @odata.nextLink', async () => {
    const first = await big.client.api('/users').select('id').get();
    expect(first.value).toHaveLength(100);
    const next: string = first['@odata.nextLink'];
    expect(next.startsWith(`${big.emu.url}/v1.0/users?`)).toBe(true);
    expect(next).toContain('$select=id');
    const token = new URL(next).searchParams.get('$skiptoken')!;
    expect(token).not.toMatch(/^\d+$/);
    const ids = new Set<string>(first.value.map((u: { id: string }) => u.id));
    let link: string | undefined = next;
    for (let page = 0; link && page < 10; page++) {
      const res = await big.client.api(big.next(link)).get();
      for (const u of res.value) ids.add(u.id);
      link = res['@odata.nextLink'];
    }
    expect(link).toBeUndefined();
    expect(ids.size).toBe(250);
  });

  it('honours $top up to 999 and rejects 1000', async () => {
    const res = await big.client.api('/devices').top(999).get();
    expect(res.value.length).toBeGreaterThan(250);
    expect(res['@odata.nextLink']).toBeUndefined();
    const small = await big.client.api('/users').top(7).get();
    expect(small.value).toHaveLength(7);
    const err = await graphError(big.client.api('/users').top(1000).get());
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('Request_UnsupportedQuery');
    expect(err.message).toBe("Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.");
  });

  it('rejects a forged $skiptoken', async () => {
    const err = await graphError(big.client.api('/users?$skiptoken=100').get());
    expect(err.statusCode).toBe(400);
  });
});

describe('$filter', () => {
  const ids = (res: { value: Array<{ id: string }> }) => res.value.map((v) => v.id);

  it.each([
    { name: 'accountEnabled eq true', path: '/users', filter: 'accountEnabled eq true', want: [U.adele, U.alex, U.diego, U.emily, U.bg1] },
    { name: "displayName eq '…'", path: '/groups', filter: "displayName eq 'passkey-campaign-admins-passkeys-enforced'", want: [G.enforced] },
    { name: "displayName eq is case-insensitive", path: '/groups', filter: "displayName eq 'ALL STAFF'", want: [G.staff] },
    { name: "id in ('…','…')", path: '/users', filter: `id in ('${U.alex}','${U.emily}')`, want: [U.alex, U.emily] },
    { name: "userPrincipalName eq '…'", path: '/users', filter: "userPrincipalName eq 'diego@contoso.com'", want: [U.diego] },
    { name: "startswith(displayName,'…')", path: '/users', filter: "startswith(displayName,'A')", want: [U.adele, U.alex] },
    { name: 'clauses joined by and', path: '/users', filter: "accountEnabled eq true and startswith(displayName,'B')", want: [U.bg1] },
    { name: "roleDefinitionId eq '…'", path: '/roleManagement/directory/roleAssignments', filter: `roleDefinitionId eq '${GA}'`, want: ['ra-bg1'] },
    { name: "principalId eq '…'", path: '/roleManagement/directory/roleAssignments', filter: `principalId eq '${U.adele}'`, want: ['ra-adele'] },
    { name: "principalId eq on eligibility", path: '/roleManagement/directory/roleEligibilityScheduleInstances', filter: `principalId eq '${U.alex}'`, want: ['re-alex'] },
    { name: "accountEnabled eq false on devices", path: '/devices', filter: 'accountEnabled eq false', want: [D.alexMac] },
  ])('supports $name', async ({ path, filter, want }) => {
    expect(ids(await h.client.api(path).filter(filter).get())).toEqual(want);
  });

  it.each([
    { name: 'an unsupported property', filter: "city eq 'Paris'", message: "Unsupported or invalid query filter clause specified for property 'city' of resource 'User'." },
    { name: 'endswith', filter: "endswith(mail,'@contoso.com')" },
    { name: 'ne', filter: 'accountEnabled ne false' },
    { name: 'or', filter: "displayName eq 'a' or displayName eq 'b'" },
    { name: 'startswith on an unsupported property', filter: "startswith(jobTitle,'IT')" },
  ])('rejects $name with 400 Request_UnsupportedQuery', async ({ filter, message }) => {
    const err = await graphError(h.client.api('/users').filter(filter).get());
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('Request_UnsupportedQuery');
    if (message) expect(err.message).toBe(message);
  });

  it('caps `in` at 15 values on directory objects, like Graph', async () => {
    const many = Array.from({ length: 16 }, (_, i) => `'00000000-0000-4000-8000-${String(i).padStart(12, '0')}'`).join(',');
    const err = await graphError(h.client.api('/users').filter(`id in (${many})`).get());
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe("Too many child clauses specified in search filter expression containing 'OR' operators: 16. Max allowed: 15.");
  });

  it('rejects a malformed filter with 400 BadRequest', async () => {
    const err = await graphError(h.client.api('/users').filter("displayName eq 'unterminated").get());
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('BadRequest');
  });

  it('rejects filters on collections without filter support', async () => {
    const err = await graphError(h.client.api(`/groups/${G.staff}/members`).filter("displayName eq 'x'").get());
    expect(err.statusCode).toBe(400);
  });
});

describe('$count', () => {
  it('adds @odata.count with ConsistencyLevel: eventual', async () => {
    const res = await h.client.api('/users').header('ConsistencyLevel', 'eventual').count(true).filter('accountEnabled eq true').top(2).get();
    expect(res['@odata.count']).toBe(5);
    expect(res.value).toHaveLength(2);
  });

  it('answers 400 without ConsistencyLevel', async () => {
    const err = await graphError(h.client.api('/users').count(true).get());
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('Request_BadRequest');
  });

  it('serves /users/$count as text with the header and 400 without', async () => {
    const res = await fetch(`${h.emu.url}/v1.0/users/$count`, { headers: { Authorization: 'Bearer test-token', ConsistencyLevel: 'eventual' } });
    expect(await res.text()).toBe('6');
    const err = await graphError(h.client.api('/users/$count').get());
    expect(err.code).toBe('Request_UnsupportedQuery');
  });
});

describe('devices', () => {
  it('expands registeredOwners, optionally with a nested $select', async () => {
    const res = await h.client.api('/devices').expand('registeredOwners($select=id,userPrincipalName)').get();
    const win = res.value.find((d: { id: string }) => d.id === D.adeleWin);
    expect(win.operatingSystemVersion).toBe('10.0.17763.6659');
    expect(win.registeredOwners).toEqual([{ '@odata.type': '#microsoft.graph.user', id: U.adele, userPrincipalName: 'adele@contoso.com' }]);
    const plain = await h.client.api('/devices').get();
    expect(plain.value[0].registeredOwners).toBeUndefined();
  });

  it('rejects an unknown $expand', async () => {
    const err = await graphError(h.client.api('/devices').expand('memberOf').get());
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe("Could not find a property named 'memberOf' on type 'microsoft.graph.device'.");
  });

  it('serves /devices/{id}/registeredOwners', async () => {
    const res = await h.client.api(`/devices/${D.alexMac}/registeredOwners`).get();
    expect(res.value.map((o: { id: string }) => o.id)).toEqual([U.alex]);
    expect(res.value[0]['@odata.type']).toBe('#microsoft.graph.user');
  });
});

describe('roles', () => {
  it('lists role definitions', async () => {
    const res = await h.client.api('/roleManagement/directory/roleDefinitions').get();
    expect(res.value.map((r: { templateId: string }) => r.templateId)).toEqual([GA, SEC, HELPDESK]);
  });

  it('expands a role assignment principal, which may be a role-assignable group', async () => {
    const res = await h.client.api('/roleManagement/directory/roleAssignments').filter(`roleDefinitionId eq '${HELPDESK}'`).expand('principal').get();
    expect(res.value).toHaveLength(1);
    expect(res.value[0].principal['@odata.type']).toBe('#microsoft.graph.group');
    expect(res.value[0].principal.isAssignableToRole).toBe(true);
  });
});

describe('groups', () => {
  it('lists direct members with @odata.type', async () => {
    const res = await h.client.api(`/groups/${G.helpdesk}/members`).get();
    expect(res.value.map((m: { '@odata.type': string }) => m['@odata.type'])).toEqual(['#microsoft.graph.user', '#microsoft.graph.group']);
  });

  it('expands nested groups in transitiveMembers, each member once', async () => {
    const res = await h.client.api(`/groups/${G.helpdesk}/transitiveMembers`).get();
    expect(res.value.map((m: { id: string }) => m.id)).toEqual([U.diego, G.nested, U.emily]);
  });

  it('casts transitiveMembers to users', async () => {
    const res = await h.client.api(`/groups/${G.helpdesk}/transitiveMembers/microsoft.graph.user`).select('id').get();
    expect(res.value).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: U.diego },
      { '@odata.type': '#microsoft.graph.user', id: U.emily },
    ]);
  });

  it('answers 404 for an unknown group', async () => {
    const err = await graphError(h.client.api('/groups/00000000-0000-4000-8000-00000000ffff/members').get());
    expect(err.statusCode).toBe(404);
  });
});

describe('authentication methods', () => {
  it('hides the newer passkey names without Prefer: include-unknown-enum-members', async () => {
    const plain = await h.client.api('/reports/authenticationMethods/userRegistrationDetails').middlewareOptions(noRetry()).get();
    expect(plain.value[0].methodsRegistered).toEqual(['microsoftAuthenticatorPush', 'passKeyDeviceBound', 'unknownFutureValue']);
    h.clock.advance(10_000); // reports allow 5 requests per 10 s
    const full = await h.client.api('/reports/authenticationMethods/userRegistrationDetails').header('Prefer', 'include-unknown-enum-members').get();
    expect(full.value[0].methodsRegistered).toEqual(['microsoftAuthenticatorPush', 'passKeyDeviceBound', 'passKeyDeviceBoundAuthenticator']);
  });

  it('filters registration details by userPrincipalName', async () => {
    h.clock.advance(10_000);
    const res = await h.client.api('/reports/authenticationMethods/userRegistrationDetails').filter("userPrincipalName eq 'bg1@contoso.com'").get();
    expect(res.value.map((d: { id: string }) => d.id)).toEqual([U.bg1]);
  });

  it('lists a user’s fido2Methods with Graph’s @odata.type', async () => {
    const res = await h.client.api(`/users/${U.adele}/authentication/fido2Methods`).get();
    expect(res['@odata.context']).toBe(`${h.emu.url}/v1.0/$metadata#users('${U.adele}')/authentication/fido2Methods`);
    expect(res.value).toEqual([
      {
        '@odata.type': '#microsoft.graph.fido2AuthenticationMethod',
        id: 'm-adele-1',
        displayName: 'Authenticator',
        aaGuid: '90a3ccdf-635c-4729-a248-9b709135078f',
        model: 'Microsoft Authenticator - iOS',
        createdDateTime: '2026-03-01T10:00:00Z',
      },
    ]);
    expect((await h.client.api(`/users/${U.alex}/authentication/fido2Methods`).get()).value).toEqual([]);
  });

  it('serves the FIDO2 method configuration', async () => {
    const res = await h.client.api('/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2').get();
    expect(res['@odata.type']).toBe('#microsoft.graph.fido2AuthenticationMethodConfiguration');
    expect(res.state).toBe('enabled');
    expect(res.includeTargets).toEqual([{ targetType: 'group', id: 'all_users', isRegistrationRequired: false }]);
    const policy = await h.client.api('/policies/authenticationMethodsPolicy').get();
    expect(policy.authenticationMethodConfigurations).toHaveLength(1);
  });

  it('serves passkey profiles of the FIDO2 configuration on /beta only (beta fido2authenticationmethodconfiguration-get.md)', async () => {
    const tenant = tinyTenant();
    const fido = tenant.authenticationMethodsPolicy!.authenticationMethodConfigurations![0]!;
    const profile = { id: '00000000-0000-0000-0000-000000000001', name: 'Default passkey profile', passkeyTypes: 'deviceBound,synced', attestationEnforcement: 'disabled', keyRestrictions: { isEnforced: false, enforcementType: 'allow' as const, aaGuids: [] } };
    fido.passkeyProfiles = [profile];
    fido.defaultPasskeyProfile = profile.id;
    fido.includeTargets = [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false, allowedPasskeyProfiles: [profile.id] }];
    const withProfiles = await startHarness({ tenant });
    try {
      const path = '/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2';
      const beta = await withProfiles.client.api(path).version('beta').get();
      expect(beta.passkeyProfiles).toEqual([profile]);
      expect(beta.defaultPasskeyProfile).toBe(profile.id);
      expect(beta.includeTargets).toEqual([{ targetType: 'group', id: 'all_users', isRegistrationRequired: false, allowedPasskeyProfiles: [profile.id] }]);
      const v1 = await withProfiles.client.api(path).get();
      expect(v1).not.toHaveProperty('passkeyProfiles');
      expect(v1).not.toHaveProperty('defaultPasskeyProfile');
      expect(v1.includeTargets).toEqual([{ targetType: 'group', id: 'all_users', isRegistrationRequired: false }]);
      expect(v1.keyRestrictions).toEqual(fido.keyRestrictions);
    } finally {
      await withProfiles.emu.close();
    }
  });

  it('serves Conditional Access policies', async () => {
    h.clock.advance(2_000);
    const res = await h.client.api('/identity/conditionalAccess/policies').get();
    expect(res.value).toEqual([{ id: 'ca-1', displayName: 'Require MFA for admins', state: 'enabled' }]);
  });
});
