// Act: the only module that writes to Graph. It carries out one run's decisions and its recovery plan
// in crash-safe order, recording an intent in the ledger before every side effect:
//
//   close interrupted runs + runStarted + group-add intents
//     → group adds (and roll-backs of an interrupted run's adds) → their outcomes + the decisions (appended
//       10,000 outcomes or decisions at a time, in order: the same lines as one batch; each let go of once recorded)
//     → per 20 notifications: dispatch record → send → outcomes
//
// A kill between any two steps leaves a ledger the next run can settle (src/engine/recovery.ts).
// It returns what it actually did; the caller writes runFinished (act writes it only for a run that fails).
import type { Campaign } from '../campaign/types';
import { decisionsToEvents, type Decision, type NotifyDecision } from '../engine/decide';
import { LEDGER_VERSION, type LedgerEvent } from '../ledger/events';
import { afterLookUp, closeInterruptedRuns, NOTIFICATION_RECOVERY, planNotificationRecovery, type GroupRecoveryPlan, type OpenIntents } from '../engine/recovery';
import { applyEvent, type CampaignState } from '../engine/state';
import { appendAll } from '../contracts/arrays';
import { heapMark } from '../contracts/heap-trace';
import { warning, type RunWarning } from '../engine/warnings';
import type { Graph } from '../graph/client';
import type { MailSend } from '../engine/mail-limits';
import type { ChannelConfig } from '../notify/channels';
import { missingPermissionHint, requestPermissions } from '../graph/permissions';
import { GroupWriteForbiddenError } from './errors';
import { addMembers, removeMembers } from './group-members';
import { sendersOf } from './mail-pacing';
import { lookUpSentMail, noticeOfEvent, PERMISSION_SAMPLE, sendNotifications, type Notice, type Outcome, type Recipients } from './notifications';

export interface ActInput {
  graph: Graph;
  campaign: Campaign;
  runId: string;
  now: Date;
  append: (events: LedgerEvent[]) => Promise<void>;
  /**
   * The ledger's state before this run, and what it left open. The caller may fold what act appends into this
   * state as it is appended: act reads from it nothing those events change before it appends them.
   */
  state: CampaignState;
  open: OpenIntents;
  /**
   * The decisions this run carries out (after the valves), handed over: act empties this array, and lets go of each
   * decision once it is recorded (but the notices it still has to send), so a run does not hold every user's
   * decisions beside the state they are folded into. What the caller needs of them it takes in `recorded`.
   */
  kept: Decision[];
  /** Called with each batch of the decisions that took effect, in order, once the batch is recorded. */
  recorded?: (batch: readonly Decision[]) => void;
  /** The group-add part of the recovery plan (planGroupRecovery). */
  groups: GroupRecoveryPlan;
  group: { id: string; displayName: string };
  /** A graduated campaign's second group (graduations are added to it); absent otherwise. */
  graduatedGroup?: { id: string; displayName: string } | null;
  channel: ChannelConfig;
  /** Who was observed this run: display name for the greeting, mailbox address for email. */
  recipients: Recipients;
  postpone?: { baseUrl: string; key: string };
  warnings: RunWarning[];
  /** Email the ledger records as dispatched, for the sender mailboxes' limits. */
  mailHistory?: readonly MailSend[];
  /** Graph client clock time after which no more email is sent. */
  sendUntil?: number;
}

export interface ActResult {
  /** How many decisions took effect (a user whose group add failed makes no move); `recorded` was given each. */
  applied: number;
  groupAdds: number;
  notificationsDelivered: number;
}

