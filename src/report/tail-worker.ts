// Worker thread entry (tail-thread.ts): a file store's ledger read after a mark, on another core. The prefix up to
// the mark is hashed and checked here exactly as in the calling thread (FileStore.readAfter); the result (null when
// the ledger no longer starts with those bytes) is posted back.
import { parentPort, workerData } from 'node:worker_threads';
import { FileStore } from '../ledger/file/store';
import type { LedgerMark } from '../ledger/store';

const { dir, campaign, mark } = workerData as { dir: string; campaign: string; mark: LedgerMark };
new FileStore({ dir }).readAfter(campaign, mark).then(
  (tail) => parentPort!.postMessage({ tail }),
  (e: unknown) => parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) }),
);
