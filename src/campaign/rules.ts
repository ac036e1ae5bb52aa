// Cross-field checks a JSON Schema cannot express. Each rule is a small named function that
// looks at one normalized campaign and returns its findings.
import type { CampaignSource, PathSegment } from './source';
import { formatPath } from './source';
import { isGuid } from './roles';
import type { Campaign, Diagnostic, Severity } from './types';
import * as path from 'node:path';

export interface RuleContext {
  source: CampaignSource;
  /** The campaign as written (before defaults), to tell an explicit value from a default. */
  raw: unknown;
}

export type Rule = (campaign: Campaign, ctx: RuleContext) => Diagnostic[];

export function finding(ctx: RuleContext, severity: Severity, rule: string, at: PathSegment[], message: string, opts: { key?: boolean } = {}): Diagnostic {
  const pos = ctx.source.locate(at, opts);
  return { severity, file: ctx.source.file, line: pos.line, col: pos.col, path: formatPath(at), message, rule: `rule/${rule}` };
}

const lower = (s: string) => s.toLowerCase();

export const fileNameMatchesName: Rule = (c, ctx) => {
  const stem = path.basename(ctx.source.file).replace(/\.ya?ml$/i, '');
  if (stem === c.metadata.name) return [];
  return [
    finding(ctx, 'error', 'fileNameMatchesName', ['metadata', 'name'],
      `"${c.metadata.name}" does not match the file name "${path.basename(ctx.source.file)}". Rename the file to ${c.metadata.name}.yaml or set metadata.name: ${stem}.`),
  ];
};

export const targetsNotEmpty: Rule = (c, ctx) => {
  const t = c.spec.targets;
  if (t.roles.length + t.groups.length + t.users.length > 0) return [];
  return [finding(ctx, 'error', 'targetsNotEmpty', ['spec', 'targets'],
    'targets nobody: roles, groups and users are all empty. Remove "roles: []" to target the 15 supported admin roles, or list groups or users.')];
};

export const breakGlassRequired: Rule = (c, ctx) => {
  if (c.spec.exclusions.breakGlass.length > 0) return [];
  if (c.spec.exclusions.acknowledgeNoBreakGlass) {
    return [finding(ctx, 'warning', 'breakGlassRequired', ['spec', 'exclusions', 'acknowledgeNoBreakGlass'],
      'no break-glass account is excluded (acknowledged). If the Conditional Access policy misfires, no admin can sign in without a passkey; add an emergency-access account as soon as you have one.')];
  }
  return [finding(ctx, 'error', 'breakGlassRequired', ['spec', 'exclusions', 'breakGlass'],
    'must list at least one emergency-access (break-glass) account, so a mistake in the Conditional Access policy can never lock every admin out. Add its object id, or set acknowledgeNoBreakGlass: true if the tenant truly has none.')];
};

export const breakGlassNotTargeted: Rule = (c, ctx) => {
  const bg = new Set(c.spec.exclusions.breakGlass.map(lower));
  const out: Diagnostic[] = [];
  c.spec.targets.users.forEach((u, i) => {
    if (bg.has(lower(u))) {
      out.push(finding(ctx, 'error', 'breakGlassNotTargeted', ['spec', 'targets', 'users', i],
        `${u} is a break-glass account and is also targeted. Break-glass accounts are never part of a campaign; remove it from spec.targets.users.`));
    }
  });
  return out;
};

/** A UPN changes when an account is renamed, an object id never does: a renamed break-glass account must not stop every run. */
export const breakGlassByObjectId: Rule = (c, ctx) => {
  const out: Diagnostic[] = [];
  c.spec.exclusions.breakGlass.forEach((u, i) => {
    if (isGuid(u)) return;
    out.push(finding(ctx, 'warning', 'breakGlassByObjectId', ['spec', 'exclusions', 'breakGlass', i],
      `${u} is a UPN, which changes when the account is renamed; every run then stops until the file is fixed. ` +
        'Use the account\'s object id instead (Entra admin center › Users › Object ID, or the id `campaign history` shows recorded for it), with the UPN as a comment.'));
  });
  return out;
};

/** A retired entry is no longer resolved; listing it as well would resolve it again (and stop the run if it is gone). */
export const retiredEntriesNotListed: Rule = (c, ctx) => {
  const out: Diagnostic[] = [];
  const ex = c.spec.exclusions;
  ex.retired.forEach((r, i) => {
    if (r.from === 'groups' && !isGuid(r.entry)) {
      out.push(finding(ctx, 'error', 'retiredEntriesNotListed', ['spec', 'exclusions', 'retired', i, 'entry'],
        `"${r.entry}" is not an object id, so it was never an entry of spec.exclusions.groups (groups are listed by object id). Write the group's object id as it was listed.`));
      return;
    }
    if (ex[r.from].some((x) => lower(x) === lower(r.entry))) {
      out.push(finding(ctx, 'error', 'retiredEntriesNotListed', ['spec', 'exclusions', 'retired', i, 'entry'],
        `${r.entry} is retired but still listed in spec.exclusions.${r.from}. Remove it from spec.exclusions.${r.from}: a retired entry is no longer resolved, and the accounts the ledger recorded for it stay excluded.`));
    }
  });
  return out;
};

