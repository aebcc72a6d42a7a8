/**
 * FairKL debiasing regulariser — Barbano, Dufumier, Tartaglione, Grangetto & Gori, "Unbiased Supervised
 * Contrastive Learning" (ICLR 2023), Sec. 4, Eq. 20–21 (KL between the similarity distributions of
 * bias-aligned and bias-conflicting pairs); LOSSES.md §4.
 */
import * as tf from '../tf.js';
import { labelCodes, type Labels } from '../kernels/metadata.js';
import { ValueError } from '../errors.js';
import { customGradient, l2Normalize, similarity } from './common.js';
import { embeddings, nonNegative, oneOf, positive } from './validate.js';

export interface FairKLOptions {
  /** τ > 0 of `s_ij = f_i·f_j/τ`, default 1. */
  temperature?: number;
  /** 'kl' (the paper's KL, default) or 'moments' (the released code's moment matching). */
  mode?: 'kl' | 'moments';
  /** κ ≥ 0, weight of the standard-deviation terms in 'moments' mode, default 1. */
  kld?: number;
  /** What a side whose sets are too small does: 'zero' (default: contributes 0) or 'error' (throws). */
  emptySets?: 'zero' | 'error';
}

/** σ² is floored here so that σ and log σ keep finite gradients when a set's similarities coincide. */
const VARIANCE_FLOOR = 1e-12;

type SetName = 'pa' | 'pc' | 'na' | 'nc';

/**
 * FairKL on features `[n, d]` (normalised here) with class labels and bias labels. Over pairs i ≠ j,
 * `s_ij = f_i·f_j/τ` falls in four sets: positive/negative (same/different class) × aligned/conflicting
 * (same/different bias); μ and σ (population) per set (LOSSES.md §4).
 * - 'kl': `KL(N_pa ‖ N_pc) + KL(N_na ‖ N_nc)`, `KL(N1‖N2) = log(σ2/σ1) + (σ1² + (μ1−μ2)²)/(2σ2²) − ½`
 * - 'moments': `(μ_pc−μ_pa)² + (μ_na−μ_nc)² + κ[(σ_pa−σ_pc)² + (σ_na−σ_nc)²] − μ_pc + μ_na`
 *
 * Empty sets: the positive side (pa, pc terms) and the negative side (na, nc terms) each contribute 0 when
 * one of their two sets is empty ('moments') or holds fewer than 2 unordered pairs ('kl', where σ of a single
 * pair is 0 and the KL undefined); with `emptySets: 'error'` that throws instead. σ² is floored at 1e-12.
 */
