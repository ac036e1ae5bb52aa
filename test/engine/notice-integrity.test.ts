// Notice integrity and held users in the pure engine: nobody is enforced without a DELIVERED enforcement
// notice at least noticeDays old; notices that did not arrive are sent again; unreachable and disabled
// users are held. The driver records what a real run records: runStarted with intents, the decisions,
// and one notificationOutcome per notice as the script says it went.
import { describe, expect, it } from 'vitest';
import {
  applyEvents,
  decide,
  decisionsToEvents,
  emptyState,
  requestPostponement,
  UNREACHABLE_AFTER,
  type CampaignState,
  type Decision,
  type LedgerEvent,
  type NotificationOutcome,
  type NotifyDecision,
  type ObservedUser,
} from '../../src/engine';
import type { Campaign } from '../../src/campaign/types';
import { campaign, day, observation, ready, user } from './fixtures';

/** How a notice went: an outcome, or null for none recorded (the run died or recovery has not settled it). */
type Outcome = NotificationOutcome | null;

interface Script {
  users: (d: number) => ObservedUser[];
  /** How the notice went; default delivered. */
  outcome?: (d: number, n: NotifyDecision) => Outcome;
  /** Postponement requests the evening before day d. */
  postpone?: (d: number) => string[];
}

interface Log {
  decisions: Decision[][];
  state: CampaignState;
  events: LedgerEvent[];
}

function run(c: Campaign, days: number, s: Script): Log {
  const state = emptyState();
  const events: LedgerEvent[] = [];
  const log: Log = { decisions: [], state, events };
  const channel = c.spec.notifications.channel;
  const add = (evs: LedgerEvent[]) => {
    events.push(...evs);
    applyEvents(state, evs);
  };
  for (let d = 0; d < days; d++) {
    for (const userId of s.postpone?.(d) ?? []) {
      const r = requestPostponement(c, state, userId, day(d - 0.5));
      if (r.ok) add([r.event]);
    }
    const now = day(d);
    const runId = `run-${d}`;
    add([{ v: 1, type: 'runStarted', at: now, runId, campaign: c.metadata.name, status: 'inProgress', intents: 1 }]);
    const decisions = decide(c, observation(s.users(d), { at: now }), state, now);
    log.decisions.push(decisions);
    add(decisionsToEvents(decisions, { runId, now }));
    const outcomes: LedgerEvent[] = [];
    for (const n of decisions) {
      if (n.type !== 'notify') continue;
      const o = channel === 'none' ? 'cancelled' : s.outcome ? s.outcome(d, n) : 'delivered';
      if (o !== null) outcomes.push({ v: 1, type: 'notificationOutcome', at: now, runId, userId: n.userId, userPrincipalName: n.userPrincipalName, key: n.key, channel, outcome: o });
    }
    add(outcomes);
    add([{ v: 1, type: 'runFinished', at: now, runId, ok: true }]);
  }
  return log;
}

const pick = (ds: readonly Decision[]) => ds.map((d) => ({ type: d.type, reason: d.reason, message: d.message }));
const onDay = (log: Log, d: number) => pick(log.decisions[d]);
const daysWith = (log: Log, type: Decision['type'], reason?: string) =>
  log.decisions.flatMap((ds, i) => (ds.some((d) => d.type === type && (reason === undefined || d.reason === reason)) ? [i] : []));
const notices = (log: Log) => log.decisions.flatMap((ds, i) => ds.flatMap((d) => (d.type === 'notify' ? [`${i}:${d.key.split(':').slice(2).join(':')}`] : [])));

const ENTERED_READY = { type: 'enterStage', reason: 'ReadyForEnforcement', message: 'devices meet the minimum OS and a passkey is registered; enforcement in 7 days' };

