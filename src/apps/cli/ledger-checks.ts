// The ledger checks that status, history and postpone share with reconcile (engine/lifecycle.ts): the ledger
// is this campaign's, `now` is not before its last run, and a started campaign has one where we looked.
import type { Campaign } from '../../campaign/types';
import { clockRefusal, identityRefusal, ledgerPosition, LedgerRefusedError, noLedgerForStarted } from '../../engine/lifecycle';
import type { LedgerEvent } from '../../ledger/events';
import type { LedgerStore } from '../../ledger/store';
import { println, type Io } from './io';

/**
 * Throws LedgerRefusedError (exit 2) for another campaign's ledger, a `now` before its last run (when given), or
 * no ledger for a campaign its file says has started. For a notStarted campaign without a ledger it says on
 * stderr where it looked, so a mistyped --state shows. `events` may be only the runs and resets (what the checks
 * read) with `empty` saying whether the ledger has any event the overview keeps.
 */
export function checkLedgerFor(command: string, campaign: Campaign, store: LedgerStore, events: readonly LedgerEvent[], io: Io, now?: Date, empty = events.length === 0): void {
  const name = campaign.metadata.name;
  const where = store.location(name);
  const position = ledgerPosition(events);
  const refusal =
    identityRefusal(position, { campaign: name, where }) ??
    (now ? clockRefusal(position, { campaign: name, now: now.toISOString() }) : null) ??
    (empty && campaign.spec.status !== 'notStarted' ? noLedgerForStarted(name, campaign.spec.status, where, false) : null);
  if (refusal) throw new LedgerRefusedError(refusal);
  if (empty) println(io.stderr, `campaign ${command}: no ledger at ${where} yet (${name} is notStarted).`);
}
