/**
 * Seeded view augmentations for contrastive training on in-memory images and volumes (any number of spatial axes):
 * an integer translation with edge replication, optional flips, an intensity gain and bias, and gaussian noise —
 * mild transforms that keep both the salient factor (a digit's identity, a regional atrophy) and the common ones
 * (texture, site, age) intact, so two views of a sample differ only in nuisances.
 */
import { ConfigError } from '../errors.js';
import { Rng } from '../util/random.js';

export interface ViewAugmentation {
  /**
   * Random resized crop: a box covering a fraction of the image drawn uniformly in [lo, hi] (same fraction per axis,
   * √ or ∛ of it), at a random position, resampled (bi/trilinear) back to the full size — SimCLR's main augmentation.
   * Default null (off).
   */
  crop?: [number, number] | null;
  /** Largest translation per axis, in pixels/voxels (uniform integer in [−shift, shift]). Default 2. */
  shift?: number;
  /** Axes flipped with probability 1/2 each (0 = first spatial axis). Default none. */
  flip?: number[];
  /** Intensity gain drawn in [1 − gain, 1 + gain]. Default 0.1. */
  gain?: number;
  /** Intensity bias drawn in [−bias, bias]. Default 0.1. */
  bias?: number;
  /** Standard deviation of additive gaussian noise. Default 0.05. */
  noise?: number;
}

export type ResolvedViewAugmentation = Required<ViewAugmentation>;

/** Validates an augmentation spec and fills its defaults. */
export function resolveViewAugmentation(spec: ViewAugmentation | undefined, dims: number, field = 'augment'): ResolvedViewAugmentation {
  const s = { crop: null as [number, number] | null, shift: 2, flip: [] as number[], gain: 0.1, bias: 0.1, noise: 0.05, ...(spec ?? {}) };
  for (const k of Object.keys(spec ?? {})) {
    if (!['crop', 'shift', 'flip', 'gain', 'bias', 'noise'].includes(k)) throw new ConfigError(`${field}.${k}`, 'unknown key; expected crop, shift, flip, gain, bias, noise');
  }
  if (s.crop != null) {
    const c = s.crop;
    if (!Array.isArray(c) || c.length !== 2 || !(c[0] > 0 && c[0] <= c[1] && c[1] <= 1)) {
      throw new ConfigError(`${field}.crop`, `must be [lo, hi] with 0 < lo ≤ hi ≤ 1 (area fraction), got ${JSON.stringify(c)}`);
    }
  }
  if (!Number.isInteger(s.shift) || s.shift < 0) throw new ConfigError(`${field}.shift`, `must be an integer ≥ 0, got ${JSON.stringify(s.shift)}`);
  if (!Array.isArray(s.flip) || s.flip.some((a) => !Number.isInteger(a) || a < 0 || a >= dims)) {
    throw new ConfigError(`${field}.flip`, `must list axes in 0..${dims - 1}, got ${JSON.stringify(s.flip)}`);
  }
  for (const k of ['gain', 'bias', 'noise'] as const) {
    if (typeof s[k] !== 'number' || !(s[k] >= 0) || !Number.isFinite(s[k])) throw new ConfigError(`${field}.${k}`, `must be a finite number ≥ 0, got ${JSON.stringify(s[k])}`);
  }
  if (s.gain >= 1) throw new ConfigError(`${field}.gain`, `must be < 1 (gain factor 1 ± gain), got ${s.gain}`);
  return s;
}

/**
 * One augmented view of `src` (shape `shape`, C = 1) written into `out` (same length). All randomness comes from
 * `rng`, so a seeded generator gives the same views.
 */
