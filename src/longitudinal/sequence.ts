/**
 * Patient-level modelling: a small time-aware sequence model over a subject's visit embeddings, giving one
 * patient embedding and a prediction head (a progression rate, a diagnosis, ...).
 *
 *   h_i = input_proj(x_i) + time_proj(φ(t_i)),   φ(t) = [t/P, sin(2πt/P_k), cos(2πt/P_k)]_k, P_k = P/2^k
 *   h   = TransformerEncoderLayer^depth(h; key padding mask)          (pre-LN, as torch's norm_first=True)
 *   a   = softmax_i(pool(h_i)) over real visits
 *   β   = Σ_i w_i h_i,  w_i = (t_i − t̄) / Σ_j (t_j − t̄)²   (the least-squares slope of h over time; 0 for one visit)
 *   patient = norm(Σ_i a_i h_i) + slope_proj(β);   prediction = head(patient)
 *
 * The slope read-out gives the model a direct path to how fast a subject's embeddings change (a progression
 * rate is a slope; attention pooling alone has to learn a ratio of differences and times from few subjects).
 *
 * t is the years since the subject's first visit (so the model sees intervals, not ages). Parameter names match
 * the PyTorch twin `geoclr_torch.VisitSequenceModel` (input_proj.*, time_proj.*, layers.N.*, pool.*, norm.*,
 * slope_proj.*, head.*), so a state_dict moves either way.
 */
import * as tf from '../tf.js';
import { ConfigError, ShapeError, ValueError } from '../errors.js';
import { Rng } from '../util/random.js';
import { Module, ModuleList } from '../nn/module.js';
import { LayerNorm, Linear } from '../nn/layers.js';
import { TransformerEncoderLayer } from '../nn/attention.js';
import { matmul } from '../nn/ops/dense.js';
import { AdamW } from '../nn/optim.js';

export interface VisitSequenceConfig {
  /** Width of a visit embedding (required). */
  inputDim: number;
  /** Model width (default 32). */
  dim?: number;
  /** Transformer layers before pooling (default 0: attention pooling of the time-encoded visits, which generalises
   *  best from the few dozen subjects of a typical cohort; 1–2 let visits attend to each other). */
  depth?: number;
  heads?: number;
  /** Feed-forward width (default 2·dim). */
  ffDim?: number;
  dropout?: number;
  /** Sinusoidal time frequencies (default 3). */
  timeFrequencies?: number;
  /** Longest period P of the time encoding, in years (default 16). */
  maxPeriod?: number;
  /** Width of the prediction head (default 1: a regression target). */
  outputs?: number;
}

export type ResolvedVisitSequenceConfig = Required<VisitSequenceConfig>;

