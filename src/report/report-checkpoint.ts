// The report checkpoint: the report's fold of the ledger (fold.ts) saved at a ledger mark by a successful reconcile
// run, so `campaign status` reads this checkpoint and the events written after the mark instead of every event of a
// long campaign. Like the run's checkpoint (src/reconcile/checkpoint.ts) it is derived data in snapshots: a header
// `report-checkpoint` and the users in `report-checkpoint-users-<n>` pieces, each carrying the header's id. It is
// used only when the ledger still starts with the bytes its mark hashes; anything else is a full read.
//
// The users are stored compactly, by column: each field of each user an index into a table of distinct values (most users
// share their stage's start, their alerts, their empty notice history…). Restored users share those values until an
// event after the mark changes them (ReportFold copies a user before it does).
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { FileStore } from '../ledger/file/store';
import type { CampaignState, UserState } from '../engine/state';
import { LEDGER_VERSION } from '../ledger/events';
import type { LedgerEvent } from '../ledger/events';
import type { LedgerMark, LedgerStore, LedgerTail } from '../ledger/store';
import type { Stage } from '../engine/types';
import type { Campaign } from '../campaign/types';
import type { Observation } from '../engine/types';
import { ReportFold, type ChangesFold, type OnboardingUserFold } from './fold';
import { startTailRead } from './tail-thread';
import { parseCells, readReducedObservation, writeReducedObservation, type ReducedObservationHeader } from './report-observation';
import type { DayCounts } from './model';
import { heapMark } from '../contracts/heap-trace';

export const REPORT_CHECKPOINT_SNAPSHOT = 'report-checkpoint';
export const REPORT_CHECKPOINT_FORMAT = 'campaign-report-checkpoint';
export const REPORT_CHECKPOINT_VERSION = 1;
/** Users per piece: a few tens of megabytes of JSON each. */
export const REPORT_USERS_PER_PIECE = 200_000;

export const reportPieceName = (n: number) => `${REPORT_CHECKPOINT_SNAPSHOT}-users-${n}`;

/** The fold without its users (they are in the pieces). */
interface FoldHeader {
  state: Omit<CampaignState, 'users'>;
  totals: Record<Stage, number>;
  days: Array<[number, DayCounts]>;
  notificationsByRun: Array<[string, number]>;
  changes: ChangesFold;
  onboarding: { folds: Array<[string, OnboardingUserFold]>; issued: number; expired: number };
  positionEvents: ReportFold['positionEvents'];
  overviewEvents: number;
  /** stageOf and exceeded entries of ids that are not in state.users (the others are columns of the user rows). */
  stageOf: Array<[string, Stage]>;
  exceeded: Array<[string, string]>;
}

export interface ReportCheckpointHeader {
  format: typeof REPORT_CHECKPOINT_FORMAT;
  v: typeof REPORT_CHECKPOINT_VERSION;
  /** Random; every piece repeats it, so pieces of two writes are never mixed. */
  id: string;
  /** Where in the ledger the checkpoint ends. */
  ledger: LedgerMark;
  fold: FoldHeader;
  /** The fields of a user row after its key, in order: UserState's fields, then the fold's stage and deadline exceeded. */
  fields: string[];
  /**
   * The distinct field values, as JSON text; a row's cell is an index into this list, -1 for a field the user lacks,
   * -2 for a userId equal to the row's key.
   */
  values: string[];
  users: number;
  pieces: number;
  /** The last run's observation reduced for status (report-observation.ts); null when the run gave none. */
  observation: ReducedObservationHeader | null;
}

/** What a run observed, for the reduced observation saved with the checkpoint. */
export interface Observed {
  campaign: Campaign;
  /**
   * updateReportCheckpoint writes it reduced first, then sets this to null, before it folds the ledger: a holder of
   * this object lets go of the full observation then (at a large tenant the fold needs that memory).
   */
  observation: Observation | null;
}

