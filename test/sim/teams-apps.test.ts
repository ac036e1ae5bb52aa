// Teams as Graph documents it, with the org catalog (`teamsApps`) and installations present: the activity type
// must be declared by the sending app, a text topic's webUrl must point at it, the app must be installed for the
// recipient (concepts/teams-send-activityfeednotifications.md), installedApps can be listed and posted
// (userteamwork-list-installedapps.md, userteamwork-post-installedapps.md), and the Teams limits apply
// (concepts/throttling-limits.md). Without the keys the emulator stays lenient.
import { afterEach, describe, expect, it } from 'vitest';
import type { TenantFixture } from '../../src/sim/fixture';
import { graphError, startHarness, type Harness } from './harness';
import { U, tinyTenant } from './tiny-tenant';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const APP = 'teams-app-passkeys';
const CLIENT_ID = 'aaaaaaaa-0000-4000-8000-000000000001';
const catalog: Partial<TenantFixture> = {
  teamsApps: [
    { id: APP, externalId: 'ext-1', displayName: 'Passkey campaigns', webApplicationInfoId: CLIENT_ID, activityTypes: ['passkeyCampaign'] },
    { id: 'other-app', externalId: 'ext-2', displayName: 'Other', activityTypes: ['taskCreated'] },
  ],
};

async function start(extra: Partial<TenantFixture>, throttle = false): Promise<Harness> {
  h = await startHarness({ tenant: { ...tinyTenant(), ...extra }, faults: { throttle } });
  return h;
}

const activity = (o: { activityType?: string; webUrl?: string } = {}) => ({
  topic: { source: 'text', value: 'Passkeys', webUrl: o.webUrl ?? `https://teams.microsoft.com/l/entity/${APP}/passkeys` },
  activityType: o.activityType ?? 'passkeyCampaign',
  previewText: { content: 'Register a passkey' },
});
const notify = (userId: string, body: unknown) => h!.client.api(`/users/${userId}/teamwork/sendActivityNotification`).post(body);
const received = async () => ((await h!.sim('GET', '/_sim/notifications')).body.value as Array<{ userId: string }>).map((n) => n.userId);

describe('sendActivityNotification with the catalog present', () => {
  it('refuses an activity type the sending app does not declare with 400, and records nothing', async () => {
    await start({ ...catalog, teamsAppInstallations: { [U.adele]: [APP] } });
    const err = await graphError(notify(U.adele, activity({ activityType: 'taskCreated' })));
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('BadRequest');
    expect(err.message).toMatch(/Activity type 'taskCreated' is not declared/);
    expect(await received()).toEqual([]);
  });

  it('accepts the reserved systemDefault activity type without a declaration', async () => {
    await start({ ...catalog, teamsAppInstallations: { [U.adele]: [APP] } });
    await notify(U.adele, activity({ activityType: 'systemDefault' }));
    expect(await received()).toEqual([U.adele]);
  });

  it.each([
    { name: 'another app', webUrl: 'https://teams.microsoft.com/l/entity/other-app/passkeys' },
    { name: 'a site outside Teams', webUrl: 'https://contoso.com/passkeys' },
    { name: 'a Teams link that is no app entity', webUrl: 'https://teams.microsoft.com/l/message/19:abc/1' },
  ])('refuses a topic webUrl pointing at $name with 400', async ({ webUrl }) => {
    await start({ ...catalog, teamsAppInstallations: { [U.adele]: [APP] } });
    const err = await graphError(notify(U.adele, activity({ webUrl })));
    expect(err.statusCode).toBe(400);
    expect(err.message).toMatch(/does not point at the Teams app/);
    expect(await received()).toEqual([]);
  });

  it('refuses a text topic without webUrl with 400', async () => {
    await start({ ...catalog, teamsAppInstallations: { [U.adele]: [APP] } });
    const err = await graphError(notify(U.adele, { ...activity(), topic: { source: 'text', value: 'Passkeys' } }));
    expect(err.statusCode).toBe(400);
  });

  it('accepts a webUrl naming the app by its manifest id (externalId)', async () => {
    await start({ ...catalog, teamsAppInstallations: { [U.adele]: [APP] } });
    await notify(U.adele, activity({ webUrl: 'https://teams.microsoft.com/l/entity/ext-1/passkeys' }));
    expect(await received()).toEqual([U.adele]);
  });

  it('refuses a recipient without the app with 403', async () => {
    await start({ ...catalog, teamsAppInstallations: { [U.adele]: [APP] } });
    expect((await graphError(notify(U.alex, activity()))).statusCode).toBe(403);
    expect(await received()).toEqual([]);
  });

  it('without the catalog keys any activity type and webUrl go through, as before', async () => {
    await start({});
    await notify(U.alex, activity({ activityType: 'anything', webUrl: 'https://contoso.com/x' }));
    expect(await received()).toEqual([U.alex]);
  });
});

