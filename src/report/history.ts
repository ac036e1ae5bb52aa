// `campaign history`: the ledger read back for people (one line per event) and the audit export, a
// Markdown + JSON-lines pair meant to be committed next to the campaign file. The export depends on the
// ledger alone (no clock, no paths, no tool version), so the same ledger always gives the same bytes.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from '../errors';
import type { LedgerEvent, RunStartedEvent } from '../ledger/events';
import type { LedgerStore } from '../ledger/store';
import { code, md, mdTable } from './markdown';
import { alignTable, pushLines } from './text';

export const EXPORT_MARKDOWN = 'history.md';
export const EXPORT_JSONL = 'events.jsonl';

const counts = (c: Record<string, number> | undefined): string =>
  c && Object.keys(c).length ? ` (${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ')})` : '';

/** Who an event is about and what it says, in one line each. */
export function describeEvent(e: LedgerEvent): { user: string; text: string } {
  const user = 'userPrincipalName' in e ? e.userPrincipalName : '';
  const delivery = describeDelivery(e);
  if (delivery) return { user, text: delivery };
  switch (e.type) {
    case 'runStarted': return { user, text: `run ${e.runId} started (campaign ${e.status})` };
    case 'runFinished': {
      const closed = e as { interrupted?: boolean; closedBy?: string };
      const how = closed.interrupted ? `was interrupted; closed by run ${closed.closedBy ?? '?'}` : e.ok ? 'finished' : `failed${e.error ? `: ${e.error}` : ''}`;
      return { user, text: `run ${e.runId} ${how}${counts(e.counts)}` };
    }
    case 'userEnteredStage': return { user, text: `${e.from ?? 'entered'} → ${e.to} (${e.reason}): ${e.message}` };
    case 'notificationSent': return { user, text: `notified: ${e.kind} #${e.sequence} in ${e.stage} (key ${e.key})` };
    case 'postponed': return { user, text: `postponed ${e.stage} until ${e.until} (${e.count}${e.count === 1 ? 'st' : e.count === 2 ? 'nd' : e.count === 3 ? 'rd' : 'th'} time, ${e.days} days)${e.tokenId ? ` via ${e.tokenId}` : ''}` };
    case 'graceExceeded': return { user, text: `exceeded the ${e.stage} grace period (deadline ${e.deadline})` };
    case 'addedToGroup': return { user, text: e.alreadyMember ? 'in the enforcement group (already a member)' : 'added to the enforcement group' };
    case 'leftCampaign': return { user, text: `left the campaign from ${e.from ?? 'before entering'} (${e.reason}): ${e.message}` };
    case 'alertRaised': return { user, text: `alert raised ${e.kind}: ${e.message}` };
    case 'alertCleared': return { user, text: `alert cleared ${e.kind}: ${e.message}` };
    case 'campaignArchived': return { user, text: `ledger archived${e.archive ? ` to ${e.archive}` : ''}${e.reason ? ` (${e.reason})` : ''}` };
    case 'campaignReset': return { user, text: `campaign reset: generation ${e.generation}${e.reason ? ` (${e.reason})` : ''}` };
    case 'exemptionResolved': return { user, text: `spec.exclusions.${e.list} entry ${e.entry} is account ${e.objectId}${e.replaces ? ` (replaces the entry ${e.replaces})` : ''}` };
    case 'exemptionRetired': return { user, text: `spec.exclusions.${e.list} entry ${e.entry} retired by ${e.by} (${e.reason}); ${e.objectIds.length ? `${e.objectIds.join(', ')} stay${e.objectIds.length === 1 ? 's' : ''} excluded` : 'no account was recorded for it'}` };
    case 'exemptionUnresolved': return { user, text: `exemption not established (${e.problem}): ${e.message}` };
    // Onboarding passes: the facts the ledger keeps, field by field (never the pass, whatever an event carries).
    case 'onboardingPassIssued': return { user, text: `onboarding pass ${e.methodId} issued (${e.usableOnce ? 'usable once' : 'reusable'}, ${e.lifetimeMinutes} minutes, valid ${e.startDateTime} to ${e.expiresAt}), mailed to the manager ${e.deliveredTo.managerUpn}` };
    case 'onboardingQueued': return { user, text: `needs an onboarding pass: queued for the helpdesk (${e.reason})` };
    case 'onboardingPassExpired': return { user, text: `onboarding pass ${e.methodId} expired unused at ${e.expiresAt}` };
    case 'onboardingPassIntent': return { user, text: `creating an onboarding pass for the manager ${e.managerId}` };
    case 'onboardingPassOutcome': return { user, text: `onboarding pass ${e.outcome}${e.methodId ? ` (${e.methodId})` : ''}${e.detail ? `: ${e.detail}` : ''}` };
    default: {
      // A type from a newer compatible writer: show its fields rather than hide it.
      const { v: _v, at: _at, type: _t, ...rest }: Readonly<Record<string, unknown>> = e;
      return { user: typeof rest.userPrincipalName === 'string' ? rest.userPrincipalName : '', text: JSON.stringify(rest) };
    }
  }
}

