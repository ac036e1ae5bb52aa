import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { runDemo } from '../../src/apps/demo/demo';
import { loadCampaignFile } from '../../src/campaign/load';
import { stuckUsers } from '../../src/engine/estimate';
import { foldLedger } from '../../src/engine/state';
import { FileStore } from '../../src/ledger/file/store';
import type { Emulator } from '../../src/sim/server';
import { sha256 } from '../../src/sim/temporary-access-pass';
import { fixtureCampaign } from '../helpers/campaigns';
import { captureIo } from '../helpers/io';

describe('campaign demo', () => {
  it('runs a campaign day by day against the simulated tenant and writes the dashboard', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-cli-'));
    try {
      const io = captureIo(dir);
      const code = await run(['demo', '--campaign', fixtureCampaign('admins-passkeys'), '--days', '12', '--users', '40', '--seed', '3', '--start', '2026-12-01T06:00:00Z'], io);
      expect(io.err()).toBe('');
      expect(code).toBe(0);
      const out = io.out();
      expect(out).toMatch(/^Demo: 40 admins in a simulated tenant, campaign admins-passkeys/);
      expect(out.split('\n').filter((l) => /^\s+\d+\s+2026-12-\d\d\s/.test(l))).toHaveLength(12);
      // Users ready on day one are enforced exactly noticeDays (7) later: day 8's line shows the first group adds.
      const day8 = out.split('\n').find((l) => /^\s+8\s+2026-12-08\s/.test(l))!;
      expect(Number(day8.split('|')[1].trim().split(/\s+/)[1])).toBeGreaterThan(0);
      expect(out).toContain('Dashboard: .campaign-demo/admins-passkeys.html');
      const html = fs.readFileSync(path.join(dir, '.campaign-demo', 'admins-passkeys.html'), 'utf8');
      expect(html).toContain('admins-passkeys');
      // The demo's state directory is its own: a second demo replaces it, a foreign directory is refused.
      const foreign = path.join(dir, 'mine');
      fs.mkdirSync(foreign);
      fs.writeFileSync(path.join(foreign, 'keep.txt'), 'x');
      const io2 = captureIo(dir);
      expect(await run(['demo', '--days', '1', '--users', '20', '--state', 'mine'], io2)).toBe(2);
      expect(io2.err()).toMatch(/already holds files that are not from a demo; refusing to replace them/);
      expect(fs.readFileSync(path.join(foreign, 'keep.txt'), 'utf8')).toBe('x');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the example with graduated enforcement and ends with an impact report recorded for status and the dashboard', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-graduated-'));
    try {
      const io = captureIo(dir);
      expect(await run(['demo', '--days', '40', '--users', '60', '--seed', '3', '--start', '2026-12-01T06:00:00Z'], io)).toBe(0);
      const out = io.out();
      expect(out).toContain('Graduated enforcement: an enforced user moves to the enabled policy once their own sign-ins over 14 days');
      const last = out.split('\n').find((l) => /^\s+40\s+2027-01-09\s/.test(l))!;
      const [, , , , , enforced, graduated] = last.trim().split(/\s+/).map(Number);
      expect(graduated).toBeGreaterThan(0);
      expect(out).toContain(`(${enforced} under the report-only policy, ${graduated} graduated to the enabled policy)`);
      // The ledger agrees with the table, and no break-glass account ever graduated.
      const events = fs.readFileSync(path.join(dir, '.campaign-demo', 'admins-passkeys', 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; to?: string; userPrincipalName?: string });
      const graduations = events.filter((e) => e.type === 'userEnteredStage' && e.to === 'graduated');
      expect(graduations).toHaveLength(graduated);
      expect(graduations.filter((e) => /^bg\d@/i.test(e.userPrincipalName ?? ''))).toEqual([]);
      // campaign impact after the last run, recorded where status and the dashboard read it.
      expect(out).toMatch(/Impact of the report-only policy over the last 14 days \(campaign impact\):\n  (\d+) users in the enforcement group, (\d+) observed/);
      const impact = JSON.parse(fs.readFileSync(path.join(dir, '.campaign-demo', 'admins-passkeys', 'snapshots', 'impact.json'), 'utf8')) as { campaign: string; members: number; graduated: number; users: { wouldBlock: number }; gate: { met: boolean } };
      expect(impact).toMatchObject({ campaign: 'admins-passkeys', members: enforced + graduated, graduated });
      expect(out).toContain(`${impact.users.wouldBlock} would have been blocked`);
      const html = fs.readFileSync(path.join(dir, '.campaign-demo', 'admins-passkeys.html'), 'utf8');
      expect(html).not.toContain('No impact report yet');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says why a report-only campaign gets no impact report: its identity holds no sign-in permission', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-report-only-'));
    try {
      const io = captureIo(dir);
      expect(await run(['demo', '--campaign', fixtureCampaign('admins-passkeys'), '--days', '3', '--users', '20', '--seed', '3', '--start', '2026-12-01T06:00:00Z'], io)).toBe(0);
      expect(io.out()).toMatch(/Impact: not measured \(.*Policy\.Read\.All/);
      expect(fs.existsSync(path.join(dir, '.campaign-demo', 'admins-passkeys', 'snapshots', 'impact.json'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 naming a --campaign file that does not exist', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-cli-'));
    try {
      const io = captureIo(dir);
      expect(await run(['demo', '--campaign', 'missing.yaml', '--days', '1', '--users', '20'], io)).toBe(2);
      expect(io.err()).toBe(`campaign demo: --campaign ${path.join(dir, 'missing.yaml')}: no such file.\n  Pass a campaign file with --campaign FILE.\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('onboards the users who cannot register alone: passes mailed to managers, used, fewer users stuck, the pass nowhere else', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-onboarding-'));
    try {
      const example = (onboarding: boolean) => {
        const c = loadCampaignFile(path.join(__dirname, '..', '..', 'campaigns', 'admins-passkeys.yaml')).campaign!;
        c.spec.status = 'inProgress';
        c.spec.enforcement.mode = 'graduated';
        c.spec.notifications.sender = 'passkeys@contoso.com';
        c.spec.onboarding.temporaryAccessPass = { ...c.spec.onboarding.temporaryAccessPass, enabled: onboarding, deliverTo: 'manager' };
        return c;
      };
      const demo = async (onboarding: boolean) => {
        const campaign = example(onboarding);
        const stateDir = path.join(dir, onboarding ? 'with' : 'without');
        const store = new FileStore({ dir: stateDir });
        let emulator: Emulator | undefined;
        const outputs: string[] = [];
        const result = await runDemo({ campaign, store, users: 100, days: 32, seed: 3, start: new Date('2026-12-01T06:00:00Z'), onEmulator: (e) => (emulator = e), onDay: (_d, _at, r) => outputs.push(JSON.stringify(r)) });
        const state = foldLedger((await store.read(campaign.metadata.name)).events);
        return { result, stuck: stuckUsers(campaign, state).users, emulator: emulator!, stateDir, outputs };
      };
      const withPasses = await demo(true);
      const without = await demo(false);
      expect(withPasses.result.onboarding.issued).toBeGreaterThan(0);
      expect(withPasses.result.onboarding.used).toBeGreaterThan(0);
      expect(without.result.onboarding).toEqual({ issued: 0, used: 0 });
      expect(withPasses.stuck).toBeLessThan(without.stuck);
      // The passes, found in the mail to the managers by the SHA-256 the emulator keeps: in no file of the state
      // (ledger, snapshots) and in no run result the demo prints from.
      const tenant = withPasses.emulator.state.tenant;
      const hashes = new Set(tenant.users.all().flatMap((u) => tenant.temporaryAccessPass(u.id)?.passSha256 ?? []));
      const mails = withPasses.emulator.state.notifications.filter((n) => n.channel === 'email').map((n) => JSON.stringify(n.request));
      const passes = new Set(mails.flatMap((m) => m.split(/[\s<>"'(),;:]+/)).filter((w) => w.length >= 8 && hashes.has(sha256(w))));
      expect(passes.size).toBeGreaterThan(0);
      const files: string[] = [];
      const walk = (d: string) => { for (const f of fs.readdirSync(d, { withFileTypes: true })) f.isDirectory() ? walk(path.join(d, f.name)) : files.push(fs.readFileSync(path.join(d, f.name), 'utf8')); };
      walk(withPasses.stateDir);
      for (const pass of passes) {
        for (const text of [...files, ...withPasses.outputs]) expect(text.includes(pass)).toBe(false);
      }
      // Never to the user's own mailbox: every mail carrying a pass went to someone other than the user it is for.
      const issued = fs.readFileSync(path.join(withPasses.stateDir, 'admins-passkeys', 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'onboardingPassIssued');
      expect(issued).toHaveLength(withPasses.result.onboarding.issued);
      for (const e of issued) expect(e.deliveredTo.managerId).not.toBe(e.userId);
      const passMailRecipients = withPasses.emulator.state.notifications.filter((n) => n.channel === 'email' && [...passes].some((p) => JSON.stringify(n.request).includes(p))).map((n) => n.userId);
      for (const id of passMailRecipients) expect(issued.some((e) => e.userId === id)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says in its help and output that the example onboards with passes mailed to managers, and how many were issued and used', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-onboarding-cli-'));
    try {
      const help = captureIo(dir);
      expect(await run(['demo', '--help'], help)).toBe(0);
      expect(help.out()).toContain('onboarding passes mailed to managers');
      const io = captureIo(dir);
      expect(await run(['demo', '--days', '30', '--users', '80', '--seed', '3', '--start', '2026-12-01T06:00:00Z'], io)).toBe(0);
      const out = io.out();
      expect(out).toContain('Onboarding: users who cannot register a passkey on their own get a Temporary Access Pass mailed to their manager');
      const m = /onboarding passes \(Temporary Access Pass, mailed to the manager\): (\d+) issued, (\d+) used to sign in and register a passkey/.exec(out);
      expect(m).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThan(0);
      expect(Number(m![2])).toBeGreaterThan(0);
      const ledger = fs.readFileSync(path.join(dir, '.campaign-demo', 'admins-passkeys', 'ledger.jsonl'), 'utf8');
      expect(ledger.split('\n').filter((l) => l.includes('"type":"onboardingPassIssued"'))).toHaveLength(Number(m![1]));
      expect(ledger).not.toMatch(/"temporaryAccessPass"\s*:\s*"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
