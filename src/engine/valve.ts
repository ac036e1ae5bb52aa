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

/** Groups decisions by user, keeping each user's decisions in order. */
function byUser(decisions: readonly Decision[]): Array<{ userId: string | null; list: Decision[] }> {
  const out: Array<{ userId: string | null; list: Decision[] }> = [];
  for (const d of decisions) {
    const last = out[out.length - 1];
    if (last && last.userId !== null && last.userId === d.userId) last.list.push(d);
    else out.push({ userId: d.userId, list: [d] });
  }
  return out;
}

/**
 * The blast-radius valve: at most maxNewPerRun users join the enforcement group per run. A user
 * over the limit makes no move at all this run (the next run picks them up), so nobody is told
 * "you are enforced" without being in the group.
 */
export function applyValve(decisions: readonly Decision[], maxNewPerRun: number): { kept: Decision[]; deferred: number } {
  let adds = 0;
  let deferred = 0;
  const kept: Decision[] = [];
  for (const g of byUser(decisions)) {
    // Graduations have their own valve (applyGraduationValve): only adds to the enforcement group count here.
    const wantsAdd = g.list.some((d) => d.type === 'addToGroup' && d.group !== 'graduated');
    if (wantsAdd && adds >= maxNewPerRun) {
      deferred++;
      continue;
    }
    if (wantsAdd) adds++;
    for (const item of g.list) kept.push(item);
  }
  return { kept, deferred };
}

/**
 * The graduation valve: at most maxGraduationsPerRun users move from enforced to graduated per run (with or without
 * a write: an existing member of the graduated group counts too). A user over the limit makes no move this run.
 */
export function applyGraduationValve(decisions: readonly Decision[], maxGraduationsPerRun: number): { kept: Decision[]; deferred: number } {
  let moves = 0;
  let deferred = 0;
  const kept: Decision[] = [];
  for (const g of byUser(decisions)) {
    const graduates = g.list.some((d) => d.type === 'enterStage' && d.to === 'graduated');
    if (graduates && moves >= maxGraduationsPerRun) {
      deferred++;
      continue;
    }
    if (graduates) moves++;
    for (const item of g.list) kept.push(item);
  }
  return { kept, deferred };
}
