// Typed errors shared by every command. The CLI turns them into one clear line and an exit code;
// only a bug (anything else) prints a stack trace.

/** The user asked for something that cannot be done as asked (bad flag, missing file, bad revision). Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/** A run could not complete because of its environment (network, Graph, storage). Exit 2. */
export class RuntimeError extends Error {
  override readonly name: string = 'RuntimeError';
  constructor(message: string, readonly retryable = false, readonly hint?: string) {
    super(message);
  }
}

// ── Secrets in messages ────────────────────────────────────────────────────────────────────────────
// A SAS signature (`sig=`, also URL-encoded inside another URL), a storage account key and a SAS or shared
// access key in a connection string; the key in any case, `=` (or %3D) with any spacing. A value runs to the
// next separator: `&` of a SAS, `;` of a connection string, a quote or backslash (so JSON stays valid), a space,
// or a `:` of the sentence around it. Base64 and URL-encoded values hold none of these; a whole SAS may be cut
// at the `:` of its `se=…T06:00Z`, and its `sig=` is then caught by the first pattern.
const SAS_SIGNATURE = /(sig\s*(?:=|%3D)\s*)[^&;:\s"'<>#\\]+/gi;
const CONNECTION_SECRET = /((?:AccountKey|SharedAccessSignature|SharedAccessKey)\s*(?:=|%3D)\s*)[^;:\s"'<>\\]+/gi;
const MAY_HOLD_SECRET = /sig|accountkey|sharedaccess/i;

/** `sig` at `i` starts a name: not the end of a word such as `xsig`, but `%26sig` (an encoded `&`) does. */
function startsName(text: string, i: number): boolean {
  return i === 0 || !/[A-Za-z0-9]/.test(text[i - 1]) || /^%[0-9A-Fa-f]{2}$/.test(text.slice(Math.max(0, i - 3), i));
}

/** The text with every secret value replaced by `***`: applied to everything the CLI and the Functions app print or log. */
export function redactSecrets(text: string): string {
  // Most output holds none of the keys: one quick scan instead of two passes over a large --json.
  if (!MAY_HOLD_SECRET.test(text)) return text;
  return text
    .replace(SAS_SIGNATURE, (match: string, head: string, offset: number) => (startsName(text, offset) ? `${head}***` : match))
    .replace(CONNECTION_SECRET, '$1***');
}

// ── Node system errors ─────────────────────────────────────────────────────────────────────────────
// The errno codes that say a path cannot be used as asked (the environment's fault, not a bug), each with
// strerror's words and what to do; the CLI turns them into one line and exit 2. Read `code`, never the message.
export const SYSTEM_ERRORS = {
  ENOENT: { problem: 'no such file or directory', fix: 'Check the path.' },
  EISDIR: { problem: 'is a directory', fix: 'Pass a file.' },
  ENOTDIR: { problem: 'not a directory', fix: 'Check the path: a part of it is a file.' },
  EACCES: { problem: 'permission denied', fix: 'Check the owner and mode of the path, or use one this user may read and write.' },
  EPERM: { problem: 'operation not permitted', fix: 'Check the owner and mode of the path, or use one this user may read and write.' },
  ENOSPC: { problem: 'no space left on device', fix: 'Free some space, or use a location on another disk, and run again.' },
  EDQUOT: { problem: 'disk quota exceeded', fix: 'Free some space or raise the quota, and run again.' },
  EROFS: { problem: 'read-only file system', fix: 'Use a location on a writable file system.' },
  EMFILE: { problem: 'too many open files in this process', fix: 'Raise the open-file limit (ulimit -n) and run again.' },
  ENFILE: { problem: 'too many open files on this system', fix: 'Close other programs or raise the system limit, and run again.' },
  ENAMETOOLONG: { problem: 'file name too long', fix: 'Use a shorter path.' },
  ELOOP: { problem: 'too many levels of symbolic links', fix: 'Check the symbolic links on the path.' },
  EEXIST: { problem: 'file exists', fix: 'Remove it or use another path.' },
  EBUSY: { problem: 'device or resource busy', fix: 'Wait for the program using it to finish, and run again.' },
  EIO: { problem: 'input/output error', fix: 'Check the disk, and run again.' },
  EFBIG: { problem: 'file too large', fix: 'Check the file size limit (ulimit -f) and the file system, and run again.' },
  ENXIO: { problem: 'no such device or address', fix: 'Use a regular file or directory.' },
} as const satisfies Record<string, { problem: string; fix: string }>;

export type SystemErrorCode = keyof typeof SYSTEM_ERRORS;

/** A Node system error (fs, net) with one of the codes above: `code`, and `path`/`syscall` when Node knows them. */
export interface SystemError extends Error {
  code: SystemErrorCode;
  path?: string;
  dest?: string;
  syscall?: string;
}

export function isSystemError(e: unknown): e is SystemError {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && Object.hasOwn(SYSTEM_ERRORS, code);
}

/**
 * One line for a system error: `SUBJECT: problem[: TARGET] (CODE, syscall). Fix.` SUBJECT is what the user
 * passed (`--state /dev/null`), TARGET the path that failed (default `path`; null when SUBJECT already names it).
 */
export function describeSystemError(e: SystemError, at: { subject?: string; target?: string | null; fix?: string } = {}): string {
  const { problem, fix } = SYSTEM_ERRORS[e.code];
  const target = at.target === undefined ? e.path : (at.target ?? undefined);
  const subject = at.subject ?? target;
  const where = subject === undefined ? problem : `${subject}: ${problem}${target !== undefined && target !== subject ? `: ${target}` : ''}`;
  return `${where} (${e.code}${e.syscall ? `, ${e.syscall}` : ''}). ${at.fix ?? fix}`;
}
