// The ledger as the reports read it: notification events (the notice, its dispatch and its outcome) and
// group-add intents are most of a large ledger, and the overview needs only how many notices each run sent.
import type { LedgerEvent, LedgerEventType } from './events';
import type { LedgerOverview, LedgerReadResult } from './store';

export type { LedgerOverview } from './store';

/**
 * Crash-safety bookkeeping (src/reconcile/intents.ts): one per notification, per batch or per group add. The
 * overview reads what happened from notificationSent and addedToGroup instead.
 */
export const OVERVIEW_SKIPPED: ReadonlySet<LedgerEventType> = new Set<LedgerEventType>(['notificationDispatch', 'notificationOutcome', 'groupAddIntent', 'groupAddOutcome']);

/** Collects one event into an overview under construction: counted, skipped or kept. */
export function addToOverview(overview: Omit<LedgerOverview, 'warnings'>, e: LedgerEvent): void {
  if (e.type === 'notificationSent') countNotification(overview.notificationsByRun, e.runId ?? '');
  else if (!OVERVIEW_SKIPPED.has(e.type)) overview.events.push(e);
}

export function countNotification(byRun: Map<string, number>, runId: string): void {
  byRun.set(runId, (byRun.get(runId) ?? 0) + 1);
}

/** The overview of a whole read: what a store without a faster reader returns. */
export function overviewOf(read: LedgerReadResult): LedgerOverview {
  const overview: Omit<LedgerOverview, 'warnings'> = { events: [], notificationsByRun: new Map() };
  for (const e of read.events) addToOverview(overview, e);
  return { ...overview, warnings: read.warnings };
}
