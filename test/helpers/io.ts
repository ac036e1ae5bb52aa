import { PassThrough } from 'node:stream';
import type { Io } from '../../src/apps/cli/io';

/** An Io whose stdout/stderr are collected as strings. */
export function captureIo(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): Io & { out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  return { stdout, stderr, cwd, env, out: () => out, err: () => err };
}