export async function act(x: ActInput): Promise<ActResult> {
  const { graph, campaign, runId, append, state, open, kept, groups, group, warnings } = x;
  const nowIso = x.now.toISOString();
  const v = LEDGER_VERSION;
  const userEvent = (userId: string, userPrincipalName: string) => ({ v, at: nowIso, runId, userId, userPrincipalName });
  const graduated = x.graduatedGroup ?? null;
  const toEnforce = groups.toAdd.filter((d) => d.group !== 'graduated');
  const toGraduate = groups.toAdd.filter((d) => d.group === 'graduated');
  // A graduation without its group cannot be written: decide only graduates when observe found it, so this is a caller bug.
  if (toGraduate.length && !graduated) throw new RangeError('graduations to apply but no graduated group');
  const groupOf = (d: { group?: 'graduated' }) => (d.group === 'graduated' ? graduated! : group);
  const nameOf = (groupId: string) => (graduated && groupId === graduated.id ? graduated.displayName : groupId === group.id ? group.displayName : `group ${groupId}`);

  // 1. Intents: this run exists and is about to add these users.
  await append([
    ...closeInterruptedRuns(open, runId, nowIso),
    { v, at: nowIso, type: 'runStarted', runId, campaign: campaign.metadata.name, status: campaign.spec.status, intents: 1 },
    ...groups.toAdd.map((d) => ({ ...userEvent(d.userId, d.userPrincipalName), type: 'groupAddIntent' as const, groupId: groupOf(d).id })),
  ]);
  try {
    // 2. Group adds first: a user whose add failed makes no other move this run.
    const outcomes: LedgerEvent[] = [];
    const failed = new Set<string>();
    let groupAdds = 0;
    if (toEnforce.length) {
      const res = await addMembers(graph, group.id, toEnforce.map((d) => d.userId));
      for (const d of toEnforce) {
        const err = res.get(d.userId) ?? null;
        if (err === null) groupAdds++;
        else {
          failed.add(d.userId);
          const grant = err.status === 403 ? missingPermissionHint('POST', `/groups/${group.id}/members/$ref`) : undefined;
          warnings.push(warning('GroupAddFailed', `adding ${d.userPrincipalName} to ${group.displayName} failed (${err.text}); the user stays in the enforcement notice and is retried next run.${grant ? ` If the identity may not write the group, ${grant}` : ''}`, d.userPrincipalName));
        }
        outcomes.push({ ...userEvent(d.userId, d.userPrincipalName), type: 'groupAddOutcome', groupId: group.id, outcome: err === null ? 'added' : 'failed', ...(err === null ? {} : { detail: err.text }) });
      }
      // Every add refused with 403 is the identity's missing permission, not the users' (as with notices: enough of
      // them, or the write never worked for this campaign): stop before any other move.
      const refused = [...res.values()];
      const neverAdded = !Object.values(state.users).some((u) => u.addedToGroupAt !== null);
      if (refused.every((e) => e?.status === 403) && (refused.length >= PERMISSION_SAMPLE || neverAdded)) {
        await append(outcomes);
        throw new GroupWriteForbiddenError(group, refused[0]!.code, refused.length, requestPermissions('POST', `/groups/${group.id}/members/$ref`)?.permissions ?? []);
      }
    }
    // Graduations: a failed add leaves the user enforced (still under the report-only policy), retried next run.
    if (toGraduate.length) {
      const res = await addMembers(graph, graduated!.id, toGraduate.map((d) => d.userId));
      for (const d of toGraduate) {
        const err = res.get(d.userId) ?? null;
        if (err === null) groupAdds++;
        else {
          failed.add(d.userId);
          const grant = err.status === 403 ? missingPermissionHint('POST', `/groups/${graduated!.id}/members/$ref`) : undefined;
          warnings.push(warning('GroupAddFailed', `adding ${d.userPrincipalName} to ${graduated!.displayName} failed (${err.text}); the user stays enforced under the report-only policy and is retried next run.${grant ? ` If the identity may not write the group, ${grant}` : ''}`, d.userPrincipalName));
        }
        outcomes.push({ ...userEvent(d.userId, d.userPrincipalName), type: 'groupAddOutcome', groupId: graduated!.id, outcome: err === null ? 'added' : 'failed', ...(err === null ? {} : { detail: err.text }) });
      }
    }
    for (const g of groups.redrive) {
      if (failed.has(g.userId)) continue;
      if (groups.toAdd.some((d) => d.userId === g.userId && groupOf(d).id === g.groupId)) continue; // its new intent's outcome above settles it too
      outcomes.push({ ...userEvent(g.userId, g.userPrincipalName), type: 'groupAddOutcome', groupId: g.groupId, outcome: 'added', detail: `the interrupted run ${g.runId ?? '?'} had added the user; this run confirmed the membership` });
    }
    // Roll-backs per group (the enforcement group, or a graduated campaign's second group).
    for (const groupId of [...new Set(groups.rollBack.map((g) => g.groupId))]) {
      const list = groups.rollBack.filter((g) => g.groupId === groupId);
      const name = nameOf(groupId);
      const due = graduated && groupId === graduated.id ? 'graduation' : 'enforcement';
      const res = await removeMembers(graph, groupId, list.map((g) => g.userId));
      for (const g of list) {
        const err = res.get(g.userId) ?? null;
        if (err !== null) {
          warnings.push(warning('RollBackFailed', `${g.userPrincipalName} is in ${name} from an interrupted run although no longer due for ${due}; removing the user failed (${err.text}) and is tried again next run.${err.status === 403 ? ` To remove the user, ${missingPermissionHint('DELETE', `/groups/${groupId}/members/${g.userId}/$ref`) ?? ''}` : ''}`, g.userPrincipalName));
          continue;
        }
        warnings.push(warning('RolledBack', `${g.userPrincipalName} was added to ${name} by an interrupted run but is no longer due for ${due}; the add was undone.`, g.userPrincipalName));
        outcomes.push({ ...userEvent(g.userId, g.userPrincipalName), type: 'groupAddOutcome', groupId: g.groupId, outcome: 'rolledBack', detail: `the run that added the user was interrupted before recording the ${due}, and this run does not ${due === 'enforcement' ? 'enforce' : 'graduate'} the user` });
      }
    }
    for (const g of groups.supersede) {
      outcomes.push({ ...userEvent(g.userId, g.userPrincipalName), type: 'groupAddOutcome', groupId: g.groupId, outcome: 'superseded', detail: 'no longer due for enforcement and not in the group: nothing to undo' });
    }
    // The decisions are act's from here: the caller's array is emptied, and each is let go of once recorded.
    const applied = failed.size ? kept.filter((d) => d.userId === null || !failed.has(d.userId)) : kept.splice(0);
    kept.length = 0;
    const count = applied.length;

    // 3. Record every decision; a notification is recorded before it is sent (at most once).
    const { notify, resend } = await recordDecisions(x, applied, outcomes);

    // 4. Send: new notices and the open ones that are certainly unsent, 20 per dispatch record.
    // A notify decision is its own notice (noticeOf): no copy per notified user.
    const outgoing: readonly Notice[] = resend.length ? [...resend, ...notify] : notify;
    const sent = await sendNotifications({ graph, campaign, channel: x.channel, recipients: x.recipients, postpone: x.postpone, now: x.now, runId, append, warnings, mailHistory: x.mailHistory, sendUntil: x.sendUntil }, outgoing);
    return { applied: count, groupAdds, notificationsDelivered: sent };
  } catch (e) {
    // A run that fails after it started says so; a run that is killed is closed by the next one.
    const error = e instanceof Error ? e.message : String(e);
    await append([{ v, at: nowIso, type: 'runFinished', runId, ok: false, error }]).catch(() => undefined);
    throw e;
  }
}