/**
 * A piece of users, by column: the keys in state.users, the principal names, and per field (the header's `fields`)
 * one cell per user. A column of strings is one text joined by newlines when none holds one (one JSON string parses
 * much faster than a million), else an array; a column of cells is the cells joined by commas.
 */
export interface ReportCheckpointPiece {
  id: string;
  piece: number;
  users: number;
  keys: string | string[];
  upns: string | string[];
  cells: string[];
}

const NL = '\n';
const joinStrings = (list: string[]): string | string[] => (list.some((x) => x.includes(NL)) ? list : list.join(NL));
const splitStrings = (x: string | string[], n: number): string[] | null => {
  const list = typeof x === 'string' ? (n === 0 ? [] : x.split(NL)) : x;
  return Array.isArray(list) && list.length === n ? list : null;
};

const STAGE_OF = '@stageOf';
const EXCEEDED = '@exceeded';
const UPN = 'userPrincipalName';
/** The cell of a userId equal to the user's key (nearly always): ids are not put in the table of values. */
const SAME_AS_KEY = -2;
/** Objects remembered by identity while writing (a fold built from events has a few per user, none shared). */
const MAX_BY_VALUE = 100_000;

/**
 * Writes the checkpoint of `fold`, the report's fold of the ledger up to `end`. The pieces first, the header last:
 * a reader sees the old header or the new one, and the ids tell it whether the pieces belong to it.
 */
export async function writeReportCheckpoint(store: LedgerStore, campaign: string, end: LedgerMark, fold: ReportFold, observed?: Observed): Promise<void> {
  const id = randomBytes(12).toString('hex');
  const observation = observed?.observation ? await writeReducedObservation(store, campaign, id, observed.campaign, observed.observation) : null;
  await writeFold(store, campaign, end, fold, id, observation);
}

/** The report checkpoint's pieces and header; the reduced observation (under the same id) is written before. */
async function writeFold(store: LedgerStore, campaign: string, end: LedgerMark, fold: ReportFold, id: string, observation: ReducedObservationHeader | null): Promise<void> {
  const users = fold.state.users;
  const keys = Object.keys(users);
  const fields: string[] = [];
  const seen = new Set<string>();
  for (const k of keys) {
    for (const f in users[k]) {
      if (f === UPN || seen.has(f)) continue;
      seen.add(f);
      fields.push(f);
    }
  }
  fields.push(STAGE_OF, EXCEEDED);
  const values: string[] = [];
  const byText = new Map<string, number>();
  // Restored users share their values: most cells are found by identity, without making their text.
  const byValue = new Map<unknown, number>();
  const cell = (v: unknown): number => {
    if (v === undefined) return -1;
    let i = byValue.get(v);
    if (i !== undefined) return i;
    const text = JSON.stringify(v);
    i = byText.get(text);
    if (i === undefined) {
      byText.set(text, (i = values.length));
      values.push(text);
    }
    if (v === null || typeof v !== 'object' || byValue.size < MAX_BY_VALUE) byValue.set(v, i);
    return i;
  };
  const pieces = Math.ceil(keys.length / REPORT_USERS_PER_PIECE);
  for (let p = 0; p < pieces; p++) {
    const from = p * REPORT_USERS_PER_PIECE;
    const to = Math.min(keys.length, from + REPORT_USERS_PER_PIECE);
    const upns: string[] = [];
    const columns: number[][] = fields.map(() => []);
    for (let j = from; j < to; j++) {
      const key = keys[j];
      const u = users[key] as unknown as Record<string, unknown>;
      upns.push(u[UPN] as string);
      for (let f = 0; f < fields.length; f++) {
        const name = fields[f];
        let c: number;
        if (name === STAGE_OF) c = cell(fold.stageOf.get(key));
        else if (name === EXCEEDED) c = cell(fold.exceeded.get(key));
        else if (name === 'userId' && u[name] === key) c = SAME_AS_KEY;
        else c = cell(u[name]);
        columns[f].push(c);
      }
    }
    const piece: ReportCheckpointPiece = { id, piece: p, users: to - from, keys: joinStrings(keys.slice(from, to)), upns: joinStrings(upns), cells: columns.map((c) => c.join(',')) };
    await store.writeSnapshot(campaign, reportPieceName(p), piece);
  }
  const { users: _users, ...state } = fold.state;
  const header: ReportCheckpointHeader = {
    format: REPORT_CHECKPOINT_FORMAT, v: REPORT_CHECKPOINT_VERSION, id, ledger: end,
    fold: {
      state, totals: fold.totals, days: [...fold.days], notificationsByRun: [...fold.notificationsByRun], changes: fold.changes,
      onboarding: { folds: [...fold.onboarding.folds], issued: fold.onboarding.issued, expired: fold.onboarding.expired },
      positionEvents: fold.positionEvents, overviewEvents: fold.overviewEvents,
      stageOf: notIn(fold.stageOf, users),
      exceeded: notIn(fold.exceeded, users),
    },
    fields, values, users: keys.length, pieces, observation,
  };
  await store.writeSnapshot(campaign, REPORT_CHECKPOINT_SNAPSHOT, header);
}

