// `campaign plan` and `campaign reconcile`: the same run, without and with writes.
import { campaignIdentity } from '../../campaign/identity';
import type { Campaign } from '../../campaign/types';
import { Graph } from '../../graph/client';
import type { PlanDetail, RunResult } from '../../reconcile/result';
import { runCampaign } from '../../reconcile/run';
import { detailUsers, renderDashboard } from '../../report/html';
import { buildReport } from '../../report/model';
import { buildDashboardDetail } from '../../report/timeline';
import { planOverview, type PlanOverview } from '../../report/overview';
import { renderProposalMarkdown } from '../../report/proposal-markdown';
import { intFlag, nowFlag, parseFlags, requireFlag, stringFlag } from './args';
import { CampaignInvalid, COMMON_GRAPH_FLAGS, graphUrl, resolveCampaign, openStateStore, stateUse } from './common';
import { writeOutputFlag } from './output-file';
import { atPath } from './path-errors';
import { graphClock, println, type Io } from './io';
import { maxOf } from '../../contracts/arrays';

const usage = (cmd: string, what: string, opts: { synopsis?: string; json?: string; extra?: string; after?: string; exit?: string } = {}) => `Usage: campaign ${cmd} --campaign NAME|FILE [--graph-url URL] [--state DIR] [--now ISO] [--json]${opts.synopsis ?? ''}

${what}

  --campaign NAME|FILE   a campaign name (looked up in campaigns/) or a campaign file
  --graph-url URL        Microsoft Graph base URL (default https://graph.microsoft.com; the emulator's URL in tests)
  --state DIR|URL       ledger: a directory (default .campaign-state/), azblob://ACCOUNT/CONTAINER or a connection string
  --now ISO              the run's clock (default: now)
  --json                 ${opts.json ?? 'print the result as one JSON object, for scripts'}
  --sender UPN           mailbox for email notifications when the campaign names none
  --lock-wait SECONDS    wait this long for another run on the same campaign to finish (default 0)
  --accept-target-drop   act even though the target set shrank by more than 20 % since the last run${opts.extra ?? ''}
${opts.after ?? ''}
Exit status: 0 success, 1 invalid campaign file, 2 usage or runtime error (Graph unreachable, 401, missing enforcement group${opts.exit ?? ''}…).`;

export const PLAN_HELP = usage('plan', `Shows what a reconcile would do now: stage moves, notifications, group adds, and the campaign's review: goal,
targeted users, readiness, devices below the minimum OS, the stages it starts with, estimated duration and end
date, outlook. On a notStarted campaign it shows what the first run would do. Writes nothing to the tenant or
the ledger.`, {
  synopsis: ' [--markdown FILE] [--html FILE]',
  exit: ', a --markdown or --html path that cannot be written',
  json: `print the result as one JSON object, for scripts; its "overview" holds the review:
                         { targeted, readiness, devicesBelowMinimum, outOfFido2Scope, estimatedEnd, outlook, … }`,
  extra: `
  --markdown FILE        write the review as Markdown (goal, targeted users, readiness, devices below the minimum
                         OS by version, stages, estimated duration, outlook, notices, warnings), e.g. for a pull
                         request: --markdown "$GITHUB_STEP_SUMMARY" (that file is appended to, not replaced)
  --html FILE            write the dashboard of "campaign status --html" as this run would leave the campaign,
                         marked as a proposal`,
  after: `
With --markdown or --html and without --json, stdout only names the files written. Readiness counts users who
are not enforced yet; users already enforced are counted apart.
`,
});
export const RECONCILE_HELP = usage('reconcile', `One run: observe every targeted user in Microsoft Graph, decide, add ready users to the enforcement group, send notifications, append to the ledger.
The run records which configuration it followed: the SHA-256 of the campaign file's bytes and, when the file is
committed unchanged in a git checkout, the last commit that changed it and its path in the repository.`, { extra: `
  --new-ledger           start on a ledger that records no run although the enforcement group already has
                         members (refused otherwise: most often --state is mistyped)` });

