import { describe, expect, it } from 'vitest';
import { SignInSummaries, isLegacyClient, toFact, windowFilter, type GraphSignIn } from '../../src/impact/signins';

const POLICY = 'AAAA0000-0000-4000-8000-000000000001';
const sign = (over: Partial<GraphSignIn>): GraphSignIn => ({
  id: 's1', createdDateTime: '2026-12-01T08:00:00Z', userId: 'U1', userPrincipalName: 'u1@contoso.com', appDisplayName: 'Outlook',
  clientAppUsed: 'Browser', appliedConditionalAccessPolicies: [], ...over,
});

describe('sign-in facts', () => {
  it('keeps the policy results by lower-case id and tells omitted CA data from none applied', () => {
    const f = toFact(sign({ appliedConditionalAccessPolicies: [{ id: POLICY, result: 'reportOnlyFailure' }] }))!;
    expect(f.policies).toEqual({ [POLICY.toLowerCase()]: 'reportOnlyFailure' });
    expect(f.caDataPresent).toBe(true);
    expect(f.userId).toBe('u1');
    expect(toFact(sign({ appliedConditionalAccessPolicies: undefined }))!.caDataPresent).toBe(false);
    expect(toFact(sign({ appliedConditionalAccessPolicies: [] }))!.caDataPresent).toBe(true);
  });

  it('an unknown result is unknown, never a success', () => {
    expect(toFact(sign({ appliedConditionalAccessPolicies: [{ id: POLICY, result: 'somethingNew' }] }))!.policies[POLICY.toLowerCase()]).toBe('unknown');
  });

  it('skips sign-ins without a user', () => {
    expect(toFact(sign({ userId: null }))).toBeNull();
  });

  it('classes clients that cannot do modern authentication as legacy', () => {
    expect(isLegacyClient('Browser')).toBe(false);
    expect(isLegacyClient('Mobile Apps and Desktop clients')).toBe(false);
    for (const c of ['Exchange ActiveSync', 'IMAP4', 'POP3', 'Authenticated SMTP', 'Other clients']) expect(isLegacyClient(c)).toBe(true);
  });

  it('filters the window on createdDateTime only', () => {
    expect(windowFilter({ since: '2026-11-17T06:00:00.000Z', until: '2026-12-01T06:00:00.000Z' })).toBe('createdDateTime ge 2026-11-17T06:00:00.000Z and createdDateTime le 2026-12-01T06:00:00.000Z');
  });
});

describe('per-user summaries', () => {
  it('counts results for the policy only, names would-block apps and client types, and tells passkey sign-ins', () => {
    const s = new SignInSummaries([POLICY], new Set(['u1', 'u2']));
    s.add(toFact(sign({ id: 'a', appliedConditionalAccessPolicies: [{ id: POLICY, result: 'reportOnlySuccess' }] }))!);
    s.add(toFact(sign({ id: 'b', appDisplayName: 'Exchange', clientAppUsed: 'IMAP4', appliedConditionalAccessPolicies: [{ id: POLICY, result: 'reportOnlyFailure' }, { id: 'other', result: 'failure' }] }))!);
    s.add(toFact(sign({ id: 'c', userId: 'u2', appliedConditionalAccessPolicies: [{ id: 'other', result: 'reportOnlySuccess' }] }))!);
    s.add(toFact(sign({ id: 'd', userId: 'u3', appliedConditionalAccessPolicies: [{ id: POLICY, result: 'reportOnlyFailure' }] }))!);
    const u1 = s.users.get('u1')!;
    expect(u1.results).toEqual({ reportOnlySuccess: 1, reportOnlyFailure: 1, reportOnlyInterrupted: 0, success: 0, failure: 0 });
    expect(u1.wouldBlock).toBe(true);
    expect(u1.passkeySignIn).toBe(true);
    expect(u1.apps).toEqual(['Exchange']);
    expect(u1.clientApps).toEqual(['IMAP4']);
    const u2 = s.users.get('u2')!;
    expect(u2.passkeySignIn).toBe(false);
    expect(u2.wouldBlock).toBe(false);
    expect(s.users.has('u3')).toBe(false);
  });
});

describe('whether a user is still blocked', () => {
  const add = (s: SignInSummaries, id: string, at: string, result: string, clientAppUsed = 'Browser') =>
    s.add(toFact(sign({ id, createdDateTime: at, clientAppUsed, appliedConditionalAccessPolicies: [{ id: POLICY, result }] }))!);

  it('keeps the result of the newest evaluated sign-in, whatever order the sign-ins come in', () => {
    const s = new SignInSummaries([POLICY]);
    add(s, 'b', '2026-12-01T09:00:00Z', 'success');
    add(s, 'a', '2026-12-01T08:00:00Z', 'failure');
    expect(s.users.get('u1')).toMatchObject({ lastResult: 'success', lastResultAt: '2026-12-01T09:00:00Z', legacyBlocked: 0 });
    add(s, 'c', '2026-12-01T10:00:00.5Z', 'failure');
    expect(s.users.get('u1')).toMatchObject({ lastResult: 'failure', lastResultAt: '2026-12-01T10:00:00.5Z' });
  });

  it('counts blocks of legacy clients apart: they can never satisfy the policy', () => {
    const s = new SignInSummaries([POLICY]);
    add(s, 'a', '2026-12-01T08:00:00Z', 'failure', 'IMAP4');
    add(s, 'b', '2026-12-01T09:00:00Z', 'success');
    expect(s.users.get('u1')).toMatchObject({ lastResult: 'success', legacyBlocked: 1 });
  });
});
