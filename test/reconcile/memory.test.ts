// What a reconcile keeps while it writes its report checkpoint (the last step, which reads the ledger again): not
// the events it wrote. At a large tenant those are millions of objects (issue 17: peak memory at 1,000,000 users).
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LedgerEvent } from '../../src/ledger/events';
import type { ReadAfterOptions } from '../../src/ledger/store';
import { harness, type Harness } from './harness';

// act wrapped to see what it returns: the decisions it applied and the state after them.
const fromAct = vi.hoisted(() => ({ refs: [] as Array<WeakRef<object>> }));
vi.mock('../../src/act', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/act')>();
  return {
    ...m,
    act: async (x: Parameters<typeof m.act>[0]) => {
      const r = await m.act(x);
      for (const d of r.applied) fromAct.refs.push(new WeakRef(d));
      for (const [id, u] of Object.entries(r.after.users)) if (x.state.users[id] !== u) fromAct.refs.push(new WeakRef(u));
      return r;
    },
  };
});

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('reconcile memory', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('does not keep the events it wrote, its decisions or the state act computed once they are in the ledger and its checkpoint', async () => {
    h = await harness({ admins: 40 });
    const store = h.store;
    const written: Array<WeakRef<LedgerEvent>> = [];
    let finished = false;
    const alive: number[] = [];
    const decided: number[] = [];
    fromAct.refs.length = 0;
    const append = store.append.bind(store);
    store.append = async (campaign: string, events: LedgerEvent[]) => {
      for (const e of events) {
        if ('userId' in e) written.push(new WeakRef(e));
        if (e.type === 'runFinished' && e.ok) finished = true;
      }
      return append(campaign, events);
    };
    const readAfter = store.readAfter.bind(store);
    store.readAfter = async (campaign: string, mark: Parameters<typeof readAfter>[1], opts?: ReadAfterOptions) => {
      // The report checkpoint's read, after the run is recorded as finished (the run's own checkpoint counts lines only).
      if (finished && !opts?.linesOnly) {
        gc();
        alive.push(written.filter((w) => w.deref() !== undefined).length);
        decided.push(fromAct.refs.filter((w) => w.deref() !== undefined).length);
      }
      return readAfter(campaign, mark, opts);
    };

    const r = await h.run(0);
    expect(r.transitions.length).toBeGreaterThan(0);
    expect(written.length).toBeGreaterThan(r.transitions.length);
    expect(alive.length).toBeGreaterThan(0);
    expect(alive).toEqual(alive.map(() => 0));
    // Nor the decisions it applied, nor the state act computed after them (its copy of the users they name).
    expect(fromAct.refs.length).toBeGreaterThan(r.transitions.length);
    expect(decided).toEqual(decided.map(() => 0));
  });
});
