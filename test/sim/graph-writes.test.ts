import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { graphError, startHarness, type Harness } from './harness';
import { D, G, U, tinyTenant } from './tiny-tenant';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ tenant: tinyTenant() });
});
afterEach(() => h.close());

const ref = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
const memberIds = async (groupId: string) => (await h.client.api(`/groups/${groupId}/members`).select('id').get()).value.map((m: { id: string }) => m.id);

describe('POST /groups/{id}/members/$ref', () => {
  it('adds a member and answers 204', async () => {
    await h.client.api(`/groups/${G.enforced}/members/$ref`).post(ref(U.adele));
    expect(await memberIds(G.enforced)).toEqual([U.adele]);
  });

  it('answers 400 "already exist" like Graph for a member', async () => {
    await h.client.api(`/groups/${G.enforced}/members/$ref`).post(ref(U.adele));
    const err = await graphError(h.client.api(`/groups/${G.enforced}/members/$ref`).post(ref(U.adele)));
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('Request_BadRequest');
    expect(err.message).toBe("One or more added object references already exist for the following modified properties: 'members'.");
  });

  it('answers 404 for an object that does not exist', async () => {
    const err = await graphError(h.client.api(`/groups/${G.enforced}/members/$ref`).post(ref('00000000-0000-4000-8000-00000000dead')));
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('Request_ResourceNotFound');
  });
});

describe('PATCH /groups/{id} with members@odata.bind', () => {
  it('adds up to 20 members at once', async () => {
    await h.client.api(`/groups/${G.enforced}`).patch({ 'members@odata.bind': [U.adele, U.alex, U.diego].map((id) => ref(id)['@odata.id']) });
    expect(await memberIds(G.enforced)).toEqual([U.adele, U.alex, U.diego]);
  });

  it('refuses more than 20 with 400 and adds none', async () => {
    const binds = Array.from({ length: 21 }, () => ref(U.adele)['@odata.id']);
    const err = await graphError(h.client.api(`/groups/${G.enforced}`).patch({ 'members@odata.bind': binds }));
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('Request_BadRequest');
    expect(await memberIds(G.enforced)).toEqual([]);
  });

  it('refuses the whole bind when one is already a member', async () => {
    await h.client.api(`/groups/${G.enforced}/members/$ref`).post(ref(U.adele));
    const err = await graphError(h.client.api(`/groups/${G.enforced}`).patch({ 'members@odata.bind': [ref(U.alex)['@odata.id'], ref(U.adele)['@odata.id']] }));
    expect(err.message).toBe("One or more added object references already exist for the following modified properties: 'members'.");
    expect(await memberIds(G.enforced)).toEqual([U.adele]);
  });
});

describe('DELETE /groups/{id}/members/{id}/$ref', () => {
  it('removes a member with 204', async () => {
    await h.client.api(`/groups/${G.staff}/members/${U.bianca}/$ref`).delete();
    expect(await memberIds(G.staff)).not.toContain(U.bianca);
  });

  it('answers 404 when the object is not a member', async () => {
    const err = await graphError(h.client.api(`/groups/${G.enforced}/members/${U.adele}/$ref`).delete());
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('Request_ResourceNotFound');
  });

  it('answers 405 for a method the path does not take', async () => {
    const err = await graphError(h.client.api(`/devices/${D.adeleWin}`).delete());
    expect(err.statusCode).toBe(405);
  });
});

describe('notifications', () => {
  const activity = (text: string) => ({
    topic: { source: 'text', value: 'Passkey campaign', webUrl: 'https://aka.ms/mysecurityinfo' },
    activityType: 'systemDefault',
    previewText: { content: text },
    templateParameters: [{ name: 'systemDefaultText', value: text }],
  });

  it('records Teams activity notifications and mail, in order', async () => {
    await h.client.api(`/users/${U.adele}/teamwork/sendActivityNotification`).post(activity('Please register a passkey'));
    await h.client.api('/users/noreply@contoso.com/sendMail').post({
      message: { subject: 'Passkeys', body: { contentType: 'Text', content: 'Hi' }, toRecipients: [{ emailAddress: { address: 'alex@contoso.com' } }] },
      saveToSentItems: false,
    }).catch(() => undefined);
    // the sender must exist, as in Graph: send as a real user instead
    await h.client.api(`/users/${U.bg1}/sendMail`).post({
      message: { subject: 'Passkeys', body: { contentType: 'Text', content: 'Hi' }, toRecipients: [{ emailAddress: { address: 'ALEX@contoso.com' } }] },
    });
    const res = await h.sim('GET', '/_sim/notifications');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['value']);
    expect(res.body.value).toHaveLength(2);
    expect(res.body.value[0]).toEqual({ userId: U.adele, channel: 'teams', receivedAt: '2026-12-01T06:00:00.000Z', request: activity('Please register a passkey') });
    expect(res.body.value[1].userId).toBe(U.alex);
    expect(res.body.value[1].channel).toBe('email');
    expect(res.body.value[1].request.message.subject).toBe('Passkeys');
  });

  it('rejects an activity notification without a topic and records nothing', async () => {
    const err = await graphError(h.client.api(`/users/${U.adele}/teamwork/sendActivityNotification`).post({ activityType: 'x', previewText: { content: 'y' } }));
    expect(err.statusCode).toBe(400);
    expect((await h.sim('GET', '/_sim/notifications')).body.value).toEqual([]);
  });

  it('answers 404 for a notification to an unknown user', async () => {
    const err = await graphError(h.client.api('/users/ghost@contoso.com/teamwork/sendActivityNotification').post(activity('x')));
    expect(err.statusCode).toBe(404);
  });
});