/** The entries of `map` whose key is not one of `users` (a loop: a million-entry map spread would be a million pairs). */
function notIn<V>(map: ReadonlyMap<string, V>, users: Record<string, unknown>): Array<[string, V]> {
  const out: Array<[string, V]> = [];
  for (const [k, v] of map) if (!(k in users)) out.push([k, v]);
  return out;
}

/** UserState's fields in the order a fold creates them (src/engine/state.ts newUser), but the principal name. */
const USER_FIELDS = ['userId', 'stage', 'stageSince', 'firstEnteredAt', 'left', 'notifications', 'stageNotified', 'stageLastNotifiedAt', 'postponements', 'postponedUntil', 'extensionDays', 'exceededGrace', 'enforcedAt', 'addedToGroupAt', 'alerts', 'delivery'];

/**
 * For the usual fields (USER_FIELDS, then onboarding when some user has it): each user made as one object literal,
 * much faster than a property at a time. The user at `j`, or null when one of its cells is not the usual (the caller
 * then restores it field by field).
 */
function fastRestore(fields: string[], columns: Int32Array[], values: unknown[]) {
  const usual = fields.filter((f) => f !== STAGE_OF && f !== EXCEEDED);
  const onboarding = usual.length === USER_FIELDS.length + 1 && usual[USER_FIELDS.length] === 'onboarding';
  if (!USER_FIELDS.every((f, i) => usual[i] === f) || (usual.length !== USER_FIELDS.length && !onboarding)) return null;
  const col = (name: string) => columns[fields.indexOf(name)];
  const [id, stage, stageSince, firstEnteredAt, left, notifications, stageNotified, stageLastNotifiedAt, postponements, postponedUntil, extensionDays, exceededGrace, enforcedAt, addedToGroupAt, alerts, delivery] = USER_FIELDS.map(col);
  const pass = onboarding ? col('onboarding') : null;
  return (j: number, key: string, upn: string): UserState | null => {
    if (id[j] !== SAME_AS_KEY) return null;
    // Any cell negative (a field the user lacks) sets the sign bit of them all or'ed.
    if ((stage[j] | stageSince[j] | firstEnteredAt[j] | left[j] | notifications[j] | stageNotified[j] | stageLastNotifiedAt[j] | postponements[j] | postponedUntil[j]
      | extensionDays[j] | exceededGrace[j] | enforcedAt[j] | addedToGroupAt[j] | alerts[j] | delivery[j]) < 0) return null;
    const v = (c: number) => values[c] as never;
    const u: UserState = {
      userId: key, userPrincipalName: upn, stage: v(stage[j]), stageSince: v(stageSince[j]), firstEnteredAt: v(firstEnteredAt[j]), left: v(left[j]),
      notifications: v(notifications[j]), stageNotified: v(stageNotified[j]), stageLastNotifiedAt: v(stageLastNotifiedAt[j]), postponements: v(postponements[j]),
      postponedUntil: v(postponedUntil[j]), extensionDays: v(extensionDays[j]), exceededGrace: v(exceededGrace[j]), enforcedAt: v(enforcedAt[j]),
      addedToGroupAt: v(addedToGroupAt[j]), alerts: v(alerts[j]), delivery: v(delivery[j]),
    };
    if (pass && pass[j] !== -1) u.onboarding = v(pass[j]);
    return u;
  };
}

