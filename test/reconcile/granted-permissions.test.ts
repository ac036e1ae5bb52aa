// A whole campaign of each channel with exactly the Microsoft Graph application permissions the Pulumi program
// grants for it (read from the program under mocks, not from our own list): it runs day by day to enforcement.
// Without any one of them the run stops with a message naming the missing permission, enforcing nobody; the one
// exception is Mail.Read, needed only to settle email an interrupted run dispatched: without it the run warns
// naming it and those emails stay open (not delivered, not sent again), so their users are never enforced.
import * as fs from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import { openIntents } from '../../src/engine/recovery';
import { Graph, type BatchRequest, type BatchResponse } from '../../src/graph/client';
import { requestPermissions } from '../../src/graph/permissions';
import type { NotificationOutcomeEvent } from '../../src/ledger/events';
import type { RunResult } from '../../src/reconcile/result';
import { runCampaign } from '../../src/reconcile/run';
import type { TenantFixture } from '../../src/sim/fixture';
import { generateTenant } from '../../src/sim/generate';
import type { Emulator } from '../../src/sim/server';
import { graphRoleName } from '../../src/stack/graph-roles';
import { campaignsCopy, inProgress, runProgram } from '../stack/harness';
import { DAY, harness, START, type Harness } from './harness';

const TEAMS_APP = 'b6f3c2a1-7d4e-4f5a-9c8b-1e2d3f4a5b6c';
const CLIENT_ID = '11111111-2222-4333-8444-555555555555';
const SENDER = 'passkeys@contoso.com';
/** On the FIDO2 policy's block list, held by nobody: the restriction makes the job read every passkey's AAGUID. */
const BLOCKED_AAGUID = '0bad0bad-0bad-4bad-8bad-0bad0bad0bad';

type Channel = 'teams' | 'email';
const CAMPAIGN_FILE: Record<Channel, string> = { teams: 'admins-passkeys', email: 'all-staff-passkeys' };

