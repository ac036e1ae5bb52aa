// The configuration a run records: the SHA-256 of the campaign file's bytes as loaded and, from a clean git
// checkout, the last commit that changed the file (campaign/identity.ts).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignIdentity } from '../../src/campaign/identity';
import { loadCampaignFile } from '../../src/campaign/load';
import { resolveCampaign } from '../../src/apps/cli/common';
import { captureIo } from '../helpers/io';

const FIXTURE = fs.readFileSync('test/fixtures/campaigns/admins-passkeys.yaml');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let tmp: string;
let repo: string;
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1' };

function git(...args: string[]): string {
  const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8', env: GIT_ENV });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Writes the file, commits it, then commits an unrelated change: the file's commit is not HEAD. */
function commitFile(rel: string, bytes: Buffer): string {
  const file = path.join(repo, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  git('add', '--', rel);
  git('commit', '-q', '-m', `add ${rel}`);
  const commit = git('rev-parse', 'HEAD');
  fs.writeFileSync(path.join(repo, 'README.md'), `after ${rel}\n`);
  git('add', 'README.md');
  git('commit', '-q', '-m', 'unrelated');
  return commit;
}

beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'campaign-identity-')));
  repo = path.join(tmp, 'repo');
  fs.mkdirSync(repo);
  git('init', '-q');
  git('config', 'core.autocrlf', 'false');
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('campaignIdentity', () => {
  it('names the last commit that changed a clean tracked file, with its repository path in forward slashes', () => {
    const commit = commitFile('campaigns/admins-passkeys.yaml', FIXTURE);
    expect(commit).not.toBe(git('rev-parse', 'HEAD'));
    const file = path.join(repo, 'campaigns', 'admins-passkeys.yaml');
    expect(campaignIdentity(file, fs.readFileSync(file))).toEqual({ sha256: sha256(FIXTURE), commit, file: 'campaigns/admins-passkeys.yaml' });
    // From a path through a symbolic link to the checkout, the same.
    const link = path.join(tmp, 'link');
    fs.symlinkSync(repo, link);
    expect(campaignIdentity(path.join(link, 'campaigns', 'admins-passkeys.yaml'), FIXTURE)).toEqual({ sha256: sha256(FIXTURE), commit, file: 'campaigns/admins-passkeys.yaml' });
  });

  it('records no commit when the bytes differ from the committed file (an uncommitted edit, or staged only)', () => {
    const rel = 'campaigns/edited.yaml';
    commitFile(rel, FIXTURE);
    const file = path.join(repo, rel);
    const edited = Buffer.concat([FIXTURE, Buffer.from('# edited\n')]);
    fs.writeFileSync(file, edited);
    expect(campaignIdentity(file, edited)).toEqual({ sha256: sha256(edited) });
    git('add', '--', rel);
    expect(campaignIdentity(file, edited)).toEqual({ sha256: sha256(edited) });
    // The bytes the run loaded are what count, not what the file holds by the time git is asked.
    expect(campaignIdentity(file, FIXTURE).commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('records no commit for an untracked file, a file outside any repository, or when git cannot run', () => {
    const untracked = path.join(repo, 'campaigns', 'untracked.yaml');
    fs.writeFileSync(untracked, FIXTURE);
    expect(campaignIdentity(untracked, FIXTURE)).toEqual({ sha256: sha256(FIXTURE) });
    const outside = path.join(tmp, 'outside', 'admins-passkeys.yaml');
    fs.mkdirSync(path.dirname(outside));
    fs.writeFileSync(outside, FIXTURE);
    // Whatever holds the temp directory, git looks no further up than it.
    const ceiling = process.env.GIT_CEILING_DIRECTORIES;
    process.env.GIT_CEILING_DIRECTORIES = tmp;
    try {
      expect(campaignIdentity(outside, FIXTURE)).toEqual({ sha256: sha256(FIXTURE) });
    } finally {
      if (ceiling === undefined) delete process.env.GIT_CEILING_DIRECTORIES;
      else process.env.GIT_CEILING_DIRECTORIES = ceiling;
    }
    const tracked = path.join(repo, 'campaigns', 'admins-passkeys.yaml');
    const saved = process.env.PATH;
    process.env.PATH = path.join(tmp, 'no-such-bin');
    try {
      expect(campaignIdentity(tracked, FIXTURE)).toEqual({ sha256: sha256(FIXTURE) });
    } finally {
      process.env.PATH = saved;
    }
  });

  it('hashes the exact bytes read: a byte-order mark and CRLF line ends included, committed as such', () => {
    const crlf = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(FIXTURE.toString('utf8').replace(/\n/g, '\r\n'))]);
    const rel = 'campaigns/windows/admins-passkeys.yaml';
    const commit = commitFile(rel, crlf);
    const file = path.join(repo, rel);
    const expected = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    expect(sha256(crlf)).toBe(expected);
    expect(sha256(crlf)).not.toBe(sha256(FIXTURE));
    expect(campaignIdentity(file, fs.readFileSync(file))).toEqual({ sha256: expected, commit, file: rel });
    // The loader and --campaign hash the same bytes they parse, and parse them as before.
    const loaded = loadCampaignFile(file);
    expect(loaded.sha256).toBe(expected);
    expect(loaded.campaign?.metadata.name).toBe('admins-passkeys');
    const resolved = resolveCampaign(file, captureIo(tmp, {}));
    expect(resolved.sha256).toBe(expected);
    expect(sha256(resolved.bytes)).toBe(expected);
  });
});
