/**
 * The four methods compared by contrastive analysis, behind one interface: build the model from a resolved config,
 * compute the training loss (total + named terms, for per-term logging) on a batch, embed a batch into a common and
 * a salient space, and give the salient code a saliency map explains.
 *
 * - sepclr: SepCLR (LOSSES.md §8) on the two projections of two views, plus the optional MMD / HSIC regularisers;
 * - cvae / mm-cvae: `contrastiveVAELoss` on one view;
 * - simclr: InfoNCE on the single space; its one representation stands for both spaces in the evaluation (it cannot
 *   separate them: that is the point of the baseline).
 */
import * as tf from '../tf.js';
import { Rng } from '../util/random.js';
import { Module } from '../nn/module.js';
import { l2Normalize, matMul } from '../losses/common.js';
import { sepCLR } from '../losses/sepclr.js';
import { infoNCE } from '../losses/infonce.js';
import { mmd } from '../losses/mmd.js';
import { hsic } from '../losses/hsic.js';
import { contrastiveVAELoss, rowSelector } from '../losses/contrastive-vae.js';
import type { CAMethod, ResolvedContrastiveAnalysisConfig } from './config.js';
import { ContrastiveVAEModel, SepCLRModel, SimCLRModel, type TwoSpaceOutput } from './models.js';

export interface LossResult {
  total: tf.Scalar;
  /** Named terms (unweighted where the objective defines them so), for logging. */
  terms: Record<string, tf.Scalar>;
}

export interface EmbedResult {
  common: tf.Tensor2D;
  salient: tf.Tensor2D;
  salientCode: tf.Tensor2D;
}

export interface MethodImpl {
  readonly method: CAMethod;
  readonly model: Module;
  /** Views per sample the loss takes (2 contrastive, 1 VAE). */
  readonly views: 1 | 2;
  /**
   * Training loss on a batch of `views` views of B samples stacked view-major, `[views·B, …shape, 1]` (rows v·B + i:
   * view v of sample i; one forward pass for all views), with per-sample groups; `rng` draws any noise. Call it
   * inside a tidy (or tf.variableGrads): intermediates are left to the enclosing scope.
   */
  loss(x: tf.Tensor, group: number[], rng: Rng): LossResult;
  /**
   * Representations in eval mode (call inside `model.eval()`): common and salient, `[B, d]` each (what the probes
   * read), and `salientCode`, the code the background is pushed to zero in (SepCLR: the salient projection; the
   * other methods: the salient representation itself).
   */
  embed(x: tf.Tensor): EmbedResult;
  /** VAEs only: reconstructions `[B, …shape, 1]` (posterior means decoded; background rows with s = 0). */
  reconstruct?(x: tf.Tensor, group: ArrayLike<number>): tf.Tensor;
  /** VAEs only: decodes given latents. */
  decode?(z: tf.Tensor2D, s: tf.Tensor2D): tf.Tensor;
}

/** `inputShape` is the spatial shape of one sample (the VAE decoder needs it). */
export function buildMethod(cfg: ResolvedContrastiveAnalysisConfig, inputShape: number[]): MethodImpl {
  switch (cfg.method) {
    case 'sepclr':
      return sepclrMethod(cfg);
    case 'simclr':
      return simclrMethod(cfg);
    case 'cvae':
    case 'mm-cvae':
      return vaeMethod(cfg, inputShape);
  }
}

/** The two views' halves of a view-major two-view batch output. */
function splitViews(out: TwoSpaceOutput, n: number): [TwoSpaceOutput, TwoSpaceOutput] {
  const half = (t: tf.Tensor2D, v: number) => tf.slice(t, [v * n, 0], [n, -1]) as tf.Tensor2D;
  const view = (v: number): TwoSpaceOutput => ({
    common: half(out.common, v),
    salient: half(out.salient, v),
    commonHead: half(out.commonHead, v),
    salientHead: half(out.salientHead, v),
  });
  return [view(0), view(1)];
}

