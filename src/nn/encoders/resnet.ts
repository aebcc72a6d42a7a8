/**
 * ResNet encoders with BasicBlocks (He et al. 2016), in 3D for volumes and 2D for images, with torchvision's
 * parameter names (`conv1.weight`, `bn1.running_mean`, `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, …)
 * and initialisation (convs kaiming_normal fan_out, batch norms 1/0). The classifier is replaced by an MLP head.
 * ResNet-18 is widths [64, 128, 256, 512], depths [2, 2, 2, 2], stem 7/2 with max pool; the default here is a small
 * CPU-trainable variant (widths [8, 16, 32, 64], stem 3/2 without max pool).
 */
import * as tf from '../../tf.js';
import { Rng } from '../../util/random.js';
import { Layer, Sequential } from '../module.js';
import { BatchNorm2d, BatchNorm3d, Conv2d, Conv3d, MaxPool2d, MaxPool3d } from '../layers.js';
import * as init from '../init.js';
import { globalAvgPool } from '../ops/pool.js';
import { Encoder, MLPHead, normalizeHead, type HeadConfig } from './encoder.js';

export interface ResNetConfig {
  arch: 'resnet3d' | 'resnet2d';
  inChannels?: number;
  /** Channels of each stage (one stage per entry). */
  widths?: number[];
  /** BasicBlocks per stage. */
  depths?: number[];
  stemKernel?: number;
  stemStride?: number;
  /** 3/2 max pool after the stem (ResNet-18's). */
  stemPool?: boolean;
  head?: HeadConfig | null;
}

export type ResolvedResNetConfig = Required<Omit<ResNetConfig, 'head'>> & { head: Required<HeadConfig> | null };

export const RESNET_DEFAULTS = {
  inChannels: 1,
  widths: [8, 16, 32, 64],
  depths: [2, 2, 2, 2],
  stemKernel: 3,
  stemStride: 2,
  stemPool: false,
} as const;

type Dims = 2 | 3;

function conv(dims: Dims, i: number, o: number, k: number, stride: number, padding: number, rng: Rng): Conv2d | Conv3d {
  const opts = { stride, padding, bias: false, rng, weightInit: init.kaimingNormalFanOut };
  return dims === 3 ? new Conv3d(i, o, k, opts) : new Conv2d(i, o, k, opts);
}

function bn(dims: Dims, c: number): BatchNorm2d | BatchNorm3d {
  return dims === 3 ? new BatchNorm3d(c) : new BatchNorm2d(c);
}

/** relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), shortcut = downsample (1×1 conv + bn) when the shape changes. */
export class BasicBlock extends Layer {
  readonly conv1: Layer;
  readonly bn1: Layer;
  readonly conv2: Layer;
  readonly bn2: Layer;
  readonly downsample: Sequential | null;
  constructor(dims: Dims, inPlanes: number, planes: number, stride: number, rng: Rng) {
    super();
    this.conv1 = this.addModule('conv1', conv(dims, inPlanes, planes, 3, stride, 1, rng));
    this.bn1 = this.addModule('bn1', bn(dims, planes));
    this.conv2 = this.addModule('conv2', conv(dims, planes, planes, 3, 1, 1, rng));
    this.bn2 = this.addModule('bn2', bn(dims, planes));
    this.downsample =
      stride !== 1 || inPlanes !== planes
        ? this.addModule('downsample', new Sequential(conv(dims, inPlanes, planes, 1, stride, 0, rng), bn(dims, planes)))
        : null;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = tf.relu(this.bn1.forward(this.conv1.forward(x)));
      const y = this.bn2.forward(this.conv2.forward(h));
      const shortcut = this.downsample == null ? x : this.downsample.forward(x);
      return tf.relu(tf.add(y, shortcut));
    });
  }
}

export class ResNetEncoder extends Encoder {
  readonly config: ResolvedResNetConfig;
  readonly representationDim: number;
  readonly projectionDim: number;
  readonly conv1: Layer;
  readonly bn1: Layer;
  readonly maxpool: Layer | null;
  readonly stages: Sequential[];
  readonly head: MLPHead | null;
  private readonly dims: Dims;

  constructor(config: ResolvedResNetConfig, rng: Rng) {
    super();
    this.config = config;
    this.dims = config.arch === 'resnet3d' ? 3 : 2;
    const { widths, depths } = config;
    this.conv1 = this.addModule(
      'conv1',
      conv(this.dims, config.inChannels, widths[0], config.stemKernel, config.stemStride, Math.floor(config.stemKernel / 2), rng),
    );
    this.bn1 = this.addModule('bn1', bn(this.dims, widths[0]));
    const pool = { kernel: 3, stride: 2, padding: 1 };
    this.maxpool = config.stemPool ? (this.dims === 3 ? new MaxPool3d(pool) : new MaxPool2d(pool)) : null;
    this.stages = [];
    let inPlanes = widths[0];
    widths.forEach((planes, s) => {
      const blocks: BasicBlock[] = [];
      for (let b = 0; b < depths[s]; b++) {
        blocks.push(new BasicBlock(this.dims, inPlanes, planes, b === 0 && s > 0 ? 2 : 1, rng));
        inPlanes = planes;
      }
      this.stages.push(this.addModule(`layer${s + 1}`, new Sequential(...blocks)));
    });
    this.representationDim = inPlanes;
    this.head = config.head == null ? null : this.addModule('head', new MLPHead(inPlanes, config.head, rng));
    this.projectionDim = this.head?.outDim ?? inPlanes;
  }

  /** x: [B, D, H, W, C] (resnet3d) or [B, H, W, C] (resnet2d) → [B, representationDim]. */
  represent(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      let h = tf.relu(this.bn1.forward(this.conv1.forward(x)));
      if (this.maxpool != null) h = this.maxpool.forward(h);
      for (const stage of this.stages) h = stage.forward(h);
      return globalAvgPool(h) as tf.Tensor2D;
    });
  }
}
