// Where a command writes; tests pass their own streams.
import { Writable } from 'node:stream';
import { redactSecrets } from '../../errors';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /**
   * The clock Graph waits run on (pacing, Retry-After); absent: the process's. An embedding program (the demo,
   * a test beside an emulator on the same clock) passes its own, so waits cost no real time.
   */
  clock?: { now(): number; sleep(ms: number): Promise<void> };
}

/** The Graph client's clock options from an Io: none for the process's own clock. */
export function graphClock(io: Io): { now?: () => number; sleep?: (ms: number) => Promise<void> } {
  const c = io.clock;
  return c ? { now: () => c.now(), sleep: (ms) => c.sleep(ms) } : {};
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}

export function println(stream: NodeJS.WritableStream, line = ''): void {
  stream.write(line + '\n');
}

/**
 * Writes every chunk to `target` with secrets redacted (redactSecrets): the CLI's one output boundary.
 * Commands write whole lines or whole documents, so a secret is never split across two chunks.
 * A failure of the target is reported on the target's own 'error' event (see guardOutput), not here.
 */
class RedactingStream extends Writable {
  /** Copied so that commands drawing progress bars on a terminal still see one. */
  readonly isTTY: boolean;
  constructor(private readonly target: NodeJS.WritableStream) {
    super({ decodeStrings: false });
    this.isTTY = (target as { isTTY?: boolean }).isTTY === true;
  }
  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.target.write(redactSecrets(typeof chunk === 'string' ? chunk : chunk.toString('utf8')), () => done());
  }
}

/** How writing to stdout failed: the reader went away (EPIPE), or the output could not be written (a full disk). */
export type OutputFailure = { kind: 'closed' } | { kind: 'failed'; error: Error };

export interface GuardedOutput {
  /** The Io commands get: stdout and stderr redacted. */
  io: Io;
  /** Resolves once everything written so far reached the real streams (or failed to). */
  flush(): Promise<void>;
  /** The first stdout failure, if any. */
  failure(): OutputFailure | undefined;
}

/**
 * Wraps the real streams at the CLI boundary: secrets are redacted from everything written, and a stdout
 * that fails (EPIPE when `| head` stops reading, ENOSPC when redirected to a full disk) is recorded instead
 * of crashing the process with an unhandled 'error' event. A failing stderr is ignored: there is nowhere
 * left to report it.
 */
export function guardOutput(io: Io): GuardedOutput {
  let failed: OutputFailure | undefined;
  io.stdout.on('error', (e: unknown) => {
    if (failed) return;
    const code = (e as { code?: unknown } | null)?.code;
    failed = code === 'EPIPE' ? { kind: 'closed' } : { kind: 'failed', error: e instanceof Error ? e : new Error(String(e)) };
  });
  io.stderr.on('error', () => undefined);
  const stdout = new RedactingStream(io.stdout);
  const stderr = new RedactingStream(io.stderr);
  return {
    io: { ...io, stdout, stderr },
    flush: async () => {
      await Promise.all([stdout, stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
    },
    failure: () => failed,
  };
}
