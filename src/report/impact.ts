// The impact report as the status reports read it: the snapshot `campaign impact --record` (and a graduated
// campaign's reconcile) saves in the state as `impact`. Its shape is the `campaign impact --json` object plus
// a few optional extras; the report layer reads it from the store and never runs the measurement itself.
import { DAY_MS } from '../engine/time';

/** The state snapshot's name. */
export const IMPACT_SNAPSHOT = 'impact';

/** A user the campaign's policy would have blocked, with the applications and client types involved. */
export interface ImpactWouldBlockUser {
  userId: string;
  userPrincipalName: string;
  /** Applications and client types (Graph clientAppUsed) of the sign-ins it would block. */
  apps: string[];
  clientApps: string[];
  /** The legacy clients among clientApps (they cannot use a passkey). */
  legacyClientApps?: string[];
  /** How many of the user's sign-ins it would block, and the newest one. */
  signIns?: number;
  lastAt?: string;
}

/** `campaign impact --json` (users counted per result of the campaign's policy), as saved in the state. */
export interface ImpactSnapshot {
  campaign: string;
  policyId: string;
  /** The window measured, in days. */
  days: number;
  users: {
    /** Enforcement-group members with at least one sign-in in the window. */
    observed: number;
    /** Users whose sign-ins satisfied the policy (reportOnlySuccess). */
    satisfied: number;
    /** Users asked for more during a sign-in (reportOnlyInterrupted). */
    interrupted: number;
    /** Users with a sign-in the policy would have blocked (reportOnlyFailure). */
    wouldBlock: number;
    /** Users without a passkey (phishing-resistant) sign-in in the window. */
    noPasskeySignIn: number;
  };
  wouldBlock: ImpactWouldBlockUser[];
  /** The verdict against spec.enforcement.enableWhen: `reason` a constant (or a sentence), `message` the sentence. */
  gate: { met: boolean; reason: string; message?: string; observedDays?: number; maxWouldBlockUsersPercent?: number; wouldBlockPercent?: number | null; coveredDays?: number };
  /** When it was measured (ISO). */
  at?: string;
  window?: { from: string; to: string };
  /** Members of the enforcement group when measured. */
  members?: number;
  /** Members without a sign-in the policy evaluated in the window (no sign-in, or only where it does not apply). */
  unobserved?: number;
  /** The policy's state when measured, as Graph names it (enabledForReportingButNotEnforced, enabled). */
  policyState?: string;
  policyName?: string;
  /** Members of the graduated group when measured (graduated mode); null when unknown. */
  graduated?: number | null;
}

/** The impact snapshot in `status --json`: the snapshot as saved, plus how old it is. */
export type ImpactStatus = ImpactSnapshot & {
  /** Whole days from the measurement to now (or to the last run without a clock); null when the snapshot has no time. */
  ageDays: number | null;
  /** Older than IMPACT_STALE_AFTER_DAYS, or of unknown age: measure again before relying on it. */
  stale: boolean;
};

/** An impact report older than this is stale: a graduated campaign's reconcile records one every day. */
export const IMPACT_STALE_AFTER_DAYS = 2;

