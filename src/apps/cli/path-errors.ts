// File-system failures at the CLI boundary. A Node system error, told apart by its `code` (never its
// message), becomes one line naming the flag the user passed, the path that failed and what to do: exit 2.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, describeSystemError, isSystemError, type SystemError, type SystemErrorCode } from '../../errors';

/** A path the user passed: how they passed it (`--state /dev/null`), the absolute path, and what it has to be. */
export interface PathUse {
  subject: string;
  path: string;
  /** Said when the path is the wrong kind of thing (EISDIR, ENOTDIR, ENOENT): "a directory (created if missing)". */
  expects: string;
}

/** A path could not be used (a directory where a file is needed, a full disk…). Exit 2, one line. */
export class PathError extends UsageError {
  constructor(
    message: string,
    readonly code: SystemErrorCode,
    readonly path: string | undefined,
  ) {
    super(message);
  }
}

const WRONG_KIND: ReadonlySet<SystemErrorCode> = new Set(['EISDIR', 'ENOTDIR', 'ENOENT']);

const within = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** For ENOTDIR on a/b/c: the first part of the path that exists and is not a directory. */
function firstNonDirectory(p: string): string | undefined {
  const parts = path.resolve(p).split(path.sep);
  for (let i = 2; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join(path.sep);
    try {
      if (!fs.statSync(prefix).isDirectory()) return prefix;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The one-line error for `e`, naming `use` when the failure is about that path (or names no path at all). */
export function pathError(error: SystemError, use?: PathUse): PathError {
  const failed = error.path !== undefined ? path.resolve(error.path) : use?.path;
  // mkdir -p says EEXIST when a part of the path is a file: that is "not a directory" to the user.
  const e = error.code === 'EEXIST' && error.syscall === 'mkdir' && failed !== undefined && !isDirectory(failed)
    ? Object.assign(new Error(error.message), { code: 'ENOTDIR' as const, path: error.path, syscall: error.syscall })
    : error;
  const about = use && (failed === undefined || within(failed, use.path) || within(use.path, failed)) ? use : undefined;
  const target = e.code === 'ENOTDIR' && failed !== undefined ? (firstNonDirectory(failed) ?? failed) : failed;
  const message = describeSystemError(e, {
    subject: about?.subject,
    target: about && target === about.path ? null : target,
    fix: about && WRONG_KIND.has(e.code) ? `Pass ${about.expects}.` : undefined,
  });
  return new PathError(message, e.code, failed);
}

/** Runs fn; a system error from it becomes a PathError about `use`. */
export function atPathSync<T>(use: PathUse | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw isSystemError(e) ? pathError(e, use) : e;
  }
}

export async function atPath<T>(use: PathUse | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw isSystemError(e) ? pathError(e, use) : e;
  }
}
