import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { FileStore } from '../../src/ledger/file/store';
import { IMPACT_SNAPSHOT, loadReport, renderMarkdown } from '../../src/report/index';
import type { StatusReport } from '../../src/report/model';
import { captureIo } from '../helpers/io';
import { buildDemoLedger, writeStartedCampaign, type DemoLedger } from '../report/demo-ledger';

let tmp: string;
let state: string;
let campaignFile: string;
let demo: DemoLedger;
const NOW = '2026-12-30T08:00:00Z';

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-status-'));
  state = path.join(tmp, 'state');
  demo = await buildDemoLedger({ dir: state, admins: 14, days: 30, seed: 3, passkeyLossDay: 29 });
  campaignFile = writeStartedCampaign(tmp);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The CLI resolves relative paths against the process directory, so tests pass absolute ones.
async function status(args: string[], env: NodeJS.ProcessEnv = {}) {
  const io = captureIo(process.cwd(), env);
  const code = await run(['status', '--campaign', campaignFile, '--state', state, '--now', NOW, ...args], io);
  return { code, out: io.out(), err: io.err() };
}

describe('campaign status', () => {
  it('prints the overview and an aligned per-user table', async () => {
    const r = await status([]);
    expect(r).toMatchObject({ code: 0, err: '' });
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('admins-passkeys · inProgress · last run day-030 at 2026-12-30T06:00:00.000Z (ok), 30 runs');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}Targeted users {2,}14$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {4}Enforced {2,}11 {2}79%$/));
    // Three users are past a grace period: the date is the earliest, and the status says what to do.
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}Estimated end {2,}2027-01-12 at the earliest, if the 3 users past a grace period act today$/));
    expect(lines).toContainEqual(expect.stringMatching(/^Stuck users: 3 users are past a grace period \(the oldest since \d{4}-\d{2}-\d{2}, \d+ days ago\)/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}- Contact them directly: `campaign status --campaign admins-passkeys --csv stuck-users\.csv --stuck`/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}The estimated end assumes /));
    const header = lines.findIndex((l) => l.startsWith('  USER'));
    expect(header).toBeGreaterThan(0);
    const rows = lines.slice(header + 1).filter((l) => l.trim() !== '');
    expect(rows).toHaveLength(14);
    // Every row's stage starts in the STAGE column.
    const col = lines[header].indexOf('STAGE');
    for (const row of rows) expect(row.slice(col)).toMatch(/^(Device update|Passkey registration|Enforcement notice|Enforced|not entered) /);
  });

  it('prints the DESIGN §5 JSON, with the counts the last reconcile reported', async () => {
    const r = await status(['--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as StatusReport;
    expect(Object.keys(json).slice(0, 6)).toEqual(['campaign', 'status', 'counts', 'users', 'estimatedEnd', 'outlook']);
    expect(json).toMatchObject({ campaign: 'admins-passkeys', status: 'inProgress', estimatedEnd: '2027-01-12' });
    const last = demo.runs.at(-1)!;
    for (const k of ['targeted', 'deviceUpdate', 'passkeyRegistration', 'enforcementNotice', 'enforced', 'exceededGrace', 'excluded'] as const) {
      expect({ k, v: json.counts[k] }).toEqual({ k, v: last.counts[k] });
    }
    expect(json.users).toHaveLength(14);
    for (const u of json.users) {
      expect(u).toEqual(expect.objectContaining({ userId: expect.any(String), userPrincipalName: expect.any(String), exceededGrace: expect.any(Boolean) }));
      expect(['deviceUpdate', 'passkeyRegistration', 'enforcementNotice', 'enforced', null]).toContain(u.stage);
      expect(u.stageSince === null || !Number.isNaN(Date.parse(u.stageSince))).toBe(true);
      expect(u.postponedUntil === null || !Number.isNaN(Date.parse(u.postponedUntil))).toBe(true);
    }
    expect(Array.isArray(json.outlook)).toBe(true);
  });

  it('writes the Markdown summary, appending when the file is the GitHub step summary', async () => {
    const file = path.join(tmp, 'summary.md');
    const r = await status(['--markdown', file]);
    expect(r).toEqual({ code: 0, out: `wrote the Markdown summary to ${file}\n`, err: '' });
    const expected = renderMarkdown(await loadReport({ campaign: demo.campaign, store: demo.store, now: new Date(NOW) }));
    expect(fs.readFileSync(file, 'utf8')).toBe(expected);

    const summary = path.join(tmp, 'step-summary.md');
    fs.writeFileSync(summary, '# Earlier step\n');
    expect((await status(['--markdown', summary], { GITHUB_STEP_SUMMARY: summary })).code).toBe(0);
    expect(fs.readFileSync(summary, 'utf8')).toBe(`# Earlier step\n${expected}`);
  });

  it('writes the HTML dashboard and, with --json, keeps stdout pure JSON', async () => {
    const file = path.join(tmp, 'out', 'dash.html');
    const r = await status(['--html', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).campaign).toBe('admins-passkeys');
    expect(r.err).toBe(`wrote the dashboard to ${file}\n`);
    const html = fs.readFileSync(file, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<div class="value" data-count="targeted">14</div>');
  });

  it('writes the contact list as CSV next to the other outputs, every targeted user or only the stuck ones', async () => {
    const all = path.join(tmp, 'csv', 'all.csv');
    const stuck = path.join(tmp, 'csv', 'stuck.csv');
    const md = path.join(tmp, 'csv', 'summary.md');
    let r = await status(['--csv', all, '--markdown', md]);
    expect(r).toEqual({ code: 0, err: '', out: `wrote the Markdown summary to ${md}\nwrote the contact list (every targeted user) to ${all}\n` });
    const json = JSON.parse((await status(['--json'])).out) as StatusReport;
    const lines = fs.readFileSync(all, 'utf8').split('\r\n');
    expect(lines[0]).toBe('User principal name,Display name,Mail,Stage,Since,Deadline,Exceeded grace at,Readiness,Devices below minimum OS,Last notice,Delivery,Alerts');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(1, -1).map((l) => l.split(',')[0])).toEqual(json.users.map((u) => u.userPrincipalName));
    const first = json.users[0];
    expect(lines[1].split(',').slice(1, 3)).toEqual([first.displayName, first.mail]);

    r = await status(['--csv', stuck, '--stuck', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).stuck.users).toBe(3);
    expect(r.err).toBe(`wrote the contact list (users past a grace period) to ${stuck}\n`);
    const rows = fs.readFileSync(stuck, 'utf8').split('\r\n').slice(1, -1);
    expect(rows.map((l) => l.split(',')[0])).toEqual(json.users.filter((u) => u.exceededGrace).map((u) => u.userPrincipalName));
    for (const row of rows) expect(row.split(',')[6]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('shows the recorded impact report: in --json with its age, as a block in the text and a section in the Markdown', async () => {
    // A copy of the state, so the other tests see no impact report.
    const copy = path.join(tmp, 'state-impact');
    fs.cpSync(state, copy, { recursive: true });
    const impact = {
      campaign: 'admins-passkeys', policyId: 'p-1', days: 14,
      users: { observed: 11, satisfied: 10, interrupted: 0, wouldBlock: 1, noPasskeySignIn: 1 },
      wouldBlock: [{ userId: 'u-x', userPrincipalName: 'pat@contoso.com', apps: ['Office 365 Exchange Online'], clientApps: ['Exchange ActiveSync'] }],
      gate: { met: false, reason: 'TooManyWouldBlock', message: '1 observed user of 11 (9.1 %) had a sign-in the policy would have blocked; the gate allows at most 1 % (enableWhen.maxWouldBlockUsersPercent).' },
      at: '2026-12-27T07:00:00.000Z', policyState: 'enabledForReportingButNotEnforced',
    };
    await new FileStore({ dir: copy }).writeSnapshot('admins-passkeys', IMPACT_SNAPSHOT, impact);
    const at = async (args: string[]) => {
      const io = captureIo(process.cwd(), {});
      const code = await run(['status', '--campaign', campaignFile, '--state', copy, '--now', NOW, ...args], io);
      return { code, out: io.out(), err: io.err() };
    };
    const json = await at(['--json']);
    expect(json.code).toBe(0);
    // Measured three days before --now: stale.
    expect(JSON.parse(json.out).impact).toEqual({ ...impact, ageDays: 3, stale: true });
    const text = (await at([])).out.split('\n');
    const from = text.indexOf('Sign-in impact of the report-only policy over 14 days, measured 2026-12-27T07:00:00.000Z (3 days ago):');
    expect(from).toBeGreaterThan(0);
    expect(text.slice(from + 1, from + 3)).toEqual(['  Gate not met: 1 observed user of 11 (9.1 %) had a sign-in the policy would have blocked; the gate allows at most 1 % (enableWhen.maxWouldBlockUsersPercent).', '  Needs 14 days of sign-ins observed and at most 1 % of observed users would be blocked (spec.enforcement.enableWhen).']);
    expect(text).toContain('  Would be blocked: pat@contoso.com');
    expect(text).toContain('  Client types: Exchange ActiveSync (legacy, 1 user)');
    expect(text).toContain('  Stale: measured 3 days ago; run `campaign impact --campaign admins-passkeys --record` again before relying on it.');
    const md = path.join(tmp, 'impact-summary.md');
    expect((await at(['--markdown', md])).code).toBe(0);
    expect(fs.readFileSync(md, 'utf8')).toContain('### Sign-in impact\n\n**Gate not met**: 1 observed user of 11 (9.1 %) had a sign-in the policy would have blocked; the gate allows at most 1 % (enableWhen.maxWouldBlockUsersPercent).');
    // Without one, the text says how to get it.
    expect((await status([])).out).toContain('\nSign-in impact: no impact report yet; run `campaign impact --campaign admins-passkeys --record` to measure');
    expect(JSON.parse((await status(['--json'])).out).impact).toBeNull();
  });

  it('exits 2 for --stuck without --csv', async () => {
    const r = await status(['--stuck']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/--stuck filters the contact list: use it with --csv FILE\./);
  });

  it('flags a scheduler that stopped running', async () => {
    const r = await status(['--json', '--now', '2027-01-05T00:00:00Z']);
    expect(JSON.parse(r.out).alerts.map((a: { code: string }) => a.code)).toContain('StaleRun');
  });

  it('reports a notStarted campaign with no ledger yet, and names where it looked', async () => {
    const notStarted = path.join(tmp, 'not-started', 'admins-passkeys.yaml');
    fs.mkdirSync(path.dirname(notStarted), { recursive: true });
    fs.writeFileSync(notStarted, fs.readFileSync(campaignFile, 'utf8').replace('status: inProgress', 'status: notStarted'));
    const io = captureIo(process.cwd(), {});
    expect(await run(['status', '--campaign', notStarted, '--state', path.join(tmp, 'empty'), '--json'], io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ counts: { targeted: 0 }, users: [], estimatedEnd: null, lastRun: null, outlook: ['No reconcile run has been recorded yet.'] });
    expect(io.err()).toBe(`campaign status: no ledger at ${path.join(tmp, 'empty', 'admins-passkeys', 'ledger.jsonl')} yet (admins-passkeys is notStarted).\n`);
  });

  it('exits 2 naming the path it looked in when a started campaign has no ledger there', async () => {
    const io = captureIo(process.cwd(), {});
    expect(await run(['status', '--campaign', campaignFile, '--state', path.join(tmp, 'empty'), '--json'], io)).toBe(2);
    expect(io.out()).toBe('');
    expect(io.err()).toBe(
      `campaign status: campaign admins-passkeys is inProgress in its file, but there is no ledger at ${path.join(tmp, 'empty', 'admins-passkeys', 'ledger.jsonl')}: a started campaign must have one.\n` +
        '  Check --state (or CAMPAIGN_STATE): it names the directory or container that holds admins-passkeys/.\n',
    );
  });

  it.each([
    { name: 'an unknown option', args: ['--htlm', 'x'], err: /unknown option --htlm\. Did you mean --html\?/ },
    { name: 'a missing --campaign', args: [], err: /--campaign is required/ },
    { name: 'an unknown campaign', args: ['--campaign', 'nope'], err: /--campaign nope: no campaign of that name/ },
  ])('exits 2 on $name', async ({ args, err }) => {
    const io = captureIo(process.cwd(), {});
    expect(await run(['status', ...args], io)).toBe(2);
    expect(io.err()).toMatch(err);
  });

  it('prints its help', async () => {
    const io = captureIo(process.cwd(), {});
    expect(await run(['status', '--help'], io)).toBe(0);
    expect(io.out()).toMatch(/^Usage: campaign status --campaign NAME\|FILE \[--state DIR\] \[--json\] \[--html FILE\] \[--markdown FILE\] \[--csv FILE \[--stuck\]\]/);
  });
});
