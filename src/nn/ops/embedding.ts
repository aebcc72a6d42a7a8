/** Embedding lookup with a scatter-add backward (tfjs-wasm lacks UnsortedSegmentSum, which tf.gather's gradient needs). */
import * as tf from '../../tf.js';
import { ShapeError, ValueError } from '../../errors.js';
import { customOp } from './custom.js';

/**
 * weight [V, E] rows picked by integer ids of any shape → [...ids.shape, E] (torch.nn.functional.embedding).
 * The weight gradient is scatterND(ids, dy), which sums the rows of repeated ids.
 */
export function embedding(ids: tf.Tensor, weight: tf.Tensor): tf.Tensor {
  if (weight.rank !== 2) throw new ShapeError(`embedding: weight must be [vocab, dim], got [${weight.shape}]`);
  if (ids.dtype !== 'int32') throw new ValueError(`embedding: ids must be int32, got ${ids.dtype}`);
  const [vocab, dim] = weight.shape;
  const n = ids.size;
  return customOp({
    name: 'embedding',
    inputs: { weight },
    forward: (save) => {
      const flat = tf.reshape(ids, [n]);
      const vals = flat.dataSync();
      for (let i = 0; i < vals.length; i++) {
        if (!(vals[i] >= 0 && vals[i] < vocab)) throw new ValueError(`embedding: id ${vals[i]} is outside [0, ${vocab})`);
      }
      save([flat]);
      return tf.reshape(tf.gather(weight, flat), [...ids.shape, dim]);
    },
    backward: ([dy], [flat]) => ({
      weight: () => tf.scatterND(tf.reshape(flat, [n, 1]), tf.reshape(dy, [n, dim]), [vocab, dim]),
    }),
  });
}
