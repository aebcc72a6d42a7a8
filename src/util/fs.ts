/**
 * Atomic file output: write to a temporary file beside the target, fsync, then rename over it.
 * A crash or an error mid-write never leaves a truncated file under the final name (checkpoints,
 * exported weights, embeddings, NIfTI volumes all go through here).
 */
import { promises as fsp, openSync, writeSync, fsyncSync, closeSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
}

/** Writes `data` to `target` atomically (temp file + fsync + rename). Creates the parent folder. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempName(target);
  try {
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** Synchronous twin of `writeFileAtomic`. */
export function writeFileAtomicSync(target: string, data: Uint8Array | string): void {
  const tmp = tempName(target);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Runs `write(tmpPath)` (for writers that stream to a path themselves, e.g. Parquet) and renames the result
 * onto `target` only if it succeeds; on failure the temporary file is removed and the error re-thrown.
 */
export async function withAtomicPath<T>(target: string, write: (tmpPath: string) => Promise<T>): Promise<T> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempName(target);
  try {
    const out = await write(tmp);
    await fsp.rename(tmp, target);
    return out;
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}
