/**
 * DenseNet encoders (Huang et al. 2017), 3D and 2D, with torchvision's DenseNet-121 names (`features.conv0`,
 * `features.denseblock1.denselayer1.norm1`, `features.transition1.conv`, `features.norm5`, …) and initialisation
 * (convs kaiming_normal fan_in, batch norms 1/0). DenseNet-121 is growth 32, blocks [6, 12, 24, 16], 64 initial
 * features, stem 7/2 with max pool; the default here is a small CPU-trainable variant.
 *
 * Dense connectivity is computed without concatenating feature maps: every layer keeps the list of earlier
 * outputs, and norm1/conv1 (per-channel batch norm, 1×1 conv) act on the list part by part — exact, because batch
 * norm is per channel and a 1×1 conv of a concatenation is the sum of the convs of its parts. Channels-last
 * concatenation is a slow strided copy on wasm; summing small 1×1 convs is not.
 */
import * as tf from '../../tf.js';
import { Rng } from '../../util/random.js';
import { Module } from '../module.js';
import {
  AvgPool2d,
  AvgPool3d,
  BatchNorm2d,
  BatchNorm3d,
  Conv2d,
  Conv3d,
  Dropout,
  MaxPool2d,
  MaxPool3d,
  type BatchNormNd,
  type ConvNd,
} from '../layers.js';
import * as init from '../init.js';
import { globalAvgPool } from '../ops/pool.js';
import { Encoder, MLPHead, type HeadConfig } from './encoder.js';

export interface DenseNetConfig {
  arch: 'densenet3d' | 'densenet2d';
  inChannels?: number;
  /** Channels each dense layer adds. */
  growthRate?: number;
  /** Dense layers per block. */
  blocks?: number[];
  /** Channels after the stem. */
  initFeatures?: number;
  /** Bottleneck width multiplier (conv1 outputs bnSize·growthRate channels). */
  bnSize?: number;
  /** Dropout after each dense layer. */
  dropRate?: number;
  stemKernel?: number;
  stemStride?: number;
  stemPool?: boolean;
  head?: HeadConfig | null;
}

export type ResolvedDenseNetConfig = Required<Omit<DenseNetConfig, 'head'>> & { head: Required<HeadConfig> | null };

export const DENSENET_DEFAULTS = {
  inChannels: 1,
  growthRate: 8,
  blocks: [2, 4, 4, 2],
  initFeatures: 16,
  bnSize: 4,
  dropRate: 0,
  stemKernel: 3,
  stemStride: 2,
  stemPool: false,
} as const;

type Dims = 2 | 3;

function conv(dims: Dims, i: number, o: number, k: number, stride: number, padding: number, rng: Rng): ConvNd {
  const opts = { stride, padding, bias: false, rng, weightInit: init.kaimingNormalFanIn };
  return dims === 3 ? new Conv3d(i, o, k, opts) : new Conv2d(i, o, k, opts);
}

function bn(dims: Dims, c: number): BatchNormNd {
  return dims === 3 ? new BatchNorm3d(c) : new BatchNorm2d(c);
}

const reluAll = (xs: tf.Tensor[]) => xs.map((x) => tf.relu(x));

/** norm1 → relu1 → conv1 (1×1, bnSize·growth) → norm2 → relu2 → conv2 (3×3, growth) [→ dropout]. */
export class DenseLayer extends Module {
  readonly norm1: BatchNormNd;
  readonly conv1: ConvNd;
  readonly norm2: BatchNormNd;
  readonly conv2: ConvNd;
  readonly dropout: Dropout | null;
  constructor(dims: Dims, inFeatures: number, growth: number, bnSize: number, dropRate: number, rng: Rng) {
    super();
    this.norm1 = this.addModule('norm1', bn(dims, inFeatures));
    this.conv1 = this.addModule('conv1', conv(dims, inFeatures, bnSize * growth, 1, 1, 0, rng));
    this.norm2 = this.addModule('norm2', bn(dims, bnSize * growth));
    this.conv2 = this.addModule('conv2', conv(dims, bnSize * growth, growth, 3, 1, 1, rng));
    this.dropout = dropRate > 0 ? this.addModule('dropout', new Dropout(dropRate, { rng })) : null;
  }
  /** The new features from the list of earlier ones. */
  forward(features: tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const bottleneck = this.conv1.forwardParts(reluAll(this.norm1.forwardParts(features)));
      const out = this.conv2.forward(tf.relu(this.norm2.forward(bottleneck)));
      return this.dropout == null ? out : this.dropout.forward(out);
    });
  }
}

