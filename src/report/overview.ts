// The review of a plan (`campaign plan`): what the campaign's next run would start with, computed from the
// plan's fresh observation and the state the run would leave behind. Pure: `plan --json`'s `overview`, the
// `--markdown` proposal and the plan's text all read this one model.
import { OS_PLATFORMS, type Campaign, type NotificationChannel, type OsPlatform, type PolicyState } from '../campaign/types';
import { caPolicyName, enforcementGroupName } from '../contracts/names';
import { estimateEnd, outlook } from '../engine/estimate';
import { assessReadiness, readinessContext, type DeviceBelowMinimum } from '../engine/readiness';
import { inCampaign, type CampaignState } from '../engine/state';
import { dayOf } from '../engine/time';
import type { Observation, Stage } from '../engine/types';
import { needsOnboardingPass } from '../engine/onboarding';
import { needPassSentence, tapSettings } from './onboarding';
import { enforcedOrLater, zeroStages } from './stages';

export interface OverviewInput {
  /** The campaign as the run decides it (a notStarted campaign is planned as its first run). */
  campaign: Campaign;
  /** The plan's observation of the tenant. */
  observation: Observation;
  /** The state after the run the plan shows. */
  after: CampaignState;
  /** The plan's clock (ISO). */
  now: string;
}

/** Active devices below the minimum OS, grouped by platform and release ("iOS 16.x", "Windows 10.0.17763"). */
export interface DeviceVersionGroup {
  platform: OsPlatform;
  /** The release: the major version ("16.x"); for Windows the build ("10.0.17763"), since every Windows is 10.0. */
  version: string;
  minimum: string;
  devices: number;
  /** Distinct users owning these devices. */
  users: number;
}

/**
 * The `overview` of `plan --json`. The first six keys are the published contract; the rest extend it.
 *
 * Readiness counts the targeted users who are not enforced yet (after the run), so "ready" means ready to
 * move towards enforcement; users already enforced are `alreadyEnforced`, users whose reads failed `unassessed`.
 * The five add up to `targeted`.
 */
export interface PlanOverview {
  targeted: number;
  readiness: { needsDeviceUpdate: number; needsPasskey: number; ready: number; alreadyEnforced: number; unassessed: number };
  /** Active devices below the campaign's minimum OS, per platform (every platform with a minimum, 0 included). */
  devicesBelowMinimum: Record<OsPlatform, number>;
  /** Targeted users outside the FIDO2 (passkey) policy's scope: they cannot register a passkey. */
  outOfFido2Scope: number;
  /** YYYY-MM-DD on which the last user would be enforced if everyone acts on the last day of each grace period; null when nobody can be projected. */
  estimatedEnd: string | null;
  outlook: string[];
  /** Whole days from the plan's day to estimatedEnd; null with it. */
  estimatedDays: number | null;
  /** What the estimate assumes, as the end of the sentence "…if every user …". */
  estimateAssumes: string;
  devicesBelowMinimumByVersion: DeviceVersionGroup[];
  /** Users of the targets left out by the campaign's exclusions (break-glass accounts, excluded users and groups). */
  excluded: number;
  /** Targeted accounts that are disabled: held where they are. */
  disabled: number;
  /** Targeted users per stage after the run: what the campaign would start with. */
  stages: Record<Stage, number>;
  /**
   * Onboarding passes (Temporary Access Pass): users who would be in passkey registration after the run with no
   * method that can satisfy MFA, whether or not the campaign issues passes, and how the campaign delivers them.
   */
  onboarding: { needPass: number; enabled: boolean; deliverTo: 'manager' | 'helpdesk'; message: string };
  goal: {
    description: string;
    enforcementGroup: string;
    conditionalAccessPolicy: string;
    policyState: PolicyState;
    notificationChannel: NotificationChannel;
    /** One paragraph: what the campaign asks of users and what enforcement means. */
    summary: string;
  };
}

/** The release a device version belongs to, for grouping: "16.x", or for Windows the build "10.0.17763". */
export function versionGroup(platform: OsPlatform, version: string): string {
  const parts = version.split('.');
  if (platform === 'Windows') {
    while (parts.length < 3) parts.push('0');
    return parts.slice(0, 3).join('.');
  }
  return `${parts[0]}.x`;
}

function compareGroups(a: DeviceVersionGroup, b: DeviceVersionGroup): number {
  const p = OS_PLATFORMS.indexOf(a.platform) - OS_PLATFORMS.indexOf(b.platform);
  if (p !== 0) return p;
  const x = a.version.split('.').map((s) => Number.parseInt(s, 10) || 0);
  const y = b.version.split('.').map((s) => Number.parseInt(s, 10) || 0);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
  return 0;
}

