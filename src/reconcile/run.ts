// One reconcile run, as a short pipeline:
//
//   lock → read ledger → observe (Graph reads) → resolve targets → decide → valve → plan recovery → act → finish
//
// Every rule lives in a pure module (src/engine: targets, decide, valve, recovery); the writes live in
// src/act. `plan` runs the same pipeline up to the valve, takes no lock and writes nothing.
import { randomUUID } from 'node:crypto';
import { act } from '../act';
import type { Campaign } from '../campaign/types';
import { decide, decisionsToEvents, type Decision } from '../engine/decide';
import { LEDGER_VERSION, type LedgerEvent } from '../ledger/events';
import { closeInterruptedRuns, describeOpen, openIntents, planGroupRecovery } from '../engine/recovery';
import { applyEvents, deliverySnapshot, foldLedger, type DeliverySnapshot } from '../engine/state';
import { resolveTargets, type ResolvedTargets } from '../engine/targets';
import type { Observation } from '../engine/types';
import { applyValve, previousTargeted, targetDrop } from '../engine/valve';
import { warning, type RunWarning } from '../engine/warnings';
import { RuntimeError } from '../errors';
import type { Graph } from '../graph/client';
import type { ChannelConfig } from '../notify/channels';
import { LockHeldError } from '../ledger/errors';
import { SNAPSHOTS, type LedgerStore } from '../ledger/store';
import { TenantReadError } from '../observe/errors';
import { observe, type ObserveOptions } from '../observe/observe';
import { countStages, type RunResult, type Transition } from './result';

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

/** What every step of one run shares. */
interface Run {
  opts: RunOptions;
  name: string;
  runId: string;
  nowIso: string;
  warnings: RunWarning[];
  requestsBefore: number;
  append: (events: LedgerEvent[]) => Promise<void>;
  /** What this run appended, in order: folded onto the ledger's state for the delivery snapshot. */
  written: LedgerEvent[];
}