/** The crash-safety records of src/reconcile/intents.ts: what happened to a notification or a group add. */
function describeDelivery(x: Record<string, unknown>): string | null {
  const str = (k: string) => (typeof x[k] === 'string' ? (x[k] as string) : '');
  const detail = str('detail') ? `: ${str('detail')}` : '';
  switch (x.type) {
    case 'notificationDispatch': {
      const n = Array.isArray(x.keys) ? x.keys.length : 0;
      return `handing ${n} ${str('channel')} notification${n === 1 ? '' : 's'} to Graph`;
    }
    case 'notificationOutcome':
      return `notification ${str('key')} ${str('outcome')}${typeof x.status === 'number' && x.status > 0 ? ` (HTTP ${x.status})` : ''}` +
        `${str('recovered') ? `, settled by ${str('recovered') === 'sentItems' ? 'finding it in Sent Items' : 'sending it again'}` : ''}${detail}`;
    case 'groupAddIntent':
      return `adding to the enforcement group ${str('groupId')}`;
    case 'groupAddOutcome':
      return `enforcement group ${str('groupId')}: ${str('outcome')}${detail}`;
    default:
      return null;
  }
}

export interface HistoryFilter {
  /** A UPN (case-insensitive) or user object id: every event of that user, under any UPN it had. */
  user?: string;
  /** Keep events at or after this time. */
  since?: Date;
}

/** The user ids the ledger knows under `ref` (an id, or a UPN it ever carried); empty when none. */
export function userIdsFor(events: readonly LedgerEvent[], ref: string): Set<string> {
  const ids = new Set<string>();
  const lower = ref.toLowerCase();
  for (const e of events) {
    if (!('userId' in e)) continue;
    if (e.userId === ref || e.userId.toLowerCase() === lower || e.userPrincipalName.toLowerCase() === lower) ids.add(e.userId);
  }
  return ids;
}

export function filterEvents(events: readonly LedgerEvent[], f: HistoryFilter): LedgerEvent[] {
  const ids = f.user !== undefined ? userIdsFor(events, f.user) : null;
  const since = f.since?.getTime();
  return events.filter((e) => {
    if (ids && !('userId' in e && ids.has(e.userId))) return false;
    if (since !== undefined && Date.parse(e.at) < since) return false;
    return true;
  });
}

/** One aligned line per event: time, type, user, what happened. */
export function formatHistoryText(events: readonly LedgerEvent[]): string {
  if (events.length === 0) return 'No events.';
  const rows = events.map((e) => {
    const d = describeEvent(e);
    return [e.at, e.type, d.user || '-', d.text];
  });
  return alignTable(rows).join('\n');
}

/**
 * The events re-encoded, one JSON object per line. Not the ledger's bytes (a reader drops each line's chain hash):
 * the export copies the ledger's lines instead (ledgerBytes).
 */
export function eventsJsonl(events: readonly LedgerEvent[]): string {
  return events.map((e) => `${JSON.stringify(e)}\n`).join('');
}

/** What LedgerStore.readRaw reports: complete lines and their bytes, and the size of an ignored partial last line. */
export interface RawLedgerRead {
  lines: number;
  bytes: number;
  partialBytes: number;
}

/** Streams a ledger's complete lines, byte for byte, in pieces that each end at a '\n', oldest first. */
export type RawLedgerReader = (onPiece: (bytes: Buffer) => void | Promise<void>) => Promise<RawLedgerRead>;

/** The campaign's ledger as bytes (LedgerStore.readRaw). Never the events re-encoded: those lack each line's chain hash. */
export function ledgerBytes(store: LedgerStore, campaign: string): RawLedgerReader {
  return (onPiece) => store.readRaw(campaign, onPiece);
}

