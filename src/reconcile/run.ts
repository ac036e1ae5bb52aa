// One reconcile run, as a short pipeline:
//
//   lock → read ledger → check it (identity, clock, lifecycle; the reset) → observe (Graph reads) → resolve targets
//   → empty-ledger guard → exemption check → decide → valve → plan recovery → act → finish
//
// Every rule lives in a pure module (src/engine: lifecycle, targets, decide, valve, recovery); the writes live in
// src/act. `plan` runs the same pipeline up to the valve, takes no lock and writes nothing.
import { randomUUID } from 'node:crypto';
import { act } from '../act';
import { actOnboarding, type OnboardingResult } from '../act/onboarding';
import { observedRecipients } from '../act/recipients';
import type { Campaign } from '../campaign/types';
import { decide, decisionsToEvents, type Decision } from '../engine/decide';
import { exemptionEvents, foldExemptions, type ExemptionCheck, type ExemptionLedger } from '../engine/exemptions';
import { LEDGER_VERSION, type LedgerEvent } from '../ledger/events';
import { closeInterruptedRuns, describeOpen, openIntents, planGroupRecovery, type GroupRecoveryPlan, type OpenIntents } from '../engine/recovery';
import {
  clockRefusal, emptyLedgerRefusal, identityRefusal, ledgerPosition, LedgerRefusedError, newLedgerRefusal, resetEvents, statusVerdict,
  type LedgerPosition, type StatusVerdict,
} from '../engine/lifecycle';
import { applyEvents, applyEventsToCopy, deliverySnapshot, foldLedger, type CampaignState, type DeliverySnapshot } from '../engine/state';
import { appendAll } from '../contracts/arrays';
import { carriedEvents, readRunLedger, writeCheckpoint, type RunLedger } from './checkpoint';
import { updateReportCheckpoint, type Observed } from '../report/report-checkpoint';
import { reduceObservedDevices } from '../report/report-observation';
import type { ResolvedTargets } from '../engine/targets';
import type { Observation } from '../engine/types';
import { applyGraduationValve, applyValve, previousTargeted, targetDrop } from '../engine/valve';
import { applyMailBudget, isEmailNotice, mailCapacity, mailSends, type MailSend } from '../engine/mail-limits';
import { warning, type RunWarning } from '../engine/warnings';
import { RuntimeError } from '../errors';
import type { Graph } from '../graph/client';
import type { ChannelConfig } from '../notify/channels';
import { LockHeldError } from '../ledger/errors';
import { SNAPSHOTS, type LedgerStore, type StagedSnapshot } from '../ledger/store';
import { TenantReadError } from '../observe/errors';
import { observeTargets as observeAndResolve, type ObserveOptions } from '../observe/observe';
import { readManager, readTapPolicy } from '../observe/onboarding';
import { ExemptionCheckError } from './errors';
import { countStages, type GraduationResult, type OnboardingCounts, type PlanDetail, type RunResult, type Transition } from './result';
import { printedWarnings } from './warnings';
import { heapMark } from '../contracts/heap-trace';

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
  /** `reconcile --new-ledger`: start on a ledger that records no run although the enforcement group has members. */
  newLedger?: boolean;
  /** The tenant the run reads, recorded in runStarted and checked against the ledger; unknown (undefined) today. */
  tenantId?: string;
  /**
   * The campaign file this run follows (campaign/identity.ts), recorded in every runStarted it writes: campaignSha256,
   * and campaignCommit + campaignFile when the commit is known.
   */
  source?: { sha256: string; commit?: string; file?: string };
  /**
   * Time on the Graph client's clock (graph.now()) after which no more email is sent: the scheduler's invocation
   * has a time limit, and email goes at most 30 a minute per sender. Omitted: no limit (the CLI).
   */
  sendUntil?: number;
  /** plan only: receives the observation, the events a reconcile would write and the state after them (the review outputs). */
  onPlan?: (plan: PlanDetail) => void;
}

/**
 * The ledger's state and the events its checkpoint carries (carriedEvents), kept up to date batch by batch as a run
 * appends: the same state and carried events as folding everything the run wrote at its end, without holding what
 * it wrote (a first run at a large tenant writes an event or more per user).
 */
interface LedgerFold {
  read: RunLedger;
  /** read.state, with this run's events folded in. */
  state: CampaignState;
  /** The events the checkpoint carries: carriedEvents of carry followed by pending is that of every event so far. */
  carry: LedgerEvent[];
  pending: LedgerEvent[];
  /** Events of this run folded (the count the checkpoint checks against the ledger). */
  folded: number;
}

