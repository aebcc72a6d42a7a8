/**
 * One loader task = one batch: read + preprocess (or take from the cache) each volume, then draw V augmented
 * views of it. Runs the same way in a worker thread and on the main thread, so results do not depend on where
 * (or in which order) tasks ran.
 */
import { GeoclrError, ShapeError } from '../../src/errors.js';
import { Rng } from '../../src/util/random.js';
import { type Transform } from './augment.js';
import { readNiftiSync } from './nifti/read.js';
import { preprocessVolume, type PreprocessSpec } from './preprocess.js';
import { type Volume } from './volume.js';

export interface TaskItem {
  /** Row index in the manifest. */
  index: number;
  path: string;
  /** One augmentation seed per view. */
  seeds: number[];
  /** The preprocessed volume, when cached (SharedArrayBuffer-backed when it came from a worker). */
  cached?: { data: Float32Array; shape: number[] };
}

export interface TaskResult {
  /** V arrays, each B·D·H·W for the B good items. */
  views: Float32Array[];
  /** [X, Y, Z] of every volume (null when every item was bad). */
  shape: number[] | null;
  /** Manifest indices of the good items, in batch order. */
  ok: number[];
  bad: { index: number; problem: string }[];
  /** Newly preprocessed volumes to cache. */
  cache: { index: number; data: Float32Array; shape: number[] }[];
}

function problemOf(e: unknown): string {
  if (e instanceof GeoclrError && 'problem' in e) return String((e as { problem: string }).problem);
  return (e as Error)?.message ?? String(e);
}

/** Copies into shared memory so the main thread can keep it and hand it to any worker without copying. */
function shareable(data: Float32Array, shared: boolean): Float32Array {
  if (!shared) return data;
  const out = new Float32Array(new SharedArrayBuffer(data.byteLength));
  out.set(data);
  return out;
}

export function runTask(items: TaskItem[], views: number, preprocess: PreprocessSpec, transform: Transform | null, wantCache: boolean, shared: boolean): TaskResult {
  const vols: { index: number; vol: Volume; seeds: number[] }[] = [];
  const bad: TaskResult['bad'] = [];
  const cache: TaskResult['cache'] = [];
  for (const it of items) {
    if (it.cached) {
      const vol: Volume = { shape: it.cached.shape, spacing: [1, 1, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], data: it.cached.data };
      vols.push({ index: it.index, vol, seeds: it.seeds });
      continue;
    }
    let vol: Volume;
    try {
      vol = preprocessVolume(readNiftiSync(it.path), preprocess);
    } catch (e) {
      bad.push({ index: it.index, problem: problemOf(e) });
      continue;
    }
    if (wantCache) {
      const data = shareable(vol.data as Float32Array, shared);
      vol = { ...vol, data };
      cache.push({ index: it.index, data, shape: vol.shape.slice(0, 3) });
    }
    vols.push({ index: it.index, vol, seeds: it.seeds });
  }
  if (vols.length === 0) return { views: [], shape: null, ok: [], bad, cache };
  const shape = vols[0].vol.shape.slice(0, 3);
  const frame = shape[0] * shape[1] * shape[2];
  for (const v of vols) {
    if (v.vol.shape.slice(0, 3).join() !== shape.join()) {
      throw new ShapeError(
        `loader: volumes in one batch differ in shape (${v.vol.shape.join('×')} vs ${shape.join('×')}); set preprocess.shape (and spacing) so every volume lands on one grid`,
      );
    }
  }
  const out = Array.from({ length: views }, () => new Float32Array(vols.length * frame));
  vols.forEach((v, j) => {
    for (let k = 0; k < views; k++) {
      const data = transform ? transform({ image: v.vol }, new Rng(v.seeds[k])).image.data : v.vol.data;
      out[k].set(data, j * frame);
    }
  });
  return { views: out, shape, ok: vols.map((v) => v.index), bad, cache };
}
