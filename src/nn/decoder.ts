/**
 * Convolutional decoders, 3D and 2D — the mirror of `ConvNetEncoder`: a linear map from the latent code to a small
 * feature map, then stages of `nearest ×2 upsampling → Conv (stride 1) → BatchNorm → ReLU`, and a final conv (1×1 by
 * default) to the output channels (no activation: means of a gaussian likelihood or logits of a bernoulli one). Upsampling + conv
 * instead of transposed convolutions avoids tfjs-wasm's naive 3D transposed-conv kernels and the checkerboard
 * artefacts of strided transposed convs (Odena et al., Distill 2016).
 *
 * Names: `fc.weight`, `blocks.0.conv.weight`, `blocks.0.bn.running_mean`, …, `out.weight`.
 */
import * as tf from '../tf.js';
import { ConfigError, ShapeError } from '../errors.js';
import { Rng } from '../util/random.js';
import { Layer, Module, ModuleList } from './module.js';
import { BatchNorm2d, BatchNorm3d, Conv2d, Conv3d, Linear } from './layers.js';
import { upsampleNearest } from './ops/upsample.js';

export interface ConvDecoderConfig {
  /** 3 (volumes, [B, D, H, W, C]) or 2 (images, [B, H, W, C]). */
  dims: 2 | 3;
  latentDim: number;
  /** Spatial output size; every entry divisible by 2^stages. */
  outputShape: number[];
  /** Channels of each stage, coarse to fine (the encoder's widths reversed). Default [64, 32, 16]. */
  widths?: number[];
  outChannels?: number;
  /** Odd kernel size. Default 3. */
  kernel?: number;
  /** Odd kernel size of the output conv. Default 1: a per-voxel linear map of the last stage's channels (the last
   * stage's 3×3(×3) conv already mixes neighbours; a second full-resolution 3D conv would double the decoder's cost). */
  outKernel?: number;
  batchNorm?: boolean;
}

/** torch.nn.Upsample(scale_factor, mode='nearest') as a layer. */
export class UpsampleNearest extends Layer {
  constructor(readonly factor = 2) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return upsampleNearest(x, this.factor);
  }
}

/** One decoder stage: upsample ×2 → conv → [bn] → ReLU. */
class UpBlock extends Layer {
  readonly conv: Conv2d | Conv3d;
  readonly bn: BatchNorm2d | BatchNorm3d | null;
  constructor(dims: 2 | 3, inC: number, outC: number, kernel: number, batchNorm: boolean, rng: Rng) {
    super();
    const opts = { padding: Math.floor(kernel / 2), bias: !batchNorm, rng };
    this.conv = this.addModule('conv', dims === 3 ? new Conv3d(inC, outC, kernel, opts) : new Conv2d(inC, outC, kernel, opts));
    this.bn = batchNorm ? this.addModule('bn', dims === 3 ? new BatchNorm3d(outC) : new BatchNorm2d(outC)) : null;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = this.conv.forward(upsampleNearest(x, 2));
      return tf.relu(this.bn ? this.bn.forward(h) : h);
    });
  }
}

export class ConvDecoder extends Module {
  readonly config: Required<ConvDecoderConfig>;
  readonly fc: Linear;
  readonly blocks: ModuleList<UpBlock>;
  readonly out: Conv2d | Conv3d;
  /** Spatial size of the first feature map. */
  readonly startShape: number[];

  constructor(config: ConvDecoderConfig, opts: { seed?: number | string; rng?: Rng } = {}) {
    super();
    const c: Required<ConvDecoderConfig> = { widths: [64, 32, 16], outChannels: 1, kernel: 3, outKernel: 1, batchNorm: true, ...config };
    if (c.dims !== 2 && c.dims !== 3) throw new ConfigError('decoder.dims', `must be 2 or 3, got ${JSON.stringify(c.dims)}`);
    const posInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
    if (!posInt(c.latentDim)) throw new ConfigError('decoder.latentDim', `must be a positive integer, got ${JSON.stringify(c.latentDim)}`);
    if (!Array.isArray(c.widths) || c.widths.length === 0 || !c.widths.every(posInt)) {
      throw new ConfigError('decoder.widths', `must be a non-empty list of positive integers, got ${JSON.stringify(c.widths)}`);
    }
    if (!posInt(c.kernel) || c.kernel % 2 !== 1) throw new ConfigError('decoder.kernel', `must be odd, got ${JSON.stringify(c.kernel)}`);
    if (!posInt(c.outKernel) || c.outKernel % 2 !== 1) throw new ConfigError('decoder.outKernel', `must be odd, got ${JSON.stringify(c.outKernel)}`);
    const stages = c.widths.length;
    const f = 2 ** stages;
    if (!Array.isArray(c.outputShape) || c.outputShape.length !== c.dims || !c.outputShape.every((n) => posInt(n) && n % f === 0)) {
      throw new ConfigError(
        'decoder.outputShape',
        `needs ${c.dims} sizes, each divisible by 2^${stages} = ${f} (one halving per stage), got ${JSON.stringify(c.outputShape)}`,
      );
    }
    this.config = c;
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    this.startShape = c.outputShape.map((n) => n / f);
    const startSize = this.startShape.reduce((a, b) => a * b, 1);
    this.fc = this.addModule('fc', new Linear(c.latentDim, c.widths[0] * startSize, { rng }));
    const blocks = c.widths.map((w, i) => new UpBlock(c.dims, w, c.widths[Math.min(i + 1, stages - 1)], c.kernel, c.batchNorm, rng));
    this.blocks = this.addModule('blocks', new ModuleList(blocks));
    const last = c.widths[stages - 1];
    const outOpts = { padding: Math.floor(c.outKernel / 2), rng };
    this.out = this.addModule('out', c.dims === 3 ? new Conv3d(last, c.outChannels, c.outKernel, outOpts) : new Conv2d(last, c.outChannels, c.outKernel, outOpts));
  }

  /** Latent codes `[B, latentDim]` → `[B, …outputShape, outChannels]`. */
  forward(z: tf.Tensor): tf.Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.config.latentDim) {
      throw new ShapeError(`ConvDecoder: expected latent codes [B, ${this.config.latentDim}], got [${z.shape}]`);
    }
    return tf.tidy(() => {
      let h: tf.Tensor = tf.relu(tf.reshape(this.fc.forward(z), [z.shape[0], ...this.startShape, this.config.widths[0]]));
      for (const b of this.blocks.items) h = b.forward(h);
      return this.out.forward(h);
    });
  }
}
