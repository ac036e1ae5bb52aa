import { describe, expect, it } from 'vitest';
import { STATUS_MOVES } from '../../src/campaign/lock';
import type { CampaignStatus } from '../../src/campaign/types';
import {
  clockRefusal, emptyLedgerRefusal, identityRefusal, ledgerPosition, LedgerRefusedError, newLedgerRefusal, resetEvents, RUN_STATUS_MOVES, statusVerdict,
} from '../../src/engine/lifecycle';
import { foldLedger, type LedgerEvent } from '../../src/engine';
import { UsageError } from '../../src/errors';
import { NOW, day } from './fixtures';

const WHERE = '/state/admins-passkeys/ledger.jsonl';
const started = (status: string, at = NOW, extra: Partial<Extract<LedgerEvent, { type: 'runStarted' }>> = {}): LedgerEvent =>
  ({ v: 1, at, type: 'runStarted', runId: `r-${at}-${status}`, campaign: 'admins-passkeys', status, ...extra });
const reset = (at: string, generation: number): LedgerEvent[] => [
  { v: 1, type: 'campaignArchived', at, archive: '/state/admins-passkeys/archive/x', reason: 'r' },
  { v: 1, type: 'campaignReset', at, generation, reason: 'r' },
];

describe('ledgerPosition', () => {
  it.each([
    { name: 'an empty ledger has no status, no run and records no start', events: [], want: { campaigns: [], tenants: [], status: null, lastRunAt: null, recordsStart: false, generation: 0 } },
    { name: 'the last runStarted gives the status and the latest run time', events: [started('inProgress', NOW), started('paused', day(1))], want: { campaigns: ['admins-passkeys'], status: 'paused', lastRunAt: day(1), recordsStart: true } },
    { name: 'the latest time wins even when lines are out of order', events: [started('inProgress', day(3)), started('inProgress', day(2))], want: { lastRunAt: day(3) } },
    { name: 'runs of a notStarted campaign record no start', events: [started('notStarted'), started('notStarted', day(1))], want: { status: 'notStarted', recordsStart: false } },
    { name: 'a notStarted run with --new-ledger records a start', events: [started('notStarted', NOW, { newLedger: true })], want: { recordsStart: true } },
    { name: 'a reset makes the status notStarted and carries the generation', events: [started('ended'), ...reset(day(1), 2)], want: { status: 'notStarted', recordsStart: true, generation: 2 } },
    { name: 'a status this build does not know leaves the last known one', events: [started('inProgress'), started('archived', day(1))], want: { status: 'inProgress', lastRunAt: day(1) } },
    { name: 'every campaign and tenant named is listed once', events: [started('inProgress', NOW, { tenantId: 't1' }), { ...started('inProgress', day(1), { tenantId: 't2' }), campaign: 'all-staff-passkeys' } as LedgerEvent, started('inProgress', day(2), { tenantId: 't1' })], want: { campaigns: ['admins-passkeys', 'all-staff-passkeys'], tenants: ['t1', 't2'] } },
  ])('$name', ({ events, want }) => {
    expect(ledgerPosition(events as LedgerEvent[])).toMatchObject(want);
  });
});

describe('identityRefusal', () => {
  it.each([
    { name: 'an empty ledger belongs to anyone', events: [], at: { campaign: 'admins-passkeys', where: WHERE }, want: null },
    { name: 'a ledger of this campaign is accepted', events: [started('inProgress')], at: { campaign: 'admins-passkeys', where: WHERE }, want: null },
    {
      name: 'a ledger of another campaign is refused naming both',
      events: [started('inProgress')],
      at: { campaign: 'all-staff-passkeys', where: '/state/all-staff-passkeys/ledger.jsonl' },
      want: {
        code: 'OtherCampaignLedger',
        message: 'the ledger at /state/all-staff-passkeys/ledger.jsonl belongs to campaign admins-passkeys, not all-staff-passkeys.',
        hint: 'Check --state and --campaign: each campaign keeps its own ledger (all-staff-passkeys/ under --state), and a ledger copied from another campaign cannot be reused.',
      },
    },
    { name: 'a tenant is not compared while the run does not know its own', events: [started('inProgress', NOW, { tenantId: 't1' })], at: { campaign: 'admins-passkeys', where: WHERE }, want: null },
    { name: 'a ledger without tenant ids is accepted by a run that knows its tenant', events: [started('inProgress')], at: { campaign: 'admins-passkeys', where: WHERE, tenantId: 't2' }, want: null },
    {
      name: 'a ledger of another tenant is refused naming both',
      events: [started('inProgress', NOW, { tenantId: 't1' })],
      at: { campaign: 'admins-passkeys', where: WHERE, tenantId: 't2' },
      want: { code: 'OtherTenantLedger', message: `the ledger at ${WHERE} was written for tenant t1, not t2.`, hint: 'Check --state and the identity campaign signs in with: each tenant keeps its own ledger.' },
    },
  ])('$name', ({ events, at, want }) => {
    expect(identityRefusal(ledgerPosition(events as LedgerEvent[]), at)).toEqual(want);
  });
});

