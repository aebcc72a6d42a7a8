/**
 * Cross-validated probes on frozen representations: a linear probe (ridge regression / L2 logistic regression on
 * standardised features, penalty chosen by an inner cross-validation) or a k-NN probe, evaluated out of fold with
 * per-fold and pooled metrics and confidence intervals.
 */
import { ShapeError, ValueError } from '../errors.js';
import { kFoldSplits, type Fold } from './cv.js';
import { fitKnnClassifier, fitKnnRegressor, type KnnOptions } from './knn.js';
import { classWeights, fitLogistic, type LogisticModel } from './logistic.js';
import { applyStandardizer, fitStandardizer, take, takeRows, zeros, type Matrix } from './matrix.js';
import {
  accuracyScore,
  balancedAccuracy,
  encodeLabels,
  meanAbsoluteError,
  pearson,
  r2Score,
  rocAucOvr,
  rootMeanSquaredError,
  spearman,
} from './metrics.js';
import { RidgeSystem } from './ridge.js';
import { bootstrapInterval, foldInterval, mean, sampleStd } from './stats.js';

export type Task = 'regression' | 'classification';
export type ProbeKind = 'linear' | 'knn';

export interface LinearProbeOptions {
  /** Standardise features on the training fold (default true). */
  standardize?: boolean;
  /** Ridge penalty, or 'cv' (default) to pick it from `alphas` by inner cross-validation (MSE). */
  alpha?: number | 'cv';
  alphas?: number[];
  /** Logistic inverse penalty, or 'cv' (default) to pick it from `Cs` by inner cross-validation (log-loss). */
  C?: number | 'cv';
  Cs?: number[];
  /** Class weighting of the logistic probe (default 'balanced', matching balanced accuracy). */
  classWeight?: 'balanced' | null;
  /** Inner folds for the penalty (default 3). */
  innerFolds?: number;
  maxIter?: number;
  tol?: number;
}

export interface ProbeOptions {
  task: Task;
  probe?: ProbeKind;
  /** Number of folds (default 5), ignored when `split` is given. */
  folds?: number;
  seed?: number;
  /** Group of each sample (subject id): groups never straddle train and test; bootstrap resamples groups. */
  groups?: ArrayLike<string | number>;
  /** A single held-out split instead of k folds. */
  split?: { train: ArrayLike<number>; test: ArrayLike<number> };
  linear?: LinearProbeOptions;
  knn?: KnnOptions;
  /** Bootstrap resamples for the pooled-prediction interval (default 1000; 0 disables). */
  bootstrap?: number;
  /** Confidence level (default 0.95). */
  level?: number;
}

/** One metric over the folds: mean ± sd, Student-t interval over folds, pooled value and its bootstrap interval. */
export interface MetricSummary {
  mean: number;
  std: number;
  /** t interval of the fold mean, clipped to the metric's range (null with a single split). */
  ci: [number, number] | null;
  perFold: number[];
  /** The metric on all out-of-fold predictions pooled. */
  pooled: number;
  /** Percentile bootstrap interval of `pooled` (null when disabled or undefined). */
  bootstrapCi: [number, number] | null;
}

export interface ProbeResult {
  probe: ProbeKind;
  task: Task;
  /** Samples that received an out-of-fold prediction. */
  n: number;
  folds: number;
  classes?: (string | number)[];
  metrics: Record<string, MetricSummary>;
  /** Chance / dummy levels of the same metrics (regression: predicting the training mean). */
  baseline: Record<string, number>;
  /** Chosen penalty per fold (linear probe). */
  hyper: { alpha?: number[]; C?: number[] };
  /** Indices (into the inputs) of the predicted samples, and their predictions. */
  tested: Int32Array;
  predictions: (number | string)[];
  /** Class probabilities [tested, K] (classification). */
  probabilities?: Matrix;
}

const DEFAULT_ALPHAS = [1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4, 1e5];
// C = 100 on standardised features is nearly unpenalised (and the slowest to fit); it is rarely the best.
const DEFAULT_CS = [1e-3, 1e-2, 1e-1, 1, 10];

type Fitted = { predict(x: Matrix): Float64Array | Matrix; hyper?: number };

function innerFolds(n: number, k: number, seed: number, groups?: (string | number)[], stratify?: Int32Array): Fold[] | null {
  const units = groups ? new Set(groups.map(String)).size : n;
  if (units < k || n < 2 * k) return null;
  try {
    return kFoldSplits(n, { folds: k, seed, groups, stratify });
  } catch {
    return null;
  }
}

