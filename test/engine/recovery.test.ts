// Recovery planning, without HTTP: what a run does with each open intent an interrupted run left.
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/engine/decide';
import type { GroupAddIntentEvent, LedgerEvent, NotificationSentEvent } from '../../src/ledger/events';
import { afterLookUp, openIntents, planGroupRecovery, planNotificationRecovery, type NotificationRecoveryAction } from '../../src/engine/recovery';
import { foldLedger, type CampaignState } from '../../src/engine/state';
import type { Stage } from '../../src/engine/types';

const AT = '2026-12-01T06:00:00.000Z';
const GROUP = 'group-1';
const upn = (id: string) => `${id}@contoso.com`;

function entered(id: string, to: Stage, runId = 'r0'): LedgerEvent {
  return { v: 1, type: 'userEnteredStage', at: AT, runId, userId: id, userPrincipalName: upn(id), from: null, to, reason: 'NoPasskeyRegistered', message: 'm' };
}
function intent(id: string, groupId = GROUP): GroupAddIntentEvent {
  return { v: 1, type: 'groupAddIntent', at: AT, runId: 'r1', userId: id, userPrincipalName: upn(id), groupId };
}
function sent(id: string, stage: Exclude<Stage, 'graduated'>, channel: 'teams' | 'email' | 'none' | undefined = 'teams'): NotificationSentEvent {
  return { v: 1, type: 'notificationSent', at: AT, runId: 'r1', userId: id, userPrincipalName: upn(id), key: `c:${id}:${stage}:1`, kind: stage, stage, sequence: 1, ...(channel ? { channel } : {}) };
}
function enforce(id: string): Decision[] {
  return [
    { type: 'addToGroup', userId: id, userPrincipalName: upn(id), stage: 'enforced', reason: 'NoticePeriodElapsed', message: 'add to the enforcement group' },
    { type: 'enterStage', userId: id, userPrincipalName: upn(id), stage: 'enforced', from: 'enforcementNotice', to: 'enforced', reason: 'NoticePeriodElapsed', message: 'm' },
  ];
}
const state = (events: LedgerEvent[]): CampaignState => foldLedger(events);

interface GroupCase {
  name: string;
  ledger: LedgerEvent[];
  open: GroupAddIntentEvent[];
  decisions: Decision[];
  /** Users the valve deferred: in decisions, not in kept. */
  deferred?: string[];
  members: string[];
  want: { toAdd: string[]; redrive: string[]; rollBack: string[]; supersede: string[] };
}

const groupCases: GroupCase[] = [
  {
    name: 'confirms an open add when this run enforces the user',
    ledger: [entered('ada', 'enforcementNotice')], open: [intent('ada')], decisions: enforce('ada'), members: ['ada'],
    want: { toAdd: [], redrive: ['ada'], rollBack: [], supersede: [] },
  },
  {
    name: 're-drives an open add whose write never happened when this run enforces the user',
    ledger: [entered('ada', 'enforcementNotice')], open: [intent('ada')], decisions: enforce('ada'), members: [],
    want: { toAdd: ['ada'], redrive: ['ada'], rollBack: [], supersede: [] },
  },
  {
    name: 'confirms an open add of a user the ledger already enforced',
    ledger: [entered('ada', 'enforced')], open: [intent('ada')], decisions: [], members: ['ada'],
    want: { toAdd: [], redrive: ['ada'], rollBack: [], supersede: [] },
  },
  {
    name: 'leaves an open add alone when the valve defers the user to the next run',
    ledger: [entered('ada', 'enforcementNotice')], open: [intent('ada')], decisions: enforce('ada'), deferred: ['ada'], members: ['ada'],
    want: { toAdd: [], redrive: [], rollBack: [], supersede: [] },
  },
  {
    name: 'rolls back an add of a user who is in the group but no longer due',
    ledger: [entered('ada', 'passkeyRegistration')], open: [intent('ada')], decisions: [], members: ['ada'],
    want: { toAdd: [], redrive: [], rollBack: ['ada'], supersede: [] },
  },
  {
    name: 'closes an add of a user who is neither due nor in the group, with nothing to undo',
    ledger: [entered('ada', 'passkeyRegistration')], open: [intent('ada')], decisions: [], members: [],
    want: { toAdd: [], redrive: [], rollBack: [], supersede: ['ada'] },
  },
  {
    name: 'never removes a user from a group other than the one this run writes to',
    ledger: [entered('ada', 'passkeyRegistration')], open: [intent('ada', 'old-group')], decisions: [], members: ['ada'],
    want: { toAdd: [], redrive: [], rollBack: [], supersede: ['ada'] },
  },
  {
    name: 'adds only users who are not members yet, matching ids without regard to case',
    ledger: [entered('ada', 'enforcementNotice'), entered('bob', 'enforcementNotice')], open: [], decisions: [...enforce('ada'), ...enforce('BOB')], members: ['bob'],
    want: { toAdd: ['ada'], redrive: [], rollBack: [], supersede: [] },
  },
];

