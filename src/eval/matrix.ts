/**
 * Dense float64 matrices for evaluation on frozen representations. Probes run in plain TypeScript (no tfjs):
 * the matrices are small (samples × embedding size), float64 keeps the solvers well conditioned, and the
 * results are deterministic across backends.
 */
import { ShapeError, ValueError } from '../errors.js';

/** A row-major float64 matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** What evaluation functions accept as a matrix: rows of numbers, or a flat row-major array with its shape. */
export type MatrixLike =
  | Matrix
  | readonly (readonly number[] | Float32Array | Float64Array)[]
  | { rows: number; cols: number; data: ArrayLike<number> };

/** Converts and validates a matrix argument; `name` is used in error messages. Values must be finite. */
export function toMatrix(x: MatrixLike, name = 'embeddings'): Matrix {
  let out: Matrix;
  if (Array.isArray(x)) {
    const rows = x.length;
    if (rows === 0) throw new ShapeError(`${name}: expected at least one row, got an empty array`);
    const cols = (x[0] as ArrayLike<number>).length;
    const data = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const r = x[i] as ArrayLike<number>;
      if (r == null || r.length !== cols) {
        throw new ShapeError(`${name}: row ${i} has ${r?.length ?? 'no'} values, expected ${cols} like row 0`);
      }
      for (let j = 0; j < cols; j++) data[i * cols + j] = r[j];
    }
    out = { rows, cols, data };
  } else {
    const m = x as { rows: number; cols: number; data: ArrayLike<number> };
    if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0 || m.cols < 0) {
      throw new ShapeError(`${name}: rows/cols must be non-negative integers, got ${m.rows}×${m.cols}`);
    }
    if (m.data == null || m.data.length !== m.rows * m.cols) {
      throw new ShapeError(`${name}: data has ${m.data?.length} values, expected rows×cols = ${m.rows}×${m.cols}`);
    }
    out = { rows: m.rows, cols: m.cols, data: m.data instanceof Float64Array ? m.data : Float64Array.from(m.data) };
  }
  if (out.cols === 0) throw new ShapeError(`${name}: rows have no values (0 columns)`);
  for (let i = 0; i < out.data.length; i++) {
    if (!Number.isFinite(out.data[i])) {
      const r = Math.floor(i / out.cols);
      throw new ValueError(`${name}: row ${r}, column ${i % out.cols} is ${out.data[i]}; embeddings must be finite`);
    }
  }
  return out;
}

export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** The rows `idx` of `x`, as a new matrix. */
export function takeRows(x: Matrix, idx: ArrayLike<number>): Matrix {
  const out = zeros(idx.length, x.cols);
  for (let i = 0; i < idx.length; i++) out.data.set(x.data.subarray(idx[i] * x.cols, (idx[i] + 1) * x.cols), i * x.cols);
  return out;
}

export function take<T>(values: ArrayLike<T>, idx: ArrayLike<number>): T[] {
  const out = new Array<T>(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = values[idx[i]];
  return out;
}

/** Rows scaled to unit L2 norm (zero rows stay zero). */
export function l2NormalizeRows(x: Matrix): Matrix {
  const out = zeros(x.rows, x.cols);
  for (let i = 0; i < x.rows; i++) {
    let s = 0;
    for (let j = 0; j < x.cols; j++) s += x.data[i * x.cols + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < x.cols; j++) out.data[i * x.cols + j] = x.data[i * x.cols + j] * inv;
  }
  return out;
}

/** a · bᵀ ([a.rows, b.rows]): pairwise dot products of the rows. */
export function matMulT(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.cols) throw new ShapeError(`row lengths differ: ${a.cols} vs ${b.cols}`);
  const d = a.cols;
  const out = zeros(a.rows, b.rows);
  for (let i = 0; i < a.rows; i++) {
    const ai = i * d;
    for (let j = 0; j < b.rows; j++) {
      const bj = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += a.data[ai + k] * b.data[bj + k];
      out.data[i * b.rows + j] = s;
    }
  }
  return out;
}

/** Per-column mean and standard deviation (population, as scikit-learn's StandardScaler). */
export interface Standardizer {
  mean: Float64Array;
  scale: Float64Array;
}

/** Fits a standardizer; constant columns get scale 1 so they map to 0 instead of NaN. */
export function fitStandardizer(x: Matrix): Standardizer {
  const { rows, cols, data } = x;
  const mean = new Float64Array(cols);
  const scale = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += data[i * cols + j];
  for (let j = 0; j < cols; j++) mean[j] /= rows;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) scale[j] += (data[i * cols + j] - mean[j]) ** 2;
  for (let j = 0; j < cols; j++) {
    const sd = Math.sqrt(scale[j] / rows);
    // Relative threshold: a column that is constant up to rounding is treated as constant.
    scale[j] = sd > 1e-12 * Math.max(1, Math.abs(mean[j])) ? sd : 1;
  }
  return { mean, scale };
}

export function applyStandardizer(x: Matrix, s: Standardizer): Matrix {
  const out = zeros(x.rows, x.cols);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) out.data[i * x.cols + j] = (x.data[i * x.cols + j] - s.mean[j]) / s.scale[j];
  }
  return out;
}

/**
 * In-place Cholesky factorisation of a symmetric positive-definite n×n matrix (lower triangle, row-major).
 * Returns false when the matrix is not numerically positive definite.
 */
export function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] ** 2;
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      const ri = i * n;
      const rj = j * n;
      for (let k = 0; k < j; k++) s -= a[ri + k] * a[rj + k];
      a[ri + j] = s / ljj;
    }
  }
  return true;
}

/** Solves (L Lᵀ) x = b in place for one right-hand side, with L from `choleskyInPlace`. */
export function choleskySolveInPlace(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}
