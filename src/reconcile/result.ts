// The outcome of one run: the JSON of `reconcile --json` / `plan --json` (DESIGN §5, extended compatibly)
// and the stage counts the reports share. Kept apart from run.ts so report/ never imports the pipeline.
import type { Campaign } from '../campaign/types';
import type { CampaignState, UserState } from '../engine/state';
import type { Observation, Stage } from '../engine/types';
import type { Prerequisites } from '../engine/targets';
import type { LedgerEvent } from '../ledger/events';

export interface Transition {
  userId: string;
  userPrincipalName: string;
  from: Stage | null;
  to: Stage | null;
  reason: string;
}

export interface RunCounts {
  targeted: number;
  deviceUpdate: number;
  passkeyRegistration: number;
  enforcementNotice: number;
  enforced: number;
  /** Graduated campaigns: users moved on to the enabled policy's group (not counted in enforced). */
  graduated: number;
  exceededGrace: number;
  excluded: number;
  /** Targeted users who could not be read this run (they made no move). */
  unread: number;
  /** Targeted users outside the FIDO2 policy's scope. */
  blocked: number;
}

/** The JSON of `reconcile --json` / `plan --json` (DESIGN §5), extended compatibly. */
export interface RunResult {
  campaign: string;
  now: string;
  status: string;
  applied: boolean;
  counts: RunCounts;
  transitions: Transition[];
  notifications: number;
  groupAdds: number;
  graphRequests: number;
  /** One line per warning, except that more than 3 of one code are one line with the count (reconcile/warnings.ts). */
  warnings: string[];
  runId: string;
  /** Decisions deferred by the blast-radius valve (enforcement.maxNewPerRun). */
  deferred: number;
  /** Email: users due a notice that the sender mailboxes' daily limit had no room for; they wait for the next run. Absent when none. */
  notificationsDeferred?: { users: number; reason: string };
  prerequisites: Prerequisites | null;
  /** Campaigns with spec.onboarding.temporaryAccessPass enabled only: counts, never a pass. */
  onboarding?: OnboardingCounts;
  /** Campaigns with spec.enforcement.mode graduated only. */
  graduation?: GraduationResult;
}

/** Onboarding passes this run: users needing one, passes issued, users left to the helpdesk queue, passes expired unused, users waiting for maxPerRun. */
export interface OnboardingCounts {
  needing: number;
  issued: number;
  queued: number;
  expired: number;
  deferred: number;
}

/** A graduated campaign's run: the evidence, who graduated, who waits, and whose sign-ins the enabled policy blocked. */
export interface GraduationResult {
  /** false: the evidence could not be established this run, so nobody graduated (`cause` says why and what to do). */
  available: boolean;
  cause?: string;
  observedDays: number;
  /** The sign-in window read: [from, to). */
  window?: { from: string; to: string };
  /** Users who moved to the graduated group this run. */
  graduated: number;
  /** Users ready to graduate who wait for the next run (spec.enforcement.maxGraduationsPerRun). */
  deferred: number;
  /** Graduated users with sign-ins the enabled policy blocked in the window: reported, never removed. */
  signInFailures: Array<{ userId: string; userPrincipalName: string; failures: number; apps: string[]; clientApps: string[] }>;
}

/**
 * What a plan computed, for the review outputs (`plan --json`'s overview, `--markdown`, `--html`): handed to
 * RunOptions.onPlan so RunResult stays the JSON it is.
 */
export interface PlanDetail {
  /** The campaign as the run decides it: a notStarted campaign is shown as its first run (inProgress). */
  campaign: Campaign;
  /** This plan's fresh observation of the tenant. */
  observation: Observation;
  /** The ledger as the plan read it (a pending reset already applied), oldest first. */
  ledger: readonly LedgerEvent[];
  /** What a reconcile now would append: runStarted, the decisions' events, runFinished. Empty when it would stop. */
  events: LedgerEvent[];
  /** The state after those events: the stages the run would leave users in. */
  after: CampaignState;
}

/** `userAt(i)`: state.users[observation.users[i].userId], when the caller already looked every user up. */
export function countStages(state: CampaignState, observation: Observation, userAt?: (i: number) => UserState | undefined): RunCounts {
  const counts: RunCounts = { targeted: observation.users.length, deviceUpdate: 0, passkeyRegistration: 0, enforcementNotice: 0, enforced: 0, graduated: 0, exceededGrace: 0, excluded: observation.excluded.length, unread: 0, blocked: 0 };
  const users = observation.users;
  for (let i = 0; i < users.length; i++) {
    const u = users[i];
    const s = userAt ? userAt(i) : state.users[u.userId];
    if (u.readErrors.length) counts.unread++;
    if (u.inFido2PolicyScope === false) counts.blocked++;
    if (!s || s.stage === null || s.left) continue;
    counts[s.stage]++;
    if (s.exceededGrace) counts.exceededGrace++;
  }
  return counts;
}

