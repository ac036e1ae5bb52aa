// Graduated enforcement in the pure engine: who moves from enforced to graduated, who does not, the alert for
// graduated users the enabled policy blocked, the graduation valve, and the recovery of an interrupted graduation.
import { describe, expect, it } from 'vitest';
import type { Campaign } from '../../src/campaign/types';
import {
  applyEvents,
  decide,
  decisionsToEvents,
  foldLedger,
  type Decision,
  type LedgerEvent,
  type Observation,
  type ObservedSignIns,
  type ObservedUser,
} from '../../src/engine';
import { openIntents, planGroupRecovery } from '../../src/engine/recovery';
import { applyGraduationValve, applyValve } from '../../src/engine/valve';
import type { GroupAddIntentEvent } from '../../src/ledger/events';
import { NO_PASSKEY, NOW, brief, campaign, day, observation, policy, ready } from './fixtures';

const ENF_GROUP = 'g-enforced';
const GRAD_GROUP = 'g-graduated';

function graduatedCampaign(o: Partial<Campaign['spec']['enforcement']> = {}): Campaign {
  const c = campaign();
  c.spec.enforcement = { ...c.spec.enforcement, mode: 'graduated', enableWhen: { observedDays: 14, maxWouldBlockUsersPercent: 1 }, maxGraduationsPerRun: 50, ...o };
  return c;
}

const upnOf = (id: string) => `${id.replace(/^u-/, '')}@contoso.com`;

/** The ledger of a user enforced `daysAgo` days before NOW, whose enforcement notice was delivered. */
function enforcedEvents(id: string, daysAgo: number, upn = upnOf(id)): LedgerEvent[] {
  const at = day(-daysAgo);
  return [
    { v: 1, type: 'userEnteredStage', at, runId: 'r0', userId: id, userPrincipalName: upn, from: 'enforcementNotice', to: 'enforced', reason: 'NoticePeriodElapsed', message: '' },
    { v: 1, type: 'notificationSent', at, runId: 'r0', userId: id, userPrincipalName: upn, key: `c:${id}:enforced:1`, kind: 'enforced', stage: 'enforced', sequence: 1 },
  ];
}

function graduatedEvents(id: string, daysAgo: number): LedgerEvent[] {
  const at = day(-daysAgo);
  return [
    ...enforcedEvents(id, daysAgo + 20),
    { v: 1, type: 'addedToGroup', at, runId: 'r1', userId: id, userPrincipalName: upnOf(id), group: 'graduated' },
    { v: 1, type: 'userEnteredStage', at, runId: 'r1', userId: id, userPrincipalName: upnOf(id), from: 'enforced', to: 'graduated', reason: 'Graduated', message: '' },
  ];
}

function signIns(o: Partial<ObservedSignIns> = {}): ObservedSignIns {
  return { signIns: 3, reportOnlySuccess: 3, reportOnlyFailure: 0, failure: 0, failureApps: [], failureClientApps: [], blocked: false, ...o };
}

/** An enforced user as observed: passkey, in the enforcement group, not (yet) in the graduated group. */
function enforcedUser(id: string, o: Partial<ObservedUser> = {}): ObservedUser {
  return ready({ userId: id, userPrincipalName: upnOf(id), inEnforcementGroup: true, inGraduatedGroup: false, ...o });
}

function evidence(users: Record<string, ObservedSignIns>): NonNullable<Observation['graduation']> {
  return { available: true, observedDays: 14, from: day(-14), to: NOW, reportOnlyPolicyId: 'p-ro', enabledPolicyId: 'p-en', users };
}

const userDecisions = (ds: readonly Decision[]) => ds.filter((d) => d.userId !== null);

