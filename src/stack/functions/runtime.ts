// The small contract between the Functions entry points and the reconcile code. The implementation
// lives in src/reconcile/scheduled (provided by the reconcile module) and is loaded lazily, so neither
// the Pulumi program nor its tests depend on it.
import type { SchedulerSettings } from './settings';

export interface SchedulerLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface ScheduledCampaignResult {
  campaign: string;
  ok: boolean;
  /** The reconcile JSON summary (DESIGN §5) when ok; the error sentence otherwise. */
  summary?: Record<string, unknown>;
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

/** Where the implementation lives, relative to this file in the compiled package. */
export const RUNTIME_MODULE = '../../reconcile/scheduled';

/** Loads the implementation on first use; a variable specifier keeps TypeScript from resolving it now. */
export async function loadRuntime(specifier: string = RUNTIME_MODULE): Promise<SchedulerRuntime> {
  // require, not import(): the package is CommonJS and ESM import() would not resolve the .js extension.
  const mod = require(specifier) as Partial<SchedulerRuntime>;
  if (typeof mod.runScheduledReconcile !== 'function' || typeof mod.applyPostponeLink !== 'function') {
    throw new Error(`${specifier} must export runScheduledReconcile and applyPostponeLink (see src/stack/functions/runtime.ts).`);
  }
  return mod as SchedulerRuntime;
}
