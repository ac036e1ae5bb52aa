// Loads the scheduler runtime (src/reconcile/scheduled) lazily, so neither the Pulumi program nor its
// tests depend on it. The contract types live in src/reconcile/scheduler-contract.
import type { SchedulerRuntime } from '../../reconcile/scheduler-contract';
export type { PostponeLinkResult, ScheduledCampaignResult, SchedulerLog, SchedulerRuntime } from '../../reconcile/scheduler-contract';

/** Where the implementation lives, relative to this file in the compiled package. */
export const RUNTIME_MODULE = '../../reconcile/scheduled';

/** Loads the implementation on first use; a variable specifier keeps TypeScript from resolving it now. */
export async function loadRuntime(specifier: string = RUNTIME_MODULE): Promise<SchedulerRuntime> {
  // require, not import(): the package is CommonJS and ESM import() would not resolve the .js extension.
  const mod = require(specifier) as Partial<SchedulerRuntime>;
  if (typeof mod.runScheduledReconcile !== 'function' || typeof mod.applyPostponeLink !== 'function') {
    throw new Error(`${specifier} must export runScheduledReconcile and applyPostponeLink (see src/reconcile/scheduler-contract.ts).`);
  }
  return mod as SchedulerRuntime;
}
