import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_CWD, repoCampaignFiles } from '../helpers/campaigns';

// These run the real executable (built by `npm test`'s pretest step), as users and CI do.
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'campaign');
const campaign = (args: string[], cwd = ROOT) => {
  const r = spawnSync(BIN, args, { cwd, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('the campaign executable', () => {
  it('validates every campaign in campaigns/ with exit 0, whichever files a team keeps there', () => {
    const files = repoCampaignFiles();
    const r = campaign(['validate']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const f of files) expect(r.out).toMatch(new RegExp(`^ok ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(`, 'm'));
    expect(r.out).toMatch(new RegExp(`^${files.length} campaign files? checked: all valid`, 'm'));
  });

  it('validates the example campaigns with exit 0, warning about their break-glass UPNs', () => {
    // The fixtures' directory holds campaigns/ with copies of the examples: the default path finds them.
    const r = campaign(['validate'], FIXTURE_CWD);
    expect(r.err).toBe('');
    // The examples name their placeholder break-glass accounts by UPN, so each warns once per account.
    const upn = (file: string, at: string, i: number, who: string) =>
      `${file}:${at}: warning: spec.exclusions.breakGlass[${i}]: ${who} is a UPN, which changes when the account is renamed; every run then stops until the file is fixed. ` +
      "Use the account's object id instead (Entra admin center › Users › Object ID, or the id `campaign history` shows recorded for it), with the UPN as a comment.\n";
    expect(r.out).toBe(
      upn('campaigns/admins-passkeys.yaml', '33:18', 0, 'bg1@contoso.com') +
        upn('campaigns/admins-passkeys.yaml', '33:35', 1, 'bg2@contoso.com') +
        'ok campaigns/admins-passkeys.yaml (admins-passkeys, notStarted)\n' +
        upn('campaigns/all-staff-passkeys.yaml', '19:18', 0, 'bg1@contoso.com') +
        upn('campaigns/all-staff-passkeys.yaml', '19:35', 1, 'bg2@contoso.com') +
        'ok campaigns/all-staff-passkeys.yaml (all-staff-passkeys, notStarted)\n' +
        '2 campaign files checked: all valid (4 warnings).\n',
    );
    expect(r.code).toBe(0);
  });

  it('exits 1 with positioned errors for an invalid file', () => {
    const r = campaign(['validate', 'test/fixtures/invalid/unknown-field-typo.yaml']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('test/fixtures/invalid/unknown-field-typo.yaml:15:21: ');
  });

  it.each([
    { name: 'a missing file', args: ['validate', 'campaigns/nope.yaml'], err: 'campaign validate: campaigns/nope.yaml: no such file or directory.\n  Pass campaign files or the directory that holds them (default campaigns/).\n' },
    { name: 'an unknown option', args: ['validate', '--fromat', 'json'], err: 'campaign validate: unknown option --fromat. Did you mean --format?\n  Run "campaign validate --help" for the options.\n' },
    { name: 'an unknown format', args: ['validate', '--format', 'xml'], err: 'campaign validate: --format must be one of text, json, github (got "xml").\n' },
    { name: 'an unknown command', args: ['valdate'], err: 'campaign: unknown command "valdate".\n  Commands: validate, plan, reconcile, status, history, verify, postpone, doctor, impact, demo, teams-app, sim. Run "campaign --help".\n' },
  ])('exits 2 with one clear line for $name', ({ args, err }) => {
    const r = campaign(args);
    expect(r.err).toBe(err);
    expect(r.out).toBe('');
    expect(r.code).toBe(2);
  });

  it('exits 2 for a directory without campaigns and writes nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'empty-campaigns-'));
    try {
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a campaign');
      const r = campaign(['validate', dir]);
      expect(r.code).toBe(2);
      expect(r.err).toBe(`campaign validate: ${dir}: no campaign files (*.yaml, *.yml) in this directory.\n  Add a campaign, for example a copy of campaigns/admins-passkeys.yaml.\n`);
      expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints usage and exits 2 without a command, 0 with --help', () => {
    expect(campaign([]).code).toBe(2);
    const help = campaign(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: campaign <command>/);
    const vhelp = campaign(['validate', '--help']);
    expect(vhelp.code).toBe(0);
    expect(vhelp.out).toMatch(/^Usage: campaign validate \[PATH…\] \[--base REV\] \[--format text\|json\|github\]/);
  });

  it('is also reachable as npm run campaign --', () => {
    const r = spawnSync('npm', ['run', '--silent', 'campaign', '--', 'validate', '--format', 'json', 'test/fixtures/campaigns'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).valid).toBe(true);
  });

  it('starts without loading Pulumi, azure-native or the Graph client', () => {
    const probe = `
      const cli = require(${JSON.stringify(path.join(ROOT, 'dist', 'apps', 'cli', 'main.js'))});
      const { PassThrough } = require('node:stream');
      const sink = new PassThrough(); sink.resume();
      cli.run(['validate'], { stdout: sink, stderr: sink, cwd: process.cwd(), env: process.env }).then((code) => {
        const heavy = Object.keys(require.cache).filter((k) => /@pulumi|azure-native|microsoft-graph-client|@azure[\\/]identity/.test(k));
        const sawValidate = Object.keys(require.cache).some((k) => k.endsWith('validate.js'));
        process.stdout.write(JSON.stringify({ code, heavy, sawValidate }));
      });`;
    const r = spawnSync(process.execPath, ['-e', probe], { cwd: FIXTURE_CWD, encoding: 'utf8' });
    expect(JSON.parse(r.stdout)).toEqual({ code: 0, heavy: [], sawValidate: true });
  });
});

describe('ledger problems on the command line', () => {
  it('reports a lock held by another run as one clear line with exit 2, not as an internal error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'held-lock-'));
    try {
      const file = path.join(dir, 'admins-passkeys.yaml');
      fs.writeFileSync(file, fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8').replace('status: notStarted', 'status: inProgress'));
      fs.mkdirSync(path.join(dir, 'state', 'admins-passkeys'), { recursive: true });
      // A live process (this one) holds the lock.
      fs.writeFileSync(path.join(dir, 'state', 'admins-passkeys', '.lock'), JSON.stringify({ pid: process.pid, host: os.hostname(), owner: 'reconcile test', startedAt: new Date().toISOString(), token: 'x' }));
      const r = campaign(['postpone', '--campaign', file, '--user', 'a@contoso.com', '--state', path.join(dir, 'state'), '--lock-wait', '0']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^campaign postpone: .*reconcile test.*\n/);
      expect(r.err).not.toContain('internal error');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
