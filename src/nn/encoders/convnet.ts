/**
 * Plain convolutional encoders, 3D and 2D: a stack of stride-2 `Conv → BatchNorm → ReLU` stages (the DCGAN / VAE
 * encoder shape used by the contrastive-analysis baselines: cVAE, MM-cVAE, SepCLR's small-image experiments), named
 * as a torch.nn.Sequential under `features` (`features.0.weight` conv, `features.1.running_mean` batch norm, …).
 * Cheap on CPU (one conv per stage, no residual branch): several times faster than the ResNet at the same widths.
 *
 * The representation is the global average of the last feature map (`pooling: 'avg'`) or the whole map flattened in
 * channels-last order (`'flatten'`: keeps *where* things are — what a decoder or a regional effect needs; needs
 * `inputShape`). The PyTorch twin flattens `h.permute(0, 2, 3, (4,) 1)` to match.
 */
import * as tf from '../../tf.js';
import { ShapeError } from '../../errors.js';
import { Rng } from '../../util/random.js';
import { Layer, Sequential } from '../module.js';
import { BatchNorm2d, BatchNorm3d, Conv2d, Conv3d, ReLU } from '../layers.js';
import { globalAvgPool } from '../ops/pool.js';
import { Encoder, MLPHead, type HeadConfig } from './encoder.js';

export interface ConvNetConfig {
  arch: 'convnet3d' | 'convnet2d';
  inChannels?: number;
  /** Output channels of each stride-2 stage. */
  widths?: number[];
  /** Odd kernel size (padding kernel/2: each stage halves the size, rounding up). */
  kernel?: number;
  /** BatchNorm after each conv (the conv then has no bias). */
  batchNorm?: boolean;
  pooling?: 'avg' | 'flatten';
  /** Spatial input size ([D, H, W] or [H, W]): required by 'flatten'. */
  inputShape?: number[] | null;
  head?: HeadConfig | null;
}

export type ResolvedConvNetConfig = Required<Omit<ConvNetConfig, 'head'>> & { head: Required<HeadConfig> | null };

export const CONVNET_DEFAULTS = {
  inChannels: 1,
  widths: [16, 32, 64],
  kernel: 3,
  batchNorm: true,
  pooling: 'avg' as 'avg' | 'flatten',
  inputShape: null as number[] | null,
};

/** Spatial size after the stride-2 stages of a config (⌈n / 2⌉ per stage). */
export function convNetOutputShape(inputShape: readonly number[], stages: number): number[] {
  return inputShape.map((n) => {
    let s = n;
    for (let i = 0; i < stages; i++) s = Math.floor((s - 1) / 2) + 1;
    return s;
  });
}

/** The representation width of a resolved config. */
export function convNetRepresentationDim(cfg: Pick<ResolvedConvNetConfig, 'widths' | 'pooling' | 'inputShape'>): number {
  const last = cfg.widths[cfg.widths.length - 1];
  if (cfg.pooling === 'avg') return last;
  return last * convNetOutputShape(cfg.inputShape!, cfg.widths.length).reduce((a, b) => a * b, 1);
}

export class ConvNetEncoder extends Encoder {
  readonly config: ResolvedConvNetConfig;
  readonly representationDim: number;
  readonly projectionDim: number;
  readonly features: Sequential;
  readonly head: MLPHead | null;
  private readonly dims: 2 | 3;

  constructor(config: ResolvedConvNetConfig, rng: Rng) {
    super();
    this.config = config;
    this.dims = config.arch === 'convnet3d' ? 3 : 2;
    const layers: Layer[] = [];
    let inC = config.inChannels;
    const pad = Math.floor(config.kernel / 2);
    for (const w of config.widths) {
      const opts = { stride: 2, padding: pad, bias: !config.batchNorm, rng };
      layers.push(this.dims === 3 ? new Conv3d(inC, w, config.kernel, opts) : new Conv2d(inC, w, config.kernel, opts));
      if (config.batchNorm) layers.push(this.dims === 3 ? new BatchNorm3d(w) : new BatchNorm2d(w));
      layers.push(new ReLU());
      inC = w;
    }
    this.features = this.addModule('features', new Sequential(...layers));
    this.representationDim = convNetRepresentationDim(config);
    this.head = config.head == null ? null : this.addModule('head', new MLPHead(this.representationDim, config.head, rng));
    this.projectionDim = this.head?.outDim ?? this.representationDim;
  }

  /** x: [B, D, H, W, C] (convnet3d) or [B, H, W, C] (convnet2d) → [B, representationDim]. */
  represent(x: tf.Tensor): tf.Tensor2D {
    const rank = this.dims + 2;
    if (x.rank !== rank || x.shape[rank - 1] !== this.config.inChannels) {
      throw new ShapeError(`${this.config.arch}: expected a channels-last input [B, ${this.dims === 3 ? 'D, H, W' : 'H, W'}, ${this.config.inChannels}], got [${x.shape}]`);
    }
    const spatial = x.shape.slice(1, rank - 1);
    if (this.config.pooling === 'flatten' && !tf.util.arraysEqual(spatial, this.config.inputShape!)) {
      throw new ShapeError(`${this.config.arch} with pooling 'flatten' was built for inputs [${this.config.inputShape}], got [${spatial}]`);
    }
    return tf.tidy(() => {
      const h = this.features.forward(x);
      if (this.config.pooling === 'avg') return globalAvgPool(h) as tf.Tensor2D;
      return tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    });
  }
}
