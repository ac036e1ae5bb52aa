// Teams before and while sending (src/act/teams-install.ts, src/act/teams-pace.ts): the campaign's Teams app is
// installed for each recipient first (409 = already installed), a failed installation holds that user, all
// installations refused stop the run naming what is missing, and notifications leave at Graph's documented
// 5 a second with the rest of a run's budget carried over.
import { describe, expect, it } from 'vitest';
import { NotificationsStoppedError } from '../../src/act/errors';
import { sendNotifications, type Notice, type RecipientInfo } from '../../src/act/notifications';
import { TEAMS_INSTALL_PERMISSION } from '../../src/act/teams-install';
import { PACE_WINDOW_MS, TEAMS_ACTIVITY_PER_SECOND, TEAMS_RUN_BUDGET, teamsRunBudget } from '../../src/act/teams-pace';
import type { RunWarning } from '../../src/engine/warnings';
import type { BatchRequest, BatchResponse, Graph } from '../../src/graph/client';
import type { LedgerEvent, NotificationOutcomeEvent } from '../../src/ledger/events';
import { campaign } from '../engine/fixtures';

const APP = 'teams-app-1';
const notice = (i: number): Notice => ({ userId: `u${i}`, userPrincipalName: `u${i}@contoso.com`, key: `admins-passkeys:u${i}:passkeyRegistration:1`, kind: 'passkeyRegistration', stage: 'passkeyRegistration', deadline: '2026-12-15', resent: false });

