/**
 * The `mri` data modality of training configs: a cohort manifest (BIDS folder, CSV/TSV or Arrow) read by
 * geoclr/mri's `readManifest`, volumes preprocessed and augmented in worker threads by `CohortLoader`.
 *
 * ```yaml
 * data:
 *   modality: mri
 *   manifest: cohort/manifest.tsv     # or a BIDS / synth folder
 *   filter: {split: train}            # keep rows whose column equals the value (or one of a list)
 *   preprocess: {shape: [32, 40, 32], normalize: zscore-nonzero}   # shape [X, Y, Z] is required
 *   augment: yaware                   # yaware | none | a list of transform specs
 *   views: 2
 *   workers: 1
 *   cache: true
 *   onBadFile: fatal                  # or skip
 * ```
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/tf.js';
import { ConfigError } from '../../src/errors.js';
import {
  boolean,
  checkKeys,
  number,
  numberList,
  object,
  oneOfValues,
  string,
  type Obj,
} from '../../src/train/schema.js';
import { registerDataModality, type EmbedBatch, type EmbedSource } from '../../src/train/data.js';
import type { MetaValue, TrainBatch, TrainDataSource } from '../../src/train/types.js';
import {
  CohortLoader,
  NORMALIZATIONS,
  readManifest,
  yAwareAugmentations,
  type AugmentSpec,
  type Batch,
  type Manifest,
  type ManifestRow,
  type PreprocessSpec,
} from '../../modalities/mri/index.js';

export interface MriDataConfig {
  manifest: string;
  filter: Record<string, (string | number)[]> | null;
  preprocess: PreprocessSpec & { shape: number[] };
  augment: AugmentSpec[];
  /** The augmentation as written in the config ('yaware', 'none' or 'custom'). */
  augmentName: string;
  views: number;
  workers: number;
  cache: boolean;
  onBadFile: 'fatal' | 'skip';
  types: Record<string, 'number' | 'string' | 'boolean'>;
}

const KEYS = ['manifest', 'cohort', 'filter', 'preprocess', 'augment', 'views', 'workers', 'cache', 'onBadFile', 'types'];

function resolvePreprocess(raw: unknown, field: string): PreprocessSpec & { shape: number[] } {
  const o = object(raw, field, true);
  checkKeys(o, ['canonical', 'spacing', 'shape', 'crop', 'antialias', 'clip', 'normalize'], field);
  if (o.shape === undefined) {
    throw new ConfigError(`${field}.shape`, 'is required: the grid [X, Y, Z] every volume is resampled to (e.g. [32, 40, 32]), so that volumes batch together');
  }
  const shape = numberList(o.shape, `${field}.shape`, 3, { min: 1, integer: true });
  const out: PreprocessSpec & { shape: number[] } = { shape };
  if (o.canonical !== undefined) out.canonical = boolean(o.canonical, `${field}.canonical`, true);
  if (o.antialias !== undefined) out.antialias = boolean(o.antialias, `${field}.antialias`, true);
  if (o.spacing !== undefined) out.spacing = typeof o.spacing === 'number' ? number(o.spacing, `${field}.spacing`, undefined, { min: 0, exclusiveMin: true }) : numberList(o.spacing, `${field}.spacing`, 3, { min: 0, exclusiveMin: true });
  if (o.crop !== undefined) out.crop = oneOfValues(o.crop, `${field}.crop`, ['center', 'mask'] as const);
  if (o.clip !== undefined) out.clip = numberList(o.clip, `${field}.clip`, 2, { min: 0, max: 100 }) as [number, number];
  out.normalize = oneOfValues(o.normalize, `${field}.normalize`, NORMALIZATIONS, 'zscore-nonzero');
  return out;
}

function resolveAugment(raw: unknown, field: string): { specs: AugmentSpec[]; name: string } {
  if (raw === undefined || raw === 'yaware') return { specs: yAwareAugmentations(), name: 'yaware' };
  if (raw === 'none' || raw === null || raw === false) return { specs: [], name: 'none' };
  if (!Array.isArray(raw)) throw new ConfigError(field, `must be 'yaware', 'none' or a list of transform specs ({type: flip, axes: [0]}, …), got ${JSON.stringify(raw)}`);
  raw.forEach((s, i) => object(s, `${field}[${i}]`));
  return { specs: raw as AugmentSpec[], name: 'custom' };
}

