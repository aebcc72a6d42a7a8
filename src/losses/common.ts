/**
 * Shared pieces of the objectives (LOSSES.md "Notation"): normalisation, similarity, masks, log-sum-exp with
 * the row maximum subtracted, soft-target cross-entropy and pair reductions.
 *
 * Masks and targets are constants built on the CPU from labels/metadata (see pairs.ts) — never differentiated.
 * Only ops with wasm kernels are used (no gather gradient: masks and one-hot matmuls instead), so every
 * objective trains on the wasm backend. The hot primitives carry hand-written gradients, for two measured
 * reasons (tfjs 4.22 wasm): a matMul with a transpose flag is ~10× slower than transposing explicitly (and
 * tfjs's own matMul gradient uses the flags), and XNNPACK's softmax is ~4× faster than tf.exp.
 */
import * as tf from '../tf.js';
import type { Views } from './validate.js';

/**
 * Row-wise L2 normalisation `y = x / max(‖x‖, 1e-12)` (idempotent on unit vectors; the floor as torch's
 * F.normalize). Gradient `r (g − y ⟨g, y⟩)` with r = 1/‖x‖ (just `r g` where the floor is active).
 */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() =>
    customGradient([x], ([a], save) => {
      const squares = tf.sum(tf.square(a), -1, true);
      const floored = tf.greater(squares, 1e-24);
      const r = tf.rsqrt(tf.maximum(squares, 1e-24));
      const y = tf.mul(a, r);
      save([y, r, tf.cast(floored, 'float32')]);
      return {
        value: y,
        gradFunc: (g, [sy, sr, active]) => {
          const along = tf.mul(tf.sum(tf.mul(g, sy), -1, true), active);
          return tf.mul(tf.sub(g, tf.mul(sy, along)), sr);
        },
      };
    }),
  ) as T;
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
 * (`dy`, saved tensors) → one gradient per input. Constants a gradient needs must be saved (or be inputs):
 * the caller's tidy disposes them before backpropagation runs.
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

/** `customGradient` inside a tidy: the forward's intermediates are freed, the saved ones kept for backprop. */
function tidyCustom(...args: Parameters<typeof customGradient>): tf.Tensor {
  return tf.tidy(() => customGradient(...args));
}

/** `a b` whose forward and backward never use matMul's transpose flags (slow on wasm). */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tidyCustom([a, b], ([x, y], save) => {
    save([x, y]);
    return {
      value: tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D),
      gradFunc: (dy, [sx, sy]) => [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(sy) as tf.Tensor2D),
        tf.matMul(tf.transpose(sx) as tf.Tensor2D, dy as tf.Tensor2D),
      ],
    };
  }) as tf.Tensor2D;
}

/** Gram matrix `x xᵀ`; gradient `(G + Gᵀ) x`: one matmul backward instead of two. */
export function gram(x: tf.Tensor2D): tf.Tensor2D {
  return tidyCustom([x], ([a], save) => {
    save([a]);
    return {
      value: tf.matMul(a as tf.Tensor2D, tf.transpose(a) as tf.Tensor2D),
      gradFunc: (dy, [sa]) => tf.matMul(tf.add(dy, tf.transpose(dy)) as tf.Tensor2D, sa as tf.Tensor2D),
    };
  }) as tf.Tensor2D;
}

/** Cosine-similarity logits `S = ẑ ẑᵀ / τ` of already-normalised rows; the 1/τ is folded into ẑ (n·d, not n², work). */
export function similarity(zHat: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.tidy(() => gram(tf.mul(zHat, 1 / Math.sqrt(temperature)) as tf.Tensor2D));
}

/** `[m, m]` constant with `diagonal` on the diagonal and `off` elsewhere (built on the CPU: wasm's float oneHot is broken). */
export function diagonalMatrix(m: number, diagonal: number, off: number): tf.Tensor2D {
  const data = new Float32Array(m * m);
  if (off !== 0) data.fill(off);
  for (let i = 0; i < m; i++) data[i * m + i] = diagonal;
  return tf.tensor2d(data, [m, m]);
}

/** Additive log-mask of the self-pairs: 0 off the diagonal, −∞ on it. */
export function offDiagonalLogMask(m: number): tf.Tensor2D {
  return diagonalMatrix(m, -Infinity, 0);
}

/**
 * Row-wise log-sum-exp `log Σ_k exp(x[a,k] + logMask[a,k])`, the row maximum subtracted (no epsilon inside the
 * log). `logMask` is an additive constant: 0 keeps an entry, −∞ removes it, any finite value shifts it (null:
 * keep all). Every row must keep at least one entry. Returns `[m, 1]`; gradient `dy · softmax`.
 */
export function logSumExpRows(x: tf.Tensor2D, logMask: tf.Tensor2D | null): tf.Tensor2D {
  return tidyCustom([x], ([a], save) => {
    const xm = logMask == null ? a : tf.add(a, logMask);
    const p = tf.softmax(xm); // XNNPACK on wasm: max-shifted, −∞ → 0
    // log Σ exp(xm) = max(xm) − log(max p): both maxima sit at the same entry.
    const lse = tf.sub(tf.max(xm, 1, true), tf.log(tf.max(p, 1, true)));
    save([p]);
    return { value: lse, gradFunc: (dy, [sp]) => tf.mul(dy, sp) };
  }) as tf.Tensor2D;
}

