// Email pacing at send time: batches of up to 20 from one sender mailbox, one $batch in flight at a time, each
// sent only when the sender has room in its minute and day windows (src/engine/mail-limits.ts, which cites the
// limits). Waits use the Graph client's injected clock and sleep, so tests and the demo spend no real time.
import { MAIL_BATCH, MAIL_MAX_WAIT_MS, MailWindows, type MailSend } from '../engine/mail-limits';
import { warning } from '../engine/warnings';
import type { LedgerEvent } from '../ledger/events';
import type { ChannelConfig } from '../notify/channels';
import type { Notice, SendContext } from './notifications';

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface MailBatch<T> {
  sender: string;
  items: T[];
  /** When it leaves, on the run's clock (the run's now plus the time spent since). */
  at: Date;
}

/**
 * Hands out the next batch for as long as some sender has room now or within a minute; what is left when
 * the day's limit of every sender is used up stays with the caller (`rest`), to be sent by a later run.
 */
export class MailPacer<T> {
  private readonly windows: MailWindows;
  private readonly queue: T[];
  private readonly startedAt: number;

  /** `until`: the pacer's clock time after which nothing more is handed out (the run's time limit). */
  constructor(senders: readonly string[], history: readonly MailSend[], items: readonly T[], private readonly runNow: Date, private readonly clock: PacerClock, private readonly until = Infinity) {
    this.windows = new MailWindows(senders, history);
    this.queue = [...items];
    this.startedAt = clock.now();
  }

  /** The run's clock: its `now` plus the time the pacer's clock has moved since the pacer was made. */
  private t(): number {
    return this.runNow.getTime() + (this.clock.now() - this.startedAt);
  }

  async next(): Promise<MailBatch<T> | null> {
    while (this.queue.length && this.clock.now() <= this.until) {
      const t = this.t();
      const p = this.windows.pick(t);
      if (p) {
        const items = this.queue.splice(0, Math.min(MAIL_BATCH, p.room));
        this.windows.record(p.sender, t, items.length);
        return { sender: p.sender, items, at: new Date(t) };
      }
      const wait = this.windows.nextRoom(t) - t;
      if (wait > MAIL_MAX_WAIT_MS || this.clock.now() + wait > this.until) return null;
      await this.clock.sleep(wait);
    }
    return null;
  }

  /** Items not handed out (every sender's day is used up). */
  rest(): T[] {
    return this.queue.splice(0);
  }
}

/** The ledger detail of an email left for a later run because every sender's day is used up. */
export const MAIL_DAY_USED_UP = "not sent: the sender mailboxes' daily sending limit (10,000 recipients in 24 hours) or the run's sending time is used up; the next run sends it";

/** The senders of a send: the campaign's list, else its one sender. */
export function sendersOf(cfg: ChannelConfig): string[] {
  return cfg.senders?.length ? [...cfg.senders] : cfg.sender ? [cfg.sender] : [];
}

export function mailPacerFor(ctx: SendContext, notices: readonly Notice[]): MailPacer<Notice> {
  return new MailPacer(sendersOf(ctx.channel), ctx.mailHistory ?? [], notices, ctx.now, { now: () => ctx.graph.now(), sleep: (ms) => ctx.graph.sleep(ms) }, ctx.sendUntil);
}

/** Records notices the pacer could not send as notSent (a later run sends them) and says so once. */
export async function deferUnsent(ctx: SendContext, rest: readonly Notice[], outcome: (n: Notice) => LedgerEvent): Promise<void> {
  if (!rest.length) return;
  await ctx.append(rest.map(outcome));
  ctx.warnings.push(warning('NotificationsDeferred', `${rest.length} email notification${rest.length === 1 ? '' : 's'} not sent this run: the daily sending limit of ${sendersOf(ctx.channel).join(', ')} (10,000 recipients in 24 hours per mailbox) or the run's sending time is used up; the next run sends them.`));
}
