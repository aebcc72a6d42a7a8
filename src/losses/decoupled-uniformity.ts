/**
 * Decoupled Uniformity with a kernel prior — Dufumier, Barbano, Louiset, Duchesnay & Gori, "Integrating Prior
 * Knowledge in Contrastive Learning with Kernel" (ICML 2023), Eq. 3 (decoupled uniformity of the view
 * centroids) and Eq. 6 (kernel-conditional centroids `μ̂ = (K + λI)⁻¹ K μ`); LOSSES.md §6.
 */
import * as tf from '../tf.js';
import { cosineKernel, kernelMatrix, type KernelLike } from '../kernels/kernels.js';
import type { Metadata } from '../kernels/metadata.js';
import { ridgeSmoother } from '../util/linalg.js';
import { logMeanExpPairs, matMul, normalizeViews, viewMean } from './common.js';
import { positive, views as checkViews, type Views } from './validate.js';

export interface DecoupledUniformityOptions {
  /** t > 0, default 2. */
  t?: number;
  /** Prior attributes `[n, r]` (weak labels, or a generative model's representation); none by default. */
  prior?: Metadata | null;
  /** Kernel on the prior: rbfKernel(σ) or cosineKernel() (default). */
  kernel?: KernelLike;
  /** Ridge λ > 0 of `(K + λI)⁻¹ K`, default 1/√n. */
  lambda?: number;
}

/**
 * The kernel-conditional centroid weights `α = (K + λI)⁻¹ K` `[n, n]` (float64 Cholesky solve on the CPU, no
 * gradient): a constant of the objective, exposed for inspection.
 */
export function kernelCentroidWeights(k: tf.Tensor2D, lambda: number): tf.Tensor2D {
  const n = k.shape[0];
  return tf.tensor2d(Float32Array.from(ridgeSmoother(k.dataSync(), n, lambda)), [n, n]);
}

/**
 * Decoupled Uniformity of `views` `[n, V, d]` (or V tensors `[n, d]`), each view normalised; centroids
 * `μ_i = mean_v ẑ_iv`; `L = log mean_{i<j} exp(−t‖μ_i − μ_j‖²)` (LOSSES.md §6). With `prior`, the centroids
 * are replaced by `μ̂ = α μ`, `α = (K + λI)⁻¹ K` with `K = kernel(prior)`.
 */
export function decoupledUniformity(views: Views, options: DecoupledUniformityOptions = {}): tf.Scalar {
  const t = positive(options.t ?? 2, 'decoupledUniformity: t');
  const { n } = checkViews(views, 'decoupledUniformity: views', { minN: 2 });
  const lambda = positive(options.lambda ?? 1 / Math.sqrt(n), 'decoupledUniformity: lambda');
  let alpha: tf.Tensor2D | null = null;
  if (options.prior != null) {
    const k = kernelMatrix(options.kernel ?? cosineKernel(), options.prior, { n, name: 'decoupledUniformity: prior' });
    try {
      alpha = kernelCentroidWeights(k, lambda);
    } finally {
      k.dispose();
    }
  }
  try {
    return tf.tidy(() => {
      const mu = viewMean(normalizeViews(views));
      return logMeanExpPairs(alpha == null ? mu : matMul(alpha, mu), t);
    });
  } finally {
    alpha?.dispose();
  }
}

/** Diagnostic of Decoupled Uniformity's alignment (not optimised): `−mean_i ‖μ_i‖²` (LOSSES.md §6). */
export function decoupledAlignment(views: Views): tf.Scalar {
  checkViews(views, 'decoupledAlignment: views');
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.square(viewMean(normalizeViews(views))), 1))) as tf.Scalar);
}
