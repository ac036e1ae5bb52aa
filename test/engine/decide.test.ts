import { describe, expect, it } from 'vitest';
import {
  applyEvents,
  decide,
  decisionsToEvents,
  emptyState,
  foldLedger,
  type Decision,
  type LedgerEvent,
  type ObservedUser,
} from '../../src/engine';
import {
  NO_PASSKEY,
  NOW,
  OLD_IPHONE,
  brief,
  campaign,
  day,
  daysWith,
  device,
  observation,
  policy,
  ready,
  runDays,
  user,
} from './fixtures';

const pick = (ds: readonly Decision[]) => ds.map((d) => ({ type: d.type, reason: d.reason, message: d.message }));

describe('decide: entering the campaign', () => {
  const cases = [
    {
      name: 'sends a user with an outdated active device to deviceUpdate',
      u: user({ devices: [OLD_IPHONE()] }),
      want: [
        { type: 'enterStage', reason: 'DeviceBelowMinimumOs', message: "1 active device below the minimum OS: iOS 16.5 on Ada's iPhone (minimum 17.0)" },
        { type: 'notify', reason: 'StageEntered', message: "notified: update iOS 16.5 on Ada's iPhone (minimum 17.0) by 2026-12-15" },
      ],
    },
    {
      name: 'sends a user with current devices and no passkey to passkeyRegistration',
      u: user(),
      want: [
        { type: 'enterStage', reason: 'NoPasskeyRegistered', message: 'devices meet the minimum OS; no passkey registered' },
        { type: 'notify', reason: 'StageEntered', message: 'notified: register a passkey by 2026-12-15' },
      ],
    },
    {
      name: 'skips straight to enforcementNotice for a user ready on day one',
      u: ready(),
      want: [
        { type: 'enterStage', reason: 'ReadyForEnforcement', message: 'devices meet the minimum OS and a passkey is registered; enforcement in 7 days' },
        { type: 'notify', reason: 'StageEntered', message: 'notified: phishing-resistant sign-in will be required from 2026-12-08' },
      ],
    },
    {
      name: 'records a user already in the enforcement group with a passkey as enforced without adding again',
      u: ready({ inEnforcementGroup: true }),
      want: [
        { type: 'enterStage', reason: 'AlreadyInEnforcementGroup', message: 'already a member of the enforcement group with a passkey registered' },
        { type: 'notify', reason: 'StageEntered', message: 'notified: phishing-resistant sign-in is now required' },
      ],
    },
    {
      name: 'ignores an outdated device not signed in within activeWithinDays',
      u: user({ devices: [device({ operatingSystemVersion: '10.0.17763', approximateLastSignInDateTime: day(-366) })] }),
      want: [
        { type: 'enterStage', reason: 'NoPasskeyRegistered', message: 'devices meet the minimum OS; no passkey registered' },
        { type: 'notify', reason: 'StageEntered', message: 'notified: register a passkey by 2026-12-15' },
      ],
    },
    {
      name: 'ignores an outdated disabled device',
      u: user({ devices: [device({ operatingSystemVersion: '10.0.17763', accountEnabled: false })] }),
      want: [
        { type: 'enterStage', reason: 'NoPasskeyRegistered', message: 'devices meet the minimum OS; no passkey registered' },
        { type: 'notify', reason: 'StageEntered', message: 'notified: register a passkey by 2026-12-15' },
      ],
    },
    {
      name: 'makes no move for a user whose Graph reads failed, only a warning',
      u: user({ readErrors: ['GET /users/u-ada/authentication/fido2Methods: 503 ServiceUnavailable'], fido2Methods: null }),
      want: [
        { type: 'warn', reason: 'ReadErrors', message: 'no move this run: 1 Graph read failed for this user (GET /users/u-ada/authentication/fido2Methods: 503 ServiceUnavailable)' },
      ],
    },
    {
      name: 'does not let a disabled account that never entered enter, and contacts nobody',
      u: user({ accountEnabled: false }),
      want: [],
    },
    {
      name: 'blocks a user outside the FIDO2 policy scope with an alert and no notification',
      u: user({ inFido2PolicyScope: false }),
      want: [{
        type: 'raiseAlert', reason: 'OutsideFido2PolicyScope',
        message: 'not in scope of the FIDO2 (passkey) authentication method policy, so the user cannot register or use a passkey; add the user to its includeTargets',
      }],
    },
    {
      name: 'treats an unknown FIDO2 policy scope as not blocked',
      u: user({ inFido2PolicyScope: null }),
      want: [
        { type: 'enterStage', reason: 'NoPasskeyRegistered', message: 'devices meet the minimum OS; no passkey registered' },
        { type: 'notify', reason: 'StageEntered', message: 'notified: register a passkey by 2026-12-15' },
      ],
    },
  ];
  it.each(cases)('$name', ({ u, want }) => {
    expect(pick(decide(campaign(), observation([u]), emptyState(), NOW))).toEqual(want);
  });

  it('gives the entry notice a deterministic key, kind, sequence and deadline', () => {
    const [, n] = decide(campaign(), observation([user()]), emptyState(), NOW);
    expect(n).toEqual({
      type: 'notify', userId: 'u-ada', userPrincipalName: 'ada@contoso.com', stage: 'passkeyRegistration',
      kind: 'passkeyRegistration', sequence: 1, key: 'admins-passkeys:u-ada:passkeyRegistration:1', channel: 'teams',
      deadline: '2026-12-15', reason: 'StageEntered', message: 'notified: register a passkey by 2026-12-15',
    });
  });

  it('does not let a passkey restricted by an AAGUID allow list count', () => {
    const p = policy({ restrict: { isEnforced: true, enforcementType: 'allow', aaGuids: ['2fc0579f-8113-47ea-b116-bb5a8db9202a'] } });
    expect(brief(decide(campaign(), observation([ready()], { fido2Policy: p }), emptyState(), NOW)))
      .toEqual(['enterStage:NoPasskeyRegistered', 'notify:StageEntered']);
  });

  it('holds a user whose passkey cannot be checked against AAGUID restrictions', () => {
    const p = policy({ restrict: { isEnforced: true, enforcementType: 'block', aaGuids: [] } });
    expect(pick(decide(campaign(), observation([ready({ fido2Methods: null })], { fido2Policy: p }), emptyState(), NOW))).toEqual([{
      type: 'warn', reason: 'PasskeyUnverifiable',
      message: "no move this run: the FIDO2 policy restricts AAGUIDs but the user's fido2Methods were not read, so the passkey cannot be checked",
    }]);
  });
});

