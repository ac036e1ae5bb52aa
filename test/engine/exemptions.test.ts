// The exemption rules without HTTP (issue #11): every exemption entry resolves in this run or the run stops;
// the ledger's records keep their accounts excluded; a UPN replaced by an id must be the recorded account.
import { describe, expect, it } from 'vitest';
import type { Campaign, RetiredExclusion } from '../../src/campaign/types';
import { checkExemptions, exemptionEvents, foldExemptions, type ExemptionFact } from '../../src/engine/exemptions';
import type { SnapshotDirectoryObject, SnapshotUser } from '../../src/engine/snapshot';
import type { ExclusionKind } from '../../src/engine/types';
import type { ExemptionResolvedEvent, LedgerEvent } from '../../src/ledger/events';
import { NOW, campaign as baseCampaign } from './fixtures';

const person = (name: string, upn = `${name}@contoso.com`): SnapshotUser => ({ id: `0000000${name.length}-0000-4000-8000-${name.padStart(12, '0')}`, userPrincipalName: upn, displayName: name, accountEnabled: true });
const bg1 = person('bg1');
const bg2 = person('bg2');
const carol = person('carol');
const dave = person('dave');
const EARLIER = '2026-11-20T06:00:00.000Z';

type Exclusions = Partial<Campaign['spec']['exclusions']>;
const campaign = (x: Exclusions): Campaign => {
  const c = baseCampaign();
  return { ...c, spec: { ...c.spec, exclusions: { ...c.spec.exclusions, breakGlass: [], ...x } } };
};
const resolved = (list: 'breakGlass' | 'users', entry: string, u: SnapshotUser, upn = u.userPrincipalName): LedgerEvent =>
  ({ v: 1, at: EARLIER, runId: 'r0', type: 'exemptionResolved', list, entry, objectId: u.id, userPrincipalName: upn });
const retired = (r: RetiredExclusion): LedgerEvent => ({ v: 1, at: EARLIER, runId: 'r0', type: 'exemptionRetired', list: r.from, entry: r.entry, by: r.by, reason: r.reason, objectIds: [] });
const fact = (list: 'breakGlass' | 'users', entry: string, u: SnapshotUser, extra: Partial<Pick<ExemptionResolvedEvent, 'userPrincipalName' | 'replaces'>> = {}): ExemptionFact =>
  ({ type: 'exemptionResolved', list, entry, objectId: u.id, userPrincipalName: u.userPrincipalName, ...extra });
const RETIRE_BG1: RetiredExclusion = { entry: 'bg1@contoso.com', from: 'breakGlass', by: 'alice@contoso.com', reason: 'deleted in CHG-1' };

interface Case {
  name: string;
  exclusions: Exclusions;
  users: SnapshotUser[];
  groups?: Record<string, SnapshotDirectoryObject[] | null>;
  ledger?: LedgerEvent[];
  want: {
    /** `list entry problem`, in order. */
    problems?: string[];
    /** Exact message of the first problem. */
    message?: string;
    records?: ExemptionFact[];
    /** Accounts excluded by the ledger's records; default: none. */
    recorded?: Record<string, ExclusionKind>;
  };
}