function sepclrMethod(cfg: ResolvedContrastiveAnalysisConfig): MethodImpl {
  const model = new SepCLRModel(
    { encoder: cfg.encoder, commonDim: cfg.commonDim, salientDim: cfg.salientDim, sharedBackbone: cfg.sharedBackbone, projector: cfg.projector },
    { seed: cfg.seed },
  );
  const o = cfg.sepclr;
  return {
    method: 'sepclr',
    model,
    views: 2,
    loss(x, group) {
      const [a, b] = splitViews(model.forward(x), group.length);
      const r = sepCLR(
        { c1: a.commonHead, c2: b.commonHead, s1: a.salientHead, s2: b.salientHead, group },
        { tau: o.tau, betaSalient: o.betaSalient, betaReg: o.betaReg, lambdaJem: o.lambdaJem },
      );
      const terms: Record<string, tf.Scalar> = { common: r.common, salient: r.salient, reg: r.reg, jem: r.jem };
      const extra: tf.Scalar[] = [];
      const bg = rowSelector(group, 0);
      const tg = rowSelector(group, 1);
      const g = tf.tensor2d(Float32Array.from(group), [group.length, 1]);
      if (o.mmdCommon > 0) {
        // Background and target common projections should share one distribution (the group is salient).
        terms.mmdCommon =
          bg && tg
            ? tf.tidy(() => {
                const per = [a.commonHead, b.commonHead].map((c) => {
                  const u = l2Normalize(c);
                  return mmd(matMul(bg, u), matMul(tg, u), o.mmd);
                });
                return tf.div(tf.add(per[0], per[1]), 2) as tf.Scalar;
              })
            : tf.scalar(0);
        extra.push(tf.mul(terms.mmdCommon, o.mmdCommon) as tf.Scalar);
      }
      if (o.hsic > 0) {
        // Kernel independence of the common projection and s' (as k-JEM: background salient codes zeroed).
        terms.hsic = tf.tidy(() => {
          const per = [a, b].map((v) =>
            hsic(l2Normalize(v.commonHead), tf.mul(v.salientHead, g), { sigmaX: o.hsicSigma, sigmaY: o.hsicSigma }),
          );
          return tf.div(tf.add(per[0], per[1]), 2) as tf.Scalar;
        });
        extra.push(tf.mul(terms.hsic, o.hsic) as tf.Scalar);
      }
      const total = extra.length ? (tf.addN([r.total, ...extra]) as tf.Scalar) : r.total;
      return { total, terms };
    },
    embed(x) {
      return tf.tidy(() => {
        const { common, salient } = model.represent(x);
        return { common, salient, salientCode: model.salient.projector.forward(salient) as tf.Tensor2D };
      });
    },
  };
}

function simclrMethod(cfg: ResolvedContrastiveAnalysisConfig): MethodImpl {
  const model = new SimCLRModel({ encoder: cfg.encoder, dim: cfg.commonDim + cfg.salientDim, projector: cfg.projector }, { seed: cfg.seed });
  return {
    method: 'simclr',
    model,
    views: 2,
    loss(x, group) {
      const n = group.length;
      const { projection } = model.forward(x);
      const total = infoNCE(tf.slice(projection, [0, 0], [n, -1]), tf.slice(projection, [n, 0], [n, -1]), { temperature: cfg.simclr.temperature });
      return { total, terms: { infoNCE: total } };
    },
    embed(x) {
      return tf.tidy(() => {
        const r = model.represent(x);
        return { common: r, salient: tf.clone(r), salientCode: tf.clone(r) };
      });
    },
  };
}

function vaeMethod(cfg: ResolvedContrastiveAnalysisConfig, inputShape: number[]): MethodImpl {
  const model = new ContrastiveVAEModel(
    {
      encoder: cfg.encoder,
      inputShape,
      commonDim: cfg.commonDim,
      salientDim: cfg.salientDim,
      sharedBackbone: cfg.sharedBackbone,
      ...(cfg.decoderWidths ? { decoderWidths: cfg.decoderWidths } : {}),
    },
    { seed: cfg.seed },
  );
  const o = cfg.vae;
  return {
    method: cfg.method,
    model,
    views: 1,
    loss(x, group, rng) {
      const out = model.forward(x, group, rng);
      const r = contrastiveVAELoss(
        { x, recon: out.recon, zMu: out.zMu, zLogvar: out.zLogvar, z: out.z, sMu: out.sMu, sLogvar: out.sLogvar, s: out.s, group },
        { likelihood: o.likelihood, sigma: o.sigma, beta: o.beta, mmdCommon: o.mmdCommon, mmdSalient: o.mmdSalient, mmd: o.mmd },
      );
      const { total, ...terms } = r;
      return { total, terms };
    },
    embed(x) {
      return tf.tidy(() => {
        const p = model.encode(x);
        return { common: p.zMu, salient: p.sMu, salientCode: tf.clone(p.sMu) };
      });
    },
    reconstruct(x, group) {
      return tf.tidy(() => {
        const out = model.forward(x, group, null);
        return o.likelihood === 'bernoulli' ? tf.sigmoid(out.recon) : tf.clone(out.recon);
      });
    },
    decode(z, s) {
      return tf.tidy(() => {
        const recon = model.decode(z, s, new Float32Array(z.shape[0]).fill(1));
        return o.likelihood === 'bernoulli' ? tf.sigmoid(recon) : recon;
      });
    },
  };
}