/** A Graph on a fake clock: installs answered by `install(i)`, notifications 204; it records when each request came. */
function stubGraph(install: (i: number) => [number, string?] = () => [201]) {
  let clock = 0;
  const asked: Array<{ at: number; call: number; request: BatchRequest }> = [];
  let calls = 0;
  const graph = {
    concurrency: 4,
    baseUrl: 'https://graph.microsoft.com',
    now: () => clock,
    sleep: async (ms: number) => void (clock += ms),
    async batch(requests: readonly BatchRequest[]): Promise<Map<string, BatchResponse>> {
      const out = new Map<string, BatchResponse>();
      calls++;
      for (const r of requests) {
        asked.push({ at: clock, call: calls, request: r });
        const who = Number(/\/users\/u(\d+)\//.exec(r.url)![1]);
        const [status, code] = r.url.endsWith('/installedApps') ? install(who) : [204];
        out.set(r.id, { id: r.id, status, headers: {}, body: status < 300 ? null : { error: { code: code ?? 'Forbidden', message: `answer ${status}` } } });
      }
      return out;
    },
  };
  return { graph: graph as unknown as Graph, asked };
}

async function send(count: number, install?: (i: number) => [number, string?], app: string | null = APP) {
  const teamsAppId = app ?? undefined;
  const { graph, asked } = stubGraph(install);
  const events: LedgerEvent[] = [];
  const warnings: RunWarning[] = [];
  const notices = Array.from({ length: count }, (_, i) => notice(i + 1));
  const recipients = new Map<string, RecipientInfo>(notices.map((n) => [n.userId, { displayName: n.userPrincipalName, mail: null }]));
  let thrown: unknown;
  let delivered = 0;
  try {
    delivered = await sendNotifications({ graph, campaign: campaign({ channel: 'teams' }), channel: { channel: 'teams', teamsAppId }, recipients, now: new Date('2026-12-01T06:00:00Z'), runId: 'run-1', append: async (e) => void events.push(...e), warnings }, notices);
  } catch (e) {
    thrown = e;
  }
  const recorded = events.filter((e): e is NotificationOutcomeEvent => e.type === 'notificationOutcome');
  const installs = asked.filter((a) => a.request.url.endsWith('/installedApps'));
  const sends = asked.filter((a) => a.request.url.endsWith('/sendActivityNotification'));
  return { thrown, delivered, recorded, outcomes: recorded.map((e) => `${e.userId} ${e.outcome}${e.status ? ` ${e.status}` : ''}`), installs, sends, warnings };
}

describe('the Teams app is installed for each recipient before the notice', () => {
  it('installs the catalog app for every recipient (409 = already installed), then notifies them all', async () => {
    const r = await send(3, (i) => (i === 2 ? [409, 'Conflict'] : [201]));
    expect(r.thrown).toBeUndefined();
    expect(r.installs.map((a) => [a.request.url, a.request.body])).toEqual([1, 2, 3].map((i) => [`/users/u${i}/teamwork/installedApps`, { 'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${APP}` }]));
    expect(r.outcomes).toEqual(['u1 delivered', 'u2 delivered', 'u3 delivered']);
    expect(r.sends.every((a) => (a.request.body as { topic: { webUrl: string } }).topic.webUrl === `https://teams.microsoft.com/l/entity/${APP}/passkeys`)).toBe(true);
  });

  it('a user whose installation fails is not notified: a failed notice that holds them (retried, Unreachable after three)', async () => {
    const r = await send(3, (i) => (i === 2 ? [403, 'Forbidden'] : [201]));
    expect(r.thrown).toBeUndefined();
    expect(r.outcomes).toEqual(['u2 failed 403', 'u1 delivered', 'u3 delivered']);
    expect(r.sends.map((a) => a.request.url)).not.toContain('/users/u2/teamwork/sendActivityNotification');
    expect(r.warnings.map((w) => w.code)).toContain('TeamsAppNotInstalled');
  });

  it('installs in $batch requests of 20', async () => {
    const r = await send(45);
    const calls = [...new Set(r.installs.map((a) => a.call))];
    expect(calls.map((c) => r.installs.filter((a) => a.call === c).length)).toEqual([20, 20, 5]);
  });

  it('every installation refused with 403 is the identity\'s permission: the run stops naming it, nothing is sent', async () => {
    const r = await send(3, () => [403, 'Forbidden']);
    expect(r.thrown).toBeInstanceOf(NotificationsStoppedError);
    const e = r.thrown as NotificationsStoppedError;
    expect(e.reason).toBe('PermissionMissing');
    expect(e.permission).toBe(TEAMS_INSTALL_PERMISSION);
    expect(e.message).toContain(TEAMS_INSTALL_PERMISSION);
    expect(r.sends).toEqual([]);
    expect(r.outcomes).toEqual(['u1 notSent 403', 'u2 notSent 403', 'u3 notSent 403']);
  });

  it('every installation answered 404 means the app is not in the catalog: the run stops naming the app id', async () => {
    const r = await send(3, () => [404, 'NotFound']);
    expect((r.thrown as NotificationsStoppedError).reason).toBe('TeamsAppMissing');
    expect((r.thrown as Error).message).toContain(APP);
    expect(r.sends).toEqual([]);
  });

  it('without a configured Teams app it installs nothing and warns', async () => {
    const r = await send(2, undefined, null);
    expect(r.installs).toEqual([]);
    expect(r.warnings.map((w) => w.code)).toContain('TeamsAppNotSet');
  });
});

describe('Teams pacing', () => {
  it(`sends at most ${TEAMS_ACTIVITY_PER_SECOND} notifications per window, as $batch requests of ${TEAMS_ACTIVITY_PER_SECOND}`, async () => {
    const r = await send(23);
    expect(r.delivered).toBe(23);
    const starts = r.sends.map((a) => a.at);
    for (const t of starts) expect(starts.filter((s) => s > t - PACE_WINDOW_MS && s <= t).length).toBeLessThanOrEqual(TEAMS_ACTIVITY_PER_SECOND);
    expect(new Set(starts).size).toBe(5);
  });

  it(`carries notices beyond the run's budget (${TEAMS_RUN_BUDGET}) over to the next run as notSent, and says so`, async () => {
    const r = await send(TEAMS_RUN_BUDGET + 7);
    expect(r.thrown).toBeUndefined();
    expect(r.delivered).toBe(TEAMS_RUN_BUDGET);
    const carried = r.recorded.filter((e) => e.outcome === 'notSent');
    expect(carried.map((e) => e.userId)).toEqual(Array.from({ length: 7 }, (_, i) => `u${TEAMS_RUN_BUDGET + i + 1}`));
    expect(carried[0]!.detail).toMatch(/^carried over to the next run/);
    expect(r.installs).toHaveLength(TEAMS_RUN_BUDGET);
    const w = r.warnings.find((x) => x.code === 'NotificationsCarriedOver');
    expect(w?.message).toMatch(new RegExp(`^7 of ${TEAMS_RUN_BUDGET + 7} Teams notifications are carried over to the next run`));
  });

  it('fits the run budget into the sending time a scheduled run has left, at the documented Teams limits', () => {
    expect(teamsRunBudget(0)).toBe(TEAMS_RUN_BUDGET);
    // 90 minutes would hold 20,000+ notices at 5 a second (with installs at 30 a second): the cap applies.
    expect(teamsRunBudget(0, 90 * 60_000)).toBe(TEAMS_RUN_BUDGET);
    // 10 minutes: 600 s / (1.1 s / 5 + 1.1 s / 30) = 2,337 notices.
    expect(teamsRunBudget(0, 10 * 60_000)).toBe(2337);
    expect(teamsRunBudget(5_000, 1_000)).toBe(0);
  });
});
