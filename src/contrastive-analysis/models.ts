/**
 * The models of contrastive analysis, as geoclr modules (PyTorch names, seeded initialisation):
 *
 * - `SepCLRModel` (Louiset et al., ICLR 2024): a common branch and a salient branch, each an encoder, a linear map
 *   to its space (the representation that is probed) and an MLP projector (what the objective sees). As in the
 *   paper's code the two branches have their own encoders; `sharedBackbone` makes them share one (cheaper).
 * - `SimCLRModel`: one branch of the same structure (the single-space baseline), width commonDim + salientDim.
 * - `ContrastiveVAEModel` (cVAE, Abid & Zou 2019; MM-cVAE, Weinberger et al. 2022): a common (z) and a salient (s)
 *   gaussian encoder and one upsampling decoder of `[z, s]`; background samples are decoded from `[z, 0]`.
 *
 * Inputs are channels-last batches `[B, H, W, 1]` or `[B, D, H, W, 1]`.
 */
import * as tf from '../tf.js';
import { ConfigError } from '../errors.js';
import { Rng } from '../util/random.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { ConvDecoder } from '../nn/decoder.js';
import { Encoder, MLPHead } from '../nn/encoders/encoder.js';
import { createEncoder, type EncoderConfig } from '../nn/encoders/factory.js';

export interface ProjectorConfig {
  /** Hidden width of the projector MLP (Linear → BatchNorm1d → ReLU → Linear). Default 128. */
  hidden?: number;
  batchNorm?: boolean;
}

function backbone(config: EncoderConfig | Record<string, unknown>, rng: Rng, field: string): Encoder {
  // The branch adds its own linear map and projector: the encoder's head is dropped.
  return createEncoder({ ...(config as Record<string, unknown>), head: null } as EncoderConfig, { rng, field });
}

function positiveInt(v: unknown, field: string): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new ConfigError(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/** Encoder (optional: a shared backbone is passed in) → Linear to `dim` (the representation) → MLP projector. */
export class Branch extends Module {
  readonly encoder: Encoder | null;
  readonly fc: Linear;
  readonly projector: MLPHead;
  constructor(encoder: Encoder | null, inDim: number, readonly dim: number, projector: Required<ProjectorConfig>, rng: Rng) {
    super();
    this.encoder = encoder ? this.addModule('encoder', encoder) : null;
    this.fc = this.addModule('fc', new Linear(inDim, dim, { rng }));
    this.projector = this.addModule('projector', new MLPHead(dim, { hidden: [projector.hidden], out: dim, batchNorm: projector.batchNorm }, rng));
  }
  /** Representation `[B, dim]` from the input (or from shared backbone features when this branch has no encoder). */
  represent(xOrFeatures: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.fc.forward(this.encoder ? this.encoder.represent(xOrFeatures) : xOrFeatures) as tf.Tensor2D);
  }
}

export interface TwoSpaceOutput {
  /** Representations (probed): `[B, commonDim]`, `[B, salientDim]`. */
  common: tf.Tensor2D;
  salient: tf.Tensor2D;
  /** Projections (what the objective sees). */
  commonHead: tf.Tensor2D;
  salientHead: tf.Tensor2D;
}

export interface SepCLRModelConfig {
  encoder: EncoderConfig | Record<string, unknown>;
  commonDim?: number;
  salientDim?: number;
  /** One encoder for both branches (default false: two encoders, as the paper's code). */
  sharedBackbone?: boolean;
  projector?: ProjectorConfig;
}

function resolveProjector(p: ProjectorConfig | undefined): Required<ProjectorConfig> {
  const out = { hidden: 128, batchNorm: true, ...(p ?? {}) };
  positiveInt(out.hidden, 'projector.hidden');
  if (typeof out.batchNorm !== 'boolean') throw new ConfigError('projector.batchNorm', `must be true or false, got ${JSON.stringify(out.batchNorm)}`);
  return out;
}

