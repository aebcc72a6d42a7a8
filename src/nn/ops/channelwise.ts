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

/** The largest divisor of n not above √n (1 for primes). */
function rootDivisor(n: number): number {
  for (let b = Math.floor(Math.sqrt(n)); b > 1; b--) if (n % b === 0) return b;
  return 1;
}

/**
 * Sum over every axis but the last: [..., C] → [C]. Two channels-last average pools (rows viewed as a × b, pooled
 * over b then a) times the row count: on wasm this is 4× faster than tf.sum over axis 0 (which transposes first)
 * and 1.5× faster than a ones-row matmul (which repacks its right operand on every call), and, summing in two
 * levels of ~√rows terms, an order of magnitude more precise than either in float32.
 */
export function channelSum(x: tf.Tensor): tf.Tensor {
  const c = x.shape[x.rank - 1];
  const rows = x.size / c;
  if (rows === 1) return tf.reshape(x, [c]);
  return tf.tidy(() => {
    let b = rootDivisor(rows);
    if (b < 4) b = 1;
    const a = rows / b;
    let v = tf.reshape(x, [1, a, b, c]) as tf.Tensor4D;
    if (b > 1) v = tf.avgPool(v, [1, b], [1, b], 'valid');
    if (a > 1) v = tf.avgPool(v, [a, 1], [a, 1], 'valid');
    return tf.mul(tf.reshape(v, [c]), rows);
  });
}