describe('decide: campaign status and campaign-level conditions', () => {
  const cases = [
    { name: 'a paused campaign produces no decision', status: 'paused' as const },
    { name: 'an ended campaign produces no decision', status: 'ended' as const },
    { name: 'a campaign not started produces no decision', status: 'notStarted' as const },
  ];
  it.each(cases)('$name', ({ status }) => {
    const c = campaign({ status });
    const history = runDays(campaign(), 3, { users: () => [user(), ready({ userId: 'u-bob', userPrincipalName: 'bob@contoso.com' })] });
    expect(decide(c, observation([user(), ready({ userId: 'u-bob', userPrincipalName: 'bob@contoso.com' })], { at: day(3) }), history.state, day(3))).toEqual([]);
    expect(decide(c, observation([], { at: day(3) }), history.state, day(3))).toEqual([]);
  });

  it('makes no move at all when a campaign-level read failed, so nobody leaves on a partial target set', () => {
    const history = runDays(campaign(), 2, { users: () => [user()] });
    expect(pick(decide(campaign(), observation([], { at: day(2), readErrors: ['GET /roleManagement/directory/roleAssignments: 429'] }), history.state, day(2)))).toEqual([
      { type: 'warn', reason: 'CampaignReadErrors', message: 'no user moves this run: 1 campaign-level Graph read failed (GET /roleManagement/directory/roleAssignments: 429)' },
    ]);
  });

  it('moves nobody while the FIDO2 policy is disabled', () => {
    expect(pick(decide(campaign(), observation([user(), ready()], { fido2Policy: policy({ state: 'disabled' }) }), emptyState(), NOW))).toEqual([{
      type: 'warn', reason: 'Fido2PolicyDisabled',
      message: 'the FIDO2 (passkey) authentication method policy is disabled: nobody can register or use a passkey, so no user moves until it is enabled',
    }]);
  });

  it('orders decisions by stage, then userPrincipalName', () => {
    const users = [
      ready({ userId: 'u-zed', userPrincipalName: 'zed@contoso.com' }),
      user({ userId: 'u-cy', userPrincipalName: 'cy@contoso.com' }),
      user({ userId: 'u-bo', userPrincipalName: 'Bo@contoso.com', devices: [OLD_IPHONE()] }),
      ready({ userId: 'u-al', userPrincipalName: 'al@contoso.com' }),
      user({ userId: 'u-ab', userPrincipalName: 'ab@contoso.com' }),
    ];
    const ds = decide(campaign(), observation(users), emptyState(), NOW);
    expect(ds.filter((d) => d.type === 'enterStage').map((d) => `${d.stage} ${d.userPrincipalName}`)).toEqual([
      'deviceUpdate Bo@contoso.com',
      'passkeyRegistration ab@contoso.com',
      'passkeyRegistration cy@contoso.com',
      'enforcementNotice al@contoso.com',
      'enforcementNotice zed@contoso.com',
    ]);
  });
});

