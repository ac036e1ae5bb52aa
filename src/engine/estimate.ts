// Campaign projections for status and plan: the estimated end date and the readiness outlook.
// Pure and deterministic: same inputs, same sentences.
import type { Campaign, OsPlatform } from '../campaign/types';
import { assessReadiness, readinessContext, type Readiness, type ReadinessContext } from './readiness';
import { inCampaign, type CampaignState, type UserState } from './state';
import { dateOfDay, dayOf, DAY_MS } from './time';
import { MAIL_LIMITS } from './mail-limits';
import type { Observation, ObservedUser, Stage } from './types';

export interface EstimateOptions {
  /**
   * Count the postponements each user still has (default true): the estimate is the latest date a
   * cooperating campaign can end on, so it should not promise a date a user's postponement can move.
   */
  includePostponements?: boolean;
  /**
   * The readiness of a user of `observation` as assessReadiness gives it for the same campaign, FIDO2 policy and
   * `now` (a caller that already assessed every user passes its results); passkeyEvidence, disallowedFido2 and
   * activeDevices are not read.
   */
  assess?: (user: ObservedUser, ctx: ReadinessContext) => Readiness;
  /** estimateEnd's answer for the same inputs, when the caller already has it (outlook states it). */
  end?: string | null;
  /**
   * state.users[observation.users[i].userId], when the caller already looked every user up (at a large tenant a
   * million lookups in the state are a noticeable part of the work).
   */
  userAt?: (i: number) => UserState | undefined;
  /** The users of the state in the campaign (inCampaign), in any order, when the caller already collected them. */
  inCampaign?: readonly UserState[];
}

/**
 * The day (YYYY-MM-DD) the last assessable user would be enforced if every user acted on the last day
 * of each grace period. Users already past a deadline are assumed to act today (the earliest end while they
 * wait; a passed grace period cannot be postponed); users blocked by the
 * FIDO2 policy or disabled cannot finish and are left out (the outlook names them); enforced users count
 * with their enforcement day. null when nobody can be projected.
 */
export function estimateEnd(campaign: Campaign, observation: Observation, state: CampaignState, now: string, opts: EstimateOptions = {}): string | null {
  // The latest day, without a map of every user's: the same unless the user with the latest day is listed again
  // later with an earlier one (the map keeps a user's last day), which is then left to the map.
  let last: number | null = null;
  let lastId: string | null = null;
  let again = false;
  projectEach(campaign, observation, state, now, opts, (id, d) => {
    if (last === null || d > last) {
      last = d;
      lastId = id;
    } else if (d < last && id === lastId) {
      again = true;
    }
  });
  if (again) return estimateEndOf(projectedEnforcementDays(campaign, observation, state, now, opts));
  return last === null ? null : dateOfDay(last);
}

function estimateEndOf(days: Map<string, number>): string | null {
  let last: number | null = null;
  for (const d of days.values()) if (last === null || d > last) last = d;
  return last === null ? null : dateOfDay(last);
}

/** Projected enforcement day (UTC day number) per targeted user that can be projected. */
export function projectedEnforcementDays(campaign: Campaign, observation: Observation, state: CampaignState, now: string, opts: EstimateOptions = {}): Map<string, number> {
  const out = new Map<string, number>();
  projectEach(campaign, observation, state, now, opts, (id, day) => out.set(id, day));
  return out;
}

