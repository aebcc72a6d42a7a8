/**
 * Data for training, behind interfaces: a registry of data *modalities* (config `data.modality`) that the
 * scripts fill in (`mri` from geoclr/mri; later `text`, `images`), and an in-memory source for arrays.
 *
 * A modality validates its config section (paths exist, preprocessing, augmentation, views), opens a
 * `TrainDataSource` of augmented views for training and an `EmbedSource` of plain (unaugmented) samples for
 * embedding and evaluation. The core (src/) imports none of them.
 */
import * as tf from '../tf.js';
import { ConfigError } from '../errors.js';
import { hashString, Rng } from '../util/random.js';
import { object, string, type Obj } from './schema.js';
import type { MetaValue, TrainBatch, TrainDataSource } from './types.js';

/** A batch of samples to embed (no augmentation). The consumer disposes `input`. */
export interface EmbedBatch {
  input: tf.Tensor;
  /** Extra inputs (attention masks, …). */
  inputs?: Record<string, tf.Tensor>;
  subjects: string[];
  sessions: (string | null)[];
  /** Every metadata column of the samples. */
  meta: Record<string, MetaValue[]>;
  size: number;
}

export interface EmbedSource {
  readonly size: number;
  readonly inputShape: number[];
  readonly columns: Record<string, 'number' | 'string'>;
  /** The modality name written to embedding tables (`T1w`, `report`, …). */
  readonly modality: string;
  /** Where the samples came from (manifest path), for table metadata. */
  readonly origin: string | null;
  batches(): AsyncIterable<EmbedBatch>;
  /**
   * The same samples as V augmented views (for the alignment metric); null when the modality has no
   * augmentation configured.
   */
  views?(count: number, seed: number): AsyncIterable<EmbedBatch[]> | null;
  close(): Promise<void>;
}

export interface OpenTrainOptions {
  batchSize: number;
  seed: number;
}

export interface OpenEmbedOptions {
  batchSize?: number;
}

export interface DataModality {
  summary: string;
  /** Validates and completes the `data` section (without `modality`); paths are resolved against `baseDir`. */
  resolve(section: Obj, field: string, baseDir: string): Obj;
  openTrain(data: Obj, opts: OpenTrainOptions): Promise<TrainDataSource>;
  /** Samples of `data` (or of another location with the same preprocessing, e.g. `geoclr embed --data`). */
  openEmbed(data: Obj, opts?: OpenEmbedOptions): Promise<EmbedSource>;
}

const MODALITIES = new Map<string, DataModality>();

export function registerDataModality(name: string, def: DataModality): void {
  MODALITIES.set(name, def);
}

export function dataModality(name: string): DataModality {
  const def = MODALITIES.get(name);
  if (def == null) {
    const known = [...MODALITIES.keys()];
    throw new ConfigError('data.modality', `unknown modality '${name}'; expected one of ${known.join(', ') || '(none registered: import the modality wiring first)'}`);
  }
  return def;
}

/** Validates a config's data section through its modality. */
export function resolveDataConfig(raw: unknown, baseDir: string, field = 'data'): Obj {
  const section = object(raw, field);
  const modality = string(section.modality, `${field}.modality`);
  const { modality: _m, ...rest } = section;
  return { modality, ...dataModality(modality).resolve(rest, field, baseDir) };
}

// --- in-memory data ---------------------------------------------------------------------------------------------

export interface ArrayDataOptions {
  /** Samples, each `inputShape` values (channels last), concatenated. */
  data: Float32Array;
  inputShape: number[];
  /** Metadata columns, one value per sample. */
  meta?: Record<string, MetaValue[]>;
  ids?: string[];
  batchSize: number;
  /** Views per sample (default 2). */
  views?: number;
  /** A seeded augmentation of one sample (a copy; default identity: all views equal). */
  augment?: (sample: Float32Array, rng: Rng) => Float32Array;
  seed?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Drop a smaller last batch (default true: contrastive objectives want full batches). */
  dropLast?: boolean;
}