/**
 * Soft-target cross-entropy over anchors, the common form of InfoNCE, SupCon, ε-SupCon, y-Aware and CLIP:
 *   `(1/m) Σ_a [ r_a · LSE_k(x[a,k] + logMask[a,k]) − Σ_b T[a,b] · x[a,b] ]`
 * with `T` the targets (rows summing to `r_a` ∈ {0, 1}: anchors without targets contribute 0).
 */
export function softTargetCrossEntropy(
  x: tf.Tensor2D,
  logMask: tf.Tensor2D | null,
  targets: tf.Tensor2D,
  rowWeights: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    const m = x.shape[0];
    const lse = tf.sum(tf.mul(rowWeights, logSumExpRows(x, logMask)));
    return tf.div(tf.sub(lse, tf.sum(tf.mul(targets, x))), m) as tf.Scalar;
  });
}

/**
 * Squared Euclidean distances between rows `[m, m]` (‖a‖² + ‖b‖² − 2a·b; the diagonal exactly 0), with the
 * gradient `2[(rowsum(dD) + colsum(dD)) ∘ x − (dD + dDᵀ) x]`.
 */
export function pairwiseSquaredDistances(x: tf.Tensor2D): tf.Tensor2D {
  return tidyCustom([x], ([a], save) => {
    const m = a.shape[0];
    const sq = tf.sum(tf.square(a), 1, true);
    const d = tf.sub(tf.add(sq, tf.reshape(sq, [1, m])), tf.mul(tf.matMul(a as tf.Tensor2D, tf.transpose(a) as tf.Tensor2D), 2));
    save([a]);
    return {
      value: tf.mul(d, diagonalMatrix(m, 0, 1)),
      gradFunc: (dy, [sa]) => {
        const sym = tf.add(dy, tf.transpose(dy));
        const rows = tf.sum(sym, 1, true);
        return tf.mul(tf.sub(tf.mul(rows, sa), tf.matMul(sym as tf.Tensor2D, sa as tf.Tensor2D)), 2);
      },
    };
  }) as tf.Tensor2D;
}

/**
 * `log mean_{i≠j} exp(x[i,j])` over the off-diagonal entries of a square `[n, n]` matrix: one max-shifted
 * log-sum-exp over all pairs.
 */
export function logMeanExpOffDiagonal(x: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const n = x.shape[0];
    const flat = tf.reshape(x, [1, n * n]) as tf.Tensor2D;
    const mask = tf.reshape(offDiagonalLogMask(n), [1, n * n]) as tf.Tensor2D;
    return tf.sub(tf.reshape(logSumExpRows(flat, mask), []), Math.log(n * (n - 1))) as tf.Scalar;
  });
}

/**
 * `log mean_{i<j} exp(−t ‖x_i − x_j‖²)` (Wang & Isola's uniformity; Decoupled Uniformity; SepCLR's unif).
 * Each unordered pair appears twice among the off-diagonal entries, which the mean absorbs. `x` is used as
 * given (normalise it first where the objective lives on the sphere). Fused, with the gradient
 * `−4t·dy·(rowsum(P) ∘ x − P x)` where P is the (symmetric) softmax over pairs.
 */
export function logMeanExpPairs(x: tf.Tensor2D, t: number): tf.Scalar {
  return tidyCustom([x], ([a], save) => {
    const m = a.shape[0];
    const sq = tf.mul(tf.sum(tf.square(a), 1, true), t);
    const g = tf.matMul(a as tf.Tensor2D, tf.transpose(a) as tf.Tensor2D);
    const e = tf.add(tf.sub(tf.mul(g, 2 * t), tf.add(sq, tf.reshape(sq, [1, m]))), offDiagonalLogMask(m));
    const flat = tf.reshape(e, [1, m * m]);
    const p = tf.softmax(flat);
    const value = tf.sub(tf.sub(tf.max(flat), tf.log(tf.max(p))), Math.log(m * (m - 1)));
    save([a, tf.reshape(p, [m, m])]);
    return {
      value,
      gradFunc: (dy, [sa, sp]) => {
        const rows = tf.sum(sp, 1, true);
        const inner = tf.sub(tf.mul(rows, sa), tf.matMul(sp as tf.Tensor2D, sa as tf.Tensor2D));
        return tf.mul(inner, tf.mul(dy, -4 * t));
      },
    };
  }) as tf.Scalar;
}

/**
 * Gaussian (RBF) Gram matrix from squared distances: `K = Σ_σ exp(−D / (2σ²))` — one bandwidth, or a sum over
 * several (the multi-scale kernel MMD penalties often use). The bandwidths are constants (no gradient).
 */
export function rbfGram(squaredDistances: tf.Tensor2D, sigmas: readonly number[]): tf.Tensor2D {
  return tf.tidy(() => tf.addN(sigmas.map((s) => tf.exp(tf.mul(squaredDistances, -1 / (2 * s * s))))) as tf.Tensor2D);
}

/**
 * The median heuristic (Gretton et al. 2005/2012): σ = median over pairs i < j of ‖x_i − x_j‖, the median of an
 * even count being the mean of its two middle values. Read on the CPU: a constant of the objective (no gradient).
 * Falls back to 1 when every pair coincides (σ must stay > 0).
 */
export function medianBandwidth(squaredDistances: tf.Tensor2D): number {
  const n = squaredDistances.shape[0];
  const d = squaredDistances.dataSync();
  const pairs = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs[k++] = Math.sqrt(Math.max(d[i * n + j], 0));
  if (pairs.length === 0) return 1;
  pairs.sort();
  const mid = pairs.length >> 1;
  const median = pairs.length % 2 === 1 ? pairs[mid] : (pairs[mid - 1] + pairs[mid]) / 2;
  return median > 0 ? median : 1;
}
