// `campaign status` for a terminal: aligned tables a person reads top to bottom.
import type { Stage } from '../engine/types';
import { deliveryText, STAGE_TITLE, type StatusReport, type StatusUser } from './model';

/** Left-aligned columns (right-aligned where `right[i]`), two spaces apart, no trailing blanks. */
export function alignTable(rows: string[][], right: boolean[] = []): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (right[i] ? c.padStart(widths[i]) : i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

/** out.push(...lines) without the spread, which overflows the call stack past ~100k lines. */
export function pushLines(out: string[], lines: readonly string[]): void {
  for (const l of lines) out.push(l);
}

export function stageText(stage: Stage | null): string {
  return stage === null ? 'not entered' : STAGE_TITLE[stage];
}

const day = (iso: string | null): string => (iso ? iso.slice(0, 10) : '-');

function userRow(u: StatusUser): string[] {
  return [
    u.userPrincipalName,
    stageText(u.stage),
    day(u.stageSince),
    u.deadline ?? '-',
    u.exceededGrace ? `yes (${day(u.exceededGraceAt)})` : '-',
    day(u.postponedUntil),
    u.devicesBelowMinimum.length ? u.devicesBelowMinimum.join('; ') : '-',
    u.alerts.length ? u.alerts.join(', ') : '-',
    u.delivery ? deliveryText(u.delivery) : '-',
  ];
}

/** The estimated end as a person should read it: the earliest date while users are past a grace period. */
export function estimatedEndText(r: StatusReport): string {
  return r.estimatedEnd === null ? 'unknown' : `${r.estimatedEnd}${earliestNote(r)}`;
}

/** ' at the earliest, if …' after the estimated end while users are past a grace period; '' otherwise. */
export function earliestNote(r: StatusReport): string {
  if (r.estimatedEnd === null || !r.stuck) return '';
  const n = r.stuck.users;
  return ` at the earliest, if the ${n} user${n === 1 ? '' : 's'} past a grace period act${n === 1 ? 's' : ''} today`;
}

export function formatStatusText(r: StatusReport): string {
  const c = r.counts;
  const out: string[] = [];
  const run = r.lastRun
    ? `last run ${r.lastRun.runId} at ${r.lastRun.startedAt} (${r.lastRun.ok === true ? 'ok' : r.lastRun.ok === false ? 'failed' : 'unfinished'}), ${r.runs} run${r.runs === 1 ? '' : 's'}`
    : 'no run yet';
  out.push(`${r.campaign} · ${r.status} · ${run}`);
  if (r.description) out.push(r.description);
  out.push('');
  const pct = (n: number) => (c.targeted > 0 ? `${Math.round((100 * n) / c.targeted)}%` : '');
  const counts = alignTable([
    ['Targeted users', String(c.targeted), ''],
    ['  Device update', String(c.deviceUpdate), pct(c.deviceUpdate)],
    ['  Passkey registration', String(c.passkeyRegistration), pct(c.passkeyRegistration)],
    ['  Enforcement notice', String(c.enforcementNotice), pct(c.enforcementNotice)],
    ['  Enforced', String(c.enforced), pct(c.enforced)],
    ['Exceeded grace period', String(c.exceededGrace), ''],
    ['Excluded', String(c.excluded), ''],
    ['Outside FIDO2 policy scope', String(c.blocked), ''],
    ['Not read in the last run', String(c.unread), ''],
  ], [false, true, true]);
  pushLines(out, counts.map((l) => `  ${l}`));
  // Outside the table: the note after the date would widen the number column.
  out.push(`  ${'Estimated end'.padEnd('Outside FIDO2 policy scope'.length)}  ${estimatedEndText(r)}`);
  out.push('');
  const rd = r.readiness;
  out.push(`Readiness${r.asOf ? ` (observed ${r.asOf})` : ''}: needs device update ${rd.needsDeviceUpdate} · needs passkey ${rd.needsPasskey} · ready ${rd.ready}${rd.unassessed ? ` · not assessed ${rd.unassessed}` : ''}${rd.enforced ? ` (not counting ${rd.enforced} already enforced)` : ''}`);
  out.push('');
  out.push('Outlook:');
  for (const l of r.outlook) out.push(`  ${l}`);
  out.push(`  ${r.estimateAssumptions}`);
  if (r.stuck) {
    out.push('');
    out.push(`Stuck users: ${r.stuck.message}`);
    out.push('What you can do:');
    for (const a of r.stuck.actions) out.push(`  - ${a}`);
  }
  if (r.alerts.length) {
    out.push('');
    out.push('Alerts:');
    for (const a of r.alerts) {
      const names = a.users.slice(0, 5).map((u) => u.userPrincipalName);
      const more = a.users.length > 5 ? ` and ${a.users.length - 5} more` : '';
      out.push(`  ${a.severity}: ${a.message}${names.length ? ` (${names.join(', ')}${more})` : ''}`);
    }
  }
  for (const w of r.warnings) out.push(`warning: ${w}`);
  out.push('');
  if (r.users.length === 0) {
    out.push('No users.');
  } else {
    out.push(`Users (${r.users.length}):`);
    const header = ['USER', 'STAGE', 'SINCE', 'DEADLINE', 'EXCEEDED GRACE', 'POSTPONED UNTIL', 'DEVICES BELOW MINIMUM OS', 'ALERTS', 'LAST NOTICE'];
    pushLines(out, alignTable([header, ...r.users.map(userRow)]).map((l) => `  ${l}`));
  }
  return out.join('\n');
}