export type ParsedImpact = { ok: true; impact: ImpactSnapshot } | { ok: false; problem: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * Checks the fields the reports show; anything else the snapshot holds is kept as it is. An extra of an
 * unexpected type is left out rather than shown wrong.
 */
export function parseImpactSnapshot(raw: unknown): ParsedImpact {
  if (!isObject(raw)) return { ok: false, problem: 'it is not a JSON object' };
  if (typeof raw.campaign !== 'string') return { ok: false, problem: 'campaign: expected a string' };
  if (typeof raw.policyId !== 'string') return { ok: false, problem: 'policyId: expected a string' };
  if (!isCount(raw.days)) return { ok: false, problem: 'days: expected a whole number' };
  const u = raw.users;
  if (!isObject(u)) return { ok: false, problem: 'users: expected an object' };
  for (const k of ['observed', 'satisfied', 'interrupted', 'wouldBlock', 'noPasskeySignIn'] as const) {
    if (!isCount(u[k])) return { ok: false, problem: `users.${k}: expected a whole number` };
  }
  if (!Array.isArray(raw.wouldBlock)) return { ok: false, problem: 'wouldBlock: expected a list' };
  for (let i = 0; i < raw.wouldBlock.length; i++) {
    const w: unknown = raw.wouldBlock[i];
    if (!isObject(w) || typeof w.userId !== 'string' || typeof w.userPrincipalName !== 'string' || !isStrings(w.apps) || !isStrings(w.clientApps)) {
      return { ok: false, problem: `wouldBlock[${i}]: expected { userId, userPrincipalName, apps, clientApps }` };
    }
  }
  const g = raw.gate;
  if (!isObject(g) || typeof g.met !== 'boolean' || typeof g.reason !== 'string') return { ok: false, problem: 'gate: expected { met, reason }' };
  const impact = { ...raw } as unknown as ImpactSnapshot & Record<string, unknown>;
  if (raw.at !== undefined && (typeof raw.at !== 'string' || Number.isNaN(Date.parse(raw.at)))) delete impact.at;
  const win = raw.window;
  if (win !== undefined && !(isObject(win) && typeof win.from === 'string' && typeof win.to === 'string')) delete impact.window;
  if (raw.members !== undefined && !isCount(raw.members)) delete impact.members;
  if (raw.unobserved !== undefined && !isCount(raw.unobserved)) delete impact.unobserved;
  if (raw.policyState !== undefined && typeof raw.policyState !== 'string') delete impact.policyState;
  if (raw.graduated !== undefined && raw.graduated !== null && !isCount(raw.graduated)) delete impact.graduated;
  if (typeof g.message !== 'string') delete (impact.gate as { message?: unknown }).message;
  return { ok: true, impact };
}

/** When the snapshot was measured: `at`, else the end of its window; null when neither is there. */
export function measuredAt(impact: ImpactSnapshot): string | null {
  return impact.at ?? impact.window?.to ?? null;
}

/** The snapshot with its age as of `reference` (ISO). */
export function withAge(impact: ImpactSnapshot, reference: string | null): ImpactStatus {
  const at = measuredAt(impact);
  const ms = at === null || reference === null ? Number.NaN : Date.parse(reference) - Date.parse(at);
  const ageDays = Number.isNaN(ms) ? null : Math.max(0, Math.floor(ms / DAY_MS));
  return { ...impact, ageDays, stale: ageDays === null || ms > IMPACT_STALE_AFTER_DAYS * DAY_MS };
}

/**
 * clientAppUsed values of modern authentication; any other client (Exchange ActiveSync, IMAP, POP, SMTP, other
 * clients) authenticates with a password over a legacy protocol and can never use a passkey. The same rule as
 * the sign-in reader's (src/impact/signins.ts), which the report layer may not import.
 */
const MODERN_CLIENTS = new Set(['browser', 'mobile apps and desktop clients']);

export function isLegacyClientApp(clientApp: string): boolean {
  return clientApp !== '' && !MODERN_CLIENTS.has(clientApp.toLowerCase());
}

export interface ImpactTally {
  name: string;
  /** Would-block users with at least one such sign-in. */
  users: number;
}

/** Applications or client types over the would-block users, most users first, then by name. */
export function tally(list: readonly ImpactWouldBlockUser[], key: 'apps' | 'clientApps'): ImpactTally[] {
  const n = new Map<string, number>();
  for (const w of list) for (const name of new Set(w[key])) n.set(name, (n.get(name) ?? 0) + 1);
  return [...n].map(([name, users]) => ({ name, users })).sort((a, b) => b.users - a.users || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** "7.5 %" of `of` (one decimal at most, as `campaign impact` prints it); '' when `of` is 0. */
export function percentOf(n: number, of: number): string {
  return of > 0 ? `${Math.round((1000 * n) / of) / 10} %` : '';
}

/** The gate's verdict as a sentence: its message, else its reason. */
export function gateText(impact: ImpactSnapshot): string {
  return impact.gate.message ?? impact.gate.reason;
}

/** The policy's state when measured, as people say it; `fallback` (the campaign file's) when the report does not say. */
export function policyStateText(impact: ImpactSnapshot, fallback: string): string {
  const s = impact.policyState ?? fallback;
  return s === 'enabledForReportingButNotEnforced' || s === 'reportOnly' ? 'report-only' : s;
}

/** How to get a report: one sentence with the command. */
export function impactHowTo(campaign: string): string {
  return `run \`campaign impact --campaign ${campaign} --record\` to measure the report-only policy's sign-in impact and save it for this report`;
}
