// What a reconcile keeps while it writes its report checkpoint (the last step, which reads the ledger again): not
// the events it wrote. At a large tenant those are millions of objects (issue 17: peak memory at 1,000,000 users).
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LedgerEvent } from '../../src/ledger/events';
import type { ReadAfterOptions } from '../../src/ledger/store';
import { harness, type Harness } from './harness';

// act wrapped to see the decisions it is handed.
const fromAct = vi.hoisted(() => ({ refs: [] as Array<WeakRef<object>>, moves: [] as Array<WeakRef<object>> }));
vi.mock('../../src/act', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/act')>();
  return {
    ...m,
    act: async (x: Parameters<typeof m.act>[0]) => {
      for (const d of x.kept) fromAct.refs.push(new WeakRef(d));
      for (const d of x.kept) if (d.type === 'enterStage') fromAct.moves.push(new WeakRef(d));
      return m.act(x);
    },
  };
});

// The run's own folded state: the CampaignState run.ts folds what it wrote onto (before the run is recorded as finished).
const folded = vi.hoisted(() => ({ capture: false, refs: [] as Array<WeakRef<object>>, delivery: [] as Array<WeakRef<object>> }));
vi.mock('../../src/engine/state', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/engine/state')>();
  return {
    ...m,
    applyEvents: (state: Parameters<typeof m.applyEvents>[0], events: Parameters<typeof m.applyEvents>[1]) => {
      if (folded.capture) folded.refs.push(new WeakRef(state));
      return m.applyEvents(state, events);
    },
    deliverySnapshot: (state: Parameters<typeof m.deliverySnapshot>[0], at: string) => {
      const d = m.deliverySnapshot(state, at);
      folded.delivery.push(new WeakRef(d));
      return d;
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

  it('keeps neither the events it wrote, its decisions nor its folded state while it writes the report checkpoint', async () => {
    h = await harness({ admins: 40 });
    const store = h.store;
    const written: Array<WeakRef<LedgerEvent>> = [];
    let finished = false;
    const alive: number[] = [];
    const decided: number[] = [];
    const state: number[] = [];
    fromAct.refs.length = 0;
    folded.refs.length = 0;
    folded.capture = true;
    const append = store.append.bind(store);
    store.append = async (campaign: string, events: LedgerEvent[]) => {
      for (const e of events) {
        if ('userId' in e) written.push(new WeakRef(e));
        if (e.type === 'runFinished' && e.ok) {
          finished = true;
          folded.capture = false;
        }
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
        state.push(folded.refs.filter((w) => w.deref() !== undefined).length);
      }
      return readAfter(campaign, mark, opts);
    };

    const r = await h.run(0);
    expect(r.transitions.length).toBeGreaterThan(0);
    expect(written.length).toBeGreaterThan(r.transitions.length);
    expect(alive.length).toBeGreaterThan(0);
    expect(alive).toEqual(alive.map(() => 0));
    // Nor the decisions it applied.
    expect(fromAct.refs.length).toBeGreaterThan(r.transitions.length);
    expect(decided).toEqual(decided.map(() => 0));
    // Nor its folded state: the report checkpoint folds the campaign again, and both at once would double the peak.
    expect(folded.refs.length).toBeGreaterThan(0);
    expect(state).toEqual(state.map(() => 0));
  });
  it('lets go of the decisions it has recorded before it sends the notices: they are not held beside the state they fold into', async () => {
    h = await harness({ admins: 40 });
    const store = h.store;
    fromAct.moves.length = 0;
    let recorded = false;
    const alive: number[] = [];
    let next = '';
    const append = store.append.bind(store);
    store.append = async (campaign: string, events: LedgerEvent[]) => {
      // The first append after the one that records the moves: act, about to send (or settle) the notices.
      if (recorded && !alive.length) {
        gc();
        alive.push(fromAct.moves.filter((w) => w.deref() !== undefined).length);
        next = events[0].type;
      }
      if (events.some((e) => e.type === 'userEnteredStage')) recorded = true;
      return append(campaign, events);
    };

    const r = await h.run(0);
    // That append is act's own (the notices' dispatch), not what the run writes after act.
    expect(['notificationDispatch', 'notificationOutcome']).toContain(next);
    expect(r.transitions.length).toBeGreaterThan(0);
    expect(fromAct.moves.length).toBe(r.transitions.length);
    expect(alive).toEqual([0]);
  });

  it('folds each batch it appends into the ledger state as it appends it: the events are not kept until the snapshots and the checkpoint', async () => {
    h = await harness({ admins: 40 });
    const store = h.store;
    // The events only the state fold reads (a checkpoint carries the others while their intents are open).
    const stateOnly = new Set<string>(['userEnteredStage', 'addedToGroup', 'leftCampaign', 'alertRaised', 'alertCleared', 'graceExceeded', 'postponed']);
    const written: Array<WeakRef<LedgerEvent>> = [];
    const alive: Record<string, number> = {};
    const delivery: Record<string, number> = {};
    folded.delivery.length = 0;
    const count = (step: string) => {
      gc();
      alive[step] = written.filter((w) => w.deref() !== undefined).length;
      delivery[step] = folded.delivery.filter((w) => w.deref() !== undefined).length;
    };
    const append = store.append.bind(store);
    store.append = async (campaign: string, events: LedgerEvent[]) => {
      for (const e of events) if (stateOnly.has(e.type)) written.push(new WeakRef(e));
      return append(campaign, events);
    };
    const writeSnapshot = store.writeSnapshot.bind(store);
    store.writeSnapshot = async (campaign: string, name: string, json: unknown) => {
      if (!(name in alive)) count(name);
      return writeSnapshot(campaign, name, json);
    };
    // The observation snapshot is staged before decide and shown where it used to be written: counted then.
    const stageSnapshot = store.stageSnapshot.bind(store);
    store.stageSnapshot = async (campaign: string, name: string, json: unknown) => {
      const staged = await stageSnapshot(campaign, name, json);
      return {
        commit: async () => {
          if (!(name in alive)) count(name);
          return staged.commit();
        },
        discard: () => staged.discard(),
      };
    };

    const r = await h.run(0);
    expect(r.transitions.length).toBeGreaterThan(0);
    expect(written.length).toBeGreaterThanOrEqual(r.transitions.length);
    expect(Object.keys(alive)).toEqual(expect.arrayContaining(['observation', 'delivery', 'checkpoint']));
    for (const [step, n] of Object.entries(alive)) expect({ step, n }).toEqual({ step, n: 0 });
    // The delivery snapshot is built when it is written and not kept for the checkpoint.
    expect(folded.delivery.length).toBeGreaterThan(0);
    expect(delivery.checkpoint).toBe(0);
    // The same checkpoint as folding the whole ledger: the next run reads it, not the ledger.
    const header = await store.readSnapshot<{ users: number; ledger: { events: number } }>(h.campaign.metadata.name, 'checkpoint');
    const events = await h.events();
    expect(header?.ledger.events).toBe(events.length);
    expect(header?.users).toBe(Object.keys((await h.state()).users).length);
  });
});
