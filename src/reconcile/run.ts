// One reconcile run: lock → read ledger → observe (Graph reads) → decide (pure) → apply
// (group adds, ledger, notifications) → report. `plan` is the same minus lock and apply.
import { randomUUID } from 'node:crypto';
import type { Campaign } from '../campaign/types';
import { decide, decisionsToEvents, type Decision, type NotifyDecision } from '../engine/decide';
import { LEDGER_VERSION, type LedgerEvent } from '../engine/events';
import { applyEvents, foldLedger, type CampaignState } from '../engine/state';
import type { Observation, Stage } from '../engine/types';
import type { BatchRequest, Graph } from '../graph/client';
import { notificationRequest, type ChannelConfig } from '../notify/channels';
import { createPostponeToken } from '../notify/postpone-token';
import { renderNotification } from '../notify/templates';
import type { LedgerStore } from '../state/store';
import { RuntimeError } from '../errors';
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

export interface Transition {
  userId: string;
  userPrincipalName: string;
  from: Stage | null;
  to: Stage | null;
  reason: string;
}

export interface RunCounts {
  targeted: number;
  deviceUpdate: number;
  passkeyRegistration: number;
  enforcementNotice: number;
  enforced: number;
  exceededGrace: number;
  excluded: number;
  /** Targeted users who could not be read this run (they made no move). */
  unread: number;
  /** Targeted users outside the FIDO2 policy's scope. */
  blocked: number;
}

/** The JSON of `reconcile --json` / `plan --json` (DESIGN §5), extended compatibly. */
export interface RunResult {
  campaign: string;
  now: string;
  status: string;
  applied: boolean;
  counts: RunCounts;
  transitions: Transition[];
  notifications: number;
  groupAdds: number;
  graphRequests: number;
  warnings: string[];
  runId: string;
  /** Decisions deferred by the blast-radius valve (enforcement.maxNewPerRun). */
  deferred: number;
  prerequisites: ObserveResult['prerequisites'] | null;
}

