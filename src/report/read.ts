// Reading a ledger for the overview. Notification events (the notice, its dispatch and its outcome) are most
// of a large ledger and the overview needs only how many each run sent, so for the file store they are
// counted from their text instead of parsed; everything else is parsed as the store itself parses it. Any line this fast path
// does not recognise sends the whole read back through store.read(), so errors stay the store's own.
import { promises as fsp } from 'node:fs';
import type { LedgerEvent } from '../ledger/events';
import type { Observation } from '../engine/types';
import { FileStore } from '../ledger/file/store';
import type { LedgerStore } from '../ledger/store';

export const OBSERVATION_SNAPSHOT = 'observation';

export interface ReportLedger {
  /** Every event but the notification ones (notificationSent, notificationDispatch, notificationOutcome), oldest first. */
  events: LedgerEvent[];
  /** notificationSent events per runId ('' for none), counted instead of kept. */
  notificationsByRun: Map<string, number>;
  observation: Observation | null;
  warnings: string[];
}

const NOTIFICATION = Buffer.from('"type":"notification');
const RUN_ID = Buffer.from('"runId":"');
const V1 = Buffer.from('{"v":1,');
const SENT = Buffer.from('Sent"');
const SKIPPED = [Buffer.from('Dispatch"'), Buffer.from('Outcome"')];
const GROUP_ADD = Buffer.from('"type":"groupAdd');
const NL = 0x0a;
const BRACE = 0x7b;
/**
 * Crash-safety bookkeeping (src/reconcile/intents.ts): one per notification, per batch or per group add. The
 * overview reads what happened from notificationSent and addedToGroup instead.
 */
const DELIVERY_TYPES = new Set(['notificationDispatch', 'notificationOutcome', 'groupAddIntent', 'groupAddOutcome']);

/** Whether `what` occurs in `buf` at `pos`; a byte loop, cheaper than a native call for a few bytes. */
function at(buf: Buffer, pos: number, what: Buffer): boolean {
  if (pos + what.length > buf.length) return false;
  for (let i = 0; i < what.length; i++) if (buf[pos + i] !== what[i]) return false;
  return true;
}

/** Whether no '{' sits in buf[from, to): the match at `to` is then a top-level key of the line. */
function topLevel(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] === BRACE) return false;
  return true;
}

function withoutNotifications(all: readonly LedgerEvent[]): { events: LedgerEvent[]; notificationsByRun: Map<string, number> } {
  const events: LedgerEvent[] = [];
  const notificationsByRun = new Map<string, number>();
  for (const e of all) {
    const type: string = e.type;
    if (type === 'notificationSent') {
      const run = ('runId' in e ? e.runId : undefined) ?? '';
      notificationsByRun.set(run, (notificationsByRun.get(run) ?? 0) + 1);
    } else if (!DELIVERY_TYPES.has(type)) events.push(e);
  }
  return { events, notificationsByRun };
}

/**
 * Parses the file store's ledger bytes; null when anything looks unusual (the caller then uses store.read()).
 * Works on the Buffer so the notification lines are never even decoded.
 */
function fastParse(buf: Buffer): { events: LedgerEvent[]; notificationsByRun: Map<string, number> } | null {
  if (buf.length > 0 && buf[buf.length - 1] !== NL) return null; // a partial last line: let the store warn about it
  const events: LedgerEvent[] = [];
  const notificationsByRun = new Map<string, number>();
  // The next occurrence of each pattern, searched once and reused line after line: linear overall.
  let match = buf.indexOf(NOTIFICATION);
  let groupAdd = buf.indexOf(GROUP_ADD);
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(NL, pos);
    if (match !== -1 && match < pos) match = buf.indexOf(NOTIFICATION, pos);
    // Writers put v, at, type and runId first, so a notification's type sits near the start. It must be a
    // top-level key: no '{' between the line's own and it (a quote inside a string value is escaped, so the
    // pattern cannot match inside a message).
    if (match !== -1 && match < nl && match - pos < 200 && at(buf, pos, V1)) {
      if (topLevel(buf, pos + 1, match)) {
        const rest = match + NOTIFICATION.length;
        if (at(buf, rest, SENT)) {
          const r = buf.indexOf(RUN_ID, pos);
          const run = r === -1 || r > nl ? '' : buf.toString('utf8', r + RUN_ID.length, buf.indexOf(0x22, r + RUN_ID.length));
          notificationsByRun.set(run, (notificationsByRun.get(run) ?? 0) + 1);
          pos = nl + 1;
          continue;
        }
        if (SKIPPED.some((x) => at(buf, rest, x))) {
          pos = nl + 1;
          continue;
        }
      }
    }
    if (groupAdd !== -1 && groupAdd < pos) groupAdd = buf.indexOf(GROUP_ADD, pos);
    if (groupAdd !== -1 && groupAdd < nl && groupAdd - pos < 200 && at(buf, pos, V1) && topLevel(buf, pos + 1, groupAdd)) {
      pos = nl + 1;
      continue;
    }
    let e: LedgerEvent;
    try {
      e = JSON.parse(buf.toString('utf8', pos, nl)) as LedgerEvent;
    } catch {
      return null;
    }
    if (typeof e !== 'object' || e === null || e.v !== 1 || typeof e.type !== 'string' || typeof e.at !== 'string') return null;
    events.push(e);
    pos = nl + 1;
  }
  return { events, notificationsByRun };
}

async function readEvents(store: LedgerStore, campaign: string): Promise<Omit<ReportLedger, 'observation'>> {
  if (store instanceof FileStore) {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(store.ledgerFile(campaign));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return { events: [], notificationsByRun: new Map(), warnings: [] };
    }
    const fast = fastParse(bytes);
    if (fast) return { ...fast, warnings: [] };
  }
  const ledger = await store.read(campaign);
  return { ...withoutNotifications(ledger.events as unknown as LedgerEvent[]), warnings: ledger.warnings };
}

/** The ledger (without notification bodies) and the last run's observation. Reads nothing else: no Graph. */
export async function readReportLedger(store: LedgerStore, campaign: string): Promise<ReportLedger> {
  const [ledger, observation] = await Promise.all([readEvents(store, campaign), store.readSnapshot<Observation>(campaign, OBSERVATION_SNAPSHOT)]);
  return { ...ledger, observation };
}
