/**
 * InfoNCE / NT-Xent — Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of
 * Visual Representations" (SimCLR, ICML 2020), Eq. 1; LOSSES.md §1.
 */
import * as tf from '../tf.js';
import { l2Normalize, offDiagonal, similarity, softTargetCrossEntropy } from './common.js';
import { embeddings, positive } from './validate.js';

export interface InfoNCEOptions {
  /** τ > 0, default 0.1. */
  temperature?: number;
}

/**
 * InfoNCE (NT-Xent) over the 2n rows of two views `z1, z2` `[n, d]` (normalised here):
 * `ℓ_a = −S[a, p(a)] + log Σ_{k≠a} exp S[a, k]`, `S = ẐẐᵀ/τ`, `L = mean_a ℓ_a` (LOSSES.md §1).
 */
export function infoNCE(z1: tf.Tensor, z2: tf.Tensor, options: InfoNCEOptions = {}): tf.Scalar {
  const temperature = positive(options.temperature ?? 0.1, 'infoNCE: temperature');
  const a = embeddings(z1, 'infoNCE: z1', { minN: 1 });
  embeddings(z2, 'infoNCE: z2', { n: a.shape[0], d: a.shape[1], nName: 'z1', dName: 'z1' });
  const n = a.shape[0];
  return tf.tidy(() => {
    const z = l2Normalize(tf.concat([z1, z2], 0) as tf.Tensor2D);
    const s = similarity(z, temperature);
    // Target of row a: the other view of the same sample, (a + n) mod 2n.
    const partner = tf.concat([tf.range(n, 2 * n, 1, 'int32'), tf.range(0, n, 1, 'int32')]);
    const targets = tf.cast(tf.oneHot(partner, 2 * n), 'float32') as tf.Tensor2D;
    return softTargetCrossEntropy(s, targets, offDiagonal(2 * n));
  });
}
