// The Graph client: the real @microsoft/microsoft-graph-client with a middleware chain we build
// ourselves (pace/retry/count → auth → time-out → HTTP). Production and tests differ only in
// the base URL and the credential.
import { Client, HTTPMessageHandler, type Context, type Middleware } from '@microsoft/microsoft-graph-client';
import { GraphAuthError, GraphError, GraphRequestError, GraphUnavailableError } from './errors';
import { missingPermissionHint, requestPermissions } from './permissions';

export const DEFAULT_GRAPH_URL = 'https://graph.microsoft.com';
/** The bearer token the emulator accepts unless told otherwise. */
export const SIM_TOKEN = 'sim-token';

export type TokenProvider = () => Promise<string>;

/** Marker header (stripped before sending): do not re-send this request after a time-out or reset. */
const NO_TRANSPORT_RETRY = 'x-campaign-no-transport-retry';

export interface GraphOptions {
  /** Base URL without version, e.g. https://graph.microsoft.com or http://127.0.0.1:8080. */
  graphUrl: string;
  /** Where bearer tokens come from; default: a static token for loopback URLs, DefaultAzureCredential otherwise. */
  token?: TokenProvider;
  /** Give up on a request after retrying this long (ms). Default 120 s. */
  retryBudgetMs?: number;
  /** Give up on a request that reaches no server (refused, DNS, unreachable) after this long (ms). Default 10 s. */
  connectBudgetMs?: number;
  /** Per-attempt time-out (ms). Default 60 s. */
  attemptTimeoutMs?: number;
  /** Requests in flight at once. Default 4. */
  concurrency?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface GraphStats {
  /** HTTP requests sent, retries included ($batch counts once). */
  requests: number;
  throttled: number;
  retries: number;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function isLoopback(graphUrl: string): boolean {
  try {
    const host = new URL(graphUrl).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
  } catch {
    return false;
  }
}

/** DefaultAzureCredential for Graph, loaded only when a real tenant is used (keeps the CLI start fast). */
export function azureTokenProvider(graphUrl: string): TokenProvider {
  let credential: { getToken(scope: string): Promise<{ token: string } | null> } | undefined;
  const scope = `${new URL(graphUrl).origin}/.default`;
  return async () => {
    if (!credential) {
      const identity = await import('@azure/identity');
      credential = new identity.DefaultAzureCredential();
    }
    const t = await credential.getToken(scope).catch((e: unknown) => {
      throw new GraphAuthError(`could not get a token for ${scope}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, 401, 'CredentialUnavailable', 'POST', scope, false,
        'Sign in (az login), or run where a managed identity or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_FEDERATED_TOKEN_FILE is configured.');
    });
    if (!t) throw new GraphAuthError(`no token for ${scope}`, 401, 'CredentialUnavailable', 'POST', scope, false);
    return t.token;
  };
}

function methodOf(ctx: Context): string {
  return String((ctx.options?.method ?? (ctx.request instanceof Request ? ctx.request.method : 'GET')) || 'GET').toUpperCase();
}
function urlOf(ctx: Context): string {
  return typeof ctx.request === 'string' ? ctx.request : ctx.request.url;
}

/** Adds the bearer token to every request. */
class AuthMiddleware implements Middleware {
  private next?: Middleware;
  constructor(private readonly token: TokenProvider) {}
  async execute(ctx: Context): Promise<void> {
    const token = await this.token();
    const headers = new Headers((ctx.options?.headers as ConstructorParameters<typeof Headers>[0]) ?? undefined);
    headers.set('Authorization', `Bearer ${token}`);
    ctx.options = { ...(ctx.options ?? {}), headers: Object.fromEntries(headers.entries()) };
    return this.next!.execute(ctx);
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

/** Aborts an attempt that takes too long; the retry layer decides whether to try again. */
class TimeoutMiddleware implements Middleware {
  private next?: Middleware;
  constructor(private readonly ms: number) {}
  async execute(ctx: Context): Promise<void> {
    ctx.options = { ...(ctx.options ?? {}), signal: AbortSignal.timeout(this.ms) } as Context['options'];
    return this.next!.execute(ctx);
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

/**
 * Paces and retries, like octokit's throttling plugin: a 429 closes a shared gate for its
 * Retry-After so the other requests wait too; 503/504 and network failures back off
 * exponentially. Non-idempotent requests (notifications) are not retried after a network
 * failure, because the first attempt may have been delivered.
 */
class RetryMiddleware implements Middleware {
  private next?: Middleware;
  private gateUntil = 0;
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(private readonly g: Graph) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  private async slot(): Promise<void> {
    while (this.inFlight >= this.g.concurrency) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight++;
  }
  private release(): void {
    this.inFlight--;
    this.waiters.shift()?.();
  }

  async execute(ctx: Context): Promise<void> {
    const method = methodOf(ctx);
    const url = urlOf(ctx);
    const headers = (ctx.options?.headers ?? {}) as Record<string, string>;
    // A request that must not run twice (a $batch of notifications) is never re-sent after a lost answer.
    const once = headers[NO_TRANSPORT_RETRY] !== undefined;
    if (once) {
      const { [NO_TRANSPORT_RETRY]: _marker, ...rest } = headers;
      ctx.options = { ...(ctx.options ?? {}), headers: rest };
    }
    const idempotent = !once && (method === 'GET' || method === 'DELETE' || method === 'PATCH' || /\/\$batch$/.test(url.split('?')[0]) || /\/members\/\$ref$/.test(url));
    const started = this.g.now();
    const baseOptions = ctx.options;
    for (let attempt = 0; ; attempt++) {
      const wait = this.gateUntil - this.g.now();
      if (wait > 0) await this.g.sleep(wait);
      await this.slot();
      let failure: unknown;
      try {
        ctx.options = { ...(baseOptions ?? {}) };
        ctx.response = undefined;
        this.g.stats.requests++;
        await this.next!.execute(ctx);
      } catch (e) {
        failure = e;
      } finally {
        this.release();
      }
      // Our own typed errors (a credential that cannot produce a token) are final, not network trouble.
      if (failure instanceof GraphError) throw this.g.remember(failure);
      const status = ctx.response?.status ?? 0;
      const retryAfterHeader = ctx.response?.headers.get('Retry-After');
      let delay: number | undefined;
      if (failure === undefined && status === 429) {
        this.g.stats.throttled++;
        delay = retryAfterHeader ? Number(retryAfterHeader) * 1000 : backoff(attempt);
        this.gateUntil = Math.max(this.gateUntil, this.g.now() + delay);
      } else if (failure === undefined && (status === 503 || (status === 504 && !once))) {
        delay = retryAfterHeader ? Number(retryAfterHeader) * 1000 : backoff(attempt);
      } else if (failure !== undefined && idempotent && (connectFailure(failure) === undefined || attempt < CONNECT_RETRIES)) {
        delay = backoff(attempt);
      }
      if (delay === undefined || !Number.isFinite(delay)) {
        if (failure !== undefined) throw this.g.remember(networkError(failure, method, url, this.g.baseUrl));
        return;
      }
      // Nothing answered at all (refused, no such host, unreachable): a short budget, so a wrong --graph-url fails
      // in seconds; a reset or time-out of a server that did answer gets the whole retry budget.
      const budget = failure !== undefined && connectFailure(failure) !== undefined ? Math.min(this.g.retryBudgetMs, this.g.connectBudgetMs) : this.g.retryBudgetMs;
      if (this.g.now() + delay - started > budget) {
        if (failure !== undefined) throw this.g.remember(networkError(failure, method, url, this.g.baseUrl));
        return; // hand the last 429/503 to the caller, which raises a typed error
      }
      // Drain the body so the connection is reused.
      await ctx.response?.arrayBuffer().catch(() => undefined);
      this.g.stats.retries++;
      await this.g.sleep(delay);
    }
  }
}

/**
 * Failures before any server answered, by the `code` of fetch's cause: nothing listens there, the name does not
 * resolve, no route, the connection or TLS handshake never completed. Retrying for minutes will not help.
 */
const CONNECT_FAILURES = {
  ECONNREFUSED: 'connection refused: nothing listens at that address and port',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  EHOSTDOWN: 'the host is down',
  EADDRNOTAVAIL: 'the address is not available from this machine',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate chain is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate cannot be verified',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server certificate is for another host name',
} as const;
type ConnectFailure = keyof typeof CONNECT_FAILURES;

/** Retries of a request that never reached a server: enough for a DNS or routing blip, not minutes. */
const CONNECT_RETRIES = 2;

function connectFailure(e: unknown): ConnectFailure | undefined {
  const code = (e as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' && Object.hasOwn(CONNECT_FAILURES, code) ? (code as ConnectFailure) : undefined;
}

/**
 * The ports fetch (undici) refuses to connect to, from the Fetch standard's "bad port" list (X11's 6000, SMTP, IRC…):
 * a request there fails at once with an error that carries no code, so the client rejects such a URL up front.
 * https://fetch.spec.whatwg.org/#port-blocking
 */
export const FETCH_BAD_PORTS: ReadonlySet<string> = new Set([
  '1', '7', '9', '11', '13', '15', '17', '19', '20', '21', '22', '23', '25', '37', '42', '43', '53', '69', '77', '79', '87', '95',
  '101', '102', '103', '104', '109', '110', '111', '113', '115', '117', '119', '123', '135', '137', '139', '143', '161', '179',
  '389', '427', '465', '512', '513', '514', '515', '526', '530', '531', '532', '540', '548', '554', '556', '563', '587', '601',
  '636', '989', '990', '993', '995', '1719', '1720', '1723', '2049', '3659', '4045', '4190', '5060', '5061', '6000', '6566',
  '6665', '6666', '6667', '6668', '6669', '6679', '6697', '10080',
]);

function backoff(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
}

function networkError(e: unknown, method: string, url: string, baseUrl: string): GraphError {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const timedOut = err?.name === 'TimeoutError' || err?.name === 'AbortError';
  const code = timedOut ? 'Timeout' : (err?.cause?.code ?? 'NetworkError');
  const detail = timedOut ? 'timed out' : (err?.cause?.message ?? err?.message ?? String(e));
  const connect = connectFailure(e);
  // A connect failure is about the Graph URL itself, not one request: name the URL, then the system's words.
  const message = connect !== undefined ? `cannot reach Microsoft Graph at ${baseUrl} (${CONNECT_FAILURES[connect]}): ${detail}` : `${method} ${url}: ${detail}`;
  return new GraphUnavailableError(message, 0, code, method, url, true,
    'Check that the Graph URL is reachable from here (--graph-url), then run again.');
}

export interface BatchRequest {
  id: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the version, e.g. `/users/{id}/authentication/fido2Methods`. */
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  dependsOn?: string[];
}

export interface BatchResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface ListOptions<T = unknown> {
  select?: string[];
  filter?: string;
  expand?: string;
  top?: number;
  headers?: Record<string, string>;
  count?: boolean;
  /**
   * Each item as its page arrives, instead of collecting them: a page is dropped once its items are handed
   * over, so a large collection costs only what `each` keeps. `list` then resolves to an empty array.
   */
  each?: (item: T) => void;
}

/** A $batch request that only reads: GET, no body. */
export interface ReadBatchRequest {
  id: string;
  method: 'GET';
  /** Relative to the version, e.g. `/users/{id}/authentication/fido2Methods`. */
  url: string;
  headers?: Record<string, string>;
}

/**
 * The read-only face of the Graph client: what observe is handed, so the reads cannot post, patch
 * or delete. `Graph` implements it; only the act step holds a `Graph`.
 */
export interface GraphReader {
  readonly baseUrl: string;
  readonly stats: Readonly<GraphStats>;
  readonly concurrency: number;
  get<T>(path: string, opts?: { headers?: Record<string, string>; version?: string }): Promise<T>;
  list<T>(path: string, opts?: ListOptions<T>): Promise<T[]>;
  batch(requests: readonly ReadBatchRequest[]): Promise<Map<string, BatchResponse>>;
}

export class Graph implements GraphReader {
  readonly client: Client;
  readonly stats: GraphStats = { requests: 0, throttled: 0, retries: 0 };
  readonly retryBudgetMs: number;
  readonly connectBudgetMs: number;
  readonly concurrency: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly baseUrl: string;
  // The client library re-wraps errors thrown by middleware and keeps only their message;
  // this lets call() hand the caller the typed error we actually threw.
  private readonly thrown = new Map<string, GraphError>();

  remember(e: GraphError): GraphError {
    this.thrown.set(e.message, e);
    return e;
  }

  constructor(opts: GraphOptions) {
    let parsed: URL;
    try {
      parsed = new URL(opts.graphUrl);
    } catch {
      throw new GraphRequestError(`--graph-url "${opts.graphUrl}" is not a URL.`, 0, 'BadUrl', 'GET', opts.graphUrl, false, 'Use for example https://graph.microsoft.com or http://127.0.0.1:8080.');
    }
    if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && FETCH_BAD_PORTS.has(parsed.port)) {
      throw new GraphRequestError(`--graph-url ${parsed.origin}: port ${parsed.port} is one that fetch never connects to (a "bad port" of the Fetch standard, kept for other protocols such as X11 and mail).`,
        0, 'BadPort', 'GET', parsed.origin, false, 'Use another port (campaign sim serve --port 0 picks a free one).');
    }
    this.baseUrl = parsed.origin + parsed.pathname.replace(/\/+$/, '');
    this.retryBudgetMs = opts.retryBudgetMs ?? 120_000;
    this.connectBudgetMs = opts.connectBudgetMs ?? 10_000;
    this.concurrency = opts.concurrency ?? 4;
    this.sleep = opts.sleep ?? realSleep;
    this.now = opts.now ?? Date.now;
    const token = opts.token ?? (isLoopback(this.baseUrl) ? async () => SIM_TOKEN : azureTokenProvider(this.baseUrl));
    const chain: Middleware[] = [new RetryMiddleware(this), new AuthMiddleware(token), new TimeoutMiddleware(opts.attemptTimeoutMs ?? 60_000), new HTTPMessageHandler()];
    for (let i = 0; i < chain.length - 1; i++) chain[i].setNext?.(chain[i + 1]);
    this.client = Client.initWithMiddleware({ middleware: chain[0], baseUrl: `${this.baseUrl}/`, defaultVersion: 'v1.0' });
  }

  /** A request builder for a path relative to the version, or an absolute nextLink on our host. */
  private api(pathOrUrl: string, version = 'v1.0') {
    if (/^https?:\/\//.test(pathOrUrl)) {
      // The client only strips https:// hosts itself; do it for any absolute URL on our base.
      const u = new URL(pathOrUrl);
      const m = /^\/(v1\.0|beta)(\/.*)$/.exec(u.pathname.slice(new URL(this.baseUrl).pathname.replace(/\/$/, '').length));
      if (!m) throw new GraphRequestError(`unexpected next link ${pathOrUrl}`, 0, 'BadNextLink', 'GET', pathOrUrl, false);
      return this.client.api(`${m[2]}${u.search}`).version(m[1]);
    }
    return this.client.api(pathOrUrl).version(version);
  }

  async get<T>(path: string, opts: { headers?: Record<string, string>; version?: string } = {}): Promise<T> {
    return this.call('GET', path, () => this.api(path, opts.version).headers(opts.headers ?? {}).get() as Promise<T>);
  }

  async post<T>(path: string, body: unknown, opts: { version?: string; headers?: Record<string, string> } = {}): Promise<T> {
    return this.call('POST', path, () => this.api(path, opts.version).headers(opts.headers ?? {}).post(body) as Promise<T>);
  }

  async patch<T>(path: string, body: unknown): Promise<T> {
    return this.call('PATCH', path, () => this.api(path).patch(body) as Promise<T>);
  }

  async delete(path: string): Promise<void> {
    await this.call('DELETE', path, () => this.api(path).delete() as Promise<unknown>);
  }

  /** Every item of a collection, following @odata.nextLink. */
  async list<T>(path: string, opts: ListOptions<T> = {}): Promise<T[]> {
    const out: T[] = [];
    const each = opts.each ?? ((item: T) => void out.push(item));
    let req = this.api(path).headers(opts.headers ?? {});
    if (opts.select) req = req.select(opts.select);
    if (opts.filter) req = req.filter(opts.filter);
    if (opts.expand) req = req.expand(opts.expand);
    if (opts.top) req = req.top(opts.top);
    if (opts.count) req = req.count(true);
    let page = await this.call('GET', path, () => req.get() as Promise<{ value: T[]; '@odata.nextLink'?: string }>);
    for (let pages = 1; ; pages++) {
      for (const item of page.value ?? []) each(item);
      const next = page['@odata.nextLink'];
      if (!next) return out;
      if (pages > 100_000) throw new GraphRequestError(`${path}: more than 100,000 pages; stopping`, 0, 'TooManyPages', 'GET', path, false);
      page = await this.call('GET', path, () => this.api(next).headers(opts.headers ?? {}).get() as Promise<{ value: T[]; '@odata.nextLink'?: string }>);
    }
  }

  /**
   * JSON batching, 20 requests per $batch. Inner requests answered 429/503/504 are sent again
   * (Graph throttles each on its own and the client does not retry inside a 200) until the
   * retry budget runs out; the last answer is returned either way.
   *
   * `retryTransport: false` is for requests that must not run twice (notifications): a $batch
   * whose answer was lost (time-out, reset) is not re-sent — the caller gets the error and treats
   * the requests as in doubt — and inner 504s are returned, not re-sent; inner 429/503 were not
   * executed by Graph, so those are still retried.
   */
  async batch(requests: readonly BatchRequest[], opts: { retryTransport?: boolean } = {}): Promise<Map<string, BatchResponse>> {
    const once = opts.retryTransport === false;
    const retryStatuses = once ? [429, 503] : [429, 503, 504];
    const results = new Map<string, BatchResponse>();
    const chunks: BatchRequest[][] = [];
    for (let i = 0; i < requests.length; i += 20) chunks.push(requests.slice(i, i + 20));
    await mapLimit(chunks, this.concurrency, async (chunk) => {
      let pending = chunk;
      const started = this.now();
      for (let attempt = 0; pending.length; attempt++) {
        const body = { requests: pending.map((r) => ({ id: r.id, method: r.method, url: r.url, body: r.body, headers: r.body !== undefined ? { 'Content-Type': 'application/json', ...r.headers } : r.headers, dependsOn: r.dependsOn })) };
        const res = await this.post<{ responses: BatchResponse[] }>('/$batch', body, once ? { headers: { [NO_TRANSPORT_RETRY]: '1' } } : {});
        let delay = 0;
        const retry: BatchRequest[] = [];
        for (const r of res.responses ?? []) {
          results.set(r.id, { ...r, headers: r.headers ?? {} });
          if (retryStatuses.includes(r.status)) {
            if (r.status === 429) this.stats.throttled++;
            const ra = Number((r.headers ?? {})['Retry-After'] ?? (r.headers ?? {})['retry-after']);
            delay = Math.max(delay, Number.isFinite(ra) && ra > 0 ? ra * 1000 : backoff(attempt));
            const original = pending.find((p) => p.id === r.id);
            if (original) retry.push(original);
          }
        }
        if (!retry.length || this.now() + delay - started > this.retryBudgetMs) break;
        this.stats.retries++;
        await this.sleep(delay);
        pending = retry;
      }
    });
    return results;
  }

  private async call<T>(method: string, path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const message = (e as { message?: string })?.message;
      const ours = message !== undefined ? this.thrown.get(message) : undefined;
      if (ours) {
        this.thrown.delete(message!);
        throw ours;
      }
      throw toTypedError(e, method, path);
    }
  }
}

export function toTypedError(e: unknown, method: string, path: string): Error {
  if (e instanceof GraphError) return e;
  const ge = e as { statusCode?: number; code?: string; message?: string; body?: unknown };
  const status = typeof ge?.statusCode === 'number' ? ge.statusCode : -1;
  if (status === -1) return e instanceof Error ? e : new Error(String(e));
  const code = ge.code ?? 'Unknown';
  const message = `${method} ${path}: ${status} ${code}: ${ge.message ?? ''}`.trim();
  if (status === 401) {
    return new GraphAuthError(message, status, code, method, path, false, 'The token was rejected: check the credential (and for the emulator, the token it expects).');
  }
  if (status === 403) {
    // Name the permission the request's page documents, so the operator knows what to grant.
    const need = requestPermissions(method, path);
    const err = new GraphAuthError(need ? `${message} (needs the application permission ${need.permissions.join(' or ')})` : message, status, code, method, path, false,
      missingPermissionHint(method, path) ?? 'The identity lacks a Microsoft Graph permission; see docs/platform-engineer.md for the list.');
    err.permissions = need?.permissions ?? [];
    return err;
  }
  if (status === 429 || status === 503 || status === 504 || status === 0) {
    return new GraphUnavailableError(`${message} (still failing after retrying)`, status, code, method, path, true, 'Graph is throttling or unavailable; the next scheduled run will continue.');
  }
  return new GraphRequestError(message, status, code, method, path, false);
}

/** Runs fn over items with at most `limit` at once, preserving nothing but completion. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
