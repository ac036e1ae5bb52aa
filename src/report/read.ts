// Reading a ledger for the overview: the store's readOverview (the file store scans its own bytes, see
// src/ledger/file/overview.ts) and the last run's observation snapshot. The dashboard also wants each
// user's notices and their delivery for the user detail: readDashboardLedger reads them too (the whole
// ledger, or for a very large file store ledger a scan of its bytes), so `status` text and JSON keep the
// fast path.
import { promises as fsp } from 'node:fs';
import type { DeliverySnapshot } from '../engine/state';
import type { Observation } from '../engine/types';
import type { LedgerEvent } from '../ledger/events';
import { FileStore } from '../ledger/file/store';
import { overviewOf } from '../ledger/overview';
import { SNAPSHOTS, type LedgerOverview, type LedgerStore } from '../ledger/store';
import type { ReportReplay } from './fold';
import { IMPACT_SNAPSHOT } from './impact';
import { readReportFold, reducedObservationFor, type WhileReading } from './report-checkpoint';
import type { Campaign } from '../campaign/types';
import type { NoticeEvent } from './timeline';

export const OBSERVATION_SNAPSHOT = SNAPSHOTS.observation;

export interface ReportLedger extends LedgerOverview {
  observation: Observation | null;
  /** Per-user notice outcomes as of the last run (the overview leaves notification lines out). */
  delivery: DeliverySnapshot | null;
  /** The last recorded impact report (`campaign impact --record`), unchecked: buildReport checks it. null when none. */
  impact: unknown;
}

/** The ledger (without notification bodies), the last run's observation and delivery, the recorded impact report. Reads nothing else: no Graph. */
export async function readReportLedger(store: LedgerStore, campaign: string): Promise<ReportLedger> {
  const [ledger, observation, delivery, impact] = await Promise.all([
    store.readOverview(campaign),
    store.readSnapshot<Observation>(campaign, OBSERVATION_SNAPSHOT),
    store.readSnapshot<DeliverySnapshot>(campaign, SNAPSHOTS.delivery),
    store.readSnapshot<unknown>(campaign, IMPACT_SNAPSHOT),
  ]);
  return { ...ledger, observation, delivery, impact };
}

export interface FoldedReportLedger {
  /** The ledger folded for the report (buildReport's `replay`). */
  replay: ReportReplay;
  /** Whether the report checkpoint was used (else the ledger was read whole). */
  fromCheckpoint: boolean;
  /** Whether the observation is the one saved with the checkpoint, reduced for status (else the snapshot). */
  reducedObservation: boolean;
  observation: Observation | null;
  delivery: DeliverySnapshot | null;
  impact: unknown;
  /** Recoverable oddities of the read (a partial trailing line, a report checkpoint left aside). */
  warnings: string[];
}

/**
 * What readReportLedger reads, with the ledger already folded: from the report checkpoint a reconcile run left and
 * the events written since, when the ledger still starts with the bytes the checkpoint summarises, else from the
 * whole ledger; with `campaign`, the observation saved with the checkpoint when it may stand for the snapshot. The
 * same report either way. With `campaign` and `build`, `built` is what build gives of the answer (the report), made
 * while the ledger is checked when that can be done (see readReportFold): absent when it was not.
 */