/** Decisions recorded per append: their events (and the encoded lines) are not all held at once on a first run. */
export const recording = { batch: 10_000 };

/**
 * Records the applied decisions after the outcomes (with those of the notifications an interrupted run left
 * unsettled), in order, recording.batch outcomes or decisions per append: the same lines as one batch (a kill could
 * always leave a prefix of a batch), without every user's events and encoded lines in memory at once. Empties
 * `applied` and `outcomes` as it goes. Returns the notices to send: new ones, and open ones certainly unsent.
 */
async function recordDecisions(x: ActInput, applied: Decision[], outcomes: LedgerEvent[]): Promise<{ notify: NotifyDecision[]; resend: Notice[] }> {
  const { runId } = x;
  const nowIso = x.now.toISOString();
  // With channel none nothing is sent, so no notice is kept.
  const notify = x.channel.channel === 'none' ? [] : applied.filter((d): d is NotifyDecision => d.type === 'notify');
  const toEvents = (decisions: readonly Decision[]): LedgerEvent[] => {
    const byKey = new Map<string, NotifyDecision>();
    for (const d of decisions) if (d.type === 'notify') byKey.set(d.key, d);
    const events = decisionsToEvents(decisions, { runId, now: nowIso });
    // With notifications off nothing is ever sent: each notice is settled (cancelled) on the line after it, in the
    // same append, instead of staying open until the next run's recovery cancels it with the same outcome. Next to its
    // notice, so the lines do not depend on how many decisions go in one append.
    let cancelled = false;
    for (const e of events) {
      if (e.type !== 'notificationSent') continue;
      const d = byKey.get(e.key);
      if (!d) continue;
      e.channel = d.channel;
      e.deadline = d.deadline;
      if (d.devices?.length) e.devices = d.devices.map((dev) => ({ displayName: dev.displayName, platform: dev.platform, version: dev.version, minimum: dev.minimum }));
      if (d.channel === 'none') cancelled = true;
    }
    if (!cancelled) return events;
    const lines: LedgerEvent[] = [];
    for (const e of events) {
      lines.push(e);
      if (e.type === 'notificationSent' && e.channel === 'none' && byKey.has(e.key)) {
        lines.push({ type: 'notificationOutcome', userId: e.userId, userPrincipalName: e.userPrincipalName, key: e.key, channel: 'none', outcome: 'cancelled', detail: NOTIFICATION_RECOVERY.CancelChannelNone(), v: LEDGER_VERSION, at: nowIso, runId });
      }
    }
    return lines;
  };
  // Notifications an interrupted run left unsettled, on the state after this run's decisions (for their users).
  const settle = await settleOpenNotifications(x, () => {
    const ids = new Set(x.open.notifications.map((n) => n.sent.userId));
    return stateAfterFor(x.state, toEvents(applied.filter((d) => d.userId !== null && ids.has(d.userId))), ids);
  });
  appendAll(outcomes, settle.outcomes);
  settle.outcomes.length = 0;
  // Outcomes beyond one batch go first on their own, recording.batch at a time, each let go of once recorded (a run
  // that settles every user's open notice has an outcome per user); the rest go with the first decisions.
  const heldOutcomes: Array<LedgerEvent | null> = outcomes;
  let o = 0;
  for (; outcomes.length - o > recording.batch; o += recording.batch) {
    await x.append(outcomes.slice(o, o + recording.batch));
    heldOutcomes.fill(null, o, o + recording.batch);
  }
  const held: Array<Decision | null> = applied;
  let i = 0;
  do {
    const batch: LedgerEvent[] = [];
    if (i === 0) {
      appendAll(batch, o ? outcomes.slice(o) : outcomes);
      outcomes.length = 0;
    }
    const decisions = applied.slice(i, i + recording.batch);
    appendAll(batch, toEvents(decisions));
    await x.append(batch);
    x.recorded?.(decisions);
    // Recorded: let go of them (a first run records a decision or more per user).
    held.fill(null, i, i + decisions.length);
    i += recording.batch;
  } while (i < applied.length);
  applied.length = 0;
  heapMark('decisions-recorded');
  return { notify, resend: settle.resend };
}

