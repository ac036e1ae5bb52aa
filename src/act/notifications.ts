// Sending notifications, crash-safe: each group of 20 is recorded as dispatched before Graph sees it,
// and every notice ends with an outcome (see src/engine/recovery.ts for how a later run settles one
// that has none).
import type { Campaign } from '../campaign/types';
import type { NotifyDecision } from '../engine/decide';
import { LEDGER_VERSION, type LedgerEvent, type NotificationOutcomeEvent, type NotificationSentEvent } from '../ledger/events';
import { warning, type RunWarning } from '../engine/warnings';
import type { BatchResponse, Graph } from '../graph/client';
import { GraphAuthError, GraphError } from '../graph/errors';
import { notificationRequest, sentMailLookupRequest, type ChannelConfig } from '../notify/channels';
import { createPostponeToken } from '../notify/postpone-token';
import { renderNotification } from '../notify/templates';

/** A notification to send: from a decision of this run, or recorded by an interrupted one. */
export interface Notice {
  userId: string;
  userPrincipalName: string;
  key: string;
  kind: NotifyDecision['kind'];
  stage: NotifyDecision['stage'];
  deadline: string | null;
  devices?: Array<{ displayName: string; platform: string; version: string; minimum: string }>;
  /** Recorded by an interrupted run and sent by this one. */
  resent: boolean;
}

export function noticeOf(d: NotifyDecision): Notice {
  return { userId: d.userId, userPrincipalName: d.userPrincipalName, key: d.key, kind: d.kind, stage: d.stage, deadline: d.deadline, devices: d.devices, resent: false };
}

export function noticeOfEvent(e: NotificationSentEvent): Notice {
  return { userId: e.userId, userPrincipalName: e.userPrincipalName, key: e.key, kind: e.kind, stage: e.stage, deadline: e.deadline ?? null, devices: e.devices, resent: true };
}

export type Outcome = Omit<NotificationOutcomeEvent, 'v' | 'at' | 'runId'>;

/** Everything a send needs besides the notices themselves. */
export interface SendContext {
  graph: Graph;
  campaign: Campaign;
  channel: ChannelConfig;
  /** Display names of observed users, for the greeting. */
  displayNames: ReadonlyMap<string, string>;
  /** Signed postponement links; omitted → no link. */
  postpone?: { baseUrl: string; key: string };
  now: Date;
  runId: string;
  append: (events: LedgerEvent[]) => Promise<void>;
  warnings: RunWarning[];
}

/**
 * Looks recorded emails up by their key in the sender's Sent Items, in $batch requests.
 * Per key: true found, false not there, null the look-up itself failed (the notice stays open).
 * https://learn.microsoft.com/graph/api/user-list-messages (api-reference/v1.0/api/user-list-messages.md)
 */
export async function lookUpSentMail(graph: Graph, sender: string, keys: readonly string[]): Promise<Map<string, { found: boolean | null; status: number | null }>> {
  const out = new Map<string, { found: boolean | null; status: number | null }>();
  if (!keys.length) return out;
  const responses = await graph.batch(keys.map((key, i) => sentMailLookupRequest(sender, key, String(i))));
  keys.forEach((key, i) => {
    const r = responses.get(String(i));
    if (!r || r.status !== 200) out.set(key, { found: null, status: r?.status ?? null });
    else out.set(key, { found: ((r.body as { value?: unknown[] } | null)?.value ?? []).length > 0, status: 200 });
  });
  return out;
}

/** Notifications per dispatch record: at most this many are in doubt when a run dies mid-send. */
const DISPATCH_GROUP = 20;

/**
 * Sends notifications in $batch requests of 20, a few at once. Each wave is recorded as dispatched
 * before it leaves; a $batch whose answer is lost is never re-sent (its notifications become in
 * doubt), while inner 429/503 answers — not executed by Graph — are retried. Returns how many were
 * delivered. A 401/403 stops the sending and is thrown once the outcomes are recorded.
 */