interface Section {
  title: string;
  /** A line under the title (a run's configuration). */
  note?: string;
  events: LedgerEvent[];
}

/** Splits the ledger into runs (runStarted … runFinished) and the stretches recorded between runs. */
function sections(events: readonly LedgerEvent[], link: HistoryLinks): Section[] {
  const out: Section[] = [];
  let current: Section | null = null;
  let openRun: string | null = null;
  for (const e of events) {
    const runId = 'runId' in e ? e.runId : undefined;
    if (e.type === 'runStarted') {
      current = { title: `Run ${code(e.runId)} · ${e.at} · campaign ${e.status}`, note: `Configuration: ${configurationText(e, link, true)}.`, events: [] };
      out.push(current);
      openRun = e.runId;
    } else if (openRun === null || runId !== openRun) {
      // Postponements, resets and the tail of an interrupted run are not part of any run.
      openRun = null;
      if (!current || current.title !== BETWEEN) {
        current = { title: BETWEEN, events: [] };
        out.push(current);
      }
    }
    current!.events.push(e);
    if (e.type === 'runFinished' && runId === openRun) openRun = null;
  }
  return out;
}

const BETWEEN = 'Recorded outside a run';

/** Bookkeeping that only confirms what another event already says (a notice delivered, a group add done). */
function routine(e: LedgerEvent): boolean {
  const x = e as { type: string; outcome?: unknown };
  return x.type === 'notificationDispatch' || x.type === 'groupAddIntent' ||
    (x.type === 'notificationOutcome' && x.outcome === 'delivered') || (x.type === 'groupAddOutcome' && x.outcome === 'added');
}

/** Options of the export that change its Markdown (the same options and ledger give the same bytes). */
export interface HistoryLinks {
  /** https URL of the repository holding the campaign files: each recorded commit links to its file there. */
  repositoryUrl?: string;
}

/**
 * The repository URL for links: an https URL without credentials, query or fragment, no trailing slash. Throws a
 * RangeError saying what is wrong (the CLI names its flag or variable).
 */