/**
 * The state after `events` for the users named in `userIds` only, leaving `state` as it was: what
 * applyEventsToCopy(state, events) holds for those users, without a copy of (or a new state for) every user the
 * events name (on a first run, every targeted user). Users the events do not name are shared with `state`.
 */
export function stateAfterFor(state: CampaignState, events: readonly LedgerEvent[], userIds: Iterable<string>): CampaignState {
  const ids = new Set(userIds);
  const named = new Set<string>();
  for (const e of events) if ('userId' in e && ids.has(e.userId)) named.add(e.userId);
  // Only the users the events change are copied; the others are shared with `state` (read, never written).
  const users: CampaignState['users'] = {};
  for (const id of ids) {
    const u = state.users[id];
    if (u) users[id] = named.has(id) ? structuredClone(u) : u;
  }
  const copy: CampaignState = { ...state, lastRun: state.lastRun ? { ...state.lastRun } : null, users };
  for (const e of events) if (!('userId' in e) || ids.has(e.userId)) applyEvent(copy, e);
  return copy;
}

/** Carries out the notification half of the recovery plan: outcomes to record and notices to send again. */
async function settleOpenNotifications(x: ActInput, stateAfter: () => CampaignState): Promise<{ outcomes: LedgerEvent[]; resend: Notice[] }> {
  const outcomes: LedgerEvent[] = [];
  const resend: Notice[] = [];
  if (!x.open.notifications.length) return { outcomes, resend };
  const cfg = x.channel;
  // With notifications off every open notice is cancelled (planNotificationRecovery) and nothing reads the state after
  // this run's decisions: not built (it copies the state of every user with an open notice).
  const after = cfg.channel === 'none' ? x.state : stateAfter();
  const observedIds = x.recipients;
  const steps = planNotificationRecovery({ open: x.open.notifications, channel: cfg.channel, hasSender: !!cfg.sender, after, observedIds });
  const at = x.now.toISOString();
  const runId = x.runId;
  // The ledger line itself, its fields in the order they always had (the outcome's, then v, at and runId).
  const settled = (s: (typeof steps)[number], outcome: Outcome['outcome'], detail: string, recovered?: 'sentItems'): LedgerEvent => (recovered
    ? { type: 'notificationOutcome', userId: s.notice.userId, userPrincipalName: s.notice.userPrincipalName, key: s.notice.key, channel: s.channel, outcome, recovered, detail, v: LEDGER_VERSION, at, runId }
    : { type: 'notificationOutcome', userId: s.notice.userId, userPrincipalName: s.notice.userPrincipalName, key: s.notice.key, channel: s.channel, outcome, detail, v: LEDGER_VERSION, at, runId });
  const lookUps = steps.filter((s) => s.action === 'LookUp');
  const found = await lookUpInSenders(x.graph, sendersOf(cfg), lookUps.map((s) => s.notice.key));
  const mailboxes = sendersOf(cfg).join(', ');
  // Final outcomes first, then the look-ups, in ledger order within each (the order the ledger always had).
  for (const s of steps) {
    switch (s.action) {
      case 'CancelChannelNone':
      case 'CancelNotDue':
        outcomes.push(settled(s, 'cancelled', s.detail));
        break;
      case 'Resend':
        resend.push(noticeOfEvent(s.notice));
        break;
      case 'InDoubt':
        outcomes.push(settled(s, 'inDoubt', s.detail));
        x.warnings.push(warning('NotificationInDoubt', `Teams notification ${s.notice.key} to ${s.notice.userPrincipalName} may or may not have been delivered by an interrupted run; it is recorded as in doubt and not sent again (an enforcement notice is followed by a new one, since enforcement waits for a delivered notice).`, s.notice.userPrincipalName));
        break;
      default:
        break;
    }
  }
  let forbidden = false;
  for (const s of steps) {
    if (s.action === 'FailNoSender') {
      outcomes.push(settled(s, 'failed', s.detail));
      continue;
    }
    if (s.action !== 'LookUp') continue;
    const r = found.get(s.notice.key);
    if (!r || r.found === null) {
      // Fail safe: not known delivered, so neither delivered nor sent again (it stays open).
      if (r?.status === 403) forbidden = true;
      x.warnings.push(warning('SentItemsLookUpFailed', `could not look up email ${s.notice.key} in the Sent Items of ${mailboxes} (${r?.status ?? 'no response'}); it stays open and is checked again next run.`, s.notice.userPrincipalName));
      continue;
    }
    const result = afterLookUp(s.notice, r.found, after, observedIds);
    if (result === 'delivered') outcomes.push(settled(s, 'delivered', `found in the Sent Items of ${mailboxes}`, 'sentItems'));
    else if (result === 'resend') resend.push(noticeOfEvent(s.notice));
    else outcomes.push(settled(s, 'cancelled', `not in the Sent Items of ${mailboxes}, and the user is no longer in ${s.notice.stage}`));
  }
  // A 403 is the identity's missing permission, not the mail's: said once, with what to grant.
  if (forbidden) x.warnings.push(warning('MailReadMissing', `the Sent Items look-up answered 403: the identity lacks Mail.Read on the sender mailbox ${mailboxes}, so emails an interrupted run dispatched cannot be settled (they stay open, are not counted as delivered and are not sent again). Grant Mail.Read scoped to the sender mailbox with the application access policy that scopes Mail.Send (docs/platform-engineer.md).`));
  return { outcomes, resend };
}

/**
 * Looks each key up in every sender mailbox's Sent Items (several senders share the load, and the dispatch line
 * of an older run does not say which one sent it): found in one = found; otherwise a failed look-up in any = unknown.
 */
async function lookUpInSenders(graph: Graph, senders: readonly string[], keys: readonly string[]): Promise<Map<string, { found: boolean | null; status: number | null }>> {
  const out = new Map<string, { found: boolean | null; status: number | null }>();
  for (const sender of senders) {
    const open = keys.filter((k) => out.get(k)?.found !== true);
    if (!open.length) break;
    for (const [k, r] of await lookUpSentMail(graph, sender, open)) {
      const before = out.get(k);
      if (r.found === true || before === undefined || (before.found === false && r.found === null)) out.set(k, r);
    }
  }
  return out;
}