/** Events gathered before they are reduced to the carried ones (carriedEvents reads them all, so not every batch). */
const CARRY_BATCH = 8192;

function foldAppended(l: LedgerFold, events: readonly LedgerEvent[]): void {
  applyEvents(l.state, events);
  l.folded += events.length;
  if (!l.read.end) return; // no checkpoint is written: nothing to carry
  appendAll(l.pending, events);
  // Reduced once they are a quarter of what is carried: still a bounded share of each event's cost, and outcomes
  // that close what is carried (a run settling every open notice) are not all held until act is done.
  if (l.pending.length >= Math.max(CARRY_BATCH, l.carry.length / 4)) compactCarry(l);
}

function compactCarry(l: LedgerFold): void {
  if (!l.pending.length) return;
  const both: LedgerEvent[] = [];
  appendAll(both, l.carry);
  appendAll(both, l.pending);
  l.pending = [];
  l.carry = carriedEvents(both);
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
  /** How many events this run appended. */
  appended: number;
  /**
   * reconcile, from act on: the ledger as read, with every batch this run appends folded into its state as it is
   * appended (for the delivery snapshot and the checkpoint finish() writes). The events themselves are not kept.
   */
  ledger?: LedgerFold;
  /** A finished reconcile: the observation its report checkpoint records, written once the run's steps have returned. */
  report?: Observation;
  /**
   * reconcile, from act on: the observation snapshot, written before act and shown by finish() after runFinished
   * (discarded when the run fails before). Unset when the store cannot stage: finish() then writes it.
   */
  staged?: StagedSnapshot;
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
      const stamped = stampRunStarted(events, opts);
      await store.append(name, stamped);
      run.appended += stamped.length;
      if (run.ledger) foldAppended(run.ledger, stamped);
    },
    appended: 0,
  };

  const lock = opts.apply ? await takeLock(store, name, run.runId, opts.lockWaitMs ?? 0) : null;
  try {
    const r = await runSteps(run, lock?.warnings ?? []);
    // The report's checkpoint (for `campaign status`) once runSteps has returned: it folds the whole campaign again,
    // and the run's own state, decisions and events are collected by then instead of held beside that fold.
    if (run.report) {
      heapMark('steps-returned');
      // Handed over: the report's checkpoint lets go of the observation once it has written it reduced, before it
      // folds the ledger (at a large tenant that fold needs the memory).
      const observed: Observed = { campaign: run.opts.campaign, observation: run.report };
      run.report = undefined;
      await reportCheckpoint(run, observed);
      heapMark('report-checkpoint-written');
      r.warnings = printedWarnings(run.warnings);
    }
    return r;
  } finally {
    // A run that failed before finish() leaves the snapshot as it was.
    await run.staged?.discard().catch(() => undefined);
    run.staged = undefined;
    await lock?.release();
  }
}