/** Each projected user's id and enforcement day, in the observation's order. */
function projectEach(campaign: Campaign, observation: Observation, state: CampaignState, now: string, opts: EstimateOptions, visit: (userId: string, day: number) => void): void {
  const ctx = readinessContext(campaign, observation.fido2Policy, now);
  const nowDay = dayOf(now);
  const s = campaign.spec.stages;
  const p = campaign.spec.postponement;
  const withPostponements = (opts.includePostponements ?? true) && p.enabled;
  const policyDisabled = observation.fido2Policy?.state === 'disabled';
  const assess = opts.assess ?? assessReadiness;
  const userAt = opts.userAt;
  // Email: users not yet in the campaign are told at most the sender mailboxes' daily capacity a day, in order.
  const perDay = mailPerDay(campaign);
  let waiting = 0;
  const users = observation.users;
  for (let i = 0; i < users.length; i++) {
    const ou = users[i];
    // Blocked and disabled users are held, so they have no projected end; the outlook names them.
    if (policyDisabled || ou.inFido2PolicyScope === false || !ou.accountEnabled) continue;
    const u = userAt ? userAt(i) : state.users[ou.userId];
    const spare = (stage: Stage): number => (withPostponements ? Math.max(0, p.maxTimes - (u?.postponements[stage] ?? 0)) * p.days : 0);
    const assessable = ou.readErrors.length === 0;
    const r: Readiness | null = assessable ? assess(ou, ctx) : null;
    // Unknown readiness is projected as the longest path: device update, then passkey registration.
    const needsDevice = r ? r.devicesBelowMinimum.length > 0 : true;
    const hasPasskey = r ? r.hasPasskey === true : false;
    const fromPasskeyReg = (day: number): number => day + s.passkeyRegistration.gracePeriodDays + spare('passkeyRegistration');
    const fromNotice = (day: number): number => day + s.enforcement.noticeDays + spare('enforcementNotice');
    let day: number;
    if (inCampaign(u)) {
      const since = dayOf(u.stageSince);
      // Past its grace period a stage can no longer be postponed: such a user is assumed to act today.
      const graceEnd = (stage: 'deviceUpdate' | 'passkeyRegistration'): number =>
        u.exceededGrace ? nowDay : Math.max(nowDay, since + s[stage].gracePeriodDays + u.extensionDays + spare(stage));
      switch (u.stage) {
        case 'deviceUpdate': {
          const moved = graceEnd('deviceUpdate');
          day = fromNotice(hasPasskey ? moved : fromPasskeyReg(moved));
          break;
        }
        case 'passkeyRegistration':
          day = fromNotice(graceEnd('passkeyRegistration'));
          break;
        case 'enforcementNotice':
          day = Math.max(nowDay, since + s.enforcement.noticeDays + u.extensionDays + spare('enforcementNotice'));
          break;
        case 'enforced':
        case 'graduated':
          day = dayOf(u.enforcedAt ?? u.stageSince);
          break;
      }
    } else {
      let d = nowDay + (perDay === null ? 0 : Math.floor(waiting++ / perDay));
      if (needsDevice) d += s.deviceUpdate.gracePeriodDays + spare('deviceUpdate');
      if (!hasPasskey) d = fromPasskeyReg(d);
      day = fromNotice(d);
    }
    visit(ou.userId, day);
  }
}

/** How many users an email campaign can first notify a day (Exchange Online limits per sender); null: no limit applies. */
function mailPerDay(campaign: Campaign): number | null {
  const n = campaign.spec.notifications;
  if (n.channel !== 'email') return null;
  return MAIL_LIMITS.recipientsPerDay * Math.max(1, n.senders?.length ?? 1);
}

