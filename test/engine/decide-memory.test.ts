// What a first run's decisions hold per user (a large tenant's first run decides for every user at once): the two
// decisions, their shared sentences, and one notification key, as one string each.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { decide, emptyState, type Decision } from '../../src/engine';
import { campaign, NOW, observation, OLD_IPHONE, user } from './fixtures';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const USERS = 50_000;

describe('decide: memory of a first run', () => {
  // Measured on Node 20: about 400 bytes a user; 470 when each key was held as the chain of concatenations a
  // template literal builds, and each device sentence likewise.
  it('holds at most 440 bytes per user entering a stage and notified (two decisions and the notice key)', () => {
    const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
    const users = Array.from({ length: USERS }, (_, i) => user({
      userId: `${hex(i, 8)}-0000-4000-8000-${hex(i * 7919, 12)}`,
      userPrincipalName: `user${i}@contoso.com`,
      displayName: `User ${i}`,
      // One in ten with an outdated device: a sentence of their own that names it.
      ...(i % 10 === 0 ? { devices: [{ ...OLD_IPHONE(), displayName: `iPhone ${i}` }] } : {}),
    }));
    const o = observation(users);
    const state = emptyState();
    const c = campaign();
    // Compiled once before it is measured: the code is not the decisions.
    for (let i = 0; i < 3; i++) decide(c, observation(users.slice(0, 2_000)), state, NOW);
    gc();
    const before = process.memoryUsage().heapUsed;
    const decisions: Decision[] = decide(c, o, state, NOW);
    gc();
    const perUser = (process.memoryUsage().heapUsed - before) / USERS;
    expect(decisions.filter((d) => d.type === 'notify')).toHaveLength(USERS);
    expect(decisions).toHaveLength(2 * USERS);
    expect(perUser).toBeGreaterThan(100);
    expect(perUser).toBeLessThan(440);
  });
});