export async function readFoldedReportLedger<T = never>(store: LedgerStore, name: string, campaign?: Campaign, build?: (ledger: FoldedReportLedger) => T): Promise<FoldedReportLedger & { built?: T }> {
  const snapshots = Promise.all([store.readSnapshot<DeliverySnapshot>(name, SNAPSHOTS.delivery), store.readSnapshot<unknown>(name, IMPACT_SNAPSHOT)]);
  // With `build`: when the ledger seems to end at the checkpoint's mark, built from the checkpoint while another
  // thread checks the ledger still starts with what it summarises; kept only if that read finds nothing after it.
  let built: { value: T } | null = null;
  const whileReading: WhileReading | undefined = campaign && build ? {
    early: async (early) => {
      const reduced = await reducedObservationFor(store, name, campaign, early);
      if (reduced === null) return;
      const [delivery, impact] = await snapshots;
      try {
        built = { value: build({ replay: early.fold.result(), fromCheckpoint: true, reducedObservation: true, observation: reduced, delivery, impact, warnings: early.warnings }) };
      } catch {
        // Built again below, where its failure is reported.
        built = null;
      }
    },
    // Not held while the ledger is read whole.
    dropped: () => (built = null),
  } : undefined;
  const [read, [delivery, impact]] = await Promise.all([readReportFold(store, name, campaign, whileReading), snapshots]);
  // The observation reduced for status when it is the last run's, else the snapshot.
  const reduced = campaign ? await reducedObservationFor(store, name, campaign, read) : null;
  const observation = reduced ?? (await store.readSnapshot<Observation>(name, OBSERVATION_SNAPSHOT));
  const ledger: FoldedReportLedger = { replay: read.fold.result(), fromCheckpoint: read.fromCheckpoint, reducedObservation: reduced !== null, observation, delivery, impact, warnings: read.warnings };
  const early = built as { value: T } | null;
  return read.early && early !== null ? { ...ledger, built: early.value } : ledger;
}

export interface DashboardLedger extends ReportLedger {
  /** Events for the user timelines, oldest first: the overview's, or every event when `notices` is null. */
  timelineEvents: LedgerEvent[];
  /** Notices, their outcomes and group-add outcomes, oldest first, when read apart from `timelineEvents`. */
  notices: NoticeEvent[] | null;
}

const NOTIFICATION_TYPE = Buffer.from('"type":"notification');
const GROUP_ADD_TYPE = Buffer.from('"type":"groupAddOutcome"');
const SENT = Buffer.from('Sent"');
const OUTCOME = Buffer.from('Outcome"');
const ADDED = Buffer.from('"outcome":"added"');
const NL = 0x0a;
const BRACE = 0x7b;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Writers put the type within the first few keys (the key-order contract of src/ledger/codec.ts). */
const TYPE_WITHIN = 200;
const FIELD = {
  at: Buffer.from('"at":"'), userId: Buffer.from('"userId":"'), key: Buffer.from('"key":"'), kind: Buffer.from('"kind":"'),
  outcome: Buffer.from('"outcome":"'), sequence: Buffer.from('"sequence":'),
};

function startsWith(buf: Buffer, pos: number, what: Buffer): boolean {
  if (pos + what.length > buf.length) return false;
  for (let i = 0; i < what.length; i++) if (buf[pos + i] !== what[i]) return false;
  return true;
}

/** Just after `key` in buf[from, to), or -1; a byte loop (cheaper than a native call on a short line). */
function after(buf: Buffer, from: number, to: number, key: Buffer): number {
  for (let i = from, last = to - key.length; i <= last; i++) {
    if (buf[i] === QUOTE && startsWith(buf, i, key)) return i + key.length;
  }
  return -1;
}

/** The string value after `key` (no escapes in it), or null. */
function str(buf: Buffer, from: number, to: number, key: Buffer): string | null {
  const v = after(buf, from, to, key);
  if (v === -1) return null;
  for (let i = v; i < to; i++) {
    if (buf[i] === QUOTE) return buf.toString('utf8', v, i);
    if (buf[i] === BACKSLASH) return null;
  }
  return null;
}

/**
 * A notice or its outcome from the bytes of its line, without decoding the line: only the fields the
 * timelines use, found at the top level (before any nested value). null when one is missing or escaped:
 * the caller decodes the line instead.
 */
function quickNotice(buf: Buffer, start: number, end: number, sent: boolean): NoticeEvent | null {
  let to = start + 1;
  while (to < end && buf[to] !== BRACE) to++;
  const at = str(buf, start, to, FIELD.at), key = str(buf, start, to, FIELD.key);
  if (at === null || key === null) return null;
  if (!sent) {
    const outcome = str(buf, start, to, FIELD.outcome);
    return outcome === null ? null : { type: 'notificationOutcome', at, key, outcome };
  }
  const userId = str(buf, start, to, FIELD.userId), kind = str(buf, start, to, FIELD.kind);
  const sq = after(buf, start, to, FIELD.sequence);
  if (userId === null || kind === null || sq === -1) return null;
  let sequence = 0, i = sq;
  for (; i < to && buf[i] >= 0x30 && buf[i] <= 0x39; i++) sequence = sequence * 10 + (buf[i] - 0x30);
  if (i === sq) return null;
  return { type: 'notificationSent', at, userId, key, kind, sequence };
}