const cases: Case[] = [
  {
    name: 'records a break-glass entry the first time it resolves, by UPN or object id',
    exclusions: { breakGlass: ['BG1@contoso.com', bg2.id.toUpperCase()] },
    users: [bg1, bg2],
    want: { records: [fact('breakGlass', 'BG1@contoso.com', bg1), fact('breakGlass', bg2.id.toUpperCase(), bg2)] },
  },
  {
    name: 'records nothing when the entry resolves to the account and UPN the ledger recorded, and keeps that account excluded',
    exclusions: { breakGlass: ['bg1@contoso.com'] },
    users: [bg1],
    ledger: [resolved('breakGlass', 'bg1@contoso.com', bg1)],
    want: { recorded: { [bg1.id]: 'breakGlass' } },
  },
  {
    name: 'records the new UPN when an account listed by object id was renamed',
    exclusions: { breakGlass: [bg1.id] },
    users: [{ ...bg1, userPrincipalName: 'emergency1@contoso.com' }],
    ledger: [resolved('breakGlass', bg1.id, bg1)],
    want: { records: [fact('breakGlass', bg1.id, bg1, { userPrincipalName: 'emergency1@contoso.com' })], recorded: { [bg1.id]: 'breakGlass' } },
  },
  {
    name: 'records the other account when a UPN entry now resolves to one, and keeps both excluded',
    exclusions: { breakGlass: ['bg1@contoso.com'] },
    users: [{ ...bg1, userPrincipalName: 'old-bg1@contoso.com' }, { ...dave, userPrincipalName: 'bg1@contoso.com' }],
    ledger: [resolved('breakGlass', 'bg1@contoso.com', bg1)],
    want: { records: [fact('breakGlass', 'bg1@contoso.com', dave, { userPrincipalName: 'bg1@contoso.com' })], recorded: { [bg1.id]: 'breakGlass' } },
  },
  {
    name: 'stops on a break-glass UPN that no longer resolves, naming the recorded account and both fixes',
    exclusions: { breakGlass: ['bg1@contoso.com'] },
    users: [{ ...bg1, userPrincipalName: 'emergency1@contoso.com' }],
    ledger: [resolved('breakGlass', 'bg1@contoso.com', bg1)],
    want: {
      problems: ['breakGlass bg1@contoso.com notFound'],
      message: `spec.exclusions.breakGlass[0] bg1@contoso.com does not resolve to an account in the tenant; the ledger recorded it as ${bg1.id} (bg1@contoso.com, 2026-11-20), and that account stays excluded. ` +
        `If the account was renamed, replace the entry by its object id ${bg1.id}; if it was deleted, move the entry to spec.exclusions.retired (with by and reason).`,
      recorded: { [bg1.id]: 'breakGlass' },
    },
  },
  {
    name: 'stops on a break-glass entry no run has recorded that does not resolve',
    exclusions: { breakGlass: ['bg1@contoso.com', 'bg9@contoso.com'] },
    users: [bg1],
    want: {
      problems: ['breakGlass bg9@contoso.com notFound'],
      message: 'spec.exclusions.breakGlass[1] bg9@contoso.com does not resolve to an account in the tenant, and no run has recorded it. ' +
        'Add the intended account by its object id and move the entry to spec.exclusions.retired (with by and reason); if the account was deleted, only move the entry to spec.exclusions.retired (with by and reason).',
      records: [fact('breakGlass', 'bg1@contoso.com', bg1)],
    },
  },
  {
    name: 'stops on an excluded user that does not resolve, as on a break-glass account',
    exclusions: { breakGlass: ['bg1@contoso.com'], users: ['carol@contoso.com'] },
    users: [bg1],
    ledger: [resolved('breakGlass', 'bg1@contoso.com', bg1), resolved('users', 'carol@contoso.com', carol)],
    want: { problems: ['users carol@contoso.com notFound'], recorded: { [bg1.id]: 'breakGlass', [carol.id]: 'user' } },
  },
  {
    name: 'accepts a UPN replaced by the object id the ledger recorded for it, and records which entry it replaces',
    exclusions: { breakGlass: [bg1.id] },
    users: [{ ...bg1, userPrincipalName: 'emergency1@contoso.com' }],
    ledger: [resolved('breakGlass', 'bg1@contoso.com', bg1)],
    want: { records: [fact('breakGlass', bg1.id, bg1, { userPrincipalName: 'emergency1@contoso.com', replaces: 'bg1@contoso.com' })], recorded: { [bg1.id]: 'breakGlass' } },
  },
  {
    name: 'stops on a UPN replaced by an object id that is not the account the ledger recorded',
    exclusions: { breakGlass: [dave.id] },
    users: [bg1, dave],
    ledger: [resolved('breakGlass', 'bg1@contoso.com', bg1)],
    want: {
      problems: ['breakGlass bg1@contoso.com replacedByOtherId'],
      message: `spec.exclusions.breakGlass no longer lists bg1@contoso.com, which the ledger recorded as ${bg1.id} (bg1@contoso.com, 2026-11-20), and no entry of spec.exclusions.breakGlass is that object id. ` +
        `List ${bg1.id} (the account recorded for bg1@contoso.com) instead of the id that replaced it, or, if that account is gone, move bg1@contoso.com to spec.exclusions.retired (with by and reason).`,
      records: [fact('breakGlass', dave.id, dave)],
      recorded: { [bg1.id]: 'breakGlass' },
    },
  },
  {
    name: 'stops on an exclusion group that answers 404, and not on one that was not read',
    exclusions: { breakGlass: ['bg1@contoso.com'], groups: ['g-gone', 'g-unread'] },
    users: [bg1],
    groups: { 'g-gone': null },
    want: {
      problems: ['groups g-gone notFound'],
      message: 'spec.exclusions.groups[0] g-gone does not exist (Graph answered 404), so it would exclude nobody. ' +
        'If the group was deleted, move the entry to spec.exclusions.retired (with by and reason): its former members are then no longer excluded through it, so add the group that replaces it, if any. A group restored from the recycle bin resolves again.',
      records: [fact('breakGlass', 'bg1@contoso.com', bg1)],
    },
  },
  {
    name: 'does not resolve a retired entry, records its retirement with the ids recorded for it, and keeps them excluded',
    exclusions: { breakGlass: ['bg2@contoso.com'], retired: [RETIRE_BG1] },
    users: [bg2],
    ledger: [resolved('breakGlass', 'bg1@contoso.com', bg1), resolved('breakGlass', 'bg2@contoso.com', bg2)],
    want: {
      records: [{ type: 'exemptionRetired', list: 'breakGlass', entry: 'bg1@contoso.com', by: 'alice@contoso.com', reason: 'deleted in CHG-1', objectIds: [bg1.id] }],
      recorded: { [bg1.id]: 'breakGlass', [bg2.id]: 'breakGlass' },
    },
  },
  {
    name: 'records a retirement once',
    exclusions: { breakGlass: ['bg2@contoso.com'], retired: [RETIRE_BG1] },
    users: [bg2],
    ledger: [resolved('breakGlass', 'bg1@contoso.com', bg1), resolved('breakGlass', 'bg2@contoso.com', bg2), retired(RETIRE_BG1)],
    want: { recorded: { [bg1.id]: 'breakGlass', [bg2.id]: 'breakGlass' } },
  },
  {
    name: 'keeps an account excluded as break-glass when it was also recorded as an excluded user',
    exclusions: { breakGlass: [carol.id], users: ['carol@contoso.com'] },
    users: [carol],
    ledger: [resolved('users', 'carol@contoso.com', carol), resolved('breakGlass', carol.id, carol), resolved('users', 'carol@contoso.com', carol)],
    want: { recorded: { [carol.id]: 'breakGlass' } },
  },
  {
    name: 'forgets the records of the generation before a campaign reset',
    exclusions: { breakGlass: ['bg2@contoso.com'] },
    users: [bg2],
    ledger: [resolved('breakGlass', 'bg1@contoso.com', bg1), { v: 1, at: EARLIER, type: 'campaignReset', generation: 1 }],
    want: { records: [fact('breakGlass', 'bg2@contoso.com', bg2)] },
  },
];

