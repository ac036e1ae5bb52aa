import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { graphError, startHarness, type Harness } from './harness';
import { G, U, tinyTenant } from './tiny-tenant';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ tenant: tinyTenant() });
});
afterEach(() => h.close());

const json = { 'Content-Type': 'application/json' };
const ref = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });

describe('POST /$batch', () => {
  it('answers each request with its own status, headers and body, honouring dependsOn', async () => {
    const res = await h.client.api('/$batch').post({
      requests: [
        { id: '1', method: 'GET', url: `/users/${U.adele}?$select=id,accountEnabled` },
        { id: '2', method: 'GET', url: 'users/ghost@contoso.com' },
        { id: '3', method: 'POST', url: `/groups/${G.enforced}/members/$ref`, headers: json, body: ref(U.adele) },
        { id: '4', method: 'POST', url: `/groups/${G.enforced}/members/$ref`, headers: json, body: ref(U.adele), dependsOn: ['3'] },
        { id: '5', method: 'GET', url: `/groups/${G.enforced}/members?$select=id`, dependsOn: ['4'] },
        { id: '6', method: 'GET', url: `/groups/${G.enforced}/members?$select=id`, dependsOn: ['3'] },
      ],
    });
    const byId = Object.fromEntries(res.responses.map((r: { id: string }) => [r.id, r]));
    expect(res.responses.map((r: { id: string }) => r.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(byId['1'].status).toBe(200);
    expect(byId['1'].body).toEqual({ '@odata.context': `${h.emu.url}/v1.0/$metadata#users(id,accountEnabled)/$entity`, id: U.adele, accountEnabled: true });
    expect(byId['1'].headers['Content-Type']).toMatch(/^application\/json/);
    expect(byId['2'].status).toBe(404);
    expect(byId['2'].body.error.code).toBe('Request_ResourceNotFound');
    expect(byId['3']).toEqual({ id: '3', status: 204, headers: {} });
    expect(byId['4'].status).toBe(400);
    expect(byId['4'].body.error.message).toBe("One or more added object references already exist for the following modified properties: 'members'.");
    expect(byId['5'].status).toBe(424);
    expect(byId['6'].status).toBe(200);
    expect(byId['6'].body.value).toEqual([{ '@odata.type': '#microsoft.graph.user', id: U.adele }]);
  });

  it('refuses more than 20 requests', async () => {
    const requests = Array.from({ length: 21 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: '/users' }));
    const err = await graphError(h.client.api('/$batch').post({ requests }));
    expect(err.statusCode).toBe(400);
  });

  it('refuses a body without Content-Type and unknown dependsOn ids', async () => {
    expect((await graphError(h.client.api('/$batch').post({ requests: [{ id: '1', method: 'POST', url: `/groups/${G.enforced}/members/$ref`, body: ref(U.adele) }] }))).statusCode).toBe(400);
    expect((await graphError(h.client.api('/$batch').post({ requests: [{ id: '1', method: 'GET', url: '/users', dependsOn: ['9'] }] }))).statusCode).toBe(400);
  });

  it('answers an absolute inner URL with an inner 400', async () => {
    const res = await h.client.api('/$batch').post({ requests: [{ id: '1', method: 'GET', url: 'https://graph.microsoft.com/v1.0/users' }] });
    expect(res.responses[0].status).toBe(400);
  });

  it('counts the batch once in total and each inner request once in byRoute', async () => {
    await h.client.api('/$batch').post({
      requests: [
        { id: 'a', method: 'GET', url: `/users/${U.adele}/authentication/fido2Methods` },
        { id: 'b', method: 'GET', url: `/users/${U.alex}/authentication/fido2Methods` },
        { id: 'c', method: 'DELETE', url: `/groups/${G.staff}/members/${U.bianca}/$ref` },
      ],
    });
    const stats = (await h.sim('GET', '/_sim/requests')).body;
    expect(stats).toEqual({
      total: 1,
      writes: 1,
      throttled: 0,
      byRoute: {
        'POST /v1.0/$batch': 1,
        'GET /v1.0/users/{id}/authentication/fido2Methods': 2,
        'DELETE /v1.0/groups/{id}/members/{id}/$ref': 1,
      },
    });
  });
});
