/**
 * Per-channel arithmetic on channels-last tensors, shaped for speed on wasm.
 *
 * Why: broadcasting a short vector (C = 8…64) over [N, C] takes tfjs-wasm's generic broadcast path, ~5× slower than
 * a same-shape op. Viewing x as [N/R, R·C] and tiling the vector R times (R·C ≥ 64) makes the broadcast row long
 * enough for the fast path. These helpers are used inside custom ops (no autograd needed) and by layers.
 */
import * as tf from '../../tf.js';

const MIN_ROW = 64;

/** The repeat count R for a channels-last tensor with `rows` rows of `channels` values. */
export function rowRepeat(rows: number, channels: number): number {
  if (channels >= MIN_ROW) return 1;
  const want = Math.ceil(MIN_ROW / channels);
  for (let r = want; r <= 4 * want && r <= rows; r++) if (rows % r === 0) return r;
  for (let r = want - 1; r > 1; r--) if (rows % r === 0) return r;
  return 1;
}

/** Applies `op(x, v)` with v a [C] vector broadcast over the last axis of x (any rank); returns x's shape. */
export function channelOp(
  x: tf.Tensor,
  v: tf.Tensor,
  op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  const c = x.shape[x.rank - 1];
  const rows = x.size / c;
  const r = rowRepeat(rows, c);
  if (r === 1) return op(x, v);
  return tf.tidy(() => tf.reshape(op(tf.reshape(x, [rows / r, r * c]), tf.tile(v, [r])), x.shape));
}

/** x · scale + shift per channel (scale/shift: [C] or null). */
export function channelAffine(x: tf.Tensor, scale: tf.Tensor | null, shift: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => {
    let y = x;
    if (scale != null) y = channelOp(y, scale, tf.mul);
    if (shift != null) y = channelOp(y, shift, tf.add);
    return y === x ? tf.clone(x) : y;
  });
}

/** Sum over every axis but the last: [..., C] → [C]. A ones-row matmul, the fastest reduction on wasm. */
export function channelSum(x: tf.Tensor): tf.Tensor {
  const c = x.shape[x.rank - 1];
  const rows = x.size / c;
  return tf.tidy(() => tf.reshape(tf.matMul(tf.ones([1, rows]), tf.reshape(x, [rows, c])), [c]));
}
