// The Graph emulator: a node:http server on 127.0.0.1 answering the Graph v1.0 and /beta paths the product
// uses (routes.ts), JSON batching, bearer auth, Graph's throttling (throttle.ts) and switchable faults,
// plus the /_sim control endpoints of DESIGN §6 and POST /_sim/sign-ins (users sign in; the emulator evaluates
// its Conditional Access policies and records the sign-ins as Entra would, see sign-ins.ts).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock, type Clock } from './clock';
import { FixtureError, ID_COLLECTIONS, loadFixtureFile, validateFixture, type IdCollection, type TenantFixture } from './fixture';
import { GraphHttpError, badRequest } from './odata';
import { Prng } from './prng';
import { deniedError, permitted, routeRow, type RouteRow } from './route-table';
import { matchRoute, type GraphResponse, type RouteContext, type SimNotification } from './routes';
import { TenantState, type TenantRemoval } from './tenant-state';
import { SignInRejected, parseSignInBatch, recordSignIns } from './sign-ins';
import { concurrencyRefusal, isOutlookPath, OutlookConcurrency, outlookClaims } from './mail-limits';
import { GRAPH_LIMITS, Throttle, isWrite, mergeLimits, resourceUnits, type CostInput, type ThrottleLimits, type WindowLimit } from './throttle';

export interface FaultSettings {
  /** Added (real time) before every Graph response. */
  latencyMs: number;
  /** Graph's throttling limits on (default) or off. */
  throttle: boolean;
  /** Probability (0–1) that a Graph request, each inner $batch request on its own, answers 503. */
  error503Rate: number;
  /** Probability (0–1) that a top-level Graph request's connection is reset without an answer. */
  resetConnectionRate: number;
  /** After this many further Graph requests (inner $batch requests count), every request answers 503; null = never. */
  failAfterRequests: number | null;
  /** Graph requests whose path (after the version, decoded) contains one of these strings answer 503. */
  failPaths: string[];
  /** Seed of the PRNG behind the rates; setting it restarts the sequence. */
  seed: number;
  /** The throttling limits in force (partial updates are merged). */
  limits: ThrottleLimits;
  /**
   * After this many further top-level Graph requests, every bearer token used so far expires (401
   * InvalidAuthenticationToken, "Lifetime validation failed, the token is expired."); a fresh one comes
   * from POST /_sim/token. One-shot: back to null once it fired. null = never.
   */
  expireTokenAfterRequests: number | null;
  /** Answer 429s without Retry-After (as Conditional Access always does), so the client must back off on its own. */
  omitRetryAfter: boolean;
  /**
   * DESIGN §10: user id → HTTP status. Every Teams activity notification and every mail addressed to that
   * user fails with that status and a Graph error body. Replaced as a whole on each update; {} clears it.
   */
  notificationFailures: Record<string, number>;
}

/** Test hooks around each top-level Graph request (a $batch counts once); 'drop' resets the connection. */
export interface GraphRequestHooks {
  /** Before the request is executed: 'drop' → the request never reaches the tenant. */
  before?(info: { n: number; method: string; path: string; query: string; body: string }): 'drop' | void;
  /** After it was executed, before the answer is sent: 'drop' → executed, but the caller never hears. */
  after?(info: { n: number; method: string; path: string; query: string; body: string; status: number }): 'drop' | void;
}

export interface RequestStats {
  total: number;
  writes: number;
  throttled: number;
  byRoute: Record<string, number>;
}

/**
 * What the answered requests (not the throttled ones) used of each throttling limit since the counters were last
 * reset, whether throttling is on or not: resource units for `identityResourceUnits`, requests for the others
 * (keys of ThrottleLimits). With GRAPH_LIMITS it gives the least time Graph's limits allow for the same requests.
 */
export type LimitUsage = Partial<Record<keyof ThrottleLimits, number>>;

export interface EmulatorOptions {
  /** The tenant: a fixture object or the path of a fixture file. */
  tenant: TenantFixture | string;
  /** 0 (default) picks an ephemeral port. */
  port?: number;
  host?: string;
  /** The bearer token Graph requests must carry; when omitted any non-empty bearer token is accepted. */
  token?: string;
  clock?: Clock;
  limits?: Partial<Record<keyof ThrottleLimits, Partial<WindowLimit>>>;
  /** Initial fault settings (throttling is on unless `throttle: false`). */
  faults?: Partial<Omit<FaultSettings, 'limits'>>;
  /** Test hooks (e.g. kill a client process at its n-th request). */
  hooks?: GraphRequestHooks;
}