export class SepCLRModel extends Module {
  readonly backbone: Encoder | null;
  readonly common: Branch;
  readonly salient: Branch;
  constructor(readonly config: SepCLRModelConfig, opts: { seed?: number | string } = {}) {
    super();
    const rng = new Rng(opts.seed ?? 0);
    const commonDim = positiveInt(config.commonDim ?? 32, 'commonDim');
    const salientDim = positiveInt(config.salientDim ?? 32, 'salientDim');
    const projector = resolveProjector(config.projector);
    if (config.sharedBackbone) {
      this.backbone = this.addModule('backbone', backbone(config.encoder, rng, 'encoder'));
      const d = this.backbone.representationDim;
      this.common = this.addModule('common', new Branch(null, d, commonDim, projector, rng));
      this.salient = this.addModule('salient', new Branch(null, d, salientDim, projector, rng));
    } else {
      this.backbone = null;
      const ce = backbone(config.encoder, rng, 'encoder');
      this.common = this.addModule('common', new Branch(ce, ce.representationDim, commonDim, projector, rng));
      const se = backbone(config.encoder, rng, 'encoder');
      this.salient = this.addModule('salient', new Branch(se, se.representationDim, salientDim, projector, rng));
    }
  }

  /** Representations only (evaluation). */
  represent(x: tf.Tensor): { common: tf.Tensor2D; salient: tf.Tensor2D } {
    return tf.tidy(() => {
      const h = this.backbone ? this.backbone.represent(x) : x;
      return { common: this.common.represent(h), salient: this.salient.represent(h) };
    });
  }

  forward(x: tf.Tensor): TwoSpaceOutput {
    return tf.tidy(() => {
      const { common, salient } = this.represent(x);
      return {
        common,
        salient,
        commonHead: this.common.projector.forward(common) as tf.Tensor2D,
        salientHead: this.salient.projector.forward(salient) as tf.Tensor2D,
      };
    });
  }
}

export interface SimCLRModelConfig {
  encoder: EncoderConfig | Record<string, unknown>;
  /** Representation width (default 64: commonDim + salientDim of the two-space models it is compared with). */
  dim?: number;
  projector?: ProjectorConfig;
}

/** The single-space baseline: encoder → Linear → projector, trained with InfoNCE. */
export class SimCLRModel extends Module {
  readonly branch: Branch;
  constructor(readonly config: SimCLRModelConfig, opts: { seed?: number | string } = {}) {
    super();
    const rng = new Rng(opts.seed ?? 0);
    const enc = backbone(config.encoder, rng, 'encoder');
    this.branch = this.addModule('branch', new Branch(enc, enc.representationDim, positiveInt(config.dim ?? 64, 'dim'), resolveProjector(config.projector), rng));
  }
  represent(x: tf.Tensor): tf.Tensor2D {
    return this.branch.represent(x);
  }
  forward(x: tf.Tensor): { representation: tf.Tensor2D; projection: tf.Tensor2D } {
    return tf.tidy(() => {
      const representation = this.branch.represent(x);
      return { representation, projection: this.branch.projector.forward(representation) as tf.Tensor2D };
    });
  }
}

export interface ContrastiveVAEModelConfig {
  /** Encoder of each latent (e.g. `{arch: 'convnet2d', pooling: 'flatten', inputShape: [32, 32]}`). */
  encoder: EncoderConfig | Record<string, unknown>;
  /** Spatial input size ([H, W] or [D, H, W]); each divisible by 2^(decoder stages). */
  inputShape: number[];
  commonDim?: number;
  salientDim?: number;
  sharedBackbone?: boolean;
  /** Decoder stages' widths, coarse to fine (default: the encoder's widths reversed, or [64, 32, 16]). */
  decoderWidths?: number[];
}

export interface VAEPosterior {
  zMu: tf.Tensor2D;
  zLogvar: tf.Tensor2D;
  sMu: tf.Tensor2D;
  sLogvar: tf.Tensor2D;
}

export interface VAEOutput extends VAEPosterior {
  z: tf.Tensor2D;
  s: tf.Tensor2D;
  /** Decoder output `[B, …inputShape, 1]` (means or logits). */
  recon: tf.Tensor;
}

/** A gaussian encoder head: `mu`, `logvar` linear maps from encoder features. */
class GaussianHead extends Module {
  readonly mu: Linear;
  readonly logvar: Linear;
  constructor(inDim: number, dim: number, rng: Rng) {
    super();
    this.mu = this.addModule('mu', new Linear(inDim, dim, { rng }));
    this.logvar = this.addModule('logvar', new Linear(inDim, dim, { rng }));
  }
}

