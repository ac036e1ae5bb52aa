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
export async function replaceFile(tmp: string, file: string, text: string | Iterable<string>): Promise<void> {
  try {
    const fh = await fsp.open(tmp, 'wx', 0o644);
    try {
      if (typeof text === 'string') await fh.writeFile(text);
      else for (const piece of text) await fh.write(piece);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
}
