// Outlook and Exchange Online limits on mail, always on (as in Exchange), on the emulator's injected clock.
//
// Concurrency — concepts/throttling-limits.md, "Outlook service limits": Outlook executes up to 4 concurrent
// requests per app ID (so at most 4 per app per mailbox), and a JSON batch runs at most 4 of its Outlook
// requests in parallel ("Outlook service limits for JSON batching"; with dependsOn, one at a time). A request
// beyond that answers 429 with Retry-After (concepts/throttling.md); the code and message are the ones Outlook
// sends (ApplicationThrottled, "…MailboxConcurrency limit").
//
// Sending — Exchange Online limits per sender mailbox: 30 messages a minute and 10,000 recipients a day
// (Exchange Online service description, "Sending limits"; Exchange troubleshooting article "Message storage and
// concurrent connection throttling for SMTP Authenticated Submission", which names the daily error
// "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"). Graph's user-sendmail.md names no
// status for either. Chosen conservatively: both answer 429 ErrorSubmissionQuotaExceeded with Retry-After (the
// wait until the window has room), so a caller never mistakes them for delivered; Exchange delays the excess
// of a minute instead of refusing it, and a refusal is what makes a job that exceeds the limit visible.
import { GraphHttpError } from './odata';

export const OUTLOOK_CONCURRENCY = 4;
export const MESSAGES_PER_MINUTE = 30;
export const RECIPIENTS_PER_DAY = 10_000;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Outlook (mail) paths of the routes the emulator serves: /users/{id}/sendMail, …/messages, …/mailFolders. */
const OUTLOOK_PATH = /^\/*(?:(?:v1\.0|beta)\/)?users\/[^/?]+\/(?:sendMail|messages|mailFolders)(?:[/?]|$)/i;

export function isOutlookPath(path: string): boolean {
  return OUTLOOK_PATH.test(path);
}

/**
 * How many Outlook requests a top-level request runs at once: 1 for a direct one; for a $batch, up to 4 of its
 * Outlook requests, or 1 when they are chained with dependsOn.
 */
export function outlookClaims(path: string, body: unknown): number {
  if (isOutlookPath(path)) return 1;
  if (!/\/\$batch$/.test(path)) return 0;
  const requests = (body as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests)) return 0;
  const outlook = requests.filter((r): r is { url: string; dependsOn?: unknown } => typeof (r as { url?: unknown })?.url === 'string' && isOutlookPath((r as { url: string }).url));
  if (!outlook.length) return 0;
  const chained = outlook.slice(1).every((r) => Array.isArray(r.dependsOn) && r.dependsOn.length > 0);
  return chained ? 1 : Math.min(OUTLOOK_CONCURRENCY, outlook.length);
}

/** Outlook requests in flight for the app (the emulator serves one). */
export class OutlookConcurrency {
  private inFlight = 0;

  /** Admits `claims` concurrent requests, or refuses them all (false) when that would exceed 4. */
  enter(claims: number): boolean {
    if (claims === 0) return true;
    if (this.inFlight + claims > OUTLOOK_CONCURRENCY) return false;
    this.inFlight += claims;
    return true;
  }

  leave(claims: number): void {
    this.inFlight = Math.max(0, this.inFlight - claims);
  }
}

export function concurrencyRefusal(): GraphHttpError {
  return new GraphHttpError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'Retry-After': '1' });
}

/** What each sender mailbox sent, for the minute and day windows. */
export class SendingLimits {
  private readonly sent = new Map<string, Array<{ t: number; recipients: number }>>();

  /** Throws the refusal when one more message to `recipients` from `mailbox` at `now` exceeds a limit; else records it. */
  admit(mailbox: string, recipients: number, now: number): void {
    const key = mailbox.toLowerCase();
    const list = (this.sent.get(key) ?? []).filter((x) => x.t > now - DAY_MS);
    this.sent.set(key, list);
    const minute = list.filter((x) => x.t > now - MINUTE_MS);
    if (minute.length >= MESSAGES_PER_MINUTE) {
      const wait = Math.ceil((minute[minute.length - MESSAGES_PER_MINUTE]!.t + MINUTE_MS - now) / 1000);
      throw new GraphHttpError(429, 'ErrorSubmissionQuotaExceeded', `The sender mailbox has sent ${MESSAGES_PER_MINUTE} messages in the last minute, the Exchange Online limit.`, { 'Retry-After': String(Math.max(1, wait)) });
    }
    const today = list.reduce((n, x) => n + x.recipients, 0);
    if (today + recipients > RECIPIENTS_PER_DAY) {
      let freed = 0;
      let wait = DAY_MS;
      for (const x of list) {
        freed += x.recipients;
        if (today - freed + recipients <= RECIPIENTS_PER_DAY) {
          wait = x.t + DAY_MS - now;
          break;
        }
      }
      throw new GraphHttpError(429, 'ErrorSubmissionQuotaExceeded', `554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; the sender mailbox has reached ${RECIPIENTS_PER_DAY} recipients in 24 hours, the Exchange Online limit.`, { 'Retry-After': String(Math.max(1, Math.ceil(wait / 1000))) });
    }
    list.push({ t: now, recipients });
  }
}

const limitsByTenant = new WeakMap<object, SendingLimits>();

/** The sending limits of one emulated tenant (kept beside it, so a restarted emulator starts afresh). */
export function sendingLimitsOf(tenant: object): SendingLimits {
  let l = limitsByTenant.get(tenant);
  if (!l) limitsByTenant.set(tenant, (l = new SendingLimits()));
  return l;
}
