/**
 * `evaluateEmbeddings`: the whole evaluation of a frozen representation in one call — cross-validated linear and
 * k-NN probes for each target, nuisance decodability, bias-conflicting accuracy, alignment/uniformity — returning
 * a JSON-able result with means and confidence intervals, and a flat `summary` for comparison tables.
 */
import { ConfigError, ShapeError } from '../errors.js';
import { biasAlignedMask, biasConflictScores, type BiasConflictResult } from './debias.js';
import { alignmentMetric, uniformityMetric } from './geometry.js';
import type { KnnOptions } from './knn.js';
import { take, takeRows, toMatrix, type MatrixLike } from './matrix.js';
import type { Label } from './metrics.js';
import { crossValidateProbe, type LinearProbeOptions, type MetricSummary, type ProbeKind, type Task } from './probe.js';

export interface TargetSpec {
  /** Default: inferred (`inferTask`). */
  task?: Task;
  /** The target's values; default `metadata[name]`. Missing values (null, '', NaN) drop the sample for this target. */
  values?: ArrayLike<unknown>;
  /** A nuisance (e.g. site): its decodability is reported, lower is better. */
  nuisance?: boolean;
  /** For a classification target: a bias variable (metadata column name) for aligned/conflicting accuracy. */
  bias?: string;
  /** Probes for this target (default: the evaluation's `probes`). */
  probes?: ProbeKind[];
}

export interface EvaluateOptions {
  embeddings: MatrixLike;
  /** Per-sample columns (age, sex, site, subject_id, split, ...). */
  metadata?: Record<string, ArrayLike<unknown>>;
  targets: Record<string, TargetSpec>;
  folds?: number;
  seed?: number;
  /** Group column name in `metadata`, or the group of each sample (e.g. subject id). */
  groups?: string | ArrayLike<string | number>;
  /**
   * A held-out split instead of k folds: a column name in `metadata` or per-sample values; rows marked 'train'
   * fit the probes, rows marked 'test' are scored, other rows are ignored.
   */
  split?: string | ArrayLike<string | null | undefined>;
  /** Default ['linear', 'knn']. */
  probes?: ProbeKind[];
  linear?: LinearProbeOptions;
  knn?: KnnOptions;
  /** Two augmented views of the same samples (row i ↔ row i) for the alignment metric. */
  views?: [MatrixLike, MatrixLike];
  /** Alignment/uniformity (default true). */
  geometry?: boolean;
  /** Bootstrap resamples per metric (default 1000; 0 disables). */
  bootstrap?: number;
  level?: number;
  /** Keep out-of-fold predictions in the result (default false). */
  includePredictions?: boolean;
}

export interface ProbeSummary {
  metrics: Record<string, MetricSummary>;
  baseline: Record<string, number>;
  hyper: { alpha?: number[]; C?: number[] };
  predictions?: { index: number[]; value: (number | string)[] };
}

export interface TargetResult {
  task: Task;
  nuisance: boolean;
  /** Samples used / dropped for a missing value. */
  n: number;
  dropped: number;
  classes?: (string | number)[];
  /** Chance balanced accuracy 1/K (classification). */
  chance?: number;
  probes: Partial<Record<ProbeKind, ProbeSummary>>;
  bias?: BiasConflictResult;
}

export interface EvaluationResult {
  n: number;
  dim: number;
  protocol: {
    folds: number | null;
    split: boolean;
    seed: number;
    groups: string | null;
    level: number;
    bootstrap: number;
  };
  targets: Record<string, TargetResult>;
  geometry: { alignment: number | null; uniformity: number | null };
  /**
   * Flat numbers for tables (fold means of the linear probe, k-NN with a `_knn` infix):
   * `<target>_mae|_r2|_spearman` for regression, `<target>_bacc|_auc|_acc` for classification, `align`, `unif`.
   */
  summary: Record<string, number | null>;
}

