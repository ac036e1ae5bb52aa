// The lock rule: once a campaign runs, its file is frozen except for the status,
// the enforcement settings and added exclusions. Also the legal status moves. Two reviewed ways take an
// exclusion entry out of its list: a UPN replaced by an object id (reconcile then checks the id
// against the account the ledger recorded for the UPN), and an entry moved to spec.exclusions.retired.
import { formatPath, type PathSegment } from './source';
import type { RuleContext } from './rules';
import { finding } from './rules';
import { isGuid } from './roles';
import { EXCLUSION_LISTS, type Campaign, type CampaignStatus, type Diagnostic, type ExclusionList, type RetiredExclusion } from './types';
import { appendAll } from '../contracts/arrays';

/** Which status may follow which, in one reviewed change. */
export const STATUS_MOVES: Record<CampaignStatus, readonly CampaignStatus[]> = {
  notStarted: ['inProgress'],
  inProgress: ['paused', 'ended'],
  paused: ['inProgress', 'ended'],
  ended: ['notStarted'],
};

const LOCKED_STATUSES: readonly CampaignStatus[] = ['inProgress', 'paused'];
const lower = (s: string) => s.toLowerCase();
const isExclusionList = (x: PathSegment | undefined): x is ExclusionList => (EXCLUSION_LISTS as readonly PathSegment[]).includes(x as PathSegment);

function statusMove(from: CampaignStatus, to: CampaignStatus, ctx: RuleContext, rev: string): Diagnostic[] {
  if (from === to || STATUS_MOVES[from].includes(to)) return [];
  const allowed = STATUS_MOVES[from].join(' or ');
  const extra = to === 'notStarted' ? ' End it first (status: ended), merge, then reset it to notStarted.' : '';
  return [finding(ctx, 'error', 'statusMove', ['spec', 'status'],
    `cannot move from ${from} (on ${rev}) to ${to}. From ${from} a campaign can only move to ${allowed}.${extra}`)];
}

/** Leaf paths whose values differ between a and b. */
function changedPaths(a: unknown, b: unknown, at: PathSegment[] = []): PathSegment[][] {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => changedPaths(a[k], b[k], [...at, k]));
  }
  // Lists of ids and UPNs are sets: reordering them is not a change.
  const canon = (x: unknown) =>
    Array.isArray(x) && x.every((v) => typeof v === 'string') ? JSON.stringify([...new Set(x.map((v: string) => v.toLowerCase()))].sort()) : JSON.stringify(x);
  return canon(a) === canon(b) ? [] : [at];
}

/**
 * Compares the file at the base revision with the working copy. `base` null means the campaign
 * is new in this change.
 */
export function checkLock(base: Campaign | null, head: Campaign, ctx: RuleContext, rev: string): Diagnostic[] {
  if (!base) {
    if (head.spec.status === 'notStarted' || head.spec.status === 'inProgress') return [];
    return [finding(ctx, 'error', 'statusMove', ['spec', 'status'],
      `a new campaign cannot start as ${head.spec.status}. Use notStarted to review it first, or inProgress to deploy it.`)];
  }
  const out = statusMove(base.spec.status, head.spec.status, ctx, rev);
  appendAll(out, leavingGraduated(base, head, ctx, rev));
  if (!LOCKED_STATUSES.includes(base.spec.status)) return out;

  for (const p of changedPaths(base, head)) {
    const [top, section, list] = p;
    if (top === 'spec' && (section === 'status' || section === 'enforcement')) continue;
    if (top === 'spec' && section === 'exclusions' && list === 'retired') {
      appendAll(out, retiredKept(base, head, ctx, rev, p));
      continue;
    }
    if (top === 'spec' && section === 'exclusions' && isExclusionList(list)) {
      const removed = removedEntries(base, head, list);
      if (removed.length === 0) continue;
      const how = list === 'groups'
        ? 'to retire a group that no longer exists, move its entry to spec.exclusions.retired (with by and reason)'
        : 'to replace a UPN, write the account\'s object id in its place (reconcile checks it against the account the ledger recorded); to retire an entry that no longer resolves, move it to spec.exclusions.retired (with by and reason)';
      out.push(finding(ctx, 'error', 'lock', p,
        `removes ${removed.join(', ')} while the campaign is ${base.spec.status} on ${rev}. Exclusions can only be added to a running campaign: ${how}; otherwise end it first to change them.`));
      continue;
    }
    out.push(finding(ctx, 'error', 'lock', p,
      `cannot change while the campaign is ${base.spec.status} on ${rev}: only spec.status, spec.enforcement.* and added exclusions may change. Revert ${formatPath(p)}, or end the campaign and start a new one.`));
  }
  return out;
}

/** Leaving graduated mode is allowed, but `pulumi up` then deletes the graduated group and its enabled policy: say what that does. */
function leavingGraduated(base: Campaign, head: Campaign, ctx: RuleContext, rev: string): Diagnostic[] {
  if (base.spec.enforcement.mode !== 'graduated' || head.spec.enforcement.mode === 'graduated' || base.spec.status === 'notStarted') return [];
  const after = head.spec.enforcement.policyState === 'enabled'
    ? 'they stay enforced by the first policy, which this change enables'
    : 'they are then only under the report-only policy: nobody is enforced any more';
  return [finding(ctx, 'warning', 'leavingGraduated', ['spec', 'enforcement', 'mode'],
    `leaves graduated mode (graduated on ${rev}): pulumi up deletes the group passkey-campaign-${head.metadata.name}-graduated and its enabled policy, so its users lose that policy; ${after}. Check the preview before merging.`)];
}

/**
 * Entries of `list` in base that head drops without a reviewed way: not retired, and not a UPN replaced by an
 * object id. Replacement is counted, not paired: head must add at least as many new object ids as it drops UPNs;
 * which id is which account is a fact of the tenant, so reconcile checks it against the ledger.
 */
function removedEntries(base: Campaign, head: Campaign, list: ExclusionList): string[] {
  const before = base.spec.exclusions[list];
  const now = head.spec.exclusions[list];
  const kept = new Set(now.map(lower));
  const retired = new Set(head.spec.exclusions.retired.filter((r) => r.from === list).map((r) => lower(r.entry)));
  const removed = before.filter((x) => !kept.has(lower(x)) && !retired.has(lower(x)));
  if (list === 'groups') return removed;
  const had = new Set(before.map(lower));
  const addedIds = now.filter((x) => isGuid(x) && !had.has(lower(x))).length;
  const upns = removed.filter((x) => !isGuid(x));
  return upns.length > 0 && upns.length <= addedIds ? removed.filter((x) => isGuid(x)) : removed;
}

/** Retired entries are a record: a running campaign may add them, never drop or rewrite one. */
function retiredKept(base: Campaign, head: Campaign, ctx: RuleContext, rev: string, at: PathSegment[]): Diagnostic[] {
  const key = (r: RetiredExclusion) => JSON.stringify([lower(r.entry), r.from, r.by, r.reason]);
  const now = new Set(head.spec.exclusions.retired.map(key));
  const lost = base.spec.exclusions.retired.filter((r) => !now.has(key(r)));
  if (lost.length === 0) return [];
  return [finding(ctx, 'error', 'lock', at,
    `removes or changes the retired entr${lost.length === 1 ? 'y' : 'ies'} ${lost.map((r) => `${r.entry} (from ${r.from})`).join(', ')} while the campaign is ${base.spec.status} on ${rev}. Retired entries are a record: a running campaign may add them, never remove or change one. Restore ${lost.length === 1 ? 'it' : 'them'} as on ${rev}.`)];
}
