// One reconcile run: lock → read ledger → observe (Graph reads) → decide (pure) → apply
// (settle what an interrupted run left open, group adds, ledger, notifications) → report.
// `plan` is the same minus lock and apply. Crash safety (intents before every side effect) is
// described in intents.ts.
import { randomUUID } from 'node:crypto';
import type { Campaign } from '../campaign/types';
import { decide, decisionsToEvents, type Decision, type NotifyDecision } from '../engine/decide';
import { LEDGER_VERSION, type LedgerEvent, type NotificationOutcomeEvent, type NotificationSentEvent } from '../ledger/events';
import { applyEvents, foldLedger, inCampaign, type CampaignState } from '../engine/state';
import { type BatchRequest, type BatchResponse, type Graph } from '../graph/client';
import { GraphAuthError, GraphError } from '../graph/errors';
import { notificationRequest, sentMailLookupRequest, type ChannelConfig } from '../notify/channels';
import { createPostponeToken } from '../notify/postpone-token';
import { renderNotification } from '../notify/templates';
import { LockHeldError } from '../ledger/errors';
import { SNAPSHOTS, type LedgerStore } from '../ledger/store';
import { RuntimeError } from '../errors';
import { countStages, type RunCounts, type RunResult, type Transition } from './result';
import { closeInterruptedRuns, describeOpen, openIntents, type OpenIntents, type OpenNotification } from './intents';
import { observe, type ObserveResult } from './observe';

export interface RunOptions {
  campaign: Campaign;
  graph: Graph;
  store: LedgerStore;
  now: Date;
  /** false for `plan`: no lock, no write of any kind. */
  apply: boolean;
  runId?: string;
  /** Email sender when the campaign does not name one. */
  sender?: string;
  teamsAppId?: string;
  /** Signed postponement links in notifications; omitted → no link. */
  postpone?: { baseUrl: string; key: string };
  /** How long to wait for another run's lock (ms). Default 0: fail at once with who holds it. */
  lockWaitMs?: number;
  /** Act even if the target set shrank by more than MAX_TARGET_DROP since the last run. */
  acceptTargetDrop?: boolean;
}

/** A run whose target set shrank more than this since the last completed run stops before acting. */
export const MAX_TARGET_DROP = 0.2;

/** Targeted users counted by the last completed run, or null for a first run. */
export function previousTargeted(events: readonly { type: string; counts?: unknown; ok?: unknown }[]): number | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'campaignReset' || e.type === 'campaignArchived') return null;
    if (e.type !== 'runFinished' || e.ok !== true) continue;
    const t = (e.counts as { targeted?: unknown } | undefined)?.targeted;
    if (typeof t === 'number') return t;
  }
  return null;
}

/** Groups decisions by user, keeping each user's decisions in order. */
function byUser(decisions: Decision[]): Array<{ userId: string | null; list: Decision[] }> {
  const out: Array<{ userId: string | null; list: Decision[] }> = [];
  for (const d of decisions) {
    const last = out[out.length - 1];
    if (last && last.userId !== null && last.userId === d.userId) last.list.push(d);
    else out.push({ userId: d.userId, list: [d] });
  }
  return out;
}

/**
 * The blast-radius valve: at most maxNewPerRun users join the enforcement group per run. A user
 * over the limit makes no move at all this run (the next run picks them up), so nobody is told
 * "you are enforced" without being in the group.
 */
export function applyValve(decisions: Decision[], maxNewPerRun: number): { kept: Decision[]; deferred: number } {
  let adds = 0;
  let deferred = 0;
  const kept: Decision[] = [];
  for (const g of byUser(decisions)) {
    const wantsAdd = g.list.some((d) => d.type === 'addToGroup');
    if (wantsAdd && adds >= maxNewPerRun) {
      deferred++;
      continue;
    }
    if (wantsAdd) adds++;
    kept.push(...g.list);
  }
  return { kept, deferred };
}

type Append = (events: LedgerEvent[]) => Promise<void>;

