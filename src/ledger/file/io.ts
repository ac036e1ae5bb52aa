// Small file-system helpers of the file store.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // Directories cannot be opened or fsynced on some platforms (Windows); the rename is still atomic there.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Writes `text` to `tmp` (created, never reused), syncs it and renames it over `file`: readers see old or new. */
export async function replaceFile(tmp: string, file: string, text: string | Iterable<string | Buffer>): Promise<void> {
  await writeTemp(tmp, text);
  await renameTemp(tmp, file);
}

/** Bytes of the buffer writeTemp encodes text pieces into (a larger piece gets a buffer of its own). */
export const WRITE_SCRATCH_BYTES = 4 * 1024 * 1024;

/**
 * Writes `text` to `tmp` (created, never reused) and syncs it; removes it again when that fails. Text pieces are
 * encoded into one buffer reused for the whole file: a buffer per piece is memory outside the heap that stays until
 * the collector frees it, hundreds of megabytes behind a snapshot of a million users.
 */
export async function writeTemp(tmp: string, text: string | Iterable<string | Buffer>): Promise<void> {
  try {
    const fh = await fsp.open(tmp, 'wx', 0o644);
    try {
      if (typeof text === 'string') await fh.writeFile(text);
      else {
        let scratch: Buffer | null = null;
        for (const piece of text) {
          if (typeof piece !== 'string') {
            await writeAll(fh, piece);
            continue;
          }
          const bytes = Buffer.byteLength(piece, 'utf8');
          if (bytes > WRITE_SCRATCH_BYTES) {
            await writeAll(fh, Buffer.from(piece, 'utf8'));
            continue;
          }
          scratch ??= Buffer.allocUnsafe(WRITE_SCRATCH_BYTES);
          scratch.write(piece, 0, bytes, 'utf8');
          await writeAll(fh, scratch.subarray(0, bytes));
        }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Renames the synced `tmp` over `file` (readers see old or new); removes `tmp` when that fails. */
export async function renameTemp(tmp: string, file: string): Promise<void> {
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Writes all of `data` at the file's position (a write may take fewer bytes than it was given). */
async function writeAll(fh: FileHandle, data: string | Buffer): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let off = 0; off < bytes.length; ) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
}