export async function sendNotifications(ctx: SendContext, notices: readonly Notice[]): Promise<number> {
  const cfg = ctx.channel;
  if (cfg.channel === 'none' || notices.length === 0) return 0;
  const { graph, runId, warnings } = ctx;
  const at = ctx.now.toISOString();
  const channel = cfg.channel;
  const outcome = (n: Notice, o: Omit<Outcome, 'type' | 'userId' | 'userPrincipalName' | 'key' | 'channel'>): LedgerEvent =>
    ({ v: LEDGER_VERSION, at, runId, type: 'notificationOutcome', userId: n.userId, userPrincipalName: n.userPrincipalName, key: n.key, channel, ...(n.resent ? { recovered: 'resent' as const } : {}), ...o });
  if (channel === 'email' && !cfg.sender) {
    warnings.push(warning('NoSenderMailbox', `${notices.length} email notification(s) not sent: no sender mailbox. Set spec.notifications.sender or pass --sender.`));
    await ctx.append(notices.map((n) => outcome(n, { outcome: 'failed', detail: 'no sender mailbox' })));
    return 0;
  }
  const inDoubt = (n: Notice, status: number, why: string): LedgerEvent => {
    warnings.push(channel === 'email'
      ? warning('NotificationInDoubt', `email ${n.key} to ${n.userPrincipalName} got no answer (${why}); the next run looks for it in the Sent Items of ${cfg.sender} and sends it only if it is not there.`)
      : warning('NotificationInDoubt', `Teams notification ${n.key} to ${n.userPrincipalName} got no answer (${why}); it may have been delivered, so it is recorded as in doubt and not sent again.`));
    return outcome(n, { outcome: 'inDoubt', status, detail: why });
  };
  const groups: Notice[][] = [];
  for (let i = 0; i < notices.length; i += DISPATCH_GROUP) groups.push(notices.slice(i, i + DISPATCH_GROUP));
  let delivered = 0;
  let authError: GraphAuthError | undefined;
  const wave = Math.max(1, graph.concurrency);
  for (let w = 0; w < groups.length && !authError; w += wave) {
    const batchGroups = groups.slice(w, w + wave);
    await ctx.append(batchGroups.map((group): LedgerEvent => ({ v: LEDGER_VERSION, at, type: 'notificationDispatch', runId, channel, keys: group.map((n) => n.key) })));
    const results = await Promise.all(batchGroups.map(async (group): Promise<LedgerEvent[]> => {
      const requests = group.map((n, i) => notificationRequest(cfg, { userId: n.userId, userPrincipalName: n.userPrincipalName }, render(ctx, n), n.key, String(i))!);
      let responses: Map<string, BatchResponse>;
      try {
        responses = await graph.batch(requests, { retryTransport: false });
      } catch (e) {
        const status = e instanceof GraphError ? e.status : 0;
        const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
        if (e instanceof GraphAuthError) {
          authError ??= e;
          return group.map((n) => outcome(n, { outcome: 'notSent', status, detail: why }));
        }
        if (status === 429 || status === 503) {
          warnings.push(warning('NotificationRefused', `${group.length} notifications were refused by Graph (${status}) and not executed; the next run sends them.`));
          return group.map((n) => outcome(n, { outcome: 'notSent', status, detail: why }));
        }
        if (status === 0 || status === 504 || !(e instanceof GraphError)) return group.map((n) => inDoubt(n, status, why));
        warnings.push(warning('NotificationFailed', `${group.length} notifications were not delivered (${status} ${why}); the next reminder follows on schedule.`));
        return group.map((n) => outcome(n, { outcome: 'failed', status, detail: why }));
      }
      return group.map((n, i) => {
        const r = responses.get(String(i));
        const status = r?.status ?? 0;
        const why = r ? `${status} ${JSON.stringify(r.body ?? '').slice(0, 160)}` : 'no answer in the $batch response';
        if (r && status >= 200 && status < 300) {
          delivered++;
          return outcome(n, { outcome: 'delivered' });
        }
        if (status === 401 || status === 403) {
          authError ??= new GraphAuthError(`POST ${requests[i].url}: ${why}`, status, 'Unauthorized', 'POST', requests[i].url, false);
          return outcome(n, { outcome: 'notSent', status, detail: why });
        }
        if (status === 429 || status === 503) {
          warnings.push(warning('NotificationRefused', `notification ${n.key} to ${n.userPrincipalName} was refused by Graph (${status}) and not executed; the next run sends it.`));
          return outcome(n, { outcome: 'notSent', status, detail: why });
        }
        if (!r || status === 504) return inDoubt(n, status, why);
        warnings.push(warning('NotificationFailed', `notification ${n.key} to ${n.userPrincipalName} was not delivered (${why}); it is not retried, the next reminder follows on schedule.`));
        return outcome(n, { outcome: 'failed', status, detail: why });
      });
    }));
    await ctx.append(results.flat());
  }
  // Remaining notices were never dispatched: the next run sends them. The run itself fails like any 401.
  if (authError) throw authError;
  return delivered;
}

function render(ctx: SendContext, n: Notice) {
  const { campaign, postpone, now } = ctx;
  let postponeUrl: string | undefined;
  if (postpone && campaign.spec.postponement.enabled && n.kind !== 'enforced') {
    const token = createPostponeToken({ campaign: campaign.metadata.name, userId: n.userId, stage: n.stage, expiresAt: new Date(now.getTime() + 7 * 86_400_000), key: postpone.key });
    postponeUrl = `${postpone.baseUrl}?token=${encodeURIComponent(token)}`;
  }
  return renderNotification({
    kind: n.kind,
    displayName: ctx.displayNames.get(n.userId) ?? n.userPrincipalName,
    campaignDescription: campaign.metadata.description,
    registrationUrl: campaign.spec.notifications.registrationUrl,
    deadline: n.deadline,
    devices: n.devices?.map((x) => ({ displayName: x.displayName, platform: x.platform, version: x.version, minimum: x.minimum })),
    postponeUrl,
    owners: campaign.metadata.owners,
  });
}
