// Users share their unchanged values (src/engine/state.ts): the fold gives what the previous fold gave (every user
// its own mutable objects, state-reference.ts) for any sequence of events, a copy leaves the state it copied as it
// was, and a user read back from JSON (a checkpoint's piece) is the user that was written.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALERT_KINDS, NOTIFICATION_KINDS, STAGES } from '../../src/contracts/vocabulary';
import { applyEvents, applyEventsToCopy, deliverySnapshot, foldLedger, heldKey, userFromJson, type CampaignState } from '../../src/engine/state';
import { jsonChunks } from '../../src/ledger/json-chunks';
import { NOTIFICATION_OUTCOMES, ONBOARDING_QUEUE_REASONS, type LedgerEvent } from '../../src/ledger/events';
import { referenceFold, type ReferenceState } from './state-reference';

const USERS = ['u-ada', 'u-bob'];
// Keys as runs write them (`campaign:userId:kind:sequence`, which users of one run share but for their id) and others:
// a user rebuilds its latest key from its id only when that is exact.
const KEYS = ['k1', 'k2', 'c:u-ada:x:1', 'c:u-bob:x:1', 'u-ada:u-ada'];
const RUNS = ['r1', 'r2', 'r3'];
const at = (n: number) => new Date(Date.UTC(2026, 11, 1) + n * 3_600_000).toISOString();

const userEvent = fc.record({
  user: fc.constantFrom(...USERS),
  upn: fc.constantFrom('a@contoso.com', 'A@contoso.com'),
  // Mostly the run that records outcomes (the ledger starts with it): notices stay open until their outcome.
  runId: fc.constantFrom('r1', 'r1', 'r1', 'r2', undefined),
  body: fc.oneof(
    fc.record({ type: fc.constant('userEnteredStage'), from: fc.constant(null), to: fc.constantFrom(...STAGES), reason: fc.constant('R'), message: fc.constant('m') }),
    { weight: 3, arbitrary: fc.record({ type: fc.constant('notificationSent'), key: fc.constantFrom(...KEYS), kind: fc.constantFrom(...NOTIFICATION_KINDS), stage: fc.constantFrom(...STAGES), sequence: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 4, arbitrary: fc.record({ type: fc.constant('notificationOutcome'), key: fc.constantFrom(...KEYS), channel: fc.constantFrom('teams', 'email'), outcome: fc.constantFrom(...NOTIFICATION_OUTCOMES) }) },
    fc.record({ type: fc.constant('postponed'), stage: fc.constantFrom(...STAGES), until: fc.integer({ min: 0, max: 9 }).map(at), count: fc.integer({ min: 1, max: 3 }), days: fc.integer({ min: 1, max: 5 }) }),
    fc.record({ type: fc.constant('graceExceeded'), stage: fc.constantFrom(...STAGES), deadline: fc.constant(at(0)) }),
    fc.record({ type: fc.constant('addedToGroup'), group: fc.option(fc.constant('graduated' as const), { nil: undefined }) }),
    fc.record({ type: fc.constant('leftCampaign'), from: fc.constant(null), reason: fc.constantFrom('untargeted', 'deleted'), message: fc.constant('m') }),
    fc.record({ type: fc.constantFrom('alertRaised', 'alertCleared'), kind: fc.constantFrom(...ALERT_KINDS), message: fc.constant('m') }),
    fc.record({ type: fc.constant('onboardingPassIssued'), methodId: fc.constantFrom('m1', 'm2'), lifetimeMinutes: fc.constant(60), usableOnce: fc.constant(true), startDateTime: fc.constant(at(0)), expiresAt: fc.constant(at(1)), deliveredTo: fc.constant({ managerId: 'm', managerUpn: 'm@contoso.com' }) }),
    fc.record({ type: fc.constant('onboardingQueued'), reason: fc.constantFrom(...ONBOARDING_QUEUE_REASONS) }),
    fc.record({ type: fc.constant('onboardingPassExpired'), methodId: fc.constantFrom('m1', 'm2'), expiresAt: fc.constant(at(1)) }),
  ),
});
const campaignEvent = fc.oneof(
  fc.record({ type: fc.constant('runStarted'), runId: fc.constantFrom(...RUNS), campaign: fc.constant('c'), status: fc.constant('inProgress'), intents: fc.constantFrom(1 as const, 1 as const, undefined) }),
  fc.record({ type: fc.constant('runFinished'), runId: fc.constantFrom(...RUNS), ok: fc.boolean() }),
  fc.record({ type: fc.constant('campaignReset'), generation: fc.constant(1) }),
);
const ledgerArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.oneof({ weight: 8, arbitrary: userEvent }, { weight: 1, arbitrary: campaignEvent })), { maxLength: 60, size: 'max' })
  .map((list) => [{ v: 1, at: at(0), type: 'runStarted', runId: 'r1', campaign: 'c', status: 'inProgress', intents: 1 } as LedgerEvent, ...list.map(([hour, x]): LedgerEvent => {
    if ('user' in x) {
      const { user, upn, runId, body } = x;
      return { v: 1, at: at(hour), ...(runId !== undefined ? { runId } : {}), userId: user, userPrincipalName: upn, ...body } as unknown as LedgerEvent;
    }
    return { v: 1, at: at(hour), ...x } as unknown as LedgerEvent;
  })]);

