// Typed failures of a reconcile run itself (not of a read or a write); callers read their fields, never their message.
import type { ExemptionProblem } from '../engine/exemptions';
import { RuntimeError } from '../errors';

/**
 * Some exemption entry (break-glass, excluded user or group) could not be established, so the run moved nobody.
 * The run is still recorded: runStarted, exemptionUnresolved per problem, runFinished ok: false.
 */
export class ExemptionCheckError extends RuntimeError {
  override readonly name: string = 'ExemptionCheckError';
  constructor(readonly problems: readonly ExemptionProblem[]) {
    super(`${problems.length === 1 ? 'an exemption' : `${problems.length} exemptions`} of the campaign could not be established, so this run moved nobody and sent nothing:\n` +
      problems.map((p) => `  - ${p.message}`).join('\n'),
    false,
    'Every break-glass entry, excluded user and excluded group must resolve in each run (docs/campaign-author.md, "Exemptions"). Every run stops here until the campaign file is fixed; campaign plan shows the same.');
  }
}