export interface EmulatorState {
  readonly tenant: TenantState;
  readonly notifications: readonly SimNotification[];
  requests(): RequestStats;
  /** What the answered requests used of each Graph limit since the counters were reset (GET /_sim/usage). */
  usage(): LimitUsage;
  faults(): FaultSettings;
  setFaults(patch: Record<string, unknown>): FaultSettings;
  resetCounters(): void;
  /** Test hooks around each top-level Graph request; replaceable while the emulator runs. */
  hooks: GraphRequestHooks;
  /**
   * Resolves once no Graph request is being executed. A client that gave up on a request (time-out, killed
   * process) does not stop the emulator from finishing it, as Graph would; a test that reruns at once must
   * wait for that, like a real rerun a day later would not see the request still running.
   */
  idle(): Promise<void>;
}

export interface Emulator {
  /** http://127.0.0.1:PORT (no trailing slash); Graph paths are under /v1.0 and /beta. */
  url: string;
  port: number;
  close(): Promise<void>;
  state: EmulatorState;
}

const JSON_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const MAX_BODY = 256 * 1024 * 1024;
const FAULT_KEYS = ['latencyMs', 'throttle', 'error503Rate', 'resetConnectionRate', 'failAfterRequests', 'failPaths', 'seed', 'limits', 'expireTokenAfterRequests', 'omitRetryAfter', 'notificationFailures'];

interface InnerRequest {
  method: string;
  version: 'v1.0' | 'beta';
  segments: string[];
  rawPath: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
  clientRequestId: string;
  /** Outlook's concurrency limit refused this request's mail requests (src/sim/mail-limits.ts). */
  outlookRefused?: boolean;
}