export async function runCampaign(opts: RunOptions): Promise<RunResult> {
  const { campaign, store } = opts;
  const name = campaign.metadata.name;
  const run: Run = {
    opts,
    name,
    runId: opts.runId ?? randomUUID(),
    nowIso: opts.now.toISOString(),
    warnings: [],
    requestsBefore: opts.graph.stats.requests,
    append: async (events) => {
      await store.append(name, events);
      for (const e of events) run.written.push(e);
    },
    written: [],
  };

  const lock = opts.apply ? await takeLock(store, name, run.runId, opts.lockWaitMs ?? 0) : null;
  try {
    for (const w of lock?.warnings ?? []) run.warnings.push(warning('LockTakenOver', w));
    const ledger = await store.read(name);
    for (const w of ledger.warnings) run.warnings.push(warning('LedgerRecovered', w));
    const events = ledger.events;
    const state = foldLedger(events);
    const open = openIntents(events);

    if (opts.apply && campaign.spec.status !== 'inProgress') return await idleRun(run, state, open);

    // A plan for a campaign that has not started shows what its first run would do.
    const effective: Campaign = !opts.apply && campaign.spec.status === 'notStarted'
      ? { ...campaign, spec: { ...campaign.spec, status: 'inProgress' } }
      : campaign;
    if (effective !== campaign) run.warnings.push(warning('PlanOfNotStartedCampaign', `${name} is notStarted: this plan shows what the first run would do once spec.status is inProgress.`));
    if (!opts.apply) {
      const pending = describeOpen(open);
      if (pending) run.warnings.push(warning('OpenIntentsPending', pending));
    }

    const { snapshot, targets: observed } = await observeTargets(opts.graph, effective, run.nowIso, { allowMissingGroup: !opts.apply });
    // A campaign-level read failed: a reconcile writes nothing; plan shows decide's CampaignReadErrors warning.
    if (opts.apply && observed.observation.readErrors.length) throw new TenantReadError(snapshot.readErrors);
    for (const w of observed.warnings) run.warnings.push(w);
    // With read errors nobody is resolved, which is no drop: decide already holds everyone.
    if (!observed.observation.readErrors.length) guardTargetDrop(run, previousTargeted(events), observed.observation.users.length);

    const decisions = decide(effective, observed.observation, state, run.nowIso);
    for (const d of decisions) if (d.type === 'warn') run.warnings.push(warning(d.reason, d.userPrincipalName ? `${d.userPrincipalName}: ${d.message}` : d.message));
    const max = campaign.spec.enforcement.maxNewPerRun;
    const { kept, deferred } = applyValve(decisions, max);
    if (deferred) run.warnings.push(warning('EnforcementDeferred', `${deferred} user${deferred === 1 ? '' : 's'} ready for enforcement wait for the next run: spec.enforcement.maxNewPerRun is ${max}.`));

    if (!opts.apply) {
      // plan: the state as it would be after applying.
      const after = applyEvents(structuredClone(state), decisionsToEvents(kept, { runId: run.runId, now: run.nowIso }));
      const notifications = kept.filter((d) => d.type === 'notify' && d.channel !== 'none').length;
      const groupAdds = kept.filter((d) => d.type === 'addToGroup' && !observed.groupMembers.has(d.userId.toLowerCase())).length;
      return result(run, { applied: false, counts: countStages(after, observed.observation), transitions: transitions(kept), notifications, groupAdds, deferred, prerequisites: observed.prerequisites });
    }

    const groups = planGroupRecovery({ open: open.groupAdds, state, decisions, kept, groupId: observed.group.id, groupMembers: observed.groupMembers });
    const done = await act({
      graph: opts.graph,
      campaign,
      runId: run.runId,
      now: opts.now,
      append: run.append,
      state,
      open,
      kept,
      groups,
      group: observed.group,
      channel: channelConfig(opts),
      displayNames: new Map(observed.observation.users.map((u) => [u.userId, u.displayName])),
      postpone: opts.postpone,
      warnings: run.warnings,
    });
    // The ledger's state plus what this run wrote (outcomes included) is the whole ledger folded.
    const delivery = deliverySnapshot(applyEvents(state, run.written), run.nowIso);
    return await finish(run, observed, delivery, {
      applied: true,
      counts: countStages(done.after, observed.observation),
      transitions: transitions(done.applied),
      notifications: done.notificationsDelivered,
      groupAdds: done.groupAdds,
      deferred,
      prerequisites: observed.prerequisites,
    });
  } finally {
    await lock?.release();
  }
}

/**
 * A paused, ended or not-started campaign: nobody is contacted or moved. The run is still recorded (and
 * interrupted runs closed, so run pairs never overlap); their open intents wait until the campaign runs again.
 */
async function idleRun(run: Run, state: ReturnType<typeof foldLedger>, open: ReturnType<typeof openIntents>): Promise<RunResult> {
  const { campaign, graph } = run.opts;
  // Read only for the overview's counts: a failure changes nothing here, but is said.
  const unreadable = (why: string) => {
    run.warnings.push(warning('CountsUnavailable', `the tenant could not be read for this run's counts (${why}).`));
    return null;
  };
  const observed = campaign.spec.status === 'notStarted' ? null : await observeTargets(graph, campaign, run.nowIso).then(
    (o) => (o.targets.observation.readErrors.length ? unreadable(o.targets.observation.readErrors[0]) : o.targets),
    (e: unknown) => unreadable(e instanceof Error ? e.message : String(e)),
  );
  run.warnings.push(warning('CampaignNotRunning', `${run.name} is ${campaign.spec.status}: no user is contacted or moved.`));
  await run.append([
    ...closeInterruptedRuns(open, run.runId, run.nowIso),
    { v: LEDGER_VERSION, at: run.nowIso, type: 'runStarted', runId: run.runId, campaign: run.name, status: campaign.spec.status },
    { v: LEDGER_VERSION, at: run.nowIso, type: 'runFinished', runId: run.runId, ok: true, counts: {} },
  ]);
  const obs: Observation = observed?.observation ?? { v: 1, campaign: run.name, at: run.nowIso, fido2Policy: null, users: [], excluded: [], readErrors: [] };
  return result(run, { applied: true, counts: countStages(state, obs), transitions: [], notifications: 0, groupAdds: 0, deferred: 0, prerequisites: observed?.prerequisites ?? null });
}