export function formatRun(r: RunResult, overview?: PlanOverview): string {
  const c = r.counts;
  const lines = [
    `${r.applied ? 'reconcile' : 'plan'} ${r.campaign} at ${r.now} (${r.status}${r.applied ? '' : ', nothing written'})`,
    `  targeted ${c.targeted} · device update ${c.deviceUpdate} · passkey registration ${c.passkeyRegistration} · enforcement notice ${c.enforcementNotice} · enforced ${c.enforced}${r.graduation ? ` · graduated ${c.graduated}` : ''}`,
    `  exceeded grace ${c.exceededGrace} · excluded ${c.excluded} · blocked by FIDO2 policy ${c.blocked} · unread ${c.unread}`,
    `  ${r.notifications} notification${r.notifications === 1 ? '' : 's'}${r.applied ? ' sent' : ' to send'}, ${r.groupAdds} ${r.applied ? 'added to' : 'to add to'} the enforcement group, ${r.graphRequests} Graph requests`,
  ];
  const g = r.graduation;
  if (g?.available) {
    lines.push(`  graduation: ${g.graduated} ${r.applied ? 'moved' : 'to move'} to the graduated group (enabled policy)${g.deferred ? `, ${g.deferred} waiting for the next run` : ''}; sign-ins read ${g.window!.from} to ${g.window!.to}`);
    for (const f of g.signInFailures) lines.push(`    ${f.userPrincipalName}: graduated, ${f.failures} sign-in${f.failures === 1 ? '' : 's'} blocked by the enabled policy${f.apps.length ? ` (${f.apps.join(', ')}; ${f.clientApps.join(', ')})` : ''}`);
  }
  if (overview) {
    const o = overview;
    const below = Object.entries(o.devicesBelowMinimum).filter(([, n]) => n > 0).map(([p, n]) => `${p} ${n}`).join(', ');
    lines.push(`  readiness (not yet enforced): needs a device update ${o.readiness.needsDeviceUpdate} · needs a passkey ${o.readiness.needsPasskey} · ready ${o.readiness.ready} · already enforced ${o.readiness.alreadyEnforced}${o.readiness.unassessed ? ` · not assessed ${o.readiness.unassessed}` : ''}`);
    lines.push(`  devices below the minimum OS: ${below || 'none'} · outside the FIDO2 policy scope ${o.outOfFido2Scope}`);
    lines.push(`  ${o.onboarding.message}`);
    lines.push(`  estimated end ${o.estimatedEnd === null ? 'unknown' : `${o.estimatedEnd} (${o.estimatedDays} day${o.estimatedDays === 1 ? '' : 's'})`}`);
  }
  if (r.transitions.length) {
    lines.push(`  ${r.transitions.length} transition${r.transitions.length === 1 ? '' : 's'}:`);
    const width = Math.min(48, maxOf(r.transitions.map((t) => t.userPrincipalName.length)));
    for (const t of r.transitions.slice(0, 200)) lines.push(`    ${t.userPrincipalName.padEnd(width)}  ${t.from ?? '(new)'} → ${t.to ?? '(left)'}  ${t.reason}`);
    if (r.transitions.length > 200) lines.push(`    … and ${r.transitions.length - 200} more (use --json for all)`);
  }
  if (r.prerequisites) {
    const p = r.prerequisites;
    const fido2 = `FIDO2 policy ${p.fido2Enabled ? 'enabled' : 'DISABLED'}, self-service registration ${p.selfServiceRegistrationAllowed ? 'allowed' : 'NOT allowed'}, AAGUID restrictions ${p.aaGuidRestrictionsEnforced ? 'enforced' : 'off'}`;
    const managed = p.qualifiesForMicrosoftManagedCampaign
      ? 'the tenant qualifies for Entra\'s Microsoft-managed passkey registration campaign, so Entra may nudge these users too'
      : 'the tenant does not qualify for Entra\'s Microsoft-managed registration campaign';
    lines.push(`  prerequisites: ${fido2}; ${managed}.`);
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

export async function runCommand(cmd: 'plan' | 'reconcile', argv: string[], io: Io): Promise<number> {
  const p = parseFlags(cmd, argv, {
    ...COMMON_GRAPH_FLAGS, sender: { type: 'string' }, 'lock-wait': { type: 'string' }, 'accept-target-drop': { type: 'boolean' },
    ...(cmd === 'reconcile' ? { 'new-ledger': { type: 'boolean' } } : { markdown: { type: 'string' }, html: { type: 'string' } }),
  });
  if (p.values.help) {
    println(io.stdout, cmd === 'plan' ? PLAN_HELP : RECONCILE_HELP);
    return 0;
  }
  const now = nowFlag(p);
  const lockWaitMs = intFlag(p, 'lock-wait', 0) * 1000;
  let resolved;
  try {
    resolved = resolveCampaign(requireFlag(p, 'campaign', cmd), io);
  } catch (e) {
    if (e instanceof CampaignInvalid) return 1;
    throw e;
  }
  const campaign = resolved.campaign;
  const graph = new Graph({ graphUrl: graphUrl(p, io), ...graphClock(io) });
  const store = await openStateStore(p, io);
  let plan: PlanDetail | undefined;
  const result = await atPath(await stateUse(p, io), () => runCampaign({
    campaign,
    graph,
    store,
    now,
    apply: cmd === 'reconcile',
    sender: stringFlag(p, 'sender') ?? io.env.CAMPAIGN_NOTIFICATION_SENDER,
    teamsAppId: io.env.CAMPAIGN_TEAMS_APP_ID,
    postpone: io.env.CAMPAIGN_POSTPONE_URL && io.env.CAMPAIGN_POSTPONE_KEY ? { baseUrl: io.env.CAMPAIGN_POSTPONE_URL, key: io.env.CAMPAIGN_POSTPONE_KEY } : undefined,
    lockWaitMs,
    acceptTargetDrop: p.values['accept-target-drop'] === true,
    newLedger: p.values['new-ledger'] === true,
    // The configuration every runStarted records: the file's SHA-256 and, from a clean git checkout, its commit.
    ...(cmd === 'reconcile' ? { source: campaignIdentity(resolved.file, resolved.bytes) } : {}),
    onPlan: (d) => (plan = d),
  }));
  if (cmd === 'reconcile' || !plan) {
    println(io.stdout, p.values.json ? JSON.stringify(result) : formatRun(result));
    return 0;
  }
  return printPlan(p.values.json === true, { markdown: stringFlag(p, 'markdown'), html: stringFlag(p, 'html') }, campaign, result, plan, io);
}

/** plan's outputs: the overview in --json and the text, the review as Markdown, the proposal dashboard. */
async function printPlan(json: boolean, files: { markdown?: string; html?: string }, campaign: Campaign, result: RunResult, plan: PlanDetail, io: Io): Promise<number> {
  const overview = planOverview({ campaign: plan.campaign, observation: plan.observation, after: plan.after, now: result.now });
  const written: string[] = [];
  if (files.markdown !== undefined) {
    const file = await writeOutputFlag('markdown', files.markdown, renderProposalMarkdown(result, overview), io);
    written.push(`wrote the campaign review to ${file}`);
  }
  if (files.html !== undefined) {
    // The ledger plus what this run would write, over this plan's observation: the dashboard as the run leaves it.
    const events = plan.ledger.slice();
    for (const e of plan.events) events.push(e);
    const report = buildReport({ campaign, events, observation: plan.observation, now: new Date(result.now) });
    const file = await writeOutputFlag('html', files.html, renderDashboard(report, campaign, { proposal: true, detail: buildDashboardDetail({ campaign, events, observation: plan.observation, only: detailUsers(report) }) }), io);
    written.push(`wrote the proposal dashboard to ${file}`);
  }
  if (json) {
    println(io.stdout, JSON.stringify({ ...result, overview }));
    for (const w of written) println(io.stderr, w);
  } else if (written.length) {
    for (const w of written) println(io.stdout, w);
  } else {
    println(io.stdout, formatRun(result, overview));
  }
  return 0;
}

export const run = (argv: string[], io: Io) => runCommand('reconcile', argv, io);
