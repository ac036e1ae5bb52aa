// `campaign plan`: see src/apps/cli/reconcile.ts.
import { runCommand } from './reconcile';
import type { Io } from './io';

export const run = (argv: string[], io: Io) => runCommand('plan', argv, io);
