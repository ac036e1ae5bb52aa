import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { stripChain } from '../../src/ledger/chain';
import type { LedgerEvent } from '../../src/ledger/events';
import { captureIo } from '../helpers/io';
import { buildDemoLedger, writeStartedCampaign, type DemoLedger } from '../report/demo-ledger';

let tmp: string;
let state: string;
let campaignFile: string;
let demo: DemoLedger;
let ledger: LedgerEvent[];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-history-'));
  state = path.join(tmp, 'state');
  demo = await buildDemoLedger({ dir: state, admins: 14, days: 30, seed: 3, passkeyLossDay: 29 });
  campaignFile = writeStartedCampaign(tmp);
  ledger = fs.readFileSync(demo.store.ledgerFile('admins-passkeys'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(stripChain(l)) as LedgerEvent);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The CLI resolves relative paths against the process directory, so tests pass absolute ones.
async function history(args: string[]) {
  const io = captureIo(process.cwd(), {});
  const code = await run(['history', '--campaign', campaignFile, '--state', state, ...args], io);
  return { code, out: io.out(), err: io.err() };
}

const userOf = (e: LedgerEvent) => ('userId' in e ? e.userId : null);

describe('campaign history', () => {
  it('prints every ledger event, oldest first, one aligned line each', async () => {
    const r = await history([]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(ledger.length);
    expect(lines[0]).toMatch(/^2026-12-01T06:00:00\.000Z {2}runStarted +- +run day-001 started \(campaign inProgress\)$/);
    expect(lines.map((l) => l.slice(0, 24))).toEqual(ledger.map((e) => e.at));
    const col = lines[0].indexOf('runStarted');
    for (const l of lines) expect(l[col - 1]).toBe(' ');
    expect(lines.at(-1)).toMatch(/^2026-12-30T06:00:00\.000Z {2}runFinished +- +run day-030 finished \(targeted 14, /);
  });

  it('prints the ledger as JSON with --json', async () => {
    const r = await history(['--json']);
    expect(JSON.parse(r.out)).toEqual({ campaign: 'admins-passkeys', count: ledger.length, events: ledger });
  });

  it('shows one user\'s events with --user, matching the UPN case-insensitively or the object id', async () => {
    const someone = ledger.find((e) => e.type === 'postponed') as Extract<LedgerEvent, { type: 'postponed' }>;
    const theirs = ledger.filter((e) => userOf(e) === someone.userId);
    for (const ref of [someone.userPrincipalName.toUpperCase(), someone.userId]) {
      const r = await history(['--json', '--user', ref]);
      expect(JSON.parse(r.out).events).toEqual(theirs);
    }
    const text = await history(['--user', someone.userPrincipalName]);
    expect(text.out.trimEnd().split('\n')).toHaveLength(theirs.length);
    expect(text.out).toContain(`postponed ${someone.stage} until ${someone.until}`);
  });

  it('shows events at or after --since', async () => {
    const r = await history(['--json', '--since', '2026-12-29']);
    const expected = ledger.filter((e) => e.at >= '2026-12-29');
    expect(JSON.parse(r.out).events).toEqual(expected);
    expect(expected[0]).toMatchObject({ type: 'runStarted', runId: 'day-029' });
  });

  it('writes a byte-identical export for the same ledger', async () => {
    const dir = path.join(tmp, 'audit');
    const first = await history(['--export', dir]);
    const md = path.join(dir, 'admins-passkeys', 'history.md');
    const jsonl = path.join(dir, 'admins-passkeys', 'events.jsonl');
    expect(first).toEqual({ code: 0, out: `wrote ${ledger.length} events of admins-passkeys to ${md} and ${jsonl}\n`, err: '' });
    // Strings, not Buffers: toEqual walks a Buffer byte by byte.
    const read = (f: string) => fs.readFileSync(f, 'latin1');
    const before = [read(md), read(jsonl)];
    expect((await history(['--export', dir])).code).toBe(0);
    expect(read(md)).toBe(before[0]);
    expect(read(jsonl)).toBe(before[1]);
    expect(before[1]).toBe(read(demo.store.ledgerFile('admins-passkeys')));
    expect(fs.readdirSync(path.join(dir, 'admins-passkeys')).sort()).toEqual(['events.jsonl', 'history.md']);
  });

  it.each([
    { name: 'an unknown --user, with the closest UPN', args: ['--user', 'adm.joni.wilke.0031@contoso.com'], err: 'campaign history: --user adm.joni.wilke.0031@contoso.com: no event of campaign admins-passkeys names this user. Did you mean adm.joni.wilke.0013@contoso.com?\n  Pass a UPN or user object id as the ledger records it.\n' },
    { name: 'a --since that is not a date', args: ['--since', 'yesterday'], err: 'campaign history: --since must be an ISO 8601 date or date-time such as 2026-12-01 or 2026-12-01T06:00:00Z (got "yesterday").\n' },
    { name: '--export with a filter', args: ['--export', '/tmp/x', '--user', 'a@contoso.com'], err: 'campaign history: --export writes the whole ledger, so it cannot be combined with --user or --since.\n  Run the export and the filtered view as two commands.\n' },
  ])('exits 2 on $name', async ({ args, err }) => {
    expect(await history(args)).toEqual({ code: 2, out: '', err });
  });

  it('prints "No events." for a notStarted campaign without a ledger, and names where it looked', async () => {
    const notStarted = path.join(tmp, 'not-started', 'admins-passkeys.yaml');
    fs.mkdirSync(path.dirname(notStarted), { recursive: true });
    fs.writeFileSync(notStarted, fs.readFileSync(campaignFile, 'utf8').replace('status: inProgress', 'status: notStarted'));
    const io = captureIo(process.cwd(), {});
    expect(await run(['history', '--campaign', notStarted, '--state', path.join(tmp, 'none')], io)).toBe(0);
    expect(io.out()).toBe('No events.\n');
    expect(io.err()).toBe(`campaign history: no ledger at ${path.join(tmp, 'none', 'admins-passkeys', 'ledger.jsonl')} yet (admins-passkeys is notStarted).\n`);
  });

  it('exits 2 naming the path it looked in when a started campaign has no ledger there', async () => {
    const io = captureIo(process.cwd(), {});
    expect(await run(['history', '--campaign', campaignFile, '--state', path.join(tmp, 'none')], io)).toBe(2);
    expect(io.out()).toBe('');
    expect(io.err()).toBe(
      `campaign history: campaign admins-passkeys is inProgress in its file, but there is no ledger at ${path.join(tmp, 'none', 'admins-passkeys', 'ledger.jsonl')}: a started campaign must have one.\n` +
        '  Check --state (or CAMPAIGN_STATE): it names the directory or container that holds admins-passkeys/.\n',
    );
  });
});