/** The user ids whose add succeeded (null) or failed (the error text). */
async function addToGroup(graph: Graph, groupId: string, userIds: string[]): Promise<Map<string, string | null>> {
  // One POST $ref per user inside $batch: a member that is already there ("already exist") counts as
  // success, which a bulk PATCH cannot express. Safe to retry and to re-drive after a crash.
  const results = new Map<string, string | null>();
  const requests: BatchRequest[] = userIds.map((id, i) => ({
    id: String(i),
    method: 'POST',
    url: `/groups/${groupId}/members/$ref`,
    body: { '@odata.id': `${graph.baseUrl}/v1.0/directoryObjects/${id}` },
  }));
  const responses = await graph.batch(requests);
  userIds.forEach((id, i) => {
    const r = responses.get(String(i));
    const text = JSON.stringify(r?.body ?? '');
    if (r && (r.status === 204 || r.status === 200 || (r.status === 400 && /already exist/i.test(text)))) results.set(id, null);
    else results.set(id, `${r?.status ?? 'no response'} ${text.slice(0, 200)}`);
  });
  return results;
}

/** Undoes adds of an interrupted run that the current decisions no longer want; "not a member" counts as done. */
async function removeFromGroup(graph: Graph, groupId: string, userIds: string[]): Promise<Map<string, string | null>> {
  const results = new Map<string, string | null>();
  const requests: BatchRequest[] = userIds.map((id, i) => ({ id: String(i), method: 'DELETE', url: `/groups/${groupId}/members/${id}/$ref` }));
  const responses = await graph.batch(requests);
  userIds.forEach((id, i) => {
    const r = responses.get(String(i));
    if (r && (r.status === 204 || r.status === 200 || r.status === 404)) results.set(id, null);
    else results.set(id, `${r?.status ?? 'no response'} ${JSON.stringify(r?.body ?? '').slice(0, 200)}`);
  });
  return results;
}

export async function runCampaign(opts: RunOptions): Promise<RunResult> {
  const { campaign, graph, store, now } = opts;
  const name = campaign.metadata.name;
  const runId = opts.runId ?? randomUUID();
  const nowIso = now.toISOString();
  const warnings: string[] = [];
  const requestsBefore = graph.stats.requests;

  const lock = opts.apply ? await takeLock(store, name, runId, opts.lockWaitMs ?? 0) : null;
  try {
    if (lock) warnings.push(...lock.warnings);
    const ledger = await store.read(name);
    warnings.push(...ledger.warnings);
    const ledgerEvents = ledger.events;
    const state = foldLedger(ledgerEvents);
    const open = openIntents(ledgerEvents);
    const append: Append = (events) => store.append(name, events);

    // A plan for a campaign that has not started shows what its first run would do.
    let effective = campaign;
    if (!opts.apply && campaign.spec.status === 'notStarted') {
      effective = { ...campaign, spec: { ...campaign.spec, status: 'inProgress' } };
      warnings.push(`${name} is notStarted: this plan shows what the first run would do once spec.status is inProgress.`);
    }
    if (!opts.apply) {
      const pending = describeOpen(open);
      if (pending) warnings.push(pending);
    }
    if (campaign.spec.status !== 'inProgress' && opts.apply) {
      // Read only for the overview's counts: a failure changes nothing here, but is said.
      const observed = campaign.spec.status === 'notStarted' ? null : await observe(graph, campaign, now).catch((e: unknown) => {
        warnings.push(`the tenant could not be read for this run's counts (${e instanceof Error ? e.message : String(e)}).`);
        return null;
      });
      warnings.push(`${name} is ${campaign.spec.status}: no user is contacted or moved.`);
      // Interrupted runs are closed so run pairs never overlap; their open intents wait until the campaign runs again.
      await append([
        ...closeInterruptedRuns(open, runId, nowIso),
        { v: LEDGER_VERSION, at: nowIso, type: 'runStarted', runId, campaign: name, status: campaign.spec.status },
        { v: LEDGER_VERSION, at: nowIso, type: 'runFinished', runId, ok: true, counts: {} },
      ]);
      const obs = observed?.observation ?? { v: 1 as const, campaign: name, at: nowIso, fido2Policy: null, users: [], excluded: [], readErrors: [] };
      return result(campaign, nowIso, runId, true, countStages(state, obs), [], 0, 0, graph.stats.requests - requestsBefore, warnings, 0, observed?.prerequisites ?? null);
    }

    const observed = await observe(graph, effective, now, { allowMissingGroup: !opts.apply });
    warnings.push(...observed.warnings);

    // A broken role or group read looks exactly like "everyone left": refuse to act on it.
    const before = previousTargeted(ledgerEvents);
    const nowTargeted = observed.observation.users.length;
    if (before !== null && before > 0 && (before - nowTargeted) / before > MAX_TARGET_DROP && !opts.acceptTargetDrop) {
      const message = `the target set shrank from ${before} to ${nowTargeted} users (−${Math.round(((before - nowTargeted) / before) * 100)}%) since the last run; nothing was changed.`;
      const hint = 'If roles, groups or exclusions really changed that much, run again with --accept-target-drop; otherwise check the role and group reads (permissions, PIM).';
      if (opts.apply) throw new RuntimeError(message, false, hint);
      warnings.push(`${message} A reconcile would stop here. ${hint}`);
    }

    const decisions = decide(effective, observed.observation, state, nowIso);
    for (const d of decisions) if (d.type === 'warn') warnings.push(d.userPrincipalName ? `${d.userPrincipalName}: ${d.message}` : d.message);

    const { kept, deferred } = applyValve(decisions, campaign.spec.enforcement.maxNewPerRun);
    if (deferred) warnings.push(`${deferred} user${deferred === 1 ? '' : 's'} ready for enforcement wait for the next run: spec.enforcement.maxNewPerRun is ${campaign.spec.enforcement.maxNewPerRun}.`);

    if (opts.apply) return await apply({ opts, runId, nowIso, state, open, observed, decisions, kept, deferred, warnings, requestsBefore, append });

    // plan: the state as it would be after applying.
    const after = applyEvents(structuredClone(state), decisionsToEvents(kept, { runId, now: nowIso }));
    const notifications = kept.filter((d) => d.type === 'notify' && d.channel !== 'none').length;
    const groupAdds = kept.filter((d) => d.type === 'addToGroup' && !observed.groupMembers.has(d.userId.toLowerCase())).length;
    return result(campaign, nowIso, runId, false, countStages(after, observed.observation), transitions(kept), notifications, groupAdds, graph.stats.requests - requestsBefore, warnings, deferred, observed.prerequisites);
  } finally {
    await lock?.release();
  }
}

