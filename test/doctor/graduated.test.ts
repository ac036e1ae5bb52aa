// `campaign doctor` for a campaign that enforces: the graduated group and its enabled policy (against the emulator),
// and whether the identity can read sign-ins with their Conditional Access results.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import type { DoctorCheck, DoctorReport } from '../../src/doctor';
import { generateTenant, SIM_APP, SIM_IDS, type TenantFixture } from '../../src/sim';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo } from '../helpers/io';

const ROOT = path.resolve(__dirname, '..', '..');
const START = '2026-12-01T06:00:00Z';
const GRADUATED_GROUP = 'a1100000-0000-4000-8000-0000000000a1';
const GRADUATED_POLICY = 'c4000000-0000-4000-8000-0000000000a1';
let emulator: Emulator | undefined;
let standIn: http.Server | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await emulator?.close();
  await new Promise((r) => (standIn ? standIn.close(r) : r(undefined)));
  emulator = undefined;
  standIn = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** What the stack creates for a graduated admins-passkeys: the second group and its enabled policy (a copy of the first, for that group). */
function addGraduated(f: TenantFixture, edit: (p: NonNullable<TenantFixture['conditionalAccessPolicies']>[number]) => void = () => {}): void {
  const enforced = f.groups!.find((g) => g.id === SIM_IDS.adminsEnforcedGroup)!;
  f.groups!.push({ ...enforced, id: GRADUATED_GROUP, displayName: 'passkey-campaign-admins-passkeys-graduated', mailNickname: 'passkey-campaign-admins-passkeys-graduated', members: [] });
  const first = f.conditionalAccessPolicies!.find((p) => p.id === SIM_IDS.caAdminsCampaign)!;
  const copy = structuredClone(first);
  copy.id = GRADUATED_POLICY;
  copy.displayName = 'passkey-campaign-admins-passkeys-graduated-policy';
  copy.state = 'enabled';
  copy.conditions!.users!.includeGroups = [GRADUATED_GROUP];
  edit(copy);
  f.conditionalAccessPolicies!.push(copy);
  // What a graduated campaign's identity holds (the stack grants them: campaign/graph-roles.ts).
  f.application!.appRoles = [...f.application!.appRoles!, 'Directory.Read.All', 'Policy.Read.All'];
}

type SignInAnswer = 'withCaData' | 'withoutCaData' | 'none' | 'denied';

/**
 * Forwards every request to the emulator except GET /v1.0/auditLogs/signIns, which it answers as signin-list.md documents
 * (this emulator serves no sign-in log); records what the sign-in request asked for.
 */
async function signInStandIn(target: string, answer: SignInAnswer, seen: { url?: string; prefer?: string }): Promise<string> {
  standIn = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (req.method === 'GET' && url.pathname === '/v1.0/auditLogs/signIns') {
      seen.url = req.url;
      seen.prefer = String(req.headers.prefer ?? '');
      const signIn = { id: 'si-1', createdDateTime: '2026-11-30T08:00:00Z', userId: SIM_IDS.breakGlass1, userPrincipalName: 'someone@contoso.com', appDisplayName: 'Office 365', clientAppUsed: 'Browser' };
      const body = answer === 'denied'
        ? { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } }
        : { value: answer === 'none' ? [] : [answer === 'withCaData' ? { ...signIn, appliedConditionalAccessPolicies: [{ id: SIM_IDS.caAdminsCampaign, displayName: 'passkey-campaign-admins-passkeys-policy', result: 'reportOnlySuccess' }] } : signIn] };
      res.writeHead(answer === 'denied' ? 403 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
      return;
    }
    const fwd = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => standIn!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
}