/** A broken role or group read looks exactly like "everyone left": refuse to act on it. */
function guardTargetDrop(run: Run, before: number | null, now: number): void {
  const drop = targetDrop(before, now);
  if (!drop || run.opts.acceptTargetDrop) return;
  const message = `the target set shrank from ${drop.before} to ${drop.now} users (−${drop.percent}%) since the last run; nothing was changed.`;
  const hint = 'If roles, groups or exclusions really changed that much, run again with --accept-target-drop; otherwise check the role and group reads (permissions, PIM).';
  if (run.opts.apply) throw new RuntimeError(message, false, hint);
  run.warnings.push(warning('TargetSetShrank', `${message} A reconcile would stop here. ${hint}`));
}

/** runFinished with the run's counts, then the observation and delivery snapshots the reports read. */
async function finish(run: Run, observed: ResolvedTargets, delivery: DeliverySnapshot, r: ResultFields): Promise<RunResult> {
  try {
    await run.append([{ v: LEDGER_VERSION, at: run.nowIso, type: 'runFinished', runId: run.runId, ok: true, counts: { ...r.counts, notifications: r.notifications, groupAdds: r.groupAdds, deferred: r.deferred } }]);
    await run.opts.store.writeSnapshot(run.name, SNAPSHOTS.observation, observed.observation);
    await run.opts.store.writeSnapshot(run.name, SNAPSHOTS.delivery, delivery);
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    await run.append([{ v: LEDGER_VERSION, at: run.nowIso, type: 'runFinished', runId: run.runId, ok: false, error }]).catch(() => undefined);
    throw e;
  }
  return result(run, r);
}

/** observe (Graph reads) → resolveTargets (pure). */
async function observeTargets(graph: Graph, campaign: Campaign, now: string, opts: ObserveOptions = {}) {
  const snapshot = await observe(graph, campaign, opts);
  return { snapshot, targets: resolveTargets(campaign, snapshot, now) };
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

function channelConfig(opts: RunOptions): ChannelConfig {
  const n = opts.campaign.spec.notifications;
  return { channel: n.channel, sender: n.sender ?? opts.sender, teamsAppId: opts.teamsAppId };
}

function transitions(decisions: readonly Decision[]): Transition[] {
  const out: Transition[] = [];
  for (const d of decisions) {
    if (d.type === 'enterStage') out.push({ userId: d.userId, userPrincipalName: d.userPrincipalName, from: d.from, to: d.to, reason: d.reason });
    else if (d.type === 'leave') out.push({ userId: d.userId, userPrincipalName: d.userPrincipalName, from: d.from, to: null, reason: d.reason });
  }
  return out;
}

type ResultFields = Pick<RunResult, 'applied' | 'counts' | 'transitions' | 'notifications' | 'groupAdds' | 'deferred' | 'prerequisites'>;

function result(run: Run, r: ResultFields): RunResult {
  const { campaign, graph } = run.opts;
  return {
    campaign: run.name,
    now: run.nowIso,
    status: campaign.spec.status,
    applied: r.applied,
    counts: r.counts,
    transitions: r.transitions,
    notifications: r.notifications,
    groupAdds: r.groupAdds,
    graphRequests: graph.stats.requests - run.requestsBefore,
    warnings: run.warnings.map((w) => w.message),
    runId: run.runId,
    deferred: r.deferred,
    prerequisites: r.prerequisites,
  };
}