/** The campaign's lock; another run holding it is a runtime condition (exit 2 naming the holder), not a bug. */
async function takeLock(store: LedgerStore, name: string, runId: string, waitMs: number) {
  try {
    return await store.acquireLock(name, { owner: `reconcile ${runId}`, waitMs });
  } catch (e) {
    if (e instanceof LockHeldError) {
      const hint = `Another run is probably in progress: wait for it to finish, or pass --lock-wait SECONDS to wait for it. ${e.ifGone}`;
      throw Object.assign(new RuntimeError(e.summary, true, hint), { cause: e });
    }
    throw e;
  }
}

interface ApplyInput {
  opts: RunOptions;
  runId: string;
  nowIso: string;
  state: CampaignState;
  open: OpenIntents;
  observed: ObserveResult;
  decisions: Decision[];
  kept: Decision[];
  deferred: number;
  warnings: string[];
  requestsBefore: number;
  append: Append;
}

/**
 * The writes, in crash-safe order (see intents.ts): close interrupted runs + runStarted + group-add
 * intents → group adds (and roll-backs) → outcomes + decisions → per 20 notifications: dispatch →
 * send → outcomes → runFinished. A kill between any two steps leaves a ledger the next run can settle.
 */
async function apply(x: ApplyInput): Promise<RunResult> {
  const { opts, runId, nowIso, state, open, observed, decisions, kept, deferred, warnings, append } = x;
  const { campaign, graph } = opts;
  const name = campaign.metadata.name;
  const group = observed.group;
  const v = LEDGER_VERSION;
  const userEvent = (userId: string, userPrincipalName: string) => ({ v, at: nowIso, runId, userId, userPrincipalName });

  // Group adds an interrupted run intended: confirmed if the user is (or now becomes) enforced, left
  // open if the valve deferred them, undone if the user is in the group without being due, else dropped.
  const entersEnforced = (list: Decision[]) => new Set(list.flatMap((d) => (d.type === 'enterStage' && d.to === 'enforced' ? [d.userId] : [])));
  const enforcedNow = entersEnforced(kept);
  const enforcedLater = entersEnforced(decisions);
  const isEnforced = (id: string) => enforcedNow.has(id) || (inCampaign(state.users[id]) && state.users[id]!.stage === 'enforced');
  const toAdd = kept.filter((d): d is Extract<Decision, { type: 'addToGroup' }> => d.type === 'addToGroup' && !observed.groupMembers.has(d.userId.toLowerCase()));
  const redriven = open.groupAdds.filter((g) => isEnforced(g.userId));
  const undecided = open.groupAdds.filter((g) => !isEnforced(g.userId) && !enforcedLater.has(g.userId));
  const rollBack = undecided.filter((g) => g.groupId === group.id && observed.groupMembers.has(g.userId.toLowerCase()));
  const superseded = undecided.filter((g) => !rollBack.includes(g));

  let started = false;
  try {
    // 1. Intents: this run exists and is about to add these users.
    await append([
      ...closeInterruptedRuns(open, runId, nowIso),
      { v, at: nowIso, type: 'runStarted', runId, campaign: name, status: campaign.spec.status, intents: 1 },
      ...toAdd.map((d) => ({ ...userEvent(d.userId, d.userPrincipalName), type: 'groupAddIntent' as const, groupId: group.id })),
    ]);
    started = true;

    // 2. Group adds first: a user whose add failed makes no other move this run.
    const outcomes: LedgerEvent[] = [];
    const failed = new Set<string>();
    let groupAdds = 0;
    if (toAdd.length) {
      const res = await addToGroup(graph, group.id, toAdd.map((d) => d.userId));
      for (const d of toAdd) {
        const err = res.get(d.userId) ?? null;
        if (err === null) groupAdds++;
        else {
          failed.add(d.userId);
          warnings.push(`adding ${d.userPrincipalName} to ${group.displayName} failed (${err}); the user stays in the enforcement notice and is retried next run.`);
        }
        outcomes.push({ ...userEvent(d.userId, d.userPrincipalName), type: 'groupAddOutcome', groupId: group.id, outcome: err === null ? 'added' : 'failed', ...(err === null ? {} : { detail: err }) });
      }
    }
    for (const g of redriven) {
      if (failed.has(g.userId)) continue;
      if (toAdd.some((d) => d.userId === g.userId)) continue; // its new intent's outcome above settles it too
      outcomes.push({ ...userEvent(g.userId, g.userPrincipalName), type: 'groupAddOutcome', groupId: g.groupId, outcome: 'added', detail: `the interrupted run ${g.runId ?? '?'} had added the user; this run confirmed the membership` });
    }
    if (rollBack.length) {
      const res = await removeFromGroup(graph, group.id, rollBack.map((g) => g.userId));
      for (const g of rollBack) {
        const err = res.get(g.userId) ?? null;
        if (err !== null) {
          warnings.push(`${g.userPrincipalName} is in ${group.displayName} from an interrupted run although no longer due for enforcement; removing the user failed (${err}) and is tried again next run.`);
          continue;
        }
        warnings.push(`${g.userPrincipalName} was added to ${group.displayName} by an interrupted run but is no longer due for enforcement; the add was undone.`);
        outcomes.push({ ...userEvent(g.userId, g.userPrincipalName), type: 'groupAddOutcome', groupId: g.groupId, outcome: 'rolledBack', detail: 'the run that added the user was interrupted before recording the enforcement, and this run does not enforce the user' });
      }
    }
    for (const g of superseded) {
      outcomes.push({ ...userEvent(g.userId, g.userPrincipalName), type: 'groupAddOutcome', groupId: g.groupId, outcome: 'superseded', detail: 'no longer due for enforcement and not in the group: nothing to undo' });
    }
    const applied = kept.filter((d) => d.userId === null || !failed.has(d.userId));

    // 3. Record every decision; a notification is recorded before it is sent (at most once).
    const notify = applied.filter((d): d is NotifyDecision => d.type === 'notify');
    const byKey = new Map(notify.map((d) => [d.key, d]));
    const decisionEvents = decisionsToEvents(applied, { runId, now: nowIso });
    for (const e of decisionEvents) {
      if (e.type !== 'notificationSent') continue;
      const d = byKey.get(e.key);
      if (!d) continue;
      e.channel = d.channel;
      e.deadline = d.deadline;
      if (d.devices?.length) e.devices = d.devices.map((dev) => ({ displayName: dev.displayName, platform: dev.platform, version: dev.version, minimum: dev.minimum }));
    }
    const after = applyEvents(structuredClone(state), decisionEvents);

    // Notifications an interrupted run left unsettled.
    const cfg = channelConfig(opts);
    const settle = await settleOpenNotifications(graph, cfg, open.notifications, after, observed, warnings);
    outcomes.push(...settle.outcomes.map((o) => ({ ...o, v, at: nowIso, runId })));
    await append([...outcomes, ...decisionEvents]);

    // 4. Send: new notices and the open ones that are certainly unsent, 20 per dispatch record.
    const outgoing: Notice[] = [...settle.resend, ...notify.map((d) => noticeOf(d))];
    const sent = await sendNotifications(graph, campaign, cfg, outgoing, observed, opts, new Date(nowIso), runId, nowIso, append, warnings);

    const counts = countStages(after, observed.observation);
    await append([{ v, at: nowIso, type: 'runFinished', runId, ok: true, counts: { ...counts, notifications: sent, groupAdds, deferred } }]);
    await opts.store.writeSnapshot(name, SNAPSHOTS.observation, observed.observation);
    return result(campaign, nowIso, runId, true, counts, transitions(applied), sent, groupAdds, graph.stats.requests - x.requestsBefore, warnings, deferred, observed.prerequisites);
  } catch (e) {
    // A run that fails after it started says so; a run that is killed is closed by the next one.
    if (started) {
      const error = e instanceof Error ? e.message : String(e);
      await append([{ v, at: nowIso, type: 'runFinished', runId, ok: false, error }]).catch(() => undefined);
    }
    throw e;
  }
}

