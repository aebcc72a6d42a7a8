/**
 * ONNX export of geoclr encoders and heads, built from the module structure with `OnnxGraphBuilder` (not by
 * tracing tfjs ops): each layer becomes the standard ONNX operator PyTorch's exporter would emit (Conv,
 * BatchNormalization in inference mode, MaxPool/AveragePool, GlobalAveragePool, Gemm, LayerNormalization,
 * MatMul/Softmax attention, Gather embeddings), with the weights as initializers under their PyTorch `state_dict`
 * names — so `importOnnx` of the file gives back variables named like the encoder's parameters.
 *
 * Layout: the ONNX model takes PyTorch's channels-first layout — what a lab feeds the PyTorch twin:
 *   resnet3d/densenet3d: `volume` [batch, C, D, H, W]  (geoclr's [B, D, H, W, C] → tf.transpose(x, [0, 4, 1, 2, 3]))
 *   resnet2d/densenet2d: `image`  [batch, C, H, W]     (geoclr's [B, H, W, C]    → tf.transpose(x, [0, 3, 1, 2]))
 *   text-transformer:    `input_ids`, `attention_mask` [batch, L] int64 (1 = token, 0 = padding; pass ones for none)
 *   MLPHead alone:       `representation` [batch, inDim]
 * Outputs: `representation` [batch, d] and/or `projection` [batch, p] (the projection is the representation when the
 * encoder has no head). The batch axis is always dynamic; spatial / sequence axes are static when `inputShape` is
 * given, dynamic otherwise. The graph is the encoder in eval mode: batch norm with running statistics, no dropout.
 *
 *   await exportOnnx(encoder, 'encoder.onnx', { inputShape: [32, 40, 32] });
 */