describe('clockRefusal', () => {
  it.each([
    { name: 'any time is fine on an empty ledger', events: [], now: day(-100), want: null },
    { name: 'the same time as the last run is fine (a rerun)', events: [started('inProgress', day(1))], now: day(1), want: null },
    { name: 'a later time is fine', events: [started('inProgress', day(1))], now: day(2), want: null },
    {
      name: 'a time before the last run is refused naming both times',
      events: [started('inProgress', NOW), started('inProgress', day(7))],
      now: day(6),
      want: {
        code: 'ClockBehindLedger',
        message: `now is ${day(6)}, earlier than the last run recorded for admins-passkeys (${day(7)}); nothing was written.`,
        hint: `A ledger only moves forward in time: check --now (or the machine's clock) and use a time at or after ${day(7)}.`,
      },
    },
  ])('$name', ({ events, now, want }) => {
    expect(clockRefusal(ledgerPosition(events as LedgerEvent[]), { campaign: 'admins-passkeys', now })).toEqual(want);
  });
});

describe('statusVerdict', () => {
  const S: CampaignStatus[] = ['notStarted', 'inProgress', 'paused', 'ended'];
  const ledgerAt = (status: CampaignStatus | null): LedgerEvent[] => (status === null ? [] : [started(status)]);

  it('allows in one run exactly the moves the lock rule allows in one reviewed change', () => {
    expect(RUN_STATUS_MOVES).toEqual(STATUS_MOVES);
  });

  const allowed: Array<[CampaignStatus | null, CampaignStatus, 'ok' | 'reset']> = [
    [null, 'notStarted', 'ok'], [null, 'inProgress', 'ok'],
    ...S.map((s): [CampaignStatus, CampaignStatus, 'ok'] => [s, s, 'ok']),
    ['notStarted', 'inProgress', 'ok'], ['inProgress', 'paused', 'ok'], ['paused', 'inProgress', 'ok'],
    ['inProgress', 'ended', 'ok'], ['paused', 'ended', 'ok'], ['ended', 'notStarted', 'reset'],
  ];
  it.each(allowed)('a run from %s to %s is %s', (from, to, kind) => {
    expect(statusVerdict(ledgerPosition(ledgerAt(from)), { campaign: 'admins-passkeys', status: to, where: WHERE })).toEqual({ kind });
  });

  it('after a reset the ledger is notStarted, so a second run at notStarted does not reset again', () => {
    const events = [started('ended'), ...reset(day(1), 1), started('notStarted', day(1))];
    expect(statusVerdict(ledgerPosition(events), { campaign: 'admins-passkeys', status: 'notStarted', where: WHERE })).toEqual({ kind: 'ok' });
    expect(statusVerdict(ledgerPosition(events), { campaign: 'admins-passkeys', status: 'inProgress', where: WHERE })).toEqual({ kind: 'ok' });
  });

  const fromEnded = 'From ended a campaign can only move to notStarted. An ended campaign starts again through a reset: set spec.status to notStarted and run reconcile once (it archives this ledger and starts a new one), then set inProgress.';
  const toNotStarted = (from: string) => `From ${from} a campaign can only move to ${from === 'inProgress' ? 'paused or ended' : 'inProgress or ended'}. Only an ended campaign can be reset: set spec.status to ended and run reconcile once, then set notStarted.`;
  const fromNotStarted = (verb: string) => `From notStarted a campaign can only move to inProgress. Set spec.status to inProgress (or back to notStarted) and run reconcile once before ${verb} it.`;
  it.each([
    { from: 'ended', to: 'inProgress', hint: fromEnded },
    { from: 'ended', to: 'paused', hint: fromEnded },
    { from: 'inProgress', to: 'notStarted', hint: toNotStarted('inProgress') },
    { from: 'paused', to: 'notStarted', hint: toNotStarted('paused') },
    { from: 'notStarted', to: 'paused', hint: fromNotStarted('pausing') },
    { from: 'notStarted', to: 'ended', hint: fromNotStarted('ending') },
  ] as Array<{ from: CampaignStatus; to: CampaignStatus; hint: string }>)('a run from $from to $to is refused naming both statuses and the fix', ({ from, to, hint }) => {
    expect(statusVerdict(ledgerPosition(ledgerAt(from)), { campaign: 'admins-passkeys', status: to, where: WHERE })).toEqual({
      kind: 'refused',
      refusal: {
        code: 'StatusMoveRefused',
        message: `campaign admins-passkeys is ${to} in its file, but its ledger at ${WHERE} last recorded ${from}; a run cannot move it from ${from} to ${to}. Nothing was written.`,
        hint,
      },
    });
  });

  it.each(['paused', 'ended'] as CampaignStatus[])('a %s campaign without a ledger is refused unless --new-ledger is given', (status) => {
    expect(statusVerdict(ledgerPosition([]), { campaign: 'admins-passkeys', status, where: WHERE })).toEqual({
      kind: 'refused',
      refusal: {
        code: 'NoLedgerForStartedCampaign',
        message: `campaign admins-passkeys is ${status} in its file, but there is no ledger at ${WHERE}: a started campaign must have one.`,
        hint: 'Check --state (or CAMPAIGN_STATE): it names the directory or container that holds admins-passkeys/. To record the campaign on a new, empty ledger anyway, run reconcile with --new-ledger.',
      },
    });
    expect(statusVerdict(ledgerPosition([]), { campaign: 'admins-passkeys', status, where: WHERE, newLedger: true })).toEqual({ kind: 'ok' });
  });
});

