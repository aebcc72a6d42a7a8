/**
 * The `mri-longitudinal` data modality: the `mri` modality's cohort, preprocessing and augmentation, with
 * batches of P subjects × K visits (`SubjectBatchLoader`, geoclr/longitudinal) and a `visit_years` column (each
 * visit's time in years, from the cohort's time column: years, months, days or ISO dates). P = batchSize / K.
 * The cohort is validated as a longitudinal one before training (ordered, unique times; files present).
 *
 * ```yaml
 * data:
 *   modality: mri-longitudinal
 *   manifest: cohort/                 # BIDS / synth folder or manifest file, as for `mri`
 *   time: time_years                  # or age, or {column: acq_date, unit: date}
 *   visitsPerSubject: 2               # K
 *   includeSingleVisit: false         # single-visit subjects only help cross-sectional terms
 *   preprocess: {shape: [24, 28, 24]}
 *   augment: yaware
 * batchSize: 16                       # P = 8 subjects per batch
 * ```
 */
import { ConfigError } from '../../src/errors.js';
import { registerDataModality } from '../../src/train/data.js';
import { boolean, checkKeys, number, object, oneOfValues, string, type Obj } from '../../src/train/schema.js';
import type { MetaValue, TrainBatch, TrainDataSource } from '../../src/train/types.js';
import { TIME_COLUMN } from '../../src/longitudinal/task.js';
import { longitudinalCohort, SubjectBatchLoader, type TimeSpec, type TimeUnit } from '../../modalities/longitudinal/index.js';
import { batchMeta, columnKinds, loadRows, metaValue, MRI_DATA_KEYS, mriInputShape, openMriEmbed, resolveMriData, streamOptions, volumes, type MriDataConfig } from './mri.js';

const OWN_KEYS = ['time', 'visitsPerSubject', 'includeSingleVisit', 'order'];

export interface LongitudinalDataConfig extends MriDataConfig {
  time: TimeSpec | null;
  visitsPerSubject: number;
  includeSingleVisit: boolean;
  order: 'visit' | 'listed' | 'time' | null;
}

function resolveTime(raw: unknown, field: string): TimeSpec | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string') return { column: string(raw, field) };
  const o = object(raw, field);
  checkKeys(o, ['column', 'unit'], field);
  const column = string(o.column, `${field}.column`);
  if (o.unit === undefined) return { column };
  return { column, unit: oneOfValues<TimeUnit>(o.unit, `${field}.unit`, ['years', 'months', 'days', 'date']) };
}

export function resolveLongitudinalData(section: Obj, field: string, baseDir: string): LongitudinalDataConfig {
  checkKeys(section, [...MRI_DATA_KEYS, ...OWN_KEYS], field);
  const mriPart: Obj = {};
  for (const [k, v] of Object.entries(section)) if (!OWN_KEYS.includes(k)) mriPart[k] = v;
  const mri = resolveMriData(mriPart, field, baseDir);
  const order = section.order === undefined ? null : oneOfValues(section.order, `${field}.order`, ['visit', 'listed', 'time'] as const);
  return {
    ...mri,
    time: resolveTime(section.time, `${field}.time`),
    visitsPerSubject: number(section.visitsPerSubject, `${field}.visitsPerSubject`, 2, { min: 1, integer: true }),
    includeSingleVisit: boolean(section.includeSingleVisit, `${field}.includeSingleVisit`, false),
    order,
  };
}

export async function openLongitudinalTrain(data: Obj, opts: { batchSize: number; seed: number }): Promise<TrainDataSource> {
  const cfg = data as unknown as LongitudinalDataConfig;
  const { manifest, rows } = await loadRows(cfg);
  const K = cfg.visitsPerSubject;
  if (opts.batchSize % K !== 0) {
    throw new ConfigError('batchSize', `${opts.batchSize} is not a multiple of data.visitsPerSubject (${K}): a batch holds P subjects × ${K} visits`);
  }
  const cohort = longitudinalCohort(rows.length === manifest.rows.length ? manifest : { ...manifest, rows }, {
    source: cfg.manifest,
    ...(cfg.time ? { time: cfg.time } : {}),
    ...(cfg.order ? { order: cfg.order } : {}),
    onMissingFile: cfg.onBadFile === 'skip' ? 'skip' : 'fatal',
  });
  const loader = new SubjectBatchLoader(cohort, {
    subjectsPerBatch: opts.batchSize / K,
    visitsPerSubject: K,
    includeSingleVisit: cfg.includeSingleVisit,
    ...streamOptions(cfg),
    seed: opts.seed,
  });
  const columns = { ...columnKinds(cohort.manifest), [TIME_COLUMN]: 'number' as const };
  const names = Object.keys(columns).filter((c) => c !== TIME_COLUMN);
  const timeOf = new Map(cohort.visits.map((v) => [v.row, v.time]));
  return {
    size: cohort.rows.length,
    inputShape: mriInputShape(cfg.preprocess.shape),
    columns,
    get batchesPerEpoch() {
      return loader.batchesPerEpoch;
    },
    columnValues: (name): MetaValue[] => cohort.rows.map((r) => (name === TIME_COLUMN ? (timeOf.get(r) ?? null) : metaValue(r[name]))),
    async *batches(epoch: number, start: number): AsyncGenerator<TrainBatch> {
      for await (const b of loader.batches(epoch, start)) {
        const meta = batchMeta(b.rows, names);
        meta[TIME_COLUMN] = b.rows.map((r) => timeOf.get(r) ?? null);
        yield { views: volumes(b), meta, ids: b.rows.map((r) => `${r.subject_id}${r.session_id ? `/${r.session_id}` : ''}`), size: b.rows.length, index: b.index };
      }
    },
    close: () => loader.close(),
    describe: () => ({
      modality: 'mri-longitudinal',
      manifest: cfg.manifest,
      filter: cfg.filter,
      samples: cohort.rows.length,
      cohort: cohort.describe(),
      time: cohort.timeColumn,
      sampler: { subjectsPerBatch: opts.batchSize / K, visitsPerSubject: K, includeSingleVisit: cfg.includeSingleVisit },
      preprocess: cfg.preprocess,
      augment: cfg.augmentName,
      views: cfg.views,
    }),
  };
}

registerDataModality('mri-longitudinal', {
  summary: 'the mri modality with batches of P subjects × K visits and a visit_years column (geoclr/longitudinal)',
  resolve: (section, field, baseDir) => resolveLongitudinalData(section, field, baseDir) as unknown as Obj,
  openTrain: openLongitudinalTrain,
  openEmbed: (data, opts) => openMriEmbed(data, opts),
});
