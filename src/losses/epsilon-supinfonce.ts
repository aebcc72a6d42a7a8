/**
 * ε-SupInfoNCE and ε-SupCon — Barbano, Dufumier, Tartaglione, Grangetto & Gori, "Unbiased Supervised
 * Contrastive Learning" (ICLR 2023), Eq. 9 (ε-SupInfoNCE) and Eq. 18 (ε-SupCon); LOSSES.md §3.
 */
import * as tf from '../tf.js';
import { labelCodes, type Labels } from '../kernels/metadata.js';
import { customGradient, l2Normalize, logSumExpRows, similarity, softTargetCrossEntropy, stackViews } from './common.js';
import { contrastLogMask, matrix, negativeLogMask, positiveTargets } from './pairs.js';
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
 * `Σ_{a,b} W[a,b] · softplus(S[a,b] − ε − lseN[a])` for sparse positive weights W: the forward evaluates the
 * softplus only at the positive entries (`index`, `weight`); the gradient is dense,
 * `dS = dy · W ∘ sigmoid(S − ε − lseN)`, `dlseN = −rowsum(dS)`.
 */
function positiveSoftplus(s: tf.Tensor2D, lseNeg: tf.Tensor2D, epsilon: number, dense: Float32Array): tf.Scalar {
  const m = s.shape[0];
  const index: number[] = [];
  const weight: number[] = [];
  for (let i = 0; i < dense.length; i++) {
    if (dense[i] !== 0) {
      index.push(i);
      weight.push(dense[i]);
    }
  }
  return tf.tidy(() => {
    if (index.length === 0) return tf.mul(tf.add(tf.sum(s), tf.sum(lseNeg)), 0) as tf.Scalar;
    const w = matrix(dense, m, m);
    return customGradient([s, lseNeg], ([x, l], save) => {
      const shifted = tf.sub(tf.sub(x, l), epsilon);
      const atPositives = tf.gather(tf.reshape(shifted, [-1]), tf.tensor1d(index, 'int32'));
      save([shifted, w]);
      return {
        value: tf.sum(tf.mul(tf.softplus(atPositives), tf.tensor1d(weight))),
        gradFunc: (dy, [sx, sw]) => {
          const ds = tf.mul(tf.mul(sw, tf.sigmoid(sx)), dy);
          return [ds, tf.neg(tf.sum(ds, 1, true))];
        },
      };
    }) as tf.Scalar;
  });
}

/**
 * ε-SupInfoNCE / ε-SupCon over `views` `[n, V, d]` (or V tensors `[n, d]`; normalised here). With
 * `labels = null` each sample is its own class (SimCLR with a margin). `P(a) = {k ≠ a : y_k = y_a}`,
 * `N(a) = {k : y_k ≠ y_a}`, `S = ẐẐᵀ/τ` (LOSSES.md §3):
 * - 'infonce': `ℓ_a = −(1/|P(a)|) Σ_p ( S[a,p] − log( e^{−ε} e^{S[a,p]} + Σ_{j∈N(a)} e^{S[a,j]} ) )`
 * - 'supcon':  the denominator is `e^{−ε} Σ_{p'∈P(a)} e^{S[a,p']} + Σ_{j∈N(a)} e^{S[a,j]}`
 * `L = (τ/τ_base) · mean_a ℓ_a`; anchors without positives contribute 0; an anchor without negatives has
 * `ℓ_a = −ε` ('infonce': the definition's value, a constant). Every log is a max-shifted log-sum-exp (no `+1e-6`).
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
  const codes = labels == null ? Int32Array.from({ length: n }, (_, i) => i) : labelCodes(labels, `${what}: labels`, n);
  const targets = positiveTargets(codes, V);
  const m = targets.m;
  return tf.tidy(() => {
    const s = similarity(l2Normalize(stackViews(views)), temperature);
    let loss: tf.Scalar;
    if (variant === 'supcon') {
      // Positives enter the denominator scaled by e^{−ε}: a −ε shift in the log-mask; the numerator keeps S.
      const logMask = matrix(contrastLogMask(targets.codes, -epsilon), m, m);
      loss = softTargetCrossEntropy(s, logMask, matrix(targets.weights, m, m), matrix(targets.rowWeights, m, 1));
    } else {
      // log(e^{S−ε} + e^{lseN}) = lseN + softplus(S − ε − lseN), stable for any sign of the difference.
      const { logMask, noNegatives } = negativeLogMask(targets.codes);
      let constant = 0;
      const weights = targets.weights;
      const rowWeights = targets.rowWeights;
      for (let a = 0; a < m; a++) {
        if (!noNegatives[a]) continue;
        // Without negatives the denominator is e^{S[a,p]−ε}: ℓ_a = −ε exactly (a constant, for anchors with positives).
        constant -= epsilon * rowWeights[a];
        rowWeights[a] = 0;
        weights.fill(0, a * m, (a + 1) * m);
      }
      const lseNeg = logSumExpRows(s, matrix(logMask, m, m));
      const w = matrix(weights, m, m);
      const terms = tf.addN([
        tf.sum(tf.mul(matrix(rowWeights, m, 1), lseNeg)),
        positiveSoftplus(s, lseNeg, epsilon, weights),
        tf.neg(tf.sum(tf.mul(w, s))),
      ]);
      loss = tf.div(tf.add(terms, constant), m) as tf.Scalar;
    }
    return tf.mul(loss, temperature / base) as tf.Scalar;
  });
}
