// Sign-in logs, reduced to the facts the impact report and graduated enforcement use.
//
// Graph: GET /auditLogs/signIns (api-reference/v1.0/api/signin-list.md). Documented: $top (at most and by default
// 1,000), $skiptoken and $filter; newest first; permissions AuditLog.Read.All and Directory.Read.All (both, a
// documented known issue). appliedConditionalAccessPolicies (resources/appliedconditionalaccesspolicy.md) is
// omitted for an app without Policy.Read.All, Policy.ReadWrite.ConditionalAccess or Policy.Read.ConditionalAccess
// (includes/signins-roles-for-ca-data.md), and its reportOnly* results come only with the request header
// `Prefer: include-unknown-enum-members` (otherwise `unknownFutureValue`).
//
// What counts as phishing-resistant is the campaign's own policy's verdict, not a method name: the policy requires
// the "Phishing-resistant MFA" authentication strength, so `reportOnlySuccess` (report-only) or `success` (enabled)
// for that policy means the sign-in satisfied it. The authenticationMethod strings Graph documents do not name
// passkeys, so they are kept only to show people what was used.
import type { GraphReader } from '../graph/client';

/** appliedConditionalAccessPolicy.result, as documented (the evolvable values with the Prefer header). */
export type PolicyResult =
  | 'success' | 'failure' | 'notApplied' | 'notEnabled' | 'unknown' | 'unknownFutureValue'
  | 'reportOnlySuccess' | 'reportOnlyFailure' | 'reportOnlyNotApplied' | 'reportOnlyInterrupted';

/** The Graph signIn properties read here (every other property is ignored). */
export interface GraphSignIn {
  id: string;
  createdDateTime: string;
  userId?: string | null;
  userPrincipalName?: string | null;
  appId?: string | null;
  appDisplayName?: string | null;
  clientAppUsed?: string | null;
  /** Omitted when the caller may not read Conditional Access data. */
  appliedConditionalAccessPolicies?: Array<{ id: string; displayName?: string | null; result?: string | null }>;
  authenticationDetails?: Array<{ authenticationMethod?: string | null; succeeded?: boolean | null }> | null;
  status?: { errorCode?: number | null } | null;
}

/** One sign-in, reduced. */
export interface SignInFact {
  id: string;
  at: string;
  userId: string;
  userPrincipalName: string;
  app: string;
  clientApp: string;
  /** A client that cannot perform modern authentication (Exchange ActiveSync, IMAP, POP, SMTP, …): it cannot use a passkey. */
  legacyClient: boolean;
  /** Conditional Access policy id → its result for this sign-in; empty when none applied. */
  policies: Record<string, PolicyResult>;
  /** false when Graph omitted appliedConditionalAccessPolicies (the caller may not read Conditional Access data). */
  caDataPresent: boolean;
  /** The methods of the succeeded authentication steps, as Graph names them (for people to read). */
  methods: string[];
}

/** clientAppUsed values of modern authentication; anything else is a legacy protocol or an unknown client. */
const MODERN_CLIENTS = new Set(['browser', 'mobile apps and desktop clients']);

export function isLegacyClient(clientAppUsed: string): boolean {
  return clientAppUsed !== '' && !MODERN_CLIENTS.has(clientAppUsed.toLowerCase());
}

const RESULTS = new Set<string>(['success', 'failure', 'notApplied', 'notEnabled', 'unknown', 'unknownFutureValue', 'reportOnlySuccess', 'reportOnlyFailure', 'reportOnlyNotApplied', 'reportOnlyInterrupted']);

export function toFact(s: GraphSignIn): SignInFact | null {
  if (typeof s.id !== 'string' || typeof s.createdDateTime !== 'string' || typeof s.userId !== 'string' || !s.userId) return null;
  const policies: Record<string, PolicyResult> = {};
  const applied = s.appliedConditionalAccessPolicies;
  if (Array.isArray(applied)) {
    for (const p of applied) {
      if (typeof p?.id !== 'string') continue;
      const r = typeof p.result === 'string' && RESULTS.has(p.result) ? (p.result as PolicyResult) : 'unknown';
      policies[p.id.toLowerCase()] = r;
    }
  }
  const methods: string[] = [];
  for (const d of s.authenticationDetails ?? []) {
    if (d?.succeeded === true && typeof d.authenticationMethod === 'string' && !methods.includes(d.authenticationMethod)) methods.push(d.authenticationMethod);
  }
  const clientApp = typeof s.clientAppUsed === 'string' ? s.clientAppUsed : '';
  return {
    id: s.id,
    at: s.createdDateTime,
    userId: s.userId.toLowerCase(),
    userPrincipalName: s.userPrincipalName ?? '',
    app: s.appDisplayName || s.appId || 'unknown application',
    clientApp: clientApp || 'unknown client',
    legacyClient: isLegacyClient(clientApp),
    policies,
    caDataPresent: Array.isArray(applied),
    methods,
  };
}

