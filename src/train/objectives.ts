/**
 * The objective registry: config names → the library's objective functions with their options, as weighted
 * terms of a training loss. A term acts on the projections (contrastive objectives) or on the representations
 * (FairKL, as the paper applies it to encoder features) of the V views, and reads the metadata columns it
 * needs from the batch (kernel attributes, class labels, bias labels).
 *
 * ```yaml
 * objectives:
 *   - {name: yaware, temperature: 0.1, metadata: [age, sex], kernel: {type: product, factors: [{type: rbf, sigma: 5}, {type: delta}]}}
 *   - {name: fairkl, weight: 0.5, labels: {column: age, bins: [45, 65]}, bias: site}
 * ```
 *
 * Later tasks register their own (`registerObjective('clip', …)`); a definition validates its options up front,
 * so a config error surfaces before any data is read.
 */
import * as tf from '../tf.js';
import { ConfigError, ValueError } from '../errors.js';
import { kernelFromSpec, type Kernel, type KernelSpec } from '../kernels/kernels.js';
import type { Labels, Metadata } from '../kernels/metadata.js';
import { alignment, uniformity } from '../losses/alignment-uniformity.js';
import { decoupledUniformity } from '../losses/decoupled-uniformity.js';
import { epsilonSupInfoNCE } from '../losses/epsilon-supinfonce.js';
import { fairKL } from '../losses/fairkl.js';
import { infoNCE } from '../losses/infonce.js';
import { supCon } from '../losses/supcon.js';
import { yAwareInfoNCE } from '../losses/yaware.js';
import { checkKeys, number, numberList, object, oneOfValues, optionalNumber, string, stringList, type Obj } from './schema.js';
import type { TrainBatch } from './types.js';

export type EmbeddingKind = 'projection' | 'representation';

/** What the definitions may ask about the training data while validating. */
export interface DataInfo {
  /** Column name → kind; absent while a config is checked before any data is opened (no column checks then). */
  columns?: Record<string, 'number' | 'string'>;
}

/** A built term: its value from the V views' embeddings and the batch. */
export interface ObjectiveTerm {
  /** Key in logs (`terms.<key>`): the config's `label`, else the objective name (suffixed when repeated). */
  key: string;
  name: string;
  weight: number;
  on: EmbeddingKind;
  /** Metadata columns read from each batch. */
  columns: string[];
  compute(views: tf.Tensor2D[], batch: TrainBatch): tf.Scalar;
  /** The objective and its hyper-parameters, for weight-file and table metadata. */
  spec: { name: string } & Record<string, unknown>;
}

export interface ObjectiveDefinition {
  /** One line for docs and errors. */
  summary: string;
  /** Option keys besides the common `name`, `weight`, `on`, `label`. */
  keys: readonly string[];
  /** Default embedding the term acts on. */
  on: EmbeddingKind;
  /** Validates the options and returns the term's computation. */
  build(options: Obj, field: string, data: DataInfo): Pick<ObjectiveTerm, 'columns' | 'compute' | 'spec'>;
}

const REGISTRY = new Map<string, ObjectiveDefinition>();

/** Adds (or replaces) an objective under a config name. */
export function registerObjective(name: string, def: ObjectiveDefinition): void {
  REGISTRY.set(name, def);
}

export function objectiveNames(): string[] {
  return [...REGISTRY.keys()];
}

export function objectiveDefinition(name: string): ObjectiveDefinition | undefined {
  return REGISTRY.get(name);
}

const COMMON_KEYS = ['name', 'weight', 'on', 'label'] as const;

/** Validates one objective entry of a config and builds its term. */
export function buildObjective(raw: unknown, field: string, data: DataInfo): ObjectiveTerm {
  const o = object(raw, field);
  const name = string(o.name, `${field}.name`);
  const def = REGISTRY.get(name);
  if (def == null) throw new ConfigError(`${field}.name`, `unknown objective '${name}'; expected one of ${objectiveNames().join(', ')}`);
  checkKeys(o, [...COMMON_KEYS, ...def.keys], field);
  const weight = number(o.weight, `${field}.weight`, 1, { min: 0 });
  const on = oneOfValues<EmbeddingKind>(o.on, `${field}.on`, ['projection', 'representation'], def.on);
  const label = o.label === undefined ? name : string(o.label, `${field}.label`);
  const options: Obj = {};
  for (const k of def.keys) if (o[k] !== undefined) options[k] = o[k];
  const built = def.build(options, field, data);
  return { key: label, name, weight, on, ...built, spec: { ...built.spec, weight, on } };
}