describe('decide: who graduates', () => {
  const cases: Array<{ name: string; enforcedDaysAgo: number; u?: Partial<ObservedUser>; s?: ObservedSignIns | null; want: string[] }> = [
    {
      name: 'graduates a user enforced 14 days ago whose sign-ins all satisfied the report-only policy',
      enforcedDaysAgo: 14, want: ['addToGroup:Graduated', 'enterStage:Graduated'],
    },
    { name: 'does not graduate a user enforced 13 days ago (observedDays is 14)', enforcedDaysAgo: 13, want: [] },
    { name: 'does not graduate a user with one sign-in the report-only policy would have blocked', enforcedDaysAgo: 30, s: signIns({ reportOnlyFailure: 1 }), want: [] },
    { name: 'does not graduate a user without a phishing-resistant sign-in in the window', enforcedDaysAgo: 30, s: signIns({ reportOnlySuccess: 0 }), want: [] },
    { name: 'does not graduate a user without any sign-in in the window', enforcedDaysAgo: 30, s: null, want: [] },
    {
      name: 'does not graduate a user who is not in the enforcement group (alerted instead)',
      enforcedDaysAgo: 30, u: { inEnforcementGroup: false }, want: ['raiseAlert:NotInEnforcementGroup'],
    },
    {
      name: 'does not graduate a user without a passkey any more (alerted instead)',
      enforcedDaysAgo: 30, u: { ...NO_PASSKEY }, want: ['raiseAlert:EnforcedWithoutPasskey'],
    },
    {
      name: 'moves a user already in the graduated group without adding again',
      enforcedDaysAgo: 30, u: { inGraduatedGroup: true }, want: ['enterStage:Graduated'],
    },
  ];
  it.each(cases)('$name', ({ enforcedDaysAgo, u, s, want }) => {
    const state = foldLedger(enforcedEvents('u-ada', enforcedDaysAgo));
    const users: Record<string, ObservedSignIns> = s === null ? {} : { 'u-ada': s ?? signIns() };
    const ds = decide(graduatedCampaign(), observation([enforcedUser('u-ada', u)], { graduation: evidence(users) }), state, NOW);
    expect(brief(userDecisions(ds))).toEqual(want);
  });

  it('says why, adds to the graduated group first, and keeps the user in the enforcement group', () => {
    const state = foldLedger(enforcedEvents('u-ada', 20));
    const ds = decide(graduatedCampaign(), observation([enforcedUser('u-ada')], { graduation: evidence({ 'u-ada': signIns({ reportOnlySuccess: 5 }) }) }), state, NOW);
    expect(ds).toEqual([
      { type: 'addToGroup', userId: 'u-ada', userPrincipalName: 'ada@contoso.com', stage: 'graduated', group: 'graduated', reason: 'Graduated', message: 'add to the graduated group' },
      {
        type: 'enterStage', userId: 'u-ada', userPrincipalName: 'ada@contoso.com', stage: 'graduated', from: 'enforced', to: 'graduated', reason: 'Graduated',
        message: 'enforced 20 days ago; in the last 14 days 5 sign-ins satisfied the report-only policy and none would have been blocked; added to the graduated group (enabled policy), and stays in the enforcement group',
      },
    ]);
    const events = decisionsToEvents(ds, { runId: 'r2', now: NOW });
    expect(events.map((e) => e.type)).toEqual(['addedToGroup', 'userEnteredStage']);
    expect(events[0]).toMatchObject({ group: 'graduated' });
    const after = applyEvents(state, events).users['u-ada']!;
    expect(after.stage).toBe('graduated');
    expect(after.enforcedAt).toBe(day(-20));
    expect(after.addedToGroupAt).toBeNull(); // the enforcement group's add time is not the graduated group's
    // No event of any run removes a group membership: graduation only ever adds.
    expect(ds.some((d) => d.type === 'leave')).toBe(false);
  });

  it('graduates exactly the qualifying users among several, and a second run at the same time decides nothing more', () => {
    const c = graduatedCampaign();
    const events = [...enforcedEvents('u-ada', 30), ...enforcedEvents('u-bob', 5), ...enforcedEvents('u-cy', 30), ...enforcedEvents('u-dee', 30), ...enforcedEvents('u-eve', 30)];
    const state = foldLedger(events);
    const users = [enforcedUser('u-ada'), enforcedUser('u-bob'), enforcedUser('u-cy'), enforcedUser('u-dee'), enforcedUser('u-eve', { inEnforcementGroup: false })];
    const ev = evidence({ 'u-ada': signIns(), 'u-bob': signIns(), 'u-cy': signIns({ reportOnlyFailure: 2 }), 'u-dee': signIns({ reportOnlySuccess: 0 }), 'u-eve': signIns() });
    const ds = decide(c, observation(users, { graduation: ev }), state, NOW);
    expect(ds.filter((d) => d.type === 'enterStage').map((d) => d.userId)).toEqual(['u-ada']);
    applyEvents(state, decisionsToEvents(ds, { runId: 'r2', now: NOW }));
    const again = decide(c, observation(users.map((u) => (u.userId === 'u-ada' ? { ...u, inGraduatedGroup: true } : u)), { graduation: ev }), state, NOW);
    expect(again.filter((d) => d.type === 'enterStage' || d.type === 'addToGroup')).toEqual([]);
  });

  it('never graduates a break-glass account, even when an observation wrongly lists it as targeted', () => {
    const state = foldLedger(enforcedEvents('u-bg1', 30, 'bg1@contoso.com'));
    const bg = enforcedUser('u-bg1', { userPrincipalName: 'bg1@contoso.com' });
    const ds = decide(graduatedCampaign(), observation([bg], { graduation: evidence({ 'u-bg1': signIns() }) }), state, NOW);
    expect(ds.filter((d) => d.type === 'enterStage' || d.type === 'addToGroup')).toEqual([]);
  });

  it('never graduates a user the observation lists as excluded', () => {
    const state = foldLedger(enforcedEvents('u-ada', 30));
    const obs = observation([enforcedUser('u-ada')], { graduation: evidence({ 'u-ada': signIns() }), excluded: [{ userId: 'u-ada', userPrincipalName: 'ada@contoso.com', exclusion: 'user' }] });
    const ds = decide(graduatedCampaign(), obs, state, NOW);
    expect(ds.filter((d) => d.type === 'enterStage' || d.type === 'addToGroup')).toEqual([]);
  });

  it('graduates nobody while the FIDO2 policy is disabled', () => {
    const state = foldLedger(enforcedEvents('u-ada', 30));
    const ds = decide(graduatedCampaign(), observation([enforcedUser('u-ada')], { fido2Policy: policy({ state: 'disabled' }), graduation: evidence({ 'u-ada': signIns() }) }), state, NOW);
    expect(ds.filter((d) => d.type === 'enterStage' || d.type === 'addToGroup')).toEqual([]);
  });

  it('sends a due enforcement notice first and graduates the user on a later run', () => {
    const state = foldLedger(enforcedEvents('u-ada', 30).slice(0, 1)); // entered enforced, notice never recorded
    const ds = decide(graduatedCampaign(), observation([enforcedUser('u-ada')], { graduation: evidence({ 'u-ada': signIns() }) }), state, NOW);
    expect(brief(userDecisions(ds))).toEqual(['notify:StageEntered']);
  });

  it('graduates nobody in a reportOnly campaign, whatever the sign-ins say', () => {
    const state = foldLedger(enforcedEvents('u-ada', 30));
    const ds = decide(campaign(), observation([enforcedUser('u-ada')], { graduation: evidence({ 'u-ada': signIns() }) }), state, NOW);
    expect(ds).toEqual([]);
  });

  it('graduates nobody when the evidence could not be established, and says why once', () => {
    const state = foldLedger(enforcedEvents('u-ada', 30));
    const cause = 'the sign-in logs could not be read (403 Authorization_RequestDenied): grant the identity the Microsoft Graph application permission AuditLog.Read.All and Directory.Read.All.';
    const ds = decide(graduatedCampaign(), observation([enforcedUser('u-ada')], { graduation: { available: false, cause } }), state, NOW);
    expect(ds).toEqual([{ type: 'warn', userId: null, userPrincipalName: null, stage: null, reason: 'GraduationUnavailable', message: `nobody graduates this run: ${cause}` }]);
  });

  it('graduates nobody when a graduated campaign\'s observation carries no evidence at all', () => {
    const state = foldLedger(enforcedEvents('u-ada', 30));
    const ds = decide(graduatedCampaign(), observation([enforcedUser('u-ada')]), state, NOW);
    expect(brief(ds)).toEqual(['warn:GraduationUnavailable']);
  });
});

