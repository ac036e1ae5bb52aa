// Onboarding passes end to end: the job against the emulator over real HTTP through the real Graph client.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OnboardingPassIssuedEvent } from '../../src/ledger/events';
import { KNOWN_APP_ROLES } from '../../src/sim/route-table';
import { sha256 } from '../../src/sim/temporary-access-pass';
import { harness, type Harness } from './harness';
import { EXCLUDED_ID, issuedOf, onboardingCampaign, onboardingTenant, SENDER_ID } from './onboarding-harness';

let h: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});



/** The passes the emulator returned, read from the mails it accepted, each checked against the hash the emulator keeps. */
function passesReturned(hh: Harness, issued: OnboardingPassIssuedEvent[]): string[] {
  const out: string[] = [];
  for (const n of hh.emulator.state.notifications) {
    const m = /Temporary Access Pass for them: ([^<\s]+)<\/p>/.exec(JSON.stringify(n.request ?? ''));
    // The mail is HTML: the pass's '&' (one of Entra's pass characters) is escaped there.
    if (m) out.push(m[1]!.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"'));
  }
  const hashes = new Set(issued.map((e) => hh.emulator.state.tenant.temporaryAccessPass(e.userId)?.passSha256));
  for (const p of out) expect(hashes.has(sha256(p)), 'a mailed pass is the one the emulator issued').toBe(true);
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Everything a run wrote to stdout, stderr and the console while `fn` ran. */
async function captureOutput<T>(fn: () => Promise<T>): Promise<{ value: T; output: string }> {
  let output = '';
  const grab = (chunk: unknown) => {
    output += typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(grab as typeof process.stdout.write),
    vi.spyOn(process.stderr, 'write').mockImplementation(grab as typeof process.stderr.write),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((k) => vi.spyOn(console, k).mockImplementation((...a: unknown[]) => void grab(a.map(String).join(' ')))),
  ];
  try {
    return { value: await fn(), output };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

describe('onboarding passes, manager delivery', () => {
  it('mails each pass to the manager only, never to the user, and no byte the run writes holds it', async () => {
    h = await harness({ fixture: onboardingTenant(), campaign: onboardingCampaign() });
    const { value: r, output } = await captureOutput(() => h!.run(0));
    const events = await h.events();
    const issued = issuedOf(events);
    expect(r.onboarding).toMatchObject({ issued: issued.length, expired: 0 });
    expect(issued.length).toBeGreaterThanOrEqual(5);
    const users = new Map(h.fixture.users!.map((u) => [u.id, u]));
    for (const e of issued) {
      const user = users.get(e.userId)!;
      expect(e.deliveredTo.managerId).toBe(user.managerId);
      expect(e.deliveredTo.managerId).not.toBe(e.userId);
      expect(e.lifetimeMinutes).toBe(480);
      expect(e.usableOnce).toBe(true);
      expect(Date.parse(e.expiresAt) - Date.parse(e.startDateTime)).toBe(480 * 60_000);
      // The pass exists in the tenant as recorded.
      expect(h.emulator.state.tenant.temporaryAccessPass(e.userId)?.id).toBe(e.methodId);
    }
    // Every mail holding a pass went to the manager recorded for it; none to the user, none over Teams.
    const passes = passesReturned(h, issued);
    expect(passes).toHaveLength(issued.length);
    // Each user's pass (known by the hash the emulator keeps) went by email to that user's manager, never to the user.
    for (const e of issued) {
      const hash = h.emulator.state.tenant.temporaryAccessPass(e.userId)!.passSha256;
      const pass = passes.find((p) => sha256(p) === hash)!;
      expect(pass).toBeDefined();
      const html = pass.replace(/&/g, '&amp;');
      const carriers = h.emulator.state.notifications.filter((n) => JSON.stringify(n.request ?? '').includes(html));
      expect(carriers.map((n) => [n.channel, n.userId])).toEqual([['email', e.deliveredTo.managerId]]);
      // Not kept in the sender's Sent Items (Exchange would keep the whole body there).
      expect((carriers[0]!.request as { saveToSentItems?: unknown }).saveToSentItems).toBe(false);
    }
    // Not kept in the sender's Sent Items.
    expect(JSON.stringify(h.emulator.state.tenant.sentItems(SENDER_ID))).not.toMatch(/Temporary Access Pass/);
    // No byte the run wrote: the ledger directory (ledger, snapshots, checkpoint, lock), the result, the output.
    const written = filesUnder(h.dir).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    expect(written).toContain('onboardingPassIssued');
    for (const p of passes) {
      expect(written.includes(p), 'ledger directory').toBe(false);
      expect(JSON.stringify(r).includes(p), 'run result').toBe(false);
      expect(output.includes(p), 'console/stdout/stderr').toBe(false);
    }
  });

  it('never issues a pass to break-glass, excluded, disabled or out-of-scope users, nor to users who can register on their own', async () => {
    h = await harness({ fixture: onboardingTenant(), campaign: onboardingCampaign() });
    // Day 0 without passes: users enter their stages. Then one stuck user in passkeyRegistration (with a manager) is
    // disabled before the first run with passes.
    h.campaign.spec.onboarding.temporaryAccessPass.enabled = false;
    await h.run(0);
    const before = await h.state();
    const victim = h.fixture.users!.find((u) => u.managerId && before.users[u.id]?.stage === 'passkeyRegistration'
      && h!.fixture.userRegistrationDetails!.find((r) => r.id === u.id)?.methodsRegistered?.join() === 'email')!;
    await h.patch({ users: [{ ...victim, accountEnabled: false }] });
    h.campaign.spec.onboarding.temporaryAccessPass.enabled = true;
    await h.run(1);
    const issued = issuedOf(await h.events());
    const obs = JSON.parse(fs.readFileSync(filesUnder(h.dir).find((f) => /observation/.test(path.basename(f)))!, 'utf8')) as { users: Array<{ userId: string; accountEnabled: boolean; inFido2PolicyScope: boolean | null; methodsRegistered: string[] }>; excluded: Array<{ userId: string }> };
    const byId = new Map(obs.users.map((u) => [u.userId, u]));
    expect(issued.length).toBeGreaterThan(0);
    const disabled = obs.users.filter((u) => !u.accountEnabled).map((u) => u.userId);
    const outOfScope = obs.users.filter((u) => u.inFido2PolicyScope === false).map((u) => u.userId);
    // The tenant has each kind (else this test proves nothing).
    expect(disabled).toContain(victim.id);
    expect(outOfScope.length).toBeGreaterThan(0);
    const never = new Set([...disabled, ...outOfScope, EXCLUDED_ID, 'b9000000-0000-4000-8000-000000000001', 'b9000000-0000-4000-8000-000000000002']);
    // The exempt accounts are left out of the campaign's users (they hold no method and have a manager).
    for (const id of [EXCLUDED_ID, 'b9000000-0000-4000-8000-000000000001', 'b9000000-0000-4000-8000-000000000002']) expect(byId.has(id)).toBe(false);
    for (const e of issued) {
      expect(never.has(e.userId)).toBe(false);
      expect(byId.get(e.userId)!.methodsRegistered).toEqual(['email']);
    }
    for (const id of never) expect(h.emulator.state.tenant.temporaryAccessPass(id)).toBeUndefined();
  });

  it('creates at most maxPerRun passes a run, and one per user per grace period', async () => {
    h = await harness({ fixture: onboardingTenant(), campaign: onboardingCampaign({ maxPerRun: 2 }) });
    const r0 = await h.run(0);
    expect(r0.onboarding).toMatchObject({ issued: 2 });
    expect(r0.onboarding!.deferred).toBeGreaterThan(0);
    expect(r0.warnings.some((w) => /maxPerRun is 2/.test(w))).toBe(true);
    let events = await h.events();
    expect(issuedOf(events)).toHaveLength(2);
    const r1 = await h.run(1);
    expect(r1.onboarding!.issued).toBe(2);
    events = await h.events();
    const issued = issuedOf(events);
    expect(issued).toHaveLength(4);
    expect(new Set(issued.map((e) => e.userId)).size).toBe(4);
    // Raise the cap: everyone still waiting gets one, nobody a second one within the grace period (21 days).
    h.campaign.spec.onboarding.temporaryAccessPass.maxPerRun = 100;
    await h.run(2);
    await h.run(5);
    const all = issuedOf(await h.events());
    expect(new Set(all.map((e) => e.userId)).size).toBe(all.length);
  });

  it('reports a pass that expired unused, and issues the next one only in the next grace period', async () => {
    h = await harness({ fixture: onboardingTenant(), campaign: onboardingCampaign({ maxPerRun: 1 }) });
    await h.run(0);
    const [first] = issuedOf(await h.events());
    expect(first).toBeDefined();
    const r1 = await h.run(1);
    const expired = (await h.events()).filter((e) => e.type === 'onboardingPassExpired');
    expect(expired).toEqual([expect.objectContaining({ userId: first!.userId, methodId: first!.methodId, expiresAt: first!.expiresAt })]);
    expect(r1.onboarding!.expired).toBe(1);
    expect(r1.warnings.some((w) => w.includes(first!.userPrincipalName) && /expired/.test(w))).toBe(true);
    // Reported once.
    await h.run(2);
    expect((await h.events()).filter((e) => e.type === 'onboardingPassExpired' && e.userId === first!.userId)).toHaveLength(1);
    const passesOf = async () => issuedOf(await h!.events()).filter((e) => e.userId === first!.userId);
    expect(await passesOf()).toHaveLength(1);
    // Everyone else gets theirs; this user none until the grace period (21 days) since the first has passed.
    h.campaign.spec.onboarding.temporaryAccessPass.maxPerRun = 100;
    await h.run(20);
    expect(await passesOf()).toHaveLength(1);
    await h.run(22);
    expect(await passesOf()).toHaveLength(2);
  });

  it('a user who registers a passkey with the pass moves on as usual and gets no other pass', async () => {
    h = await harness({ fixture: onboardingTenant(), campaign: onboardingCampaign({ maxPerRun: 1 }) });
    await h.run(0);
    const [first] = issuedOf(await h.events());
    await h.patch({ userRegistrationDetails: [{ id: first!.userId, userPrincipalName: first!.userPrincipalName, methodsRegistered: ['email', 'passKeyDeviceBound'] }] });
    await h.run(1);
    const state = await h.state();
    expect(state.users[first!.userId]!.stage).toBe('enforcementNotice');
    h.campaign.spec.onboarding.temporaryAccessPass.maxPerRun = 100;
    await h.run(25);
    const events = await h.events();
    expect(events.filter((e) => e.type === 'onboardingPassExpired' && e.userId === first!.userId)).toHaveLength(0);
    expect(issuedOf(events).filter((e) => e.userId === first!.userId)).toHaveLength(1);
  });

  it('a user without a manager goes to the helpdesk queue, with no pass', async () => {
    h = await harness({ fixture: onboardingTenant({ noManager: 2 }), campaign: onboardingCampaign() });
    const r = await h.run(0);
    const queued = (await h.events()).filter((e) => e.type === 'onboardingQueued');
    expect(queued).toHaveLength(2);
    for (const q of queued) {
      expect(q).toMatchObject({ reason: 'noManager' });
      expect(h.emulator.state.tenant.temporaryAccessPass((q as { userId: string }).userId)).toBeUndefined();
    }
    expect(r.onboarding!.queued).toBe(2);
    // Recorded once, not every run.
    await h.run(1);
    const again = (await h.events()).filter((e) => e.type === 'onboardingQueued').map((e) => (e as { userId: string }).userId);
    expect(again.slice(0, 2)).toEqual(queued.map((q) => (q as { userId: string }).userId));
    expect(new Set(again).size).toBe(again.length);
  });

  it('without UserAuthenticationMethod.ReadWrite.All: no pass, one warning naming the permission', async () => {
    // Everything the job reads and writes, but not the pass write (nor a broader permission that would include it).
    const roles = [...KNOWN_APP_ROLES].filter((r) => !/^UserAuthenticationMethod\.ReadWrite|^Directory\.ReadWrite/.test(r));
    h = await harness({ fixture: onboardingTenant({ roles }), campaign: onboardingCampaign() });
    const r = await h.run(0);
    expect(issuedOf(await h.events())).toHaveLength(0);
    expect(r.onboarding!.issued).toBe(0);
    const named = r.warnings.filter((w) => w.includes('UserAuthenticationMethod.ReadWrite.All'));
    expect(named).toHaveLength(1);
    // It stopped at the first refusal: one POST, no pass anywhere.
    const outcomes = (await h.events()).filter((e) => e.type === 'onboardingPassOutcome');
    expect(outcomes).toHaveLength(1);
    for (const u of h.fixture.users!) expect(h.emulator.state.tenant.temporaryAccessPass(u.id)).toBeUndefined();
  });
});

describe('onboarding passes, off or helpdesk', () => {
  it('creates nothing and reads nothing when the campaign does not enable it', async () => {
    const c = onboardingCampaign();
    c.spec.onboarding.temporaryAccessPass.enabled = false;
    h = await harness({ fixture: onboardingTenant(), campaign: c });
    const paths: string[] = [];
    h.emulator.state.hooks = { before: ({ path: p }) => void paths.push(p) };
    const r = await h.run(0);
    expect(r.onboarding).toBeUndefined();
    expect((await h.events()).filter((e) => e.type.startsWith('onboarding'))).toHaveLength(0);
    expect(paths.filter((p) => /temporaryAccessPass|\/manager/i.test(p))).toEqual([]);
  });

  it('helpdesk delivery queues the users and creates no pass', async () => {
    h = await harness({ fixture: onboardingTenant(), campaign: onboardingCampaign({ deliverTo: 'helpdesk' }) });
    const paths: string[] = [];
    h.emulator.state.hooks = { before: ({ path: p }) => void paths.push(p) };
    const r = await h.run(0);
    const events = await h.events();
    expect(issuedOf(events)).toHaveLength(0);
    const queued = events.filter((e) => e.type === 'onboardingQueued');
    expect(queued.length).toBeGreaterThanOrEqual(5);
    expect(queued.every((e) => (e as { reason: string }).reason === 'helpdesk')).toBe(true);
    expect(r.onboarding!.queued).toBe(queued.length);
    expect(paths.filter((p) => /temporaryAccessPass|\/manager/i.test(p))).toEqual([]);
  });
});
