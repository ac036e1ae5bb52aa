import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitConfigurationCheck, type ConfigurationCheck } from '../../src/audit/git-history';
import { rawReaderOf, readCheckpointMark, verifyLedger, type VerifyInput } from '../../src/audit/verify';
import { UsageError } from '../../src/errors';
import { chainLine } from '../../src/ledger/chain';
import { FileStore } from '../../src/ledger/file/store';
import { CHECKPOINT_SNAPSHOT } from '../../src/reconcile/checkpoint';
import { CAMPAIGN, campaignRepo, campaignText, git, ledgerFile, ledgerLines, ledgerText, runBodies, sha256, writeLedger, type CampaignRepo } from './fixture';

let tmp: string;
let repo: CampaignRepo;
let n = 0;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-verify-'));
  repo = campaignRepo(path.join(tmp, 'repo'), ['v1', 'v2', 'v3']);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const noRuns: ConfigurationCheck = () => [];

/** A fresh state directory holding `lines` as the campaign's ledger. */
function state(lines: readonly string[] | string): string {
  const dir = path.join(tmp, `state-${++n}`);
  if (typeof lines === 'string') {
    fs.mkdirSync(path.dirname(ledgerFile(dir)), { recursive: true });
    fs.writeFileSync(ledgerFile(dir), lines);
  } else writeLedger(dir, lines);
  return dir;
}

/** The store's readRaw, its pieces cut again into pieces of whole lines of about `size` bytes (one line at least). */
function readInPieces(store: FileStore, size: number): VerifyInput['readRaw'] {
  return (campaign, onPiece) =>
    store.readRaw(campaign, async (piece) => {
      let start = 0;
      while (start < piece.length) {
        let end = piece.indexOf(0x0a, Math.min(piece.length - 1, start + size - 1)) + 1;
        if (end === 0) end = piece.length;
        await onPiece(piece.subarray(start, end));
        start = end;
      }
    });
}

/** verifyLedger over a file-store state directory; `piece` bytes at a time when given (pieces of whole lines). */
async function verify(dir: string, opts: Partial<VerifyInput> & { piece?: number } = {}) {
  const store = new FileStore({ dir });
  const { piece, ...rest } = opts;
  return verifyLedger({
    campaign: CAMPAIGN,
    location: store.location(CAMPAIGN),
    readRaw: piece ? readInPieces(store, piece) : rawReaderOf(store),
    checkpoint: null,
    configuration: noRuns,
    ...rest,
  });
}

const bodies = runBodies([null, null, null, null]); // 12 lines

