/**
 * Shared pieces of the objectives (LOSSES.md "Notation"): normalisation, similarity, masks, masked
 * log-sum-exp with the row maximum subtracted, soft-target cross-entropy and pair reductions.
 *
 * Masks are 0/1 float constants built from labels/metadata — never differentiated. Only ops with wasm kernels
 * and tfjs gradients are used (no gather), so every objective trains on the wasm backend. The hot primitives
 * (gram matrix, masked LSE, soft-target CE) carry hand-written gradients: fewer kernels per step, and exact
 * handling of masked (−∞) entries.
 */
import * as tf from '../tf.js';
import type { Views } from './validate.js';

/** Row-wise L2 normalisation `x / ‖x‖` (idempotent on unit vectors; the norm is floored at 1e-12 like torch). */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-24)))) as T;
}

/** Stacks views view-major: `[n, V, d]` (or V tensors `[n, d]`) → `[nV, d]`, row `v·n + i` = view v of sample i. */
export function stackViews(views: Views): tf.Tensor2D {
  return tf.tidy(() => {
    if (Array.isArray(views)) return (views.length === 1 ? tf.clone(views[0]) : tf.concat(views as tf.Tensor[], 0)) as tf.Tensor2D;
    const [n, V, d] = (views as tf.Tensor).shape as [number, number, number];
    if (V === 1) return tf.reshape(views as tf.Tensor, [n, d]) as tf.Tensor2D;
    return tf.reshape(tf.transpose(views as tf.Tensor, [1, 0, 2]), [V * n, d]) as tf.Tensor2D;
  });
}

/** Mean over the V views of each sample: `[n, V, d]` (or V × `[n, d]`) → `[n, d]`. */
export function viewMean(views: Views): tf.Tensor2D {
  return tf.tidy(() => {
    if (Array.isArray(views)) return tf.div(tf.addN(views as tf.Tensor[]), views.length) as tf.Tensor2D;
    return tf.mean(views as tf.Tensor, 1) as tf.Tensor2D;
  });
}

/** Normalises each view separately (works for both view layouts). */
export function normalizeViews(views: Views): Views {
  return Array.isArray(views) ? views.map((v) => l2Normalize(v)) : l2Normalize(views as tf.Tensor);
}

/**
 * `tf.customGrad` with tensor inputs typed: `forward(xs, save)` returns the value and its gradient function
 * (`dy`, saved tensors) → one gradient per input.
 */
export function customGradient(
  inputs: tf.Tensor[],
  forward: (
    xs: tf.Tensor[],
    save: tf.GradSaveFunc,
  ) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] },
): tf.Tensor {
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) =>
    forward(args.slice(0, -1) as tf.Tensor[], args[args.length - 1] as tf.GradSaveFunc)) as Parameters<typeof tf.customGrad>[0]);
  return f(...inputs);
}

/**
 * Gram matrix `x xᵀ` with a symmetric gradient `(G + Gᵀ) x`: one matmul backward instead of two.
 */
export function gram(x: tf.Tensor2D): tf.Tensor2D {
  return customGradient([x], ([a], save) => {
    save([a]);
    return {
      value: tf.matMul(a as tf.Tensor2D, a as tf.Tensor2D, false, true),
      gradFunc: (dy, saved) => tf.matMul(tf.add(dy, tf.transpose(dy)) as tf.Tensor2D, saved[0] as tf.Tensor2D),
    };
  }) as tf.Tensor2D;
}

/** Cosine-similarity logits `S = ẑ ẑᵀ / τ` of already-normalised rows; the 1/τ is folded into ẑ (n·d, not n², work). */
export function similarity(zHat: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.tidy(() => gram(tf.mul(zHat, 1 / Math.sqrt(temperature)) as tf.Tensor2D));
}

/**
 * Squared Euclidean distances between rows, `[m, m]`, via ‖a‖² + ‖b‖² − 2a·b (differentiable); the diagonal
 * is set to exactly 0 (the expansion leaves rounding noise there).
 */
export function pairwiseSquaredDistances(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(x), 1, true);
    const d = tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(gram(x), 2));
    return tf.mul(d, offDiagonal(x.shape[0])) as tf.Tensor2D;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Masks: 0/1 float32 constants.

/** `1 − I`: every pair except self-pairs. */
export function offDiagonal(m: number): tf.Tensor2D {
  return tf.tidy(() => tf.sub(1, tf.oneHot(tf.range(0, m, 1, 'int32'), m)) as tf.Tensor2D);
}

/** `[m, m]` mask of equal codes, with the codes of n samples repeated for V view-major views (m = nV). */
export function equalityMask(codes: Int32Array, repeats = 1): tf.Tensor2D {
  return tf.tidy(() => {
    let c = tf.tensor1d(codes, 'int32');
    if (repeats > 1) c = tf.tile(c, [repeats]);
    const m = c.shape[0];
    return tf.cast(tf.equal(tf.reshape(c, [m, 1]), tf.reshape(c, [1, m])), 'float32') as tf.Tensor2D;
  });
}

