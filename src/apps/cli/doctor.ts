// `campaign doctor --campaign NAME|FILE [--graph-url URL] [--state DIR|URL] [--format text|json|github]`
import * as path from 'node:path';
import { ready, runDoctor, type DoctorCheck, type DoctorReport } from '../../doctor/index';
import { Graph } from '../../graph/client';
import { nowFlag, oneOf, parseFlags, requireFlag } from './args';
import { CampaignInvalid, graphUrl, openStateStore, resolveCampaign, stateUse } from './common';
import { println, type Io } from './io';
import { atPath } from './path-errors';
import { escData, escProp } from './validate';

export const HELP = `Usage: campaign doctor --campaign NAME|FILE [--graph-url URL] [--state DIR|URL] [--format text|json|github]

Checks, read-only, everything the campaign depends on in the tenant and says what to fix: the identity's Graph
permissions, the FIDO2 (passkey) method and its targets, the enforcement group, the Conditional Access policy
(and its drift from what the stack declares), the break-glass accounts, the notification channel (Teams app or
sender mailbox), Entra's own registration campaign and the ledger. Nothing is written to Graph or the ledger.

  --campaign NAME|FILE   a campaign name (looked up in campaigns/) or a campaign file
  --graph-url URL        Microsoft Graph base URL (default https://graph.microsoft.com)
  --state DIR|URL        ledger: a directory (default .campaign-state/), azblob://ACCOUNT/CONTAINER or a connection string
  --format FMT           text (default), json, or github (workflow annotations for a failing or warning check)
  --now ISO              the clock target resolution uses (default: now)

Environment: CAMPAIGN_CLIENT_ID, else AZURE_CLIENT_ID (client id of the identity the scheduled job runs as, whose
permissions are checked), CAMPAIGN_TEAMS_APP_ID (the Teams app's catalog id), CAMPAIGN_NOTIFICATION_SENDER (sender
mailbox when the campaign names none). The ledger check takes the campaign's lock and releases it; an identity
that may only read the ledger gets a warning there.

Exit status: 0 no blocking check failed, 1 a blocking check failed (or the campaign file is invalid),
2 usage or runtime error (Graph unreachable, credential refused…).`;

const MARK: Record<DoctorCheck['status'], string> = { pass: 'ok  ', fail: 'FAIL', warn: 'warn', skip: 'skip' };

export function formatText(r: DoctorReport): string {
  const lines = [`doctor ${r.campaign}`];
  for (const c of r.checks) {
    lines.push(`  ${MARK[c.status]}  ${c.id.padEnd(22)} ${c.title}${c.blocking ? '' : ' (advisory)'}`);
    lines.push(`        ${c.message}`);
    if (c.fix && c.status !== 'pass') lines.push(`        fix: ${c.fix}`);
  }
  const failed = r.checks.filter((c) => c.status === 'fail');
  const blocking = failed.filter((c) => c.blocking);
  const warned = r.checks.filter((c) => c.status === 'warn').length;
  lines.push(blocking.length
    ? `${blocking.length} blocking check${blocking.length === 1 ? '' : 's'} failed (${blocking.map((c) => c.id).join(', ')}): the scheduled job will not act until ${blocking.length === 1 ? 'it passes' : 'they pass'}.`
    : `ready: no blocking check failed${failed.length ? `, ${failed.length} advisory failed` : ''}${warned ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}.`);
  return lines.join('\n');
}

/** One workflow annotation per failing or warning check, on the campaign file (validate's format). */
export function githubAnnotations(r: DoctorReport, file: string): string[] {
  return r.checks
    .filter((c) => c.status === 'fail' || c.status === 'warn')
    .map((c) => `::${c.status === 'fail' && c.blocking ? 'error' : 'warning'} file=${escProp(file)},title=${escProp(`campaign doctor: ${c.id}`)}::${escData(`${c.message}${c.fix ? ` Fix: ${c.fix}` : ''}`)}`);
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseFlags('doctor', argv, { campaign: { type: 'string' }, 'graph-url': { type: 'string' }, state: { type: 'string' }, format: { type: 'string' }, now: { type: 'string' } });
  if (p.values.help) {
    println(io.stdout, HELP);
    return 0;
  }
  const format = oneOf(p, 'format', ['text', 'json', 'github'] as const, 'text');
  const now = nowFlag(p);
  let resolved;
  try {
    resolved = resolveCampaign(requireFlag(p, 'campaign', 'doctor'), io);
  } catch (e) {
    if (e instanceof CampaignInvalid) return 1;
    throw e;
  }
  const store = await openStateStore(p, io);
  const report = await atPath(await stateUse(p, io), () => runDoctor({
    campaign: resolved.campaign,
    graph: new Graph({ graphUrl: graphUrl(p, io) }),
    store,
    appId: io.env.CAMPAIGN_CLIENT_ID || io.env.AZURE_CLIENT_ID || undefined,
    teamsAppId: io.env.CAMPAIGN_TEAMS_APP_ID || undefined,
    sender: io.env.CAMPAIGN_NOTIFICATION_SENDER || undefined,
    now,
  }));
  if (format === 'json') println(io.stdout, JSON.stringify(report, null, 2));
  else if (format === 'github') {
    const file = path.relative(io.cwd, resolved.file);
    for (const line of githubAnnotations(report, file)) println(io.stdout, line);
    println(io.stdout, formatText(report));
  } else println(io.stdout, formatText(report));
  return ready(report) ? 0 : 1;
}
