// A hand-written campaign ledger and observation with onboarding passes (Temporary Access Pass), for the
// report and the status CLI tests.
import type { Campaign } from '../../src/campaign/types';
import type { LedgerEvent } from '../../src/ledger/events';
import type { Stage } from '../../src/engine/types';
import { campaign, day, observation, user } from '../engine/fixtures';

export const who = (id: string) => ({ userId: `u-${id}`, userPrincipalName: `${id}@contoso.com` });
export const enter = (id: string, to: Stage): LedgerEvent => ({ v: 1, type: 'userEnteredStage', at: day(0), runId: 'r0', ...who(id), from: null, to, reason: 'R', message: 'R' });
export const run = (d: number, id: string, body: LedgerEvent[]): LedgerEvent[] => [
  { v: 1, type: 'runStarted', at: day(d), runId: id, campaign: 'admins-passkeys', status: 'inProgress' },
  ...body,
  { v: 1, type: 'runFinished', at: day(d), runId: id, ok: true },
];
export const SECRET = 'Q7#secret-pass-value';
const issued = (id: string, d: number, runId: string): LedgerEvent => ({
  v: 1, type: 'onboardingPassIssued', at: day(d), runId, ...who(id), methodId: `tap-${id}`, lifetimeMinutes: 480, usableOnce: true,
  startDateTime: day(d), expiresAt: day(d + 1 / 3), deliveredTo: { managerId: 'u-boss', managerUpn: 'boss@contoso.com' },
});

// Seven users in the campaign; ann, ben and gus need a pass (no method that can satisfy MFA):
// ann queued (no manager) on day 1 and still waiting; ben issued a pass on day 1 that expired on day 2;
// gus queued on day 1 (manager unreadable), then issued a pass on day 2. cat has Authenticator, dan is outside
// the FIDO2 scope, eve is in device update, fay is disabled: none of them needs a pass.
export function ledger(): LedgerEvent[] {
  return [
    ...run(0, 'r0', ['ann', 'ben', 'cat', 'dan', 'fay', 'gus'].map((id) => enter(id, 'passkeyRegistration')).concat(enter('eve', 'deviceUpdate'))),
    ...run(1, 'r1', [
      { v: 1, type: 'onboardingQueued', at: day(1), runId: 'r1', ...who('ann'), reason: 'noManager' },
      issued('ben', 1, 'r1'),
      { v: 1, type: 'onboardingQueued', at: day(1), runId: 'r1', ...who('gus'), reason: 'managerUnreadable' },
    ]),
    ...run(2, 'r2', [
      { v: 1, type: 'onboardingQueued', at: day(2), runId: 'r2', ...who('ann'), reason: 'noManager' },
      { v: 1, type: 'onboardingPassExpired', at: day(2), runId: 'r2', ...who('ben'), methodId: 'tap-ben', expiresAt: day(1 + 1 / 3) },
      issued('gus', 2, 'r2'),
    ]),
  ];
}

const noMfa = { methodsRegistered: ['email'], fido2Methods: [] };
export const obs = () => observation([
  user({ ...who('ann'), ...noMfa, displayName: '=HYPERLINK("http://evil")' }),
  user({ ...who('ben'), methodsRegistered: [], fido2Methods: [], displayName: 'Ben Bit' }),
  user({ ...who('cat') }),
  user({ ...who('dan'), ...noMfa, inFido2PolicyScope: false }),
  user({ ...who('eve'), ...noMfa }),
  user({ ...who('fay'), ...noMfa, accountEnabled: false }),
  user({ ...who('gus'), ...noMfa, displayName: 'Gus Grey' }),
], { at: day(2) });

export function withTap(o: Partial<Campaign['spec']['onboarding']['temporaryAccessPass']>): Campaign {
  const c = campaign();
  c.spec.onboarding.temporaryAccessPass = { ...c.spec.onboarding.temporaryAccessPass, ...o };
  return c;
}