/** Everything of one run but the report's checkpoint (runCampaign). */
async function runSteps(run: Run, lockWarnings: readonly string[]): Promise<RunResult> {
  const { opts, name } = run;
  const { campaign, store } = opts;
  for (const w of lockWarnings) run.warnings.push(warning('LockTakenOver', w));
  // reconcile: the checkpoint and what followed it when they match (checkpoint.ts); plan reads every event.
  const ledger = opts.apply ? await readRunLedger(store, name) : await wholeLedger(store, name);
  heapMark('ledger-read');
  for (const w of ledger.warnings) run.warnings.push(warning('LedgerRecovered', w));
  const events = ledger.events;
  const position = ledgerPosition(events);
  const lifecycle = checkLedger(run, position);
  if (lifecycle.kind === 'reset' && opts.apply) return await resetRun(run, position);
  // A plan of a pending reset shows the campaign as the reset leaves it: no users, the next generation.
  const current = lifecycle.kind === 'reset' ? resetEvents(position, { now: run.nowIso, archive: '' }) : events;
  const state = lifecycle.kind === 'reset' ? foldLedger(current) : ledger.state;
  const open = openIntents(current);
  const exempt = foldExemptions(current);

  if (opts.apply && campaign.spec.status !== 'inProgress') return await idleRun(run, state, open, exempt);

  // A plan for a campaign that has not started shows what its first run would do.
  const effective: Campaign = !opts.apply && campaign.spec.status === 'notStarted'
    ? { ...campaign, spec: { ...campaign.spec, status: 'inProgress' } }
    : campaign;
  if (effective !== campaign) run.warnings.push(warning('PlanOfNotStartedCampaign', `${name} is notStarted: this plan shows what the first run would do once spec.status is inProgress.`));
  if (!opts.apply) {
    const pending = describeOpen(open);
    if (pending) run.warnings.push(warning('OpenIntentsPending', pending));
  }

  const { readErrors, targets: observed } = await observeTargets(opts.graph, effective, run.nowIso, exempt, {
    allowMissingGroup: !opts.apply,
    graduation: { now: run.nowIso },
    // The ids and UPNs of the users the state holds are shared with it, not held twice.
    knownUser: (id) => (Object.hasOwn(state.users, id) ? state.users[id] : undefined),
  });
  // A campaign-level read failed: a reconcile writes nothing; plan shows decide's CampaignReadErrors warning.
  if (opts.apply && observed.observation.readErrors.length) throw new TenantReadError(readErrors);
  for (const w of observed.warnings) run.warnings.push(w);
  heapMark('observed');
  guardEmptyLedger(run, position, observed, ledger.total === 0);
  // An exemption that cannot be established: nobody moves. reconcile records why and stops (exit 2); plan says so.
  if (observed.exemptions.problems.length) {
    if (opts.apply) return await stopOnExemptions(run, open, observed.exemptions);
    for (const p of observed.exemptions.problems) run.warnings.push(warning('ExemptionUnresolved', `${p.message} A reconcile stops here and moves nobody.`));
    opts.onPlan?.({ campaign: effective, observation: observed.observation, ledger: current, events: [], after: state });
    return result(run, { applied: false, counts: countStages(state, observed.observation), transitions: [], notifications: 0, groupAdds: 0, deferred: 0, prerequisites: observed.prerequisites });
  }
  // With read errors nobody is resolved, which is no drop: decide already holds everyone.
  if (!observed.observation.readErrors.length) guardTargetDrop(run, previousTargeted(current), observed.observation.users.length);

  // Decide and act in a function of their own: the decisions, the state after them and what act built are
  // collected when it returns, before the snapshots and checkpoints are written.
  const acted = await decideAndAct(run, { effective, observed, state, current, open, ledger });
  if ('plan' in acted) return acted.plan;
  return await finish(run, observed, acted.delivery, acted.fields);
}

/** decide → valves → act → onboarding passes; plan stops before act with its result. */
async function decideAndAct(run: Run, x: DecideInput): Promise<{ plan: RunResult } | { delivery: () => DeliverySnapshot; fields: ResultFields }> {
  const { opts } = run;
  const { campaign } = opts;
  const { observed, state, open } = x;
  // The decisions are collected once act has recorded them: what the rest of the run needs of them is in `acted`.
  const acted = await decideAndRecord(run, x);
  if ('plan' in acted) return acted;
  // Onboarding passes: after the decisions are recorded and sent, on the state they leave.
  const onboarding = await actOnboarding({
    graph: opts.graph, campaign, runId: run.runId, now: opts.now, append: run.append, state, open, users: observed.observation.users,
    sender: channelConfig(opts).sender, warnings: run.warnings,
    reads: { tapPolicy: () => readTapPolicy(opts.graph), manager: (userId) => readManager(opts.graph, userId) },
  }).catch(async (e: unknown) => {
    await run.append([{ v: LEDGER_VERSION, at: run.nowIso, type: 'runFinished', runId: run.runId, ok: false, error: e instanceof Error ? e.message : String(e) }]).catch(() => undefined);
    throw e;
  });
  heapMark('acted');
  // The ledger's state with what this run wrote (outcomes included) folded in is the whole ledger folded.
  const counts = countStages(state, observed.observation);
  // Built when it is written, and not kept after: one summary per notified user (runFinished changes no user).
  const delivery = () => deliverySnapshot(state, run.nowIso);
  // What remains of the events act and onboarding appended: only the few the checkpoint carries.
  if (run.ledger) compactCarry(run.ledger);
  heapMark('delivery-folded');
  const fields: ResultFields = {
    applied: true,
    counts,
    transitions: acted.transitions,
    notifications: acted.notifications,
    groupAdds: acted.groupAdds,
    deferred: acted.deferred,
    notificationsDeferred: acted.notificationsDeferred,
    prerequisites: observed.prerequisites,
    graduation: acted.graduation,
    ...(campaign.spec.onboarding.temporaryAccessPass.enabled ? { onboarding: onboardingCounts(onboarding) } : {}),
  };
  return { delivery, fields };
}

interface DecideInput { effective: Campaign; observed: ResolvedTargets; state: CampaignState; current: readonly LedgerEvent[]; open: OpenIntents; ledger: RunLedger }

/** What a run keeps of its decisions once act has carried them out. */
type Recorded = Pick<ResultFields, 'transitions' | 'notifications' | 'groupAdds' | 'deferred' | 'notificationsDeferred'> & { graduation: GraduationResult | null };