describe('emptyLedgerRefusal', () => {
  const at = { campaign: 'admins-passkeys', where: WHERE, group: 'passkey-campaign-admins-passkeys-enforced' };
  const hint = 'If --state (or CAMPAIGN_STATE) is mistyped, fix it and run again. To start admins-passkeys on this ledger anyway (the members stay in the group; the campaign treats them as new users), run reconcile with --new-ledger.';
  it.each([
    { name: 'an empty ledger and an empty group start the campaign', events: [], members: 0, newLedger: false, want: null },
    {
      name: 'an empty ledger while the group has members is refused naming the path, the group and its member count',
      events: [], members: 6, newLedger: false,
      want: { code: 'NoLedgerGroupHasMembers', message: `there is no ledger at ${WHERE}, but the enforcement group "passkey-campaign-admins-passkeys-enforced" already has 6 members; nothing was written.`, hint },
    },
    {
      name: 'a ledger of notStarted runs only while the group has a member is refused too',
      events: [started('notStarted')], members: 1, newLedger: false,
      want: { code: 'NoLedgerGroupHasMembers', message: `the ledger at ${WHERE} records no run of admins-passkeys, but the enforcement group "passkey-campaign-admins-passkeys-enforced" already has 1 member; nothing was written.`, hint },
    },
    { name: '--new-ledger lets the run start', events: [], members: 6, newLedger: true, want: null },
    { name: 'a ledger that records the campaign running explains the members', events: [started('inProgress')], members: 6, newLedger: false, want: null },
    { name: 'a ledger that starts with a reset explains the members', events: reset(NOW, 1), members: 6, newLedger: false, want: null },
  ])('$name', ({ events, members, newLedger, want }) => {
    const list = events as LedgerEvent[];
    expect(emptyLedgerRefusal(ledgerPosition(list), { ...at, members, newLedger, ledgerEmpty: list.length === 0 })).toEqual(want);
  });
});

describe('newLedgerRefusal', () => {
  it.each([
    { name: 'without --new-ledger nothing is refused', events: [started('inProgress')], newLedger: false, want: null },
    { name: '--new-ledger on an empty ledger is fine', events: [], newLedger: true, want: null },
    {
      name: '--new-ledger on a ledger that records runs is refused',
      events: [started('inProgress')], newLedger: true,
      want: { code: 'NewLedgerNotNeeded', message: `--new-ledger starts admins-passkeys on a new ledger, but the ledger at ${WHERE} already records its runs; nothing was written.`, hint: 'Run again without --new-ledger.' },
    },
  ])('$name', ({ events, newLedger, want }) => {
    expect(newLedgerRefusal(ledgerPosition(events as LedgerEvent[]), { campaign: 'admins-passkeys', where: WHERE, newLedger })).toEqual(want);
  });
});

describe('resetEvents', () => {
  it('opens the next generation with where the old ledger went, and the fold starts from no users', () => {
    const old = [started('inProgress'), { v: 1, type: 'userEnteredStage', at: NOW, userId: 'u1', userPrincipalName: 'a@contoso.com', from: null, to: 'enforced', reason: 'R', message: 'm' } as LedgerEvent, ...reset(day(1), 1), started('ended', day(2))];
    const opening = resetEvents(ledgerPosition(old), { now: day(3), archive: '/state/admins-passkeys/archive/2026-12-04T060000.000Z' });
    expect(opening).toEqual([
      { v: 1, type: 'campaignArchived', at: day(3), archive: '/state/admins-passkeys/archive/2026-12-04T060000.000Z', reason: 'spec.status moved from ended to notStarted' },
      { v: 1, type: 'campaignReset', at: day(3), generation: 2, reason: 'spec.status moved from ended to notStarted' },
    ]);
    expect(foldLedger(opening)).toMatchObject({ users: {}, generation: 2, archivedAt: null });
  });
});

describe('LedgerRefusedError', () => {
  it('is a usage error (exit 2) carrying the code, the message and the hint', () => {
    const e = new LedgerRefusedError({ code: 'ClockBehindLedger', message: 'm.', hint: 'h.' });
    expect(e).toBeInstanceOf(UsageError);
    expect({ code: e.code, message: e.message, hint: e.hint }).toEqual({ code: 'ClockBehindLedger', message: 'm.', hint: 'h.' });
  });
});
