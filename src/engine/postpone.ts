// A user's request to postpone their current stage. Pure: returns the ledger event to append, or why not.
import type { Campaign } from '../campaign/types';
import { LEDGER_VERSION, type PostponedEvent } from '../ledger/events';
import { STAGE_LABEL } from './decide';
import { inCampaign, type CampaignState } from './state';
import { addDays, dateOfDay, dayOf } from './time';
import { POSTPONABLE_STAGES } from './types';

export type PostponeRefusal =
  | 'CampaignNotInProgress'
  | 'PostponementDisabled'
  | 'NotInCampaign'
  | 'Enforced'
  | 'NotPostponable'
  | 'GraceExceeded'
  | 'AlreadyPostponed'
  | 'MaxPostponementsReached';

export type PostponeResult =
  | { ok: true; event: PostponedEvent }
  | { ok: false; reason: PostponeRefusal; message: string };

export interface PostponeOptions {
  runId?: string;
  tokenId?: string;
}

/** Postpones the user's current stage by `postponement.days` (from now), at most `maxTimes` per stage. */
export function requestPostponement(campaign: Campaign, state: CampaignState, userId: string, now: string, opts: PostponeOptions = {}): PostponeResult {
  const p = campaign.spec.postponement;
  const refuse = (reason: PostponeRefusal, message: string): PostponeResult => ({ ok: false, reason, message });
  if (campaign.spec.status !== 'inProgress') {
    return refuse('CampaignNotInProgress', `campaign ${campaign.metadata.name} is ${campaign.spec.status}: postponement only applies while it is inProgress`);
  }
  if (!p.enabled) return refuse('PostponementDisabled', `postponement is disabled for campaign ${campaign.metadata.name} (spec.postponement.enabled: false)`);
  const u = state.users[userId];
  if (!inCampaign(u)) return refuse('NotInCampaign', `user ${u?.userPrincipalName ?? userId} is not in campaign ${campaign.metadata.name}`);
  const stage = u.stage;
  if (stage === 'enforced' || stage === 'graduated') return refuse('Enforced', `${u.userPrincipalName} is already enforced; there is nothing left to postpone`);
  if (!POSTPONABLE_STAGES.includes(stage)) return refuse('NotPostponable', `${u.userPrincipalName} is in ${stage}, which cannot be postponed`);
  // Postponement buys time before a deadline; once the grace period is over there is none to move.
  if (u.exceededGrace) return refuse('GraceExceeded', `${u.userPrincipalName} has exceeded the ${STAGE_LABEL[stage]} grace period; postponement is no longer possible`);
  const nowDay = dayOf(now);
  if (u.postponedUntil !== null && nowDay < dayOf(u.postponedUntil)) {
    return refuse('AlreadyPostponed', `${u.userPrincipalName} has already postponed ${STAGE_LABEL[stage]} until ${dateOfDay(dayOf(u.postponedUntil))}`);
  }
  const used = u.postponements[stage] ?? 0;
  if (used >= p.maxTimes) {
    return refuse('MaxPostponementsReached',
      `${u.userPrincipalName} has postponed ${STAGE_LABEL[stage]} ${used} of ${p.maxTimes} allowed times (spec.postponement.maxTimes)`);
  }
  const event: PostponedEvent = {
    v: LEDGER_VERSION,
    type: 'postponed',
    at: now,
    userId: u.userId,
    userPrincipalName: u.userPrincipalName,
    stage,
    until: addDays(now, p.days),
    count: used + 1,
    days: p.days,
  };
  if (opts.runId !== undefined) event.runId = opts.runId;
  if (opts.tokenId !== undefined) event.tokenId = opts.tokenId;
  return { ok: true, event };
}
