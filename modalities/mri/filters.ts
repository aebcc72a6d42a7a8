/**
 * Separable filters on x-fastest 3-D arrays: Gaussian smoothing (scipy.ndimage.gaussian_filter's kernel and
 * 'reflect' border) and the exact Euclidean distance transform (Felzenszwalb & Huttenlocher 2012).
 */
import { ValueError } from '../../src/errors.js';
import { checkVolume, frameCount, frameSize, shape3, type Volume } from './volume.js';

/** Normalised 1-D Gaussian kernel with radius round(truncate·σ), as scipy. */
export function gaussianKernel(sigma: number, truncate = 4): Float64Array {
  const r = Math.floor(truncate * sigma + 0.5);
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp((-0.5 * i * i) / (sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/** scipy's 'reflect' (half-sample symmetric) index for i in any range. */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - 1 - j;
  return j;
}

/**
 * Convolves every line along `axis` of a 3-D x-fastest array with a symmetric odd-length `kernel`, in place. Axes 1 and 2 are done a
 * whole x-row at a time (contiguous memory), which is several times faster than gathering strided lines.
 */
export function convolveAxis(data: Float32Array | Float64Array, shape: readonly number[], axis: 0 | 1 | 2, kernel: Float64Array, offset = 0): void {
  if (kernel.length % 2 !== 1 || kernel.some((w, k) => w !== kernel[kernel.length - 1 - k])) throw new ValueError('convolveAxis: kernel must be odd-length and symmetric');
  const [nx, ny, nz] = shape3(shape);
  const n = [nx, ny, nz][axis];
  if (n === 1 || kernel.length === 1) return;
  const r = (kernel.length - 1) / 2;
  const kl = kernel.length;
  const idx = new Int32Array(n + 2 * r);
  for (let i = 0; i < n + 2 * r; i++) idx[i] = reflectIndex(i - r, n);
  if (axis === 0) {
    const line = new Float32Array(n + 2 * r);
    for (let row = 0; row < ny * nz; row++) {
      const base = offset + row * nx;
      for (let i = 0; i < r; i++) {
        line[i] = data[base + idx[i]];
        line[n + r + i] = data[base + idx[n + r + i]];
      }
      line.set(data.subarray(base, base + n), r);
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let k = 0; k < kl; k++) acc += kernel[k] * line[i + k];
        data[base + i] = acc;
      }
    }
    return;
  }
  // axis 1: lines of x-rows within each z-plane; axis 2: x·y planes along z
  const rowLen = axis === 1 ? nx : nx * ny;
  const outer = axis === 1 ? nz : 1;
  const outerStride = nx * ny;
  const src = new Float32Array(n * rowLen);
  const acc = new Float64Array(rowLen);
  for (let o = 0; o < outer; o++) {
    const base = offset + o * outerStride;
    src.set(data.subarray(base, base + n * rowLen));
    for (let i = 0; i < n; i++) {
      // symmetric kernel: centre tap, then pairs (fewer multiplies, contiguous streams)
      const c0 = idx[i + r] * rowLen;
      const w0 = kernel[r];
      const d0 = base + i * rowLen;
      if (r <= 3) {
        // the common small kernels in one pass (no accumulator traffic)
        const w1 = kernel[r + 1] ?? 0, w2 = kernel[r + 2] ?? 0, w3 = kernel[r + 3] ?? 0;
        const l1 = idx[i + r - 1] * rowLen, h1 = idx[i + r + 1] * rowLen;
        const l2 = r >= 2 ? idx[i + r - 2] * rowLen : c0, h2 = r >= 2 ? idx[i + r + 2] * rowLen : c0;
        const l3 = r >= 3 ? idx[i + r - 3] * rowLen : c0, h3 = r >= 3 ? idx[i + r + 3] * rowLen : c0;
        for (let j = 0; j < rowLen; j++) {
          data[d0 + j] = w0 * src[c0 + j] + w1 * (src[l1 + j] + src[h1 + j]) + w2 * (src[l2 + j] + src[h2 + j]) + w3 * (src[l3 + j] + src[h3 + j]);
        }
        continue;
      }
      for (let j = 0; j < rowLen; j++) acc[j] = w0 * src[c0 + j];
      for (let k = 1; k <= r; k++) {
        const w = kernel[r + k];
        const lo = idx[i + r - k] * rowLen;
        const hi = idx[i + r + k] * rowLen;
        for (let j = 0; j < rowLen; j++) acc[j] += w * (src[lo + j] + src[hi + j]);
      }
      data.set(acc, d0);
    }
  }
}

