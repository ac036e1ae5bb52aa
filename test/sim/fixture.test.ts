import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FixtureError, loadFixtureFile, parseFixture, validateFixture } from '../../src/sim/fixture';
import { startEmulator } from '../../src/sim/server';
import { tinyTenant } from './tiny-tenant';

const dir = mkdtempSync(join(tmpdir(), 'sim-fixture-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const problems = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FixtureError);
    return (e as FixtureError).message;
  }
  throw new Error('expected a FixtureError');
};

describe('loadFixtureFile', () => {
  it('loads a valid fixture', () => {
    const path = file('ok.json', JSON.stringify(tinyTenant()));
    const { fixture, warnings } = loadFixtureFile(path);
    expect(fixture.users).toHaveLength(6);
    expect(warnings).toEqual([]);
  });

  it.each([
    {
      name: 'a missing file',
      path: () => join(dir, 'missing.json'),
      message: (p: string) => `${p}: no such file. Pass a tenant fixture, e.g. one written by "campaign sim generate --users 50 > tenant.json".`,
    },
    { name: 'bad JSON, with line and column', path: () => file('bad.json', '{\n  "users": [\n    {"id": "u1",}\n  ]\n}'), message: (p: string) => expect.stringMatching(new RegExp(`^${p}: 3:\\d+: not valid JSON`)) },
    {
      name: 'a user without a UPN',
      path: () => file('upn.json', JSON.stringify({ users: [{ id: 'u1', displayName: 'x' }] })),
      message: (p: string) => `${p}: $.users[0].userPrincipalName: is required (such as "adele@contoso.com").`,
    },
    {
      name: 'a wrongly typed field',
      path: () => file('type.json', JSON.stringify({ devices: [{ id: 'd1', accountEnabled: 'yes' }] })),
      message: (p: string) => `${p}: $.devices[0].accountEnabled: must be true or false (got "yes").`,
    },
    {
      name: 'a bad date',
      path: () => file('date.json', JSON.stringify({ devices: [{ id: 'd1', approximateLastSignInDateTime: 'yesterday' }] })),
      message: (p: string) => `${p}: $.devices[0].approximateLastSignInDateTime: must be an ISO 8601 date-time such as "2026-01-31T08:00:00Z" (got "yesterday").`,
    },
    {
      name: 'duplicate ids',
      path: () => file('dup.json', JSON.stringify({ groups: [{ id: 'g', displayName: 'a' }, { id: 'g', displayName: 'b' }] })),
      message: (p: string) => `${p}: $.groups[1].id: duplicate id "g" in groups.`,
    },
    {
      name: 'duplicate UPNs ignoring case',
      path: () => file('dupupn.json', JSON.stringify({ users: [{ id: 'a', userPrincipalName: 'A@x.com' }, { id: 'b', userPrincipalName: 'a@X.com' }] })),
      message: (p: string) => `${p}: $.users[1].userPrincipalName: duplicate of $.users[0] (UPNs are unique, ignoring case).`,
    },
    {
      name: 'an unknown collection',
      path: () => file('typo.json', JSON.stringify({ user: [] })),
      message: (p: string) => expect.stringMatching(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\$\\.user: unknown collection; expected one of users,`)),
    },
    {
      name: 'fido2Methods that are not arrays',
      path: () => file('fido.json', JSON.stringify({ fido2Methods: { u1: { id: 'm' } } })),
      message: (p: string) => `${p}: $.fido2Methods.u1: must be an array of fido2AuthenticationMethod objects (got {"id":"m"}).`,
    },
  ])('reports $name as file: JSON path: message, without a stack trace', ({ path, message }) => {
    const p = path();
    const text = problems(() => loadFixtureFile(p));
    expect(text).toEqual(message(p));
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('caps a long list of problems', () => {
    const users = Array.from({ length: 30 }, (_, i) => ({ id: `u${i}` }));
    const text = problems(() => parseFixture(JSON.stringify({ users }), 'big.json'));
    expect(text.split('\n')).toHaveLength(21);
    expect(text).toMatch(/big\.json: … and 10 more problems$/);
  });
});

describe('validateFixture', () => {
  it('reduces exported [{ id }] references to ids and defaults directoryScopeId', () => {
    const { fixture, errors } = validateFixture({
      users: [{ id: 'u1', userPrincipalName: 'u1@contoso.com' }],
      devices: [{ id: 'd1', registeredOwners: [{ '@odata.type': '#microsoft.graph.user', id: 'u1' }] }],
      roleAssignments: [{ id: 'r1', principalId: 'u1', roleDefinitionId: 'x' }],
    });
    expect(errors).toEqual([]);
    expect(fixture.devices?.[0]?.registeredOwners).toEqual(['u1']);
    expect(fixture.roleAssignments?.[0]?.directoryScopeId).toBe('/');
  });

  it('warns about dangling references instead of failing', () => {
    const { errors, warnings } = validateFixture({
      users: [{ id: 'u1', userPrincipalName: 'u1@contoso.com' }],
      devices: [{ id: 'd1', registeredOwners: ['ghost'] }],
      groups: [{ id: 'g1', displayName: 'G', members: ['ghost2'] }],
    });
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      '$.devices[0].registeredOwners[0]: "ghost" is not a user in $.users.',
      '$.groups[0].members[0]: "ghost2" is not a user, group or device in this fixture.',
    ]);
  });

  it('makes startEmulator reject an invalid tenant with a FixtureError', async () => {
    await expect(startEmulator({ tenant: { users: [{ id: 'x' }] } as never })).rejects.toBeInstanceOf(FixtureError);
  });
});
