/**
 * Evaluation of visit embeddings on held-out subjects (probes fit on the training subjects only):
 * - interval: ridge from the difference of two visits' embeddings (later − earlier) to the years between them (MAE);
 * - progression rate: a `VisitSequenceModel` trained on the training subjects' sequences, its prediction on the
 *   held-out subjects ranked against the true rates (Spearman ρ);
 * - re-identification: each held-out visit's nearest other held-out visit (cosine) is of the same subject (top-1);
 * - age: ridge from one visit's embedding to the age at scan (MAE), a sanity check.
 */
import { ShapeError, ValueError } from '../errors.js';
import { nearestNeighbors } from '../eval/knn.js';
import { applyStandardizer, fitStandardizer, takeRows, toMatrix, type Matrix, type MatrixLike } from '../eval/matrix.js';
import { spearman } from '../eval/metrics.js';
import { crossValidateProbe } from '../eval/probe.js';
import { fitVisitSequenceModel, VisitSequenceModel, type FitSequenceOptions, type SubjectSequence, type VisitSequenceConfig } from './sequence.js';

export interface VisitTable {
  /** One row per visit. */
  embeddings: MatrixLike;
  subjects: ArrayLike<string>;
  /** Years (any origin: age at scan, years since baseline, …). */
  times: ArrayLike<number>;
  /** 'train' or 'test' per visit (whole subjects: a subject must not straddle the two). */
  split: ArrayLike<string>;
  /** Age at scan (for the age sanity check). */
  age?: ArrayLike<number>;
  /** A per-subject target (e.g. the progression rate), repeated on each of the subject's visits. */
  rate?: ArrayLike<number>;
}

interface Prepared {
  x: Matrix;
  subjects: string[];
  times: number[];
  split: string[];
  /** Visit indices of each subject, in time order. */
  bySubject: Map<string, number[]>;
}

function prepare(t: VisitTable): Prepared {
  const x = toMatrix(t.embeddings, 'longitudinal evaluation: embeddings');
  const n = x.rows;
  for (const [name, col] of [['subjects', t.subjects], ['times', t.times], ['split', t.split], ['age', t.age], ['rate', t.rate]] as const) {
    if (col != null && col.length !== n) throw new ShapeError(`longitudinal evaluation: ${name} has ${col.length} values for ${n} visits`);
  }
  const subjects = Array.from(t.subjects, String);
  const times = Array.from(t.times);
  const split = Array.from(t.split, String);
  const bySubject = new Map<string, number[]>();
  subjects.forEach((s, i) => {
    if (!Number.isFinite(times[i])) throw new ValueError(`longitudinal evaluation: visit ${i} (subject ${s}) has time ${times[i]}`);
    if (split[i] !== 'train' && split[i] !== 'test') throw new ValueError(`longitudinal evaluation: split of visit ${i} is '${split[i]}', expected 'train' or 'test'`);
    let g = bySubject.get(s);
    if (g == null) bySubject.set(s, (g = []));
    g.push(i);
  });
  for (const [s, idx] of bySubject) {
    if (new Set(idx.map((i) => split[i])).size > 1) throw new ValueError(`longitudinal evaluation: subject ${s} has visits in both train and test`);
    idx.sort((a, b) => times[a] - times[b]);
    for (let k = 1; k < idx.length; k++) {
      if (times[idx[k]] === times[idx[k - 1]]) throw new ValueError(`longitudinal evaluation: subject ${s} has two visits at time ${times[idx[k]]}`);
    }
  }
  return { x, subjects, times, split, bySubject };
}

function need(count: number, what: string): void {
  if (count === 0) throw new ValueError(`longitudinal evaluation: no ${what}`);
}

export interface IntervalResult {
  /** MAE (years) on the held-out subjects' visit pairs. */
  mae: number;
  /** MAE of predicting the training pairs' mean interval. */
  baselineMae: number;
  trainPairs: number;
  testPairs: number;
}

/** Predicts the years between two visits of a subject from `z_later − z_earlier` (ridge, α by inner CV over subjects). */
export function intervalPrediction(table: VisitTable, opts: { seed?: number } = {}): IntervalResult {
  const p = prepare(table);
  const d = p.x.cols;
  const rows: number[][] = [];
  const y: number[] = [];
  const groups: string[] = [];
  const train: number[] = [];
  const test: number[] = [];
  for (const [s, idx] of p.bySubject) {
    for (let a = 0; a < idx.length; a++) {
      for (let b = a + 1; b < idx.length; b++) {
        const [i, j] = [idx[a], idx[b]];
        const diff = new Array<number>(d);
        for (let k = 0; k < d; k++) diff[k] = p.x.data[j * d + k] - p.x.data[i * d + k];
        (p.split[i] === 'train' ? train : test).push(rows.length);
        rows.push(diff);
        y.push(p.times[j] - p.times[i]);
        groups.push(s);
      }
    }
  }
  need(train.length, 'training subject with two visits');
  need(test.length, 'held-out subject with two visits');
  const r = crossValidateProbe(toMatrix(rows, 'visit differences'), y, { task: 'regression', probe: 'linear', split: { train, test }, groups, seed: opts.seed ?? 0, bootstrap: 0 });
  return { mae: r.metrics.mae.pooled, baselineMae: r.baseline.mae, trainPairs: train.length, testPairs: test.length };
}