describe('verify: the chain', () => {
  it('finds an untouched chained ledger intact, in whole reads and in small pieces', async () => {
    const dir = state(ledgerLines(bodies));
    for (const piece of [undefined, 1, 50, 333]) {
      const { report } = await verify(dir, { piece });
      expect(report).toMatchObject({ intact: true, lines: 12, chain: { startsAt: 1, unchainedLines: 0 }, broken: null, warnings: [], export: null });
      expect(report.runs).toEqual({ total: 4, configurationChecked: 0, configurationUnrecorded: 4 });
    }
  });

  it('names an edited middle line', async () => {
    const lines = ledgerLines(bodies);
    lines[5] = lines[5].replace('"ok":true', '"ok":false');
    const { report } = await verify(state(lines));
    expect(report.intact).toBe(false);
    expect(report.broken).toEqual({ source: 'ledger', line: 6, message: expect.stringContaining('this line was edited') });
  });

  it('names the line where a middle line was deleted', async () => {
    const lines = ledgerLines(bodies);
    lines.splice(6, 1);
    const { report } = await verify(state(lines), { piece: 40 });
    expect(report.lines).toBe(11);
    expect(report.broken).toMatchObject({ source: 'ledger', line: 7 });
    expect(report.broken!.message).toMatch(/removed, inserted or reordered/);
  });

  it('names the first of two reordered lines', async () => {
    const lines = ledgerLines(bodies);
    [lines[3], lines[4]] = [lines[4], lines[3]];
    const { report } = await verify(state(lines));
    expect(report.broken).toMatchObject({ source: 'ledger', line: 4 });
  });

  it('accepts an older ledger continued with a chain, and says where the chain begins', async () => {
    const { report } = await verify(state(ledgerLines(bodies, 5)));
    expect(report).toMatchObject({ intact: true, lines: 12, chain: { startsAt: 6, unchainedLines: 5 }, broken: null, warnings: [] });
  });

  it('breaks at the first chained line when a line written before the chain was edited', async () => {
    const lines = ledgerLines(bodies, 5);
    lines[2] = lines[2].replace('"ok":true', '"ok":false');
    const { report } = await verify(state(lines));
    expect(report.broken).toMatchObject({ source: 'ledger', line: 6 });
    expect(report.broken!.message).toContain('one of lines 1–5 written before the chain began');
  });

  it('warns about a ledger without any chain hash, and about a partial last line, without calling either broken', async () => {
    const text = ledgerText(bodies.slice(0, 6)) + bodies[6].slice(0, 20);
    const { report } = await verify(state(text), { piece: 64 });
    expect(report).toMatchObject({ intact: true, lines: 6, chain: { startsAt: null, unchainedLines: 6 } });
    expect(report.warnings).toEqual([
      'the ledger ends with a partial line (20 bytes, most likely an interrupted write) after line 6: it was not checked; the next run moves it aside.',
      "none of the ledger's 6 lines carries a chain hash (all were written by an older version of campaign): the chain begins with the next run's first line, which covers them as a block.",
    ]);
  });

  it('finds a missing ledger empty and intact', async () => {
    const { report } = await verify(path.join(tmp, 'nowhere'));
    expect(report).toMatchObject({ intact: true, lines: 0, chain: { startsAt: null, unchainedLines: 0 }, warnings: [] });
  });
});

describe('verify: the checkpoint mark', () => {
  const lines = ledgerLines(bodies);
  const markOf = (upTo: number) => {
    const text = ledgerText(lines.slice(0, upTo));
    return { events: upTo, bytes: Buffer.byteLength(text), sha256: sha256(text) };
  };

  it('is satisfied by a ledger that still starts with the bytes it hashed (read in pieces of any size)', async () => {
    const dir = state(lines);
    for (const piece of [undefined, 7, 100]) {
      const { report, details } = await verify(dir, { checkpoint: markOf(8), piece });
      expect(report.intact).toBe(true);
      expect(details.checkpoint).toEqual({ events: 8, bytes: markOf(8).bytes, problem: null });
    }
  });

  it('catches a rewritten ledger whose chain was computed again, naming the line where the mark ends', async () => {
    const rewritten = bodies.slice();
    rewritten[4] = rewritten[4].replace('announced', 'enforced');
    const { report } = await verify(state(ledgerLines(rewritten)), { checkpoint: markOf(8) });
    expect(report.broken).toEqual({ source: 'ledger', line: 8, message: expect.stringContaining('one of lines 1–8 was edited, removed, inserted or reordered, and the chain hashes were computed again to hide it') });
  });

  it('catches a ledger cut below the mark', async () => {
    const { report } = await verify(state(lines.slice(0, 6)), { checkpoint: markOf(8) });
    expect(report.broken).toMatchObject({ source: 'ledger', line: 8 });
    expect(report.broken!.message).toMatch(/now has only \d+ bytes \(6 lines\): lines were removed from its end/);
  });

  it('reads the mark from the store, and warns about a checkpoint of another shape', async () => {
    const dir = state(lines);
    const store = new FileStore({ dir });
    const warnings: string[] = [];
    expect(await readCheckpointMark(store, CAMPAIGN, warnings)).toBeNull();
    await store.writeSnapshot(CAMPAIGN, CHECKPOINT_SNAPSHOT, { format: 'campaign-ledger-checkpoint', v: 1, ledger: markOf(3) });
    expect(await readCheckpointMark(store, CAMPAIGN, warnings)).toEqual(markOf(3));
    await store.writeSnapshot(CAMPAIGN, CHECKPOINT_SNAPSHOT, { format: 'something else' });
    expect(await readCheckpointMark(store, CAMPAIGN, warnings)).toBeNull();
    expect(warnings).toEqual(['the checkpoint snapshot has no ledger mark this build reads (another format): the ledger was checked without it.']);
  });
});

