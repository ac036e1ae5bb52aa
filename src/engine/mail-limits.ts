// Exchange Online and Outlook limits on mail from one sender mailbox, and the pure half of pacing to them:
// how much a sender may still send (from the ledger), and which users' notices fit this run.
//
//   - Outlook (Graph concepts/throttling-limits.md, "Outlook service limits"): up to 4 concurrent requests
//     per app; a JSON batch runs at most 4 of its requests in parallel ("Outlook service limits for JSON
//     batching"), so one $batch in flight at a time never exceeds it.
//   - Exchange Online sending limits (Exchange Online service description, "Sending limits"; Exchange
//     troubleshooting article "Message storage and concurrent connection throttling for SMTP Authenticated
//     Submission"): 30 messages a minute and 10,000 recipients a day per mailbox. Graph's user-sendmail.md
//     names no limit itself; the mailbox's limits apply to mail sent through Graph too.
import type { Decision } from './decide';
import { keepUsers } from './valve';
import type { LedgerEvent } from '../ledger/events';

export const MAIL_LIMITS = {
  /** Concurrent Outlook requests per app (a $batch runs at most this many of its requests at once). */
  concurrentRequests: 4,
  /** Messages a minute per sender mailbox. */
  messagesPerMinute: 30,
  /** Recipients per rolling 24 hours per sender mailbox. */
  recipientsPerDay: 10_000,
} as const;

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** One email recorded as dispatched: when, and from which sender (undefined: an older line that did not say). */
export interface MailSend {
  at: number;
  sender: string | undefined;
}

/** Every email the ledger records as dispatched (one recipient each), oldest first. */
export function mailSends(events: readonly LedgerEvent[]): MailSend[] {
  const out: MailSend[] = [];
  for (const e of events) {
    if (e.type !== 'notificationDispatch' || e.channel !== 'email') continue;
    const at = Date.parse(e.at);
    for (let i = 0; i < e.keys.length; i++) out.push({ at, sender: e.sender });
  }
  return out;
}

/**
 * The sending windows of a set of sender mailboxes on one clock: what each may send at a moment without
 * exceeding 30 a minute or 10,000 in any 24 hours, and when the next send becomes possible. The reconcile
 * job's pacer (src/act/mail-pacing.ts) runs it on the real (injected) clock; mailCapacity on a virtual one.
 */
export class MailWindows {
  /**
   * Send times per sender (lower-case), sorted: `day` from the ledger and this run (sends of unknown sender are in
   * every list), `minute` from this run only. The day limit refuses mail, so every recorded send counts; the
   * minute limit only delays it ("any excess … is carried over to the following minutes"), and a dispatch record
   * of an interrupted run may never have reached Exchange, so a rerun within the minute does not wait on it.
   */
  private readonly day = new Map<string, number[]>();
  private readonly minute = new Map<string, number[]>();
  private rr = 0;

  constructor(readonly senders: readonly string[], history: readonly MailSend[]) {
    for (const s of senders) {
      const k = s.toLowerCase();
      this.day.set(k, history.filter((x) => x.sender === undefined || x.sender.toLowerCase() === k).map((x) => x.at).sort((a, b) => a - b));
      this.minute.set(k, []);
    }
  }

  private list(which: 'day' | 'minute', sender: string): number[] {
    return this[which].get(sender.toLowerCase()) ?? [];
  }

  /** Sends in (t - span, t]. */
  private count(which: 'day' | 'minute', sender: string, t: number): number {
    const l = this.list(which, sender);
    return upperBound(l, t) - upperBound(l, t - (which === 'day' ? DAY_MS : MINUTE_MS));
  }

  /** How many `sender` may send at `t`: within both the minute and the day window. */
  room(sender: string, t: number): number {
    const minute = MAIL_LIMITS.messagesPerMinute - this.count('minute', sender, t);
    const day = MAIL_LIMITS.recipientsPerDay - this.count('day', sender, t);
    return Math.max(0, Math.min(minute, day));
  }

  record(sender: string, t: number, n: number): void {
    for (const which of ['day', 'minute'] as const) {
      const l = this.list(which, sender);
      for (let i = 0; i < n; i++) l.splice(upperBound(l, t), 0, t);
    }
  }

  /** The next sender with room at `t`, round robin so several senders share the load; undefined: none. */
  pick(t: number): { sender: string; room: number } | undefined {
    for (let i = 0; i < this.senders.length; i++) {
      const sender = this.senders[(this.rr + i) % this.senders.length]!;
      const room = this.room(sender, t);
      if (room > 0) {
        this.rr = (this.rr + i + 1) % this.senders.length;
        return { sender, room };
      }
    }
    return undefined;
  }

  /** The earliest moment after `t` at which some sender has room again. */
  nextRoom(t: number): number {
    let best = Infinity;
    for (const s of this.senders) {
      let at = t;
      // The oldest send still in a full window leaves it one window length after it was made.
      for (const [which, limit, span] of [['minute', MAIL_LIMITS.messagesPerMinute, MINUTE_MS], ['day', MAIL_LIMITS.recipientsPerDay, DAY_MS]] as const) {
        const l = this.list(which, s);
        const c = this.count(which, s, t);
        if (c >= limit) at = Math.max(at, l[upperBound(l, t - span) + c - limit]! + span);
      }
      best = Math.min(best, at);
    }
    return best;
  }
}

/** Index of the first element greater than x in a sorted array. */
function upperBound(l: readonly number[], x: number): number {
  let lo = 0;
  let hi = l.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (l[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Messages per $batch of email: one dispatch record each, so at most this many are in doubt after a crash. */
export const MAIL_BATCH = 20;

/**
 * Longest wait for room a run accepts: a minute window always frees within a minute; a run that would have to
 * wait longer (the day's limit is used up) stops sending and leaves the rest to the next run.
 */
export const MAIL_MAX_WAIT_MS = MINUTE_MS;

/**
 * How many emails a run starting at `now` can send (at most `want`), pacing as the job does, within `budgetMs` of
 * sending time (the scheduler's run has a time limit; the CLI's has none).
 */
export function mailCapacity(history: readonly MailSend[], senders: readonly string[], now: number, want: number, budgetMs = Infinity): number {
  if (!senders.length) return 0;
  const w = new MailWindows(senders, history);
  let t = now;
  let sent = 0;
  while (sent < want && t - now <= budgetMs) {
    const p = w.pick(t);
    if (p) {
      const n = Math.min(MAIL_BATCH, p.room, want - sent);
      w.record(p.sender, t, n);
      sent += n;
      continue;
    }
    const next = w.nextRoom(t);
    if (next - t > MAIL_MAX_WAIT_MS) break;
    t = next;
  }
  return sent;
}

/**
 * The mail valve: keeps users in decision order while their email notices fit `budget`; a user whose notices do
 * not fit makes no move at all this run (no stage entered, no clock started, nobody told), like the enforcement
 * valve, and the next run decides them again. Users with no email notice always pass. When every user fits, `kept`
 * is `decisions` itself.
 */
export function applyMailBudget(decisions: readonly Decision[], budget: number): { kept: Decision[]; deferred: number; notices: number } {
  let left = budget;
  let notices = 0;
  const r = keepUsers(decisions, (list, from, to) => {
    let need = 0;
    for (let i = from; i < to; i++) if (isEmailNotice(list[i])) need++;
    if (need > left) return false;
    left -= need;
    notices += need;
    return true;
  });
  return { kept: r.kept, deferred: r.deferred, notices };
}

/** A notice this run would send by email. */
export function isEmailNotice(d: Decision): boolean {
  return d.type === 'notify' && d.channel === 'email';
}
