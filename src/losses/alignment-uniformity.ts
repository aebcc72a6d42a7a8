/**
 * Alignment and uniformity on the hypersphere — Wang & Isola, "Understanding Contrastive Representation
 * Learning through Alignment and Uniformity on the Hypersphere" (ICML 2020), Eq. 4 (L_align) and Eq. 5
 * (L_uniform); LOSSES.md §7. Also usable as evaluation metrics of any embedding.
 */
import * as tf from '../tf.js';
import { customGradient, l2Normalize, logMeanExpPairs } from './common.js';
import { embeddings, positive } from './validate.js';

/** `x^p` for x ≥ 0 with gradient `p x^{p−1}` taken as 0 at x = 0 (identical pairs stay finite for p < 1). */
function powNonNegative(x: tf.Tensor, p: number): tf.Tensor {
  if (p === 1) return x;
  return customGradient([x], ([a], save) => {
    save([a]);
    return {
      value: tf.pow(a, p),
      gradFunc: (dy, [sa]) => {
        const positiveX = tf.greater(sa, 0);
        const safe = tf.where(positiveX, sa, tf.onesLike(sa));
        return tf.where(positiveX, tf.mul(dy, tf.mul(tf.pow(safe, p - 1), p)), tf.zerosLike(sa));
      },
    };
  });
}

/** `L_align = mean_i ‖ẑ1_i − ẑ2_i‖^α` (α > 0, default 2) of two views `[n, d]` (normalised here). */
export function alignment(z1: tf.Tensor, z2: tf.Tensor, options: { alpha?: number } = {}): tf.Scalar {
  const alpha = positive(options.alpha ?? 2, 'alignment: alpha');
  const a = embeddings(z1, 'alignment: z1');
  embeddings(z2, 'alignment: z2', { n: a.shape[0], d: a.shape[1], nName: 'z1', dName: 'z1' });
  return tf.tidy(() => {
    const squared = tf.sum(tf.square(tf.sub(l2Normalize(a), l2Normalize(z2))), 1);
    return tf.mean(alpha === 2 ? squared : powNonNegative(squared, alpha / 2)) as tf.Scalar;
  });
}

/** `L_unif = log mean_{i<j} exp(−t‖ẑ_i − ẑ_j‖²)` (t > 0, default 2) of `[n, d]` (normalised here, n ≥ 2). */
export function uniformity(z: tf.Tensor, options: { t?: number } = {}): tf.Scalar {
  const t = positive(options.t ?? 2, 'uniformity: t');
  const x = embeddings(z, 'uniformity: z', { minN: 2 });
  return tf.tidy(() => logMeanExpPairs(l2Normalize(x), t));
}
