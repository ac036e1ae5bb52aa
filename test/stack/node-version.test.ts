// One Node.js major for the Functions app, set in deploy/functions/.node-version: the program's Flex Consumption
// runtime, the package manifest's and lockfile's `engines`, build.sh and every setup-node step of the workflows
// agree with it, and it is a version Flex Consumption runs and Functions still supports.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FLEX_NODE_VERSIONS, FUNCTIONS_NODE_VERSION_FILE, parseFunctionsNodeVersion } from '../../src/stack/flex-consumption';
import { campaignsCopy, runProgram, type ProgramRun } from './harness';

const ROOT = path.join(__dirname, '..', '..');
const DEPLOY = path.join(ROOT, 'deploy', 'functions');
const WORKFLOWS = path.join(ROOT, '.github', 'workflows');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const version = fs.readFileSync(path.join(ROOT, FUNCTIONS_NODE_VERSION_FILE), 'utf8').trim();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'node-version-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Step { uses?: string; with?: Record<string, unknown> }

describe('the Functions app\'s Node.js version', () => {
  let run: ProgramRun;
  beforeAll(async () => {
    const dir = campaignsCopy();
    fs.renameSync(dir, path.join(tmp, 'campaigns'));
    run = await runProgram({ campaignsDir: path.join(tmp, 'campaigns') });
  });

  it('is Node.js 22, which Flex Consumption runs and Functions supports (Node.js 20 support ended 30 April 2026)', () => {
    expect(FUNCTIONS_NODE_VERSION_FILE).toBe('deploy/functions/.node-version');
    expect(version).toBe('22');
    expect(FLEX_NODE_VERSIONS).toContain(version);
    expect(FLEX_NODE_VERSIONS).not.toContain('20');
  });

  it('is what the program puts in functionAppConfig.runtime', () => {
    expect(run.one('azure-native:web:WebApp', 'scheduler-app').inputs.functionAppConfig.runtime).toEqual({ name: 'node', version });
  });

  it('refuses a version Flex Consumption does not run or Functions no longer supports, naming the file', () => {
    expect(parseFunctionsNodeVersion('22\n')).toBe('22');
    expect(() => parseFunctionsNodeVersion('20')).toThrow('deploy/functions/.node-version: "20" is not a Node.js major the Functions app can run on Flex Consumption; use one of 22.');
    expect(() => parseFunctionsNodeVersion('lts/*')).toThrow(/deploy\/functions\/\.node-version: "lts\/\*" is not a Node\.js major/);
  });

  it('is the package manifest\'s and lockfile\'s engines.node', () => {
    expect(readJson(path.join(DEPLOY, 'package.json')).engines).toEqual({ node: `${version}.x` });
    expect(readJson(path.join(DEPLOY, 'package-lock.json')).packages[''].engines).toEqual({ node: `${version}.x` });
  });

  it('is what every setup-node step of the workflows installs (node-version-file, no version of its own)', () => {
    const steps = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).flatMap((f) => {
      const wf = parse(fs.readFileSync(path.join(WORKFLOWS, f), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
      return Object.entries(wf.jobs).flatMap(([job, j]) => j.steps.filter((s) => s.uses?.startsWith('actions/setup-node')).map((s) => ({ at: `${f} ${job}`, with: s.with })));
    });
    expect(steps.map((s) => s.at)).toContain('campaign-deploy.yml deploy');
    for (const s of steps) {
      expect({ at: s.at, file: s.with?.['node-version-file'], version: s.with?.['node-version'] }).toEqual({ at: s.at, file: FUNCTIONS_NODE_VERSION_FILE, version: undefined });
    }
  });

  it('stops build.sh before it compiles when the manifest\'s engines disagree with it', () => {
    // A copy of the deploy folder whose manifest still says Node.js 20; build.sh finds the project two levels up.
    const copy = path.join(tmp, 'project');
    fs.mkdirSync(path.join(copy, 'deploy', 'functions'), { recursive: true });
    fs.mkdirSync(path.join(copy, 'campaigns'));
    for (const f of ['build.sh', '.node-version', 'package-lock.json']) fs.copyFileSync(path.join(DEPLOY, f), path.join(copy, 'deploy', 'functions', f));
    const manifest = readJson(path.join(DEPLOY, 'package.json'));
    fs.writeFileSync(path.join(copy, 'deploy', 'functions', 'package.json'), JSON.stringify({ ...manifest, engines: { node: '>=20.19' } }));
    const r = spawnSync('bash', [path.join(copy, 'deploy', 'functions', 'build.sh'), path.join(tmp, 'out')], { cwd: copy, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`deploy/functions/build.sh: package.json engines.node is '>=20.19' but .node-version says ${version}: set engines.node to "${version}.x" (and in package-lock.json)`);
    expect(fs.existsSync(path.join(tmp, 'out', 'dist'))).toBe(false);
  });
});
