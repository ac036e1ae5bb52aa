// The scheduled job runs doctor's blocking checks before it acts: one failing refuses the run, with the error
// the Functions host alerts on, and nothing is written to the tenant or the ledger. Only cheap reads are made.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runScheduledReconcile } from '../../src/apps/functions/scheduled';
import type { SchedulerSettings } from '../../src/apps/functions/settings';
import { generateTenant, SIM_IDS } from '../../src/sim';
import { harness, START, type Harness } from '../reconcile/harness';

let h: Harness | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function settings(): SchedulerSettings {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scheduled-doctor-'));
  fs.writeFileSync(path.join(dir, 'admins-passkeys.yaml'), fs.readFileSync('test/fixtures/campaigns/admins-passkeys.yaml', 'utf8').replace('status: notStarted', 'status: inProgress'));
  return { campaigns: ['admins-passkeys'], campaignsDir: dir, state: path.join(dir, 'state'), graphUrl: h!.emulator.url, postponeKey: 'k'.repeat(40) };
}

describe('the scheduled job and the readiness checks', () => {
  it('refuses to act when the CA policy no longer excludes a break-glass account, and logs the failed check', async () => {
    const fixture = generateTenant({ users: 50, admins: 20, seed: 11, now: START.toISOString() });
    fixture.conditionalAccessPolicies!.find((p) => p.id === SIM_IDS.caAdminsCampaign)!.conditions!.users!.excludeUsers = [SIM_IDS.breakGlass1];
    h = await harness({ fixture });
    const errors: Array<Record<string, unknown>> = [];
    const log = { info: () => undefined, warn: () => undefined, error: (message: string, fields?: Record<string, unknown>) => void errors.push({ message, ...fields }) };
    const results = await runScheduledReconcile({ settings: settings(), now: START, log }, { store: h.store, graph: h.graph });
    expect(results).toEqual([{ campaign: 'admins-passkeys', ok: false, error: 'not run: 2 blocking readiness checks failed (ca.breakGlass: bg2@contoso.com (b9000000-0000-4000-8000-000000000002) is not excluded. breakGlass.accounts: bg2@contoso.com (b9000000-0000-4000-8000-000000000002) is not excluded from the policy.) Run campaign doctor --campaign admins-passkeys for the fixes.' }]);
    expect(errors[0]).toMatchObject({ message: 'readiness check failed', campaign: 'admins-passkeys', check: 'ca.breakGlass' });
    expect(errors.at(-1)).toMatchObject({ message: 'reconcile run failed', campaign: 'admins-passkeys' });
    // Nothing acted on: no notification, no group member, no ledger line.
    expect(h.emulator.state.notifications).toEqual([]);
    expect(h.emulator.state.tenant.memberIds(SIM_IDS.adminsEnforcedGroup).size).toBe(0);
    expect(await h.events()).toEqual([]);
  });

  it('acts when every blocking check passes, after a handful of reads that touch no user', async () => {
    h = await harness({ admins: 20 });
    const before = h.graph.stats.requests;
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const { runDoctor } = await import('../../src/doctor');
    const { loadCampaignFile } = await import('../../src/campaign/load');
    const s = settings();
    const report = await runDoctor({ campaign: loadCampaignFile(path.join(s.campaignsDir, 'admins-passkeys.yaml')).campaign!, graph: h.graph, store: h.store, now: START, blockingOnly: true });
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.checks.every((c) => c.blocking)).toBe(true);
    // Methods policy, group, 2 break-glass users, CA policies, group members: no read per targeted user.
    expect(h.graph.stats.requests - before).toBeLessThanOrEqual(8);
    const results = await runScheduledReconcile({ settings: s, now: START, log }, { store: h.store, graph: h.graph });
    expect(results.map((r) => [r.campaign, r.ok])).toEqual([['admins-passkeys', true]]);
    expect(h.emulator.state.notifications.length).toBeGreaterThan(0);
  });
});