/** Builds a list of objective entries; log keys are made unique (`fairkl`, `fairkl_2`). */
export function buildObjectives(raw: unknown, field: string, data: DataInfo): ObjectiveTerm[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ConfigError(field, `must be a non-empty list of objectives, e.g. [{name: infonce, temperature: 0.1}]; available: ${objectiveNames().join(', ')}`);
  }
  const terms = raw.map((r, i) => buildObjective(r, `${field}[${i}]`, data));
  const seen = new Map<string, number>();
  for (const t of terms) {
    const n = (seen.get(t.key) ?? 0) + 1;
    seen.set(t.key, n);
    if (n > 1) t.key = `${t.key}_${n}`;
  }
  return terms;
}

// --- metadata helpers -----------------------------------------------------------------------------------------

function checkColumn(name: string, field: string, data: DataInfo, kind?: 'number'): void {
  if (data.columns == null) return;
  const have = data.columns[name];
  if (have == null) {
    throw new ConfigError(field, `no metadata column '${name}' in the training data; columns are ${Object.keys(data.columns).join(', ') || '(none)'}`);
  }
  if (kind === 'number' && have !== 'number') throw new ConfigError(field, `column '${name}' holds categories (strings); a numeric column is needed here`);
}

/** A batch column without missing values. */
function columnOf(batch: TrainBatch, name: string): (number | string)[] {
  const values = batch.meta[name];
  if (values == null) throw new ValueError(`batch has no metadata column '${name}'`);
  const i = values.findIndex((v) => v == null || (typeof v === 'number' && !Number.isFinite(v)));
  if (i >= 0) throw new ValueError(`metadata column '${name}' is missing for sample ${batch.ids[i] ?? i}; objectives need a value for every training sample`);
  return values as (number | string)[];
}

/** Class labels from a column, optionally binned: `diagnosis`, or `{column: age, bins: [45, 65]}` (3 bins). */
interface LabelSpec {
  column: string;
  bins?: number[];
}

function labelSpec(v: unknown, field: string, data: DataInfo): LabelSpec {
  if (typeof v === 'string') {
    checkColumn(v, field, data);
    return { column: v };
  }
  const o = object(v, field);
  checkKeys(o, ['column', 'bins'], field);
  const column = string(o.column, `${field}.column`);
  if (o.bins === undefined) {
    checkColumn(column, `${field}.column`, data);
    return { column };
  }
  checkColumn(column, `${field}.column`, data, 'number');
  const bins = numberList(o.bins, `${field}.bins`);
  if (bins.some((b, i) => i > 0 && b <= bins[i - 1])) throw new ConfigError(`${field}.bins`, `bin edges must increase, got ${JSON.stringify(bins)}`);
  return { column, bins };
}

function labelsOf(spec: LabelSpec, batch: TrainBatch): Labels {
  const values = columnOf(batch, spec.column);
  if (spec.bins == null) return values;
  const edges = spec.bins;
  return values.map((v) => {
    let k = 0;
    while (k < edges.length && (v as number) >= edges[k]) k++;
    return k;
  });
}

function describeLabels(spec: LabelSpec): unknown {
  return spec.bins ? { column: spec.column, bins: spec.bins } : spec.column;
}

/** Kernel attributes: `metadata: [age, sex]` with a kernel spec whose factors match the columns (also used by the image-text task). */
export function kernelSpecOf(o: Obj, field: string, data: DataInfo, dflt: { metadata: string[]; kernel: KernelSpec }): { metadata: string[]; kernel: Kernel; spec: KernelSpec } {
  const metadata = stringList(o.metadata, `${field}.metadata`, dflt.metadata);
  metadata.forEach((c, i) => checkColumn(c, `${field}.metadata[${i}]`, data));
  const spec = (o.kernel === undefined ? dflt.kernel : object(o.kernel, `${field}.kernel`)) as KernelSpec;
  let kernel: Kernel;
  try {
    kernel = kernelFromSpec(spec, `${field}.kernel`);
  } catch (e) {
    if (e instanceof ValueError) throw new ConfigError(`${field}.kernel`, e.message);
    throw e;
  }
  // rbf/delta/cosine read every listed column together; product and longitudinal kernels a fixed number.
  if (kernel.columns != null && kernel.columns !== metadata.length) {
    throw new ConfigError(`${field}.kernel`, `${kernel.name} reads ${kernel.columns} column(s) but metadata lists ${metadata.length} (${metadata.join(', ')}); give one kernel factor per column`);
  }
  const numericOnly = (s: KernelSpec): boolean => s.type === 'rbf' || s.type === 'cosine';
  const factors = spec.type === 'product' ? spec.factors : metadata.map(() => spec);
  factors.forEach((f, i) => {
    if (numericOnly(f) && metadata[i] != null && data.columns?.[metadata[i]] === 'string') {
      throw new ConfigError(`${field}.kernel`, `a ${f.type} kernel needs a numeric column but '${metadata[i]}' holds categories; use {type: delta} for it`);
    }
  });
  return { metadata, kernel, spec };
}

