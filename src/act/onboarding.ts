// Onboarding passes, the write half: settles passes an interrupted run left unconfirmed, reports expired passes,
// records the helpdesk queue, and for manager delivery creates each pass and mails it to the user's manager, in
// crash-safe order:
//
//   onboardingPassIntent → POST temporaryAccessPassMethods → sendMail to the manager → onboardingPassIssued
//   (a failed mail deletes the pass: onboardingPassOutcome revoked; a run that dies in between leaves the intent
//   open, and the next run deletes whatever pass the user got from it on, so no pass exists that the ledger does
//   not account for)
//
// The pass value lives in one local variable between the POST's answer and the sendMail body. It is never
// appended, warned, returned or thrown: every message here is built from ids, UPNs and Graph error codes only.
// Graph reference: api-reference/v1.0/api/authentication-post-temporaryaccesspassmethods.md,
// temporaryaccesspassauthenticationmethod-delete.md, authentication-list-temporaryaccesspassmethods.md, user-sendmail.md.
import type { Campaign } from '../campaign/types';
import { planOnboarding, routePass, tapPolicyConflict, type ManagerRead, type OnboardingUser, type TapPolicy } from '../engine/onboarding';
import type { OpenIntents } from '../engine/recovery';
import type { CampaignState } from '../engine/state';
import type { ObservedUser } from '../engine/types';
import { warning, type RunWarning } from '../engine/warnings';
import type { Graph } from '../graph/client';
import { GraphError } from '../graph/errors';
import { LEDGER_VERSION, type LedgerEvent, type OnboardingQueueReason } from '../ledger/events';
import { renderManagerPassMail } from '../notify/templates';

/** The permission that creating a pass needs (authentication-post-temporaryaccesspassmethods.md, application). */
export const TAP_WRITE_PERMISSION = 'UserAuthenticationMethod.ReadWrite.All';

export interface OnboardingInput {
  graph: Graph;
  campaign: Campaign;
  runId: string;
  now: Date;
  append: (events: LedgerEvent[]) => Promise<void>;
  /** The campaign state after this run's decisions. */
  state: CampaignState;
  open: Pick<OpenIntents, 'onboardingPasses'>;
  users: readonly ObservedUser[];
  /** The mailbox that sends the campaign's email; none: no pass can be mailed. */
  sender: string | undefined;
  warnings: RunWarning[];
  /** The onboarding reads (src/observe/onboarding.ts), passed in by the pipeline: act does not import observe. */
  reads: OnboardingReads;
}

/** The TAP policy and a user's manager, read when (and only when) a pass is about to be created. */
export interface OnboardingReads {
  tapPolicy(): Promise<{ ok: true; policy: TapPolicy } | { ok: false; cause: string }>;
  manager(userId: string): Promise<ManagerRead>;
}

/** What the onboarding step did, for the run result (counts only: never a pass). */
export interface OnboardingResult {
  /** Users who need a pass. */
  needing: number;
  issued: number;
  /** Users left to the helpdesk queue this run (helpdesk delivery, no manager, a pass the tenant refused). */
  queued: number;
  /** Passes reported expired unused this run. */
  expired: number;
  /** Users eligible for a pass who wait for the next run: maxPerRun was reached. */
  deferred: number;
  /** Passes an interrupted run left unconfirmed that this run deleted. */
  revoked: number;
}

const tapPath = (userId: string) => `/users/${encodeURIComponent(userId)}/authentication/temporaryAccessPassMethods`;

interface CreatedPass {
  id: string;
  temporaryAccessPass: string;
  startDateTime: string;
  lifetimeInMinutes: number;
  isUsableOnce: boolean;
}

