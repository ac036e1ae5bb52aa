// The hash chain's definition (src/ledger/chain.ts), checked against node:crypto by hand.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHAIN_GENESIS, ChainWalker, chainLine, splitChained, stripChain } from '../../src/ledger/chain';
import { decodeLine, encodeBatch, encodeEvent } from '../../src/ledger/codec';
import type { LedgerEvent } from '../../src/ledger/events';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function event(i: number): LedgerEvent {
  return { v: 1, at: `2026-12-0${1 + (i % 9)}T06:00:00.000Z`, type: 'runStarted', runId: `run-${i}`, campaign: 'c-one', status: 'inProgress' };
}

/** n chained lines after `prefix` (complete lines, each with its '\n'). */
function chained(n: number, prefix = ''): string[] {
  const lines: string[] = [];
  let prev = prefix === '' ? CHAIN_GENESIS : sha(prefix);
  for (let i = 0; i < n; i++) {
    const { line, h } = chainLine(prev, encodeEvent(event(i)));
    lines.push(line);
    prev = h;
  }
  return lines;
}

function walk(lines: string[]): ChainWalker {
  const w = new ChainWalker();
  for (const l of lines) w.line(l);
  return w;
}

describe('the chain definition', () => {
  it('genesis is the SHA-256 of nothing, and h is SHA-256(prev hex + body)', () => {
    expect(CHAIN_GENESIS).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const body = encodeEvent(event(0));
    const { line, h } = chainLine(CHAIN_GENESIS, body);
    expect(h).toBe(sha(CHAIN_GENESIS + body));
    expect(line).toBe(`${body.slice(0, -1)},"h":"${h}"}`);
    expect(JSON.parse(line).h).toBe(h);
    expect(splitChained(line)).toEqual({ body, h });
    expect(stripChain(line)).toBe(body);
    expect(stripChain(body)).toBe(body);
  });

  it('readers never see the chain member; writers may not set it', () => {
    const [line] = chained(1);
    expect(decodeLine(line, 'ledger.jsonl', 1)).toEqual(event(0));
    expect(() => encodeBatch([{ ...event(0), h: "x" } as unknown as LedgerEvent])).toThrow(/"h" is reserved/);
  });

  it('an intact chain walks clean', () => {
    const w = walk(chained(5));
    expect(w.broken).toBeNull();
    expect(w.startsAt).toBe(1);
    expect(w.lines).toBe(5);
  });

  it.each([
    ['edited', (l: string[]) => { l[2] = l[2].replace('run-2', 'run-X'); }, 3],
    ['removed', (l: string[]) => void l.splice(2, 1), 3],
    ['reordered', (l: string[]) => { [l[2], l[3]] = [l[3], l[2]]; }, 3],
    ['inserted unchained', (l: string[]) => void l.splice(2, 0, encodeEvent(event(9))), 3],
    ['first line edited', (l: string[]) => { l[0] = l[0].replace('run-0', 'run-Y'); }, 1],
  ])('a %s line breaks the chain at that line', (_what, tamper, line) => {
    const lines = chained(6);
    tamper(lines);
    expect(walk(lines).broken?.line).toBe(line);
  });

  it('a ledger written before the chain is covered as a block by the first chained line', () => {
    const old = [encodeEvent(event(10)), encodeEvent(event(11))];
    const prefix = old.map((l) => `${l}\n`).join('');
    const lines = [...old, ...chained(3, prefix)];
    const w = walk(lines);
    expect(w.broken).toBeNull();
    expect(w.startsAt).toBe(3);
    expect(w.unchained).toBe(2);
    lines[0] = lines[0].replace('run-10', 'run-Z');
    const broken = walk(lines).broken;
    expect(broken?.line).toBe(3);
    expect(broken?.message).toMatch(/lines 1–2 written before the chain began/);
  });
});
