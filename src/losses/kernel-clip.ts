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
import { rowNormalize, softTargetCrossEntropy } from './common.js';
import { embeddings } from './validate.js';
import { nonNegativeWeights } from './yaware.js';

export interface KernelClipOptions extends ClipOptions {
  /** Kernel on the metadata rows (required); deltaKernel() on sample identity gives CLIP back. */
  kernel: KernelLike;
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
  try {
    return tf.tidy(() => {
      const logits = crossModalLogits(a, b, scale());
      const rows = softTargetCrossEntropy(logits, rowNormalize(k), null);
      const cols = softTargetCrossEntropy(tf.transpose(logits), rowNormalize(tf.transpose(k)), null);
      return tf.mul(tf.add(rows, cols), 0.5) as tf.Scalar;
    });
  } finally {
    k.dispose();
  }
}
