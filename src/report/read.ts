// Reading a ledger for the overview: the store's readOverview (the file store scans its own bytes, see
// src/ledger/file/overview.ts) and the last run's observation snapshot.
import type { Observation } from '../engine/types';
import { SNAPSHOTS, type LedgerOverview, type LedgerStore } from '../ledger/store';

export const OBSERVATION_SNAPSHOT = SNAPSHOTS.observation;

export interface ReportLedger extends LedgerOverview {
  observation: Observation | null;
}

/** The ledger (without notification bodies) and the last run's observation. Reads nothing else: no Graph. */
export async function readReportLedger(store: LedgerStore, campaign: string): Promise<ReportLedger> {
  const [ledger, observation] = await Promise.all([store.readOverview(campaign), store.readSnapshot<Observation>(campaign, OBSERVATION_SNAPSHOT)]);
  return { ...ledger, observation };
}
