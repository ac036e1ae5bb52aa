// The observation snapshot of a reconcile: written right after decide, shown only once the run is recorded as
// finished (where it was written before), discarded when the run fails first; and the observed devices that do not
// decide readiness let go of before act.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Observation } from '../../src/engine/types';
import type { LedgerEvent } from '../../src/ledger/events';
import { reduceObservedDevices } from '../../src/report/report-observation';
import { harness, type Harness } from './harness';

// act wrapped to look at the heap as it starts.
const atAct = vi.hoisted(() => ({ hook: null as null | (() => void) }));
vi.mock('../../src/act', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/act')>();
  return { ...m, act: async (x: Parameters<typeof m.act>[0]) => { atAct.hook?.(); return m.act(x); } };
});

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('reconcile observation snapshot', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    atAct.hook = null;
    await h?.close();
    h = undefined;
  });
  const snapshots = () => path.join(h!.dir, h!.campaign.metadata.name, 'snapshots');
  const observationFile = () => path.join(snapshots(), 'observation.json');

  it('lets go of the observed devices that do not decide readiness before act', async () => {
    h = await harness({ admins: 60, seed: 5 });
    const store = h.store;
    const devices: Array<WeakRef<object>> = [];
    let kept = -1;
    const stage = store.stageSnapshot.bind(store);
    store.stageSnapshot = async (campaign: string, name: string, json: unknown) => {
      if (name === 'observation') {
        const o = json as Observation;
        for (const u of o.users) for (const d of u.devices) devices.push(new WeakRef(d));
        const reduced = structuredClone(o);
        reduceObservedDevices(h!.campaign, reduced);
        kept = reduced.users.reduce((n, u) => n + u.devices.length, 0);
      }
      return stage(campaign, name, json);
    };
    const alive: number[] = [];
    atAct.hook = () => {
      gc();
      alive.push(devices.filter((w) => w.deref() !== undefined).length);
    };
    const r = await h.run(0);
    expect(r.transitions.length).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(0);
    expect(devices.length).toBeGreaterThan(kept * 2);
    expect(alive).toEqual([kept]);
  });

  it('shows the new snapshot only once runFinished is written, and the previous one until then', async () => {
    h = await harness({ admins: 40 });
    const store = h.store;
    const seen: Array<string | null> = [];
    const read = () => (fs.existsSync(observationFile()) ? fs.readFileSync(observationFile(), 'utf8') : null);
    atAct.hook = () => void seen.push(read());
    const append = store.append.bind(store);
    store.append = async (campaign: string, events: LedgerEvent[]) => {
      if (events.some((e) => e.type === 'runFinished')) seen.push(read());
      return append(campaign, events);
    };
    await h.run(0);
    const first = read();
    expect(first).not.toBeNull();
    expect(seen).toEqual([null, null]);
    seen.length = 0;
    await h.run(1);
    expect(seen).toEqual([first, first]);
    expect(read()).not.toBe(first);
    expect(fs.readdirSync(snapshots()).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('writes the same snapshot in finish with a store that cannot stage', async () => {
    h = await harness({ admins: 40 });
    await h.run(0);
    const staged = fs.readFileSync(observationFile(), 'utf8');
    await h.close();
    h = await harness({ admins: 40 });
    const store = h.store as { stageSnapshot?: unknown };
    store.stageSnapshot = undefined;
    await h.run(0);
    expect(fs.readFileSync(observationFile(), 'utf8')).toBe(staged);
  });

  it('discards the staged snapshot when the run fails before it is finished: the previous one stays, no temp file is left', async () => {
    h = await harness({ admins: 40 });
    await h.run(0);
    const before = fs.readFileSync(observationFile(), 'utf8');
    const store = h.store;
    let staged = 0;
    const stage = store.stageSnapshot.bind(store);
    store.stageSnapshot = async (campaign: string, name: string, json: unknown) => {
      staged++;
      return stage(campaign, name, json);
    };
    let temps: string[] = [];
    atAct.hook = () => void (temps = fs.readdirSync(snapshots()).filter((n) => n.includes('.tmp-')));
    const append = store.append.bind(store);
    store.append = async (campaign: string, events: LedgerEvent[]) => {
      if (events.some((e) => e.type === 'runStarted')) throw new Error('disk full');
      return append(campaign, events);
    };
    // A week later: users move, so act writes.
    await expect(h.run(8)).rejects.toThrow('disk full');
    expect(staged).toBe(1);
    expect(temps).toEqual([expect.stringMatching(/^\.observation\.json\.tmp-/)]);
    expect(fs.readFileSync(observationFile(), 'utf8')).toBe(before);
    expect(fs.readdirSync(snapshots()).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});
