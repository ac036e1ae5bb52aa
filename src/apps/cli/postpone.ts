// `campaign postpone --campaign NAME --user UPN`: records a user's postponement in the ledger,
// as the signed link in a notification would.
import { requestPostponement } from '../../engine/postpone';
import { findUser, foldLedger } from '../../engine/state';
import { intFlag, nowFlag, parseFlags, requireFlag } from './args';
import { CampaignInvalid, resolveCampaign, openStateStore, stateUse } from './common';
import { atPath } from './path-errors';
import { println, type Io } from './io';
import { checkLedgerFor } from './ledger-checks';

export const HELP = `Usage: campaign postpone --campaign NAME|FILE --user UPN [--state DIR] [--now ISO] [--lock-wait SECONDS]

Postpones the user's current stage deadline by spec.postponement.days (at most maxTimes per stage),
exactly as the postponement link in a notification does. No reminders are sent until it ends.
If a reconcile is running on the campaign, waits up to --lock-wait seconds (default 30) for it.

Exit status: 0 postponed, 1 refused (disabled, limit reached, grace exceeded, not in the campaign…), 2 usage error
(also another campaign's ledger, or --now earlier than the last recorded run).`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseFlags('postpone', argv, { campaign: { type: 'string' }, user: { type: 'string' }, state: { type: 'string' }, now: { type: 'string' }, 'lock-wait': { type: 'string' } });
  if (p.values.help) {
    println(io.stdout, HELP);
    return 0;
  }
  const now = nowFlag(p);
  const userRef = requireFlag(p, 'user', 'postpone');
  let campaign;
  try {
    campaign = resolveCampaign(requireFlag(p, 'campaign', 'postpone'), io).campaign;
  } catch (e) {
    if (e instanceof CampaignInvalid) return 1;
    throw e;
  }
  const name = campaign.metadata.name;
  const store = await openStateStore(p, io);
  const stateDir = await stateUse(p, io);
  const lock = await atPath(stateDir, () => store.acquireLock(name, { owner: `postpone ${userRef}`, waitMs: intFlag(p, 'lock-wait', 30) * 1000 }));
  try {
    const { events } = await atPath(stateDir, () => store.read(name));
    checkLedgerFor('postpone', campaign, store, events, io, now);
    const state = foldLedger(events);
    const user = findUser(state, userRef);
    if (!user) {
      println(io.stderr, `campaign postpone: ${userRef} is not in campaign ${name} (no ledger entry). Check the UPN, or run a reconcile first.`);
      return 1;
    }
    const r = requestPostponement(campaign, state, user.userId, now.toISOString());
    if (!r.ok) {
      println(io.stderr, `campaign postpone: refused (${r.reason}): ${r.message}.`);
      return 1;
    }
    await atPath(stateDir, () => store.append(name, [r.event]));
    println(io.stdout, `postponed ${r.event.stage} for ${user.userPrincipalName} until ${r.event.until} (${r.event.count} of ${campaign.spec.postponement.maxTimes}).`);
    return 0;
  } finally {
    await lock.release();
  }
}
