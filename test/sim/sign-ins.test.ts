// GET /auditLogs/signIns as Microsoft documents it (signin-list.md, resources/signin.md,
// appliedconditionalaccesspolicy.md, includes/signins-roles-for-ca-data.md), over real HTTP through the Graph
// client, and POST /_sim/sign-ins, which records sign-ins the way Entra evaluates Conditional Access for them.
import { afterEach, describe, expect, it } from 'vitest';
import type { FixtureConditionalAccessPolicy, FixtureSignIn, TenantFixture } from '../../src/sim/fixture';
import { validateFixture } from '../../src/sim/fixture';
import { graphError, noRetry, startHarness, type Harness } from './harness';
import { G, U, tinyTenant } from './tiny-tenant';

let h: Harness | undefined;
afterEach(async () => {
  const open = h;
  h = undefined;
  await open?.close();
});
const PREFER = ['Prefer', 'include-unknown-enum-members'] as const;
const PHISHING_RESISTANT = { id: '00000000-0000-0000-0000-000000000004', displayName: 'Phishing-resistant MFA', policyType: 'builtIn' };
const GRADUATED = '00000000-0000-4000-8000-0000000000c5';
const P = { campaign: 'ca-campaign', graduated: 'ca-graduated', legacy: 'ca-block-legacy', off: 'ca-off' };

const policy = (id: string, state: string, include: { groups?: string[]; users?: string[] }, grant: Record<string, unknown>, clientAppTypes = ['all']): FixtureConditionalAccessPolicy =>
  ({
    id,
    displayName: `policy ${id}`,
    state,
    conditions: {
      clientAppTypes,
      applications: { includeApplications: ['All'], excludeApplications: [] },
      users: { includeUsers: include.users ?? [], includeGroups: include.groups ?? [], excludeUsers: [U.bg1], excludeGroups: [], includeRoles: [], excludeRoles: [] },
    },
    grantControls: { operator: 'AND', builtInControls: [], ...grant },
  }) as FixtureConditionalAccessPolicy;

/**
 * The tiny tenant with a campaign: the report-only policy covers the enforcement group (Adele with a passkey, Alex
 * and Diego without one, break-glass excluded), the enabled graduated policy covers Emily (who has a passkey), an
 * enabled policy blocks legacy clients for everyone, and one policy is off.
 */