describe('decide: day by day', () => {
  it('enforces a user ready on day one after exactly noticeDays', () => {
    const log = runDays(campaign(), 10, { users: (d) => [ready({ inEnforcementGroup: d >= 8 })] });
    expect(daysWith(log, 'enterStage')).toEqual([0, 7]);
    expect(pick(log.decisions[7])).toEqual([
      { type: 'addToGroup', reason: 'NoticePeriodElapsed', message: 'add to the enforcement group' },
      { type: 'enterStage', reason: 'NoticePeriodElapsed', message: 'enforcement notice of 7 days elapsed; added to the enforcement group' },
      { type: 'notify', reason: 'StageEntered', message: 'notified: phishing-resistant sign-in is now required' },
    ]);
    expect(log.decisions.filter((_, d) => d !== 0 && d !== 7)).toEqual(Array(8).fill([]));
  });

  it('counts whole UTC days, so a timer firing a few seconds early still enforces on day 7', () => {
    const log = runDays(campaign(), 7, { users: () => [ready()] });
    const early = new Date(Date.parse(day(7)) - 5_000).toISOString();
    expect(brief(decide(campaign(), observation([ready()], { at: early }), log.state, early)))
      .toEqual(['addToGroup:NoticePeriodElapsed', 'enterStage:NoticePeriodElapsed', 'notify:StageEntered']);
  });

  it('counts the enforcement group add as done when the user is already a member', () => {
    const log = runDays(campaign(), 8, { users: (d) => [ready({ inEnforcementGroup: d >= 5 })] });
    expect(pick(log.decisions[7])).toEqual([
      { type: 'enterStage', reason: 'NoticePeriodElapsed', message: 'enforcement notice of 7 days elapsed; already a member of the enforcement group' },
      { type: 'notify', reason: 'StageEntered', message: 'notified: phishing-resistant sign-in is now required' },
    ]);
  });

  it('reminds every reminderEveryDays during the grace period, then flags grace exceeded once and goes quiet', () => {
    const log = runDays(campaign(), 22, { users: () => [user()] });
    expect(daysWith(log, 'notify', 'ReminderDue')).toEqual([3, 6, 9, 12]);
    expect(daysWith(log, 'flagGraceExceeded')).toEqual([14]);
    expect(pick(log.decisions[14])).toEqual([{ type: 'flagGraceExceeded', reason: 'GraceExceeded', message: 'passkey registration not done 14 days after first notice' }]);
    expect(log.decisions.slice(15)).toEqual(Array(7).fill([]));
    expect(log.state.users['u-ada'].exceededGrace).toBe(true);
  });

  it('words a reminder with its day count and deadline and numbers its key', () => {
    const log = runDays(campaign(), 7, { users: () => [user()] });
    expect(log.decisions[6]).toEqual([{
      type: 'notify', userId: 'u-ada', userPrincipalName: 'ada@contoso.com', stage: 'passkeyRegistration',
      kind: 'passkeyRegistrationReminder', sequence: 2, key: 'admins-passkeys:u-ada:passkeyRegistrationReminder:2',
      channel: 'teams', deadline: '2026-12-15', reason: 'ReminderDue',
      message: 'reminder: passkey registration not done 6 days after first notice; deadline 2026-12-15',
    }]);
  });

  it('flags device update grace exceeded with the device update wording', () => {
    const log = runDays(campaign(), 15, { users: () => [user({ devices: [OLD_IPHONE()] })] });
    expect(daysWith(log, 'notify', 'ReminderDue')).toEqual([3, 6, 9, 12]);
    expect(pick(log.decisions[14])).toEqual([{ type: 'flagGraceExceeded', reason: 'GraceExceeded', message: 'device update not done 14 days after first notice' }]);
  });

  it('still advances a user who completes the action after the grace period', () => {
    const log = runDays(campaign(), 27, { users: (d) => [d >= 18 ? ready() : user()] });
    expect(pick(log.decisions[18])).toEqual([
      { type: 'enterStage', reason: 'PasskeyRegistered', message: 'passkey registered (passKeyDeviceBoundAuthenticator); enforcement in 7 days' },
      { type: 'notify', reason: 'StageEntered', message: 'notified: phishing-resistant sign-in will be required from 2026-12-26' },
    ]);
    expect(daysWith(log, 'enterStage')).toEqual([0, 18, 25]);
    expect(log.state.users['u-ada']).toMatchObject({ stage: 'enforced', exceededGrace: false });
  });

  it('moves a user who updated their devices to passkeyRegistration, or to enforcementNotice with a passkey', () => {
    const noPasskey = runDays(campaign(), 5, { users: (d) => [user({ devices: d >= 4 ? [device()] : [OLD_IPHONE()] })] });
    expect(pick(noPasskey.decisions[4])).toEqual([
      { type: 'enterStage', reason: 'DevicesUpdated', message: 'all active devices meet the minimum OS; no passkey registered yet' },
      { type: 'notify', reason: 'StageEntered', message: 'notified: register a passkey by 2026-12-19' },
    ]);
    const withPasskey = runDays(campaign(), 5, { users: (d) => [ready({ devices: d >= 4 ? [device()] : [OLD_IPHONE()] })] });
    expect(pick(withPasskey.decisions[4])).toEqual([
      { type: 'enterStage', reason: 'DevicesUpdated', message: 'all active devices meet the minimum OS and a passkey is registered; enforcement in 7 days' },
      { type: 'notify', reason: 'StageEntered', message: 'notified: phishing-resistant sign-in will be required from 2026-12-12' },
    ]);
  });

  it('keeps an outdated device from holding back a user already past deviceUpdate', () => {
    const inRegistration = runDays(campaign(), 8, { users: (d) => [user({ devices: d >= 2 ? [OLD_IPHONE()] : [device()] })] });
    expect(daysWith(inRegistration, 'enterStage')).toEqual([0]);
    expect(daysWith(inRegistration, 'notify', 'ReminderDue')).toEqual([3, 6]);
    const inNotice = runDays(campaign(), 8, { users: (d) => [ready({ devices: d >= 2 ? [OLD_IPHONE()] : [device()] })] });
    expect(daysWith(inNotice, 'enterStage', 'NoticePeriodElapsed')).toEqual([7]);
  });

  it('sends a user who loses every passkey during the notice back to passkeyRegistration', () => {
    const log = runDays(campaign(), 6, { users: (d) => [d >= 3 ? user(NO_PASSKEY) : ready()] });
    expect(pick(log.decisions[3])).toEqual([
      { type: 'enterStage', reason: 'PasskeyLost', message: 'no passkey registered any more; back to passkey registration' },
      { type: 'notify', reason: 'StageEntered', message: 'notified: register a passkey by 2026-12-18' },
    ]);
    expect(log.state.users['u-ada'].stage).toBe('passkeyRegistration');
  });

  it('does not enforce a user whose passkey is gone on the day the notice ends', () => {
    const log = runDays(campaign(), 8, { users: (d) => [d >= 7 ? user(NO_PASSKEY) : ready()] });
    expect(brief(log.decisions[7])).toEqual(['enterStage:PasskeyLost', 'notify:StageEntered']);
    expect(daysWith(log, 'addToGroup')).toEqual([]);
  });

  it('defers enforcement by a day when the user\'s reads fail on the day the notice ends', () => {
    const log = runDays(campaign(), 9, { users: (d) => [ready({ readErrors: d === 7 ? ['GET /devices: 503'] : [] })] });
    expect(brief(log.decisions[7])).toEqual(['warn:ReadErrors']);
    expect(daysWith(log, 'addToGroup')).toEqual([8]);
  });

  it('raises EnforcedWithoutPasskey once per episode, clears it when a passkey is back, and never removes the user', () => {
    const has = (d: number) => d < 9 || (d >= 12 && d < 14);
    const log = runDays(campaign(), 17, { users: (d) => [has(d) ? ready({ inEnforcementGroup: d >= 8 }) : user({ ...NO_PASSKEY, inEnforcementGroup: true })] });
    expect(daysWith(log, 'raiseAlert', 'EnforcedWithoutPasskey')).toEqual([9, 14]);
    expect(daysWith(log, 'clearAlert')).toEqual([12]);
    expect(pick(log.decisions[9])).toEqual([{
      type: 'raiseAlert', reason: 'EnforcedWithoutPasskey',
      message: 'enforced but no passkey registered any more: the user cannot satisfy the phishing-resistant policy; not removed automatically',
    }]);
    expect(pick(log.decisions[12])).toEqual([{ type: 'clearAlert', reason: 'AlertCleared', message: 'a passkey is registered again' }]);
    expect(log.state.users['u-ada'].stage).toBe('enforced');
  });

  it('raises NotInEnforcementGroup once when someone removes an enforced user from the group', () => {
    const log = runDays(campaign(), 12, { users: (d) => [ready({ inEnforcementGroup: d >= 8 && d < 10 })] });
    expect(daysWith(log, 'raiseAlert')).toEqual([10]);
    expect(pick(log.decisions[10])).toEqual([{
      type: 'raiseAlert', reason: 'NotInEnforcementGroup', message: 'enforced but no longer a member of the enforcement group; not re-added automatically',
    }]);
  });

  it('gives a postponed user no reminder until the postponement ends, and moves the deadline', () => {
    const log = runDays(campaign(), 19, { users: () => [user()], postpone: (d) => (d === 5 ? ['u-ada'] : []) });
    expect(log.postponeResults).toEqual([{ day: 5, userId: 'u-ada', ok: true }]);
    expect(daysWith(log, 'notify', 'ReminderDue')).toEqual([3, 7, 10, 13, 16]);
    expect(daysWith(log, 'flagGraceExceeded')).toEqual([17]);
    expect(pick(log.decisions[17])).toEqual([{ type: 'flagGraceExceeded', reason: 'GraceExceeded', message: 'passkey registration not done 17 days after first notice' }]);
  });

  it('postpones enforcement, then reminds once when the postponement ends', () => {
    const log = runDays(campaign(), 12, { users: () => [ready()], postpone: (d) => (d === 3 ? ['u-ada'] : []) });
    expect(daysWith(log, 'addToGroup')).toEqual([10]);
    expect(pick(log.decisions[5])).toEqual([{ type: 'notify', reason: 'PostponementEnded', message: 'postponement ended; enforcement on 2026-12-11' }]);
    expect(daysWith(log, 'notify')).toEqual([0, 5, 10]);
  });

  it('holds a blocked user where they are, then lets them go on once in scope', () => {
    const log = runDays(campaign(), 6, { users: (d) => [user({ inFido2PolicyScope: d >= 3 })] });
    expect(log.decisions.map(brief)).toEqual([
      ['raiseAlert:OutsideFido2PolicyScope'], [], [],
      ['clearAlert:AlertCleared', 'enterStage:NoPasskeyRegistered', 'notify:StageEntered'],
      [], [],
    ]);
  });

  it('sends no reminders to a user in passkeyRegistration who falls out of the FIDO2 policy scope', () => {
    const log = runDays(campaign(), 8, { users: (d) => [user({ inFido2PolicyScope: d < 2 })] });
    expect(daysWith(log, 'notify')).toEqual([0]);
    expect(daysWith(log, 'raiseAlert')).toEqual([2]);
  });

  it('re-sends an entry notice the applier could not deliver, under the same key', () => {
    const c = campaign();
    const first = decide(c, observation([user()]), emptyState(), NOW);
    const state = foldLedger(decisionsToEvents(first.filter((d) => d.type !== 'notify'), { runId: 'r0', now: NOW }));
    const retry = decide(c, observation([user()], { at: day(1) }), state, day(1));
    expect(retry).toMatchObject([{ type: 'notify', reason: 'StageEntered', key: 'admins-passkeys:u-ada:passkeyRegistration:1', message: 'notified: register a passkey by 2026-12-15' }]);
  });
});