/** What decide and the valves leave for act (or plan): the decisions to carry out, and what the result says of the rest. */
interface Valved {
  /** After every valve. */
  kept: Decision[];
  /** Held back by maxNewPerRun. */
  deferred: number;
  mail: { deferred?: { users: number; reason: string } };
  mailHistory: MailSend[];
  graduation: GraduationResult | null;
  /** reconcile only: the group-add part of the recovery plan. */
  groups: GroupRecoveryPlan | null;
}

/**
 * decide → valves (→ the group recovery plan, for a reconcile). Its own function: the decisions before the valves
 * (every user's, on a first run) and what each valve kept are collected when it returns; only `kept` goes on to act.
 */
function decideAndValve(run: Run, x: DecideInput): Valved {
  const { opts } = run;
  const { campaign } = opts;
  const { effective, observed, state, current, open } = x;
  const decisions = decide(effective, observed.observation, state, run.nowIso);
  heapMark('decided');
  for (const d of decisions) if (d.type === 'warn') run.warnings.push(warning(d.reason, d.userPrincipalName ? `${d.userPrincipalName}: ${d.message}` : d.message, d.userPrincipalName ?? undefined));
  const max = campaign.spec.enforcement.maxNewPerRun;
  const valve = applyValve(decisions, max);
  const { deferred } = valve;
  if (deferred) run.warnings.push(warning('EnforcementDeferred', `${deferred} user${deferred === 1 ? '' : 's'} ready for enforcement wait for the next run: spec.enforcement.maxNewPerRun is ${max}.`));
  const maxGrad = campaign.spec.enforcement.maxGraduationsPerRun;
  const gradValve = applyGraduationValve(valve.kept, maxGrad);
  if (gradValve.deferred) run.warnings.push(warning('GraduationDeferred', `${gradValve.deferred} user${gradValve.deferred === 1 ? '' : 's'} ready to graduate to the enabled policy wait for the next run: spec.enforcement.maxGraduationsPerRun is ${maxGrad}.`));
  const graduation = graduationResult(effective, observed.observation, gradValve.deferred);
  for (const f of graduation?.signInFailures ?? []) {
    run.warnings.push(warning('GraduatedSignInFailures', `${f.userPrincipalName}: graduated, and the enabled policy blocked ${f.failures} sign-in${f.failures === 1 ? '' : 's'} in the last ${graduation!.observedDays} days${f.apps.length ? ` (${f.apps.join(', ')})` : ''}; not removed from any group: check the applications and the user's passkey.`, f.userPrincipalName));
  }
  const mailHistory = mailSends(current);
  const mail = mailValve(run, channelConfig(opts), gradValve.kept, open, mailHistory);
  const kept = mail.kept;
  const gradGroup = observed.graduated?.group ?? null;
  const groups = !opts.apply ? null : planGroupRecovery({
    open: open.groupAdds, state, decisions, kept, groupId: observed.group.id, groupMembers: observed.groupMembers,
    ...(gradGroup ? { graduated: { groupId: gradGroup.id, members: observed.graduated!.members } } : {}),
  });
  return { kept, deferred, mail: { deferred: mail.deferred }, mailHistory, graduation, groups };
}

