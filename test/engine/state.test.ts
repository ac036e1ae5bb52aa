import { describe, expect, it } from 'vitest';
import { emptyState, findUser, foldLedger, type LedgerEvent } from '../../src/engine';
import { applyEvents, applyEventsToCopy } from '../../src/engine/state';
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
      name: 'notifications record the highest sequence per kind and the last time',
      events: [entered('passkeyRegistration', NOW), sent('passkeyRegistration', 'passkeyRegistration', 1, NOW), sent('passkeyRegistrationReminder', 'passkeyRegistration', 1, day(3))],
      want: (s: ReturnType<typeof foldLedger>) => expect(s.users['u-ada']).toMatchObject({
        notifications: { count: { passkeyRegistration: 1, passkeyRegistrationReminder: 1 }, lastNotifiedAt: day(3) },
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

describe('foldLedger: delivery state from notificationSent → notificationOutcome', () => {
  const started = (runId: string, at: string, intents = true): LedgerEvent =>
    ({ v: 1, type: 'runStarted', at, runId, campaign: 'admins-passkeys', status: 'inProgress', ...(intents ? { intents: 1 as const } : {}) });
  const note = (kind: 'passkeyRegistration' | 'enforcementNotice', stage: 'passkeyRegistration' | 'enforcementNotice', sequence: number, at: string, runId: string): LedgerEvent =>
    ({ v: 1, type: 'notificationSent', at, ...who, runId, kind, stage, sequence, key: `admins-passkeys:u-ada:${kind}:${sequence}` });
  const outcome = (kind: string, sequence: number, o: 'delivered' | 'failed' | 'inDoubt' | 'notSent' | 'cancelled', at: string, channel: 'teams' | 'email' = 'teams'): LedgerEvent =>
    ({ v: 1, type: 'notificationOutcome', at, ...who, key: `admins-passkeys:u-ada:${kind}:${sequence}`, channel, outcome: o });
  const inNotice = [started('r1', NOW), entered('enforcementNotice', NOW), note('enforcementNotice', 'enforcementNotice', 1, NOW, 'r1')];

  const cases = [
    {
      name: 'a notice of a run that records outcomes is pending and open until its outcome arrives',
      events: inNotice,
      want: { delivery: { lastKey: 'admins-passkeys:u-ada:enforcementNotice:1', lastKind: 'enforcementNotice', lastStage: 'enforcementNotice', outcome: 'pending', settled: false, at: NOW, attempts: 0, stageDeliveredAt: null }, open: ['admins-passkeys:u-ada:enforcementNotice:1'] },
    },
    {
      name: 'a delivered outcome settles it and starts the stage\'s notice period at the outcome',
      events: [...inNotice, outcome('enforcementNotice', 1, 'delivered', day(0.01))],
      want: { delivery: { outcome: 'delivered', settled: true, at: day(0.01), attempts: 0, stageDeliveredAt: day(0.01) }, open: [] },
    },
    {
      name: 'failed and Teams in-doubt outcomes are final and count as undelivered attempts in a row',
      events: [...inNotice, outcome('enforcementNotice', 1, 'failed', NOW), started('r2', day(1)), note('enforcementNotice', 'enforcementNotice', 2, day(1), 'r2'), outcome('enforcementNotice', 2, 'inDoubt', day(1))],
      want: { delivery: { lastKey: 'admins-passkeys:u-ada:enforcementNotice:2', outcome: 'inDoubt', settled: true, attempts: 2, stageDeliveredAt: null }, open: [] },
    },
    {
      name: 'a cancelled notice is final but no attempt at reaching the user',
      events: [...inNotice, outcome('enforcementNotice', 1, 'cancelled', day(1))],
      want: { delivery: { outcome: 'cancelled', settled: true, attempts: 0 }, open: [] },
    },
    {
      name: 'notSent stays open for recovery, which sends the same key',
      events: [...inNotice, outcome('enforcementNotice', 1, 'notSent', NOW)],
      want: { delivery: { outcome: 'notSent', settled: false, attempts: 0 }, open: ['admins-passkeys:u-ada:enforcementNotice:1'] },
    },
    {
      name: 'an email in doubt stays open for the Sent Items look-up; a Teams one does not',
      events: [...inNotice, outcome('enforcementNotice', 1, 'inDoubt', NOW, 'email')],
      want: { delivery: { outcome: 'inDoubt', settled: false, attempts: 0 }, open: ['admins-passkeys:u-ada:enforcementNotice:1'] },
    },
    {
      name: 'a delivery of an earlier stage\'s notice resets attempts but does not start the current stage\'s notice period',
      events: [
        started('r1', NOW), entered('passkeyRegistration', NOW), note('passkeyRegistration', 'passkeyRegistration', 1, NOW, 'r1'), outcome('passkeyRegistration', 1, 'failed', NOW),
        started('r2', day(1)), note('passkeyRegistration', 'passkeyRegistration', 2, day(1), 'r2'),
        started('r3', day(2)), entered('enforcementNotice', day(2), 'passkeyRegistration'), outcome('passkeyRegistration', 2, 'delivered', day(2)),
      ],
      want: { delivery: { lastKind: 'passkeyRegistration', outcome: 'delivered', attempts: 0, stageDeliveredAt: null }, open: [] },
    },
    {
      name: 'the first delivery in the stage counts; a later one does not move the start',
      events: [...inNotice, outcome('enforcementNotice', 1, 'delivered', NOW), started('r2', day(3)), note('enforcementNotice', 'enforcementNotice', 2, day(3), 'r2'), outcome('enforcementNotice', 2, 'delivered', day(3))],
      want: { delivery: { lastKey: 'admins-passkeys:u-ada:enforcementNotice:2', stageDeliveredAt: NOW }, open: [] },
    },
    {
      name: 'an outcome for a key that is not open (an older ledger, a repeat) changes nothing',
      events: [...inNotice, outcome('enforcementNotice', 1, 'delivered', NOW), outcome('enforcementNotice', 1, 'failed', day(1))],
      want: { delivery: { outcome: 'delivered', attempts: 0, stageDeliveredAt: NOW }, open: [] },
    },
    {
      name: 'leaving the campaign resets the undelivered attempts',
      events: [...inNotice, outcome('enforcementNotice', 1, 'failed', NOW), { v: 1, type: 'leftCampaign', at: day(1), ...who, from: 'enforcementNotice', reason: 'LeftTargetSet', message: 'm' } as LedgerEvent],
      want: { delivery: { outcome: 'failed', attempts: 0, stageDeliveredAt: null }, open: [] },
    },
    {
      name: 'a notice of a run without intents (an older ledger) counts as delivered when recorded',
      events: [started('r0', NOW, false), entered('enforcementNotice', NOW), note('enforcementNotice', 'enforcementNotice', 1, NOW, 'r0')],
      want: { delivery: { outcome: 'delivered', settled: true, stageDeliveredAt: NOW }, open: [] },
    },
  ];
  it.each(cases)('$name', ({ events, want }) => {
    const s = foldLedger(events);
    expect(s.users['u-ada'].delivery).toMatchObject(want.delivery);
    const d = s.users['u-ada'].delivery;
    expect([...(d.settled ? [] : [d.lastKey]), ...(d.earlier ?? []).map((n) => n.key)]).toEqual(want.open);
  });

  it('keeps an earlier notice open when a newer one is recorded, and settles it by its own outcome', () => {
    const s = foldLedger([...inNotice, started('r2', day(1)), note('enforcementNotice', 'enforcementNotice', 2, day(1), 'r2'), outcome('enforcementNotice', 1, 'delivered', day(1)), outcome('enforcementNotice', 2, 'failed', day(1))]);
    expect(s.users['u-ada'].delivery).toMatchObject({ lastKey: 'admins-passkeys:u-ada:enforcementNotice:2', outcome: 'failed', settled: true, attempts: 1, stageDeliveredAt: day(1), earlier: null });
  });

  it('folds a ledger whose notices were all delivered to the same stages, notices and deadlines as one without outcomes', () => {
    const base = [entered('passkeyRegistration', NOW), sent('passkeyRegistration', 'passkeyRegistration', 1, NOW), sent('passkeyRegistrationReminder', 'passkeyRegistration', 1, day(3)), entered('enforcementNotice', day(4), 'passkeyRegistration'), sent('enforcementNotice', 'enforcementNotice', 1, day(4))];
    const withOutcomes = base.flatMap((e): LedgerEvent[] => (e.type === 'notificationSent'
      ? [e, { v: 1, type: 'notificationOutcome', at: e.at, ...who, key: e.key, channel: 'teams', outcome: 'delivered' }]
      : [e]));
    const strip = (s: ReturnType<typeof foldLedger>) => ({ ...s.users['u-ada'], delivery: { ...s.users['u-ada'].delivery, settled: true } });
    expect(strip(foldLedger([{ v: 1, type: 'runStarted', at: NOW, runId: 'r1', campaign: 'admins-passkeys', status: 'inProgress', intents: 1 }, ...withOutcomes])))
      .toEqual(strip(foldLedger([{ v: 1, type: 'runStarted', at: NOW, runId: 'r1', campaign: 'admins-passkeys', status: 'inProgress' }, ...base])));
  });
});

describe('applyEventsToCopy', () => {
  const other = { userId: 'u-bob', userPrincipalName: 'bob@contoso.com', runId: 'r1' };
  const before = foldLedger([
    { v: 1, type: 'runStarted', at: NOW, runId: 'r1', campaign: 'c', status: 'inProgress' },
    entered('passkeyRegistration', NOW),
    { v: 1, type: 'userEnteredStage', at: NOW, ...other, from: null, to: 'passkeyRegistration', reason: 'R', message: 'm' },
  ] as LedgerEvent[]);
  const events = [
    { v: 1, type: 'runStarted', at: day(1), runId: 'r2', campaign: 'c', status: 'inProgress', intents: 1 },
    sent('passkeyRegistrationReminder', 'passkeyRegistration', 1, day(1)),
    { v: 1, type: 'alertRaised', at: day(1), ...who, kind: 'Unreachable' },
    { v: 1, type: 'userEnteredStage', at: day(1), userId: 'u-cy', userPrincipalName: 'cy@contoso.com', runId: 'r2', from: null, to: 'deviceUpdate', reason: 'R', message: 'm' },
    { v: 1, type: 'runFinished', at: day(1), runId: 'r2', ok: true },
  ] as LedgerEvent[];

  it('returns what applyEvents returns on a whole copy, and leaves the state it was given as it was', () => {
    const kept = structuredClone(before);
    const after = applyEventsToCopy(before, events);
    expect(after).toEqual(applyEvents(structuredClone(before), events));
    expect(before).toEqual(kept);
  });

  it('copies only the users the events name (the rest are shared, not duplicated)', () => {
    const after = applyEventsToCopy(before, events);
    expect(after.users['u-bob']).toBe(before.users['u-bob']);
    expect(after.users['u-ada']).not.toBe(before.users['u-ada']);
    expect(after.users).not.toBe(before.users);
  });
});
