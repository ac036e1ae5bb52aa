// Pacing of Teams activity notifications to Graph's documented limit, and the per-run budget beyond which
// the rest waits for the next run.
//
// concepts/throttling-limits.md, "Microsoft Teams service limits": POST /users/{user-id}/teamwork/sendActivityNotification
// is limited to 5 requests per second per app per tenant; GET and POST installedApps to 30. Each request inside a
// $batch counts on its own (concepts/json-batching.md), so a $batch of 20 notifications would be throttled at once.
import type { Graph } from '../graph/client';

/** Teams activity notifications per second per app per tenant (concepts/throttling-limits.md). */
export const TEAMS_ACTIVITY_PER_SECOND = 5;
/** installedApps requests per second per app per tenant (concepts/throttling-limits.md). */
export const TEAMS_INSTALLED_APPS_PER_SECOND = 30;
/** The window the limits are counted in, plus headroom for the clock of Graph and ours not agreeing. */
export const PACE_WINDOW_MS = 1_100;
/**
 * Teams notifications one run sends at most: 50 minutes at 5 a second. The rest is carried to the next run, so a
 * run of an all-staff campaign stays inside the Functions time-out and a retry storm cannot stretch it.
 */
export const TEAMS_RUN_BUDGET = 15_000;

/** Milliseconds one notice takes at the documented limits: its share of a notification window and of an install window. */
const MS_PER_NOTICE = PACE_WINDOW_MS / TEAMS_ACTIVITY_PER_SECOND + PACE_WINDOW_MS / TEAMS_INSTALLED_APPS_PER_SECOND;

/** The notices this run can send: TEAMS_RUN_BUDGET, fewer when the run must stop sending at `sendUntil`. */
export function teamsRunBudget(now: number, sendUntil?: number): number {
  if (sendUntil === undefined) return TEAMS_RUN_BUDGET;
  return Math.max(0, Math.min(TEAMS_RUN_BUDGET, Math.floor((sendUntil - now) / MS_PER_NOTICE)));
}

/** Lets at most `perWindow` requests start per PACE_WINDOW_MS, waiting on the Graph client's clock. */
export class Pacer {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    private readonly graph: Pick<Graph, 'now' | 'sleep'>,
    readonly perWindow: number,
  ) {}

  /** Waits until `n` (≤ perWindow) more requests may start, and counts them. */
  async take(n: number): Promise<void> {
    const now = this.graph.now();
    if (now - this.windowStart >= PACE_WINDOW_MS) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used + n > this.perWindow) {
      await this.graph.sleep(this.windowStart + PACE_WINDOW_MS - now);
      this.windowStart = this.graph.now();
      this.used = 0;
    }
    this.used += n;
  }
}
