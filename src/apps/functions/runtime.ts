// Loads the scheduler runtime (./scheduled) lazily, so the handlers and their tests do not load the
// reconcile pipeline, the Graph client and the blob store. The contract types live in src/contracts/scheduler.
import type { SchedulerRuntime } from '../../contracts/scheduler';
export type { PostponeLinkResult, ScheduledCampaignResult, SchedulerLog, SchedulerRuntime } from '../../contracts/scheduler';

/** Where the implementation lives, relative to this file in the compiled package. */
export const RUNTIME_MODULE = './scheduled';

/** Loads the implementation on first use; a variable specifier keeps TypeScript from resolving it now. */
export async function loadRuntime(specifier: string = RUNTIME_MODULE): Promise<SchedulerRuntime> {
  // require, not import(): the package is CommonJS and ESM import() would not resolve the .js extension.
  const mod = require(specifier) as Partial<SchedulerRuntime>;
  if (typeof mod.runScheduledReconcile !== 'function' || typeof mod.applyPostponeLink !== 'function') {
    throw new Error(`${specifier} must export runScheduledReconcile and applyPostponeLink (see src/contracts/scheduler.ts).`);
  }
  return mod as SchedulerRuntime;
}