/**
 * A `TrainDataSource` over arrays in memory (2D images, features, tests): seeded shuffling per epoch and seeded
 * per-(epoch, sample, view) augmentation, so any epoch can start at any batch and give the same batches.
 */
export class ArrayDataSource implements TrainDataSource {
  readonly size: number;
  readonly inputShape: number[];
  readonly columns: Record<string, 'number' | 'string'> = {};
  private readonly frame: number;
  private readonly batchSize: number;
  private readonly views: number;
  private readonly seed: number;

  constructor(private readonly opts: ArrayDataOptions) {
    this.inputShape = [...opts.inputShape];
    this.frame = opts.inputShape.reduce((a, b) => a * b, 1);
    if (!(this.frame > 0) || opts.data.length % this.frame !== 0) {
      throw new ConfigError('data', `${opts.data.length} values are not a whole number of samples of shape [${opts.inputShape}]`);
    }
    this.size = opts.data.length / this.frame;
    if (this.size === 0) throw new ConfigError('data', 'is empty (no samples)');
    this.batchSize = opts.batchSize;
    this.views = opts.views ?? 2;
    this.seed = opts.seed ?? 0;
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1)) throw new ConfigError('batchSize', `must be an integer ≥ 1, got ${this.batchSize}`);
    if ((opts.dropLast ?? true) && this.batchSize > this.size) {
      throw new ConfigError('batchSize', `${this.batchSize} is larger than the ${this.size} training samples; lower it to at most ${this.size}`);
    }
    for (const [name, values] of Object.entries(opts.meta ?? {})) {
      if (values.length !== this.size) throw new ConfigError(`data.meta.${name}`, `has ${values.length} values for ${this.size} samples`);
      this.columns[name] = values.every((v) => v == null || typeof v === 'number') ? 'number' : 'string';
    }
  }

  get batchesPerEpoch(): number {
    return (this.opts.dropLast ?? true) ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  columnValues(name: string): MetaValue[] {
    const v = this.opts.meta?.[name];
    if (v == null) throw new ConfigError('data', `no metadata column '${name}'`);
    return [...v];
  }

  /** Sample indices of each batch of an epoch. */
  epochPlan(epoch: number): number[][] {
    const order = (this.opts.shuffle ?? true) ? new Rng(`${this.seed}/order/${epoch}`).permutation(this.size) : Array.from({ length: this.size }, (_, i) => i);
    const plan: number[][] = [];
    for (let b = 0; b < this.batchesPerEpoch; b++) plan.push(order.slice(b * this.batchSize, (b + 1) * this.batchSize));
    return plan;
  }

  async *batches(epoch: number, start = 0): AsyncGenerator<TrainBatch> {
    const plan = this.epochPlan(epoch);
    for (let b = start; b < plan.length; b++) yield this.batch(plan[b], epoch, b);
  }

  private batch(indices: number[], epoch: number, index: number): TrainBatch {
    const n = indices.length;
    const views: tf.Tensor[] = [];
    for (let v = 0; v < this.views; v++) {
      const out = new Float32Array(n * this.frame);
      indices.forEach((i, j) => {
        const sample = this.opts.data.subarray(i * this.frame, (i + 1) * this.frame);
        out.set(this.opts.augment ? this.opts.augment(sample, new Rng(hashString(`${this.seed}/${epoch}/${i}/${v}`))) : sample, j * this.frame);
      });
      views.push(tf.tensor(out, [n, ...this.inputShape]));
    }
    const meta: Record<string, MetaValue[]> = {};
    for (const [name, values] of Object.entries(this.opts.meta ?? {})) meta[name] = indices.map((i) => values[i]);
    return { views, meta, ids: indices.map((i) => this.opts.ids?.[i] ?? String(i)), size: n, index };
  }

  async close(): Promise<void> {}
}