/** A reference user as the current fold keeps it: the same, without the notification keys. */
function withoutKeysUser(u: ReferenceState['users'][string]): unknown {
  const { keys: _keys, ...notifications } = u.notifications;
  return { ...u, notifications };
}

/** The reference state as the current fold keeps it: the same, without the notification keys. */
function withoutKeys(s: ReferenceState): unknown {
  const users: Record<string, unknown> = {};
  for (const [id, u] of Object.entries(s.users)) {
    const { keys: _keys, ...notifications } = u.notifications;
    users[id] = { ...u, notifications };
  }
  return JSON.parse(JSON.stringify({ ...s, users }));
}
const plain = (s: CampaignState) => JSON.parse(JSON.stringify(s)) as unknown;

describe('a fold whose users share their values', () => {
  it('gives what the previous fold gave for any events', () => {
    fc.assert(fc.property(ledgerArb, (events) => {
      const s = foldLedger(events);
      expect(plain(s)).toEqual(withoutKeys(referenceFold(events)));
      // Key order too: the checkpoint's and the report checkpoint's JSON stay as they were.
      expect(JSON.stringify(s)).toBe(JSON.stringify(withoutKeys(referenceFold(events))));
    }), { numRuns: 400 });
  });

  it('applyEventsToCopy leaves the state it copied as it was and equals the fold of all the events', () => {
    fc.assert(fc.property(ledgerArb, ledgerArb, (before, after) => {
      const state = foldLedger(before);
      const was = JSON.stringify(state);
      const copy = applyEventsToCopy(state, after);
      expect(JSON.stringify(state)).toBe(was);
      expect(plain(copy)).toEqual(plain(foldLedger([...before, ...after])));
      // And folding onto the state in place, after the copy, still gives the same.
      expect(plain(applyEvents(state, after))).toEqual(plain(copy));
    }), { numRuns: 300 });
  });

  it('reads a user back from JSON as it was written, with or without the notification keys of older versions', () => {
    fc.assert(fc.property(ledgerArb, (events) => {
      const s = foldLedger(events);
      const old = referenceFold(events);
      for (const [id, u] of Object.entries(JSON.parse(JSON.stringify(s.users)) as CampaignState['users'])) {
        expect(JSON.stringify(userFromJson(id, u))).toBe(JSON.stringify(s.users[id]));
      }
      for (const [id, u] of Object.entries(JSON.parse(JSON.stringify(old.users)) as CampaignState['users'])) {
        expect(JSON.stringify(userFromJson(id, u))).toBe(JSON.stringify(s.users[id]));
      }
    }), { numRuns: 200 });
  });

  it('shares the values users have alike, and they cannot be changed through one user', () => {
    const events: LedgerEvent[] = [];
    for (const userId of ['u-1', 'u-2']) {
      events.push({ v: 1, type: 'userEnteredStage', at: at(0), userId, userPrincipalName: `${userId}@contoso.com`, from: null, to: 'passkeyRegistration', reason: 'R', message: 'm' });
      events.push({ v: 1, type: 'leftCampaign', at: at(1), userId, userPrincipalName: `${userId}@contoso.com`, from: 'passkeyRegistration', reason: 'untargeted', message: 'm' });
    }
    const { users } = foldLedger(events);
    const [a, b] = [users['u-1'], users['u-2']];
    expect(a.alerts).toBe(b.alerts);
    expect(a.postponements).toBe(b.postponements);
    expect(a.notifications).toBe(b.notifications);
    expect(a.delivery).toBe(b.delivery);
    expect(a.left).toBe(b.left);
    expect(() => a.alerts.push('AccountDisabled')).toThrow(TypeError);
    expect(() => { (a.left as { reason: string }).reason = 'x'; }).toThrow(TypeError);
    expect(b.alerts).toEqual([]);
    expect(b.left).toEqual({ at: at(1), reason: 'untargeted' });
  });

  it('keeps users that read as plain objects: the same keys in the same order, copies, clones and values', () => {
    let rebuilt = 0;
    fc.assert(fc.property(ledgerArb, (events) => {
      const s = foldLedger(events);
      const old = referenceFold(events);
      for (const [id, u] of Object.entries(s.users)) {
        const want = JSON.parse(JSON.stringify(withoutKeysUser(old.users[id]))) as Record<string, unknown>;
        expect(Object.getPrototypeOf(u)).toBe(Object.prototype);
        expect(Object.keys(u)).toEqual(Object.keys(want));
        expect(u).toEqual(want);
        expect(structuredClone(u)).toEqual(want);
        expect({ ...u }).toEqual(want);
        expect(u.delivery).toEqual(want.delivery);
        const back = userFromJson(id, JSON.parse(JSON.stringify(u)) as typeof u);
        expect(back).toEqual(want);
        expect(Object.keys(back)).toEqual(Object.keys(want));
        if (u.delivery.lastKey !== null && heldKey(u) === null) rebuilt++;
      }
    }), { numRuns: 200 });
    // Users whose key is rebuilt from their id were among them.
    expect(rebuilt).toBeGreaterThan(0);
  });

  it('writes the delivery snapshot the previous fold wrote, and its summaries read as they are written', () => {
    fc.assert(fc.property(ledgerArb, (events) => {
      const snap = deliverySnapshot(foldLedger(events), at(9));
      const users: Record<string, unknown> = {};
      for (const [id, u] of Object.entries(referenceFold(events).users)) {
        const d = u.delivery;
        if (d.lastKey !== null && d.lastKind !== null && d.outcome !== null && d.at !== null) {
          users[id] = { key: d.lastKey, kind: d.lastKind, outcome: d.outcome, at: d.at, attempts: d.attempts, stageDeliveredAt: d.stageDeliveredAt };
        }
      }
      const want = JSON.stringify({ v: 1, at: at(9), users });
      expect(JSON.stringify(snap)).toBe(want);
      expect([...jsonChunks(snap, 64)].join('')).toBe(want);
      for (const [id, s] of Object.entries(snap.users)) {
        expect({ key: s.key, kind: s.kind, outcome: s.outcome, at: s.at, attempts: s.attempts, stageDeliveredAt: s.stageDeliveredAt }).toEqual(users[id]);
      }
    }), { numRuns: 200 });
  });

  it('a user\'s delivery reads back as it was set, whatever its key', () => {
    const { users } = foldLedger([
      { v: 1, at: at(0), type: 'runStarted', runId: 'r1', campaign: 'c', status: 'inProgress', intents: 1 },
      { v: 1, at: at(0), runId: 'r1', type: 'notificationSent', userId: 'u-ada', userPrincipalName: 'a@contoso.com', key: 'c:u-ada:passkeyRegistration:1', kind: 'passkeyRegistration', stage: 'passkeyRegistration', sequence: 1, channel: 'teams' },
    ] as LedgerEvent[]);
    const u = users['u-ada'];
    expect(u.delivery.lastKey).toBe('c:u-ada:passkeyRegistration:1');
    for (const lastKey of ['c:u-ada:passkeyRegistration:2', 'u-ada', 'other', 'u-adau-ada:u-ada', null]) {
      const d = { ...u.delivery, lastKey, attempts: 3 };
      u.delivery = d;
      expect(u.delivery).toEqual(d);
    }
    // A delivery shared with other users reads as a value that cannot be changed (it would not be kept).
    u.delivery = { ...u.delivery, lastKey: 'c:u-ada:passkeyRegistration:3' };
    expect(() => { (u.delivery as { attempts: number }).attempts = 1; }).toThrow(TypeError);
    expect(u.delivery.attempts).toBe(3);
  });
});