export function resolveVisitSequenceConfig(config: VisitSequenceConfig, field = 'sequence'): ResolvedVisitSequenceConfig {
  if (config == null || typeof config !== 'object') throw new ConfigError(field, 'must be an object with inputDim');
  const allowed = ['inputDim', 'dim', 'depth', 'heads', 'ffDim', 'dropout', 'timeFrequencies', 'maxPeriod', 'outputs'];
  for (const k of Object.keys(config)) if (!allowed.includes(k)) throw new ConfigError(`${field}.${k}`, `unknown key; expected one of ${allowed.join(', ')}`);
  const int = (key: keyof VisitSequenceConfig, dflt: number | undefined, min: number) => {
    const v = config[key] ?? dflt;
    if (v === undefined) throw new ConfigError(`${field}.${key}`, 'is required');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ConfigError(`${field}.${key}`, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const dim = int('dim', 32, 1);
  const heads = int('heads', 2, 1);
  if (dim % heads !== 0) throw new ConfigError(`${field}.heads`, `must divide dim (${dim}), got ${heads}`);
  const dropout = config.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) throw new ConfigError(`${field}.dropout`, `must be in [0, 1), got ${JSON.stringify(dropout)}`);
  const maxPeriod = config.maxPeriod ?? 16;
  if (typeof maxPeriod !== 'number' || !(maxPeriod > 0 && Number.isFinite(maxPeriod))) throw new ConfigError(`${field}.maxPeriod`, `must be a positive number of years, got ${JSON.stringify(maxPeriod)}`);
  return {
    inputDim: int('inputDim', undefined, 1),
    dim,
    depth: int('depth', 0, 0),
    heads,
    ffDim: int('ffDim', 2 * dim, 1),
    dropout,
    timeFrequencies: int('timeFrequencies', 3, 0),
    maxPeriod,
    outputs: int('outputs', 1, 1),
  };
}

/** φ(t) for times `[B, L]` (years) → `[B, L, 1 + 2F]` (a constant: times carry no gradient). */
export function timeFeatures(times: tf.Tensor2D | Float32Array, shape: [number, number], frequencies: number, maxPeriod: number): tf.Tensor3D {
  const [b, l] = shape;
  const t = times instanceof Float32Array ? times : (times.dataSync() as Float32Array);
  const w = 1 + 2 * frequencies;
  const out = new Float32Array(b * l * w);
  for (let i = 0; i < b * l; i++) {
    out[i * w] = t[i] / maxPeriod;
    for (let k = 0; k < frequencies; k++) {
      const a = (2 * Math.PI * t[i] * 2 ** k) / maxPeriod;
      out[i * w + 1 + 2 * k] = Math.sin(a);
      out[i * w + 2 + 2 * k] = Math.cos(a);
    }
  }
  return tf.tensor3d(out, [b, l, w]);
}

export interface VisitSequenceOutput {
  /** `[B, dim]` */
  patient: tf.Tensor2D;
  /** `[B, outputs]` */
  prediction: tf.Tensor2D;
  /** Attention weights over visits `[B, L]` (0 on padding). */
  attention: tf.Tensor2D;
}

export class VisitSequenceModel extends Module {
  readonly config: ResolvedVisitSequenceConfig;
  readonly inputProj: Linear;
  readonly timeProj: Linear;
  readonly layers: ModuleList<TransformerEncoderLayer>;
  readonly pool: Linear;
  readonly norm: LayerNorm;
  readonly slopeProj: Linear;
  readonly head: Linear;

  constructor(config: VisitSequenceConfig, opts: { seed?: number | string; rng?: Rng } = {}) {
    super();
    const c = (this.config = resolveVisitSequenceConfig(config));
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    this.inputProj = this.addModule('input_proj', new Linear(c.inputDim, c.dim, { rng }));
    this.timeProj = this.addModule('time_proj', new Linear(1 + 2 * c.timeFrequencies, c.dim, { rng }));
    const layers = Array.from({ length: c.depth }, () => new TransformerEncoderLayer(c.dim, c.heads, { ffDim: c.ffDim, dropout: c.dropout, activation: 'gelu', rng }));
    this.layers = this.addModule('layers', new ModuleList(layers));
    this.pool = this.addModule('pool', new Linear(c.dim, 1, { rng }));
    this.norm = this.addModule('norm', new LayerNorm(c.dim));
    this.slopeProj = this.addModule('slope_proj', new Linear(c.dim, c.dim, { rng }));
    this.head = this.addModule('head', new Linear(c.dim, c.outputs, { rng }));
  }

  /**
   * `visits` `[B, L, inputDim]`, `times` `[B, L]` (years since each subject's first visit), `padding` `[B, L]` with
   * 1 where a position is padding (PyTorch's src_key_padding_mask; default none). Every subject needs ≥ 1 visit.
   */
  forward(visits: tf.Tensor, times: tf.Tensor, padding?: tf.Tensor): VisitSequenceOutput {
    const c = this.config;
    if (visits.rank !== 3 || visits.shape[2] !== c.inputDim) throw new ShapeError(`VisitSequenceModel: visits must be [B, L, ${c.inputDim}], got [${visits.shape}]`);
    const [b, l] = visits.shape;
    if (times.rank !== 2 || times.shape[0] !== b || times.shape[1] !== l) throw new ShapeError(`VisitSequenceModel: times must be [${b}, ${l}], got [${times.shape}]`);
    if (padding != null && (padding.rank !== 2 || padding.shape[0] !== b || padding.shape[1] !== l)) {
      throw new ShapeError(`VisitSequenceModel: padding must be [${b}, ${l}], got [${padding.shape}]`);
    }
    const pad = padding == null ? new Float32Array(b * l) : Float32Array.from(padding.dataSync());
    const t = Float32Array.from(times.dataSync());
    const slopeWeights = new Float32Array(b * l);
    for (let i = 0; i < b; i++) {
      let real = 0;
      let sum = 0;
      for (let j = 0; j < l; j++) {
        if (pad[i * l + j]) continue;
        real++;
        sum += t[i * l + j];
      }
      if (real === 0) throw new ValueError(`VisitSequenceModel: subject ${i} of the batch has no visit (all padding)`);
      const mean = sum / real;
      let ss = 0;
      for (let j = 0; j < l; j++) if (!pad[i * l + j]) ss += (t[i * l + j] - mean) ** 2;
      if (ss > 1e-12) for (let j = 0; j < l; j++) if (!pad[i * l + j]) slopeWeights[i * l + j] = (t[i * l + j] - mean) / ss;
    }
    return tf.tidy(() => {
      const phi = timeFeatures(t, [b, l], c.timeFrequencies, c.maxPeriod);
      let h = tf.add(this.inputProj.forward(visits), this.timeProj.forward(phi));
      const mask = padding == null ? undefined : tf.tensor2d(pad, [b, l]);
      for (const layer of this.layers.items) h = layer.forward(h, mask);
      // Masked softmax over visits (−1e9 as the attention layers do: exact in float32, never NaN).
      let scores = tf.reshape(this.pool.forward(h), [b, l]);
      if (mask) scores = tf.add(scores, tf.mul(mask, -1e9));
      const attention = tf.softmax(scores, -1) as tf.Tensor2D;
      const pooled = tf.reshape(matmul(tf.reshape(attention, [b, 1, l]), h), [b, c.dim]);
      const slope = tf.reshape(matmul(tf.tensor3d(slopeWeights, [b, 1, l]), h), [b, c.dim]);
      const patient = tf.add(this.norm.forward(pooled), this.slopeProj.forward(slope)) as tf.Tensor2D;
      const prediction = this.head.forward(patient) as tf.Tensor2D;
      return { patient, prediction, attention };
    });
  }
}

/** One subject's visits for the sequence model: embeddings in visit order and times (years since the first). */
export interface SubjectSequence {
  subject: string;
  /** `[L_i][d]` or a flat `L_i·d` array. */
  embeddings: ArrayLike<number>[] | Float32Array;
  times: ArrayLike<number>;
}

/**
 * Packs subjects' visit sequences into padded tensors: visits `[B, L, d]`, times `[B, L]` (since each
 * subject's first visit), padding `[B, L]` (1 = padding), with L the longest sequence. The caller disposes them.
 */
export function packSequences(sequences: readonly SubjectSequence[], dim: number): { visits: tf.Tensor3D; times: tf.Tensor2D; padding: tf.Tensor2D } {
  if (sequences.length === 0) throw new ShapeError('packSequences: no subjects');
  const lengths = sequences.map((s, i) => {
    if (s.times.length === 0) throw new ValueError(`packSequences: subject ${s.subject} (index ${i}) has no visit`);
    return s.times.length;
  });
  const b = sequences.length;
  const l = Math.max(...lengths);
  const x = new Float32Array(b * l * dim);
  const t = new Float32Array(b * l);
  const pad = new Float32Array(b * l).fill(1);
  sequences.forEach((s, i) => {
    const flat = s.embeddings instanceof Float32Array;
    const t0 = s.times[0];
    for (let j = 0; j < s.times.length; j++) {
      if (!Number.isFinite(s.times[j])) throw new ValueError(`packSequences: subject ${s.subject} visit ${j} has time ${s.times[j]}`);
      if (j > 0 && !(s.times[j] > s.times[j - 1])) throw new ValueError(`packSequences: subject ${s.subject}: times must increase (visit ${j}: ${s.times[j]} after ${s.times[j - 1]})`);
      const row = flat ? (s.embeddings as Float32Array).subarray(j * dim, (j + 1) * dim) : (s.embeddings as ArrayLike<number>[])[j];
      if (row == null || row.length !== dim) throw new ShapeError(`packSequences: subject ${s.subject} visit ${j} embedding has ${row?.length} values, expected ${dim}`);
      x.set(row as ArrayLike<number>, (i * l + j) * dim);
      t[i * l + j] = s.times[j] - t0;
      pad[i * l + j] = 0;
    }
  });
  return { visits: tf.tensor3d(x, [b, l, dim]), times: tf.tensor2d(t, [b, l]), padding: tf.tensor2d(pad, [b, l]) };
}

export interface FitSequenceOptions {
  /** Full-batch epochs (default 300). */
  epochs?: number;
  lr?: number;
  weightDecay?: number;
  /** 'regression' (MSE on the standardised target; default) or 'classification' (cross-entropy over `outputs` classes). */
  task?: 'regression' | 'classification';
  /** Called every 50 epochs and at the end with the training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface FittedSequenceModel {
  model: VisitSequenceModel;
  losses: number[];
  /** Patient embeddings `[B][dim]` and predictions (regression: in the target's units; classification: class index). */
  predict(sequences: readonly SubjectSequence[]): { patient: Float32Array[]; prediction: Float64Array };
}

/**
 * Trains the model's prediction head end to end on subjects' visit sequences (frozen visit embeddings),
 * full batch with AdamW. Regression targets are standardised for training; predictions are returned in their units.
 */
export function fitVisitSequenceModel(
  model: VisitSequenceModel,
  sequences: readonly SubjectSequence[],
  targets: ArrayLike<number>,
  opts: FitSequenceOptions = {},
): FittedSequenceModel {
  const task = opts.task ?? 'regression';
  if (task !== 'regression' && task !== 'classification') throw new ValueError(`fitVisitSequenceModel: task must be 'regression' or 'classification', got ${task}`);
  if (targets.length !== sequences.length) throw new ShapeError(`fitVisitSequenceModel: ${sequences.length} subjects but ${targets.length} targets`);
  const y = Array.from(targets);
  y.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new ValueError(`fitVisitSequenceModel: target of subject ${sequences[i].subject} is ${v}`);
    if (task === 'classification' && !(Number.isInteger(v) && v >= 0 && v < model.config.outputs)) {
      throw new ValueError(`fitVisitSequenceModel: class of subject ${sequences[i].subject} must be an integer in [0, ${model.config.outputs}), got ${v}`);
    }
  });
  if (task === 'regression' && model.config.outputs !== 1) throw new ValueError(`fitVisitSequenceModel: regression needs outputs = 1, the model has ${model.config.outputs}`);
  const mu = task === 'regression' ? y.reduce((a, b) => a + b, 0) / y.length : 0;
  const sd = task === 'regression' ? Math.sqrt(y.reduce((a, b) => a + (b - mu) ** 2, 0) / y.length) || 1 : 1;
  const epochs = opts.epochs ?? 300;
  const { visits, times, padding } = packSequences(sequences, model.config.inputDim);
  const target =
    task === 'regression'
      ? tf.tensor2d(y.map((v) => (v - mu) / sd), [y.length, 1])
      : tf.tidy(() => tf.cast(tf.equal(tf.reshape(tf.tensor1d(y, 'int32'), [y.length, 1]), tf.reshape(tf.range(0, model.config.outputs, 1, 'int32'), [1, model.config.outputs])), 'float32'));
  const optimizer = new AdamW(model, { lr: opts.lr ?? 3e-3, weightDecay: opts.weightDecay ?? 1e-2 });
  const losses: number[] = [];
  model.train();
  try {
    for (let e = 0; e < epochs; e++) {
      const { value, grads } = tf.variableGrads(() => {
        const out = model.forward(visits, times, padding);
        tf.dispose([out.patient, out.attention]);
        const loss =
          task === 'regression'
            ? tf.mean(tf.square(tf.sub(out.prediction, target)))
            : tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(out.prediction, -1)), -1)));
        out.prediction.dispose();
        return loss as tf.Scalar;
      }, model.parameters());
      optimizer.step(grads);
      const l = value.dataSync()[0];
      losses.push(l);
      tf.dispose([value, ...Object.values(grads)]);
      if (opts.onEpoch && ((e + 1) % 50 === 0 || e === epochs - 1)) opts.onEpoch(e + 1, l);
    }
  } finally {
    tf.dispose([visits, times, padding, target]);
    optimizer.dispose();
    model.eval();
  }
  return {
    model,
    losses,
    predict(seqs) {
      const packed = packSequences(seqs, model.config.inputDim);
      const out = model.forward(packed.visits, packed.times, packed.padding);
      const p = out.patient.dataSync() as Float32Array;
      const raw = out.prediction.dataSync() as Float32Array;
      tf.dispose([packed.visits, packed.times, packed.padding, out.patient, out.prediction, out.attention]);
      const d = model.config.dim;
      const k = model.config.outputs;
      const prediction = new Float64Array(seqs.length);
      for (let i = 0; i < seqs.length; i++) {
        if (task === 'regression') prediction[i] = raw[i] * sd + mu;
        else {
          let best = 0;
          for (let c = 1; c < k; c++) if (raw[i * k + c] > raw[i * k + best]) best = c;
          prediction[i] = best;
        }
      }
      return { patient: Array.from({ length: seqs.length }, (_, i) => p.slice(i * d, (i + 1) * d)), prediction };
    },
  };
}
