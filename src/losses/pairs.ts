/**
 * Constant pair structures of a view-major batch (m = nV rows, row a is sample a mod n), built on the CPU from
 * label codes or a kernel matrix: target weights, row weights and additive log-masks. They never carry a
 * gradient; a JS loop over m² entries is cheaper than the chain of tensor ops (equal, cast, mul, sum, div)
 * it replaces on wasm.
 */
import * as tf from '../tf.js';

/** Codes of the m rows: the n sample codes repeated for each view. */
function rowCodes(codes: Int32Array, views: number): Int32Array {
  const n = codes.length;
  const out = new Int32Array(n * views);
  for (let v = 0; v < views; v++) out.set(codes, v * n);
  return out;
}

export interface PositiveTargets {
  m: number;
  /** `[m, m]`: 1/|P(a)| on the positives of anchor a (k ≠ a with the same code), 0 elsewhere. */
  weights: Float32Array;
  /** `[m]`: 1 when the anchor has positives, else 0 (it then contributes nothing). */
  rowWeights: Float32Array;
  /** Codes of the m rows. */
  codes: Int32Array;
}

/** SupCon-style targets: every other row with the same code, uniformly weighted. */
export function positiveTargets(codes: Int32Array, views: number): PositiveTargets {
  const y = rowCodes(codes, views);
  const m = y.length;
  const classSize = new Map<number, number>();
  for (const c of y) classSize.set(c, (classSize.get(c) ?? 0) + 1);
  const weights = new Float32Array(m * m);
  const rowWeights = new Float32Array(m);
  for (let a = 0; a < m; a++) {
    const positives = classSize.get(y[a])! - 1;
    if (positives === 0) continue;
    rowWeights[a] = 1;
    const w = 1 / positives;
    const ya = y[a];
    const row = a * m;
    for (let b = 0; b < m; b++) if (y[b] === ya) weights[row + b] = w;
    weights[row + a] = 0;
  }
  return { m, weights, rowWeights, codes: y };
}

/**
 * Additive log-mask `[m, m]`: −∞ on the diagonal, `positiveShift` on positives (same code, k ≠ a), 0 on
 * negatives. With shift −ε it is ε-SupCon's denominator (positives scaled by e^{−ε}).
 */
export function contrastLogMask(y: Int32Array, positiveShift: number): Float32Array {
  const m = y.length;
  const mask = new Float32Array(m * m);
  if (positiveShift !== 0) {
    for (let a = 0; a < m; a++) {
      const ya = y[a];
      const row = a * m;
      for (let b = 0; b < m; b++) if (y[b] === ya) mask[row + b] = positiveShift;
    }
  }
  for (let a = 0; a < m; a++) mask[a * m + a] = -Infinity;
  return mask;
}

export interface NegativeMask {
  /** `[m, m]`: 0 on negatives (different code), −∞ elsewhere; a row without negatives keeps its diagonal (unused). */
  logMask: Float32Array;
  /** Rows that have no negative at all. */
  noNegatives: Uint8Array;
}

export function negativeLogMask(y: Int32Array): NegativeMask {
  const m = y.length;
  const logMask = new Float32Array(m * m).fill(-Infinity);
  const noNegatives = new Uint8Array(m);
  for (let a = 0; a < m; a++) {
    const ya = y[a];
    const row = a * m;
    let any = false;
    for (let b = 0; b < m; b++) {
      if (y[b] !== ya) {
        logMask[row + b] = 0;
        any = true;
      }
    }
    if (!any) {
      noNegatives[a] = 1;
      logMask[row + a] = 0; // a placeholder entry so the row's log-sum-exp is defined; its weight is 0
    }
  }
  return { logMask, noNegatives };
}

/**
 * y-Aware targets from a kernel `[n, n]` (row-major) over V view-major views: `K` repeated for every view pair,
 * diagonal zeroed, rows normalised (all-zero rows stay zero and get row weight 0).
 */
export function kernelTargets(k: ArrayLike<number>, n: number, views: number, keepDiagonal: boolean): { weights: Float32Array; rowWeights: Float32Array } {
  const m = n * views;
  const weights = new Float32Array(m * m);
  const rowWeights = new Float32Array(m);
  for (let a = 0; a < m; a++) {
    const i = a % n;
    const row = a * m;
    let sum = 0;
    for (let b = 0; b < m; b++) {
      const v = a === b && !keepDiagonal ? 0 : k[i * n + (b % n)];
      weights[row + b] = v;
      sum += v;
    }
    if (sum > 0) {
      rowWeights[a] = 1;
      const inv = 1 / sum;
      for (let b = 0; b < m; b++) weights[row + b] *= inv;
    }
  }
  return { weights, rowWeights };
}

/** Uploads a row-major Float32Array as `[rows, cols]`. */
export function matrix(data: Float32Array, rows: number, cols: number): tf.Tensor2D {
  return tf.tensor2d(data, [rows, cols]);
}
