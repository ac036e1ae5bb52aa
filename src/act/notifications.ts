// Sending notifications, crash-safe: each group of 20 is recorded as dispatched before Graph sees it,
// and every notice ends with an outcome (see src/engine/recovery.ts for how a later run settles one
// that has none).
import type { Campaign } from '../campaign/types';
import type { NotifyDecision } from '../engine/decide';
import { LEDGER_VERSION, type LedgerEvent, type NotificationOutcomeEvent, type NotificationSentEvent } from '../ledger/events';
import { warning, type RunWarning } from '../engine/warnings';
import type { BatchRequest, BatchResponse, Graph } from '../graph/client';
import type { MailSend } from '../engine/mail-limits';
import { GraphAuthError, GraphError } from '../graph/errors';
import { NotificationsStoppedError, type NotificationStop } from './errors';
import { notificationRequest, sentMailLookupRequest, type ChannelConfig } from '../notify/channels';
import { createPostponeToken } from '../notify/postpone-token';
import { renderNotification } from '../notify/templates';
import { prepareTeams } from './teams-install';
import { Pacer, TEAMS_ACTIVITY_PER_SECOND } from './teams-pace';
import { deferUnsent, MAIL_DAY_USED_UP, mailPacerFor } from './mail-pacing';

/** A notification to send: from a decision of this run, or recorded by an interrupted one. */
export interface Notice {
  userId: string;
  userPrincipalName: string;
  key: string;
  kind: NotifyDecision['kind'];
  stage: NotifyDecision['stage'];
  deadline: string | null;
  devices?: Array<{ displayName: string; platform: string; version: string; minimum: string }>;
  /** Recorded by an interrupted run and sent by this one (absent or false: decided by this run). */
  resent?: boolean;
}

/** A notify decision is its own notice: no copy per notified user. */
export function noticeOf(d: NotifyDecision): Notice {
  return d;
}

export function noticeOfEvent(e: NotificationSentEvent): Notice {
  return { userId: e.userId, userPrincipalName: e.userPrincipalName, key: e.key, kind: e.kind, stage: e.stage, deadline: e.deadline ?? null, devices: e.devices, resent: true };
}

export type Outcome = Omit<NotificationOutcomeEvent, 'v' | 'at' | 'runId'>;

/** What a send needs to know about an observed user. */
export interface RecipientInfo {
  displayName: string;
  /** The mailbox address (Graph `mail`); null: no mailbox, so no email. */
  mail: string | null;
}

/** The users observed this run, by id (a Map will do; a reconcile looks them up in the observation itself). */
export interface Recipients {
  get(userId: string): RecipientInfo | undefined;
  has(userId: string): boolean;
}

/** Everything a send needs besides the notices themselves. */
export interface SendContext {
  graph: Graph;
  campaign: Campaign;
  channel: ChannelConfig;
  /** Observed users: display name for the greeting, mailbox address for email. */
  recipients: Recipients;
  /** Signed postponement links; omitted → no link. */
  postpone?: { baseUrl: string; key: string };
  now: Date;
  runId: string;
  append: (events: LedgerEvent[]) => Promise<void>;
  warnings: RunWarning[];
  /** Email this campaign's ledger records as dispatched (sender mailbox limits count them); omitted: none. */
  mailHistory?: readonly MailSend[];
  /** Graph client clock time after which no more email is sent (the run's time limit); omitted: none. */
  sendUntil?: number;
}

/**
 * Looks recorded emails up by their key in the sender's Sent Items, in $batch requests.
 * Per key: true found, false not there, null the look-up itself failed (the notice stays open).
 * https://learn.microsoft.com/graph/api/user-list-messages (api-reference/v1.0/api/user-list-messages.md)
 */
