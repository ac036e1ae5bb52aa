// Notification delivery as Exchange and Teams do it (DESIGN §10): the `notificationFailures` fault, the
// `mailboxes` fixture key (mail from/to users without a mailbox) and the Teams app catalog/installations.
import { afterEach, describe, expect, it } from 'vitest';
import { validateFixture, type TenantFixture } from '../../src/sim/fixture';
import { graphError, startHarness, type Harness } from './harness';
import { U, tinyTenant } from './tiny-tenant';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(extra: Partial<TenantFixture> = {}, mutate?: (f: TenantFixture) => void): Promise<Harness> {
  const tenant = { ...tinyTenant(), ...extra };
  mutate?.(tenant);
  h = await startHarness({ tenant, faults: { throttle: false } });
  return h;
}

const activity = (activityType = 'passkeyCampaign') => ({
  topic: { source: 'text', value: 'Passkeys', webUrl: 'https://teams.microsoft.com/l/entity/teams-app-passkeys/passkeys' },
  activityType,
  previewText: { content: 'Register a passkey' },
});
const mail = (to: string) => ({
  message: { subject: 'Passkeys', body: { contentType: 'Text', content: 'Hi' }, toRecipients: [{ emailAddress: { address: to } }] },
});
const received = async () => ((await h!.sim('GET', '/_sim/notifications')).body.value as Array<{ userId: string; channel: string; undeliverable?: string }>);

describe('POST /_sim/faults notificationFailures', () => {
  it('fails every Teams notification and every mail to that user with the status and a Graph error body; others are delivered', async () => {
    await start();
    const set = await h!.sim('POST', '/_sim/faults', { notificationFailures: { [U.alex]: 403, [U.diego]: 404 } });
    expect(set.status).toBe(200);
    expect(set.body.notificationFailures).toEqual({ [U.alex]: 403, [U.diego]: 404 });

    const teams = await graphError(h!.client.api(`/users/${U.alex}/teamwork/sendActivityNotification`).post(activity()));
    expect(teams.statusCode).toBe(403);
    expect(teams.code).toBe('Forbidden');
    const email = await graphError(h!.client.api(`/users/${U.bg1}/sendMail`).post(mail('diego@contoso.com')));
    expect(email.statusCode).toBe(404);
    expect(email.code).toBe('ResourceNotFound');
    expect(email.message).toBe('The mail to diego@contoso.com failed (emulator fault notificationFailures).');

    await h!.client.api(`/users/${U.adele}/teamwork/sendActivityNotification`).post(activity());
    await h!.client.api(`/users/${U.bg1}/sendMail`).post(mail('emily@contoso.com'));
    expect((await received()).map((n) => [n.userId, n.channel])).toEqual([[U.adele, 'teams'], [U.emily, 'email']]);
  });

  it('inside a $batch fails only the inner request to that user', async () => {
    await start();
    await h!.sim('POST', '/_sim/faults', { notificationFailures: { [U.alex]: 403 } });
    const res = await h!.client.api('/$batch').post({
      requests: [U.adele, U.alex, U.diego].map((id, i) => ({ id: String(i), method: 'POST', url: `/users/${id}/teamwork/sendActivityNotification`, headers: { 'Content-Type': 'application/json' }, body: activity() })),
    });
    expect(res.responses.map((r: { status: number }) => r.status)).toEqual([204, 403, 204]);
    expect(res.responses[1].body.error).toMatchObject({ code: 'Forbidden', innerError: { 'request-id': expect.any(String) } });
  });

  it('is cleared by {}', async () => {
    await start();
    await h!.sim('POST', '/_sim/faults', { notificationFailures: { [U.alex]: 403 } });
    expect((await h!.sim('POST', '/_sim/faults', { notificationFailures: {} })).body.notificationFailures).toEqual({});
    await h!.client.api(`/users/${U.alex}/teamwork/sendActivityNotification`).post(activity());
    expect(await received()).toHaveLength(1);
  });

  it.each([
    { name: 'a list', body: [U.alex], message: /^faults\.notificationFailures: must be an object mapping user ids to HTTP error statuses/ },
    { name: 'a success status', body: { [U.alex]: 204 }, message: `faults.notificationFailures.${U.alex}: must be an HTTP error status from 400 to 599 (got 204).` },
    { name: 'a status as text', body: { [U.alex]: '403' }, message: `faults.notificationFailures.${U.alex}: must be an HTTP error status from 400 to 599 (got "403").` },
  ])('rejects $name with 400', async ({ body, message }) => {
    await start();
    const res = await h!.sim('POST', '/_sim/faults', { notificationFailures: body });
    expect(res.status).toBe(400);
    if (typeof message === 'string') expect(res.body.error.message).toBe(message);
    else expect(res.body.error.message).toMatch(message);
  });
});

