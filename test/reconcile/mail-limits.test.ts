// An all-staff email campaign larger than one sender mailbox's day: Exchange Online allows 30 messages a minute
// and 10,000 recipients a day per mailbox, so the first run sends what fits, holds the rest (no stage, no clock)
// and says so, and the next day's run sends them; never a minute over 30 or a day over 10,000.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../../src/campaign/load';
import type { Campaign } from '../../src/campaign/types';
import { inCampaign } from '../../src/engine/state';
import type { RunResult } from '../../src/reconcile/result';
import { generateTenant } from '../../src/sim/generate';
import { harness, START, type Harness } from './harness';

const SENDER = 'passkeys@contoso.com';

/** The most sends in any window of `span` ms (times sorted). */
function busiest(times: number[], span: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= span) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('an all-staff email campaign larger than a day of one sender mailbox', () => {
  let h: Harness;
  let day0: RunResult;
  let day1: RunResult;
  let regulars = 0;
  let enteredDay0 = 0;

  beforeAll(async () => {
    const fixture = generateTenant({ users: 10_400, admins: 10, seed: 3, now: START.toISOString() });
    fixture.users!.push({ id: 'e1000000-0000-4000-8000-000000000001', userPrincipalName: SENDER, displayName: 'Passkey campaigns', accountEnabled: true, mail: SENDER });
    const campaign: Campaign = loadCampaignFile('test/fixtures/campaigns/all-staff-passkeys.yaml').campaign!;
    campaign.spec.status = 'inProgress';
    h = await harness({ fixture, campaign });
    day0 = await h.run(0);
    regulars = day0.counts.targeted;
    enteredDay0 = Object.values((await h.state()).users).filter((u) => inCampaign(u)).length;
    day1 = await h.run(1);
  }, 600_000);

  afterAll(async () => h?.close());

  it('sends at most 10,000 on day one, holds the rest and says how many and why', () => {
    expect(regulars).toBeGreaterThan(10_000);
    expect(day0.notifications).toBeLessThanOrEqual(10_000);
    expect(day0.notificationsDeferred?.users).toBeGreaterThan(0);
    // Held: a deferred user entered no stage (no clock started on a notice that was never sent).
    expect(enteredDay0).toBe(day0.notifications);
    expect(day0.notificationsDeferred?.reason).toContain('10,000 recipients in 24 hours');
    expect(day0.warnings.join('\n')).toMatch(/users due a notice wait for the next run: the daily sending limit of passkeys@contoso\.com/);
  });

  it('sends the held users on the next day, never more than 30 a minute or 10,000 in 24 hours', async () => {
    const mails = h.emulator.state.notifications.filter((n) => n.channel === 'email');
    const times = mails.map((n) => Date.parse(n.receivedAt)).sort((a, b) => a - b);
    expect(busiest(times, 60_000)).toBeLessThanOrEqual(30);
    expect(busiest(times, 86_400_000)).toBeLessThanOrEqual(10_000);
    expect(day1.notificationsDeferred).toBeUndefined();
    // Everyone with a mailbox was told exactly once, and nobody is held any more.
    const state = await h.state();
    const told = new Set(mails.map((n) => n.userId));
    expect(told.size).toBe(mails.length);
    expect(Object.values(state.users).filter((u) => inCampaign(u)).length).toBe(enteredDay0 + day0.notificationsDeferred!.users);
    expect(day1.notifications).toBe(day0.notificationsDeferred!.users);
    // No refusal from Exchange: the job paced itself.
    expect((await h.events()).filter((e) => e.type === 'notificationOutcome' && e.outcome !== 'delivered' && e.detail !== 'no mailbox')).toEqual([]);
  });
});

describe('the estimate of an email campaign larger than a day of its senders', () => {
  it('pushes the later users back by the days their first notices need, and says so in the outlook', async () => {
    const { estimateEnd, outlook } = await import('../../src/engine/estimate');
    const { emptyState } = await import('../../src/engine/state');
    const campaign: Campaign = loadCampaignFile('test/fixtures/campaigns/all-staff-passkeys.yaml').campaign!;
    const now = START.toISOString();
    const user = (i: number) => ({ userId: `u${i}`, userPrincipalName: `u${i}@contoso.com`, displayName: `U${i}`, accountEnabled: true, mail: `u${i}@contoso.com`, devices: [], methodsRegistered: [], fido2Methods: null, inFido2PolicyScope: true, inEnforcementGroup: false, readErrors: [] });
    const observation = (n: number) => ({ v: 1, campaign: campaign.metadata.name, at: now, fido2Policy: null, users: Array.from({ length: n }, (_, i) => user(i)), excluded: [], readErrors: [] }) as never;
    const small = estimateEnd(campaign, observation(10), emptyState(), now)!;
    const large = estimateEnd(campaign, observation(25_000), emptyState(), now)!;
    expect((Date.parse(large) - Date.parse(small)) / 86_400_000).toBe(2);
    expect(outlook(campaign, observation(25_000), emptyState(), now).join('\n')).toMatch(/Email reaches at most 10,000 users a day .* take 3 days/);
  });
});