describe('decide: leaving and re-entering', () => {
  const bob = (o: Partial<ObservedUser> = {}) => user({ userId: 'u-bob', userPrincipalName: 'bob@contoso.com', ...o });
  const cases = [
    {
      name: 'a user no longer targeted leaves the campaign',
      excluded: [],
      want: { type: 'leave', reason: 'LeftTargetSet', message: 'no longer in the target set (no targeted role, group or user entry); left the campaign' },
    },
    {
      name: 'an excluded user leaves the campaign naming the exclusion',
      excluded: [{ userId: 'u-bob', userPrincipalName: 'bob@contoso.com', exclusion: 'user' as const }],
      want: { type: 'leave', reason: 'Excluded', message: 'excluded by spec.exclusions.users; left the campaign' },
    },
  ];
  it.each(cases)('$name', ({ excluded, want }) => {
    const log = runDays(campaign(), 2, { users: () => [user(), bob()] });
    expect(pick(decide(campaign(), observation([user()], { at: day(2), excluded }), log.state, day(2)))).toEqual([want]);
  });

  it('lets an enforced user leave without removing them from the group', () => {
    const log = runDays(campaign(), 9, { users: () => [ready({ inEnforcementGroup: true })] });
    expect(pick(decide(campaign(), observation([], { at: day(9) }), log.state, day(9)))).toEqual([{
      type: 'leave', reason: 'LeftTargetSet',
      message: 'no longer in the target set (no targeted role, group or user entry); left the campaign (stays in the enforcement group)',
    }]);
  });

  it('lets a re-targeted user enter again with fresh notification keys', () => {
    const log = runDays(campaign(), 6, { users: (d) => (d === 2 || d === 3 ? [] : [user()]) });
    expect(log.decisions.map(brief)).toEqual([
      ['enterStage:NoPasskeyRegistered', 'notify:StageEntered'], [], ['leave:LeftTargetSet'], [],
      ['enterStage:NoPasskeyRegistered', 'notify:StageEntered'], [],
    ]);
    const keys = log.events.flatMap((e) => (e.type === 'notificationSent' ? [e.key] : []));
    expect(keys).toEqual(['admins-passkeys:u-ada:passkeyRegistration:1', 'admins-passkeys:u-ada:passkeyRegistration:2']);
  });
});