class Core implements EmulatorState {
  readonly tenant: TenantState;
  readonly notifications: SimNotification[] = [];
  private stats: RequestStats = { total: 0, writes: 0, throttled: 0, byRoute: {} };
  private used: LimitUsage = {};
  private settings: FaultSettings;
  private throttle: Throttle;
  /** Outlook requests in flight (concepts/throttling-limits.md: 4 per app). */
  readonly outlook = new OutlookConcurrency();
  private rng: Prng;
  private calls = 0;
  private failBaseline = 0;
  private topLevel = 0;
  private tokenBaseline = 0;
  private readonly seenTokens = new Set<string>();
  private readonly expiredTokens = new Set<string>();
  private readonly mintedTokens = new Set<string>();
  hooks: GraphRequestHooks = {};
  origin = '';
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    fixture: TenantFixture,
    readonly clock: Clock,
    readonly token: string | undefined,
    limits: ThrottleLimits,
    faults: Partial<Omit<FaultSettings, 'limits'>>,
  ) {
    this.tenant = new TenantState(fixture);
    this.settings = {
      latencyMs: 0,
      throttle: true,
      error503Rate: 0,
      resetConnectionRate: 0,
      failAfterRequests: null,
      failPaths: [],
      seed: 1,
      expireTokenAfterRequests: null,
      omitRetryAfter: false,
      notificationFailures: {},
      ...faults,
      limits,
    };
    this.throttle = new Throttle(limits, clock);
    this.rng = new Prng(this.settings.seed);
  }

  /** Brackets one Graph request: idle() waits until every bracket is closed. */
  begin(): void {
    this.inFlight++;
  }

  end(): void {
    if (--this.inFlight > 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }


  requests(): RequestStats {
    return structuredClone(this.stats);
  }

  usage(): LimitUsage {
    return { ...this.used };
  }

  faults(): FaultSettings {
    return structuredClone(this.settings);
  }

  resetCounters(): void {
    this.stats = { total: 0, writes: 0, throttled: 0, byRoute: {} };
    this.used = {};
  }

  /** Validates and applies a fault update; throws GraphHttpError(400) naming the bad field. */
  setFaults(patch: Record<string, unknown>): FaultSettings {
    const bad = (k: string, want: string) => badRequest(`faults.${k}: must be ${want} (got ${JSON.stringify(patch[k])}).`, 'InvalidFaults');
    for (const k of Object.keys(patch)) if (!FAULT_KEYS.includes(k)) throw badRequest(`faults.${k}: unknown setting; expected one of ${FAULT_KEYS.join(', ')}.`, 'InvalidFaults');
    const next = this.faults();
    const rate = (k: 'error503Rate' | 'resetConnectionRate') => {
      if (patch[k] === undefined) return;
      const v = patch[k];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw bad(k, 'a number from 0 to 1');
      next[k] = v;
    };
    if (patch.latencyMs !== undefined) {
      if (typeof patch.latencyMs !== 'number' || !(patch.latencyMs >= 0 && patch.latencyMs <= 60_000)) throw bad('latencyMs', 'a number of milliseconds from 0 to 60000');
      next.latencyMs = patch.latencyMs;
    }
    if (patch.throttle !== undefined) {
      if (typeof patch.throttle !== 'boolean') throw bad('throttle', 'true or false');
      next.throttle = patch.throttle;
    }
    if (patch.omitRetryAfter !== undefined) {
      if (typeof patch.omitRetryAfter !== 'boolean') throw bad('omitRetryAfter', 'true or false');
      next.omitRetryAfter = patch.omitRetryAfter;
    }
    rate('error503Rate');
    rate('resetConnectionRate');
    if (patch.failAfterRequests !== undefined) {
      const v = patch.failAfterRequests;
      if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) throw bad('failAfterRequests', 'a whole number ≥ 0 or null');
      next.failAfterRequests = v;
      this.failBaseline = this.calls;
    }
    if (patch.expireTokenAfterRequests !== undefined) {
      const v = patch.expireTokenAfterRequests;
      if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) throw bad('expireTokenAfterRequests', 'a whole number ≥ 0 or null');
      next.expireTokenAfterRequests = v;
      this.tokenBaseline = this.topLevel;
    }
    if (patch.failPaths !== undefined) {
      const v = patch.failPaths;
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) throw bad('failPaths', 'an array of non-empty strings');
      next.failPaths = v as string[];
    }
    if (patch.notificationFailures !== undefined) {
      const v = patch.notificationFailures;
      const want = 'an object mapping user ids to HTTP error statuses (400–599), such as { "<userId>": 403 }; {} clears it';
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('notificationFailures', want);
      for (const [user, status] of Object.entries(v)) {
        if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
          throw badRequest(`faults.notificationFailures.${user}: must be an HTTP error status from 400 to 599 (got ${JSON.stringify(status)}).`, 'InvalidFaults');
      }
      next.notificationFailures = { ...(v as Record<string, number>) };
    }
    if (patch.seed !== undefined) {
      if (typeof patch.seed !== 'number' || !Number.isFinite(patch.seed)) throw bad('seed', 'a number');
      next.seed = patch.seed;
      this.rng = new Prng(patch.seed);
    }
    if (patch.limits !== undefined) {
      const v = patch.limits as Record<string, unknown>;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('limits', 'an object such as { "reports": { "limit": 5, "windowSeconds": 10 } }');
      for (const [k, w] of Object.entries(v)) {
        if (!(k in GRAPH_LIMITS)) throw badRequest(`faults.limits.${k}: unknown limit; expected one of ${Object.keys(GRAPH_LIMITS).join(', ')}.`, 'InvalidFaults');
        const win = w as Record<string, unknown>;
        for (const f of ['limit', 'windowSeconds']) {
          if (win?.[f] !== undefined && (typeof win[f] !== 'number' || !((win[f] as number) > 0)))
            throw badRequest(`faults.limits.${k}.${f}: must be a number > 0 (got ${JSON.stringify(win[f])}).`, 'InvalidFaults');
        }
      }
      next.limits = mergeLimits(next.limits, v as Partial<Record<keyof ThrottleLimits, Partial<WindowLimit>>>);
    }
    // A new limit or switching throttling back on starts from empty windows.
    if (patch.limits !== undefined || patch.throttle !== undefined) this.throttle = new Throttle(next.limits, this.clock);
    this.settings = next;
    return this.faults();
  }

  /** Counts a top-level Graph request (a $batch counts once here, its inner requests in byRoute only). */
  countTopLevel(): number {
    this.stats.total++;
    return ++this.topLevel;
  }

  /** A new bearer token, as a token endpoint would issue it; accepted from now on. */
  mintToken(): string {
    const token = `sim-token-${randomUUID()}`;
    this.mintedTokens.add(token);
    return token;
  }

  /** Whether a bearer token is accepted now; fires the token-expiry fault when its request count is reached. */
  authorize(token: string | undefined): 'ok' | 'invalid' | 'expired' {
    const s = this.settings;
    if (s.expireTokenAfterRequests !== null && this.topLevel - this.tokenBaseline > s.expireTokenAfterRequests) {
      for (const t of this.seenTokens) this.expiredTokens.add(t);
      if (this.token !== undefined) this.expiredTokens.add(this.token);
      this.settings = { ...s, expireTokenAfterRequests: null };
    }
    if (token === undefined || token === '') return 'invalid';
    if (this.expiredTokens.has(token)) return 'expired';
    if (this.token !== undefined && token !== this.token && !this.mintedTokens.has(token)) return 'invalid';
    this.seenTokens.add(token);
    return 'ok';
  }

  /** Adds an answered request to what it used of each limit (RequestStats.used). */
  private countUse(c: CostInput): void {
    const used = this.used;
    const add = (k: keyof ThrottleLimits, n: number) => void (used[k] = (used[k] ?? 0) + n);
    switch (c.throttleClass) {
      case 'identity':
        add('identityResourceUnits', resourceUnits(c));
        if (isWrite(c.method)) add('identityWrites', 1);
        return;
      case 'reports':
        return add('reports', 1);
      case 'conditionalAccess':
        return add('conditionalAccess', 1);
      case 'teamsActivity':
      case 'teamsInstalledApps':
        return add(c.throttleClass, 1);
      case 'none':
        return;
    }
  }

  countRoute(key: string, method: string, write = isWrite(method)): void {
    this.stats.byRoute[key] = (this.stats.byRoute[key] ?? 0) + 1;
    if (write) this.stats.writes++;
  }

  shouldReset(): boolean {
    return this.settings.resetConnectionRate > 0 && this.rng.next() < this.settings.resetConnectionRate;
  }

  get latencyMs(): number {
    return this.settings.latencyMs;
  }

  /** Runs one Graph request (top-level or inside a batch): route match, faults, throttling, handler. */
  execute(req: InnerRequest): GraphResponse {
    const found = matchRoute(req.method, req.segments);
    const template = found.match?.route.template ?? found.templateKey ?? normalisePath(req.segments);
    this.countRoute(`${req.method} /${req.version}${template}`, req.method);
    this.calls++;
    try {
      if (!found.match) {
        if (found.methodNotAllowed) throw new GraphHttpError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
        const segment = req.segments.find((s, i) => i > 0 && !/^[0-9a-f-]{36}$/i.test(s)) ?? req.segments[0] ?? '';
        throw badRequest(`Resource not found for the segment '${segment}'.`);
      }
      const s = this.settings;
      const path = '/' + req.segments.join('/');
      const unavailable = () => new GraphHttpError(503, 'serviceNotAvailable', 'Service is temporarily unavailable. Please retry later.');
      if (s.failAfterRequests !== null && this.calls - this.failBaseline > s.failAfterRequests) throw unavailable();
      if (s.failPaths.some((p) => path.includes(p))) throw unavailable();
      if (s.error503Rate > 0 && this.rng.next() < s.error503Rate) throw unavailable();
      const { route, params } = found.match;
      const row = routeRow(req.method, route.template);
      if (row) {
        this.checkPermission(row);
        checkQueryOptions(row, req.query);
      }
      if (req.outlookRefused && isOutlookPath('/' + req.segments.join('/'))) throw concurrencyRefusal();
      const value = (name: string) => [...req.query].find(([k]) => k.toLowerCase() === name)?.[1];
      const top = value('$top');
      const cost: CostInput = {
        throttleClass: row?.throttle ?? route.throttle,
        method: req.method,
        baseCost: row?.cost ?? 1,
        expand: value('$expand') !== undefined,
        select: value('$select') !== undefined,
        smallTop: top !== undefined && /^\d+$/.test(top.trim()) && Number(top) < 20,
      };
      if (s.throttle) {
        const decision = this.throttle.admit(cost);
        if (decision.throttled) {
          this.stats.throttled++;
          const headers: Record<string, string> = decision.retryAfterSeconds === undefined || s.omitRetryAfter ? {} : { 'Retry-After': String(decision.retryAfterSeconds) };
          throw new GraphHttpError(429, 'TooManyRequests', 'Too many requests. Please retry again later.', headers);
        }
      }
      this.countUse(cost);
      const ctx: RouteContext = {
        method: req.method,
        version: req.version,
        params,
        rawPath: req.rawPath,
        query: req.query,
        header: (name) => req.headers[name.toLowerCase()],
        body: req.body,
        tenant: this.tenant,
        origin: this.origin,
        now: () => this.clock.now(),
        notify: (n) => this.notifications.push(n),
        notificationFailure: (user) => this.notificationFailure(user),
        ...(row?.pageSize ? { pageSize: row.pageSize } : {}),
        ...(row?.expandMax ? { expandMax: row.expandMax } : {}),
      };
      return route.handle(ctx);
    } catch (e) {
      return this.errorResponse(e, req.clientRequestId);
    }
  }

  /** DESIGN §10: with the fixture's `application`, a request needs one of the row's permissions (all with `requires: 'all'`; 403 otherwise). */
  private checkPermission(row: RouteRow): void {
    const held = this.tenant.application?.appRoles;
    if (held === undefined || permitted(row, held)) return;
    const denied = deniedError(row);
    throw new GraphHttpError(denied.status, denied.code, denied.message);
  }

  /** The injected status for notifications to this user (by id, or by UPN ignoring case), if any. */
  private notificationFailure(user: { id: string; userPrincipalName: string }): number | undefined {
    const failures = this.settings.notificationFailures;
    if (failures[user.id] !== undefined) return failures[user.id];
    const upn = user.userPrincipalName.toLowerCase();
    for (const [k, status] of Object.entries(failures)) if (k.toLowerCase() === upn || k.toLowerCase() === user.id.toLowerCase()) return status;
    return undefined;
  }

  errorResponse(e: unknown, clientRequestId: string): GraphResponse {
    const err = e instanceof GraphHttpError ? e : new GraphHttpError(500, 'InternalServerError', `Emulator bug: ${e instanceof Error ? e.message : String(e)}`);
    const date = new Date(this.clock.now()).toISOString().slice(0, 19);
    return {
      status: err.status,
      headers: { ...err.headers },
      body: { error: { code: err.code, message: err.message, innerError: { date, 'request-id': randomUUID(), 'client-request-id': clientRequestId } } },
    };
  }

  /** POST /{version}/$batch: ≤ 20 requests, dependsOn honoured, each inner request throttled on its own. */
  batch(outer: InnerRequest): GraphResponse {
    const fail = (message: string) => this.errorResponse(badRequest(message), outer.clientRequestId);
    const body = outer.body as { requests?: unknown } | undefined;
    if (typeof body !== 'object' || body === null || !Array.isArray(body.requests)) return fail('Invalid batch payload format: expected { "requests": [ … ] }.');
    const requests = body.requests as Array<Record<string, unknown>>;
    if (requests.length > 20) return fail(`The batch contains ${requests.length} requests; the maximum is 20.`);
    const ids = new Set<string>();
    for (const [i, r] of requests.entries()) {
      if (typeof r !== 'object' || r === null) return fail(`Request #${i} is not an object.`);
      if (typeof r.id !== 'string' || r.id === '') return fail(`Request #${i} has no id.`);
      if (ids.has(r.id)) return fail(`Request id '${r.id}' is not unique in the batch.`);
      ids.add(r.id);
      if (typeof r.method !== 'string' || typeof r.url !== 'string') return fail(`Request '${r.id}' needs a method and a url.`);
      if (r.dependsOn !== undefined && (!Array.isArray(r.dependsOn) || r.dependsOn.some((d) => typeof d !== 'string')))
        return fail(`Request '${r.id}': dependsOn must be an array of request ids.`);
      const headers = lowerKeys(r.headers);
      if (r.body !== undefined && headers['content-type'] === undefined) return fail(`Write request id : ${r.id} does not contain Content-Type header or body.`);
    }
    for (const r of requests) {
      for (const d of (r.dependsOn as string[] | undefined) ?? []) if (!ids.has(d)) return fail(`Request '${r.id}' depends on '${d}', which is not in the batch.`);
    }
    const byId = new Map(requests.map((r) => [r.id as string, r]));
    const results = new Map<string, GraphResponse>();
    const visiting = new Set<string>();
    const run = (id: string): GraphResponse | string => {
      const done = results.get(id);
      if (done) return done;
      if (visiting.has(id)) return `The dependsOn chain of request '${id}' is circular.`;
      visiting.add(id);
      const r = byId.get(id)!;
      let failed: string | undefined;
      for (const d of (r.dependsOn as string[] | undefined) ?? []) {
        const dep = run(d);
        if (typeof dep === 'string') return dep;
        if (dep.status >= 400) failed ??= d;
      }
      const res = failed !== undefined ? this.failedDependency(failed, outer.clientRequestId) : this.inner(outer, r);
      results.set(id, res);
      return res;
    };
    for (const r of requests) {
      const res = run(r.id as string);
      if (typeof res === 'string') return fail(res);
    }
    return {
      status: 200,
      body: {
        responses: requests.map((r) => {
          const res = results.get(r.id as string)!;
          const headers: Record<string, string> = { ...(res.headers ?? {}) };
          if (res.body !== undefined) headers['Content-Type'] = JSON_TYPE;
          const out: Record<string, unknown> = { id: r.id, status: res.status, headers };
          if (res.body !== undefined) out.body = res.body;
          else if (res.text !== undefined) out.body = res.text;
          return out;
        }),
      },
    };
  }

  private failedDependency(dep: string, clientRequestId: string): GraphResponse {
    return this.errorResponse(new GraphHttpError(424, 'FailedDependency', `The request was not executed because request '${dep}' it depends on failed.`), clientRequestId);
  }

  private inner(outer: InnerRequest, r: Record<string, unknown>): GraphResponse {
    const method = String(r.method).toUpperCase();
    const headers = lowerKeys(r.headers);
    const clientRequestId = headers['client-request-id'] ?? outer.clientRequestId;
    let url = String(r.url);
    if (/^[a-z]+:\/\//i.test(url)) {
      this.countRoute(`${method} /${outer.version}/{absolute-url}`, method);
      return this.errorResponse(badRequest(`Invalid request URL '${url}': batch request URLs must be relative, such as "/users".`), clientRequestId);
    }
    url = url.replace(/^\/+/, '');
    // graph-client's BatchRequestContent keeps the version segment when given absolute URLs; accept it.
    const versioned = /^(v1\.0|beta)\//i.exec(url);
    if (versioned) url = url.slice(versioned[0].length);
    const parsed = new URL('http://batch/' + url);
    const segments = decodeSegments(parsed.pathname);
    if (segments === undefined || (segments.length === 1 && segments[0] === '$batch')) {
      this.countRoute(`${method} /${outer.version}/${segments?.join('/') ?? '{invalid}'}`, method);
      return this.errorResponse(badRequest(`Invalid request URL '${r.url}' inside a batch.`), clientRequestId);
    }
    return this.execute({
      method,
      version: outer.version,
      segments,
      rawPath: parsed.pathname,
      query: parsed.searchParams,
      headers,
      body: r.body,
      clientRequestId,
      outlookRefused: outer.outlookRefused,
    });
  }
}

