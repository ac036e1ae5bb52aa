// Reading a ledger for the overview: the store's readOverview (the file store scans its own bytes, see
// src/ledger/file/overview.ts) and the last run's observation snapshot.
import type { DeliverySnapshot } from '../engine/state';
import type { Observation } from '../engine/types';
import { SNAPSHOTS, type LedgerOverview, type LedgerStore } from '../ledger/store';

export const OBSERVATION_SNAPSHOT = SNAPSHOTS.observation;

export interface ReportLedger extends LedgerOverview {
  observation: Observation | null;
  /** Per-user notice outcomes as of the last run (the overview leaves notification lines out). */
  delivery: DeliverySnapshot | null;
}

/** The ledger (without notification bodies), the last run's observation and delivery. Reads nothing else: no Graph. */
export async function readReportLedger(store: LedgerStore, campaign: string): Promise<ReportLedger> {
  const [ledger, observation, delivery] = await Promise.all([
    store.readOverview(campaign),
    store.readSnapshot<Observation>(campaign, OBSERVATION_SNAPSHOT),
    store.readSnapshot<DeliverySnapshot>(campaign, SNAPSHOTS.delivery),
  ]);
  return { ...ledger, observation, delivery };
}
