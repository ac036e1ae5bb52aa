// The pull-request step that holds a policy enablement to the campaign's enableWhen gate: its script, taken from
// campaign-pr.yml, runs in a scratch git repository against a stand-in `bin/campaign` that records its calls and
// answers with the exit code `campaign impact` would give.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.join(__dirname, '..', '..');
type Step = { name?: string; run?: string; env?: Record<string, string>; uses?: string; with?: Record<string, unknown> };
type Job = { needs?: string; environment?: string; steps: Step[] };
const jobs = (parse(fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'campaign-pr.yml'), 'utf8')) as { jobs: Record<string, Job> }).jobs;
const impactStep = (): Step => {
  const found = Object.values(jobs).flatMap((j) => j.steps).filter((s) => s.run?.includes('bin/campaign impact'));
  expect(found).toHaveLength(1);
  return found[0]!;
};

const campaign = (name: string, policyState: string | null, maxNewPerRun = 50) =>
  `apiVersion: passkeys/v1\nkind: PasskeyCampaign\nmetadata: { name: ${name} }\nspec:\n  targets: {}\n  exclusions: { breakGlass: [b9000000-0000-4000-8000-000000000001] }\n  enforcement:\n    maxNewPerRun: ${maxNewPerRun}\n${policyState ? `    policyState: ${policyState}\n` : ''}`;

const repos: string[] = [];
afterEach(() => { for (const r of repos.splice(0)) fs.rmSync(r, { recursive: true, force: true }); });

interface Run { code: number | null; calls: string[]; summary: string; stderr: string }

/** A repository whose main holds `base`, with `head` committed on a branch; runs the step there. */
function runStep(base: Record<string, string>, head: Record<string, string | null>, answers: Record<string, number> = {}, env: Record<string, string> = { PREVIEW_CLIENT_ID: 'preview-client' }): Run {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'impact-step-'));
  repos.push(repo);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'ci@example.com');
  git('config', 'user.name', 'ci');
  fs.mkdirSync(path.join(repo, 'campaigns'));
  fs.mkdirSync(path.join(repo, '.github', 'scripts'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, '.github', 'scripts', 'policy-enabling.mjs'), path.join(repo, '.github', 'scripts', 'policy-enabling.mjs'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'));
  fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules\n');
  // Stand-in for the CLI: records its arguments, appends a line to the summary, exits as told for the file.
  fs.mkdirSync(path.join(repo, 'bin'));
  fs.writeFileSync(path.join(repo, 'bin', 'campaign'), `#!/bin/sh
echo "$*" >> "${path.join(repo, 'calls.log')}"
echo "impact report for $3" >> "$5"
case "$3" in
${Object.entries(answers).map(([f, c]) => `  ${f}) exit ${c} ;;`).join('\n')}
esac
exit 0
`, { mode: 0o755 });
  for (const [f, t] of Object.entries(base)) fs.writeFileSync(path.join(repo, 'campaigns', f), t);
  git('add', '-A');
  git('commit', '-qm', 'base');
  git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  git('checkout', '-qb', 'change');
  for (const [f, t] of Object.entries(head)) {
    if (t === null) fs.rmSync(path.join(repo, 'campaigns', f));
    else fs.writeFileSync(path.join(repo, 'campaigns', f), t);
  }
  git('add', '-A');
  git('commit', '-qm', 'change', '--allow-empty');
  const summary = path.join(repo, 'summary.md');
  // How GitHub runs a `run:` step on Linux.
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', impactStep().run!], {
    cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_STEP_SUMMARY: summary, ...env },
  });
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  return { code: r.status, calls: read(path.join(repo, 'calls.log')).split('\n').filter(Boolean), summary: read(summary), stderr: r.stderr };
}

const BASE = { 'a.yaml': campaign('a', 'reportOnly'), 'b.yaml': campaign('b', 'reportOnly'), 'c.yaml': campaign('c', 'enabled'), 'd.yaml': campaign('d', null) };