export async function actOnboarding(x: OnboardingInput): Promise<OnboardingResult> {
  const { graph, campaign, runId, append, state, warnings } = x;
  const tap = campaign.spec.onboarding.temporaryAccessPass;
  const nowIso = x.now.toISOString();
  const v = LEDGER_VERSION;
  const userEvent = (u: { userId: string; userPrincipalName: string }) => ({ v, at: nowIso, runId, userId: u.userId, userPrincipalName: u.userPrincipalName });
  const result: OnboardingResult = { needing: 0, issued: 0, queued: 0, expired: 0, deferred: 0, revoked: 0 };
  /** Passes created this run, delivered or not: maxPerRun bounds these (a pass deleted after a failed mail counts too). */
  let created = 0;

  // 1. Passes an interrupted run may have created without recording them: delete them (they were not, or not
  // knowably, delivered). Done whatever the campaign's setting now is.
  const unsettled = new Set<string>();
  for (const intent of x.open.onboardingPasses) {
    const settled = await revokeSince(graph, intent.userId, intent.at);
    if (settled.ok) {
      if (settled.revoked.length) {
        result.revoked += settled.revoked.length;
        warnings.push(warning('OnboardingPassRevoked', `${intent.userPrincipalName}: an interrupted run may have created a Temporary Access Pass without confirming its delivery; it was deleted, and the user can get a new one.`, intent.userPrincipalName));
      }
      await append([{ ...userEvent(intent), type: 'onboardingPassOutcome', outcome: settled.revoked.length ? 'revoked' : 'failed', ...(settled.revoked.length ? { methodId: settled.revoked[0] } : {}), detail: settled.revoked.length ? 'created by an interrupted run whose delivery was not confirmed; deleted' : 'an interrupted run created no pass' }]);
    } else {
      unsettled.add(intent.userId);
      warnings.push(warning('OnboardingPassUnconfirmed', `${intent.userPrincipalName}: an interrupted run may have created a Temporary Access Pass, and its passes could not be read to delete it (${settled.cause}); no new pass for the user until it is settled.`, intent.userPrincipalName));
    }
  }

  if (!tap.enabled) return result;
  const plan = planOnboarding(campaign, x.users, state, nowIso);
  result.needing = plan.needing;

  // 2. Passes that expired unused.
  if (plan.expired.length) {
    await append(plan.expired.map((e) => ({ ...userEvent(e), type: 'onboardingPassExpired' as const, methodId: e.methodId, expiresAt: e.expiresAt })));
    result.expired = plan.expired.length;
    for (const e of plan.expired) {
      warnings.push(warning('OnboardingPassExpired', `${e.userPrincipalName}: the Temporary Access Pass issued for them expired at ${e.expiresAt} and they still have no passkey; they can get a new one in their next grace period, or from the helpdesk.`, e.userPrincipalName));
    }
  }

  /** Records the user in the helpdesk queue; false when the ledger already has them there for this reason. */
  const queue = async (u: OnboardingUser, reason: OnboardingQueueReason): Promise<boolean> => {
    result.queued++;
    if (state.users[u.userId]?.onboarding?.queuedReason === reason) return false;
    await append([{ ...userEvent(u), type: 'onboardingQueued', reason }]);
    return true;
  };

  // 3. Helpdesk delivery: the job creates no pass; the queue is the ledger's onboardingQueued records.
  if (tap.deliverTo === 'helpdesk') {
    for (const u of plan.eligible) await queue(u, 'helpdesk');
    return result;
  }

  // 4. Manager delivery: only with every campaign-level fact established.
  const candidates = plan.eligible.filter((u) => !unsettled.has(u.userId));
  if (!candidates.length) return result;
  const stop = (why: string) => {
    warnings.push(warning('OnboardingUnavailable', `${candidates.length} user${candidates.length === 1 ? '' : 's'} who need${candidates.length === 1 ? 's' : ''} a Temporary Access Pass got none this run: ${why}.`));
    return result;
  };
  if (!x.sender) return stop('the campaign has no email sender to mail the pass to their managers (spec.notifications.sender)');
  const policy = await x.reads.tapPolicy();
  if (!policy.ok) return stop(policy.cause);
  const conflict = tapPolicyConflict(policy.policy, tap);
  if (conflict) return stop(conflict);

  const observed = new Map(x.users.map((u) => [u.userId, u]));
  for (let i = 0; i < candidates.length; i++) {
    const u = candidates[i]!;
    if (created >= tap.maxPerRun) {
      result.deferred = candidates.length - i;
      warnings.push(warning('OnboardingDeferred', `${result.deferred} user${result.deferred === 1 ? '' : 's'} who need${result.deferred === 1 ? 's' : ''} a Temporary Access Pass wait for the next run: spec.onboarding.temporaryAccessPass.maxPerRun is ${tap.maxPerRun}.`));
      break;
    }
    const ou = observed.get(u.userId)!;
    const route = routePass(u, await x.reads.manager(u.userId), ou.mail);
    if (route.route === 'hold') {
      warnings.push(warning('OnboardingHeld', `${u.userPrincipalName}: no Temporary Access Pass this run, ${route.detail}; tried again next run.`, u.userPrincipalName));
      continue;
    }
    if (route.route === 'queue') {
      if (await queue(u, route.reason)) warnings.push(warning('OnboardingQueued', `${u.userPrincipalName}: ${route.detail}, so the user is in the helpdesk queue instead.`, u.userPrincipalName));
      continue;
    }
    const manager = route.manager;
    // A pass the user already holds (the helpdesk's, say) would be replaced by a new one: leave it be.
    const held = await usablePass(graph, u.userId);
    if (held !== false) {
      if (held !== true && held.startsWith('403')) {
        warnings.push(warning('OnboardingPermissionMissing', `reading ${u.userPrincipalName}'s Temporary Access Passes was refused (${held}): the identity lacks the Microsoft Graph application permission ${TAP_WRITE_PERMISSION}, so no pass is created this run.`, u.userPrincipalName));
        break;
      }
      warnings.push(warning('OnboardingHeld', `${u.userPrincipalName}: no Temporary Access Pass this run, ${held === true ? 'the user already holds a usable one (issued outside this campaign)' : `their passes could not be read (${held})`}.`, u.userPrincipalName));
      continue;
    }

    await append([{ ...userEvent(u), type: 'onboardingPassIntent', managerId: manager.id }]);
    created++;
    let pass: CreatedPass;
    try {
      pass = parseCreated(await graph.post<unknown>(tapPath(u.userId), { lifetimeInMinutes: tap.lifetimeMinutes, isUsableOnce: tap.usableOnce }), nowIso);
    } catch (e) {
      const status = e instanceof GraphError ? e.status : 0;
      const code = e instanceof GraphError ? e.code : 'Error';
      if (status < 400 || status >= 500) {
        // No clear refusal (no answer, a server error, an answer without the pass): a pass may exist. Delete what
        // the user got from the intent on; if that cannot be done, the intent stays open for the next run.
        const settled = await revokeSince(graph, u.userId, nowIso);
        if (settled.ok) await append([{ ...userEvent(u), type: 'onboardingPassOutcome', outcome: settled.revoked.length ? 'revoked' : 'failed', ...(settled.revoked.length ? { methodId: settled.revoked[0] } : {}), detail: `${status} ${code}` }]);
        warnings.push(warning('OnboardingPassFailed', `${u.userPrincipalName}: creating a Temporary Access Pass failed (${status} ${code})${settled.ok ? '' : `, and a pass it may have created could not be deleted (${settled.cause}): the next run deletes it`}; tried again next run.`, u.userPrincipalName));
        continue;
      }
      await append([{ ...userEvent(u), type: 'onboardingPassOutcome', outcome: 'failed', detail: `${status} ${code}` }]);
      if (status === 403) {
        warnings.push(warning('OnboardingPermissionMissing', `creating a Temporary Access Pass was refused (403 ${code}): the identity lacks the Microsoft Graph application permission ${TAP_WRITE_PERMISSION}, so no pass is created this run. Grant it only to campaigns that deliver passes to managers (docs/platform-engineer.md).`, u.userPrincipalName));
        break;
      }
      if (status === 400 || status === 409) {
        warnings.push(warning('OnboardingPassFailed', `${u.userPrincipalName}: the tenant refused a Temporary Access Pass (${status} ${code}: the user may be outside the pass policy's targets), so the user is in the helpdesk queue instead.`, u.userPrincipalName));
        await queue(u, 'passRefused');
      } else {
        warnings.push(warning('OnboardingPassFailed', `${u.userPrincipalName}: creating a Temporary Access Pass failed (${status} ${code}); tried again next run.`, u.userPrincipalName));
      }
      continue;
    }

    const expiresAt = new Date(Date.parse(pass.startDateTime) + pass.lifetimeInMinutes * 60_000).toISOString();
    const mail = renderManagerPassMail({
      managerDisplayName: manager.displayName, userDisplayName: ou.displayName, userPrincipalName: u.userPrincipalName, pass: pass.temporaryAccessPass,
      startDateTime: pass.startDateTime, expiresAt, usableOnce: pass.isUsableOnce, registrationUrl: campaign.spec.notifications.registrationUrl, owners: campaign.metadata.owners,
    });
    try {
      // Not saved to the sender's Sent Items: a copy there would keep the pass in a mailbox others may read.
      await graph.post(`/users/${encodeURIComponent(x.sender)}/sendMail`, {
        message: { subject: mail.title, body: { contentType: 'HTML', content: mail.html }, toRecipients: [{ emailAddress: { address: manager.mail! } }] },
        saveToSentItems: false,
      });
    } catch (e) {
      const detail = e instanceof GraphError ? `${e.status} ${e.code}` : 'no answer';
      const deleted = await deletePass(graph, u.userId, pass.id);
      if (deleted === null) {
        await append([{ ...userEvent(u), type: 'onboardingPassOutcome', outcome: 'revoked', methodId: pass.id, detail: `the mail to the manager failed (${detail}); the pass was deleted` }]);
        warnings.push(warning('OnboardingPassFailed', `${u.userPrincipalName}: mailing the Temporary Access Pass to their manager ${manager.userPrincipalName} failed (${detail}); the pass was deleted and the user is tried again next run.`, u.userPrincipalName));
      } else {
        // The intent stays open: the next run deletes the pass.
        warnings.push(warning('OnboardingPassFailed', `${u.userPrincipalName}: mailing the Temporary Access Pass to their manager ${manager.userPrincipalName} failed (${detail}) and deleting the pass failed too (${deleted}); the next run deletes it.`, u.userPrincipalName));
      }
      continue;
    }
    await append([{
      ...userEvent(u), type: 'onboardingPassIssued', methodId: pass.id, lifetimeMinutes: pass.lifetimeInMinutes, usableOnce: pass.isUsableOnce,
      startDateTime: pass.startDateTime, expiresAt, deliveredTo: { managerId: manager.id, managerUpn: manager.userPrincipalName },
    }]);
    result.issued++;
  }
  return result;
}

