// The Functions package the deploy workflow publishes: deploy/functions/build.sh assembles it from the
// committed manifest and lockfile with `npm ci` (offline here: npm's cache holds every tarball because the
// root lockfile has the same versions), and the package then starts under its own @azure/functions the way
// the Functions worker starts it, registering the timer and HTTP triggers.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.join(__dirname, '..', '..');
const DEPLOY = path.join(ROOT, 'deploy', 'functions');
const SCRIPT = path.join(DEPLOY, 'build.sh');
const PROBE = path.join(__dirname, 'functions-worker-probe.cjs');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

interface LockEntry { version?: string; integrity?: string }
interface Binding { type: string; direction: string; schedule?: string; runOnStartup?: boolean; methods?: string[]; authLevel?: string; route?: string }
interface Probe {
  models: { name: string; version: string }[];
  functions: { name: string; bindings: Record<string, Binding>; handler: string }[];
  runtimeExports: string[];
  azureFunctionsVersion: string;
  resolvedFrom: string;
}

function build(out: string, campaignsDir?: string) {
  const args = [out, ...(campaignsDir === undefined ? [] : [campaignsDir])];
  // --offline: no registry in tests; a package missing from npm's cache fails fast (ENOTCACHED), never hangs.
  return spawnSync('bash', [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000, env: { ...process.env, DEPLOY_NPM_CI_FLAGS: '--offline' } });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'functions-package-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the committed Functions manifest and lockfile', () => {
  const root = readJson(path.join(ROOT, 'package.json'));
  const manifest = readJson(path.join(DEPLOY, 'package.json'));

  it('depends on the root runtime dependencies without @pulumi/*, plus @azure/functions pinned to the root devDependency', () => {
    const expected = Object.fromEntries(Object.entries(root.dependencies as Record<string, string>).filter(([n]) => !n.startsWith('@pulumi/')));
    expected['@azure/functions'] = root.devDependencies['@azure/functions'];
    expect(manifest.dependencies).toEqual(expected);
    expect(manifest.dependencies['@azure/functions']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.main).toBe('dist/apps/functions/main.js');
    expect(manifest.private).toBe(true);
    expect(manifest.devDependencies).toBeUndefined();
  });

  it('locks every package at the version and integrity of the root lockfile, so the root `npm ci` caches what the package installs', () => {
    const rootLock = readJson(path.join(ROOT, 'package-lock.json')).packages as Record<string, LockEntry>;
    const lock = readJson(path.join(DEPLOY, 'package-lock.json'));
    expect(lock.packages[''].dependencies).toEqual(manifest.dependencies);
    const differs = Object.entries(lock.packages as Record<string, LockEntry>)
      .filter(([key]) => key !== '')
      .filter(([key, e]) => rootLock[key]?.version !== e.version || rootLock[key]?.integrity !== e.integrity)
      .map(([key, e]) => `${key}@${e.version}`);
    expect(differs).toEqual([]);
  });
});

