// The plan's review (src/report/overview.ts) on hand-built observations: which users count as ready, how
// devices below the minimum are grouped, and the estimate it carries.
import { describe, expect, it } from 'vitest';
import { applyEvents, emptyState, estimateEnd, outlook, type ObservedUser } from '../../src/engine';
import { LEDGER_VERSION, type LedgerEvent } from '../../src/ledger/events';
import { planOverview, versionGroup } from '../../src/report/overview';
import { NOW, OLD_IPHONE, campaign, device, observation, ready, user } from '../engine/fixtures';

const named = (i: number, o: Partial<ObservedUser> = {}) => ({ userId: `u-${i}`, userPrincipalName: `user${i}@contoso.com`, ...o });
const enforced = (i: number): LedgerEvent => ({ v: LEDGER_VERSION, type: 'userEnteredStage', at: NOW, runId: 'r1', userId: `u-${i}`, userPrincipalName: `user${i}@contoso.com`, from: null, to: 'enforced', reason: 'AlreadyInEnforcementGroup', message: 'already in the enforcement group' });

describe('planOverview', () => {
  it('counts enforced users apart from ready ones, even with an old device, and read failures as unassessed', () => {
    const users = [
      ready(named(1)),
      ready(named(2, { devices: [OLD_IPHONE()] })),
      ready(named(3)),
      user(named(4)),
      user(named(5, { readErrors: ['GET /devices: 503'] })),
      user(named(6, { inFido2PolicyScope: false, accountEnabled: false })),
    ];
    const after = applyEvents(emptyState(), [enforced(2), enforced(3)]);
    const o = planOverview({ campaign: campaign({ status: 'notStarted' }), observation: observation(users), after, now: NOW });
    expect(o.readiness).toEqual({ needsDeviceUpdate: 0, needsPasskey: 2, ready: 1, alreadyEnforced: 2, unassessed: 1 });
    expect(o.targeted).toBe(6);
    // The enforced user's old iPhone still counts as a device to update.
    expect(o.devicesBelowMinimum).toEqual({ Windows: 0, macOS: 0, iOS: 1, Android: 0 });
    expect(o).toMatchObject({ outOfFido2Scope: 1, disabled: 1, stages: { deviceUpdate: 0, passkeyRegistration: 0, enforcementNotice: 0, enforced: 2 } });
  });

  it('groups devices below the minimum by release: Windows by build, other platforms by major version', () => {
    const win = (id: string, v: string) => device({ id, operatingSystem: 'Windows', operatingSystemVersion: v });
    const users = [
      user(named(1, { devices: [OLD_IPHONE(), device({ id: 'ios2', operatingSystem: 'iOS', operatingSystemVersion: '16.7.10' }), win('w1', '10.0.17763.6659')] })),
      user(named(2, { devices: [device({ id: 'ios3', operatingSystem: 'iPadOS', operatingSystemVersion: '15.8.3' }), win('w2', '10.0.17763.100'), win('w3', '10.0.17134.1304')] })),
    ];
    const o = planOverview({ campaign: campaign({ status: 'notStarted' }), observation: observation(users), after: emptyState(), now: NOW });
    expect(o.devicesBelowMinimumByVersion).toEqual([
      { platform: 'Windows', version: '10.0.17763', minimum: '10.0.18362', devices: 2, users: 2 },
      { platform: 'Windows', version: '10.0.17134', minimum: '10.0.18362', devices: 1, users: 1 },
      { platform: 'iOS', version: '16.x', minimum: '17.0', devices: 2, users: 1 },
      { platform: 'iOS', version: '15.x', minimum: '17.0', devices: 1, users: 1 },
    ]);
    expect(o.readiness.needsDeviceUpdate).toBe(2);
    expect(versionGroup('Windows', '10')).toBe('10.0.0');
  });

  it('carries the estimate, its distance in days and the outlook of the same inputs', () => {
    const c = campaign({ status: 'notStarted' });
    const obs = observation([ready(named(1)), user(named(2, { devices: [OLD_IPHONE()] }))]);
    const o = planOverview({ campaign: c, observation: obs, after: emptyState(), now: NOW });
    expect(o.estimatedEnd).toBe(estimateEnd(c, obs, emptyState(), NOW));
    expect(o.estimatedDays).toBe((Date.parse(`${o.estimatedEnd}T00:00:00Z`) - Date.parse('2026-12-01T00:00:00Z')) / 86_400_000);
    expect(o.outlook).toEqual(outlook(c, obs, emptyState(), NOW));
    expect(o.estimateAssumes).toBe(c.spec.postponement.enabled ? 'every user acts on the last day of each grace period and uses every postponement left' : 'every user acts on the last day of each grace period');
  });

  it('has no estimate when nobody is targeted', () => {
    const o = planOverview({ campaign: campaign({ status: 'notStarted' }), observation: observation([]), after: emptyState(), now: NOW });
    expect(o).toMatchObject({ targeted: 0, estimatedEnd: null, estimatedDays: null, outlook: ['No users are targeted.'] });
  });
});
