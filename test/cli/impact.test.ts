// `campaign impact` over real HTTP: the emulator serves a tenant with known sign-ins (test/impact/known-sign-ins.ts)
// and the CLI reads them through the real Graph client. Counts per result, the would-block applications, the gate's
// exit status around its threshold, and every way a fact can be missing (exit 2, never "gate met").
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { openStore } from '../../src/ledger/open-store';
import type { TenantFixture } from '../../src/sim/fixture';
import { startEmulator } from '../../src/sim/server';
import { fixtureCampaignText } from '../helpers/campaigns';
import { captureIo, sharedClock } from '../helpers/io';
import { EXPECTED_USERS, knownSignIns, M, NOW, OUTSIDER, POLICY_ID, OTHER_POLICY_ID, upn } from '../impact/known-sign-ins';

const GROUP_ID = '00000000-0000-4000-8000-00000000e0c1';
const POLICY_NAME = 'passkey-campaign-admins-passkeys-policy';
/** Every permission impact needs. */
const ALL_ROLES = ['GroupMember.Read.All', 'AuditLog.Read.All', 'Directory.Read.All', 'Policy.Read.All'];

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'impact-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface TenantOptions {
  signIns?: unknown[] | null;
  members?: string[];
  policy?: boolean;
  appRoles?: string[];
}

function tenant(o: TenantOptions = {}): TenantFixture {
  const ids = [...Object.values(M), OUTSIDER];
  const t: TenantFixture = {
    users: ids.map((id) => ({ id, userPrincipalName: upn(id), displayName: upn(id).split('@')[0]!, accountEnabled: true, mail: upn(id) })),
    groups: [{ id: GROUP_ID, displayName: 'passkey-campaign-admins-passkeys-enforced', members: o.members ?? Object.values(M) }],
    conditionalAccessPolicies: [
      { id: OTHER_POLICY_ID, displayName: 'Block legacy authentication', state: 'enabledForReportingButNotEnforced' as const, createdDateTime: '2025-01-01T00:00:00Z' },
      ...(o.policy === false ? [] : [{ id: POLICY_ID, displayName: POLICY_NAME, state: 'enabledForReportingButNotEnforced' as const, createdDateTime: '2026-10-01T00:00:00Z' }]),
    ],
    application: { appId: '5c000000-0000-4000-8000-000000000001', appRoles: o.appRoles ?? ALL_ROLES },
  };
  if (o.signIns !== null) (t as Record<string, unknown>).signIns = o.signIns ?? knownSignIns();
  return t;
}

