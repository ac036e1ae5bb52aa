// `campaign sim serve --tenant FILE [--port N]` and `campaign sim generate --users N [--seed S]`.
import * as path from 'node:path';
import { UsageError } from '../../errors';
import { SIM_TOKEN } from '../../graph/client';
import { intFlag, parseFlags, requireFlag, stringFlag } from './args';
import { println, type Io } from './io';

export const HELP = `Usage: campaign sim serve --tenant FILE [--port N] [--no-throttle]
       campaign sim generate --users N [--seed S] [--now ISO] [--prerequisites] [--sign-in-days D]

serve     starts the Microsoft Graph emulator on 127.0.0.1 with a tenant fixture (Graph-shaped JSON) and prints
          "listening on http://127.0.0.1:PORT"; it stays up until SIGINT/SIGTERM. Point any command at it with
          --graph-url. Graph's throttling limits are on unless --no-throttle.
generate  prints a realistic, seeded tenant fixture (JSON) with N users: admins across the 15 supported roles,
          PIM-eligible admins, two break-glass accounts, devices old and new, passkeys, the FIDO2 policy and each
          example campaign's enforcement group and Conditional Access policy. --prerequisites adds what
          campaign doctor checks beyond the directory: the scheduler identity (client id
          5c000000-0000-4000-8000-000000000001, its Graph permissions enforced), the Teams app in the org catalog
          (id 7e000000-0000-4000-8000-000000000001) and the sender mailbox passkeys@<domain>. --sign-in-days D adds
          D days of sign-in logs (/auditLogs/signIns) with each policy's result; users × D at most 250000.`;

export async function run(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    println(sub ? io.stdout : io.stderr, HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'serve') {
    const p = parseFlags('sim serve', rest, { tenant: { type: 'string' }, port: { type: 'string' }, 'no-throttle': { type: 'boolean' }, token: { type: 'string' } });
    if (p.values.help) {
      println(io.stdout, HELP);
      return 0;
    }
    const { runSimServe } = await import('../../sim/cli.js');
    return runSimServe(
      { tenantFile: path.resolve(io.cwd, requireFlag(p, 'tenant', 'sim serve')), port: intFlag(p, 'port', 0), throttle: !p.values['no-throttle'], token: stringFlag(p, 'token') ?? SIM_TOKEN },
      io,
    );
  }
  if (sub === 'generate') {
    const p = parseFlags('sim generate', rest, { users: { type: 'string' }, seed: { type: 'string' }, now: { type: 'string' }, prerequisites: { type: 'boolean' }, 'sign-in-days': { type: 'string' } });
    if (p.values.help) {
      println(io.stdout, HELP);
      return 0;
    }
    const users = intFlag(p, 'users', 0, 2);
    if (!stringFlag(p, 'users')) throw new UsageError('--users is required.', 'For example: campaign sim generate --users 500 --seed 7 > tenant.json');
    const { runSimGenerate } = await import('../../sim/cli.js');
    const signInDays = intFlag(p, 'sign-in-days', 0, 0);
    return runSimGenerate({ users, seed: stringFlag(p, 'seed'), now: stringFlag(p, 'now'), prerequisites: p.values.prerequisites === true, signInDays }, io);
  }
  throw new UsageError(`unknown subcommand "sim ${sub}".`, 'Use "campaign sim serve" or "campaign sim generate".');
}