function fitRidgeProbe(x: Matrix, y: Float64Array, o: LinearProbeOptions, seed: number, groups?: (string | number)[]): Fitted {
  let alpha = o.alpha ?? 'cv';
  if (alpha === 'cv') {
    const alphas = o.alphas ?? DEFAULT_ALPHAS;
    const folds = innerFolds(x.rows, o.innerFolds ?? 3, seed, groups);
    if (folds == null) alpha = 1;
    else {
      const err = new Float64Array(alphas.length);
      for (const f of folds) {
        const sys = new RidgeSystem(takeRows(x, f.train), take(y, f.train));
        const xt = takeRows(x, f.test);
        alphas.forEach((a, i) => {
          const p = sys.solve(a).predict(xt);
          for (let j = 0; j < f.test.length; j++) err[i] += (p[j] - y[f.test[j]]) ** 2;
        });
      }
      // Smallest error; on ties the stronger penalty (later in the sorted grid) wins.
      let best = 0;
      for (let i = 1; i < alphas.length; i++) if (err[i] <= err[best] * (1 + 1e-12)) best = i;
      alpha = alphas[best];
    }
  }
  const model = new RidgeSystem(x, y).solve(alpha);
  return { predict: (q) => model.predict(q), hyper: alpha };
}

/** Logistic probe over the classes present in the training fold, probabilities mapped back to all K classes. */
function fitLogisticProbe(
  x: Matrix,
  codes: Int32Array,
  K: number,
  o: LinearProbeOptions,
  seed: number,
  groups?: (string | number)[],
): Fitted {
  const present = [...new Set(codes)].sort((a, b) => a - b);
  if (present.length === 1) {
    return { predict: (q) => constantProba(q.rows, K, present[0]) };
  }
  const classWeight = o.classWeight === undefined ? 'balanced' : o.classWeight;
  const tol = o.tol ?? 1e-6;
  const fit = (xs: Matrix, ys: Int32Array, C: number, warmStart?: LogisticModel, fitTol = tol) =>
    fitLogistic(xs, ys, { C, classWeight, classes: present, maxIter: o.maxIter ?? 500, tol: fitTol, warmStart });
  let C = o.C ?? 'cv';
  if (C === 'cv') {
    const Cs = o.Cs ?? DEFAULT_CS;
    const folds = innerFolds(x.rows, o.innerFolds ?? 3, seed, groups, codes);
    if (folds == null) C = 1;
    else {
      const loss = new Float64Array(Cs.length);
      const cw = classWeights(codes, K, classWeight, []);
      for (const f of folds) {
        const ytr = Int32Array.from(take(codes, f.train));
        if (new Set(ytr).size < present.length) continue;
        const xt = takeRows(x, f.test);
        const xtr = takeRows(x, f.train);
        // Along the C path in increasing order, each fit starts from the previous solution (far fewer iterations).
        let prev: LogisticModel | undefined;
        const order = Cs.map((_, i) => i).sort((a, b) => Cs[a] - Cs[b]);
        order.forEach((i) => {
          const c = Cs[i];
          // Ranking penalties by held-out log-loss does not need the final fit's precision.
          const model = fit(xtr, ytr, c, prev, Math.max(tol, 1e-4));
          prev = model;
          const p = model.predictProba(xt);
          for (let j = 0; j < f.test.length; j++) {
            const col = present.indexOf(codes[f.test[j]]);
            loss[i] -= cw[codes[f.test[j]]] * Math.log(Math.max(p.data[j * p.cols + col], 1e-15));
          }
        });
      }
      let best = 0;
      for (let i = 1; i < Cs.length; i++) if (loss[i] < loss[best] * (1 - 1e-12)) best = i;
      C = Cs[best];
    }
  }
  const model = fit(x, codes, C);
  return {
    predict: (q) => expandColumns(model.predictProba(q), present, K),
    hyper: C,
  };
}

/** Probabilities over the classes seen in training (`present`, codes) spread into all K class columns (0 elsewhere). */
function expandColumns(p: Matrix, present: number[], K: number): Matrix {
  const out = zeros(p.rows, K);
  for (let i = 0; i < p.rows; i++) for (let c = 0; c < present.length; c++) out.data[i * K + present[c]] = p.data[i * p.cols + c];
  return out;
}