/** The POST's answer, checked; the pass value is taken from here once and never stored elsewhere. */
function parseCreated(body: unknown, nowIso: string): CreatedPass {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.id !== 'string' || typeof b.temporaryAccessPass !== 'string' || typeof b.lifetimeInMinutes !== 'number' || typeof b.isUsableOnce !== 'boolean') {
    // The body is not quoted: it may hold a pass.
    throw new GraphError('POST temporaryAccessPassMethods: the answer lacks id, temporaryAccessPass, lifetimeInMinutes or isUsableOnce', 502, 'UnexpectedAnswer', 'POST', 'temporaryAccessPassMethods', false);
  }
  const start = typeof b.startDateTime === 'string' && !Number.isNaN(Date.parse(b.startDateTime)) ? b.startDateTime
    : typeof b.createdDateTime === 'string' && !Number.isNaN(Date.parse(b.createdDateTime)) ? b.createdDateTime : nowIso;
  return { id: b.id, temporaryAccessPass: b.temporaryAccessPass, startDateTime: new Date(start).toISOString(), lifetimeInMinutes: b.lifetimeInMinutes, isUsableOnce: b.isUsableOnce };
}

/** Deletes one pass; null when done (or already gone), else why not. */
async function deletePass(graph: Graph, userId: string, methodId: string): Promise<string | null> {
  try {
    await graph.delete(`${tapPath(userId)}/${encodeURIComponent(methodId)}`);
    return null;
  } catch (e) {
    if (e instanceof GraphError && e.status === 404) return null;
    return e instanceof GraphError ? `${e.status} ${e.code}` : 'no answer';
  }
}

