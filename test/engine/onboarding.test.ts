// Who needs an onboarding pass, who may get one this run, where it goes: the pure half (src/engine/onboarding.ts).
import { describe, expect, it } from 'vitest';
import { needsOnboardingPass, planOnboarding, routePass, tapPolicyConflict, type TapPolicy } from '../../src/engine/onboarding';
import { openIntents } from '../../src/engine/recovery';
import { foldLedger, type CampaignState } from '../../src/engine/state';
import { LEDGER_VERSION, type LedgerEvent } from '../../src/ledger/events';
import { campaign, day, NOW, user } from './fixtures';

const v = LEDGER_VERSION;
const ADA = { userId: 'u-ada', userPrincipalName: 'ada@contoso.com' };
const stuck = (o: Parameters<typeof user>[0] = {}) => user({ methodsRegistered: ['email'], fido2Methods: [], ...o });

function stateAt(stage: 'deviceUpdate' | 'passkeyRegistration' | 'enforcementNotice', more: LedgerEvent[] = []): CampaignState {
  return foldLedger([
    { v, at: day(-1), ...ADA, type: 'userEnteredStage', from: null, to: stage, reason: 'x', message: 'x' },
    ...more,
  ]);
}

const issued = (at: string, methodId = 'tap-1', minutes = 480): LedgerEvent => ({
  v, at, ...ADA, type: 'onboardingPassIssued', methodId, lifetimeMinutes: minutes, usableOnce: true, startDateTime: at,
  expiresAt: new Date(Date.parse(at) + minutes * 60_000).toISOString(), deliveredTo: { managerId: 'u-boss', managerUpn: 'boss@contoso.com' },
});

describe('needsOnboardingPass', () => {
  const s = stateAt('passkeyRegistration');
  it('holds for a user in passkeyRegistration with only SSPR methods, enabled, in scope', () => {
    expect(needsOnboardingPass(stuck(), s.users['u-ada'])).toBe(true);
    expect(needsOnboardingPass(stuck({ methodsRegistered: [] }), s.users['u-ada'])).toBe(true);
    expect(needsOnboardingPass(stuck({ methodsRegistered: ['email', 'securityQuestion', 'temporaryAccessPass'] }), s.users['u-ada'])).toBe(true);
  });
  it('does not hold for a user with a method that satisfies MFA (they can register on their own)', () => {
    for (const m of ['mobilePhone', 'officePhone', 'microsoftAuthenticatorPush', 'softwareOneTimePasscode', 'hardwareOneTimePasscode', 'windowsHelloForBusiness', 'passKeyDeviceBound', 'MOBILEPHONE']) {
      expect(needsOnboardingPass(stuck({ methodsRegistered: ['email', m] }), s.users['u-ada']), m).toBe(false);
    }
    expect(needsOnboardingPass(stuck({ fido2Methods: [{ id: 'f', aaGuid: null }] }), s.users['u-ada'])).toBe(false);
  });
  it('does not hold for disabled, out-of-scope (or unknown scope) and unread users', () => {
    expect(needsOnboardingPass(stuck({ accountEnabled: false }), s.users['u-ada'])).toBe(false);
    expect(needsOnboardingPass(stuck({ inFido2PolicyScope: false }), s.users['u-ada'])).toBe(false);
    expect(needsOnboardingPass(stuck({ inFido2PolicyScope: null }), s.users['u-ada'])).toBe(false);
    expect(needsOnboardingPass(stuck({ readErrors: ['403'] }), s.users['u-ada'])).toBe(false);
  });
  it('does not hold outside passkeyRegistration, after leaving, or for a user not in the campaign', () => {
    expect(needsOnboardingPass(stuck(), undefined)).toBe(false);
    expect(needsOnboardingPass(stuck(), stateAt('deviceUpdate').users['u-ada'])).toBe(false);
    expect(needsOnboardingPass(stuck(), stateAt('enforcementNotice').users['u-ada'])).toBe(false);
    const left = stateAt('passkeyRegistration', [{ v, at: NOW, ...ADA, type: 'leftCampaign', from: 'passkeyRegistration', reason: 'excluded', message: 'x' }]);
    expect(needsOnboardingPass(stuck(), left.users['u-ada'])).toBe(false);
  });
});

describe('planOnboarding', () => {
  const c = campaign(); // passkeyRegistration grace: 14 days
  it('makes an eligible user of one who never had a pass', () => {
    const p = planOnboarding(c, [stuck(), user({ userId: 'u-bob', userPrincipalName: 'bob@contoso.com' })], stateAt('passkeyRegistration'), NOW);
    expect(p).toEqual({ needing: 1, eligible: [{ userId: 'u-ada', userPrincipalName: 'ada@contoso.com', displayName: 'Ada Lovelace' }], expired: [] });
  });
  it('one pass per grace period: none again before it has passed since the last', () => {
    const s = stateAt('passkeyRegistration', [issued(day(-13))]);
    expect(planOnboarding(c, [stuck()], s, NOW).eligible).toEqual([]);
    expect(planOnboarding(c, [stuck()], s, day(1)).eligible).toHaveLength(1);
  });
  it('reports a pass that expired while the user still needs one, once', () => {
    const s = stateAt('passkeyRegistration', [issued(day(-1))]);
    expect(planOnboarding(c, [stuck()], s, day(-1 + 400 / 1440)).expired).toEqual([]);
    expect(planOnboarding(c, [stuck()], s, NOW).expired).toEqual([expect.objectContaining({ userId: 'u-ada', methodId: 'tap-1' })]);
    const reported = stateAt('passkeyRegistration', [issued(day(-1)), { v, at: NOW, ...ADA, type: 'onboardingPassExpired', methodId: 'tap-1', expiresAt: day(-1 + 480 / 1440) }]);
    expect(planOnboarding(c, [stuck()], reported, NOW).expired).toEqual([]);
    // A user who registered a passkey in the meantime does not need one: nothing to report.
    expect(planOnboarding(c, [user({ methodsRegistered: ['email', 'passKeyDeviceBound'] })], s, NOW).expired).toEqual([]);
  });
  it('orders the eligible users by UPN (maxPerRun takes the first)', () => {
    const s = foldLedger(['u-c', 'u-a', 'u-b'].map((id) => ({ v, at: day(-1), userId: id, userPrincipalName: `${id}@x`, type: 'userEnteredStage' as const, from: null, to: 'passkeyRegistration' as const, reason: 'x', message: 'x' })));
    const p = planOnboarding(c, ['u-c', 'u-a', 'u-b'].map((id) => stuck({ userId: id, userPrincipalName: `${id}@x` })), s, NOW);
    expect(p.eligible.map((u) => u.userId)).toEqual(['u-a', 'u-b', 'u-c']);
  });
});

