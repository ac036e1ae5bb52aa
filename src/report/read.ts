// Reading a ledger for the overview: the store's readOverview (the file store scans its own bytes, see
// src/ledger/file/overview.ts) and the last run's observation snapshot. The dashboard also wants each
// user's notices and their delivery for the user detail: readDashboardLedger reads the whole ledger once
// and derives the overview from it, so `status` text and JSON keep the fast path.
import type { DeliverySnapshot } from '../engine/state';
import type { Observation } from '../engine/types';
import type { LedgerEvent } from '../ledger/events';
import { overviewOf } from '../ledger/overview';
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

export interface DashboardLedger extends ReportLedger {
  /** Every event, notification and delivery records included, oldest first: the user timelines. */
  allEvents: LedgerEvent[];
}

/** As readReportLedger, plus every event for the dashboard's user timelines (one full read of the ledger). */
export async function readDashboardLedger(store: LedgerStore, campaign: string): Promise<DashboardLedger> {
  const [read, observation, delivery] = await Promise.all([
    store.read(campaign),
    store.readSnapshot<Observation>(campaign, OBSERVATION_SNAPSHOT),
    store.readSnapshot<DeliverySnapshot>(campaign, SNAPSHOTS.delivery),
  ]);
  return { ...overviewOf(read), observation, delivery, allEvents: read.events };
}