describe('mailboxes', () => {
  it('without the key every user has a mailbox, and mail to a UPN reaches its user', async () => {
    await start({}, (f) => (f.users!.find((u) => u.id === U.alex)!.mail = 'alex.wilber@contoso.com'));
    await h!.client.api(`/users/${U.bg1}/sendMail`).post(mail('alex@contoso.com'));
    expect(await received()).toEqual([expect.objectContaining({ userId: U.alex, channel: 'email' })]);
    expect((await received())[0].undeliverable).toBeUndefined();
  });

  it('a sender without a mailbox gets 404 MailboxNotEnabledForRESTAPI, an unknown sender 404 ErrorInvalidUser; nothing is sent', async () => {
    await start({ mailboxes: ['adele@contoso.com', U.alex] });
    const noMailbox = await graphError(h!.client.api(`/users/${U.bg1}/sendMail`).post(mail('adele@contoso.com')));
    expect([noMailbox.statusCode, noMailbox.code, noMailbox.message]).toEqual([404, 'MailboxNotEnabledForRESTAPI', 'REST API is not yet supported for this mailbox.']);
    const unknown = await graphError(h!.client.api('/users/noreply@contoso.com/sendMail').post(mail('adele@contoso.com')));
    expect([unknown.statusCode, unknown.code, unknown.message]).toEqual([404, 'ErrorInvalidUser', "The requested user 'noreply@contoso.com' is invalid."]);
    const sentItems = await graphError(h!.client.api(`/users/${U.bg1}/mailFolders/sentitems/messages`).get());
    expect(sentItems.code).toBe('MailboxNotEnabledForRESTAPI');
    expect(await received()).toEqual([]);
  });

  it('mail to an address that is no mailbox is accepted (202) and bounces; mail to the mailbox is delivered', async () => {
    await start({ mailboxes: ['adele@contoso.com', 'alex@contoso.com'] }, (f) => (f.users!.find((u) => u.id === U.alex)!.mail = 'alex.wilber@contoso.com'));
    await h!.client.api('/users/adele@contoso.com/sendMail').post(mail('alex@contoso.com')); // Alex's UPN, not his mailbox
    await h!.client.api('/users/adele@contoso.com/sendMail').post(mail('alex.wilber@contoso.com'));
    await h!.client.api('/users/adele@contoso.com/sendMail').post(mail('diego@contoso.com')); // Diego has no mailbox
    const got = await received();
    expect(got.map((n) => [n.userId, n.undeliverable ?? 'delivered'])).toEqual([
      [U.alex, '550 5.1.10 RESOLVER.ADR.RecipientNotFound; alex@contoso.com is not the address of a mailbox'],
      [U.alex, 'delivered'],
      [U.diego, '550 5.1.10 RESOLVER.ADR.RecipientNotFound; diego@contoso.com is not the address of a mailbox'],
    ]);
    // Exchange keeps the sent copy either way.
    expect((await h!.client.api('/users/adele@contoso.com/mailFolders/sentitems/messages').get()).value).toHaveLength(3);
  });

  it('PATCH /_sim/tenant adds and removes mailboxes', async () => {
    await start({ mailboxes: ['adele@contoso.com'] });
    expect((await h!.sim('PATCH', '/_sim/tenant', { mailboxes: [U.bg1] })).status).toBe(200);
    await h!.client.api(`/users/${U.bg1}/sendMail`).post(mail('adele@contoso.com'));
    expect((await h!.sim('PATCH', '/_sim/tenant', { remove: { mailboxes: [U.bg1] } })).status).toBe(200);
    expect((await graphError(h!.client.api(`/users/${U.bg1}/sendMail`).post(mail('adele@contoso.com')))).code).toBe('MailboxNotEnabledForRESTAPI');
    expect((await h!.sim('GET', '/_sim/tenant')).body.mailboxes).toEqual(['adele@contoso.com']);
  });
});

