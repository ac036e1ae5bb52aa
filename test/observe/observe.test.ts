// observe against the emulator: the reads on the wire, what becomes a recorded read error, what still throws.
import { afterEach, describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import { RuntimeError } from '../../src/errors';
import { Graph, SIM_TOKEN, type GraphReader, type ReadBatchRequest } from '../../src/graph/client';
import { GraphAuthError, GraphUnavailableError } from '../../src/graph/errors';
import { EnforcementGroupAmbiguousError, EnforcementGroupNotFoundError } from '../../src/observe/errors';
import { observe } from '../../src/observe/observe';
import { FakeClock } from '../../src/sim/clock';
import type { TenantFixture } from '../../src/sim/fixture';
import { generateTenant, SIM_GROUP_NAMES, SIM_IDS } from '../../src/sim/generate';
import { routeRow } from '../../src/sim/route-table';
import { startEmulator, type Emulator } from '../../src/sim/server';

const START = '2026-12-01T06:00:00Z';
let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function admins(mutate?: (c: Campaign) => void): Campaign {
  const c = loadCampaignFile('test/fixtures/campaigns/admins-passkeys.yaml').campaign!;
  c.spec.status = 'inProgress';
  mutate?.(c);
  return c;
}

async function start(mutate?: (f: TenantFixture) => void, token = SIM_TOKEN) {
  const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: START });
  mutate?.(fixture);
  const clock = new FakeClock(START);
  emulator = await startEmulator({ tenant: fixture, port: 0, token: SIM_TOKEN, clock });
  const graph = new Graph({ graphUrl: emulator.url, token: async () => token, sleep: async (ms) => clock.advance(ms), now: () => clock.now(), retryBudgetMs: 10_000 });
  return { graph, fixture };
}

/** A reader that answers the inner $batch requests whose url matches with the given status and Graph error body. */
function answering(graph: Graph, match: RegExp, status: number, code: string, message: string): GraphReader {
  return {
    baseUrl: graph.baseUrl,
    stats: graph.stats,
    concurrency: graph.concurrency,
    get: (path, opts) => graph.get(path, opts),
    list: (path, opts) => graph.list(path, opts),
    async batch(requests: readonly ReadBatchRequest[]) {
      const responses = await graph.batch(requests);
      for (const r of requests) if (match.test(r.url)) responses.set(r.id, { id: r.id, status, headers: {}, body: { error: { code, message } } });
      return responses;
    },
  };
}

describe('observe: the reads', () => {
  it('reads the bulk collections once per page and expands groups in one $batch', async () => {
    const { graph } = await start();
    const s = await observe(graph, admins());
    expect(emulator!.state.requests()).toEqual({
      total: 9,
      writes: 0,
      throttled: 0,
      byRoute: {
        'GET /v1.0/groups': 1,
        'GET /v1.0/users': 1,
        // one request per targeted role (15), filtered by roleDefinitionId, each list in one $batch
        'GET /v1.0/roleManagement/directory/roleAssignments': 15,
        'GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances': 15,
        'GET /v1.0/devices': 1,
        'GET /v1.0/reports/authenticationMethods/userRegistrationDetails': 1,
        'GET /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}': 1,
        'GET /v1.0/groups/{id}/members': 1,
        'POST /v1.0/$batch': 3,
        'GET /v1.0/groups/{id}/transitiveMembers': 2,
      },
    });
    expect(s.enforcementGroup).toEqual({ id: SIM_IDS.adminsEnforcedGroup, displayName: SIM_GROUP_NAMES.adminsEnforced });
    expect(s.users).toHaveLength(60);
    expect(Object.keys(s.transitiveMembers).sort()).toEqual([SIM_IDS.roleAssignableGroup, SIM_IDS.fido2ExclusionGroup].sort());
    expect(s.fido2Methods).toEqual({});
    expect(s.readErrors).toEqual([]);
  });

  it('reads each user\'s mail (the mailbox address email goes to); a user without one has none', async () => {
    const { graph, fixture } = await start((f) => {
      delete f.users![0].mail;
      f.users![1].mail = 'someone.else@contoso.com';
    });
    const s = await observe(graph, admins());
    const byId = new Map(s.users.map((u) => [u.id, u]));
    expect(byId.get(fixture.users![0].id)?.mail ?? null).toBeNull();
    expect(byId.get(fixture.users![1].id)?.mail).toBe('someone.else@contoso.com');
    expect(byId.get(fixture.users![2].id)?.mail).toBe(fixture.users![2].userPrincipalName);
  });

  it('keeps a target group that answers 404 as null: a warning later, not a read error', async () => {
    const { graph } = await start();
    const gone = 'deadbeef-0000-4000-8000-000000000000';
    const s = await observe(graph, admins((c) => (c.spec.targets.groups = [gone])));
    expect(s.transitiveMembers[gone]).toBeNull();
    expect(s.readErrors).toEqual([]);
  });
});

