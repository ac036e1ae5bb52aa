// A file store's ledger after a mark, read on another core (tail-worker.ts) while the calling thread restores the
// report checkpoint: at a large campaign, hashing the gigabytes before the mark is seconds of work. The worker runs
// the same FileStore.readAfter (the prefix hashed and compared with the mark), so the answer is the one the calling
// thread would get; anything that keeps the worker from answering reads in the calling thread instead.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FileStore } from '../ledger/file/store';
import type { LedgerMark, LedgerStore, LedgerTail } from '../ledger/store';

/** Below this many bytes before the mark, starting a thread costs more than the hashing it saves. */
export const OFF_THREAD_FROM_BYTES = 32 * 1024 * 1024;

/** The compiled worker beside this module; null when there is none (the sources run untranspiled, as in tests). */
export function defaultTailWorker(): string | null {
  const file = path.join(__dirname, 'tail-worker.js');
  return fs.existsSync(file) ? file : null;
}

/** The worker's answer: its tail (null: the prefix does not match), or undefined when it could not answer. */
function inWorker(file: string, dir: string, campaign: string, mark: LedgerMark): { answer: Promise<LedgerTail | null | undefined>; stop: () => void } {
  let stop = () => undefined as void;
  const answer = new Promise<LedgerTail | null | undefined>((resolve) => {
    let done = false;
    const settle = (v: LedgerTail | null | undefined) => {
      if (done) return;
      done = true;
      resolve(v);
    };
    let worker: Worker;
    try {
      worker = new Worker(file, { workerData: { dir, campaign, mark } });
    } catch {
      settle(undefined);
      return;
    }
    worker.once('message', (m: { tail?: LedgerTail | null; error?: string }) => {
      settle('tail' in m ? (m.tail ?? null) : undefined);
      void worker.terminate();
    });
    worker.once('error', () => settle(undefined));
    worker.once('exit', () => settle(undefined));
    stop = () => {
      settle(undefined);
      void worker.terminate();
    };
  });
  return { answer, stop: () => stop() };
}

export interface TailOptions {
  /** The worker script (tail-worker.js); default the compiled one beside this module, null: never a thread. */
  worker?: string | null;
  /** Use a thread from this many bytes before the mark (default OFF_THREAD_FROM_BYTES). */
  fromBytes?: number;
}

export interface TailRead {
  /** The ledger after the mark, or null when it no longer starts with the bytes the mark hashes. */
  result(): Promise<LedgerTail | null>;
  /** Not needed after all: the thread, if any, is stopped. */
  cancel(): void;
}

/**
 * Starts reading `store`'s ledger after `mark` (LedgerStore.readAfter with every event kept): for a file store with
 * a large prefix on a worker thread, started now and running while the caller works; else in the calling thread
 * once the caller awaits the returned function's promise. Same answer either way.
 */
export function startTailRead(store: LedgerStore, campaign: string, mark: LedgerMark, opts: TailOptions = {}): TailRead {
  const here = () => store.readAfter!(campaign, mark);
  const file = opts.worker === undefined ? defaultTailWorker() : opts.worker;
  if (!(store instanceof FileStore) || file === null || mark.bytes < (opts.fromBytes ?? OFF_THREAD_FROM_BYTES)) return { result: here, cancel: () => undefined };
  const thread = inWorker(file, path.resolve(store.dir), campaign, mark);
  return {
    result: async () => {
      const tail = await thread.answer;
      return tail === undefined ? here() : tail;
    },
    cancel: thread.stop,
  };
}
