// Writing a large report in pieces: `status --json` at a million users is hundreds of megabytes, which as one
// string (and once more as the buffer written) costs memory and time; in pieces a few megabytes at a time are held.
import type { StatusReport } from './model';

/** Users per piece of the JSON. */
const USERS_PER_CHUNK = 4096;

/**
 * JSON.stringify(report) in pieces, joined exactly that text: the members before `users`, the users a few thousand
 * at a time, the members after it.
 */
export function* reportJsonChunks(report: StatusReport): Generator<string> {
  const entries = Object.entries(report as unknown as Record<string, unknown>);
  const at = entries.findIndex(([k]) => k === 'users');
  const users = report.users as unknown;
  const plain = at !== -1 && Array.isArray(users) && typeof (users as { toJSON?: unknown }).toJSON !== 'function'
    && typeof (report as { toJSON?: unknown }).toJSON !== 'function' && !entries.some(([k]) => /^[0-9]+$/.test(k));
  if (!plain || !Array.isArray(users)) {
    yield JSON.stringify(report);
    return;
  }
  // Each side as an object of its own: JSON.stringify gives its members as it would inside the report.
  const members = (list: Array<[string, unknown]>) => JSON.stringify(Object.fromEntries(list)).slice(1, -1);
  const before = members(entries.slice(0, at));
  const after = members(entries.slice(at + 1));
  let part = `{${before}${before ? ',' : ''}"users":[`;
  // A few thousand users at a time as one array (its text without the brackets): JSON.stringify gives an array's
  // elements as it would inside the report, an element without text (undefined, a function) as null.
  for (let i = 0; i < users.length; i += USERS_PER_CHUNK) {
    const text = JSON.stringify(users.slice(i, i + USERS_PER_CHUNK));
    part += (i > 0 ? ',' : '') + text.slice(1, -1);
    if (i + USERS_PER_CHUNK < users.length) {
      yield part;
      part = '';
    }
  }
  yield `${part}]${after ? ',' : ''}${after}}`;
}

/** Writes `chunks` to `stream` in order, waiting when it asks to (its buffer is full); `end` after the last. */
export async function writeChunks(stream: NodeJS.WritableStream, chunks: Iterable<string>, end = ''): Promise<void> {
  let pending: string | null = null;
  for (const c of chunks) {
    if (pending !== null && !stream.write(pending)) await drained(stream);
    pending = c;
  }
  stream.write((pending ?? '') + end);
}

/** Once `stream` drains, or closes or fails (then nothing more is waited for). */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.removeListener('drain', done);
      stream.removeListener('close', done);
      stream.removeListener('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
