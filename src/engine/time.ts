// Whole-UTC-day arithmetic: the scheduler fires once a day, so counting in calendar days keeps a
// timer that fires a few seconds early or late from shifting a deadline by a whole day.

export const DAY_MS = 86_400_000;

/** Milliseconds since the epoch; throws on a string that is not a time, because a bad `now` is a bug. */
export function toMs(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO time: ${JSON.stringify(iso)}`);
  return ms;
}

// A ledger's times are a few: each run's, repeated for every user it moved. Reports ask for their days a million times.
const days = new Map<string, number>();

/** The UTC day number of a time (days since 1970-01-01). */
export function dayOf(iso: string): number {
  let d = days.get(iso);
  if (d === undefined) {
    d = Math.floor(toMs(iso) / DAY_MS);
    if (days.size >= 4096) days.clear();
    days.set(iso, d);
  }
  return d;
}

/** `YYYY-MM-DD` of a UTC day number. */
export function dateOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(iso: string, days: number): string {
  return new Date(toMs(iso) + days * DAY_MS).toISOString();
}
