// The file store's fast reader for the overview (LedgerStore.readOverview). It scans the bytes the file store
// wrote, relying on codec.ts's key-order contract: a line starts `{"v":1,` and its "type" is a top-level key
// before any nested value. Notification and delivery lines are recognised from those bytes and counted or
// skipped without being decoded; every other line is decoded as store.read() decodes it. Anything unusual
// (a partial last line, a line that does not decode) returns null, and the store then reads the slow way so
// that warnings and errors stay the store's own.
import { decodeLine } from '../codec';
import type { LedgerEvent } from '../events';
import { addToOverview, countNotification, type LedgerOverview } from '../overview';

const NOTIFICATION = Buffer.from('"type":"notification');
const RUN_ID = Buffer.from('"runId":"');
const V1 = Buffer.from('{"v":1,');
const SENT = Buffer.from('Sent"');
const SKIPPED = [Buffer.from('Dispatch"'), Buffer.from('Outcome"')];
const GROUP_ADD = Buffer.from('"type":"groupAdd');
const NL = 0x0a;
const BRACE = 0x7b;
const QUOTE = 0x22;
/** Writers put the type within the first few keys; a match further into a line is left to the decoder. */
const TYPE_WITHIN = 200;

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

/**
 * The overview of the file store's ledger bytes, without warnings; null when anything looks unusual. Works on
 * the Buffer so the notification lines are never even decoded.
 */
export function scanOverview(buf: Buffer, file: string): Omit<LedgerOverview, 'warnings'> | null {
  if (buf.length > 0 && buf[buf.length - 1] !== NL) return null; // a partial last line: let the store warn about it
  const overview: Omit<LedgerOverview, 'warnings'> = { events: [], notificationsByRun: new Map() };
  // The next occurrence of each pattern, searched once and reused line after line: linear overall.
  let match = buf.indexOf(NOTIFICATION);
  let groupAdd = buf.indexOf(GROUP_ADD);
  let pos = 0;
  for (let lineNo = 1; pos < buf.length; lineNo++) {
    const nl = buf.indexOf(NL, pos);
    if (match !== -1 && match < pos) match = buf.indexOf(NOTIFICATION, pos);
    // A top-level "type" key: no '{' between the line's own and it (a quote inside a string value is escaped,
    // so the pattern cannot match inside a message).
    if (match !== -1 && match < nl && match - pos < TYPE_WITHIN && at(buf, pos, V1) && topLevel(buf, pos + 1, match)) {
      const rest = match + NOTIFICATION.length;
      if (at(buf, rest, SENT)) {
        const r = buf.indexOf(RUN_ID, pos);
        if (r === -1 || r > nl) {
          countNotification(overview.notificationsByRun, '');
          pos = nl + 1;
          continue;
        }
        if (topLevel(buf, pos + 1, r)) {
          const from = r + RUN_ID.length;
          countNotification(overview.notificationsByRun, buf.toString('utf8', from, buf.indexOf(QUOTE, from)));
          pos = nl + 1;
          continue;
        }
        // A "runId" inside a nested value: decode the line below.
      } else if (SKIPPED.some((x) => at(buf, rest, x))) {
        pos = nl + 1;
        continue;
      }
    }
    if (groupAdd !== -1 && groupAdd < pos) groupAdd = buf.indexOf(GROUP_ADD, pos);
    if (groupAdd !== -1 && groupAdd < nl && groupAdd - pos < TYPE_WITHIN && at(buf, pos, V1) && topLevel(buf, pos + 1, groupAdd)) {
      pos = nl + 1;
      continue;
    }
    let e: LedgerEvent;
    try {
      e = decodeLine(buf.toString('utf8', pos, nl), file, lineNo);
    } catch {
      return null;
    }
    // A line the patterns above did not catch (e.g. a type further in) is still counted or skipped by its type.
    addToOverview(overview, e);
    pos = nl + 1;
  }
  return overview;
}
