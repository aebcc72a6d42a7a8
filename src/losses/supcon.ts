/**
 * Supervised contrastive loss — Khosla et al., "Supervised Contrastive Learning" (NeurIPS 2020), Eq. 2
 * (`L^sup_out`); LOSSES.md §2.
 */
import * as tf from '../tf.js';
import { labelCodes, type Labels } from '../kernels/metadata.js';
import { equalityMask, l2Normalize, offDiagonal, rowNormalize, similarity, softTargetCrossEntropy, stackViews } from './common.js';
import { positive, views as checkViews, type Views } from './validate.js';

export interface SupConOptions {
  /** τ > 0, default 0.1. */
  temperature?: number;
  /** τ_base > 0, default τ (the loss is scaled by τ/τ_base). */
  baseTemperature?: number;
}

/**
 * SupCon over `views` `[n, V, d]` (or V tensors `[n, d]`; normalised here) with one label per sample:
 * positives `P(a) = {k ≠ a : y_k = y_a}` over all views,
 * `ℓ_a = −(1/|P(a)|) Σ_{p∈P(a)} (S[a,p] − log Σ_{k≠a} exp S[a,k])`, `L = (τ/τ_base) · mean_a ℓ_a`
 * (LOSSES.md §2). Anchors without positives contribute 0.
 */
export function supCon(views: Views, labels: Labels, options: SupConOptions = {}): tf.Scalar {
  const temperature = positive(options.temperature ?? 0.1, 'supCon: temperature');
  const base = positive(options.baseTemperature ?? temperature, 'supCon: baseTemperature');
  const { n, V } = checkViews(views, 'supCon: views');
  const codes = labelCodes(labels, 'supCon: labels', n);
  return tf.tidy(() => {
    const z = l2Normalize(stackViews(views));
    const s = similarity(z, temperature);
    const notSelf = offDiagonal(n * V);
    const targets = rowNormalize(tf.mul(equalityMask(codes, V), notSelf) as tf.Tensor2D);
    return tf.mul(softTargetCrossEntropy(s, targets, notSelf), temperature / base) as tf.Scalar;
  });
}