function constantProba(rows: number, K: number, cls: number): Matrix {
  const out = zeros(rows, K);
  for (let i = 0; i < rows; i++) out.data[i * K + cls] = 1;
  return out;
}

function fitKnnProbe(x: Matrix, y: Float64Array | Int32Array, task: Task, K: number, o: KnnOptions): Fitted {
  if (task === 'regression') {
    const m = fitKnnRegressor(x, y, o);
    return { predict: (q) => m.predict(q) };
  }
  const m = fitKnnClassifier(x, y, o);
  return { predict: (q) => expandColumns(m.predictProba(q), m.classes as number[], K) };
}

type MetricFn = (idx: Int32Array) => number;

/** The range of each metric: a t interval is clipped to it (an AUC interval never passes 1). */
const METRIC_RANGE: Record<string, [number, number]> = {
  mae: [0, Infinity],
  rmse: [0, Infinity],
  r2: [-Infinity, 1],
  pearson: [-1, 1],
  spearman: [-1, 1],
  accuracy: [0, 1],
  balanced_accuracy: [0, 1],
  roc_auc: [0, 1],
};

function clampInterval(ci: [number, number] | null, range?: [number, number]): [number, number] | null {
  if (ci == null || range == null) return ci;
  return [Math.max(range[0], ci[0]), Math.min(range[1], ci[1])];
}

function safe(f: () => number): number {
  try {
    return f();
  } catch {
    return NaN;
  }
}

