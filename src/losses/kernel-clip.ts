/**
 * Kernel-weighted image–text loss — the geometric extension of LOSSES.md §9: CLIP (Radford et al., ICML 2021,
 * Sec. 2.3) with soft targets from a metadata kernel, in the spirit of MedCLIP's semantic matching loss
 * (Wang et al., "MedCLIP: Contrastive Learning from Unpaired Medical Images and Text", EMNLP 2022, Eq. 3).
 */
import * as tf from '../tf.js';
import { kernelMatrix, type KernelLike } from '../kernels/kernels.js';
import type { Metadata } from '../kernels/metadata.js';
import { ValueError } from '../errors.js';
import { crossModalLogits, logitScaleOf, type ClipOptions } from './clip.js';
import { logSumExpRows } from './common.js';
import { kernelTargets, matrix } from './pairs.js';
import { embeddings } from './validate.js';
import { nonNegativeWeights } from './yaware.js';

export interface KernelClipOptions extends ClipOptions {
  /** Kernel on the metadata rows (required); deltaKernel() on sample identity gives CLIP back. */
  kernel: KernelLike;
}

function transposed(data: ArrayLike<number>, n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = data[i * n + j];
  return out;
}

/**
 * Kernel CLIP: soft targets `T` = the metadata kernel between the batch's samples (diagonal included),
 * row-normalised; `L = ½[H(T, softmax(logits)) + H(T', softmax(logitsᵀ))]` with `T'` the row-normalised
 * `Kᵀ` (= T for a symmetric kernel), cross-entropies averaged over rows (LOSSES.md §9).
 */
export function kernelClipLoss(u: tf.Tensor, v: tf.Tensor, metadata: Metadata, options: KernelClipOptions): tf.Scalar {
  const scale = logitScaleOf(options ?? ({} as KernelClipOptions), 'kernelClipLoss');
  if (options?.kernel == null) throw new ValueError('kernelClipLoss: options.kernel is required (e.g. productKernel(rbfKernel(5), deltaKernel()))');
  const a = embeddings(u, 'kernelClipLoss: u');
  const n = a.shape[0];
  const b = embeddings(v, 'kernelClipLoss: v', { n, d: a.shape[1], nName: 'u', dName: 'u' });
  const k = kernelMatrix(options.kernel, metadata, { n, name: 'kernelClipLoss: metadata' });
  nonNegativeWeights(k, 'kernelClipLoss');
  const kernel = k.dataSync();
  k.dispose();
  const rowTargets = kernelTargets(kernel, n, 1, true);
  const colTargets = kernelTargets(transposed(kernel, n), n, 1, true);
  return tf.tidy(() => {
    const { logits } = crossModalLogits(a, b, scale());
    // H(T, softmax(L)) summed over rows = Σ_a r_a LSE_a(L) − Σ T∘L; the column direction uses Lᵀ, and its
    // target term Σ T'∘Lᵀ = Σ T'ᵀ∘L needs no transpose of L.
    const rows = tf.sub(
      tf.sum(tf.mul(matrix(rowTargets.rowWeights, n, 1), logSumExpRows(logits, null))),
      tf.sum(tf.mul(matrix(rowTargets.weights, n, n), logits)),
    );
    const cols = tf.sub(
      tf.sum(tf.mul(matrix(colTargets.rowWeights, n, 1), logSumExpRows(tf.transpose(logits) as tf.Tensor2D, null))),
      tf.sum(tf.mul(matrix(transposed(colTargets.weights, n), n, n), logits)),
    );
    return tf.div(tf.add(rows, cols), 2 * n) as tf.Scalar;
  });
}
