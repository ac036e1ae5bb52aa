// `campaign plan --markdown FILE`: the campaign's review screen before it starts (or before its next run), for a
// pull request's job summary. Deterministic: the plan's result and its overview go in, nothing else.
import type { RunResult } from '../reconcile/result';
import { code, md, mdTable } from './markdown';
import { READINESS_TITLE, STAGE_TITLE } from './model';
import type { PlanOverview } from './overview';
import { STAGES } from '../engine/types';
import { appendAll } from '../contracts/arrays';

const MAX_ROWS = 50;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function renderProposalMarkdown(result: RunResult, o: PlanOverview): string {
  const first = result.status === 'notStarted';
  const out: string[] = [];
  const pct = (n: number) => (o.targeted > 0 ? `${Math.round((100 * n) / o.targeted)}%` : '—');
  out.push(`## Review campaign ${code(result.campaign)} (proposal)`);
  out.push('');
  out.push(first
    ? `> **Proposal: nothing is deployed yet.** What the campaign's first run would do, computed from the tenant as it is at ${result.now}. Nobody has been told and nobody is enforced.`
    : `> **Proposal.** What the next reconcile run of this ${result.status} campaign would do, computed from the tenant as it is at ${result.now}. Nothing has been written.`);
  out.push('');

  out.push('### Goal');
  out.push('');
  // A description starting with '#', '>', '-', '+' or '1.' would become a heading, quote or list.
  if (o.goal.description) out.push(`**${md(o.goal.description).replace(/^([#>+=-]|\d+\.)/, '\\$1')}**`, '');
  out.push(md(o.goal.summary));
  out.push('');

  out.push(`### Targeted users: ${o.targeted}`);
  out.push('');
  appendAll(out, mdTable(['Who', 'Users'], [
    ['Targeted', String(o.targeted)],
    ['Excluded (break-glass accounts and exclusions)', String(o.excluded)],
    ['Outside the FIDO2 (passkey) policy scope: cannot register a passkey', String(o.outOfFido2Scope)],
    ['Disabled accounts: held where they are', String(o.disabled)],
  ], [false, true]));
  out.push('');

  out.push('### Readiness');
  out.push('');
  const r = o.readiness;
  appendAll(out, mdTable(['Readiness', 'Users', 'Share of targeted'], [
    [READINESS_TITLE.needsDeviceUpdate, String(r.needsDeviceUpdate), pct(r.needsDeviceUpdate)],
    [READINESS_TITLE.needsPasskey, String(r.needsPasskey), pct(r.needsPasskey)],
    [READINESS_TITLE.ready, String(r.ready), pct(r.ready)],
    ['Already enforced', String(r.alreadyEnforced), pct(r.alreadyEnforced)],
    ['Not assessed (Graph reads failed)', String(r.unassessed), pct(r.unassessed)],
  ], [false, true, true]));
  out.push('');
  out.push('Ready for enforcement counts users who are not enforced yet: they have compatible devices and a registered passkey.');
  out.push('');

  out.push(`### Onboarding passes: ${o.onboarding.needPass}`);
  out.push('');
  out.push(md(o.onboarding.message));
  out.push('');

  const platforms = (Object.keys(o.devicesBelowMinimum) as Array<keyof typeof o.devicesBelowMinimum>).filter((p) => o.devicesBelowMinimum[p] > 0);
  const totalBelow = platforms.reduce((n, p) => n + o.devicesBelowMinimum[p], 0);
  out.push(`### Devices below the minimum OS: ${totalBelow}`);
  out.push('');
  if (totalBelow === 0) {
    out.push('No active device is below the minimum OS.');
  } else {
    out.push(`Active devices by platform: ${platforms.map((p) => `${p} ${o.devicesBelowMinimum[p]}`).join(' · ')}. Their users update them before anything else.`);
    out.push('');
    const rows = o.devicesBelowMinimumByVersion.slice(0, MAX_ROWS).map((g) => [`${g.platform} ${g.version}`, String(g.devices), String(g.users), g.minimum]);
    appendAll(out, mdTable(['OS version', 'Devices', 'Users', 'Minimum'], rows, [false, true, true, false]));
    if (o.devicesBelowMinimumByVersion.length > MAX_ROWS) out.push('', `… and ${o.devicesBelowMinimumByVersion.length - MAX_ROWS} more versions (see \`campaign plan --json\`).`);
  }
  out.push('');

  out.push(first ? '### Stages the campaign starts with' : '### Stages after the next run');
  out.push('');
  appendAll(out, mdTable(['Stage', 'Users', 'Share of targeted'], STAGES.map((s) => [STAGE_TITLE[s], String(o.stages[s]), pct(o.stages[s])]), [false, true, true]));
  const moves = new Map<string, number>();
  for (const t of result.transitions) {
    const k = `${t.from ? STAGE_TITLE[t.from] : 'Enters the campaign'} → ${t.to ? STAGE_TITLE[t.to] : 'Leaves the campaign'}`;
    moves.set(k, (moves.get(k) ?? 0) + 1);
  }
  if (moves.size) {
    out.push('');
    out.push(`${plural(result.transitions.length, 'stage move', 'stage moves')}: ${[...moves].map(([k, n]) => `${md(k)} ${n}`).join(' · ')}.`);
  }
  out.push('');

  out.push('### Estimated duration');
  out.push('');
  out.push(o.estimatedEnd === null
    ? 'Unknown: no targeted user can be projected (see the outlook).'
    : `**${plural(o.estimatedDays ?? 0, 'day', 'days')}**: the last user would be enforced on **${o.estimatedEnd}** if ${md(o.estimateAssumes)}.`);
  out.push('');

  out.push('### Outlook');
  out.push('');
  for (const l of o.outlook) out.push(`- ${md(l)}`);
  out.push('');

  out.push('### Notices to send');
  out.push('');
  const channel = o.goal.notificationChannel === 'none'
    ? 'Notifications are off (`spec.notifications.channel: none`): users are told outside this tool.'
    : `${plural(result.notifications, 'notice', 'notices')} to send by ${o.goal.notificationChannel === 'teams' ? 'Teams' : 'email'}`;
  out.push(`${channel}${o.goal.notificationChannel === 'none' ? ' ' : ', '}${plural(result.groupAdds, 'user', 'users')} to add to the enforcement group ${code(o.goal.enforcementGroup)}.`);
  if (result.notificationsDeferred) out.push('', `${plural(result.notificationsDeferred.users, 'user waits', 'users wait')} for a later run: ${md(result.notificationsDeferred.reason)}.`);
  if (result.deferred > 0) out.push('', `${plural(result.deferred, 'user ready for enforcement waits', 'users ready for enforcement wait')} for a later run (spec.enforcement.maxNewPerRun).`);
  out.push('');

  out.push(`### Warnings: ${result.warnings.length}`);
  out.push('');
  if (result.warnings.length === 0) out.push('None.');
  for (const w of result.warnings) out.push(`- ${md(w)}`);
  out.push('');
  return out.join('\n');
}
