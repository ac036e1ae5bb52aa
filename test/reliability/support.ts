// Shared by the reliability suites: small prepared tenants, the uninterrupted reference outcome of one
// run, the invariants every faulted or killed run must keep, and real `bin/campaign` child processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { loadCampaignFile } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import type { LedgerEvent } from '../../src/ledger/events';
import { foldLedger } from '../../src/engine/state';
import { Graph, SIM_TOKEN, type GraphOptions } from '../../src/graph/client';
import { openIntents } from '../../src/engine/recovery';
import type { RunResult } from '../../src/reconcile/result';
import { runCampaign } from '../../src/reconcile/run';
import { FakeClock } from '../../src/sim/clock';
import type { TenantFixture } from '../../src/sim/fixture';
import { generateTenant, SIM_IDS } from '../../src/sim/generate';
import type { SimNotification } from '../../src/sim/routes';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/sim/server';
import { PASSKEY_METHODS } from '../../src/sim/tenant-state';
import { FileStore } from '../../src/ledger/file/store';

export const ROOT = path.resolve(__dirname, '..', '..');
export const START = new Date('2026-12-01T06:00:00Z');
export const DAY = 86_400_000;
export const CAMPAIGN = 'admins-passkeys';
export const SENDER = 'passkey-campaigns@contoso.com';
export type Channel = 'teams' | 'email';

export const dayIso = (day: number) => new Date(START.getTime() + day * DAY).toISOString();

