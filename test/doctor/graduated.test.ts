// `campaign doctor` for a campaign that enforces: the graduated group and its enabled policy, and whether the
// identity can read sign-ins with their Conditional Access results, all against the emulator (its sign-in log serves
// GET /auditLogs/signIns as signin-list.md documents it: see test/sim/sign-ins.test.ts).
import * as dc from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import type { DoctorCheck, DoctorReport } from '../../src/doctor';
import { generateTenant, SIM_APP, SIM_IDS, type TenantFixture } from '../../src/sim';
import type { FixtureSignIn } from '../../src/sim/fixture';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo } from '../helpers/io';

const ROOT = path.resolve(__dirname, '..', '..');
const START = '2026-12-01T06:00:00Z';
/** START less the campaign's enableWhen.observedDays (14): the oldest moment the sign-in check looks at. */
const WINDOW_OPENS = '2026-11-17T06:00:00Z';
/** One second before the window: a sign-in the check must not see. */
const BEFORE_WINDOW = '2026-11-17T05:59:59Z';
const GRADUATED_GROUP = 'a1100000-0000-4000-8000-0000000000a1';
const GRADUATED_POLICY = 'c4000000-0000-4000-8000-0000000000a1';
/** signin-list.md: "AuditLog.Read.All and Directory.Read.All"; Policy.Read.All for appliedConditionalAccessPolicies. */
const SIGN_IN_ROLES = ['AuditLog.Read.All', 'Directory.Read.All', 'Policy.Read.All'];
let emulator: Emulator | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** The identity gains these Graph application permissions (the fixture's `application.appRoles`). */
function grant(f: TenantFixture, ...roles: string[]): void {
  f.application!.appRoles = [...new Set([...f.application!.appRoles!, ...roles])];
}

/** The identity loses these Graph application permissions. */
function revoke(f: TenantFixture, ...roles: string[]): void {
  f.application!.appRoles = f.application!.appRoles!.filter((r) => !roles.includes(r));
}

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
  grant(f, 'Directory.Read.All', 'Policy.Read.All');
}

/**
 * A sign-in of the tenant's sign-in log (resources/signin.md), by an admin of the campaign to Office, which the
 * report-only campaign policy would have let through (reportOnlySuccess: an evolvable member of
 * appliedConditionalAccessPolicy.result, served as such only to a caller that sends Prefer: include-unknown-enum-members).
 */
function signInAt(f: TenantFixture, at: string, n: number): FixtureSignIn {
  const user = f.users!.find((u) => u.id !== SIM_IDS.breakGlass1 && u.id !== SIM_IDS.breakGlass2)!;
  return {
    id: `5191a000-0000-4000-8000-00000000000${n}`,
    createdDateTime: at,
    userId: user.id,
    userPrincipalName: user.userPrincipalName,
    userDisplayName: user.displayName,
    appId: 'd3590ed6-52b3-4102-aeff-aad2292ab01c',
    appDisplayName: 'Microsoft Office',
    clientAppUsed: 'Browser',
    isInteractive: true,
    conditionalAccessStatus: 'notApplied',
    status: { errorCode: 0, failureReason: null, additionalDetails: null },
    appliedConditionalAccessPolicies: [
      { id: SIM_IDS.caAdminsCampaign, displayName: 'passkey-campaign-admins-passkeys-policy', enforcedGrantControls: ['RequireAuthenticationStrength'], enforcedSessionControls: [], result: 'reportOnlySuccess' },
    ],
  } as FixtureSignIn;
}

/** The tenant's sign-in log: one sign-in at the very start of the check's window and one just before it. */
function signInsInWindow(f: TenantFixture): void {
  f.signIns = [signInAt(f, BEFORE_WINDOW, 1), signInAt(f, WINDOW_OPENS, 2)];
}

/** Only a sign-in from just before the window: had the doctor looked further back, it would see it. */
function noSignInInWindow(f: TenantFixture): void {
  f.signIns = [signInAt(f, BEFORE_WINDOW, 1)];
}

/** A request the emulator served, as its request hook reports it. */
interface Served {
  method: string;
  path: string;
  query: string;
  status: number;
}

const SIGN_INS = '/v1.0/auditLogs/signIns';

