import { describe, expect, it } from 'vitest';
import { emptyState, estimateAssumptions, estimateEnd, outlook, stuckActions, stuckMessage, stuckUsers, type ObservedUser } from '../../src/engine';
import { NOW, OLD_IPHONE, YUBIKEY, campaign, day, device, observation, policy, ready, runDays, user } from './fixtures';

const named = (i: number, o: Partial<ObservedUser> = {}) => ({ userId: `u-${i}`, userPrincipalName: `user${i}@contoso.com`, ...o });

describe('estimateEnd for a campaign that has not started', () => {
  const cases = [
    { name: 'a ready user ends after the notice and its postponements', users: [ready()], postpone: true, want: '2026-12-14' },
    { name: 'a ready user ends after the notice when postponements are left out', users: [ready()], postpone: false, want: '2026-12-08' },
    { name: 'a user without passkey adds the registration grace and postponements', users: [user()], postpone: true, want: '2027-01-03' },
    { name: 'a user without passkey adds the registration grace', users: [user()], postpone: false, want: '2026-12-22' },
    { name: 'a user with an old device and no passkey takes the longest path', users: [user({ devices: [OLD_IPHONE()] })], postpone: false, want: '2027-01-05' },
    { name: 'the latest user decides the end', users: [ready(named(1)), user({ ...named(2), devices: [OLD_IPHONE()] }), user(named(3))], postpone: false, want: '2027-01-05' },
    { name: 'users outside the FIDO2 policy scope are left out', users: [ready(named(1)), user({ ...named(2), inFido2PolicyScope: false })], postpone: false, want: '2026-12-08' },
    { name: 'nobody to project gives no date', users: [], postpone: false, want: null },
  ];
  it.each(cases)('$name', ({ users, postpone, want }) => {
    expect(estimateEnd(campaign({ status: 'notStarted' }), observation(users), emptyState(), NOW, { includePostponements: postpone })).toBe(want);
  });
});

describe('estimateEnd for a running campaign', () => {
  it('counts a postponement already used and the ones still left', () => {
    const log = runDays(campaign(), 6, { users: () => [user()], postpone: (d) => (d === 2 ? ['u-ada'] : []) });
    // day 0 + 14 grace + 3 used + 3 left = day 20, then 7 notice + 6 = day 33
    expect(estimateEnd(campaign(), observation([user()], { at: day(5) }), log.state, day(5))).toBe('2027-01-03');
  });

  it('assumes a user past the deadline acts today', () => {
    const log = runDays(campaign(), 21, { users: () => [user()] });
    expect(estimateEnd(campaign(), observation([user()], { at: day(20) }), log.state, day(20), { includePostponements: false })).toBe('2026-12-28');
  });

  it('uses the enforcement day of users already enforced', () => {
    const log = runDays(campaign(), 12, { users: (d) => [ready({ inEnforcementGroup: d >= 8 })] });
    expect(estimateEnd(campaign(), observation([ready({ inEnforcementGroup: true })], { at: day(11) }), log.state, day(11))).toBe('2026-12-08');
  });
});

describe('outlook', () => {
  it('summarises readiness, blockers and the estimated end in fixed sentences', () => {
    const users = [
      ready(named(1)),
      ready(named(2)),
      user(named(3)),
      user({ ...named(4), devices: [OLD_IPHONE(), device({ id: 'd2', operatingSystem: 'Windows 10', operatingSystemVersion: '10.0.17763' })] }),
      user({ ...named(5), inFido2PolicyScope: false, devices: [device({ operatingSystem: 'MacMDM', operatingSystemVersion: 'unknown' })] }),
      user({ ...named(6), readErrors: ['GET /devices: 503'] }),
    ];
    expect(outlook(campaign({ status: 'notStarted' }), observation(users), emptyState(), NOW)).toEqual([
      '6 users are targeted: 1 needs a device update (20%), 2 need a passkey (40%), 2 are ready for enforcement (40%).',
      '1 user could not be assessed because Graph reads failed; they make no move until a run reads them.',
      'Active devices below the minimum OS: 1 Windows (minimum 10.0.18362), 1 iOS (minimum 17.0).',
      '1 active device reports an OS version that could not be read; it does not block its user.',
      '1 user is outside the FIDO2 (passkey) policy scope and cannot register a passkey until added to it.',
      'If every user acts on the last day of each grace period and uses every postponement left, the last user is enforced on 2027-01-23.',
    ]);
  });

  it('reports stage counts, exceeded grace and AAGUID restrictions for a running campaign', () => {
    const p = policy({ restrict: { isEnforced: true, enforcementType: 'allow', aaGuids: [YUBIKEY] } });
    const users = [user(named(1)), user(named(2))];
    const log = runDays(campaign(), 16, { users: () => users, observation: () => ({ fido2Policy: p }) });
    expect(outlook(campaign(), observation(users, { at: day(15), fido2Policy: p }), log.state, day(15), { includePostponements: false })).toEqual([
      '2 users are targeted: 0 need a device update (0%), 2 need a passkey (100%), 0 are ready for enforcement (0%).',
      'The FIDO2 policy allows only 1 authenticator model (AAGUID allow list): passkeys of other models do not count.',
      'In the campaign: 0 in device update, 2 in passkey registration, 0 in enforcement notice, 0 enforced.',
      '2 users have exceeded a grace period.',
      'If the 2 users past a grace period act today and every other user acts on the last day of each grace period, the last user is enforced on 2026-12-23 at the earliest.',
    ]);
  });

  it('counts readiness over the users not yet enforced and says how many are enforced', () => {
    // u-1 is ready from day 0 and enforced on day 7; u-2 never registers a passkey.
    const users = (d: number) => [ready({ ...named(1), inEnforcementGroup: d >= 8 }), user(named(2))];
    const log = runDays(campaign(), 10, { users });
    expect(log.state.users['u-1'].stage).toBe('enforced');
    expect(outlook(campaign(), observation(users(9), { at: day(9) }), log.state, day(9))[0])
      .toBe('2 users are targeted: 1 already enforced; of the other 1, 0 need a device update (0%), 1 needs a passkey (100%), 0 are ready for enforcement (0%).');
    const all = (d: number) => [ready({ ...named(1), inEnforcementGroup: d >= 8 })];
    const done = runDays(campaign(), 10, { users: all });
    expect(outlook(campaign(), observation(all(9), { at: day(9) }), done.state, day(9))[0]).toBe('1 user is targeted and already enforced.');
  });

  it('says so when nobody is targeted', () => {
    expect(outlook(campaign(), observation([]), emptyState(), NOW)).toEqual(['No users are targeted.']);
  });
});

