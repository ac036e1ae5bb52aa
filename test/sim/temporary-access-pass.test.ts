// Temporary Access Passes, the TemporaryAccessPass configuration and /users/{id}/manager, over real HTTP through the
// real Graph client, as microsoftgraph/microsoft-graph-docs-contrib documents them (src/sim/temporary-access-pass.ts).
import { afterEach, describe, expect, it } from 'vitest';
import type { FixtureMethodConfiguration, TenantFixture } from '../../src/sim/fixture';
import { validateFixture } from '../../src/sim/fixture';
import { generateTenant, SIM_IDS } from '../../src/sim/generate';
import { graphError, startHarness, type Harness } from './harness';
import { G, U, tinyTenant } from './tiny-tenant';

const TAP_POLICY: FixtureMethodConfiguration = {
  '@odata.type': '#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration',
  id: 'TemporaryAccessPass',
  state: 'enabled',
  defaultLifetimeInMinutes: 480,
  defaultLength: 10,
  minimumLifetimeInMinutes: 60,
  maximumLifetimeInMinutes: 1440,
  isUsableOnce: true,
  includeTargets: [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false }],
  excludeTargets: [{ targetType: 'group', id: G.helpdesk }],
};

function tenant(extra: Partial<TenantFixture> = {}, tap: Record<string, unknown> = {}): TenantFixture {
  const t = tinyTenant();
  t.users = t.users!.map((u) => (u.id === U.alex ? { ...u, managerId: U.adele } : u));
  t.authenticationMethodsPolicy!.authenticationMethodConfigurations!.push({ ...TAP_POLICY, ...tap } as FixtureMethodConfiguration);
  return { ...t, ...extra };
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
const start = async (t: TenantFixture) => (h = await startHarness({ tenant: t }));
const taps = (userId: string) => `/users/${userId}/authentication/temporaryAccessPassMethods`;
const withRoles = (appRoles: string[]) => tenant({ application: { appId: '11111111-2222-3333-4444-555555555555', appRoles } });

describe('GET the TemporaryAccessPass configuration', () => {
  it('serves its documented properties', async () => {
    const { client } = await start(tenant());
    const cfg = await client.api('/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass').get();
    expect(cfg).toMatchObject({
      '@odata.type': '#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration',
      id: 'TemporaryAccessPass',
      state: 'enabled',
      defaultLifetimeInMinutes: 480,
      defaultLength: 10,
      minimumLifetimeInMinutes: 60,
      maximumLifetimeInMinutes: 1440,
      isUsableOnce: true,
      includeTargets: [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false }],
    });
  });

  it('needs a policy read permission the page lists (403 without)', async () => {
    const { client } = await start(withRoles(['User.Read.All']));
    const err = await graphError(client.api('/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass').get());
    expect([err.statusCode, err.code]).toEqual([403, 'Authorization_RequestDenied']);
    await h!.close();
    const ok = await start(withRoles(['Policy.Read.All']));
    expect((await ok.client.api('/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass').get()).id).toBe('TemporaryAccessPass');
  });
});

