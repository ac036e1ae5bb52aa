// The report-only impact report (`campaign impact`): what the campaign's Conditional Access policy did, in
// report-only, to the sign-ins of the enforcement group's members, and whether that meets the campaign's gate
// (spec.enforcement.enableWhen). Pure: the sign-in facts, the members and the clock come in; gather.ts reads them.
//
//   members ──┬── observed (the policy evaluated ≥ 1 sign-in) ──┬── satisfied    (reportOnlySuccess, no would-block)
//             │                                                ├── interrupted  (reportOnlyInterrupted)
//             │                                                └── wouldBlock   (reportOnlyFailure; failure once enabled)
//             └── unobserved (no evaluated sign-in in the window)
//   noPasskeySignIn: members without a sign-in that satisfied the policy (the unobserved included)
import type { Campaign } from '../campaign/types';
import { SignInSummaries, type SignInFact } from './signins';

/** The state snapshot `campaign impact --record` (and a graduated campaign's run) writes; status and the dashboard read it. */
export const IMPACT_SNAPSHOT = 'impact';

/** A member of the enforcement group (a user). */
export interface ImpactMember {
  id: string;
  userPrincipalName: string;
}

/** A user the report-only policy would have blocked at least once (or, once enabled, blocked). */
export interface WouldBlockUser {
  userId: string;
  userPrincipalName: string;
  /** Applications of the sign-ins the policy would have blocked, sorted. */
  apps: string[];
  /** Client types (Graph clientAppUsed) of those sign-ins, sorted. */
  clientApps: string[];
  /** The legacy clients among clientApps (Exchange ActiveSync, IMAP, POP, SMTP…): they cannot use a passkey at all. */
  legacyClientApps: string[];
  /** At least one would-block sign-in came from a legacy client. */
  legacy: boolean;
  /** How many of the user's sign-ins the policy would have blocked. */
  signIns: number;
  /** The user's newest would-block sign-in. */
  lastAt: string;
}

/** Why the gate is (not) met; `message` says it in a sentence. */
export type GateReason = 'GateMet' | 'WindowTooShort' | 'NoMembers' | 'NothingObserved' | 'TooManyWouldBlock';

export interface ImpactGate {
  met: boolean;
  reason: GateReason;
  message: string;
  /** The campaign's spec.enforcement.enableWhen the report was checked against. */
  observedDays: number;
  maxWouldBlockUsersPercent: number;
  /** Would-block users as a percentage of observed users (null when nobody was observed). */
  wouldBlockPercent: number | null;
  /** Whole days of sign-ins the window covers while the policy existed. */
  coveredDays: number;
}

/** `campaign impact --json`: the documented object plus compatible extras (at, window, members, unobserved, signIns, policy…). */
export interface ImpactReport {
  campaign: string;
  policyId: string;
  /** The policy's display name and state (enabledForReportingButNotEnforced while report-only). */
  policyName: string;
  policyState: string;
  days: number;
  at: string;
  window: { from: string; to: string };
  /** Users in the enforcement group. */
  members: number;
  users: { observed: number; satisfied: number; interrupted: number; wouldBlock: number; noPasskeySignIn: number };
  /** Members whose sign-ins the policy did not evaluate in the window (they did not sign in, or only where it does not apply). */
  unobserved: number;
  /** Members' sign-ins in the window: all of them, those the policy evaluated, and per result. */
  signIns: { total: number; evaluated: number; reportOnlySuccess: number; reportOnlyInterrupted: number; reportOnlyFailure: number; success: number; failure: number };
  /** Would-block users, the most would-block sign-ins first. */
  wouldBlock: WouldBlockUser[];
  /** Would-block users whose would-block sign-ins include a legacy client. */
  legacyClientUsers: number;
  /** Members of the graduated group (graduated mode), null otherwise or when unknown. */
  graduated: number | null;
  gate: ImpactGate;
}

const DAY_MS = 86_400_000;

/**
 * Folds the sign-in facts of the window for the members and one policy. Keeps what SignInSummaries does not:
 * sign-in counts per result and which would-block sign-ins came from legacy clients.
 */