function transitions(decisions: Decision[]): Transition[] {
  const out: Transition[] = [];
  for (const d of decisions) {
    if (d.type === 'enterStage') out.push({ userId: d.userId, userPrincipalName: d.userPrincipalName, from: d.from, to: d.to, reason: d.reason });
    else if (d.type === 'leave') out.push({ userId: d.userId, userPrincipalName: d.userPrincipalName, from: d.from, to: null, reason: d.reason });
  }
  return out;
}

function result(campaign: Campaign, now: string, runId: string, applied: boolean, counts: RunCounts, t: Transition[], notifications: number, groupAdds: number, graphRequests: number, warnings: string[], deferred: number, prerequisites: RunResult['prerequisites']): RunResult {
  return { campaign: campaign.metadata.name, now, status: campaign.spec.status, applied, counts, transitions: t, notifications, groupAdds, graphRequests, warnings, runId, deferred, prerequisites };
}

function channelConfig(opts: RunOptions): ChannelConfig {
  const n = opts.campaign.spec.notifications;
  return { channel: n.channel, sender: n.sender ?? opts.sender, teamsAppId: opts.teamsAppId };
}

/** A notification to send: from a decision of this run, or recorded by an interrupted one. */
interface Notice {
  userId: string;
  userPrincipalName: string;
  key: string;
  kind: NotifyDecision['kind'];
  stage: NotifyDecision['stage'];
  deadline: string | null;
  devices?: Array<{ displayName: string; platform: string; version: string; minimum: string }>;
  resent: boolean;
}

