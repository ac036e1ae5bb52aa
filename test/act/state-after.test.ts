// The state act settles an interrupted run's open notices on: the state after this run's decisions for those users
// only, as the whole copy would give it, without copying (or creating) every user the decisions name.
import { describe, expect, it } from 'vitest';
import { stateAfterFor } from '../../src/act';
import { applyEventsToCopy, foldLedger } from '../../src/engine/state';
import { LEDGER_VERSION, type LedgerEvent } from '../../src/ledger/events';

const v = LEDGER_VERSION;
const at = '2026-12-02T06:00:00.000Z';
const user = (userId: string) => ({ v, at, runId: 'r2', userId, userPrincipalName: `${userId}@contoso.test` });

describe('stateAfterFor', () => {
  const before = foldLedger([
    { v, at: '2026-12-01T06:00:00.000Z', type: 'runStarted', runId: 'r1', campaign: 'c', status: 'inProgress', intents: 1 },
    ...['a', 'b', 'c'].map((id): LedgerEvent => ({ ...user(id), at: '2026-12-01T06:00:00.000Z', runId: 'r1', type: 'userEnteredStage', from: null, to: 'passkeyRegistration', reason: 'NoPasskeyRegistered', message: 'm' })),
    ...['a', 'b', 'c'].map((id): LedgerEvent => ({ ...user(id), at: '2026-12-01T06:00:00.000Z', runId: 'r1', type: 'notificationSent', key: `c:${id}:passkeyRegistration:1`, kind: 'passkeyRegistration', stage: 'passkeyRegistration', sequence: 1 })),
  ]);
  const decisions: LedgerEvent[] = [
    { ...user('a'), type: 'userEnteredStage', from: 'passkeyRegistration', to: 'enforcementNotice', reason: 'PasskeyRegistered', message: 'm' },
    { ...user('b'), type: 'alertRaised', kind: 'AccountDisabled', message: 'm' },
    { ...user('d'), type: 'userEnteredStage', from: null, to: 'deviceUpdate', reason: 'DeviceBelowMinimumOs', message: 'm' },
  ];

  it('gives the users asked for as the whole copy does, and leaves the state as it was', () => {
    const copy = structuredClone(before);
    const whole = applyEventsToCopy(before, decisions);
    const some = stateAfterFor(before, decisions, ['a', 'b', 'c']);
    expect(Object.keys(some.users).sort()).toEqual(['a', 'b', 'c']);
    for (const id of ['a', 'b', 'c']) expect(some.users[id]).toEqual(whole.users[id]);
    expect(before).toEqual(copy);
  });

  it('copies only the users the events change; a user they name but not asked for is neither copied nor created', () => {
    const some = stateAfterFor(before, decisions, ['a', 'c']);
    expect(some.users.a).not.toBe(before.users.a);
    expect(some.users.c).toBe(before.users.c);
    expect(some.users.b).toBeUndefined();
    expect(some.users.d).toBeUndefined();
  });
});