// OData system query options; any other `$name` is left to the route (400 BadRequest, unknown option).
const ODATA_OPTIONS = new Set(['$count', '$expand', '$filter', '$format', '$orderby', '$search', '$select', '$skip', '$skiptoken', '$top']);

/**
 * A documented OData option only where the route's page documents it: Graph answers 400
 * Request_UnsupportedQuery (concepts/aad-advanced-queries.md shows the body). `$skiptoken` comes from
 * the service's own @odata.nextLink, so any collection takes it.
 */
function checkQueryOptions(row: RouteRow, query: URLSearchParams): void {
  for (const name of new Set(query.keys())) {
    const lower = name.toLowerCase();
    if (!ODATA_OPTIONS.has(lower) || row.query.includes(lower)) continue;
    if (lower === '$skiptoken') continue;
    const documented = row.query.length ? `it supports only ${row.query.join(', ')}` : 'it supports no query options';
    throw new GraphHttpError(400, 'Request_UnsupportedQuery', `Unsupported Query. The query option '${name}' is not supported on '${row.template}'; ${documented}.`);
  }
}

function lowerKeys(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof h === 'object' && h !== null) for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = String(v);
  return out;
}

function decodeSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/** Route key for paths no route matches: ids (GUIDs, UPNs) become {id}. */
function normalisePath(segments: string[]): string {
  return '/' + segments.map((s) => (/^[0-9a-f]{8}-[0-9a-f-]{27}$/i.test(s) || s.includes('@') ? '{id}' : s)).join('/');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new GraphHttpError(413, 'Request_EntityTooLarge', 'The request body is too large.'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    // A client that goes away mid-body leaves a request that will never end (a no-op once it has ended).
    req.on('close', () => reject(new GraphHttpError(400, 'Request_BadRequest', 'The client closed the connection before the request body was complete.')));
  });
}