export function metadataRows(batch: TrainBatch, columns: string[]): Metadata {
  const cols = columns.map((c) => columnOf(batch, c));
  if (cols.length === 1) return cols[0];
  return Array.from({ length: batch.size }, (_, i) => cols.map((c) => c[i]));
}

/** Mean of a pairwise objective over every pair of views (i < j); one pair for two views. */
function overViewPairs(views: tf.Tensor2D[], f: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Scalar, what: string): tf.Scalar {
  if (views.length < 2) throw new ValueError(`${what} needs at least 2 views per sample (data.views), got ${views.length}`);
  if (views.length === 2) return f(views[0], views[1]);
  return tf.tidy(() => {
    const terms: tf.Scalar[] = [];
    for (let i = 0; i < views.length; i++) for (let j = i + 1; j < views.length; j++) terms.push(f(views[i], views[j]));
    return tf.div(tf.addN(terms), terms.length) as tf.Scalar;
  });
}

const temperatureOf = (o: Obj, field: string, dflt: number) => number(o.temperature, `${field}.temperature`, dflt, { min: 0, exclusiveMin: true });

// --- built-in objectives ------------------------------------------------------------------------------------------

registerObjective('infonce', {
  summary: 'InfoNCE / NT-Xent (SimCLR), LOSSES.md §1; mean over view pairs',
  keys: ['temperature'],
  on: 'projection',
  build(o, field) {
    const temperature = temperatureOf(o, field, 0.1);
    return {
      columns: [],
      compute: (views) => overViewPairs(views, (a, b) => infoNCE(a, b, { temperature }), 'infonce'),
      spec: { name: 'infonce', temperature },
    };
  },
});

registerObjective('yaware', {
  summary: 'y-Aware InfoNCE with a metadata kernel (Dufumier et al. 2021), LOSSES.md §5; mean over view pairs',
  keys: ['temperature', 'metadata', 'kernel'],
  on: 'projection',
  build(o, field, data) {
    const temperature = temperatureOf(o, field, 0.1);
    const { metadata, kernel, spec } = kernelSpecOf(o, field, data, { metadata: ['age'], kernel: { type: 'rbf', sigma: 5 } });
    return {
      columns: metadata,
      compute: (views, batch) => {
        const meta = metadataRows(batch, metadata);
        return overViewPairs(views, (a, b) => yAwareInfoNCE(a, b, meta, { temperature, kernel }), 'yaware');
      },
      spec: { name: 'y-aware-infonce', temperature, metadata, kernel: spec },
    };
  },
});

registerObjective('fairkl', {
  summary: 'FairKL debiasing (Barbano et al. 2023), LOSSES.md §4, on the representations, per view (mean over views)',
  keys: ['labels', 'bias', 'temperature', 'mode', 'kld', 'emptySets'],
  on: 'representation',
  build(o, field, data) {
    if (o.labels === undefined) throw new ConfigError(`${field}.labels`, "is required: the target classes, e.g. 'diagnosis' or {column: age, bins: [45, 65]}");
    if (o.bias === undefined) throw new ConfigError(`${field}.bias`, "is required: the bias (nuisance) column, e.g. 'site'");
    const labels = labelSpec(o.labels, `${field}.labels`, data);
    const bias = labelSpec(o.bias, `${field}.bias`, data);
    const temperature = temperatureOf(o, field, 1);
    const mode = oneOfValues(o.mode, `${field}.mode`, ['kl', 'moments'] as const, 'kl');
    const kld = number(o.kld, `${field}.kld`, 1, { min: 0 });
    const emptySets = oneOfValues(o.emptySets, `${field}.emptySets`, ['zero', 'error'] as const, 'zero');
    return {
      columns: [...new Set([labels.column, bias.column])],
      // Per view, then averaged: the two views of one scan are not a "same bias" pair of different subjects, and
      // counting them as one would tie every positive pair to augmentation-level similarity.
      compute: (views, batch) => {
        const y = labelsOf(labels, batch);
        const b = labelsOf(bias, batch);
        return tf.tidy(() => tf.div(tf.addN(views.map((v) => fairKL(v, y, b, { temperature, mode, kld, emptySets }))), views.length) as tf.Scalar);
      },
      spec: { name: 'fairkl', labels: describeLabels(labels), bias: describeLabels(bias), temperature, mode, kld },
    };
  },
});

