// `campaign impact`: what the campaign's report-only Conditional Access policy would have done to the enforcement
// group's sign-ins, and whether that meets the campaign's gate (spec.enforcement.enableWhen). Reads Graph only;
// --record saves the report in --state for status and the dashboard.
import type { Campaign } from '../../campaign/types';
import { UsageError } from '../../errors';
import { Graph } from '../../graph/client';
import { gatherImpact } from '../../impact/gather';
import { renderImpactMarkdown, stateText } from '../../impact/markdown';
import { buildImpactReport, IMPACT_SNAPSHOT, type ImpactReport } from '../../impact/report';
import { nowFlag, parseFlags, requireFlag, stringFlag } from './args';
import { CampaignInvalid, graphUrl, openStateStore, resolveCampaign, stateUse } from './common';
import { graphClock, println, type Io } from './io';
import { writeOutputFlag } from './output-file';
import { atPath } from './path-errors';

/** Sign-in logs are kept 30 days (Microsoft Entra data retention), so a longer window would only look complete. */
const MAX_DAYS = 30;

export const HELP = `Usage: campaign impact --campaign NAME|FILE [--graph-url URL] [--days N] [--json] [--markdown FILE] [--state DIR|URL] [--record] [--now ISO]

What the campaign's report-only Conditional Access policy would have done: reads the sign-in logs of the last N
days for the members of the enforcement group and counts the users whose sign-ins satisfied the policy, were
interrupted, or would have been blocked (with the applications and client apps; legacy clients that cannot use
a passkey are marked), and the users with no passkey sign-in. Then checks the campaign's gate
(spec.enforcement.enableWhen): enough days observed, at least one user observed, and at most
maxWouldBlockUsersPercent of the observed users would be blocked. Writes nothing to the tenant.

  --campaign NAME|FILE   a campaign name (looked up in campaigns/) or a campaign file
  --graph-url URL        Microsoft Graph base URL (default https://graph.microsoft.com; the emulator's URL in tests)
  --days N               days of sign-ins to read, 1 to ${MAX_DAYS} (default: the gate's observedDays, 14 unless set)
  --json                 print one JSON object: { campaign, policyId, days, users: { observed, satisfied,
                         interrupted, wouldBlock, noPasskeySignIn }, wouldBlock: [ { userId, userPrincipalName,
                         apps, clientApps, legacy, … } ], gate: { met, reason, message, … }, window, members, … }
  --markdown FILE        write the reviewer's page (verdict, numbers, would-block users, what to do next), e.g.
                         --markdown "$GITHUB_STEP_SUMMARY" (that file is appended to, not replaced)
  --record               save the report in --state, where campaign status and the dashboard show it
  --state DIR|URL        with --record: the ledger's location (default .campaign-state/), azblob://ACCOUNT/CONTAINER
                         or a connection string
  --now ISO              the end of the window (default: now)

Every sign-in of the window is read (Graph cannot filter them by group), 1,000 a page, and Graph allows about five
pages per 10 seconds of the sign-in logs: a busy tenant's 14 days take minutes.
Graph permissions: AuditLog.Read.All and Directory.Read.All (sign-in logs), Policy.Read.All (the policy, and the
Conditional Access results of each sign-in), GroupMember.Read.All (the enforcement group).
Exit status: 0 the gate is met, 1 it is not (or the campaign file is invalid), 2 usage or runtime error (a
permission missing, sign-ins without Conditional Access data, no policy of the campaign's name…): then no
verdict is given.`;

export function formatImpact(r: ImpactReport): string {
  const u = r.users;
  const s = r.signIns;
  const lines = [
    `impact ${r.campaign}: gate ${r.gate.met ? 'met' : 'NOT met'}: ${r.gate.message}`,
    `  policy ${r.policyName} (${stateText(r.policyState)}) · sign-ins ${r.window.from} → ${r.window.to} (${r.days} day${r.days === 1 ? '' : 's'})`,
    `  members ${r.members} · observed ${u.observed} · satisfied ${u.satisfied} · interrupted ${u.interrupted} · would block ${u.wouldBlock} · no passkey sign-in ${u.noPasskeySignIn} · not observed ${r.unobserved}`,
    `  member sign-ins ${s.total}, evaluated ${s.evaluated}: success ${s.reportOnlySuccess + s.success} · interrupted ${s.reportOnlyInterrupted} · would block ${s.reportOnlyFailure}`,
  ];
  for (const w of r.wouldBlock.slice(0, 100)) {
    lines.push(`    ${w.userPrincipalName || w.userId}  ${w.apps.join(', ')}  [${w.clientApps.map((c) => (w.legacyClientApps.includes(c) ? `${c} (legacy)` : c)).join(', ')}]  ${w.signIns} sign-in${w.signIns === 1 ? '' : 's'}`);
  }
  if (r.wouldBlock.length > 100) lines.push(`    … and ${r.wouldBlock.length - 100} more (use --json for all)`);
  return lines.join('\n');
}

function daysFlag(p: ReturnType<typeof parseFlags>, campaign: Campaign): number {
  const v = stringFlag(p, 'days');
  if (v === undefined) return campaign.spec.enforcement.enableWhen.observedDays;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_DAYS) {
    throw new UsageError(`--days must be a whole number from 1 to ${MAX_DAYS} (got "${v}").`, `Sign-in logs are kept ${MAX_DAYS} days; the gate needs ${campaign.spec.enforcement.enableWhen.observedDays}.`);
  }
  return Number(v);
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseFlags('impact', argv, {
    campaign: { type: 'string' }, 'graph-url': { type: 'string' }, days: { type: 'string' }, json: { type: 'boolean' },
    markdown: { type: 'string' }, state: { type: 'string' }, record: { type: 'boolean' }, now: { type: 'string' },
  });
  if (p.values.help) {
    println(io.stdout, HELP);
    return 0;
  }
  const now = nowFlag(p);
  if (stringFlag(p, 'state') !== undefined && !p.values.record) throw new UsageError('--state is where --record saves the report: use them together.', 'For example: campaign impact --campaign NAME --record --state .campaign-state');
  let campaign: Campaign;
  try {
    campaign = resolveCampaign(requireFlag(p, 'campaign', 'impact'), io).campaign;
  } catch (e) {
    if (e instanceof CampaignInvalid) return 1;
    throw e;
  }
  const days = daysFlag(p, campaign);
  // Opened before any Graph read, so a mistyped --state fails fast.
  const store = p.values.record ? await openStateStore(p, io) : undefined;
  const graph = new Graph({ graphUrl: graphUrl(p, io), ...graphClock(io) });
  const gathered = await gatherImpact(graph, campaign, { now, days });
  const report = buildImpactReport({ campaign, policy: gathered.policy, members: gathered.members, tally: gathered.tally, now, days, graduated: gathered.graduated });

  const written: string[] = [];
  const markdown = stringFlag(p, 'markdown');
  if (markdown !== undefined) written.push(`wrote the impact report to ${await writeOutputFlag('markdown', markdown, renderImpactMarkdown(report), io)}`);
  if (store) {
    await atPath(await stateUse(p, io), () => store.writeSnapshot(campaign.metadata.name, IMPACT_SNAPSHOT, report));
    written.push(`recorded the impact report for ${campaign.metadata.name} in ${store.location(campaign.metadata.name)}`);
  }
  if (p.values.json) {
    println(io.stdout, JSON.stringify(report));
    for (const w of written) println(io.stderr, w);
  } else {
    println(io.stdout, formatImpact(report));
    for (const w of written) println(io.stdout, w);
  }
  return report.gate.met ? 0 : 1;
}