async function doctor(opts: { mode?: 'graduated' | 'reportOnly'; policyState?: 'enabled' | 'reportOnly'; mutate?: (f: TenantFixture) => void; signIns?: SignInAnswer; seen?: { url?: string; prefer?: string } }) {
  const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: START, prerequisites: true });
  opts.mutate?.(fixture);
  emulator = await startEmulator({ tenant: fixture, port: 0, token: 'sim-token' });
  const url = opts.signIns ? await signInStandIn(emulator.url, opts.signIns, opts.seen ?? {}) : emulator.url;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-graduated-'));
  let text = fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8')
    .replace('status: notStarted', 'status: inProgress')
    .replace('breakGlass: [bg1@contoso.com, bg2@contoso.com]', `breakGlass: [${SIM_IDS.breakGlass1}, ${SIM_IDS.breakGlass2}]`)
    .replace('policyState: reportOnly', `policyState: ${opts.policyState ?? 'reportOnly'}`);
  if (opts.mode === 'graduated') text = text.replace('maxNewPerRun: 50', 'maxNewPerRun: 50\n    mode: graduated');
  const file = path.join(tmp, 'admins-passkeys.yaml');
  fs.writeFileSync(file, text);
  const io = captureIo(tmp, { AZURE_CLIENT_ID: SIM_APP.clientId, CAMPAIGN_TEAMS_APP_ID: SIM_APP.teamsAppId });
  const code = await run(['doctor', '--campaign', file, '--graph-url', url, '--state', path.join(tmp, 'state'), '--now', START, '--format', 'json'], io);
  const report = JSON.parse(io.out()) as DoctorReport;
  return { code, err: io.err(), report, check: (id: string) => report.checks.find((c) => c.id === id) as DoctorCheck | undefined };
}

const GROUP_TITLE = 'The graduated group exists once and is a security group';
const POLICY_TITLE = 'The graduated policy is enabled, for the graduated group only, and excludes every break-glass account';