describe('Teams app installations', () => {
  const APP = 'teams-app-passkeys';
  const catalog = { teamsApps: [{ id: APP, externalId: 'ext-1', displayName: 'Passkey campaigns', webApplicationInfoId: 'aaaaaaaa-0000-4000-8000-000000000001', activityTypes: ['passkeyCampaign'] }, { id: 'other-app', activityTypes: ['taskCreated'] }] };

  it('without teamsAppInstallations every user can be notified', async () => {
    await start(catalog);
    await h!.client.api(`/users/${U.alex}/teamwork/sendActivityNotification`).post(activity());
    expect(await received()).toHaveLength(1);
  });

  it('answers 403 Forbidden to a recipient without the sending app installed, and records nothing', async () => {
    await start({ ...catalog, teamsAppInstallations: { [U.adele]: [APP], [U.alex]: ['other-app'] } });
    await h!.client.api(`/users/${U.adele}/teamwork/sendActivityNotification`).post(activity());
    for (const id of [U.alex, U.diego]) {
      const err = await graphError(h!.client.api(`/users/${id}/teamwork/sendActivityNotification`).post(activity()));
      expect(err.statusCode).toBe(403);
      expect(err.code).toBe('Forbidden');
      expect(err.message).toBe(`Application with AAD App Id 'aaaaaaaa-0000-4000-8000-000000000001' is not authorized to generate custom text notifications about '/v1.0/users/${id}/teamwork/sendActivityNotification' to the recipient. Ensure that the expected Teams app is installed in the target scope (user, team, or chat).`);
    }
    expect((await received()).map((n) => n.userId)).toEqual([U.adele]);
  });

  it('installing the app with PATCH /_sim/tenant lets the notification through', async () => {
    await start({ ...catalog, teamsAppInstallations: {} });
    expect((await graphError(h!.client.api(`/users/${U.alex}/teamwork/sendActivityNotification`).post(activity()))).statusCode).toBe(403);
    await h!.sim('PATCH', '/_sim/tenant', { teamsAppInstallations: { [U.alex]: [APP] } });
    await h!.client.api(`/users/${U.alex}/teamwork/sendActivityNotification`).post(activity());
    expect((await h!.sim('GET', '/_sim/tenant')).body.teamsAppInstallations).toEqual({ [U.alex]: [APP] });
  });
});

describe('fixture keys', () => {
  it.each([
    { name: 'mailboxes that is not a list', extra: { mailboxes: 'adele@contoso.com' }, error: '$.mailboxes: must be an array of UPNs or user ids (got "adele@contoso.com").' },
    { name: 'installations that are not lists', extra: { teamsAppInstallations: { [U.adele]: 'x' } }, error: /^\$\.teamsAppInstallations: must map user ids to arrays of Teams app ids/ },
    { name: 'a Teams app without an id', extra: { teamsApps: [{ displayName: 'x' }] }, error: '$.teamsApps[0].id: is required (a non-empty string).' },
    { name: 'activity types that are not strings', extra: { teamsApps: [{ id: 'a', activityTypes: [1] }] }, error: '$.teamsApps[0].activityTypes: must be an array of strings (got [1]).' },
  ])('rejects $name', ({ extra, error }) => {
    const r = validateFixture({ ...tinyTenant(), ...extra });
    expect(r.errors).toHaveLength(1);
    if (typeof error === 'string') expect(r.errors[0]).toBe(error);
    else expect(r.errors[0]).toMatch(error);
  });

  it('warns about mailboxes and installations that name nobody', () => {
    const r = validateFixture({ ...tinyTenant(), teamsApps: [{ id: 'a' }], teamsAppInstallations: { [U.adele]: ['a', 'b'], ghost: [] }, mailboxes: ['ADELE@contoso.com', 'nobody@contoso.com'] });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      `$.teamsAppInstallations["${U.adele}"][1]: "b" is not in $.teamsApps.`,
      '$.teamsAppInstallations.ghost: "ghost" is not a user id in $.users.',
      '$.mailboxes[1]: "nobody@contoso.com" is not a user id or UPN in $.users.',
    ]);
  });
});