/** decide → valves → act; plan stops before act with its result. */
async function decideAndRecord(run: Run, x: DecideInput): Promise<{ plan: RunResult } | Recorded> {
  const { opts, name } = run;
  const { campaign } = opts;
  const { effective, observed, state, current, open, ledger } = x;
  // A reconcile stages the observation snapshot before deciding: decide then runs on users that keep only the
  // devices that decide readiness (the same decisions), not beside every device of the tenant.
  if (opts.apply) await stageObservation(run, observed.observation);
  const { kept, deferred, mail, mailHistory, graduation, groups } = decideAndValve(run, x);

  if (!groups) {
    // plan: the state as it would be after applying.
    const wouldWrite = decisionsToEvents(kept, { runId: run.runId, now: run.nowIso });
    const after = applyEventsToCopy(state, wouldWrite);
    const notifications = kept.filter((d) => d.type === 'notify' && d.channel !== 'none').length;
    const groupAdds = kept.filter((d) => d.type === 'addToGroup' && !(d.group === 'graduated' ? observed.graduated?.members ?? new Set<string>() : observed.groupMembers).has(d.userId.toLowerCase())).length;
    const counts = countStages(after, observed.observation);
    if (opts.onPlan) {
      // A loop, not a spread: one event per user at a large tenant.
      const events: LedgerEvent[] = [{ v: LEDGER_VERSION, at: run.nowIso, type: 'runStarted', runId: run.runId, campaign: name, status: effective.spec.status }];
      for (const e of wouldWrite) events.push(e);
      events.push({ v: LEDGER_VERSION, at: run.nowIso, type: 'runFinished', runId: run.runId, ok: true, counts: { ...ledgerCounts(effective, counts), notifications, groupAdds, deferred } });
      opts.onPlan({ campaign: effective, observation: observed.observation, ledger: current, events, after });
    }
    const moves = new Moves();
    moves.add(kept);
    return { plan: result(run, { applied: false, counts, transitions: moves.transitions, notifications, groupAdds, deferred, notificationsDeferred: mail.deferred, prerequisites: observed.prerequisites, graduation: moves.graduation(graduation) }) };
  }

  const gradGroup = observed.graduated?.group ?? null;
  // From here every batch this run appends is folded into `state` as it is appended: after act, `state` is the
  // ledger's state with the run's decisions (and outcomes) in it, the one state the rest of the run reads.
  run.ledger = { read: ledger, state, carry: ledger.events, pending: [], folded: 0 };
  // What the result says of the decisions is taken as act records them: act lets go of each once recorded.
  const moves = new Moves();
  const done = await act({
    graph: opts.graph,
    campaign,
    runId: run.runId,
    now: opts.now,
    append: run.append,
    state,
    open,
    kept,
    recorded: (batch) => moves.add(batch),
    groups,
    group: observed.group,
    graduatedGroup: gradGroup,
    channel: channelConfig(opts),
    // Looked up in the observation: no object or map entry per observed user.
    recipients: observedRecipients(observed.observation.users),
    postpone: opts.postpone,
    warnings: run.warnings,
    mailHistory,
    sendUntil: opts.sendUntil,
  });
  return {
    transitions: moves.transitions,
    notifications: done.notificationsDelivered,
    groupAdds: done.groupAdds,
    deferred,
    notificationsDeferred: mail.deferred,
    graduation: moves.graduation(graduation),
  };
}

/**
 * The observation snapshot written now, from the full observation, and shown by finish() where it wrote it before.
 * Then each user keeps only the devices that decide readiness (what the report checkpoint keeps of it): decide judges
 * a user on exactly those (the devices below the minimum and those whose version cannot be read), act and the rest
 * of the run read no devices, and at a large tenant the others are a good part of the heap. A store that
 * cannot stage (or a staging that fails) keeps the full observation for finish() to write.
 */
async function stageObservation(run: Run, observation: Observation): Promise<void> {
  const { store, campaign } = run.opts;
  if (!store.stageSnapshot) return;
  try {
    run.staged = await store.stageSnapshot(run.name, SNAPSHOTS.observation, observation);
  } catch {
    // Written (or failing) in finish() as before.
    return;
  }
  reduceObservedDevices(campaign, observation);
  heapMark('observation-staged');
}

/**
 * A paused, ended or not-started campaign: nobody is contacted or moved. The run is still recorded (and
 * interrupted runs closed, so run pairs never overlap); their open intents wait until the campaign runs again.
 */