/**
 * The notices, their outcomes and the group adds that did not work in a file store's ledger (the overview
 * leaves them out), from its bytes: no string of the whole ledger is made (a large campaign's would not fit
 * in one), and most lines are read without decoding them. A line that does not decode is left to the
 * overview read, which reports it.
 */
async function fileNotices(store: FileStore, campaign: string): Promise<NoticeEvent[]> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(store.ledgerFile(campaign));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: NoticeEvent[] = [];
  // The next line of either kind, each pattern searched once and reused: linear overall.
  let notice = buf.indexOf(NOTIFICATION_TYPE);
  let group = buf.indexOf(GROUP_ADD_TYPE);
  while (notice !== -1 || group !== -1) {
    const isNotice = notice !== -1 && (group === -1 || notice < group);
    const match = isNotice ? notice : group;
    const start = buf.lastIndexOf(NL, match) + 1;
    const end = buf.indexOf(NL, match);
    if (end === -1) break; // a partial last line
    let e: NoticeEvent | null = null;
    let decode = true;
    if (match - start < TYPE_WITHIN && buf.lastIndexOf(BRACE, match) === start) {
      const rest = match + NOTIFICATION_TYPE.length;
      if (!isNotice) decode = after(buf, match, end, ADDED) === -1; // a group add that worked: the overview has its addedToGroup
      else if (startsWith(buf, rest, SENT) || startsWith(buf, rest, OUTCOME)) e = quickNotice(buf, start, end, startsWith(buf, rest, SENT));
      else decode = false; // notificationDispatch: a batch, nothing per user
    }
    if (e === null && decode) {
      try {
        const x = JSON.parse(buf.toString('utf8', start, end)) as LedgerEvent;
        if (x.type === 'notificationSent' || x.type === 'notificationOutcome' || x.type === 'groupAddOutcome') e = x;
      } catch {
        // not an event line: the overview read says so
      }
    }
    if (e) out.push(e);
    if (notice !== -1 && notice < end) notice = buf.indexOf(NOTIFICATION_TYPE, end);
    if (group !== -1 && group < end) group = buf.indexOf(GROUP_ADD_TYPE, end);
  }
  return out;
}

export interface DashboardReadOptions {
  /**
   * A file store's ledger up to this size is read whole (the fastest way); a larger one is scanned for its
   * notices instead, since its text would not fit in one string (V8's limit is about 512 MiB). Default 448 MiB.
   */
  wholeReadBelowBytes?: number;
}

/** As readReportLedger, plus each user's notices and their outcomes for the dashboard's user timelines. */
export async function readDashboardLedger(store: LedgerStore, campaign: string, opts: DashboardReadOptions = {}): Promise<DashboardLedger> {
  if (store instanceof FileStore && (await ledgerBytes(store, campaign)) >= (opts.wholeReadBelowBytes ?? 448 * 1024 * 1024)) {
    // One after the other: each holds the ledger's bytes while it scans them.
    const report = await readReportLedger(store, campaign);
    const notices = await fileNotices(store, campaign);
    return { ...report, timelineEvents: report.events, notices };
  }
  const [read, observation, delivery, impact] = await Promise.all([
    store.read(campaign),
    store.readSnapshot<Observation>(campaign, OBSERVATION_SNAPSHOT),
    store.readSnapshot<DeliverySnapshot>(campaign, SNAPSHOTS.delivery),
    store.readSnapshot<unknown>(campaign, IMPACT_SNAPSHOT),
  ]);
  return { ...overviewOf(read), observation, delivery, impact, timelineEvents: read.events, notices: null };
}

async function ledgerBytes(store: FileStore, campaign: string): Promise<number> {
  try {
    return (await fsp.stat(store.ledgerFile(campaign))).size;
  } catch {
    return 0;
  }
}
