// The impact report and the enableWhen gate from sign-in facts alone (no HTTP): counts per result, the would-block
// users with their applications and clients, and the gate at, below and above its threshold.
import { describe, expect, it } from 'vitest';
import { parseCampaign } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import { renderImpactMarkdown } from '../../src/impact/markdown';
import { buildImpactReport, checkGate, coveredDays, ImpactTally, type ImpactMember } from '../../src/impact/report';
import { toFact } from '../../src/impact/signins';
import { fixtureCampaignText } from '../helpers/campaigns';
import { EXPECTED_USERS, knownSignIns, M, NOW, OUTSIDER, POLICY_ID, upn } from './known-sign-ins';

function campaign(enableWhen?: Partial<Campaign['spec']['enforcement']['enableWhen']>): Campaign {
  const c = parseCampaign(fixtureCampaignText('admins-passkeys'), 'admins-passkeys.yaml').campaign!;
  Object.assign(c.spec.enforcement.enableWhen, enableWhen ?? {});
  return c;
}

const MEMBERS: ImpactMember[] = Object.values(M).map((id) => ({ id, userPrincipalName: upn(id) }));
const POLICY = { id: POLICY_ID, displayName: 'passkey-campaign-admins-passkeys-policy', state: 'enabledForReportingButNotEnforced', createdDateTime: '2026-10-01T00:00:00Z' };

function report(c = campaign(), opts: { days?: number; members?: ImpactMember[]; created?: string } = {}) {
  const members = opts.members ?? MEMBERS;
  const tally = new ImpactTally(POLICY_ID, members);
  for (const s of knownSignIns()) tally.add(toFact(s)!);
  return buildImpactReport({ campaign: c, policy: { ...POLICY, createdDateTime: opts.created ?? POLICY.createdDateTime }, members, tally, now: new Date(NOW), days: opts.days ?? 14 });
}

describe('the impact report', () => {
  it('counts exactly the expected users per result, members only', () => {
    const r = report();
    expect(r.users).toEqual(EXPECTED_USERS);
    expect(r.members).toBe(6);
    expect(r.unobserved).toBe(2);
    expect(r.signIns).toEqual({ total: 10, evaluated: 8, reportOnlySuccess: 4, reportOnlyInterrupted: 1, reportOnlyFailure: 3, success: 0, failure: 0 });
    expect(r.wouldBlock.map((w) => w.userId)).not.toContain(OUTSIDER);
  });

  it('names the would-block applications and clients, the legacy ones marked, most would-block sign-ins first', () => {
    expect(report().wouldBlock).toEqual([
      { userId: M.dee, userPrincipalName: 'dee@contoso.com', apps: ['Microsoft Teams'], clientApps: ['Mobile Apps and Desktop clients'], legacyClientApps: [], legacy: false, signIns: 2, lastAt: '2026-11-25T06:00:00.000Z' },
      { userId: M.ben, userPrincipalName: 'ben@contoso.com', apps: ['Office 365 Exchange Online'], clientApps: ['Exchange ActiveSync'], legacyClientApps: ['Exchange ActiveSync'], legacy: true, signIns: 1, lastAt: '2026-11-28T06:00:00.000Z' },
    ]);
    expect(report().legacyClientUsers).toBe(1);
  });

  it('counts a block by the enabled policy as would-block, never as satisfied', () => {
    const members = [{ id: M.amy, userPrincipalName: 'amy@contoso.com' }, { id: M.ben, userPrincipalName: 'ben@contoso.com' }];
    const tally = new ImpactTally(POLICY_ID, members);
    const enabled = (userId: string, result: string, clientAppUsed = 'Browser') => toFact({ ...knownSignIns()[0]!, userId, clientAppUsed, appliedConditionalAccessPolicies: [{ id: POLICY_ID, result }] })!;
    tally.add(enabled(M.amy, 'success'));
    tally.add(enabled(M.ben, 'success'));
    tally.add(enabled(M.ben, 'failure', 'IMAP4'));
    const r = buildImpactReport({ campaign: campaign({ maxWouldBlockUsersPercent: 10 }), policy: { ...POLICY, state: 'enabled' }, members, tally, now: new Date(NOW), days: 14 });
    expect(r.users).toEqual({ observed: 2, satisfied: 1, interrupted: 0, wouldBlock: 1, noPasskeySignIn: 0 });
    expect(r.wouldBlock).toMatchObject([{ userId: M.ben, clientApps: ['IMAP4'], legacy: true, signIns: 1 }]);
    expect(r.gate).toMatchObject({ met: false, reason: 'TooManyWouldBlock' });
    expect(renderImpactMarkdown(r)).toContain('- The policy is already enabled: these results are what it enforced, not a forecast.');
  });

  it('keeps the documented fields and the window it read', () => {
    const r = report(campaign(), { days: 14 });
    expect(r).toMatchObject({ campaign: 'admins-passkeys', policyId: POLICY_ID, days: 14, at: NOW, window: { from: '2026-11-17T06:00:00.000Z', to: NOW }, policyState: 'enabledForReportingButNotEnforced' });
    expect(Object.keys(r.gate)).toEqual(expect.arrayContaining(['met', 'reason']));
  });
});