/** Cross-validates one probe of `x` for target `y`. */
export function crossValidateProbe(x: Matrix, y: ArrayLike<unknown>, opts: ProbeOptions): ProbeResult {
  const { task } = opts;
  if (task !== 'regression' && task !== 'classification') throw new ValueError(`task must be 'regression' or 'classification', got '${task}'`);
  const kind = opts.probe ?? 'linear';
  if (kind !== 'linear' && kind !== 'knn') throw new ValueError(`probe must be 'linear' or 'knn', got '${kind}'`);
  if (y.length !== x.rows) throw new ShapeError(`probe: ${x.rows} embeddings but ${y.length} target values`);
  const n = x.rows;
  const seed = opts.seed ?? 0;
  const groups = opts.groups ? Array.from(opts.groups) : undefined;
  let yNum: Float64Array | null = null;
  let enc: ReturnType<typeof encodeLabels> | null = null;
  if (task === 'regression') {
    yNum = Float64Array.from(y as ArrayLike<number>, (v, i) => {
      const num = typeof v === 'number' ? v : Number(v);
      if (!Number.isFinite(num)) throw new ValueError(`regression target: sample ${i} is ${JSON.stringify(v)}, not a finite number`);
      return num;
    });
  } else {
    enc = encodeLabels(y as ArrayLike<string | number>, 'classification target');
    if (enc.classes.length < 2) throw new ValueError(`classification target has a single class ${JSON.stringify(enc.classes)}`);
  }
  const K = enc?.classes.length ?? 0;
  const folds: Fold[] = opts.split
    ? [{ train: Int32Array.from(opts.split.train), test: Int32Array.from(opts.split.test) }]
    : kFoldSplits(n, { folds: opts.folds ?? 5, seed, groups, stratify: enc?.codes });
  for (const f of folds) {
    if (f.train.length === 0 || f.test.length === 0) throw new ValueError('probe: a split has an empty train or test set');
  }

  const tested: number[] = [];
  const foldOfTested: number[] = [];
  const predNum: number[] = [];
  const proba: number[][] = [];
  const hyper: number[] = [];
  const baselinePred: number[] = [];
  const lin = opts.linear ?? {};
  folds.forEach((f, fi) => {
    let xtr = takeRows(x, f.train);
    let xte = takeRows(x, f.test);
    if (kind === 'linear' && (lin.standardize ?? true)) {
      const s = fitStandardizer(xtr);
      xtr = applyStandardizer(xtr, s);
      xte = applyStandardizer(xte, s);
    }
    const gtr = groups ? take(groups, f.train) : undefined;
    let fitted: Fitted;
    if (task === 'regression') {
      const ytr = Float64Array.from(take(yNum!, f.train));
      fitted = kind === 'linear' ? fitRidgeProbe(xtr, ytr, lin, seed + 1 + fi, gtr) : fitKnnProbe(xtr, ytr, task, 0, opts.knn ?? {});
      const m = mean(Array.from(ytr));
      for (let j = 0; j < f.test.length; j++) baselinePred.push(m);
    } else {
      const ytr = Int32Array.from(take(enc!.codes, f.train));
      fitted = kind === 'linear' ? fitLogisticProbe(xtr, ytr, K, lin, seed + 1 + fi, gtr) : fitKnnProbe(xtr, ytr, task, K, opts.knn ?? {});
    }
    if (fitted.hyper != null) hyper.push(fitted.hyper);
    const out = fitted.predict(xte);
    for (let j = 0; j < f.test.length; j++) {
      tested.push(f.test[j]);
      foldOfTested.push(fi);
      if (out instanceof Float64Array) predNum.push(out[j]);
      else proba.push(Array.from(out.data.subarray(j * K, (j + 1) * K)));
    }
  });

  const T = tested.length;
  const metricFns: Record<string, MetricFn> = {};
  const baseline: Record<string, number> = {};
  let predictions: (number | string)[];
  let probabilities: Matrix | undefined;
  if (task === 'regression') {
    const yt = tested.map((i) => yNum![i]);
    const sub = (idx: Int32Array) => [take(yt, idx), take(predNum, idx)] as const;
    metricFns.mae = (idx) => meanAbsoluteError(...sub(idx));
    metricFns.rmse = (idx) => rootMeanSquaredError(...sub(idx));
    metricFns.r2 = (idx) => r2Score(...sub(idx));
    metricFns.pearson = (idx) => pearson(...sub(idx));
    metricFns.spearman = (idx) => spearman(...sub(idx));
    baseline.mae = meanAbsoluteError(yt, baselinePred);
    baseline.rmse = rootMeanSquaredError(yt, baselinePred);
    baseline.r2 = r2Score(yt, baselinePred);
    baseline.pearson = 0;
    baseline.spearman = 0;
    predictions = predNum;
  } else {
    const codes = enc!.codes;
    const yt = tested.map((i) => codes[i]);
    probabilities = { rows: T, cols: K, data: Float64Array.from(proba.flat()) };
    const predCodes = proba.map((p) => p.indexOf(Math.max(...p)));
    const probaOf = (idx: Int32Array): Matrix => takeRows(probabilities!, idx);
    metricFns.accuracy = (idx) => accuracyScore(take(yt, idx), take(predCodes, idx));
    metricFns.balanced_accuracy = (idx) => balancedAccuracy(take(yt, idx), take(predCodes, idx));
    metricFns.roc_auc = (idx) => rocAucOvr(take(yt, idx), probaOf(idx));
    const counts = new Array(K).fill(0);
    for (const c of yt) counts[c]++;
    baseline.accuracy = Math.max(...counts) / T;
    baseline.balanced_accuracy = 1 / counts.filter((c) => c > 0).length;
    baseline.roc_auc = 0.5;
    predictions = predCodes.map((c) => enc!.classes[c]);
  }

  const all = Int32Array.from({ length: T }, (_, i) => i);
  const byFold = folds.map((_, fi) => Int32Array.from(all.filter((i) => foldOfTested[i] === fi)));
  const level = opts.level ?? 0.95;
  const B = opts.bootstrap ?? 1000;
  const testedGroups = groups ? tested.map((i) => groups[i]) : undefined;
  const metrics: Record<string, MetricSummary> = {};
  for (const [name, fn] of Object.entries(metricFns)) {
    const perFold = byFold.map((idx) => safe(() => fn(idx)));
    const finite = perFold.filter(Number.isFinite);
    metrics[name] = {
      mean: finite.length ? mean(finite) : NaN,
      std: finite.length ? sampleStd(finite) : NaN,
      ci: folds.length > 1 ? clampInterval(foldInterval(finite, level), METRIC_RANGE[name]) : null,
      perFold,
      pooled: safe(() => fn(all)),
      bootstrapCi: B > 0 ? bootstrapInterval(T, fn, { resamples: B, seed, level, groups: testedGroups }) : null,
    };
  }
  const hyperOut: ProbeResult['hyper'] = {};
  if (hyper.length) hyperOut[task === 'regression' ? 'alpha' : 'C'] = hyper;
  return {
    probe: kind,
    task,
    n: T,
    folds: folds.length,
    ...(enc ? { classes: enc.classes } : {}),
    metrics,
    baseline,
    hyper: hyperOut,
    tested: Int32Array.from(tested),
    predictions,
    ...(probabilities ? { probabilities } : {}),
  };
}