export class ContrastiveVAEModel extends Module {
  readonly backbone: Encoder | null;
  readonly zEncoder: Encoder | null;
  readonly sEncoder: Encoder | null;
  readonly zHead: GaussianHead;
  readonly sHead: GaussianHead;
  readonly decoder: ConvDecoder;
  readonly commonDim: number;
  readonly salientDim: number;

  constructor(readonly config: ContrastiveVAEModelConfig, opts: { seed?: number | string } = {}) {
    super();
    const rng = new Rng(opts.seed ?? 0);
    this.commonDim = positiveInt(config.commonDim ?? 32, 'commonDim');
    this.salientDim = positiveInt(config.salientDim ?? 32, 'salientDim');
    const dims = config.inputShape?.length;
    if (dims !== 2 && dims !== 3) throw new ConfigError('inputShape', `must be [H, W] or [D, H, W], got ${JSON.stringify(config.inputShape)}`);
    let zDim: number;
    let sDim: number;
    if (config.sharedBackbone) {
      this.backbone = this.addModule('backbone', backbone(config.encoder, rng, 'encoder'));
      this.zEncoder = null;
      this.sEncoder = null;
      zDim = sDim = this.backbone.representationDim;
    } else {
      this.backbone = null;
      this.zEncoder = this.addModule('z_encoder', backbone(config.encoder, rng, 'encoder'));
      this.sEncoder = this.addModule('s_encoder', backbone(config.encoder, rng, 'encoder'));
      zDim = this.zEncoder.representationDim;
      sDim = this.sEncoder.representationDim;
    }
    this.zHead = this.addModule('z_head', new GaussianHead(zDim, this.commonDim, rng));
    this.sHead = this.addModule('s_head', new GaussianHead(sDim, this.salientDim, rng));
    const encWidths = (config.encoder as { widths?: number[] }).widths;
    const widths = config.decoderWidths ?? (encWidths ? [...encWidths].reverse() : [64, 32, 16]);
    this.decoder = this.addModule(
      'decoder',
      new ConvDecoder({ dims, latentDim: this.commonDim + this.salientDim, outputShape: config.inputShape, widths }, { rng }),
    );
  }

  /** Posterior parameters of both latents. */
  encode(x: tf.Tensor): VAEPosterior {
    return tf.tidy(() => {
      const shared = this.backbone ? this.backbone.represent(x) : null;
      const hz = shared ?? this.zEncoder!.represent(x);
      const hs = shared ?? this.sEncoder!.represent(x);
      return {
        zMu: this.zHead.mu.forward(hz) as tf.Tensor2D,
        zLogvar: this.zHead.logvar.forward(hz) as tf.Tensor2D,
        sMu: this.sHead.mu.forward(hs) as tf.Tensor2D,
        sLogvar: this.sHead.logvar.forward(hs) as tf.Tensor2D,
      };
    });
  }

  /** Decodes `[z, s ∘ g]` (background rows, g = 0, get s = 0). */
  decode(z: tf.Tensor2D, s: tf.Tensor2D, group: ArrayLike<number>): tf.Tensor {
    return tf.tidy(() => {
      const g = tf.tensor2d(Float32Array.from(group), [group.length, 1]);
      return this.decoder.forward(tf.concat([z, tf.mul(s, g)], 1));
    });
  }

  /**
   * Encodes, samples both latents with the reparameterisation trick (noise from `rng`; none in eval: the means),
   * and decodes. Everything the loss needs is returned.
   */
  forward(x: tf.Tensor, group: ArrayLike<number>, rng: Rng | null): VAEOutput {
    return tf.tidy(() => {
      const post = this.encode(x);
      const sample = (mu: tf.Tensor2D, logvar: tf.Tensor2D) => {
        if (rng == null) return tf.clone(mu);
        const eps = tf.tensor(rng.normalArray(mu.size), mu.shape);
        return tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), eps)) as tf.Tensor2D;
      };
      const z = sample(post.zMu, post.zLogvar);
      const s = sample(post.sMu, post.sLogvar);
      return { ...post, z, s, recon: this.decode(z, s, group) };
    });
  }
}
