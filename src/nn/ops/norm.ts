/**
 * Normalisation ops with hand-written backward passes (channels-last: the normalised axis is the last one).
 *
 * Batch norm reduces over every axis but the last with ones-row matmuls and applies per-channel vectors with the
 * tiled fast path of ./channelwise.ts; its backward is the closed form
 *   dx = γ·σ⁻¹ · (dy − mean(dy) − x̂ · mean(dy · x̂)),  dγ = Σ dy · x̂,  dβ = Σ dy
 * (Ioffe & Szegedy 2015, §3), so no tape of a dozen elementwise ops is recorded per layer.
 */
import * as tf from '../../tf.js';
import { ShapeError, ValueError } from '../../errors.js';
import { customOp, customOpMulti } from './custom.js';
import { channelOp, channelSum } from './channelwise.js';

export interface BatchNormTrainResult {
  /** The normalised (and affine-transformed) input. */
  y: tf.Tensor;
  /** Batch mean per channel [C]. */
  mean: tf.Tensor;
  /** Unbiased batch variance per channel [C] (what PyTorch folds into running_var). */
  varUnbiased: tf.Tensor;
}

function checkChannels(x: tf.Tensor, v: tf.Tensor | null, what: string, name: string): void {
  const c = x.shape[x.rank - 1];
  if (v != null && (v.rank !== 1 || v.shape[0] !== c)) {
    throw new ShapeError(`${what}: ${name} must be [${c}] (the input's last axis), got [${v.shape}]`);
  }
}

/**
 * Training-mode batch norm: normalises with the batch statistics over every axis but the last (biased variance,
 * as PyTorch), and returns the statistics for the running averages. gamma/beta: [C] or null (affine=false).
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor | null, eps = 1e-5): BatchNormTrainResult {
  const c = x.shape[x.rank - 1];
  const n = x.size / c;
  if (n < 2) {
    throw new ValueError(`batchNorm: expected more than 1 value per channel when training, got input [${x.shape}]`);
  }
  checkChannels(x, gamma, 'batchNorm', 'weight');
  checkChannels(x, beta, 'batchNorm', 'bias');
  const inputs: Record<string, tf.Tensor> = { x };
  if (gamma != null) inputs.gamma = gamma;
  if (beta != null) inputs.beta = beta;
  const [y, mean, varUnbiased] = customOpMulti({
    name: 'batchNorm',
    inputs,
    forward: (save) => {
      const mean = tf.div(channelSum(x), n);
      const xc = channelOp(x, tf.neg(mean), tf.add);
      const varBiased = tf.div(channelSum(tf.square(xc)), n);
      const invStd = tf.rsqrt(tf.add(varBiased, eps));
      const scale = gamma == null ? invStd : tf.mul(gamma, invStd);
      let y = channelOp(xc, scale, tf.mul);
      if (beta != null) y = channelOp(y, beta, tf.add);
      save([xc, invStd, scale]);
      return [y, mean, tf.mul(varBiased, n / (n - 1))];
    },
    // Only saved tensors may be used here: inputs built inside an inner tidy (parameter slices) are gone by now.
    backward: ([dy], [xc, invStd, scale]) => {
      const xhat = channelOp(xc, invStd, tf.mul);
      const sumDy = channelSum(dy);
      const sumDyXhat = channelSum(tf.mul(dy, xhat));
      const grads: Record<string, () => tf.Tensor> = {
        x: () => {
          const t = tf.sub(dy, channelOp(xhat, tf.div(sumDyXhat, n), tf.mul));
          return channelOp(channelOp(t, tf.div(tf.neg(sumDy), n), tf.add), scale, tf.mul);
        },
      };
      if (gamma != null) grads.gamma = () => sumDyXhat;
      if (beta != null) grads.beta = () => sumDy;
      return grads;
    },
  });
  return { y, mean, varUnbiased };
}

/**
 * Eval-mode batch norm with the running statistics: y = (x − μ) / √(σ² + ε) · γ + β. Gradients flow to x, γ, β
 * (fine-tuning with frozen statistics), not to the statistics.
 */
export function batchNormEval(
  x: tf.Tensor,
  runningMean: tf.Tensor,
  runningVar: tf.Tensor,
  gamma: tf.Tensor | null,
  beta: tf.Tensor | null,
  eps = 1e-5,
): tf.Tensor {
  checkChannels(x, runningMean, 'batchNorm', 'running_mean');
  checkChannels(x, runningVar, 'batchNorm', 'running_var');
  checkChannels(x, gamma, 'batchNorm', 'weight');
  checkChannels(x, beta, 'batchNorm', 'bias');
  const inputs: Record<string, tf.Tensor> = { x };
  if (gamma != null) inputs.gamma = gamma;
  if (beta != null) inputs.beta = beta;
  return customOp({
    name: 'batchNormEval',
    inputs,
    forward: (save) => {
      const invStd = tf.rsqrt(tf.add(runningVar, eps));
      const scale = gamma == null ? invStd : tf.mul(gamma, invStd);
      const shift = tf.sub(beta ?? tf.zerosLike(scale), tf.mul(runningMean, scale));
      save([x, scale, invStd, runningMean]);
      return channelOp(channelOp(x, scale, tf.mul), shift, tf.add);
    },
    backward: ([dy], [xs, scale, invStd, mean]) => {
      const grads: Record<string, () => tf.Tensor> = {
        x: () => channelOp(dy, scale, tf.mul),
      };
      if (gamma != null) {
        grads.gamma = () => tf.mul(channelSum(tf.mul(dy, channelOp(xs, tf.neg(mean), tf.add))), invStd);
      }
      if (beta != null) grads.beta = () => channelSum(dy);
      return grads;
    },
  });
}

/**
 * Layer norm over the last axis (PyTorch nn.LayerNorm(normalized_shape=C)): biased variance, eps inside the root.
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor | null, eps = 1e-5): tf.Tensor {
  checkChannels(x, gamma, 'layerNorm', 'weight');
  checkChannels(x, beta, 'layerNorm', 'bias');
  const inputs: Record<string, tf.Tensor> = { x };
  if (gamma != null) inputs.gamma = gamma;
  if (beta != null) inputs.beta = beta;
  return customOp({
    name: 'layerNorm',
    inputs,
    forward: (save) => {
      const mean = tf.mean(x, -1, true);
      const xc = tf.sub(x, mean);
      const invStd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps));
      const xhat = tf.mul(xc, invStd);
      save(gamma == null ? [xhat, invStd] : [xhat, invStd, gamma]);
      let y = gamma == null ? xhat : channelOp(xhat, gamma, tf.mul);
      if (beta != null) y = channelOp(y, beta, tf.add);
      return y;
    },
    backward: ([dy], [xhat, invStd, g0]) => {
      const grads: Record<string, () => tf.Tensor> = {
        x: () => {
          const g = g0 == null ? dy : channelOp(dy, g0, tf.mul);
          const meanG = tf.mean(g, -1, true);
          const meanGX = tf.mean(tf.mul(g, xhat), -1, true);
          return tf.mul(tf.sub(tf.sub(g, meanG), tf.mul(xhat, meanGX)), invStd);
        },
      };
      if (gamma != null) grads.gamma = () => channelSum(tf.mul(dy, xhat));
      if (beta != null) grads.beta = () => channelSum(dy);
      return grads;
    },
  });
}