export const gracePeriodAtLeastOneDay: Rule = (c, ctx) => {
  const out: Diagnostic[] = [];
  for (const stage of ['deviceUpdate', 'passkeyRegistration'] as const) {
    const g = c.spec.stages[stage].gracePeriodDays;
    if (g < 1) {
      out.push(finding(ctx, 'error', 'gracePeriodAtLeastOneDay', ['spec', 'stages', stage, 'gracePeriodDays'],
        `must be ≥ 1 (got ${g}). Give users at least a day.`));
    }
  }
  return out;
};

export const reminderShorterThanGrace: Rule = (c, ctx) => {
  const out: Diagnostic[] = [];
  for (const stage of ['deviceUpdate', 'passkeyRegistration'] as const) {
    const { gracePeriodDays: g, reminderEveryDays: r } = c.spec.stages[stage];
    if (g >= 1 && r >= g) {
      out.push(finding(ctx, 'error', 'reminderShorterThanGrace', ['spec', 'stages', stage, 'reminderEveryDays'],
        `must be shorter than the grace period (${r} ≥ gracePeriodDays ${g}), otherwise no reminder is ever sent. Use at most ${g - 1}.`));
    }
  }
  return out;
};

export const enabledPolicyNeedsBreakGlass: Rule = (c, ctx) => {
  if (c.spec.exclusions.breakGlass.length > 0) return [];
  if (c.spec.enforcement.policyState === 'enabled') {
    return [finding(ctx, 'error', 'enabledPolicyNeedsBreakGlass', ['spec', 'enforcement', 'policyState'],
      'enabled requires at least one break-glass account in spec.exclusions.breakGlass; an enforced policy without one can lock every admin out. Add the account or keep reportOnly.')];
  }
  if (c.spec.enforcement.mode === 'graduated') {
    return [finding(ctx, 'error', 'enabledPolicyNeedsBreakGlass', ['spec', 'enforcement', 'mode'],
      'graduated puts graduated users under an enabled policy, which requires at least one break-glass account in spec.exclusions.breakGlass; without one it can lock every admin out. Add the account or use mode: reportOnly.')];
  }
  return [];
};

/** caPolicyName("x-graduated") is graduatedCaPolicyName("x"): such a name would make two campaigns claim one policy. */
export const nameDoesNotEndInGraduated: Rule = (c, ctx) => {
  const m = /^(.+)-graduated$/.exec(c.metadata.name);
  if (!m) return [];
  return [finding(ctx, 'error', 'nameDoesNotEndInGraduated', ['metadata', 'name'],
    `must not end in "-graduated": its Conditional Access policy would be named like the graduated policy of a campaign "${m[1]}" (passkey-campaign-${m[1]}-graduated-policy). Choose another name.`)];
};

/** Enforcement waits for evidence: say which gate the pull request (or each graduation) will be held to. */
export const enableWhenGateReminder: Rule = (c, ctx) => {
  const e = c.spec.enforcement;
  // Without a break-glass account enabledPolicyNeedsBreakGlass already refuses the file; that comes first.
  if (c.spec.exclusions.breakGlass.length === 0) return [];
  const { observedDays: days, maxWouldBlockUsersPercent: pct } = e.enableWhen;
  const gate = `at most ${pct}% of the enforcement group's users with a sign-in the report-only policy would have blocked in the last ${days} days (spec.enforcement.enableWhen)`;
  const out: Diagnostic[] = [];
  if (e.policyState === 'enabled') {
    out.push(finding(ctx, 'warning', 'enableWhenGateReminder', ['spec', 'enforcement', 'policyState'],
      `enabled: the pull request runs \`campaign impact\` for this campaign and fails unless the sign-ins show ${gate}. Run \`campaign impact --campaign ${c.metadata.name}\` first to see who would be blocked.`));
  }
  if (e.mode === 'graduated') {
    out.push(finding(ctx, 'warning', 'enableWhenGateReminder', ['spec', 'enforcement', 'mode'],
      `graduated: a user moves to the enabled policy only when their own sign-ins in the last ${days} days show no would-block result and at least one phishing-resistant sign-in, at most ${e.maxGraduationsPerRun} users a run; ` +
        `enabling the whole policy later is checked by \`campaign impact\` in the pull request (${gate}).`));
  }
  return out;
};

export const excludedUsersNotAlsoTargeted: Rule = (c, ctx) => {
  const ex = new Set(c.spec.exclusions.users.map(lower));
  const out: Diagnostic[] = [];
  c.spec.targets.users.forEach((u, i) => {
    if (ex.has(lower(u))) {
      out.push(finding(ctx, 'warning', 'excludedUsersNotAlsoTargeted', ['spec', 'targets', 'users', i],
        `${u} is both targeted and excluded; the exclusion wins. Remove one of the two entries.`));
    }
  });
  return out;
};

