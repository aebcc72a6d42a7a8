/**
 * Objectives of the VAE-based contrastive-analysis baselines.
 *
 * - cVAE — Abid & Zou, "Contrastive Variational Autoencoder Enhances Salient Features" (arXiv 1902.04601, 2019),
 *   Algorithm 1 without the optional total-correlation discriminator: a target sample is encoded into a common `z`
 *   and a salient `s` and decoded from `[z, s]`; a background sample is encoded into `z` only and decoded from
 *   `[z, 0]`; the loss is the sum of both negative ELBOs (reconstruction + KL of each inferred latent).
 * - MM-cVAE — Weinberger, Lin & Lee, "Moment Matching Deep Contrastive Latent Variable Models" (AISTATS 2022),
 *   Eq. 8: the cVAE loss + λ_c·MMD(z_background, z_target) (the common latents of both groups share one
 *   distribution) + λ_s·MMD(s_background, δ₀) (a background sample's salient latent, inferred by the salient encoder,
 *   is pushed to the origin). MMD as in `mmd` (RBF, biased by default).
 *
 * KL(N(μ, diag e^{lv}) ‖ N(0, I)) = ½ Σ_k (μ_k² + e^{lv_k} − lv_k − 1) (Kingma & Welling 2014, Appendix B).
 */
import * as tf from '../tf.js';
import { ShapeError } from '../errors.js';
import { matMul } from './common.js';
import { mmd, type MMDOptions } from './mmd.js';
import { embeddings, finite, groupLabels, nonNegative, oneOf, positive } from './validate.js';

export interface ContrastiveVAEInputs {
  /** The input batch `[n, …]` (any shape; flattened per sample). */
  x: tf.Tensor;
  /** The decoder's output, same shape as `x`: means (gaussian likelihood) or logits (bernoulli). */
  recon: tf.Tensor;
  /** Common latent posterior `[n, dz]` (mean, log-variance) and the sample the decoder got. */
  zMu: tf.Tensor;
  zLogvar: tf.Tensor;
  z: tf.Tensor;
  /** Salient latent posterior `[n, ds]` and its sample (every row: background rows feed the MM-cVAE term). */
  sMu: tf.Tensor;
  sLogvar: tf.Tensor;
  s: tf.Tensor;
  /** 0 background, 1 target, per sample. */
  group: tf.Tensor | ArrayLike<number | boolean>;
}

export interface ContrastiveVAEOptions {
  /** 'gaussian' (default): Σ (x − x̂)² / (2σ²); 'bernoulli': binary cross-entropy with logits (x in [0, 1]). */
  likelihood?: 'gaussian' | 'bernoulli';
  /** σ of the gaussian likelihood (default 1). */
  sigma?: number;
  /** β ≥ 0, weight of the KL terms (default 1: the ELBO). */
  beta?: number;
  /** λ_c ≥ 0: MMD between background and target common latents (MM-cVAE; default 0 = cVAE). */
  mmdCommon?: number;
  /** λ_s ≥ 0: MMD between background salient latents and the origin (MM-cVAE; default 0 = cVAE). */
  mmdSalient?: number;
  /** Kernel of both MMD terms (default σ = 1, biased). */
  mmd?: MMDOptions;
}

export interface ContrastiveVAELoss {
  total: tf.Scalar;
  /** Mean over the batch of the per-sample negative log-likelihood. */
  reconstruction: tf.Scalar;
  /** Mean over the batch of KL(q(z|x) ‖ N(0, I)). */
  klCommon: tf.Scalar;
  /** Σ over target rows of KL(q(s|x) ‖ N(0, I)), divided by the batch size (background rows add nothing). */
  klSalient: tf.Scalar;
  /** MMD²(z[g=0], z[g=1]), unweighted (0 when the batch lacks one group). */
  mmdCommon: tf.Scalar;
  /** MMD²(s[g=0], 0), unweighted (0 when the batch has no background row). */
  mmdSalient: tf.Scalar;
}

/** Per-sample KL(N(μ, e^{lv}) ‖ N(0, I)) `[n]`. */
export function gaussianKL(mu: tf.Tensor, logvar: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.mul(tf.sum(tf.sub(tf.add(tf.square(mu), tf.exp(logvar)), tf.add(logvar, 1)), 1), 0.5) as tf.Tensor1D);
}

/** Per-sample negative log-likelihood `[n]` of `x` under the decoder output (up to the constant). */
function negativeLogLikelihood(x: tf.Tensor2D, out: tf.Tensor2D, likelihood: 'gaussian' | 'bernoulli', sigma: number): tf.Tensor1D {
  return tf.tidy(() => {
    if (likelihood === 'gaussian') return tf.mul(tf.sum(tf.square(tf.sub(x, out)), 1), 1 / (2 * sigma * sigma)) as tf.Tensor1D;
    // max(l, 0) − x·l + log(1 + e^{−|l|}): BCE with logits without overflow.
    const bce = tf.add(tf.sub(tf.relu(out), tf.mul(x, out)), tf.log1p(tf.exp(tf.neg(tf.abs(out)))));
    return tf.sum(bce, 1) as tf.Tensor1D;
  });
}

