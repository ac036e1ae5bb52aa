// A team's first real campaign must not fail CI: README's "Propose" step adds a file to campaigns/, and the pull
// request workflow runs `campaign validate --base origin/main` and the tests. In a temporary copy of the
// repository's campaigns/ (whatever it holds), adding a valid campaign keeps every check over the directory green.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { loadCampaignFile } from '../../src/campaign/load';
import { loadCampaigns, selectDeployed } from '../../src/stack/campaigns';
import { fixtureCampaignText, repoCampaignFiles, ROOT } from '../helpers/campaigns';
import { captureIo } from '../helpers/io';

let repo: string;
let before: string[];
const NEW = 'campaigns/helpdesk-passkeys.yaml';

// A new campaign as a team writes it: a copy of the admin example with its own name, roles and break-glass ids.
const newCampaign = () => fixtureCampaignText('admins-passkeys')
  .replace('$schema=../../../campaigns/schema/campaign.schema.json', '$schema=./schema/campaign.schema.json')
  .replace('name: admins-passkeys', 'name: helpdesk-passkeys')
  .replace(/    roles:\n(      - \w+\n)+/, '    roles: [HelpdeskAdministrator, PasswordAdministrator]\n')
  .replace('breakGlass: [bg1@contoso.com, bg2@contoso.com]', 'breakGlass: [b9000000-0000-4000-8000-000000000001, b9000000-0000-4000-8000-000000000002]');

const git = (...args: string[]) => {
  const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
};

async function cli(...args: string[]) {
  const io = captureIo(repo);
  // validate --base reads the base revision with git from the process directory.
  const cwd = process.cwd();
  process.chdir(repo);
  try {
    const code = await run(args, io);
    return { code, out: io.out(), err: io.err() };
  } finally {
    process.chdir(cwd);
  }
}

beforeAll(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'new-campaign-'));
  fs.cpSync(path.join(ROOT, 'campaigns'), path.join(repo, 'campaigns'), { recursive: true });
  before = repoCampaignFiles(repo);
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'campaigns as on main');
  git('checkout', '-q', '-b', 'propose-helpdesk');
  fs.writeFileSync(path.join(repo, NEW), newCampaign());
});

afterAll(() => fs.rmSync(repo, { recursive: true, force: true }));

describe('adding a valid campaign file to campaigns/', () => {
  it('is a new file next to the ones already there, and loads without errors', () => {
    const after = repoCampaignFiles(repo);
    expect(after).toEqual([...before, NEW].sort());
    const r = loadCampaignFile(path.join(repo, NEW));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.campaign?.metadata.name).toBe('helpdesk-passkeys');
  });

  it('passes campaign validate over the whole directory, counting it with the others', async () => {
    const r = await cli('validate');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`ok ${NEW} (helpdesk-passkeys, notStarted)\n`);
    for (const f of before) expect(r.out).toContain(`ok ${f} (`);
    expect(r.out).toMatch(new RegExp(`^${before.length + 1} campaign files checked: all valid`, 'm'));
  });

  it('passes the lock check of the pull request workflow against main', async () => {
    const r = await cli('validate', '--base', 'main', '--format', 'github');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('::error');
  });

  it('is loaded by the Pulumi program with the others, and deploys nothing while notStarted', () => {
    const loaded = loadCampaigns(path.join(repo, 'campaigns'));
    expect(loaded.map((l) => path.relative(repo, l.file)).sort()).toEqual([...before, NEW].sort());
    const { deployed, skipped } = selectDeployed(loaded, []);
    expect(skipped.map((l) => l.campaign.metadata.name)).toContain('helpdesk-passkeys');
    expect(deployed.map((l) => l.campaign.metadata.name)).not.toContain('helpdesk-passkeys');
  });

  it('is found by name like the others', async () => {
    const r = await cli('status', '--campaign', 'helpdesk-passkeys', '--state', path.join(repo, 'state'), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ campaign: 'helpdesk-passkeys', status: 'notStarted', counts: { targeted: 0 } });
  });
});
