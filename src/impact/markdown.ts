// `campaign impact --markdown FILE`: the page a reviewer reads before the campaign's policy is enabled, e.g. in a
// pull request's job summary. The verdict first, then the numbers, the users the policy would block (legacy clients
// called out) and what to do next. Deterministic and bounded (tables stop at MAX_ROWS).
import { appendAll } from '../contracts/arrays';
import { CA_STATE_ENABLED, CA_STATE_REPORT_ONLY } from '../contracts/names';
import { code, md, mdTable } from '../report/markdown';
import type { ImpactReport, WouldBlockUser } from './report';

export const MAX_ROWS = 50;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const when = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
const share = (n: number, of: number) => (of > 0 ? `${Math.round((1000 * n) / of) / 10} %` : '—');

/** A Conditional Access policy state in words. */
export function stateText(state: string): string {
  if (state === CA_STATE_REPORT_ONLY) return 'report-only';
  if (state === CA_STATE_ENABLED) return 'enabled';
  return state;
}

function clientCell(w: WouldBlockUser): string {
  return w.clientApps.map((c) => (w.legacyClientApps.includes(c) ? `**${md(c)} (legacy)**` : md(c))).join(', ');
}

export function renderImpactMarkdown(r: ImpactReport): string {
  const out: string[] = [];
  const g = r.gate;
  out.push(`## Report-only impact of ${code(r.campaign)}: ${g.met ? 'gate met' : 'gate not met'}`);
  out.push('');
  out.push(g.met ? `**✅ The gate is met:** ${md(g.message)}` : `**❌ The gate is not met:** ${md(g.message)}`);
  out.push('');
  out.push(`Policy ${code(r.policyName)} (${stateText(r.policyState)}) · sign-ins from ${when(r.window.from)} to ${when(r.window.to)} (${plural(r.days, 'day')}) · ` +
    `the gate needs ${plural(g.observedDays, 'day')} of sign-ins and at most ${g.maxWouldBlockUsersPercent} % of the observed users with a sign-in the policy would block.`);
  out.push('');
  const u = r.users;
  appendAll(out, mdTable(['Members of the enforcement group', 'Users', 'Share of observed'], [
    ['All members', String(r.members), '—'],
    ['Observed: the policy evaluated at least one sign-in', String(u.observed), u.observed > 0 ? '100 %' : '—'],
    ['Satisfied the policy (phishing-resistant sign-in, nothing would be blocked)', String(u.satisfied), share(u.satisfied, u.observed)],
    ['Interrupted (asked to sign in again)', String(u.interrupted), share(u.interrupted, u.observed)],
    ['**Would be blocked** (at least one sign-in)', `**${u.wouldBlock}**`, `**${share(u.wouldBlock, u.observed)}**`],
    ['No passkey sign-in in the window (the unobserved included)', String(u.noPasskeySignIn), '—'],
    ['Not observed (no sign-in the policy evaluated)', String(r.unobserved), '—'],
  ], [false, true, true]));
  out.push('');
  const s = r.signIns;
  out.push(`Sign-ins of members: ${s.total}, of which the policy evaluated ${s.evaluated}: satisfied ${s.reportOnlySuccess + s.success} · interrupted ${s.reportOnlyInterrupted} · would be blocked ${s.reportOnlyFailure}` +
    `${s.failure ? ` · blocked ${s.failure}` : ''}.`);
  out.push('');

  out.push(`### Would be blocked (${r.wouldBlock.length})`);
  out.push('');
  if (r.wouldBlock.length === 0) {
    out.push('Nobody: the policy would not have blocked any sign-in of a member in the window.');
  } else {
    const legacy = r.wouldBlock.filter((w) => w.legacy);
    if (legacy.length) {
      const clients = [...new Set(legacy.flatMap((w) => w.legacyClientApps))].sort();
      out.push(`> **Legacy clients:** ${plural(legacy.length, 'user')} signed in with ${clients.map((c) => code(c)).join(', ')}. These clients cannot use a passkey at all: ` +
        'once the policy is enabled they stop working for these users, whatever the users do.');
      out.push('');
    }
    const rows = r.wouldBlock.slice(0, MAX_ROWS).map((w) => [code(w.userPrincipalName || w.userId), md(w.apps.join(', ')), clientCell(w), String(w.signIns), w.lastAt ? when(w.lastAt) : '—']);
    appendAll(out, mdTable(['User', 'Applications', 'Client apps', 'Would-block sign-ins', 'Last'], rows, [false, false, false, true, false]));
    if (r.wouldBlock.length > MAX_ROWS) out.push('', `… and ${r.wouldBlock.length - MAX_ROWS} more (see \`campaign impact --json\`).`);
  }
  out.push('');

  out.push('### What to do next');
  out.push('');
  for (const step of nextSteps(r)) out.push(`- ${step}`);
  out.push('');
  out.push(`<sub>${md(`campaign impact at ${r.at}; policy id ${r.policyId}.`)}</sub>`);
  out.push('');
  return out.join('\n');
}

function nextSteps(r: ImpactReport): string[] {
  const g = r.gate;
  const steps: string[] = [];
  if (r.policyState === CA_STATE_ENABLED) steps.push('The policy is already enabled: these results are what it enforced, not a forecast.');
  switch (g.reason) {
    case 'WindowTooShort':
      steps.push(`Wait until the policy has been in report-only for ${plural(g.observedDays, 'day')} (it covers ${plural(g.coveredDays, 'day')} of this window), then run the report again.`);
      break;
    case 'NoMembers':
      steps.push('Nobody is in the enforcement group yet: let the campaign move users there (they join once they have a passkey), then run the report again.');
      break;
    case 'NothingObserved':
      steps.push('No member had a sign-in the policy evaluated: check that the policy targets the enforcement group and is in report-only, then run the report again.');
      break;
    case 'TooManyWouldBlock':
      steps.push('Do not enable the policy yet: too many users would be locked out.');
      break;
    case 'GateMet':
      steps.push(`Enabling the policy is a reviewed change of ${code('spec.enforcement.policyState')} to ${code('enabled')}; this report is the evidence for that review.`);
      break;
  }
  const legacy = r.wouldBlock.filter((w) => w.legacy).length;
  if (legacy) steps.push(`Move the ${plural(legacy, 'user')} on legacy clients to a modern client (Outlook, the browser) or retire those protocols before enabling: a passkey cannot help there.`);
  const other = r.wouldBlock.length - legacy;
  if (other) steps.push(`Contact the ${plural(other, 'other user')} who would be blocked: they signed in to the applications listed without their passkey.`);
  const noPasskey = r.users.noPasskeySignIn - r.unobserved;
  if (noPasskey > 0) steps.push(`${plural(noPasskey, 'observed member')} signed in but never with a passkey in the window: remind them to use it.`);
  if (r.unobserved > 0) steps.push(`${plural(r.unobserved, 'member')} had no sign-in the policy evaluated: enabling the policy is untested for them.`);
  return steps;
}
