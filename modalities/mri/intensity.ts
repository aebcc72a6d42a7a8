/**
 * Intensity normalisation: z-score (optionally within a mask), percentile clipping and min–max rescaling.
 * Statistics are accumulated in float64; masks are any same-length array (non-zero = inside) or 'nonzero'.
 */
import { ShapeError, ValueError } from '../../src/errors.js';
import { checkVolume, type Volume } from './volume.js';

export type MaskSpec = 'nonzero' | ArrayLike<number> | Volume;

function maskArray(vol: Volume, mask: MaskSpec | undefined): ArrayLike<number> | null {
  if (mask == null) return null;
  if (mask === 'nonzero') return vol.data;
  const m = 'data' in (mask as Volume) ? (mask as Volume).data : (mask as ArrayLike<number>);
  if (m.length !== vol.data.length) throw new ShapeError(`mask has ${m.length} voxels but the volume has ${vol.data.length}`);
  return m;
}

/** Mean and (population) standard deviation over the voxels in `mask` (all voxels when null). */
export function meanStd(data: ArrayLike<number>, mask: ArrayLike<number> | null = null): { mean: number; std: number; count: number } {
  // shifted single pass (shift = first selected value) keeps float64 sums accurate for image intensities
  let n = 0;
  let shift = 0;
  let s = 0;
  let ss = 0;
  for (let i = 0; i < data.length; i++) {
    if (mask && !mask[i]) continue;
    if (n === 0) shift = data[i];
    const d = data[i] - shift;
    s += d;
    ss += d * d;
    n++;
  }
  if (n === 0) return { mean: 0, std: 0, count: 0 };
  const m = s / n;
  return { mean: shift + m, std: Math.sqrt(Math.max(0, ss / n - m * m)), count: n };
}

/**
 * (v − mean) / std. With a mask, the statistics come from the mask and voxels outside it are set to 0 (as MONAI's
 * NormalizeIntensity with nonzero=True), so a skull-stripped background stays at 0.
 */
export function zscore<T extends Volume>(vol: T, opts: { mask?: MaskSpec; eps?: number } = {}): T {
  checkVolume(vol);
  const m = maskArray(vol, opts.mask);
  const { mean, std, count } = meanStd(vol.data, m);
  if (count === 0) throw new ValueError('zscore: the mask selects no voxel');
  const inv = 1 / Math.max(std, opts.eps ?? 1e-8);
  const src = vol.data;
  const out = new (src.constructor as Float32ArrayConstructor)(src.length);
  for (let i = 0; i < src.length; i++) out[i] = m && !m[i] ? 0 : (src[i] - mean) * inv;
  return { ...vol, data: out };
}

/** numpy.percentile (linear interpolation) of the voxels in `mask`, for each q in [0, 100]. */
export function percentiles(data: ArrayLike<number>, qs: readonly number[], mask: ArrayLike<number> | null = null): number[] {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!mask || mask[i]) n++;
  if (n === 0) throw new ValueError('percentile: no voxel selected');
  const vals = new Float64Array(n);
  for (let i = 0, j = 0; i < data.length; i++) if (!mask || mask[i]) vals[j++] = data[i];
  vals.sort();
  return qs.map((q) => {
    if (!(q >= 0 && q <= 100)) throw new ValueError(`percentile ${q} must be in [0, 100]`);
    const pos = (q / 100) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return vals[lo] + (pos - lo) * (vals[hi] - vals[lo]);
  });
}

/** Clips values to the [lower, upper] percentiles (default 0.5 and 99.5) computed within the mask. */
export function percentileClip<T extends Volume>(vol: T, opts: { lower?: number; upper?: number; mask?: MaskSpec } = {}): T {
  checkVolume(vol);
  const lower = opts.lower ?? 0.5;
  const upper = opts.upper ?? 99.5;
  if (!(lower <= upper)) throw new ValueError(`percentileClip: lower ${lower} > upper ${upper}`);
  const [lo, hi] = percentiles(vol.data, [lower, upper], maskArray(vol, opts.mask));
  const src = vol.data;
  const out = new (src.constructor as Float32ArrayConstructor)(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    out[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return { ...vol, data: out };
}

/** Rescales linearly so the (masked) minimum and maximum map to `range` (default [0, 1]). */
export function minMax<T extends Volume>(vol: T, opts: { range?: [number, number]; mask?: MaskSpec } = {}): T {
  checkVolume(vol);
  const [a, b] = opts.range ?? [0, 1];
  const m = maskArray(vol, opts.mask);
  let lo = Infinity;
  let hi = -Infinity;
  const src = vol.data;
  for (let i = 0; i < src.length; i++) {
    if (m && !m[i]) continue;
    if (src[i] < lo) lo = src[i];
    if (src[i] > hi) hi = src[i];
  }
  if (lo === Infinity) throw new ValueError('minMax: the mask selects no voxel');
  const scale = hi > lo ? (b - a) / (hi - lo) : 0;
  const out = new (src.constructor as Float32ArrayConstructor)(src.length);
  for (let i = 0; i < src.length; i++) out[i] = a + (src[i] - lo) * scale;
  return { ...vol, data: out };
}