/** Gaussian smoothing of raw x-fastest data (σ in voxels per axis), in place. */
export function gaussianBlurData(data: Float32Array | Float64Array, shape: readonly number[], sigma: number | readonly number[], truncate = 4): void {
  const sig = typeof sigma === 'number' ? [sigma, sigma, sigma] : [...sigma];
  if (sig.length !== 3 || sig.some((v) => !(v >= 0))) throw new ValueError(`gaussianBlur: sigma ${JSON.stringify(sigma)} must be ≥ 0 (one number or three)`);
  const fs = frameSize(shape);
  for (let f = 0, frames = frameCount(shape); f < frames; f++) {
    for (let a = 0; a < 3; a++) if (sig[a] > 0) convolveAxis(data, shape, a as 0 | 1 | 2, gaussianKernel(sig[a], truncate), f * fs);
  }
}

/** A smoothed copy of `vol` (σ in voxels; same kernel and border as scipy.ndimage.gaussian_filter). */
export function gaussianBlur<T extends Volume>(vol: T, sigma: number | readonly number[], truncate = 4): T {
  checkVolume(vol);
  const data = vol.data.slice();
  gaussianBlurData(data, vol.shape, sigma, truncate);
  return { ...vol, data };
}

/** 1-D squared-distance transform of f (lower envelope of parabolas), into d. */
function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array, w2: number): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    if (f[q] === Infinity) continue;
    if (f[v[k]] === Infinity) {
      v[k] = q;
      continue;
    }
    let s = (f[q] + w2 * q * q - (f[v[k]] + w2 * v[k] * v[k])) / (2 * w2 * (q - v[k]));
    while (s <= z[k]) {
      k--;
      s = (f[q] + w2 * q * q - (f[v[k]] + w2 * v[k] * v[k])) / (2 * w2 * (q - v[k]));
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (f[v[0]] === Infinity) {
    d.fill(Infinity, 0, n);
    return;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const dq = q - v[k];
    d[q] = w2 * dq * dq + f[v[k]];
  }
}

/**
 * Exact Euclidean distance (in mm, with `spacing`) from every voxel to the nearest voxel where `seed` is true;
 * seed voxels get 0. Infinity when there is no seed.
 */
export function distanceTransform(seed: ArrayLike<number | boolean>, shape: readonly number[], spacing: readonly number[] = [1, 1, 1]): Float32Array {
  const [nx, ny, nz] = shape3(shape);
  const total = nx * ny * nz;
  const g = new Float64Array(total);
  for (let i = 0; i < total; i++) g[i] = seed[i] ? 0 : Infinity;
  const maxN = Math.max(nx, ny, nz);
  const f = new Float64Array(maxN);
  const d = new Float64Array(maxN);
  const v = new Int32Array(maxN);
  const z = new Float64Array(maxN + 1);
  const pass = (n: number, stride: number, starts: Iterable<number>, w: number) => {
    const w2 = w * w;
    for (const s of starts) {
      for (let i = 0; i < n; i++) f[i] = g[s + i * stride];
      edt1d(f, n, d, v, z, w2);
      for (let i = 0; i < n; i++) g[s + i * stride] = d[i];
    }
  };
  function* lines(axis: number): Generator<number> {
    if (axis === 0) for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) yield (k * ny + j) * nx;
    else if (axis === 1) for (let k = 0; k < nz; k++) for (let i = 0; i < nx; i++) yield k * nx * ny + i;
    else for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) yield j * nx + i;
  }
  pass(nx, 1, lines(0), spacing[0] ?? 1);
  pass(ny, nx, lines(1), spacing[1] ?? 1);
  pass(nz, nx * ny, lines(2), spacing[2] ?? 1);
  const out = new Float32Array(total);
  for (let i = 0; i < total; i++) out[i] = Math.sqrt(g[i]);
  return out;
}
