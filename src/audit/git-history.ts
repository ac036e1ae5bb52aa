// The configuration side of `campaign verify`: is the campaign file a run recorded (its SHA-256, and the commit it
// came from when known) really a version of that file in git? Reads the repository that holds the campaign file
// with `git log` and one `git cat-file --batch`; never writes to it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeError, UsageError } from '../errors';

/** A runStarted line that recorded its configuration. */
export interface RecordedRun {
  /** 1-based ledger line of the runStarted event. */
  line: number;
  runId: string;
  sha256: string;
  commit?: string;
  /** Repository-relative path at `commit`, forward slashes. */
  file?: string;
}

/** A recorded configuration git does not confirm. */
export interface ConfigurationProblem {
  line: number;
  message: string;
}

/** Checks recorded runs against a history of the campaign file; throws UsageError when it cannot check at all. */
export type ConfigurationCheck = (runs: readonly RecordedRun[]) => ConfigurationProblem[];

const SHA256_HEX = /^[0-9a-f]{64}$/;
const COMMIT_HEX = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const FETCH_ALL = 'In a workflow, check out with actions/checkout and fetch-depth: 0; in a clone, run "git fetch --unshallow" (or "git fetch origin" for a branch you lack).';

function git(cwd: string, args: string[], input?: string): { status: number; stdout: Buffer; stderr: string } {
  const r = spawnSync('git', args, { cwd, input, maxBuffer: 1024 * 1024 * 1024 });
  if (r.error) throw new UsageError(`cannot run git: ${r.error.message}`, 'campaign verify checks the recorded configurations against git: install git and run it from a clone of the campaigns repository.');
  return { status: r.status ?? 1, stdout: r.stdout, stderr: String(r.stderr ?? '').trim() };
}

/** The objects named by `specs` (`<commit>:<path>`, a blob id…) with one git process; null for a missing one. */
export function catFileBatch(root: string, specs: readonly string[]): Array<Buffer | null> {
  if (specs.length === 0) return [];
  const r = git(root, ['cat-file', '--batch'], specs.join('\n') + '\n');
  if (r.status !== 0) throw new RuntimeError(`git cat-file in ${root} failed: ${r.stderr || `exit status ${r.status}`}`);
  const buf = r.stdout;
  const out: Array<Buffer | null> = [];
  let at = 0;
  for (let i = 0; i < specs.length; i++) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) throw new RuntimeError(`git cat-file in ${root} stopped early (after ${i} of ${specs.length} objects).`);
    const header = buf.subarray(at, nl).toString('utf8');
    at = nl + 1;
    // "<spec> missing", "<spec> ambiguous" and the like: one line, no content.
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) {
      out.push(null);
      continue;
    }
    const len = Number(m[2]);
    out.push(m[1] === 'blob' ? buf.subarray(at, at + len) : null);
    at += len + 1; // the content is followed by a newline
  }
  return out;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const short = (hex: string) => hex.slice(0, 12);

/**
 * The configuration check for a campaign file in a git checkout. Without any recorded run it needs no repository;
 * with one, a file outside a repository, or a version only a shallow clone's missing history could hold, is a
 * UsageError (exit 2: verify cannot tell), never a claim of tampering.
 */
