// `campaign validate [PATH…] [--base REV] [--format text|json|github]`
import { formatDiagnostic, validatePaths, type ValidationReport } from '../../campaign/validate';
import type { Diagnostic } from '../../campaign/types';
import { oneOf, parseFlags, stringFlag } from './args';
import { println, type Io } from './io';

export const HELP = `Usage: campaign validate [PATH…] [--base REV] [--format text|json|github]

Checks campaign files: YAML syntax, the schema (types, unknown fields, defaults), the campaign rules
(break-glass, grace periods, roles…) and, with --base, the lock rule against the file at git revision REV.
PATH is a campaign file or a directory of them (default: campaigns/).

  --base REV      compare with the campaigns at REV (e.g. origin/main): a running campaign may only change
                  spec.status, spec.enforcement.* and add exclusions
  --format FMT    text (default), json, or github (workflow annotations shown inline in pull requests)

Exit status: 0 valid, 1 invalid, 2 usage error (missing file, unknown revision).`;

// Workflow-command escaping (GitHub's toolkit): data escapes %, CR, LF; properties also ':' and ','.
export const escData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
export const escProp = (s: string) => escData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function githubAnnotation(d: Diagnostic): string {
  const props = [`file=${escProp(d.file)}`];
  if (d.line > 0) props.push(`line=${d.line}`, `col=${d.col}`);
  props.push(`title=${escProp(`campaign validate: ${d.path || 'file'}`)}`);
  return `::${d.severity === 'warning' ? 'warning' : 'error'} ${props.join(',')}::${escData(`${d.path ? `${d.path}: ` : ''}${d.message}`)}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function summaryLine(r: ValidationReport): string {
  const { files, invalid, errors, warnings } = r.summary;
  const checked = `${plural(files, 'campaign file')} checked${r.base ? ` against ${r.base.rev}` : ''}`;
  if (invalid === 0) return `${checked}: all valid${warnings ? ` (${plural(warnings, 'warning')})` : ''}.`;
  return `${checked}: ${invalid} invalid, ${plural(errors, 'error')}${warnings ? `, ${plural(warnings, 'warning')}` : ''}.`;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseFlags('validate', argv, { base: { type: 'string' }, format: { type: 'string' } }, { positionals: true });
  if (p.values.help) {
    println(io.stdout, HELP);
    return 0;
  }
  const format = oneOf(p, 'format', ['text', 'json', 'github'] as const, 'text');
  const paths = p.positionals.length ? p.positionals : ['campaigns/'];
  const report = validatePaths(paths, { base: stringFlag(p, 'base') });

  if (format === 'json') {
    println(io.stdout, JSON.stringify(report, null, 2));
  } else {
    for (const f of report.files) {
      for (const d of [...f.errors, ...f.warnings].sort((a, b) => a.line - b.line || a.col - b.col)) {
        println(io.stdout, format === 'github' ? githubAnnotation(d) : formatDiagnostic(d));
      }
      if (format === 'text' && f.valid) println(io.stdout, `ok ${f.file} (${f.name}, ${f.status})`);
    }
    println(io.stdout, summaryLine(report));
  }
  return report.valid ? 0 : 1;
}