async function doctor(opts: { mode?: 'graduated' | 'reportOnly'; policyState?: 'enabled' | 'reportOnly'; mutate?: (f: TenantFixture) => void }) {
  const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: START, prerequisites: true });
  opts.mutate?.(fixture);
  emulator = await startEmulator({ tenant: fixture, port: 0, token: 'sim-token' });
  const emu = emulator;
  const served: Served[] = [];
  emu.state.hooks = { after: ({ method, path: p, query, status }) => void served.push({ method, path: p, query, status }) };
  // The emulator's hook gives a request's path and query, not its headers: those of the sign-in requests are read as
  // the emulator's own HTTP server received them (Node's http.server.request.start channel).
  const signInHeaders: IncomingMessage['headers'][] = [];
  const onRequest = (m: unknown) => {
    const { request, server } = m as { request: IncomingMessage; server: Server };
    if ((server.address() as AddressInfo | null)?.port === emu.port && new URL(request.url ?? '/', 'http://x').pathname === SIGN_INS) signInHeaders.push(request.headers);
  };
  dc.subscribe('http.server.request.start', onRequest);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-graduated-'));
  let text = fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8')
    .replace('status: notStarted', 'status: inProgress')
    .replace('breakGlass: [bg1@contoso.com, bg2@contoso.com]', `breakGlass: [${SIM_IDS.breakGlass1}, ${SIM_IDS.breakGlass2}]`)
    .replace('policyState: reportOnly', `policyState: ${opts.policyState ?? 'reportOnly'}`);
  if (opts.mode === 'graduated') text = text.replace('maxNewPerRun: 50', 'maxNewPerRun: 50\n    mode: graduated');
  const file = path.join(tmp, 'admins-passkeys.yaml');
  fs.writeFileSync(file, text);
  const io = captureIo(tmp, { AZURE_CLIENT_ID: SIM_APP.clientId, CAMPAIGN_TEAMS_APP_ID: SIM_APP.teamsAppId });
  let code: number;
  try {
    code = await run(['doctor', '--campaign', file, '--graph-url', emu.url, '--state', path.join(tmp, 'state'), '--now', START, '--format', 'json'], io);
  } finally {
    dc.unsubscribe('http.server.request.start', onRequest);
  }
  const report = JSON.parse(io.out()) as DoctorReport;
  return {
    code,
    err: io.err(),
    report,
    check: (id: string) => report.checks.find((c) => c.id === id) as DoctorCheck | undefined,
    /** The requests for the sign-in log the emulator served. */
    signInRequests: () => served.filter((s) => s.path === SIGN_INS),
    /** The headers of each request for the sign-in log the emulator received. */
    signInHeaders,
  };
}

const GROUP_TITLE = 'The graduated group exists once and is a security group';
const POLICY_TITLE = 'The graduated policy is enabled, for the graduated group only, and excludes every break-glass account';

