// `campaign doctor` for a campaign with onboarding passes, against the emulator: the tenant's Temporary Access Pass
// policy (enabled, lifetime limits, one-time use) and, for manager delivery, the identity's permission and the sender.
// All advisory: a run that cannot issue a pass queues the user for the helpdesk and goes on, so doctor still exits 0.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { run } from '../../src/apps/cli/main';
import type { DoctorCheck, DoctorReport } from '../../src/doctor';
import { generateTenant, SIM_APP, SIM_APP_ROLES, SIM_IDS, type TenantFixture } from '../../src/sim';
import { startEmulator, type Emulator } from '../../src/sim/server';
import { captureIo } from '../helpers/io';

const ROOT = path.resolve(__dirname, '..', '..');
const START = '2026-12-01T06:00:00Z';
const TAP_WRITE = 'UserAuthenticationMethod.ReadWrite.All';
let emulator: Emulator | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** The tenant's Temporary Access Pass configuration as Graph shows it (temporaryaccesspassauthenticationmethodconfiguration-get.md). */
const tapConfig = (over: Record<string, unknown> = {}) => ({
  '@odata.type': '#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration',
  id: 'TemporaryAccessPass',
  state: 'enabled',
  defaultLifetimeInMinutes: 60,
  defaultLength: 8,
  minimumLifetimeInMinutes: 60,
  maximumLifetimeInMinutes: 480,
  isUsableOnce: false,
  includeTargets: [{ targetType: 'group', id: 'all_users', isRegistrationRequired: false }],
  excludeTargets: [],
  ...over,
});

function setTap(f: TenantFixture, cfg: Record<string, unknown> | null): void {
  const configs = (f.authenticationMethodsPolicy!.authenticationMethodConfigurations ?? []).filter((c) => c.id !== 'TemporaryAccessPass');
  if (cfg) configs.push(cfg as unknown as (typeof configs)[number]);
  f.authenticationMethodsPolicy!.authenticationMethodConfigurations = configs;
}

interface Setup {
  onboarding: Record<string, unknown>;
  /** The TemporaryAccessPass configuration; 'generated' keeps the one the generated tenant has. */
  tap?: Record<string, unknown> | null | 'generated';
  appRoles?: string[];
  env?: NodeJS.ProcessEnv;
}

