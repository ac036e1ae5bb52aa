// Graph's published throttling limits for the APIs the product calls, as sliding windows on the injected clock.
//
// Resource units per request come from the route table (route-table.ts, concepts/throttling-limits.md):
// the row's base cost, −1 with $select, +1 with $expand, −1 with $top below 20, never below 1; a write costs
// 1 unit and 1 unit of the write quota. Reports (/reports/…) count requests, Conditional Access
// (/identity/conditionalAccess/…) counts requests and answers 429 without Retry-After. Teams counts requests
// per second (concepts/throttling-limits.md, "Microsoft Teams service limits"): POST
// /users/{id}/teamwork/sendActivityNotification 5 rps per app per tenant, installedApps 30 rps.
import type { Clock } from './clock';

export interface WindowLimit {
  limit: number;
  windowSeconds: number;
}

export interface ThrottleLimits {
  /** Identity & access reads and writes, in resource units per app per (large) tenant. */
  identityResourceUnits: WindowLimit;
  /** Identity & access writes per app per tenant. */
  identityWrites: WindowLimit;
  /** /reports/… requests per app per tenant. */
  reports: WindowLimit;
  /** /identity/conditionalAccess/… requests per tenant. */
  conditionalAccess: WindowLimit;
  /** POST /users/{id}/teamwork/sendActivityNotification requests per app per tenant. */
  teamsActivity: WindowLimit;
  /** GET/POST …/teamwork/installedApps requests per app per tenant. */
  teamsInstalledApps: WindowLimit;
}

export const GRAPH_LIMITS: ThrottleLimits = {
  identityResourceUnits: { limit: 8000, windowSeconds: 10 },
  identityWrites: { limit: 3000, windowSeconds: 150 },
  reports: { limit: 5, windowSeconds: 10 },
  conditionalAccess: { limit: 1, windowSeconds: 1 },
  teamsActivity: { limit: 5, windowSeconds: 1 },
  teamsInstalledApps: { limit: 30, windowSeconds: 1 },
};

export type ThrottleClass = 'identity' | 'reports' | 'conditionalAccess' | 'teamsActivity' | 'teamsInstalledApps' | 'none';

export interface CostInput {
  throttleClass: ThrottleClass;
  method: string;
  /** The route's documented base cost (route-table.ts). */
  baseCost: number;
  expand: boolean;
  select: boolean;
  /** `$top` with a value below 20. */
  smallTop: boolean;
}

export const isWrite = (method: string) => method === 'POST' || method === 'PATCH' || method === 'PUT' || method === 'DELETE';

export function resourceUnits(c: CostInput): number {
  if (isWrite(c.method)) return Math.max(1, c.baseCost);
  let cost = c.baseCost;
  if (c.expand) cost += 1;
  if (c.select) cost -= 1;
  if (c.smallTop) cost -= 1;
  return Math.max(1, cost);
}

/** A sliding window of (time, cost) entries. */
class SlidingWindow {
  private readonly entries: Array<{ t: number; cost: number }> = [];
  private head = 0;
  private used = 0;

  constructor(private readonly limit: WindowLimit) {}

  private evict(now: number): void {
    const windowMs = this.limit.windowSeconds * 1000;
    while (this.head < this.entries.length && this.entries[this.head]!.t <= now - windowMs) {
      this.used -= this.entries[this.head]!.cost;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Milliseconds until `cost` fits, 0 when it fits now. */
  waitFor(cost: number, now: number): number {
    this.evict(now);
    if (this.used + cost <= this.limit.limit) return 0;
    const windowMs = this.limit.windowSeconds * 1000;
    let freed = 0;
    for (let i = this.head; i < this.entries.length; i++) {
      freed += this.entries[i]!.cost;
      if (this.used - freed + cost <= this.limit.limit) return this.entries[i]!.t + windowMs - now;
    }
    return windowMs; // a single request costlier than the whole window: tell the caller to wait a full window
  }

  record(cost: number, now: number): void {
    this.entries.push({ t: now, cost });
    this.used += cost;
  }
}

export interface ThrottleDecision {
  throttled: boolean;
  /** Seconds for the Retry-After header; undefined when Graph sends none (Conditional Access). */
  retryAfterSeconds?: number;
}

export class Throttle {
  private readonly ru: SlidingWindow;
  private readonly writes: SlidingWindow;
  private readonly reports: SlidingWindow;
  private readonly ca: SlidingWindow;
  private readonly teams: Record<'teamsActivity' | 'teamsInstalledApps', SlidingWindow>;

  constructor(
    readonly limits: ThrottleLimits,
    private readonly clock: Clock,
  ) {
    this.ru = new SlidingWindow(limits.identityResourceUnits);
    this.writes = new SlidingWindow(limits.identityWrites);
    this.reports = new SlidingWindow(limits.reports);
    this.ca = new SlidingWindow(limits.conditionalAccess);
    this.teams = { teamsActivity: new SlidingWindow(limits.teamsActivity), teamsInstalledApps: new SlidingWindow(limits.teamsInstalledApps) };
  }

  /** Admits the request (recording its cost) or says how long to wait. Throttled requests cost nothing. */
  admit(c: CostInput): ThrottleDecision {
    const now = this.clock.now();
    const retry = (ms: number) => ({ throttled: true, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) });
    switch (c.throttleClass) {
      case 'none':
        return { throttled: false };
      case 'reports': {
        const wait = this.reports.waitFor(1, now);
        if (wait > 0) return retry(wait);
        this.reports.record(1, now);
        return { throttled: false };
      }
      case 'teamsActivity':
      case 'teamsInstalledApps': {
        const window = this.teams[c.throttleClass];
        const wait = window.waitFor(1, now);
        if (wait > 0) return retry(wait);
        window.record(1, now);
        return { throttled: false };
      }
      case 'conditionalAccess': {
        if (this.ca.waitFor(1, now) > 0) return { throttled: true };
        this.ca.record(1, now);
        return { throttled: false };
      }
      case 'identity': {
        const units = resourceUnits(c);
        const write = isWrite(c.method);
        const wait = Math.max(this.ru.waitFor(units, now), write ? this.writes.waitFor(1, now) : 0);
        if (wait > 0) return retry(wait);
        this.ru.record(units, now);
        if (write) this.writes.record(1, now);
        return { throttled: false };
      }
    }
  }
}

export function mergeLimits(base: ThrottleLimits, patch: Partial<Record<keyof ThrottleLimits, Partial<WindowLimit>>> | undefined): ThrottleLimits {
  const out = structuredClone(base);
  for (const k of Object.keys(out) as Array<keyof ThrottleLimits>) {
    if (patch?.[k]) out[k] = { ...out[k], ...patch[k] };
  }
  return out;
}
