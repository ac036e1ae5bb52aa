// `campaign sim generate` streams the tenant's JSON in pieces (a 1,000,000-user tenant is more text than one
// JavaScript string holds); the pieces must join to exactly what JSON.stringify gives.
import { describe, expect, it } from 'vitest';
import { jsonPieces } from '../../src/sim/cli';
import { generateTenant } from '../../src/sim/generate';

describe('jsonPieces', () => {
  it('joins to JSON.stringify of a generated tenant, the collections item by item', () => {
    const fixture = generateTenant({ users: 300, seed: 3, prerequisites: true });
    const pieces = [...jsonPieces(fixture, 4096)];
    expect(pieces.join('')).toBe(JSON.stringify(fixture));
    // The users alone are more than 4,096 characters: they came in several pieces.
    expect(pieces.length).toBeGreaterThan(JSON.stringify(fixture.users).length / 4096);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(JSON.stringify(fixture).length / 4);
  });

  it('skips undefined members and keeps every kind of value as JSON.stringify does', () => {
    const value = { a: undefined, list: [1, undefined, 'x', { y: undefined, z: 2 }], map: { k: [1], gone: undefined, n: null }, date: new Date(0), s: 'é"\n', n: 3, empty: [], none: {} };
    expect([...jsonPieces(value, 1)].join('')).toBe(JSON.stringify(value));
    expect([...jsonPieces({}, 1)].join('')).toBe('{}');
  });
});