async function doctor(s: Setup) {
  const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: START, prerequisites: true });
  if (s.tap !== 'generated') setTap(fixture, s.tap === undefined ? tapConfig() : s.tap);
  fixture.application = { appId: SIM_APP.clientId, appRoles: s.appRoles ?? [...SIM_APP_ROLES, TAP_WRITE] };
  emulator = await startEmulator({ tenant: fixture, port: 0, token: 'sim-token' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-onboarding-'));
  const text = fs.readFileSync(path.join(ROOT, 'test/fixtures/campaigns/admins-passkeys.yaml'), 'utf8')
    .replace('status: notStarted', 'status: inProgress')
    .replace('breakGlass: [bg1@contoso.com, bg2@contoso.com]', `breakGlass: [${SIM_IDS.breakGlass1}, ${SIM_IDS.breakGlass2}]`);
  const doc = parseDocument(text);
  doc.setIn(['spec', 'onboarding', 'temporaryAccessPass'], s.onboarding);
  const file = path.join(tmp, 'admins-passkeys.yaml');
  fs.writeFileSync(file, doc.toString());
  const env: NodeJS.ProcessEnv = { AZURE_CLIENT_ID: SIM_APP.clientId, CAMPAIGN_TEAMS_APP_ID: SIM_APP.teamsAppId, CAMPAIGN_NOTIFICATION_SENDER: `${SIM_APP.sender}@contoso.com`, ...s.env };
  const io = captureIo(tmp, env);
  const code = await run(['doctor', '--campaign', file, '--graph-url', emulator.url, '--state', path.join(tmp, 'state'), '--now', START, '--format', 'json'], io);
  const report = io.out() ? (JSON.parse(io.out()) as DoctorReport) : undefined;
  return { code, err: io.err(), report, check: (id: string) => report?.checks.find((c) => c.id === id) as DoctorCheck | undefined };
}

const MANAGER = { enabled: true, deliverTo: 'manager', lifetimeMinutes: 240, usableOnce: true };

describe('campaign doctor: onboarding passes', () => {
  it('passes every onboarding check for manager delivery within the tenant policy, the identity holding the permission (exit 0)', async () => {
    const r = await doctor({ onboarding: MANAGER });
    expect(r.err).toBe('');
    const onboarding = r.report!.checks.filter((c) => c.id.startsWith('onboarding.'));
    expect(onboarding.map((c) => [c.id, c.status, c.blocking])).toEqual([
      ['onboarding.tapEnabled', 'pass', false], ['onboarding.lifetime', 'pass', false], ['onboarding.usableOnce', 'pass', false],
      ['onboarding.permission', 'pass', false], ['onboarding.sender', 'pass', false],
    ]);
    expect(r.check('onboarding.tapEnabled')!.message).toBe('the Temporary Access Pass method is enabled for all users.');
    expect(r.check('onboarding.lifetime')!.message).toBe("spec.onboarding.temporaryAccessPass.lifetimeMinutes 240 is within the tenant's 60 to 480 minutes.");
    expect(r.check('onboarding.permission')!.message).toBe(`the identity holds Mail.Send, ${TAP_WRITE}.`);
    expect(r.check('identity.permissions')!.status).toBe('pass');
    expect(r.code).toBe(0);
  });

  it("passes with the generated tenant's own configuration read from the emulator (one-time passes of 60 to 1440 minutes)", async () => {
    const r = await doctor({ onboarding: { enabled: true, deliverTo: 'manager' }, tap: 'generated' });
    expect(r.report!.checks.filter((c) => c.id.startsWith('onboarding.') && c.status !== 'pass')).toEqual([]);
    expect(r.check('onboarding.lifetime')!.message).toBe("spec.onboarding.temporaryAccessPass.lifetimeMinutes 480 is within the tenant's 60 to 1440 minutes.");
  });

  it('onboarding.lifetime and onboarding.usableOnce: a policy without its limits is not guessed at', async () => {
    const r = await doctor({ onboarding: MANAGER, tap: tapConfig({ minimumLifetimeInMinutes: undefined, isUsableOnce: undefined }) });
    expect(r.check('onboarding.lifetime')).toMatchObject({ status: 'fail', blocking: false });
    expect(r.check('onboarding.lifetime')!.message).toBe('the policy shows no lifetime limits (minimumLifetimeInMinutes unset, maximumLifetimeInMinutes 480), so spec.onboarding.temporaryAccessPass.lifetimeMinutes 240 cannot be checked and the job creates no pass and queues the users for the helpdesk.');
    expect(r.check('onboarding.usableOnce')).toMatchObject({ status: 'fail', blocking: false });
    expect(r.code).toBe(0);
  });

  it('adds no onboarding check for a campaign without onboarding', async () => {
    const r = await doctor({ onboarding: { enabled: false, deliverTo: 'manager' }, tap: tapConfig({ state: 'disabled' }) });
    expect(r.report!.checks.filter((c) => c.id.startsWith('onboarding.'))).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('onboarding.tapEnabled: the Temporary Access Pass method is disabled (advisory, exit 0)', async () => {
    const r = await doctor({ onboarding: MANAGER, tap: tapConfig({ state: 'disabled' }) });
    expect(r.check('onboarding.tapEnabled')).toMatchObject({
      status: 'fail', blocking: false,
      message: "the Temporary Access Pass method's state is disabled: the job creates no pass and queues the users for the helpdesk.",
    });
    expect(r.code).toBe(0);
  });

  it('onboarding.tapEnabled: the tenant has no Temporary Access Pass configuration', async () => {
    const r = await doctor({ onboarding: { enabled: true, deliverTo: 'helpdesk' }, tap: null });
    expect(r.check('onboarding.tapEnabled')).toMatchObject({ status: 'fail', blocking: false });
    expect(r.check('onboarding.tapEnabled')!.message).toBe('the tenant has no Temporary Access Pass method configuration. Until it can be read, the helpdesk cannot issue the passes the queue asks for.');
    expect(r.check('onboarding.lifetime')!.status).toBe('skip');
    // Helpdesk delivery needs no write permission and sends no mail from the job.
    expect(r.check('onboarding.permission')).toBeUndefined();
    expect(r.check('onboarding.sender')).toBeUndefined();
  });

  it.each([
    ['below the minimum', 30],
    ['above the maximum', 600],
  ])('onboarding.lifetime: lifetimeMinutes %s (advisory, exit 0)', async (_name, lifetimeMinutes) => {
    const r = await doctor({ onboarding: { ...MANAGER, lifetimeMinutes } });
    expect(r.check('onboarding.lifetime')).toMatchObject({
      status: 'fail', blocking: false,
      message: `spec.onboarding.temporaryAccessPass.lifetimeMinutes is ${lifetimeMinutes}, outside the tenant's 60 to 480 minutes: Entra refuses such a pass, so the job creates no pass and queues the users for the helpdesk.`,
      fix: 'Set spec.onboarding.temporaryAccessPass.lifetimeMinutes between 60 and 480, or change the policy\'s limits (Entra admin center → Protection → Authentication methods → Temporary Access Pass).',
    });
    expect(r.code).toBe(0);
  });

  it('onboarding.usableOnce: a multi-use pass when the policy makes every pass one-time', async () => {
    const r = await doctor({ onboarding: { ...MANAGER, usableOnce: false }, tap: tapConfig({ isUsableOnce: true }) });
    expect(r.check('onboarding.usableOnce')).toMatchObject({ status: 'fail', blocking: false });
    expect(r.check('onboarding.usableOnce')!.message).toContain('usableOnce is false but the tenant\'s policy makes every pass one-time (isUsableOnce true)');
    const ok = await (async () => { await emulator!.close(); emulator = undefined; return doctor({ onboarding: MANAGER, tap: tapConfig({ isUsableOnce: true }) }); })();
    expect(ok.check('onboarding.usableOnce')!.status).toBe('pass');
  });

  it('onboarding.permission: the identity lacks UserAuthenticationMethod.ReadWrite.All; the blocking permissions check still passes (exit 0)', async () => {
    const r = await doctor({ onboarding: MANAGER, appRoles: [...SIM_APP_ROLES] });
    expect(r.check('onboarding.permission')).toMatchObject({
      status: 'fail', blocking: false,
      message: `the identity lacks ${TAP_WRITE}: the job creates no pass and queues the users for the helpdesk.`,
    });
    expect(r.check('onboarding.permission')!.fix).toContain('can create a sign-in credential for any user');
    expect(r.check('identity.permissions')!.status).toBe('pass');
    expect(r.code).toBe(0);
  });

  it('onboarding.sender: a Teams campaign mailing passes to managers without any sender', async () => {
    const r = await doctor({ onboarding: MANAGER, env: { CAMPAIGN_NOTIFICATION_SENDER: '' } });
    expect(r.check('onboarding.sender')).toMatchObject({ status: 'fail', blocking: false });
    expect(r.check('onboarding.sender')!.message).toContain('so no pass can be mailed to a manager');
  });
});
