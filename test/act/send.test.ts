// Per-recipient isolation without HTTP: what each set of Graph answers makes of the run and of each notice.
// The rule (src/act/notifications.ts): a recipient's 403/404 is that recipient's failure; the run stops only
// on a 401, on every sendMail answering 404 with a sender code, or on every notification answering 403
// once at least PERMISSION_SAMPLE were answered.
import { describe, expect, it } from 'vitest';
import { NotificationsStoppedError } from '../../src/act/errors';
import { PERMISSION_SAMPLE, sendNotifications, type Notice, type RecipientInfo } from '../../src/act/notifications';
import type { BatchRequest, BatchResponse, Graph } from '../../src/graph/client';
import type { MailSend } from '../../src/engine/mail-limits';
import type { RunWarning } from '../../src/engine/warnings';
import { GraphAuthError } from '../../src/graph/errors';
import type { LedgerEvent, NotificationOutcomeEvent } from '../../src/ledger/events';
import { campaign } from '../engine/fixtures';

/** What Graph answers one notice: a status, and for errors Graph's code. */
type Reply = number | [number, string];

const SENDER = 'passkeys@contoso.com';
const notice = (i: number): Notice => ({ userId: `u${i}`, userPrincipalName: `u${i}@contoso.com`, key: `admins-passkeys:u${i}:passkeyRegistration:1`, kind: 'passkeyRegistration', stage: 'passkeyRegistration', deadline: '2026-12-15', resent: false });

/** A Graph that answers each inner request by the recipient's index, and remembers what it was asked. */
function stubGraph(replies: readonly Reply[], concurrency = 1) {
  const asked: BatchRequest[] = [];
  let t = Date.parse('2026-12-01T06:00:00Z');
  const graph = {
    concurrency,
    baseUrl: 'https://graph.microsoft.com',
    // The injected clock pacing waits on: a wait costs no real time.
    now: () => t,
    sleep: async (ms: number) => void (t += ms),
    async batch(requests: readonly BatchRequest[]): Promise<Map<string, BatchResponse>> {
      asked.push(...requests);
      const out = new Map<string, BatchResponse>();
      for (const r of requests) {
        const who = /\/users\/u(\d+)\//.exec(r.url)?.[1] ?? /"address":"u(\d+)@/.exec(JSON.stringify(r.body))?.[1];
        const reply = replies[Number(who) - 1];
        const [status, code] = typeof reply === 'number' ? [reply, 'Forbidden'] : reply;
        out.set(r.id, { id: r.id, status, headers: {}, body: status < 300 ? null : { error: { code, message: `answer ${status}` } } });
      }
      return out;
    },
  };
  return { graph: graph as unknown as Graph, asked };
}

async function send(channel: 'teams' | 'email', replies: readonly Reply[], o: { noMail?: number[]; concurrency?: number; sender?: string | null; senders?: string[]; mailHistory?: MailSend[]; sendUntil?: number } = {}) {
  const { graph, asked } = stubGraph(replies, o.concurrency);
  const events: LedgerEvent[] = [];
  const notices = replies.map((_, i) => notice(i + 1));
  const recipients = new Map<string, RecipientInfo>(notices.map((n, i) => [n.userId, { displayName: n.userPrincipalName, mail: o.noMail?.includes(i + 1) ? null : n.userPrincipalName }]));
  let thrown: unknown;
  let delivered = 0;
  const warnings: RunWarning[] = [];
  try {
    delivered = await sendNotifications({
      graph, campaign: campaign({ channel }), channel: { channel, sender: o.sender === null ? undefined : SENDER, ...(o.senders ? { senders: o.senders } : {}) }, recipients, now: new Date('2026-12-01T06:00:00Z'), runId: 'run-1',
      append: async (e) => void events.push(...e), warnings, mailHistory: o.mailHistory, sendUntil: o.sendUntil,
    }, notices);
  } catch (e) {
    thrown = e;
  }
  const recorded = events.filter((e): e is NotificationOutcomeEvent => e.type === 'notificationOutcome');
  const outcomes = recorded.map((e) => `${e.userId} ${e.outcome}${e.status ? ` ${e.status}` : ''}`);
  return { thrown, delivered, outcomes, asked, recorded, events, warnings };
}