describe('planGroupRecovery', () => {
  it.each(groupCases)('$name', (c) => {
    const deferred = new Set(c.deferred ?? []);
    const plan = planGroupRecovery({
      open: c.open,
      state: state(c.ledger),
      decisions: c.decisions,
      kept: c.decisions.filter((d) => d.userId === null || !deferred.has(d.userId)),
      groupId: GROUP,
      groupMembers: new Set(c.members),
    });
    expect({
      toAdd: plan.toAdd.map((d) => d.userId),
      redrive: plan.redrive.map((g) => g.userId),
      rollBack: plan.rollBack.map((g) => g.userId),
      supersede: plan.supersede.map((g) => g.userId),
    }).toEqual(c.want);
  });
});

interface NotificationCase {
  name: string;
  /** The ledger before this run: the notice, maybe its dispatch. */
  notice: NotificationSentEvent;
  dispatched: boolean;
  channel: 'teams' | 'email' | 'none';
  hasSender?: boolean;
  /** The user's stage after this run's decisions; null = left the campaign. */
  stageNow: Stage | null;
  observed?: boolean;
  /** The account is disabled: decide raised AccountDisabled this run. */
  disabled?: boolean;
  want: { action: NotificationRecoveryAction; channel: string; detail: string };
}

const notificationCases: NotificationCase[] = [
  {
    name: 'sends again a notice that was never dispatched while the user is still in its stage',
    notice: sent('ada', 'passkeyRegistration'), dispatched: false, channel: 'teams', stageNow: 'passkeyRegistration',
    want: { action: 'Resend', channel: 'teams', detail: 'never sent by the interrupted run; sent now' },
  },
  {
    name: 'cancels a notice that was never dispatched once the user moved on',
    notice: sent('ada', 'passkeyRegistration'), dispatched: false, channel: 'teams', stageNow: 'enforcementNotice',
    want: { action: 'CancelNotDue', channel: 'teams', detail: 'never sent by the interrupted run, and the user is no longer in passkeyRegistration' },
  },
  {
    name: 'cancels a notice that was never dispatched to a user no longer observed',
    notice: sent('ada', 'passkeyRegistration'), dispatched: false, channel: 'teams', stageNow: 'passkeyRegistration', observed: false,
    want: { action: 'CancelNotDue', channel: 'teams', detail: 'never sent by the interrupted run, and the user is no longer in passkeyRegistration' },
  },
  {
    name: 'records a dispatched Teams notice as in doubt and never sends it again',
    notice: sent('ada', 'passkeyRegistration'), dispatched: true, channel: 'teams', stageNow: 'passkeyRegistration',
    want: { action: 'InDoubt', channel: 'teams', detail: 'the run that sent it got no answer (interrupted or timed out); Teams has no read API for activity notifications, so it is not sent again (at most once)' },
  },
  {
    name: 'looks a dispatched email up in the Sent Items',
    notice: sent('ada', 'passkeyRegistration', 'email'), dispatched: true, channel: 'email', hasSender: true, stageNow: 'passkeyRegistration',
    want: { action: 'LookUp', channel: 'email', detail: 'dispatched by email: looked up in the Sent Items' },
  },
  {
    name: 'fails a dispatched email when there is no sender mailbox to look in',
    notice: sent('ada', 'passkeyRegistration', 'email'), dispatched: true, channel: 'email', hasSender: false, stageNow: 'passkeyRegistration',
    want: { action: 'FailNoSender', channel: 'email', detail: 'no sender mailbox to look it up in' },
  },
  {
    name: 'cancels every open notice once notifications are turned off',
    notice: sent('ada', 'passkeyRegistration'), dispatched: true, channel: 'none', stageNow: 'passkeyRegistration',
    want: { action: 'CancelChannelNone', channel: 'teams', detail: 'notifications are off (channel none)' },
  },
  {
    name: 'records a dispatched Teams enforcement notice as in doubt, never sends that key again, and says a new one follows',
    notice: sent('ada', 'enforcementNotice'), dispatched: true, channel: 'teams', stageNow: 'enforcementNotice',
    want: {
      action: 'InDoubt', channel: 'teams',
      detail: "the run that sent it got no answer (interrupted or timed out); Teams has no read API for activity notifications, so this key is not sent again; as an enforcement notice not known to be delivered, a new one is sent on the next day's run",
    },
  },
  {
    name: 'cancels a never-dispatched notice to a disabled account instead of sending it: nobody contacts a held user',
    notice: sent('ada', 'passkeyRegistration'), dispatched: false, channel: 'teams', stageNow: 'passkeyRegistration', disabled: true,
    want: { action: 'CancelNotDue', channel: 'teams', detail: 'never sent by the interrupted run, and the account is now disabled: nobody contacts it; once it is enabled again a new notice is sent' },
  },
  {
    name: 'takes the channel of a notice recorded without one from the campaign',
    notice: sent('ada', 'passkeyRegistration', undefined), dispatched: true, channel: 'teams', stageNow: 'passkeyRegistration',
    want: { action: 'InDoubt', channel: 'teams', detail: 'the run that sent it got no answer (interrupted or timed out); Teams has no read API for activity notifications, so it is not sent again (at most once)' },
  },
];

