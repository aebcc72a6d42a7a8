/** Activations and dropout. */
import * as tf from '../../tf.js';
import { ValueError } from '../../errors.js';
import type { Rng } from '../../util/random.js';
import { customOp } from './custom.js';

/**
 * GELU, exact (erf) form as torch.nn.GELU(): x·Φ(x) with Φ the standard normal CDF (Hendrycks & Gimpel 2016).
 * Backward: Φ(x) + x·φ(x).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return customOp({
    name: 'gelu',
    inputs: { x },
    forward: (save) => {
      save([x]);
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
      return tf.mul(x, cdf);
    },
    backward: ([dy], [xs]) => ({
      x: () => {
        const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(xs, Math.SQRT1_2))));
        const pdf = tf.mul(1 / Math.sqrt(2 * Math.PI), tf.exp(tf.mul(-0.5, tf.square(xs))));
        return tf.mul(dy, tf.add(cdf, tf.mul(xs, pdf)));
      },
    }),
  });
}

/**
 * Inverted dropout with a seeded mask: zeroes each element with probability p and scales the rest by 1/(1−p)
 * (torch.nn.functional.dropout in training mode). The mask comes from `rng`, so a seed fixes it on every backend.
 */
export function dropout(x: tf.Tensor, p: number, rng: Rng): tf.Tensor {
  if (!(p >= 0 && p < 1)) throw new ValueError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return tf.clone(x);
  const keep = 1 - p;
  const mask = new Float32Array(x.size);
  const scale = 1 / keep;
  for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < keep ? scale : 0;
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape)));
}
