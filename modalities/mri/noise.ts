/**
 * Fast Gaussian noise for images: a table of standard-normal quantiles indexed by uniform 16-bit draws. Each draw
 * is an i.i.d. sample of a 65 536-point discretisation of N(0, 1) (indistinguishable for image noise), about ten
 * times cheaper than computing a normal deviate.
 */
import type { Rng } from '../../src/util/random.js';

let NORMAL_TABLE: Float64Array | null = null;

/**
 * 65 536 standard-normal quantiles (midpoints of equal-probability bins): noise is drawn by a uniform 16-bit
 * index into it — i.i.d. samples of a 65 536-point approximation of N(0, 1), ~10× cheaper than computing normals.
 */
export function normalTable(): Float64Array {
  if (NORMAL_TABLE) return NORMAL_TABLE;
  const n = 65536;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = inverseNormal((i + 0.5) / n);
  NORMAL_TABLE = t;
  return t;
}

/** Φ⁻¹(p): Acklam's rational approximation plus one Halley step (error ~1e-7, ample for image noise). */
function inverseNormal(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.928510446969, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // one Halley step against erfc for full precision
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** Complementary error function (Numerical Recipes' erfcc, |relative error| < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** Adds σ·N(0, 1) noise to every element of `data`, in place. */
export function addGaussianNoise(data: Float32Array | Float64Array, sigma: number, rng: Rng): void {
  const t = normalTable();
  for (let i = 0; i < data.length; i++) data[i] += sigma * t[rng.nextUint32() >>> 16];
}
