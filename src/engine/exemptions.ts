// Exemptions are facts (issue #11). Every break-glass entry, excluded user and excluded group must resolve in the
// run that relies on it; a run that cannot establish one makes no move at all (reconcile stops, plan says so).
// Pure: the campaign, the tenant as read and the ledger's exemption records in; what to keep excluding, what is
// wrong (with its fix) and what to record out.
//
//   ledger records   exemptionResolved: entry → object id (+ UPN), when first seen and whenever either changes
//                    exemptionRetired:  an entry moved to spec.exclusions.retired, with who and why
//   every object id the ledger ever recorded stays excluded from enforcement for the campaign's life (until a
//   reset), so an account does not lose its exemption because it was renamed, replaced by its id or retired.
import type { Campaign, ExclusionList } from '../campaign/types';
import {
  LEDGER_VERSION,
  type ExemptionEvent,
  type ExemptionProblemKind,
  type ExemptionResolvedEvent,
  type ExemptionRetiredEvent,
  type LedgerEvent,
} from '../ledger/events';
import type { SnapshotUser, TenantSnapshot } from './snapshot';
import type { ExclusionKind } from './types';

/** The lists whose entries name accounts (groups are listed by object id and resolve as a whole). */
export type AccountList = 'breakGlass' | 'users';
const ACCOUNT_LISTS: readonly AccountList[] = ['breakGlass', 'users'];

/** The ExclusionKind an account recorded under a list is excluded as. */
const KIND: Record<AccountList, ExclusionKind> = { breakGlass: 'breakGlass', users: 'user' };

export interface ExemptionRecord {
  list: AccountList;
  entry: string;
  objectId: string;
  userPrincipalName: string;
  /** When the run recorded it. */
  at: string;
}

/** The ledger's exemption records, folded. Keys are `list:entry` in lower case. */
export interface ExemptionLedger {
  /** The latest record per entry. */
  latest: Map<string, ExemptionRecord>;
  /** Every object id (lower case) recorded per entry, oldest first. */
  idsByEntry: Map<string, string[]>;
  /** Every object id (lower case) ever recorded, with the kind it stays excluded as (break-glass wins). */
  ids: Map<string, ExclusionKind>;
  /** Entries whose retirement is recorded. */
  retired: Set<string>;
}

const lower = (s: string) => s.toLowerCase();
const keyOf = (list: ExclusionList, entry: string) => `${list}:${lower(entry)}`;

export function emptyExemptionLedger(): ExemptionLedger {
  return { latest: new Map(), idsByEntry: new Map(), ids: new Map(), retired: new Set() };
}

/** The exemption records of a ledger (events oldest first). A reset starts a new generation without them. */
export function foldExemptions(events: Iterable<LedgerEvent>): ExemptionLedger {
  let l = emptyExemptionLedger();
  for (const e of events) {
    switch (e.type) {
      case 'campaignReset':
        // After a reset the campaign file may be edited freely again: the old records constrain nothing.
        l = emptyExemptionLedger();
        break;
      case 'exemptionResolved': {
        const key = keyOf(e.list, e.entry);
        l.latest.set(key, { list: e.list, entry: e.entry, objectId: e.objectId, userPrincipalName: e.userPrincipalName, at: e.at });
        const id = lower(e.objectId);
        const ids = l.idsByEntry.get(key) ?? [];
        if (!ids.includes(id)) l.idsByEntry.set(key, [...ids, id]);
        if (l.ids.get(id) !== 'breakGlass') l.ids.set(id, KIND[e.list]);
        break;
      }
      case 'exemptionRetired':
        l.retired.add(keyOf(e.list, e.entry));
        break;
      default:
        break;
    }
  }
  return l;
}

/** An exemption entry this run could not establish. */
export interface ExemptionProblem {
  list: ExclusionList;
  entry: string;
  /** Index in its list (for the field path); null for an entry the file no longer lists. */
  index: number | null;
  problem: ExemptionProblemKind;
  /** What the ledger recorded for the entry, if anything. */
  recorded: ExemptionRecord | null;
  /** The problem and its fix, in sentences. */
  message: string;
}

type Fact<E> = E extends ExemptionEvent ? Omit<E, 'v' | 'at' | 'runId'> : never;
/** What this run learned and must record: first sightings, changes, retirements. */
export type ExemptionFact = Fact<ExemptionResolvedEvent | ExemptionRetiredEvent>;

export interface ExemptionCheck {
  /** Accounts the ledger recorded as exempt (lower-case id → kind): excluded whether or not their entry resolves. */
  recordedExclusions: Map<string, ExclusionKind>;
  /** Non-empty: the campaign makes no move this run. */
  problems: ExemptionProblem[];
  records: ExemptionFact[];
}

export function emptyExemptionCheck(): ExemptionCheck {
  return { recordedExclusions: new Map(), problems: [], records: [] };
}

const RETIRE = 'move the entry to spec.exclusions.retired (with by and reason)';
const day = (iso: string) => iso.slice(0, 10);

