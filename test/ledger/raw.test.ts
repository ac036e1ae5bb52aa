// The raw-byte helpers behind the hash chain and readRaw: the last complete line read backwards, and complete
// lines handed out in pieces whatever sizes the bytes arrive in.
import { describe, expect, it } from 'vitest';
import { CompleteLines, lastCompleteLine, type ReadAt } from '../../src/ledger/raw';

const readerOf = (bytes: Buffer, reads: Array<[number, number]> = []): ReadAt => async (at, length) => {
  reads.push([at, length]);
  return Buffer.from(bytes.subarray(at, at + length));
};

describe('lastCompleteLine', () => {
  it('is null for an empty ledger', async () => {
    expect(await lastCompleteLine(0, readerOf(Buffer.alloc(0)))).toBeNull();
  });

  it('finds the last line of any length, whatever the chunk size, reading only from the end backwards', async () => {
    const lines = ['{"a":1}', '', 'é🙂'.repeat(50), 'x', '{"b":"' + 'y'.repeat(1000) + '"}'];
    for (const n of [1, 2, 3, lines.length]) {
      const text = `${lines.slice(0, n).join('\n')}\n`;
      const bytes = Buffer.from(text, 'utf8');
      for (const chunk of [1, 2, 7, 64, 1 << 16]) {
        const reads: Array<[number, number]> = [];
        expect(await lastCompleteLine(bytes.length, readerOf(bytes, reads), chunk), `${n} lines, chunk ${chunk}`).toBe(lines[n - 1]);
        for (const [, length] of reads) expect(length).toBeLessThanOrEqual(chunk);
        // Never more than the last line and one chunk before it.
        expect(reads.reduce((sum, [, length]) => sum + length, 0)).toBeLessThanOrEqual(Buffer.byteLength(lines[n - 1]) + chunk);
      }
    }
  });

  it('looks only at the lines before `end` (a partial line after it is ignored)', async () => {
    const bytes = Buffer.from('one\ntwo\npartial', 'utf8');
    expect(await lastCompleteLine(8, readerOf(bytes), 3)).toBe('two');
  });
});

describe('CompleteLines', () => {
  const text = Buffer.from(['{"v":1}', 'é'.repeat(300), '', '🙂 two', 'three'].join('\n') + '\npartial é', 'utf8');
  const complete = text.subarray(0, text.lastIndexOf(0x0a) + 1);

  it('hands out the complete lines in pieces ending at a newline, however the bytes were split', async () => {
    for (const size of [1, 2, 5, 64, text.length]) {
      for (const minPiece of [1, 10, 1 << 20]) {
        const pieces: Buffer[] = [];
        const out = new CompleteLines((p) => void pieces.push(p), minPiece);
        for (let at = 0; at < text.length; at += size) await out.push(Buffer.from(text.subarray(at, at + size)));
        const result = await out.finish();
        expect(Buffer.concat(pieces).equals(complete), `split ${size}, min ${minPiece}`).toBe(true);
        for (const p of pieces) expect(p[p.length - 1]).toBe(0x0a);
        expect(result).toEqual({ lines: 5, bytes: complete.length, partialBytes: Buffer.byteLength('partial é') });
      }
    }
  });

  it('waits for each piece to be taken before handing out the next', async () => {
    const order: string[] = [];
    const out = new CompleteLines(async (p) => {
      order.push(`start ${p.toString().trim()}`);
      await new Promise((r) => setTimeout(r, 5));
      order.push(`end ${p.toString().trim()}`);
    }, 1);
    await out.push(Buffer.from('a\n'));
    await out.push(Buffer.from('b\n'));
    await out.finish();
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
  });

  it('hands out nothing for nothing, or for a lone partial line', async () => {
    for (const input of [[], [Buffer.from('no newline')]]) {
      const pieces: Buffer[] = [];
      const out = new CompleteLines((p) => void pieces.push(p));
      for (const b of input) await out.push(b);
      expect(await out.finish()).toEqual({ lines: 0, bytes: 0, partialBytes: input.length ? 10 : 0 });
      expect(pieces).toEqual([]);
    }
  });
});