export function resolveMriData(section: Obj, field: string, baseDir: string): MriDataConfig {
  checkKeys(section, KEYS, field);
  if (section.manifest !== undefined && section.cohort !== undefined) throw new ConfigError(`${field}.cohort`, 'give manifest or cohort, not both');
  const key = section.manifest !== undefined ? 'manifest' : 'cohort';
  if (section[key] === undefined) throw new ConfigError(`${field}.manifest`, 'is required: a cohort folder (BIDS or geoclr synth output) or a manifest file (.tsv, .csv, .arrow)');
  const manifest = path.resolve(baseDir, string(section[key], `${field}.${key}`));
  if (!existsSync(manifest)) throw new ConfigError(`${field}.${key}`, `no such file or folder: ${manifest}`);
  let filter: MriDataConfig['filter'] = null;
  if (section.filter != null) {
    const f = object(section.filter, `${field}.filter`);
    filter = {};
    for (const [col, v] of Object.entries(f)) {
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0 || list.some((e) => typeof e !== 'string' && typeof e !== 'number')) {
        throw new ConfigError(`${field}.filter.${col}`, `must be a value or a list of values (strings or numbers), got ${JSON.stringify(v)}`);
      }
      filter[col] = list as (string | number)[];
    }
  }
  const augment = resolveAugment(section.augment, `${field}.augment`);
  const types: MriDataConfig['types'] = {};
  for (const [col, t] of Object.entries(object(section.types, `${field}.types`, true))) {
    types[col] = oneOfValues(t, `${field}.types.${col}`, ['number', 'string', 'boolean'] as const);
  }
  return {
    manifest,
    filter,
    preprocess: resolvePreprocess(section.preprocess, `${field}.preprocess`),
    augment: augment.specs,
    augmentName: augment.name,
    views: number(section.views, `${field}.views`, 2, { min: 1, max: 16, integer: true }),
    workers: number(section.workers, `${field}.workers`, 1, { min: 0, max: 16, integer: true }),
    cache: boolean(section.cache, `${field}.cache`, true),
    onBadFile: oneOfValues(section.onBadFile, `${field}.onBadFile`, ['fatal', 'skip'] as const, 'fatal'),
    types,
  };
}

/** Reads the manifest and applies the filter; an empty result is a ConfigError naming the file. */
export async function loadRows(cfg: MriDataConfig): Promise<{ manifest: Manifest; rows: ManifestRow[] }> {
  const manifest = await readManifest(cfg.manifest, { types: cfg.types });
  let rows = manifest.rows;
  if (cfg.filter) {
    for (const [col, values] of Object.entries(cfg.filter)) {
      if (!(col in manifest.columns)) throw new ConfigError(`data.filter.${col}`, `no column '${col}' in ${cfg.manifest}; columns are ${Object.keys(manifest.columns).join(', ')}`);
      rows = rows.filter((r) => values.some((v) => r[col] === v || String(r[col]) === String(v)));
    }
  }
  if (rows.length === 0) {
    throw new ConfigError('data.manifest', `${cfg.manifest} has no scans${cfg.filter ? ` matching the filter ${JSON.stringify(cfg.filter)}` : ''}: the cohort is empty`);
  }
  return { manifest, rows };
}

export function columnKinds(manifest: Manifest): Record<string, 'number' | 'string'> {
  const out: Record<string, 'number' | 'string'> = {};
  for (const [c, t] of Object.entries(manifest.columns)) if (c !== 'path') out[c] = t === 'number' ? 'number' : 'string';
  out.subject_id = 'string';
  return out;
}

export function metaValue(v: unknown): MetaValue {
  if (v == null) return null;
  if (typeof v === 'boolean') return String(v);
  return v as number | string;
}

export function batchMeta(rows: ManifestRow[], columns: string[]): Record<string, MetaValue[]> {
  const meta: Record<string, MetaValue[]> = {};
  for (const c of columns) meta[c] = rows.map((r) => metaValue(r[c]));
  return meta;
}

/** `[X, Y, Z]` preprocessing grid → channels-last tensor shape `[D, H, W, 1]` (D = Z). */
export function mriInputShape(shape: number[]): number[] {
  return [shape[2], shape[1], shape[0], 1];
}

export function volumes(batch: Batch): tf.Tensor[] {
  const [b, d, h, w] = batch.shape;
  return batch.views.map((v) => tf.tensor5d(v, [b, d, h, w, 1], 'float32'));
}

/** The loader options a training stream takes from the data config (views, preprocessing, augmentation, workers…). */
export function streamOptions(cfg: MriDataConfig): Pick<MriDataConfig, 'views' | 'preprocess' | 'augment' | 'workers' | 'cache' | 'onBadFile'> {
  return { views: cfg.views, preprocess: cfg.preprocess, augment: cfg.augment, workers: cfg.workers, cache: cfg.cache, onBadFile: cfg.onBadFile };
}