/** Whether the user holds a usable pass (true), none (false), or why that could not be read. */
async function usablePass(graph: Graph, userId: string): Promise<boolean | string> {
  try {
    const list = await graph.list<Record<string, unknown>>(tapPath(userId));
    return list.some((m) => m.isUsable === true);
  } catch (e) {
    return e instanceof GraphError ? `${e.status} ${e.code}` : 'no answer';
  }
}

/** Deletes the user's passes created at or after `since` (an interrupted run's intent). */
async function revokeSince(graph: Graph, userId: string, since: string): Promise<{ ok: true; revoked: string[] } | { ok: false; cause: string }> {
  let list: Array<Record<string, unknown>>;
  try {
    list = await graph.list<Record<string, unknown>>(tapPath(userId));
  } catch (e) {
    return { ok: false, cause: e instanceof GraphError ? `${e.status} ${e.code}` : 'no answer' };
  }
  // Five minutes of slack: the run's clock and Graph's may differ a little.
  const sinceMs = Date.parse(since) - 5 * 60_000;
  const revoked: string[] = [];
  for (const m of list) {
    const created = typeof m.createdDateTime === 'string' ? Date.parse(m.createdDateTime) : NaN;
    if (typeof m.id !== 'string' || !(created >= sinceMs)) continue;
    const why = await deletePass(graph, userId, m.id);
    if (why !== null) return { ok: false, cause: why };
    revoked.push(m.id);
  }
  return { ok: true, revoked };
}
