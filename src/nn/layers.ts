/**
 * Layers with PyTorch semantics, parameter names and default initialisations. Inputs are channels-last:
 * Linear [..., in]; Conv3d [B, D, H, W, C]; Conv2d [B, H, W, C]; BatchNorm1d [B, C] or [B, L, C];
 * BatchNorm2d [B, H, W, C]; BatchNorm3d [B, D, H, W, C].
 */
import * as tf from '../tf.js';
import { ShapeError, ValueError } from '../errors.js';
import { Rng } from '../util/random.js';
import { Layer } from './module.js';
import * as init from './init.js';
import { conv2d, conv3d } from './ops/conv.js';
import { linear } from './ops/dense.js';
import { batchNormEval, batchNormTrain, layerNorm } from './ops/norm.js';
import { dropout, gelu } from './ops/activation.js';
import { avgPool2d, avgPool3d, globalAvgPool, maxPool2d, maxPool3d, type PoolOptions } from './ops/pool.js';
import { embedding } from './ops/embedding.js';

export type WeightInit = (shape: readonly number[], rng: Rng) => tf.Tensor;

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new ValueError(`${what} must be a positive integer, got ${v}`);
  return v;
}

export interface LinearOptions {
  bias?: boolean;
  rng?: Rng;
  /** Weight initialiser; default PyTorch's (kaiming_uniform a=√5). */
  weightInit?: WeightInit;
  /** Zero the bias instead of PyTorch's U(±1/√fan_in) (torchvision heads, attention projections). */
  zeroBias?: boolean;
}

/** torch.nn.Linear: `weight` [out, in], `bias` [out]. */
export class Linear extends Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    positiveInt(inFeatures, 'Linear: inFeatures');
    positiveInt(outFeatures, 'Linear: outFeatures');
    const rng = opts.rng ?? new Rng(0);
    const shape = [outFeatures, inFeatures];
    this.weight = this.addParameter('weight', (opts.weightInit ?? init.kaimingUniformDefault)(shape, rng));
    this.bias =
      opts.bias === false
        ? null
        : this.addParameter('bias', opts.zeroBias ? tf.zeros([outFeatures]) : init.defaultBias(outFeatures, inFeatures, rng));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export interface ConvLayerOptions {
  stride?: number | number[];
  padding?: number | number[];
  bias?: boolean;
  rng?: Rng;
  /** Weight initialiser; default PyTorch's (kaiming_uniform a=√5). */
  weightInit?: WeightInit;
}

/** Shared by Conv2d and Conv3d. */
export abstract class ConvNd extends Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly kernel: number[];
  constructor(
    dims: number,
    readonly inChannels: number,
    readonly outChannels: number,
    kernel: number | number[],
    readonly opts: ConvLayerOptions,
  ) {
    super();
    positiveInt(inChannels, 'Conv: inChannels');
    positiveInt(outChannels, 'Conv: outChannels');
    this.kernel = typeof kernel === 'number' ? new Array(dims).fill(kernel) : [...kernel];
    if (this.kernel.length !== dims) throw new ValueError(`Conv${dims}d: kernel must have ${dims} sizes, got [${kernel}]`);
    this.kernel.forEach((k) => positiveInt(k, `Conv${dims}d: kernel size`));
    const rng = opts.rng ?? new Rng(0);
    const shape = [outChannels, inChannels, ...this.kernel];
    this.weight = this.addParameter('weight', (opts.weightInit ?? init.kaimingUniformDefault)(shape, rng));
    this.bias = opts.bias === false ? null : this.addParameter('bias', init.defaultBias(outChannels, init.fans(shape).fanIn, rng));
  }

  protected abstract conv(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor;

  forward(x: tf.Tensor): tf.Tensor {
    return this.conv(x, this.weight, this.bias);
  }

  /**
   * The conv of the channel-concatenation of `parts` without building it: Σ_i conv(part_i, W[:, slice_i]).
   * Lets DenseNet avoid concatenating feature maps (a slow channels-last copy on wasm).
   */
  forwardParts(parts: tf.Tensor[]): tf.Tensor {
    const total = parts.reduce((n, p) => n + p.shape[p.rank - 1], 0);
    if (total !== this.inChannels) {
      throw new ShapeError(`${this.constructor.name}: parts have ${total} channels in all, the weight expects ${this.inChannels}`);
    }
    if (parts.length === 1) return this.forward(parts[0]);
    return tf.tidy(() => {
      let offset = 0;
      const terms = parts.map((p, i) => {
        const c = p.shape[p.rank - 1];
        const begin = this.weight.shape.map((_, a) => (a === 1 ? offset : 0));
        const size = this.weight.shape.map((d, a) => (a === 1 ? c : d));
        offset += c;
        return this.conv(p, tf.slice(this.weight, begin, size), i === 0 ? this.bias : null);
      });
      return tf.addN(terms);
    });
  }
}

