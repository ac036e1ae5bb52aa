// `campaign status --markdown FILE`: a GitHub job summary or pull-request comment. Deterministic (only the
// ledger, the observation and an explicit `now` go in) and bounded: tables stop at MAX_ROWS, far under
// GitHub's 65,536-character comment limit.
import { DELIVERY_OUTCOME_TITLE, deliveryText, graduatedCount, READINESS_TITLE, shownStages, stageCount, type StatusReport } from './model';
import { gateText, impactHowTo, isLegacyClientApp, percentOf, policyStateText, tally } from './impact';
import { stageTitle } from './stages';
import { ageText, earliestNote, gateNeeds, onboardingLine, stageText } from './text';
import { appendAll } from '../contracts/arrays';

export const MAX_ROWS = 50;
const MAX_NAMES = 10;

/** Text safe inside Markdown (and a table cell): inline punctuation escaped, no line breaks. */
export function md(text: string): string {
  // '#', '!' and '~' only matter at a line start or doubled; the text never starts a line in a cell or list item.
  return text.replace(/\r?\n/g, ' ').replace(/[\\`*_{}[\]<>|]/g, (c) => `\\${c}`);
}

/** Inline code that survives any content (a backtick in the value gets a longer fence). */
export function code(text: string): string {
  const t = text.replace(/\r?\n/g, ' ');
  const fence = t.includes('`') ? '``' : '`';
  return `${fence}${fence.length > 1 ? ' ' : ''}${t}${fence.length > 1 ? ' ' : ''}${fence}`;
}

/** Text whose `backtick` spans stay inline code and whose rest is escaped. */
function mdWithCode(text: string): string {
  return text.split('`').map((part, i) => (i % 2 === 1 ? code(part) : md(part))).join('');
}

export function mdTable(header: string[], rows: string[][], right: boolean[] = []): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (right[i] ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

const day = (iso: string | null): string => (iso ? iso.slice(0, 10) : '—');
const more = (total: number, shown: number, what: string) => (total > shown ? [``, `… and ${total - shown} more ${what} (see \`campaign status --json\` or the dashboard).`] : []);

export function renderMarkdown(r: StatusReport): string {
  const c = r.counts;
  const out: string[] = [];
  out.push(`## Passkey campaign ${code(r.campaign)}: ${r.status}`);
  out.push('');
  if (r.description) {
    // A description starting with '#', '>', '-', '+' or '1.' would become a heading, quote or list.
    out.push(md(r.description).replace(/^([#>+=-]|\d+\.)/, '\\$1'));
    out.push('');
  }
  const run = r.lastRun
    ? `Last run ${code(r.lastRun.runId)} at ${r.lastRun.startedAt} (${r.lastRun.ok === true ? 'ok' : r.lastRun.ok === false ? 'failed' : 'unfinished'}) · ${r.runs} run${r.runs === 1 ? '' : 's'}`
    : 'No reconcile run yet';
  out.push(`${run} · estimated end **${r.estimatedEnd ?? 'unknown'}**${earliestNote(r)}`);
  out.push('');
  const pct = (n: number) => (c.targeted > 0 ? `${Math.round((100 * n) / c.targeted)}%` : '—');
  appendAll(out, mdTable(['Stage', 'Users', 'Share'], [
    ['Targeted', String(c.targeted), c.targeted > 0 ? '100%' : '—'],
    ...shownStages(r).map((s) => [stageTitle(s), String(stageCount(r, s)), pct(stageCount(r, s))]),
    ['Exceeded grace period', String(c.exceededGrace), pct(c.exceededGrace)],
    ['Excluded', String(c.excluded), '—'],
    ['Outside FIDO2 policy scope', String(c.blocked), pct(c.blocked)],
    ['Not read in the last run', String(c.unread), pct(c.unread)],
  ], [false, true, true]));
  out.push('');
  const rd = r.readiness;
  out.push(`**Readiness**${r.asOf ? ` (observed ${r.asOf})` : ''}: ${READINESS_TITLE.needsDeviceUpdate.toLowerCase()} ${rd.needsDeviceUpdate} · ` +
    `${READINESS_TITLE.needsPasskey.toLowerCase()} ${rd.needsPasskey} · ${READINESS_TITLE.ready.toLowerCase()} ${rd.ready}${rd.unassessed ? ` · not assessed ${rd.unassessed}` : ''}` +
    `${rd.enforced ? ` (not counting ${rd.enforced} already enforced)` : ''}`);
  out.push('');

  if (r.stuck) {
    out.push(`### Stuck users (${r.stuck.users})`);
    out.push('');
    out.push(md(r.stuck.message));
    out.push('');
    out.push('What you can do:');
    out.push('');
    for (const a of r.stuck.actions) out.push(`- ${mdWithCode(a)}`);
    out.push('');
  }

  appendAll(out, onboardingSection(r));
  out.push('');

  appendAll(out, impactSection(r));
  out.push('');

  out.push('### Alerts');
  out.push('');
  if (r.alerts.length === 0) out.push('None.');
  for (const a of r.alerts) {
    const names = a.users.slice(0, MAX_NAMES).map((u) => code(u.userPrincipalName));
    const rest = a.users.length > MAX_NAMES ? ` and ${a.users.length - MAX_NAMES} more` : '';
    out.push(`- **${a.severity === 'error' ? 'Error' : 'Warning'}** (${a.code}): ${md(a.message)}${names.length ? ` ${names.join(', ')}${rest}` : ''}`);
  }
  out.push('');

  out.push('### Changes in the last run');
  out.push('');
  const ch = r.lastRunChanges;
  if (!ch) {
    out.push('No run recorded yet.');
  } else {
    const parts = [
      `${ch.transitions.length} stage change${ch.transitions.length === 1 ? '' : 's'}`,
      `${ch.notifications} notification${ch.notifications === 1 ? '' : 's'} sent`,
      `${ch.groupAdds} added to the enforcement group`,
      `${ch.graceExceeded.length} exceeded a grace period`,
      `${ch.postponed.length} postponement${ch.postponed.length === 1 ? '' : 's'}`,
      `${ch.alertsRaised.length} alert${ch.alertsRaised.length === 1 ? '' : 's'} raised, ${ch.alertsCleared.length} cleared`,
    ];
    const ob = ch.onboarding;
    if (ob.issued + ob.queued + ob.expired > 0) parts.push(`${ob.issued} onboarding pass${ob.issued === 1 ? '' : 'es'} issued, ${ob.queued} queued for the helpdesk, ${ob.expired} expired unused`);
    out.push(`Run ${code(ch.runId)} at ${ch.at}: ${parts.join(', ')}.`);
    if (ch.transitions.length) {
      out.push('');
      const rows = ch.transitions.slice(0, MAX_ROWS).map((t) => [code(t.userPrincipalName), t.from ? stageText(t.from) : 'entered', t.to ? stageText(t.to) : 'left the campaign', md(t.reason)]);
      appendAll(out, mdTable(['User', 'From', 'To', 'Reason'], rows));
      appendAll(out, more(ch.transitions.length, MAX_ROWS, 'stage changes'));
    }
    const flagged = [
      ...ch.graceExceeded.map((g) => [code(g.userPrincipalName), `exceeded the ${stageText(g.stage).toLowerCase()} grace period`]),
      ...ch.alertsRaised.map((a) => [code(a.userPrincipalName), `alert raised: ${a.kind}`]),
      ...ch.alertsCleared.map((a) => [code(a.userPrincipalName), `alert cleared: ${a.kind}`]),
      ...ch.postponed.map((p) => [code(p.userPrincipalName), `postponed ${stageText(p.stage).toLowerCase()} until ${day(p.until)}`]),
    ];
    if (flagged.length) {
      out.push('');
      appendAll(out, mdTable(['User', 'Event'], flagged.slice(0, MAX_ROWS)));
      appendAll(out, more(flagged.length, MAX_ROWS, 'events'));
    }
  }
  out.push('');

  const exceeded = r.users.filter((u) => u.exceededGrace);
  out.push(`### Users who exceeded a grace period (${exceeded.length})`);
  out.push('');
  if (exceeded.length === 0) {
    out.push('None.');
  } else {
    const rows = exceeded.slice(0, MAX_ROWS).map((u) => [code(u.userPrincipalName), stageText(u.stage), day(u.stageSince), day(u.exceededGraceAt), u.devicesBelowMinimum.length ? md(u.devicesBelowMinimum.join('; ')) : '—']);
    appendAll(out, mdTable(['User', 'Stage', 'Since', 'Exceeded grace period', 'Devices below minimum OS'], rows));
    appendAll(out, more(exceeded.length, MAX_ROWS, 'users'));
  }
  out.push('');

  appendAll(out, noticesSection(r));
  out.push('');

  out.push('### Outlook');
  out.push('');
  for (const l of r.outlook) out.push(`- ${md(l)}`);
  out.push(`- ${md(r.estimateAssumptions)}`);
  for (const w of r.warnings) out.push(`- Note: ${md(w)}`);
  out.push('');
  return out.join('\n');
}

/** Onboarding passes: who needs one (on or off), what was issued, queued and expired; the queue's first rows. */
function onboardingSection(r: StatusReport): string[] {
  const o = r.onboarding;
  const out = ['### Onboarding passes', ''];
  out.push(`${md(onboardingLine(r))}.`);
  if (o.queue.length) {
    out.push('');
    appendAll(out, mdTable(['Helpdesk queue', 'Why', 'Since'], o.queue.slice(0, MAX_ROWS).map((q) => [code(q.userPrincipalName), md(q.why), day(q.since)])));
    appendAll(out, more(o.queue.length, MAX_ROWS, 'users'));
    out.push('');
    out.push(`The queue with the helpdesk's instructions: ${code(`campaign status --campaign ${r.campaign} --onboarding-queue queue.csv`)}.`);
  }
  return out;
}

/** Which users were told: the latest notice's outcome per user, and those whose latest was not delivered. */
function noticesSection(r: StatusReport): string[] {
  const out = ['### Notice delivery', ''];
  const n = r.notices;
  if (n.channel === 'none') {
    out.push('Notifications are off (`spec.notifications.channel: none`): users are told outside this tool, and enforcement follows the notice days counted from entering the enforcement notice stage.');
    return out;
  }
  const parts = (Object.keys(n.latest) as Array<keyof typeof n.latest>).filter((k) => n.latest[k] > 0).map((k) => `${DELIVERY_OUTCOME_TITLE[k]} ${n.latest[k]}`);
  if (n.unknown > 0) parts.push(`no delivery record ${n.unknown}`);
  out.push(parts.length ? `Latest notice per user in the campaign (${n.channel}): ${parts.join(' · ')}.` : 'No user is in the campaign yet.');
  const untold = r.users.filter((u) => u.stage !== null && ((u.delivery && u.delivery.outcome !== 'delivered') || u.alerts.includes('Unreachable')));
  if (untold.length) {
    out.push('');
    const rows = untold.slice(0, MAX_ROWS).map((u) => [code(u.userPrincipalName), stageText(u.stage), u.delivery ? md(deliveryText(u.delivery)) : 'no notice recorded', u.alerts.includes('Unreachable') ? 'Unreachable' : '—']);
    appendAll(out, mdTable(['User', 'Stage', 'Latest notice', 'Alert'], rows));
    appendAll(out, more(untold.length, MAX_ROWS, 'users'));
  }
  return out;
}

/** The recorded sign-in impact of the campaign's policy: verdict, counts, the would-block users; or how to get it. */
function impactSection(r: StatusReport): string[] {
  const out = ['### Sign-in impact', ''];
  const im = r.impact;
  if (!im) {
    out.push(`No impact report yet: ${mdWithCode(impactHowTo(r.campaign))}.`);
    return out;
  }
  const when = im.at ?? im.window?.to ?? null;
  out.push(`**Gate ${im.gate.met ? 'met' : 'not met'}**: ${md(gateText(im))}`);
  out.push('');
  out.push(`Needs ${md(gateNeeds(r))} (${code('spec.enforcement.enableWhen')}). Measured ${when ?? 'at an unknown time'}${im.ageDays !== null ? ` (${ageText(im.ageDays)})` : ''} over ${im.days} days, ` +
    `policy ${md(policyStateText(im, r.enforcement.policyState))}${im.stale ? `. **Stale**: run ${code(`campaign impact --campaign ${r.campaign} --record`)} again before relying on it` : ''}.`);
  out.push('');
  const u = im.users;
  const rows: string[][] = [
    ['Observed (the policy evaluated at least one sign-in)', String(u.observed)],
    ['Satisfied the policy', String(u.satisfied)],
    ['Interrupted (asked for more)', String(u.interrupted)],
    [`Would be blocked${u.observed > 0 ? ` (${percentOf(u.wouldBlock, u.observed)} of observed)` : ''}`, String(u.wouldBlock)],
    ['No passkey sign-in in the window', String(u.noPasskeySignIn)],
  ];
  if (im.members !== undefined) rows.unshift(['Enforcement group members', String(im.members)]);
  if (im.unobserved !== undefined) rows.push(['Not observed (no sign-in the policy evaluated)', String(im.unobserved)]);
  if (r.enforcement.mode === 'graduated') rows.push(['Graduated users (enabled policy)', String(graduatedCount(r))]);
  appendAll(out, mdTable(['Users', 'Count'], rows, [false, true]));
  if (im.wouldBlock.length) {
    out.push('');
    const client = (c: string) => (isLegacyClientApp(c) ? `${md(c)} (legacy)` : md(c));
    const list = im.wouldBlock.slice(0, MAX_ROWS).map((w) => [code(w.userPrincipalName), w.apps.map(md).join(', ') || '—', w.clientApps.map(client).join(', ') || '—']);
    appendAll(out, mdTable(['Would be blocked', 'Applications', 'Client types'], list));
    appendAll(out, more(im.wouldBlock.length, MAX_ROWS, 'users'));
    const legacy = tally(im.wouldBlock, 'clientApps').filter((t) => isLegacyClientApp(t.name));
    if (legacy.length) {
      out.push('');
      out.push(`Legacy clients (${legacy.map((t) => `${md(t.name)}: ${t.users}`).join(', ')}) cannot use a passkey: move those users to a modern client before enabling the policy.`);
    }
  }
  return out;
}