describe('POST/GET/DELETE temporaryAccessPassMethods', () => {
  it('returns the pass on creation only; reads show it as null', async () => {
    const { client } = await start(tenant());
    const created = await client.api(taps(U.alex)).post({ lifetimeInMinutes: 120, isUsableOnce: true });
    expect(created).toMatchObject({
      '@odata.type': '#microsoft.graph.temporaryAccessPassAuthenticationMethod',
      lifetimeInMinutes: 120,
      isUsableOnce: true,
      isUsable: true,
      methodUsabilityReason: 'EnabledByPolicy',
      startDateTime: '2026-12-01T06:00:00.000Z',
    });
    expect(created.temporaryAccessPass).toMatch(/^\S{10}$/);
    const listed = await client.api(taps(U.alex)).get();
    expect(listed.value).toHaveLength(1);
    expect(listed.value[0]).toMatchObject({ id: created.id, temporaryAccessPass: null, isUsable: true });
    const one = await client.api(`${taps(U.alex)}/${created.id}`).get();
    expect(one.temporaryAccessPass).toBeNull();
    const dump = await h!.sim('GET', '/_sim/tenant');
    expect(JSON.stringify(dump.body)).not.toContain(created.temporaryAccessPass);
    await client.api(`${taps(U.alex)}/${created.id}`).delete();
    expect((await client.api(taps(U.alex)).get()).value).toEqual([]);
    const gone = await graphError(client.api(`${taps(U.alex)}/${created.id}`).get());
    expect(gone.statusCode).toBe(404);
  });

  it('takes the policy defaults when the body names none', async () => {
    const { client } = await start(tenant());
    const created = await client.api(taps(U.alex)).post({});
    expect(created).toMatchObject({ lifetimeInMinutes: 480, isUsableOnce: true });
  });

  it('replaces a user\'s earlier pass: a user has one at most', async () => {
    const { client } = await start(tenant());
    const first = await client.api(taps(U.alex)).post({ lifetimeInMinutes: 60 });
    const second = await client.api(taps(U.alex)).post({ lifetimeInMinutes: 90 });
    const listed = (await client.api(taps(U.alex)).get()).value;
    expect(listed.map((t: { id: string }) => t.id)).toEqual([second.id]);
    expect(second.id).not.toBe(first.id);
  });

  it('creating needs UserAuthenticationMethod.ReadWrite.All; reading takes UserAuthenticationMethod.Read.All', async () => {
    const { client } = await start(withRoles(['UserAuthenticationMethod.Read.All', 'User.Read.All']));
    const err = await graphError(client.api(taps(U.alex)).post({ lifetimeInMinutes: 120 }));
    expect([err.statusCode, err.code]).toEqual([403, 'Authorization_RequestDenied']);
    expect((await client.api(taps(U.alex)).get()).value).toEqual([]);
    await h!.close();
    const w = await start(withRoles(['UserAuthenticationMethod.ReadWrite.All']));
    expect((await w.client.api(taps(U.alex)).post({ lifetimeInMinutes: 120 })).isUsable).toBe(true);
  });

  it.each([
    ['a lifetime below the policy minimum', {}, { lifetimeInMinutes: 30 }, 'minimumLifetimeInMinutes'],
    ['a lifetime above the policy maximum', {}, { lifetimeInMinutes: 2000 }, 'maximumLifetimeInMinutes'],
    ['a multi-use pass when the policy makes passes usable once', {}, { isUsableOnce: false }, 'isUsableOnce'],
    ['the method disabled', { state: 'disabled' }, {}, 'disabled'],
    ['a lifetime past the documented 43200 minutes', { maximumLifetimeInMinutes: 43200 }, { lifetimeInMinutes: 43201 }, 'lifetimeInMinutes'],
  ])('refuses %s with 400 and creates nothing', async (_why, policy, body, mention) => {
    const { client } = await start(tenant({}, policy));
    const err = await graphError(client.api(taps(U.alex)).post(body));
    expect([err.statusCode, err.code]).toEqual([400, 'badRequest']);
    expect(err.message).toContain(mention);
    expect((await client.api(taps(U.alex)).get()).value).toEqual([]);
  });

  it('refuses a user the policy excludes (a group of its excludeTargets)', async () => {
    const { client } = await start(tenant());
    const err = await graphError(client.api(taps(U.emily)).post({})); // emily is in helpdesk-nested, inside G.helpdesk
    expect([err.statusCode, err.code]).toEqual([400, 'badRequest']);
    expect(err.message).toContain('not targeted');
  });

  it('a pass that starts later is NotYetValid, and Expired after its lifetime', async () => {
    const { client, clock } = await start(tenant());
    const created = await client.api(taps(U.alex)).post({ startDateTime: '2026-12-02T06:00:00Z', lifetimeInMinutes: 60 });
    expect([created.isUsable, created.methodUsabilityReason]).toEqual([false, 'NotYetValid']);
    clock.advance(86_400_000 + 30 * 60_000);
    expect((await client.api(taps(U.alex)).get()).value[0]).toMatchObject({ isUsable: true, methodUsabilityReason: 'EnabledByPolicy' });
    clock.advance(60 * 60_000);
    expect((await client.api(taps(U.alex)).get()).value[0]).toMatchObject({ isUsable: false, methodUsabilityReason: 'Expired' });
  });
});

describe('GET /users/{id}/manager', () => {
  it('answers the manager as a user, and 404 for a user without one', async () => {
    const { client } = await start(tenant());
    const m = await client.api(`/users/${U.alex}/manager`).get();
    expect(m).toMatchObject({ '@odata.type': '#microsoft.graph.user', id: U.adele, userPrincipalName: 'adele@contoso.com', displayName: 'Adele Vance' });
    const err = await graphError(client.api(`/users/${U.diego}/manager`).get());
    expect([err.statusCode, err.code]).toEqual([404, 'Request_ResourceNotFound']);
  });

  it('never shows managerId as a user property', async () => {
    const { client } = await start(tenant());
    expect(await client.api(`/users/${U.alex}`).version('beta').get()).not.toHaveProperty('managerId');
    expect((await client.api(`/users/${U.alex}`).select('id,managerId').get()).managerId ?? null).toBeNull();
  });

  it('needs a user read permission (403 without)', async () => {
    const { client } = await start(withRoles(['UserAuthenticationMethod.ReadWrite.All']));
    const err = await graphError(client.api(`/users/${U.alex}/manager`).get());
    expect([err.statusCode, err.code]).toEqual([403, 'Authorization_RequestDenied']);
  });
});