function describe(cfg: MriDataConfig, size: number): Record<string, unknown> {
  return { modality: 'mri', manifest: cfg.manifest, filter: cfg.filter, samples: size, preprocess: cfg.preprocess, augment: cfg.augmentName, views: cfg.views };
}

/** Keeps some of the manifest's rows (e.g. the sessions that have a report); the default keeps all. */
export type RowSelection = (rows: ManifestRow[]) => ManifestRow[];

export async function openMriTrain(data: Obj, opts: { batchSize: number; seed: number; select?: RowSelection }): Promise<TrainDataSource> {
  const cfg = data as unknown as MriDataConfig;
  const loaded = await loadRows(cfg);
  const manifest = loaded.manifest;
  const rows = opts.select ? opts.select(loaded.rows) : loaded.rows;
  if (opts.batchSize > rows.length) {
    throw new ConfigError('batchSize', `${opts.batchSize} is larger than the ${rows.length} training scans in ${cfg.manifest}; lower it to at most ${rows.length}`);
  }
  const columns = columnKinds(manifest);
  const names = Object.keys(columns);
  const loader = new CohortLoader(rows, { batchSize: opts.batchSize, ...streamOptions(cfg), seed: opts.seed, shuffle: true, dropLast: true });
  return {
    size: rows.length,
    inputShape: mriInputShape(cfg.preprocess.shape),
    columns,
    get batchesPerEpoch() {
      return loader.batchesPerEpoch;
    },
    columnValues: (name) => rows.map((r) => metaValue(r[name])),
    async *batches(epoch: number, start: number): AsyncGenerator<TrainBatch> {
      for await (const b of loader.batches(epoch, start)) {
        yield { views: volumes(b), meta: batchMeta(b.rows, names), ids: b.rows.map((r) => `${r.subject_id}${r.session_id ? `/${r.session_id}` : ''}`), size: b.rows.length, index: b.index };
      }
    },
    close: () => loader.close(),
    describe: () => describe(cfg, rows.length),
  };
}

function embedBatch(b: Batch, view: number, names: string[]): EmbedBatch {
  const [n, d, h, w] = b.shape;
  return {
    input: tf.tensor5d(b.views[view], [n, d, h, w, 1], 'float32'),
    subjects: b.rows.map((r) => r.subject_id),
    sessions: b.rows.map((r) => r.session_id),
    meta: batchMeta(b.rows, names),
    size: n,
  };
}

export async function openMriEmbed(data: Obj, opts: { batchSize?: number; select?: RowSelection } = {}): Promise<EmbedSource> {
  const cfg = data as unknown as MriDataConfig;
  const loaded = await loadRows(cfg);
  const manifest = loaded.manifest;
  const rows = opts.select ? opts.select(loaded.rows) : loaded.rows;
  const names = Object.keys(columnKinds(manifest)).filter((c) => c !== 'subject_id' && c !== 'session_id');
  const batchSize = opts.batchSize ?? 16;
  const loaders: CohortLoader[] = [];
  const plain = (views: number, augment: AugmentSpec[], seed: number) => {
    const l = new CohortLoader(rows, { batchSize, views, preprocess: cfg.preprocess, augment, workers: cfg.workers, seed, shuffle: false, dropLast: false, onBadFile: cfg.onBadFile });
    loaders.push(l);
    return l;
  };
  return {
    size: rows.length,
    inputShape: mriInputShape(cfg.preprocess.shape),
    columns: columnKinds(manifest),
    modality: 'T1w',
    origin: cfg.manifest,
    async *batches() {
      for await (const b of plain(1, [], 0).batches(0)) yield embedBatch(b, 0, names);
    },
    views(count: number, seed: number) {
      if (cfg.augment.length === 0) return null;
      const loader = plain(count, cfg.augment, seed);
      return (async function* () {
        for await (const b of loader.batches(0)) yield Array.from({ length: count }, (_, v) => embedBatch(b, v, names));
      })();
    },
    close: async () => {
      await Promise.all(loaders.map((l) => l.close()));
    },
  };
}

registerDataModality('mri', {
  summary: 'T1 volumes from a cohort manifest or BIDS folder (geoclr/mri), augmented in worker threads',
  resolve: (section, field, baseDir) => resolveMriData(section, field, baseDir) as unknown as Obj,
  openTrain: openMriTrain,
  openEmbed: openMriEmbed,
});
export { KEYS as MRI_DATA_KEYS };
