import { describe, expect, it } from 'vitest';
import { applyEvents, requestPostponement, type CampaignState } from '../../src/engine';
import { campaign, day, ready, runDays, user, type CampaignOverrides } from './fixtures';

// State after `days` daily runs for one user who needs a passkey (or is ready), optionally postponed on given days.
function stateAfter(days: number, o: { ready?: boolean; postponeOn?: number[]; c?: CampaignOverrides } = {}): CampaignState {
  return runDays(campaign(o.c), days, {
    users: () => [o.ready ? ready() : user()],
    postpone: (d) => (o.postponeOn?.includes(d) ? ['u-ada'] : []),
  }).state;
}

describe('requestPostponement refusals', () => {
  const cases = [
    {
      name: 'refuses when postponement is disabled',
      c: { postponement: { enabled: false } }, state: () => stateAfter(1, { c: { postponement: { enabled: false } } }), userId: 'u-ada', at: day(1.5),
      reason: 'PostponementDisabled', message: 'postponement is disabled for campaign admins-passkeys (spec.postponement.enabled: false)',
    },
    {
      name: 'refuses while the campaign is paused',
      c: { status: 'paused' as const }, state: () => stateAfter(1), userId: 'u-ada', at: day(1.5),
      reason: 'CampaignNotInProgress', message: 'campaign admins-passkeys is paused: postponement only applies while it is inProgress',
    },
    {
      name: 'refuses a user who is not in the campaign',
      c: {}, state: () => stateAfter(1), userId: 'u-nobody', at: day(1.5),
      reason: 'NotInCampaign', message: 'user u-nobody is not in campaign admins-passkeys',
    },
    {
      name: 'refuses an enforced user',
      c: {}, state: () => stateAfter(8, { ready: true }), userId: 'u-ada', at: day(8.5),
      reason: 'Enforced', message: 'ada@contoso.com is already enforced; there is nothing left to postpone',
    },
    {
      name: 'refuses a user who is already postponed',
      c: {}, state: () => stateAfter(3, { postponeOn: [2] }), userId: 'u-ada', at: day(2.5),
      reason: 'AlreadyPostponed', message: 'ada@contoso.com has already postponed passkey registration until 2026-12-05',
    },
    {
      name: 'refuses once maxTimes postponements of the stage are used',
      c: {}, state: () => stateAfter(10, { postponeOn: [2, 6] }), userId: 'u-ada', at: day(9.5),
      reason: 'MaxPostponementsReached', message: 'ada@contoso.com has postponed passkey registration 2 of 2 allowed times (spec.postponement.maxTimes)',
    },
    {
      name: 'refuses a user who already exceeded the grace period',
      c: {}, state: () => stateAfter(15), userId: 'u-ada', at: day(14.5),
      reason: 'GraceExceeded', message: 'ada@contoso.com has exceeded the passkey registration grace period; postponement is no longer possible',
    },
  ];
  it.each(cases)('$name', ({ c, state, userId, at, reason, message }) => {
    expect(requestPostponement(campaign(c), state(), userId, at)).toEqual({ ok: false, reason, message });
  });
});

describe('requestPostponement', () => {
  it('returns a postponed event that moves the deadline by postponement.days', () => {
    const r = requestPostponement(campaign(), stateAfter(2), 'u-ada', day(1.5), { tokenId: 'tok-1' });
    expect(r).toEqual({
      ok: true,
      event: {
        v: 1, type: 'postponed', at: day(1.5), userId: 'u-ada', userPrincipalName: 'ada@contoso.com',
        stage: 'passkeyRegistration', until: day(4.5), count: 1, days: 3, tokenId: 'tok-1',
      },
    });
  });

  it('allows a new postponement once the previous one ended, counting per stage', () => {
    const state = stateAfter(6, { postponeOn: [2] });
    const r = requestPostponement(campaign(), state, 'u-ada', day(5.5));
    expect(r).toMatchObject({ ok: true, event: { count: 2, stage: 'passkeyRegistration' } });
    if (r.ok) applyEvents(state, [r.event]);
    expect(state.users['u-ada']).toMatchObject({ postponements: { passkeyRegistration: 2 }, extensionDays: 6, postponedUntil: day(8.5) });
  });

  it('postpones the enforcement notice too', () => {
    expect(requestPostponement(campaign(), stateAfter(2, { ready: true }), 'u-ada', day(1.5))).toMatchObject({ ok: true, event: { stage: 'enforcementNotice' } });
  });
});
