// `campaign history --export`: events.jsonl is the ledger's complete lines byte for byte (chain hashes included),
// and history.md shows each run's configuration, linked to the repository with --repository-url.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELP } from '../../src/apps/cli/history';
import { run } from '../../src/apps/cli/main';
import { CHAIN_GENESIS, chainLine } from '../../src/ledger/chain';
import { encodeEvent } from '../../src/ledger/codec';
import { LEDGER_VERSION, type LedgerEvent } from '../../src/ledger/events';
import { FileStore } from '../../src/ledger/file/store';
import { ledgerBytes, writeHistoryExport } from '../../src/report/history';
import { captureIo } from '../helpers/io';

const SHA_A = 'a1b2c3d4e5f6'.padEnd(64, '0');
const SHA_B = 'b1b2c3d4e5f6'.padEnd(64, '7');
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const FILE = 'identity/campaigns/admins-passkeys.yaml';

let tmp: string;
let state: string;
let campaignFile: string;
let ledgerFile: string;
let complete: string;

const at = (day: number) => new Date(Date.UTC(2026, 11, 1 + day, 6)).toISOString();
function runEvents(day: number, extra: Record<string, string>): LedgerEvent[] {
  const runId = `day-${day + 1}`;
  return [
    { v: LEDGER_VERSION, at: at(day), type: 'runStarted', runId, campaign: 'admins-passkeys', status: 'inProgress', ...extra } as LedgerEvent,
    { v: LEDGER_VERSION, at: at(day), type: 'runFinished', runId, ok: true, counts: {} } as LedgerEvent,
  ];
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-history-export-'));
  state = path.join(tmp, 'state');
  campaignFile = path.join(tmp, 'admins-passkeys.yaml');
  fs.writeFileSync(campaignFile, fs.readFileSync('test/fixtures/campaigns/admins-passkeys.yaml', 'utf8').replace('status: notStarted', 'status: inProgress'));
  // A ledger an older version began (no chain, no configuration), continued by chained lines: one run with the
  // campaign file's SHA-256 only, one with its commit too. Then a partial line (an interrupted write).
  const old = runEvents(0, {}).map((e) => `${encodeEvent(e)}\n`).join('');
  // The first chained line follows the SHA-256 of the unchained lines before it (src/ledger/chain.ts).
  let prev = createHash('sha256').update(old).digest('hex');
  expect(prev).not.toBe(CHAIN_GENESIS);
  let chained = '';
  for (const e of [...runEvents(1, { campaignSha256: SHA_A }), ...runEvents(2, { campaignSha256: SHA_B, campaignCommit: COMMIT, campaignFile: FILE })]) {
    const { line, h } = chainLine(prev, encodeEvent(e));
    chained += `${line}\n`;
    prev = h;
  }
  complete = old + chained;
  ledgerFile = path.join(state, 'admins-passkeys', 'ledger.jsonl');
  fs.mkdirSync(path.dirname(ledgerFile), { recursive: true });
  fs.writeFileSync(ledgerFile, `${complete}{"v":1,"at":"2026-12-04T06:00:00.000Z","ty`);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function history(args: string[], env: NodeJS.ProcessEnv = {}) {
  const io = captureIo(process.cwd(), env);
  const code = await run(['history', '--campaign', campaignFile, '--state', state, ...args], io);
  return { code, out: io.out(), err: io.err() };
}

const read = (f: string) => fs.readFileSync(f, 'latin1');

describe('campaign history --export', () => {
  it('copies the ledger\'s complete lines byte for byte, chain hashes included, and shows each run\'s configuration', async () => {
    const dir = path.join(tmp, 'plain');
    const r = await history(['--export', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`wrote 6 events of admins-passkeys to ${path.join(dir, 'admins-passkeys', 'history.md')} and ${path.join(dir, 'admins-passkeys', 'events.jsonl')}\n`);
    expect(r.err).toMatch(/^warning: .*partial/);
    const jsonl = read(path.join(dir, 'admins-passkeys', 'events.jsonl'));
    expect(jsonl).toBe(complete);
    expect(jsonl).toContain(',"h":"');
    const md = fs.readFileSync(path.join(dir, 'admins-passkeys', 'history.md'), 'utf8');
    expect(md).toContain('| Configuration recorded | 2 of 3 runs |');
    expect(md).toContain('| `day-1` | 2026-12-01T06:00:00.000Z | inProgress | not recorded | ok |');
    expect(md).toContain('| `day-2` | 2026-12-02T06:00:00.000Z | inProgress | SHA-256 `a1b2c3d4e5f6` | ok |');
    expect(md).toContain(`| \`day-3\` | 2026-12-03T06:00:00.000Z | inProgress | SHA-256 \`b1b2c3d4e5f6\` · \`${COMMIT}:${FILE}\` | ok |`);
    expect(md).toContain('Configuration: not recorded (written by a version of campaign that did not record it).');
    expect(md).toContain(`Configuration: campaign file SHA-256 \`${SHA_A}\`, commit unknown.`);
    expect(md).toContain(`Configuration: campaign file SHA-256 \`${SHA_B}\` · \`${COMMIT}:${FILE}\`.`);
    expect(md).toContain(`| SHA-256 of events.jsonl | \`${createHash('sha256').update(complete).digest('hex')}\` |`);
  });

  it('links each recorded commit to the campaign file with --repository-url (or CAMPAIGN_REPOSITORY_URL), the same bytes every time', async () => {
    const link = `[0123456789ab](https://github.com/contoso/passkeys/blob/${COMMIT}/${FILE})`;
    const a = path.join(tmp, 'linked-a');
    expect((await history(['--export', a, '--repository-url', 'https://github.com/contoso/passkeys/'])).code).toBe(0);
    const md = read(path.join(a, 'admins-passkeys', 'history.md'));
    const text = fs.readFileSync(path.join(a, 'admins-passkeys', 'history.md'), 'utf8');
    expect(text).toContain(`| inProgress | SHA-256 \`b1b2c3d4e5f6\` · ${link} | ok |`);
    expect(text).toContain(`Configuration: campaign file SHA-256 \`${SHA_B}\` · [${FILE} at 0123456789ab](https://github.com/contoso/passkeys/blob/${COMMIT}/${FILE}).`);
    expect(text).not.toContain(`${COMMIT}:${FILE}`);
    // Again, and from the environment: the same bytes.
    expect((await history(['--export', a, '--repository-url', 'https://github.com/contoso/passkeys'])).code).toBe(0);
    expect(read(path.join(a, 'admins-passkeys', 'history.md'))).toBe(md);
    const b = path.join(tmp, 'linked-b');
    expect((await history(['--export', b], { CAMPAIGN_REPOSITORY_URL: 'https://github.com/contoso/passkeys' })).code).toBe(0);
    expect(read(path.join(b, 'admins-passkeys', 'history.md'))).toBe(md);
    expect(read(path.join(b, 'admins-passkeys', 'events.jsonl'))).toBe(complete);
    // The flag wins over the environment.
    const c = path.join(tmp, 'linked-c');
    expect((await history(['--export', c, '--repository-url', 'https://example.com/git/passkeys'], { CAMPAIGN_REPOSITORY_URL: 'https://github.com/contoso/passkeys' })).code).toBe(0);
    expect(read(path.join(c, 'admins-passkeys', 'history.md'))).toContain(`(https://example.com/git/passkeys/blob/${COMMIT}/${FILE})`);
  });

  it.each([
    { name: 'an http URL', args: ['--repository-url', 'http://github.com/contoso/passkeys'], env: {}, err: 'campaign history: --repository-url http://github.com/contoso/passkeys: must be an https URL (got http).\n' },
    { name: 'a value that is not a URL', args: ['--repository-url', 'github.com/contoso/passkeys'], env: {}, err: 'campaign history: --repository-url github.com/contoso/passkeys: is not a URL.\n' },
    { name: 'a URL with credentials, without echoing them', args: ['--repository-url', 'https://x-token:s3cret@github.com/contoso/passkeys'], env: {}, err: 'campaign history: --repository-url https://***@github.com/contoso/passkeys: must not carry credentials: the export is committed, and anyone who reads it would see them.\n' },
    { name: 'a bad CAMPAIGN_REPOSITORY_URL', args: [], env: { CAMPAIGN_REPOSITORY_URL: 'ftp://example.com/r' }, err: 'campaign history: CAMPAIGN_REPOSITORY_URL=ftp://example.com/r: must be an https URL (got ftp).\n' },
  ])('exits 2 on $name, writing nothing', async ({ args, env, err }) => {
    const dir = path.join(tmp, 'refused');
    const r = await history(['--export', dir, ...args], env);
    expect(r).toEqual({ code: 2, out: '', err: `${err}  Pass the repository's https address, such as https://github.com/contoso/passkey-campaigns.\n` });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('exits 2 on --repository-url without --export', async () => {
    expect(await history(['--repository-url', 'https://github.com/contoso/passkeys'])).toEqual({
      code: 2, out: '', err: 'campaign history: --repository-url only changes the links in the --export files.\n  Add --export DIR, or leave --repository-url out.\n',
    });
  });

  it('documents --repository-url in its help', () => {
    expect(HELP).toMatch(/--repository-url URL {3}with --export: the https address of the repository/);
    expect(HELP).toContain('CAMPAIGN_REPOSITORY_URL');
    expect(HELP).toContain('events.jsonl is the ledger itself, every line byte for byte');
  });
});

describe('the export\'s copy of the ledger', () => {
  const events = runEvents(0, {});
  const lines = events.map((e) => `${encodeEvent(e)}\n`);

  it('stops at the line the events read end at: lines appended since wait for the next export', async () => {
    const dir = path.join(tmp, 'appended');
    const appended = `${encodeEvent(runEvents(5, {})[0])}\n`;
    // One piece holding the two lines read and one appended after the read.
    const files = await writeHistoryExport(dir, 'admins-passkeys', events, async (onPiece) => {
      await onPiece(Buffer.from(lines.join('') + appended));
      return { lines: 3, bytes: 0, partialBytes: 0 };
    });
    expect(read(files.jsonl)).toBe(lines.join(''));
    expect(fs.readFileSync(files.markdown, 'utf8')).toContain(`| SHA-256 of events.jsonl | \`${createHash('sha256').update(lines.join('')).digest('hex')}\` |`);
  });

  it('writes nothing when the ledger holds fewer lines than the events read (replaced meanwhile)', async () => {
    const dir = path.join(tmp, 'replaced');
    const failed = await writeHistoryExport(dir, 'admins-passkeys', events, async (onPiece) => {
      await onPiece(Buffer.from(lines[0]));
      return { lines: 1, bytes: 0, partialBytes: 0 };
    }).then(() => null, (e: unknown) => e as Error);
    expect(failed?.message).toMatch(/the ledger holds fewer lines \(1\) than the 2 events read a moment before/);
    expect(fs.readdirSync(path.join(dir, 'admins-passkeys'))).toEqual([]);
  });

  it('reads a file ledger larger than one read in pieces that end at line ends, leaving out a partial last line', async () => {
    const dir = path.join(tmp, 'large');
    const store = new FileStore({ dir });
    const file = store.ledgerFile('admins-passkeys');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Short lines, and one line longer than a read (1 MiB).
    const body = Array.from({ length: 30_000 }, (_, i) => `{"v":1,"at":"2026-12-01T06:00:00.000Z","type":"note","n":${i},"pad":"${'x'.repeat(i === 15_000 ? 1_500_000 : i % 97)}"}\n`).join('');
    fs.writeFileSync(file, `${body}{"v":1,"at"`);
    expect(body.length).toBeGreaterThan(3 * (1 << 20));
    const pieces: Buffer[] = [];
    const r = await ledgerBytes(store, 'admins-passkeys')((p) => void pieces.push(Buffer.from(p)));
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(p[p.length - 1]).toBe(0x0a);
    expect(Buffer.concat(pieces).toString('latin1')).toBe(body);
    expect(r).toEqual({ lines: 30_000, bytes: body.length, partialBytes: '{"v":1,"at"'.length });
    expect(await ledgerBytes(store, 'no-ledger')(() => undefined)).toEqual({ lines: 0, bytes: 0, partialBytes: 0 });
  });
});