describe('the enableWhen gate', () => {
  it.each([
    { name: 'is not met above the threshold (2 of 4 observed users = 50 % > 49 %)', max: 49, met: false, reason: 'TooManyWouldBlock' },
    { name: 'is met exactly at the threshold (50 % ≤ 50 %)', max: 50, met: true, reason: 'GateMet' },
    { name: 'is met below the threshold (50 % ≤ 60 %)', max: 60, met: true, reason: 'GateMet' },
    { name: 'is not met at the default 1 %', max: 1, met: false, reason: 'TooManyWouldBlock' },
  ])('$name', ({ max, met, reason }) => {
    const g = report(campaign({ maxWouldBlockUsersPercent: max })).gate;
    expect({ met: g.met, reason: g.reason, percent: g.wouldBlockPercent }).toEqual({ met, reason, percent: 50 });
  });

  it('says the share and the limit in its message', () => {
    expect(report(campaign({ maxWouldBlockUsersPercent: 1 })).gate.message).toBe(
      '2 observed users of 4 (50 %) had a sign-in the policy would have blocked; the gate allows at most 1 % (enableWhen.maxWouldBlockUsersPercent).');
  });

  it('is not met when the window is shorter than observedDays', () => {
    const g = report(campaign({ maxWouldBlockUsersPercent: 100, observedDays: 14 }), { days: 7 }).gate;
    expect(g).toMatchObject({ met: false, reason: 'WindowTooShort', coveredDays: 7 });
    expect(g.message).toContain('Run with --days 14 or more.');
  });

  it('is not met when the policy has existed for fewer days than observedDays', () => {
    const g = report(campaign({ maxWouldBlockUsersPercent: 100 }), { created: '2026-11-28T06:00:00Z' }).gate;
    expect(g).toMatchObject({ met: false, reason: 'WindowTooShort', coveredDays: 3 });
  });

  it('is not met when nobody was observed, or the group is empty', () => {
    const onlyUnobserved = report(campaign({ maxWouldBlockUsersPercent: 100 }), { members: [{ id: M.eve, userPrincipalName: 'eve@contoso.com' }, { id: M.fay, userPrincipalName: 'fay@contoso.com' }] });
    expect(onlyUnobserved.gate).toMatchObject({ met: false, reason: 'NothingObserved', wouldBlockPercent: null });
    expect(onlyUnobserved.users).toEqual({ observed: 0, satisfied: 0, interrupted: 0, wouldBlock: 0, noPasskeySignIn: 2 });
    expect(report(campaign({ maxWouldBlockUsersPercent: 100 }), { members: [] }).gate).toMatchObject({ met: false, reason: 'NoMembers' });
  });

  it.each([
    { observed: 100, wouldBlock: 1, max: 1, met: true },
    { observed: 100, wouldBlock: 2, max: 1, met: false },
    { observed: 1000, wouldBlock: 7, max: 0.7, met: true },
    { observed: 1000, wouldBlock: 8, max: 0.7, met: false },
    { observed: 3, wouldBlock: 0, max: 0, met: true },
    { observed: 3, wouldBlock: 1, max: 0, met: false },
  ])('$wouldBlock of $observed with at most $max % → met $met', ({ observed, wouldBlock, max, met }) => {
    expect(checkGate(campaign({ maxWouldBlockUsersPercent: max }), { members: observed, observed, wouldBlock, coveredDays: 14, days: 14 }).met).toBe(met);
  });

  it('counts covered days from the later of the window start and the policy creation', () => {
    const w = { from: '2026-11-17T06:00:00.000Z', to: NOW };
    expect(coveredDays(w, null)).toBe(14);
    expect(coveredDays(w, '2026-01-01T00:00:00Z')).toBe(14);
    expect(coveredDays(w, '2026-11-20T07:00:00Z')).toBe(10);
  });
});

describe('the impact Markdown', () => {
  it('puts the verdict first, then the numbers, the would-block users with legacy clients called out, and next steps', () => {
    const text = renderImpactMarkdown(report(campaign({ maxWouldBlockUsersPercent: 1 })));
    const lines = text.split('\n');
    expect(lines[0]).toBe('## Report-only impact of `admins-passkeys`: gate not met');
    expect(lines[2]).toMatch(/^\*\*❌ The gate is not met:\*\* 2 observed users of 4 \(50 %\)/);
    expect(text).toContain('| **Would be blocked** (at least one sign-in) | **2** | **50 %** |');
    expect(text).toContain('| `ben@contoso.com` | Office 365 Exchange Online | **Exchange ActiveSync (legacy)** | 1 |');
    expect(text).toContain('| `dee@contoso.com` | Microsoft Teams | Mobile Apps and Desktop clients | 2 |');
    expect(text).toContain('> **Legacy clients:** 1 user signed in with `Exchange ActiveSync`.');
    expect(text.indexOf('### What to do next')).toBeGreaterThan(text.indexOf('### Would be blocked (2)'));
    expect(text).toContain('- Do not enable the policy yet');
  });

  it('says the gate is met and how to enable the policy when it is', () => {
    const text = renderImpactMarkdown(report(campaign({ maxWouldBlockUsersPercent: 50 })));
    expect(text.split('\n')[2]).toMatch(/^\*\*✅ The gate is met:\*\*/);
    expect(text).toContain('reviewed change of `spec.enforcement.policyState` to `enabled`');
  });
});
