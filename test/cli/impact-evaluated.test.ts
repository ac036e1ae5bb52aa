// `campaign impact` on sign-ins the emulator recorded itself (POST /_sim/sign-ins), evaluating the campaign's
// report-only policy as Entra would: users sign in with a passkey, with a password where they have a passkey, with a
// password where they have none, and on a legacy mail client. The report must tell exactly these users apart.
import { describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import type { TenantFixture } from '../../src/sim/fixture';
import { startEmulator } from '../../src/sim/server';
import { FIXTURE_CWD } from '../helpers/campaigns';
import { captureIo, sharedClock } from '../helpers/io';

const NOW = '2026-12-01T06:00:00.000Z';
const GROUP = '00000000-0000-4000-8000-00000000f0c1';
const POLICY = '5e000000-0000-4000-8000-0000000000f1';
const id = (n: number) => `00000000-0000-4000-8000-00000000f0${String(n).padStart(2, '0')}`;
const U = { passkey: id(1), legacyMail: id(2), promptable: id(3), noPasskey: id(4), quiet: id(5), outsider: id(6) };
const UPN: Record<string, string> = Object.fromEntries(Object.entries(U).map(([k, v]) => [v, `${k.toLowerCase()}@contoso.com`]));

function tenant(): TenantFixture {
  const passkey = (user: string) => [{ id: `pk-${user}`, displayName: 'Authenticator', aaGuid: '90a3ccdf-635c-4729-a248-9b709135078f', model: 'Microsoft Authenticator - iOS', createdDateTime: '2026-10-01T10:00:00Z' }];
  return {
    users: Object.values(U).map((u) => ({ id: u, userPrincipalName: UPN[u]!, displayName: UPN[u]!, accountEnabled: true, mail: UPN[u]! })),
    groups: [{ id: GROUP, displayName: 'passkey-campaign-admins-passkeys-enforced', members: [U.passkey, U.legacyMail, U.promptable, U.noPasskey, U.quiet] }],
    fido2Methods: { [U.passkey]: passkey(U.passkey), [U.legacyMail]: passkey(U.legacyMail), [U.promptable]: passkey(U.promptable), [U.outsider]: passkey(U.outsider) },
    conditionalAccessPolicies: [{
      id: POLICY,
      displayName: 'passkey-campaign-admins-passkeys-policy',
      createdDateTime: '2026-10-01T00:00:00Z',
      state: 'enabledForReportingButNotEnforced',
      conditions: {
        clientAppTypes: ['all'],
        applications: { includeApplications: ['All'], excludeApplications: [] },
        users: { includeUsers: [], excludeUsers: [], includeGroups: [GROUP], excludeGroups: [], includeRoles: [], excludeRoles: [] },
      },
      grantControls: { operator: 'AND', builtInControls: [], customAuthenticationFactors: [], termsOfUse: [], authenticationStrength: { id: '00000000-0000-0000-0000-000000000004', displayName: 'Phishing-resistant MFA', policyType: 'builtIn' } },
    }],
  } as TenantFixture;
}

const day = (d: number) => new Date(Date.parse(NOW) - d * 86_400_000).toISOString();

describe('campaign impact on sign-ins the emulator evaluated', () => {
  it('tells the passkey user, the legacy mail client, the promptable and the passkey-less user apart', async () => {
    const { emulatorClock, ioClock } = sharedClock(NOW);
    const emu = await startEmulator({ tenant: tenant(), port: 0, token: 'sim-token', clock: emulatorClock });
    try {
      const res = await fetch(`${emu.url}/_sim/sign-ins`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ signIns: [
          { userId: U.passkey, at: day(1), app: 'Microsoft Teams', clientApp: 'Browser', method: 'passkey' },
          { userId: U.legacyMail, at: day(2), app: 'My Apps', clientApp: 'Browser', method: 'passkey' },
          { userId: U.legacyMail, at: day(3), app: 'Office 365 Exchange Online', clientApp: 'Exchange ActiveSync', method: 'password' },
          { userId: U.promptable, at: day(4), app: 'Microsoft Teams', clientApp: 'Browser', method: 'password' },
          { userId: U.noPasskey, at: day(5), app: 'Office 365 SharePoint Online', clientApp: 'Mobile Apps and Desktop clients', method: 'password' },
          { userId: U.outsider, at: day(5), app: 'Azure Portal', clientApp: 'IMAP4', method: 'password' },
          // Outside the 14 days: not read.
          { userId: U.quiet, at: day(20), app: 'Microsoft Teams', clientApp: 'Browser', method: 'password' },
        ] }),
      });
      expect(res.status).toBe(200);
      const io = captureIo(FIXTURE_CWD, {}, ioClock);
      const code = await run(['impact', '--campaign', 'admins-passkeys', '--graph-url', emu.url, '--now', NOW, '--json'], io);
      expect(io.err()).toBe('');
      const r = JSON.parse(io.out());
      expect(r.users).toEqual({ observed: 4, satisfied: 1, interrupted: 1, wouldBlock: 2, noPasskeySignIn: 3 });
      expect(r.unobserved).toBe(1);
      expect(r.wouldBlock.map((w: { userPrincipalName: string; apps: string[]; clientApps: string[]; legacy: boolean }) => [w.userPrincipalName, w.apps, w.clientApps, w.legacy]).sort()).toEqual([
        ['legacymail@contoso.com', ['Office 365 Exchange Online'], ['Exchange ActiveSync'], true],
        ['nopasskey@contoso.com', ['Office 365 SharePoint Online'], ['Mobile Apps and Desktop clients'], false],
      ]);
      // The example campaign keeps the default gate (14 days, at most 1 %): 2 of 4 is far above it.
      expect(r.gate).toMatchObject({ met: false, reason: 'TooManyWouldBlock', observedDays: 14, maxWouldBlockUsersPercent: 1 });
      expect(code).toBe(1);
    } finally {
      await emu.close();
    }
  });
});