describe('campaign doctor on a graduated campaign', () => {
  it('passes the graduated group and policy the stack creates, and the identity holds the sign-in permissions', async () => {
    const r = await doctor({ mode: 'graduated', mutate: (f) => addGraduated(f), signIns: 'withCaData' });
    expect(r.check('graduated.group')).toEqual({ id: 'graduated.group', title: GROUP_TITLE, status: 'pass', blocking: true,
      message: `group "passkey-campaign-admins-passkeys-graduated" (${GRADUATED_GROUP}) is a security group, not mail-enabled.`, fix: '' });
    expect(r.check('graduated.policy')).toEqual({ id: 'graduated.policy', title: POLICY_TITLE, status: 'pass', blocking: true,
      message: `policy "passkey-campaign-admins-passkeys-graduated-policy" (${GRADUATED_POLICY}) is enabled for group ${GRADUATED_GROUP} only, requires Phishing-resistant MFA and excludes 2 break-glass accounts.`, fix: '' });
    expect(r.check('identity.permissions')?.status).toBe('pass');
    expect(r.check('identity.permissions')?.message).toContain('Directory.Read.All, Policy.Read.All');
    expect(r.report.checks.filter((c) => c.blocking && c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('fails (blocking) when the stack has not created the graduated group and policy', async () => {
    const r = await doctor({ mode: 'graduated', mutate: (f) => { f.application!.appRoles = [...f.application!.appRoles!, 'Directory.Read.All', 'Policy.Read.All']; }, signIns: 'withCaData' });
    expect(r.check('graduated.group')).toMatchObject({ status: 'fail', blocking: true, message: 'no group named "passkey-campaign-admins-passkeys-graduated".', fix: 'Deploy the campaign (pulumi up); the stack creates it for a campaign in graduated mode.' });
    expect(r.check('graduated.policy')).toMatchObject({ status: 'fail', blocking: true, message: 'no Conditional Access policy named "passkey-campaign-admins-passkeys-graduated-policy".' });
    expect(r.code).toBe(1);
  });

  it('fails a graduated policy left report-only, including the enforcement group and missing a break-glass exclusion, naming each', async () => {
    const r = await doctor({ mode: 'graduated', signIns: 'withCaData', mutate: (f) => addGraduated(f, (p) => {
      p.state = 'enabledForReportingButNotEnforced';
      p.conditions!.users!.includeGroups = [GRADUATED_GROUP, SIM_IDS.adminsEnforcedGroup];
      p.conditions!.users!.excludeUsers = [SIM_IDS.breakGlass1];
    }) });
    expect(r.check('graduated.policy')).toEqual({ id: 'graduated.policy', title: POLICY_TITLE, status: 'fail', blocking: true,
      message: `policy "passkey-campaign-admins-passkeys-graduated-policy" (${GRADUATED_POLICY}): its state is enabledForReportingButNotEnforced, not enabled, so graduated users are not enforced; ` +
        `it includes group ${GRADUATED_GROUP}, group ${SIM_IDS.adminsEnforcedGroup}, not only the graduated group ${GRADUATED_GROUP}; it does not exclude the break-glass account ${SIM_IDS.breakGlass2} (${SIM_IDS.breakGlass2}).`,
      fix: 'Run pulumi up to restore the graduated policy, and stop editing it in the portal.' });
    expect(r.code).toBe(1);
  });

  it('does not check a graduated group or policy, nor sign-ins, for a report-only campaign', async () => {
    const r = await doctor({});
    expect(r.check('graduated.group')).toBeUndefined();
    expect(r.check('graduated.policy')).toBeUndefined();
    expect(r.check('signIns.read')).toBeUndefined();
  });
});

describe('campaign doctor reading sign-ins', () => {
  const TITLE = 'Sign-in logs can be read, with their Conditional Access results';

  it('reads one sign-in of the gate\'s window with the documented $filter, $top=1 and the Prefer header, and passes when it carries Conditional Access results', async () => {
    const seen: { url?: string; prefer?: string } = {};
    const r = await doctor({ policyState: 'enabled', signIns: 'withCaData', seen });
    expect(r.check('signIns.read')).toEqual({ id: 'signIns.read', title: TITLE, status: 'pass', blocking: false, message: 'sign-in logs of the last 14 days can be read, with their Conditional Access results.', fix: '' });
    const url = new URL(seen.url!, 'http://x');
    expect(url.searchParams.get('$top')).toBe('1');
    expect(url.searchParams.get('$filter')).toBe('createdDateTime ge 2026-11-17T06:00:00Z');
    expect(seen.prefer).toBe('include-unknown-enum-members');
  });

  it('fails when sign-ins come without Conditional Access results, naming Policy.Read.All', async () => {
    const r = await doctor({ mode: 'graduated', mutate: (f) => addGraduated(f), signIns: 'withoutCaData' });
    expect(r.check('signIns.read')).toEqual({ id: 'signIns.read', title: TITLE, status: 'fail', blocking: false,
      message: 'sign-in logs can be read, but without their Conditional Access results (appliedConditionalAccessPolicies is omitted); campaign impact cannot tell who would be blocked and nobody graduates.',
      fix: 'Grant the identity Policy.Read.All (Microsoft Graph, application) with admin consent.' });
    // Not blocking: the job keeps running the other stages; nobody graduates.
    expect(r.code).toBe(0);
  });

  it('fails when reading sign-ins is refused, naming both permissions the sign-in API requires', async () => {
    const r = await doctor({ policyState: 'enabled', signIns: 'denied' });
    expect(r.check('signIns.read')).toEqual({ id: 'signIns.read', title: TITLE, status: 'fail', blocking: false,
      message: 'reading sign-in logs was refused (403 Authorization_RequestDenied); campaign impact cannot check the enableWhen gate and nobody graduates.',
      fix: 'Grant the identity AuditLog.Read.All and Directory.Read.All (both: the sign-in API requires them together), and Policy.Read.All for the Conditional Access results.' });
  });

  it('warns when the window holds no sign-in, so Conditional Access data cannot be told', async () => {
    const r = await doctor({ policyState: 'enabled', signIns: 'none' });
    expect(r.check('signIns.read')).toMatchObject({ status: 'warn', blocking: false, message: 'sign-in logs can be read, but there is no sign-in in the last 14 days, so whether they carry Conditional Access results cannot be told.' });
  });
});
