// The lock rule (DESIGN §3): once a campaign runs, its file is frozen except for the status,
// the enforcement settings and added exclusions. Also the legal status moves.
import { formatPath, type PathSegment } from './source';
import type { RuleContext } from './rules';
import { finding } from './rules';
import type { Campaign, CampaignStatus, Diagnostic } from './types';

/** Which status may follow which, in one reviewed change. */
export const STATUS_MOVES: Record<CampaignStatus, readonly CampaignStatus[]> = {
  notStarted: ['inProgress'],
  inProgress: ['paused', 'ended'],
  paused: ['inProgress', 'ended'],
  ended: ['notStarted'],
};

const LOCKED_STATUSES: readonly CampaignStatus[] = ['inProgress', 'paused'];
const EXCLUSION_LISTS = ['breakGlass', 'users', 'groups'] as const;

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
  if (!LOCKED_STATUSES.includes(base.spec.status)) return out;

  for (const p of changedPaths(base, head)) {
    const [top, section, list] = p;
    if (top === 'spec' && (section === 'status' || section === 'enforcement')) continue;
    if (top === 'spec' && section === 'exclusions' && EXCLUSION_LISTS.includes(list as (typeof EXCLUSION_LISTS)[number])) {
      const key = list as (typeof EXCLUSION_LISTS)[number];
      const now = new Set(head.spec.exclusions[key].map((x) => x.toLowerCase()));
      const removed = base.spec.exclusions[key].filter((x) => !now.has(x.toLowerCase()));
      if (removed.length === 0) continue;
      out.push(finding(ctx, 'error', 'lock', p,
        `removes ${removed.join(', ')} while the campaign is ${base.spec.status} on ${rev}. Exclusions can only be added to a running campaign; end it first to change them.`));
      continue;
    }
    out.push(finding(ctx, 'error', 'lock', p,
      `cannot change while the campaign is ${base.spec.status} on ${rev}: only spec.status, spec.enforcement.* and added exclusions may change. Revert ${formatPath(p)}, or end the campaign and start a new one.`));
  }
  return out;
}
