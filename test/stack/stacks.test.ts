// The example stack configs document every key the config module reads, and nothing else.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALLOWED_GRAPH_ROLES } from '../../src/stack/graph-roles';

const root = path.join(__dirname, '..', '..');
const keysRead = [...fs.readFileSync(path.join(root, 'src', 'stack', 'config.ts'), 'utf8').matchAll(/config\.(?:get|require|getObject|getBoolean|getNumber|requireSecret)(?:<[^>]+>)?\('([A-Za-z]+)'/g)].map((m) => m[1]).sort();
const docs = fs.readFileSync(path.join(root, 'docs', 'platform-engineer.md'), 'utf8');

describe.each(['dev', 'prod'])('stacks/Pulumi.%s.yaml', (stack) => {
  const text = fs.readFileSync(path.join(root, 'stacks', `Pulumi.${stack}.yaml`), 'utf8');
  const config = (parse(text) as { config: Record<string, unknown> }).config;

  it('sets every non-secret key the program reads, each under a comment', () => {
    const set = Object.keys(config).map((k) => k.replace(/^passkey-campaigns:/, ''));
    expect([...set, 'postponeKey'].sort()).toEqual(keysRead);
    for (const key of set) expect(text).toMatch(new RegExp(`#[^\\n]*\\n  passkey-campaigns:${key}:`));
  });

  it('mentions how to set the postponeKey secret', () => {
    expect(text).toContain('--secret postponeKey');
  });
});

describe('docs/platform-engineer.md', () => {
  it.each(keysRead)('documents passkey-campaigns:%s', (key) => {
    expect(docs).toContain(`\`passkey-campaigns:${key}\``);
  });
});

describe('docs/platform-engineer.md Graph permissions table', () => {
  // Each row: the permission, why, and the Graph reference page(s) whose permissions section lists it.
  const rows = new Map(docs.split('\n').filter((l) => /^\| `[A-Za-z.]+` \|/.test(l)).map((l) => [l.split('`')[1]!, l]));
  it.each(ALLOWED_GRAPH_ROLES.filter((r) => r !== 'RoleEligibilitySchedule.Read.Directory'))('lists %s with its reason and a Graph reference page', (role) => {
    const row = rows.get(role);
    expect(row, `no row for ${role}`).toBeDefined();
    expect(row).toMatch(/\]\(https:\/\/learn\.microsoft\.com\/graph\/api\/[a-z0-9-]+\) \|$/);
  });
});