/**
 * The last observation reduced for status, when the checkpoint `read` used holds it, no run started since, and
 * the campaign's device rules are the ones it was reduced with; else null (read the full snapshot).
 */
export async function reducedObservationFor(store: LedgerStore, name: string, campaign: Campaign, read: ReportRead): Promise<Observation | null> {
  const cp = read.checkpoint;
  if (!cp || cp.runSince || !reducedFits(cp.header, campaign)) return null;
  if (read.reducedObservation !== undefined && read.reducedObservation.id === cp.header.id) return read.reducedObservation.observation;
  return readReducedObservation(store, name, cp.header.id, cp.header.observation!);
}

/** Whether the checkpoint `h` holds a reduced observation made with the campaign's device rules. */
const reducedFits = (h: ReportCheckpointHeader, campaign: Campaign): boolean => !!h.observation && h.observation.devices === JSON.stringify(campaign.spec.devices);

/** A restored fold, or why the checkpoint cannot be used (the end of a sentence); null when there is none. */
export type Restored = { fold: ReportFold; header: ReportCheckpointHeader } | { problem: string } | null;

/** The report checkpoint restored as a fold, without reading the ledger; null when none was written. */
export async function readReportCheckpoint(store: LedgerStore, campaign: string): Promise<Restored> {
  const h = await readReportCheckpointHeader(store, campaign);
  return h === null || 'problem' in h ? h : restoreReportCheckpoint(store, campaign, h.header);
}

/** The report checkpoint's header, checked; null when none was written. */
export async function readReportCheckpointHeader(store: LedgerStore, campaign: string): Promise<{ header: ReportCheckpointHeader } | { problem: string } | null> {
  let h: ReportCheckpointHeader | null;
  try {
    h = await store.readSnapshot<ReportCheckpointHeader>(campaign, REPORT_CHECKPOINT_SNAPSHOT);
  } catch (e) {
    return { problem: `could not be read (${e instanceof Error ? e.message : String(e)})` };
  }
  if (h === null) return null;
  const ok = typeof h === 'object' && h.format === REPORT_CHECKPOINT_FORMAT && h.v === REPORT_CHECKPOINT_VERSION && h.fold?.state?.v === LEDGER_VERSION
    && typeof h.id === 'string' && Number.isInteger(h.pieces) && Number.isInteger(h.users) && Array.isArray(h.fields) && Array.isArray(h.values)
    && !!h.ledger && Number.isInteger(h.ledger.bytes) && Number.isInteger(h.ledger.events) && typeof h.ledger.sha256 === 'string';
  if (!ok) return { problem: 'is of another format or version' };
  return { header: h };
}

