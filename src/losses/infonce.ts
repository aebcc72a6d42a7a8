/**
 * InfoNCE / NT-Xent — Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of
 * Visual Representations" (SimCLR, ICML 2020), Eq. 1; LOSSES.md §1.
 */
import * as tf from '../tf.js';
import { l2Normalize, logSumExpRows, offDiagonalLogMask, similarity } from './common.js';
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
  const b = embeddings(z2, 'infoNCE: z2', { n: a.shape[0], d: a.shape[1], nName: 'z1', dName: 'z1' });
  const n = a.shape[0];
  return tf.tidy(() => {
    const u = l2Normalize(a);
    const v = l2Normalize(b);
    const lse = logSumExpRows(similarity(tf.concat([u, v], 0) as tf.Tensor2D, temperature), offDiagonalLogMask(2 * n));
    // The positive logits S[a, p(a)] = û_i·v̂_i/τ, each appearing twice (anchor in view 1 and in view 2).
    const positives = tf.div(tf.sum(tf.mul(u, v)), n * temperature);
    return tf.sub(tf.mean(lse), positives) as tf.Scalar;
  });
}
