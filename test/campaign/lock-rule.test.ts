import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { captureIo } from '../helpers/io';

const BASE = fs.readFileSync('test/fixtures/campaigns/admins-passkeys.yaml', 'utf8');

let repo: string;
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const write = (name: string, text: string) => fs.writeFileSync(path.join(repo, 'campaigns', name), text);
const commitAll = (msg: string) => {
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', msg);
};
async function validate(...args: string[]) {
  const io = captureIo(repo);
  const cwd = process.cwd();
  process.chdir(repo);
  try {
    const code = await run(['validate', ...args], io);
    return { code, out: io.out(), err: io.err() };
  } finally {
    process.chdir(cwd);
  }
}
const withStatus = (status: string) => BASE.replace('status: notStarted', `status: ${status}`);
const BG = 'breakGlass: [bg1@contoso.com, bg2@contoso.com]';
const BG1_ID = 'b9000000-0000-4000-8000-000000000001';
const BG2_ID = 'b9000000-0000-4000-8000-000000000002';
const BG3_ID = 'b9000000-0000-4000-8000-000000000003';
const CAROL_ID = 'c0000000-0000-4000-8000-00000000ca01';
const GROUP_ID = 'a1100000-0000-4000-8000-0000000000e1';
const RETIRED_BG1 = '    retired:\n      - entry: bg1@contoso.com\n        from: breakGlass\n        by: alice@contoso.com\n        reason: account deleted after the key rotation (CHG-1234)';
const ACCOUNT_FIX = "Exclusions can only be added to a running campaign: to replace a UPN, write the account's object id in its place (reconcile checks it against the account the ledger recorded); to retire an entry that no longer resolves, move it to spec.exclusions.retired (with by and reason); otherwise end it first to change them.";

beforeEach(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-rule-'));
  fs.mkdirSync(path.join(repo, 'campaigns'));
  git('init', '-q', '-b', 'main');
});
afterEach(() => fs.rmSync(repo, { recursive: true, force: true }));