/** torch.nn.Conv3d on [B, D, H, W, C]: `weight` [out, in, kd, kh, kw], `bias` [out]. */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernel: number | number[], opts: ConvLayerOptions = {}) {
    super(3, inChannels, outChannels, kernel, opts);
  }
  protected conv(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
    return conv3d(x, weight, bias, { stride: this.opts.stride, padding: this.opts.padding });
  }
}

/** torch.nn.Conv2d on [B, H, W, C]: `weight` [out, in, kh, kw], `bias` [out]. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernel: number | number[], opts: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernel, opts);
  }
  protected conv(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
    return conv2d(x, weight, bias, { stride: this.opts.stride, padding: this.opts.padding });
  }
}

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the new batch statistic in the running averages (PyTorch's momentum, default 0.1). */
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/** Shared by BatchNorm1d/2d/3d. */
export abstract class BatchNormNd extends Layer {
  readonly weight: tf.Variable | null;
  readonly bias: tf.Variable | null;
  readonly runningMean: tf.Variable | null;
  readonly runningVar: tf.Variable | null;
  readonly numBatchesTracked: tf.Variable | null;
  readonly eps: number;
  readonly momentum: number;
  constructor(
    readonly numFeatures: number,
    private readonly ranks: number[],
    opts: BatchNormOptions,
  ) {
    super();
    positiveInt(numFeatures, 'BatchNorm: numFeatures');
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new ValueError(`BatchNorm: momentum must be in [0, 1], got ${this.momentum}`);
    const affine = opts.affine ?? true;
    this.weight = affine ? this.addParameter('weight', tf.ones([numFeatures])) : null;
    this.bias = affine ? this.addParameter('bias', tf.zeros([numFeatures])) : null;
    const track = opts.trackRunningStats ?? true;
    this.runningMean = track ? this.addBuffer('running_mean', tf.zeros([numFeatures])) : null;
    this.runningVar = track ? this.addBuffer('running_var', tf.ones([numFeatures])) : null;
    this.numBatchesTracked = track ? this.addBuffer('num_batches_tracked', tf.scalar(0, 'int32')) : null;
  }

  private checkInput(x: tf.Tensor, channels: number): void {
    if (!this.ranks.includes(x.rank) || x.shape[x.rank - 1] !== channels) {
      throw new ShapeError(
        `${this.constructor.name}(${this.numFeatures}): expected a rank ${this.ranks.join(' or ')} channels-last input ` +
          `with ${channels} channels, got [${x.shape}]`,
      );
    }
  }

  private get usesRunningStats(): boolean {
    return !this.training && this.runningMean != null;
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.forwardParts([x])[0];
  }

  /**
   * Batch norm of the channel-concatenation of `parts`, returned as parts (per-channel statistics make this exact);
   * running statistics are updated once for all channels.
   */
  forwardParts(parts: tf.Tensor[]): tf.Tensor[] {
    const total = parts.reduce((n, p) => n + p.shape[p.rank - 1], 0);
    if (total !== this.numFeatures) {
      throw new ShapeError(`${this.constructor.name}(${this.numFeatures}): parts have ${total} channels in all`);
    }
    let offset = 0;
    const slices = parts.map((p) => {
      const c = p.shape[p.rank - 1];
      this.checkInput(p, c);
      const at = offset;
      offset += c;
      return (v: tf.Tensor | null) => (v == null ? null : parts.length === 1 ? v : tf.slice(v, [at], [c]));
    });
    if (this.usesRunningStats) {
      return parts.map((p, i) =>
        tf.tidy(() => {
          const pick = slices[i];
          return batchNormEval(p, pick(this.runningMean)!, pick(this.runningVar)!, pick(this.weight), pick(this.bias), this.eps);
        }),
      );
    }
    const results = parts.map((p, i) => batchNormTrain(p, slices[i](this.weight), slices[i](this.bias), this.eps));
    if (this.training && this.runningMean != null) {
      const cat = (ts: tf.Tensor[]) => (ts.length === 1 ? ts[0] : tf.concat(ts));
      tf.tidy(() => this.updateRunningStats(cat(results.map((r) => r.mean)), cat(results.map((r) => r.varUnbiased))));
    }
    for (const r of results) tf.dispose([r.mean, r.varUnbiased]);
    return results.map((r) => r.y);
  }

