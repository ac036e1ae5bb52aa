// The contract between the Azure Functions entry points (src/stack/functions) and the scheduler
// runtime (src/reconcile/scheduled). It lives outside src/stack so the runtime, like the CLI,
// never touches Pulumi code.
import type { RunResult } from './result';

export interface SchedulerSettings {
  campaigns: string[];
  campaignsDir: string;
  state: string;
  graphUrl: string;
  sender?: string;
  teamsAppId?: string;
  postponeKey: string;
  postponeUrl?: string;
}

export interface SchedulerLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface ScheduledCampaignResult {
  campaign: string;
  ok: boolean;
  /** The reconcile JSON summary (DESIGN §5) when ok; the error sentence otherwise. */
  summary?: RunResult;
  error?: string;
}

export interface PostponeLinkResult {
  ok: boolean;
  /** One sentence for the user: the new deadline, or why the link no longer works. */
  message: string;
  /** Reason constant, e.g. Postponed, expired, replayed, wrongStage. */
  reason: string;
}

export interface SchedulerRuntime {
  /** Runs `campaign reconcile` for each named campaign (same code path), one after the other. */
  runScheduledReconcile(input: { settings: SchedulerSettings; now: Date; log: SchedulerLog }): Promise<ScheduledCampaignResult[]>;
  /** Verifies a signed postponement link and records the postponement in the ledger. */
  applyPostponeLink(input: { token: string; settings: SchedulerSettings; now: Date; log: SchedulerLog }): Promise<PostponeLinkResult>;
}
