import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/engine/decide';
import { applyValve } from '../../src/engine/valve';

const user = (n: number, enforce: boolean): Decision[] => {
  const base = { userId: `u${n}`, userPrincipalName: `u${n}@contoso.com` };
  if (!enforce) return [{ ...base, type: 'enterStage', stage: 'passkeyRegistration', from: null, to: 'passkeyRegistration', reason: 'NoPasskeyRegistered', message: 'm' }];
  return [
    { ...base, type: 'addToGroup', stage: 'enforced', reason: 'NoticePeriodElapsed', message: 'm' },
    { ...base, type: 'enterStage', stage: 'enforced', from: 'enforcementNotice', to: 'enforced', reason: 'NoticePeriodElapsed', message: 'm' },
    { ...base, type: 'notify', stage: 'enforced', kind: 'enforced', sequence: 1, key: `c:u${n}:enforced:1`, channel: 'teams', deadline: null, reason: 'StageEntered', message: 'm' },
  ];
};

describe('the blast-radius valve', () => {
  it('lets at most maxNewPerRun users join the enforcement group and defers the rest whole', () => {
    const decisions = [...user(1, true), ...user(2, true), ...user(3, false), ...user(4, true)];
    const { kept, deferred } = applyValve(decisions, 2);
    expect(deferred).toBe(1);
    expect(kept.filter((d) => d.type === 'addToGroup').map((d) => d.userId)).toEqual(['u1', 'u2']);
    expect(kept.some((d) => d.userId === 'u4')).toBe(false);
    expect(kept.some((d) => d.userId === 'u3')).toBe(true);
  });

  it('changes nothing under the limit', () => {
    const decisions = [...user(1, true), ...user(2, false)];
    expect(applyValve(decisions, 50)).toEqual({ kept: decisions, deferred: 0 });
  });
});

describe('decision reasons', () => {
  it('are a closed set: a reason that does not exist does not compile (npm test type-checks the tests)', () => {
    const d: Decision = {
      type: 'enterStage', userId: 'u1', userPrincipalName: 'u1@contoso.com', stage: 'passkeyRegistration', from: null, to: 'passkeyRegistration',
      // @ts-expect-error 'NeedsPasskey' is not a StageReason (src/engine/reasons.ts)
      reason: 'NeedsPasskey',
      message: 'm',
    };
    expect(d.type).toBe('enterStage');
  });
});