/** The fold a checked header (readReportCheckpointHeader) and its pieces hold. */
export async function restoreReportCheckpoint(store: LedgerStore, campaign: string, h: ReportCheckpointHeader): Promise<Restored> {
  const values = h.values.map((t) => JSON.parse(t) as unknown);
  const fields = h.fields;
  const stageOfAt = fields.indexOf(STAGE_OF), exceededAt = fields.indexOf(EXCEEDED);
  if (stageOfAt === -1 || exceededAt === -1) return { problem: 'is of another format or version' };
  // The users as lists in the record's order: ReportFold.restoreState makes the record keyed by id only if asked.
  const keyList: string[] = [];
  const users: UserState[] = [];
  const fold = new ReportFold();
  let n = 0;
  // One piece at a time: each is tens of megabytes of text.
  for (let p = 0; p < h.pieces; p++) {
    let piece: ReportCheckpointPiece | null;
    try {
      piece = await store.readSnapshot<ReportCheckpointPiece>(campaign, reportPieceName(p));
    } catch {
      piece = null;
    }
    const incomplete = { problem: 'is incomplete (a piece is missing or from another write)' };
    if (!piece || piece.id !== h.id || piece.piece !== p || !Number.isInteger(piece.users) || !Array.isArray(piece.cells) || piece.cells.length !== fields.length) return incomplete;
    const count = piece.users;
    const keys = splitStrings(piece.keys, count);
    const upns = splitStrings(piece.upns, count);
    const columns: Int32Array[] = [];
    for (const c of piece.cells) {
      const col = typeof c === 'string' ? parseCells(c, count) : null;
      if (!col) return incomplete;
      columns.push(col);
    }
    if (!keys || !upns) return incomplete;
    const fast = fastRestore(fields, columns, values);
    // The stages are read only by events after the mark that move a user: added to the fold when first needed.
    const stageColumn = columns[stageOfAt];
    fold.deferStages((into) => {
      for (let j = 0; j < count; j++) if (stageColumn[j] !== -1) into.set(keys[j], values[stageColumn[j]] as Stage);
    });
    for (let j = 0; j < count; j++) {
      const key = keys[j];
      const ex = columns[exceededAt][j];
      if (ex !== -1) fold.exceeded.set(key, values[ex] as string);
      keyList.push(key);
      const quick = fast?.(j, key, upns[j]);
      if (quick) {
        users.push(quick);
        continue;
      }
      const u: Record<string, unknown> = {};
      for (let f = 0; f < fields.length; f++) {
        const c = columns[f][j];
        const name = fields[f];
        if (name === STAGE_OF || name === EXCEEDED || c === -1) continue;
        u[name] = c === SAME_AS_KEY ? key : values[c];
        // The principal name right after the id, where a fold puts it.
        if (name === 'userId') u[UPN] = upns[j];
      }
      if (!(UPN in u)) u[UPN] = upns[j];
      users.push(u as unknown as UserState);
    }
    n += count;
  }
  if (n !== h.users) return { problem: 'is incomplete (a piece is missing or from another write)' };
  const f = h.fold;
  fold.restoreState(f.state, keyList, users);
  fold.copied = new Set();
  fold.totals = f.totals;
  fold.days = new Map(f.days);
  fold.notificationsByRun = new Map(f.notificationsByRun);
  fold.changes = f.changes;
  fold.onboarding = { folds: new Map(f.onboarding.folds), issued: f.onboarding.issued, expired: f.onboarding.expired };
  fold.positionEvents = f.positionEvents;
  fold.overviewEvents = f.overviewEvents;
  const others = f.stageOf;
  fold.deferStages((into) => {
    for (const [k, v] of others) into.set(k, v);
  });
  for (const [k, v] of f.exceeded) fold.exceeded.set(k, v);
  return { fold, header: h };
}

export interface ReportRead {
  fold: ReportFold;
  /** Whether the checkpoint was used. */
  fromCheckpoint: boolean;
  /** The checkpoint used, and whether a run started after its mark (its observation is then not the last one). */
  checkpoint: { header: ReportCheckpointHeader; runSince: boolean } | null;
  /** Ledger events decoded after the checkpoint's mark (0 without a checkpoint: the overview read scans the ledger instead). */
  decoded: number;
  warnings: string[];
  /**
   * The reduced observation of the checkpoint of this `id`, read while the ledger after its mark was (readReportFold
   * with a campaign); reducedObservationFor decides whether it may be used. Absent when not read.
   */
  reducedObservation?: { id: string; observation: Observation | null };
}

