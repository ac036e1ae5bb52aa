import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runSimGenerate, runSimServe } from '../../src/sim/cli';
import { generateTenant } from '../../src/sim/generate';
import type { Emulator } from '../../src/sim/server';
import { tinyTenant } from './tiny-tenant';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

describe('runSimGenerate', () => {
  it('prints the fixture JSON and exits 0', async () => {
    const out = capture();
    const err = capture();
    expect(await runSimGenerate({ users: 20, seed: '5' }, { stdout: out.stream, stderr: err.stream })).toBe(0);
    expect(JSON.parse(out.text())).toEqual(JSON.parse(JSON.stringify(generateTenant({ users: 20, seed: '5' }))));
    expect(err.text()).toBe('');
  });

  it('adds sign-in logs with signInDays, and exits 2 naming --sign-in-days when they would be too many', async () => {
    const out = capture();
    expect(await runSimGenerate({ users: 20, seed: '5', signInDays: 2 }, { stdout: out.stream, stderr: capture().stream })).toBe(0);
    expect(JSON.parse(out.text()).signIns.length).toBeGreaterThan(0);
    const err = capture();
    expect(await runSimGenerate({ users: 200_000, signInDays: 2 }, { stdout: capture().stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toMatch(/^campaign sim generate: 200000 users over 2 days of sign-ins is more than the 250000 sign-ins .*--sign-in-days \(at most 1 for 200000 users\)/);
  });

  it('exits 2 with one clear line for an impossible size', async () => {
    const out = capture();
    const err = capture();
    expect(await runSimGenerate({ users: 1 }, { stdout: out.stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toBe('campaign sim generate: users must be a whole number from 2 to 1000000 (got 1); two of them are the break-glass accounts.\n');
    expect(out.text()).toBe('');
  });
});

describe('runSimServe', () => {
  it('prints the listening line, serves the tenant and stops when told', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
    const file = join(dir, 'tenant.json');
    writeFileSync(file, JSON.stringify(tinyTenant()));
    const out = capture();
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    let emulator: Emulator | undefined;
    const done = runSimServe({ tenantFile: file, port: 0, until, onListening: (e) => (emulator = e) }, { stdout: out.stream, stderr: capture().stream });
    for (let i = 0; i < 100 && !emulator; i++) await new Promise((r) => setTimeout(r, 10));
    expect(out.text()).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    expect(out.text()).toBe(`listening on ${emulator!.url}\n`);
    const res = await fetch(`${emulator!.url}/v1.0/users?$select=id`, { headers: { Authorization: 'Bearer any' } });
    expect(((await res.json()) as { value: unknown[] }).value).toHaveLength(6);
    stop();
    expect(await done).toBe(0);
  });

  it('exits 2 naming the file and JSON path of an invalid fixture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ users: [{ id: 'u1' }] }));
    const err = capture();
    expect(await runSimServe({ tenantFile: file }, { stdout: capture().stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toBe(`campaign sim serve: invalid tenant fixture:\n${file}: $.users[0].userPrincipalName: is required (such as "adele@contoso.com").\n`);
  });
});