function noticeOf(d: NotifyDecision): Notice {
  return { userId: d.userId, userPrincipalName: d.userPrincipalName, key: d.key, kind: d.kind, stage: d.stage, deadline: d.deadline, devices: d.devices, resent: false };
}

function noticeOfEvent(e: NotificationSentEvent): Notice {
  return { userId: e.userId, userPrincipalName: e.userPrincipalName, key: e.key, kind: e.kind, stage: e.stage, deadline: e.deadline ?? null, devices: e.devices, resent: true };
}

type Outcome = Omit<NotificationOutcomeEvent, 'v' | 'at' | 'runId'>;

/**
 * Settles notifications an interrupted run recorded but did not confirm. Never dispatched: sent now if
 * the user is still in that stage, else cancelled. Dispatched: email is looked up in Sent Items by its
 * key (found = delivered, missing = sent now); Teams cannot be looked up and is recorded in doubt.
 */
async function settleOpenNotifications(graph: Graph, cfg: ChannelConfig, open: OpenNotification[], after: CampaignState, observed: ObserveResult, warnings: string[]): Promise<{ outcomes: Outcome[]; resend: Notice[] }> {
  const outcomes: Outcome[] = [];
  const resend: Notice[] = [];
  if (!open.length) return { outcomes, resend };
  const observedIds = new Set(observed.observation.users.map((u) => u.userId));
  const base = (n: OpenNotification, channel: Outcome['channel']) => ({ type: 'notificationOutcome' as const, userId: n.sent.userId, userPrincipalName: n.sent.userPrincipalName, key: n.sent.key, channel });
  const stillDue = (n: OpenNotification) => {
    const u = after.users[n.sent.userId];
    return inCampaign(u) && u.stage === n.sent.stage && observedIds.has(n.sent.userId);
  };
  const toCheck: OpenNotification[] = [];
  for (const n of open) {
    const channel = n.sent.channel ?? cfg.channel;
    if (channel === 'none' || cfg.channel === 'none') {
      outcomes.push({ ...base(n, channel), outcome: 'cancelled', detail: 'notifications are off (channel none)' });
    } else if (!n.dispatched) {
      if (stillDue(n)) resend.push(noticeOfEvent(n.sent));
      else outcomes.push({ ...base(n, channel), outcome: 'cancelled', detail: `never sent by the interrupted run, and the user is no longer in ${n.sent.stage}` });
    } else if (channel === 'teams') {
      outcomes.push({ ...base(n, channel), outcome: 'inDoubt', detail: 'the run that sent it got no answer (interrupted or timed out); Teams has no read API for activity notifications, so it is not sent again (at most once)' });
      warnings.push(`Teams notification ${n.sent.key} to ${n.sent.userPrincipalName} may or may not have been delivered by an interrupted run; it is recorded as in doubt and not sent again.`);
    } else toCheck.push(n);
  }
  if (toCheck.length) {
    if (!cfg.sender) {
      for (const n of toCheck) outcomes.push({ ...base(n, 'email'), outcome: 'failed', detail: 'no sender mailbox to look it up in' });
      return { outcomes, resend };
    }
    const responses = await graph.batch(toCheck.map((n, i) => sentMailLookupRequest(cfg.sender!, n.sent.key, String(i))));
    toCheck.forEach((n, i) => {
      const r = responses.get(String(i));
      if (!r || r.status !== 200) {
        warnings.push(`could not look up email ${n.sent.key} in the Sent Items of ${cfg.sender} (${r?.status ?? 'no response'}); it stays open and is checked again next run.`);
        return;
      }
      const found = ((r.body as { value?: unknown[] } | null)?.value ?? []).length > 0;
      if (found) outcomes.push({ ...base(n, 'email'), outcome: 'delivered', recovered: 'sentItems', detail: `found in the Sent Items of ${cfg.sender}` });
      else if (stillDue(n)) resend.push(noticeOfEvent(n.sent));
      else outcomes.push({ ...base(n, 'email'), outcome: 'cancelled', detail: `not in the Sent Items of ${cfg.sender}, and the user is no longer in ${n.sent.stage}` });
    });
  }
  return { outcomes, resend };
}

