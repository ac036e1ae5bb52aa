// Flag parsing on node:util parseArgs (no dependency, fast start); mistakes become usage errors.
import { parseArgs } from 'node:util';
import { UsageError } from '../../errors';
import { closest } from '../../campaign/suggest';

export interface FlagSpec {
  [name: string]: { type: 'string' | 'boolean'; multiple?: boolean; short?: string };
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseFlags(command: string, argv: string[], flags: FlagSpec, opts: { positionals?: boolean } = {}): Parsed {
  const options = { ...flags, help: { type: 'boolean' as const, short: 'h' } };
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: opts.positionals ?? false, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(msg);
    if (unknown) {
      const guess = closest(unknown[1].replace(/^-+/, ''), Object.keys(flags));
      throw new UsageError(`unknown option ${unknown[1]}.${guess ? ` Did you mean --${guess}?` : ''}`, `Run "campaign ${command} --help" for the options.`);
    }
    const positional = /Unexpected argument '([^']+)'/.exec(msg);
    if (positional) throw new UsageError(`unexpected argument "${positional[1]}".`, `Run "campaign ${command} --help" for the usage.`);
    throw new UsageError(msg.replace(/\.$/, '') + '.', `Run "campaign ${command} --help" for the options.`);
  }
}

export function stringFlag(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requireFlag(p: Parsed, name: string, command: string): string {
  const v = stringFlag(p, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required.`, `Run "campaign ${command} --help" for the usage.`);
  return v;
}

export function oneOf<T extends string>(p: Parsed, name: string, allowed: readonly T[], fallback: T): T {
  const v = stringFlag(p, name);
  if (v === undefined) return fallback;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got "${v}").`);
}

export function intFlag(p: Parsed, name: string, fallback: number, min = 0): number {
  const v = stringFlag(p, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be a whole number ≥ ${min} (got "${v}").`);
  return Number(v);
}

/** `--now ISO`: an explicit clock for reproducible runs; the real clock otherwise. */
export function nowFlag(p: Parsed): Date {
  const v = stringFlag(p, 'now');
  if (v === undefined) return new Date();
  const impossible = impossibleDate(v);
  if (impossible) throw new UsageError(`--now must be an ISO 8601 date-time such as 2026-12-01T06:00:00Z (got "${v}": ${impossible}).`);
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime())) {
    throw new UsageError(`--now must be an ISO 8601 date-time such as 2026-12-01T06:00:00Z (got "${v}").`);
  }
  return d;
}

/**
 * Why a date the JavaScript parser accepted names no real day or time, or null. `new Date('2026-02-30')` is
 * 2 March and hour 24 is the next day: a mistyped --now must not move the campaign's clock to another day.
 */
export function impossibleDate(v: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(v);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `there is no month ${m[2]}`;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > days) return `${m[1]}-${m[2]} has ${days} days`;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return `${m[4]}:${m[5]}${m[6] ? `:${m[6]}` : ''} is not a time of day`;
  return null;
}