/** Top-1 subject re-identification among the held-out visits (queries: visits of subjects seen at least twice). */
export function subjectReidentification(table: Pick<VisitTable, 'embeddings' | 'subjects'> & { split?: ArrayLike<string> }): { top1: number; queries: number } {
  const x = toMatrix(table.embeddings, 'longitudinal evaluation: embeddings');
  const subjects = Array.from(table.subjects, String);
  if (subjects.length !== x.rows) throw new ShapeError(`subjectReidentification: ${subjects.length} subjects for ${x.rows} visits`);
  const keep = subjects.map((_, i) => i).filter((i) => table.split == null || table.split[i] === 'test');
  const ref: Matrix = { rows: keep.length, cols: x.cols, data: new Float64Array(keep.length * x.cols) };
  keep.forEach((i, r) => ref.data.set(x.data.subarray(i * x.cols, (i + 1) * x.cols), r * x.cols));
  const count = new Map<string, number>();
  for (const i of keep) count.set(subjects[i], (count.get(subjects[i]) ?? 0) + 1);
  const { indices } = nearestNeighbors(ref, ref, 2, 'cosine');
  let hits = 0;
  let queries = 0;
  keep.forEach((i, q) => {
    if (count.get(subjects[i])! < 2) return;
    queries++;
    // The query itself is among its two nearest (distance 0); take the other one.
    const nb = indices[q][0] === q ? indices[q][1] : indices[q][0];
    if (subjects[keep[nb]] === subjects[i]) hits++;
  });
  need(queries, 'held-out subject with two visits');
  return { top1: hits / queries, queries };
}

/** One sequence per subject (visits in time order). */
export function subjectSequences(table: Pick<VisitTable, 'embeddings' | 'subjects' | 'times'>, which?: (subject: string, visits: number[]) => boolean): SubjectSequence[] {
  const p = prepare({ ...table, split: Array.from(table.subjects, () => 'train') });
  const out: SubjectSequence[] = [];
  for (const [s, idx] of p.bySubject) {
    if (which && !which(s, idx)) continue;
    out.push({ subject: s, embeddings: idx.map((i) => p.x.data.subarray(i * p.x.cols, (i + 1) * p.x.cols)), times: idx.map((i) => p.times[i]) });
  }
  return out;
}

export interface PatientRecord {
  subject: string;
  split: 'train' | 'test';
  visits: number;
  /** Years between the first and the last visit. */
  span: number;
  embedding: Float32Array;
  predicted: number;
  target: number;
}

export interface RateResult {
  /** Spearman ρ between predicted and true rates of the held-out subjects. */
  spearman: number;
  subjects: { train: number; test: number };
  /** Every subject's patient embedding and prediction (the model is fit on the training subjects only). */
  patients: PatientRecord[];
}

/**
 * The evaluation's sequence model: small (width 16, attention pooling) and briefly trained (100 full-batch epochs
 * at lr 1e-2), because a few dozen training subjects overfit a larger or longer-trained one (measured on the demo
 * cohort's embeddings: the held-out Spearman falls as epochs grow past ~100, for every pretraining method alike).
 */
export const RATE_MODEL_DEFAULTS = { model: { dim: 16 }, fit: { epochs: 100, lr: 1e-2 } } as const;

/**
 * Trains a `VisitSequenceModel` on the training subjects (≥ `minVisits` visits) to predict `table.rate`, ranks its
 * predictions for the held-out subjects (≥ `minVisits` visits) against their true rates, and returns every
 * subject's patient embedding.
 */
