// The report layer's entry points: read a campaign's ledger and last observation from a store, build the
// overview, and render it. `writeDashboard` is what `campaign demo` calls at its end.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Campaign } from '../campaign/types';
import type { LedgerEvent } from '../ledger/events';
import type { Observation } from '../engine/types';
import type { LedgerStore } from '../ledger/store';
import { writeAtomic } from './history';
import { detailUsers, renderDashboard } from './html';
import { buildReport, type StatusReport } from './model';
import { OBSERVATION_SNAPSHOT, readDashboardLedger, readReportLedger } from './read';
import { buildDashboardDetail } from './timeline';

export * from './model';
export { IMPACT_SNAPSHOT, IMPACT_STALE_AFTER_DAYS, parseImpactSnapshot, type ImpactSnapshot, type ImpactStatus, type ImpactWouldBlockUser } from './impact';
export { formatStatusText } from './text';
export { renderMarkdown } from './markdown';
export { renderDashboard, detailUsers, escapeHtml, jsonForScript, type DashboardOptions } from './html';
export { describeEvent, filterEvents, formatHistoryText, historyMarkdown, eventsJsonl, writeHistoryExport, EXPORT_JSONL, EXPORT_MARKDOWN } from './history';

export { OBSERVATION_SNAPSHOT, readDashboardLedger, readReportLedger, type DashboardLedger, type ReportLedger } from './read';
export { buildDashboardDetail, type DashboardDetail, type NoticeEvent } from './timeline';

export interface LoadedLedger {
  events: LedgerEvent[];
  observation: Observation | null;
  warnings: string[];
}

/** The whole ledger (oldest first) and the last run's observation snapshot. Reads nothing else: no Graph. */
export async function loadLedger(store: LedgerStore, campaign: string): Promise<LoadedLedger> {
  const [ledger, observation] = await Promise.all([store.read(campaign), store.readSnapshot<Observation>(campaign, OBSERVATION_SNAPSHOT)]);
  return { events: ledger.events, observation, warnings: ledger.warnings };
}

export interface LoadReportOptions {
  campaign: Campaign;
  store: LedgerStore;
  /** Wall clock for the "scheduler stopped" alert only; omit for a report that depends on the ledger alone. */
  now?: Date;
}

export async function loadReport(opts: LoadReportOptions): Promise<StatusReport> {
  const { events, notificationsByRun, observation, delivery, impact, warnings } = await readReportLedger(opts.store, opts.campaign.metadata.name);
  return buildReport({ campaign: opts.campaign, events, notificationsByRun, observation, delivery, impact, now: opts.now, ledgerWarnings: warnings });
}

export interface WriteDashboardOptions extends LoadReportOptions {
  /** Where to write the HTML file; parent directories are created. */
  file: string;
}

/** Writes the self-contained HTML dashboard of a campaign and returns its absolute path. */
export async function writeDashboard(opts: WriteDashboardOptions): Promise<string> {
  const { events, notificationsByRun, observation, delivery, impact, warnings, timelineEvents, notices } = await readDashboardLedger(opts.store, opts.campaign.metadata.name);
  const report = buildReport({ campaign: opts.campaign, events, notificationsByRun, observation, delivery, impact, now: opts.now, ledgerWarnings: warnings });
  const detail = buildDashboardDetail({ campaign: opts.campaign, events: timelineEvents, notices: notices ?? undefined, observation, only: detailUsers(report) });
  const file = path.resolve(opts.file);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await writeAtomic(file, renderDashboard(report, opts.campaign, { detail }));
  return file;
}