export function countStages(state: CampaignState, observation: Observation): RunCounts {
  const counts: RunCounts = { targeted: observation.users.length, deviceUpdate: 0, passkeyRegistration: 0, enforcementNotice: 0, enforced: 0, exceededGrace: 0, excluded: observation.excluded.length, unread: 0, blocked: 0 };
  for (const u of observation.users) {
    const s = state.users[u.userId];
    if (u.readErrors.length) counts.unread++;
    if (u.inFido2PolicyScope === false) counts.blocked++;
    if (!s || s.stage === null || s.left) continue;
    counts[s.stage]++;
    if (s.exceededGrace) counts.exceededGrace++;
  }
  return counts;
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

async function addToGroup(graph: Graph, groupId: string, userIds: string[]): Promise<Map<string, string | null>> {
  // userId → null on success, or the error text. One POST $ref per user inside $batch: a member
  // that is already there ("already exist") counts as success, which a bulk PATCH cannot express.
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

export async function runCampaign(opts: RunOptions): Promise<RunResult> {
  const { campaign, graph, store, now } = opts;
  const name = campaign.metadata.name;
  const runId = opts.runId ?? randomUUID();
  const nowIso = now.toISOString();
  const warnings: string[] = [];
  const requestsBefore = graph.stats.requests;

  const lock = opts.apply ? await store.acquireLock(name, { owner: `reconcile ${runId}`, waitMs: opts.lockWaitMs ?? 0 }) : null;
  try {
    if (lock) warnings.push(...lock.warnings);
    const ledger = await store.read(name);
    warnings.push(...ledger.warnings);
    const state = foldLedger(ledger.events as unknown as LedgerEvent[]);

    // A plan for a campaign that has not started shows what its first run would do.
    let effective = campaign;
    if (!opts.apply && campaign.spec.status === 'notStarted') {
      effective = { ...campaign, spec: { ...campaign.spec, status: 'inProgress' } };
      warnings.push(`${name} is notStarted: this plan shows what the first run would do once spec.status is inProgress.`);
    }
    if (campaign.spec.status !== 'inProgress' && opts.apply) {
      const observed = campaign.spec.status === 'notStarted' ? null : await observe(graph, campaign, now).catch(() => null);
      warnings.push(`${name} is ${campaign.spec.status}: no user is contacted or moved.`);
      await store.append(name, [
        { v: LEDGER_VERSION, at: nowIso, type: 'runStarted', runId, campaign: name, status: campaign.spec.status },
        { v: LEDGER_VERSION, at: nowIso, type: 'runFinished', runId, ok: true, counts: {} },
      ]);
      const obs = observed?.observation ?? { v: 1 as const, campaign: name, at: nowIso, fido2Policy: null, users: [], excluded: [], readErrors: [] };
      return result(campaign, nowIso, runId, true, countStages(state, obs), [], 0, 0, graph.stats.requests - requestsBefore, warnings, 0, observed?.prerequisites ?? null);
    }

    const observed = await observe(graph, effective, now, { allowMissingGroup: !opts.apply });
    warnings.push(...observed.warnings);

    // A broken role or group read looks exactly like "everyone left": refuse to act on it.
    const before = previousTargeted(ledger.events as unknown as LedgerEvent[]);
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

    let applied = kept;
    let groupAdds = 0;
    let notifications = 0;
    if (opts.apply) {
      // 1. Group adds first: a user whose add failed makes no other move this run.
      const toAdd = kept.flatMap((d) => (d.type === 'addToGroup' && !observed.groupMembers.has(d.userId.toLowerCase()) ? [d.userId] : []));
      const failed = new Set<string>();
      if (toAdd.length) {
        const res = await addToGroup(graph, observed.group.id, toAdd);
        for (const [id, err] of res) {
          if (err === null) groupAdds++;
          else {
            failed.add(id);
            warnings.push(`adding ${id} to ${observed.group.displayName} failed (${err}); the user stays in the enforcement notice and is retried next run.`);
          }
        }
      }
      applied = kept.filter((d) => d.userId === null || !failed.has(d.userId));

      // 2. Record every decision (notifications included, before sending: at most once).
      const events: LedgerEvent[] = [
        { v: LEDGER_VERSION, at: nowIso, type: 'runStarted', runId, campaign: name, status: campaign.spec.status },
        ...decisionsToEvents(applied, { runId, now: nowIso }),
      ];
      await store.append(name, events as unknown as Parameters<LedgerStore['append']>[1]);

      // 3. Send notifications, 20 per $batch.
      const notify = applied.filter((d): d is NotifyDecision => d.type === 'notify');
      const sendFailures = await sendNotifications(graph, campaign, notify, observed, opts, now);
      notifications = notify.length - sendFailures.length;
      for (const f of sendFailures) warnings.push(f);

      const after = applyEvents(structuredClone(state), events);
      const counts = countStages(after, observed.observation);
      await store.append(name, [{ v: LEDGER_VERSION, at: nowIso, type: 'runFinished', runId, ok: true, counts: { ...counts, notifications, groupAdds, deferred } }] as unknown as Parameters<LedgerStore['append']>[1]);
      await store.writeSnapshot(name, 'observation', observed.observation);
      return result(campaign, nowIso, runId, true, counts, transitions(applied), notifications, groupAdds, graph.stats.requests - requestsBefore, warnings, deferred, observed.prerequisites);
    }

    // plan: the state as it would be after applying.
    const after = applyEvents(structuredClone(state), decisionsToEvents(kept, { runId, now: nowIso }));
    notifications = kept.filter((d) => d.type === 'notify' && d.channel !== 'none').length;
    groupAdds = kept.filter((d) => d.type === 'addToGroup' && !observed.groupMembers.has(d.userId.toLowerCase())).length;
    return result(campaign, nowIso, runId, false, countStages(after, observed.observation), transitions(kept), notifications, groupAdds, graph.stats.requests - requestsBefore, warnings, deferred, observed.prerequisites);
  } finally {
    await lock?.release();
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

async function sendNotifications(graph: Graph, campaign: Campaign, notify: NotifyDecision[], observed: ObserveResult, opts: RunOptions, now: Date): Promise<string[]> {
  const cfg: ChannelConfig = { channel: campaign.spec.notifications.channel, sender: campaign.spec.notifications.sender ?? opts.sender, teamsAppId: opts.teamsAppId };
  if (cfg.channel === 'none' || notify.length === 0) return [];
  if (cfg.channel === 'email' && !cfg.sender) {
    return [`${notify.length} email notification(s) not sent: no sender mailbox. Set spec.notifications.sender or pass --sender.`];
  }
  const users = new Map(observed.observation.users.map((u) => [u.userId, u]));
  const requests: BatchRequest[] = [];
  notify.forEach((d, i) => {
    const u = users.get(d.userId);
    let postponeUrl: string | undefined;
    if (opts.postpone && campaign.spec.postponement.enabled && d.kind !== 'enforced') {
      const token = createPostponeToken({ campaign: campaign.metadata.name, userId: d.userId, stage: d.stage, expiresAt: new Date(now.getTime() + 7 * 86_400_000), key: opts.postpone.key });
      postponeUrl = `${opts.postpone.baseUrl}?token=${encodeURIComponent(token)}`;
    }
    const rendered = renderNotification({
      kind: d.kind,
      displayName: u?.displayName ?? d.userPrincipalName,
      campaignDescription: campaign.metadata.description,
      registrationUrl: campaign.spec.notifications.registrationUrl,
      deadline: d.deadline,
      devices: d.devices?.map((x) => ({ displayName: x.displayName, platform: x.platform, version: x.version, minimum: x.minimum })),
      postponeUrl,
      owners: campaign.metadata.owners,
    });
    const req = notificationRequest(cfg, { userId: d.userId, userPrincipalName: d.userPrincipalName }, rendered, d.key, String(i));
    if (req) requests.push(req);
  });
  const responses = await graph.batch(requests);
  const failures: string[] = [];
  for (const r of requests) {
    const res = responses.get(r.id);
    if (!res || res.status >= 300) {
      const d = notify[Number(r.id)];
      failures.push(`notification ${d.key} to ${d.userPrincipalName} was not delivered (${res?.status ?? 'no response'}); it is not retried, the next reminder follows on schedule.`);
    }
  }
  return failures;
}