const stopOf = (e: unknown) => (e instanceof NotificationsStoppedError ? e.reason : e instanceof GraphAuthError ? `GraphAuthError ${e.status}` : e === undefined ? null : String(e));

describe('sendNotifications: per-recipient isolation', () => {
  it.each<{ name: string; channel: 'teams' | 'email'; replies: Reply[]; stop: string | null; outcomes: string[] }>([
    { name: 'one Teams recipient answering 403 among others is that recipient\'s failure', channel: 'teams', replies: [204, 403, 204], stop: null, outcomes: ['u1 delivered', 'u2 failed 403', 'u3 delivered'] },
    { name: 'a run with a single notice answered 403 does not blame the identity', channel: 'teams', replies: [403], stop: null, outcomes: ['u1 failed 403'] },
    { name: `${PERMISSION_SAMPLE - 1} notices all answered 403 are still the recipients' failures`, channel: 'teams', replies: [403, 403], stop: null, outcomes: ['u1 failed 403', 'u2 failed 403'] },
    { name: `${PERMISSION_SAMPLE} notices all answered 403 are the identity's permission: the run stops, nothing counts as failed`, channel: 'teams', replies: [403, 403, 403], stop: 'PermissionMissing', outcomes: ['u1 notSent 403', 'u2 notSent 403', 'u3 notSent 403'] },
    { name: 'a 404 for one Teams recipient is that recipient\'s failure', channel: 'teams', replies: [[404, 'NotFound'], 204], stop: null, outcomes: ['u1 failed 404', 'u2 delivered'] },
    { name: 'a 401 stops the run as an authentication failure', channel: 'teams', replies: [204, [401, 'InvalidAuthenticationToken'], 403], stop: 'GraphAuthError 401', outcomes: ['u1 delivered', 'u2 notSent 401', 'u3 failed 403'] },
    { name: 'a single email whose sendMail answers 404 ErrorInvalidUser: the sender does not exist', channel: 'email', replies: [[404, 'ErrorInvalidUser']], stop: 'SenderMailboxMissing', outcomes: ['u1 notSent 404'] },
    { name: 'every sendMail answering 404 MailboxNotEnabledForRESTAPI: the sender has no mailbox', channel: 'email', replies: [[404, 'MailboxNotEnabledForRESTAPI'], [404, 'MailboxNotEnabledForRESTAPI']], stop: 'SenderMailboxMissing', outcomes: ['u1 notSent 404', 'u2 notSent 404'] },
    { name: 'a sender code next to a delivered mail is no sender problem', channel: 'email', replies: [202, [404, 'ErrorInvalidUser']], stop: null, outcomes: ['u1 delivered', 'u2 failed 404'] },
    { name: 'sendMail 404s without a sender code are the recipients\' failures', channel: 'email', replies: [[404, 'ResourceNotFound'], [404, 'ResourceNotFound'], [404, 'ResourceNotFound']], stop: null, outcomes: ['u1 failed 404', 'u2 failed 404', 'u3 failed 404'] },
    { name: 'every sendMail answering 403 is the identity\'s Mail.Send', channel: 'email', replies: [[403, 'ErrorAccessDenied'], [403, 'ErrorAccessDenied'], [403, 'ErrorAccessDenied']], stop: 'PermissionMissing', outcomes: ['u1 notSent 403', 'u2 notSent 403', 'u3 notSent 403'] },
  ])('$name', async ({ channel, replies, stop, outcomes }) => {
    const r = await send(channel, replies);
    expect(stopOf(r.thrown)).toBe(stop);
    expect(r.outcomes).toEqual(outcomes);
  });

  it('an email campaign without a sender stops before sending anything; the notices are recorded notSent', async () => {
    const r = await send('email', [202, 202], { sender: null });
    expect(stopOf(r.thrown)).toBe('SenderNotSet');
    expect(r.asked).toEqual([]);
    expect(r.outcomes).toEqual(['u1 notSent', 'u2 notSent']);
    expect((r.thrown as Error).message).toBe('email notifications cannot be sent: no sender mailbox is set, so none of the 2 notifications of this run went out.');
  });

  it('stops after the wave that shows every notice refused: later waves are never dispatched', async () => {
    const r = await send('teams', Array.from({ length: 45 }, () => 403), { concurrency: 1 });
    expect(stopOf(r.thrown)).toBe('PermissionMissing');
    expect(r.asked).toHaveLength(20);
    expect(r.outcomes).toHaveLength(20);
    expect((r.thrown as Error).message).toBe("Teams notifications cannot be sent: Graph refused all 20 notifications of this run with 403 Forbidden, which is the identity's permission TeamsActivity.Send, not one recipient's.");
  });

  it('records a failed 403 detail with Graph\'s code and message', async () => {
    const { graph } = stubGraph([204, 403]);
    const events: LedgerEvent[] = [];
    await sendNotifications({ graph, campaign: campaign(), channel: { channel: 'teams' }, recipients: new Map(), now: new Date('2026-12-01T06:00:00Z'), runId: 'r', append: async (e) => void events.push(...e), warnings: [] }, [notice(1), notice(2)]);
    expect(events.at(-1)).toMatchObject({ type: 'notificationOutcome', userId: 'u2', outcome: 'failed', status: 403, detail: '403 Forbidden: answer 403' });
  });
});