/** The Graph app roles the Pulumi program assigns to the scheduler identity when only this campaign is deployed. */
async function programRoles(channel: Channel): Promise<string[]> {
  const dir = campaignsCopy((name, text) => (name === CAMPAIGN_FILE[channel] ? inProgress(text) : null));
  try {
    // Ownership of the enforcement group is undocumented (and not modelled by the emulator): grant the write.
    const run = await runProgram({ campaignsDir: dir, groupMemberWrite: 'true' });
    return run.ofType('azuread:index/appRoleAssignment:AppRoleAssignment').map((a) => {
      const name = graphRoleName(a.inputs.appRoleId as string);
      if (!name) throw new Error(`unknown app role id ${String(a.inputs.appRoleId)}`);
      return name;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function campaignOf(channel: Channel): Campaign {
  const c = loadCampaignFile(`test/fixtures/campaigns/${CAMPAIGN_FILE[channel]}.yaml`).campaign!;
  c.spec.status = 'inProgress';
  return c;
}

function tenant(channel: Channel, appRoles: readonly string[]): TenantFixture {
  const fixture = channel === 'teams'
    ? generateTenant({ users: 60, admins: 30, seed: 11, now: START.toISOString() })
    : generateTenant({ users: 40, admins: 4, seed: 7, now: START.toISOString() });
  const fido2 = fixture.authenticationMethodsPolicy!.authenticationMethodConfigurations!.find((c) => c.id === 'Fido2') as { keyRestrictions?: unknown };
  fido2.keyRestrictions = { isEnforced: true, enforcementType: 'block', aaGuids: [BLOCKED_AAGUID] };
  if (channel === 'teams') {
    const users = fixture.users!.map((u) => u.id);
    fixture.teamsApps = [{ id: TEAMS_APP, displayName: 'Passkey campaign', webApplicationInfoId: CLIENT_ID, activityTypes: ['passkeyCampaign'] }];
    // Half have the app already; the job installs it for the others.
    fixture.teamsAppInstallations = Object.fromEntries(users.map((id, i) => [id, i % 2 === 0 ? [TEAMS_APP] : []]));
  } else {
    fixture.users!.push({ id: 'e1000000-0000-4000-8000-000000000001', userPrincipalName: SENDER, displayName: 'Passkey campaigns', accountEnabled: true, mail: SENDER });
    fixture.mailboxes = fixture.users!.filter((u) => u.mail).map((u) => u.userPrincipalName);
  }
  fixture.application = { appId: CLIENT_ID, appRoles: [...appRoles] };
  return fixture;
}

/** Every status the emulator answered, per route (each inner $batch request on its own). */
function recordStatuses(emulator: Emulator): Array<{ route: string; status: number }> {
  const seen: Array<{ route: string; status: number }> = [];
  const core = emulator.state as Emulator['state'] & { execute(req: { method: string; segments: string[] }): { status: number } };
  const execute = core.execute.bind(core);
  core.execute = (req) => {
    const r = execute(req);
    seen.push({ route: `${req.method} /${req.segments.join('/')}`, status: r.status });
    return r;
  };
  return seen;
}

interface CampaignRun {
  h: Harness;
  results: RunResult[];
  /** The run that stopped, and what it threw. */
  stopped?: { day: number; error: Error };
  statuses: Array<{ route: string; status: number }>;
  /** Keys of the emails whose $batch answer was lost on day 0 (email only). */
  inDoubt: string[];
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const LAST_DAY: Record<Channel, number> = { teams: 8, email: 15 };

/** Runs the campaign each day from day 0 until its users are enforced, or until a run throws. */
async function runCampaignDays(channel: Channel, appRoles: readonly string[], client?: (h: Harness) => Graph): Promise<CampaignRun> {
  h = await harness({ fixture: tenant(channel, appRoles), campaign: campaignOf(channel) });
  const graph = client?.(h) ?? h.graph;
  const statuses = recordStatuses(h.emulator);
  const out: CampaignRun = { h, results: [], statuses, inDoubt: [] };
  if (channel === 'email') {
    // The first email $batch with an enforcement notice is sent but its answer is lost: the next run must look its
    // emails up in Sent Items, and those users may be enforced only once their notice is known delivered.
    let dropped = 0;
    h.emulator.state.hooks = { after: ({ method, path, body }) => (method === 'POST' && path.endsWith('/$batch') && /\/sendMail"/.test(body) && body.includes(':enforcementNotice:') && dropped++ < 1 ? 'drop' : undefined) };
  }
  for (let day = 0; day <= LAST_DAY[channel]; day++) {
    const now = new Date(START.getTime() + day * DAY);
    h.clock.set(now);
    try {
      out.results.push(await runCampaign({ campaign: h.campaign, graph, store: h.store, now, apply: true, ...(channel === 'teams' ? { teamsAppId: TEAMS_APP } : {}) }));
    } catch (e) {
      out.stopped = { day, error: e as Error };
      break;
    }
    if (day === 0) {
      h.emulator.state.hooks = {};
      out.inDoubt = (await h.events()).flatMap((e) => (e.type === 'notificationOutcome' && e.outcome === 'inDoubt' ? [e.key] : []));
    }
  }
  return out;
}

const granted: Record<Channel, string[]> = { teams: [], email: [] };
beforeAll(async () => {
  granted.teams = await programRoles('teams');
  granted.email = await programRoles('email');
}, 60_000);

/** The granted roles some successful request of the run needed (per src/graph/permissions.ts, any one of a row suffices). */
function exercised(statuses: CampaignRun['statuses'], roles: readonly string[]): string[] {
  const used = new Set<string>();
  for (const s of statuses) {
    if (s.status >= 300) continue;
    const [method, path] = s.route.split(' ');
    for (const p of requestPermissions(method!, path!)?.permissions ?? []) if (roles.includes(p)) used.add(p);
  }
  return roles.filter((r) => used.has(r));
}

const isGroupAdd = (route: string) => /^POST \/groups\/[^/]+\/members\/\$ref$/.test(route);

describe.each<Channel>(['teams', 'email'])('a %s campaign with exactly the permissions the Pulumi program grants', (channel) => {
  it('the program grants the job\'s channel permissions and the enforcement-group write', () => {
    const send = channel === 'teams' ? ['TeamsActivity.Send', 'TeamsAppInstallation.ReadWriteSelfForUser.All'] : ['Mail.Send', 'Mail.Read'];
    expect(granted[channel]).toEqual(expect.arrayContaining([...send, 'GroupMember.ReadWrite.All', 'UserAuthenticationMethod.Read.All']));
  });

  it('runs to enforcement: every notice delivered, the ready users enforced after it, every role used, no 403 anywhere', async () => {
    const r = await runCampaignDays(channel, granted[channel]);
    expect(r.stopped?.error).toBeUndefined();
    expect(r.statuses.filter((s) => s.status === 403)).toEqual([]);
    // Each granted role was needed by some request that succeeded: the scenario exercises all of them.
    expect(exercised(r.statuses, granted[channel])).toEqual(granted[channel]);
    const events = await r.h.events();
    // Every notice the campaign sent was delivered (email whose answer was lost: found in Sent Items next run).
    const sent = events.flatMap((e) => (e.type === 'notificationSent' ? [e.key] : []));
    const delivered = new Set(events.flatMap((e) => (e.type === 'notificationOutcome' && e.outcome === 'delivered' ? [e.key] : [])));
    expect(sent.length).toBeGreaterThan(20);
    expect(sent.filter((k) => !delivered.has(k))).toEqual([]);
    if (channel === 'email') {
      expect(r.inDoubt.length).toBeGreaterThan(0);
      const recovered = events.filter((e): e is NotificationOutcomeEvent => e.type === 'notificationOutcome' && r.inDoubt.includes(e.key) && e.outcome === 'delivered');
      expect(recovered.map((e) => e.recovered)).toEqual(r.inDoubt.map(() => 'sentItems'));
    }
    // Those in the enforcement notice on day 0 are all enforced, each no sooner than noticeDays after its notice was
    // known delivered (email in doubt: when Sent Items showed it).
    const noticeDays = r.h.campaign.spec.stages.enforcement.noticeDays;
    const due = r.results[0]!.counts.enforcementNotice;
    expect(due).toBeGreaterThan(0);
    expect(r.results.at(-1)!.counts.enforced).toBe(due);
    const state = await r.h.state();
    const enforced = Object.values(state.users).filter((u) => u.enforcedAt !== null);
    expect(enforced).toHaveLength(due);
    for (const u of enforced) {
      const notice = events.find((e): e is NotificationOutcomeEvent => e.type === 'notificationOutcome' && e.userId === u.userId && e.outcome === 'delivered' && e.key.includes(':enforcementNotice:'));
      expect(Date.parse(u.enforcedAt!) - Date.parse(notice!.at)).toBeGreaterThanOrEqual(noticeDays * DAY);
    }
    expect(r.statuses.filter((s) => isGroupAdd(s.route) && s.status === 204)).toHaveLength(due);
  });
});

/** The writes and sends of the job; every other granted role is a read. */
const WRITE_ROLES = ['GroupMember.ReadWrite.All', 'Mail.Send', 'TeamsActivity.Send', 'TeamsAppInstallation.ReadWriteSelfForUser.All'];

describe.each<Channel>(['teams', 'email'])('a %s campaign without one of the granted permissions', (channel) => {
  // Mail.Read is the one role whose absence does not stop the run (below).
  const stoppers = () => granted[channel].filter((p) => p !== 'Mail.Read');

  it('stops on the first run that needs it, naming it, and enforces nobody', async () => {
    expect(stoppers().length).toBeGreaterThan(5);
    const seen: unknown[] = [];
    const want: unknown[] = [];
    for (const missing of stoppers()) {
      const r = await runCampaignDays(channel, granted[channel].filter((p) => p !== missing));
      const e = r.stopped?.error as (Error & { permission?: string }) | undefined;
      const events = await r.h.events();
      const state = await r.h.state();
      const enforced = Object.values(state.users).filter((u) => u.enforcedAt !== null || u.addedToGroupAt !== null).length;
      const groupAdds = r.statuses.filter((s) => isGroupAdd(s.route) && s.status < 300).length;
      const common = { missing, stopped: true, named: true, enforced: 0, groupAdds: 0, refusedWith403: true };
      const got = { missing, stopped: e !== undefined, named: !!e?.message.includes(missing), enforced, groupAdds, refusedWith403: r.statuses.some((s) => s.status === 403) };
      if (!WRITE_ROLES.includes(missing)) {
        // A read: the first run stops before writing anything, not even to the ledger.
        seen.push({ ...got, day: r.stopped?.day, error: e?.name, ledger: events.length, writes: r.statuses.filter((s) => !s.route.startsWith('GET ') && s.route !== 'POST /$batch').length });
        want.push({ ...common, day: 0, error: 'TenantReadError', ledger: 0, writes: 0 });
      } else if (missing === 'GroupMember.ReadWrite.All') {
        // Notified on day 0; the adds at the end of the notice are refused, so the run stops and nobody is enforced.
        const noticeDays = r.h.campaign.spec.stages.enforcement.noticeDays;
        const due = r.results[0]!.counts.enforcementNotice;
        const firstAdd = events.find((x) => x.type === 'groupAddIntent');
        const inNotice = Object.values(state.users).filter((u) => u.stage === 'enforcementNotice').length;
        const failedAdds = events.filter((x) => x.type === 'groupAddOutcome' && x.outcome === 'failed').length;
        seen.push({ ...got, stoppedOnFirstAdd: firstAdd !== undefined && r.stopped?.day === (Date.parse(firstAdd.at) - START.getTime()) / DAY, afterNotice: (r.stopped?.day ?? 0) >= noticeDays, error: e?.name, permission: e?.permission, inNotice, failedAdds });
        want.push({ ...common, stoppedOnFirstAdd: true, afterNotice: true, error: 'GroupWriteForbiddenError', permission: missing, inNotice: due, failedAdds: due });
      } else {
        // A send: the first run stops; of its notices none delivered or failed: each is recorded notSent, or was never
        // dispatched (certainly unsent, so the next run sends it); email the scenario's dropped $batch lost is in doubt.
        const dispatched = new Set(events.flatMap((x) => (x.type === 'notificationDispatch' ? x.keys : [])));
        const outcome = new Map(events.flatMap((x) => (x.type === 'notificationOutcome' ? [[x.key, x.outcome] as const] : [])));
        const notices = events.flatMap((x) => (x.type === 'notificationSent' ? [x.key] : []));
        const fate = (k: string) => outcome.get(k) ?? (dispatched.has(k) ? 'open' : 'undispatched');
        const fates = [...new Set(notices.filter((k) => !r.inDoubt.includes(k)).map(fate))].sort();
        seen.push({ ...got, day: r.stopped?.day, error: e?.name, permission: e?.permission, notices: notices.length > 0, notSent: fates.includes('notSent'), fates: fates.filter((f) => f !== 'notSent' && f !== 'undispatched'), delivered: r.h.emulator.state.notifications.length });
        want.push({ ...common, day: 0, error: 'NotificationsStoppedError', permission: missing, notices: true, notSent: true, fates: [], delivered: 0 });
      }
      await h!.close();
      h = undefined;
    }
    expect(seen).toEqual(want);
  });
});

describe('an email campaign without Mail.Read', () => {
  it('warns naming Mail.Read, keeps the emails of the interrupted $batch open (never delivered, never sent again), and enforces none of their users', async () => {
    expect(granted.email).toContain('Mail.Read');
    const r = await runCampaignDays('email', granted.email.filter((p) => p !== 'Mail.Read'));
    // Fail safe by design, not a stop: everyone else goes on to enforcement.
    expect(r.stopped?.error).toBeUndefined();
    expect(r.inDoubt.length).toBeGreaterThan(0);
    for (const result of r.results.slice(1)) expect(result.warnings.join('\n')).toContain(`the identity lacks Mail.Read on the sender mailbox ${SENDER}`);
    expect(r.statuses.filter((s) => s.status === 403).map((s) => s.route.replace(/\/users\/[^/]+\//, '/users/{id}/'))).toEqual(
      r.results.slice(1).flatMap(() => r.inDoubt.map(() => 'GET /users/{id}/mailFolders/sentitems/messages')));
    const events = await r.h.events();
    expect(openIntents(events).notifications.map((n) => n.sent.key).sort()).toEqual([...r.inDoubt].sort());
    expect(events.filter((e) => e.type === 'notificationOutcome' && r.inDoubt.includes(e.key) && e.outcome !== 'inDoubt')).toEqual([]);
    const doubtUsers = new Set(events.flatMap((e) => (e.type === 'notificationSent' && r.inDoubt.includes(e.key) ? [e.userId] : [])));
    // Each went out once (the dropped $batch), never again.
    const sends = r.h.emulator.state.notifications.map((n) => JSON.stringify(n.request));
    expect(r.inDoubt.map((k) => sends.filter((x) => x.includes(k)).length)).toEqual(r.inDoubt.map(() => 1));
    const state = await r.h.state();
    const held = [...doubtUsers].filter((id) => state.users[id]!.stage === 'enforcementNotice');
    expect(held.length).toBeGreaterThan(0);
    for (const id of doubtUsers) expect(state.users[id]!.enforcedAt).toBeNull();
    // Whoever else was in the enforcement notice on day 0 was enforced.
    const last = r.results.at(-1)!;
    expect(last.counts.enforced).toBe(r.results[0]!.counts.enforcementNotice - held.length);
  });
});

describe('a 403 on adding some users, not all, to the enforcement group', () => {
  /** Graph refuses the add of the given users with 403 (as for an object the identity may not touch), the others go through. */
  class RefusingAdds extends Graph {
    constructor(opts: ConstructorParameters<typeof Graph>[0], private readonly refused: (userId: string) => boolean) {
      super(opts);
    }
    override async batch(requests: readonly BatchRequest[], opts: { retryTransport?: boolean } = {}): Promise<Map<string, BatchResponse>> {
      const id = (r: BatchRequest) => String((r.body as { '@odata.id'?: string } | undefined)?.['@odata.id'] ?? '').split('/').pop()!;
      const refuse = requests.filter((r) => isGroupAdd(`${r.method} ${r.url}`) && this.refused(id(r)));
      const out = await super.batch(requests.filter((r) => !refuse.includes(r)), opts);
      for (const r of refuse) out.set(r.id, { id: r.id, status: 403, headers: {}, body: { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } } });
      return out;
    }
  }

  it('is those users\' failure, not a stop: they stay in the enforcement notice, the others are enforced', async () => {
    let victim: string | undefined;
    const r = await runCampaignDays('teams', granted.teams, (h) => new RefusingAdds({ graphUrl: h.emulator.url, sleep: async (ms) => h.clock.advance(ms), now: () => h.clock.now() }, (id) => (victim ??= id) === id));
    expect(r.stopped?.error).toBeUndefined();
    const due = r.results[0]!.counts.enforcementNotice;
    expect(due).toBeGreaterThan(1);
    const state = await r.h.state();
    expect(state.users[victim!]!.stage).toBe('enforcementNotice');
    expect(state.users[victim!]!.enforcedAt).toBeNull();
    expect(r.results.at(-1)!.counts.enforced).toBe(due - 1);
    const said = r.results.at(-1)!.warnings.join('\n');
    expect(said).toContain(`${state.users[victim!]!.userPrincipalName} to passkey-campaign-admins-passkeys-enforced failed (403`);
    expect(said).toContain('If the identity may not write the group, grant the Microsoft Graph application permission GroupMember.ReadWrite.All');
  });
});
