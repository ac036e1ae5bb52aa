// `campaign status`: the overview from the ledger and the last observation snapshot (no Graph): an aligned
// table, --json, --markdown FILE for a CI job summary or PR comment, --html FILE for the dashboard.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeAtomic } from '../../report/history';
import { renderCsv } from '../../report/csv';
import { renderDashboard } from '../../report/html';
import { buildDashboardDetail, buildReport, detailUsers, readDashboardLedger, type DashboardLedger, type StatusReport } from '../../report/index';
import { readFoldedReportLedger, type FoldedReportLedger } from '../../report/read';
import { renderMarkdown } from '../../report/markdown';
import { renderQueueCsv, renderQueueMarkdown } from '../../report/onboarding';
import { writeOutputFlag } from './output-file';
import { statusTextChunks } from '../../report/text';
import { reportJsonChunks, writeChunks } from '../../report/stream-out';
import { UsageError } from '../../errors';
import { nowFlag, parseFlags, requireFlag, stringFlag } from './args';
import { CampaignInvalid, resolveCampaign, openStateStore, stateUse } from './common';
import { atPath } from './path-errors';
import { println, type Io } from './io';
import { checkLedgerFor } from './ledger-checks';

export const HELP = `Usage: campaign status --campaign NAME|FILE [--state DIR] [--json] [--html FILE] [--markdown FILE] [--csv FILE [--stuck]]
                       [--onboarding-queue FILE] [--now ISO]

The campaign overview: targeted users, users per stage, exceeded grace periods, readiness, the estimated
end date and outlook, the sign-in impact of the policy, alerts, and every user's stage. Reads only the ledger,
the last run's observation snapshot and the last impact report (campaign impact --record) in --state; never
calls Microsoft Graph.

  --campaign NAME|FILE   a campaign name (looked up in campaigns/) or a campaign file
  --state DIR|URL       ledger: a directory (default .campaign-state/), azblob://ACCOUNT/CONTAINER or a connection string
  --json                 print one JSON object: { campaign, status, counts, users, estimatedEnd, outlook, …,
                         impact } (impact: the recorded report with ageDays and stale, or null)
  --markdown FILE        write a Markdown summary (counts, changes in the last run, exceeded grace, alerts),
                         e.g. --markdown "$GITHUB_STEP_SUMMARY"
  --html FILE            write the self-contained HTML dashboard
  --csv FILE             write the contact list: one row per targeted user (UPN, display name, mail, stage,
                         since, deadline, exceeded grace at, readiness, devices below minimum OS, last notice,
                         delivery, alerts), for a spreadsheet or a mail merge
  --stuck                with --csv: only the users past a grace period, who make no progress until they act
  --onboarding-queue FILE
                         write the helpdesk queue of onboarding passes (Temporary Access Pass): each user the
                         campaign queued for the helpdesk (with passes off: each user who needs one), UPN,
                         display name, why, since when, the registration link and how the helpdesk issues the
                         pass through its own verified process; CSV when FILE ends in .csv, else Markdown
                         (e.g. "$GITHUB_STEP_SUMMARY", appended to). The pass itself is never in it.
  --now ISO              the clock for the "no run for 2 days" alert only (default: now)

With --markdown, --html, --csv or --onboarding-queue and without --json, stdout only names the files written.
Exit status: 0 success, 1 invalid campaign file, 2 usage or runtime error (another campaign's ledger, no ledger
at --state for a started campaign…).`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseFlags('status', argv, {
    campaign: { type: 'string' }, state: { type: 'string' }, json: { type: 'boolean' },
    html: { type: 'string' }, markdown: { type: 'string' }, now: { type: 'string' },
    csv: { type: 'string' }, stuck: { type: 'boolean' }, 'onboarding-queue': { type: 'string' },
  });
  if (p.values.help) {
    println(io.stdout, HELP);
    return 0;
  }
  const now = nowFlag(p);
  const csv = stringFlag(p, 'csv');
  if (p.values.stuck && csv === undefined) throw new UsageError('--stuck filters the contact list: use it with --csv FILE.', 'For example: campaign status --campaign NAME --csv stuck-users.csv --stuck');
  let campaign;
  try {
    campaign = resolveCampaign(requireFlag(p, 'campaign', 'status'), io).campaign;
  } catch (e) {
    if (e instanceof CampaignInvalid) return 1;
    throw e;
  }
  const store = await openStateStore(p, io);
  // loadReport, with the ledger checked between reading and building.
  // --html reads every event (the user timelines); the other outputs fold the ledger from the report checkpoint the
  // last reconcile run left and the events written since (or the whole ledger without one): the same report.
  const html = stringFlag(p, 'html');
  let report: StatusReport;
  let dashboard: DashboardLedger | null = null;
  if (html !== undefined) {
    const ledger = (dashboard = await atPath(await stateUse(p, io), () => readDashboardLedger(store, campaign.metadata.name)));
    const { events, notificationsByRun, observation, delivery, impact, warnings } = ledger;
    checkLedgerFor('status', campaign, store, events, io);
    report = buildReport({ campaign, events, notificationsByRun, observation, delivery, impact, now, ledgerWarnings: warnings });
  } else {
    // Built from the checkpoint while another thread checks the ledger, when the read can tell that report holds.
    const build = (l: FoldedReportLedger) =>
      buildReport({ campaign, events: [], replay: l.replay, observation: l.observation, delivery: l.delivery, impact: l.impact, now, ledgerWarnings: l.warnings });
    const ledger = await atPath(await stateUse(p, io), () => readFoldedReportLedger(store, campaign.metadata.name, campaign, build));
    checkLedgerFor('status', campaign, store, ledger.replay.positionEvents, io, undefined, ledger.replay.overviewEvents === 0);
    report = ledger.built ?? build(ledger);
  }
  const written: string[] = [];
  const markdown = stringFlag(p, 'markdown');
  if (markdown !== undefined) {
    const file = path.resolve(io.cwd, markdown);
    await atPath({ subject: `--markdown ${markdown}`, path: file, expects: 'a file path (its directory is created if missing)' }, () => writeOutput(file, renderMarkdown(report), io));
    written.push(`wrote the Markdown summary to ${file}`);
  }
  if (html !== undefined) {
    const file = path.resolve(io.cwd, html);
    const { timelineEvents, notices, observation } = dashboard!;
    const detail = buildDashboardDetail({ campaign, events: timelineEvents, notices: notices ?? undefined, observation, only: detailUsers(report) });
    await atPath({ subject: `--html ${html}`, path: file, expects: 'a file path (its directory is created if missing)' }, () => writeOutput(file, renderDashboard(report, campaign, { detail }), io));
    written.push(`wrote the dashboard to ${file}`);
  }
  if (csv !== undefined) {
    const file = path.resolve(io.cwd, csv);
    const stuckOnly = p.values.stuck === true;
    await atPath({ subject: `--csv ${csv}`, path: file, expects: 'a file path (its directory is created if missing)' }, async () => {
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await writeAtomic(file, renderCsv(report, { stuckOnly }));
    });
    written.push(`wrote the contact list (${stuckOnly ? 'users past a grace period' : 'every targeted user'}) to ${file}`);
  }
  const queue = stringFlag(p, 'onboarding-queue');
  if (queue !== undefined) {
    const asCsv = queue.toLowerCase().endsWith('.csv');
    const content = asCsv ? renderQueueCsv(report.onboarding, campaign) : renderQueueMarkdown(report.onboarding, campaign);
    const file = await writeOutputFlag('onboarding-queue', queue, content, io);
    const n = report.onboarding.queue.length;
    written.push(`wrote the helpdesk queue of onboarding passes (${n} user${n === 1 ? '' : 's'}, ${asCsv ? 'CSV' : 'Markdown'}) to ${file}`);
  }
  // The JSON and the text in pieces (at a large tenant they are hundreds of megabytes), the same bytes.
  if (p.values.json) {
    await writeChunks(io.stdout, reportJsonChunks(report), '\n');
    for (const w of written) println(io.stderr, w);
  } else if (written.length) {
    for (const w of written) println(io.stdout, w);
  } else {
    await writeChunks(io.stdout, statusTextChunks(report), '\n');
  }
  return 0;
}

/** Temp file + rename; but $GITHUB_STEP_SUMMARY is shared by a job's steps, so it is appended to instead. */
async function writeOutput(file: string, content: string, io: Io): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const summary = io.env.GITHUB_STEP_SUMMARY;
  if (summary && path.resolve(io.cwd, summary) === file) await fsp.appendFile(file, content, 'utf8');
  else await writeAtomic(file, content);
}
