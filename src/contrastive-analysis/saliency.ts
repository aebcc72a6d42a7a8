/**
 * Saliency of the salient code: which pixels/voxels move it. Gradient × input (Shrikumar et al. 2016; Simonyan et
 * al. 2014 for the gradient) of the squared norm of the salient representation, `x ⊙ ∂‖s(x)‖²/∂x` — ‖s‖ is what
 * separates a target from the background (whose salient code SepCLR pins at the origin), so the map shows where the
 * pathological pattern is read. Computed in eval mode (batch norm with running statistics).
 */
import * as tf from '../tf.js';
import type { MethodImpl } from './methods.js';
import { batchTensor } from './fit.js';
import { gatherImages, type ContrastiveDataset } from './dataset.js';

/** `[B, …shape, 1]` → gradient × input of ‖s(x)‖² (s: the method's `salientCode`), same shape. */
export function salientSaliency(method: MethodImpl, x: tf.Tensor): tf.Tensor {
  method.model.eval();
  return tf.tidy(() => {
    const grad = tf.grad((input: tf.Tensor) =>
      tf.tidy(() => {
        const { salientCode } = method.embed(input);
        return tf.sum(tf.square(salientCode)) as tf.Scalar;
      }),
    )(x);
    return tf.mul(grad, x);
  });
}

/**
 * Mean saliency map over the samples `indices` (e.g. the held-out targets of one class), `prod(shape)` values;
 * `absolute` (default true) averages |gradient × input| so opposite signs do not cancel.
 */
export function meanSaliency(method: MethodImpl, ds: ContrastiveDataset, indices: ArrayLike<number>, opts: { absolute?: boolean; batchSize?: number } = {}): Float32Array {
  const size = ds.shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(size);
  const bs = opts.batchSize ?? 32;
  const idx = Array.from(indices);
  for (let start = 0; start < idx.length; start += bs) {
    const part = idx.slice(start, start + bs);
    const x = batchTensor(gatherImages(ds, part), part.length, ds.shape);
    const m = salientSaliency(method, x);
    const reduced = tf.tidy(() => tf.sum(opts.absolute === false ? m : tf.abs(m), 0));
    const data = reduced.dataSync();
    for (let i = 0; i < size; i++) out[i] += data[i];
    tf.dispose([x, m, reduced]);
  }
  return Float32Array.from(out, (v) => v / Math.max(1, idx.length));
}