registerObjective('supcon', {
  summary: 'Supervised contrastive loss (Khosla et al. 2020), LOSSES.md §2, over all views',
  keys: ['labels', 'temperature', 'baseTemperature'],
  on: 'projection',
  build(o, field, data) {
    if (o.labels === undefined) throw new ConfigError(`${field}.labels`, 'is required: the class column (or {column, bins})');
    const labels = labelSpec(o.labels, `${field}.labels`, data);
    const temperature = temperatureOf(o, field, 0.1);
    const baseTemperature = number(o.baseTemperature, `${field}.baseTemperature`, temperature, { min: 0, exclusiveMin: true });
    return {
      columns: [labels.column],
      compute: (views, batch) => supCon(views, labelsOf(labels, batch), { temperature, baseTemperature }),
      spec: { name: 'supcon', labels: describeLabels(labels), temperature, baseTemperature },
    };
  },
});

registerObjective('epsilon-supinfonce', {
  summary: 'ε-SupInfoNCE / ε-SupCon (Barbano et al. 2023), LOSSES.md §3; labels: null for SimCLR with a margin',
  keys: ['labels', 'temperature', 'baseTemperature', 'epsilon', 'variant'],
  on: 'projection',
  build(o, field, data) {
    const labels = o.labels == null ? null : labelSpec(o.labels, `${field}.labels`, data);
    const temperature = temperatureOf(o, field, 0.1);
    const baseTemperature = number(o.baseTemperature, `${field}.baseTemperature`, temperature, { min: 0, exclusiveMin: true });
    const epsilon = number(o.epsilon, `${field}.epsilon`, 0, { min: 0 });
    const variant = oneOfValues(o.variant, `${field}.variant`, ['infonce', 'supcon'] as const, 'infonce');
    return {
      columns: labels ? [labels.column] : [],
      compute: (views, batch) => epsilonSupInfoNCE(views, labels ? labelsOf(labels, batch) : null, { temperature, baseTemperature, epsilon, variant }),
      spec: { name: 'epsilon-supinfonce', labels: labels ? describeLabels(labels) : null, temperature, baseTemperature, epsilon, variant },
    };
  },
});

registerObjective('decoupled-uniformity', {
  summary: 'Decoupled Uniformity, optionally with a kernel prior on metadata (Dufumier et al. 2023), LOSSES.md §6',
  keys: ['t', 'prior', 'kernel', 'lambda'],
  on: 'projection',
  build(o, field, data) {
    const t = number(o.t, `${field}.t`, 2, { min: 0, exclusiveMin: true });
    const lambda = optionalNumber(o.lambda, `${field}.lambda`, { min: 0, exclusiveMin: true });
    const prior = o.prior == null ? null : kernelSpecOf({ metadata: o.prior, kernel: o.kernel }, field, data, { metadata: [], kernel: { type: 'rbf', sigma: 5 } });
    return {
      columns: prior?.metadata ?? [],
      compute: (views, batch) =>
        decoupledUniformity(views, prior ? { t, lambda, prior: metadataRows(batch, prior.metadata), kernel: prior.kernel } : { t, lambda }),
      spec: { name: 'decoupled-uniformity', t, lambda: lambda ?? null, prior: prior ? { metadata: prior.metadata, kernel: prior.spec } : null },
    };
  },
});

registerObjective('alignment', {
  summary: 'Alignment of positive pairs (Wang & Isola 2020), LOSSES.md §7; mean over view pairs',
  keys: ['alpha'],
  on: 'projection',
  build(o, field) {
    const alpha = number(o.alpha, `${field}.alpha`, 2, { min: 0, exclusiveMin: true });
    return {
      columns: [],
      compute: (views) => overViewPairs(views, (a, b) => alignment(a, b, { alpha }), 'alignment'),
      spec: { name: 'alignment', alpha },
    };
  },
});

registerObjective('uniformity', {
  summary: 'Uniformity on the hypersphere (Wang & Isola 2020), LOSSES.md §7; mean over views',
  keys: ['t'],
  on: 'projection',
  build(o, field) {
    const t = number(o.t, `${field}.t`, 2, { min: 0, exclusiveMin: true });
    return {
      columns: [],
      compute: (views) => tf.tidy(() => tf.div(tf.addN(views.map((v) => uniformity(v, { t }))), views.length) as tf.Scalar),
      spec: { name: 'uniformity', t },
    };
  },
});