export function campaignFor(channel: Channel): Campaign {
  const c = loadCampaignFile(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml')).campaign!;
  c.spec.status = 'inProgress';
  c.spec.notifications.channel = channel;
  return c;
}

/** What "the same outcome" means: per user stage, exceededGrace, enforcement day and notification keys; the group's members. */
export interface Outcome {
  users: Array<[string, string | null, boolean, string | null, boolean, string[]]>;
  group: string[];
}

export function outcomeOf(events: readonly LedgerEvent[], groupMembers: Iterable<string>): Outcome {
  const s = foldLedger(events);
  // The keys of the notices each user was sent since the campaign last started over (the fold keeps none).
  const keys = new Map<string, string[]>();
  for (const e of events) {
    if (e.type === 'campaignReset') keys.clear();
    else if (e.type === 'notificationSent') keys.set(e.userId, [...(keys.get(e.userId) ?? []), e.key]);
  }
  const users = Object.values(s.users)
    .map((u) => [u.userId, u.stage, u.exceededGrace, u.enforcedAt?.slice(0, 10) ?? null, u.left !== null, [...(keys.get(u.userId) ?? [])].sort()] as Outcome['users'][number])
    .sort((a, b) => a[0].localeCompare(b[0]));
  return { users, group: [...groupMembers].sort() };
}

export function notificationKey(n: SimNotification): string {
  const r = n.request as { templateParameters?: Array<{ name: string; value: string }>; message?: { internetMessageHeaders?: Array<{ name: string; value: string }> } };
  const fromTeams = r.templateParameters?.find((p) => p.name === 'notificationKey')?.value;
  const fromMail = r.message?.internetMessageHeaders?.find((h) => h.name === 'X-Passkey-Campaign-Key')?.value;
  return fromTeams ?? fromMail ?? '(no key)';
}

export interface Scenario {
  name: string;
  channel: Channel;
  day: number;
  campaign: Campaign;
  /** Tenant as it stands before the faulted day's run. */
  fixture: TenantFixture;
  /** Ledger (state dir) as it stands before that run: copy it, never write to it. */
  baseDir: string;
  /** Users with a passkey in the tenant (which does not change during a scenario). */
  passkeyUsers: Set<string>;
  reference: { outcome: Outcome; delivered: string[]; requests: number; result: RunResult };
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function copyLedger(scenario: Scenario): string {
  const dir = tmpDir('rel-ledger-');
  fs.cpSync(scenario.baseDir, dir, { recursive: true });
  return dir;
}

/** An in-process tenant: emulator + client on one fake clock (throttling waits cost no real time). */
export interface InProcess {
  emulator: Emulator;
  clock: FakeClock;
  graph: Graph;
  store: FileStore;
  dir: string;
  newGraph(opts?: Partial<GraphOptions>): Graph;
  run(day: number, opts?: { apply?: boolean; graph?: Graph }): Promise<RunResult>;
  events(): Promise<LedgerEvent[]>;
  faults(body: Record<string, unknown>): void;
  close(): Promise<void>;
}

export async function inProcess(scenario: Pick<Scenario, 'fixture' | 'campaign' | 'channel'>, dir: string, emu: Partial<EmulatorOptions> = {}): Promise<InProcess> {
  const clock = new FakeClock(START);
  const emulator = await startEmulator({ tenant: structuredClone(scenario.fixture), port: 0, token: SIM_TOKEN, clock, ...emu });
  const newGraph = (opts: Partial<GraphOptions> = {}) => new Graph({ graphUrl: emulator.url, sleep: async (ms) => clock.advance(ms), now: () => clock.now(), ...opts });
  const graph = newGraph();
  const store = new FileStore({ dir });
  const p: InProcess = {
    emulator, clock, graph, store, dir, newGraph,
    run(day, o = {}) {
      const now = new Date(START.getTime() + day * DAY);
      clock.set(now);
      return runCampaign({ campaign: scenario.campaign, graph: o.graph ?? graph, store, now, apply: o.apply ?? true, sender: scenario.channel === 'email' ? SENDER : undefined });
    },
    async events() {
      return (await store.read(CAMPAIGN)).events;
    },
    faults(body) {
      emulator.state.setFaults(body);
    },
    async close() {
      await emulator.close();
    },
  };
  return p;
}

/** A tenant of ~30 targeted admins, its ledger after days 0..day-1, and the uninterrupted run of `day`. */
export async function prepareScenario(channel: Channel, day: number, seed = 21, users = 40, admins = 28): Promise<Scenario> {
  const fixture = generateTenant({ users, admins, seed, now: START.toISOString() });
  fixture.users!.push({ id: 'e1000000-0000-4000-8000-000000000001', userPrincipalName: SENDER, displayName: 'Passkey campaigns', accountEnabled: true, mail: SENDER });
  const campaign = campaignFor(channel);
  const baseDir = tmpDir('rel-base-');
  const prep = await inProcess({ fixture, campaign, channel }, baseDir);
  for (let d = 0; d < day; d++) await prep.run(d);
  const before = prep.emulator.state.tenant.toFixture();
  await prep.close();
  const passkeyUsers = new Set((before.userRegistrationDetails ?? []).filter((r) => (r.methodsRegistered ?? []).some((m) => (PASSKEY_METHODS as readonly string[]).includes(m))).map((r) => r.id));
  const scenario: Scenario = { name: `${channel} day ${day}${users > 40 ? ` (${users} users)` : ''}`, channel, day, campaign, fixture: before, baseDir, passkeyUsers, reference: undefined as unknown as Scenario['reference'] };
  const ref = await inProcess(scenario, copyLedger(scenario));
  const result = await ref.run(day);
  scenario.reference = {
    outcome: outcomeOf(await ref.events(), ref.emulator.state.tenant.memberIds(SIM_IDS.adminsEnforcedGroup)),
    delivered: ref.emulator.state.notifications.map(notificationKey).sort(),
    requests: ref.emulator.state.requests().total,
    result,
  };
  await ref.close();
  fs.rmSync(ref.dir, { recursive: true, force: true });
  return scenario;
}

/**
 * The invariants after a faulted or killed run and a rerun to completion, all at the same `now`:
 * the ledger parses; nobody is enforced (or in the group) without a passkey; no notification key is
 * recorded or delivered twice; nothing is left open; a further run decides nothing; and the outcome
 * equals the uninterrupted reference (Teams: a notification may be missing only if the ledger says
 * it is in doubt).
 */
export async function assertRecovered(scenario: Scenario, emulator: Emulator, dir: string, label: string, planGraph?: Graph): Promise<void> {
  const store = new FileStore({ dir });
  const read = await store.read(CAMPAIGN); // throws if the ledger does not parse
  const events = read.events;
  const members = emulator.state.tenant.memberIds(SIM_IDS.adminsEnforcedGroup);
  const state = foldLedger(events);
  for (const u of Object.values(state.users)) {
    if (u.stage === 'enforced' && !u.left) expect(scenario.passkeyUsers.has(u.userId), `${label}: ${u.userPrincipalName} enforced without a passkey`).toBe(true);
  }
  const baseMembers = new Set((scenario.fixture.groups ?? []).find((g) => g.id === SIM_IDS.adminsEnforcedGroup)?.members ?? []);
  for (const m of members) if (!baseMembers.has(m)) expect(scenario.passkeyUsers.has(m), `${label}: ${m} added to the group without a passkey`).toBe(true);
  assertToldBeforeEnforced(events, scenario.campaign.spec.stages.enforcement.noticeDays, label, members, baseMembers);
  // No exempt account is ever enforced: the break-glass accounts and every account the campaign excludes.
  const exemptIds = new Set<string>([SIM_IDS.breakGlass1, SIM_IDS.breakGlass2]);
  const ex = scenario.campaign.spec.exclusions;
  for (const ref of ex.users) {
    const u = (scenario.fixture.users ?? []).find((x) => x.id === ref || x.userPrincipalName.toLowerCase() === ref.toLowerCase());
    if (u) exemptIds.add(u.id);
  }
  for (const g of ex.groups) for (const m of (scenario.fixture.groups ?? []).find((x) => x.id === g)?.members ?? []) exemptIds.add(m);
  expect([...members].filter((m) => exemptIds.has(m)), `${label}: exempt accounts in the enforcement group`).toEqual([]);
  expect(Object.values(state.users).filter((u) => exemptIds.has(u.userId) && u.stage !== null && !u.left).map((u) => u.userPrincipalName), `${label}: exempt accounts in the campaign`).toEqual([]);

  const recorded = events.flatMap((e) => (e.type === 'notificationSent' ? [e.key] : []));
  expect(new Set(recorded).size, `${label}: a notification key was recorded twice`).toBe(recorded.length);
  const delivered = emulator.state.notifications.map(notificationKey).sort();
  expect(new Set(delivered).size, `${label}: a notification was delivered twice: ${delivered.filter((k, i) => delivered[i - 1] === k).join(', ')}`).toBe(delivered.length);

  const open = openIntents(events);
  expect({ interrupted: open.interruptedRuns, notifications: open.notifications.map((n) => n.sent.key), groupAdds: open.groupAdds.map((g) => g.userId) }, `${label}: intents left open`).toEqual({ interrupted: [], notifications: [], groupAdds: [] });
  assertRunsDoNotOverlap(events, label);

  expect(outcomeOf(events, members), `${label}: outcome differs from the uninterrupted run`).toEqual(scenario.reference.outcome);
  const inDoubt = new Set(events.flatMap((e) => (e.type === 'notificationOutcome' && e.outcome === 'inDoubt' ? [e.key] : [])));
  if (scenario.channel === 'email') {
    expect(delivered, `${label}: delivered mail differs from the uninterrupted run`).toEqual(scenario.reference.delivered);
  } else {
    const ref = new Set(scenario.reference.delivered);
    for (const k of delivered) expect(ref.has(k), `${label}: unexpected Teams notification ${k}`).toBe(true);
    for (const k of ref) if (!delivered.includes(k)) expect(inDoubt.has(k), `${label}: Teams notification ${k} lost without being recorded in doubt`).toBe(true);
  }

  // Converged: another run at the same moment decides nothing (a plan, so nothing is written).
  const graph = planGraph ?? new Graph({ graphUrl: emulator.url, sleep: async () => undefined });
  const again = await runCampaign({ campaign: scenario.campaign, graph, store, now: new Date(dayIso(scenario.day)), apply: false, sender: SENDER });
  expect({ transitions: again.transitions, notifications: again.notifications, groupAdds: again.groupAdds }, `${label}: a further run would still act`).toEqual({ transitions: [], notifications: 0, groupAdds: 0 });
}

/** runStarted/runFinished pairs never interleave: each run finishes before the next one starts. */
export function assertRunsDoNotOverlap(events: readonly LedgerEvent[], label: string): void {
  let open: string | null = null;
  for (const e of events) {
    if (e.type === 'runStarted') {
      expect(open, `${label}: run ${e.runId} started while ${open} was running`).toBeNull();
      open = e.runId;
    } else if (e.type === 'runFinished') {
      // A later run closes an interrupted one just before its own start, so only the open one may finish.
      if (e.interrupted) expect(e.runId === open || open === null, `${label}: interrupted run ${e.runId} closed out of order`).toBe(true);
      else expect(e.runId, `${label}: run ${e.runId} finished while ${open} was running`).toBe(open);
      if (e.runId === open) open = null;
    }
  }
}

// ── real child processes ───────────────────────────────────────────────────────────────────────

const BIN = path.join(ROOT, 'bin', 'campaign');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** bin/campaign runs dist/: rebuild it (as `npm test` does) when a source is newer. One builder at a time. */
export function ensureBuilt(): void {
  const marker = path.join(ROOT, 'dist', 'apps', 'cli', 'main.js');
  const lock = path.join(os.tmpdir(), `campaign-dist-build-${Buffer.from(ROOT).toString('hex').slice(-16)}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`waited 120 s for another build (${lock})`);
      // Another test file is building; a stale lock dir from a killed build is removed after 2 min.
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 120_000) fs.rmSync(lock, { recursive: true, force: true });
      } catch { /* gone */ }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    const built = fs.existsSync(marker) ? fs.statSync(marker).mtimeMs : 0;
    if (newestMtime(path.join(ROOT, 'src')) > built) {
      // Other work in progress may not type-check; tsc still emits, which is all the child needs.
      spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      if (!fs.existsSync(marker) || fs.statSync(marker).mtimeMs < built) throw new Error('the build did not produce dist/apps/cli/main.js');
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export interface ChildRun {
  pid: number;
  kill(): void;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** `bin/campaign reconcile` against the emulator, as the scheduler runs it. Killed after `timeoutMs` at the latest. */
export function reconcileChild(scenario: Scenario, campaignFile: string, url: string, dir: string, extra: string[] = [], timeoutMs = 30_000): ChildRun {
  const args = ['reconcile', '--campaign', campaignFile, '--graph-url', url, '--state', dir, '--now', dayIso(scenario.day), '--json', ...extra];
  if (scenario.channel === 'email') args.push('--sender', SENDER);
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { pid: proc.pid!, kill: () => proc.kill('SIGKILL'), done };
}

/** The campaign file the child reads (the channel differs per scenario). */
export function writeCampaignFile(channel: Channel, dir: string): string {
  const file = path.join(dir, `${CAMPAIGN}.yaml`);
  const text = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'campaigns', `${CAMPAIGN}.yaml`), 'utf8').replace('status: notStarted', 'status: inProgress').replace('channel: teams', `channel: ${channel}`);
  fs.writeFileSync(file, text);
  return file;
}

/** Waits (bounded) until the emulator executes no request; a request that never ends fails the seed. */
export async function settled(emulator: { state: { idle(): Promise<void> } }, label: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: the emulator still executes a request after 30 s`)), 30_000);
  });
  try {
    await Promise.race([emulator.state.idle(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * With CPU_HOG=1 (`npm run test:loaded`, run by CI), one busy-looping process per core runs beside the suite:
 * the invariants must hold on a machine that is slower than the timings anyone had in mind.
 */
/** Under the hog every seed takes several times longer: a share of the seeds, and more time per test. */
export const LOADED = !!process.env.CPU_HOG;
export function loadedShare<T>(seeds: readonly T[]): T[] {
  return LOADED ? seeds.filter((_, i) => i % 3 === 0) : [...seeds];
}
export const SUITE_TIMEOUT_MS = LOADED ? 900_000 : 240_000;

export function cpuHogWhileSuiteRuns(): void {
  if (!process.env.CPU_HOG) return;
  let hogs: ChildProcess[] = [];
  beforeAll(() => {
    hogs = Array.from({ length: os.availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  });
  afterAll(() => {
    for (const h of hogs) h.kill('SIGKILL');
  });
}

/**
 * Notice integrity, read from the ledger alone: every user who entered `enforced` because the notice period
 * elapsed had an enforcement notice DELIVERED in that enforcementNotice episode, at least `noticeDays` whole
 * UTC days before; and every member added to the enforcement group (not there in the base fixture) entered
 * `enforced` that way.
 */
export function assertToldBeforeEnforced(events: readonly LedgerEvent[], noticeDays: number, label: string, groupMembers: Iterable<string> = [], baseMembers: ReadonlySet<string> = new Set()): void {
  const day = (iso: string) => Math.floor(Date.parse(iso) / DAY);
  const noticeOf = new Map<string, string>(); // enforcementNotice-stage key → userId
  const told = new Map<string, string>(); // userId → first delivery in the current enforcementNotice episode
  const enforcedByNotice = new Set<string>();
  for (const e of events) {
    if (e.type === 'userEnteredStage' && e.to === 'enforcementNotice') told.delete(e.userId);
    else if (e.type === 'notificationSent' && e.stage === 'enforcementNotice') noticeOf.set(e.key, e.userId);
    else if (e.type === 'notificationOutcome' && e.outcome === 'delivered' && noticeOf.get(e.key) === e.userId && !told.has(e.userId)) told.set(e.userId, e.at);
    else if (e.type === 'userEnteredStage' && e.to === 'enforced' && e.reason === 'NoticePeriodElapsed') {
      const t = told.get(e.userId);
      expect(t, `${label}: ${e.userPrincipalName} enforced on ${e.at} without a delivered enforcement notice`).toBeDefined();
      expect(day(e.at) - day(t!), `${label}: ${e.userPrincipalName} enforced ${day(e.at) - day(t!)} days after the notice was delivered (${t})`).toBeGreaterThanOrEqual(noticeDays);
      enforcedByNotice.add(e.userId);
    }
  }
  for (const m of groupMembers) {
    if (!baseMembers.has(m)) expect(enforcedByNotice.has(m), `${label}: ${m} is in the enforcement group without having been told`).toBe(true);
  }
}
