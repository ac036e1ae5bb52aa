// Framework-free handlers of the scheduler's two functions: the daily reconcile timer and the HTTPS
// endpoint of postponement links. app.ts binds them to Azure Functions; tests call them directly.
import { POSTPONE_RATE_PER_MINUTE } from '../../contracts/scheduler';
import { loadRuntime, type SchedulerLog, type SchedulerRuntime } from './runtime';
import { readSettings } from './settings';

export interface HandlerDeps {
  env: NodeJS.ProcessEnv;
  runtime: () => Promise<SchedulerRuntime>;
  now: () => Date;
  log: SchedulerLog;
  /** Postponement requests per client; shared by every invocation on this instance. */
  limiter: RateLimiter;
}

/**
 * A fixed-window counter per client address. It bounds what one client can make this instance do (each
 * POST costs an HMAC and, for a genuine link, a ledger read under the campaign lock); it is per instance,
 * not a global quota, which is enough to keep one client from starving the daily reconcile.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(private readonly perMinute: number, private readonly maxClients = 10_000) {}

  /** Whether this request may proceed; otherwise the seconds until the client may try again. */
  take(client: string, nowMs: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    let w = this.windows.get(client);
    if (!w || nowMs - w.start >= 60_000) {
      if (this.windows.size >= this.maxClients) this.evict(nowMs);
      w = { start: nowMs, count: 0 };
      this.windows.set(client, w);
    }
    if (w.count >= this.perMinute) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((w.start + 60_000 - nowMs) / 1000)) };
    w.count++;
    return { ok: true };
  }

  private evict(nowMs: number): void {
    for (const [k, w] of this.windows) if (nowMs - w.start >= 60_000) this.windows.delete(k);
    // Still full of live windows: forget the oldest rather than grow without bound.
    if (this.windows.size >= this.maxClients) this.windows.delete(this.windows.keys().next().value!);
  }
}

const instanceLimiter = new RateLimiter(POSTPONE_RATE_PER_MINUTE);

export function defaultDeps(log: SchedulerLog): HandlerDeps {
  return { env: process.env, runtime: () => loadRuntime(), now: () => new Date(), log, limiter: instanceLimiter };
}

/** Reconciles every deployed campaign (paused and ended ones only record their status); throws when one failed so the run shows as failed in App Insights. */
export async function reconcileTimer(deps: HandlerDeps): Promise<void> {
  const settings = readSettings(deps.env);
  if (settings.campaigns.length === 0) {
    deps.log.info('reconcile run skipped', { reason: 'no campaign is inProgress' });
    return;
  }
  const runtime = await deps.runtime();
  const results = await runtime.runScheduledReconcile({ settings, now: deps.now(), log: deps.log });
  for (const r of results) {
    if (r.ok) deps.log.info('reconcile run finished', { campaign: r.campaign, ...r.summary });
    else deps.log.error('reconcile run failed', { campaign: r.campaign, error: r.error });
  }
  const failed = results.filter((r) => !r.ok).map((r) => r.campaign);
  if (failed.length) throw new Error(`reconcile failed for ${failed.join(', ')}; see the logged errors.`);
}

export interface HttpRequestLike {
  method: string;
  /** Query parameters and, for POST, the form fields. */
  token: string | null;
  /** The caller's address (the first X-Forwarded-For entry behind the Functions front end); null if unknown. */
  client: string | null;
}

export interface HttpResponseLike {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(status: number, title: string, inner: string): HttpResponseLike {
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${inner}</body></html>`,
  };
}

/**
 * GET shows a confirmation form and changes nothing: mail scanners open links, and a single-use token
 * must not be spent by them. POST (the form) verifies the token and records the postponement.
 */
export async function postponeHttp(req: HttpRequestLike, deps: HandlerDeps): Promise<HttpResponseLike> {
  if (!req.token) return page(400, 'Link incomplete', '<p>This postponement link has no token. Use the link from your notification as it is.</p>');
  if (req.method === 'GET') {
    return page(200, 'Postpone your passkey deadline?', `<form method="post"><input type="hidden" name="token" value="${escapeHtml(req.token)}"><button type="submit">Postpone</button></form>`);
  }
  if (req.method !== 'POST') return { status: 405, headers: { allow: 'GET, POST' }, body: '' };
  const allowed = deps.limiter.take(req.client ?? 'unknown', deps.now().getTime());
  if (!allowed.ok) {
    deps.log.warn('postpone link rate limited', { client: req.client });
    return { ...page(429, 'Too many requests', '<p>Please wait a minute and use the link again.</p>'), headers: { ...page(429, '', '').headers, 'retry-after': String(allowed.retryAfterSeconds) } };
  }
  const settings = readSettings(deps.env);
  const runtime = await deps.runtime();
  const result = await runtime.applyPostponeLink({ token: req.token, settings, now: deps.now(), log: deps.log });
  deps.log.info('postpone link used', { ok: result.ok, reason: result.reason });
  if (result.ok) return page(200, 'Deadline postponed', `<p>${escapeHtml(result.message)}</p>`);
  // The link is fine but the campaign is being updated: try again later, the link stays valid.
  if (result.reason === 'busy') return { ...page(503, 'Please try again shortly', `<p>${escapeHtml(result.message)}</p>`), headers: { ...page(503, '', '').headers, 'retry-after': '60' } };
  return page(410, 'Link no longer valid', `<p>${escapeHtml(result.message)}</p>`);
}
