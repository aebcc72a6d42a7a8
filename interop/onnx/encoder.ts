/**
 * `OnnxEncoder`: an imported ONNX model (`importOnnx`) as a geoclr `Encoder`, so the training loop fine-tunes a
 * lab's pretrained network exactly as it trains a geoclr one — `forward(x, mask?)` → {representation, projection},
 * `namedParameters()`, `train()`/`eval()`, `stateDict()`/`loadStateDict()`, `dispose()`.
 *
 * - Input layout: geoclr data are channels-last; with `layout: 'channels-last'` (the default) a float input of
 *   rank ≥ 3 is transposed to the ONNX model's channels-first layout ([B, D, H, W, C] → [B, C, D, H, W]). Integer
 *   inputs (token ids) pass unchanged; a second model input takes the attention mask (ones when none is given).
 * - The representation is the graph output named 'representation' when there is one, else the first output, or any
 *   value named by `representationOutput` (an inner value such as '/Flatten_output_0'); outputs of rank > 2 are
 *   flattened to [B, features].
 * - The projection is a fresh, seeded geoclr `MLPHead` on the representation when `head` is given; else the
 *   model's 'projection' output when it has one (geoclr exports do); else the representation itself.
 * - Parameters: the trainable initializers the chosen outputs depend on, under their ONNX names (PyTorch exports
 *   keep `state_dict` names), then the head's as `head.*`. Batch-norm running statistics are buffers. The graph
 *   runs as exported whatever the mode: batch norm uses its running statistics (frozen), dropout is off;
 *   `train()`/`eval()` switch the fresh head only.
 *
 *   const encoder = await OnnxEncoder.load('lab-model.onnx', { head: { hidden: [256], out: 128 }, seed: 0 });
 *   const { representation, projection } = encoder.forward(volumes);   // volumes: [B, D, H, W, C]
 */
import * as tf from '../../src/tf.js';
import { ConfigError, ShapeError, ValueError } from '../../src/errors.js';
import { Rng } from '../../src/util/random.js';
import { Encoder, MLPHead, normalizeHead, type EncoderOutput, type HeadConfig } from '../../src/nn/encoders/encoder.js';
import type { StateDict } from '../../src/nn/module.js';
import { importOnnx, OnnxModel, type ImportOnnxOptions, type OnnxIoInfo } from './import.js';

export type OnnxInputLayout = 'channels-last' | 'channels-first';

export interface OnnxEncoderOptions {
  /** The value used as the representation (default: output 'representation', else the first output). */
  representationOutput?: string;
  /** The value used as the projection when there is no fresh head (default: output 'projection' if present). */
  projectionOutput?: string | null;
  /** A fresh MLP projection head on the representation ({hidden, out, batchNorm}); null/undefined: none. */
  head?: HeadConfig | null;
  /** Seed of the head's initialisation (default 0). */
  seed?: number | string;
  /** Layout of the tensors given to forward() (default 'channels-last', geoclr's). */
  layout?: OnnxInputLayout;
  /** Width of the representation, when the model's metadata does not say and its input shape is not static. */
  representationDim?: number;
}

/** The JSON description of an OnnxEncoder (what `config` holds). */
export type OnnxEncoderConfig = {
  arch: 'onnx';
  source: string;
  inputs: string[];
  representationOutput: string;
  projectionOutput: string | null;
  representationDim: number;
  head: Required<HeadConfig> | null;
  seed: number | string;
  layout: OnnxInputLayout;
};

const PROBE_BATCH = 1;

function flatten2d(t: tf.Tensor): tf.Tensor2D {
  if (t.rank === 2) return t as tf.Tensor2D;
  if (t.rank < 2) throw new ShapeError(`OnnxEncoder: the representation must have a batch axis and features, got shape [${t.shape}]`);
  return tf.reshape(t, [t.shape[0], -1]) as tf.Tensor2D;
}

/** Static feature count of an output [batch, …] from the model's metadata, or null. */
function staticWidth(info: OnnxIoInfo | undefined): number | null {
  const dims = info?.shape?.slice(1);
  if (!dims || dims.length === 0 || dims.some((d) => typeof d !== 'number')) return null;
  return (dims as number[]).reduce((a, b) => a * b, 1);
}

export class OnnxEncoder extends Encoder {
  readonly config: OnnxEncoderConfig;
  readonly representationDim: number;
  readonly projectionDim: number;
  readonly head: MLPHead | null;
  private readonly repName: string;
  private readonly projName: string | null;
  private readonly onnxParams: [string, tf.Variable][];
  private readonly onnxBuffers: [string, tf.Variable][];