function send(res: ServerResponse, r: GraphResponse, ids: { requestId: string; clientRequestId: string }): void {
  const headers: Record<string, string> = { 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId, ...(r.headers ?? {}) };
  if (r.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';
  if (r.body !== undefined) {
    const text = JSON.stringify(r.body);
    res.writeHead(r.status, { ...headers, 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  } else if (r.text !== undefined) {
    res.writeHead(r.status, { ...headers, 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(r.text) });
    res.end(r.text);
  } else {
    res.writeHead(r.status, { ...headers, 'Content-Length': 0 });
    res.end();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function parseLoosely(raw: Buffer): unknown {
  try {
    return raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
  } catch {
    return undefined;
  }
}

async function handleGraph(core: Core, req: IncomingMessage, res: ServerResponse, url: URL, socket: Socket): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const clientRequestId = (req.headers['client-request-id'] as string | undefined) ?? randomUUID();
  const ids = { requestId: randomUUID(), clientRequestId };
  const headers = lowerKeys(req.headers);
  const n = core.countTopLevel();
  const raw = await readBody(req);
  // Outlook requests in flight from arrival to answer: a 5th concurrent one is refused (src/sim/mail-limits.ts).
  const claims = outlookClaims(url.pathname, parseLoosely(raw));
  const outlookRefused = !core.outlook.enter(claims);
  if (!outlookRefused && claims) res.once('close', () => core.outlook.leave(claims));
  if (core.latencyMs > 0) await sleep(core.latencyMs);
  if (core.shouldReset()) {
    socket.destroy();
    return;
  }
  const hookInfo = { n, method, path: url.pathname, query: url.search, body: raw.toString('utf8') };
  if (core.hooks.before?.(hookInfo) === 'drop') {
    socket.destroy();
    return;
  }
  const answer = (r: GraphResponse): void => {
    if (core.hooks.after?.({ ...hookInfo, status: r.status }) === 'drop') {
      socket.destroy();
      return;
    }
    send(res, r, ids);
  };
  const auth = /^Bearer\s+(\S.*)$/i.exec(headers.authorization ?? '');
  const verdict = core.authorize(auth?.[1]?.trim());
  if (verdict !== 'ok') {
    const [version] = url.pathname.split('/').filter(Boolean);
    core.countRoute(`${method} /${version ?? ''}${normalisePath(url.pathname.split('/').filter(Boolean).slice(1))}`, method);
    const message = !auth ? 'Access token is empty.' : verdict === 'expired' ? 'Lifetime validation failed, the token is expired.' : 'Access token validation failure. Invalid audience.';
    return answer(core.errorResponse(new GraphHttpError(401, 'InvalidAuthenticationToken', message), clientRequestId));
  }
  const segments = decodeSegments(url.pathname);
  if (!segments) return answer(core.errorResponse(badRequest('The request URL is not correctly encoded.'), clientRequestId));
  const [version, ...rest] = segments;
  if (version !== 'v1.0' && version !== 'beta') {
    core.countRoute(`${method} ${normalisePath(segments)}`, method);
    return answer(core.errorResponse(badRequest(`Invalid version: ${version ?? '(none)'}. Use /v1.0 or /beta.`), clientRequestId));
  }
  let body: unknown;
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      core.countRoute(`${method} /${version}${normalisePath(rest)}`, method);
      return answer(core.errorResponse(badRequest('Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'), clientRequestId));
    }
  }
  const rawPath = url.pathname.slice(url.pathname.indexOf('/', 1));
  const inner: InnerRequest = { method, version, segments: rest, rawPath, query: url.searchParams, headers, body, clientRequestId, outlookRefused };
  if (rest.length === 1 && rest[0] === '$batch') {
    core.countRoute(`${method} /${version}/$batch`, method, false); // the batch is not a write; its inner requests are counted on their own
    if (method !== 'POST') return answer(core.errorResponse(new GraphHttpError(405, 'Request_BadRequest', 'Use POST for $batch.'), clientRequestId));
    return answer(core.batch(inner));
  }
  answer(core.execute(inner));
}

async function handleControl(core: Core, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const path = url.pathname.replace(/\/+$/, '');
  const json = (status: number, body?: unknown): void => {
    if (body === undefined) {
      res.writeHead(status, { 'Content-Length': 0 });
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const error = (status: number, code: string, message: string, details?: string[]): void => json(status, { error: { code, message, ...(details ? { details } : {}) } });
  const readJson = async (): Promise<Record<string, unknown> | undefined> => {
    const raw = (await readBody(req)).toString('utf8');
    try {
      const v: unknown = raw.trim() === '' ? {} : JSON.parse(raw);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // fall through to the 400 below
    }
    error(400, 'BadRequest', 'The body must be a JSON object.');
    return undefined;
  };
  const key = `${method} ${path}`;
  switch (key) {
    case 'GET /_sim/notifications':
      return json(200, { value: core.notifications });
    case 'DELETE /_sim/notifications':
      core.notifications.length = 0;
      return json(204);
    case 'GET /_sim/requests':
      return json(200, core.requests());
    case 'GET /_sim/usage':
      return json(200, core.usage());
    case 'POST /_sim/reset-counters':
      core.resetCounters();
      return json(200, core.requests());
    case 'POST /_sim/token':
      // What a token endpoint answers; the emulator accepts the token until an expiry fault fires.
      return json(200, { token_type: 'Bearer', access_token: core.mintToken(), expires_in: 3599 });
    case 'GET /_sim/faults':
      return json(200, core.faults());
    case 'POST /_sim/faults': {
      const body = await readJson();
      if (!body) return;
      try {
        return json(200, core.setFaults(body));
      } catch (e) {
        const err = e as GraphHttpError;
        return error(err.status ?? 400, err.code ?? 'InvalidFaults', err.message);
      }
    }
    case 'GET /_sim/tenant':
      return json(200, core.tenant.toFixture());
    case 'POST /_sim/sign-ins': {
      // { "signIns": [ { "userId", "at", "app", "appId", "clientApp", "method", "temporaryAccessPass"? } ] } → the recorded signIn objects
      // (only how many with the request header Prefer: return=minimal, RFC 7240).
      const body = await readJson();
      if (!body) return;
      const batch = parseSignInBatch(body, new Date(core.clock.now()).toISOString());
      if (!batch.ok) return error(400, 'InvalidSignIns', `The sign-ins have ${batch.errors.length} problem(s): ${batch.errors[0]}`, batch.errors);
      try {
        const recorded = recordSignIns(core.tenant, batch.requests);
        const minimal = String(req.headers.prefer ?? '').split(',').some((p) => p.trim().toLowerCase() === 'return=minimal');
        return json(200, minimal ? { recorded: recorded.length } : { recorded: recorded.length, value: recorded });
      } catch (e) {
        if (!(e instanceof SignInRejected)) throw e;
        return error(400, 'InvalidSignIns', `The sign-ins have ${e.problems.length} problem(s): ${e.problems[0]}`, e.problems);
      }
    }
    case 'PATCH /_sim/tenant': {
      const body = await readJson();
      if (!body) return;
      const { remove, ...partial } = body;
      const removal = checkRemoval(remove);
      if (typeof removal === 'string') return error(400, 'InvalidFixture', removal);
      const result = validateFixture(partial, { partial: true, exists: (c: IdCollection, id: string) => core.tenant.exists(c, id) });
      if (result.errors.length > 0) return error(400, 'InvalidFixture', `The partial fixture has ${result.errors.length} problem(s): ${result.errors[0]}`, result.errors);
      return json(200, core.tenant.applyPatch(result.fixture, removal));
    }
    default:
      return error(404, 'NotFound', `No emulator control endpoint ${key}. Try GET /_sim/notifications, GET /_sim/requests, GET /_sim/usage, PATCH /_sim/tenant, POST /_sim/sign-ins, POST /_sim/faults, POST /_sim/token or POST /_sim/reset-counters.`);
  }
}

function checkRemoval(remove: unknown): TenantRemoval | string {
  if (remove === undefined) return {};
  if (typeof remove !== 'object' || remove === null || Array.isArray(remove)) return '$.remove: must be an object such as { "devices": ["<id>"] }.';
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(remove)) {
    if (k === 'fido2Methods' || k === 'teamsAppInstallations') {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((ids) => !Array.isArray(ids) || ids.some((x) => typeof x !== 'string')))
        return k === 'fido2Methods' ? '$.remove.fido2Methods: must map user ids to arrays of method ids.' : '$.remove.teamsAppInstallations: must map user ids to arrays of Teams app ids.';
    } else if ([...ID_COLLECTIONS, 'mailboxes'].includes(k)) {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return `$.remove.${k}: must be an array of ${k === 'mailboxes' ? 'UPNs or user ids' : 'ids'}.`;
    } else return `$.remove.${k}: unknown collection.`;
    out[k] = v;
  }
  return out as TenantRemoval;
}

/** Starts the emulator. Rejects with FixtureError when the tenant is invalid. */
export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  let fixture: TenantFixture;
  if (typeof options.tenant === 'string') fixture = loadFixtureFile(options.tenant).fixture;
  else {
    const result = validateFixture(options.tenant);
    if (result.errors.length > 0) throw new FixtureError('<tenant>', result.errors);
    fixture = result.fixture;
  }
  const core = new Core(fixture, options.clock ?? systemClock, options.token, mergeLimits(GRAPH_LIMITS, options.limits), options.faults ?? {});
  core.hooks = options.hooks ?? {};
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', core.origin || 'http://127.0.0.1');
    const control = url.pathname === '/_sim' || url.pathname.startsWith('/_sim/');
    if (!control) core.begin();
    const work = (control ? handleControl(core, req, res, url) : handleGraph(core, req, res, url, req.socket)).finally(() => {
      if (!control) core.end();
    });
    work.catch((e: unknown) => {
      if (res.headersSent || req.socket.destroyed) return;
      const err = e instanceof GraphHttpError ? e : new GraphHttpError(500, 'InternalServerError', String(e));
      send(res, core.errorResponse(err, randomUUID()), { requestId: randomUUID(), clientRequestId: randomUUID() });
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  core.origin = url;
  return {
    url,
    port,
    state: core,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