/** Notifications per dispatch record: at most this many are in doubt when a run dies mid-send. */
const DISPATCH_GROUP = 20;

/**
 * Sends notifications in $batch requests of 20, a few at once. Each wave is recorded as dispatched
 * before it leaves; a $batch whose answer is lost is never re-sent (its notifications become in
 * doubt), while inner 429/503 answers — not executed by Graph — are retried. Returns how many were
 * delivered.
 */
async function sendNotifications(graph: Graph, campaign: Campaign, cfg: ChannelConfig, notices: Notice[], observed: ObserveResult, opts: RunOptions, now: Date, runId: string, at: string, append: Append, warnings: string[]): Promise<number> {
  if (cfg.channel === 'none' || notices.length === 0) return 0;
  const v = LEDGER_VERSION;
  const channel = cfg.channel;
  const outcome = (n: Notice, o: Omit<Outcome, 'type' | 'userId' | 'userPrincipalName' | 'key' | 'channel'>): LedgerEvent =>
    ({ v, at, runId, type: 'notificationOutcome', userId: n.userId, userPrincipalName: n.userPrincipalName, key: n.key, channel, ...(n.resent ? { recovered: 'resent' as const } : {}), ...o });
  if (channel === 'email' && !cfg.sender) {
    warnings.push(`${notices.length} email notification(s) not sent: no sender mailbox. Set spec.notifications.sender or pass --sender.`);
    await append(notices.map((n) => outcome(n, { outcome: 'failed', detail: 'no sender mailbox' })));
    return 0;
  }
  const users = new Map(observed.observation.users.map((u) => [u.userId, u]));
  const inDoubt = (n: Notice, status: number, why: string): LedgerEvent => {
    warnings.push(channel === 'email'
      ? `email ${n.key} to ${n.userPrincipalName} got no answer (${why}); the next run looks for it in the Sent Items of ${cfg.sender} and sends it only if it is not there.`
      : `Teams notification ${n.key} to ${n.userPrincipalName} got no answer (${why}); it may have been delivered, so it is recorded as in doubt and not sent again.`);
    return outcome(n, { outcome: 'inDoubt', status, detail: why });
  };
  const groups: Notice[][] = [];
  for (let i = 0; i < notices.length; i += DISPATCH_GROUP) groups.push(notices.slice(i, i + DISPATCH_GROUP));
  let delivered = 0;
  let authError: GraphAuthError | undefined;
  const wave = Math.max(1, graph.concurrency);
  for (let w = 0; w < groups.length && !authError; w += wave) {
    const batchGroups = groups.slice(w, w + wave);
    await append(batchGroups.map((group) => ({ v, at, type: 'notificationDispatch', runId, channel, keys: group.map((n) => n.key) }) as LedgerEvent));
    const results = await Promise.all(batchGroups.map(async (group): Promise<LedgerEvent[]> => {
      const requests = group.map((n, i) => notificationRequest(cfg, { userId: n.userId, userPrincipalName: n.userPrincipalName }, render(campaign, n, users.get(n.userId)?.displayName, opts, now), n.key, String(i))!);
      let responses: Map<string, BatchResponse>;
      try {
        responses = await graph.batch(requests, { retryTransport: false });
      } catch (e) {
        const status = e instanceof GraphError ? e.status : 0;
        const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
        if (e instanceof GraphAuthError) {
          authError ??= e;
          return group.map((n) => outcome(n, { outcome: 'notSent', status, detail: why }));
        }
        if (status === 429 || status === 503) {
          warnings.push(`${group.length} notifications were refused by Graph (${status}) and not executed; the next run sends them.`);
          return group.map((n) => outcome(n, { outcome: 'notSent', status, detail: why }));
        }
        if (status === 0 || status === 504 || !(e instanceof GraphError)) return group.map((n) => inDoubt(n, status, why));
        warnings.push(`${group.length} notifications were not delivered (${status} ${why}); the next reminder follows on schedule.`);
        return group.map((n) => outcome(n, { outcome: 'failed', status, detail: why }));
      }
      return group.map((n, i) => {
        const r = responses.get(String(i));
        const status = r?.status ?? 0;
        const why = r ? `${status} ${JSON.stringify(r.body ?? '').slice(0, 160)}` : 'no answer in the $batch response';
        if (r && status >= 200 && status < 300) {
          delivered++;
          return outcome(n, { outcome: 'delivered' });
        }
        if (status === 401 || status === 403) {
          authError ??= new GraphAuthError(`POST ${requests[i].url}: ${why}`, status, 'Unauthorized', 'POST', requests[i].url, false);
          return outcome(n, { outcome: 'notSent', status, detail: why });
        }
        if (status === 429 || status === 503) {
          warnings.push(`notification ${n.key} to ${n.userPrincipalName} was refused by Graph (${status}) and not executed; the next run sends it.`);
          return outcome(n, { outcome: 'notSent', status, detail: why });
        }
        if (!r || status === 504) return inDoubt(n, status, why);
        warnings.push(`notification ${n.key} to ${n.userPrincipalName} was not delivered (${why}); it is not retried, the next reminder follows on schedule.`);
        return outcome(n, { outcome: 'failed', status, detail: why });
      });
    }));
    await append(results.flat());
  }
  // Remaining notices were never dispatched: the next run sends them. The run itself fails like any 401.
  if (authError) throw authError;
  return delivered;
}

function render(campaign: Campaign, n: Notice, displayName: string | null | undefined, opts: RunOptions, now: Date) {
  let postponeUrl: string | undefined;
  if (opts.postpone && campaign.spec.postponement.enabled && n.kind !== 'enforced') {
    const token = createPostponeToken({ campaign: campaign.metadata.name, userId: n.userId, stage: n.stage, expiresAt: new Date(now.getTime() + 7 * 86_400_000), key: opts.postpone.key });
    postponeUrl = `${opts.postpone.baseUrl}?token=${encodeURIComponent(token)}`;
  }
  return renderNotification({
    kind: n.kind,
    displayName: displayName ?? n.userPrincipalName,
    campaignDescription: campaign.metadata.description,
    registrationUrl: campaign.spec.notifications.registrationUrl,
    deadline: n.deadline,
    devices: n.devices?.map((x) => ({ displayName: x.displayName, platform: x.platform, version: x.version, minimum: x.minimum })),
    postponeUrl,
    owners: campaign.metadata.owners,
  });
}
