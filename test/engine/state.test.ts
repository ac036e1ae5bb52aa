import { describe, expect, it } from 'vitest';
import { emptyState, findUser, foldLedger, type LedgerEvent } from '../../src/engine';
import { NOW, day } from './fixtures';

const who = { userId: 'u-ada', userPrincipalName: 'ada@contoso.com', runId: 'r1' };
type Stage = 'deviceUpdate' | 'passkeyRegistration' | 'enforcementNotice' | 'enforced';
const entered = (to: Stage, at: string, from: Stage | null = null): LedgerEvent =>
  ({ v: 1, type: 'userEnteredStage', at, ...who, from, to, reason: 'R', message: 'm' });
const sent = (kind: 'passkeyRegistration' | 'passkeyRegistrationReminder' | 'enforcementNotice', stage: 'passkeyRegistration' | 'enforcementNotice', sequence: number, at: string): LedgerEvent =>
  ({ v: 1, type: 'notificationSent', at, ...who, kind, stage, sequence, key: `admins-passkeys:u-ada:${kind}:${sequence}` });

describe('foldLedger', () => {
  const cases = [
    {
      name: 'an empty ledger folds to the empty state',
      events: [] as LedgerEvent[],
      want: (s: ReturnType<typeof foldLedger>) => expect(s).toEqual(emptyState()),
    },
    {
      name: 'entering a stage sets stage and stageSince and remembers the first entry',
      events: [entered('passkeyRegistration', NOW), entered('enforcementNotice', day(3), 'passkeyRegistration')],
      want: (s: ReturnType<typeof foldLedger>) => expect(s.users['u-ada']).toMatchObject({ stage: 'enforcementNotice', stageSince: day(3), firstEnteredAt: NOW, left: null }),
    },
    {
      name: 'notifications record keys, the highest sequence per kind and the last time',
      events: [entered('passkeyRegistration', NOW), sent('passkeyRegistration', 'passkeyRegistration', 1, NOW), sent('passkeyRegistrationReminder', 'passkeyRegistration', 1, day(3))],
      want: (s: ReturnType<typeof foldLedger>) => expect(s.users['u-ada']).toMatchObject({
        notifications: { keys: ['admins-passkeys:u-ada:passkeyRegistration:1', 'admins-passkeys:u-ada:passkeyRegistrationReminder:1'], count: { passkeyRegistration: 1, passkeyRegistrationReminder: 1 }, lastNotifiedAt: day(3) },
        stageNotified: true, stageLastNotifiedAt: day(3),
      }),
    },
    {
      name: 'entering a new stage resets the episode but keeps notification counts and postponements',
      events: [
        entered('passkeyRegistration', NOW), sent('passkeyRegistration', 'passkeyRegistration', 1, NOW),
        { v: 1, type: 'postponed', at: day(1), ...who, stage: 'passkeyRegistration', until: day(4), count: 1, days: 3 },
        { v: 1, type: 'graceExceeded', at: day(17), ...who, stage: 'passkeyRegistration', deadline: day(17) },
        entered('enforcementNotice', day(18), 'passkeyRegistration'),
      ] as LedgerEvent[],
      want: (s: ReturnType<typeof foldLedger>) => expect(s.users['u-ada']).toMatchObject({
        stageNotified: false, stageLastNotifiedAt: null, postponedUntil: null, extensionDays: 0, exceededGrace: false,
        postponements: { passkeyRegistration: 1 }, notifications: { count: { passkeyRegistration: 1 } },
      }),
    },
    {
      name: 'a postponement sets postponedUntil and extends the current stage',
      events: [entered('passkeyRegistration', NOW), { v: 1, type: 'postponed', at: day(1), ...who, stage: 'passkeyRegistration', until: day(4), count: 1, days: 3 }] as LedgerEvent[],
      want: (s: ReturnType<typeof foldLedger>) => expect(s.users['u-ada']).toMatchObject({ postponedUntil: day(4), extensionDays: 3, postponements: { passkeyRegistration: 1 } }),
    },
    {
      name: 'enforcement records enforcedAt and the group add',
      events: [entered('enforcementNotice', NOW), { v: 1, type: 'addedToGroup', at: day(7), ...who }, entered('enforced', day(7), 'enforcementNotice')] as LedgerEvent[],
      want: (s: ReturnType<typeof foldLedger>) => expect(s.users['u-ada']).toMatchObject({ stage: 'enforced', enforcedAt: day(7), addedToGroupAt: day(7) }),
    },
    {
      name: 'alerts are raised once and cleared',
      events: [
        entered('enforced', NOW),
        { v: 1, type: 'alertRaised', at: day(1), ...who, kind: 'EnforcedWithoutPasskey', message: 'm' },
        { v: 1, type: 'alertRaised', at: day(1), ...who, kind: 'NotInEnforcementGroup', message: 'm' },
        { v: 1, type: 'alertRaised', at: day(2), ...who, kind: 'EnforcedWithoutPasskey', message: 'm' },
        { v: 1, type: 'alertCleared', at: day(3), ...who, kind: 'EnforcedWithoutPasskey', message: 'm' },
      ] as LedgerEvent[],
      want: (s: ReturnType<typeof foldLedger>) => expect(s.users['u-ada'].alerts).toEqual(['NotInEnforcementGroup']),
    },
    {
      name: 'leaving marks the user left with the reason and clears alerts',
      events: [
        entered('enforced', NOW),
        { v: 1, type: 'alertRaised', at: day(1), ...who, kind: 'EnforcedWithoutPasskey', message: 'm' },
        { v: 1, type: 'leftCampaign', at: day(2), ...who, from: 'enforced', reason: 'LeftTargetSet', message: 'm' },
      ] as LedgerEvent[],
      want: (s: ReturnType<typeof foldLedger>) => expect(s.users['u-ada']).toMatchObject({ stage: 'enforced', left: { at: day(2), reason: 'LeftTargetSet' }, alerts: [] }),
    },
    {
      name: 'runs are counted and the last one remembered',
      events: [
        { v: 1, type: 'runStarted', at: NOW, runId: 'r1', campaign: 'admins-passkeys', status: 'inProgress' },
        { v: 1, type: 'runFinished', at: NOW, runId: 'r1', ok: true },
        { v: 1, type: 'runStarted', at: day(1), runId: 'r2', campaign: 'admins-passkeys', status: 'inProgress' },
      ] as LedgerEvent[],
      want: (s: ReturnType<typeof foldLedger>) => expect(s).toMatchObject({ runs: 2, lastRun: { runId: 'r2', startedAt: day(1), finishedAt: null, ok: null } }),
    },
    {
      name: 'a reset clears users and starts a new generation',
      events: [
        entered('enforced', NOW),
        { v: 1, type: 'campaignArchived', at: day(1), archive: 'archive/admins-passkeys-1.jsonl' },
        { v: 1, type: 'campaignReset', at: day(1), generation: 1 },
      ] as LedgerEvent[],
      want: (s: ReturnType<typeof foldLedger>) => expect(s).toMatchObject({ users: {}, generation: 1, archivedAt: null }),
    },
    {
      name: 'an unknown event type from a compatible writer is ignored',
      events: [entered('passkeyRegistration', NOW), { v: 1, type: 'somethingNew', at: day(1), ...who } as unknown as LedgerEvent],
      want: (s: ReturnType<typeof foldLedger>) => expect(s.users['u-ada'].stage).toBe('passkeyRegistration'),
    },
  ];
  it.each(cases)('$name', ({ events, want }) => {
    want(foldLedger(events));
  });

  it('refuses an event of another schema version', () => {
    expect(() => foldLedger([{ ...entered('enforced', NOW), v: 2 } as unknown as LedgerEvent])).toThrow('ledger event version 2 is not supported (expected 1)');
  });

  it('folds to a JSON-safe snapshot', () => {
    const s = foldLedger([entered('passkeyRegistration', NOW), sent('passkeyRegistration', 'passkeyRegistration', 1, NOW)]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('finds a user by id or by UPN in any case', () => {
    const s = foldLedger([entered('passkeyRegistration', NOW)]);
    expect(findUser(s, 'u-ada')?.userId).toBe('u-ada');
    expect(findUser(s, 'ADA@contoso.com')?.userId).toBe('u-ada');
    expect(findUser(s, 'bob@contoso.com')).toBeUndefined();
  });
});
