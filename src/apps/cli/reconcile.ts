// `campaign plan` and `campaign reconcile`: the same run, without and with writes.
import { Graph } from '../../graph/client';
import type { RunResult } from '../../reconcile/result';
import { runCampaign } from '../../reconcile/run';
import { intFlag, nowFlag, parseFlags, requireFlag, stringFlag } from './args';
import { CampaignInvalid, COMMON_GRAPH_FLAGS, graphUrl, resolveCampaign, openStateStore, stateUse } from './common';
import { atPath } from './path-errors';
import { graphClock, println, type Io } from './io';

const usage = (cmd: string, what: string, extra = '') => `Usage: campaign ${cmd} --campaign NAME|FILE [--graph-url URL] [--state DIR] [--now ISO] [--json]

${what}

  --campaign NAME|FILE   a campaign name (looked up in campaigns/) or a campaign file
  --graph-url URL        Microsoft Graph base URL (default https://graph.microsoft.com; the emulator's URL in tests)
  --state DIR|URL       ledger: a directory (default .campaign-state/), azblob://ACCOUNT/CONTAINER or a connection string
  --now ISO              the run's clock (default: now)
  --json                 print the result as one JSON object, for scripts
  --sender UPN           mailbox for email notifications when the campaign names none
  --lock-wait SECONDS    wait this long for another run on the same campaign to finish (default 0)
  --accept-target-drop   act even though the target set shrank by more than 20 % since the last run${extra}

Exit status: 0 success, 1 invalid campaign file, 2 usage or runtime error (Graph unreachable, 401, missing enforcement group…).`;

export const PLAN_HELP = usage('plan', 'Shows what a reconcile would do now: stage moves, notifications, group adds. Writes nothing (no Graph write, no ledger write).');
export const RECONCILE_HELP = usage('reconcile', 'One run: observe every targeted user in Microsoft Graph, decide, add ready users to the enforcement group, send notifications, append to the ledger.', `
  --new-ledger           start on a ledger that records no run although the enforcement group already has
                         members (refused otherwise: most often --state is mistyped)`);

export function formatRun(r: RunResult): string {
  const c = r.counts;
  const lines = [
    `${r.applied ? 'reconcile' : 'plan'} ${r.campaign} at ${r.now} (${r.status}${r.applied ? '' : ', nothing written'})`,
    `  targeted ${c.targeted} · device update ${c.deviceUpdate} · passkey registration ${c.passkeyRegistration} · enforcement notice ${c.enforcementNotice} · enforced ${c.enforced}`,
    `  exceeded grace ${c.exceededGrace} · excluded ${c.excluded} · blocked by FIDO2 policy ${c.blocked} · unread ${c.unread}`,
    `  ${r.notifications} notification${r.notifications === 1 ? '' : 's'}${r.applied ? ' sent' : ' to send'}, ${r.groupAdds} ${r.applied ? 'added to' : 'to add to'} the enforcement group, ${r.graphRequests} Graph requests`,
  ];
  if (r.transitions.length) {
    lines.push(`  ${r.transitions.length} transition${r.transitions.length === 1 ? '' : 's'}:`);
    const width = Math.min(48, Math.max(...r.transitions.map((t) => t.userPrincipalName.length)));
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
    ...(cmd === 'reconcile' ? { 'new-ledger': { type: 'boolean' } } : {}),
  });
  if (p.values.help) {
    println(io.stdout, cmd === 'plan' ? PLAN_HELP : RECONCILE_HELP);
    return 0;
  }
  const now = nowFlag(p);
  const lockWaitMs = intFlag(p, 'lock-wait', 0) * 1000;
  let campaign;
  try {
    campaign = resolveCampaign(requireFlag(p, 'campaign', cmd), io).campaign;
  } catch (e) {
    if (e instanceof CampaignInvalid) return 1;
    throw e;
  }
  const graph = new Graph({ graphUrl: graphUrl(p, io), ...graphClock(io) });
  const store = await openStateStore(p, io);
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
  }));
  println(io.stdout, p.values.json ? JSON.stringify(result) : formatRun(result));
  return 0;
}

export const run = (argv: string[], io: Io) => runCommand('reconcile', argv, io);