export class DenseBlock extends Module {
  readonly layers: DenseLayer[] = [];
  constructor(dims: Dims, n: number, inFeatures: number, growth: number, bnSize: number, dropRate: number, rng: Rng) {
    super();
    for (let i = 0; i < n; i++) {
      this.layers.push(this.addModule(`denselayer${i + 1}`, new DenseLayer(dims, inFeatures + i * growth, growth, bnSize, dropRate, rng)));
    }
  }
  /** Returns the input parts followed by every layer's new features (the block's concatenated output, as parts). */
  forward(parts: tf.Tensor[]): tf.Tensor[] {
    const features = [...parts];
    for (const layer of this.layers) features.push(layer.forward(features));
    return features;
  }
}

/** norm → relu → conv (1×1, halves the channels) → avg pool 2. */
export class Transition extends Module {
  readonly norm: BatchNormNd;
  readonly conv: ConvNd;
  readonly pool: AvgPool2d | AvgPool3d;
  constructor(dims: Dims, inFeatures: number, outFeatures: number, rng: Rng) {
    super();
    this.norm = this.addModule('norm', bn(dims, inFeatures));
    this.conv = this.addModule('conv', conv(dims, inFeatures, outFeatures, 1, 1, 0, rng));
    this.pool = dims === 3 ? new AvgPool3d({ kernel: 2 }) : new AvgPool2d({ kernel: 2 });
  }
  forward(parts: tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.pool.forward(this.conv.forwardParts(reluAll(this.norm.forwardParts(parts)))));
  }
}

/** The `features` module: conv0, norm0, (pool0), denseblock1, transition1, …, norm5. */
export class DenseFeatures extends Module {
  readonly conv0: ConvNd;
  readonly norm0: BatchNormNd;
  readonly pool0: MaxPool2d | MaxPool3d | null;
  readonly blocks: DenseBlock[] = [];
  readonly transitions: Transition[] = [];
  readonly norm5: BatchNormNd;
  readonly numFeatures: number;
  constructor(dims: Dims, c: ResolvedDenseNetConfig, rng: Rng) {
    super();
    this.conv0 = this.addModule('conv0', conv(dims, c.inChannels, c.initFeatures, c.stemKernel, c.stemStride, Math.floor(c.stemKernel / 2), rng));
    this.norm0 = this.addModule('norm0', bn(dims, c.initFeatures));
    const pool = { kernel: 3, stride: 2, padding: 1 };
    this.pool0 = c.stemPool ? (dims === 3 ? new MaxPool3d(pool) : new MaxPool2d(pool)) : null;
    let n = c.initFeatures;
    c.blocks.forEach((layers, i) => {
      this.blocks.push(this.addModule(`denseblock${i + 1}`, new DenseBlock(dims, layers, n, c.growthRate, c.bnSize, c.dropRate, rng)));
      n += layers * c.growthRate;
      if (i < c.blocks.length - 1) {
        this.transitions.push(this.addModule(`transition${i + 1}`, new Transition(dims, n, Math.floor(n / 2), rng)));
        n = Math.floor(n / 2);
      }
    });
    this.norm5 = this.addModule('norm5', bn(dims, n));
    this.numFeatures = n;
  }
  /** Input → the final feature parts after norm5 and ReLU. */
  forward(x: tf.Tensor): tf.Tensor[] {
    let h = tf.relu(this.norm0.forward(this.conv0.forward(x)));
    if (this.pool0 != null) h = this.pool0.forward(h);
    let parts = [h];
    this.blocks.forEach((block, i) => {
      parts = block.forward(parts);
      if (i < this.transitions.length) parts = [this.transitions[i].forward(parts)];
    });
    return reluAll(this.norm5.forwardParts(parts));
  }
}

export class DenseNetEncoder extends Encoder {
  readonly config: ResolvedDenseNetConfig;
  readonly representationDim: number;
  readonly projectionDim: number;
  readonly features: DenseFeatures;
  readonly head: MLPHead | null;
  constructor(config: ResolvedDenseNetConfig, rng: Rng) {
    super();
    this.config = config;
    this.features = this.addModule('features', new DenseFeatures(config.arch === 'densenet3d' ? 3 : 2, config, rng));
    this.representationDim = this.features.numFeatures;
    this.head = config.head == null ? null : this.addModule('head', new MLPHead(this.representationDim, config.head, rng));
    this.projectionDim = this.head?.outDim ?? this.representationDim;
  }
  /** x: [B, D, H, W, C] (densenet3d) or [B, H, W, C] (densenet2d) → [B, representationDim]. */
  represent(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const parts = this.features.forward(x);
      // Global pooling is per channel: pool each part, then concatenate the small [B, C_i] vectors.
      const pooled = parts.map((p) => globalAvgPool(p));
      return (pooled.length === 1 ? pooled[0] : tf.concat(pooled, 1)) as tf.Tensor2D;
    });
  }
}
