// `campaign sim serve` and `campaign sim generate`, taking options the CLI has already parsed.
import { FixtureError, loadFixtureFile } from './fixture';
import { DEFAULT_SEED, generateTenant } from './generate';
import { startEmulator, type Emulator } from './server';

export interface SimIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface SimServeOptions {
  tenantFile: string;
  /** 0 or undefined: an ephemeral port. */
  port?: number;
  /** Bearer token to require; by default any non-empty bearer token is accepted. */
  token?: string;
  /** Graph's throttling limits on (default) or off. */
  throttle?: boolean;
  /** Resolves when the server should stop; defaults to the first SIGINT or SIGTERM. */
  until?: Promise<unknown>;
  /** Called once the server listens (tests use it to reach the server). */
  onListening?: (emulator: Emulator) => void;
}

export interface SimGenerateOptions {
  users: number;
  seed?: number | string;
  /** Snapshot time; defaults to the generator's fixed reference so output is reproducible. */
  now?: string;
  /** Also the identity, the Teams app and the sender mailbox `campaign doctor` checks (generate.ts). */
  prerequisites?: boolean;
  /** Days of sign-in logs before `now` (generate.ts; default none). */
  signInDays?: number;
}

const write = (stream: NodeJS.WritableStream, text: string) =>
  new Promise<void>((resolve) => {
    if (!stream.write(text)) stream.once('drain', resolve);
    else resolve();
  });

function signal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(s);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Serves the tenant until SIGINT/SIGTERM (or `until`); exit code 0, or 2 when the fixture or port is unusable. */
export async function runSimServe(options: SimServeOptions, io: SimIo): Promise<number> {
  let emulator: Emulator;
  try {
    const { fixture, warnings } = loadFixtureFile(options.tenantFile);
    for (const w of warnings.slice(0, 20)) await write(io.stderr, `warning: ${options.tenantFile}: ${w}\n`);
    if (warnings.length > 20) await write(io.stderr, `warning: ${options.tenantFile}: … and ${warnings.length - 20} more warnings\n`);
    emulator = await startEmulator({ tenant: fixture, port: options.port ?? 0, host: '127.0.0.1', token: options.token, faults: { throttle: options.throttle ?? true } });
  } catch (e) {
    if (e instanceof FixtureError) {
      await write(io.stderr, `campaign sim serve: invalid tenant fixture:\n${e.message}\n`);
      return 2;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
      await write(io.stderr, `campaign sim serve: cannot listen on 127.0.0.1:${options.port} (${err.code}). Pick another --port, or 0 for any free port.\n`);
      return 2;
    }
    throw e;
  }
  await write(io.stdout, `listening on ${emulator.url}\n`);
  options.onListening?.(emulator);
  await (options.until ?? signal());
  await emulator.close();
  return 0;
}

/**
 * The JSON text of `value` (what JSON.stringify gives, byte for byte) in pieces of at most about `chunk` characters:
 * the collections of a large tenant, one item after another, never the whole text at once (a JavaScript string
 * holds at most about 512 MiB; a 1,000,000-user tenant is more than twice that).
 */
export function* jsonPieces(value: object, chunk = 1 << 20): Generator<string> {
  let buf = '';
  const flush = function* () {
    if (buf.length >= chunk) {
      yield buf;
      buf = '';
    }
  };
  buf += '{';
  let first = true;
  for (const [k, v] of Object.entries(value)) {
    const plain = v !== null && typeof v === 'object' && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype);
    const whole = plain ? '' : JSON.stringify(v);
    if (whole === undefined) continue;
    buf += `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    if (Array.isArray(v)) {
      buf += '[';
      for (let i = 0; i < v.length; i++) {
        buf += `${i ? ',' : ''}${JSON.stringify(v[i]) ?? 'null'}`;
        yield* flush();
      }
      buf += ']';
    } else if (plain) {
      buf += '{';
      let firstEntry = true;
      for (const [ek, ev] of Object.entries(v as Record<string, unknown>)) {
        const text = JSON.stringify(ev);
        if (text === undefined) continue;
        buf += `${firstEntry ? '' : ','}${JSON.stringify(ek)}:${text}`;
        firstEntry = false;
        yield* flush();
      }
      buf += '}';
    } else buf += whole;
    yield* flush();
  }
  buf += '}';
  yield buf;
}

/** Prints a generated fixture as JSON; exit code 0, or 2 for an impossible size. */
export async function runSimGenerate(options: SimGenerateOptions, io: SimIo): Promise<number> {
  let fixture: object;
  try {
    fixture = generateTenant({ users: options.users, seed: options.seed ?? DEFAULT_SEED, now: options.now, ...(options.prerequisites ? { prerequisites: true } : {}), ...(options.signInDays ? { signInDays: options.signInDays } : {}) });
  } catch (e) {
    if (e instanceof RangeError) {
      await write(io.stderr, `campaign sim generate: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  // Streamed: a large tenant's JSON does not fit in one string.
  for (const piece of jsonPieces(fixture)) await write(io.stdout, piece);
  await write(io.stdout, '\n');
  return 0;
}