export function gitConfigurationCheck(campaignFile: string): ConfigurationCheck {
  return (runs) => {
    if (runs.length === 0) return [];
    const shown = campaignFile;
    const dir = path.dirname(campaignFile);
    const top = git(dir, ['rev-parse', '--show-toplevel']);
    if (top.status !== 0) {
      throw new UsageError(
        `${shown} is not inside a git repository, so the campaign configurations its runs recorded cannot be checked.`,
        "campaign verify needs a clone of the campaigns repository with the campaign file's full history: run it there (in a workflow: actions/checkout with fetch-depth: 0).",
      );
    }
    const root = top.stdout.toString('utf8').trim();
    const rel = path.relative(fs.realpathSync(root), fs.realpathSync(campaignFile)).split(path.sep).join('/');
    let shallow: boolean | undefined;
    const isShallow = () => (shallow ??= git(root, ['rev-parse', '--is-shallow-repository']).stdout.toString('utf8').trim() === 'true');
    const problems: ConfigurationProblem[] = [];

    // Runs that name their commit: that commit's version of the file must hash to what the run recorded.
    const byCommit = runs.filter((r) => r.commit !== undefined);
    const valid = byCommit.filter((r) => {
      const bad = !SHA256_HEX.test(r.sha256) ? `its campaignSha256 "${r.sha256}" is not 64 lowercase hex digits`
        : !COMMIT_HEX.test(r.commit!) ? `its campaignCommit "${r.commit}" is not a commit id (40 hex digits)`
          : r.file !== undefined && (r.file === '' || r.file.startsWith('/') || /[\r\n]/.test(r.file) || r.file.split('/').includes('..')) ? `its campaignFile "${r.file}" is not a path inside the repository`
            : null;
      if (bad) problems.push({ line: r.line, message: `run ${r.runId} recorded its configuration wrongly: ${bad}` });
      return !bad;
    });
    const blobs = catFileBatch(root, valid.map((r) => `${r.commit}:${r.file ?? rel}`));
    valid.forEach((r, i) => {
      const file = r.file ?? rel;
      const blob = blobs[i];
      if (blob === null) {
        const commitThere = git(root, ['cat-file', '-e', `${r.commit}^{commit}`]).status === 0;
        if (!commitThere) {
          throw new UsageError(
            `line ${r.line}: run ${r.runId} used ${file} at commit ${r.commit}, which this clone (${root}) does not have${isShallow() ? ' (it is a shallow clone)' : ''}: its configuration cannot be checked.`,
            `Fetch the full history and every branch, then run verify again. ${FETCH_ALL}`,
          );
        }
        problems.push({ line: r.line, message: `run ${r.runId} says it used ${file} at commit ${short(r.commit!)}, but that commit has no such file` });
        return;
      }
      const got = sha256(blob);
      if (got !== r.sha256) {
        problems.push({ line: r.line, message: `run ${r.runId} used a campaign file with SHA-256 ${short(r.sha256)}…, but ${file} at commit ${short(r.commit!)} has SHA-256 ${short(got)}…: the run's configuration is not the one committed there` });
      }
    });

    // Runs without a commit: the recorded hash must be some version of the file in the history of HEAD.
    const loose = runs.filter((r) => r.commit === undefined);
    if (loose.length > 0) {
      const versions = versionsInHistory(root, rel);
      for (const r of loose) {
        if (versions.has(r.sha256)) continue;
        if (!SHA256_HEX.test(r.sha256)) {
          problems.push({ line: r.line, message: `run ${r.runId} recorded its configuration wrongly: its campaignSha256 "${r.sha256}" is not 64 lowercase hex digits` });
          continue;
        }
        if (isShallow()) {
          throw new UsageError(
            `line ${r.line}: run ${r.runId} used a campaign file with SHA-256 ${short(r.sha256)}…, which matches no version of ${rel} in this clone, and the clone is shallow: the version may be in the history it lacks.`,
            `Fetch the full history, then run verify again. ${FETCH_ALL}`,
          );
        }
        const none = versions.size === 0 ? ` (${rel} has no committed version in ${root})` : ` (${versions.size} version${versions.size === 1 ? '' : 's'} checked)`;
        problems.push({
          line: r.line,
          message: `run ${r.runId} used a campaign file with SHA-256 ${short(r.sha256)}…, which matches no version of ${rel} in the history of HEAD${none}: the run used a configuration that was never committed, or the history was rewritten`,
        });
      }
    }
    return problems.sort((a, b) => a.line - b.line);
  };
}

/** SHA-256 of every version of `rel` in the history of HEAD (following renames, merges included): one git log, one cat-file. */
function versionsInHistory(root: string, rel: string): Set<string> {
  // -m: a merge that resolved a conflict in the file made a version no other commit has.
  const r = git(root, ['log', '--follow', '-m', '--format=%H', '--raw', '--no-abbrev', '--', rel]);
  const ids = new Set<string>();
  if (r.status !== 0) {
    // A repository without any commit yet has no versions; anything else is git's trouble, not the ledger's.
    if (/does not have any commits/.test(r.stderr)) return new Set();
    throw new RuntimeError(`git log in ${root} failed: ${r.stderr || `exit status ${r.status}`}`);
  }
  for (const line of r.stdout.toString('utf8').split('\n')) {
    // ":100644 100644 <old blob> <new blob> M\tpath": the version after the commit.
    const m = /^:\d+ \d+ [0-9a-f]+ ([0-9a-f]+) /.exec(line);
    if (m && !/^0+$/.test(m[1])) ids.add(m[1]);
  }
  const list = [...ids];
  return new Set(catFileBatch(root, list).flatMap((b) => (b ? [sha256(b)] : [])));
}
