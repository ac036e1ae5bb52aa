// `campaign status` and onboarding passes: the count of users who need one, the passes issued, queued and
// expired, and the helpdesk queue written by --onboarding-queue (CSV or Markdown), from a file-store ledger.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { FileStore } from '../../src/ledger/file/store';
import { OBSERVATION_SNAPSHOT } from '../../src/report/index';
import { QUEUE_CSV_HEADER } from '../../src/report/onboarding';
import { captureIo } from '../helpers/io';
import { ledger, obs, SECRET } from '../report/onboarding-fixtures';

let tmp: string;

/** The fixture campaign, started, with onboarding passes as given (YAML lines under spec.onboarding.temporaryAccessPass). */
function campaignFile(dir: string, tap: string | null): string {
  const source = path.resolve(__dirname, '..', 'fixtures', 'campaigns', 'admins-passkeys.yaml');
  let text = fs.readFileSync(source, 'utf8').replace(/^ {2}status: notStarted$/m, '  status: inProgress');
  if (tap) text = `${text.trimEnd()}\n  onboarding:\n    temporaryAccessPass: ${tap}\n`;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'admins-passkeys.yaml');
  fs.writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-status-onboarding-'));
  const store = new FileStore({ dir: path.join(tmp, 'state') });
  // A pass value on an issued event (which the job never writes) must not reach any output either.
  const events = ledger().map((e) => (e.type === 'onboardingPassIssued' ? { ...e, temporaryAccessPass: SECRET } : e));
  await store.append('admins-passkeys', events);
  await store.writeSnapshot('admins-passkeys', OBSERVATION_SNAPSHOT, obs());
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function status(file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const io = captureIo(tmp, env);
  const code = await run(['status', '--campaign', file, '--state', path.join(tmp, 'state'), ...args], io);
  return { code, out: io.out(), err: io.err() };
}

describe('campaign status: onboarding passes', () => {
  it('prints how many users need a pass and the passes issued, queued and expired', async () => {
    const file = campaignFile(path.join(tmp, 'manager'), '{ enabled: true, deliverTo: manager }');
    const r = await status(file, []);
    expect(r.code).toBe(0);
    expect(r.out).toContain("3 users need an onboarding pass (Temporary Access Pass; the campaign's passes go to managers) · passes issued 2 · queued for the helpdesk 1 · expired unused 1");
    expect(r.out).not.toContain(SECRET);
    const j = await status(file, ['--json']);
    expect(JSON.parse(j.out).onboarding).toMatchObject({ enabled: true, deliverTo: 'manager', needPass: 3, issued: 2, expired: 1, queued: 1 });
    expect(j.out).not.toContain(SECRET);
  });

  it('writes the helpdesk queue as CSV for a .csv name', async () => {
    const file = campaignFile(path.join(tmp, 'manager'), '{ enabled: true, deliverTo: manager }');
    const out = path.join(tmp, 'out', 'queue.csv');
    const r = await status(file, ['--onboarding-queue', out]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out.trim()).toBe(`wrote the helpdesk queue of onboarding passes (1 user, CSV) to ${out}`);
    const lines = fs.readFileSync(out, 'utf8').split('\r\n');
    expect(lines[0]).toBe(QUEUE_CSV_HEADER.join(','));
    expect(lines.slice(1, -1).map((l) => l.split(',')[0])).toEqual(['ann@contoso.com']);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(fs.readFileSync(out, 'utf8')).not.toContain(SECRET);
  });

  it('with passes off, queues every user who needs one, in Markdown appended to the GitHub step summary', async () => {
    const file = campaignFile(path.join(tmp, 'off'), null);
    const summary = path.join(tmp, 'summary.md');
    fs.writeFileSync(summary, '# Earlier step\n');
    const r = await status(file, ['--onboarding-queue', summary], { GITHUB_STEP_SUMMARY: summary });
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(`wrote the helpdesk queue of onboarding passes (3 users, Markdown) to ${summary}`);
    const md = fs.readFileSync(summary, 'utf8');
    expect(md.startsWith('# Earlier step\n## Onboarding passes for the helpdesk: admins-passkeys\n')).toBe(true);
    expect(md).toContain('3 users waiting for an onboarding pass (a Temporary Access Pass) from the helpdesk.');
    // Ann was queued by an earlier run (no manager); ben and gus need a pass while passes are off.
    expect(md.match(/^\| (\S+) \|/gm)).toEqual(['| ann@contoso.com |', '| ben@contoso.com |', '| gus@contoso.com |']);
    expect(md).toContain('Onboarding passes are off in the campaign: the helpdesk issues them by hand.');
    expect(md).not.toContain(SECRET);
  });

  it('exits 2 naming the flag and path when the queue cannot be written', async () => {
    const file = campaignFile(path.join(tmp, 'manager'), '{ enabled: true, deliverTo: manager }');
    const blocker = path.join(tmp, 'not-a-dir');
    fs.writeFileSync(blocker, '');
    const r = await status(file, ['--onboarding-queue', path.join(blocker, 'queue.csv')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--onboarding-queue ${path.join(blocker, 'queue.csv')}`);
  });

  it('documents --onboarding-queue in --help', async () => {
    const r = await status(campaignFile(path.join(tmp, 'off'), null), ['--help']);
    expect(r.out).toContain('--onboarding-queue FILE');
  });
});