describe('routePass', () => {
  const u = { userId: 'u-ada', userPrincipalName: 'ada@contoso.com', displayName: 'Ada' };
  const boss = { id: 'u-boss', userPrincipalName: 'boss@contoso.com', displayName: 'Boss', mail: 'boss@contoso.com', accountEnabled: true };
  it('goes to a manager with a mailbox', () => {
    expect(routePass(u, { kind: 'manager', manager: boss }, 'ada@contoso.com')).toEqual({ route: 'manager', manager: boss });
  });
  it('never to the user: own account or own mailbox as manager → helpdesk queue', () => {
    expect(routePass(u, { kind: 'manager', manager: { ...boss, id: 'U-ADA' } })).toMatchObject({ route: 'queue', reason: 'noManager' });
    expect(routePass(u, { kind: 'manager', manager: { ...boss, mail: 'ADA@contoso.com' } }, null)).toMatchObject({ route: 'queue' });
    expect(routePass(u, { kind: 'manager', manager: { ...boss, mail: 'ada.l@contoso.com' } }, 'ada.l@contoso.com')).toMatchObject({ route: 'queue' });
  });
  it('no manager → helpdesk; a manager without mailbox or disabled → helpdesk; a failed read → hold', () => {
    expect(routePass(u, { kind: 'none' })).toMatchObject({ route: 'queue', reason: 'noManager' });
    expect(routePass(u, { kind: 'manager', manager: { ...boss, mail: null } })).toMatchObject({ route: 'queue', reason: 'managerNoMailbox' });
    expect(routePass(u, { kind: 'manager', manager: { ...boss, accountEnabled: false } })).toMatchObject({ route: 'queue', reason: 'managerNoMailbox' });
    expect(routePass(u, { kind: 'error', cause: '503' })).toMatchObject({ route: 'hold' });
    expect(routePass(u, undefined)).toMatchObject({ route: 'hold' });
  });
});

describe('tapPolicyConflict', () => {
  const tap = campaign().spec.onboarding.temporaryAccessPass;
  const p: TapPolicy = { state: 'enabled', minimumLifetimeInMinutes: 60, maximumLifetimeInMinutes: 480, isUsableOnce: true };
  it('allows a pass within the limits', () => expect(tapPolicyConflict(p, tap)).toBeNull());
  it('names a disabled method, a lifetime out of limits, a multi-use pass the policy forbids', () => {
    expect(tapPolicyConflict({ ...p, state: 'disabled' }, tap)).toMatch(/disabled/);
    expect(tapPolicyConflict({ ...p, maximumLifetimeInMinutes: 240 }, tap)).toMatch(/lifetimeMinutes is 480.*60 to 240/);
    expect(tapPolicyConflict(p, { ...tap, usableOnce: false })).toMatch(/usableOnce/);
    expect(tapPolicyConflict({ ...p, isUsableOnce: false }, { ...tap, usableOnce: false })).toBeNull();
  });
});

describe('the ledger fold and open intents', () => {
  it('folds issued, queued and expired into UserState.onboarding (never a pass: there is none to fold)', () => {
    const s = stateAt('passkeyRegistration', [
      { v, at: day(-2), ...ADA, type: 'onboardingQueued', reason: 'noManager' },
      issued(day(-1)),
      { v, at: NOW, ...ADA, type: 'onboardingPassExpired', methodId: 'tap-1', expiresAt: day(-1 + 480 / 1440) },
    ]);
    expect(s.users['u-ada']!.onboarding).toEqual({ passIssuedAt: day(-1), methodId: 'tap-1', expiresAt: day(-1 + 480 / 1440), expiredReported: true, queuedAt: null, queuedReason: null, issued: 1 });
  });
  it('an intent without issued or outcome is open; either closes it', () => {
    const intent: LedgerEvent = { v, at: NOW, runId: 'r1', ...ADA, type: 'onboardingPassIntent', managerId: 'u-boss' };
    expect(openIntents([intent]).onboardingPasses).toHaveLength(1);
    expect(openIntents([intent, issued(NOW)]).onboardingPasses).toHaveLength(0);
    expect(openIntents([intent, { v, at: NOW, ...ADA, type: 'onboardingPassOutcome', outcome: 'revoked' }]).onboardingPasses).toHaveLength(0);
    // The intent does not put the user into the campaign.
    expect(foldLedger([intent]).users).toEqual({});
  });
});
