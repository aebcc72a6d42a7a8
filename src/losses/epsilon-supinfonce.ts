/**
 * ε-SupInfoNCE and ε-SupCon — Barbano, Dufumier, Tartaglione, Grangetto & Gori, "Unbiased Supervised
 * Contrastive Learning" (ICLR 2023), Eq. 9 (ε-SupInfoNCE) and Eq. 18 (ε-SupCon); LOSSES.md §3.
 */
import * as tf from '../tf.js';
import { labelCodes, type Labels } from '../kernels/metadata.js';
import {
  equalityMask,
  l2Normalize,
  logAddExpColumn,
  maskedLogSumExp,
  offDiagonal,
  rowNormalize,
  sampleIdentity,
  similarity,
  softTargetCrossEntropy,
  stackViews,
} from './common.js';
import { nonNegative, oneOf, positive, views as checkViews, type Views } from './validate.js';

export interface EpsilonSupInfoNCEOptions {
  /** τ > 0, default 0.1. */
  temperature?: number;
  /** τ_base > 0, default τ (the loss is scaled by τ/τ_base). */
  baseTemperature?: number;
  /** Margin ε ≥ 0 between positives and negatives, default 0 (the released code's default; e.g. 0.25 in the paper). */
  epsilon?: number;
  /** 'infonce' (ε-SupInfoNCE, Eq. 9, default) or 'supcon' (ε-SupCon, Eq. 18). */
  variant?: 'infonce' | 'supcon';
}

/**
 * ε-SupInfoNCE / ε-SupCon over `views` `[n, V, d]` (or V tensors `[n, d]`; normalised here). With
 * `labels = null` each sample is its own class (SimCLR with a margin). `P(a) = {k ≠ a : y_k = y_a}`,
 * `N(a) = {k : y_k ≠ y_a}`, `S = ẐẐᵀ/τ` (LOSSES.md §3):
 * - 'infonce': `ℓ_a = −(1/|P(a)|) Σ_p ( S[a,p] − log( e^{−ε} e^{S[a,p]} + Σ_{j∈N(a)} e^{S[a,j]} ) )`
 * - 'supcon':  the denominator is `e^{−ε} Σ_{p'∈P(a)} e^{S[a,p']} + Σ_{j∈N(a)} e^{S[a,j]}`
 * `L = (τ/τ_base) · mean_a ℓ_a`; anchors without positives contribute 0. Every log is a max-shifted
 * log-sum-exp (no `+1e-6`).
 */
export function epsilonSupInfoNCE(
  views: Views,
  labels: Labels | null,
  options: EpsilonSupInfoNCEOptions = {},
): tf.Scalar {
  const what = 'epsilonSupInfoNCE';
  const temperature = positive(options.temperature ?? 0.1, `${what}: temperature`);
  const base = positive(options.baseTemperature ?? temperature, `${what}: baseTemperature`);
  const epsilon = nonNegative(options.epsilon ?? 0, `${what}: epsilon`);
  const variant = oneOf(options.variant ?? 'infonce', ['infonce', 'supcon'] as const, `${what}: variant`);
  const { n, V } = checkViews(views, `${what}: views`);
  const codes = labels == null ? sampleIdentity(n) : labelCodes(labels, `${what}: labels`, n);
  return tf.tidy(() => {
    const m = n * V;
    const z = l2Normalize(stackViews(views));
    const s = similarity(z, temperature);
    const same = equalityMask(codes, V);
    const notSelf = offDiagonal(m);
    const pos = tf.mul(same, notSelf) as tf.Tensor2D;
    const weights = rowNormalize(pos);
    let loss: tf.Scalar;
    if (variant === 'supcon') {
      // Positives enter the denominator scaled by e^{−ε}: shift their logits by −ε.
      loss = softTargetCrossEntropy(tf.sub(s, tf.mul(pos, epsilon)) as tf.Tensor2D, weights, notSelf);
      // The numerator uses the unshifted S[a,p]: add back Σ_p w_ap·ε / m (a constant in z).
      loss = tf.sub(loss, tf.div(tf.mul(tf.sum(weights), epsilon), m)) as tf.Scalar;
    } else {
      const negatives = tf.sub(1, same) as tf.Tensor2D;
      const lseNeg = maskedLogSumExp(s, negatives); // −∞ for anchors whose batch has no negative
      const denominator = logAddExpColumn(tf.sub(s, epsilon) as tf.Tensor2D, lseNeg);
      loss = tf.div(tf.sum(tf.mul(weights, tf.sub(denominator, s))), m) as tf.Scalar;
    }
    return tf.mul(loss, temperature / base) as tf.Scalar;
  });
}
