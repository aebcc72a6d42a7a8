/**
 * Matrix products without tfjs' transpose flags.
 *
 * Why: on tfjs-wasm, `matMul(a, b, transposeA, transposeB)` with either flag set leaves XNNPACK's fast path
 * (measured ~1 GFLOP/s against ~13 GFLOP/s unflagged), and tfjs' own MatMul gradient always uses the flags. These
 * ops transpose explicitly (cheap, memory-bound) and keep every product unflagged, forward and backward.
 */
import * as tf from '../../tf.js';
import { ShapeError } from '../../errors.js';
import { customOp } from './custom.js';
import { channelOp, channelSum } from './channelwise.js';

/** Swaps the last two axes. */
export function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/**
 * Linear map with a PyTorch-layout weight: y = x · Wᵀ + b for x [..., in], W [out, in], b [out] → [..., out]
 * (torch.nn.functional.linear).
 */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  if (weight.rank !== 2) throw new ShapeError(`linear: weight must be [out, in], got [${weight.shape}]`);
  const [out, inp] = weight.shape;
  if (x.shape[x.rank - 1] !== inp) {
    throw new ShapeError(`linear: input's last axis is ${x.shape[x.rank - 1]}, the weight expects ${inp}`);
  }
  if (bias != null && (bias.rank !== 1 || bias.shape[0] !== out)) {
    throw new ShapeError(`linear: bias must be [${out}], got [${bias.shape}]`);
  }
  const lead = x.shape.slice(0, -1);
  const rows = x.size / inp;
  const inputs: Record<string, tf.Tensor> = bias == null ? { x, weight } : { x, weight, bias };
  return customOp({
    name: 'linear',
    inputs,
    forward: (save) => {
      save([x, weight]);
      let y = tf.matMul(tf.reshape(x, [rows, inp]), tf.transpose(weight));
      if (bias != null) y = channelOp(y, bias, tf.add);
      return tf.reshape(y, [...lead, out]);
    },
    backward: ([dy], [xs, w]) => {
      const dy2 = tf.reshape(dy, [rows, out]);
      const grads: Record<string, () => tf.Tensor> = {
        x: () => tf.reshape(tf.matMul(dy2, w), xs.shape),
        weight: () => tf.matMul(tf.transpose(dy2), tf.reshape(xs, [rows, inp])),
      };
      if (bias != null) grads.bias = () => channelSum(dy2);
      return grads;
    },
  });
}

/**
 * Batched matrix product a·b over the last two axes (leading axes must match), with optional transposes done
 * explicitly: matmul(q, k, false, true) = q · kᵀ.
 */
export function matmul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (a.rank < 2 || a.rank !== b.rank) {
    throw new ShapeError(`matmul: operands must have the same rank ≥ 2, got [${a.shape}] and [${b.shape}]`);
  }
  const ka = a.shape[a.rank - (transposeA ? 2 : 1)];
  const kb = b.shape[b.rank - (transposeB ? 1 : 2)];
  if (ka !== kb || a.shape.slice(0, -2).some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`matmul: cannot multiply [${a.shape}]${transposeA ? 'ᵀ' : ''} by [${b.shape}]${transposeB ? 'ᵀ' : ''}`);
  }
  return customOp({
    name: 'matmul',
    inputs: { a, b },
    forward: (save) => {
      const am = transposeA ? swapLast(a) : a;
      const bm = transposeB ? swapLast(b) : b;
      save([am, bm]);
      return tf.matMul(am, bm);
    },
    backward: ([dy], [am, bm]) => ({
      // d(am) = dy · bmᵀ, d(bm) = amᵀ · dy; a transposed operand gets the transposed gradient.
      a: () => (transposeA ? tf.matMul(bm, swapLast(dy)) : tf.matMul(dy, swapLast(bm))),
      b: () => (transposeB ? tf.matMul(swapLast(dy), am) : tf.matMul(swapLast(am), dy)),
    }),
  });
}