describe('notice integrity: what the next day does with yesterday\'s entry notice, by its outcome', () => {
  const ENFORCEMENT = 'phishing-resistant sign-in will be required from 2026-12-09';
  const REGISTRATION = 'register a passkey by 2026-12-15';
  it.each([
    { name: 'a delivered enforcement notice needs nothing more', u: ready(), outcome: 'delivered' as const, want: [] },
    { name: 'a failed enforcement notice is sent again', u: ready(), outcome: 'failed' as const, want: [`the last notice was not delivered (Graph refused it); sent again: ${ENFORCEMENT}`] },
    { name: 'a Teams enforcement notice in doubt is sent again', u: ready(), outcome: 'inDoubt' as const, want: [`the last notice may not have arrived (Graph gave no answer); sent again: ${ENFORCEMENT}`] },
    { name: 'a cancelled enforcement notice is sent again', u: ready(), outcome: 'cancelled' as const, want: [`the last notice was never sent; sent again: ${ENFORCEMENT}`] },
    { name: 'an enforcement notice Graph refused before running it waits for recovery (same key)', u: ready(), outcome: 'notSent' as const, want: [] },
    { name: 'an enforcement notice without any outcome waits for recovery', u: ready(), outcome: null, want: [] },
    { name: 'a failed passkey registration notice is sent again', u: user(), outcome: 'failed' as const, want: [`the last notice was not delivered (Graph refused it); sent again: ${REGISTRATION}`] },
    { name: 'a passkey registration notice in doubt stays at most once', u: user(), outcome: 'inDoubt' as const, want: [] },
  ])('$name', ({ u, outcome, want }) => {
    const log = run(campaign(), 2, { users: () => [u], outcome: (d) => (d === 0 ? outcome : 'delivered') });
    expect(log.decisions[1].map((d) => [d.type, d.reason, d.message])).toEqual(want.map((m) => ['notify', 'NoticeNotDelivered', m]));
  });
});

describe('notice integrity: enforcement counts from the delivered enforcement notice', () => {
  it('enforces noticeDays after the enforcement notice was delivered, which may be later than entering the stage', () => {
    const log = run(campaign(), 12, { users: () => [ready()], outcome: (d) => (d === 0 ? 'failed' : 'delivered') });
    expect(onDay(log, 1)).toEqual([{ type: 'notify', reason: 'NoticeNotDelivered', message: 'the last notice was not delivered (Graph refused it); sent again: phishing-resistant sign-in will be required from 2026-12-09' }]);
    expect(daysWith(log, 'enterStage', 'NoticePeriodElapsed')).toEqual([8]);
    expect(daysWith(log, 'addToGroup')).toEqual([8]);
    expect(log.state.users['u-ada'].delivery).toMatchObject({ lastKind: 'enforced', outcome: 'delivered', attempts: 0 });
  });

  it('enforces exactly noticeDays after entering when the notice was delivered that day, as before', () => {
    const log = run(campaign(), 10, { users: () => [ready()] });
    expect(daysWith(log, 'enterStage', 'NoticePeriodElapsed')).toEqual([7]);
    expect(notices(log)).toEqual(['0:enforcementNotice:1', '7:enforced:1']);
  });

  it('sends a failed notice again on the next run as a new notice with the next sequence, never under the same key', () => {
    const log = run(campaign(), 3, { users: () => [ready()], outcome: (d) => (d === 0 ? 'failed' : 'delivered') });
    const resend = log.decisions[1][0] as NotifyDecision;
    expect(resend).toMatchObject({ type: 'notify', kind: 'enforcementNotice', sequence: 2, key: 'admins-passkeys:u-ada:enforcementNotice:2', deadline: '2026-12-09' });
    expect(log.decisions[2]).toEqual([]);
  });

  it('sends a Teams enforcement notice in doubt again as a new notice: a possible duplicate is better than none', () => {
    const log = run(campaign(), 10, { users: () => [ready()], outcome: (d) => (d === 0 ? 'inDoubt' : 'delivered') });
    expect(onDay(log, 1)).toEqual([{ type: 'notify', reason: 'NoticeNotDelivered', message: 'the last notice may not have arrived (Graph gave no answer); sent again: phishing-resistant sign-in will be required from 2026-12-09' }]);
    expect(notices(log)).toEqual(['0:enforcementNotice:1', '1:enforcementNotice:2', '8:enforced:1']);
    expect(daysWith(log, 'enterStage', 'NoticePeriodElapsed')).toEqual([8]);
  });

  it('does not send again on the day of the outcome: a rerun that day decides nothing', () => {
    const c = campaign();
    const log = run(c, 1, { users: () => [ready()], outcome: () => 'failed' });
    expect(decide(c, observation([ready()], { at: day(0.1) }), log.state, day(0.1))).toEqual([]);
  });

  it.each([
    { name: 'no outcome recorded yet (the run died)', outcome: null },
    { name: 'refused before Graph ran it (notSent: recovery sends the same key)', outcome: 'notSent' as const },
  ])('waits for recovery and holds the user while the notice has $name', ({ outcome }) => {
    const log = run(campaign(), 12, { users: () => [ready()], outcome: (d) => (d === 0 ? outcome : 'delivered') });
    expect(notices(log)).toEqual(['0:enforcementNotice:1']);
    expect(daysWith(log, 'addToGroup')).toEqual([]);
    expect(log.state.users['u-ada'].delivery).toMatchObject({ outcome: outcome ?? 'pending', settled: false });
  });

  it('holds an email in doubt (the Sent Items look-up settles it), then enforces from the look-up\'s delivery', () => {
    const c = campaign({ channel: 'email' });
    const log = run(c, 3, { users: () => [ready()], outcome: (d) => (d === 0 ? 'inDoubt' : 'delivered') });
    expect(notices(log)).toEqual(['0:enforcementNotice:1']);
    // The look-up of day 3 finds it: delivered counts from the look-up's record, never earlier.
    const found: LedgerEvent = { v: 1, type: 'notificationOutcome', at: day(3), runId: 'run-3', userId: 'u-ada', userPrincipalName: 'ada@contoso.com', key: 'admins-passkeys:u-ada:enforcementNotice:1', channel: 'email', outcome: 'delivered', recovered: 'sentItems' };
    applyEvents(log.state, [found]);
    expect(log.state.users['u-ada'].delivery).toMatchObject({ outcome: 'delivered', settled: true, stageDeliveredAt: day(3) });
    expect(decide(c, observation([ready()], { at: day(9) }), log.state, day(9))).toEqual([]);
    expect(pick(decide(c, observation([ready()], { at: day(10) }), log.state, day(10))).map((d) => d.reason)).toEqual(['NoticePeriodElapsed', 'NoticePeriodElapsed', 'StageEntered']);
  });
});

