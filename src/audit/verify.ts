// `campaign verify`: is the ledger still what its writers appended? Four checks over one streamed read of the
// ledger's complete lines, oldest first:
//   chain          every chained line's hash (ChainWalker, ledger/chain.ts);
//   checkpoint     the last run's checkpoint hashed the ledger's first lines: the ledger must still start with them;
//   export         an earlier `history --export` (DIR/<campaign>/events.jsonl) must be a byte prefix of the ledger,
//                  and history.md beside it must record that file's SHA-256;
//   configuration  every runStarted that recorded its campaign file (campaignSha256, campaignCommit, campaignFile)
//                  must name a version git holds (git-history.ts).
// The first problem in ledger line order is the one reported as broken; each check still says its own result.
import { createHash, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { ChainWalker, type ChainBreak } from '../ledger/chain';
import { decodeLine } from '../ledger/codec';
import { LedgerCorruptError } from '../ledger/errors';
import { isErrno } from '../ledger/file/io';
import type { LedgerMark, LedgerStore } from '../ledger/store';
import { joined } from '../ledger/tail';
import { CHECKPOINT_SNAPSHOT } from '../reconcile/checkpoint';
import { EXPORT_JSONL, EXPORT_MARKDOWN } from '../report/history';
import type { ConfigurationCheck, ConfigurationProblem, RecordedRun } from './git-history';

/** What a raw read of a ledger found (LedgerStore.readRaw). */
export interface RawEnd {
  lines: number;
  bytes: number;
  /** Size of an ignored partial trailing line. */
  partialBytes: number;
}

/** Streams a ledger's complete lines' bytes in pieces, each ending at a '\n', oldest first (LedgerStore.readRaw). */
export type ReadRaw = (campaign: string, onPiece: (bytes: Buffer) => void | Promise<void>) => Promise<RawEnd>;

export type BrokenSource = 'ledger' | 'export' | 'configuration';

/** The `--json` object of `campaign verify`. */
export interface VerifyReport {
  campaign: string;
  ledger: string;
  intact: boolean;
  lines: number;
  chain: { startsAt: number | null; unchainedLines: number };
  runs: { total: number; configurationChecked: number; configurationUnrecorded: number };
  export: null | { dir: string; lines: number; prefix: boolean };
  /** line: 1-based ledger line; 0 when the problem is the export as a whole (history.md's hash of it). */
  broken: null | { source: BrokenSource; line: number; message: string };
  warnings: string[];
}

/** Each check's own finding, for the text output. */
export interface VerifyDetails {
  chainBreak: ChainBreak | null;
  /** null: the store holds no checkpoint. */
  checkpoint: null | { events: number; bytes: number; problem: string | null };
  /** A runStarted line that does not decode (only such lines are decoded). */
  eventProblem: ConfigurationProblem | null;
  export: null | { file: string; exists: boolean; problem: { line: number; message: string } | null; history: 'absent' | 'ok' | 'no-hash' | { mismatch: string } };
  configurationProblems: ConfigurationProblem[];
  /** Every campaign name the runStarted events carry (the ledger's identity). */
  campaigns: string[];
}

export interface VerifyInput {
  campaign: string;
  /** Where the ledger is, for messages (LedgerStore.location). */
  location: string;
  readRaw: ReadRaw;
  /** The last checkpoint's mark, when the store holds one. */
  checkpoint: LedgerMark | null;
  /** The export root (`--export DIR`, absolute): DIR/<campaign>/events.jsonl. */
  exportDir?: string;
  configuration: ConfigurationCheck;
}

/** Bytes read at a time, from the ledger (fallback) and from the export. */
export const VERIFY_PIECE_BYTES = 16 * 1024 * 1024;

/** The store's readRaw, bound to it. */
export function rawReaderOf(store: LedgerStore): ReadRaw {
  return (campaign, onPiece) => store.readRaw(campaign, onPiece);
}

/** The ledger mark of the store's checkpoint, or null when there is none (a checkpoint it cannot read: a warning). */
export async function readCheckpointMark(store: LedgerStore, campaign: string, warnings: string[]): Promise<LedgerMark | null> {
  let header: unknown;
  try {
    header = await store.readSnapshot(campaign, CHECKPOINT_SNAPSHOT);
  } catch (e) {
    warnings.push(`the checkpoint snapshot could not be read (${e instanceof Error ? e.message : String(e)}): the ledger was checked without it.`);
    return null;
  }
  if (header === null) return null;
  const mark = (header as { ledger?: Partial<LedgerMark> } | null)?.ledger;
  if (!mark || !Number.isInteger(mark.events) || !Number.isInteger(mark.bytes) || (mark.events as number) < 0 || (mark.bytes as number) < 0 || typeof mark.sha256 !== 'string') {
    warnings.push('the checkpoint snapshot has no ledger mark this build reads (another format): the ledger was checked without it.');
    return null;
  }
  return { events: mark.events as number, bytes: mark.bytes as number, sha256: mark.sha256 };
}

/** Reads a file sequentially and hands out its next bytes; counts its lines and hashes it on the way. */
class ByteCursor {
  private buf: Buffer = Buffer.alloc(0);
  private eof = false;
  private pos = 0;
  newlines = 0;
  size = 0;
  private last = 0x0a;
  readonly hash: Hash = createHash('sha256');

  constructor(private readonly fh: FileHandle) {}

  /** Up to `n` next bytes; fewer only at the end of the file. */
  async next(n: number): Promise<Buffer> {
    while (this.buf.length < n && !this.eof) await this.fill();
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** Reads the rest; true when there was any. */
  async drain(): Promise<boolean> {
    let more = this.buf.length > 0;
    this.buf = Buffer.alloc(0);
    while (!this.eof) {
      await this.fill();
      more ||= this.buf.length > 0;
      this.buf = Buffer.alloc(0);
    }
    return more;
  }

  /** Lines in the file: a partial last line counts. */
  get lines(): number {
    return this.newlines + (this.last !== 0x0a ? 1 : 0);
  }

  private async fill(): Promise<void> {
    const piece = Buffer.allocUnsafe(VERIFY_PIECE_BYTES);
    const { bytesRead } = await this.fh.read(piece, 0, piece.length, this.pos);
    if (bytesRead === 0) {
      this.eof = true;
      return;
    }
    const got = piece.subarray(0, bytesRead);
    this.pos += bytesRead;
    this.size += bytesRead;
    this.hash.update(got);
    for (let i = got.indexOf(0x0a); i !== -1; i = got.indexOf(0x0a, i + 1)) this.newlines++;
    this.last = got[bytesRead - 1];
    this.buf = this.buf.length ? joined(this.buf, got) : got;
  }
}

/** Lines (1-based) of `piece` before byte `at` ends: the line that holds byte `at`. */
function lineAt(piece: Buffer, at: number, linesBefore: number): number {
  let n = linesBefore + 1;
  for (let i = piece.indexOf(0x0a); i !== -1 && i < at; i = piece.indexOf(0x0a, i + 1)) n++;
  return n;
}

const RUN_STARTED = '"type":"runStarted"';
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Runs every check over one streamed read of the ledger. Throws UsageError when a check cannot be made at all. */
export async function verifyLedger(input: VerifyInput): Promise<{ report: VerifyReport; details: VerifyDetails }> {
  const walker = new ChainWalker();
  const warnings: string[] = [];
  const recorded: RecordedRun[] = [];
  const campaigns: string[] = [];
  let runsTotal = 0;
  let unrecorded = 0;
  let eventProblem: ConfigurationProblem | null = null;

  // The checkpoint: the first mark.bytes bytes hashed as they stream past.
  const mark = input.checkpoint;
  const markHash = createHash('sha256');
  let markProblem: string | null = null;
  let markLines = 0;

  // The export, compared piece by piece.
  let exportFile: string | null = null;
  let cursor: ByteCursor | null = null;
  let fh: FileHandle | null = null;
  let exportProblem: { line: number; message: string } | null = null;
  let exportEnded = false;
  if (input.exportDir !== undefined) {
    exportFile = path.join(input.exportDir, input.campaign, EXPORT_JSONL);
    try {
      fh = await fsp.open(exportFile, 'r');
      cursor = new ByteCursor(fh);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }

  let offset = 0;
  try {
    const end = await input.readRaw(input.campaign, async (piece) => {
      const linesBefore = walker.lines;
      for (let start = 0; start < piece.length; ) {
        const nl = piece.indexOf(0x0a, start);
        const stop = nl < 0 ? piece.length : nl;
        const text = piece.toString('utf8', start, stop);
        walker.line(text);
        if (text.includes(RUN_STARTED)) {
          const n = walker.lines;
          try {
            const e = decodeLine(text, input.location, n);
            if (e.type === 'runStarted') {
              runsTotal++;
              if (!campaigns.includes(e.campaign)) campaigns.push(e.campaign);
              if (e.campaignSha256 === undefined) unrecorded++;
              else recorded.push({ line: n, runId: e.runId, sha256: e.campaignSha256, ...(e.campaignCommit !== undefined ? { commit: e.campaignCommit } : {}), ...(e.campaignFile !== undefined ? { file: e.campaignFile } : {}) });
            }
          } catch (err) {
            // A newer schema is this build's limit (exit 2, upgrade), not a sign of tampering.
            if (!(err instanceof LedgerCorruptError)) throw err;
            eventProblem ??= { line: n, message: `it is not a valid ledger event (${err.problem})` };
          }
        }
        start = stop + 1;
      }

      if (mark && offset < mark.bytes) {
        const take = Math.min(piece.length, mark.bytes - offset);
        markHash.update(piece.subarray(0, take));
        if (offset + piece.length >= mark.bytes) markLines = lineAt(piece, take - 1, linesBefore) - (piece[take - 1] === 0x0a ? 0 : 1);
        if (offset + piece.length >= mark.bytes && take > 0 && piece[take - 1] !== 0x0a) markProblem = 'inside a line';
      }

      if (cursor && !exportProblem && !exportEnded) {
        const theirs = await cursor.next(piece.length);
        if (!theirs.equals(piece)) {
          let d = 0;
          while (d < theirs.length && theirs[d] === piece[d]) d++;
          if (d === theirs.length && (d === 0 || piece[d - 1] === 0x0a)) exportEnded = true; // the export ends at a line end: a prefix so far
          else {
            const line = lineAt(piece, d, linesBefore);
            exportProblem = {
              line,
              message: d === theirs.length
                ? `line ${line} of the export ${exportFile} is cut short: the export's last line is not the ledger's line ${line}`
                : `line ${line} differs from line ${line} of the export ${exportFile}: the ledger's line was changed after the export was written (or the export was edited)`,
            };
          }
        }
      }
      offset += piece.length;
    });

    if (end.partialBytes > 0) {
      warnings.push(`the ledger ends with a partial line (${plural(end.partialBytes, 'byte')}, most likely an interrupted write) after line ${walker.lines}: it was not checked; the next run moves it aside.`);
    }
    if (walker.lines > 0 && walker.startsAt === null && !walker.broken) {
      warnings.push(`none of the ledger's ${plural(walker.lines, 'line')} carries a chain hash (all were written by an older version of campaign): the chain begins with the next run's first line, which covers them as a block.`);
    }

    let checkpoint: VerifyDetails['checkpoint'] = null;
    if (mark) {
      const recorded = `the last run's checkpoint recorded that the ledger's first ${plural(mark.events, 'line')} (${plural(mark.bytes, 'byte')}) end here`;
      if (offset < mark.bytes) markProblem = `${recorded}, but the ledger now has only ${plural(offset, 'byte')} (${plural(walker.lines, 'line')}): lines were removed from its end, or it was replaced`;
      else if (markProblem || markLines !== mark.events || markHash.digest('hex') !== mark.sha256) {
        markProblem = `${recorded}, but the ledger no longer starts with those bytes: one of lines 1–${mark.events} was edited, removed, inserted or reordered${walker.broken || walker.startsAt === null ? '' : ', and the chain hashes were computed again to hide it'}`;
      }
      checkpoint = { events: mark.events, bytes: mark.bytes, problem: markProblem };
    }

    let exportDetails: VerifyDetails['export'] = null;
    let exportReport: VerifyReport['export'] = null;
    if (exportFile !== null && input.exportDir !== undefined) {
      if (cursor) {
        const longer = await cursor.drain();
        if (!exportProblem && longer) {
          const first = walker.lines + 1;
          exportProblem = {
            line: first,
            message: `the export ${exportFile} has ${plural(cursor.lines, 'line')} but the ledger only ${walker.lines}: export line${cursor.lines > first ? `s ${first}–${cursor.lines} are` : ` ${first} is`} missing from the ledger (removed from its end, or the ledger was replaced)`,
          };
        }
      }
      const history = cursor ? await historyCheck(path.join(input.exportDir, input.campaign, EXPORT_MARKDOWN), cursor.hash.digest('hex'), exportFile) : 'absent';
      if (history === 'no-hash') warnings.push(`${path.join(input.exportDir, input.campaign, EXPORT_MARKDOWN)} records no SHA-256 of ${EXPORT_JSONL}: it was not compared.`);
      exportDetails = { file: exportFile, exists: cursor !== null, problem: exportProblem, history };
      exportReport = { dir: input.exportDir, lines: cursor?.lines ?? 0, prefix: cursor === null || exportProblem === null };
    }

    const configurationProblems = input.configuration(recorded);

    // The first problem in ledger line order; at one line the ledger's own before the export's and the configuration's.
    const candidates: Array<{ source: BrokenSource; line: number; message: string }> = [];
    if (walker.broken) candidates.push({ source: 'ledger', ...walker.broken });
    if (eventProblem) candidates.push({ source: 'ledger', ...(eventProblem as ConfigurationProblem) });
    if (checkpoint?.problem) {
      candidates.push({ source: 'ledger', line: Math.max(1, checkpoint.events), message: checkpoint.problem });
    }
    if (exportProblem) candidates.push({ source: 'export', ...exportProblem });
    if (configurationProblems.length) candidates.push({ source: 'configuration', ...configurationProblems[0] });
    const order: BrokenSource[] = ['ledger', 'export', 'configuration'];
    candidates.sort((a, b) => a.line - b.line || order.indexOf(a.source) - order.indexOf(b.source));
    let broken: VerifyReport['broken'] = candidates[0] ?? null;
    if (!broken && exportDetails && typeof exportDetails.history === 'object') broken = { source: 'export', line: 0, message: exportDetails.history.mismatch };

    const report: VerifyReport = {
      campaign: input.campaign,
      ledger: input.location,
      intact: broken === null,
      lines: walker.lines,
      chain: { startsAt: walker.startsAt, unchainedLines: walker.unchained },
      runs: { total: runsTotal, configurationChecked: recorded.length, configurationUnrecorded: unrecorded },
      export: exportReport,
      broken,
      warnings,
    };
    return { report, details: { chainBreak: walker.broken, checkpoint, eventProblem, export: exportDetails, configurationProblems, campaigns } };
  } finally {
    await fh?.close();
  }
}

/** history.md beside the export: the SHA-256 it records for events.jsonl must be the file's. */
async function historyCheck(file: string, actual: string, jsonl: string): Promise<'absent' | 'ok' | 'no-hash' | { mismatch: string }> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'absent';
    throw err;
  }
  const m = new RegExp(`SHA-256 of ${EXPORT_JSONL.replace('.', '\\.')}[^\\n]*?([0-9a-f]{64})`).exec(text);
  if (!m) return 'no-hash';
  if (m[1] === actual) return 'ok';
  return { mismatch: `${file} records SHA-256 ${m[1].slice(0, 12)}… for ${EXPORT_JSONL}, but ${jsonl} has SHA-256 ${actual.slice(0, 12)}…: one of the two export files was edited after the export was written` };
}

/** What to do about a break, by where it was found. */
export function nextSteps(report: VerifyReport): string[] {
  const b = report.broken;
  if (!b) return [];
  const exportPath = `audit/${report.campaign}/${EXPORT_JSONL}`;
  switch (b.source) {
    case 'ledger':
      return [
        'The ledger was changed after it was written. Keep a copy of it as it is now, and do not repair, replace or reconcile it before you know what happened.',
        `Compare it with the audit export committed in git (for example: git log -p -- ${exportPath} on the audit branch) to see which lines changed, and review who can write to the state store.`,
      ];
    case 'export':
      return b.line === 0
        ? ['Compare both export files with the versions committed in git (git log -p on the audit branch): the committed history is the reference.']
        : [
          'The ledger no longer matches the export written from it earlier: the ledger lost or changed lines since, or the export was edited.',
          `The export committed in git is the reference: compare the ledger with it (git show <commit>:${exportPath}), keep a copy of the ledger as it is now, and review who can write to the state store.`,
        ];
    case 'configuration':
      return [
        'The run at that line used a campaign file git does not hold as recorded: a file edited outside git, or a history that was rewritten.',
        `Compare the run's recorded campaignSha256 and campaignCommit (campaign history --json) with the campaign file's history (git log -- <campaign file>).`,
      ];
  }
}

/** The text output: one line per check, then the verdict; on a break, where and what to do next. */
export function formatVerifyText(report: VerifyReport, details: VerifyDetails): string {
  const out: string[] = [];
  const n = report.lines;
  out.push(`campaign verify ${report.campaign}: ${report.ledger}, ${plural(n, 'line')}`);
  const row = (check: string, text: string) => out.push(`  ${check.padEnd(14)}${text}`);

  const { startsAt, unchainedLines } = report.chain;
  if (details.chainBreak) row('chain', `BROKEN at line ${details.chainBreak.line}`);
  else if (n === 0) row('chain', 'ok: the ledger is empty');
  else if (startsAt === null) row('chain', `not checked: none of the ${plural(n, 'line')} carries a chain hash (written by an older version of campaign)`);
  else if (unchainedLines === 0) row('chain', `ok: lines 1–${n} are chained`);
  else row('chain', `ok: the chain begins at line ${startsAt}; lines 1–${unchainedLines}, written before it existed, are covered as a block by line ${startsAt}`);

  const cp = details.checkpoint;
  if (!cp) row('checkpoint', 'none in the state store');
  else if (cp.problem) row('checkpoint', `BROKEN: the ledger no longer starts with the ${plural(cp.events, 'line')} the last run's checkpoint hashed`);
  else row('checkpoint', `ok: the ledger still starts with the ${plural(cp.events, 'line')} the last run's checkpoint hashed`);

  const ex = details.export;
  if (!ex) row('export', 'not checked (no --export)');
  else if (!ex.exists) row('export', `ok: no export yet at ${ex.file}`);
  else if (ex.problem) row('export', `BROKEN at line ${ex.problem.line}: ${ex.file} is not a prefix of the ledger`);
  else {
    const hist = ex.history === 'ok' ? `; ${EXPORT_MARKDOWN} records its SHA-256` : ex.history === 'no-hash' ? `; ${EXPORT_MARKDOWN} records no SHA-256` : typeof ex.history === 'object' ? `; but ${EXPORT_MARKDOWN} records another SHA-256 (BROKEN)` : '';
    row('export', `ok: ${ex.file} (${plural(report.export?.lines ?? 0, 'line')}) is a prefix of the ledger${hist}`);
  }

  const runs = report.runs;
  const unrec = runs.configurationUnrecorded ? `; ${runs.configurationUnrecorded} recorded none (written by an older version of campaign)` : '';
  if (details.configurationProblems.length) {
    const first = details.configurationProblems[0];
    const more = details.configurationProblems.length - 1;
    row('configuration', `BROKEN at line ${first.line}${more ? ` (and ${plural(more, 'other run')})` : ''}: ${plural(runs.total, 'run')}, ${runs.configurationChecked} recorded their campaign file${unrec}`);
  } else if (runs.total === 0) row('configuration', 'ok: no runs yet');
  else if (runs.configurationChecked === 0) row('configuration', `not checked: ${plural(runs.total, 'run')}, none recorded its campaign file (written by an older version of campaign)`);
  else row('configuration', `ok: ${plural(runs.total, 'run')}; git holds the campaign file each of the ${runs.configurationChecked} that recorded one used${unrec}`);

  for (const w of report.warnings) out.push(`warning: ${w}`);
  const b = report.broken;
  if (!b) {
    out.push(`intact: the ledger of ${report.campaign} is as its runs wrote it.`);
  } else {
    const where = b.line === 0 && details.export ? path.join(path.dirname(details.export.file), EXPORT_MARKDOWN) : `${report.ledger}:${b.line}`;
    out.push(`BROKEN: ${b.line === 0 ? b.message : `${where}: ${b.message}`}`);
    for (const s of nextSteps(report)) out.push(`  ${s}`);
  }
  return out.join('\n');
}