describe('users past a grace period', () => {
  // u-1 enters passkey registration on day 0 (deadline day 14), u-2 on day 3 after a device update (deadline day 17 + 3 postponed).
  const script = {
    users: (d: number) => [user(named(1)), d < 3 ? user({ ...named(2), devices: [OLD_IPHONE()] }) : user(named(2)), ready(named(3))],
    postpone: (d: number) => (d === 5 ? ['u-2'] : []),
  };

  it('are counted from the ledger, with the day the oldest grace period ended', () => {
    const log = runDays(campaign(), 25, script);
    expect(log.state.users['u-2'].stage).toBe('passkeyRegistration');
    expect(stuckUsers(campaign(), log.state)).toEqual({ users: 2, oldestSince: '2026-12-15T00:00:00.000Z' });
    const before = runDays(campaign(), 14, script);
    expect(stuckUsers(campaign(), before.state)).toEqual({ users: 0, oldestSince: null });
  });

  it('make the estimate the earliest end, one day later for each day they wait', () => {
    const at20 = runDays(campaign(), 21, script);
    const at24 = runDays(campaign(), 25, script);
    const end = (log: typeof at20, d: number) => estimateEnd(campaign(), observation(script.users(d), { at: day(d) }), log.state, day(d));
    // Acting today: 7 notice days plus the 2 postponements of the notice left (6 days); u-2's postponement of
    // passkey registration left counts no more, because a passed grace period cannot be postponed.
    expect(end(at20, 20)).toBe('2027-01-03');
    expect(end(at24, 24)).toBe('2027-01-07');
  });

  it('get a message that says how many, since when, and that the end depends on them', () => {
    expect(stuckMessage({ users: 58, oldestSince: '2026-12-15T00:00:00.000Z' }, '2027-01-27T06:00:00.000Z')).toBe(
      '58 users are past a grace period (the oldest since 2026-12-15, 43 days ago) and get no more reminders. ' +
      'They make no progress until they act, so the campaign cannot end before they do; the estimated end is reached only if they act today.');
    expect(stuckMessage({ users: 1, oldestSince: '2026-12-15T00:00:00.000Z' }, '2026-12-16T06:00:00.000Z')).toMatch(/^1 user is past a grace period \(the oldest since 2026-12-15, 1 day ago\) and gets no more reminders\./);
  });

  it('come with what the admin can do: the CSV contact list, postponement when enabled, exclusion by pull request', () => {
    const on = stuckActions(campaign());
    expect(on).toHaveLength(3);
    expect(on[0]).toContain('`campaign status --campaign admins-passkeys --csv stuck-users.csv --stuck`');
    expect(on[1]).toContain('postpone it by 3 days (at most 2 times a stage)');
    expect(on[1]).toContain('`campaign postpone --campaign admins-passkeys --user UPN`');
    expect(on[1]).toContain('a grace period that has already passed cannot be postponed');
    expect(on[2]).toContain('spec.exclusions.users');
    const off = stuckActions(campaign({ postponement: { enabled: false } }));
    expect(off).toEqual([on[0], on[2]]);
  });
});

describe('estimateAssumptions', () => {
  it.each([
    { name: 'teams with postponement', c: () => campaign(), want: 'The estimated end assumes every user acts on the last day of each grace period and uses every postponement left, users already past a grace period act today, and disabled accounts and users outside the FIDO2 (passkey) policy scope are left out (they cannot finish until an admin changes that).' },
    { name: 'email without postponement', c: () => campaign({ channel: 'email', postponement: { enabled: false } }), want: 'The estimated end assumes every user acts on the last day of each grace period, first notices go out as fast as the sender mailboxes\' daily limit allows, users already past a grace period act today, and disabled accounts and users outside the FIDO2 (passkey) policy scope are left out (they cannot finish until an admin changes that).' },
  ])('states them in one sentence: $name', ({ c, want }) => {
    expect(estimateAssumptions(c())).toBe(want);
  });
});