/** The fold of a whole ledger from the store's overview read (its fastest read of every event). */
async function foldOverview(store: LedgerStore, campaign: string): Promise<{ fold: ReportFold; warnings: string[] }> {
  const overview = await store.readOverview(campaign);
  const fold = new ReportFold();
  for (const e of overview.events) fold.add(e);
  for (const [k, v] of overview.notificationsByRun) fold.notificationsByRun.set(k, (fold.notificationsByRun.get(k) ?? 0) + v);
  return { fold, warnings: overview.warnings };
}

/**
 * The checkpoint and the events after it, or why the checkpoint could not be used (null: there is none). With
 * `offThread` (status) a file store's ledger after the mark is read on another core while the pieces are restored,
 * and its events are held until then; without (a run updating the checkpoint) they are folded a piece at a time.
 */
/**
 * What fromCheckpoint may do while the ledger after the mark is still being read, when nothing seems written after
 * it (the file ends at the mark): given the restored read as it will be if the ledger read finds no event after the
 * mark. Its work is kept only if so (see readReportFold).
 */
export interface WhileReading {
  /** The read as it is if no event follows the mark. */
  early(read: ReportRead): Promise<void>;
  /** What early() made does not hold (the ledger does not match, or has events after the mark): let it go. */
  dropped(): void;
}

/** Whether the ledger seems to end at `mark` (a file store's file of that size); false when it cannot tell. */
async function endsAtMark(store: LedgerStore, campaign: string, mark: LedgerMark): Promise<boolean> {
  if (!(store instanceof FileStore)) return false;
  try {
    return (await fsp.stat(store.ledgerFile(campaign))).size === mark.bytes;
  } catch {
    return false;
  }
}

async function fromCheckpoint(store: LedgerStore, campaign: string, offThread = false, observedFor?: Campaign, whileReading?: WhileReading): Promise<{ read: ReportRead; end: LedgerMark; early: boolean } | { problem: string } | null> {
  if (!store.readAfter) return null;
  const checked = await readReportCheckpointHeader(store, campaign);
  if (!checked || 'problem' in checked) return checked;
  const tailRead = offThread ? startTailRead(store, campaign, checked.header.ledger) : null;
  let restored: Restored;
  try {
    restored = await restoreReportCheckpoint(store, campaign, checked.header);
  } catch (e) {
    tailRead?.cancel();
    throw e;
  }
  if (!restored || !('fold' in restored)) {
    tailRead?.cancel();
    return restored;
  }
  const { fold, header } = restored;
  // While another thread reads the ledger, the reduced observation too: used only if the tail shows no run since.
  let reducedObservation: ReportRead['reducedObservation'];
  if (tailRead && observedFor && reducedFits(header, observedFor)) {
    try {
      reducedObservation = { id: header.id, observation: await readReducedObservation(store, campaign, header.id, header.observation!) };
    } catch (e) {
      tailRead.cancel();
      throw e;
    }
  }
  // The read as it is if no event follows the mark, handed over before the other thread answers.
  let early = false;
  if (tailRead && whileReading && (await endsAtMark(store, campaign, header.ledger))) {
    early = true;
    try {
      await whileReading.early({ fold, fromCheckpoint: true, checkpoint: { header, runSince: false }, decoded: 0, warnings: [], reducedObservation });
    } catch (e) {
      tailRead.cancel();
      throw e;
    }
  }
  let decoded = 0;
  let runSince = false;
  const onEvents = (events: LedgerEvent[]) => {
    decoded += events.length;
    for (const e of events) {
      if (e.type === 'runStarted' || e.type === 'campaignReset' || e.type === 'campaignArchived') runSince = true;
      fold.add(e);
    }
  };
  let tail: LedgerTail | null;
  if (tailRead) {
    tail = await tailRead.result();
    if (tail) onEvents(tail.events);
  } else {
    tail = await store.readAfter(campaign, header.ledger, { onEvents });
  }
  if (!tail) return { problem: `does not match the ledger at ${store.location(campaign)}, which no longer starts with the ${header.ledger.events} events it summarises (edited, truncated or replaced)` };
  // What was handed over early holds only when the read found nothing after the mark.
  early &&= decoded === 0 && tail.warnings.length === 0 && tail.end.bytes === header.ledger.bytes;
  return { read: { fold, fromCheckpoint: true, checkpoint: { header, runSince }, decoded, warnings: tail.warnings, reducedObservation }, end: tail.end, early };
}

