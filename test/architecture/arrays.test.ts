import { describe, expect, it } from 'vitest';
import { appendAll, maxOf } from '../../src/contracts/arrays';

describe('array helpers that take any number of elements', () => {
  it('appends and finds the maximum past the size where a spread throws', () => {
    const big = Array.from({ length: 300_000 }, (_, i) => i);
    expect(() => ([] as number[]).push(...big)).toThrow(RangeError);
    const out = appendAll([-1], big);
    expect(out).toHaveLength(300_001);
    expect(out[0]).toBe(-1);
    expect(out[300_000]).toBe(299_999);
    expect(maxOf(big)).toBe(299_999);
  });

  it('keeps Math.max semantics for no values, or takes the given empty value', () => {
    expect(maxOf([])).toBe(-Infinity);
    expect(maxOf([], 0)).toBe(0);
    expect(maxOf([-5, -2, -9])).toBe(-2);
  });
});
