// Crash safety. Every side effect of a run is preceded by an intent in the ledger and followed by its
// outcome; the next run reads what is still open and settles it before doing anything new.
//
//   group add      groupAddIntent ──► POST members/$ref ──► groupAddOutcome (added | failed)
//                  open at the next run: re-driven if this run's decisions still want the add (already a
//                  member = success), rolled back if they no longer do and the user is in the group.
//   notification   notificationSent (the decision; at most once) ──► notificationDispatch (a group of keys,
//                  just before Graph sees them) ──► POST ──► notificationOutcome
//                  open and never dispatched: certainly not sent → sent now (if the user is still in that stage).
//                  dispatched without an outcome (the run died mid-send, or no answer came back):
//                    email → looked up by key in the sender's Sent Items: found = delivered, else sent now;
//                    Teams → no read API exists: recorded as inDoubt and never sent again (at most once).
//
// Only runs that started with `intents: 1` are read this way: older ledgers recorded no outcomes.
import type { GroupAddIntentEvent, LedgerEvent, NotificationSentEvent, RunFinishedEvent } from '../ledger/events';
import { LEDGER_VERSION } from '../ledger/events';

export interface OpenNotification {
  sent: NotificationSentEvent;
  /** A dispatch was recorded: Graph may have executed it. */
  dispatched: boolean;
}

export interface OpenIntents {
  /** Runs that started and never finished, oldest first. */
  interruptedRuns: string[];
  /** Recorded notifications whose delivery is not settled, in ledger order. */
  notifications: OpenNotification[];
  /** Group adds that were intended and never got an outcome, by user. */
  groupAdds: GroupAddIntentEvent[];
}

/** What is still open in a ledger (events oldest first). */
export function openIntents(events: readonly LedgerEvent[]): OpenIntents {
  const intentRuns = new Set<string>();
  const started: string[] = [];
  const finished = new Set<string>();
  let notifications = new Map<string, OpenNotification>();
  let groupAdds = new Map<string, GroupAddIntentEvent>();
  for (const e of events) {
    switch (e.type) {
      case 'runStarted':
        started.push(e.runId);
        if (e.intents === 1) intentRuns.add(e.runId);
        break;
      case 'runFinished':
        finished.add(e.runId);
        break;
      case 'campaignReset':
      case 'campaignArchived':
        // A new generation starts from a clean slate; what the old one left open went to the archive.
        notifications = new Map();
        groupAdds = new Map();
        break;
      case 'notificationSent':
        if (e.runId !== undefined && intentRuns.has(e.runId)) notifications.set(e.key, { sent: e, dispatched: false });
        break;
      case 'notificationDispatch':
        for (const k of e.keys) {
          const n = notifications.get(k);
          if (n) n.dispatched = true;
        }
        break;
      case 'notificationOutcome': {
        const n = notifications.get(e.key);
        if (!n) break;
        if (e.outcome === 'notSent') n.dispatched = false;
        else if (e.outcome === 'inDoubt' && e.channel === 'email') n.dispatched = true;
        else notifications.delete(e.key);
        break;
      }
      case 'groupAddIntent':
        groupAdds.set(e.userId, e);
        break;
      case 'groupAddOutcome':
        groupAdds.delete(e.userId);
        break;
      default:
        break;
    }
  }
  return {
    interruptedRuns: started.filter((id) => !finished.has(id)),
    notifications: [...notifications.values()],
    groupAdds: [...groupAdds.values()],
  };
}

/** The runFinished lines that close runs which never finished, written by the run that found them. */
export function closeInterruptedRuns(open: OpenIntents, closedBy: string, at: string): RunFinishedEvent[] {
  return open.interruptedRuns.map((runId) => ({
    v: LEDGER_VERSION,
    at,
    type: 'runFinished',
    runId,
    ok: false,
    interrupted: true,
    closedBy,
    error: `the run was interrupted before it finished (killed or crashed); run ${closedBy} settled what it left open`,
  }));
}

/** One line for plan and the log: what a run will settle first. */
export function describeOpen(open: OpenIntents): string | null {
  const parts: string[] = [];
  if (open.interruptedRuns.length) parts.push(`${open.interruptedRuns.length} interrupted run${open.interruptedRuns.length === 1 ? '' : 's'}`);
  if (open.groupAdds.length) parts.push(`${open.groupAdds.length} unconfirmed group add${open.groupAdds.length === 1 ? '' : 's'}`);
  if (open.notifications.length) {
    const d = open.notifications.filter((n) => n.dispatched).length;
    parts.push(`${open.notifications.length} unsettled notification${open.notifications.length === 1 ? '' : 's'} (${d} possibly delivered)`);
  }
  return parts.length ? `the ledger has ${parts.join(', ')}; the next reconcile settles them before acting.` : null;
}