function pct(n: number, of: number): string {
  return `${Math.round((100 * n) / of)}%`;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A few deterministic sentences on readiness and progress: the seed's "readiness outlook". */
export function outlook(campaign: Campaign, observation: Observation, state: CampaignState, now: string, opts: EstimateOptions = {}): string[] {
  const lines: string[] = [];
  const users = observation.users;
  if (users.length === 0) return ['No users are targeted.'];
  const ctx = readinessContext(campaign, observation.fido2Policy, now);
  // Readiness is counted over the users not yet enforced: an enforced user is done, not "ready for enforcement".
  let device = 0, passkey = 0, ready = 0, failed = 0, failedOpen = 0, enforced = 0, disabled = 0, blocked = 0, unknownVersions = 0;
  const byPlatform = new Map<OsPlatform, number>();
  const userAt = opts.userAt;
  for (let i = 0; i < users.length; i++) {
    const ou = users[i];
    const u = userAt ? userAt(i) : state.users[ou.userId];
    const isEnforced = inCampaign(u) && (u.stage === 'enforced' || u.stage === 'graduated');
    if (isEnforced) enforced++;
    if (ou.inFido2PolicyScope === false) blocked++;
    if (ou.readErrors.length > 0) { failed++; if (!isEnforced) failedOpen++; continue; }
    if (!ou.accountEnabled) disabled++;
    const r = (opts.assess ?? assessReadiness)(ou, ctx);
    unknownVersions += r.unknownVersions.length;
    for (const d of r.devicesBelowMinimum) byPlatform.set(d.platform, (byPlatform.get(d.platform) ?? 0) + 1);
    if (isEnforced) continue;
    if (r.category === 'needsDeviceUpdate') device++;
    else if (r.category === 'needsPasskey') passkey++;
    else ready++;
  }
  const open = users.length - enforced;
  const assessed = open - failedOpen;
  const breakdown = `${device} ${device === 1 ? 'needs' : 'need'} a device update (${pct(device, assessed)}), ` +
    `${passkey} ${passkey === 1 ? 'needs' : 'need'} a passkey (${pct(passkey, assessed)}), ${ready} ${ready === 1 ? 'is' : 'are'} ready for enforcement (${pct(ready, assessed)})`;
  const targeted = `${count(users.length, 'user is', 'users are')} targeted`;
  if (enforced === 0) {
    lines.push(assessed === 0 ? `${targeted}; none could be assessed.` : `${targeted}: ${breakdown}.`);
  } else if (open === 0) {
    lines.push(enforced === 1 ? '1 user is targeted and already enforced.' : `${enforced} users are targeted, all already enforced.`);
  } else {
    lines.push(`${targeted}: ${enforced} already enforced; of the other ${open}, ` +
      (assessed === 0 ? 'none could be assessed.' : `${breakdown}.`));
  }
  if (failed > 0) lines.push(`${count(failed, 'user', 'users')} could not be assessed because Graph reads failed; they make no move until a run reads them.`);
  if (byPlatform.size > 0) {
    const parts = [...byPlatform.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([platform, n]) => `${n} ${platform} (minimum ${campaign.spec.devices.minimumOs[platform]})`);
    lines.push(`Active devices below the minimum OS: ${parts.join(', ')}.`);
  }
  if (unknownVersions > 0) {
    lines.push(unknownVersions === 1
      ? '1 active device reports an OS version that could not be read; it does not block its user.'
      : `${unknownVersions} active devices report an OS version that could not be read; they do not block their users.`);
  }
  const policy = observation.fido2Policy;
  if (policy?.state === 'disabled') {
    lines.push('The FIDO2 (passkey) authentication method policy is disabled: nobody can register a passkey until it is enabled.');
  } else if (policy?.keyRestrictions.isEnforced) {
    const n = policy.keyRestrictions.aaGuids.length;
    lines.push(policy.keyRestrictions.enforcementType === 'allow'
      ? `The FIDO2 policy allows only ${count(n, 'authenticator model', 'authenticator models')} (AAGUID allow list): passkeys of other models do not count.`
      : `The FIDO2 policy blocks ${count(n, 'authenticator model', 'authenticator models')} (AAGUID block list): passkeys of those models do not count.`);
  }
  if (blocked > 0) {
    lines.push(`${count(blocked, 'user is', 'users are')} outside the FIDO2 (passkey) policy scope and cannot register a passkey until added to it.`);
  }
  if (disabled > 0) lines.push(`${count(disabled, 'targeted account is', 'targeted accounts are')} disabled and held where they are.`);
  const perDay = mailPerDay(campaign);
  let newcomers = 0;
  for (let i = 0; i < users.length; i++) if (!inCampaign(userAt ? userAt(i) : state.users[users[i].userId])) newcomers++;
  if (perDay !== null && newcomers > perDay) {
    lines.push(`Email reaches at most ${perDay.toLocaleString('en-US')} users a day from ${count(Math.max(1, campaign.spec.notifications.senders?.length ?? 1), 'sender mailbox', 'sender mailboxes')} (Exchange Online: 10,000 recipients a day each): the first notices of ${newcomers.toLocaleString('en-US')} users take ${Math.ceil(newcomers / perDay)} days, and each user's clock starts when their notice goes out.`);
  }

  const stages: Record<Stage, number> = { deviceUpdate: 0, passkeyRegistration: 0, enforcementNotice: 0, enforced: 0, graduated: 0 };
  let exceeded = 0, withoutPasskey = 0, inside = 0;
  const tally = (u: UserState) => {
    if (!inCampaign(u)) return;
    inside++;
    stages[u.stage]++;
    if (u.exceededGrace) exceeded++;
    if (u.alerts.includes('EnforcedWithoutPasskey')) withoutPasskey++;
  };
  if (opts.inCampaign) for (const u of opts.inCampaign) tally(u);
  else for (const id in state.users) tally(state.users[id]);
  if (inside > 0) {
    lines.push(`In the campaign: ${stages.deviceUpdate} in device update, ${stages.passkeyRegistration} in passkey registration, ` +
      `${stages.enforcementNotice} in enforcement notice, ${stages.enforced + stages.graduated} enforced${stages.graduated ? ` (${stages.graduated} graduated to the enabled policy)` : ''}.`);
  }
  if (exceeded > 0) lines.push(`${count(exceeded, 'user has', 'users have')} exceeded a grace period.`);
  if (withoutPasskey > 0) lines.push(`${count(withoutPasskey, 'enforced user has', 'enforced users have')} no passkey any more.`);
  const end = opts.end !== undefined ? opts.end : estimateEnd(campaign, observation, state, now, opts);
  if (end !== null) {
    const extra = (opts.includePostponements ?? true) && campaign.spec.postponement.enabled ? ' and uses every postponement left' : '';
    lines.push(exceeded > 0
      ? `If the ${count(exceeded, 'user', 'users')} past a grace period ${exceeded === 1 ? 'acts' : 'act'} today and every other user acts on the last day of each grace period${extra}, the last user is enforced on ${end} at the earliest.`
      : `If every user acts on the last day of each grace period${extra}, the last user is enforced on ${end}.`);
  }
  return lines;
}

/** The users past a grace period: they get no more reminders and make no progress until they act. */
export interface StuckSummary {
  users: number;
  /** When the earliest of their grace periods ended (ISO, midnight UTC); null when nobody is stuck. */
  oldestSince: string | null;
}

/**
 * Who is past a grace period, from the ledger's state alone. `inside`: the state's users in the campaign (any order),
 * when the caller already collected them.
 */
export function stuckUsers(campaign: Campaign, state: CampaignState, inside?: readonly UserState[]): StuckSummary {
  let users = 0;
  let oldest: number | null = null;
  const s = campaign.spec.stages;
  const add = (u: UserState) => {
    if (!inCampaign(u) || !u.exceededGrace || (u.stage !== 'deviceUpdate' && u.stage !== 'passkeyRegistration')) return;
    users++;
    // The deadline that passed, as the run that flagged it computed it (postponement is refused after it).
    const deadline = dayOf(u.stageSince) + s[u.stage].gracePeriodDays + u.extensionDays;
    if (oldest === null || deadline < oldest) oldest = deadline;
  };
  if (inside) for (const u of inside) add(u);
  else for (const id in state.users) add(state.users[id]);
  return { users, oldestSince: oldest === null ? null : new Date((oldest as number) * DAY_MS).toISOString() };
}

/** One sentence on what stuck users mean for the end date; `now` gives the age of the oldest. */
export function stuckMessage(stuck: StuckSummary, now: string): string {
  const n = stuck.users;
  const since = stuck.oldestSince === null ? '' : (() => {
    const age = dayOf(now) - dayOf(stuck.oldestSince);
    return ` (the oldest since ${stuck.oldestSince.slice(0, 10)}, ${count(Math.max(0, age), 'day', 'days')} ago)`;
  })();
  return `${count(n, 'user is', 'users are')} past a grace period${since} and ${n === 1 ? 'gets' : 'get'} no more reminders. ` +
    'They make no progress until they act, so the campaign cannot end before they do; the estimated end is reached only if they act today.';
}

/** What an admin can do about stuck users, one imperative sentence each, with the command or file to use. */
export function stuckActions(campaign: Campaign): string[] {
  const name = campaign.metadata.name;
  const out = [
    `Contact them directly: \`campaign status --campaign ${name} --csv stuck-users.csv --stuck\` writes their UPN, display name, mail, stage, deadline, devices below the minimum OS and last notice as a CSV file (without --stuck: every targeted user).`,
  ];
  const p = campaign.spec.postponement;
  if (p.enabled) {
    out.push(`Postpone before a deadline passes: a user still within a grace period can postpone it by ${count(p.days, 'day', 'days')} (at most ${count(p.maxTimes, 'time', 'times')} a stage) through the link in their notice, or you can for them with \`campaign postpone --campaign ${name} --user UPN\`; a grace period that has already passed cannot be postponed.`);
  }
  out.push('Exclude users who cannot move to passkeys yet: add their UPNs to spec.exclusions.users in the campaign file and merge the pull request; the next run takes them out of the campaign and out of the estimate.');
  return out;
}

/** One sentence stating what the estimated end assumes. */
export function estimateAssumptions(campaign: Campaign, opts: EstimateOptions = {}): string {
  const parts = ['every user acts on the last day of each grace period'];
  if ((opts.includePostponements ?? true) && campaign.spec.postponement.enabled) parts[0] += ' and uses every postponement left';
  if (campaign.spec.notifications.channel === 'email') parts.push('first notices go out as fast as the sender mailboxes\' daily limit allows');
  parts.push('users already past a grace period act today');
  parts.push('disabled accounts and users outside the FIDO2 (passkey) policy scope are left out (they cannot finish until an admin changes that)');
  return `The estimated end assumes ${parts.slice(0, -1).join(', ')}, and ${parts[parts.length - 1]}.`;
}
