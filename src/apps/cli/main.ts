// The `campaign` command. Each subcommand lives in its own module and is loaded only when used,
// so `campaign validate` never pays for the Graph client (and nothing here loads Pulumi).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError, UsageError, describeSystemError, isSystemError } from '../../errors';
import { StateError } from '../../ledger/errors';
import { guardOutput, println, processIo, type Io } from './io';
import { pathError } from './path-errors';
import { maxOf } from '../../contracts/arrays';

type Command = { summary: string; load: () => Promise<{ run(argv: string[], io: Io): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  validate: { summary: 'check campaign files (schema, rules, lock rule against --base)', load: () => import('./validate.js') },
  plan: { summary: 'show what a reconcile would do now; writes nothing', load: () => import('./plan.js') },
  reconcile: { summary: 'one run: observe in Graph, decide, apply, append to the ledger', load: () => import('./reconcile.js') },
  status: { summary: 'the campaign overview from the ledger: counts, users, estimate, alerts; --json, --markdown, --html', load: () => import('./status.js') },
  history: { summary: 'every ledger event, oldest first; --user, --since, --export DIR for the audit export', load: () => import('./history.js') },
  verify: { summary: 'check that the ledger is as its runs wrote it: hash chain, audit export, campaign files in git', load: () => import('./verify.js') },
  postpone: { summary: "record a user's postponement of their current stage", load: () => import('./postpone.js') },
  doctor: { summary: 'check, read-only, that the tenant and the ledger are ready for a campaign; says what to fix', load: () => import('./doctor.js') },
  impact: { summary: "what the report-only policy would block, from sign-in logs, and whether the campaign's gate is met", load: () => import('./impact.js') },
  demo: { summary: 'run a whole campaign against a simulated tenant (no Azure account needed)', load: () => import('./demo.js') },
  'teams-app': { summary: "build the campaign's Teams app package (zip) for the org catalog: teams-app --client-id ID", load: () => import('./teams-app.js') },
  sim: { summary: 'the Microsoft Graph emulator: sim serve --tenant FILE, sim generate --users N', load: () => import('./sim.js') },
};

function usage(): string {
  const width = maxOf(Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: campaign <command> [options]

GitOps passkey campaigns for Microsoft Entra ID.

Commands:
${lines.join('\n')}

Run "campaign <command> --help" for a command's options.
Exit status: 0 success, 1 findings or validation errors, 2 usage or runtime error.`;
}

/**
 * Runs one command. Everything it prints goes through the output guard (io.ts): secrets are redacted, and a
 * stdout that fails is handled here. When the reader closed the pipe (EPIPE: `campaign status | head`), the
 * command ends quietly with its own exit status, as `head` asked for no more; that also keeps such a pipeline
 * from failing a CI step run with `set -o pipefail`, and a run is never cut short between its writes and its
 * lock release. Any other stdout failure (a full disk) is one line on stderr and exit 2.
 */
export async function run(argv: string[], io: Io = processIo()): Promise<number> {
  const out = guardOutput(io);
  const label = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? `campaign ${argv[0]}` : 'campaign';
  const code = await dispatch(argv, out.io);
  await out.flush();
  const failure = out.failure();
  if (failure?.kind !== 'failed') return code;
  const e = failure.error;
  println(out.io.stderr, `${label}: ${isSystemError(e) ? describeSystemError(e, { subject: 'standard output', target: null }) : `standard output: ${e.message}`}`);
  await out.flush();
  return 2;
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    println(name ? io.stdout : io.stderr, usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    println(io.stdout, pkg.version);
    return 0;
  }
  const cmd = COMMANDS[name];
  const label = `campaign ${name}`;
  try {
    if (!cmd) throw new UsageError(`unknown command "${name}".`, `Commands: ${Object.keys(COMMANDS).join(', ')}. Run "campaign --help".`);
    return await (await cmd.load()).run(rest, io);
  } catch (e) {
    // Ledger problems (a held lock, a corrupt line, a newer schema) are the environment's, not bugs.
    if (e instanceof UsageError || e instanceof RuntimeError || e instanceof StateError) {
      println(io.stderr, `${cmd ? label : 'campaign'}: ${e.message}`);
      const hint = 'hint' in e ? (e as { hint?: string }).hint : undefined;
      if (hint) println(io.stderr, `  ${hint}`);
      return 2;
    }
    // A file or directory that cannot be used as asked (EISDIR, ENOSPC…) that no command named more precisely.
    if (isSystemError(e)) {
      println(io.stderr, `${label}: ${pathError(e).message}`);
      return 2;
    }
    // Anything else is a bug in this tool, not a user mistake: keep the stack for the report.
    println(io.stderr, `${label}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    println(io.stderr, '  This is a bug in campaign; please report it with the command you ran.');
    return 2;
  }
}