export function normalizeRepositoryUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new RangeError('is not a URL');
  }
  if (u.protocol !== 'https:') throw new RangeError(`must be an https URL (got ${u.protocol.replace(/:$/, '')})`);
  if (u.username || u.password) throw new RangeError('must not carry credentials: the export is committed, and anyone who reads it would see them');
  if (u.search || u.hash) throw new RangeError('must be the repository\'s address, without a query or fragment');
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`.replace(/[()]/g, (c) => (c === '(' ? '%28' : '%29'));
}

/** Which configuration a run followed, from its runStarted (full: the whole SHA-256 and commit). */
function configurationText(e: RunStartedEvent, link: HistoryLinks, full: boolean): string {
  if (typeof e.campaignSha256 !== 'string') return full ? 'not recorded (written by a version of campaign that did not record it)' : 'not recorded';
  const sha = `SHA-256 ${code(full ? e.campaignSha256 : e.campaignSha256.slice(0, 12))}`;
  if (typeof e.campaignCommit !== 'string' || typeof e.campaignFile !== 'string') return full ? `campaign file ${sha}, commit unknown` : sha;
  const commit = e.campaignCommit;
  const file = e.campaignFile;
  if (link.repositoryUrl) {
    const url = `${link.repositoryUrl}/blob/${encodeURIComponent(commit)}/${file.split('/').map(encodeURIComponent).join('/').replace(/[()]/g, (c) => (c === '(' ? '%28' : '%29'))}`;
    return `${full ? 'campaign file ' : ''}${sha} · [${md(full ? `${file} at ${commit.slice(0, 12)}` : commit.slice(0, 12))}](${url})`;
  }
  // In the runs table (not full) a '|' would end the cell, even inside code.
  return `${full ? 'campaign file ' : ''}${sha} · ${full ? code(`${commit}:${file}`) : code(`${commit}:${file}`).replace(/\|/g, '\\|')}`;
}

/** The Markdown half of the export: overview, one row per run, the final state per user, every event by run. */
export function historyMarkdown(campaign: string, events: readonly LedgerEvent[], jsonlSha256: string, link: HistoryLinks = {}): string {
  const out: string[] = [];
  const sha = jsonlSha256;
  const runs = new Map<string, { at: string; status: string; ok: boolean | null; error?: string; configuration: string; recorded: boolean; entered: number; left: number; notified: number; delivered: number; undelivered: number; added: number; exceeded: number; alerts: number }>();
  const people = new Map<string, { upn: string; first: string; stage: string; since: string; enforced: string; notes: string[] }>();
  let postponements = 0;
  for (const e of events) {
    if (e.type === 'runStarted') runs.set(e.runId, { at: e.at, status: e.status, ok: null, configuration: configurationText(e, link, false), recorded: typeof e.campaignSha256 === 'string', entered: 0, left: 0, notified: 0, delivered: 0, undelivered: 0, added: 0, exceeded: 0, alerts: 0 });
    if (e.type === 'runFinished') {
      const r = runs.get(e.runId);
      if (r) { r.ok = e.ok; r.error = e.error; }
    }
    if (!('userId' in e)) continue;
    const r = e.runId ? runs.get(e.runId) : undefined;
    const outcome = (e as { type: string; outcome?: unknown }).type === 'notificationOutcome' ? (e as { outcome?: unknown }).outcome : undefined;
    if (r && outcome !== undefined) {
      if (outcome === 'delivered') r.delivered++;
      else r.undelivered++;
    }
    let p = people.get(e.userId);
    if (!p) { p = { upn: e.userPrincipalName, first: e.at, stage: '', since: '', enforced: '', notes: [] }; people.set(e.userId, p); }
    p.upn = e.userPrincipalName;
    switch (e.type) {
      case 'userEnteredStage':
        if (r) r.entered++;
        p.stage = e.to; p.since = e.at;
        if (e.to === 'enforced') p.enforced = e.at;
        break;
      case 'leftCampaign': if (r) r.left++; p.stage = `left (${e.reason})`; p.since = e.at; break;
      case 'notificationSent': if (r) r.notified++; break;
      case 'addedToGroup': if (r && !e.alreadyMember) r.added++; break;
      case 'graceExceeded': if (r) r.exceeded++; p.notes.push(`grace exceeded ${e.stage} ${e.deadline.slice(0, 10)}`); break;
      case 'alertRaised': if (r) r.alerts++; p.notes.push(`alert ${e.kind} ${e.at.slice(0, 10)}`); break;
      case 'postponed': postponements++; p.notes.push(`postponed ${e.stage} until ${e.until.slice(0, 10)}`); break;
      default: break;
    }
  }
  const runList = [...runs.entries()];
  const okRuns = runList.filter(([, r]) => r.ok === true).length;
  const failedRuns = runList.filter(([, r]) => r.ok === false).length;

  out.push(`# Audit history: ${md(campaign)}`);
  out.push('');
  out.push(`Exported by \`campaign history --export\` from the campaign's append-only ledger. Generated: do not edit. ` +
    `Regenerating from the same ledger (with the same --repository-url) gives the same bytes, so a diff of this file in git shows exactly what was appended.`);
  out.push('');
  pushLines(out, mdTable(['', ''], [
    ['Campaign', code(campaign)],
    ['Events', String(events.length)],
    ['First event', events.length ? events[0].at : '—'],
    ['Last event', events.length ? events[events.length - 1].at : '—'],
    ['Runs', `${runList.length} (${okRuns} ok, ${failedRuns} failed, ${runList.length - okRuns - failedRuns} unfinished)`],
    ['Configuration recorded', `${runList.filter(([, r]) => r.recorded).length} of ${runList.length} runs`],
    ['Users in the ledger', String(people.size)],
    ['Postponements', String(postponements)],
    [`SHA-256 of ${EXPORT_JSONL}`, code(sha)],
  ]));
  out.push('');

  out.push('## Runs');
  out.push('');
  if (runList.length === 0) out.push('No runs.');
  else {
    out.push(`Configuration: the first 12 hex digits of the SHA-256 of the campaign file the run loaded and, when the run knew it, ` +
      `the commit that file came from${link.repositoryUrl ? ' (linked to the file at that commit)' : ` (as ${code('commit:file')}, for ${code('git show')})`}; ` +
      `${code('campaign verify')} checks both against the repository. "not recorded": the version of campaign that wrote the run did not record it.`);
    out.push('');
    pushLines(out, mdTable(['Run', 'Started', 'Campaign', 'Configuration', 'Result', 'Stage changes', 'Left', 'Notifications', 'Delivered', 'Not delivered', 'Added to group', 'Grace exceeded', 'Alerts raised'],
      runList.map(([id, r]) => [code(id), r.at, r.status, r.configuration, r.ok === true ? 'ok' : r.ok === false ? `failed${r.error ? `: ${md(r.error)}` : ''}` : 'unfinished',
        String(r.entered), String(r.left), String(r.notified), String(r.delivered), String(r.undelivered), String(r.added), String(r.exceeded), String(r.alerts)]),
      [false, false, false, false, false, true, true, true, true, true, true, true, true]));
  }
  out.push('');

  out.push('## Users (state after the last event)');
  out.push('');
  const users = [...people.entries()].sort((a, b) => (a[1].upn.toLowerCase() < b[1].upn.toLowerCase() ? -1 : a[1].upn.toLowerCase() > b[1].upn.toLowerCase() ? 1 : a[0] < b[0] ? -1 : 1));
  if (users.length === 0) out.push('No users.');
  else {
    pushLines(out, mdTable(['User', 'User id', 'First event', 'Stage', 'Since', 'Enforced', 'Notes'],
      users.map(([id, p]) => [code(p.upn), code(id), p.first, p.stage ? md(p.stage) : '—', p.since || '—', p.enforced || '—', p.notes.length ? md(p.notes.join('; ')) : '—'])));
  }
  out.push('');

  out.push('## Events');
  out.push('');
  out.push(`Oldest first, in ledger order. Routine delivery records (notificationDispatch, delivered notificationOutcome, ` +
    `groupAddIntent, added groupAddOutcome) are counted in the runs table rather than listed; failures are listed. ` +
    `${code(EXPORT_JSONL)} is the ledger itself: every line, byte for byte.`);
  for (const s of sections(events.filter((e) => !routine(e)), link)) {
    out.push('');
    out.push(`### ${s.title}`);
    out.push('');
    if (s.note) {
      out.push(s.note);
      out.push('');
    }
    pushLines(out, mdTable(['Time', 'Event', 'User', 'Detail'], s.events.map((e) => {
      const d = describeEvent(e);
      return [e.at, e.type, d.user ? code(d.user) : '—', md(d.text)];
    })));
  }
  out.push('');
  return out.join('\n');
}

