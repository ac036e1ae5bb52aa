import { PassThrough } from 'node:stream';
import type { Io } from '../../src/apps/cli/io';
import { FakeClock } from '../../src/sim/clock';

/** An Io whose stdout/stderr are collected as strings. */
export function captureIo(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env, clock?: Io['clock']): Io & { out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  return { stdout, stderr, cwd, env, ...(clock ? { clock } : {}), out: () => out, err: () => err };
}

/**
 * One fake clock for an emulator and an in-process CLI run: the emulator's throttling windows and the client's
 * pacing and Retry-After waits share it, so a paced run costs no real time. Pass `emulatorClock` to startEmulator
 * and `ioClock` to captureIo.
 */
export function sharedClock(start: number | string | Date): { emulatorClock: FakeClock; ioClock: NonNullable<Io['clock']> } {
  const emulatorClock = new FakeClock(start);
  return { emulatorClock, ioClock: { now: () => emulatorClock.now(), sleep: async (ms) => emulatorClock.advance(ms) } };
}
