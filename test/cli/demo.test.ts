import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
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
});