function isMissing(v: unknown): boolean {
  return v == null || v === '' || (typeof v === 'number' && !Number.isFinite(v));
}

/**
 * 'regression' when every value is a number (or numeric text) and there are more than 10 distinct values,
 * else 'classification'.
 */
export function inferTask(values: ArrayLike<unknown>): Task {
  const present = Array.from(values).filter((v) => !isMissing(v));
  const numeric = present.every((v) => typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))));
  return numeric && new Set(present.map(String)).size > 10 ? 'regression' : 'classification';
}

function column(opts: EvaluateOptions, name: string, field: string): ArrayLike<unknown> {
  const col = opts.metadata?.[name];
  if (col == null) {
    const have = Object.keys(opts.metadata ?? {});
    throw new ConfigError(field, `no metadata column '${name}'${have.length ? `; columns are ${have.join(', ')}` : ' (no metadata given)'}`);
  }
  return col;
}

const SUMMARY_KEYS: Record<Task, [string, string][]> = {
  regression: [
    ['mae', 'mae'],
    ['r2', 'r2'],
    ['spearman', 'spearman'],
  ],
  classification: [
    ['bacc', 'balanced_accuracy'],
    ['auc', 'roc_auc'],
    ['acc', 'accuracy'],
  ],
};

/** Labels compared as text, booleans as 0/1 (as `encodeLabels` does). */
function labelKey(v: Label): string {
  return String(typeof v === 'boolean' ? Number(v) : v);
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

export function evaluateEmbeddings(opts: EvaluateOptions): EvaluationResult {
  const X = toMatrix(opts.embeddings, 'embeddings');
  const n = X.rows;
  const seed = opts.seed ?? 0;
  const level = opts.level ?? 0.95;
  const bootstrap = opts.bootstrap ?? 1000;
  for (const [name, col] of Object.entries(opts.metadata ?? {})) {
    if (col.length !== n) throw new ShapeError(`metadata column '${name}' has ${col.length} values for ${n} embeddings`);
  }
  let groups: (string | number)[] | undefined;
  let groupName: string | null = null;
  if (typeof opts.groups === 'string') {
    groupName = opts.groups;
    groups = Array.from(column(opts, opts.groups, 'groups'), (v, i) => {
      if (isMissing(v)) throw new ConfigError('groups', `column '${opts.groups}' has no value for sample ${i}`);
      return v as string | number;
    });
  } else if (opts.groups != null) {
    if (opts.groups.length !== n) throw new ShapeError(`groups has ${opts.groups.length} values for ${n} embeddings`);
    groupName = 'given';
    groups = Array.from(opts.groups);
  }
  let splitOf: (string | null)[] | undefined;
  if (opts.split != null) {
    const col = typeof opts.split === 'string' ? column(opts, opts.split, 'split') : opts.split;
    if (col.length !== n) throw new ShapeError(`split has ${col.length} values for ${n} embeddings`);
    splitOf = Array.from(col, (v) => (v == null ? null : String(v)));
  }
  const defaultProbes = opts.probes ?? ['linear', 'knn'];
  if (Object.keys(opts.targets ?? {}).length === 0) throw new ConfigError('targets', 'give at least one target, e.g. {age: {task: "regression"}}');

  const targets: Record<string, TargetResult> = {};
  const summary: Record<string, number | null> = {};
  for (const [name, spec] of Object.entries(opts.targets)) {
    const raw = spec.values ?? column(opts, name, `targets.${name}`);
    if (raw.length !== n) throw new ShapeError(`target '${name}' has ${raw.length} values for ${n} embeddings`);
    const task = spec.task ?? inferTask(raw);
    if (task !== 'regression' && task !== 'classification') {
      throw new ConfigError(`targets.${name}.task`, `expected 'regression' or 'classification', got '${task}'`);
    }
    const keep: number[] = [];
    for (let i = 0; i < n; i++) {
      if (isMissing(raw[i])) continue;
      if (splitOf && splitOf[i] !== 'train' && splitOf[i] !== 'test') continue;
      keep.push(i);
    }
    const dropped = n - keep.length;
    const xs = takeRows(X, keep);
    const ys = take(raw, keep);
    const gs = groups ? take(groups, keep) : undefined;
    let split: { train: number[]; test: number[] } | undefined;
    if (splitOf) {
      split = { train: [], test: [] };
      keep.forEach((i, j) => (splitOf![i] === 'train' ? split!.train : split!.test).push(j));
      if (split.train.length === 0 || split.test.length === 0) {
        throw new ConfigError('split', `target '${name}': the split has ${split.train.length} 'train' and ${split.test.length} 'test' samples; both are needed`);
      }
    }
    const result: TargetResult = { task, nuisance: Boolean(spec.nuisance), n: keep.length, dropped, probes: {} };
    for (const kind of spec.probes ?? defaultProbes) {
      const r = crossValidateProbe(xs, ys, {
        task,
        probe: kind,
        folds: opts.folds,
        seed,
        groups: gs,
        split,
        linear: opts.linear,
        knn: opts.knn,
        bootstrap,
        level,
      });
      if (r.classes) {
        result.classes = r.classes;
        result.chance = 1 / r.classes.length;
      }
      const ps: ProbeSummary = { metrics: r.metrics, baseline: r.baseline, hyper: r.hyper };
      if (opts.includePredictions) ps.predictions = { index: Array.from(r.tested, (j) => keep[j]), value: r.predictions };
      result.probes[kind] = ps;
      for (const [short, metric] of SUMMARY_KEYS[task]) {
        summary[`${name}${kind === 'linear' ? '' : `_${kind}`}_${short}`] = finiteOrNull(r.metrics[metric].mean);
      }
      if (spec.bias != null && task === 'classification' && kind === (spec.probes ?? defaultProbes)[0]) {
        const biasCol = column(opts, spec.bias, `targets.${name}.bias`);
        const rows = Array.from(r.tested).filter((j) => !isMissing(biasCol[keep[j]]));
        const yTrue = rows.map((j) => ys[j] as Label);
        const bias = rows.map((j) => biasCol[keep[j]] as Label);
        const predOf = new Map(Array.from(r.tested, (j, t) => [j, r.predictions[t]]));
        const yPred = rows.map((j) => predOf.get(j)!);
        // The mask is computed over all labelled samples (the data set's bias structure), then read on the tested ones.
        const allRows = keep.map((_, j) => j).filter((j) => !isMissing(biasCol[keep[j]]));
        const maskAll = biasAlignedMask(allRows.map((j) => ys[j] as Label), allRows.map((j) => biasCol[keep[j]] as Label));
        const maskOf = new Map(allRows.map((j, t) => [j, maskAll[t]]));
        result.bias = biasConflictScores(
          yTrue.map(labelKey),
          yPred.map(labelKey),
          rows.map((j) => maskOf.get(j)!),
          spec.bias,
        );
        summary[`${name}_bacc_conflicting`] = finiteOrNull(result.bias.conflicting.balanced_accuracy);
        summary[`${name}_bacc_aligned`] = finiteOrNull(result.bias.aligned.balanced_accuracy);
      }
    }
    targets[name] = result;
  }

  let alignment: number | null = null;
  let uniformity: number | null = null;
  if (opts.geometry ?? true) {
    if (opts.views) alignment = alignmentMetric(opts.views[0], opts.views[1]);
    if (n >= 2) uniformity = uniformityMetric(X, { seed });
  }
  summary.align = alignment;
  summary.unif = uniformity;
  return {
    n,
    dim: X.cols,
    protocol: { folds: splitOf ? null : (opts.folds ?? 5), split: Boolean(splitOf), seed, groups: groupName, level, bootstrap },
    targets,
    geometry: { alignment, uniformity },
    summary,
  };
}