/**
 * Writes DIR/<campaign>/history.md and DIR/<campaign>/events.jsonl; returns both paths. events.jsonl is the ledger's
 * bytes (`raw`, see ledgerBytes), up to the line `events` ends at: lines appended since `events` were read wait for
 * the next export, so both files always describe the same lines.
 */
export async function writeHistoryExport(dir: string, campaign: string, events: readonly LedgerEvent[], raw: RawLedgerReader, link: HistoryLinks = {}): Promise<{ markdown: string; jsonl: string }> {
  const target = path.join(dir, campaign);
  await fsp.mkdir(target, { recursive: true });
  const files = { markdown: path.join(target, EXPORT_MARKDOWN), jsonl: path.join(target, EXPORT_JSONL) };
  const sha = await copyLedgerLines(raw, events.length, files.jsonl);
  await writeAtomic(files.markdown, historyMarkdown(campaign, events, sha, link));
  return files;
}

/** Copies the ledger's first `lines` lines to `file` (temp file + rename); returns their SHA-256. */
async function copyLedgerLines(raw: RawLedgerReader, lines: number, file: string): Promise<string> {
  const tmp = `${file}.tmp-${process.pid}`;
  const hash = createHash('sha256');
  let copied = 0;
  const fh = await fsp.open(tmp, 'w');
  try {
    await raw(async (piece) => {
      if (copied === lines) return;
      let end = 0;
      while (copied < lines) {
        const nl = piece.indexOf(0x0a, end);
        if (nl === -1) break;
        end = nl + 1;
        copied++;
      }
      // A piece ends at a line end: a line never spans two pieces.
      const part = piece.subarray(0, copied === lines ? end : piece.length);
      hash.update(part);
      let off = 0;
      while (off < part.length) off += (await fh.write(part, off, part.length - off)).bytesWritten;
    });
    if (copied < lines) {
      throw new RuntimeError(`the ledger holds fewer lines (${copied}) than the ${lines} events read a moment before: it was replaced (a reset) during the export; nothing was written.`, true, 'Run the export again.');
    }
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsp.rename(tmp, file);
  return hash.digest('hex');
}

/** Temp file + rename, so a reader (or git add) never sees half an export. */
export async function writeAtomic(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, content, 'utf8');
  await fsp.rename(tmp, file);
}