export function augmentInto(out: Float32Array, src: Float32Array, shape: readonly number[], spec: ResolvedViewAugmentation, rng: Rng): void {
  const dims = shape.length;
  if (spec.crop != null) {
    const cropped = new Float32Array(src.length);
    resizedCrop(cropped, src, shape, rng.uniform(spec.crop[0], spec.crop[1]), rng);
    src = cropped;
  }
  const shifts = shape.map(() => (spec.shift > 0 ? rng.int(-spec.shift, spec.shift + 1) : 0));
  const flips = shape.map((_, a) => spec.flip.includes(a) && rng.bernoulli(0.5));
  const gain = spec.gain > 0 ? rng.uniform(1 - spec.gain, 1 + spec.gain) : 1;
  const bias = spec.bias > 0 ? rng.uniform(-spec.bias, spec.bias) : 0;
  // Per axis, the source coordinate of each output coordinate (shift, clamp = edge replication, flip).
  const maps = shape.map((n, a) =>
    Int32Array.from({ length: n }, (_, i) => {
      const j = Math.min(n - 1, Math.max(0, i - shifts[a]));
      return flips[a] ? n - 1 - j : j;
    }),
  );
  const strides = new Array<number>(dims);
  strides[dims - 1] = 1;
  for (let a = dims - 2; a >= 0; a--) strides[a] = strides[a + 1] * shape[a + 1];
  const last = maps[dims - 1];
  const rowLength = shape[dims - 1];
  const rows = src.length / rowLength;
  for (let r = 0; r < rows; r++) {
    // Decode the row's leading coordinates and find the source row.
    let rem = r;
    let base = 0;
    for (let a = dims - 2; a >= 0; a--) {
      const i = rem % shape[a];
      rem = Math.floor(rem / shape[a]);
      base += maps[a][i] * strides[a];
    }
    const o = r * rowLength;
    for (let i = 0; i < rowLength; i++) out[o + i] = src[base + last[i]] * gain + bias;
  }
  if (spec.noise > 0) for (let i = 0; i < out.length; i++) out[i] += rng.normal(0, spec.noise);
}

/** `views` augmented copies of each of `k` samples, as one Float32Array per view `[k, …shape]`. */
export function augmentBatch(
  batch: Float32Array,
  k: number,
  shape: readonly number[],
  spec: ResolvedViewAugmentation,
  rng: Rng,
  views = 2,
): Float32Array[] {
  const size = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: views }, () => {
    const out = new Float32Array(k * size);
    for (let s = 0; s < k; s++) augmentInto(out.subarray(s * size, (s + 1) * size), batch.subarray(s * size, (s + 1) * size), shape, spec, rng);
    return out;
  });
}

/**
 * A box of `fraction` of the image (each side × fraction^(1/dims)) at a random position, resampled to the full size
 * by separable linear interpolation (pixel centres aligned, edges clamped).
 */
function resizedCrop(out: Float32Array, src: Float32Array, shape: readonly number[], fraction: number, rng: Rng): void {
  const dims = shape.length;
  const side = Math.pow(fraction, 1 / dims);
  let cur = src;
  // One axis at a time: resample axis a of `cur` (shape fixed) into `next`.
  for (let a = 0; a < dims; a++) {
    const n = shape[a];
    const len = Math.max(1, n * side);
    const start = rng.uniform(0, n - len);
    const scale = len / n;
    const lo = new Int32Array(n);
    const hi = new Int32Array(n);
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = Math.min(n - 1, Math.max(0, start + (i + 0.5) * scale - 0.5));
      lo[i] = Math.floor(x);
      hi[i] = Math.min(n - 1, lo[i] + 1);
      w[i] = x - lo[i];
    }
    let inner = 1;
    for (let b = a + 1; b < dims; b++) inner *= shape[b];
    const outer = src.length / (inner * n);
    const next = a === dims - 1 ? out : new Float32Array(src.length);
    for (let o = 0; o < outer; o++) {
      const base = o * n * inner;
      for (let i = 0; i < n; i++) {
        const r0 = base + lo[i] * inner;
        const r1 = base + hi[i] * inner;
        const d = base + i * inner;
        const t = w[i];
        for (let k = 0; k < inner; k++) next[d + k] = cur[r0 + k] * (1 - t) + cur[r1 + k] * t;
      }
    }
    cur = next;
  }
}
