/**
 * Maximum mean discrepancy with a Gaussian (RBF) kernel — Gretton, Borgwardt, Rasch, Schölkopf & Smola, "A Kernel
 * Two-Sample Test" (JMLR 2012): the biased estimate MMD²_b (Eq. 5, a V-statistic) and the unbiased MMD²_u (Eq. 3,
 * a U-statistic). Used by MM-cVAE (Weinberger, Lin & Lee, AISTATS 2022, Eq. 6–7) to match the background and target
 * common latents and to push the background salient latents to zero, and selectable as a regulariser of SepCLR.
 *
 * With `k(a, b) = Σ_σ exp(−‖a − b‖² / (2σ²))`:
 * - biased   `MMD²_b = mean_{i,j} k(x_i, x_j) + mean_{i,j} k(y_i, y_j) − 2 mean_{i,j} k(x_i, y_j)` (diagonals kept:
 *   always ≥ 0, defined for a single sample per side — the default, since a contrastive-analysis batch may hold
 *   only one background sample);
 * - unbiased: the same with the diagonals of the two within-sample means left out (needs ≥ 2 samples per side;
 *   can be slightly negative).
 */
import * as tf from '../tf.js';
import { ValueError } from '../errors.js';
import { medianBandwidth, pairwiseSquaredDistances, rbfGram } from './common.js';
import { embeddings, oneOf, positive } from './validate.js';

export type MMDEstimator = 'biased' | 'unbiased';

export interface MMDOptions {
  /** RBF bandwidth(s) σ > 0 (a list sums the kernels), or 'median' (median pairwise distance of x ∪ y). Default 1. */
  sigma?: number | readonly number[] | 'median';
  /** Default 'biased' (MMD²_b ≥ 0). */
  estimator?: MMDEstimator;
}

/** Resolves a bandwidth option to the list of σ values (the median heuristic needs the distances). */
export function bandwidths(sigma: MMDOptions['sigma'], d2: tf.Tensor2D | null, name: string): number[] {
  if (sigma === 'median') {
    if (d2 == null) throw new ValueError(`${name}: 'median' needs the pairwise distances`);
    return [medianBandwidth(d2)];
  }
  const list = typeof sigma === 'number' ? [sigma] : Array.isArray(sigma) ? [...sigma] : null;
  if (list == null || list.length === 0) {
    throw new ValueError(`${name} must be a number > 0, a non-empty list of them, or 'median'; got ${JSON.stringify(sigma)}`);
  }
  return list.map((s, i) => positive(s, list.length > 1 ? `${name}[${i}]` : name));
}

/** `[n+m, n+m]` weights `W` with `MMD² = Σ K ∘ W` over the kernel matrix of the stacked samples `[x; y]`. */
function mmdWeights(n: number, m: number, estimator: MMDEstimator): tf.Tensor2D {
  const size = n + m;
  const w = new Float32Array(size * size);
  const xx = estimator === 'biased' ? 1 / (n * n) : 1 / (n * (n - 1));
  const yy = estimator === 'biased' ? 1 / (m * m) : 1 / (m * (m - 1));
  const xy = -1 / (n * m);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const a = i < n;
      const b = j < n;
      if (estimator === 'unbiased' && i === j) continue;
      w[i * size + j] = a && b ? xx : !a && !b ? yy : xy;
    }
  }
  return tf.tensor2d(w, [size, size]);
}

/**
 * Squared MMD between samples `x` `[n, d]` and `y` `[m, d]` (RBF kernel, bandwidth(s) `sigma`), biased by default.
 * To compare `x` with a point mass at the origin (MM-cVAE's background-salient term), pass `y = tf.zerosLike(x)`.
 * Returns a scalar the caller disposes.
 */
export function mmd(x: tf.Tensor, y: tf.Tensor, options: MMDOptions = {}): tf.Scalar {
  const estimator = oneOf(options.estimator ?? 'biased', ['biased', 'unbiased'] as const, 'mmd: estimator');
  const minN = estimator === 'unbiased' ? 2 : 1;
  const a = embeddings(x, 'mmd: x', { minN });
  const b = embeddings(y, 'mmd: y', { minN, d: a.shape[1], dName: 'x' });
  const [n, m] = [a.shape[0], b.shape[0]];
  return tf.tidy(() => {
    const d2 = pairwiseSquaredDistances(tf.concat([a, b], 0) as tf.Tensor2D);
    const k = rbfGram(d2, bandwidths(options.sigma ?? 1, d2, 'mmd: sigma'));
    return tf.sum(tf.mul(k, mmdWeights(n, m, estimator))) as tf.Scalar;
  });
}
