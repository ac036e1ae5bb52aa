// Onboarding passes (Temporary Access Pass) in the reports: who needs one, what the ledger says was issued,
// queued for the helpdesk or expired unused, and the helpdesk queue `campaign status --onboarding-queue`
// writes. The pass itself is never here: the ledger never holds it.
import type { Campaign, OnboardingDelivery } from '../campaign/types';
import { needsOnboardingPass } from '../engine/onboarding';
import type { CampaignState, UserState } from '../engine/state';
import type { Observation } from '../engine/types';
import type { LedgerEvent } from '../ledger/events';
import { csvCell } from './csv';
import { addToOnboardingFold, emptyOnboardingFold, type OnboardingFold } from './fold';

/** Why a user is in the helpdesk queue: the job's reasons, and `featureOff` for a user who needs a pass while passes are off. */
export type OnboardingQueueReason = string;

export interface OnboardingQueueEntry {
  userId: string;
  userPrincipalName: string;
  /** From the last observation; null when the user was not observed. */
  displayName: string | null;
  reason: OnboardingQueueReason;
  /** One sentence: why the helpdesk issues this user's pass. */
  why: string;
  /** When the user entered the queue (ISO): the first onboardingQueued since their last pass, else since they entered passkey registration. */
  since: string | null;
}

export interface OnboardingStatus {
  /** spec.onboarding.temporaryAccessPass.enabled */
  enabled: boolean;
  deliverTo: OnboardingDelivery;
  /** Users of the last observation who need an onboarding pass now; null without an observation snapshot. */
  needPass: number | null;
  /** Passes issued (onboardingPassIssued) over the campaign. */
  issued: number;
  /** Passes that expired while the user still had no passkey (onboardingPassExpired). */
  expired: number;
  /** Users in the helpdesk queue now (queue.length). */
  queued: number;
  /** The helpdesk queue, by UPN: queued users still waiting for a pass, and with passes off every user who needs one. */
  queue: OnboardingQueueEntry[];
}

/** The reasons the job gives for queueing, as the helpdesk reads them (a reason missing here reads as its code). */
export const QUEUE_REASON_TEXT: Readonly<Record<string, string>> = {
  helpdesk: 'The campaign delivers onboarding passes through the helpdesk.',
  noManager: 'No manager is recorded for the user, so no pass could go to a manager.',
  managerUnreadable: 'The user\'s manager could not be read, so no pass was issued: the helpdesk issues it.',
  managerNoMailbox: 'The user\'s manager has no mailbox, so no pass could be mailed to them.',
  passRefused: 'Microsoft Graph refused to create the pass (policy, targets or permission): the helpdesk issues it.',
  featureOff: 'Onboarding passes are off in the campaign: the helpdesk issues them by hand.',
};

export function queueReasonText(reason: string): string {
  return QUEUE_REASON_TEXT[reason] ?? `Queued by the campaign (${reason}).`;
}

const TAP_DEFAULTS: Campaign['spec']['onboarding']['temporaryAccessPass'] = { enabled: false, deliverTo: 'helpdesk', lifetimeMinutes: 480, usableOnce: true, maxPerRun: 20 };

/** The campaign's onboarding settings; the defaults for a campaign object built without them (older callers). */
export function tapSettings(campaign: Campaign): Campaign['spec']['onboarding']['temporaryAccessPass'] {
  return campaign.spec.onboarding?.temporaryAccessPass ?? TAP_DEFAULTS;
}

/** The onboarding part of the status: counts from the ledger, the queue from the ledger and the last observation. */
export function onboardingStatus(campaign: Campaign, events: readonly LedgerEvent[], state: CampaignState, observation: Observation | null): OnboardingStatus {
  const fold = emptyOnboardingFold();
  for (const e of events) addToOnboardingFold(fold, e);
  return onboardingFromFold(campaign, fold, state, observation);
}

/**
 * onboardingStatus from the ledger's onboarding events already folded. `userAt(i)`: state.users of
 * observation.users[i], when the caller already looked every user up.
 */