/** What enforcement means for this campaign, in words a reviewer reads. */
export function goalSummary(campaign: Campaign): string {
  const name = campaign.metadata.name;
  const s = campaign.spec;
  const state = s.enforcement.policyState === 'reportOnly'
    ? 'in report-only mode: sign-ins are evaluated and logged, nobody is blocked yet'
    : 'on: a sign-in without a passkey is blocked';
  const told = s.notifications.channel === 'none' ? 'counted from entering the enforcement notice stage' : `after the enforcement notice reached them (${s.notifications.channel})`;
  return `Every targeted user moves to signing in with a passkey (phishing-resistant). Users with a device below the minimum OS update it first ` +
    `(${s.stages.deviceUpdate.gracePeriodDays} days), users without a passkey register one (${s.stages.passkeyRegistration.gracePeriodDays} days); ` +
    `${s.stages.enforcement.noticeDays} days ${told}, a user is enforced: added to the group ${enforcementGroupName(name)}, for which the ` +
    `Conditional Access policy ${caPolicyName(name)} requires phishing-resistant MFA. That policy is ${state}.`;
}

export function planOverview(input: OverviewInput): PlanOverview {
  const { campaign, observation, after, now } = input;
  const ctx = readinessContext(campaign, observation.fido2Policy, now);
  const readiness = { needsDeviceUpdate: 0, needsPasskey: 0, ready: 0, alreadyEnforced: 0, unassessed: 0 };
  const devicesBelowMinimum = {} as Record<OsPlatform, number>;
  for (const p of Object.keys(campaign.spec.devices.minimumOs) as OsPlatform[]) devicesBelowMinimum[p] = 0;
  const groups = new Map<string, DeviceVersionGroup & { owners: Set<string> }>();
  const stages: Record<Stage, number> = zeroStages();
  let outOfFido2Scope = 0;
  let disabled = 0;
  let needPass = 0;
  const below = (userId: string, d: DeviceBelowMinimum) => {
    devicesBelowMinimum[d.platform] = (devicesBelowMinimum[d.platform] ?? 0) + 1;
    const version = versionGroup(d.platform, d.version);
    const key = `${d.platform} ${version}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { platform: d.platform, version, minimum: d.minimum, devices: 0, users: 0, owners: new Set() }));
    g.devices++;
    g.owners.add(userId);
  };
  for (const ou of observation.users) {
    if (ou.inFido2PolicyScope === false) outOfFido2Scope++;
    if (!ou.accountEnabled) disabled++;
    const u = after.users[ou.userId];
    if (needsOnboardingPass(ou, u)) needPass++;
    const inside = inCampaign(u);
    if (inside) stages[u.stage]++;
    const enforced = inside && enforcedOrLater(u.stage);
    if (enforced) readiness.alreadyEnforced++;
    if (ou.readErrors.length > 0) {
      if (!enforced) readiness.unassessed++;
      continue;
    }
    const r = assessReadiness(ou, ctx);
    // Devices count for every assessed user: an enforced user's old phone still needs the update.
    for (const d of r.devicesBelowMinimum) below(ou.userId, d);
    if (!enforced) readiness[r.category]++;
  }
  const byVersion: DeviceVersionGroup[] = [];
  for (const g of groups.values()) byVersion.push({ platform: g.platform, version: g.version, minimum: g.minimum, devices: g.devices, users: g.owners.size });
  byVersion.sort(compareGroups);
  const estimatedEnd = estimateEnd(campaign, observation, after, now);
  return {
    targeted: observation.users.length,
    readiness,
    devicesBelowMinimum,
    outOfFido2Scope,
    estimatedEnd,
    outlook: outlook(campaign, observation, after, now),
    estimatedDays: estimatedEnd === null ? null : Math.max(0, dayOf(`${estimatedEnd}T00:00:00Z`) - dayOf(now)),
    // estimateEnd counts the postponements each user has left (its default).
    estimateAssumes: `every user acts on the last day of each grace period${campaign.spec.postponement.enabled ? ' and uses every postponement left' : ''}`,
    devicesBelowMinimumByVersion: byVersion,
    excluded: observation.excluded.length,
    disabled,
    stages,
    onboarding: { needPass, enabled: tapSettings(campaign).enabled, deliverTo: tapSettings(campaign).deliverTo, message: needPassSentence(needPass, campaign) },
    goal: {
      description: campaign.metadata.description,
      enforcementGroup: enforcementGroupName(campaign.metadata.name),
      conditionalAccessPolicy: caPolicyName(campaign.metadata.name),
      policyState: campaign.spec.enforcement.policyState,
      notificationChannel: campaign.spec.notifications.channel,
      summary: goalSummary(campaign),
    },
  };
}
