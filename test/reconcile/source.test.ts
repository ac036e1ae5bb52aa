// Every runStarted records the configuration its run followed: campaignSha256 (the campaign file's bytes as
// loaded) and, from a clean git checkout, campaignCommit + campaignFile. Through the CLI against the emulator,
// and through the demo.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { generateTenant } from '../../src/sim/generate';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo, sharedClock } from '../helpers/io';

const ROOT = path.resolve(__dirname, '..', '..');
const NOW = '2026-12-01T06:00:00Z';
const DAY = 86_400_000;
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1' };
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const YAML = fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8').replace('status: notStarted', 'status: inProgress');

let emulator: Emulator | undefined;
let tmp: string | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** A repository holding campaigns/admins-passkeys.yaml (in progress), committed; returns the commit and paths. */
function repository(): { repo: string; file: string; commit: string } {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'run-source-')));
  const repo = path.join(tmp, 'repo');
  fs.mkdirSync(path.join(repo, 'campaigns'), { recursive: true });
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8', env: GIT_ENV });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  git('init', '-q');
  const file = path.join(repo, 'campaigns', 'admins-passkeys.yaml');
  fs.writeFileSync(file, YAML);
  git('add', '.');
  git('commit', '-q', '-m', 'start the admins campaign');
  return { repo, file, commit: git('rev-parse', 'HEAD') };
}

/** The runStarted lines of the ledger, parsed from its bytes. */
function runStarted(state: string): Array<Record<string, unknown>> {
  return fs.readFileSync(path.join(state, 'admins-passkeys', 'ledger.jsonl'), 'utf8').trimEnd().split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.type === 'runStarted');
}

describe('campaign reconcile records the configuration it followed', () => {
  it('the commit and the file from a clean checkout, the SHA-256 alone once the file is edited', async () => {
    const { repo, file, commit } = repository();
    const fixture = generateTenant({ users: 50, admins: 20, seed: 5, now: NOW });
    const { emulatorClock, ioClock } = sharedClock(NOW);
    emulator = await startEmulator({ tenant: fixture, port: 0, host: '127.0.0.1', token: 'sim-token', clock: emulatorClock });
    const state = path.join(tmp!, 'state');
    const reconcile = async (day: number) => {
      const now = new Date(Date.parse(NOW) + day * DAY).toISOString();
      emulatorClock.set(new Date(now));
      // By name from the repository, as a team runs it: campaigns/<name>.yaml under the working directory.
      const io = captureIo(repo, process.env, ioClock);
      const code = await run(['reconcile', '--campaign', 'admins-passkeys', '--graph-url', emulator!.url, '--state', state, '--now', now, '--json'], io);
      expect(io.err()).toBe('');
      expect(code).toBe(0);
    };
    await reconcile(0);
    const committed = { campaignSha256: sha256(YAML), campaignCommit: commit, campaignFile: 'campaigns/admins-passkeys.yaml' };
    expect(runStarted(state)).toEqual([expect.objectContaining({ ...committed, intents: 1 })]);

    // An uncommitted edit: the run follows other bytes than the commit's, so it records their SHA-256 only.
    const edited = `${YAML}# paused for the holidays\n`.replace('status: inProgress', 'status: paused');
    fs.writeFileSync(file, edited);
    await reconcile(1);
    const [, second] = runStarted(state);
    expect(second).toMatchObject({ status: 'paused', campaignSha256: sha256(edited) });
    expect(second).not.toHaveProperty('campaignCommit');
    expect(second).not.toHaveProperty('campaignFile');
  });
});

describe('campaign demo records the configuration its runs followed', () => {
  it('in every runStarted: the campaign file\'s SHA-256 and its commit', async () => {
    const { file, commit } = repository();
    const io = captureIo(tmp!);
    expect(await run(['demo', '--campaign', file, '--days', '2', '--users', '20', '--seed', '3', '--start', NOW, '--state', 'demo'], io)).toBe(0);
    const started = runStarted(path.join(tmp!, 'demo'));
    expect(started).toHaveLength(2);
    for (const e of started) expect(e).toMatchObject({ campaignSha256: sha256(YAML), campaignCommit: commit, campaignFile: 'campaigns/admins-passkeys.yaml' });
  });
});
