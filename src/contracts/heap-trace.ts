// A diagnostic for the scale benchmark: with CAMPAIGN_HEAP_TRACE=1 and Node started with --expose-gc, each step of
// a run forces a full collection and writes the heap still in use to stderr ("heap-trace <step> <MiB>"), so what a
// step holds can be told from what the collector had not yet reclaimed. Off (and free) otherwise.

const gc = (globalThis as { gc?: () => void }).gc;

export function heapMark(step: string): void {
  if (!gc || process.env.CAMPAIGN_HEAP_TRACE !== '1') return;
  gc();
  const m = process.memoryUsage();
  process.stderr.write(`heap-trace ${step} ${(m.heapUsed / 1048576).toFixed(0)} rss=${(m.rss / 1048576).toFixed(0)}\n`);
}