export function progressionRatePrediction(
  table: VisitTable,
  opts: { model?: Omit<VisitSequenceConfig, 'inputDim' | 'outputs'>; fit?: FitSequenceOptions; seed?: number; minVisits?: number } = {},
): RateResult {
  if (table.rate == null) throw new ValueError('progressionRatePrediction: table.rate is required');
  const p = prepare(table);
  const rate = Array.from(table.rate);
  const minVisits = opts.minVisits ?? 2;
  // Features standardised on the training subjects' visits (as the ridge probes do): encoders' feature scales are
  // arbitrary, and an unnormalised input makes the sequence model's fit depend on them.
  const trainVisits = Int32Array.from(p.split.flatMap((s, i) => (s === 'train' ? [i] : [])));
  const x = applyStandardizer(p.x, fitStandardizer(takeRows(p.x, trainVisits)));
  const all = subjectSequences({ embeddings: x, subjects: p.subjects, times: p.times });
  const splitOf = (s: string) => p.split[p.bySubject.get(s)![0]] as 'train' | 'test';
  const train = all.filter((s) => s.times.length >= minVisits && splitOf(s.subject) === 'train');
  const test = all.filter((s) => s.times.length >= minVisits && splitOf(s.subject) === 'test');
  need(train.length, `training subject with ${minVisits}+ visits`);
  need(test.length, `held-out subject with ${minVisits}+ visits`);
  const rateOf = (s: string) => rate[p.bySubject.get(s)![0]];
  const model = new VisitSequenceModel({ ...RATE_MODEL_DEFAULTS.model, ...opts.model, inputDim: p.x.cols, outputs: 1 }, { seed: opts.seed ?? 0 });
  try {
    const fitted = fitVisitSequenceModel(model, train, train.map((s) => rateOf(s.subject)), { ...RATE_MODEL_DEFAULTS.fit, ...opts.fit });
    const out = fitted.predict(all);
    const patients = all.map((s, i): PatientRecord => ({
      subject: s.subject,
      split: splitOf(s.subject),
      visits: s.times.length,
      span: s.times[s.times.length - 1] - s.times[0],
      embedding: out.patient[i],
      predicted: out.prediction[i],
      target: rateOf(s.subject),
    }));
    const scored = patients.filter((r) => r.split === 'test' && r.visits >= minVisits);
    return {
      spearman: spearman(scored.map((r) => r.predicted), scored.map((r) => r.target)),
      subjects: { train: train.length, test: test.length },
      patients,
    };
  } finally {
    model.dispose();
  }
}

/** Age at scan from one visit's embedding (ridge fit on the training subjects; MAE on the held-out ones). */
export function ageFromVisits(table: VisitTable, opts: { seed?: number } = {}): { mae: number; baselineMae: number } {
  if (table.age == null) throw new ValueError('ageFromVisits: table.age is required');
  const p = prepare(table);
  const train = p.split.flatMap((s, i) => (s === 'train' ? [i] : []));
  const test = p.split.flatMap((s, i) => (s === 'test' ? [i] : []));
  need(train.length, 'training visit');
  need(test.length, 'held-out visit');
  const r = crossValidateProbe(p.x, table.age, { task: 'regression', probe: 'linear', split: { train, test }, groups: p.subjects, seed: opts.seed ?? 0, bootstrap: 0 });
  return { mae: r.metrics.mae.pooled, baselineMae: r.baseline.mae };
}

export interface LongitudinalEvaluation {
  interval_mae_years: number;
  rate_spearman: number;
  reid_top1: number;
  age_mae: number;
  /** Reference levels: predicting the training mean interval / age. */
  baselines: { interval_mae_years: number; age_mae: number };
  counts: { trainPairs: number; testPairs: number; trainSubjects: number; testSubjects: number; reidQueries: number };
  patients: RateResult['patients'];
}

/** All four measures on one table of visit embeddings (see the module comment). */
export function evaluateLongitudinal(
  table: VisitTable,
  opts: { seed?: number; sequence?: Omit<VisitSequenceConfig, 'inputDim' | 'outputs'>; fit?: FitSequenceOptions } = {},
): LongitudinalEvaluation {
  const seed = opts.seed ?? 0;
  const interval = intervalPrediction(table, { seed });
  const reid = subjectReidentification(table);
  const rate = progressionRatePrediction(table, { seed, ...(opts.sequence ? { model: opts.sequence } : {}), ...(opts.fit ? { fit: opts.fit } : {}) });
  const age = table.age != null ? ageFromVisits(table, { seed }) : { mae: NaN, baselineMae: NaN };
  return {
    interval_mae_years: interval.mae,
    rate_spearman: rate.spearman,
    reid_top1: reid.top1,
    age_mae: age.mae,
    baselines: { interval_mae_years: interval.baselineMae, age_mae: age.baselineMae },
    counts: { trainPairs: interval.trainPairs, testPairs: interval.testPairs, trainSubjects: rate.subjects.train, testSubjects: rate.subjects.test, reidQueries: reid.queries },
    patients: rate.patients,
  };
}