async function idleRun(run: Run, state: ReturnType<typeof foldLedger>, open: ReturnType<typeof openIntents>, exempt: ExemptionLedger): Promise<RunResult> {
  const { campaign, graph } = run.opts;
  // Read only for the overview's counts: a failure changes nothing here, but is said.
  const unreadable = (why: string) => {
    run.warnings.push(warning('CountsUnavailable', `the tenant could not be read for this run's counts (${why}).`));
    return null;
  };
  const observed = campaign.spec.status === 'notStarted' ? null : await observeTargets(graph, campaign, run.nowIso, exempt).then(
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

/**
 * The exemption check failed: record the run (its resolved entries, one exemptionUnresolved per problem, runFinished
 * ok: false) so status can show why, then stop with exit 2. Nobody was moved, notified or added. Interrupted runs are
 * closed as an idle run closes them; their open intents wait for a run that acts.
 */
async function stopOnExemptions(run: Run, open: ReturnType<typeof openIntents>, check: ExemptionCheck): Promise<never> {
  const { campaign } = run.opts;
  const error = `exemption check failed, nobody moved: ${check.problems.map((p) => `spec.exclusions.${p.list} ${p.entry} (${p.problem})`).join(', ')}`;
  await run.append([
    ...closeInterruptedRuns(open, run.runId, run.nowIso),
    { v: LEDGER_VERSION, at: run.nowIso, type: 'runStarted', runId: run.runId, campaign: run.name, status: campaign.spec.status },
    ...exemptionEvents(check, { runId: run.runId, at: run.nowIso }, { problems: true }),
    { v: LEDGER_VERSION, at: run.nowIso, type: 'runFinished', runId: run.runId, ok: false, error },
  ]);
  throw new ExemptionCheckError(check.problems);
}

/**
 * Identity, clock and lifecycle (engine/lifecycle.ts), right after the ledger is read and before anything is
 * observed or written. Another campaign's ledger stops plan too; the rest are warnings in a plan.
 */
function checkLedger(run: Run, position: LedgerPosition): StatusVerdict {
  const { campaign, store, apply, newLedger, tenantId } = run.opts;
  const at = { campaign: run.name, where: store.location(run.name), tenantId, now: run.nowIso, status: campaign.spec.status, newLedger };
  const identity = identityRefusal(position, at);
  if (identity) throw new LedgerRefusedError(identity);
  const verdict = statusVerdict(position, at);
  for (const r of [clockRefusal(position, at), newLedgerRefusal(position, at), verdict.kind === 'refused' ? verdict.refusal : null]) {
    if (!r) continue;
    if (apply) throw new LedgerRefusedError(r);
    run.warnings.push(warning(r.code, `${r.message} A reconcile would stop here. ${r.hint}`));
  }
  if (verdict.kind === 'reset' && !apply) {
    run.warnings.push(warning('ResetPending', `${run.name} ended and is notStarted again: a reconcile archives the ledger at ${at.where} and starts generation ${position.generation + 1}; this plan shows the campaign as that reset leaves it.`));
  }
  return verdict;
}

/** The empty-ledger guard: needs the group read, so it runs right after observe and before any write. */
function guardEmptyLedger(run: Run, position: LedgerPosition, observed: ResolvedTargets, ledgerEmpty: boolean): void {
  const r = emptyLedgerRefusal(position, {
    campaign: run.name, where: run.opts.store.location(run.name), group: observed.group.displayName,
    members: observed.groupMembers.size, ledgerEmpty, newLedger: run.opts.newLedger,
  });
  if (!r) return;
  if (run.opts.apply) throw new LedgerRefusedError(r);
  run.warnings.push(warning(r.code, `${r.message} A reconcile would stop here. ${r.hint}`));
}

/**
 * ended → notStarted: the ledger and snapshots go to the archive and, in the same step, a new ledger starts with
 * campaignArchived and campaignReset (LedgerStore.archive with an opening). A kill before that step leaves the old
 * ledger, so the next run resets again; after it, the ledger says notStarted and the reset is done. Users stay in
 * the enforcement group: nothing here or later removes them.
 */
async function resetRun(run: Run, position: LedgerPosition): Promise<RunResult> {
  const opening = (archive: string) => resetEvents(position, { now: run.nowIso, archive });
  const where = await run.opts.store.archive(run.name, run.opts.now, opening);
  const fresh = opening(where);
  run.warnings.push(warning('LedgerArchived', `${run.name} was reset: its ledger was archived to ${where}; generation ${fresh[1].generation} starts with no users (enforced users stay in the enforcement group).`));
  return idleRun(run, foldLedger(fresh), openIntents(fresh), foldExemptions(fresh));
}

/** Every runStarted this run writes (here or in act) carries the run's identity fields that are known. */
function stampRunStarted(events: LedgerEvent[], opts: RunOptions): LedgerEvent[] {
  const { source } = opts;
  if (opts.tenantId === undefined && !opts.newLedger && !source) return events;
  // The commit and the file go together: a commit without the path it names could not be checked.
  const configuration = source
    ? { campaignSha256: source.sha256, ...(source.commit !== undefined && source.file !== undefined ? { campaignCommit: source.commit, campaignFile: source.file } : {}) }
    : {};
  return events.map((e) => (e.type === 'runStarted'
    ? { ...e, ...(opts.tenantId !== undefined ? { tenantId: opts.tenantId } : {}), ...(opts.newLedger ? { newLedger: true as const } : {}), ...configuration }
    : e));
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

/** The exemption records this run learned and runFinished with its counts, then the observation and delivery snapshots the reports read. */
async function finish(run: Run, observed: ResolvedTargets, delivery: () => DeliverySnapshot, r: ResultFields): Promise<RunResult> {
  try {
    await run.append([...exemptionEvents(observed.exemptions, { runId: run.runId, at: run.nowIso }, { problems: false }), { v: LEDGER_VERSION, at: run.nowIso, type: 'runFinished', runId: run.runId, ok: true, counts: { ...ledgerCounts(run.opts.campaign, r.counts), notifications: r.notifications, groupAdds: r.groupAdds, deferred: r.deferred, ...(r.notificationsDeferred ? { notificationsDeferred: r.notificationsDeferred.users } : {}), ...(r.onboarding ? { onboardingIssued: r.onboarding.issued, onboardingQueued: r.onboarding.queued, onboardingExpired: r.onboarding.expired } : {}) } }]);
    const staged = run.staged;
    run.staged = undefined;
    if (staged) await staged.commit();
    else await run.opts.store.writeSnapshot(run.name, SNAPSHOTS.observation, observed.observation);
    await run.opts.store.writeSnapshot(run.name, SNAPSHOTS.delivery, delivery());
    heapMark('snapshots-written');
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    await run.append([{ v: LEDGER_VERSION, at: run.nowIso, type: 'runFinished', runId: run.runId, ok: false, error }]).catch(() => undefined);
    throw e;
  }
  // Derived data like the snapshots, but after the run is recorded as finished: without it the next run reads more.
  await checkpoint(run).catch((e: unknown) => {
    run.warnings.push(warning('LedgerRecovered', `no checkpoint was written (${e instanceof Error ? e.message : String(e)}): the next run reads the ledger whole.`));
  });
  heapMark('checkpoint-written');
  // The run's folded state is in the checkpoint: not kept while the report's checkpoint reads the ledger.
  run.ledger = undefined;
  // The report's checkpoint is written by runCampaign once this run's steps have returned.
  run.report = observed.observation;
  return result(run, r);
}

/** The report's checkpoint, for `campaign status` (a ledger edited since the last one is already warned about by the run). */
async function reportCheckpoint(run: Run, observed: Observed): Promise<void> {
  await updateReportCheckpoint(run.opts.store, run.name, observed).catch((e: unknown) => {
    run.warnings.push(warning('LedgerRecovered', `no report checkpoint was written (${e instanceof Error ? e.message : String(e)}): campaign status reads the ledger whole until the next run writes one.`));
  });
}

/** A run's counts as runFinished records them: a campaign that does not graduate records no `graduated` count (its ledger stays as it was). */
function ledgerCounts(campaign: Campaign, counts: RunResult['counts']): Record<string, number> {
  if (campaign.spec.enforcement.mode === 'graduated' || counts.graduated > 0) return { ...counts };
  const { graduated: _none, ...rest } = counts;
  return rest;
}

/** plan: every event, as before checkpoints. */
async function wholeLedger(store: LedgerStore, name: string): Promise<RunLedger> {
  const read = await store.read(name);
  return { events: read.events, state: foldLedger(read.events), total: read.events.length, end: null, fromCheckpoint: false, warnings: read.warnings };
}

/**
 * The checkpoint of the ledger as this run leaves it: the events this run wrote, folded onto the state it read as
 * they were appended.
 * The ledger after the point this run read it to is hashed and its lines counted, not decoded (a first run at a
 * large tenant writes millions of lines); skipped when they are not as many as this run wrote.
 */
async function checkpoint(run: Run): Promise<void> {
  const { store } = run.opts;
  const l = run.ledger;
  if (!l?.read.end || !store.readAfter) return;
  const since = await store.readAfter(run.name, l.read.end, { linesOnly: true });
  if (!since || since.end.events - l.read.end.events !== run.appended || l.folded !== run.appended) {
    run.warnings.push(warning('LedgerRecovered', `the ledger at ${store.location(run.name)} changed during the run in a way this run did not write: no checkpoint was written, the next run reads the ledger whole.`));
    return;
  }
  compactCarry(l);
  await writeCheckpoint(store, run.name, since.end, l.state, l.carry);
}

/**
 * observe (Graph reads) → resolveTargets (pure), with the ledger's exemption records. The tenant as read is not
 * returned, only its read errors: the run keeps the resolved targets, and the raw reads (every user, member,
 * registration detail and device at a large tenant) can be collected before decide and act.
 */
async function observeTargets(graph: Graph, campaign: Campaign, now: string, exempt: ExemptionLedger, opts: ObserveOptions = {}) {
  return observeAndResolve(graph, campaign, now, exempt, opts);
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
  const senders = n.senders?.length ? n.senders : undefined;
  return { channel: n.channel, sender: senders?.[0] ?? n.sender ?? opts.sender, ...(senders ? { senders } : {}), teamsAppId: opts.teamsAppId };
}

/**
 * Email: the users whose notices fit what the sender mailboxes can still send this run (Exchange Online's
 * 10,000 recipients a day each, src/engine/mail-limits.ts) go ahead; the rest make no move and wait for the next
 * run, said once as a warning and in the result. Emails an interrupted run left open are reserved first.
 */
function mailValve(run: Run, cfg: ChannelConfig, kept: Decision[], open: OpenIntents, history: readonly MailSend[]): { kept: Decision[]; deferred?: { users: number; reason: string } } {
  if (cfg.channel !== 'email' || !cfg.sender) return { kept };
  const senders = cfg.senders?.length ? cfg.senders : [cfg.sender];
  const reserved = open.notifications.filter((n) => (n.sent.channel ?? 'email') === 'email').length;
  let wanted = reserved;
  for (const d of kept) if (isEmailNotice(d)) wanted++;
  const budgetMs = run.opts.sendUntil === undefined ? Infinity : Math.max(0, run.opts.sendUntil - run.opts.graph.now());
  const capacity = mailCapacity(history, senders, Date.parse(run.nowIso), wanted, budgetMs);
  const r = applyMailBudget(kept, Math.max(0, capacity - reserved));
  if (!r.deferred) return { kept: r.kept };
  const reason = `the daily sending limit of ${senders.join(', ')} (Exchange Online: 10,000 recipients in 24 hours and 30 a minute per mailbox)${budgetMs === Infinity ? '' : ` and the run's ${Math.round(budgetMs / 60_000)} minutes of sending time`} leave room for ${capacity} email${capacity === 1 ? '' : 's'} this run`;
  run.warnings.push(warning('NotificationsDeferred', `${r.deferred} user${r.deferred === 1 ? '' : 's'} due a notice wait for the next run: ${reason}; they make no move until their notice can be sent.`));
  return { kept: r.kept, deferred: { users: r.deferred, reason } };
}

/**
 * A graduated campaign's part of the run output: whether the evidence was established, and the graduated users whose
 * sign-ins the enabled policy blocked (reported every run while it holds; they are never removed). null otherwise.
 */
function graduationResult(campaign: Campaign, o: Observation, deferred: number): GraduationResult | null {
  if (campaign.spec.enforcement.mode !== 'graduated') return null;
  const g = o.graduation;
  if (!g || !g.available) return { available: false, cause: g && !g.available ? g.cause : 'the sign-in evidence was not read in this run.', observedDays: campaign.spec.enforcement.enableWhen.observedDays, graduated: 0, deferred, signInFailures: [] };
  const signInFailures: GraduationResult['signInFailures'] = [];
  for (const u of o.users) {
    const s = g.users[u.userId];
    if (u.inGraduatedGroup && s && s.blocked) signInFailures.push({ userId: u.userId, userPrincipalName: u.userPrincipalName, failures: s.failure, apps: s.failureApps, clientApps: s.failureClientApps });
  }
  return { available: true, observedDays: g.observedDays, window: { from: g.from, to: g.to }, graduated: 0, deferred, signInFailures };
}

/** What the result says of the decisions that took effect: the moves (transitions) and how many graduated. */
class Moves {
  readonly transitions: Transition[] = [];
  private graduated = 0;

  add(decisions: readonly Decision[]): void {
    for (const d of decisions) {
      if (d.type === 'enterStage') {
        this.transitions.push({ userId: d.userId, userPrincipalName: d.userPrincipalName, from: d.from, to: d.to, reason: d.reason });
        if (d.to === 'graduated') this.graduated++;
      } else if (d.type === 'leave') this.transitions.push({ userId: d.userId, userPrincipalName: d.userPrincipalName, from: d.from, to: null, reason: d.reason });
    }
  }

  /** A graduated campaign's result with the count of users who graduated. */
  graduation(g: GraduationResult | null): GraduationResult | null {
    if (g) g.graduated = this.graduated;
    return g;
  }
}

type ResultFields = Pick<RunResult, 'applied' | 'counts' | 'transitions' | 'notifications' | 'groupAdds' | 'deferred' | 'prerequisites'> & Partial<Pick<RunResult, 'notificationsDeferred' | 'onboarding'>> & { graduation?: GraduationResult | null };

function onboardingCounts(r: OnboardingResult): OnboardingCounts {
  return { needing: r.needing, issued: r.issued, queued: r.queued, expired: r.expired, deferred: r.deferred };
}

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
    warnings: printedWarnings(run.warnings),
    runId: run.runId,
    deferred: r.deferred,
    ...(r.notificationsDeferred ? { notificationsDeferred: r.notificationsDeferred } : {}),
    prerequisites: r.prerequisites,
    ...(r.onboarding ? { onboarding: r.onboarding } : {}),
    ...(r.graduation ? { graduation: r.graduation } : {}),
  };
}