describe('decide: idempotence', () => {
  const scenarios = [
    { name: 'a user ready on day one', users: (_d: number) => [ready()] },
    { name: 'a user who never registers', users: (_d: number) => [user()] },
    { name: 'a user with an outdated device who updates on day 5', users: (d: number) => [user({ devices: d >= 5 ? [device()] : [OLD_IPHONE()] })] },
    { name: 'a user who loses the passkey after enforcement', users: (d: number) => [d >= 9 ? user({ inEnforcementGroup: true }) : ready({ inEnforcementGroup: d >= 8 })] },
    { name: 'a user who leaves and comes back', users: (d: number) => (d % 5 === 4 ? [] : [user()]) },
  ];
  it.each(scenarios)('a second decide at the same now after applying the first produces nothing, for $name', ({ users }) => {
    const c = campaign();
    const events: LedgerEvent[] = [];
    const state = emptyState();
    for (let d = 0; d < 25; d++) {
      const now = day(d);
      const obs = observation(users(d), { at: now });
      const first = decide(c, obs, state, now);
      const evs = decisionsToEvents(first, { runId: `r${d}`, now });
      events.push(...evs);
      applyEvents(state, evs);
      expect(decide(c, obs, state, now)).toEqual([]);
      expect(decide(c, obs, foldLedger(JSON.parse(JSON.stringify(events)) as LedgerEvent[]), now)).toEqual([]);
    }
  });
});