export interface SignInWindow {
  /** Inclusive ISO start. */
  since: string;
  /** Exclusive ISO end. */
  until: string;
}

/**
 * The documented $filter on createdDateTime for a window (Graph's DateTimeOffset literals are unquoted). signin.md
 * lists eq, le and ge for createdDateTime (no lt), so the end is asked for inclusively and readSignIns drops a
 * sign-in at exactly `until`.
 */
export function windowFilter(w: SignInWindow): string {
  return `createdDateTime ge ${w.since} and createdDateTime le ${w.until}`;
}

/**
 * Every sign-in of the window, newest first as Graph pages them, handed over one at a time (a page is dropped once
 * handed over). Sign-ins Graph returns without a user id are skipped (service principals have their own log).
 * Returns how many were read and whether any lacked Conditional Access data.
 */
export async function readSignIns(graph: GraphReader, w: SignInWindow, each: (f: SignInFact) => void): Promise<{ read: number; withoutCaData: number }> {
  let read = 0;
  let withoutCaData = 0;
  const until = Date.parse(w.until);
  await graph.list<GraphSignIn>('/auditLogs/signIns', {
    filter: windowFilter(w),
    top: 1000,
    headers: { Prefer: 'include-unknown-enum-members' },
    each: (s) => {
      const f = toFact(s);
      if (!f || Date.parse(f.at) >= until) return;
      read++;
      if (!f.caDataPresent) withoutCaData++;
      each(f);
    },
  });
  return { read, withoutCaData };
}

/** One user's sign-ins, as far as one policy is concerned. */
export interface UserSignInSummary {
  userId: string;
  userPrincipalName: string;
  signIns: number;
  /** Sign-ins per result of the policy (absent results are 0). */
  results: { reportOnlySuccess: number; reportOnlyFailure: number; reportOnlyInterrupted: number; success: number; failure: number };
  /** The report-only policy would have blocked at least one sign-in. */
  wouldBlock: boolean;
  /** Applications and client types of the sign-ins the policy would have blocked (or blocked), sorted. */
  apps: string[];
  clientApps: string[];
  /** At least one sign-in satisfied the policy's phishing-resistant strength. */
  passkeySignIn: boolean;
  /** Newest sign-in seen. */
  lastAt: string | null;
  /** The policy's result for the newest sign-in it evaluated (success, failure or a report-only result), and when. */
  lastResult: PolicyResult | null;
  lastResultAt: string | null;
  /** Sign-ins the policy blocked (or would have) from a legacy client, which can never satisfy it. */
  legacyBlocked: number;
}

/** Folds sign-in facts into per-user summaries for one policy (its id, any case). Only users in `members` when given. */
export class SignInSummaries {
  readonly users = new Map<string, UserSignInSummary>();
  private readonly policyIds: Set<string>;

  constructor(policyIds: readonly string[], private readonly members?: ReadonlySet<string>) {
    this.policyIds = new Set(policyIds.map((p) => p.toLowerCase()));
  }

  add(f: SignInFact): void {
    if (this.members && !this.members.has(f.userId)) return;
    let u = this.users.get(f.userId);
    if (!u) {
      u = { userId: f.userId, userPrincipalName: f.userPrincipalName, signIns: 0, results: { reportOnlySuccess: 0, reportOnlyFailure: 0, reportOnlyInterrupted: 0, success: 0, failure: 0 }, wouldBlock: false, apps: [], clientApps: [], passkeySignIn: false, lastAt: null, lastResult: null, lastResultAt: null, legacyBlocked: 0 };
      this.users.set(f.userId, u);
    }
    u.signIns++;
    if (u.lastAt === null || f.at > u.lastAt) u.lastAt = f.at;
    if (!u.userPrincipalName && f.userPrincipalName) u.userPrincipalName = f.userPrincipalName;
    for (const id of this.policyIds) {
      const r = f.policies[id];
      if (r === undefined) continue;
      if (r === 'reportOnlySuccess' || r === 'success') u.passkeySignIn = true;
      if (r === 'reportOnlySuccess' || r === 'reportOnlyFailure' || r === 'reportOnlyInterrupted' || r === 'success' || r === 'failure') {
        u.results[r]++;
        // Graph pages newest first, but a fixture or another reader may not: keep the newest by time.
        if (u.lastResultAt === null || Date.parse(f.at) >= Date.parse(u.lastResultAt)) {
          u.lastResult = r;
          u.lastResultAt = f.at;
        }
      }
      if (r === 'reportOnlyFailure' || r === 'failure') {
        if (f.legacyClient) u.legacyBlocked++;
        if (r === 'reportOnlyFailure') u.wouldBlock = true;
        insertSorted(u.apps, f.app);
        insertSorted(u.clientApps, f.clientApp);
      }
    }
  }
}

function insertSorted(list: string[], v: string): void {
  if (list.includes(v)) return;
  list.push(v);
  list.sort();
}
