// `campaign verify`: checks, read-only, that the campaign's ledger is as its runs wrote it (the hash chain, the
// last checkpoint, an earlier audit export, the campaign files the runs recorded against git).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gitConfigurationCheck } from '../../audit/git-history';
import { formatVerifyText, rawReaderOf, readCheckpointMark, verifyLedger } from '../../audit/verify';
import { identityRefusal, LedgerRefusedError, noLedgerForStarted, type LedgerPosition } from '../../engine/lifecycle';
import { isSystemError, UsageError } from '../../errors';
import { EXPORT_JSONL } from '../../report/history';
import { parseFlags, requireFlag, stringFlag } from './args';
import { CampaignInvalid, openStateStore, resolveCampaign, stateUse } from './common';
import { println, type Io } from './io';
import { atPath, atPathSync } from './path-errors';

export const HELP = `Usage: campaign verify --campaign NAME|FILE [--state DIR] [--export DIR] [--json]

Checks that the campaign's ledger is still exactly what its runs wrote, and says where it is not. Read-only:
never calls Graph, never writes to the ledger or to git.

  chain          every line written by this version carries a hash of itself and of the line before: an edited,
                 removed, inserted or reordered line breaks it there. Lines written before the chain existed are
                 covered as a block by the first chained line.
  checkpoint     the last run's checkpoint recorded a hash of the ledger's first lines: they must be unchanged.
  export         with --export, the audit export written earlier (campaign history --export) must be the start
                 of the ledger, byte for byte, and its history.md must record the export's SHA-256.
  configuration  every run that recorded its campaign file (SHA-256, and the commit when known) must have used a
                 version git holds: the file at that commit, or some version in the history of HEAD.

  --campaign NAME|FILE   a campaign name (looked up in campaigns/) or a campaign file, in a clone of the campaigns
                         repository with its full history (in a workflow: actions/checkout with fetch-depth: 0)
  --state DIR|URL       ledger: a directory (default .campaign-state/), azblob://ACCOUNT/CONTAINER or a connection string
  --export DIR           the audit export to compare: DIR/<campaign>/events.jsonl (none there yet is fine)
  --json                 print one JSON object: { campaign, ledger, intact, lines, chain, runs, export, broken, warnings }

Exit status: 0 intact, 1 broken (the first broken line is named, with what to do next), 2 usage or runtime error
(an invalid campaign file, another campaign's ledger, no ledger for a started campaign, a ledger written by a newer
version; when runs recorded their campaign file: a campaign file outside git, or a clone that lacks the commit or
the history a run recorded…).`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseFlags('verify', argv, { campaign: { type: 'string' }, state: { type: 'string' }, export: { type: 'string' }, json: { type: 'boolean' } });
  if (p.values.help) {
    println(io.stdout, HELP);
    return 0;
  }
  const campaignFlag = requireFlag(p, 'campaign', 'verify');
  const exportFlag = stringFlag(p, 'export');
  if (exportFlag === '') throw new UsageError('--export needs a directory (the one `campaign history --export` wrote to).', 'Run "campaign verify --help" for the usage.');
  let resolved;
  try {
    resolved = resolveCampaign(campaignFlag, io);
  } catch (e) {
    // Its findings are printed; verify cannot tell which campaign the ledger should belong to.
    if (e instanceof CampaignInvalid) return 2;
    throw e;
  }
  const { campaign, file } = resolved;
  const name = campaign.metadata.name;
  const store = await openStateStore(p, io);
  const warnings: string[] = [];
  const use = await stateUse(p, io);
  const checkpoint = await atPath(use, () => readCheckpointMark(store, name, warnings));
  const exportDir = exportFlag === undefined ? undefined : path.resolve(io.cwd, exportFlag);
  if (exportDir !== undefined) {
    // A path that cannot hold an export (a file, no permission) is named as --export, not as the ledger's trouble.
    const use = { subject: `--export ${exportFlag}`, path: exportDir, expects: 'the directory campaign history --export wrote to (none there yet is fine)' };
    atPathSync(use, () => {
      try {
        fs.statSync(path.join(exportDir, name, EXPORT_JSONL));
      } catch (e) {
        if (!isSystemError(e) || e.code !== 'ENOENT') throw e;
      }
    });
  }
  const { report, details } = await atPath(use, () => verifyLedger({
    campaign: name,
    location: store.location(name),
    readRaw: rawReaderOf(store),
    checkpoint,
    exportDir,
    configuration: gitConfigurationCheck(file),
  }));
  report.warnings = warnings.concat(report.warnings);

  const where = store.location(name);
  const position: LedgerPosition = { campaigns: details.campaigns, tenants: [], status: null, lastRunAt: null, recordsStart: false, generation: 0 };
  const refusal = identityRefusal(position, { campaign: name, where })
    ?? (report.lines === 0 && campaign.spec.status !== 'notStarted' ? noLedgerForStarted(name, campaign.spec.status, where, false) : null);
  if (refusal) throw new LedgerRefusedError(refusal);
  if (report.lines === 0) println(io.stderr, `campaign verify: no ledger at ${where} yet (${name} is notStarted).`);

  println(io.stdout, p.values.json ? JSON.stringify(report) : formatVerifyText(report, details));
  return report.intact ? 0 : 1;
}