export async function lookUpSentMail(graph: Graph, sender: string, keys: readonly string[]): Promise<Map<string, { found: boolean | null; status: number | null }>> {
  const out = new Map<string, { found: boolean | null; status: number | null }>();
  if (!keys.length) return out;
  // One $batch at a time: Outlook runs at most 4 requests of an app at once, and a $batch runs 4 of its own in parallel
  // (concepts/throttling-limits.md, "Outlook service limits for JSON batching").
  const responses = new Map<string, BatchResponse>();
  for (let i = 0; i < keys.length; i += 20) {
    const chunk = await graph.batch(keys.slice(i, i + 20).map((key, j) => sentMailLookupRequest(sender, key, String(i + j))));
    for (const [id, r] of chunk) responses.set(id, r);
  }
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
 * sendMail's 404 codes that name the sender, the mailbox in the URL: it does not exist (ErrorInvalidUser) or
 * is no Exchange Online mailbox (MailboxNotEnabledForRESTAPI / MailboxNotSupportedForRESTAPI, Exchange KB
 * 4462988). A recipient never causes a 404: Exchange accepts the mail and bounces it later.
 */
export const SENDER_MAILBOX_CODES: ReadonlySet<string> = new Set(['ErrorInvalidUser', 'MailboxNotEnabledForRESTAPI', 'MailboxNotSupportedForRESTAPI']);

/**
 * The fewest notifications a run must have had answered, all with 403, before it blames the identity's
 * permission rather than the recipients. Below it (a run with one or two notices), each 403 stays that
 * recipient's failure and the run goes on: a later run with more notices, or the engine's retries, tell.
 */
export const PERMISSION_SAMPLE = 3;

/** What one notice's request got back: an answer inside the $batch, or the $batch itself failed. */
type Answer = { response: BatchResponse | undefined } | { error: unknown };

/** Graph's error code and message in an answer's body. */
function graphErrorOf(body: unknown): { code: string; message: string } {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return { code: typeof e?.code === 'string' ? e.code : 'Unknown', message: typeof e?.message === 'string' ? e.message : JSON.stringify(body ?? '').slice(0, 160) };
}

/**
 * Per-recipient isolation: what this run's answers so far say about the campaign or the identity. A 401
 * stops at once; otherwise the run stops only when EVERY answered request of its kind (this run's channel)
 * failed the same campaign-level way: every sendMail 404 with a sender code (the sender has no mailbox), or
 * every notification 403 once at least PERMISSION_SAMPLE were answered (the identity lacks the permission,
 * or the Teams app is installed for nobody). Anything less is the recipients' failures.
 */
class Tally {
  answered = 0;
  forbidden = 0;
  senderMissing = 0;
  /** Graph's code of the first 403 and of the first sender 404, for the message. */
  forbiddenCode = '';
  senderCode = '';

  add(r: BatchResponse): void {
    this.answered++;
    const { code } = graphErrorOf(r.body);
    if (r.status === 403) {
      this.forbidden++;
      this.forbiddenCode ||= code;
    }
    if (r.status === 404 && SENDER_MAILBOX_CODES.has(code)) {
      this.senderMissing++;
      this.senderCode ||= code;
    }
  }

  verdict(channel: 'teams' | 'email', sender: string | undefined): NotificationStop | undefined {
    if (channel === 'email' && this.senderMissing > 0 && this.senderMissing === this.answered)
      return { reason: 'SenderMailboxMissing', channel, status: 404, code: this.senderCode, count: this.answered, sender };
    if (this.forbidden >= PERMISSION_SAMPLE && this.forbidden === this.answered)
      return { reason: 'PermissionMissing', channel, status: 403, code: this.forbiddenCode, count: this.answered, sender };
    return undefined;
  }
}

/**
 * Sends notifications in $batch requests of 20, a few at once. Each wave is recorded as dispatched
 * before it leaves; a $batch whose answer is lost is never re-sent (its notifications become in
 * doubt), while inner 429/503 answers — not executed by Graph — are retried. Returns how many were
 * delivered.
 *
 * Email goes to the user's mailbox (`mail`), never to the UPN: a user without one gets a failed outcome
 * ('no mailbox') and no request. A 403/404 on one recipient is that recipient's failed outcome; the run
 * stops (throwing once the outcomes are recorded) only on a 401 or when Tally says the campaign or the
 * identity is at fault, and what was not delivered then is sent by a later run.
 */
export async function sendNotifications(ctx: SendContext, notices: readonly Notice[]): Promise<number> {
  const cfg = ctx.channel;
  if (cfg.channel === 'none' || notices.length === 0) return 0;
  const { graph, runId, warnings } = ctx;
  const at = ctx.now.toISOString();
  const channel = cfg.channel;
  const outcome = (n: Notice, o: Omit<Outcome, 'type' | 'userId' | 'userPrincipalName' | 'key' | 'channel'>): LedgerEvent =>
    ({ v: LEDGER_VERSION, at, runId, type: 'notificationOutcome', userId: n.userId, userPrincipalName: n.userPrincipalName, key: n.key, channel, ...(n.resent ? { recovered: 'resent' as const } : {}), ...o });
  // No sender is the campaign's fault, not each user's: nothing goes out and the run stops.
  if (channel === 'email' && !cfg.sender) {
    await ctx.append(notices.map((n) => outcome(n, { outcome: 'notSent', detail: 'no sender mailbox' })));
    throw new NotificationsStoppedError({ reason: 'SenderNotSet', channel, status: 0, code: '', count: notices.length });
  }
  const mailOf = (n: Notice) => ctx.recipients.get(n.userId)?.mail ?? null;
  let sendable = notices;
  if (channel === 'email') {
    const unreachable = notices.filter((n) => !mailOf(n));
    if (unreachable.length) {
      for (const n of unreachable) warnings.push(warning('NoMailbox', `email ${n.key} to ${n.userPrincipalName} not sent: the user has no mailbox (no mail address in Entra ID), and mail is never sent to a UPN; recorded as failed.`, n.userPrincipalName));
      await ctx.append(unreachable.map((n) => outcome(n, { outcome: 'failed', detail: 'no mailbox' })));
      sendable = notices.filter((n) => mailOf(n));
    }
  }
  if (channel === 'teams') {
    // The app installed for each recipient, and the run's budget (src/act/teams-install.ts).
    const prep = await prepareTeams(graph, cfg.teamsAppId, sendable, warnings, PERMISSION_SAMPLE, ctx.sendUntil);
    if (prep.held.length) await ctx.append(prep.held.map((h) => outcome(h.notice, { outcome: h.outcome, ...(h.status ? { status: h.status } : {}), detail: h.detail })));
    if (prep.stop) throw new NotificationsStoppedError(prep.stop);
    sendable = prep.ready;
  }
  const inDoubt = (n: Notice, status: number, why: string): LedgerEvent => {
    warnings.push(channel === 'email'
      ? warning('NotificationInDoubt', `email ${n.key} to ${n.userPrincipalName} got no answer (${why}); the next run looks for it in the Sent Items of ${cfg.sender} and sends it only if it is not there.`, n.userPrincipalName)
      : warning('NotificationInDoubt', `Teams notification ${n.key} to ${n.userPrincipalName} got no answer (${why}); it may have been delivered, so it is recorded as in doubt and not sent again (an enforcement notice is followed by a new one, since enforcement waits for a delivered notice).`, n.userPrincipalName));
    return outcome(n, { outcome: 'inDoubt', status, detail: why });
  };
  const groups: Notice[][] = [];
  for (let i = 0; i < sendable.length; i += DISPATCH_GROUP) groups.push(sendable.slice(i, i + DISPATCH_GROUP));
  let delivered = 0;
  let stop: Error | undefined;
  const tally = new Tally();
  // Teams: the groups of a wave one after another, in $batch requests of 5 a second (src/act/teams-pace.ts).
  const teamsPacer = channel === 'teams' ? new Pacer(graph, TEAMS_ACTIVITY_PER_SECOND) : undefined;
  const wave = Math.max(1, graph.concurrency);
  // Email is paced to the sender mailboxes' limits (src/act/mail-pacing.ts): one $batch at a time, waiting for room.
  const mailPacer = channel === 'email' ? mailPacerFor(ctx, sendable) : null;
  let w = 0;
  const nextWave = async (): Promise<Array<{ group: Notice[]; at: string; sender?: string }>> => {
    if (mailPacer) {
      const b = await mailPacer.next();
      return b ? [{ group: b.items, at: b.at.toISOString(), sender: b.sender }] : [];
    }
    const out = groups.slice(w, w + wave).map((group) => ({ group, at }));
    w += wave;
    return out;
  };
  while (!stop) {
    const batchGroups = await nextWave();
    if (!batchGroups.length) break;
    await ctx.append(batchGroups.map(({ group, at: sentAt, sender }): LedgerEvent => ({ v: LEDGER_VERSION, at: sentAt, type: 'notificationDispatch', runId, channel, keys: group.map((n) => n.key), ...(sender ? { sender } : {}) })));
    const sendGroup = async ({ group, sender }: { group: Notice[]; sender?: string }) => {
      const requests = group.map((n, i) => notificationRequest(sender ? { ...cfg, sender } : cfg, { userId: n.userId, userPrincipalName: n.userPrincipalName, mail: mailOf(n) }, render(ctx, n), n.key, String(i))!);
      try {
        if (teamsPacer) return { group, requests, answers: await sendPaced(graph, teamsPacer, requests) };
        const responses = await graph.batch(requests, { retryTransport: false });
        return { group, requests, answers: group.map((_, i): Answer => ({ response: responses.get(String(i)) })) };
      } catch (e) {
        return { group, requests, answers: group.map((): Answer => ({ error: e })) };
      }
    };
    // Paced groups go one after another, so the shared pacer sees every request.
    const sent = teamsPacer ? await inOrder(batchGroups, sendGroup) : await Promise.all(batchGroups.map(sendGroup));
    // First what the whole wave says about the run, then each notice's outcome in its light.
    let unauthorized: GraphAuthError | undefined;
    for (const { requests, answers } of sent) {
      answers.forEach((a, i) => {
        if ('error' in a) {
          if (a.error instanceof GraphAuthError) unauthorized ??= a.error;
          return;
        }
        if (!a.response) return;
        tally.add(a.response);
        if (a.response.status === 401) {
          const { code, message } = graphErrorOf(a.response.body);
          unauthorized ??= new GraphAuthError(`POST ${requests[i].url}: 401 ${code}: ${message}`, 401, code, 'POST', requests[i].url, false,
            'The token was rejected: check the credential (and for the emulator, the token it expects).');
        }
      });
    }
    const verdict = unauthorized ? undefined : tally.verdict(channel, cfg.sender);
    stop = unauthorized ?? (verdict ? new NotificationsStoppedError(verdict) : undefined);
    const outcomes = sent.flatMap(({ group, answers }) => group.map((n, i): LedgerEvent => {
      const a = answers[i];
      if ('error' in a) {
        const e = a.error;
        const status = e instanceof GraphError ? e.status : 0;
        const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
        if (e instanceof GraphAuthError) return outcome(n, { outcome: 'notSent', status, detail: why });
        if (status === 429 || status === 503) {
          warnings.push(warning('NotificationRefused', `notification ${n.key} to ${n.userPrincipalName} was refused by Graph (${status}) and not executed; the next run sends it.`, n.userPrincipalName));
          return outcome(n, { outcome: 'notSent', status, detail: why });
        }
        if (status === 0 || status === 504 || !(e instanceof GraphError)) return inDoubt(n, status, why);
        warnings.push(warning('NotificationFailed', `notification ${n.key} to ${n.userPrincipalName} was not delivered (${why}); recorded as failed.`, `${n.userPrincipalName} (${status})`));
        return outcome(n, { outcome: 'failed', status, detail: why });
      }
      const r = a.response;
      if (!r) return inDoubt(n, 0, 'no answer in the $batch response');
      const status = r.status;
      if (status >= 200 && status < 300) {
        delivered++;
        return outcome(n, { outcome: 'delivered' });
      }
      const { code, message } = graphErrorOf(r.body);
      const why = `${status} ${code}: ${message}`.slice(0, 240);
      // Not this recipient's fault: the run stops, and a later run sends it.
      if (status === 401 || (verdict && status === verdict.status && (verdict.reason === 'PermissionMissing' || SENDER_MAILBOX_CODES.has(code))))
        return outcome(n, { outcome: 'notSent', status, detail: why });
      if (status === 429 || status === 503) {
        warnings.push(warning('NotificationRefused', `notification ${n.key} to ${n.userPrincipalName} was refused by Graph (${status}) and not executed; the next run sends it.`, n.userPrincipalName));
        return outcome(n, { outcome: 'notSent', status, detail: why });
      }
      if (status === 504) return inDoubt(n, status, why);
      warnings.push(warning('NotificationFailed', `notification ${n.key} to ${n.userPrincipalName} was not delivered (${status} ${code}); recorded as failed.`, `${n.userPrincipalName} (${status} ${code})`));
      return outcome(n, { outcome: 'failed', status, detail: why });
    }));
    await ctx.append(outcomes);
  }
  // Notices never dispatched are sent by the next run; the run itself fails (exit 2).
  if (stop) throw stop;
  if (mailPacer) await deferUnsent(ctx, mailPacer.rest(), (n) => outcome(n, { outcome: 'notSent', detail: MAIL_DAY_USED_UP }));
  return delivered;
}

async function inOrder<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

/** Sends one group's requests in paced $batch requests; a lost answer makes only its own $batch in doubt. */
async function sendPaced(graph: Graph, pacer: Pacer, requests: readonly BatchRequest[]): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < requests.length; i += pacer.perWindow) {
    const part = requests.slice(i, i + pacer.perWindow);
    await pacer.take(part.length);
    try {
      const responses = await graph.batch(part, { retryTransport: false });
      for (const r of part) answers.push({ response: responses.get(r.id) });
    } catch (e) {
      for (let k = 0; k < part.length; k++) answers.push({ error: e });
    }
  }
  return answers;
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
    displayName: ctx.recipients.get(n.userId)?.displayName ?? n.userPrincipalName,
    campaignDescription: campaign.metadata.description,
    registrationUrl: campaign.spec.notifications.registrationUrl,
    deadline: n.deadline,
    devices: n.devices?.map((x) => ({ displayName: x.displayName, platform: x.platform, version: x.version, minimum: x.minimum })),
    postponeUrl,
    owners: campaign.metadata.owners,
  });
}