describe('planNotificationRecovery', () => {
  it.each(notificationCases)('$name', (c) => {
    const ledger: LedgerEvent[] = [
      { v: 1, type: 'runStarted', at: AT, runId: 'r1', campaign: 'c', status: 'inProgress', intents: 1 },
      c.notice,
      ...(c.dispatched ? [{ v: 1 as const, type: 'notificationDispatch' as const, at: AT, runId: 'r1', channel: 'teams' as const, keys: [c.notice.key] }] : []),
    ];
    const open = openIntents(ledger);
    expect(open.notifications).toHaveLength(1);
    const disabled: LedgerEvent[] = c.disabled ? [{ v: 1, type: 'alertRaised', at: AT, runId: 'r2', userId: 'ada', userPrincipalName: upn('ada'), kind: 'AccountDisabled', message: 'm' }] : [];
    const after = state(c.stageNow ? [entered('ada', c.stageNow), ...disabled] : []);
    const [step] = planNotificationRecovery({ open: open.notifications, channel: c.channel, hasSender: c.hasSender ?? false, after, observedIds: new Set(c.observed === false ? [] : ['ada']) });
    expect({ action: step.action, channel: step.channel, detail: step.detail }).toEqual(c.want);
  });

  it.each([
    { name: 'counts an email found in the Sent Items as delivered', found: true, stageNow: 'passkeyRegistration' as Stage, want: 'delivered' },
    { name: 'sends again an email missing from the Sent Items while still due', found: false, stageNow: 'passkeyRegistration' as Stage, want: 'resend' },
    { name: 'cancels an email missing from the Sent Items once the user moved on', found: false, stageNow: 'enforced' as Stage, want: 'cancelled' },
  ])('$name', ({ found, stageNow, want }) => {
    expect(afterLookUp(sent('ada', 'passkeyRegistration', 'email'), found, state([entered('ada', stageNow)]), new Set(['ada']))).toBe(want);
  });
});
