// Files the CLI writes on request (--markdown, --html): one place for the GitHub step summary rule and for the
// one-line error naming the flag and path when the file cannot be written (exit 2).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeAtomic } from '../../report/history';
import type { Io } from './io';
import { atPath } from './path-errors';

/** Temp file + rename; but $GITHUB_STEP_SUMMARY is shared by a job's steps, so it is appended to instead. */
export async function writeOutput(file: string, content: string, io: Io): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const summary = io.env.GITHUB_STEP_SUMMARY;
  if (summary && path.resolve(io.cwd, summary) === file) await fsp.appendFile(file, content, 'utf8');
  else await writeAtomic(file, content);
}

/** `--<flag> VALUE`: writes content to VALUE (relative to io.cwd) and returns the absolute path written. */
export async function writeOutputFlag(flag: string, value: string, content: string, io: Io): Promise<string> {
  const file = path.resolve(io.cwd, value);
  await atPath({ subject: `--${flag} ${value}`, path: file, expects: 'a file path (its directory is created if missing)' }, () => writeOutput(file, content, io));
  return file;
}
