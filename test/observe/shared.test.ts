// What observe keeps of the pages it reads: one object per directory object, one owner list per single owner, and
// of a registration row only what the engine reads.
import { afterEach, describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../../src/campaign/load';
import type { SnapshotDirectoryObject } from '../../src/engine/snapshot';
import { Graph, SIM_TOKEN } from '../../src/graph/client';
import { observe } from '../../src/observe/observe';
import { FakeClock } from '../../src/sim/clock';
import { generateTenant } from '../../src/sim/generate';
import { startEmulator, type Emulator } from '../../src/sim/server';

const START = '2026-12-01T06:00:00Z';
let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function observed() {
  const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: START });
  const clock = new FakeClock(START);
  emulator = await startEmulator({ tenant: fixture, port: 0, token: SIM_TOKEN, clock });
  const graph = new Graph({ graphUrl: emulator.url, token: async () => SIM_TOKEN, sleep: async (ms) => clock.advance(ms), now: () => clock.now(), retryBudgetMs: 10_000 });
  const c = loadCampaignFile('test/fixtures/campaigns/admins-passkeys.yaml').campaign!;
  c.spec.status = 'inProgress';
  return observe(graph, c);
}

describe('observe: what it keeps of the pages', () => {
  it('shares one owner list among the devices of the same single owner, and one object per directory object', async () => {
    const s = await observed();
    expect(s.readErrors).toEqual([]);
    const byOwner = new Map<string, SnapshotDirectoryObject[][]>();
    for (const d of s.devices) {
      if (d.registeredOwners?.length !== 1) continue;
      const id = d.registeredOwners[0]!.id;
      byOwner.set(id, [...(byOwner.get(id) ?? []), d.registeredOwners]);
    }
    const several = [...byOwner.values()].filter((lists) => lists.length > 1);
    expect(several.length).toBeGreaterThan(0);
    for (const lists of several) expect(new Set(lists).size).toBe(1);

    // An object read in several places (group member, device owner) is one object when id and type match.
    const seen = new Map<string, SnapshotDirectoryObject>();
    let repeated = 0;
    const all = [...s.devices.flatMap((d) => d.registeredOwners ?? []), ...s.enforcementGroupMembers, ...Object.values(s.transitiveMembers).flatMap((m) => m ?? [])];
    for (const o of all) {
      const key = `${o['@odata.type'] ?? ''} ${o.id}`;
      const known = seen.get(key);
      if (known) {
        repeated++;
        expect(o).toBe(known);
      } else seen.set(key, o);
    }
    expect(repeated).toBeGreaterThan(0);
  });

  it('keeps of a registration row its id and methods only, one list per distinct methods', async () => {
    const s = await observed();
    expect(s.registrationDetails.length).toBeGreaterThan(0);
    for (const r of s.registrationDetails) expect(Object.keys(r)).toEqual(['id', 'methodsRegistered']);
    const distinct = new Set(s.registrationDetails.map((r) => JSON.stringify(r.methodsRegistered)));
    expect(new Set(s.registrationDetails.map((r) => r.methodsRegistered)).size).toBe(distinct.size);
  });

  it('asks the caller for the users it already holds, by id, once per user read', async () => {
    const fixture = generateTenant({ users: 60, admins: 20, seed: 5, now: START });
    const clock = new FakeClock(START);
    emulator = await startEmulator({ tenant: fixture, port: 0, token: SIM_TOKEN, clock });
    const graph = new Graph({ graphUrl: emulator.url, token: async () => SIM_TOKEN, sleep: async (ms) => clock.advance(ms), now: () => clock.now(), retryBudgetMs: 10_000 });
    const c = loadCampaignFile('test/fixtures/campaigns/admins-passkeys.yaml').campaign!;
    c.spec.status = 'inProgress';
    const asked = new Set<string>();
    const first = fixture.users![0]!;
    const s = await observe(graph, c, {
      knownUser: (id) => {
        asked.add(id);
        return id === first.id ? { userId: first.id, userPrincipalName: first.userPrincipalName! } : undefined;
      },
    });
    expect(s.readErrors).toEqual([]);
    for (const u of s.users) expect(asked.has(u.id)).toBe(true);
    // Same content as without it: only where the strings live differs.
    const plain = await observe(graph, c);
    expect(s.users).toEqual(plain.users);
  });
});