  /** Wraps an imported model; the encoder owns it from now on (dispose() releases it). */
  constructor(
    readonly model: OnnxModel,
    options: OnnxEncoderOptions = {},
  ) {
    super();
    const layout = options.layout ?? 'channels-last';
    if (layout !== 'channels-last' && layout !== 'channels-first') throw new ConfigError('layout', `must be 'channels-last' or 'channels-first', got ${JSON.stringify(layout)}`);
    const inputs = model.inputs;
    if (inputs.length === 0 || inputs.length > 2 || (inputs.length === 2 && inputs[1].dtype === 'float32')) {
      throw new ConfigError(
        'onnx model',
        `${model.source}: an encoder takes one input, or token ids and an attention mask; this model takes ${inputs.map((i) => `${i.name} (${i.onnxType})`).join(', ') || 'nothing'}`,
      );
    }
    const outputNames = model.outputNames;
    const repName = options.representationOutput ?? (outputNames.includes('representation') ? 'representation' : outputNames[0]);
    if (!model.hasValue(repName)) {
      throw new ConfigError('representationOutput', `${model.source} has no value named '${repName}' (outputs: ${outputNames.join(', ')})`);
    }
    const wantsProj = options.head == null && options.projectionOutput !== null;
    const projName = wantsProj ? options.projectionOutput ?? (outputNames.includes('projection') && repName !== 'projection' ? 'projection' : null) : null;
    if (projName != null && !model.hasValue(projName)) {
      throw new ConfigError('projectionOutput', `${model.source} has no value named '${projName}' (outputs: ${outputNames.join(', ')})`);
    }
    this.repName = repName;
    this.projName = projName;
    this.representationDim = options.representationDim ?? staticWidth(model.outputs.find((o) => o.name === repName)) ?? this.probeWidth(repName);
    if (!Number.isInteger(this.representationDim) || this.representationDim < 1) {
      throw new ConfigError('representationDim', `must be a positive integer, got ${JSON.stringify(this.representationDim)}`);
    }

    const used = model.initializersFor([repName, ...(projName ? [projName] : [])]);
    const vars = [...model.namedVariables].filter(([n]) => used.has(n));
    this.onnxParams = vars.filter(([, v]) => v.trainable);
    this.onnxBuffers = vars.filter(([, v]) => !v.trainable);

    const headCfg = normalizeHead(options.head ?? null, this.representationDim);
    const seed = options.seed ?? 0;
    if (headCfg != null) {
      const head = new MLPHead(this.representationDim, headCfg, new Rng(seed));
      const taken = new Set(vars.map(([n]) => n));
      const clash = Object.keys(head.stateDict()).map((n) => `head.${n}`).filter((n) => taken.has(n));
      if (clash.length) {
        head.dispose();
        throw new ConfigError('head', `${model.source} already has weights named ${clash.join(', ')}; use its projection output instead of a fresh head`);
      }
      this.head = this.addModule('head', head);
    } else this.head = null;
    this.projectionDim = this.head?.outDim ?? (projName ? staticWidth(model.outputs.find((o) => o.name === projName)) ?? this.probeWidth(projName) : this.representationDim);
    this.config = {
      arch: 'onnx',
      source: model.source,
      inputs: model.inputNames,
      representationOutput: repName,
      projectionOutput: projName,
      representationDim: this.representationDim,
      head: headCfg,
      seed,
      layout,
    };
  }

