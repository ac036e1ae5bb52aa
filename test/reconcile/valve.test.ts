import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/engine/decide';
import { applyMailBudget } from '../../src/engine/mail-limits';
import { applyGraduationValve, applyValve } from '../../src/engine/valve';

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

// The valves as they were written before they stopped building a list per user: the reference their results must equal.
function byUser(decisions: readonly Decision[]): Array<{ userId: string | null; list: Decision[] }> {
  const out: Array<{ userId: string | null; list: Decision[] }> = [];
  for (const d of decisions) {
    const last = out[out.length - 1];
    if (last && last.userId !== null && last.userId === d.userId) last.list.push(d);
    else out.push({ userId: d.userId, list: [d] });
  }
  return out;
}
function referenceValve(decisions: readonly Decision[], max: number, moves: (list: Decision[]) => boolean, need: (list: Decision[]) => number = (l) => (moves(l) ? 1 : 0)) {
  let used = 0;
  let deferred = 0;
  const kept: Decision[] = [];
  for (const g of byUser(decisions)) {
    const n = need(g.list);
    if (n > 0 && used + n > max) {
      deferred++;
      continue;
    }
    used += n;
    for (const item of g.list) kept.push(item);
  }
  return { kept, deferred };
}

/** A run's decisions: campaign warnings, users entering, enforced (with an add or not), graduating, emailed twice. */
function randomDecisions(seed: number, users: number): Decision[] {
  let x = seed;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out: Decision[] = [];
  for (let n = 0; n < users; n++) {
    const base = { userId: `u${n}`, userPrincipalName: `u${n}@contoso.com` };
    const r = rnd();
    const notify = (channel: 'email' | 'teams', seq: number): Decision => ({ ...base, type: 'notify', stage: 'enforced', kind: 'enforced', sequence: seq, key: `c:u${n}:enforced:${seq}`, channel, deadline: null, reason: 'StageEntered', message: 'm' });
    if (r < 0.1) out.push({ type: 'warn', userId: null, userPrincipalName: null, stage: null, reason: 'Fido2PolicyDisabled', message: 'w' });
    else if (r < 0.35) out.push(...user(n, true));
    else if (r < 0.5) {
      if (rnd() < 0.5) out.push({ ...base, type: 'addToGroup', stage: 'graduated', group: 'graduated', reason: 'Graduated', message: 'm' });
      out.push({ ...base, type: 'enterStage', stage: 'graduated', from: 'enforced', to: 'graduated', reason: 'Graduated', message: 'm' });
    } else if (r < 0.7) out.push({ ...base, type: 'enterStage', stage: 'enforced', from: null, to: 'enforced', reason: 'AlreadyInEnforcementGroup', message: 'm' }, notify('email', 1), notify('email', 2));
    else if (r < 0.8) out.push(notify(rnd() < 0.5 ? 'email' : 'teams', 1));
    else out.push(...user(n, false));
  }
  return out;
}

describe('the valves, whole users at a time', () => {
  const wantsAdd = (l: Decision[]) => l.some((d) => d.type === 'addToGroup' && d.group !== 'graduated');
  const graduates = (l: Decision[]) => l.some((d) => d.type === 'enterStage' && d.to === 'graduated');
  const emails = (l: Decision[]) => l.filter((d) => d.type === 'notify' && d.channel === 'email').length;

  it('keep and defer the same users as a list per user would, for every limit', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const decisions = randomDecisions(seed, 60);
      for (const max of [0, 1, 3, 10, 1000]) {
        expect(applyValve(decisions, max)).toEqual(referenceValve(decisions, max, wantsAdd));
        expect(applyGraduationValve(decisions, max)).toEqual(referenceValve(decisions, max, graduates));
        const mail = referenceValve(decisions, max, () => false, emails);
        expect(applyMailBudget(decisions, max)).toEqual({ ...mail, notices: emails(mail.kept) });
      }
    }
  });

  it('hand back the very list they were given when nobody is deferred: no copy of every user\'s decisions', () => {
    const decisions = randomDecisions(5, 200);
    expect(applyValve(decisions, 1_000).kept).toBe(decisions);
    expect(applyGraduationValve(decisions, 1_000).kept).toBe(decisions);
    expect(applyMailBudget(decisions, 1_000).kept).toBe(decisions);
    expect(applyValve(decisions, 1).kept).not.toBe(decisions);
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
