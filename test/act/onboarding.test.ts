// The write half of onboarding passes (src/act/onboarding.ts) against the emulator over real HTTP: a pass whose mail
// fails is deleted, a pass an interrupted run may have created is deleted, and no pass is created while the tenant's
// TAP policy does not allow the campaign's pass.
import { afterEach, describe, expect, it } from 'vitest';
import { LEDGER_VERSION } from '../../src/ledger/events';
import { DAY, harness, START, type Harness } from '../reconcile/harness';
import { issuedOf, onboardingCampaign, onboardingTenant } from '../reconcile/onboarding-harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const tapPaths = (paths: string[]) => paths.filter((p) => /temporaryAccessPassMethods/i.test(p));

describe('act: onboarding passes', () => {
  it('deletes the pass when the mail to the manager fails, and records it revoked', async () => {
    const f = onboardingTenant();
    h = await harness({ fixture: f, campaign: onboardingCampaign({ maxPerRun: 1 }) });
    // Every mail to anyone who manages someone fails.
    const managers = [...new Set(f.users!.map((u) => u.managerId).filter((m): m is string => !!m))];
    await h.faults({ notificationFailures: Object.fromEntries(managers.map((m) => [m, 400])) });
    const r = await h.run(0);
    const events = await h.events();
    expect(issuedOf(events)).toEqual([]);
    const outcomes = events.filter((e) => e.type === 'onboardingPassOutcome');
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'revoked', methodId: expect.any(String) })]);
    const userId = (outcomes[0] as { userId: string }).userId;
    expect(h.emulator.state.tenant.temporaryAccessPass(userId)).toBeUndefined();
    expect(r.onboarding!.issued).toBe(0);
    expect(r.warnings.some((w) => /the pass was deleted/.test(w))).toBe(true);
  });

  it('deletes a pass an interrupted run may have created without confirming it, then issues a new one', async () => {
    const c = onboardingCampaign({ maxPerRun: 1 });
    c.spec.onboarding.temporaryAccessPass.enabled = false;
    h = await harness({ fixture: onboardingTenant(), campaign: c });
    await h.run(0);
    // The user who would get the first pass.
    c.spec.onboarding.temporaryAccessPass.enabled = true;
    const plan = await h.run(0, false);
    expect(plan.onboarding).toBeUndefined(); // plan creates nothing and reports no onboarding result
    const state = await h.state();
    const target = Object.values(state.users).filter((u) => u.stage === 'passkeyRegistration').map((u) => u.userId);
    // An interrupted run: its intent, then the pass it created (the run died before mailing or recording it).
    h.clock.set(new Date(START.getTime() + 0.5 * DAY));
    const at = new Date(START.getTime() + 0.5 * DAY).toISOString();
    const victim = h.fixture.users!.find((u) => target.includes(u.id) && u.managerId && h!.fixture.userRegistrationDetails!.find((r) => r.id === u.id)?.methodsRegistered?.length === 1)!;
    await h.store.append(c.metadata.name, [
      { v: LEDGER_VERSION, at, type: 'runStarted', runId: 'dead', campaign: c.metadata.name, status: 'inProgress', intents: 1 },
      { v: LEDGER_VERSION, at, runId: 'dead', userId: victim.id, userPrincipalName: victim.userPrincipalName, type: 'onboardingPassIntent', managerId: victim.managerId! },
    ]);
    const created = await h.graph.post<{ id: string }>(`/users/${victim.id}/authentication/temporaryAccessPassMethods`, { lifetimeInMinutes: 480, isUsableOnce: true });
    const r = await h.run(1);
    const events = await h.events();
    expect(events.filter((e) => e.type === 'onboardingPassOutcome')).toEqual([expect.objectContaining({ userId: victim.id, outcome: 'revoked', methodId: created.id })]);
    expect(events.some((e) => e.type === 'runFinished' && e.runId === 'dead' && e.interrupted)).toBe(true);
    expect(r.warnings.some((w) => w.includes(victim.userPrincipalName) && /deleted/.test(w))).toBe(true);
    // The pass the tenant holds now (if any) is one the ledger records as issued.
    const held = h.emulator.state.tenant.temporaryAccessPass(victim.id);
    if (held) expect(issuedOf(events).map((e) => e.methodId)).toContain(held.id);
    expect(held?.id).not.toBe(created.id);
  });

  it('creates no pass while the tenant disables the TAP method, or when the lifetime is outside its limits', async () => {
    const f = onboardingTenant();
    const cfg = f.authenticationMethodsPolicy!.authenticationMethodConfigurations!.find((x) => x.id === 'TemporaryAccessPass')!;
    cfg.state = 'disabled';
    h = await harness({ fixture: f, campaign: onboardingCampaign() });
    const paths: string[] = [];
    h.emulator.state.hooks = { before: ({ path }) => void paths.push(path) };
    const r = await h.run(0);
    expect(tapPaths(paths)).toEqual([]);
    expect(r.warnings.filter((w) => /Temporary Access Pass method is disabled/.test(w))).toHaveLength(1);
    await h.close();

    h = await harness({ fixture: onboardingTenant(), campaign: onboardingCampaign({ lifetimeMinutes: 2000 }) });
    const paths2: string[] = [];
    h.emulator.state.hooks = { before: ({ path }) => void paths2.push(path) };
    const r2 = await h.run(0);
    expect(tapPaths(paths2)).toEqual([]);
    expect(r2.warnings.some((w) => /lifetimeMinutes is 2000, outside the tenant's Temporary Access Pass limits \(60 to 1440 minutes\)/.test(w))).toBe(true);
    expect(issuedOf(await h.events())).toEqual([]);
  });

  it('creates no pass without a sender to mail it from', async () => {
    const c = onboardingCampaign();
    c.spec.notifications.channel = 'none';
    delete c.spec.notifications.sender;
    h = await harness({ fixture: onboardingTenant(), campaign: c });
    const paths: string[] = [];
    h.emulator.state.hooks = { before: ({ path }) => void paths.push(path) };
    const r = await h.run(0);
    expect(tapPaths(paths)).toEqual([]);
    expect(r.warnings.some((w) => /no email sender/.test(w))).toBe(true);
  });
  it('leaves a usable pass the user already holds (the helpdesk\'s) and creates none over it', async () => {
    const c = onboardingCampaign();
    c.spec.onboarding.temporaryAccessPass.enabled = false;
    h = await harness({ fixture: onboardingTenant(), campaign: c });
    await h.run(0);
    const state = await h.state();
    const victim = h.fixture.users!.find((u) => u.managerId && state.users[u.id]?.stage === 'passkeyRegistration'
      && h!.fixture.userRegistrationDetails!.find((r) => r.id === u.id)?.methodsRegistered?.join() === 'email')!;
    const helpdesk = await h.graph.post<{ id: string }>(`/users/${victim.id}/authentication/temporaryAccessPassMethods`, { lifetimeInMinutes: 1440, isUsableOnce: true });
    c.spec.onboarding.temporaryAccessPass.enabled = true;
    const r = await h.run(0.1);
    const events = await h.events();
    expect(issuedOf(events).length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type.startsWith('onboardingPass') && 'userId' in e && e.userId === victim.id)).toEqual([]);
    expect(h.emulator.state.tenant.temporaryAccessPass(victim.id)?.id).toBe(helpdesk.id);
    expect(r.warnings.some((w) => w.includes(victim.userPrincipalName) && /already holds a usable one/.test(w))).toBe(true);
  });
});
