// Test plumbing: an emulator on an ephemeral 127.0.0.1 port and the real Graph client in front of it, with
// the middleware chain production builds (bearer auth → RetryHandler → HTTPMessageHandler).
import {
  Client,
  GraphError,
  HTTPMessageHandler,
  RetryHandler,
  RetryHandlerOptions,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { expect } from 'vitest';
import { FakeClock } from '../../src/sim/clock';
import type { TenantFixture } from '../../src/sim/fixture';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/sim/server';

export const TOKEN = 'test-token';

/** Adds the bearer token the way production's credential middleware does. */
class BearerToken implements Middleware {
  private next: Middleware | undefined;

  constructor(private readonly token: string | undefined) {}

  async execute(context: Context): Promise<void> {
    if (this.token !== undefined) {
      if (context.request instanceof Request) context.request.headers.set('Authorization', `Bearer ${this.token}`);
      else {
        const options = (context.options ??= {});
        const headers = new Headers(options.headers as ConstructorParameters<typeof Headers>[0]);
        headers.set('Authorization', `Bearer ${this.token}`);
        options.headers = headers;
      }
    }
    await this.next!.execute(context);
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

export interface Harness {
  emu: Emulator;
  client: Client;
  clock: FakeClock;
  /** Seconds the RetryHandler asked to sleep (it advances the fake clock instead of sleeping). */
  sleeps: number[];
  /** A /_sim control call (or any raw call) with fetch; returns status and parsed JSON. */
  sim(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Turns an absolute @odata.nextLink into the path graph-client v3 accepts for an http:// base URL. */
  next(nextLink: string): string;
  close(): Promise<void>;
}

export interface HarnessOptions extends Omit<EmulatorOptions, 'tenant' | 'clock'> {
  tenant: TenantFixture;
  /** The token the client sends (undefined: none); defaults to TOKEN. */
  clientToken?: string | null;
  maxRetries?: number;
}

export function makeClient(url: string, token: string | undefined, clock: FakeClock, sleeps: number[], maxRetries = 3): Client {
  const auth = new BearerToken(token);
  const retry = new RetryHandler(new RetryHandlerOptions(3, maxRetries));
  // The library sleeps for real; in tests the wait moves the emulator's fake clock instead.
  (retry as unknown as { sleep: (seconds: number) => Promise<void> }).sleep = async (seconds) => {
    sleeps.push(seconds);
    clock.advance(Math.ceil(seconds * 1000));
  };
  auth.setNext(retry);
  retry.setNext(new HTTPMessageHandler());
  return Client.initWithMiddleware({ middleware: auth, baseUrl: url, defaultVersion: 'v1.0' });
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const clock = new FakeClock('2026-12-01T06:00:00Z');
  const { tenant, clientToken, maxRetries, ...rest } = options;
  const emu = await startEmulator({ token: TOKEN, ...rest, tenant, clock });
  const sleeps: number[] = [];
  const client = makeClient(emu.url, clientToken === null ? undefined : (clientToken ?? TOKEN), clock, sleeps, maxRetries);
  return {
    emu,
    client,
    clock,
    sleeps,
    async sim(method, path, body) {
      const res = await fetch(emu.url + path, {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    next(nextLink) {
      expect(nextLink.startsWith(emu.url + '/')).toBe(true);
      return nextLink.slice(emu.url.length).replace(/^\/(v1\.0|beta)/, '');
    },
    close: () => emu.close(),
  };
}

/** Runs a Graph call expected to fail and returns the GraphError. */
export async function graphError(call: Promise<unknown>): Promise<GraphError> {
  try {
    await call;
  } catch (e) {
    if (e instanceof GraphError) return e;
    throw e;
  }
  throw new Error('expected the Graph call to fail');
}

export const noRetry = () => [new RetryHandlerOptions(0, 0)];