describe('campaign doctor on a graduated campaign', () => {
  it('passes the graduated group and policy the stack creates, and the identity holds the sign-in permissions', async () => {
    const r = await doctor({ mode: 'graduated', mutate: (f) => { addGraduated(f); signInsInWindow(f); } });
    expect(r.check('graduated.group')).toEqual({ id: 'graduated.group', title: GROUP_TITLE, status: 'pass', blocking: true,
      message: `group "passkey-campaign-admins-passkeys-graduated" (${GRADUATED_GROUP}) is a security group, not mail-enabled.`, fix: '' });
    expect(r.check('graduated.policy')).toEqual({ id: 'graduated.policy', title: POLICY_TITLE, status: 'pass', blocking: true,
      message: `policy "passkey-campaign-admins-passkeys-graduated-policy" (${GRADUATED_POLICY}) is enabled for group ${GRADUATED_GROUP} only, requires Phishing-resistant MFA and excludes 2 break-glass accounts.`, fix: '' });
    expect(r.check('identity.permissions')?.status).toBe('pass');
    expect(r.check('identity.permissions')?.message).toContain('Directory.Read.All, Policy.Read.All');
    expect(r.check('signIns.read')?.status).toBe('pass');
    expect(r.report.checks.filter((c) => c.blocking && c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('fails (blocking) when the stack has not created the graduated group and policy', async () => {
    const r = await doctor({ mode: 'graduated', mutate: (f) => { grant(f, 'Directory.Read.All', 'Policy.Read.All'); signInsInWindow(f); } });
    expect(r.check('graduated.group')).toMatchObject({ status: 'fail', blocking: true, message: 'no group named "passkey-campaign-admins-passkeys-graduated".', fix: 'Deploy the campaign (pulumi up); the stack creates it for a campaign in graduated mode.' });
    expect(r.check('graduated.policy')).toMatchObject({ status: 'fail', blocking: true, message: 'no Conditional Access policy named "passkey-campaign-admins-passkeys-graduated-policy".' });
    expect(r.code).toBe(1);
  });

  it('fails a graduated policy left report-only, including the enforcement group and missing a break-glass exclusion, naming each', async () => {
    const r = await doctor({ mode: 'graduated', mutate: (f) => {
      addGraduated(f, (p) => {
        p.state = 'enabledForReportingButNotEnforced';
        p.conditions!.users!.includeGroups = [GRADUATED_GROUP, SIM_IDS.adminsEnforcedGroup];
        p.conditions!.users!.excludeUsers = [SIM_IDS.breakGlass1];
      });
      signInsInWindow(f);
    } });
    expect(r.check('graduated.policy')).toEqual({ id: 'graduated.policy', title: POLICY_TITLE, status: 'fail', blocking: true,
      message: `policy "passkey-campaign-admins-passkeys-graduated-policy" (${GRADUATED_POLICY}): its state is enabledForReportingButNotEnforced, not enabled, so graduated users are not enforced; ` +
        `it includes group ${GRADUATED_GROUP}, group ${SIM_IDS.adminsEnforcedGroup}, not only the graduated group ${GRADUATED_GROUP}; it does not exclude the break-glass account ${SIM_IDS.breakGlass2} (${SIM_IDS.breakGlass2}).`,
      fix: 'Run pulumi up to restore the graduated policy, and stop editing it in the portal.' });
    expect(r.code).toBe(1);
  });

  it('does not check a graduated group or policy, nor sign-ins, for a report-only campaign', async () => {
    const r = await doctor({ mutate: (f) => { grant(f, ...SIGN_IN_ROLES); signInsInWindow(f); } });
    expect(r.check('graduated.group')).toBeUndefined();
    expect(r.check('graduated.policy')).toBeUndefined();
    expect(r.check('signIns.read')).toBeUndefined();
    expect(r.signInRequests()).toEqual([]);
    expect(r.signInHeaders).toEqual([]);
  });
});

describe('campaign doctor reading sign-ins', () => {
  const TITLE = 'Sign-in logs can be read, with their Conditional Access results';

  it('reads one sign-in of the gate\'s window with the documented $filter, $top=1 and the Prefer header, and passes when it carries Conditional Access results', async () => {
    const r = await doctor({ policyState: 'enabled', mutate: (f) => { grant(f, ...SIGN_IN_ROLES); signInsInWindow(f); } });
    expect(r.check('signIns.read')).toEqual({ id: 'signIns.read', title: TITLE, status: 'pass', blocking: false, message: 'sign-in logs of the last 14 days can be read, with their Conditional Access results.', fix: '' });
    const requests = r.signInRequests();
    expect(requests.map((s) => [s.method, s.status])).toEqual([['GET', 200]]);
    const query = new URLSearchParams(requests[0]!.query);
    expect(query.get('$top')).toBe('1');
    expect(query.get('$filter')).toBe(`createdDateTime ge ${WINDOW_OPENS}`);
    expect(r.signInHeaders.map((h) => h.prefer)).toEqual(['include-unknown-enum-members']);
  });

  it('fails when sign-ins come without Conditional Access results, naming Policy.Read.All', async () => {
    const r = await doctor({ mode: 'graduated', mutate: (f) => { addGraduated(f); revoke(f, 'Policy.Read.All', 'Policy.Read.ConditionalAccess', 'Policy.ReadWrite.ConditionalAccess'); signInsInWindow(f); } });
    expect(r.check('signIns.read')).toEqual({ id: 'signIns.read', title: TITLE, status: 'fail', blocking: false,
      message: 'sign-in logs can be read, but without their Conditional Access results (appliedConditionalAccessPolicies is omitted); campaign impact cannot tell who would be blocked and nobody graduates.',
      fix: 'Grant the identity Policy.Read.All (Microsoft Graph, application) with admin consent.' });
    // Not blocking: the exit code comes from the blocking checks alone. Without Policy.Read.All the identity cannot read
    // the Conditional Access policies either (conditionalaccessroot-list-policies.md: 403), and those checks block.
    expect(r.report.checks.filter((c) => c.blocking && c.status === 'fail').map((c) => c.id)).toEqual(['identity.permissions', 'ca.exists']);
    expect(r.check('ca.exists')?.message).toBe('reading Conditional Access policies was refused (403 Authorization_RequestDenied).');
    expect(r.code).toBe(1);
  });

  it.each(['Directory.Read.All', 'AuditLog.Read.All'])('fails when reading sign-ins is refused, naming both permissions the sign-in API requires (without %s)', async (missing) => {
    const r = await doctor({ policyState: 'enabled', mutate: (f) => { grant(f, ...SIGN_IN_ROLES); revoke(f, missing); signInsInWindow(f); } });
    expect(r.check('signIns.read')).toEqual({ id: 'signIns.read', title: TITLE, status: 'fail', blocking: false,
      message: 'reading sign-in logs was refused (403 Authorization_RequestDenied); campaign impact cannot check the enableWhen gate and nobody graduates.',
      fix: 'Grant the identity AuditLog.Read.All and Directory.Read.All (both: the sign-in API requires them together), and Policy.Read.All for the Conditional Access results.' });
    // The emulator refused it (signin-list.md: both permissions, together).
    expect(r.signInRequests().map((q) => [q.method, q.status])).toEqual([['GET', 403]]);
  });

  it('warns when the window holds no sign-in, so Conditional Access data cannot be told', async () => {
    const r = await doctor({ policyState: 'enabled', mutate: (f) => { grant(f, ...SIGN_IN_ROLES); noSignInInWindow(f); } });
    expect(r.check('signIns.read')).toMatchObject({ status: 'warn', blocking: false, message: 'sign-in logs can be read, but there is no sign-in in the last 14 days, so whether they carry Conditional Access results cannot be told.' });
    expect(r.signInRequests().map((q) => [q.method, q.status])).toEqual([['GET', 200]]);
  });
});
