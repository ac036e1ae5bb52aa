// Ledger identity, time and lifecycle (DESIGN §3 lock rule, §10 "Ledger identity and time"), pure: what the
// ledger says about itself (whose it is, when it last ran, the status it last recorded) and whether a run may
// go ahead from there. reconcile/run.ts and the CLI turn a refusal into exit 2; plan turns most into warnings.
import type { CampaignStatus } from '../campaign/types';
import { UsageError } from '../errors';
import { LEDGER_VERSION, type CampaignArchivedEvent, type CampaignResetEvent, type LedgerEvent } from '../ledger/events';

/**
 * The status moves one reconcile run may see between the ledger's last recorded status and the campaign file,
 * as the lock rule allows them in one reviewed change (campaign/lock.ts STATUS_MOVES; a test keeps them equal).
 * Staying put is always allowed; `ended → notStarted` is the reset.
 */
export const RUN_STATUS_MOVES: Readonly<Record<CampaignStatus, readonly CampaignStatus[]>> = {
  notStarted: ['inProgress'],
  inProgress: ['paused', 'ended'],
  paused: ['inProgress', 'ended'],
  ended: ['notStarted'],
};

/** Why a run (or status/history/postpone) refuses a ledger; plan reports the same codes as warnings. */
export const LEDGER_REFUSALS = [
  'OtherCampaignLedger',
  'OtherTenantLedger',
  'ClockBehindLedger',
  'StatusMoveRefused',
  'NoLedgerForStartedCampaign',
  'NoLedgerGroupHasMembers',
  'NewLedgerNotNeeded',
] as const;
export type LedgerRefusal = (typeof LEDGER_REFUSALS)[number];

export interface Refusal {
  code: LedgerRefusal;
  message: string;
  hint: string;
}

/** A refusal as an error: exit 2 with the message and its hint. Callers read `code`, never the message. */
export class LedgerRefusedError extends UsageError {
  readonly code: LedgerRefusal;
  constructor(r: Refusal) {
    super(r.message, r.hint);
    this.code = r.code;
  }
}

/** What the ledger says about itself. */
export interface LedgerPosition {
  /** Every campaign name its runStarted events carry, in order of first appearance. */
  campaigns: string[];
  /** Every tenant id its runStarted events carry (none before tenant ids were recorded). */
  tenants: string[];
  /** The status of the last runStarted, or notStarted after a later campaignReset; null for a ledger without either. */
  status: CampaignStatus | null;
  /** The latest `at` of a runStarted; null when the ledger holds no run. */
  lastRunAt: string | null;
  /**
   * The ledger records the campaign running (a runStarted with another status than notStarted), a reset or a
   * start with --new-ledger: each explains members in the enforcement group. False for an empty ledger.
   */
  recordsStart: boolean;
  /** The generation the fold is at (campaignReset), for the next reset. */
  generation: number;
}

const STATUSES: ReadonlySet<string> = new Set(Object.keys(RUN_STATUS_MOVES));
const isStatus = (s: string): s is CampaignStatus => STATUSES.has(s);

export function ledgerPosition(events: Iterable<LedgerEvent>): LedgerPosition {
  const p: LedgerPosition = { campaigns: [], tenants: [], status: null, lastRunAt: null, recordsStart: false, generation: 0 };
  let lastMs = -Infinity;
  for (const e of events) {
    if (e.type === 'runStarted') {
      if (!p.campaigns.includes(e.campaign)) p.campaigns.push(e.campaign);
      if (e.tenantId !== undefined && !p.tenants.includes(e.tenantId)) p.tenants.push(e.tenantId);
      // A status this build does not know (a newer writer) leaves the last known one standing.
      if (isStatus(e.status)) p.status = e.status;
      if (e.status !== 'notStarted' || e.newLedger) p.recordsStart = true;
      const ms = Date.parse(e.at);
      if (ms > lastMs) {
        lastMs = ms;
        p.lastRunAt = e.at;
      }
    } else if (e.type === 'campaignReset') {
      p.status = 'notStarted';
      p.recordsStart = true;
      p.generation = e.generation;
    }
  }
  return p;
}

/** The ledger belongs to another campaign (or tenant, when both are known): nothing may read or write it as ours. */
export function identityRefusal(pos: LedgerPosition, at: { campaign: string; tenantId?: string; where: string }): Refusal | null {
  const other = pos.campaigns.find((c) => c !== at.campaign);
  if (other !== undefined) {
    return {
      code: 'OtherCampaignLedger',
      message: `the ledger at ${at.where} belongs to campaign ${other}, not ${at.campaign}.`,
      hint: `Check --state and --campaign: each campaign keeps its own ledger (${at.campaign}/ under --state), and a ledger copied from another campaign cannot be reused.`,
    };
  }
  const tenant = at.tenantId === undefined ? undefined : pos.tenants.find((t) => t !== at.tenantId);
  if (tenant !== undefined) {
    return {
      code: 'OtherTenantLedger',
      message: `the ledger at ${at.where} was written for tenant ${tenant}, not ${at.tenantId}.`,
      hint: 'Check --state and the identity campaign signs in with: each tenant keeps its own ledger.',
    };
  }
  return null;
}

