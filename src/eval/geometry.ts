/**
 * Alignment and uniformity of an embedding (Wang & Isola, ICML 2020, "Understanding contrastive representation
 * learning through alignment and uniformity on the hypersphere", eqs. 4–5), computed in float64 on frozen
 * embeddings. (The tfjs losses of the same name live with the objectives; these are evaluation numbers.)
 */
import { ShapeError, ValueError } from '../errors.js';
import { Rng } from '../util/random.js';
import { l2NormalizeRows, takeRows, toMatrix, type MatrixLike } from './matrix.js';

export interface AlignmentOptions {
  /** Exponent α of the distance (default 2). */
  alpha?: number;
  /** L2-normalise the rows first (default true: the metric is defined on the hypersphere). */
  normalize?: boolean;
}

/** ℒ_align = mean_i ‖f(x_i) − f(x_i⁺)‖₂^α over positive pairs (row i of z1 with row i of z2); lower is better. */
export function alignmentMetric(z1: MatrixLike, z2: MatrixLike, opts: AlignmentOptions = {}): number {
  const alpha = opts.alpha ?? 2;
  if (!(alpha > 0)) throw new ValueError(`alignment: alpha must be > 0, got ${alpha}`);
  let a = toMatrix(z1, 'alignment z1');
  let b = toMatrix(z2, 'alignment z2');
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new ShapeError(`alignment: z1 is ${a.rows}×${a.cols} but z2 is ${b.rows}×${b.cols}; expected the same shape`);
  }
  if (opts.normalize ?? true) {
    a = l2NormalizeRows(a);
    b = l2NormalizeRows(b);
  }
  let s = 0;
  for (let i = 0; i < a.rows; i++) {
    let d2 = 0;
    for (let j = 0; j < a.cols; j++) d2 += (a.data[i * a.cols + j] - b.data[i * a.cols + j]) ** 2;
    s += Math.pow(Math.sqrt(d2), alpha);
  }
  return s / a.rows;
}

export interface UniformityOptions {
  /** Temperature t of the Gaussian potential (default 2). */
  t?: number;
  normalize?: boolean;
  /** Above this many rows a seeded random subset is used (the metric is O(n²)); default 2000. */
  maxSamples?: number;
  seed?: number;
}

/** ℒ_uniform = log mean_{i<j} exp(−t‖f(x_i) − f(x_j)‖²); lower (more negative) is more uniform. */
export function uniformityMetric(z: MatrixLike, opts: UniformityOptions = {}): number {
  const t = opts.t ?? 2;
  if (!(t > 0)) throw new ValueError(`uniformity: t must be > 0, got ${t}`);
  let x = toMatrix(z, 'uniformity z');
  if (x.rows < 2) throw new ShapeError(`uniformity: needs at least 2 rows, got ${x.rows}`);
  const max = opts.maxSamples ?? 2000;
  if (x.rows > max) x = takeRows(x, new Rng(opts.seed ?? 0).permutation(x.rows).slice(0, max));
  if (opts.normalize ?? true) x = l2NormalizeRows(x);
  const { rows: n, cols: d, data } = x;
  // log-mean-exp with the largest exponent factored out (it is 0 for duplicated rows).
  const e: number[] = [];
  let mx = -Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d2 = 0;
      for (let k = 0; k < d; k++) d2 += (data[i * d + k] - data[j * d + k]) ** 2;
      const v = -t * d2;
      e.push(v);
      if (v > mx) mx = v;
    }
  }
  let s = 0;
  for (const v of e) s += Math.exp(v - mx);
  return mx + Math.log(s / e.length);
}
