/**
 * PyTorch's default initialisations, drawn from a seeded `Rng` (same seed → same weights on every backend; the
 * values differ from torch's generator, the distributions do not). Fans follow torch.nn.init: for a weight
 * [out, in, k…], fan_in = in·∏k and fan_out = out·∏k.
 */
import * as tf from '../tf.js';
import { ValueError } from '../errors.js';
import type { Rng } from '../util/random.js';

const size = (shape: readonly number[]) => shape.reduce((p, e) => p * e, 1);

export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new ValueError(`init: fan in/out need a weight of rank ≥ 2, got [${shape}]`);
  const receptive = size(shape.slice(2));
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** U(−bound, bound). */
export function uniform(shape: readonly number[], bound: number, rng: Rng): tf.Tensor {
  const n = size(shape);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform(-bound, bound);
  return tf.tensor(v, [...shape]);
}

/** N(0, std²). */
export function normal(shape: readonly number[], std: number, rng: Rng): tf.Tensor {
  return tf.tensor(rng.normalArray(size(shape), std), [...shape]);
}

/** torch.nn.init.kaiming_uniform_(w, a=√5) — the default of nn.Linear and nn.ConvNd: U(±1/√fan_in). */
export function kaimingUniformDefault(shape: readonly number[], rng: Rng): tf.Tensor {
  return uniform(shape, 1 / Math.sqrt(fans(shape).fanIn), rng);
}

/** The default bias of nn.Linear / nn.ConvNd: U(±1/√fan_in) with the fan_in of the weight. */
export function defaultBias(outFeatures: number, fanIn: number, rng: Rng): tf.Tensor {
  return uniform([outFeatures], fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0, rng);
}

/** torch.nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu') — torchvision's ResNet/DenseNet convs. */
export function kaimingNormalFanOut(shape: readonly number[], rng: Rng): tf.Tensor {
  return normal(shape, Math.sqrt(2 / fans(shape).fanOut), rng);
}

/** torch.nn.init.kaiming_normal_(w, mode='fan_in', nonlinearity='relu'). */
export function kaimingNormalFanIn(shape: readonly number[], rng: Rng): tf.Tensor {
  return normal(shape, Math.sqrt(2 / fans(shape).fanIn), rng);
}

/** torch.nn.init.xavier_uniform_ (gain 1): U(±√(6 / (fan_in + fan_out))). */
export function xavierUniform(shape: readonly number[], rng: Rng): tf.Tensor {
  const { fanIn, fanOut } = fans(shape);
  return uniform(shape, Math.sqrt(6 / (fanIn + fanOut)), rng);
}
