// deploy/functions/campaign-source.sh (run by build.sh): the commit the Functions package's campaign files come
// from, recorded only when the checkout's campaigns directory holds exactly that commit's files.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = path.resolve(__dirname, '..', '..', 'deploy', 'functions', 'campaign-source.sh');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'campaign-source-')));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const env = (extra: Record<string, string> = {}) => {
  const e: NodeJS.ProcessEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1', ...extra };
  if (!('GITHUB_SHA' in extra)) delete e.GITHUB_SHA;
  return e;
};

let n = 0;
/** A repository with PROJECT/campaigns/a.yaml committed (PROJECT '' is the repository root). */
function repository(project = ''): { repo: string; root: string; head: string } {
  const repo = path.join(tmp, `repo-${++n}`);
  const root = path.join(repo, project);
  fs.mkdirSync(path.join(root, 'campaigns'), { recursive: true });
  fs.writeFileSync(path.join(root, 'campaigns', 'a.yaml'), 'apiVersion: x\n');
  fs.writeFileSync(path.join(repo, '.gitignore'), '*.local.yaml\n');
  const git = (...args: string[]) => spawnSync('git', args, { cwd: repo, encoding: 'utf8', env: env() }).stdout.trim();
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'campaigns');
  return { repo, root, head: git('rev-parse', 'HEAD') };
}

function source(root: string, extraEnv: Record<string, string> = {}, dir = 'campaigns') {
  const out = path.join(tmp, `source-${++n}.json`);
  const r = spawnSync('bash', [SCRIPT, root, dir, out], { encoding: 'utf8', env: env(extraEnv) });
  expect(r.status, r.stderr).toBe(0);
  return { json: JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, string>, out: r.stdout, err: r.stderr };
}

describe('deploy/functions/campaign-source.sh', () => {
  it('records HEAD, or $GITHUB_SHA when it is HEAD, for a clean campaigns directory', () => {
    const { root, head } = repository();
    const r = source(root);
    expect(r.json).toEqual({ commit: head, campaignsDir: 'campaigns' });
    expect(r.out).toBe(`campaign-source.json: the campaign files in campaigns are those of commit ${head}\n`);
    expect(source(root, { GITHUB_SHA: head }, 'campaigns/').json).toEqual({ commit: head, campaignsDir: 'campaigns' });
  });

  it('records the checked-out commit, saying so, when $GITHUB_SHA names another', () => {
    const { root, head } = repository();
    const other = 'f'.repeat(40);
    const r = source(root, { GITHUB_SHA: other });
    expect(r.json).toEqual({ commit: head, campaignsDir: 'campaigns' });
    expect(r.err).toContain(`GITHUB_SHA ${other} is not the checked-out commit ${head}; recording ${head}`);
  });

  it('names the directory from the repository root when the project is in a subfolder', () => {
    const { root, head } = repository('identity/passkeys');
    expect(source(root, {}, './campaigns').json).toEqual({ commit: head, campaignsDir: 'identity/passkeys/campaigns' });
  });

  it.each([
    { name: 'a modified file', change: (root: string) => fs.appendFileSync(path.join(root, 'campaigns', 'a.yaml'), '# edit\n'), why: /campaigns has 1 uncommitted change\(s\) \(git status --porcelain: {2}M campaigns\/a\.yaml\)/ },
    { name: 'an untracked file', change: (root: string) => fs.writeFileSync(path.join(root, 'campaigns', 'b.yaml'), 'x\n'), why: /\?\? campaigns\/b\.yaml/ },
    { name: 'an ignored file (copied into the package all the same)', change: (root: string) => fs.writeFileSync(path.join(root, 'campaigns', 'c.local.yaml'), 'x\n'), why: /!! campaigns\/c\.local\.yaml/ },
  ])('records no commit, and says why, with $name in the campaigns directory', ({ change, why }) => {
    const { root, head } = repository();
    change(root);
    const r = source(root, { GITHUB_SHA: head });
    expect(Object.keys(r.json)).toEqual(['campaignsDir', 'note']);
    expect(r.json.note).toMatch(why);
    expect(r.err).toMatch(/campaign-source\.json records no commit: .*The job's runs will record only the SHA-256 of each campaign file; build from a clean checkout to record the commit\.\n$/);
  });

  it('ignores changes outside the campaigns directory', () => {
    const { repo, root, head } = repository();
    fs.writeFileSync(path.join(repo, 'notes.txt'), 'x\n');
    expect(source(root).json).toEqual({ commit: head, campaignsDir: 'campaigns' });
  });

  it('records no commit outside a git work tree, even with $GITHUB_SHA', () => {
    const root = path.join(tmp, 'plain');
    fs.mkdirSync(path.join(root, 'campaigns'), { recursive: true });
    const r = source(root, { GITHUB_SHA: 'a'.repeat(40), GIT_CEILING_DIRECTORIES: tmp });
    expect(r.json).toEqual({ campaignsDir: 'campaigns', note: `${root} is not inside a git work tree` });
  });
});