describe('notice integrity: other notices', () => {
  it('keeps a reminder in doubt at most once: not sent again, the next reminder follows on schedule', () => {
    const log = run(campaign(), 8, { users: () => [user()], outcome: (d) => (d === 3 ? 'inDoubt' : 'delivered') });
    expect(notices(log)).toEqual(['0:passkeyRegistration:1', '3:passkeyRegistrationReminder:1', '6:passkeyRegistrationReminder:2']);
  });

  it('keeps an entry notice in doubt at most once in a grace stage', () => {
    const log = run(campaign(), 4, { users: () => [user()], outcome: (d) => (d === 0 ? 'inDoubt' : 'delivered') });
    expect(notices(log)).toEqual(['0:passkeyRegistration:1', '3:passkeyRegistrationReminder:1']);
  });

  it('sends a failed reminder again the next day, and the schedule goes on from there', () => {
    const log = run(campaign(), 8, { users: () => [user()], outcome: (d) => (d === 3 ? 'failed' : 'delivered') });
    expect(notices(log)).toEqual(['0:passkeyRegistration:1', '3:passkeyRegistrationReminder:1', '4:passkeyRegistrationReminder:2', '7:passkeyRegistrationReminder:3']);
    expect(onDay(log, 4)).toEqual([{ type: 'notify', reason: 'NoticeNotDelivered', message: 'the last reminder was not delivered (Graph refused it); sent again: passkey registration not done; deadline 2026-12-15' }]);
  });

  it('sends a failed device update notice again with its devices', () => {
    const old = user({ devices: [{ id: 'dev-ios', displayName: "Ada's iPhone", operatingSystem: 'IPhone', operatingSystemVersion: '16.5', approximateLastSignInDateTime: day(-2), accountEnabled: true }] });
    const log = run(campaign(), 2, { users: () => [old], outcome: (d) => (d === 0 ? 'failed' : 'delivered') });
    expect(onDay(log, 1)).toEqual([{ type: 'notify', reason: 'NoticeNotDelivered', message: "the last notice was not delivered (Graph refused it); sent again: update iOS 16.5 on Ada's iPhone (minimum 17.0) by 2026-12-15" }]);
    expect(log.decisions[1][0]).toMatchObject({ kind: 'deviceUpdate', sequence: 2, devices: [{ displayName: "Ada's iPhone" }] });
  });

  it('retries a failed enforced notice a few times, not for ever', () => {
    const log = run(campaign(), 16, { users: (d) => [ready({ inEnforcementGroup: d >= 8 })], outcome: (d) => (d >= 7 ? 'failed' : 'delivered') });
    expect(notices(log).filter((n) => n.includes(':enforced:'))).toEqual(['7:enforced:1', '8:enforced:2', '9:enforced:3']);
    expect(daysWith(log, 'raiseAlert', 'Unreachable')).toEqual([10]);
    expect(log.decisions[10].find((d) => d.reason === 'Unreachable')?.message).toBe('unreachable: the last 3 notices in a row were not delivered; the user is already enforced, so no further notice is sent');
  });
});

