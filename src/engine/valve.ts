// The two brakes on one run's blast radius, both pure: at most maxNewPerRun new enforcements, and no
// action at all when the target set shrank suspiciously since the last completed run.
import type { Decision } from './decide';
import type { LedgerEvent } from '../ledger/events';

/** A run whose target set shrank more than this since the last completed run stops before acting. */
export const MAX_TARGET_DROP = 0.2;

/** Targeted users counted by the last completed run, or null for a first run (or the first after a reset). */
export function previousTargeted(events: readonly LedgerEvent[]): number | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'campaignReset' || e.type === 'campaignArchived') return null;
    if (e.type !== 'runFinished' || e.ok !== true) continue;
    const t = e.counts?.targeted;
    if (typeof t === 'number') return t;
  }
  return null;
}

/** How far the target set shrank, or null when it did not shrink past MAX_TARGET_DROP. */
export function targetDrop(before: number | null, now: number): { before: number; now: number; percent: number } | null {
  if (before === null || before <= 0 || (before - now) / before <= MAX_TARGET_DROP) return null;
  return { before, now, percent: Math.round(((before - now) / before) * 100) };
}

/**
 * Keeps the users (each user's decisions are consecutive; a campaign-level decision is one of its own) for whom
 * `keep(from, to)` holds, over decisions[from, to), in order; counts the others. Allocates nothing per user: when every
 * user is kept, `kept` is `decisions` itself (a first run at a large tenant decides for every user).
 */
export function keepUsers(decisions: readonly Decision[], keep: (decisions: readonly Decision[], from: number, to: number) => boolean): { kept: Decision[]; deferred: number } {
  let deferred = 0;
  let kept: Decision[] | null = null;
  for (let from = 0; from < decisions.length;) {
    const id = decisions[from].userId;
    let to = from + 1;
    if (id !== null) while (to < decisions.length && decisions[to].userId === id) to++;
    if (keep(decisions, from, to)) {
      if (kept) for (let i = from; i < to; i++) kept.push(decisions[i]);
    } else {
      deferred++;
      kept ??= decisions.slice(0, from);
    }
    from = to;
  }
  return { kept: kept ?? (decisions as Decision[]), deferred };
}

/**
 * The blast-radius valve: at most maxNewPerRun users join the enforcement group per run. A user
 * over the limit makes no move at all this run (the next run picks them up), so nobody is told
 * "you are enforced" without being in the group.
 */
export function applyValve(decisions: readonly Decision[], maxNewPerRun: number): { kept: Decision[]; deferred: number } {
  let adds = 0;
  return keepUsers(decisions, (list, from, to) => {
    // Graduations have their own valve (applyGraduationValve): only adds to the enforcement group count here.
    let wantsAdd = false;
    for (let i = from; i < to && !wantsAdd; i++) {
      const d = list[i];
      wantsAdd = d.type === 'addToGroup' && d.group !== 'graduated';
    }
    if (!wantsAdd) return true;
    if (adds >= maxNewPerRun) return false;
    adds++;
    return true;
  });
}

/**
 * The graduation valve: at most maxGraduationsPerRun users move from enforced to graduated per run (with or without
 * a write: an existing member of the graduated group counts too). A user over the limit makes no move this run.
 */
export function applyGraduationValve(decisions: readonly Decision[], maxGraduationsPerRun: number): { kept: Decision[]; deferred: number } {
  let moves = 0;
  return keepUsers(decisions, (list, from, to) => {
    let graduates = false;
    for (let i = from; i < to && !graduates; i++) {
      const d = list[i];
      graduates = d.type === 'enterStage' && d.to === 'graduated';
    }
    if (!graduates) return true;
    if (moves >= maxGraduationsPerRun) return false;
    moves++;
    return true;
  });
}