function campaignTenant(roles?: string[]): TenantFixture {
  const t = tinyTenant();
  t.groups = [
    ...t.groups!.map((g) => (g.id === G.enforced ? { ...g, members: [U.adele, U.alex, U.diego, U.bg1] } : g)),
    { id: GRADUATED, displayName: 'passkey-campaign-admins-passkeys-graduated', members: [U.emily] },
  ];
  t.fido2Methods = {
    ...t.fido2Methods,
    [U.emily]: [{ id: 'm-emily-1', displayName: 'Security key', aaGuid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8', model: 'YubiKey 5 Series', createdDateTime: '2026-10-01T10:00:00Z' }],
  };
  t.conditionalAccessPolicies = [
    policy(P.campaign, 'enabledForReportingButNotEnforced', { groups: [G.enforced] }, { authenticationStrength: PHISHING_RESISTANT }),
    policy(P.graduated, 'enabled', { groups: [GRADUATED] }, { authenticationStrength: PHISHING_RESISTANT }),
    policy(P.legacy, 'enabled', { users: ['All'] }, { operator: 'OR', builtInControls: ['block'] }, ['exchangeActiveSync', 'other']),
    policy(P.off, 'disabled', { users: ['All'] }, { operator: 'OR', builtInControls: ['mfa'] }),
  ];
  if (roles) t.application = { appId: '11111111-2222-3333-4444-555555555555', appRoles: roles };
  return t;
}
const ALL_ROLES = ['AuditLog.Read.All', 'Directory.Read.All', 'Policy.Read.All'];

const start = async (tenant: TenantFixture) => (h = await startHarness({ tenant }));
const hh = () => h!;
const signIn = (userId: string, method: string, extra: Record<string, unknown> = {}) => ({ userId, method, at: '2026-11-30T08:00:00Z', ...extra });
const record = async (signIns: unknown[]) => {
  const res = await hh().sim('POST', '/_sim/sign-ins', { signIns });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.value as FixtureSignIn[];
};
const resultOf = (s: FixtureSignIn, policyId: string) => s.appliedConditionalAccessPolicies?.find((p) => p.id === policyId)?.result;

describe('POST /_sim/sign-ins: Conditional Access evaluated as Entra records it', () => {
  it.each([
    { name: 'a passkey satisfies the report-only phishing-resistant policy', user: U.adele, method: 'passkey', client: 'Browser', campaign: 'reportOnlySuccess', status: 0 },
    { name: 'a password by a user who has a passkey would have asked for it', user: U.adele, method: 'password', client: 'Browser', campaign: 'reportOnlyInterrupted', status: 0 },
    { name: 'password and MFA do not meet phishing-resistant MFA either', user: U.adele, method: 'passwordAndMfa', client: 'Mobile Apps and Desktop clients', campaign: 'reportOnlyInterrupted', status: 0 },
    { name: 'a user without a passkey could not have met the policy at all', user: U.alex, method: 'passwordAndMfa', client: 'Browser', campaign: 'reportOnlyFailure', status: 0 },
    { name: 'a legacy client cannot do passkeys: would block, and the enabled block policy fails it', user: U.adele, method: 'password', client: 'IMAP4', campaign: 'reportOnlyFailure', status: 53003 },
    { name: 'Exchange ActiveSync is a legacy client too', user: U.diego, method: 'password', client: 'Exchange ActiveSync', campaign: 'reportOnlyFailure', status: 53003 },
    { name: 'an excluded break-glass account is not in scope', user: U.bg1, method: 'passkey', client: 'Browser', campaign: 'reportOnlyNotApplied', status: 0 },
    { name: 'a user outside the enforcement group is not in scope', user: U.emily, method: 'passkey', client: 'Browser', campaign: 'reportOnlyNotApplied', status: 0 },
  ])('$name', async ({ user, method, client, campaign, status }) => {
    await start(campaignTenant());
    const [s] = await record([signIn(user, method, { clientApp: client })]);
    expect(resultOf(s!, P.campaign)).toBe(campaign);
    expect(resultOf(s!, P.off)).toBe('notEnabled');
    expect(s!.status?.errorCode).toBe(status);
    expect(s!.clientAppUsed).toBe(client);
  });

  it('enforces the enabled graduated policy: success with a passkey, failure (50074) with a password', async () => {
    await start(campaignTenant());
    const [ok, strong, legacy] = await record([
      signIn(U.emily, 'passkey', { app: 'Microsoft Teams' }),
      signIn(U.emily, 'password', { app: 'Microsoft Teams' }),
      signIn(U.emily, 'password', { clientApp: 'POP3' }),
    ]);
    expect(resultOf(ok!, P.graduated)).toBe('success');
    expect(ok!.conditionalAccessStatus).toBe('success');
    expect(ok!.status?.errorCode).toBe(0);
    expect(ok!.appId).toBe('1fec8e78-bce4-4aaf-ab1b-5451cc387264');
    expect(resultOf(strong!, P.graduated)).toBe('failure');
    expect(strong!.conditionalAccessStatus).toBe('failure');
    expect(strong!.status?.errorCode).toBe(50074);
    expect(resultOf(legacy!, P.graduated)).toBe('failure');
    expect(resultOf(legacy!, P.legacy)).toBe('failure');
    expect(legacy!.status?.errorCode).toBe(53003);
    expect(resultOf(ok!, P.legacy)).toBe('notApplied');
  });

  it('follows group membership as it is now: a user added to the enforcement group is in scope from then on', async () => {
    await start(campaignTenant());
    const [before] = await record([signIn(U.emily, 'passkey')]);
    expect(resultOf(before!, P.campaign)).toBe('reportOnlyNotApplied');
    expect((await hh().sim('PATCH', '/_sim/tenant', { groups: [{ id: G.enforced, members: [U.emily] }] })).status).toBe(200);
    const [after] = await record([signIn(U.emily, 'passkey')]);
    expect(resultOf(after!, P.campaign)).toBe('reportOnlySuccess');
  });

  it('counts nested group membership and excluded groups', async () => {
    const t = campaignTenant();
    // G.helpdesk holds Diego and, through G.nested, Emily; Diego is excluded through G.nested.
    t.conditionalAccessPolicies = [
      {
        ...policy('nested', 'enabledForReportingButNotEnforced', { groups: [G.helpdesk] }, { authenticationStrength: PHISHING_RESISTANT }),
        conditions: { clientAppTypes: ['all'], applications: { includeApplications: ['All'] }, users: { includeGroups: [G.helpdesk], excludeGroups: [G.nested] } },
      } as FixtureConditionalAccessPolicy,
    ];
    t.groups = t.groups!.map((g) => (g.id === G.nested ? { ...g, members: [U.emily] } : g));
    await start(t);
    const [emily, diego] = await record([signIn(U.emily, 'passkey'), signIn(U.diego, 'password')]);
    expect(resultOf(emily!, 'nested')).toBe('reportOnlyNotApplied');
    expect(resultOf(diego!, 'nested')).toBe('reportOnlyFailure');
  });

  it('names the authentication steps after the method (beta authenticationDetail)', async () => {
    await start(campaignTenant());
    const [passkey, mfa, key] = await record([signIn(U.adele, 'passkey'), signIn(U.alex, 'passwordAndMfa'), signIn(U.emily, 'passkey')]);
    expect(passkey!.authenticationDetails?.map((d) => [d.authenticationMethod, d.succeeded])).toEqual([['Passkey (device-bound)', true]]);
    expect(mfa!.authenticationDetails?.map((d) => d.authenticationMethod)).toEqual(['Password', 'Authenticator App']);
    expect(key!.authenticationDetails?.map((d) => d.authenticationMethod)).toEqual(['FIDO2 security key']);
  });

  it.each([
    { name: 'a passkey sign-in by a user without a passkey', entry: signIn(U.alex, 'passkey'), message: 'alex@contoso.com has no passkey registered' },
    { name: 'MFA over a legacy client', entry: signIn(U.adele, 'passwordAndMfa', { clientApp: 'IMAP4' }), message: 'signs in with a password only' },
    { name: 'an unknown client', entry: signIn(U.adele, 'password', { clientApp: 'Telnet' }), message: '$.signIns[0].clientApp: must be one of' },
    { name: 'an unknown method', entry: signIn(U.adele, 'sms'), message: '$.signIns[0].method: must be one of passkey, password, passwordAndMfa' },
    { name: 'an unknown user', entry: signIn('nobody@contoso.com', 'password'), message: 'no user "nobody@contoso.com"' },
    { name: 'a bad date', entry: signIn(U.adele, 'password', { at: 'yesterday' }), message: '$.signIns[0].at: must be an ISO 8601 date-time' },
  ])('refuses $name with 400 and records nothing', async ({ entry, message }) => {
    await start(campaignTenant());
    const res = await hh().sim('POST', '/_sim/sign-ins', { signIns: [signIn(U.adele, 'passkey'), entry].reverse() });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('InvalidSignIns');
    expect(res.body.error.message).toContain(message);
    expect((await hh().client.api('/auditLogs/signIns').get()).value).toEqual([]);
  });
});

describe('GET /auditLogs/signIns', () => {
  const three = async (roles?: string[]) => {
    await start(campaignTenant(roles));
    await record([
      signIn(U.adele, 'passkey', { at: '2026-11-28T08:00:00Z' }),
      signIn(U.alex, 'password', { at: '2026-11-29T08:00:00Z', clientApp: 'IMAP4', app: 'Office 365 Exchange Online' }),
      signIn(U.emily, 'passkey', { at: '2026-11-30T08:00:00Z', app: 'Microsoft Teams' }),
    ]);
  };

  describe('permissions: AuditLog.Read.All and Directory.Read.All, both', () => {
    it.each([
      ['without AuditLog.Read.All', ['Directory.Read.All', 'Policy.Read.All']],
      ['without Directory.Read.All', ['AuditLog.Read.All', 'Policy.Read.All']],
      ['with Directory.ReadWrite.All instead of Directory.Read.All', ['AuditLog.Read.All', 'Directory.ReadWrite.All', 'Policy.Read.All']],
    ])('403 %s', async (_name, roles) => {
      await three(roles);
      const err = await graphError(hh().client.api('/auditLogs/signIns').middlewareOptions(noRetry()).get());
      expect(err.statusCode).toBe(403);
      expect(err.code).toBe('Authorization_RequestDenied');
    });

    it('omits appliedConditionalAccessPolicies for an app without a Conditional Access permission', async () => {
      await three(['AuditLog.Read.All', 'Directory.Read.All']);
      const res = await hh().client.api('/auditLogs/signIns').header(...PREFER).get();
      expect(res.value).toHaveLength(3);
      for (const s of res.value) expect(s).not.toHaveProperty('appliedConditionalAccessPolicies');
    });

    it.each([['Policy.Read.All'], ['Policy.ReadWrite.ConditionalAccess'], ['Policy.Read.ConditionalAccess']])('includes them with %s', async (ca) => {
      await three(['AuditLog.Read.All', 'Directory.Read.All', ca]);
      const res = await hh().client.api('/auditLogs/signIns').header(...PREFER).get();
      for (const s of res.value) expect(s.appliedConditionalAccessPolicies).toHaveLength(4);
    });
  });

  it('hides the report-only results without Prefer: include-unknown-enum-members, and shows them with it', async () => {
    await three(ALL_ROLES);
    const without = (await hh().client.api('/auditLogs/signIns').get()).value;
    const withPrefer = (await hh().client.api('/auditLogs/signIns').header(...PREFER).get()).value;
    const results = (list: FixtureSignIn[]) => list.map((s) => s.appliedConditionalAccessPolicies!.map((p) => p.result));
    expect(results(withPrefer)).toEqual([
      ['reportOnlyNotApplied', 'success', 'notApplied', 'notEnabled'],
      ['reportOnlyFailure', 'notApplied', 'failure', 'notEnabled'],
      ['reportOnlySuccess', 'notApplied', 'notApplied', 'notEnabled'],
    ]);
    expect(results(without)).toEqual([
      ['unknownFutureValue', 'success', 'notApplied', 'notEnabled'],
      ['unknownFutureValue', 'notApplied', 'failure', 'notEnabled'],
      ['unknownFutureValue', 'notApplied', 'notApplied', 'notEnabled'],
    ]);
  });

  it('serves v1.0 properties on v1.0 and adds authenticationDetails on /beta', async () => {
    await three();
    const v1 = (await hh().client.api('/auditLogs/signIns').get()).value[0];
    expect(v1).not.toHaveProperty('authenticationDetails');
    expect(v1).toMatchObject({ userPrincipalName: 'emily@contoso.com', appDisplayName: 'Microsoft Teams', clientAppUsed: 'Browser', conditionalAccessStatus: 'success', isInteractive: true });
    const beta = (await hh().client.api('/auditLogs/signIns').version('beta').get()).value[0];
    expect(beta.authenticationDetails[0].authenticationMethod).toBe('FIDO2 security key');
  });

  describe('$filter: only what resources/signin.md documents', () => {
    it.each([
      ['createdDateTime ge 2026-11-29T00:00:00Z', 2],
      ['createdDateTime ge 2026-11-29T00:00:00Z and createdDateTime le 2026-11-29T23:59:59Z', 1],
      ['createdDateTime eq 2026-11-28T08:00:00Z', 1],
      [`userId eq '${U.adele}'`, 1],
      ["userPrincipalName eq 'ALEX@contoso.com'", 1],
      ["startswith(userPrincipalName,'e')", 1],
      ["appId eq '1fec8e78-bce4-4aaf-ab1b-5451cc387264'", 1],
      ["startswith(appDisplayName,'Office 365')", 1],
      ["clientAppUsed eq 'IMAP4'", 1],
      ["conditionalAccessStatus eq 'failure'", 1],
      ['status/errorCode eq 53003', 1],
      [`createdDateTime ge 2026-11-01T00:00:00Z and userId eq '${U.emily}'`, 1],
    ])('accepts %s', async (filter, n) => {
      await three();
      expect((await hh().client.api('/auditLogs/signIns').filter(filter).get()).value).toHaveLength(n);
    });

    it.each([
      ['createdDateTime lt 2026-11-29T00:00:00Z', 'Request_UnsupportedQuery'],
      ['createdDateTime gt 2026-11-29T00:00:00Z', 'Request_UnsupportedQuery'],
      ["createdDateTime ge '2026-11-29T00:00:00Z'", 'BadRequest'],
      [`userId in ('${U.adele}')`, 'Request_UnsupportedQuery'],
      [`userId ne '${U.adele}'`, 'Request_UnsupportedQuery'],
      ["startswith(userId,'0')", 'Request_UnsupportedQuery'],
      ["isInteractive eq true", 'Request_UnsupportedQuery'],
      [`userId eq '${U.adele}' or userId eq '${U.alex}'`, 'Request_UnsupportedQuery'],
      ["appliedConditionalAccessPolicies/any(p:p/id eq 'x')", 'Request_UnsupportedQuery'],
    ])('rejects %s with 400 %s', async (filter, code) => {
      await three();
      const err = await graphError(hh().client.api('/auditLogs/signIns').filter(filter).middlewareOptions(noRetry()).get());
      expect(err.statusCode).toBe(400);
      expect(err.code).toBe(code);
    });

    it.each([['$select=id'], ['$orderby=createdDateTime'], ['$count=true'], ['$skip=1'], ['$top=1001'], ['$top=0']])('rejects %s with 400', async (q) => {
      await three();
      const err = await graphError(hh().client.api(`/auditLogs/signIns?${q}`).middlewareOptions(noRetry()).get());
      expect(err.statusCode).toBe(400);
    });
  });

  describe('paging and order', () => {
    const many = (n: number): FixtureSignIn[] =>
      Array.from({ length: n }, (_, i) => ({
        id: `s-${String(i).padStart(5, '0')}`,
        // Deliberately not in time order: the emulator sorts.
        createdDateTime: new Date(Date.UTC(2026, 10, 1) + ((i * 7919) % n) * 60_000).toISOString(),
        userId: U.adele,
        userPrincipalName: 'adele@contoso.com',
        appDisplayName: 'Microsoft Office',
        clientAppUsed: 'Browser',
        appliedConditionalAccessPolicies: [{ id: P.campaign, displayName: 'campaign', result: 'reportOnlySuccess' }],
        authenticationDetails: [{ authenticationMethod: 'Passkey (device-bound)', succeeded: true }],
      }));

    it('pages 1,000 by default, newest first, and $skiptoken continues where the page ended', async () => {
      await start({ ...tinyTenant(), signIns: many(2500) });
      const seen: string[] = [];
      const times: string[] = [];
      let page = await hh().client.api('/auditLogs/signIns').get();
      const sizes: number[] = [];
      for (;;) {
        sizes.push(page.value.length);
        for (const s of page.value) {
          seen.push(s.id);
          times.push(s.createdDateTime);
        }
        if (!page['@odata.nextLink']) break;
        expect(page['@odata.nextLink']).toContain('$skiptoken=');
        page = await hh().client.api(hh().next(page['@odata.nextLink'])).get();
      }
      expect(sizes).toEqual([1000, 1000, 500]);
      expect(new Set(seen).size).toBe(2500);
      expect([...times].sort().reverse()).toEqual(times);
    });

    it('$top sets the page size and the nextLink keeps it and the filter', async () => {
      await start({ ...tinyTenant(), signIns: many(30) });
      const first = await hh().client.api('/auditLogs/signIns').filter('createdDateTime ge 2026-11-01T00:10:00Z').top(7).get();
      expect(first.value).toHaveLength(7);
      const link: string = first['@odata.nextLink'];
      expect(link).toContain('$top=7');
      expect(decodeURIComponent(link)).toContain('createdDateTime ge 2026-11-01T00:10:00Z');
      const all = [...first.value];
      let next: string | undefined = link;
      while (next) {
        const page = await hh().client.api(hh().next(next)).get();
        all.push(...page.value);
        next = page['@odata.nextLink'];
      }
      expect(all).toHaveLength(20);
      expect(all.map((s: FixtureSignIn) => s.createdDateTime)).toEqual(all.map((s: FixtureSignIn) => s.createdDateTime).sort().reverse());
    });

    it('rejects a $skiptoken it did not issue', async () => {
      await start({ ...tinyTenant(), signIns: many(3) });
      const err = await graphError(hh().client.api('/auditLogs/signIns?$skiptoken=abc').middlewareOptions(noRetry()).get());
      expect(err.statusCode).toBe(400);
    });
  });

  it('is throttled in the identity and access reports class: the 6th request in 10 s answers 429 with Retry-After', async () => {
    await three();
    for (let i = 0; i < 5; i++) await hh().client.api('/auditLogs/signIns').middlewareOptions(noRetry()).get();
    const err = await graphError(hh().client.api('/auditLogs/signIns').middlewareOptions(noRetry()).get());
    expect(err.statusCode).toBe(429);
    expect(err.headers?.get('Retry-After')).toBeTruthy();
    expect((await hh().sim('GET', '/_sim/usage')).body.reports).toBe(5);
  });
});

describe('the signIns fixture key', () => {
  it('loads Graph-shaped sign-ins', () => {
    const r = validateFixture({ signIns: [{ id: 's1', createdDateTime: '2026-11-30T08:00:00Z', userId: U.adele, appliedConditionalAccessPolicies: [{ id: 'p', displayName: 'x', result: 'reportOnlyFailure' }], authenticationDetails: [{ authenticationMethod: 'Password', succeeded: true }] }] });
    expect(r.errors).toEqual([]);
    expect(r.fixture.signIns).toHaveLength(1);
  });

  it.each([
    [{ id: 's1', userId: U.adele }, '$.signIns[0].createdDateTime: is required'],
    [{ id: 's1', createdDateTime: '2026-11-30T08:00:00Z' }, '$.signIns[0].userId: is required'],
    [{ id: 's1', createdDateTime: 'last week', userId: U.adele }, '$.signIns[0].createdDateTime: must be an ISO 8601 date-time'],
    [{ id: 's1', createdDateTime: '2026-11-30T08:00:00Z', userId: U.adele, appliedConditionalAccessPolicies: [{ id: 'p', result: 'blocked' }] }, '$.signIns[0].appliedConditionalAccessPolicies[0].result: must be one of success, failure'],
    [{ id: 's1', createdDateTime: '2026-11-30T08:00:00Z', userId: U.adele, authenticationDetails: [{ succeeded: 'yes' }] }, '$.signIns[0].authenticationDetails[0].succeeded: must be true or false'],
    [{ id: 's1', createdDateTime: '2026-11-30T08:00:00Z', userId: U.adele, conditionalAccessStatus: 'blocked' }, '$.signIns[0].conditionalAccessStatus: must be one of'],
  ])('names the field of a bad sign-in: %j', (item, message) => {
    const r = validateFixture({ signIns: [item] });
    expect(r.errors.join('\n')).toContain(message);
  });
});
