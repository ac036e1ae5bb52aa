// `campaign verify` through the CLI: exit status, the text and JSON output, usage errors. Ledgers are built with
// chainLine() in scratch state directories; campaign files are committed in a scratch git repository.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/apps/cli/main';
import { FileStore } from '../../src/ledger/file/store';
import { captureIo } from '../helpers/io';
import { CAMPAIGN, campaignRepo, campaignText, ledgerFile, ledgerLines, ledgerText, runBodies, sha256, writeLedger, type CampaignRepo } from '../audit/fixture';

let tmp: string;
let repo: CampaignRepo;
let n = 0;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-verify-'));
  repo = campaignRepo(path.join(tmp, 'repo'), ['v1', 'v2']);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function verify(args: string[]) {
  const io = captureIo(tmp, {});
  const code = await run(['verify', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

/** A state directory holding `lines` as the ledger. */
function state(lines: readonly string[]): string {
  const dir = path.join(tmp, `state-${++n}`);
  writeLedger(dir, lines);
  return dir;
}

/** Three runs: one from an older version (nothing recorded), one by hash, one by commit. 9 lines. */
function recordedBodies(): string[] {
  const [v1, v2] = repo.versions;
  return runBodies([null, { campaignSha256: v1.sha256 }, { campaignSha256: v2.sha256, campaignCommit: v2.commit, campaignFile: repo.rel }]);
}

describe('campaign verify', () => {
  it('says every check passed for an untouched ledger, one line per check, exit 0', async () => {
    const dir = state(ledgerLines(recordedBodies()));
    const r = await verify(['--campaign', repo.file, '--state', dir]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe([
      `campaign verify ${CAMPAIGN}: ${ledgerFile(dir)}, 9 lines`,
      '  chain         ok: lines 1–9 are chained',
      '  checkpoint    none in the state store',
      '  export        not checked (no --export)',
      '  configuration ok: 3 runs; git holds the campaign file each of the 2 that recorded one used; 1 recorded none (written by an older version of campaign)',
      `intact: the ledger of ${CAMPAIGN} is as its runs wrote it.`,
      '',
    ].join('\n'));
  });

  it('prints the documented JSON object with --json', async () => {
    const dir = state(ledgerLines(recordedBodies()));
    const exportDir = path.join(tmp, 'audit-json');
    fs.mkdirSync(path.join(exportDir, CAMPAIGN), { recursive: true });
    fs.writeFileSync(path.join(exportDir, CAMPAIGN, 'events.jsonl'), ledgerText(ledgerLines(recordedBodies()).slice(0, 3)));
    const r = await verify(['--campaign', repo.file, '--state', dir, '--export', exportDir, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      campaign: CAMPAIGN,
      ledger: ledgerFile(dir),
      intact: true,
      lines: 9,
      chain: { startsAt: 1, unchainedLines: 0 },
      runs: { total: 3, configurationChecked: 2, configurationUnrecorded: 1 },
      export: { dir: exportDir, lines: 3, prefix: true },
      broken: null,
      warnings: [],
    });
  });

  const tampered: Array<[string, (lines: string[]) => void, number]> = [
    ['an edited middle line', (l) => void (l[4] = l[4].replace('announced', 'enforced')), 5],
    ['a deleted middle line', (l) => void l.splice(4, 1), 5],
    ['two reordered middle lines', (l) => void ([l[4], l[5]] = [l[5], l[4]]), 5],
  ];
  it.each(tampered)('names the line of %s, says what to do next, exit 1', async (_, change, line) => {
    const lines = ledgerLines(recordedBodies());
    change(lines);
    const dir = state(lines);
    const r = await verify(['--campaign', repo.file, '--state', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`  chain         BROKEN at line ${line}\n`);
    expect(r.out).toMatch(new RegExp(`\\nBROKEN: ${ledgerFile(dir).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}: its chain hash does not match`));
    expect(r.out).toContain('Keep a copy of it as it is now');
    expect(r.out).toContain(`git log -p -- audit/${CAMPAIGN}/events.jsonl`);
    const json = JSON.parse((await verify(['--campaign', repo.file, '--state', dir, '--json'])).out);
    expect(json).toMatchObject({ intact: false, broken: { source: 'ledger', line } });
  });

  it('accepts a ledger an older version began, and says where the chain begins', async () => {
    const r = await verify(['--campaign', repo.file, '--state', state(ledgerLines(recordedBodies(), 3))]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('  chain         ok: the chain begins at line 4; lines 1–3, written before it existed, are covered as a block by line 4\n');
  });

  it('breaks at the first chained line when a line before the chain was edited', async () => {
    const lines = ledgerLines(recordedBodies(), 3);
    lines[1] = lines[1].replace('announced', 'enforced');
    const dir = state(lines);
    const r = await verify(['--campaign', repo.file, '--state', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`BROKEN: ${ledgerFile(dir)}:4: its chain hash does not match: this line, or one of lines 1–3 written before the chain began, was edited`);
  });

  it('names the line where the ledger leaves the export, and a ledger shorter than its export', async () => {
    const lines = ledgerLines(recordedBodies());
    const exportDir = path.join(tmp, 'audit-diff');
    fs.mkdirSync(path.join(exportDir, CAMPAIGN), { recursive: true });
    const exported = lines.slice(0, 7);
    exported[5] = exported[5].replace('"ok":true', '"ok":false');
    fs.writeFileSync(path.join(exportDir, CAMPAIGN, 'events.jsonl'), ledgerText(exported));
    const dir = state(lines);
    const r = await verify(['--campaign', repo.file, '--state', dir, '--export', exportDir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`  export        BROKEN at line 6: ${path.join(exportDir, CAMPAIGN, 'events.jsonl')} is not a prefix of the ledger\n`);
    expect(r.out).toContain(`BROKEN: ${ledgerFile(dir)}:6: line 6 differs from line 6 of the export`);
    expect(r.out).toContain('The export committed in git is the reference');

    fs.writeFileSync(path.join(exportDir, CAMPAIGN, 'events.jsonl'), ledgerText(lines));
    const shorter = await verify(['--campaign', repo.file, '--state', state(lines.slice(0, 8)), '--export', exportDir, '--json']);
    expect(shorter.code).toBe(1);
    expect(JSON.parse(shorter.out)).toMatchObject({ export: { lines: 9, prefix: false }, broken: { source: 'export', line: 9, message: expect.stringContaining('has 9 lines but the ledger only 8') } });
  });

  it("checks the last run's checkpoint: a ledger rewritten with a new chain is broken where the checkpoint ends", async () => {
    const lines = ledgerLines(recordedBodies());
    const head = ledgerText(lines.slice(0, 6));
    const mark = { events: 6, bytes: Buffer.byteLength(head), sha256: sha256(head) };
    const dir = state(lines);
    await new FileStore({ dir }).writeSnapshot(CAMPAIGN, 'checkpoint', { format: 'campaign-ledger-checkpoint', v: 1, ledger: mark });
    const ok = await verify(['--campaign', repo.file, '--state', dir]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("  checkpoint    ok: the ledger still starts with the 6 lines the last run's checkpoint hashed\n");

    const bodies = recordedBodies();
    bodies[1] = bodies[1].replace('announced', 'enforced');
    writeLedger(dir, ledgerLines(bodies));
    const r = await verify(['--campaign', repo.file, '--state', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('  chain         ok: lines 1–9 are chained\n');
    expect(r.out).toContain(`BROKEN: ${ledgerFile(dir)}:6: the last run's checkpoint recorded that the ledger's first 6 lines (${mark.bytes} bytes) end here, but the ledger no longer starts with those bytes`);
  });

  it('names the runStarted line of a run whose campaign file matches no version in git', async () => {
    const bodies = recordedBodies();
    bodies[3] = bodies[3].replace(repo.versions[0].sha256, sha256(campaignText('never committed')));
    const dir = state(ledgerLines(bodies));
    const r = await verify(['--campaign', repo.file, '--state', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('  configuration BROKEN at line 4: 3 runs, 2 recorded their campaign file; 1 recorded none');
    expect(r.out).toMatch(/\nBROKEN: .*ledger\.jsonl:4: run day-02 used a campaign file with SHA-256 [0-9a-f]{12}…, which matches no version of campaigns\/admins-passkeys\.yaml in the history of HEAD/);
    expect(r.out).toContain('(git log -- <campaign file>)');
  });

  it('names a run whose campaign file differs at the commit it recorded', async () => {
    const [v1, v2] = repo.versions;
    const dir = state(ledgerLines(runBodies([{ campaignSha256: v2.sha256, campaignCommit: v1.commit, campaignFile: repo.rel }])));
    const r = await verify(['--campaign', repo.file, '--state', dir, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).broken).toEqual({ source: 'configuration', line: 1, message: expect.stringContaining(`at commit ${v1.commit.slice(0, 12)} has SHA-256`) });
  });

  it('exits 2 for a campaign file outside git when runs recorded their configuration', async () => {
    const outside = path.join(tmp, 'outside', `${CAMPAIGN}.yaml`);
    fs.mkdirSync(path.dirname(outside), { recursive: true });
    fs.writeFileSync(outside, campaignText('v1'));
    const r = await verify(['--campaign', outside, '--state', state(ledgerLines(recordedBodies()))]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`campaign verify: ${outside} is not inside a git repository, so the campaign configurations its runs recorded cannot be checked.\n` +
      "  campaign verify needs a clone of the campaigns repository with the campaign file's full history: run it there (in a workflow: actions/checkout with fetch-depth: 0).\n");
  });

  it('exits 2 for another campaign\'s ledger and for a started campaign without a ledger', async () => {
    const other = await verify(['--campaign', repo.file, '--state', state(ledgerLines(runBodies([null], 'all-staff-passkeys')))]);
    expect(other.code).toBe(2);
    expect(other.err).toContain('belongs to campaign all-staff-passkeys, not admins-passkeys');
    const none = await verify(['--campaign', repo.file, '--state', path.join(tmp, 'empty-state')]);
    expect(none.code).toBe(2);
    expect(none.err).toContain('there is no ledger at');
  });

  it('exits 2 for a ledger a newer version of campaign wrote', async () => {
    const bodies = recordedBodies();
    bodies[3] = bodies[3].replace('"v":1', '"v":2');
    const dir = state(ledgerLines(bodies));
    const r = await verify(['--campaign', repo.file, '--state', dir]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`campaign verify: ${ledgerFile(dir)}:4: event schema version 2 was written by a newer version of campaign (this one reads up to version 1). Upgrade campaign before reading or writing this ledger.\n`);
  });

  const bad: Array<[string, string[], string]> = [
    ['without --campaign', [], 'campaign verify: --campaign is required.\n  Run "campaign verify --help" for the usage.\n'],
    ['with a misspelt flag', ['--campaign', 'x.yaml', '--exprot', 'audit'], 'campaign verify: unknown option --exprot. Did you mean --export?\n  Run "campaign verify --help" for the options.\n'],
    ['with a positional argument', ['--campaign', 'x.yaml', 'extra'], 'campaign verify: unexpected argument "extra".\n  Run "campaign verify --help" for the usage.\n'],
    ['with an empty --export', ['--campaign', 'x.yaml', '--export', ''], 'campaign verify: --export needs a directory (the one `campaign history --export` wrote to).\n  Run "campaign verify --help" for the usage.\n'],
    ['with --export naming a file', ['--campaign', 'REPO_FILE', '--export', '/etc/passwd'], 'campaign verify: --export /etc/passwd: not a directory (ENOTDIR, stat). Pass the directory campaign history --export wrote to (none there yet is fine).\n'],
    ['with a campaign file that does not exist', ['--campaign', 'missing.yaml'], 'campaign verify: --campaign missing.yaml: no such file.\n'],
  ];
  it.each(bad)('exits 2 %s, one clear message', async (_, args, err) => {
    const r = await verify(args.map((a) => (a === 'REPO_FILE' ? repo.file : a)));
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(err);
  });

  it('explains itself with --help and is listed by campaign --help', async () => {
    const r = await verify(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: campaign verify --campaign NAME\|FILE \[--state DIR\] \[--export DIR\] \[--json\]/);
    expect(r.out).toContain('Exit status: 0 intact, 1 broken');
    const io = captureIo(tmp, {});
    expect(await run(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/\n {2}verify +check that the ledger is as its runs wrote it/);
  });
});
