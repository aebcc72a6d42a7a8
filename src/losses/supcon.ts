/**
 * Supervised contrastive loss — Khosla et al., "Supervised Contrastive Learning" (NeurIPS 2020), Eq. 2
 * (`L^sup_out`); LOSSES.md §2.
 */
import * as tf from '../tf.js';
import { labelCodes, type Labels } from '../kernels/metadata.js';
import { l2Normalize, offDiagonalLogMask, similarity, softTargetCrossEntropy, stackViews } from './common.js';
import { matrix, positiveTargets } from './pairs.js';
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
  const targets = positiveTargets(labelCodes(labels, 'supCon: labels', n), V);
  const m = targets.m;
  return tf.tidy(() => {
    const s = similarity(l2Normalize(stackViews(views)), temperature);
    const loss = softTargetCrossEntropy(s, offDiagonalLogMask(m), matrix(targets.weights, m, m), matrix(targets.rowWeights, m, 1));
    return tf.mul(loss, temperature / base) as tf.Scalar;
  });
}