describe('the lock rule against a base revision', () => {
  const cases: Array<{ name: string; base: string; head: string; code: number; lines: string[] }> = [
    {
      name: 'rejects a grace period change while the campaign is inProgress',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace('passkeyRegistration: { gracePeriodDays: 14', 'passkeyRegistration: { gracePeriodDays: 21'),
      code: 1,
      lines: ['campaigns/admins-passkeys.yaml:39:45: spec.stages.passkeyRegistration.gracePeriodDays: cannot change while the campaign is inProgress on main: only spec.status, spec.enforcement.* and added exclusions may change. Revert spec.stages.passkeyRegistration.gracePeriodDays, or end the campaign and start a new one.'],
    },
    {
      name: 'rejects a new target role while the campaign is paused',
      base: withStatus('paused'),
      head: withStatus('paused').replace('      - UserAdministrator\n', '      - UserAdministrator\n      - 9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3\n'),
      code: 1,
      lines: ['campaigns/admins-passkeys.yaml:15:7: spec.targets.roles: cannot change while the campaign is paused on main: only spec.status, spec.enforcement.* and added exclusions may change. Revert spec.targets.roles, or end the campaign and start a new one.'],
    },
    {
      name: 'allows pausing a running campaign',
      base: withStatus('inProgress'),
      head: withStatus('paused'),
      code: 0,
      lines: [],
    },
    {
      name: 'allows switching the policy to enabled while running',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace('policyState: reportOnly', 'policyState: enabled').replace('maxNewPerRun: 50', 'maxNewPerRun: 10'),
      code: 0,
      // Allowed; only the reminder of the gate the pull request will check.
      lines: [expect.stringMatching(/^campaigns\/admins-passkeys\.yaml:\d+:\d+: warning: spec\.enforcement\.policyState: enabled: the pull request runs `campaign impact`/) as unknown as string],
    },
    {
      name: 'allows adding an exclusion while running',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace('  devices:\n', '    users: [carol@contoso.com]\n  devices:\n'),
      code: 0,
      lines: [],
    },
    {
      name: 'rejects removing a break-glass account while running',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace('breakGlass: [bg1@contoso.com, bg2@contoso.com]', 'breakGlass: [bg1@contoso.com]'),
      code: 1,
      lines: [`campaigns/admins-passkeys.yaml:33:17: spec.exclusions.breakGlass: removes bg2@contoso.com while the campaign is inProgress on main. ${ACCOUNT_FIX}`],
    },
    {
      name: 'allows replacing a break-glass UPN by an object id (reconcile checks the id against the ledger)',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace(BG, `breakGlass: [${BG1_ID}, bg2@contoso.com]`),
      code: 0,
      lines: [],
    },
    {
      name: 'allows replacing both break-glass UPNs by object ids in one change',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace(BG, `breakGlass: [${BG2_ID}, ${BG1_ID}]`),
      code: 0,
      lines: [],
    },
    {
      name: 'allows replacing an excluded user\'s UPN by an object id',
      base: withStatus('inProgress').replace('  devices:\n', '    users: [carol@contoso.com]\n  devices:\n'),
      head: withStatus('inProgress').replace('  devices:\n', `    users: [${CAROL_ID}]\n  devices:\n`),
      code: 0,
      lines: [],
    },
    {
      name: 'rejects replacing a break-glass UPN by another UPN',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace(BG, 'breakGlass: [emergency1@contoso.com, bg2@contoso.com]'),
      code: 1,
      lines: [`campaigns/admins-passkeys.yaml:33:17: spec.exclusions.breakGlass: removes bg1@contoso.com while the campaign is inProgress on main. ${ACCOUNT_FIX}`],
    },
    {
      name: 'rejects dropping two break-glass UPNs for one object id',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace(BG, `breakGlass: [${BG1_ID}]`),
      code: 1,
      lines: [`campaigns/admins-passkeys.yaml:33:17: spec.exclusions.breakGlass: removes bg1@contoso.com, bg2@contoso.com while the campaign is inProgress on main. ${ACCOUNT_FIX}`],
    },
    {
      name: 'rejects removing an object-id break-glass entry even when another id is added',
      base: withStatus('inProgress').replace(BG, `breakGlass: [${BG1_ID}, bg2@contoso.com]`),
      head: withStatus('inProgress').replace(BG, `breakGlass: [${CAROL_ID}, bg2@contoso.com]`),
      code: 1,
      lines: [`campaigns/admins-passkeys.yaml:33:17: spec.exclusions.breakGlass: removes ${BG1_ID} while the campaign is inProgress on main. ${ACCOUNT_FIX}`],
    },
    {
      name: 'allows retiring a break-glass entry that no longer resolves with the retired marker',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace(BG, `breakGlass: [bg2@contoso.com, ${BG3_ID}]\n${RETIRED_BG1}`),
      code: 0,
      lines: [],
    },
    {
      name: 'allows retiring an exclusion group that no longer exists with the retired marker',
      base: withStatus('inProgress').replace('  devices:\n', `    groups: [${GROUP_ID}]\n  devices:\n`),
      head: withStatus('inProgress').replace('  devices:\n', `    retired:\n      - { entry: ${GROUP_ID}, from: groups, by: alice@contoso.com, reason: group deleted in CHG-7 }\n  devices:\n`),
      code: 0,
      lines: [],
    },
    {
      name: 'rejects removing an exclusion group without the retired marker',
      base: withStatus('inProgress').replace('  devices:\n', `    groups: [${GROUP_ID}]\n  devices:\n`),
      head: withStatus('inProgress'),
      code: 1,
      lines: [`campaigns/admins-passkeys.yaml:33:5: spec.exclusions.groups: removes ${GROUP_ID} while the campaign is inProgress on main. Exclusions can only be added to a running campaign: to retire a group that no longer exists, move its entry to spec.exclusions.retired (with by and reason); otherwise end it first to change them.`],
    },
    {
      name: 'rejects a retired marker that names another list than the entry was in',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace(BG, `breakGlass: [bg2@contoso.com]\n${RETIRED_BG1.replace('from: breakGlass', 'from: users')}`),
      code: 1,
      lines: [`campaigns/admins-passkeys.yaml:33:17: spec.exclusions.breakGlass: removes bg1@contoso.com while the campaign is inProgress on main. ${ACCOUNT_FIX}`],
    },
    {
      name: 'rejects removing a retired entry while running',
      base: withStatus('inProgress').replace(BG, `breakGlass: [bg2@contoso.com, ${BG3_ID}]\n${RETIRED_BG1}`),
      head: withStatus('inProgress').replace(BG, `breakGlass: [bg2@contoso.com, ${BG3_ID}]`),
      code: 1,
      lines: ['campaigns/admins-passkeys.yaml:33:5: spec.exclusions.retired: removes or changes the retired entry bg1@contoso.com (from breakGlass) while the campaign is inProgress on main. Retired entries are a record: a running campaign may add them, never remove or change one. Restore it as on main.'],
    },
    {
      name: 'rejects changing who retired an entry while running',
      base: withStatus('inProgress').replace(BG, `breakGlass: [bg2@contoso.com, ${BG3_ID}]\n${RETIRED_BG1}`),
      head: withStatus('inProgress').replace(BG, `breakGlass: [bg2@contoso.com, ${BG3_ID}]\n${RETIRED_BG1.replace('alice@', 'mallory@')}`),
      code: 1,
      lines: ['campaigns/admins-passkeys.yaml:35:7: spec.exclusions.retired: removes or changes the retired entry bg1@contoso.com (from breakGlass) while the campaign is inProgress on main. Retired entries are a record: a running campaign may add them, never remove or change one. Restore it as on main.'],
    },
    {
      name: 'treats reordered role names as no change',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace('      - AuthenticationAdministrator\n', '').replace('      - UserAdministrator\n', '      - UserAdministrator\n      - AuthenticationAdministrator\n'),
      code: 0,
      lines: [],
    },
    {
      name: 'treats writing out a default explicitly as no change',
      base: withStatus('inProgress').replace('    activeWithinDays: 365\n', ''),
      head: withStatus('inProgress'),
      code: 0,
      lines: [],
    },
    {
      name: 'allows any change while the base is notStarted',
      base: BASE,
      head: BASE.replace('noticeDays: 7', 'noticeDays: 10').replace('status: notStarted', 'status: inProgress'),
      code: 0,
      lines: [],
    },
    {
      name: 'rejects notStarted to paused',
      base: BASE,
      head: withStatus('paused'),
      code: 1,
      lines: ['campaigns/admins-passkeys.yaml:12:11: spec.status: cannot move from notStarted (on main) to paused. From notStarted a campaign can only move to inProgress.'],
    },
    {
      name: 'rejects ended straight back to inProgress',
      base: withStatus('ended'),
      head: withStatus('inProgress'),
      code: 1,
      lines: ['campaigns/admins-passkeys.yaml:12:11: spec.status: cannot move from ended (on main) to inProgress. From ended a campaign can only move to notStarted.'],
    },
    {
      name: 'allows resetting an ended campaign to notStarted with new settings',
      base: withStatus('ended'),
      head: BASE.replace('gracePeriodDays: 14, reminderEveryDays: 3 }\n    enforcement', 'gracePeriodDays: 10, reminderEveryDays: 3 }\n    enforcement'),
      code: 0,
      lines: [],
    },
    {
      name: 'allows leaving graduated mode while running, warning that the graduated group and its enabled policy go',
      base: withStatus('inProgress').replace('maxNewPerRun: 50', 'maxNewPerRun: 50\n    mode: graduated'),
      head: withStatus('inProgress'),
      code: 0,
      lines: [expect.stringMatching(/^campaigns\/admins-passkeys\.yaml:\d+:\d+: warning: spec\.enforcement\.mode: leaves graduated mode \(graduated on main\): pulumi up deletes the group passkey-campaign-admins-passkeys-graduated and its enabled policy, so its users lose that policy; they are then only under the report-only policy: nobody is enforced any more\. Check the preview before merging\.$/) as unknown as string],
    },
    {
      name: 'allows entering graduated mode while running, with only the gate reminder',
      base: withStatus('inProgress'),
      head: withStatus('inProgress').replace('maxNewPerRun: 50', 'maxNewPerRun: 50\n    mode: graduated'),
      code: 0,
      lines: [expect.stringMatching(/: warning: spec\.enforcement\.mode: graduated: a user moves to the enabled policy only when/) as unknown as string],
    },
    {
      name: 'rejects resetting a running campaign without ending it',
      base: withStatus('inProgress'),
      head: BASE,
      code: 1,
      lines: ['campaigns/admins-passkeys.yaml:12:11: spec.status: cannot move from inProgress (on main) to notStarted. From inProgress a campaign can only move to paused or ended. End it first (status: ended), merge, then reset it to notStarted.'],
    },
  ];

  it.each(cases)('$name', async ({ base, head, code, lines }) => {
    write('admins-passkeys.yaml', base);
    commitAll('base');
    write('admins-passkeys.yaml', head);
    const r = await validate('--base', 'main');
    expect(r.err).toBe('');
    // The example names its break-glass accounts by UPN: its breakGlassByObjectId warnings are not the lock rule's.
    expect(r.out.trim().split('\n').filter((l) => !l.startsWith('ok ') && !/^\d+ campaign files? checked/.test(l) && !/: warning: spec\.exclusions\.breakGlass\[\d\]: .* is a UPN/.test(l))).toEqual(lines);
    expect(r.code).toBe(code);
  });

  it('rejects a new campaign that starts paused', async () => {
    write('other.yaml', BASE.replace('name: admins-passkeys', 'name: other'));
    commitAll('base');
    write('admins-passkeys.yaml', withStatus('paused'));
    const r = await validate('--base', 'main');
    expect(r.code).toBe(1);
    expect(r.out).toContain('campaigns/admins-passkeys.yaml:12:11: spec.status: a new campaign cannot start as paused. Use notStarted to review it first, or inProgress to deploy it.');
  });

  it('rejects deleting the file of a running campaign', async () => {
    write('admins-passkeys.yaml', withStatus('inProgress'));
    write('other.yaml', BASE.replace('name: admins-passkeys', 'name: other'));
    commitAll('base');
    fs.rmSync(path.join(repo, 'campaigns', 'admins-passkeys.yaml'));
    const r = await validate('--base', 'main', 'campaigns');
    expect(r.code).toBe(1);
    expect(r.out).toContain('campaigns/admins-passkeys.yaml:1:1: campaign "admins-passkeys" is inProgress on main and its file was removed or renamed. End it first (spec.status: ended) in its own change; removing a running campaign would delete its enforcement group and policy.');
  });

  it('compares with a commit id as well as a branch name', async () => {
    write('admins-passkeys.yaml', withStatus('inProgress'));
    commitAll('base');
    const sha = git('rev-parse', 'HEAD').trim();
    write('admins-passkeys.yaml', withStatus('inProgress').replace('noticeDays: 7', 'noticeDays: 3'));
    const r = await validate('--base', sha.slice(0, 10), '--format', 'github');
    expect(r.code).toBe(1);
    expect(r.out).toContain(`::error file=campaigns/admins-passkeys.yaml,line=40,col=40,title=campaign validate%3A spec.stages.enforcement.noticeDays::spec.stages.enforcement.noticeDays: cannot change while the campaign is inProgress on ${sha.slice(0, 10)}`);
  });

  it('is a usage error (exit 2) when the base revision does not exist', async () => {
    write('admins-passkeys.yaml', BASE);
    commitAll('base');
    const r = await validate('--base', 'origin/nope');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`campaign validate: --base origin/nope: no such revision in ${fs.realpathSync(repo)}.\n  Fetch it first (for example "git fetch origin main") or pass an existing branch, tag or commit.\n`);
  });

  it('is a usage error (exit 2) outside a git repository', async () => {
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'no-git-'));
    try {
      fs.mkdirSync(path.join(bare, 'campaigns'));
      fs.writeFileSync(path.join(bare, 'campaigns', 'admins-passkeys.yaml'), BASE);
      const io = captureIo(bare);
      const cwd = process.cwd();
      process.chdir(bare);
      const code = await run(['validate', '--base', 'main'], io).finally(() => process.chdir(cwd));
      expect(code).toBe(2);
      expect(io.err()).toMatch(/^campaign validate: --base main: .* is not inside a git repository\.\n/);
    } finally {
      fs.rmSync(bare, { recursive: true, force: true });
    }
  });
});