describe('notice integrity: unreachable users are held', () => {
  it(`raises Unreachable after ${UNREACHABLE_AFTER} undelivered notices in a row, holds the user and keeps sending daily`, () => {
    const log = run(campaign(), 20, { users: () => [ready()], outcome: () => 'failed' });
    expect(onDay(log, 3)).toEqual([
      { type: 'raiseAlert', reason: 'Unreachable', message: 'unreachable: the last 3 notices in a row were not delivered; the user is held, never enforced without a delivered enforcement notice, and due notices keep being sent each day' },
      { type: 'notify', reason: 'NoticeNotDelivered', message: 'the last notice was not delivered (Graph refused it); sent again: phishing-resistant sign-in will be required from 2026-12-11' },
    ]);
    expect(daysWith(log, 'raiseAlert')).toEqual([3]);
    expect(daysWith(log, 'notify')).toEqual([...Array(20).keys()]);
    expect(daysWith(log, 'addToGroup')).toEqual([]);
    expect(log.state.users['u-ada']).toMatchObject({ stage: 'enforcementNotice', alerts: ['Unreachable'], delivery: { attempts: 20, outcome: 'failed', stageDeliveredAt: null } });
  });

  it('clears Unreachable when a notice is delivered and enforces noticeDays after that delivery', () => {
    const log = run(campaign(), 14, { users: () => [ready()], outcome: (d) => (d < 4 ? 'failed' : 'delivered') });
    expect(onDay(log, 5)).toEqual([{ type: 'clearAlert', reason: 'AlertCleared', message: 'reachable again: a notice was delivered, or the account has a mailbox again' }]);
    expect(daysWith(log, 'enterStage', 'NoticePeriodElapsed')).toEqual([11]);
  });

  it('counts undelivered notices in a row across stages, and a delivery resets the count', () => {
    // Days 0 and 1: passkey registration notices fail; day 2: the user registers, the enforcement notice fails too.
    const log = run(campaign(), 5, { users: (d) => [d < 2 ? user() : ready()], outcome: (d) => (d < 3 ? 'failed' : 'delivered') });
    expect(notices(log)).toEqual(['0:passkeyRegistration:1', '1:passkeyRegistration:2', '2:enforcementNotice:1', '3:enforcementNotice:2']);
    expect(daysWith(log, 'raiseAlert', 'Unreachable')).toEqual([3]);
    expect(daysWith(log, 'clearAlert')).toEqual([4]);
    expect(log.state.users['u-ada'].delivery).toMatchObject({ attempts: 0, stageDeliveredAt: day(3) });
  });

  it('treats an email campaign user without a mailbox as unreachable at once: no notice at all, never enforced', () => {
    const log = run(campaign({ channel: 'email' }), 20, { users: () => [ready({ mail: null })] });
    expect(onDay(log, 0)).toEqual([
      { type: 'raiseAlert', reason: 'Unreachable', message: 'unreachable by email: the account has no mailbox (its mail attribute is empty), so no notice is sent and the user is held, never enforced without a delivered notice; give it a mailbox or exclude it' },
      ENTERED_READY,
    ]);
    expect(daysWith(log, 'notify')).toEqual([]);
    expect(daysWith(log, 'addToGroup')).toEqual([]);
    expect(log.state.users['u-ada']).toMatchObject({ stage: 'enforcementNotice', alerts: ['Unreachable'] });
  });

  it('notifies a user who gets a mailbox, clears the alert and enforces noticeDays after the delivery', () => {
    const log = run(campaign({ channel: 'email' }), 14, { users: (d) => [ready({ mail: d < 4 ? null : 'ada@contoso.com' })] });
    expect(onDay(log, 4)).toEqual([
      { type: 'clearAlert', reason: 'AlertCleared', message: 'reachable again: a notice was delivered, or the account has a mailbox again' },
      { type: 'notify', reason: 'StageEntered', message: 'notified: phishing-resistant sign-in will be required from 2026-12-12' },
    ]);
    expect(daysWith(log, 'enterStage', 'NoticePeriodElapsed')).toEqual([11]);
  });

  it('does not hold a Teams user without a mailbox', () => {
    const log = run(campaign(), 9, { users: (d) => [ready({ mail: null, inEnforcementGroup: d >= 8 })] });
    expect(daysWith(log, 'raiseAlert')).toEqual([]);
    expect(daysWith(log, 'enterStage', 'NoticePeriodElapsed')).toEqual([7]);
  });
});