describe('decisionsToEvents', () => {
  it('records each decision but warnings as one versioned ledger event with run id and time', () => {
    const log = runDays(campaign(), 7, { users: () => [ready()] });
    const ds = decide(campaign(), observation([ready(), user({ userId: 'u-err', userPrincipalName: 'err@contoso.com', readErrors: ['GET /devices: 503'] })], { at: day(7) }), log.state, day(7));
    expect(decisionsToEvents(ds, { runId: 'run-7', now: day(7) })).toEqual([
      { v: 1, type: 'addedToGroup', at: day(7), runId: 'run-7', userId: 'u-ada', userPrincipalName: 'ada@contoso.com' },
      {
        v: 1, type: 'userEnteredStage', at: day(7), runId: 'run-7', userId: 'u-ada', userPrincipalName: 'ada@contoso.com',
        from: 'enforcementNotice', to: 'enforced', reason: 'NoticePeriodElapsed', message: 'enforcement notice of 7 days elapsed; added to the enforcement group',
      },
      {
        v: 1, type: 'notificationSent', at: day(7), runId: 'run-7', userId: 'u-ada', userPrincipalName: 'ada@contoso.com',
        key: 'admins-passkeys:u-ada:enforced:1', kind: 'enforced', stage: 'enforced', sequence: 1,
      },
    ]);
    expect(brief(ds)).toEqual(['addToGroup:NoticePeriodElapsed', 'enterStage:NoticePeriodElapsed', 'notify:StageEntered', 'warn:ReadErrors']);
  });

  it('puts the generation into notification keys after a campaign reset', () => {
    const state = foldLedger([{ v: 1, type: 'campaignReset', at: day(-1), generation: 2 }]);
    expect(decide(campaign(), observation([user()]), state, NOW)).toMatchObject([
      { type: 'enterStage' },
      { type: 'notify', key: 'admins-passkeys.g2:u-ada:passkeyRegistration:1' },
    ]);
  });
});

describe('decide: contract', () => {
  it('refuses an observation made for another campaign', () => {
    expect(() => decide(campaign(), observation([user()], { campaign: 'other-campaign' }), emptyState(), NOW))
      .toThrow('observation is for campaign other-campaign, not admins-passkeys');
  });
});