describe('a sign-in with the pass (POST /_sim/sign-ins, method temporaryAccessPass)', () => {
  it('uses up a usable-once pass: OneTimeUsed, and a second sign-in with it is refused', async () => {
    const { client } = await start(tenant());
    const created = await client.api(taps(U.alex)).post({ lifetimeInMinutes: 480 });
    const wrong = await h!.sim('POST', '/_sim/sign-ins', { signIns: [{ userId: U.alex, method: 'temporaryAccessPass', temporaryAccessPass: 'not-the-pass' }] });
    expect(wrong.status).toBe(400);
    const ok = await h!.sim('POST', '/_sim/sign-ins', { signIns: [{ userId: U.alex, method: 'temporaryAccessPass', temporaryAccessPass: created.temporaryAccessPass }] });
    expect(ok.status).toBe(200);
    expect(JSON.stringify(ok.body)).not.toContain(created.temporaryAccessPass);
    expect((await client.api(taps(U.alex)).get()).value[0]).toMatchObject({ isUsable: false, methodUsabilityReason: 'OneTimeUsed' });
    const again = await h!.sim('POST', '/_sim/sign-ins', { signIns: [{ userId: U.alex, method: 'temporaryAccessPass' }] });
    expect(again.status).toBe(400);
    expect(again.body.error.message).toContain('OneTimeUsed');
  });

  it('is refused for a user without a pass, and records nothing', async () => {
    await start(tenant());
    const r = await h!.sim('POST', '/_sim/sign-ins', { signIns: [{ userId: U.diego, method: 'temporaryAccessPass' }] });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('no Temporary Access Pass');
    expect((await h!.sim('GET', '/_sim/tenant')).body.signIns).toEqual([]);
  });
});

describe('fixture and generated tenants', () => {
  it('validates managerId and the TemporaryAccessPass limits with path and field', () => {
    const bad = tenant({}, { minimumLifetimeInMinutes: 500, maximumLifetimeInMinutes: 100, defaultLength: 4 });
    bad.users![0] = { ...bad.users![0]!, managerId: 42 as unknown as string };
    const { errors } = validateFixture(bad);
    expect(errors).toContain('$.users[0].managerId: must be a non-empty string (got 42).');
    expect(errors.some((e) => e.startsWith('$.authenticationMethodsPolicy.authenticationMethodConfigurations[1].defaultLength: must be a whole number from 8 to 48'))).toBe(true);
    expect(errors.some((e) => e.startsWith('$.authenticationMethodsPolicy.authenticationMethodConfigurations[1].minimumLifetimeInMinutes: must not exceed'))).toBe(true);
    const dangling = tenant();
    dangling.users![1] = { ...dangling.users![1]!, managerId: 'nobody' };
    expect(validateFixture(dangling).warnings).toContain('$.users[1].managerId: "nobody" is not a user in $.users.');
  });

  it('generate gives most users a manager (not all, never break-glass) and enables usable-once passes', () => {
    const t = generateTenant({ users: 400, seed: 'tap' });
    const ids = new Set(t.users!.map((u) => u.id));
    const withManager = t.users!.filter((u) => u.managerId);
    expect(withManager.length).toBeGreaterThan(t.users!.length * 0.7);
    expect(withManager.length).toBeLessThan(t.users!.length);
    for (const u of withManager) expect(ids.has(u.managerId!) && u.managerId !== u.id).toBe(true);
    expect(t.users!.find((u) => u.id === SIM_IDS.breakGlass1)!.managerId).toBeUndefined();
    const cfg = t.authenticationMethodsPolicy!.authenticationMethodConfigurations!.find((c) => c.id === 'TemporaryAccessPass')!;
    expect(cfg).toMatchObject({ state: 'enabled', isUsableOnce: true, defaultLength: 8, minimumLifetimeInMinutes: 60, maximumLifetimeInMinutes: 1440, defaultLifetimeInMinutes: 480 });
    expect(validateFixture(t).errors).toEqual([]);
  });
});