export class ImpactTally {
  readonly summaries: SignInSummaries;
  readonly signIns = { total: 0, evaluated: 0, reportOnlySuccess: 0, reportOnlyInterrupted: 0, reportOnlyFailure: 0, success: 0, failure: 0 };
  /** userId → legacy client names of would-block sign-ins; and newest would-block sign-in. */
  private readonly legacy = new Map<string, Set<string>>();
  private readonly lastBlocked = new Map<string, string>();
  /** Member sign-ins whose result for the policy is `unknownFutureValue`: Graph hid the report-only result. */
  hiddenResults = 0;
  private readonly policyId: string;
  private readonly members: ReadonlySet<string>;

  constructor(policyId: string, members: readonly ImpactMember[]) {
    this.policyId = policyId.toLowerCase();
    this.members = new Set(members.map((m) => m.id.toLowerCase()));
    this.summaries = new SignInSummaries([policyId], this.members);
  }

  add(f: SignInFact): void {
    if (!this.members.has(f.userId)) return;
    this.summaries.add(f);
    this.signIns.total++;
    const r = f.policies[this.policyId];
    if (r === 'unknownFutureValue') this.hiddenResults++;
    if (r === 'reportOnlySuccess' || r === 'reportOnlyInterrupted' || r === 'reportOnlyFailure' || r === 'success' || r === 'failure') {
      this.signIns.evaluated++;
      this.signIns[r]++;
    }
    // An enabled policy's `failure` is the block a report-only one forecasts: it counts the same, never as fine.
    if (r === 'reportOnlyFailure' || r === 'failure') {
      const last = this.lastBlocked.get(f.userId);
      if (last === undefined || f.at > last) this.lastBlocked.set(f.userId, f.at);
      if (f.legacyClient) {
        let set = this.legacy.get(f.userId);
        if (!set) this.legacy.set(f.userId, (set = new Set()));
        set.add(f.clientApp);
      }
    }
  }

  legacyClients(userId: string): string[] {
    return [...(this.legacy.get(userId) ?? [])].sort();
  }

  lastWouldBlock(userId: string): string {
    return this.lastBlocked.get(userId) ?? '';
  }
}

export interface ImpactInput {
  campaign: Campaign;
  policy: { id: string; displayName: string; state: string; createdDateTime?: string | null };
  members: readonly ImpactMember[];
  tally: ImpactTally;
  /** The end of the window (exclusive) and the report's time. */
  now: Date;
  days: number;
  graduated?: number | null;
}

