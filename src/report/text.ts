// `campaign status` for a terminal: aligned tables a person reads top to bottom.
import type { Stage } from '../engine/types';
import { gateText, impactHowTo, isLegacyClientApp, percentOf, policyStateText, tally, type ImpactStatus } from './impact';
import { deliveryText, graduatedCount, shownStages, stageCount, type StatusReport, type StatusUser } from './model';
import { stageTitle } from './stages';

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
  return stage === null ? 'not entered' : stageTitle(stage);
}

const day = (iso: string | null): string => (iso ? iso.slice(0, 10) : '-');

export function userRow(u: StatusUser): string[] {
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

/** The status text (formatStatusText) in pieces, for a writer that streams them: joined, they are that text. */
export function* statusTextChunks(r: StatusReport): Generator<string> {
  const head = statusHead(r);
  if (r.users.length === 0) {
    yield head;
    return;
  }
  yield head + '\n';
  yield* userTableChunks(r.users);
}

export function formatStatusText(r: StatusReport): string {
  return [...statusTextChunks(r)].join('');
}

export const USER_HEADER = ['USER', 'STAGE', 'SINCE', 'DEADLINE', 'EXCEEDED GRACE', 'POSTPONED UNTIL', 'DEVICES BELOW MINIMUM OS', 'ALERTS', 'LAST NOTICE'];
/** Users per piece of the table. */
const ROWS_PER_CHUNK = 4096;

/** The length of `iso`'s day as day() gives it. */
const dayLength = (iso: string | null): number => (iso ? Math.min(10, iso.length) : 1);
/** The length of `list.join(sep)`, or of '-' for an empty list. */
function joinedLength(list: readonly string[], sep: number): number {
  if (list.length === 0) return 1;
  let n = sep * (list.length - 1);
  for (const x of list) n += x.length;
  return n;
}

/**
 * The users' table as alignTable lays it out (each line indented by two spaces, lines joined by newlines), a few
 * thousand rows at a time: the column widths from the cells' lengths first (the last column is not padded), then
 * the rows, so the table is never held whole.
 */
export function* userTableChunks(users: readonly StatusUser[]): Generator<string> {
  const widths = USER_HEADER.map((h) => h.length);
  const wider = (i: number, n: number) => {
    if (n > widths[i]) widths[i] = n;
  };
  for (const u of users) {
    wider(0, u.userPrincipalName.length);
    wider(1, stageText(u.stage).length);
    wider(2, dayLength(u.stageSince));
    wider(3, (u.deadline ?? '-').length);
    wider(4, u.exceededGrace ? 6 + dayLength(u.exceededGraceAt) : 1);
    wider(5, dayLength(u.postponedUntil));
    wider(6, joinedLength(u.devicesBelowMinimum, 2));
    wider(7, joinedLength(u.alerts, 2));
  }
  const last = USER_HEADER.length - 1;
  const line = (cells: string[]): string => {
    let l = '';
    for (let i = 0; i < last; i++) l += cells[i].padEnd(widths[i]) + '  ';
    return `  ${(l + cells[last]).trimEnd()}`;
  };
  const row = rowLine(widths);
  let part: string[] = [line(USER_HEADER)];
  for (let k = 0; k < users.length; k++) {
    part.push(row(users[k]));
    if (part.length === ROWS_PER_CHUNK && k < users.length - 1) {
      yield part.join('\n') + '\n';
      part = [];
    }
  }
  yield part.join('\n');
}

/** Cells told apart per column, at most (a column of distinct values is padded cell by cell). */
const MAX_CACHED = 4096;
const TRAILING_BLANK = /\s/;

/**
 * A user's line of the table: what `line(userRow(u))` gives (cells padded to `widths`, two spaces apart, no trailing
 * blanks), with each column's padded cell made once per distinct value (a stage, a day, '-'), not once per user.
 */
function rowLine(widths: readonly number[]): (u: StatusUser) => string {
  const spaces: string[] = [];
  const pad = (c: string, i: number): string => {
    const n = widths[i] - c.length + 2;
    if (n <= 2) return c + '  ';
    return c + (spaces[n] ??= ' '.repeat(n));
  };
  const caches = widths.map(() => new Map<unknown, string>());
  const cached = (i: number, key: unknown, cell: () => string): string => {
    const cache = caches[i];
    let p = cache.get(key);
    if (p === undefined) {
      p = pad(cell(), i);
      if (cache.size < MAX_CACHED) cache.set(key, p);
    }
    return p;
  };
  return (u: StatusUser): string => {
    const alerts = u.alerts.length ? u.alerts.join(', ') : '-';
    const notice = u.delivery ? deliveryText(u.delivery) : '-';
    const l = '  ' + pad(u.userPrincipalName, 0)
      + cached(1, u.stage, () => stageText(u.stage))
      + cached(2, u.stageSince, () => day(u.stageSince))
      + cached(3, u.deadline, () => u.deadline ?? '-')
      + (u.exceededGrace ? cached(4, u.exceededGraceAt, () => `yes (${day(u.exceededGraceAt)})`) : cached(4, false, () => '-'))
      + cached(5, u.postponedUntil, () => day(u.postponedUntil))
      + (u.devicesBelowMinimum.length ? pad(u.devicesBelowMinimum.join('; '), 6) : cached(6, null, () => '-'))
      + cached(7, alerts, () => alerts)
      + notice;
    // Trailing blanks only when the last cell ends with one (or is empty): then trimmed as line() does.
    return notice.length === 0 || TRAILING_BLANK.test(notice[notice.length - 1]) ? l.trimEnd() : l;
  };
}

function statusHead(r: StatusReport): string {
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
    ...shownStages(r).map((s) => [`  ${stageTitle(s)}`, String(stageCount(r, s)), pct(stageCount(r, s))]),
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
  pushLines(out, onboardingText(r));
  out.push('');
  out.push('Outlook:');
  for (const l of r.outlook) out.push(`  ${l}`);
  out.push(`  ${r.estimateAssumptions}`);
  out.push('');
  pushLines(out, impactText(r));
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
  // The users' table follows (userTableChunks).
  out.push(r.users.length === 0 ? 'No users.' : `Users (${r.users.length}):`);
  return out.join('\n');
}

/** "Onboarding passes: …": who needs one (whether or not the campaign issues them) and what the ledger records. */
export function onboardingLine(r: StatusReport): string {
  const o = r.onboarding;
  const mode = o.enabled ? `the campaign's passes go to ${o.deliverTo === 'manager' ? 'managers' : 'the helpdesk'}` : "the campaign's onboarding passes are off";
  const need = o.needPass === null ? 'Onboarding passes: who needs one is not assessed yet (no observation)' : `${o.needPass} user${o.needPass === 1 ? ' needs' : 's need'} an onboarding pass`;
  return `${need} (Temporary Access Pass; ${mode}) · passes issued ${o.issued} · queued for the helpdesk ${o.queued} · expired unused ${o.expired}`;
}

function onboardingText(r: StatusReport): string[] {
  const o = r.onboarding;
  const out = [onboardingLine(r)];
  if (o.queued > 0) out.push(`  Write the helpdesk queue: campaign status --campaign ${r.campaign} --onboarding-queue FILE (.csv or .md)`);
  return out;
}

/** "today", "1 day ago", "5 days ago"; "at an unknown time" when the age is unknown. */
export function ageText(days: number | null): string {
  return days === null ? 'at an unknown time' : days === 0 ? 'today' : `${days} day${days === 1 ? '' : 's'} ago`;
}

/** The gate the campaign file sets, as one phrase. */
export function gateNeeds(r: StatusReport): string {
  const g = r.enforcement.enableWhen;
  return `${g.observedDays} days of sign-ins observed and at most ${g.maxWouldBlockUsersPercent} % of observed users would be blocked`;
}

/** Client types, legacy ones marked: "Exchange ActiveSync (legacy, 2 users), Browser (1 user)". */
export function clientTypesText(im: ImpactStatus): string {
  return tally(im.wouldBlock, 'clientApps').map((t) => `${t.name} (${isLegacyClientApp(t.name) ? 'legacy, ' : ''}${t.users} user${t.users === 1 ? '' : 's'})`).join(', ');
}

/** The sign-in impact block: the recorded `campaign impact` report in a few lines, or how to get one. */
export function impactText(r: StatusReport): string[] {
  const im = r.impact;
  if (!im) return [`Sign-in impact: no impact report yet; ${impactHowTo(r.campaign)}.`];
  const u = im.users;
  const out: string[] = [];
  const when = im.at ?? im.window?.to ?? null;
  out.push(`Sign-in impact of the ${policyStateText(im, r.enforcement.policyState)} policy over ${im.days} days, measured ${when ?? 'at an unknown time'}${im.ageDays !== null ? ` (${ageText(im.ageDays)})` : ''}:`);
  out.push(`  Gate ${im.gate.met ? 'met' : 'not met'}: ${gateText(im)}`);
  out.push(`  Needs ${gateNeeds(r)} (spec.enforcement.enableWhen).`);
  const members = im.members !== undefined ? ` of ${im.members} in the enforcement group` : '';
  const share = percentOf(u.wouldBlock, u.observed);
  out.push(`  Observed users ${u.observed}${members} · satisfied ${u.satisfied} · interrupted ${u.interrupted} · would block ${u.wouldBlock}${share ? ` (${share})` : ''} · no passkey sign-in ${u.noPasskeySignIn}${im.unobserved !== undefined ? ` · not observed ${im.unobserved}` : ''}`);
  if (im.wouldBlock.length) {
    const names = im.wouldBlock.slice(0, 5).map((w) => w.userPrincipalName);
    const more = im.wouldBlock.length > 5 ? ` and ${im.wouldBlock.length - 5} more` : '';
    out.push(`  Would be blocked: ${names.join(', ')}${more}`);
    const apps = tally(im.wouldBlock, 'apps').slice(0, 5).map((t) => `${t.name} (${t.users})`);
    if (apps.length) out.push(`  Top would-block apps: ${apps.join(', ')}`);
    out.push(`  Client types: ${clientTypesText(im)}`);
    const legacy = tally(im.wouldBlock, 'clientApps').filter((t) => isLegacyClientApp(t.name));
    if (legacy.length) out.push(`  Legacy clients (${legacy.map((t) => t.name).join(', ')}) cannot use a passkey: move those users to a modern client or app before enabling the policy.`);
  }
  if (r.enforcement.mode === 'graduated') {
    out.push(`  Graduated users (under the enabled policy): ${graduatedCount(r)}`);
  }
  if (im.stale) out.push(`  Stale: measured ${ageText(im.ageDays)}; run \`campaign impact --campaign ${r.campaign} --record\` again before relying on it.`);
  return out;
}
