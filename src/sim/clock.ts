// The emulator's notion of time. Throttle windows, innerError dates and notification timestamps read it,
// so tests can move time forward instead of sleeping.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. */
export class FakeClock implements Clock {
  private ms: number;

  constructor(start: number | string | Date = '2026-12-01T06:00:00Z') {
    this.ms = typeof start === 'number' ? start : new Date(start).getTime();
  }

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }

  set(at: number | string | Date): void {
    this.ms = typeof at === 'number' ? at : new Date(at).getTime();
  }
}