  /** running ← (1 − momentum)·running + momentum·batch (variance unbiased), num_batches_tracked += 1. */
  private updateRunningStats(mean: tf.Tensor, varUnbiased: tf.Tensor): void {
    const [rm, rv, nb] = [this.runningMean!, this.runningVar!, this.numBatchesTracked!];
    const m = this.momentum;
    rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(mean, m)));
    rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(varUnbiased, m)));
    nb.assign(tf.add(nb, tf.scalar(1, 'int32')));
  }
}

/** torch.nn.BatchNorm1d on [B, C] or [B, L, C]. */
export class BatchNorm1d extends BatchNormNd {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, [2, 3], opts);
  }
}

/** torch.nn.BatchNorm2d on [B, H, W, C]. */
export class BatchNorm2d extends BatchNormNd {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, [4], opts);
  }
}

/** torch.nn.BatchNorm3d on [B, D, H, W, C]. */
export class BatchNorm3d extends BatchNormNd {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, [5], opts);
  }
}

/** torch.nn.LayerNorm(dim) over the last axis: `weight`, `bias` [dim]. */
export class LayerNorm extends Layer {
  readonly weight: tf.Variable | null;
  readonly bias: tf.Variable | null;
  constructor(
    readonly dim: number,
    readonly opts: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    positiveInt(dim, 'LayerNorm: dim');
    const affine = opts.affine ?? true;
    this.weight = affine ? this.addParameter('weight', tf.ones([dim])) : null;
    this.bias = affine ? this.addParameter('bias', tf.zeros([dim])) : null;
  }
  forward(x: tf.Tensor): tf.Tensor {
    if (x.shape[x.rank - 1] !== this.dim) throw new ShapeError(`LayerNorm(${this.dim}): input's last axis is ${x.shape[x.rank - 1]}`);
    return layerNorm(x, this.weight, this.bias, this.opts.eps ?? 1e-5);
  }
}

/** torch.nn.ReLU. */
export class ReLU extends Layer {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

/** torch.nn.GELU() (exact erf form). */
export class GELU extends Layer {
  forward(x: tf.Tensor): tf.Tensor {
    return gelu(x);
  }
}

/** torch.nn.Identity. */
export class Identity extends Layer {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.clone(x);
  }
}

/** torch.nn.Dropout with a seeded mask generator (its state is part of `Module.randomState()`). */
export class Dropout extends Layer {
  readonly rng: Rng;
  constructor(
    readonly p: number,
    opts: { rng?: Rng } = {},
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new ValueError(`Dropout: p must be in [0, 1), got ${p}`);
    this.rng = (opts.rng ?? new Rng(0)).fork();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.training && this.p > 0 ? dropout(x, this.p, this.rng) : tf.clone(x);
  }
}

/** A pooling layer: the functional op with fixed options. */
abstract class PoolLayer extends Layer {
  protected abstract readonly pool: (x: tf.Tensor, opts: PoolOptions) => tf.Tensor;
  constructor(readonly opts: PoolOptions) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.pool(x, this.opts);
  }
}

/** torch.nn.MaxPool3d on [B, D, H, W, C] (stride defaults to the kernel). */
export class MaxPool3d extends PoolLayer {
  protected readonly pool = maxPool3d;
}

/** torch.nn.AvgPool3d on [B, D, H, W, C]. */
export class AvgPool3d extends PoolLayer {
  protected readonly pool = avgPool3d;
}

/** torch.nn.MaxPool2d on [B, H, W, C]. */
export class MaxPool2d extends PoolLayer {
  protected readonly pool = maxPool2d;
}

/** torch.nn.AvgPool2d on [B, H, W, C]. */
export class AvgPool2d extends PoolLayer {
  protected readonly pool = avgPool2d;
}

/** Global average pooling [B, ..., C] → [B, C] (AdaptiveAvgPool to 1 + flatten). */
export class GlobalAvgPool extends Layer {
  forward(x: tf.Tensor): tf.Tensor {
    return globalAvgPool(x);
  }
}

/** torch.nn.Embedding: `weight` [num, dim] ~ N(0, 1); forward takes int32 ids of any shape. */
export class Embedding extends Layer {
  readonly weight: tf.Variable;
  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    opts: { rng?: Rng; std?: number } = {},
  ) {
    super();
    positiveInt(numEmbeddings, 'Embedding: numEmbeddings');
    positiveInt(dim, 'Embedding: dim');
    this.weight = this.addParameter('weight', init.normal([numEmbeddings, dim], opts.std ?? 1, opts.rng ?? new Rng(0)));
  }
  forward(ids: tf.Tensor): tf.Tensor {
    return embedding(ids, this.weight);
  }
}
