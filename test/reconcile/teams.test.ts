// A Teams campaign on a tenant whose emulator knows the org app catalog and who has the app installed
// (concepts/teams-send-activityfeednotifications.md): the job installs the campaign's app for those without it,
// notifies everyone through it (declared activity type, webUrl into the app), paced to Graph's Teams limit, and
// enforces the ready users after their notice period.
import { afterEach, describe, expect, it } from 'vitest';
import type { NotificationOutcomeEvent } from '../../src/ledger/events';
import { runCampaign } from '../../src/reconcile/run';
import { generateTenant } from '../../src/sim/generate';
import type { SimNotification } from '../../src/sim/routes';
import { DAY, harness, START, type Harness } from './harness';

const APP = 'b6f3c2a1-7d4e-4f5a-9c8b-1e2d3f4a5b6c';
const CLIENT_ID = '11111111-2222-4333-8444-555555555555';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a Teams campaign with the org catalog and installations present', () => {
  it('installs the app for users without it, notifies everyone through it, and completes to enforcement', async () => {
    const fixture = generateTenant({ users: 70, admins: 40, seed: 11, now: START.toISOString() });
    const users = fixture.users!.map((u) => u.id);
    const withApp = users.filter((_, i) => i % 2 === 0);
    fixture.teamsApps = [
      { id: APP, externalId: '0d9a7c52-3c1b-4b8e-a1f2-9e8d7c6b5a40', displayName: 'Passkey campaign', webApplicationInfoId: CLIENT_ID, activityTypes: ['passkeyCampaign'] },
      { id: 'other-app', displayName: 'Other', activityTypes: ['taskCreated'] },
    ];
    fixture.teamsAppInstallations = Object.fromEntries(users.map((id, i) => [id, i % 2 === 0 ? [APP] : i % 3 === 0 ? ['other-app'] : []]));
    h = await harness({ fixture });
    const run = (day: number) => {
      const now = new Date(START.getTime() + day * DAY);
      h!.clock.set(now);
      return runCampaign({ campaign: h!.campaign, graph: h!.graph, store: h!.store, now, apply: true, teamsAppId: APP });
    };

    const first = await run(0);
    const notified = [...h.emulator.state.notifications] as SimNotification[];
    expect(first.notifications).toBeGreaterThan(10);
    expect(notified).toHaveLength(first.notifications);
    const outcomes = (await h.events()).filter((e): e is NotificationOutcomeEvent => e.type === 'notificationOutcome');
    expect(outcomes.map((e) => e.outcome).filter((o) => o !== 'delivered')).toEqual([]);
    // Users who lacked the app were among the notified, and now have it.
    const installedBefore = new Set(withApp);
    expect(notified.some((n) => !installedBefore.has(n.userId))).toBe(true);
    const tenant = (await (await fetch(`${h.emulator.url}/_sim/tenant`)).json()) as { teamsAppInstallations: Record<string, string[]> };
    for (const n of notified) expect(tenant.teamsAppInstallations[n.userId]).toContain(APP);
    for (const n of notified) expect((n.request as { topic: { webUrl: string } }).topic.webUrl).toBe(`https://teams.microsoft.com/l/entity/${APP}/passkeys`);
    // Paced: never more than Graph's 5 a second, so nothing was throttled.
    const requests = (await (await fetch(`${h.emulator.url}/_sim/requests`)).json()) as { throttled: number; byRoute: Record<string, number> };
    expect(requests.throttled).toBe(0);
    expect(requests.byRoute['POST /v1.0/users/{id}/teamwork/installedApps']).toBe(first.notifications);

    let last = first;
    for (let day = 1; day <= 8; day++) last = await run(day);
    expect(first.counts.enforcementNotice).toBeGreaterThan(0);
    expect(last.counts.enforced).toBe(first.counts.enforcementNotice);
    const all = (await h.events()).filter((e): e is NotificationOutcomeEvent => e.type === 'notificationOutcome');
    expect(all.filter((e) => e.outcome !== 'delivered')).toEqual([]);
  });

  it('a user the app cannot be installed for is held, never enforced, and named in the warnings', async () => {
    const fixture = generateTenant({ users: 70, admins: 40, seed: 11, now: START.toISOString() });
    fixture.teamsApps = [{ id: APP, webApplicationInfoId: CLIENT_ID, activityTypes: ['passkeyCampaign'] }];
    fixture.teamsAppInstallations = {};
    h = await harness({ fixture });
    const run = (day: number) => {
      const now = new Date(START.getTime() + day * DAY);
      h!.clock.set(now);
      return runCampaign({ campaign: h!.campaign, graph: h!.graph, store: h!.store, now, apply: true, teamsAppId: APP });
    };
    // Who enters the enforcement notice on day 0 (a plan writes nothing); installing the app for them fails.
    const preview = await runCampaign({ campaign: h.campaign, graph: h.graph, store: h.store, now: START, apply: false, teamsAppId: APP });
    const victim = preview.transitions.find((t) => t.to === 'enforcementNotice')!;
    expect(victim).toBeDefined();
    await h.faults({ failPaths: [`/users/${victim.userId}/teamwork/installedApps`] });
    const first = await run(0);
    expect(first.notifications).toBeGreaterThan(0);
    expect(JSON.stringify(first.warnings)).toContain(victim.userPrincipalName);
    let last = first;
    for (let day = 1; day <= 8; day++) last = await run(day);
    const state = await h.state();
    expect(state.users[victim.userId]!.stage).toBe('enforcementNotice');
    expect(state.users[victim.userId]!.delivery.stageDeliveredAt).toBeNull();
    expect(h.emulator.state.notifications.some((n) => n.userId === victim.userId)).toBe(false);
    expect(last.counts.enforced).toBe(first.counts.enforcementNotice - 1);
  });
});