/** The sentences of each problem: what is wrong, then how to fix it. */
const SAY = {
  accountMissing: (list: AccountList, entry: string, index: number, rec: ExemptionRecord | null) =>
    rec
      ? `spec.exclusions.${list}[${index}] ${entry} does not resolve to an account in the tenant; the ledger recorded it as ${rec.objectId} (${rec.userPrincipalName}, ${day(rec.at)}), and that account stays excluded. ` +
        `If the account was renamed, replace the entry by its object id ${rec.objectId}; if it was deleted, ${RETIRE}.`
      : `spec.exclusions.${list}[${index}] ${entry} does not resolve to an account in the tenant, and no run has recorded it. ` +
        `Add the intended account by its object id and ${RETIRE}; if the account was deleted, only ${RETIRE}.`,
  groupMissing: (entry: string, index: number) =>
    `spec.exclusions.groups[${index}] ${entry} does not exist (Graph answered 404), so it would exclude nobody. ` +
    `If the group was deleted, ${RETIRE}: its former members are then no longer excluded through it, so add the group that replaces it, if any. A group restored from the recycle bin resolves again.`,
  replaced: (list: AccountList, rec: ExemptionRecord) =>
    `spec.exclusions.${list} no longer lists ${rec.entry}, which the ledger recorded as ${rec.objectId} (${rec.userPrincipalName}, ${day(rec.at)}), and no entry of spec.exclusions.${list} is that object id. ` +
    `List ${rec.objectId} (the account recorded for ${rec.entry}) instead of the id that replaced it, or, if that account is gone, move ${rec.entry} to spec.exclusions.retired (with by and reason).`,
} as const;

/**
 * Checks every exemption entry of the campaign against the tenant as read and the ledger's records.
 * `s` must be a complete read (no campaign-level read errors): a group not read counts as existing.
 */
export function checkExemptions(campaign: Campaign, s: Pick<TenantSnapshot, 'users' | 'transitiveMembers'>, ledger: ExemptionLedger): ExemptionCheck {
  const ex = campaign.spec.exclusions;
  // Only the accounts the lists name are indexed, not every user read.
  const named = new Set(ACCOUNT_LISTS.flatMap((list) => ex[list].map(lower)));
  const byId = new Map<string, SnapshotUser>();
  const byUpn = new Map<string, SnapshotUser>();
  if (named.size) {
    for (const u of s.users) {
      if (named.has(lower(u.id))) byId.set(lower(u.id), u);
      if (named.has(lower(u.userPrincipalName))) byUpn.set(lower(u.userPrincipalName), u);
    }
  }
  const find = (ref: string) => byId.get(lower(ref)) ?? byUpn.get(lower(ref));
  const retiredInFile = new Set(ex.retired.map((r) => keyOf(r.from, r.entry)));
  const problems: ExemptionProblem[] = [];
  const records: ExemptionFact[] = [];

  for (const list of ACCOUNT_LISTS) {
    const entries = ex[list];
    const listed = new Set(entries.map(lower));
    // Recorded entries the file no longer lists (and did not retire): each was replaced by its object id, which the
    // lock rule allows; the id listed must be the account the ledger recorded.
    const gone = [...ledger.latest.entries()].filter(([k, r]) => r.list === list && !listed.has(lower(r.entry)) && !retiredInFile.has(k)).map(([, r]) => r);
    const replacedBy = new Map(gone.filter((r) => listed.has(lower(r.objectId))).map((r) => [lower(r.objectId), r.entry]));

    entries.forEach((entry, index) => {
      const key = keyOf(list, entry);
      const rec = ledger.latest.get(key) ?? null;
      const u = find(entry);
      if (!u) {
        problems.push({ list, entry, index, problem: 'notFound', recorded: rec, message: SAY.accountMissing(list, entry, index, rec) });
        return;
      }
      if (rec && lower(rec.objectId) === lower(u.id) && rec.userPrincipalName === u.userPrincipalName) return;
      const replaces = rec ? undefined : replacedBy.get(lower(u.id));
      records.push({ type: 'exemptionResolved', list, entry, objectId: u.id, userPrincipalName: u.userPrincipalName, ...(replaces ? { replaces } : {}) });
    });
    for (const rec of gone) {
      if (listed.has(lower(rec.objectId))) continue;
      problems.push({ list, entry: rec.entry, index: null, problem: 'replacedByOtherId', recorded: rec, message: SAY.replaced(list, rec) });
    }
  }

  ex.groups.forEach((entry, index) => {
    // null: the group answered 404 (observe); absent: not read, which a complete read never leaves.
    if (s.transitiveMembers[lower(entry)] === null) problems.push({ list: 'groups', entry, index, problem: 'notFound', recorded: null, message: SAY.groupMissing(entry, index) });
  });

  for (const r of ex.retired) {
    const key = keyOf(r.from, r.entry);
    if (ledger.retired.has(key)) continue;
    records.push({ type: 'exemptionRetired', list: r.from, entry: r.entry, by: r.by, reason: r.reason, objectIds: ledger.idsByEntry.get(key) ?? [] });
  }
  return { recordedExclusions: new Map(ledger.ids), problems, records };
}

/** The ledger lines of a run: its records, then (for a run that stops) one exemptionUnresolved per problem. */
export function exemptionEvents(check: ExemptionCheck, meta: { runId: string; at: string }, opts: { problems: boolean }): ExemptionEvent[] {
  const base = { v: LEDGER_VERSION, at: meta.at, runId: meta.runId };
  const out: ExemptionEvent[] = check.records.map((r) => ({ ...base, ...r }));
  if (!opts.problems) return out;
  for (const p of check.problems) {
    out.push({ ...base, type: 'exemptionUnresolved', list: p.list, entry: p.entry, problem: p.problem, ...(p.recorded ? { recordedObjectId: p.recorded.objectId } : {}), message: p.message });
  }
  return out;
}
