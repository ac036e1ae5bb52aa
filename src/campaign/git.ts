// Reading campaign files as they were at a git revision (the pull request's base).
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { UsageError } from '../errors';

function git(cwd: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('git', args, { cwd, input, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.error) throw new UsageError(`cannot run git: ${r.error.message}`, 'Install git, or validate without --base.');
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

export interface GitBase {
  /** Repository top level (absolute). */
  root: string;
  rev: string;
  commit: string;
}

/** Resolves REV in the repository that holds `dir`; a usage error if there is none or REV does not exist. */
export function resolveBase(dir: string, rev: string): GitBase {
  const top = git(dir, ['rev-parse', '--show-toplevel']);
  if (top.status !== 0) throw new UsageError(`--base ${rev}: ${path.resolve(dir)} is not inside a git repository.`, 'Run validate from a clone of the campaigns repository.');
  const root = top.stdout.trim();
  const c = git(root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  if (c.status !== 0) {
    throw new UsageError(`--base ${rev}: no such revision in ${root}.`, `Fetch it first (for example "git fetch origin main") or pass an existing branch, tag or commit.`);
  }
  return { root, rev, commit: c.stdout.trim() };
}

/** Path of `file` relative to the repository root, with forward slashes as git wants them. */
export function repoPath(base: GitBase, file: string): string {
  return path.relative(base.root, path.resolve(file)).split(path.sep).join('/');
}

/** Contents of each path at the base commit (null when the path does not exist there), with one git process. */
export function readAtBase(base: GitBase, paths: string[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  if (paths.length === 0) return out;
  const input = paths.map((p) => `${base.commit}:${p}`).join('\n') + '\n';
  const r = spawnSync('git', ['cat-file', '--batch'], { cwd: base.root, input, maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0 || !r.stdout) throw new UsageError(`--base ${base.rev}: git cat-file failed: ${String(r.stderr).trim()}`);
  const buf = r.stdout;
  let at = 0;
  for (const p of paths) {
    const nl = buf.indexOf(0x0a, at);
    const header = buf.subarray(at, nl).toString('utf8');
    at = nl + 1;
    if (header.endsWith(' missing')) {
      out.set(p, null);
      continue;
    }
    const [, type, size] = header.split(' ');
    const len = Number(size);
    out.set(p, type === 'blob' ? buf.subarray(at, at + len).toString('utf8') : null);
    at += len + 1; // content is followed by a newline
  }
  return out;
}

/** Campaign files directly inside `dir` at the base commit (repository-relative paths). */
export function listAtBase(base: GitBase, dir: string): string[] {
  const rel = repoPath(base, dir);
  const prefix = rel === '' ? '' : `${rel}/`;
  const args = ['ls-tree', '--name-only', base.commit, ...(prefix ? ['--', prefix] : [])];
  const out = execFileSync('git', args, { cwd: base.root, encoding: 'utf8' });
  return out
    .split('\n')
    .filter((p) => p && /\.ya?ml$/i.test(p) && path.posix.dirname(p) === (rel === '' ? '.' : rel));
}