import * as tf from '../../src/tf.js';
import { ConfigError, ValueError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { geoclrVersion } from '../../src/version.js';
import { Layer, Sequential, type Module } from '../../src/nn/module.js';
import {
  AvgPool2d,
  AvgPool3d,
  BatchNormNd,
  ConvNd,
  Dropout,
  GELU,
  GlobalAvgPool,
  Identity,
  LayerNorm,
  Linear,
  MaxPool2d,
  MaxPool3d,
  ReLU,
} from '../../src/nn/layers.js';
import type { PoolOptions } from '../../src/nn/ops/pool.js';
import { MultiheadAttention, TransformerEncoderLayer } from '../../src/nn/attention.js';
import { Encoder, MLPHead } from '../../src/nn/encoders/encoder.js';
import { BasicBlock, ResNetEncoder } from '../../src/nn/encoders/resnet.js';
import { DenseLayer, DenseNetEncoder, Transition } from '../../src/nn/encoders/densenet.js';
import { TextTransformerEncoder } from '../../src/nn/encoders/text.js';
import { OnnxAttr, OnnxGraphBuilder, type OnnxElemType } from './builder.js';

export type OnnxExportOutput = 'both' | 'representation' | 'projection';

export interface ExportOnnxOptions {
  /**
   * Static input sizes without batch and channels: [D, H, W] (3D), [H, W] (2D), [L] (text; L ≤ maxLength).
   * Omitted: those axes are dynamic (named depth/height/width or sequence).
   */
  inputShape?: number[];
  /** Default-domain opset, 17 to 21 (default 17; onnx ≤ 1.12's checker knows opsets up to 17). */
  opset?: number;
  /** Which outputs the model has (default 'both'). */
  output?: OnnxExportOutput;
  /** Extra model metadata (metadata_props); geoclr adds geoclr.encoder, geoclr.input, geoclr.version. */
  metadata?: Record<string, string>;
  /** Graph name (default: the architecture). */
  graphName?: string;
}

export interface OnnxTensorSpec {
  name: string;
  elemType: OnnxElemType;
  /** Sizes, with symbolic names for dynamic axes ('batch', …). */
  shape: (number | string)[];
}

export interface OnnxExportInfo {
  inputs: OnnxTensorSpec[];
  outputs: OnnxTensorSpec[];
  opset: number;
  irVersion: number;
  /** How geoclr's channels-last input maps to the ONNX input (a tf.transpose permutation), or null (text, head). */
  fromChannelsLast: number[] | null;
  /** Number of initializers (weights) written. */
  initializers: number;
}

/** The IR version that goes with an opset (onnx's own table; onnxruntime accepts these). */
function irVersionFor(opset: number): number {
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** Emits ONNX nodes for geoclr modules into one graph; weights become initializers named by their state_dict path. */
class Emitter {
  readonly g: OnnxGraphBuilder;
  private readonly names = new Map<tf.Variable, string>();
  private readonly added = new Set<string>();
  private readonly consts = new Map<string, string>();
  initializers = 0;
  private nodeCount = 0;

  constructor(root: Module, graphName: string, opset: number, metadata: Record<string, string>) {
    this.g = new OnnxGraphBuilder(graphName, { opset, irVersion: irVersionFor(opset), metadata, docString: 'exported by geoclr (eval mode)' });
    for (const [name, v] of [...root.namedParameters(), ...root.namedBuffers()]) this.names.set(v, name);
  }

  /** The initializer of a parameter or buffer (added once), named by its state_dict path. */
  weight(v: tf.Variable): string {
    const name = this.names.get(v);
    if (name == null) throw new ValueError('exportOnnx: a layer uses a variable that is not part of the exported module');
    if (!this.added.has(name)) {
      this.g.initializer(name, v);
      this.added.add(name);
      this.initializers++;
    }
    return name;
  }

  /** A constant value (a Constant node, so importOnnx keeps it fixed rather than training it), made once per key. */
  private constant(key: string, make: () => tf.Tensor): string {
    let name = this.consts.get(key);
    if (name == null) {
      const t = make();
      [name] = this.g.node('Constant', [], { value: OnnxAttr.tensor(t) }, { outputs: [this.g.fresh('const')] });
      t.dispose();
      this.consts.set(key, name);
    }
    return name;
  }

  /** A float constant of the given shape. */
  float(value: number, shape: number[] = []): string {
    return this.constant(`f:${value}:${shape}`, () => tf.fill(shape, value));
  }

  /** An int64 1-D constant (axes, shapes, split sizes). */
  ints(values: number[]): string {
    return this.constant(`i:${values}`, () => tf.tensor1d(values, 'int32'));
  }

  /** An int64 scalar constant. */
  intScalar(value: number): string {
    return this.constant(`s:${value}`, () => tf.scalar(value, 'int32'));
  }

  op(type: string, inputs: string[], attrs: Record<string, number | number[] | string | OnnxAttr> = {}, name?: string): string {
    return this.g.node(type, inputs, attrs, name ? { name: `${name}/${type}_${this.nodeCount++}` } : {})[0];
  }

  conv(layer: ConvNd, x: string, path: string): string {
    const dims = layer.kernel.length;
    const expand = (v: number | readonly number[] | undefined, d: number) => (v == null ? new Array(dims).fill(d) : typeof v === 'number' ? new Array(dims).fill(v) : [...v]);
    const pads = expand(layer.opts.padding, 0);
    const inputs = [x, this.weight(layer.weight)];
    if (layer.bias) inputs.push(this.weight(layer.bias));
    return this.op('Conv', inputs, { kernel_shape: layer.kernel, strides: expand(layer.opts.stride, 1), pads: [...pads, ...pads], dilations: new Array(dims).fill(1), group: 1 }, path);
  }

  batchNorm(layer: BatchNormNd, x: string, path: string): string {
    if (layer.runningMean == null || layer.runningVar == null) {
      throw new ValueError(`exportOnnx: batch norm '${path}' has no running statistics (trackRunningStats: false), so it has no inference form`);
    }
    const c = layer.numFeatures;
    const scale = layer.weight ? this.weight(layer.weight) : this.float(1, [c]);
    const bias = layer.bias ? this.weight(layer.bias) : this.float(0, [c]);
    return this.op('BatchNormalization', [x, scale, bias, this.weight(layer.runningMean), this.weight(layer.runningVar)], { epsilon: OnnxAttr.float(layer.eps) }, path);
  }

  /** Linear on [B, in] (Gemm) or [..., in] (MatMul with the transposed weight, then Add). */
  linear(layer: Linear, x: string, rank: number, path: string): string {
    const w = this.weight(layer.weight);
    if (rank === 2) {
      const inputs = [x, w];
      if (layer.bias) inputs.push(this.weight(layer.bias));
      return this.op('Gemm', inputs, { transB: 1 }, path);
    }
    const y = this.op('MatMul', [x, this.op('Transpose', [w], { perm: [1, 0] }, path)], {}, path);
    return layer.bias ? this.op('Add', [y, this.weight(layer.bias)], {}, path) : y;
  }

  layerNorm(layer: LayerNorm, x: string, path: string): string {
    const scale = layer.weight ? this.weight(layer.weight) : this.float(1, [layer.dim]);
    const inputs = [x, scale];
    if (layer.bias) inputs.push(this.weight(layer.bias));
    return this.op('LayerNormalization', inputs, { axis: -1, epsilon: OnnxAttr.float(layer.opts.eps ?? 1e-5) }, path);
  }

  /** GELU, exact erf form (the Gelu operator needs opset 20): x · 0.5 · (1 + erf(x / √2)). */
  gelu(x: string, path: string): string {
    const erf = this.op('Erf', [this.op('Mul', [x, this.float(Math.SQRT1_2)], {}, path)], {}, path);
    return this.op('Mul', [x, this.op('Mul', [this.float(0.5), this.op('Add', [this.float(1), erf], {}, path)], {}, path)], {}, path);
  }

  pool(kind: 'MaxPool' | 'AveragePool', opts: PoolOptions, dims: number, x: string, path: string): string {
    const expand = (v: number | readonly number[] | undefined, d: readonly number[]): number[] => (v == null ? [...d] : typeof v === 'number' ? new Array(dims).fill(v) : [...v]);
    const kernel = expand(opts.kernel, []);
    const pads = expand(opts.padding, new Array(dims).fill(0));
    // geoclr's average pools count the zero padding (PyTorch's default count_include_pad=True).
    const extra: Record<string, number> = kind === 'AveragePool' ? { count_include_pad: 1 } : {};
    return this.op(kind, [x], { kernel_shape: kernel, strides: expand(opts.stride, kernel), pads: [...pads, ...pads], ...extra }, path);
  }

  /** Global average pooling [B, C, …] → [B, C]. */
  globalPool(x: string, path: string): string {
    return this.op('Flatten', [this.op('GlobalAveragePool', [x], {}, path)], { axis: 1 }, path);
  }

  /** A layer on a value of the given rank (channels-first); returns the output value. */
  layer(l: Layer, x: string, rank: number, path: string): string {
    if (l instanceof Sequential) return l.layers.reduce((h, sub, i) => this.layer(sub, h, rank, path ? `${path}.${i}` : String(i)), x);
    if (l instanceof ConvNd) return this.conv(l, x, path);
    if (l instanceof BatchNormNd) return this.batchNorm(l, x, path);
    if (l instanceof Linear) return this.linear(l, x, rank, path);
    if (l instanceof LayerNorm) return this.layerNorm(l, x, path);
    if (l instanceof ReLU) return this.op('Relu', [x], {}, path);
    if (l instanceof GELU) return this.gelu(x, path);
    if (l instanceof Identity || l instanceof Dropout) return x; // eval mode: dropout is the identity
    if (l instanceof MaxPool3d || l instanceof MaxPool2d) return this.pool('MaxPool', l.opts, rank - 2, x, path);
    if (l instanceof AvgPool3d || l instanceof AvgPool2d) return this.pool('AveragePool', l.opts, rank - 2, x, path);
    if (l instanceof GlobalAvgPool) return this.globalPool(x, path);
    if (l instanceof BasicBlock) return this.basicBlock(l, x, rank, path);
    throw new ValueError(`exportOnnx: no ONNX translation for the layer '${path}' (${l.constructor.name})`);
  }

  basicBlock(b: BasicBlock, x: string, rank: number, path: string): string {
    const p = (n: string) => `${path}.${n}`;
    const h = this.op('Relu', [this.layer(b.bn1, this.layer(b.conv1, x, rank, p('conv1')), rank, p('bn1'))], {}, p('relu1'));
    const y = this.layer(b.bn2, this.layer(b.conv2, h, rank, p('conv2')), rank, p('bn2'));
    const shortcut = b.downsample == null ? x : this.layer(b.downsample, x, rank, p('downsample'));
    return this.op('Relu', [this.op('Add', [y, shortcut], {}, path)], {}, p('relu2'));
  }

  resnet(e: ResNetEncoder, x: string, rank: number): string {
    let h = this.op('Relu', [this.layer(e.bn1, this.layer(e.conv1, x, rank, 'conv1'), rank, 'bn1')], {}, 'relu');
    if (e.maxpool != null) h = this.layer(e.maxpool, h, rank, 'maxpool');
    e.stages.forEach((stage, s) => {
      h = this.layer(stage, h, rank, `layer${s + 1}`);
    });
    return this.globalPool(h, 'avgpool');
  }

  /** norm1 → relu → conv1 → norm2 → relu → conv2 of the concatenated features (dropout: identity in eval). */
  denseLayer(l: DenseLayer, cat: string, rank: number, path: string): string {
    const p = (n: string) => `${path}.${n}`;
    const h = this.op('Relu', [this.layer(l.norm1, cat, rank, p('norm1'))], {}, p('relu1'));
    const b = this.op('Relu', [this.layer(l.norm2, this.layer(l.conv1, h, rank, p('conv1')), rank, p('norm2'))], {}, p('relu2'));
    return this.layer(l.conv2, b, rank, p('conv2'));
  }

  transition(t: Transition, x: string, rank: number, path: string): string {
    const h = this.op('Relu', [this.layer(t.norm, x, rank, `${path}.norm`)], {}, `${path}.relu`);
    return this.layer(t.pool, this.layer(t.conv, h, rank, `${path}.conv`), rank, `${path}.pool`);
  }

  densenet(e: DenseNetEncoder, x: string, rank: number): string {
    const f = e.features;
    let h = this.op('Relu', [this.layer(f.norm0, this.layer(f.conv0, x, rank, 'features.conv0'), rank, 'features.norm0')], {}, 'features.relu0');
    if (f.pool0 != null) h = this.layer(f.pool0, h, rank, 'features.pool0');
    f.blocks.forEach((block, i) => {
      const path = `features.denseblock${i + 1}`;
      // The block's output is the channel concatenation of its input and every layer's new features.
      block.layers.forEach((layer, j) => {
        const fresh = this.denseLayer(layer, h, rank, `${path}.denselayer${j + 1}`);
        h = this.op('Concat', [h, fresh], { axis: 1 }, `${path}.denselayer${j + 1}.cat`);
      });
      if (i < f.transitions.length) h = this.transition(f.transitions[i], h, rank, `features.transition${i + 1}`);
    });
    h = this.op('Relu', [this.layer(f.norm5, h, rank, 'features.norm5')], {}, 'features.relu5');
    return this.globalPool(h, 'avgpool');
  }

  /** Self-attention on [B, L, E] with an additive key bias [B, 1, 1, L]. */
  attention(a: MultiheadAttention, x: string, keyBias: string, path: string): string {
    const e = a.embedDim;
    const h = a.numHeads;
    const dh = a.headDim;
    const qkv = this.op('Add', [this.op('MatMul', [x, this.op('Transpose', [this.weight(a.inProjWeight)], { perm: [1, 0] }, path)], {}, path), this.weight(a.inProjBias)], {}, path);
    const [q, k, v] = this.g.node('Split', [qkv, this.ints([e, e, e])], { axis: 2 }, { outputs: 3, name: `${path}/Split` });
    const heads = (t: string, perm: number[]) => this.op('Transpose', [this.op('Reshape', [t, this.ints([0, 0, h, dh])], {}, path)], { perm }, path);
    const qh = this.op('Mul', [heads(q, [0, 2, 1, 3]), this.float(1 / Math.sqrt(dh))], {}, path); // [B, H, L, dh]
    const kt = heads(k, [0, 2, 3, 1]); // [B, H, dh, L]
    const vh = heads(v, [0, 2, 1, 3]);
    const scores = this.op('Add', [this.op('MatMul', [qh, kt], {}, path), keyBias], {}, path);
    const attn = this.op('Softmax', [scores], { axis: -1 }, path);
    const ctx = this.op('Reshape', [this.op('Transpose', [this.op('MatMul', [attn, vh], {}, path)], { perm: [0, 2, 1, 3] }, path), this.ints([0, 0, e])], {}, path);
    return this.linear(a.outProj, ctx, 3, `${path}.out_proj`);
  }

  /** Pre-LN layer: x + SelfAttn(LN₁(x)), then + W₂ act(W₁ LN₂(x)). */
  transformerLayer(l: TransformerEncoderLayer, x: string, keyBias: string, path: string): string {
    const p = (n: string) => `${path}.${n}`;
    const h = this.op('Add', [x, this.attention(l.selfAttn, this.layerNorm(l.norm1, x, p('norm1')), keyBias, p('self_attn'))], {}, path);
    const f1 = this.linear(l.linear1, this.layerNorm(l.norm2, h, p('norm2')), 3, p('linear1'));
    const act = l.activation instanceof GELU ? this.gelu(f1, p('activation')) : this.op('Relu', [f1], {}, p('activation'));
    return this.op('Add', [h, this.linear(l.linear2, act, 3, p('linear2'))], {}, path);
  }

  text(e: TextTransformerEncoder, ids: string, mask: string): string {
    const tokens = this.op('Gather', [this.weight(e.tokenEmbedding.weight), ids], { axis: 0 }, 'token_embedding');
    // Positions 0…L−1: the first L rows of the position table (L read from the input, so the axis may be dynamic).
    const length = this.g.node('Shape', [ids], { start: 1, end: 2 }, { outputs: 1, name: 'position_embedding/Shape' })[0];
    const positions = this.op('Slice', [this.weight(e.positionEmbedding.weight), this.ints([0]), length, this.ints([0])], {}, 'position_embedding');
    let h = this.op('Add', [tokens, positions], {}, 'embeddings');
    // Padding keys get −1e9 before the softmax (as geoclr: identical to −∞ unless a row is all padding).
    const maskF = this.op('Cast', [mask], { to: 1 }, 'mask');
    const bias = this.op('Unsqueeze', [this.op('Mul', [this.op('Sub', [maskF, this.float(1)], {}, 'mask'), this.float(1e9)], {}, 'mask'), this.ints([1, 2])], {}, 'mask');
    e.layers.items.forEach((layer, i) => {
      h = this.transformerLayer(layer, h, bias, `layers.${i}`);
    });
    h = this.layerNorm(e.norm, h, 'norm');
    if (e.config.pooling === 'cls') return this.op('Gather', [h, this.intScalar(0)], { axis: 1 }, 'pool');
    const m = this.op('Unsqueeze', [maskF, this.ints([2])], {}, 'pool');
    const num = this.op('ReduceSum', [this.op('Mul', [h, m], {}, 'pool'), this.ints([1])], { keepdims: 0 }, 'pool');
    const den = this.op('Max', [this.op('ReduceSum', [m, this.ints([1])], { keepdims: 0 }, 'pool'), this.float(1)], {}, 'pool');
    return this.op('Div', [num, den], {}, 'pool');
  }

  head(head: MLPHead, x: string, path: string): string {
    return head.layers.reduce((h, l, i) => this.layer(l, h, 2, `${path}.${i}`), x);
  }
}

interface InputPlan {
  inputs: OnnxTensorSpec[];
  fromChannelsLast: number[] | null;
  geoclrInput: { shape: number[] | null; channels: number | null; layout: string };
}

function checkShape(shape: number[] | undefined, n: number, what: string): void {
  if (shape == null) return;
  if (!Array.isArray(shape) || shape.length !== n || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ConfigError('inputShape', `${what} needs ${n} positive integer size${n > 1 ? 's' : ''} (without batch and channels), got ${JSON.stringify(shape)}`);
  }
}

function planInputs(model: Encoder | MLPHead, inputShape: number[] | undefined): InputPlan {
  if (model instanceof MLPHead) {
    const first = model.layers[0];
    if (!(first instanceof Linear)) throw new ValueError('exportOnnx: an MLPHead must start with a Linear layer');
    if (inputShape != null) checkShape(inputShape, 1, 'an MLP head');
    if (inputShape != null && inputShape[0] !== first.inFeatures) throw new ConfigError('inputShape', `the head takes ${first.inFeatures} features, got [${inputShape}]`);
    return { inputs: [{ name: 'representation', elemType: 'float32', shape: ['batch', first.inFeatures] }], fromChannelsLast: null, geoclrInput: { shape: [first.inFeatures], channels: null, layout: 'NF' } };
  }
  if (model instanceof TextTransformerEncoder) {
    checkShape(inputShape, 1, 'a text encoder');
    if (inputShape != null && inputShape[0] > model.config.maxLength) {
      throw new ConfigError('inputShape', `sequence length ${inputShape[0]} exceeds the encoder's maxLength ${model.config.maxLength}`);
    }
    const seq: number | string = inputShape?.[0] ?? 'sequence';
    return {
      inputs: [
        { name: 'input_ids', elemType: 'int64', shape: ['batch', seq] },
        { name: 'attention_mask', elemType: 'int64', shape: ['batch', seq] },
      ],
      fromChannelsLast: null,
      geoclrInput: { shape: inputShape ?? null, channels: null, layout: 'NL' },
    };
  }
  if (model instanceof ResNetEncoder || model instanceof DenseNetEncoder) {
    const is3d = model.config.arch.endsWith('3d');
    const n = is3d ? 3 : 2;
    checkShape(inputShape, n, model.config.arch);
    const spatial: (number | string)[] = inputShape ?? (is3d ? ['depth', 'height', 'width'] : ['height', 'width']);
    const c = model.config.inChannels;
    return {
      inputs: [{ name: is3d ? 'volume' : 'image', elemType: 'float32', shape: ['batch', c, ...spatial] }],
      fromChannelsLast: is3d ? [0, 4, 1, 2, 3] : [0, 3, 1, 2],
      geoclrInput: { shape: inputShape ?? null, channels: c, layout: is3d ? 'NCDHW' : 'NCHW' },
    };
  }
  throw new ValueError(`exportOnnx: no ONNX translation for ${model.constructor.name} (supported: ResNet, DenseNet and text-transformer encoders, MLPHead)`);
}

/** Builds the ONNX graph of an encoder (or a lone MLP head) without writing it. */
export function encoderToOnnx(model: Encoder | MLPHead, options: ExportOnnxOptions = {}): { builder: OnnxGraphBuilder; info: OnnxExportInfo } {
  const opset = options.opset ?? 17;
  if (!Number.isInteger(opset) || opset < 17 || opset > 21) throw new ConfigError('opset', `must be an integer from 17 to 21, got ${JSON.stringify(options.opset)}`);
  const output = options.output ?? 'both';
  if (!['both', 'representation', 'projection'].includes(output)) throw new ConfigError('output', `must be 'both', 'representation' or 'projection', got ${JSON.stringify(output)}`);
  const plan = planInputs(model, options.inputShape);
  const isHead = model instanceof MLPHead;
  if (isHead && output !== 'projection' && options.output != null) throw new ConfigError('output', "an MLPHead alone has only the 'projection' output");
  const config = isHead ? null : (model as Encoder).config;
  const metadata: Record<string, string> = {
    ...(config ? { 'geoclr.encoder': JSON.stringify(config) } : {}),
    'geoclr.input': JSON.stringify({ ...plan.geoclrInput, fromChannelsLast: plan.fromChannelsLast }),
    'geoclr.version': geoclrVersion(),
    ...(options.metadata ?? {}),
  };
  const arch = config ? String((config as { arch?: unknown }).arch) : 'mlp-head';
  const em = new Emitter(model, options.graphName ?? arch, opset, metadata);
  const names = plan.inputs.map((i) => em.g.input(i.name, i.elemType, i.shape));
  const outputs: OnnxTensorSpec[] = [];
  const emit = (value: string, name: string, width: number) => {
    em.g.output(value, 'float32', ['batch', width], name);
    outputs.push({ name, elemType: 'float32', shape: ['batch', width] });
  };
  if (isHead) {
    emit(em.head(model, names[0], 'head'), 'projection', model.outDim);
  } else {
    const enc = model as Encoder;
    let rep: string;
    if (enc instanceof ResNetEncoder) rep = em.resnet(enc, names[0], plan.inputs[0].shape.length);
    else if (enc instanceof DenseNetEncoder) rep = em.densenet(enc, names[0], plan.inputs[0].shape.length);
    else rep = em.text(enc as TextTransformerEncoder, names[0], names[1]);
    if (output !== 'projection') emit(rep, 'representation', enc.representationDim);
    if (output !== 'representation') emit(enc.head == null ? rep : em.head(enc.head, rep, 'head'), 'projection', enc.projectionDim);
  }
  return {
    builder: em.g,
    info: { inputs: plan.inputs, outputs, opset, irVersion: irVersionFor(opset), fromChannelsLast: plan.fromChannelsLast, initializers: em.initializers },
  };
}

/**
 * Writes `model` (a geoclr encoder, in eval form, or an MLPHead) as an ONNX file (atomically); see the module doc
 * for the inputs, outputs and layout. Returns what was written.
 */
export async function exportOnnx(model: Encoder | MLPHead, file: string, options: ExportOnnxOptions = {}): Promise<OnnxExportInfo> {
  const { builder, info } = encoderToOnnx(model, options);
  await writeFileAtomic(file, builder.toBytes());
  return info;
}