describe('decide: graduated users whose sign-ins fail under the enabled policy', () => {
  const c = graduatedCampaign();
  const grad = (o: Partial<ObservedUser> = {}) => enforcedUser('u-ada', { inGraduatedGroup: true, ...o });
  const failing = signIns({ failure: 2, failureApps: ['Office 365 Exchange Online'], failureClientApps: ['Exchange ActiveSync'], blocked: true });

  it('raises GraduatedSignInFailures once, naming the applications, and never moves or removes the user', () => {
    const state = foldLedger(graduatedEvents('u-ada', 3));
    const ds = decide(c, observation([grad()], { graduation: evidence({ 'u-ada': failing }) }), state, NOW);
    expect(ds).toEqual([{
      type: 'raiseAlert', userId: 'u-ada', userPrincipalName: 'ada@contoso.com', stage: 'graduated', kind: 'GraduatedSignInFailures', reason: 'GraduatedSignInFailures',
      message: 'graduated, and the enabled policy blocked 2 sign-ins in the last 14 days (Office 365 Exchange Online; Exchange ActiveSync): the user may be locked out of those applications; not removed from any group automatically',
    }]);
    applyEvents(state, decisionsToEvents(ds, { runId: 'r2', now: NOW }));
    expect(state.users['u-ada']!.stage).toBe('graduated');
    expect(decide(c, observation([grad()], { graduation: evidence({ 'u-ada': failing }) }), state, NOW)).toEqual([]);
  });

  it('keeps the alert while the evidence is unavailable and clears it once the window shows no blocked sign-in', () => {
    const state = foldLedger([...graduatedEvents('u-ada', 3), { v: 1, type: 'alertRaised', at: day(-1), runId: 'r1', userId: 'u-ada', userPrincipalName: 'ada@contoso.com', kind: 'GraduatedSignInFailures', message: '' }]);
    const unknown = decide(c, observation([grad()], { graduation: { available: false, cause: 'x' } }), state, NOW);
    expect(brief(unknown)).toEqual(['warn:GraduationUnavailable']);
    const clear = decide(c, observation([grad()], { graduation: evidence({ 'u-ada': signIns() }) }), state, NOW);
    expect(brief(clear)).toEqual(['clearAlert:AlertCleared']);
    expect(clear[0]!.message).toBe('the newest sign-in under the enabled policy succeeded, and no legacy client is blocked in the observation window any more');
  });

  it('raises nothing for blocks the user got past: an interruption followed by a successful sign-in is no lockout', () => {
    const state = foldLedger(graduatedEvents('u-ada', 3));
    const gotPast = signIns({ failure: 2, failureApps: ['Microsoft Teams'], failureClientApps: ['Browser'], blocked: false });
    expect(decide(c, observation([grad()], { graduation: evidence({ 'u-ada': gotPast }) }), state, NOW)).toEqual([]);
  });

  it('a graduated user who leaves the targets keeps their groups (the leave message says so)', () => {
    const state = foldLedger(graduatedEvents('u-ada', 3));
    const ds = decide(c, observation([], { graduation: evidence({}) }), state, NOW);
    expect(ds).toEqual([expect.objectContaining({ type: 'leave', reason: 'LeftTargetSet', from: 'graduated', message: expect.stringContaining('(stays in the enforcement group)') })]);
  });
});