describe('checkExemptions: one row per exemption rule', () => {
  it.each(cases)('$name', ({ exclusions, users, groups = {}, ledger = [], want }) => {
    const check = checkExemptions(campaign(exclusions), { users, transitiveMembers: groups }, foldExemptions(ledger));
    expect(check.problems.map((p) => `${p.list} ${p.entry} ${p.problem}`)).toEqual(want.problems ?? []);
    if (want.message) expect(check.problems[0].message).toBe(want.message);
    expect(check.records).toEqual(want.records ?? []);
    expect(Object.fromEntries(check.recordedExclusions)).toEqual(want.recorded ?? {});
  });
});

describe('exemptionEvents: the ledger lines of a run', () => {
  const check = checkExemptions(campaign({ breakGlass: ['bg1@contoso.com', 'bg9@contoso.com'] }), { users: [bg1], transitiveMembers: {} }, foldExemptions([]));

  it('writes the records of a run that goes on, keys in the ledger\'s order (v, at, runId, type, …)', () => {
    const events = exemptionEvents(check, { runId: 'r1', at: NOW }, { problems: false });
    expect(events.map((e) => JSON.stringify(e))).toEqual([
      `{"v":1,"at":"${NOW}","runId":"r1","type":"exemptionResolved","list":"breakGlass","entry":"bg1@contoso.com","objectId":"${bg1.id}","userPrincipalName":"bg1@contoso.com"}`,
    ]);
  });

  it('adds one exemptionUnresolved per problem for a run that stops', () => {
    const events = exemptionEvents(check, { runId: 'r1', at: NOW }, { problems: true });
    expect(events.map((e) => e.type)).toEqual(['exemptionResolved', 'exemptionUnresolved']);
    expect(events[1]).toEqual({ v: 1, at: NOW, runId: 'r1', type: 'exemptionUnresolved', list: 'breakGlass', entry: 'bg9@contoso.com', problem: 'notFound', message: check.problems[0].message });
  });
});