describe('notice integrity: channel none', () => {
  it('enforces noticeDays after entering the stage, unchanged, and warns once per run that this tool notifies nobody', () => {
    const log = run(campaign({ channel: 'none' }), 9, { users: (d) => [ready({ inEnforcementGroup: d >= 8 })] });
    expect(daysWith(log, 'enterStage', 'NoticePeriodElapsed')).toEqual([7]);
    for (const ds of log.decisions) {
      expect(ds.filter((d) => d.type === 'warn')).toEqual([{
        type: 'warn', userId: null, userPrincipalName: null, stage: null, reason: 'NotificationsOff',
        message: 'spec.notifications.channel is none: this tool notifies nobody, so tell users another way; enforcement follows noticeDays after a user enters the enforcement notice stage',
      }]);
    }
    expect(daysWith(log, 'raiseAlert')).toEqual([]);
    expect(notices(log)).toEqual(['0:enforcementNotice:1', '7:enforced:1']);
  });
});

describe('notice integrity: ledgers from before outcomes were recorded', () => {
  it('counts a notice of a run without intents as delivered when recorded, so an older ledger enforces as before', () => {
    const c = campaign();
    const state = emptyState();
    const old: LedgerEvent[] = [{ v: 1, type: 'runStarted', at: day(0), runId: 'old', campaign: 'admins-passkeys', status: 'inProgress' }];
    applyEvents(state, old);
    const d0 = decide(c, observation([ready()]), state, day(0));
    applyEvents(state, decisionsToEvents(d0, { runId: 'old', now: day(0) }));
    expect(state.users['u-ada'].delivery).toMatchObject({ outcome: 'delivered', settled: true, stageDeliveredAt: day(0) });
    expect(pick(decide(c, observation([ready()], { at: day(7) }), state, day(7))).map((d) => d.reason)).toEqual(['NoticePeriodElapsed', 'NoticePeriodElapsed', 'StageEntered']);
  });
});

describe('held: disabled accounts', () => {
  const disabledOn = (from: number, to: number) => (d: number) => [user({ accountEnabled: !(d >= from && d < to) })];

  it('holds a disabled user in their stage with AccountDisabled, keeps stage, deadline and postponements, and lets them continue once enabled', () => {
    const log = run(campaign(), 9, { users: disabledOn(3, 6), postpone: (d) => (d === 1 ? ['u-ada'] : []) });
    expect(onDay(log, 3)).toEqual([{ type: 'raiseAlert', reason: 'AccountDisabled', message: 'account is disabled: held in its stage with its deadline and postponements, contacted by nobody, until it is enabled again' }]);
    expect(log.decisions[4]).toEqual([]);
    expect(log.decisions[5]).toEqual([]);
    expect(onDay(log, 6)).toEqual([
      { type: 'clearAlert', reason: 'AlertCleared', message: 'the account is enabled again; the user continues from the stage it was held in' },
      { type: 'notify', reason: 'ReminderDue', message: 'reminder: passkey registration not done 6 days after first notice; deadline 2026-12-18' },
    ]);
    expect(daysWith(log, 'leave')).toEqual([]);
    expect(log.state.users['u-ada']).toMatchObject({ stage: 'passkeyRegistration', stageSince: day(0), postponements: { passkeyRegistration: 1 }, extensionDays: 3, left: null, alerts: [] });
  });

  it('keeps an enforcement notice user held past their date, and enforces when they are enabled again', () => {
    const log = run(campaign(), 12, { users: (d) => [ready({ accountEnabled: !(d >= 2 && d < 10) })] });
    expect(daysWith(log, 'enterStage', 'NoticePeriodElapsed')).toEqual([10]);
    expect(daysWith(log, 'leave')).toEqual([]);
  });

  it('does not let a disabled account that never entered enter, and raises nothing for it', () => {
    const log = run(campaign(), 3, { users: () => [user({ accountEnabled: false })] });
    expect(log.decisions).toEqual([[], [], []]);
    expect(log.state.users).toEqual({});
  });
});
