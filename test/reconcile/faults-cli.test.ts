import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { GraphUnavailableError } from '../../src/graph/errors';
import { generateTenant, SIM_IDS, SIM_GROUP_NAMES } from '../../src/sim/generate';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo } from '../helpers/io';
import { harness, START, type Harness } from './harness';

const ROOT = path.resolve(__dirname, '..', '..');
let emulator: Emulator | undefined;
let h: Harness | undefined;
let tmp: string;

afterEach(async () => {
  await emulator?.close();
  await h?.close();
  emulator = undefined;
  h = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function setup(opts: { token?: string; mutate?: (f: ReturnType<typeof generateTenant>) => void } = {}) {
  const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: START.toISOString() });
  opts.mutate?.(fixture);
  emulator = await startEmulator({ tenant: fixture, port: 0, token: opts.token ?? 'sim-token' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-cli-'));
  const file = path.join(tmp, 'admins-passkeys.yaml');
  fs.writeFileSync(file, fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8').replace('status: notStarted', 'status: inProgress'));
  return { file, state: path.join(tmp, 'state') };
}

async function cli(args: string[]) {
  const io = captureIo();
  const code = await run(args, io);
  return { code, out: io.out(), err: io.err() };
}

describe('reconcile: bad input and faults through the CLI', () => {
  it('prints the DESIGN §5 JSON with the real request count', async () => {
    const { file, state } = await setup();
    const r = await cli(['reconcile', '--campaign', file, '--graph-url', emulator!.url, '--state', state, '--now', '2026-12-01T06:00:00Z', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['campaign', 'now', 'status', 'applied', 'counts', 'transitions', 'notifications', 'groupAdds', 'graphRequests', 'warnings']));
    expect(Object.keys(j.counts)).toEqual(expect.arrayContaining(['targeted', 'deviceUpdate', 'passkeyRegistration', 'enforcementNotice', 'enforced', 'exceededGrace', 'excluded']));
    expect(j).toMatchObject({ campaign: 'admins-passkeys', now: '2026-12-01T06:00:00.000Z', status: 'inProgress', applied: true });
    expect(j.transitions[0]).toEqual({ userId: expect.any(String), userPrincipalName: expect.stringContaining('@'), from: null, to: expect.any(String), reason: expect.any(String) });
    expect(j.graphRequests).toBe(emulator!.state.requests().total);
  });

  it('stops with exit 2 when the enforcement group is missing', async () => {
    const { file, state } = await setup({ mutate: (f) => (f.groups = f.groups!.filter((g) => g.id !== SIM_IDS.adminsEnforcedGroup)) });
    const r = await cli(['reconcile', '--campaign', file, '--graph-url', emulator!.url, '--state', state]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('campaign reconcile: enforcement group "passkey-campaign-admins-passkeys-enforced" does not exist in the tenant.\n  Deploy the campaign first (pulumi up creates the group), or create a security group with exactly this name.\n');
    expect(fs.existsSync(path.join(state, 'admins-passkeys', 'ledger.jsonl'))).toBe(false);
  });

  it('plans anyway when the enforcement group does not exist yet, and says so', async () => {
    const { file, state } = await setup({ mutate: (f) => (f.groups = f.groups!.filter((g) => g.id !== SIM_IDS.adminsEnforcedGroup)) });
    const r = await cli(['plan', '--campaign', file, '--graph-url', emulator!.url, '--state', state, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).warnings[0]).toMatch(/does not exist in the tenant\. Planning as if it were empty; pulumi up creates it/);
  });

  it('stops with exit 2 when two groups carry the enforcement group name', async () => {
    const { file, state } = await setup({ mutate: (f) => f.groups!.push({ id: 'dddddddd-0000-4000-8000-000000000009', displayName: SIM_GROUP_NAMES.adminsEnforced, members: [] }) });
    const r = await cli(['reconcile', '--campaign', file, '--graph-url', emulator!.url, '--state', state]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^campaign reconcile: 2 groups are named "passkey-campaign-admins-passkeys-enforced" \(.+\); the run cannot tell which one the Conditional Access policy targets\.\n  Rename or delete the extra groups/);
  });

  const withoutFido2Policy = (f: ReturnType<typeof generateTenant>) => {
    const policy = f.authenticationMethodsPolicy!;
    policy.authenticationMethodConfigurations = (policy.authenticationMethodConfigurations ?? []).filter((c) => c.id !== 'Fido2');
  };
  const FIDO2_404 = "GET /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2: 404 Request_ResourceNotFound: Resource 'fido2' does not exist or one of its queried reference-property objects are not present.";

  it('stops with exit 2 naming the read when a campaign-level read answers an HTTP error, and writes nothing', async () => {
    const { file, state } = await setup({ mutate: withoutFido2Policy });
    const r = await cli(['reconcile', '--campaign', file, '--graph-url', emulator!.url, '--state', state]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`campaign reconcile: a Graph read of the tenant failed, so this run changed nothing: ${FIDO2_404}\n  Check that the objects the campaign names exist and that the identity may read them, then run again.\n`);
    expect(fs.existsSync(path.join(state, 'admins-passkeys', 'ledger.jsonl'))).toBe(false);
    expect(emulator!.state.requests().writes).toBe(0);
  });

  it('plans with the CampaignReadErrors warning when a campaign-level read answers an HTTP error', async () => {
    const { file, state } = await setup({ mutate: withoutFido2Policy });
    const r = await cli(['plan', '--campaign', file, '--graph-url', emulator!.url, '--state', state, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.warnings).toEqual([`no user moves this run: 1 campaign-level Graph read failed (${FIDO2_404})`]);
    expect(j).toMatchObject({ applied: false, transitions: [], notifications: 0, groupAdds: 0, prerequisites: null });
    // Nothing is read after the failed round: no group expansion, no fido2Methods (role assignments come in that round's $batch).
    expect(Object.keys(emulator!.state.requests().byRoute).filter((k) => k.includes('transitiveMembers') || k.includes('fido2Methods'))).toEqual([]);
  });

  it('stops with exit 2 on a 401 and writes nothing', async () => {
    const { file, state } = await setup({ token: 'another-token' });
    const r = await cli(['reconcile', '--campaign', file, '--graph-url', emulator!.url, '--state', state]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^campaign reconcile: GET \/groups: 401 InvalidAuthenticationToken: .*\n  The token was rejected/);
    expect(fs.existsSync(path.join(state, 'admins-passkeys', 'ledger.jsonl'))).toBe(false);
  });

  it('stops with exit 2 when the Graph URL is unreachable', async () => {
    const { file, state } = await setup();
    const port = emulator!.port;
    await emulator!.close();
    emulator = undefined;
    const r = await cli(['reconcile', '--campaign', file, '--graph-url', `http://127.0.0.1:${port}`, '--state', state]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ECONNREFUSED 127\.0\.0\.1:\d+\n  Check that the Graph URL is reachable from here \(--graph-url\), then run again\.\n$/);
  });

  it('exits 1 with the positioned errors when the campaign file is invalid', async () => {
    const { file, state } = await setup();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('noticeDays: 7', 'noticeDays: 0'));
    const r = await cli(['reconcile', '--campaign', file, '--graph-url', emulator!.url, '--state', state]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${file}:40:40: spec.stages.enforcement.noticeDays: must be ≥ 1 (got 0).\nthe campaign file is invalid; fix it (campaign validate ${file}) and run again.\n`);
  });

  it('makes no move when a page fails mid-way and keeps failing: a typed error, the ledger untouched', async () => {
    h = await harness({ admins: 40, users: 1200 });
    await h.faults({ failAfterRequests: 4 }); // the first pages arrive, everything after answers 503
    await expect(h.run(0)).rejects.toBeInstanceOf(GraphUnavailableError);
    expect(await h.events()).toEqual([]);
    expect(h.emulator.state.notifications).toEqual([]);
    await h.faults({ failAfterRequests: null });
    expect((await h.run(0)).transitions.length).toBeGreaterThan(0);
  });
});

describe('campaign sim', () => {
  it('serves a fixture on an ephemeral port until SIGTERM', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-serve-'));
    const tenant = path.join(tmp, 'tenant.json');
    const gen = spawnSync(path.join(ROOT, 'bin/campaign'), ['sim', 'generate', '--users', '30', '--seed', '4'], { encoding: 'utf8' });
    expect(gen.status).toBe(0);
    fs.writeFileSync(tenant, gen.stdout);
    const again = spawnSync(path.join(ROOT, 'bin/campaign'), ['sim', 'generate', '--users', '30', '--seed', '4'], { encoding: 'utf8' });
    expect(again.stdout).toBe(gen.stdout);

    const child = spawn(path.join(ROOT, 'bin/campaign'), ['sim', 'serve', '--tenant', tenant, '--port', '0']);
    const url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`no listening line: ${buf}`)), 10_000);
      child.stdout.on('data', (d) => {
        buf += String(d);
        const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(buf);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const users = await (await fetch(`${url}/v1.0/users?$top=5`, { headers: { Authorization: 'Bearer sim-token' } })).json() as { value: unknown[] };
    expect(users.value).toHaveLength(5);
    expect((await fetch(`${url}/v1.0/users`)).status).toBe(401);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('the blast-radius guards', () => {
  it('stops before acting when the target set shrinks by more than 20 %, until told it is intended', async () => {
    h = await harness({ admins: 40 });
    const first = await h.run(0);
    const eventsBefore = (await h.events()).length;
    // Remove most role assignments, as a broken or partial role read would.
    await h.patch({ remove: { roleAssignments: (h.fixture.roleAssignments ?? []).slice(8).map((a) => a.id), roleEligibilityScheduleInstances: (h.fixture.roleEligibilityScheduleInstances ?? []).map((a) => a.id) } });
    await expect(h.run(1)).rejects.toThrow(new RegExp(`^the target set shrank from ${first.counts.targeted} to \\d+ users \\(−\\d+%\\) since the last run; nothing was changed\\.$`));
    expect((await h.events()).length).toBe(eventsBefore);
    const plan = await h.run(1, false);
    expect(plan.warnings.some((w) => w.includes('A reconcile would stop here'))).toBe(true);
    const { runCampaign } = await import('../../src/reconcile/run');
    const accepted = await runCampaign({ campaign: h.campaign, graph: h.graph, store: h.store, now: new Date(START.getTime() + 86_400_000), apply: true, acceptTargetDrop: true });
    expect(accepted.transitions.filter((t) => t.reason === 'LeftTargetSet').length).toBeGreaterThan(0);
  });

  it('lets at most maxNewPerRun users join the enforcement group per run', async () => {
    const { adminCampaign } = await import('./harness');
    const campaign = adminCampaign();
    campaign.spec.enforcement.maxNewPerRun = 3;
    h = await harness({ admins: 40, campaign });
    for (let day = 0; day < 7; day++) await h.run(day);
    const r = await h.run(7);
    expect(r.groupAdds).toBe(3);
    expect(r.deferred).toBeGreaterThan(0);
    expect(r.warnings).toContain(`${r.deferred} users ready for enforcement wait for the next run: spec.enforcement.maxNewPerRun is 3.`);
    expect((await h.run(8)).groupAdds).toBe(3);
  });
});