describe('observe: read errors', () => {
  it('records a read Graph answers with an HTTP error status, and reads nothing after that round', async () => {
    const { graph } = await start((f) => {
      const p = f.authenticationMethodsPolicy!;
      p.authenticationMethodConfigurations = (p.authenticationMethodConfigurations ?? []).filter((c) => c.id !== 'Fido2');
    });
    const s = await observe(graph, admins());
    expect(s.readErrors).toEqual([{
      read: 'fido2Policy',
      status: 404,
      code: 'Request_ResourceNotFound',
      message: "GET /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2: 404 Request_ResourceNotFound: Resource 'fido2' does not exist or one of its queried reference-property objects are not present.",
    }]);
    expect(s.fido2Policy).toBeNull();
    expect(emulator!.state.requests().byRoute['GET /v1.0/groups/{id}/transitiveMembers']).toBeUndefined();
  });

  it('records a group expansion refused inside $batch, with the permission hint', async () => {
    const { graph } = await start();
    const reader = answering(graph, /transitiveMembers/, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    const s = await observe(reader, admins());
    expect(s.readErrors.map((e) => ({ ...e, message: e.message.replace(/\/groups\/[^/]+\//, '/groups/{id}/') }))).toEqual(Array(2).fill({
      read: 'groupMembers',
      status: 403,
      code: 'Authorization_RequestDenied',
      message: 'GET /groups/{id}/transitiveMembers: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs the application permission GroupMember.Read.All or Group.Read.All or GroupMember.ReadWrite.All or Group.ReadWrite.All or Directory.Read.All)',
      hint: 'grant the Microsoft Graph application permission GroupMember.Read.All (or one of Group.Read.All, GroupMember.ReadWrite.All, Group.ReadWrite.All, Directory.Read.All) to the identity; GET /groups/{id}/transitiveMembers needs it (api-reference/v1.0/api/group-list-transitivemembers.md).',
    }));
  });

  it('still throws when a group expansion stays throttled past the retry budget', async () => {
    const { graph } = await start();
    const reader = answering(graph, /transitiveMembers/, 429, 'TooManyRequests', 'slow down');
    const e = await observe(reader, admins()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e).toMatchObject({ retryable: true, message: expect.stringMatching(/^reading members of group [0-9a-f-]+ failed: 429 /) });
  });

  it('still throws when a collection stays unavailable past the retry budget', async () => {
    const { graph } = await start();
    await fetch(`${emulator!.url}/_sim/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ failPaths: ['/devices'] }) });
    await expect(observe(graph, admins())).rejects.toBeInstanceOf(GraphUnavailableError);
  });

  it('still throws on a 401', async () => {
    const { graph } = await start(undefined, 'another-token');
    await expect(observe(graph, admins())).rejects.toBeInstanceOf(GraphAuthError);
  });
});

describe('observe: the enforcement group', () => {
  it('throws EnforcementGroupNotFoundError with the name it looked for; plan goes on without the group', async () => {
    const { graph } = await start((f) => (f.groups = f.groups!.filter((g) => g.id !== SIM_IDS.adminsEnforcedGroup)));
    const e = await observe(graph, admins()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EnforcementGroupNotFoundError);
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e).toMatchObject({ groupName: SIM_GROUP_NAMES.adminsEnforced, matches: [] });
    const s = await observe(graph, admins(), { allowMissingGroup: true });
    expect(s).toMatchObject({ enforcementGroup: null, enforcementGroupMembers: [], readErrors: [] });
    expect(s.users).toHaveLength(60);
  });

  it('throws EnforcementGroupAmbiguousError with every match, even for plan', async () => {
    const extra = 'dddddddd-0000-4000-8000-000000000009';
    const { graph } = await start((f) => f.groups!.push({ id: extra, displayName: SIM_GROUP_NAMES.adminsEnforced, members: [] }));
    const e = await observe(graph, admins(), { allowMissingGroup: true }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EnforcementGroupAmbiguousError);
    expect(e).toMatchObject({ groupName: SIM_GROUP_NAMES.adminsEnforced });
    expect([...(e as EnforcementGroupAmbiguousError).matches].sort()).toEqual([SIM_IDS.adminsEnforcedGroup, extra].sort());
  });
});

/** A reader that records every request observe sends: list paths with their options, and $batch urls. */
function recording(graph: Graph): { reader: GraphReader; urls: string[] } {
  const urls: string[] = [];
  const reader: GraphReader = {
    baseUrl: graph.baseUrl,
    stats: graph.stats,
    concurrency: graph.concurrency,
    get: (path, opts) => (urls.push(path), graph.get(path, opts)),
    list: (path, opts = {}) => {
      const q: string[] = [];
      if (opts.select) q.push(`$select=${opts.select.join(',')}`);
      if (opts.filter) q.push(`$filter=${opts.filter}`);
      if (opts.expand) q.push(`$expand=${opts.expand}`);
      if (opts.top) q.push(`$top=${opts.top}`);
      if (opts.count) q.push('$count=true');
      urls.push(q.length ? `${path}?${q.join('&')}` : path);
      return graph.list(path, opts);
    },
    batch: (requests) => (urls.push(...requests.map((r) => r.url)), graph.batch(requests)),
  };
  return { reader, urls };
}

describe('observe: reads as the docs describe them', () => {
  it('sends only the query options each page documents', async () => {
    const { graph } = await start((f) => {
      const fido2 = f.authenticationMethodsPolicy!.authenticationMethodConfigurations!.find((c) => c.id === 'Fido2')!;
      fido2.keyRestrictions = { isEnforced: true, enforcementType: 'allow', aaGuids: ['2fc0579f-8113-47ea-b116-bb5a8db9202a'] };
    });
    const { reader, urls } = recording(graph);
    const s = await observe(reader, admins());
    expect(s.readErrors).toEqual([]);
    expect(Object.keys(s.fido2Methods).length).toBeGreaterThan(0);
    for (const url of urls) {
      if (/^https?:/.test(url)) continue; // a nextLink, the service's own
      const [path, query = ''] = url.split('?');
      const templ = path!.replace(/\/[0-9a-f]{8}-[0-9a-f-]{27}(?=\/|$)/gi, '/{id}').replace(/\/fido2$/, '/{id}');
      const row = routeRow('GET', templ);
      expect(row, `no route-table row for ${templ}`).toBeDefined();
      const options = new URLSearchParams(query);
      for (const k of options.keys()) expect(row!.query, `${k} on ${templ} (${row!.docs})`).toContain(k.toLowerCase());
    }
  });

  it('reads role assignments and eligibilities per role, filtered by roleDefinitionId, inside $batch', async () => {
    const { graph } = await start();
    const { reader, urls } = recording(graph);
    const campaign = admins();
    await observe(reader, campaign);
    for (const coll of ['roleAssignments', 'roleEligibilityScheduleInstances']) {
      const sent = urls.filter((u) => u.startsWith(`/roleManagement/directory/${coll}?`)).map((u) => new URLSearchParams(u.split('?')[1]).get('$filter'));
      expect(sent.sort()).toEqual(campaign.spec.targets.roles.map((id) => `roleDefinitionId eq '${id}'`).sort());
    }
    expect(emulator!.state.requests().byRoute['GET /v1.0/roleManagement/directory/roleAssignments']).toBe(campaign.spec.targets.roles.length);
  });

  it('keeps assignments of every scope: targeting decides which count', async () => {
    const { graph, fixture } = await start((f) => {
      f.roleAssignments![0]!.directoryScopeId = '/administrativeUnits/au-1';
    });
    const s = await observe(graph, admins());
    expect(s.roleAssignments.find((a) => a.id === fixture.roleAssignments![0]!.id)?.directoryScopeId).toBe('/administrativeUnits/au-1');
  });

  it('follows nextLink through userRegistrationDetails (no $top on that page)', async () => {
    const { graph } = await start((f) => {
      for (let i = 0; i < 250; i++) f.userRegistrationDetails!.push({ id: `extra-${i}`, userPrincipalName: `extra${i}@contoso.com`, methodsRegistered: [] });
    });
    const s = await observe(graph, admins());
    expect(s.readErrors).toEqual([]);
    expect(s.registrationDetails.length).toBeGreaterThanOrEqual(310);
    expect(emulator!.state.requests().byRoute['GET /v1.0/reports/authenticationMethods/userRegistrationDetails']).toBeGreaterThanOrEqual(4);
  });

  it('reads every owner of a device whose expanded owners reach the 20-item $expand limit', async () => {
    const { graph, fixture } = await start((f) => {
      f.devices![0]!.registeredOwners = f.users!.slice(0, 25).map((u) => u.id);
    });
    const s = await observe(graph, admins());
    expect(s.readErrors).toEqual([]);
    const d = s.devices.find((x) => x.id === fixture.devices![0]!.id)!;
    expect(d.registeredOwners!.map((o) => o.id).sort()).toEqual(fixture.users!.slice(0, 25).map((u) => u.id).sort());
    expect(emulator!.state.requests().byRoute['GET /v1.0/devices/{id}/registeredOwners']).toBe(1);
  });

  it('records a 403 on the fido2Methods reads once, at campaign level, naming the permission', async () => {
    const { graph } = await start((f) => {
      const fido2 = f.authenticationMethodsPolicy!.authenticationMethodConfigurations!.find((c) => c.id === 'Fido2')!;
      fido2.keyRestrictions = { isEnforced: true, enforcementType: 'allow', aaGuids: ['2fc0579f-8113-47ea-b116-bb5a8db9202a'] };
      f.application = { appId: 'app', appRoles: ['User.Read.All', 'GroupMember.Read.All', 'AuditLog.Read.All', 'Device.Read.All', 'RoleManagement.Read.Directory', 'Policy.Read.All'] };
    });
    const s = await observe(graph, admins());
    expect(s.readErrors).toHaveLength(1);
    expect(s.readErrors[0]).toMatchObject({ read: 'fido2Methods', status: 403, code: 'Authorization_RequestDenied' });
    expect(s.readErrors[0]!.hint).toMatch(/^grant the Microsoft Graph application permission UserAuthenticationMethod\.Read\.All /);
  });
});
