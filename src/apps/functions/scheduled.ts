// What the Azure Functions app runs (loaded by ./runtime): the daily reconcile of every deployed
// campaign, and the HTTPS endpoint behind signed postponement links. Same code as the CLI.
import * as path from 'node:path';
import { loadCampaignFile } from '../../campaign/load';
import type { Campaign } from '../../campaign/types';
import { requestPostponement } from '../../engine/postpone';
import { foldLedger } from '../../engine/state';
import { Graph } from '../../graph/client';
import { checkPostponeSignature, readUnverifiedClaims, verifyPostponeToken } from '../../notify/postpone-token';
import { openStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { POSTPONE_LOCK_WAIT_MS, SCHEDULED_LOCK_WAIT_MS, type PostponeLinkResult, type ScheduledCampaignResult, type SchedulerLog, type SchedulerSettings } from '../../contracts/scheduler';
import { LockHeldError } from '../../ledger/errors';
import { runCampaign } from '../../reconcile/run';
import { readCampaignSource, type CampaignSourceFile } from './campaign-source';
import { ready, runDoctor } from '../../doctor/index';

// dist/apps/functions/ → the package root, which holds campaigns/.
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');

interface LoadedCampaign {
  campaign: Campaign;
  /** What runStarted records about the file (campaign/identity.ts). */
  source: { sha256: string; commit?: string; file?: string };
}

function loadCampaign(settings: SchedulerSettings, name: string, root = PACKAGE_ROOT, deployed: CampaignSourceFile | null = null): LoadedCampaign {
  const file = path.resolve(root, settings.campaignsDir, `${name}.yaml`);
  const r = loadCampaignFile(file);
  if (!r.campaign) throw new Error(`${name}: campaign file is invalid: ${r.errors.map((e) => `${e.line}:${e.col} ${e.path} ${e.message}`).join('; ')}`);
  const source = deployed?.commit !== undefined
    ? { sha256: r.sha256!, commit: deployed.commit, file: `${deployed.campaignsDir}/${name}.yaml` }
    : { sha256: r.sha256! };
  return { campaign: r.campaign, source };
}

export interface RuntimeDeps {
  /** Injected by tests; production opens settings.state. */
  store?: LedgerStore;
  graph?: Graph;
  /** The package root (holds campaigns/ and campaign-source.json); injected by tests. */
  packageRoot?: string;
}

/** Sending time of one scheduled invocation (all campaigns): 90 minutes of the 2 hours host.json allows. */
const SCHEDULED_SEND_MS = 90 * 60_000;

/** Runs one reconcile per campaign, one after the other; one failing campaign does not stop the others. */
export async function runScheduledReconcile(input: { settings: SchedulerSettings; now: Date; log: SchedulerLog }, deps: RuntimeDeps = {}): Promise<ScheduledCampaignResult[]> {
  const { settings, now, log } = input;
  const store = deps.store ?? (await openStore(settings.state));
  const graph = deps.graph ?? new Graph({ graphUrl: settings.graphUrl });
  const results: ScheduledCampaignResult[] = [];
  // Email goes at most 30 a minute per sender; stop sending well inside host.json's functionTimeout (2 h), shared by all campaigns.
  const sendUntil = graph.now() + SCHEDULED_SEND_MS;
  const root = deps.packageRoot ?? PACKAGE_ROOT;
  const deployed = readCampaignSource(root, settings, log);
  for (const name of settings.campaigns) {
    try {
      const { campaign, source } = loadCampaign(settings, name, root, deployed);
      // The blocking checks of `campaign doctor` first (a handful of reads, no user): a failing one refuses the run.
      // No identity check: the job holds no Application.Read.All, and its own requests name a missing permission.
      const readiness = await runDoctor({ campaign, graph, store, now, blockingOnly: true, teamsAppId: settings.teamsAppId, sender: settings.sender });
      if (!ready(readiness)) {
        const failed = readiness.checks.filter((c) => c.blocking && c.status === 'fail');
        for (const c of failed) log.error('readiness check failed', { campaign: name, check: c.id, found: c.message, fix: c.fix });
        const error = `not run: ${failed.length} blocking readiness check${failed.length === 1 ? '' : 's'} failed (${failed.map((c) => `${c.id}: ${c.message}`).join(' ')}) Run campaign doctor --campaign ${name} for the fixes.`;
        log.error('reconcile run failed', { campaign: name, error });
        results.push({ campaign: name, ok: false, error });
        continue;
      }
      const r = await runCampaign({
        campaign,
        graph,
        store,
        now,
        apply: true,
        lockWaitMs: SCHEDULED_LOCK_WAIT_MS,
        sendUntil,
        sender: settings.sender,
        teamsAppId: settings.teamsAppId,
        postpone: settings.postponeUrl ? { baseUrl: settings.postponeUrl, key: settings.postponeKey } : undefined,
        source,
      });
      log.info('reconcile run finished', { campaign: name, moved: r.transitions.length, notified: r.notifications, groupAdds: r.groupAdds, graphRequests: r.graphRequests, warnings: r.warnings.length });
      for (const w of r.warnings) log.warn('reconcile warning', { campaign: name, warning: w });
      results.push({ campaign: name, ok: true, summary: { ...r } });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      log.error('reconcile run failed', { campaign: name, error });
      results.push({ campaign: name, ok: false, error });
    }
  }
  return results;
}

/** Verifies a signed postponement link and records the postponement (once per link). */
export async function applyPostponeLink(input: { token: string; settings: SchedulerSettings; now: Date; log: SchedulerLog }, deps: RuntimeDeps = {}): Promise<PostponeLinkResult> {
  const { token, settings, now, log } = input;
  const peek = readUnverifiedClaims(token);
  if (!peek || !settings.campaigns.includes(peek.campaign)) {
    return { ok: false, reason: 'malformed', message: 'This postponement link is not valid. Use the link in your latest notification.' };
  }
  // Signature and expiry first: a forged or stale link never opens the store or takes the campaign lock.
  const keys = postponeKeys(settings);
  const signed = checkPostponeSignature(token, { key: keys, now });
  if (!signed.ok) {
    log.warn('postponement link refused', { campaign: peek.campaign, reason: signed.reason });
    return { ok: false, reason: signed.reason, message: signed.message };
  }
  const { campaign } = loadCampaign(settings, peek.campaign, deps.packageRoot ?? PACKAGE_ROOT);
  const store = deps.store ?? (await openStore(settings.state));
  let lock;
  try {
    lock = await store.acquireLock(campaign.metadata.name, { owner: 'postpone link', waitMs: POSTPONE_LOCK_WAIT_MS });
  } catch (e) {
    if (!(e instanceof LockHeldError)) throw e;
    return { ok: false, reason: 'busy', message: 'The campaign is being updated right now. Please try the link again in a few minutes.' };
  }
  try {
    const events = (await store.read(campaign.metadata.name)).events;
    const state = foldLedger(events);
    const used = new Set(events.flatMap((e) => (e.type === 'postponed' && e.tokenId ? [e.tokenId] : [])));
    const user = state.users[peek.userId];
    const v = verifyPostponeToken(token, { key: keys, now, expectedCampaign: campaign.metadata.name, currentStage: user?.stage ?? '', isUsed: (id) => used.has(id) });
    if (!v.ok) {
      log.warn('postponement link refused', { campaign: campaign.metadata.name, reason: v.reason });
      return { ok: false, reason: v.reason, message: v.message };
    }
    const r = requestPostponement(campaign, state, v.claims.userId, now.toISOString(), { tokenId: v.claims.tokenId });
    if (!r.ok) return { ok: false, reason: r.reason, message: r.message };
    await store.append(campaign.metadata.name, [r.event]);
    log.info('postponement recorded', { campaign: campaign.metadata.name, userId: v.claims.userId, stage: r.event.stage, until: r.event.until });
    return { ok: true, reason: 'Postponed', message: `Postponed until ${r.event.until.slice(0, 10)}.` };
  } finally {
    await lock.release();
  }
}

/** Keys that verify links: the current one, and the previous one while links signed with it may still be out. */
function postponeKeys(settings: SchedulerSettings): string[] {
  return settings.postponeKeyPrevious ? [settings.postponeKey, settings.postponeKeyPrevious] : [settings.postponeKey];
}
