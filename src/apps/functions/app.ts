// Azure Functions (Node.js programming model v4) registration: the package's entry point on the
// Function App. `@azure/functions` is present only in the deployed package, so it is loaded at runtime.
import { redactSecrets } from '../../errors';
import { defaultDeps, postponeHttp, reconcileTimer } from './handlers';
import type { SchedulerLog } from './runtime';

interface InvocationContextLike {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}
interface HttpRequestV4 {
  method: string;
  query: URLSearchParams;
  headers: { get(name: string): string | null };
  formData(): Promise<{ get(name: string): unknown }>;
}
interface FunctionsApp {
  timer(name: string, options: { schedule: string; runOnStartup?: boolean; handler: (timer: unknown, ctx: InvocationContextLike) => Promise<void> }): void;
  http(name: string, options: { methods: string[]; authLevel: 'anonymous' | 'function'; route: string; handler: (req: HttpRequestV4, ctx: InvocationContextLike) => Promise<unknown> }): void;
}

function contextLog(ctx: InvocationContextLike): SchedulerLog {
  // One JSON object per line: App Insights keeps the fixed message and the fields apart. Secrets (a SAS, an
  // account key in the state connection string) are redacted from the whole line, the fields included.
  const line = (message: string, fields?: Record<string, unknown>) => redactSecrets(JSON.stringify({ message, ...fields }));
  return { info: (m, f) => ctx.log(line(m, f)), warn: (m, f) => ctx.warn(line(m, f)), error: (m, f) => ctx.error(line(m, f)) };
}

/** The host logs a failed invocation's error (message and stack): hand it one without secrets. */
function rethrowRedacted(e: unknown): never {
  const redacted = new Error(redactSecrets(e instanceof Error ? e.message : String(e)));
  if (e instanceof Error && e.stack) redacted.stack = redactSecrets(e.stack);
  throw redacted;
}

export function register(app: FunctionsApp): void {
  app.timer('reconcile', {
    // %…% makes the host read the app setting, so the schedule is stack config, not code.
    schedule: '%RECONCILE_SCHEDULE%',
    runOnStartup: false,
    handler: async (_timer, ctx) => reconcileTimer(defaultDeps(contextLog(ctx))).catch(rethrowRedacted),
  });
  app.http('postpone', {
    methods: ['GET', 'POST'],
    // The signed token is the authorization; users click the link without a function key.
    authLevel: 'anonymous',
    route: 'postpone',
    handler: async (req, ctx) => {
      let token = req.query.get('token');
      if (req.method === 'POST') {
        const form = await req.formData().catch(() => null);
        const posted = form?.get('token');
        if (typeof posted === 'string') token = posted;
      }
      // The Functions front end puts the caller first in X-Forwarded-For.
      const client = req.headers.get('x-forwarded-for')?.split(',')[0]?.trim() || null;
      return postponeHttp({ method: req.method, token, client }, defaultDeps(contextLog(ctx))).catch(rethrowRedacted);
    },
  });
}
