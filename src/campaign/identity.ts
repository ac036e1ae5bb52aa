// Which configuration a run followed: the SHA-256 of the campaign file's bytes as the run loaded them and, when the
// file is the one committed in a git checkout, the commit it came from. Recorded in every runStarted, so an auditor
// can say which version of the campaign file each run applied (campaign verify checks it against the repository).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The campaign file a run loaded, as runStarted records it (campaignSha256, campaignCommit, campaignFile). */
export interface CampaignIdentity {
  /** Hex SHA-256 of the file's bytes, exactly as read (a byte-order mark and CRLF line ends included). */
  sha256: string;
  /** The last commit that changed the file, when the bytes are the file as committed at HEAD. */
  commit?: string;
  /** The file's path in that repository, with forward slashes; set with commit. */
  file?: string;
}

/** Hex SHA-256 of the bytes. */
export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Git's object id of a blob with these bytes, in the repository's hash (SHA-1: 40 hex, SHA-256: 64 hex). */
function blobId(bytes: Buffer, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** A git command's trimmed stdout, or null when git is missing or the command fails: never an error of the run. */
function git(cwd: string, args: string[]): string | null {
  const r = spawnSync('git', ['--literal-pathspecs', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim();
}

/**
 * The identity of a campaign file from its path and the bytes the run loaded. The commit is known only when the file
 * is inside a git work tree, tracked, and its bytes equal the blob at HEAD (no uncommitted edit, no line-end
 * conversion): then it is the last commit that changed the file. Git missing, no repository, an untracked or modified
 * file: the SHA-256 alone.
 */
export function campaignIdentity(file: string, bytes: Buffer): CampaignIdentity {
  const sha256 = sha256Hex(bytes);
  const source = gitSource(file, bytes);
  return source ? { sha256, ...source } : { sha256 };
}

function gitSource(file: string, bytes: Buffer): { commit: string; file: string } | null {
  let real: string;
  try {
    // git reports the top level with symbolic links resolved; so must the file be to find its path inside.
    real = fs.realpathSync(file);
  } catch {
    return null;
  }
  const top = git(path.dirname(real), ['rev-parse', '--show-toplevel']);
  if (!top) return null;
  let root: string;
  try {
    root = fs.realpathSync(top);
  } catch {
    return null;
  }
  const rel = path.relative(root, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const repoFile = rel.split(path.sep).join('/');
  // The blob committed at HEAD under this path; none when the file is untracked, or the repository has no commit.
  const atHead = git(root, ['rev-parse', '--verify', '--quiet', `HEAD:${repoFile}`]);
  if (!atHead || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(atHead)) return null;
  if (blobId(bytes, atHead.length === 40 ? 'sha1' : 'sha256') !== atHead) return null;
  const commit = git(root, ['log', '-1', '--format=%H', 'HEAD', '--', repoFile]);
  if (!commit || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(commit)) return null;
  return { commit, file: repoFile };
}
