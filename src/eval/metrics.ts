/**
 * Evaluation metrics, defined as in scikit-learn / SciPy so numbers can be compared with Python labs
 * (the tests check them against sklearn on random and tied inputs).
 */
import { ShapeError, ValueError } from '../errors.js';
import type { Matrix } from './matrix.js';

/** A class label: numbers and strings are both accepted (booleans are mapped to 0/1 by `encodeLabels`). */
export type Label = string | number | boolean;

/** Sorted distinct classes and the code (index into `classes`) of each sample. */
export interface EncodedLabels {
  classes: (string | number)[];
  codes: Int32Array;
}

function normalizeLabel(v: Label): string | number {
  return typeof v === 'boolean' ? Number(v) : v;
}

/** Encodes labels as indices into their sorted distinct values (numbers numerically, strings lexically). */
export function encodeLabels(labels: ArrayLike<Label>, name = 'labels', classes?: (string | number)[]): EncodedLabels {
  const vals = Array.from(labels, normalizeLabel);
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    if (v == null || (typeof v === 'number' && !Number.isFinite(v)) || v === '') {
      throw new ValueError(`${name}: sample ${i} has no label (${JSON.stringify(v)}); drop it or give it a class`);
    }
  }
  let cls = classes;
  if (cls == null) {
    const distinct = [...new Set(vals)];
    const allNumbers = distinct.every((v) => typeof v === 'number');
    cls = allNumbers
      ? (distinct as number[]).sort((a, b) => a - b)
      : distinct.map(String).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  const index = new Map<string, number>();
  cls.forEach((c, i) => index.set(String(c), i));
  const codes = new Int32Array(vals.length);
  for (let i = 0; i < vals.length; i++) {
    const k = index.get(String(vals[i]));
    if (k == null) throw new ValueError(`${name}: sample ${i} has class ${JSON.stringify(vals[i])}, not one of ${JSON.stringify(cls)}`);
    codes[i] = k;
  }
  return { classes: cls, codes };
}

function checkPair(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) throw new ShapeError(`${what}: yTrue has ${a.length} values but yPred has ${b.length}`);
  if (a.length === 0) throw new ShapeError(`${what}: needs at least one sample`);
}

function checkFinite(x: ArrayLike<number>, name: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new ValueError(`${name}: value ${i} is ${x[i]}; expected finite numbers`);
  }
}

/** Mean absolute error. */
export function meanAbsoluteError(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkPair(yTrue, yPred, 'meanAbsoluteError');
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += Math.abs(yTrue[i] - yPred[i]);
  return s / yTrue.length;
}

/** Root mean squared error. */
export function rootMeanSquaredError(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkPair(yTrue, yPred, 'rootMeanSquaredError');
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += (yTrue[i] - yPred[i]) ** 2;
  return Math.sqrt(s / yTrue.length);
}

/** Coefficient of determination R² (sklearn's `r2_score`: 1 for a perfect fit of a constant target, else 0 there). */
export function r2Score(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkPair(yTrue, yPred, 'r2Score');
  let mean = 0;
  for (let i = 0; i < yTrue.length; i++) mean += yTrue[i];
  mean /= yTrue.length;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < yTrue.length; i++) {
    ssRes += (yTrue[i] - yPred[i]) ** 2;
    ssTot += (yTrue[i] - mean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}

/** Fraction of exact label matches. */
export function accuracyScore(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): number {
  checkPair(yTrue, yPred, 'accuracyScore');
  let hits = 0;
  for (let i = 0; i < yTrue.length; i++) if (String(normalizeLabel(yTrue[i])) === String(normalizeLabel(yPred[i]))) hits++;
  return hits / yTrue.length;
}

/**
 * Balanced accuracy: the mean recall over the classes present in `yTrue` (sklearn's `balanced_accuracy_score`).
 * Chance level is 1/K whatever the class imbalance — the metric for nuisance decodability.
 */
export function balancedAccuracy(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): number {
  checkPair(yTrue, yPred, 'balancedAccuracy');
  const total = new Map<string, number>();
  const hit = new Map<string, number>();
  for (let i = 0; i < yTrue.length; i++) {
    const t = String(normalizeLabel(yTrue[i]));
    total.set(t, (total.get(t) ?? 0) + 1);
    if (t === String(normalizeLabel(yPred[i]))) hit.set(t, (hit.get(t) ?? 0) + 1);
  }
  let s = 0;
  for (const [c, n] of total) s += (hit.get(c) ?? 0) / n;
  return s / total.size;
}

/** Ranks (1-based) with ties given their average rank (SciPy's `rankdata(method='average')`). */
export function rankData(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  // A native numeric sort of the values, then each value's first and last position by binary search: the average
  // rank of a run of ties is (first + last)/2 + 1. (Several times faster than sorting indices with a comparator;
  // the bootstrap intervals rank thousands of resamples.)
  const sorted = Float64Array.from(x).sort();
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = x[i];
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    const first = lo;
    hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    ranks[i] = (first + lo - 1) / 2 + 1;
  }
  return ranks;
}

/** Pearson correlation; NaN when either input is constant (as SciPy). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y, 'pearson');
  checkFinite(x, 'pearson x');
  checkFinite(y, 'pearson y');
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Spearman rank correlation ρ (Pearson on average ranks, as SciPy's `spearmanr`). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y, 'spearman');
  checkFinite(x, 'spearman x');
  checkFinite(y, 'spearman y');
  return pearson(rankData(x), rankData(y));
}

/**
 * Binary ROC-AUC: the probability that a random positive scores above a random negative, ties counting one half
 * (equal to sklearn's trapezoidal `roc_auc_score`). `positives[i]` is true for the positive class.
 * Throws when only one class is present (AUC is undefined).
 */
export function rocAuc(positives: ArrayLike<boolean | number>, scores: ArrayLike<number>): number {
  checkPair(positives, scores, 'rocAuc');
  checkFinite(scores, 'rocAuc scores');
  const ranks = rankData(scores);
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < scores.length; i++) {
    if (positives[i]) {
      nPos++;
      rankSum += ranks[i];
    }
  }
  const nNeg = scores.length - nPos;
  if (nPos === 0 || nNeg === 0) {
    throw new ValueError(`rocAuc: needs both classes, got ${nPos} positive and ${nNeg} negative samples`);
  }
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * One-vs-rest macro ROC-AUC for K classes: the mean over classes of the binary AUC of column k of `scores`
 * ([n, K], e.g. predicted probabilities) for "class k vs the rest" (sklearn `multi_class='ovr', average='macro'`).
 * `codes[i]` is the class index of sample i. Classes absent from `codes` (or covering every sample) are skipped.
 * With K = 2 this equals the binary AUC of column 1.
 */
export function rocAucOvr(codes: ArrayLike<number>, scores: Matrix): number {
  if (codes.length !== scores.rows) throw new ShapeError(`rocAucOvr: ${codes.length} labels but ${scores.rows} score rows`);
  const k = scores.cols;
  if (k === 2) return rocAuc(Array.from(codes, (c) => c === 1), column(scores, 1));
  let sum = 0;
  let used = 0;
  for (let c = 0; c < k; c++) {
    const pos = Array.from(codes, (v) => v === c);
    const nPos = pos.filter(Boolean).length;
    if (nPos === 0 || nPos === pos.length) continue;
    sum += rocAuc(pos, column(scores, c));
    used++;
  }
  if (used === 0) throw new ValueError('rocAucOvr: needs at least two classes present among the samples');
  return sum / used;
}

export function column(m: Matrix, j: number): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = m.data[i * m.cols + j];
  return out;
}