describe('the pull request\'s impact step', () => {
  it('runs in its own job after validate, with the read-only preview identity and the tenant variables of the plan review', () => {
    const [name, job] = Object.entries(jobs).find(([, j]) => j.steps.includes(impactStep()))!;
    expect(name).toBe('impact');
    expect(job.needs).toBe('validate');
    expect(job.environment).toBe('campaign-preview');
    expect(job.steps.find((s) => s.uses === 'actions/checkout@v4')?.with).toEqual({ 'fetch-depth': 0 });
    expect(job.steps.some((s) => s.uses === 'azure/login@v2')).toBe(true);
    const plan = jobs.plan.steps.find((s) => s.run?.includes('bin/campaign plan'))!;
    expect(impactStep().env).toEqual(plan.env);
    expect(impactStep().run).toContain('bin/campaign impact --campaign "$file" --markdown "$GITHUB_STEP_SUMMARY"');
  });

  it('runs campaign impact only for files whose policyState becomes enabled: switched, or new and enabled', () => {
    const r = runStep(BASE, {
      'a.yaml': campaign('a', 'enabled'), // reportOnly → enabled
      'b.yaml': campaign('b', 'reportOnly', 10), // changed, still report-only
      'c.yaml': campaign('c', 'enabled', 10), // changed, already enabled on main
      'd.yaml': campaign('d', 'enabled'), // default (report-only) → enabled
      'e.yaml': campaign('e', 'enabled'), // new, enabled
      'f.yaml': campaign('f', 'reportOnly'), // new, report-only
    });
    expect(r.calls).toEqual([
      expect.stringMatching(/^impact --campaign campaigns\/a\.yaml --markdown .*summary\.md$/),
      expect.stringMatching(/^impact --campaign campaigns\/d\.yaml --markdown .*summary\.md$/),
      expect.stringMatching(/^impact --campaign campaigns\/e\.yaml --markdown .*summary\.md$/),
    ]);
    expect(r.code).toBe(0);
  });

  it('does not run campaign impact for a change that enables nothing, and says so', () => {
    const r = runStep(BASE, { 'b.yaml': campaign('b', 'reportOnly', 10), 'c.yaml': campaign('c', 'enabled', 5) });
    expect(r.calls).toEqual([]);
    expect(r.summary).toBe('No campaign enables its Conditional Access policy in this pull request.\n');
    expect(r.code).toBe(0);
  });

  it('does not run it for a change that sets a policy back to report-only', () => {
    const r = runStep(BASE, { 'c.yaml': campaign('c', 'reportOnly') });
    expect(r.calls).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('fails the job when the gate is not met (impact exit 1), after reporting every enabled campaign', () => {
    const r = runStep(BASE, { 'a.yaml': campaign('a', 'enabled'), 'b.yaml': campaign('b', 'enabled') }, { 'campaigns/a.yaml': 1 });
    expect(r.calls).toHaveLength(2);
    expect(r.summary).toContain('`campaigns/a.yaml`: the enableWhen gate is not met; keep policyState: reportOnly until it is.');
    expect(r.summary).toContain('impact report for campaigns/b.yaml');
    expect(r.code).toBe(1);
  });

  it('fails the job with impact\'s exit code when impact cannot tell (exit 2)', () => {
    const r = runStep(BASE, { 'a.yaml': campaign('a', 'enabled') }, { 'campaigns/a.yaml': 2 });
    expect(r.summary).toContain('campaign impact failed for `campaigns/a.yaml` (exit 2); its error is in the job log. The gate was not checked.');
    expect(r.code).toBe(2);
  });

  it('fails without tenant access rather than let an unchecked enablement through, naming the files and what to set', () => {
    const r = runStep(BASE, { 'a.yaml': campaign('a', 'enabled') }, {}, {});
    expect(r.calls).toEqual([]);
    expect(r.summary).toContain('- `campaigns/a.yaml`');
    expect(r.summary).toContain('Set the variables AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_SUBSCRIPTION_ID of the campaign-preview environment');
    expect(r.code).toBe(1);
  });
});