const leftAside = (campaign: string, problem: string) =>
  `the report checkpoint of ${campaign} ${problem}: the ledger was read whole, and the next reconcile run writes a new one.`;

/**
 * The report's fold of the whole ledger: the report checkpoint and the events after its mark when the ledger still
 * starts with what the mark hashes, else the whole ledger (with a warning saying why a checkpoint was left aside).
 * With `observedFor`, the checkpoint's reduced observation for that campaign is read while the ledger is
 * (reducedObservationFor then uses it). With `whileReading`, when the ledger seems to end at the checkpoint's mark,
 * the read is handed to it before the ledger read answers; `early` says whether the answer is that read (no event
 * after the mark, nothing left aside), so what `whileReading` made of it holds.
 */
export async function readReportFold(store: LedgerStore, campaign: string, observedFor?: Campaign, whileReading?: WhileReading): Promise<ReportRead & { early: boolean }> {
  const cp = await fromCheckpoint(store, campaign, true, observedFor, whileReading);
  if (!cp || !('read' in cp) || !cp.early) whileReading?.dropped();
  if (cp && 'read' in cp) return { ...cp.read, early: cp.early };
  const whole = await foldOverview(store, campaign);
  const warnings = cp ? [leftAside(campaign, cp.problem), ...whole.warnings] : whole.warnings;
  return { fold: whole.fold, fromCheckpoint: false, checkpoint: null, decoded: 0, warnings, early: false };
}

/**
 * After a successful reconcile run, holding the lock (nothing appends meanwhile): the report checkpoint brought up
 * to the ledger's end, with the run's observation reduced for status (`observed`, after its snapshot was written).
 * Reads the previous checkpoint and the events after it (the whole ledger, every event decoded in pieces, the first
 * time or when it does not match), and writes a new one. Returns why a previous checkpoint was left aside, if it was.
 */
export async function updateReportCheckpoint(store: LedgerStore, campaign: string, observed?: Observed): Promise<string[]> {
  if (!store.readAfter) return [];
  const id = randomBytes(12).toString('hex');
  // The observation reduced first, and let go of before the ledger is folded (see Observed).
  const observation = observed?.observation ? await writeReducedObservation(store, campaign, id, observed.campaign, observed.observation) : null;
  if (observed) observed.observation = null;
  heapMark('report-observation-written');
  const cp = await fromCheckpoint(store, campaign);
  if (cp && 'read' in cp) {
    await writeFold(store, campaign, cp.end, cp.read.fold, id, observation);
    return [];
  }
  // Every event decoded and folded a piece at a time: slower than the overview read, which keeps every event it
  // reports at once (gigabytes for a long campaign at a large tenant, more than a run's instance has).
  const fold = new ReportFold();
  const whole = await store.readAfter(campaign, null, {
    onEvents: (events) => {
      for (const e of events) fold.add(e);
    },
  });
  if (!whole) throw new Error(`${store.location(campaign)}: the ledger could not be read from its start`);
  heapMark('report-ledger-folded');
  await writeFold(store, campaign, whole.end, fold, id, observation);
  return cp ? [leftAside(campaign, cp.problem)] : [];
}
