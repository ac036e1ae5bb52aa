// Array helpers that never pass an array as call arguments: `out.push(...items)` and `Math.max(...items)` put
// every element on the stack and throw RangeError past roughly 120,000 elements, so they are not used in src/.

/** Appends every item to `out` (in order) and returns `out`. */
export function appendAll<T>(out: T[], items: Iterable<T>): T[] {
  for (const item of items) out.push(item);
  return out;
}

/** The largest of `values`, or `empty` when there are none. */
export function maxOf(values: Iterable<number>, empty = -Infinity): number {
  let max = empty;
  let any = false;
  for (const v of values) {
    if (!any || v > max) max = v;
    any = true;
  }
  return any ? max : empty;
}
