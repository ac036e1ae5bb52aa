// `campaign status --csv FILE`: the contact list, one row per targeted user, for a spreadsheet or a mail merge.
// RFC 4180 (CRLF line ends, fields with a comma, quote or line break quoted, quotes doubled) and safe to open
// in a spreadsheet: a cell that starts like a formula gets a leading apostrophe, so it stays text.
import { deliveryText, DELIVERY_OUTCOME_TITLE, READINESS_TITLE, type StatusReport, type StatusUser } from './model';
import { stageText } from './text';

export const CSV_HEADER = [
  'User principal name', 'Display name', 'Mail', 'Stage', 'Since', 'Deadline', 'Exceeded grace at', 'Readiness',
  'Devices below minimum OS', 'Last notice', 'Delivery', 'Alerts',
] as const;

export interface CsvOptions {
  /** Only the users past a grace period (the stuck users the status names). */
  stuckOnly?: boolean;
}

/** One cell: formula-like text neutralised, then quoted when RFC 4180 requires it. */
export function csvCell(value: string): string {
  // = + - @ start a formula in Excel, LibreOffice and Google Sheets; tab and CR can too (OWASP CSV injection).
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const day = (iso: string | null): string => (iso ? iso.slice(0, 10) : '');

function readinessText(u: StatusUser): string {
  if (u.readiness === null) return '';
  return u.readiness === 'unassessed' ? 'Not assessed (reads failed)' : READINESS_TITLE[u.readiness];
}

function row(u: StatusUser): string[] {
  return [
    u.userPrincipalName,
    u.displayName ?? '',
    u.mail ?? '',
    stageText(u.stage),
    day(u.stageSince),
    u.deadline ?? '',
    day(u.exceededGraceAt),
    readinessText(u),
    u.devicesBelowMinimum.join('; '),
    u.delivery ? deliveryText(u.delivery) : '',
    u.delivery ? DELIVERY_OUTCOME_TITLE[u.delivery.outcome] : '',
    u.alerts.join('; '),
  ];
}

/** The CSV text: a header and one line per user (in the report's order, by UPN), each ending CRLF. */
export function renderCsv(report: StatusReport, opts: CsvOptions = {}): string {
  const lines = [CSV_HEADER.map(csvCell).join(',')];
  for (const u of report.users) {
    if (opts.stuckOnly && !(u.exceededGrace && u.stage !== null)) continue;
    lines.push(row(u).map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