/** The window of `days` days ending at `now`. */
export function impactWindow(now: Date, days: number): { from: string; to: string } {
  return { from: new Date(now.getTime() - days * DAY_MS).toISOString(), to: now.toISOString() };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const percent = (p: number) => `${Math.round(p * 100) / 100} %`;

export function buildImpactReport(input: ImpactInput): ImpactReport {
  const { campaign, policy, members, tally, now, days } = input;
  const window = impactWindow(now, days);
  const byId = new Map(members.map((m) => [m.id.toLowerCase(), m]));
  let observed = 0;
  let satisfied = 0;
  let interrupted = 0;
  let passkey = 0;
  const wouldBlock: WouldBlockUser[] = [];
  for (const u of tally.summaries.users.values()) {
    const r = u.results;
    const evaluated = r.reportOnlySuccess + r.reportOnlyFailure + r.reportOnlyInterrupted + r.success + r.failure;
    if (evaluated > 0) observed++;
    if (u.passkeySignIn) passkey++;
    if (u.passkeySignIn && r.reportOnlyFailure + r.failure === 0) satisfied++;
    if (r.reportOnlyInterrupted > 0) interrupted++;
    if (r.reportOnlyFailure + r.failure > 0) {
      const legacyClientApps = tally.legacyClients(u.userId);
      wouldBlock.push({
        userId: u.userId,
        userPrincipalName: u.userPrincipalName || byId.get(u.userId)?.userPrincipalName || '',
        apps: u.apps.slice(),
        clientApps: u.clientApps.slice(),
        legacyClientApps,
        legacy: legacyClientApps.length > 0,
        signIns: r.reportOnlyFailure + r.failure,
        lastAt: tally.lastWouldBlock(u.userId),
      });
    }
  }
  wouldBlock.sort((a, b) => b.signIns - a.signIns || a.userPrincipalName.localeCompare(b.userPrincipalName) || a.userId.localeCompare(b.userId));
  const users = { observed, satisfied, interrupted, wouldBlock: wouldBlock.length, noPasskeySignIn: members.length - passkey };
  const gate = checkGate(campaign, { members: members.length, observed, wouldBlock: wouldBlock.length, coveredDays: coveredDays(window, policy.createdDateTime), days });
  return {
    campaign: campaign.metadata.name,
    policyId: policy.id,
    policyName: policy.displayName,
    policyState: policy.state,
    days,
    at: now.toISOString(),
    window,
    members: members.length,
    users,
    unobserved: members.length - observed,
    signIns: { ...tally.signIns },
    wouldBlock,
    legacyClientUsers: wouldBlock.filter((w) => w.legacy).length,
    graduated: input.graduated ?? null,
    gate,
  };
}

/** Whole days of the window in which the policy existed (a policy created inside the window evaluated nothing before). */
export function coveredDays(window: { from: string; to: string }, policyCreated?: string | null): number {
  const to = Date.parse(window.to);
  let from = Date.parse(window.from);
  const created = policyCreated ? Date.parse(policyCreated) : NaN;
  if (Number.isFinite(created) && created > from) from = created;
  return Math.max(0, Math.floor((to - from) / DAY_MS));
}

/** The campaign's enableWhen gate: enough days, someone observed, and few enough would-block users (≤ the percentage). */
export function checkGate(campaign: Campaign, c: { members: number; observed: number; wouldBlock: number; coveredDays: number; days: number }): ImpactGate {
  const { observedDays, maxWouldBlockUsersPercent } = campaign.spec.enforcement.enableWhen;
  const wouldBlockPercent = c.observed > 0 ? (100 * c.wouldBlock) / c.observed : null;
  const base = { observedDays, maxWouldBlockUsersPercent, wouldBlockPercent, coveredDays: c.coveredDays };
  const no = (reason: GateReason, message: string): ImpactGate => ({ met: false, reason, message, ...base });
  if (c.coveredDays < observedDays) {
    return no('WindowTooShort', c.coveredDays < c.days
      ? `the policy has existed for ${plural(c.coveredDays, 'day')} of the window; the gate needs ${plural(observedDays, 'day')} of sign-ins (enableWhen.observedDays).`
      : `the window covers ${plural(c.coveredDays, 'day')}; the gate needs ${plural(observedDays, 'day')} of sign-ins (enableWhen.observedDays). Run with --days ${observedDays} or more.`);
  }
  if (c.members === 0) return no('NoMembers', 'the enforcement group has no members, so no sign-in could be observed.');
  if (c.observed === 0) return no('NothingObserved', `none of the ${plural(c.members, 'member')} of the enforcement group had a sign-in the policy evaluated in the window.`);
  // wouldBlock / observed ≤ max % ⇔ 100 · wouldBlock ≤ max · observed; the tolerance keeps a fractional max's
  // rounding (0.7 · 1000 = 699.999…) from failing a share exactly at the boundary.
  if (100 * c.wouldBlock > maxWouldBlockUsersPercent * c.observed * (1 + 1e-12)) {
    return no('TooManyWouldBlock', `${plural(c.wouldBlock, 'observed user')} of ${c.observed} (${percent(wouldBlockPercent!)}) had a sign-in the policy would have blocked; the gate allows at most ${maxWouldBlockUsersPercent} % (enableWhen.maxWouldBlockUsersPercent).`);
  }
  return {
    met: true, reason: 'GateMet',
    message: `${plural(c.wouldBlock, 'observed user')} of ${c.observed} (${percent(wouldBlockPercent!)}) had a sign-in the policy would have blocked, within the ${maxWouldBlockUsersPercent} % the gate allows, over ${plural(c.coveredDays, 'day')}.`,
    ...base,
  };
}