describe('verify: the audit export', () => {
  const lines = ledgerLines(bodies);

  function exportDir(content: string | null, history?: string): string {
    const dir = path.join(tmp, `export-${++n}`);
    fs.mkdirSync(path.join(dir, CAMPAIGN), { recursive: true });
    if (content !== null) fs.writeFileSync(path.join(dir, CAMPAIGN, 'events.jsonl'), content);
    if (history !== undefined) fs.writeFileSync(path.join(dir, CAMPAIGN, 'history.md'), history);
    return dir;
  }
  const historyFor = (content: string) => `# Audit history\n\n| | |\n|---|---|\n| SHA-256 of events.jsonl | \`${sha256(content)}\` |\n`;

  it('accepts an export that is a prefix of the ledger, whole or in pieces, with a history.md that records its hash', async () => {
    const content = ledgerText(lines.slice(0, 7));
    const dir = exportDir(content, historyFor(content));
    const ledger = state(lines);
    for (const piece of [undefined, 30, 500]) {
      const { report, details } = await verify(ledger, { exportDir: dir, piece });
      expect(report.intact).toBe(true);
      expect(report.export).toEqual({ dir, lines: 7, prefix: true });
      expect(details.export?.history).toBe('ok');
    }
    // The export of the whole ledger too.
    expect((await verify(ledger, { exportDir: exportDir(ledgerText(lines)) })).report.export).toEqual({ dir: expect.any(String), lines: 12, prefix: true });
  });

  it('accepts a missing export (the first one)', async () => {
    const dir = path.join(tmp, 'no-export-yet');
    const { report } = await verify(state(lines), { exportDir: dir });
    expect(report.export).toEqual({ dir, lines: 0, prefix: true });
    expect(report.intact).toBe(true);
  });

  it('names the first line where the ledger differs from the export', async () => {
    const changed = lines.slice(0, 9);
    changed[7] = changed[7].replace('user2', 'user9');
    expect(changed[7]).not.toBe(lines[7]);
    for (const piece of [undefined, 45]) {
      const { report } = await verify(state(lines), { exportDir: exportDir(ledgerText(changed)), piece });
      expect(report.export).toMatchObject({ lines: 9, prefix: false });
      expect(report.broken).toEqual({ source: 'export', line: 8, message: expect.stringMatching(/^line 8 differs from line 8 of the export .*events\.jsonl: the ledger's line was changed after the export was written/) });
    }
  });

  it('says the ledger is shorter than the export when lines were removed from its end', async () => {
    const { report } = await verify(state(lines.slice(0, 9)), { exportDir: exportDir(ledgerText(lines)) });
    expect(report.export).toMatchObject({ lines: 12, prefix: false });
    expect(report.broken).toEqual({ source: 'export', line: 10, message: expect.stringMatching(/has 12 lines but the ledger only 9: export lines 10–12 are missing from the ledger \(removed from its end/) });
  });

  it('names a line the export has only in part', async () => {
    const cut = ledgerText(lines.slice(0, 4)) + lines[4].slice(0, 30);
    const { report } = await verify(state(lines), { exportDir: exportDir(cut) });
    expect(report.export).toMatchObject({ lines: 5, prefix: false });
    expect(report.broken).toMatchObject({ source: 'export', line: 5, message: expect.stringContaining('is cut short') });
  });

  it('reports a history.md whose hash is not that of events.jsonl, as the export as a whole (line 0)', async () => {
    const content = ledgerText(lines.slice(0, 7));
    const { report } = await verify(state(lines), { exportDir: exportDir(content, historyFor(content + 'x')) });
    expect(report.broken).toEqual({ source: 'export', line: 0, message: expect.stringMatching(/history\.md records SHA-256 [0-9a-f]{12}… for events\.jsonl, but .* has SHA-256 [0-9a-f]{12}…/) });
  });

  it('reports the first problem in line order: an edited line before an export difference', async () => {
    const edited = lines.slice();
    edited[2] = edited[2].replace('"ok":true', '"ok":false');
    const { report, details } = await verify(state(edited), { exportDir: exportDir(ledgerText(lines.slice(0, 5))) });
    expect(report.broken).toMatchObject({ source: 'ledger', line: 3 });
    expect(details.export?.problem?.line).toBe(3);
  });
});

describe('verify: the recorded configurations against git', () => {
  const check = () => gitConfigurationCheck(repo.file);

  it('confirms runs whose file hash is some version in the history, or the file at the commit they name', async () => {
    const [v1, v2, v3] = repo.versions;
    const runs = runBodies([null, { campaignSha256: v1.sha256 }, { campaignSha256: v3.sha256, campaignCommit: v3.commit, campaignFile: repo.rel }, { campaignSha256: v2.sha256 }]);
    const { report } = await verify(state(ledgerLines(runs)), { configuration: check() });
    expect(report.intact).toBe(true);
    expect(report.runs).toEqual({ total: 4, configurationChecked: 3, configurationUnrecorded: 1 });
  });

  it('names the runStarted line of a run whose hash matches no version', async () => {
    const runs = runBodies([{ campaignSha256: repo.versions[0].sha256 }, { campaignSha256: sha256('edited outside git') }]);
    const { report } = await verify(state(ledgerLines(runs)), { configuration: check() });
    expect(report.broken).toEqual({ source: 'configuration', line: 4, message: expect.stringMatching(/^run day-02 used a campaign file with SHA-256 [0-9a-f]{12}…, which matches no version of campaigns\/admins-passkeys\.yaml in the history of HEAD \(3 versions checked\)/) });
  });

  it('names a run whose file differs at the commit it names, or is not there', async () => {
    const [v1, v2] = repo.versions;
    const runs = runBodies([{ campaignSha256: v2.sha256, campaignCommit: v1.commit, campaignFile: repo.rel }, { campaignSha256: v2.sha256, campaignCommit: v2.commit, campaignFile: 'campaigns/other.yaml' }]);
    const { details, report } = await verify(state(ledgerLines(runs)), { configuration: check() });
    expect(report.broken).toMatchObject({ source: 'configuration', line: 1, message: expect.stringContaining(`but campaigns/admins-passkeys.yaml at commit ${v1.commit.slice(0, 12)} has SHA-256`) });
    expect(details.configurationProblems[1]).toEqual({ line: 4, message: `run day-02 says it used campaigns/other.yaml at commit ${v2.commit.slice(0, 12)}, but that commit has no such file` });
  });

  it('names a run whose recorded fields are not a hash, a commit or a path in the repository', () => {
    const [v1] = repo.versions;
    const problems = check()([
      { line: 1, runId: 'a', sha256: 'abc', commit: v1.commit, file: repo.rel },
      { line: 4, runId: 'b', sha256: v1.sha256, commit: 'main', file: repo.rel },
      { line: 7, runId: 'c', sha256: v1.sha256, commit: v1.commit, file: `${repo.rel}\nHEAD:${repo.rel}` },
      { line: 10, runId: 'd', sha256: 'ABC' },
    ]);
    expect(problems.map((p) => [p.line, p.message])).toEqual([
      [1, 'run a recorded its configuration wrongly: its campaignSha256 "abc" is not 64 lowercase hex digits'],
      [4, 'run b recorded its configuration wrongly: its campaignCommit "main" is not a commit id (40 hex digits)'],
      [7, `run c recorded its configuration wrongly: its campaignFile "${repo.rel}\nHEAD:${repo.rel}" is not a path inside the repository`],
      [10, 'run d recorded its configuration wrongly: its campaignSha256 "ABC" is not 64 lowercase hex digits'],
    ]);
  });

  it('refuses (a usage error) a commit the clone does not have, rather than calling it tampering', () => {
    const run = { line: 1, runId: 'r', sha256: repo.versions[0].sha256, commit: 'f'.repeat(40), file: repo.rel };
    expect(() => check()([run])).toThrow(UsageError);
    expect(() => check()([run])).toThrow(/at commit f{40}, which this clone .* does not have/);
  });

  it('needs a git repository only when a run recorded its configuration', () => {
    const outside = path.join(tmp, 'outside', `${CAMPAIGN}.yaml`);
    fs.mkdirSync(path.dirname(outside), { recursive: true });
    fs.writeFileSync(outside, 'x');
    expect(gitConfigurationCheck(outside)([])).toEqual([]);
    let err: unknown;
    try {
      gitConfigurationCheck(outside)([{ line: 1, runId: 'r', sha256: sha256('x') }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain('is not inside a git repository');
    expect((err as UsageError).hint).toContain("with the campaign file's full history");
  });

  it('in a shallow clone, says the version may be in the missing history instead of claiming tampering', () => {
    const clone = path.join(tmp, 'shallow');
    git(tmp, 'clone', '-q', '--depth', '1', `file://${repo.root}`, clone);
    const file = path.join(clone, repo.rel);
    // The newest version is in the clone; the oldest only in the history it lacks.
    expect(gitConfigurationCheck(file)([{ line: 1, runId: 'r3', sha256: repo.versions[2].sha256 }])).toEqual([]);
    expect(() => gitConfigurationCheck(file)([{ line: 4, runId: 'r1', sha256: repo.versions[0].sha256 }])).toThrow(/line 4: run r1 .* the clone is shallow/);
    try {
      gitConfigurationCheck(file)([{ line: 4, runId: 'r1', sha256: repo.versions[0].sha256 }]);
    } catch (e) {
      expect((e as UsageError).hint).toContain('fetch-depth: 0');
    }
  });

  it('follows the campaign file across a rename', () => {
    const dir = path.join(tmp, 'renamed');
    const r = campaignRepo(dir, ['a', 'b']);
    git(dir, 'mv', r.rel, 'campaigns/admins.yaml');
    git(dir, 'commit', '-q', '-m', 'rename');
    expect(gitConfigurationCheck(path.join(dir, 'campaigns/admins.yaml'))([{ line: 1, runId: 'r', sha256: r.versions[0].sha256 }])).toEqual([]);
  });

  it('knows the version a merge made when it resolved a conflict in the campaign file', () => {
    const dir = path.join(tmp, 'merged');
    const r = campaignRepo(dir, ['base']);
    git(dir, 'checkout', '-q', '-b', 'change');
    fs.writeFileSync(r.file, campaignText('on the branch'));
    git(dir, 'commit', '-q', '-am', 'branch');
    git(dir, 'checkout', '-q', 'main');
    fs.writeFileSync(r.file, campaignText('on main'));
    git(dir, 'commit', '-q', '-am', 'main');
    try {
      git(dir, 'merge', '-q', 'change', '-m', 'merge');
    } catch {
      // The conflict, resolved by hand: a version neither parent has.
    }
    const resolved = campaignText('resolved');
    fs.writeFileSync(r.file, resolved);
    git(dir, 'commit', '-q', '-am', 'merge');
    expect(gitConfigurationCheck(r.file)([{ line: 1, runId: 'r', sha256: sha256(resolved) }])).toEqual([]);
  });

  it('names a runStarted line that is not a valid event', async () => {
    const lines = ledgerLines(bodies);
    lines[3] = chainLine(chainLine('0'.repeat(64), '{}').h, '{"v":1,"type":"runStarted","at":"x"').line;
    const { report, details } = await verify(state(lines));
    expect(details.eventProblem).toEqual({ line: 4, message: expect.stringMatching(/^it is not a valid ledger event \(not valid JSON: /) });
    expect(report.broken).toMatchObject({ source: 'ledger', line: 4 });
  });
});

describe('verify: reading the ledger', () => {
  it("uses the store's own readRaw when it has one", async () => {
    const dir = state(ledgerLines(bodies));
    const file = new FileStore({ dir });
    const asked: string[] = [];
    const store = Object.assign(Object.create(file) as FileStore, {
      readRaw: async (campaign: string, onPiece: (b: Buffer) => void | Promise<void>) => {
        asked.push(campaign);
        return readInPieces(file, 10)(campaign, onPiece);
      },
    });
    const { report } = await verifyLedger({ campaign: CAMPAIGN, location: 'x', readRaw: rawReaderOf(store), checkpoint: null, configuration: noRuns });
    expect(asked).toEqual([CAMPAIGN]);
    expect(report).toMatchObject({ intact: true, lines: 12 });
  });

});