export const noDuplicateEntries: Rule = (c, ctx) => {
  const out: Diagnostic[] = [];
  const lists: Array<[PathSegment[], string[]]> = [
    [['spec', 'targets', 'groups'], c.spec.targets.groups],
    [['spec', 'targets', 'users'], c.spec.targets.users],
    [['spec', 'exclusions', 'breakGlass'], c.spec.exclusions.breakGlass],
    [['spec', 'exclusions', 'users'], c.spec.exclusions.users],
    [['spec', 'exclusions', 'groups'], c.spec.exclusions.groups],
  ];
  for (const [at, values] of lists) {
    const seen = new Set<string>();
    values.forEach((v, i) => {
      if (seen.has(lower(v))) out.push(finding(ctx, 'warning', 'noDuplicateEntries', [...at, i], `${v} is listed twice. Remove the duplicate.`));
      seen.add(lower(v));
    });
  }
  return out;
};

export const postponementAllowsAtLeastOnce: Rule = (c, ctx) => {
  const p = c.spec.postponement;
  if (!p.enabled || p.maxTimes > 0) return [];
  return [finding(ctx, 'warning', 'postponementAllowsAtLeastOnce', ['spec', 'postponement', 'maxTimes'],
    'postponement is enabled but maxTimes is 0, so no user can postpone. Set maxTimes ≥ 1 or enabled: false.')];
};

const TAP: PathSegment[] = ['spec', 'onboarding', 'temporaryAccessPass'];

/** Manager delivery makes the job create sign-in credentials, which needs the most sensitive permission the stack grants. */
export const onboardingManagerDeliveryIsSensitive: Rule = (c, ctx) => {
  const tap = c.spec.onboarding.temporaryAccessPass;
  if (!tap.enabled || tap.deliverTo !== 'manager') return [];
  const admins = c.spec.targets.roles.length > 0
    ? ' This campaign targets admin roles: an administrator\'s pass signs in with that administrator\'s rights, so check their managers in Entra first, or use deliverTo: helpdesk.'
    : '';
  return [finding(ctx, 'warning', 'onboardingManagerDeliveryIsSensitive', [...TAP, 'deliverTo'],
    'manager: the job creates Temporary Access Passes (sign-in credentials) and mails them to the users\' managers as Entra records them. ' +
      'Deploying this grants the scheduler identity UserAuthenticationMethod.ReadWrite.All, which can create such a pass for any user in the tenant, admins included; ' +
      `it is granted only while a campaign delivers passes to managers, and its use shows in the audit logs.${admins}`)];
};

/** The mail to the manager needs a sender; an email campaign already names one, any other channel may not. */
export const onboardingManagerMailNeedsSender: Rule = (c, ctx) => {
  const tap = c.spec.onboarding.temporaryAccessPass;
  const n = c.spec.notifications;
  if (!tap.enabled || tap.deliverTo !== 'manager' || n.channel === 'email' || n.sender || n.senders?.length) return [];
  return [finding(ctx, 'warning', 'onboardingManagerMailNeedsSender', [...TAP, 'deliverTo'],
    `manager: the pass is mailed to the manager even though spec.notifications.channel is ${n.channel}, from the deployment's sender mailbox (passkey-campaigns:notificationSender); ` +
      'without one the stack refuses to deploy. Set spec.notifications.sender to the mailbox that should send it.')];
};

/** A multi-use pass in a manager's mailbox signs in again and again until it expires. */
export const onboardingManagerPassUsableOnce: Rule = (c, ctx) => {
  const tap = c.spec.onboarding.temporaryAccessPass;
  if (!tap.enabled || tap.deliverTo !== 'manager' || tap.usableOnce) return [];
  return [finding(ctx, 'warning', 'onboardingManagerPassUsableOnce', [...TAP, 'usableOnce'],
    `false: the pass mailed to the manager signs in as the user as often as anyone holding that mail likes, for ${tap.lifetimeMinutes} minutes. ` +
      'One sign-in is enough to register a passkey; set usableOnce: true.')];
};

/** Rules applied to every campaign file, in order. */
export const CAMPAIGN_RULES: readonly Rule[] = [
  fileNameMatchesName,
  targetsNotEmpty,
  breakGlassRequired,
  breakGlassNotTargeted,
  breakGlassByObjectId,
  retiredEntriesNotListed,
  gracePeriodAtLeastOneDay,
  reminderShorterThanGrace,
  enabledPolicyNeedsBreakGlass,
  nameDoesNotEndInGraduated,
  enableWhenGateReminder,
  excludedUsersNotAlsoTargeted,
  noDuplicateEntries,
  postponementAllowsAtLeastOnce,
  onboardingManagerDeliveryIsSensitive,
  onboardingManagerMailNeedsSender,
  onboardingManagerPassUsableOnce,
];
