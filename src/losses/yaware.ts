/**
 * y-Aware InfoNCE — Dufumier, Gori, Victor, Grigis, Wessa, Brambilla, Favre, Polosan, McDonald, Piguet,
 * Phillips, Duchesnay, "Contrastive Learning with Continuous Proxy Meta-Data for 3D MRI Classification"
 * (MICCAI 2021), Eq. 3 (L_y-aware); LOSSES.md §5, with the product kernels of the continuous + discrete
 * metadata extension and the longitudinal kernel of §10.
 */
import * as tf from '../tf.js';
import { kernelMatrix, type KernelLike } from '../kernels/kernels.js';
import type { Metadata } from '../kernels/metadata.js';
import { ValueError } from '../errors.js';
import { l2Normalize, offDiagonalLogMask, similarity, softTargetCrossEntropy } from './common.js';
import { kernelTargets, matrix } from './pairs.js';
import { embeddings, positive } from './validate.js';

export interface YAwareOptions {
  /** τ > 0, default 0.1. */
  temperature?: number;
  /** Kernel on the metadata rows (required): rbfKernel(5) for age, productKernel(...) for several attributes. */
  kernel: KernelLike;
}

/** Checks that a kernel used as positive weights is non-negative. */
export function nonNegativeWeights(k: tf.Tensor2D, what: string): void {
  const min = tf.tidy(() => tf.min(k));
  const v = min.dataSync()[0];
  min.dispose();
  if (v < 0) {
    k.dispose();
    throw new ValueError(`${what}: the kernel must be ≥ 0 to weight positives; its minimum is ${v} (use an rbf/delta kernel)`);
  }
}

/**
 * y-Aware InfoNCE on two views `z1, z2` `[n, d]` (normalised here) with metadata `[n, q]`: the kernel `K`
 * on metadata (repeated for both views) without its diagonal, row-normalised, weights every other row:
 * `ℓ_a = −Σ_{b≠a} w_ab · log softmax_{k≠a}(S[a,·])_b`, `L = mean_a ℓ_a` (LOSSES.md §5).
 */
export function yAwareInfoNCE(z1: tf.Tensor, z2: tf.Tensor, metadata: Metadata, options: YAwareOptions): tf.Scalar {
  const temperature = positive(options?.temperature ?? 0.1, 'yAwareInfoNCE: temperature');
  if (options?.kernel == null) throw new ValueError("yAwareInfoNCE: options.kernel is required (e.g. rbfKernel(5) for age in years)");
  const a = embeddings(z1, 'yAwareInfoNCE: z1');
  const n = a.shape[0];
  embeddings(z2, 'yAwareInfoNCE: z2', { n, d: a.shape[1], nName: 'z1', dName: 'z1' });
  const k = kernelMatrix(options.kernel, metadata, { n, name: 'yAwareInfoNCE: metadata' });
  nonNegativeWeights(k, 'yAwareInfoNCE');
  const kernel = k.dataSync();
  k.dispose();
  const { weights, rowWeights } = kernelTargets(kernel, n, 2, false);
  return tf.tidy(() => {
    const z = l2Normalize(tf.concat([z1, z2], 0) as tf.Tensor2D);
    const m = 2 * n;
    return softTargetCrossEntropy(similarity(z, temperature), offDiagonalLogMask(m), matrix(weights, m, m), matrix(rowWeights, m, 1));
  });
}