/** A copy of the admins campaign with its gate set. */
function campaignFile(maxWouldBlockUsersPercent: number, observedDays = 14, mode: 'reportOnly' | 'graduated' = 'reportOnly'): string {
  const text = fixtureCampaignText('admins-passkeys').replace(/^(\s+)maxNewPerRun: (\d+)$/m,
    (_, indent: string, n: string) => `${indent}maxNewPerRun: ${n}\n${indent}mode: ${mode}\n${indent}enableWhen: { observedDays: ${observedDays}, maxWouldBlockUsersPercent: ${maxWouldBlockUsersPercent} }`);
  // The file name must be the campaign's name: one directory per gate.
  const dir = path.join(tmp, `gate-${maxWouldBlockUsersPercent}-${observedDays}-${mode}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'admins-passkeys.yaml');
  fs.writeFileSync(file, text);
  return file;
}

/** Runs `campaign impact` against an emulator serving `t`; one clock for both, so throttling waits cost no time. */
async function impact(t: TenantFixture, args: string[], env: NodeJS.ProcessEnv = {}) {
  const { emulatorClock, ioClock } = sharedClock(NOW);
  const emu = await startEmulator({ tenant: t, port: 0, token: 'sim-token', clock: emulatorClock });
  try {
    const io = captureIo(tmp, { ...env }, ioClock);
    const code = await run(['impact', '--graph-url', emu.url, '--now', NOW, ...args], io);
    return { code, out: io.out(), err: io.err() };
  } finally {
    await emu.close();
  }
}

describe('campaign impact', () => {
  it('counts exactly the expected users per result and names the would-block applications (--json)', async () => {
    const r = await impact(tenant(), ['--campaign', campaignFile(1), '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ campaign: 'admins-passkeys', policyId: POLICY_ID, days: 14, users: EXPECTED_USERS, members: 6, unobserved: 2 });
    expect(j.wouldBlock.map((w: { userPrincipalName: string; apps: string[]; clientApps: string[]; legacy: boolean }) => [w.userPrincipalName, w.apps, w.clientApps, w.legacy])).toEqual([
      ['dee@contoso.com', ['Microsoft Teams'], ['Mobile Apps and Desktop clients'], false],
      ['ben@contoso.com', ['Office 365 Exchange Online'], ['Exchange ActiveSync'], true],
    ]);
    expect(j.gate).toMatchObject({ met: false, reason: 'TooManyWouldBlock' });
  });

  it.each([
    { name: 'exits 1 above the threshold (50 % > 49 %)', max: 49, code: 1 },
    { name: 'exits 0 exactly at the threshold (50 % ≤ 50 %)', max: 50, code: 0 },
    { name: 'exits 0 below the threshold (50 % ≤ 75 %)', max: 75, code: 0 },
  ])('$name', async ({ max, code }) => {
    const r = await impact(tenant(), ['--campaign', campaignFile(max)]);
    expect(r.err).toBe('');
    expect(r.code).toBe(code);
    expect(r.out.split('\n')[0]).toMatch(code === 0 ? /^impact admins-passkeys: gate met: / : /^impact admins-passkeys: gate NOT met: /);
  });

  it('reads observedDays of sign-ins by default and refuses a shorter --days as not met', async () => {
    const r = await impact(tenant(), ['--campaign', campaignFile(100, 10), '--days', '7', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).gate).toMatchObject({ met: false, reason: 'WindowTooShort', coveredDays: 7 });
    const d = await impact(tenant(), ['--campaign', campaignFile(100, 10), '--json']);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out)).toMatchObject({ days: 10, window: { from: '2026-11-21T06:00:00.000Z', to: NOW } });
  });

  it('leaves out a sign-in at exactly the end of the window (--now)', async () => {
    const atNow = { ...knownSignIns()[0]!, id: '51000099-0000-4000-8000-000000000000', createdDateTime: NOW, userId: M.fay, userPrincipalName: upn(M.fay) };
    const r = await impact(tenant({ signIns: [atNow, ...knownSignIns()] }), ['--campaign', campaignFile(1), '--json']);
    expect(JSON.parse(r.out).users).toEqual(EXPECTED_USERS);
  });

  it('exits 2 when the sign-ins come without Conditional Access data', async () => {
    const bare = knownSignIns().map(({ appliedConditionalAccessPolicies: _omitted, ...s }) => s);
    const r = await impact(tenant({ signIns: bare }), ['--campaign', campaignFile(100), '--json']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('sign-ins came without Conditional Access data');
    expect(r.err).toContain('Policy.Read.All');
  });

  it('exits 2 when the policy\'s results come back as unknownFutureValue (report-only results withheld)', async () => {
    const hidden = knownSignIns().map((s) => ({ ...s, appliedConditionalAccessPolicies: s.appliedConditionalAccessPolicies!.map((p) => (p.id === POLICY_ID ? { ...p, result: 'unknownFutureValue' } : p)) }));
    const r = await impact(tenant({ signIns: hidden }), ['--campaign', campaignFile(100)]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain("show the policy's result as unknownFutureValue");
  });

  it.each([
    { name: 'AuditLog.Read.All', drop: 'AuditLog.Read.All', names: 'the permissions AuditLog.Read.All and Directory.Read.All (both)' },
    { name: 'Directory.Read.All', drop: 'Directory.Read.All', names: 'the permissions AuditLog.Read.All and Directory.Read.All (both)' },
    { name: 'Policy.Read.All', drop: 'Policy.Read.All', names: 'the permission Policy.Read.All' },
  ])('exits 2 naming the permission when the identity lacks $name', async ({ drop, names }) => {
    const r = await impact(tenant({ appRoles: ALL_ROLES.filter((p) => p !== drop), signIns: drop === 'Policy.Read.All' ? null : undefined }), ['--campaign', campaignFile(100)]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/refused \(403 /);
    expect(r.err).toContain(`the identity needs ${names} of Microsoft Graph. No impact is reported.`);
    expect(r.err).not.toMatch(/gate met|internal error/);
  });

  it('exits 2 naming the display name when the campaign has no policy', async () => {
    const r = await impact(tenant({ policy: false, signIns: null }), ['--campaign', campaignFile(100)]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`campaign impact: no Conditional Access policy is named "${POLICY_NAME}"`);
  });

  it('exits 1 for an enforcement group without members, saying why', async () => {
    const r = await impact(tenant({ members: [], signIns: null }), ['--campaign', campaignFile(100), '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.users).toEqual({ observed: 0, satisfied: 0, interrupted: 0, wouldBlock: 0, noPasskeySignIn: 0 });
    expect(j.gate).toEqual(expect.objectContaining({ met: false, reason: 'NoMembers', message: 'the enforcement group has no members, so no sign-in could be observed.' }));
  });

  it('--markdown appends the reviewer\'s page to $GITHUB_STEP_SUMMARY', async () => {
    const summary = path.join(tmp, 'step-summary.md');
    fs.writeFileSync(summary, '## An earlier step\n\n');
    const r = await impact(tenant(), ['--campaign', campaignFile(1), '--markdown', summary], { GITHUB_STEP_SUMMARY: summary });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`wrote the impact report to ${summary}`);
    const text = fs.readFileSync(summary, 'utf8');
    expect(text.startsWith('## An earlier step\n\n## Report-only impact of `admins-passkeys`: gate not met\n')).toBe(true);
    expect(text).toContain('**Exchange ActiveSync (legacy)**');
    expect(text).toContain('| `dee@contoso.com` | Microsoft Teams |');
  });

  it('--record saves the report as the state\'s impact snapshot, which a re-read returns', async () => {
    const state = path.join(tmp, 'state');
    const r = await impact(tenant(), ['--campaign', campaignFile(50), '--json', '--record', '--state', state]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('recorded the impact report for admins-passkeys');
    const store = await openStore(state, { cwd: tmp });
    expect(await store.readSnapshot('admins-passkeys', 'impact')).toEqual(JSON.parse(r.out));
  });

  it('counts the graduated group\'s members for a graduated campaign, and reports null otherwise', async () => {
    const t = tenant();
    t.groups!.push({ id: '00000000-0000-4000-8000-00000000e0c2', displayName: 'passkey-campaign-admins-passkeys-graduated', members: [M.amy, M.cid] });
    const graduated = await impact(t, ['--campaign', campaignFile(50, 14, 'graduated'), '--json']);
    expect(graduated.err).toBe('');
    expect(JSON.parse(graduated.out)).toMatchObject({ graduated: 2, users: EXPECTED_USERS });
    expect(JSON.parse((await impact(t, ['--campaign', campaignFile(50), '--json'])).out).graduated).toBeNull();
  });

  it('prints its usage with --help', async () => {
    const r = await impact(tenant({ signIns: null }), ['--help']);
    expect(r.code).toBe(0);
    expect(r.out.startsWith('Usage: campaign impact --campaign NAME|FILE [--graph-url URL] [--days N] [--json] [--markdown FILE]')).toBe(true);
  });

  it('refuses --days outside 1 to 30 and --state without --record', async () => {
    const t = tenant({ signIns: null });
    expect((await impact(t, ['--campaign', campaignFile(1), '--days', '31'])).err).toContain('--days must be a whole number from 1 to 30 (got "31").');
    const r = await impact(t, ['--campaign', campaignFile(1), '--state', path.join(tmp, 's2')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--state is where --record saves the report');
  });
});
