/**
 * SepCLR — Louiset, Duchesnay, Grigis, Dufumier & Gori, "Separating common from salient patterns with
 * Contrastive Representation Learning" (ICLR 2024), Eq. 9 (common + salient + background-regularisation
 * terms, each an alignment + uniformity) and Eq. 10 (k-JEM estimate of the mutual information between the
 * common and salient spaces); LOSSES.md §8.
 */
import * as tf from '../tf.js';
import { ValueError } from '../errors.js';
import { l2Normalize, logMeanExpOffDiagonal, logSumExpRows, pairwiseSquaredDistances } from './common.js';
import { embeddings, groupLabels, nonNegative, positive } from './validate.js';

export interface SepCLRInputs {
  /** Common-space embeddings of views 1 and 2, `[n, dc]` (normalised here). */
  c1: tf.Tensor;
  c2: tf.Tensor;
  /** Salient-space embeddings of views 1 and 2, `[n, ds]` (Euclidean: NOT normalised). */
  s1: tf.Tensor;
  s2: tf.Tensor;
  /** Group per sample: 0 background/healthy, 1 target/patient (array of 0/1 or booleans, or a tensor). */
  group: tf.Tensor | ArrayLike<number | boolean>;
}

export interface SepCLROptions {
  /** τ > 0, default 0.5. */
  tau?: number;
  /** β_s ≥ 0, weight of the salient term, default 1000 (CIFAR-MNIST; CheXpert 1, ODIR 1). */
  betaSalient?: number;
  /** β_reg ≥ 0, weight of the information-less background term, default 1000 (CheXpert 10, ODIR 100). */
  betaReg?: number;
  /** λ ≥ 0, weight of the k-JEM mutual-information term, default 10. */
  lambdaJem?: number;
}

export interface SepCLRLoss {
  total: tf.Scalar;
  common: tf.Scalar;
  salient: tf.Scalar;
  reg: tf.Scalar;
  jem: tf.Scalar;
}

/**
 * SepCLR with τ (default 0.5), `align(x,y) = mean_i ‖x_i−y_i‖²/(2τ)`, `unif(x) = log mean_{i<j}
 * exp(−‖x_i−x_j‖²/(2τ))`, `jem(c,s) = mean_i log mean_j exp(−(‖s_i−s_j‖² + ‖c_i−c_j‖²)/(2τ))` and `s'` = s with
 * background rows zeroed (LOSSES.md §8):
 * - common `cm = align(c¹,c²) + unif(c¹) + unif(c²)`
 * - salient `sp = align(s¹[g=1], s²[g=1]) + unif(s'¹) + unif(s'²)`
 * - `reg = (align(s'¹[g=0], s¹[g=0]) + align(s'²[g=0], s²[g=0]))/2`
 * - `jem = (jem(c¹,s'¹) + jem(c²,s'²))/2`
 * - `total = cm + β_s·sp + β_reg·reg + λ·jem`.
 * A batch without targets (or without background) gives 0 for the target (background) alignment term.
 * Returns scalars the caller disposes.
 */
export function sepCLR(inputs: SepCLRInputs, options: SepCLROptions = {}): SepCLRLoss {
  const tau = positive(options.tau ?? 0.5, 'sepCLR: tau');
  const betaSalient = nonNegative(options.betaSalient ?? 1000, 'sepCLR: betaSalient');
  const betaReg = nonNegative(options.betaReg ?? 1000, 'sepCLR: betaReg');
  const lambdaJem = nonNegative(options.lambdaJem ?? 10, 'sepCLR: lambdaJem');
  if (inputs == null) throw new ValueError('sepCLR: inputs must be {c1, c2, s1, s2, group}');
  const c1 = embeddings(inputs.c1, 'sepCLR: c1', { minN: 2 });
  const n = c1.shape[0];
  const c2 = embeddings(inputs.c2, 'sepCLR: c2', { n, d: c1.shape[1], nName: 'c1', dName: 'c1' });
  const s1 = embeddings(inputs.s1, 'sepCLR: s1', { n, nName: 'c1' });
  const s2 = embeddings(inputs.s2, 'sepCLR: s2', { n, d: s1.shape[1], nName: 'c1', dName: 's1' });
  const g = groupLabels(inputs.group, n, 'sepCLR: group');
  const targets = g.reduce((a, b) => a + b, 0);
  const background = n - targets;
  const scale = 1 / (2 * tau);

  const [total, common, salient, reg, jem] = tf.tidy(() => {
    const target = tf.tensor2d(g, [n, 1]);
    const ch = [l2Normalize(c1), l2Normalize(c2)];
    const sp = [tf.mul(s1, target) as tf.Tensor2D, tf.mul(s2, target) as tf.Tensor2D]; // s'
    // Each space's distances once: shared by its uniformity and by the k-JEM term.
    const dc = ch.map((c) => pairwiseSquaredDistances(c));
    const ds = sp.map((s) => pairwiseSquaredDistances(s));
    const unif = (d: tf.Tensor2D) => logMeanExpOffDiagonal(tf.mul(d, -scale) as tf.Tensor2D);
    const rowSquares = (x: tf.Tensor) => tf.sum(tf.square(x), 1, true); // [n, 1]

    const common = tf.addN([tf.mul(tf.mean(rowSquares(tf.sub(ch[0], ch[1]))), scale), unif(dc[0]), unif(dc[1])]);
    // Target-row alignment: a mean over g = 1 rows, as a masked sum (no gather: trains on wasm).
    const targetAlign =
      targets > 0
        ? tf.mul(tf.sum(tf.mul(target, rowSquares(tf.sub(s1, s2)))), scale / targets)
        : tf.mul(tf.sum(s1), 0);
    const salient = tf.addN([targetAlign, unif(ds[0]), unif(ds[1])]);
    // ‖s'_i − s_i‖² = ‖s_i‖² on background rows (s' is the zero vector there, a constant).
    const notTarget = tf.sub(1, target);
    const reg =
      background > 0
        ? tf.mul(tf.add(tf.sum(tf.mul(notTarget, rowSquares(s1))), tf.sum(tf.mul(notTarget, rowSquares(s2)))), scale / background / 2)
        : tf.mul(tf.sum(s1), 0);
    const jemOf = (v: number) => {
      const logits = tf.mul(tf.add(ds[v], dc[v]), -scale) as tf.Tensor2D;
      return tf.sub(tf.mean(logSumExpRows(logits, null)), Math.log(n));
    };
    const jem = tf.div(tf.add(jemOf(0), jemOf(1)), 2);
    const total = tf.addN([common, tf.mul(salient, betaSalient), tf.mul(reg, betaReg), tf.mul(jem, lambdaJem)]);
    return [total, common, salient, reg, jem] as tf.Scalar[];
  });
  return { total, common, salient, reg, jem };
}