export function fairKL(features: tf.Tensor, labels: Labels, biasLabels: Labels, options: FairKLOptions = {}): tf.Scalar {
  const temperature = positive(options.temperature ?? 1, 'fairKL: temperature');
  const mode = oneOf(options.mode ?? 'kl', ['kl', 'moments'] as const, 'fairKL: mode');
  const kappa = nonNegative(options.kld ?? 1, 'fairKL: kld');
  const emptySets = oneOf(options.emptySets ?? 'zero', ['zero', 'error'] as const, 'fairKL: emptySets');
  const f = embeddings(features, 'fairKL: features', { minN: 2 });
  const n = f.shape[0];
  const y = labelCodes(labels, 'fairKL: labels', n);
  const b = labelCodes(biasLabels, 'fairKL: biasLabels', n);

  // Set membership of every ordered pair (i ≠ j), built on the CPU: column k of `columns` [n², 4] and row k of
  // `rows` [4, n²] mark set k, so one matmul gives the four masked sums (and one its gradient).
  const names: SetName[] = ['pa', 'pc', 'na', 'nc'];
  const pairs = n * n;
  const columns = new Float32Array(pairs * 4);
  const rows = new Float32Array(4 * pairs);
  const count: Record<SetName, number> = { pa: 0, pc: 0, na: 0, nc: 0 };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const k = (y[i] === y[j] ? 0 : 2) + (b[i] === b[j] ? 0 : 1);
      columns[(i * n + j) * 4 + k] = 1;
      rows[k * pairs + i * n + j] = 1;
      count[names[k]]++;
    }
  }
  const minPairs = mode === 'kl' ? 2 : 1; // unordered pairs; each is counted twice above
  const active = (s1: SetName, s2: SetName) => count[s1] >= 2 * minPairs && count[s2] >= 2 * minPairs;
  const positiveSide = active('pa', 'pc');
  const negativeSide = active('na', 'nc');
  if (emptySets === 'error' && !(positiveSide && negativeSide)) {
    const small = names.filter((k) => count[k] < 2 * minPairs);
    throw new ValueError(
      `fairKL: sets ${small.join(', ')} hold fewer than ${minPairs} pair(s) in this batch ` +
        `(counts of ordered pairs: ${JSON.stringify(count)}); use larger or bias-balanced batches, or emptySets: 'zero'`,
    );
  }

  return tf.tidy(() => {
    const s = similarity(l2Normalize(f), temperature);
    // Zero contribution, still connected to the features so that tf.grad gives zeros rather than throwing.
    let loss: tf.Scalar = tf.mul(tf.sum(s), 0) as tf.Scalar;
    if (!positiveSide && !negativeSide) return loss;
    // μ and σ² (population) of every set: masked sums of s and s², centred on the batch mean first so that
    // E[s²] − μ² does not cancel catastrophically.
    const centre = tf.mean(s);
    const centred = tf.reshape(tf.sub(s, centre), [1, pairs]) as tf.Tensor2D;
    const colMasks = tf.tensor2d(columns, [pairs, 4]);
    const rowMasks = tf.tensor2d(rows, [4, pairs]);
    const maskedSums = (v: tf.Tensor2D) =>
      customGradient([v], ([x], save) => {
        save([rowMasks]);
        return { value: tf.matMul(x as tf.Tensor2D, colMasks), gradFunc: (dy, [r]) => tf.matMul(dy as tf.Tensor2D, r as tf.Tensor2D) };
      });
    const sizes = tf.tensor2d(names.map((k) => Math.max(count[k], 1)), [1, 4]);
    const meanCentred = tf.div(maskedSums(centred), sizes);
    const variances = tf.maximum(tf.sub(tf.div(maskedSums(tf.square(centred) as tf.Tensor2D), sizes), tf.square(meanCentred)), VARIANCE_FLOOR);
    const means = tf.add(meanCentred, centre);
    const pick = (t: tf.Tensor, set: SetName) => tf.reshape(tf.slice(t, [0, names.indexOf(set)], [1, 1]), []);
    const moments = (set: SetName) => ({ mu: pick(means, set), variance: pick(variances, set) });
    const side = (aligned: SetName, conflicting: SetName, sign: 1 | -1): tf.Tensor => {
      const p = moments(aligned);
      const q = moments(conflicting);
      if (mode === 'kl') {
        // KL(N(μ_p, σ_p²) ‖ N(μ_q, σ_q²))
        const logRatio = tf.mul(tf.sub(tf.log(q.variance), tf.log(p.variance)), 0.5);
        const quad = tf.div(tf.add(p.variance, tf.square(tf.sub(p.mu, q.mu))), tf.mul(q.variance, 2));
        return tf.sub(tf.add(logRatio, quad), 0.5);
      }
      // (μ_q − μ_p)² + κ(σ_p − σ_q)² − μ_pc (positive side) / + μ_na (negative side)
      const stdGap = tf.square(tf.sub(tf.sqrt(p.variance), tf.sqrt(q.variance)));
      const meanTerm = sign === 1 ? tf.neg(q.mu) : p.mu;
      return tf.add(tf.add(tf.square(tf.sub(q.mu, p.mu)), tf.mul(stdGap, kappa)), meanTerm);
    };
    if (positiveSide) loss = tf.add(loss, side('pa', 'pc', 1)) as tf.Scalar;
    if (negativeSide) loss = tf.add(loss, side('na', 'nc', -1)) as tf.Scalar;
    return loss;
  });
}
