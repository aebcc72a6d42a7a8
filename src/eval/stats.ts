/**
 * Confidence intervals that are cheap on frozen embeddings: the Student-t interval over cross-validation folds,
 * and the percentile bootstrap over (pooled out-of-fold) predictions — resampling whole groups (subjects) when
 * groups are given, so repeated sessions of one subject do not narrow the interval.
 */
import { ValueError } from '../errors.js';
import { Rng } from '../util/random.js';

/** ln Γ(x) for x > 0: Lanczos approximation with the 14-term coefficients of Numerical Recipes (3rd ed.), ~1e-15. */
const LANCZOS = [
  57.1562356658629235, -59.5979603554754912, 14.1360979747417471, -0.491913816097620199, 0.339946499848118887e-4,
  0.465236289270485756e-4, -0.983744753048795646e-4, 0.158088703224912494e-3, -0.210264441724104883e-3,
  0.217439618115212643e-3, -0.16431810653676389e-3, 0.844182239838527433e-4, -0.261908384015814087e-4,
  0.368991826595316234e-5,
];

function logGamma(x: number): number {
  let y = x;
  let tmp = x + 5.2421875;
  tmp = (x + 0.5) * Math.log(tmp) - tmp;
  let ser = 0.999999999999997092;
  for (const c of LANCZOS) ser += c / ++y;
  return tmp + Math.log((2.5066282746310005 * ser) / x);
}

/** Continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
function incompleteBeta(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lbt) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lbt) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** CDF of Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(df / 2, 0.5, x);
  return t >= 0 ? 1 - tail : tail;
}

/** Quantile of Student's t (bisection on the CDF; |error| < 1e-10). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new ValueError(`t quantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new ValueError(`t quantile: df must be > 0, got ${df}`);
  let lo = -1;
  let hi = 1;
  while (studentTCdf(lo, df) > p) lo *= 2;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
}

/** Student-t interval of the mean of per-fold values: mean ± t(1−(1−level)/2, k−1)·sd/√k; null for < 2 values. */
export function foldInterval(values: readonly number[], level = 0.95): [number, number] | null {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length < 2) return null;
  const m = mean(v);
  const h = (studentTQuantile(1 - (1 - level) / 2, v.length - 1) * sampleStd(v)) / Math.sqrt(v.length);
  return [m - h, m + h];
}

/** The q-quantile of sorted values, linear interpolation (NumPy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  seed?: number;
  level?: number;
  /** Group of each sample: whole groups are resampled (cluster bootstrap). */
  groups?: ArrayLike<string | number>;
}

/**
 * Percentile bootstrap interval of `statistic(indices)` over `n` samples. Resamples where the statistic is not
 * finite (e.g. an AUC with one class drawn) are dropped; null when fewer than half of them are usable.
 */
export function bootstrapInterval(
  n: number,
  statistic: (indices: Int32Array) => number,
  opts: BootstrapOptions = {},
): [number, number] | null {
  const B = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  const rng = new Rng(opts.seed ?? 0);
  let units: number[][];
  if (opts.groups) {
    const m = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const key = String(opts.groups[i]);
      if (!m.has(key)) m.set(key, []);
      m.get(key)!.push(i);
    }
    units = [...m.values()];
  } else {
    units = Array.from({ length: n }, (_, i) => [i]);
  }
  const values: number[] = [];
  for (let b = 0; b < B; b++) {
    const idx: number[] = [];
    for (let u = 0; u < units.length; u++) idx.push(...units[rng.int(0, units.length)]);
    let v: number;
    try {
      v = statistic(Int32Array.from(idx));
    } catch {
      v = NaN;
    }
    if (Number.isFinite(v)) values.push(v);
  }
  if (values.length < B / 2) return null;
  values.sort((a, b) => a - b);
  return [quantileSorted(values, (1 - level) / 2), quantileSorted(values, 1 - (1 - level) / 2)];
}