describe('installedApps', () => {
  it('POST installs the app (201), a second POST is 409 Conflict, and the notification then goes through', async () => {
    await start({ ...catalog, teamsAppInstallations: {} });
    const install = () => h!.client.api(`/users/${U.alex}/teamwork/installedApps`).responseType('raw' as never).post({ 'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${APP}` }) as Promise<Response>;
    expect((await graphError(notify(U.alex, activity()))).statusCode).toBe(403);
    expect((await install()).status).toBe(201);
    const again = await install();
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('Conflict');
    await notify(U.alex, activity());
    expect(await received()).toEqual([U.alex]);
    expect((await h!.sim('GET', '/_sim/tenant')).body.teamsAppInstallations).toEqual({ [U.alex]: [APP] });
  });

  it('POST of an app that is not in the catalog is 404', async () => {
    await start({ ...catalog, teamsAppInstallations: {} });
    const err = await graphError(h!.client.api(`/users/${U.alex}/teamwork/installedApps`).post({ 'teamsApp@odata.bind': 'https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/nope' }));
    expect(err.statusCode).toBe(404);
  });

  it('GET lists the installations, with $filter on teamsApp/id or teamsApp/externalId and $expand=teamsApp', async () => {
    await start({ ...catalog, teamsAppInstallations: { [U.adele]: [APP, 'other-app'] } });
    const all = await h!.client.api(`/users/${U.adele}/teamwork/installedApps`).get();
    expect(all.value).toHaveLength(2);
    expect(Object.keys(all.value[0])).toEqual(['id']);
    const one = await h!.client.api(`/users/${U.adele}/teamwork/installedApps`).query({ $filter: `teamsApp/id eq '${APP}'`, $expand: 'teamsApp' }).get();
    expect(one.value.map((i: { teamsApp: { id: string; externalId: string } }) => [i.teamsApp.id, i.teamsApp.externalId])).toEqual([[APP, 'ext-1']]);
    const ext = await h!.client.api(`/users/${U.adele}/teamwork/installedApps`).query({ $filter: "teamsApp/externalId eq 'ext-2'", $expand: 'teamsAppDefinition' }).get();
    expect(ext.value.map((i: { teamsAppDefinition: { teamsAppId: string } }) => i.teamsAppDefinition.teamsAppId)).toEqual(['other-app']);
    expect((await h!.client.api(`/users/${U.alex}/teamwork/installedApps`).get()).value).toEqual([]);
  });

  it('GET refuses query options the page does not document', async () => {
    await start({ ...catalog, teamsAppInstallations: {} });
    expect((await graphError(h!.client.api(`/users/${U.adele}/teamwork/installedApps`).query({ $top: '5' }).get())).statusCode).toBe(400);
    expect((await graphError(h!.client.api(`/users/${U.adele}/teamwork/installedApps`).query({ $filter: "displayName eq 'x'" }).get())).statusCode).toBe(400);
  });
});

describe('Teams throttling', () => {
  it('admits 5 activity notifications a second and answers the 6th with 429 and Retry-After', async () => {
    await start({}, true);
    const batch = {
      requests: Array.from({ length: 6 }, (_, i) => ({ id: String(i), method: 'POST', url: `/users/${U.adele}/teamwork/sendActivityNotification`, headers: { 'Content-Type': 'application/json' }, body: activity() })),
    };
    const r = await h!.client.api('/$batch').post(batch);
    const statuses = (r.responses as Array<{ id: string; status: number; headers?: Record<string, string> }>).sort((a, b) => Number(a.id) - Number(b.id));
    expect(statuses.map((x) => x.status)).toEqual([204, 204, 204, 204, 204, 429]);
    expect(statuses[5]!.headers?.['Retry-After']).toBe('1');
    h!.clock.advance(1000);
    expect((await h!.client.api('/$batch').post({ requests: batch.requests.slice(0, 5) })).responses.every((x: { status: number }) => x.status === 204)).toBe(true);
  });
});