export function onboardingFromFold(campaign: Campaign, fold: OnboardingFold, state: CampaignState, observation: Observation | null, userAt?: (i: number) => UserState | undefined): OnboardingStatus {
  const tap = tapSettings(campaign);
  const { folds, issued, expired } = fold;
  const queue: OnboardingQueueEntry[] = [];
  let needPass: number | null = null;
  if (observation) {
    needPass = 0;
    const users = observation.users;
    for (let i = 0; i < users.length; i++) {
      const ou = users[i];
      const u = userAt ? userAt(i) : state.users[ou.userId];
      if (!needsOnboardingPass(ou, u)) continue;
      needPass++;
      const f = folds.get(ou.userId);
      if (f && f.queuedSince !== null && f.reason !== null) {
        queue.push({ userId: ou.userId, userPrincipalName: ou.userPrincipalName, displayName: ou.displayName, reason: f.reason, why: queueReasonText(f.reason), since: f.queuedSince });
      } else if (!tap.enabled) {
        queue.push({ userId: ou.userId, userPrincipalName: ou.userPrincipalName, displayName: ou.displayName, reason: 'featureOff', why: queueReasonText('featureOff'), since: u?.stageSince ?? null });
      }
    }
  } else {
    // No observation to check against: the queued users still in passkey registration by the ledger.
    for (const [userId, f] of folds) {
      const u = state.users[userId];
      if (f.queuedSince === null || f.reason === null || !u || u.left !== null || u.stage !== 'passkeyRegistration') continue;
      queue.push({ userId, userPrincipalName: f.userPrincipalName, displayName: null, reason: f.reason, why: queueReasonText(f.reason), since: f.queuedSince });
    }
  }
  queue.sort((a, b) => {
    const x = a.userPrincipalName.toLowerCase(), y = b.userPrincipalName.toLowerCase();
    return x < y ? -1 : x > y ? 1 : a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
  });
  return { enabled: tap.enabled, deliverTo: tap.deliverTo, needPass, issued, expired, queued: queue.length, queue };
}

/** "N users need an onboarding pass" and what the campaign does about it, as one or two sentences. */
export function needPassSentence(n: number, campaign: Campaign): string {
  const tap = tapSettings(campaign);
  const head = `${n} user${n === 1 ? ' needs' : 's need'} an onboarding pass (a Temporary Access Pass): no registered method can satisfy MFA, so they cannot register a passkey on their own.`;
  if (n === 0) return `0 users need an onboarding pass (a Temporary Access Pass).`;
  if (!tap.enabled) return `${head} Onboarding passes are off in this campaign (spec.onboarding.temporaryAccessPass.enabled): the helpdesk queue lists them (campaign status --campaign ${campaign.metadata.name} --onboarding-queue FILE).`;
  if (tap.deliverTo === 'manager') return `${head} The campaign issues passes to their managers (at most ${tap.maxPerRun} per run); users without a manager go to the helpdesk queue.`;
  return `${head} The campaign queues them for the helpdesk (campaign status --campaign ${campaign.metadata.name} --onboarding-queue FILE).`;
}

/** What the helpdesk does for each user in the queue: issue the pass through its own verified process. */
export function helpdeskInstructions(campaign: Campaign): string {
  const tap = tapSettings(campaign);
  const hours = tap.lifetimeMinutes % 60 === 0 ? `${tap.lifetimeMinutes / 60} hour${tap.lifetimeMinutes === 60 ? '' : 's'}` : `${tap.lifetimeMinutes} minutes`;
  return `Verify the person's identity out of band first (in person with an ID, or a call back to a number on record): never on the strength of a mail or chat from the account itself. ` +
    `Then issue a Temporary Access Pass through the helpdesk's own process (Entra admin center: the user, Authentication methods, Add authentication method, Temporary Access Pass), ` +
    `${tap.usableOnce ? 'usable once' : 'usable more than once'}, valid ${hours}, and hand it to the verified person directly: never to the user's own mailbox or Teams, which whoever holds the account would read. ` +
    `The person signs in with it at ${campaign.spec.notifications.registrationUrl} and registers a passkey there.`;
}

export const QUEUE_CSV_HEADER = ['User principal name', 'Display name', 'Why', 'Since', 'Registration link', 'Instructions'] as const;

/** The queue as CSV (RFC 4180, CRLF, formula-like cells neutralised as in the contact list). */
export function renderQueueCsv(o: OnboardingStatus, campaign: Campaign): string {
  const steps = helpdeskInstructions(campaign);
  const link = campaign.spec.notifications.registrationUrl;
  const lines = [QUEUE_CSV_HEADER.map(csvCell).join(',')];
  for (const q of o.queue) lines.push([q.userPrincipalName, q.displayName ?? '', q.why, q.since ? q.since.slice(0, 10) : '', link, steps].map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** Markdown-safe text (same escaping as the status summary's). */
function md(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/[\\`*_{}[\]<>|]/g, (c) => `\\${c}`);
}

/** The queue as Markdown: the instructions once, then one row per user. */
export function renderQueueMarkdown(o: OnboardingStatus, campaign: Campaign): string {
  const out: string[] = [];
  out.push(`## Onboarding passes for the helpdesk: ${md(campaign.metadata.name)}`);
  out.push('');
  out.push(`${o.queue.length} user${o.queue.length === 1 ? '' : 's'} waiting for an onboarding pass (a Temporary Access Pass) from the helpdesk.`);
  out.push('');
  out.push(`**For each user:** ${md(helpdeskInstructions(campaign))}`);
  out.push('');
  if (o.queue.length === 0) {
    out.push('Nobody is waiting.');
  } else {
    out.push('| User principal name | Display name | Why | Since |');
    out.push('|---|---|---|---|');
    for (const q of o.queue) out.push(`| ${md(q.userPrincipalName)} | ${md(q.displayName ?? '—')} | ${md(q.why)} | ${q.since ? q.since.slice(0, 10) : '—'} |`);
  }
  out.push('');
  return out.join('\n');
}
