// Diagnostics for the scale benchmark, off (and free) unless asked for.
// - CAMPAIGN_HEAP_TRACE=1 with Node started with --expose-gc: each step of a run forces a full collection and writes
//   the heap still in use to stderr ("heap-trace <step> <MiB> rss=<MiB>"), so what a step holds can be told from what
//   the collector had not yet reclaimed.
// - CAMPAIGN_RSS_TRACE=1: nothing is collected; a worker thread samples the process's resident set every few
//   milliseconds and each step writes the highest it saw since the step before ("rss-trace <step> peak=<MiB>
//   heap=<MiB>"), so the step in which the run's peak RSS falls can be told.
import { Worker } from 'node:worker_threads';

const gc = (globalThis as { gc?: () => void }).gc;
let peak: Int32Array | undefined;

function rssSampler(): Int32Array {
  if (peak) return peak;
  const shared = new SharedArrayBuffer(4);
  peak = new Int32Array(shared);
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const peak = new Int32Array(workerData);
     setInterval(() => { const mib = Math.round(process.memoryUsage.rss() / 1048576); if (mib > Atomics.load(peak, 0)) Atomics.store(peak, 0, mib); }, 5);`,
    { eval: true, workerData: shared });
  worker.unref();
  return peak;
}

export function heapMark(step: string): void {
  if (process.env.CAMPAIGN_RSS_TRACE === '1') {
    const p = rssSampler();
    const m = process.memoryUsage();
    const seen = Math.max(Atomics.exchange(p, 0, 0), Math.round(m.rss / 1048576));
    process.stderr.write(`rss-trace ${step} peak=${seen} heap=${(m.heapUsed / 1048576).toFixed(0)}/${(m.heapTotal / 1048576).toFixed(0)} external=${(m.external / 1048576).toFixed(0)}\n`);
    return;
  }
  if (!gc || process.env.CAMPAIGN_HEAP_TRACE !== '1') return;
  gc();
  const m = process.memoryUsage();
  process.stderr.write(`heap-trace ${step} ${(m.heapUsed / 1048576).toFixed(0)} rss=${(m.rss / 1048576).toFixed(0)}\n`);
}