describe('deploy/functions/build.sh', () => {
  const pkg = path.join(tmp, 'package');
  let result: ReturnType<typeof build>;
  beforeAll(() => {
    result = build(pkg);
  }, 300_000);

  it('assembles the package with npm ci from the lockfile (offline, from npm\'s cache)', () => {
    const hint = /ENOTCACHED/.test(result.stderr ?? '')
      ? "\nnpm's cache lacks a package of deploy/functions/package-lock.json: run `npm ci` at the project root (its lockfile holds the same versions) and keep the two lockfiles in step."
      : '';
    expect(result.error, 'build.sh did not finish (timeout?)').toBeUndefined();
    expect(result.status, `build.sh failed:\n${result.stderr}${hint}`).toBe(0);
    expect(readJson(path.join(pkg, 'package.json'))).toEqual(readJson(path.join(DEPLOY, 'package.json')));
    expect(fs.readFileSync(path.join(pkg, 'package-lock.json'), 'utf8')).toBe(fs.readFileSync(path.join(DEPLOY, 'package-lock.json'), 'utf8'));
    expect(readJson(path.join(pkg, 'node_modules', '@azure', 'functions', 'package.json')).version).toBe(readJson(path.join(DEPLOY, 'package.json')).dependencies['@azure/functions']);
  });

  it('contains the job, host.json and the campaigns, and neither the Pulumi program nor dev tooling', () => {
    expect(fs.existsSync(path.join(pkg, 'dist', 'apps', 'functions', 'main.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist', 'stack'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'node_modules', '@pulumi'))).toBe(false);
    for (const dev of ['typescript', 'vitest', 'azurite']) expect(fs.existsSync(path.join(pkg, 'node_modules', dev))).toBe(false);
    expect(fs.readFileSync(path.join(pkg, 'host.json'), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'src', 'apps', 'functions', 'host.json'), 'utf8'));
    const campaigns = fs.readdirSync(path.join(ROOT, 'campaigns')).filter((f) => f.endsWith('.yaml')).sort();
    expect(campaigns.length).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(pkg, 'campaigns')).filter((f) => f.endsWith('.yaml')).sort()).toEqual(campaigns);
  });

  it('records in campaign-source.json the commit the campaigns come from, when the checkout\'s campaigns directory is clean', () => {
    const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
    const written = readJson(path.join(pkg, 'campaign-source.json'));
    const campaignsDir = `${git('rev-parse', '--show-prefix')}campaigns`;
    // The package's files are HEAD's: HEAD is recorded ($GITHUB_SHA too, when it is HEAD).
    if (git('rev-parse', '--is-inside-work-tree') !== 'true') {
      expect(written).toEqual({ campaignsDir, note: `${ROOT} is not inside a git work tree` });
    } else if (git('status', '--porcelain', '--untracked-files=all', '--ignored', '--', 'campaigns') === '') {
      expect(written).toEqual({ commit: git('rev-parse', 'HEAD'), campaignsDir });
    } else {
      expect(written).toEqual({ campaignsDir, note: expect.stringMatching(/^campaigns has \d+ uncommitted change/) });
    }
  });

  it('starts under its own @azure/functions with the reconcile timer and the postpone HTTP trigger registered', () => {
    // A fresh node process, loading only from the package: nothing resolves from the project's node_modules.
    const run = spawnSync(process.execPath, [PROBE, pkg], { cwd: pkg, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '' } });
    expect(run.status, run.stderr).toBe(0);
    const probe: Probe = JSON.parse(run.stdout);
    expect(probe.resolvedFrom).toMatch(/^node_modules[\\/]@azure[\\/]functions[\\/]/);
    expect(probe.models).toEqual([{ name: '@azure/functions', version: probe.azureFunctionsVersion }]);
    expect(probe.functions.map((f) => f.name)).toEqual(['reconcile', 'postpone']);
    const [reconcile, postpone] = probe.functions;
    const trigger = (f: Probe['functions'][number]) => Object.values(f.bindings).find((b) => b.direction === 'in');
    expect(trigger(reconcile!)).toMatchObject({ type: 'timerTrigger', schedule: '%RECONCILE_SCHEDULE%', runOnStartup: false });
    expect(trigger(postpone!)).toMatchObject({ type: 'httpTrigger', methods: ['GET', 'POST'], authLevel: 'anonymous', route: 'postpone' });
    expect(probe.functions.every((f) => f.handler === 'function')).toBe(true);
    // The lazily loaded reconcile pipeline resolves inside the package too.
    expect(probe.runtimeExports).toEqual(['applyPostponeLink', 'runScheduledReconcile']);
  });

  it.each([['../campaigns'], ['/etc'], ['campaigns/../..'], ['no-such-dir']])('refuses the campaigns directory %s before building', (dir) => {
    const r = build(path.join(tmp, 'refused'), dir);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/campaigns directory|CAMPAIGNS_DIR/);
    expect(fs.existsSync(path.join(tmp, 'refused'))).toBe(false);
  });
});