/** `now` before the last recorded run: deadlines and notices would be computed backwards. Equal is fine (a rerun). */
export function clockRefusal(pos: LedgerPosition, at: { campaign: string; now: string }): Refusal | null {
  if (pos.lastRunAt === null || Date.parse(at.now) >= Date.parse(pos.lastRunAt)) return null;
  return {
    code: 'ClockBehindLedger',
    message: `now is ${at.now}, earlier than the last run recorded for ${at.campaign} (${pos.lastRunAt}); nothing was written.`,
    hint: `A ledger only moves forward in time: check --now (or the machine's clock) and use a time at or after ${pos.lastRunAt}.`,
  };
}

export type StatusVerdict =
  | { kind: 'ok' }
  /** ended → notStarted: archive the ledger and start the next generation. */
  | { kind: 'reset' }
  | { kind: 'refused'; refusal: Refusal };

/**
 * Whether a run may go from the ledger's last recorded status to the file's. An empty ledger may start as
 * notStarted or inProgress (as a new campaign file may); paused or ended needs a ledger, or `--new-ledger`.
 */
export function statusVerdict(
  pos: LedgerPosition,
  at: { campaign: string; status: CampaignStatus; where: string; newLedger?: boolean },
): StatusVerdict {
  const { campaign, status: to, where } = at;
  const from = pos.status;
  if (from === null) {
    if (to === 'notStarted' || to === 'inProgress' || at.newLedger) return { kind: 'ok' };
    return { kind: 'refused', refusal: noLedgerForStarted(campaign, to, where, true) };
  }
  if (from === to) return { kind: 'ok' };
  if (from === 'ended' && to === 'notStarted') return { kind: 'reset' };
  if (RUN_STATUS_MOVES[from].includes(to)) return { kind: 'ok' };
  const allowed = RUN_STATUS_MOVES[from].join(' or ');
  const fix =
    from === 'ended'
      ? 'An ended campaign starts again through a reset: set spec.status to notStarted and run reconcile once (it archives this ledger and starts a new one), then set inProgress.'
      : to === 'notStarted'
        ? 'Only an ended campaign can be reset: set spec.status to ended and run reconcile once, then set notStarted.'
        : `Set spec.status to inProgress (or back to notStarted) and run reconcile once before ${to === 'paused' ? 'pausing' : 'ending'} it.`;
  return {
    kind: 'refused',
    refusal: {
      code: 'StatusMoveRefused',
      message: `campaign ${campaign} is ${to} in its file, but its ledger at ${where} last recorded ${from}; a run cannot move it from ${from} to ${to}. Nothing was written.`,
      hint: `From ${from} a campaign can only move to ${allowed}. ${fix}`,
    },
  };
}

/** The file says the campaign started (inProgress, paused, ended) but there is no ledger where we looked. */
/** `offerNewLedger`: the command has --new-ledger (reconcile, plan), so the hint names it. */
export function noLedgerForStarted(campaign: string, status: CampaignStatus, where: string, offerNewLedger: boolean): Refusal {
  return {
    code: 'NoLedgerForStartedCampaign',
    message: `campaign ${campaign} is ${status} in its file, but there is no ledger at ${where}: a started campaign must have one.`,
    hint: `Check --state (or CAMPAIGN_STATE): it names the directory or container that holds ${campaign}/.` +
      (offerNewLedger ? ' To record the campaign on a new, empty ledger anyway, run reconcile with --new-ledger.' : ''),
  };
}

/**
 * The empty-ledger guard (DESIGN §10): a ledger that records no start while the enforcement group already has
 * members is most likely the wrong ledger (a mistyped --state); starting on it would restart every grace period.
 */
export function emptyLedgerRefusal(
  pos: LedgerPosition,
  at: { campaign: string; where: string; group: string; members: number; ledgerEmpty: boolean; newLedger?: boolean },
): Refusal | null {
  if (pos.recordsStart || at.members === 0 || at.newLedger) return null;
  const n = at.members;
  const ledger = at.ledgerEmpty ? `there is no ledger at ${at.where}` : `the ledger at ${at.where} records no run of ${at.campaign}`;
  return {
    code: 'NoLedgerGroupHasMembers',
    message: `${ledger}, but the enforcement group "${at.group}" already has ${n} member${n === 1 ? '' : 's'}; nothing was written.`,
    hint: `If --state (or CAMPAIGN_STATE) is mistyped, fix it and run again. To start ${at.campaign} on this ledger anyway (the members stay in the group; the campaign treats them as new users), run reconcile with --new-ledger.`,
  };
}

/** `--new-ledger` on a ledger that already records the campaign: refused, so a script cannot leave it on for good. */
export function newLedgerRefusal(pos: LedgerPosition, at: { campaign: string; where: string; newLedger?: boolean }): Refusal | null {
  if (!at.newLedger || !pos.recordsStart) return null;
  return {
    code: 'NewLedgerNotNeeded',
    message: `--new-ledger starts ${at.campaign} on a new ledger, but the ledger at ${at.where} already records its runs; nothing was written.`,
    hint: 'Run again without --new-ledger.',
  };
}

/** The first events of the ledger that replaces an archived one: where the old one went, then the new generation. */
export function resetEvents(pos: LedgerPosition, at: { now: string; archive: string }): [CampaignArchivedEvent, CampaignResetEvent] {
  const reason = 'spec.status moved from ended to notStarted';
  return [
    { v: LEDGER_VERSION, type: 'campaignArchived', at: at.now, archive: at.archive, reason },
    { v: LEDGER_VERSION, type: 'campaignReset', at: at.now, generation: pos.generation + 1, reason },
  ];
}
