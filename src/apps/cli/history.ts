// `campaign history`: every ledger event, oldest first (text or --json), filtered by --user / --since;
// --export DIR writes the deterministic audit export (Markdown + JSON lines) meant to be committed to git.
import * as path from 'node:path';
import { closest } from '../../campaign/suggest';
import { UsageError } from '../../errors';
import { filterEvents, formatHistoryText, ledgerBytes, normalizeRepositoryUrl, userIdsFor, writeHistoryExport } from '../../report/history';
import { impossibleDate, parseFlags, requireFlag, stringFlag } from './args';
import { CampaignInvalid, resolveCampaign, openStateStore, stateUse } from './common';
import { atPath } from './path-errors';
import { println, type Io } from './io';
import { checkLedgerFor } from './ledger-checks';

export const HELP = `Usage: campaign history --campaign NAME|FILE [--state DIR] [--json] [--user UPN] [--since ISO] [--export DIR [--repository-url URL]]

Every event of the campaign's ledger, oldest first: runs, stage changes, notifications, postponements,
grace periods exceeded, group adds, alerts, users leaving. Reads only the ledger; never calls Graph.

  --campaign NAME|FILE   a campaign name (looked up in campaigns/) or a campaign file
  --state DIR|URL       ledger: a directory (default .campaign-state/), azblob://ACCOUNT/CONTAINER or a connection string
  --json                 print one JSON object: { campaign, count, events }
  --user UPN             only this user's events (a UPN, case-insensitive, or a user object id)
  --since ISO            only events at or after this time (e.g. 2026-12-01 or 2026-12-01T06:00:00Z)
  --export DIR           write DIR/<campaign>/history.md and DIR/<campaign>/events.jsonl, to commit to git:
                         events.jsonl is the ledger itself, every line byte for byte; history.md summarises it,
                         with each run's configuration (the SHA-256 of the campaign file it loaded and, when
                         known, the commit that file came from). The same ledger and flags give the same bytes
  --repository-url URL   with --export: the https address of the repository that holds the campaign files
                         (default CAMPAIGN_REPOSITORY_URL); history.md then links each run's commit to the campaign
                         file at that commit, URL/blob/<commit>/<file>. Without it: commit:file, for git show

Exit status: 0 success, 1 invalid campaign file, 2 usage or runtime error (unknown --user, bad --since,
a repository URL that is not https, another campaign's ledger, no ledger at --state for a started campaign…).`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseFlags('history', argv, {
    campaign: { type: 'string' }, state: { type: 'string' }, json: { type: 'boolean' },
    user: { type: 'string' }, since: { type: 'string' }, export: { type: 'string' }, 'repository-url': { type: 'string' },
  });
  if (p.values.help) {
    println(io.stdout, HELP);
    return 0;
  }
  const user = stringFlag(p, 'user');
  const sinceText = stringFlag(p, 'since');
  let since: Date | undefined;
  if (sinceText !== undefined) {
    since = new Date(sinceText);
    if (!/^\d{4}-\d{2}-\d{2}/.test(sinceText) || Number.isNaN(since.getTime()) || impossibleDate(sinceText)) {
      throw new UsageError(`--since must be an ISO 8601 date or date-time such as 2026-12-01 or 2026-12-01T06:00:00Z (got "${sinceText}").`);
    }
  }
  const exportDir = stringFlag(p, 'export');
  if (exportDir !== undefined && (user !== undefined || since !== undefined)) {
    throw new UsageError('--export writes the whole ledger, so it cannot be combined with --user or --since.', 'Run the export and the filtered view as two commands.');
  }
  const repositoryFlag = stringFlag(p, 'repository-url');
  if (repositoryFlag !== undefined && exportDir === undefined) {
    throw new UsageError('--repository-url only changes the links in the --export files.', 'Add --export DIR, or leave --repository-url out.');
  }
  const repositoryUrl = exportDir === undefined ? undefined : repository(repositoryFlag, io);
  let campaign;
  try {
    campaign = resolveCampaign(requireFlag(p, 'campaign', 'history'), io).campaign;
  } catch (e) {
    if (e instanceof CampaignInvalid) return 1;
    throw e;
  }
  const name = campaign.metadata.name;
  const store = await openStateStore(p, io);
  const ledger = await atPath(await stateUse(p, io), () => store.read(name));
  const events = ledger.events;
  checkLedgerFor('history', campaign, store, events, io);
  for (const w of ledger.warnings) println(io.stderr, `warning: ${w}`);

  if (exportDir !== undefined) {
    const dir = path.resolve(io.cwd, exportDir);
    const raw = ledgerBytes(store, name);
    const files = await atPath({ subject: `--export ${exportDir}`, path: dir, expects: 'a directory (it is created if missing)' }, () => writeHistoryExport(dir, name, events, raw, { repositoryUrl }));
    println(io.stdout, `wrote ${events.length} event${events.length === 1 ? '' : 's'} of ${name} to ${files.markdown} and ${files.jsonl}`);
    return 0;
  }
  if (user !== undefined && userIdsFor(events, user).size === 0) {
    const upns = [...new Set(events.flatMap((e) => ('userPrincipalName' in e ? [e.userPrincipalName] : [])))];
    const guess = closest(user, upns);
    throw new UsageError(`--user ${user}: no event of campaign ${name} names this user.${guess ? ` Did you mean ${guess}?` : ''}`, 'Pass a UPN or user object id as the ledger records it.');
  }
  const shown = filterEvents(events, { user, since });
  println(io.stdout, p.values.json ? JSON.stringify({ campaign: name, count: shown.length, events: shown }) : formatHistoryText(shown));
  return 0;
}

/** `--repository-url`, else CAMPAIGN_REPOSITORY_URL: an https URL (usage error naming where it came from otherwise). */
function repository(flag: string | undefined, io: Io): string | undefined {
  const fromEnv = io.env.CAMPAIGN_REPOSITORY_URL;
  const value = flag ?? (fromEnv === '' ? undefined : fromEnv);
  if (value === undefined) return undefined;
  try {
    return normalizeRepositoryUrl(value);
  } catch (e) {
    // Never echo credentials a URL carries (this goes to CI logs).
    const shown = value.replace(/\/\/[^/@]*@/, '//***@');
    const where = flag !== undefined ? `--repository-url ${shown}` : `CAMPAIGN_REPOSITORY_URL=${shown}`;
    throw new UsageError(`${where}: ${(e as Error).message}.`, 'Pass the repository\'s https address, such as https://github.com/contoso/passkey-campaigns.');
  }
}