describe('the graduation valve', () => {
  it('moves at most maxGraduationsPerRun users, in UPN order, and does not count against maxNewPerRun', () => {
    const ids = ['u-ada', 'u-bob', 'u-cy'];
    const state = foldLedger(ids.flatMap((id) => enforcedEvents(id, 30)));
    const c = graduatedCampaign({ maxGraduationsPerRun: 2, maxNewPerRun: 1 });
    const ds = decide(c, observation(ids.map((id) => enforcedUser(id)), { graduation: evidence(Object.fromEntries(ids.map((id) => [id, signIns()]))) }), state, NOW);
    const enforcement = applyValve(ds, c.spec.enforcement.maxNewPerRun);
    expect(enforcement.deferred).toBe(0);
    const v = applyGraduationValve(enforcement.kept, c.spec.enforcement.maxGraduationsPerRun);
    expect(v.deferred).toBe(1);
    expect(v.kept.filter((d) => d.type === 'enterStage').map((d) => d.userId)).toEqual(['u-ada', 'u-bob']);
    expect(v.kept.filter((d) => d.userId === 'u-cy')).toEqual([]);
  });
});

describe('recovery of an interrupted graduation', () => {
  const intent = (userId: string, groupId: string): GroupAddIntentEvent => ({ v: 1, type: 'groupAddIntent', at: day(-1), runId: 'r-dead', userId, userPrincipalName: upnOf(userId), groupId });

  it('keeps an open add per group and user', () => {
    const open = openIntents([
      { v: 1, type: 'runStarted', at: day(-1), runId: 'r-dead', campaign: 'admins-passkeys', status: 'inProgress', intents: 1 },
      intent('u-ada', ENF_GROUP),
      { v: 1, type: 'groupAddOutcome', at: day(-1), runId: 'r-dead', userId: 'u-ada', userPrincipalName: 'ada@contoso.com', groupId: ENF_GROUP, outcome: 'added' },
      intent('u-ada', GRAD_GROUP),
    ]);
    expect(open.groupAdds.map((g) => g.groupId)).toEqual([GRAD_GROUP]);
  });

  it('confirms the graduated-group add of a user who graduates now, and rolls back one who no longer qualifies', () => {
    const state = foldLedger([...enforcedEvents('u-ada', 30), ...enforcedEvents('u-bob', 30)]);
    const c = graduatedCampaign();
    // Both are in the graduated group from the interrupted run; only ada still qualifies.
    const users = [enforcedUser('u-ada', { inGraduatedGroup: true }), enforcedUser('u-bob', { inGraduatedGroup: true })];
    const ds = decide(c, observation(users, { graduation: evidence({ 'u-ada': signIns(), 'u-bob': signIns({ reportOnlyFailure: 1 }) }) }), state, NOW);
    const plan = planGroupRecovery({
      open: [intent('u-ada', GRAD_GROUP), intent('u-bob', GRAD_GROUP)], state, decisions: ds, kept: ds,
      groupId: ENF_GROUP, groupMembers: new Set(['u-ada', 'u-bob']), graduated: { groupId: GRAD_GROUP, members: new Set(['u-ada', 'u-bob']) },
    });
    expect(plan.toAdd).toEqual([]);
    expect(plan.redrive.map((g) => g.userId)).toEqual(['u-ada']);
    expect(plan.rollBack.map((g) => [g.userId, g.groupId])).toEqual([['u-bob', GRAD_GROUP]]);
    expect(plan.supersede).toEqual([]);
  });

  it('never rolls a graduated user out of the enforcement group', () => {
    const state = foldLedger(graduatedEvents('u-ada', 3));
    const plan = planGroupRecovery({
      open: [intent('u-ada', ENF_GROUP)], state, decisions: [], kept: [],
      groupId: ENF_GROUP, groupMembers: new Set(['u-ada']), graduated: { groupId: GRAD_GROUP, members: new Set(['u-ada']) },
    });
    expect(plan.redrive.map((g) => g.userId)).toEqual(['u-ada']);
    expect(plan.rollBack).toEqual([]);
  });

  it('leaves an interrupted graduation open while the valve defers the user', () => {
    const ids = ['u-ada', 'u-bob'];
    const state = foldLedger(ids.flatMap((id) => enforcedEvents(id, 30)));
    const ds = decide(graduatedCampaign(), observation(ids.map((id) => enforcedUser(id)), { graduation: evidence({ 'u-ada': signIns(), 'u-bob': signIns() }) }), state, NOW);
    const kept = applyGraduationValve(ds, 1).kept;
    const plan = planGroupRecovery({
      open: [intent('u-bob', GRAD_GROUP)], state, decisions: ds, kept,
      groupId: ENF_GROUP, groupMembers: new Set(ids), graduated: { groupId: GRAD_GROUP, members: new Set(['u-bob']) },
    });
    expect(plan.toAdd.map((d) => [d.userId, d.group])).toEqual([['u-ada', 'graduated']]);
    expect([plan.redrive, plan.rollBack, plan.supersede]).toEqual([[], [], []]);
  });
});

describe('the graduated stage elsewhere in the engine', () => {
  it('cannot be postponed: the user is already enforced', async () => {
    const { requestPostponement } = await import('../../src/engine/postpone');
    const r = requestPostponement(graduatedCampaign(), foldLedger(graduatedEvents('u-ada', 3)), 'u-ada', NOW);
    expect(r).toMatchObject({ ok: false, reason: 'Enforced' });
  });

  it('counts graduated users as enforced in the outlook and says how many graduated', async () => {
    const { outlook } = await import('../../src/engine/estimate');
    const state = foldLedger([...graduatedEvents('u-ada', 3), ...enforcedEvents('u-bob', 3)]);
    const lines = outlook(graduatedCampaign(), observation([enforcedUser('u-ada', { inGraduatedGroup: true }), enforcedUser('u-bob')]), state, NOW);
    expect(lines).toContain('In the campaign: 0 in device update, 0 in passkey registration, 0 in enforcement notice, 2 enforced (1 graduated to the enabled policy).');
    expect(lines.some((l) => /ready for enforcement|needs? a passkey/.test(l) && /\b[1-9]/.test(l))).toBe(false);
  });
});