describe('sendNotifications: email goes to the mailbox', () => {
  it('mails the mail address and records a user without one as failed (no mailbox), sending them nothing', async () => {
    const r = await send('email', [202, 202, 202], { noMail: [2] });
    expect(r.thrown).toBeUndefined();
    expect(r.delivered).toBe(2);
    expect(r.outcomes).toEqual(['u2 failed', 'u1 delivered', 'u3 delivered']);
    expect(r.recorded[0].detail).toBe('no mailbox');
    expect(r.asked.map((q) => (q.body as { message: { toRecipients: Array<{ emailAddress: { address: string } }> } }).message.toRecipients[0].emailAddress.address)).toEqual(['u1@contoso.com', 'u3@contoso.com']);
  });
});

describe('sendNotifications: email paced to the sender mailboxes (30 a minute, 10,000 recipients a day each)', () => {
  it('sends one $batch of at most 20 at a time, no sender over 30 in a minute, several senders in turn', async () => {
    const r = await send('email', Array.from({ length: 130 }, () => 202), { senders: ['a@contoso.com', 'b@contoso.com'] });
    expect(r.delivered).toBe(130);
    const dispatches = r.events.filter((e): e is Extract<LedgerEvent, { type: 'notificationDispatch' }> => e.type === 'notificationDispatch');
    expect(Math.max(...dispatches.map((d) => d.keys.length))).toBeLessThanOrEqual(20);
    for (const s of ['a@contoso.com', 'b@contoso.com']) {
      const mine = dispatches.filter((d) => d.sender === s);
      expect(mine.length).toBeGreaterThan(0);
      for (const d of mine) {
        const t = Date.parse(d.at);
        const inMinute = mine.filter((x) => Date.parse(x.at) > t - 60_000 && Date.parse(x.at) <= t).reduce((n, x) => n + x.keys.length, 0);
        expect(inMinute).toBeLessThanOrEqual(30);
      }
      // Each request goes out from the sender its dispatch line names.
      expect(r.asked.filter((q) => q.url.startsWith(`/users/${encodeURIComponent(s)}/sendMail`)).length).toBe(mine.reduce((n, d) => n + d.keys.length, 0));
    }
  });

  it('leaves what the day has no room for as notSent for the next run, and says so', async () => {
    const at = Date.parse('2026-12-01T05:00:00Z');
    const history: MailSend[] = Array.from({ length: 9_995 }, () => ({ at, sender: SENDER }));
    const r = await send('email', Array.from({ length: 8 }, () => 202), { mailHistory: history });
    expect(r.delivered).toBe(5);
    expect(r.outcomes.filter((o) => o.endsWith('notSent'))).toHaveLength(3);
    expect(r.recorded.filter((e) => e.outcome === 'notSent').every((e) => e.detail?.includes('daily sending limit'))).toBe(true);
    expect(r.warnings.map((w) => w.code)).toContain('NotificationsDeferred');
  });

  it("stops at the run's sending time (the scheduler's time limit) and leaves the rest notSent", async () => {
    const start = Date.parse('2026-12-01T06:00:00Z');
    const r = await send('email', Array.from({ length: 100 }, () => 202), { sendUntil: start + 60_000 });
    // 30 at once, 30 a minute later; the next 30 would leave after the limit.
    expect(r.delivered).toBe(60);
    expect(r.outcomes.filter((o) => o.endsWith('notSent'))).toHaveLength(40);
  });
});
