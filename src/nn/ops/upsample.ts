/**
 * Nearest-neighbour upsampling by an integer factor on channels-last images [B, H, W, C] and volumes
 * [B, D, H, W, C] — torch.nn.Upsample(scale_factor=f, mode='nearest'): output voxel i reads input voxel ⌊i / f⌋.
 * With a following convolution it is the decoder's learned upsampling (a transposed 3D conv would need tfjs-wasm's
 * naive Conv3D kernels).
 *
 * Forward: tfjs' ResizeNearestNeighbor over (H, W) on the [B·D, H, W, C] view, then each depth slice repeated f times
 * by a broadcast multiply on a rank-4 view. Backward (hand-written: tfjs' broadcast-reduce gradient is ~15× slower
 * here): the f depth copies summed, then an f×f average pool (XNNPACK) times f².
 */
import * as tf from '../../tf.js';
import { ShapeError, ValueError } from '../../errors.js';
import { customOp } from './custom.js';

/** `[B, H, W, C]` → `[B, fH, fW, C]`, or `[B, D, H, W, C]` → `[B, fD, fH, fW, C]`. */
export function upsampleNearest(x: tf.Tensor, factor = 2): tf.Tensor {
  if (!Number.isInteger(factor) || factor < 1) throw new ValueError(`upsampleNearest: factor must be a positive integer, got ${factor}`);
  if (x.rank !== 4 && x.rank !== 5) {
    throw new ShapeError(`upsampleNearest: expected [B, H, W, C] or [B, D, H, W, C] (channels-last), got [${x.shape}]`);
  }
  if (factor === 1) return tf.clone(x);
  const f = factor;
  const volume = x.rank === 5;
  const [b, d, h, w, c] = volume ? x.shape : [x.shape[0], 1, ...x.shape.slice(1)];
  return customOp({
    name: 'UpsampleNearest',
    inputs: { x },
    forward: () =>
      tf.tidy(() => {
        const planes = tf.image.resizeNearestNeighbor(tf.reshape(x, [b * d, h, w, c]) as tf.Tensor4D, [f * h, f * w]);
        if (!volume) return planes;
        const plane = f * h * f * w * c;
        const deep = tf.mul(tf.reshape(planes, [b, d, 1, plane]), tf.ones([1, 1, f, 1]));
        return tf.reshape(deep, [b, f * d, f * h, f * w, c]);
      }),
    backward: ([dy]) => ({
      x: () =>
        tf.tidy(() => {
          let planes: tf.Tensor4D;
          if (volume) {
            const plane = f * h * f * w * c;
            const deep = tf.reshape(dy, [b * d, f, plane, 1]) as tf.Tensor4D;
            const copies = Array.from({ length: f }, (_, k) => tf.slice(deep, [0, k, 0, 0], [-1, 1, -1, -1]));
            planes = tf.reshape(tf.addN(copies), [b * d, f * h, f * w, c]) as tf.Tensor4D;
          } else {
            planes = dy as tf.Tensor4D;
          }
          const summed = tf.mul(tf.avgPool(planes, [f, f], [f, f], 'valid'), f * f);
          return tf.reshape(summed, x.shape);
        }),
    }),
  });
}