  /** Imports an ONNX file (or bytes) and wraps it; see `importOnnx` for `trainable`. */
  static async load(source: string | Uint8Array, options: OnnxEncoderOptions & ImportOnnxOptions = {}): Promise<OnnxEncoder> {
    const model = await importOnnx(source, options.trainable ? { trainable: options.trainable } : {});
    try {
      return new OnnxEncoder(model, options);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /** The ONNX input layout from geoclr's: [B, …spatial, C] → [B, C, …spatial] (via a rank-3 view, fast on wasm). */
  private toModelLayout(x: tf.Tensor): tf.Tensor {
    if (this.config.layout === 'channels-first' || x.dtype !== 'float32' || x.rank < 3) return x;
    const [b, ...rest] = x.shape;
    const c = rest[rest.length - 1];
    const spatial = rest.slice(0, -1);
    const s = spatial.reduce((p, q) => p * q, 1);
    return tf.reshape(tf.transpose(tf.reshape(x, [b, s, c]), [0, 2, 1]), [b, c, ...spatial]);
  }

  private feeds(x: tf.Tensor, mask?: tf.Tensor): Record<string, tf.Tensor> {
    const inputs = this.model.inputs;
    const feeds: Record<string, tf.Tensor> = { [inputs[0].name]: this.toModelLayout(x) };
    if (inputs.length === 2) feeds[inputs[1].name] = mask ?? tf.onesLike(x.dtype === 'float32' ? tf.cast(x, 'int32') : x);
    else if (mask != null) throw new ValueError(`OnnxEncoder: ${this.model.source} takes no attention mask (its only input is '${inputs[0].name}')`);
    return feeds;
  }

  /** The width of a value from one probe run on a zero input (needs static non-batch input sizes). */
  private probeWidth(name: string): number {
    const dims = this.model.inputs.map((i) => i.shape?.slice(1));
    if (dims.some((d) => d == null || d.some((e) => typeof e !== 'number'))) {
      throw new ConfigError('representationDim', `${this.model.source}: the width of '${name}' is not in the model and its inputs have dynamic sizes; pass representationDim`);
    }
    const out = tf.tidy(() => {
      const feeds = Object.fromEntries(
        this.model.inputs.map((info, k) => {
          const shape = [PROBE_BATCH, ...(dims[k] as number[])];
          return [info.name, info.dtype === 'float32' ? tf.zeros(shape) : tf.ones(shape, 'int32')];
        }),
      );
      return (this.model.predict(feeds, { outputs: [name] }) as Record<string, tf.Tensor>)[name];
    });
    const width = out.size / Math.max(out.shape[0] ?? 1, 1);
    out.dispose();
    return width;
  }

  /**
   * A zero input of `batch` items in forward()'s layout (ids: ones, mask: ones), or null when the model's
   * non-batch input sizes are dynamic. For smoke tests and shape checks.
   */
  exampleInput(batch = 1): { x: tf.Tensor; mask?: tf.Tensor } | null {
    const inputs = this.model.inputs;
    const dims = inputs.map((i) => i.shape?.slice(1));
    if (dims.some((d) => d == null || d.some((e) => typeof e !== 'number'))) return null;
    const first = dims[0] as number[];
    if (inputs[0].dtype !== 'float32') {
      const x = tf.ones([batch, ...first], 'int32');
      return inputs.length === 2 ? { x, mask: tf.ones([batch, ...(dims[1] as number[])], 'int32') } : { x };
    }
    const channelsLast = this.config.layout === 'channels-last' && first.length >= 2;
    return { x: tf.zeros(channelsLast ? [batch, ...first.slice(1), first[0]] : [batch, ...first]) };
  }

  represent(x: tf.Tensor, mask?: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const out = this.model.apply(this.feeds(x, mask), { outputs: [this.repName] }) as Record<string, tf.Tensor>;
      return flatten2d(out[this.repName]);
    });
  }

  override forward(x: tf.Tensor, mask?: tf.Tensor): EncoderOutput {
    return tf.tidy(() => {
      const wanted = this.projName ? [this.repName, this.projName] : [this.repName];
      const out = this.model.apply(this.feeds(x, mask), { outputs: wanted }) as Record<string, tf.Tensor>;
      const representation = flatten2d(out[this.repName]);
      let projection: tf.Tensor2D;
      if (this.head != null) projection = this.head.forward(representation) as tf.Tensor2D;
      else if (this.projName != null) projection = flatten2d(out[this.projName]);
      else projection = tf.clone(representation);
      return { representation, projection };
    });
  }

  private prefixed(entries: [string, tf.Variable][], prefix: string): [string, tf.Variable][] {
    return entries.map(([n, v]) => [prefix ? `${prefix}.${n}` : n, v]);
  }

  /** The graph's trainable initializers (ONNX names), then the fresh head's (`head.*`). */
  override namedParameters(prefix = ''): [string, tf.Variable][] {
    return [...this.prefixed(this.onnxParams, prefix), ...super.namedParameters(prefix)];
  }

  /** Frozen initializers (batch-norm running statistics), then the head's buffers. */
  override namedBuffers(prefix = ''): [string, tf.Variable][] {
    return [...this.prefixed(this.onnxBuffers, prefix), ...super.namedBuffers(prefix)];
  }

  /** Initializers the outputs use, by ONNX name, then `head.*` (live variables; clone to keep a snapshot). */
  override stateDict(): StateDict {
    const out: StateDict = {};
    for (const [n, v] of [...this.onnxParams, ...this.onnxBuffers]) out[n] = v;
    return { ...out, ...super.stateDict() };
  }

  /** Releases the imported model's variables and the head. */
  override dispose(): void {
    this.model.dispose();
    this.head?.dispose();
  }
}