/** The `[k, n]` 0/1 matrix selecting the rows where `g == value` (a matmul, not a gather: trains on wasm). */
export function rowSelector(g: ArrayLike<number>, value: number): tf.Tensor2D | null {
  const rows: number[] = [];
  for (let i = 0; i < g.length; i++) if (g[i] === value) rows.push(i);
  if (rows.length === 0) return null;
  const data = new Float32Array(rows.length * g.length);
  rows.forEach((r, k) => (data[k * g.length + r] = 1));
  return tf.tensor2d(data, [rows.length, g.length]);
}

/**
 * cVAE / MM-cVAE loss (see the module comment):
 * `total = mean_i [nll_i + β (KL_z,i + g_i KL_s,i)] + λ_c MMD²(z[g=0], z[g=1]) + λ_s MMD²(s[g=0], 0)`.
 * A batch without background (or target) rows gets 0 for the MMD terms that need them — never NaN.
 * Returns scalars the caller disposes.
 */
export function contrastiveVAELoss(inputs: ContrastiveVAEInputs, options: ContrastiveVAEOptions = {}): ContrastiveVAELoss {
  const likelihood = oneOf(options.likelihood ?? 'gaussian', ['gaussian', 'bernoulli'] as const, 'contrastiveVAELoss: likelihood');
  const sigma = positive(options.sigma ?? 1, 'contrastiveVAELoss: sigma');
  const beta = nonNegative(options.beta ?? 1, 'contrastiveVAELoss: beta');
  const lambdaC = nonNegative(options.mmdCommon ?? 0, 'contrastiveVAELoss: mmdCommon');
  const lambdaS = nonNegative(options.mmdSalient ?? 0, 'contrastiveVAELoss: mmdSalient');
  const { x, recon } = inputs;
  if (!(x instanceof tf.Tensor) || !(recon instanceof tf.Tensor)) throw new ShapeError('contrastiveVAELoss: x and recon must be tensors');
  if (!tf.util.arraysEqual(x.shape, recon.shape)) {
    throw new ShapeError(`contrastiveVAELoss: recon must have the shape of x [${x.shape}]; got [${recon.shape}]`);
  }
  if (x.rank < 2 || x.shape[0] < 1) throw new ShapeError(`contrastiveVAELoss: x must be a batch [n, …] with n ≥ 1; got [${x.shape}]`);
  finite(x, 'contrastiveVAELoss: x');
  finite(recon, 'contrastiveVAELoss: recon');
  const n = x.shape[0];
  const zMu = embeddings(inputs.zMu, 'contrastiveVAELoss: zMu', { n, nName: 'x' });
  const dz = zMu.shape[1];
  const zLogvar = embeddings(inputs.zLogvar, 'contrastiveVAELoss: zLogvar', { n, d: dz, nName: 'x', dName: 'zMu' });
  const z = embeddings(inputs.z, 'contrastiveVAELoss: z', { n, d: dz, nName: 'x', dName: 'zMu' });
  const sMu = embeddings(inputs.sMu, 'contrastiveVAELoss: sMu', { n, nName: 'x' });
  const ds = sMu.shape[1];
  const sLogvar = embeddings(inputs.sLogvar, 'contrastiveVAELoss: sLogvar', { n, d: ds, nName: 'x', dName: 'sMu' });
  const s = embeddings(inputs.s, 'contrastiveVAELoss: s', { n, d: ds, nName: 'x', dName: 'sMu' });
  const g = groupLabels(inputs.group, n, 'contrastiveVAELoss: group');
  const mmdOptions = options.mmd ?? {};

  const out = tf.tidy(() => {
    const flat = (t: tf.Tensor) => tf.reshape(t, [n, -1]) as tf.Tensor2D;
    const target = tf.tensor1d(g);
    const reconstruction = tf.mean(negativeLogLikelihood(flat(x), flat(recon), likelihood, sigma));
    const klCommon = tf.mean(gaussianKL(zMu, zLogvar));
    const klSalient = tf.div(tf.sum(tf.mul(gaussianKL(sMu, sLogvar), target)), n);
    const background = rowSelector(g, 0);
    const targets = rowSelector(g, 1);
    const zero = (t: tf.Tensor) => tf.mul(tf.sum(t), 0); // a 0 that keeps the latent in the graph
    const mmdCommon = background && targets ? mmd(matMul(background, z), matMul(targets, z), mmdOptions) : zero(z);
    let mmdSalient: tf.Tensor = zero(s);
    if (background) {
      const sb = matMul(background, s);
      mmdSalient = mmd(sb, tf.zerosLike(sb), mmdOptions);
    }
    const total = tf.addN([
      reconstruction,
      tf.mul(tf.add(klCommon, klSalient), beta),
      tf.mul(mmdCommon, lambdaC),
      tf.mul(mmdSalient, lambdaS),
    ]);
    return [total, reconstruction, klCommon, klSalient, mmdCommon, mmdSalient] as tf.Scalar[];
  });
  const [total, reconstruction, klCommon, klSalient, mmdCommonValue, mmdSalientValue] = out;
  return { total, reconstruction, klCommon, klSalient, mmdCommon: mmdCommonValue, mmdSalient: mmdSalientValue };
}
