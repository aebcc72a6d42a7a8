/**
 * CLIP's symmetric image–text contrastive loss — Radford et al., "Learning Transferable Visual Models From
 * Natural Language Supervision" (ICML 2021), Sec. 2.3 and Fig. 3 (symmetric cross-entropy over `u vᵀ/τ`, with
 * a learnable `log(1/τ)` clipped at 100); LOSSES.md §9.
 */
import * as tf from '../tf.js';
import { ValueError } from '../errors.js';
import { l2Normalize, logSumExpRows, matMul } from './common.js';
import { embeddings, finite, positive } from './validate.js';

/** 1/τ is clamped at 100 (log 100), as in CLIP. */
export const MAX_LOGIT_SCALE = 100;

export interface ClipOptions {
  /**
   * τ > 0 (default 0.07), or a learnable scalar tensor/variable holding `log(1/τ)` (CLIP's `logit_scale`,
   * e.g. `tf.variable(tf.scalar(Math.log(1 / 0.07)))`); a learnable 1/τ is clamped at 100.
   */
  temperature?: number | tf.Tensor;
  /** Same as a tensor `temperature`: a learnable `log(1/τ)` scalar. */
  logitScale?: tf.Tensor;
}

/** Validates the temperature options; returns a function giving 1/τ (a scalar tensor or a number). */
export function logitScaleOf(options: ClipOptions, what: string): () => tf.Tensor | number {
  const learnable = options.logitScale ?? (options.temperature instanceof tf.Tensor ? options.temperature : null);
  if (options.logitScale != null && options.temperature instanceof tf.Tensor) {
    throw new ValueError(`${what}: give the learnable log(1/τ) once, as logitScale or as a tensor temperature`);
  }
  if (learnable != null) {
    if (!(learnable instanceof tf.Tensor) || learnable.size !== 1) {
      throw new ValueError(`${what}: logitScale must be a scalar tensor holding log(1/τ); got shape [${(learnable as tf.Tensor)?.shape}]`);
    }
    finite(learnable, `${what}: logitScale`);
    // exp(min(s, log 100)): the gradient stops where the clamp is active, like torch.clamp.
    return () => tf.exp(tf.minimum(tf.reshape(learnable, []), Math.log(MAX_LOGIT_SCALE)));
  }
  const tau = positive((options.temperature as number | undefined) ?? 0.07, `${what}: temperature`);
  return () => 1 / tau;
}

/** The normalised batches and the image–text logits `û v̂ᵀ · (1/τ)` `[n, n]`. */
export function crossModalLogits(u: tf.Tensor2D, v: tf.Tensor2D, scale: tf.Tensor | number) {
  const uHat = l2Normalize(u);
  const vHat = l2Normalize(v);
  const logits = tf.mul(matMul(uHat, tf.transpose(vHat) as tf.Tensor2D), scale) as tf.Tensor2D;
  return { uHat, vHat, logits };
}

/**
 * CLIP loss of paired batches `u` (e.g. images) and `v` (e.g. texts), `[n, d]` each (normalised here):
 * `L = ½[CE(logits, I) + CE(logitsᵀ, I)]`, `logits = û v̂ᵀ/τ` (LOSSES.md §9). A learnable `log(1/τ)` is
 * clamped so that 1/τ ≤ 100; a fixed τ is used as given.
 */
export function clipLoss(u: tf.Tensor, v: tf.Tensor, options: ClipOptions = {}): tf.Scalar {
  const scale = logitScaleOf(options, 'clipLoss');
  const a = embeddings(u, 'clipLoss: u');
  const b = embeddings(v, 'clipLoss: v', { n: a.shape[0], d: a.shape[1], nName: 'u', dName: 'u' });
  const n = a.shape[0];
  return tf.tidy(() => {
    const k = scale();
    const { uHat, vHat, logits } = crossModalLogits(a, b, k);
    const rows = tf.sum(logSumExpRows(logits, null));
    const cols = tf.sum(logSumExpRows(tf.transpose(logits) as tf.Tensor2D, null));
    // The matching logits (the diagonal), computed as row-wise dot products: O(nd), not O(n²).
    const matching = tf.mul(tf.sum(tf.mul(uHat, vHat)), k);
    return tf.div(tf.sub(tf.add(rows, cols), tf.mul(matching, 2)), 2 * n) as tf.Scalar;
  });
}
