// A small seeded PRNG (mulberry32 seeded through an FNV-1a string hash): fixtures and fault injection
// must be reproducible, so nothing in src/sim uses Math.random.

export function hashSeed(seed: number | string): number {
  const text = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Prng {
  private state: number;

  constructor(seed: number | string) {
    this.state = hashSeed(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks by relative weight: [[value, weight], …]. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, w] of choices) total += w;
    let r = this.next() * total;
    for (const [value, w] of choices) {
      r -= w;
      if (r < 0) return value;
    }
    return choices[choices.length - 1]![0];
  }

  /** A version-4-shaped GUID drawn from this stream. */
  guid(): string {
    const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
    const a = hex(Math.floor(this.next() * 0x100000000), 8);
    const b = hex(Math.floor(this.next() * 0x10000), 4);
    const c = '4' + hex(Math.floor(this.next() * 0x1000), 3);
    const d = hex(0x8000 | Math.floor(this.next() * 0x4000), 4);
    const e = hex(Math.floor(this.next() * 0x1000000), 6) + hex(Math.floor(this.next() * 0x1000000), 6);
    return `${a}-${b}-${c}-${d}-${e}`;
  }
}