/** Codes 0..n−1: every sample is its own class (unsupervised: positives = the other views of the sample). */
export function sampleIdentity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Rows scaled to sum to one; all-zero rows stay zero (anchors without positives contribute nothing). */
export function rowNormalize(w: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const s = tf.sum(w, 1, true);
    return tf.div(w, tf.where(tf.greater(s, 0), s, tf.onesLike(s))) as tf.Tensor2D;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Log-sum-exp and cross-entropy with masks.

/** Forward pieces of a row-wise masked LSE: the value (−∞ on empty rows) and the masked softmax. */
function maskedLse(x: tf.Tensor, keep: tf.Tensor | null): { lse: tf.Tensor; softmax: tf.Tensor } {
  const xm = keep == null ? x : tf.add(x, tf.log(keep)); // log 0 = −∞ removes the entry exactly
  const rowMax = tf.max(xm, 1, true);
  const shift = tf.where(tf.isFinite(rowMax), rowMax, tf.zerosLike(rowMax)); // empty row: max is −∞
  const e = tf.exp(tf.sub(xm, shift));
  const s = tf.sum(e, 1, true);
  const lse = tf.add(tf.log(s), shift);
  const softmax = tf.div(e, tf.where(tf.greater(s, 0), s, tf.onesLike(s)));
  return { lse, softmax };
}

/**
 * Row-wise `log Σ_{k: keep[a,k]=1} exp x[a,k]` with the row maximum subtracted (no epsilon inside the log).
 * `keep` is a 0/1 constant (null: all entries). Rows with nothing kept give −∞ and a zero gradient.
 * Returns `[m, 1]`.
 */
export function maskedLogSumExp(x: tf.Tensor2D, keep: tf.Tensor2D | null): tf.Tensor2D {
  return customGradient([x], ([a], save) => {
    const { lse, softmax } = maskedLse(a, keep);
    save([softmax]);
    return { value: lse, gradFunc: (dy, saved) => tf.mul(dy, saved[0]) };
  }) as tf.Tensor2D;
}

/**
 * Soft-target cross-entropy over anchors, the common form of InfoNCE, SupCon, y-Aware and CLIP:
 *   `mean_a Σ_b T[a,b] · (log Σ_{k∈keep(a)} exp x[a,k] − x[a,b])`.
 * `targets` rows sum to 1 (or 0: the anchor contributes 0); `keep` says which logits enter the
 * denominator (null: all). Gradient: `(r_a · softmax_keep(x)_a − T_a) / m`, r_a = Σ_b T[a,b].
 */
export function softTargetCrossEntropy(x: tf.Tensor2D, targets: tf.Tensor2D, keep: tf.Tensor2D | null): tf.Scalar {
  const m = x.shape[0];
  return customGradient([x], ([a], save) => {
    const { lse, softmax } = maskedLse(a, keep);
    const r = tf.sum(targets, 1, true);
    const weightedLse = tf.where(tf.greater(r, 0), tf.mul(r, lse), tf.zerosLike(r));
    const value = tf.div(tf.sub(tf.sum(weightedLse), tf.sum(tf.mul(targets, a))), m);
    // Constants used by the gradient must be saved: the caller's tidy disposes them before backprop runs.
    save([softmax, r, targets]);
    return {
      value,
      gradFunc: (dy, [softmax, r, t]) => tf.mul(tf.sub(tf.mul(r, softmax), t), tf.div(dy, m)),
    };
  }) as tf.Scalar;
}

/**
 * Elementwise `log(exp x + exp y)` for `x [m, k]` and a column `y [m, 1]` (y may be −∞), stable:
 * both exponents are shifted by their maximum. Gradients `exp(x − r)` and `Σ_k exp(y − r)`.
 */
export function logAddExpColumn(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return customGradient([x, y], ([a, b], save) => {
    const hi = tf.maximum(a, b);
    const r = tf.add(hi, tf.log(tf.add(tf.exp(tf.sub(a, hi)), tf.exp(tf.sub(b, hi)))));
    save([a, b, r]);
    return {
      value: r,
      gradFunc: (dy, saved) => {
        const [sa, sb, sr] = saved;
        return [tf.mul(dy, tf.exp(tf.sub(sa, sr))), tf.sum(tf.mul(dy, tf.exp(tf.sub(sb, sr))), 1, true)];
      },
    };
  }) as tf.Tensor2D;
}

/**
 * `log mean_{i≠j} exp(x[i,j])` over the off-diagonal entries of a square `[n, n]` matrix (a max-shifted
 * log-sum-exp over all pairs).
 */
export function logMeanExpOffDiagonal(x: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const n = x.shape[0];
    const flat = tf.reshape(x, [1, n * n]) as tf.Tensor2D;
    const keep = tf.reshape(offDiagonal(n), [1, n * n]) as tf.Tensor2D;
    return tf.sub(tf.reshape(maskedLogSumExp(flat, keep), []), Math.log(n * (n - 1))) as tf.Scalar;
  });
}

/**
 * `log mean_{i<j} exp(−t ‖x_i − x_j‖²)` (Wang & Isola's uniformity; Decoupled Uniformity; SepCLR's unif):
 * each unordered pair appears twice among the off-diagonal entries, which the mean absorbs.
 * `x` is used as given (normalise it first where the objective lives on the sphere).
 */
export function logMeanExpPairs(x: tf.Tensor2D, t: number): tf.Scalar {
  return tf.tidy(() => logMeanExpOffDiagonal(tf.mul(pairwiseSquaredDistances(x), -t) as tf.Tensor2D));
}
