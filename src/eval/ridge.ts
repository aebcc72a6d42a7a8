/**
 * Ridge regression, closed form: minimise ‖y − Xw − b‖² + α‖w‖² (the intercept b is not penalised), as
 * scikit-learn's `Ridge`. Solved by Cholesky on the smaller of the primal (d×d) and dual (n×n) systems.
 */
import { ShapeError, ValueError } from '../errors.js';
import { choleskyInPlace, choleskySolveInPlace, type Matrix } from './matrix.js';

export interface RidgeOptions {
  /** L2 penalty α ≥ 0 (default 1). */
  alpha?: number;
  /** Fit an unpenalised intercept (default true). */
  fitIntercept?: boolean;
}

export interface RidgeModel {
  coef: Float64Array;
  intercept: number;
  alpha: number;
  predict(x: Matrix): Float64Array;
}

/**
 * Centred data and its Gram matrix, computed once and reused for every α (the inner CV solves the same
 * training set for a grid of penalties).
 */
export class RidgeSystem {
  private readonly xc: Float64Array;
  private readonly yc: Float64Array;
  private readonly xMean: Float64Array;
  private readonly yMean: number;
  private readonly gram: Float64Array;
  private readonly dual: boolean;
  readonly n: number;
  readonly d: number;

  constructor(x: Matrix, y: ArrayLike<number>, fitIntercept = true) {
    if (y.length !== x.rows) throw new ShapeError(`ridge: ${x.rows} samples in X but ${y.length} targets`);
    if (x.rows === 0) throw new ShapeError('ridge: needs at least one sample');
    const n = (this.n = x.rows);
    const d = (this.d = x.cols);
    this.xMean = new Float64Array(d);
    this.yMean = 0;
    if (fitIntercept) {
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) this.xMean[j] += x.data[i * d + j];
      for (let j = 0; j < d; j++) this.xMean[j] /= n;
      let s = 0;
      for (let i = 0; i < n; i++) s += y[i];
      this.yMean = s / n;
    }
    this.xc = new Float64Array(n * d);
    this.yc = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(y[i])) throw new ValueError(`ridge: target ${i} is ${y[i]}; expected finite numbers`);
      this.yc[i] = y[i] - this.yMean;
      for (let j = 0; j < d; j++) this.xc[i * d + j] = x.data[i * d + j] - this.xMean[j];
    }
    // Solve in the smaller space: d×d normal equations, or the n×n kernel system when there are fewer samples.
    this.dual = n < d;
    const m = this.dual ? n : d;
    const g = (this.gram = new Float64Array(m * m));
    const xc = this.xc;
    if (this.dual) {
      for (let i = 0; i < n; i++) {
        for (let k = 0; k <= i; k++) {
          let s = 0;
          for (let j = 0; j < d; j++) s += xc[i * d + j] * xc[k * d + j];
          g[i * n + k] = s;
          g[k * n + i] = s;
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const r = i * d;
        for (let a = 0; a < d; a++) {
          const v = xc[r + a];
          if (v === 0) continue;
          for (let b = 0; b <= a; b++) g[a * d + b] += v * xc[r + b];
        }
      }
      for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) g[b * d + a] = g[a * d + b];
    }
  }

  /** The model for penalty α. */
  solve(alpha: number): RidgeModel {
    if (!(alpha >= 0) || !Number.isFinite(alpha)) throw new ValueError(`ridge: alpha must be a finite number ≥ 0, got ${alpha}`);
    const { n, d, xc, yc } = this;
    const m = this.dual ? n : d;
    const a = Float64Array.from(this.gram);
    for (let i = 0; i < m; i++) a[i * m + i] += alpha;
    if (!choleskyInPlace(a, m)) {
      throw new ValueError(`ridge: the system is singular at alpha=${alpha} (collinear or too few samples); use alpha > 0`);
    }
    const coef = new Float64Array(d);
    if (this.dual) {
      const dualCoef = Float64Array.from(yc);
      choleskySolveInPlace(a, n, dualCoef);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) coef[j] += xc[i * d + j] * dualCoef[i];
    } else {
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) coef[j] += xc[i * d + j] * yc[i];
      choleskySolveInPlace(a, d, coef);
    }
    let intercept = this.yMean;
    for (let j = 0; j < d; j++) intercept -= this.xMean[j] * coef[j];
    return makeRidgeModel(coef, intercept, alpha);
  }
}

function makeRidgeModel(coef: Float64Array, intercept: number, alpha: number): RidgeModel {
  return {
    coef,
    intercept,
    alpha,
    predict(x: Matrix): Float64Array {
      if (x.cols !== coef.length) throw new ShapeError(`ridge predict: X has ${x.cols} columns, the model ${coef.length}`);
      const out = new Float64Array(x.rows);
      for (let i = 0; i < x.rows; i++) {
        let s = intercept;
        for (let j = 0; j < x.cols; j++) s += x.data[i * x.cols + j] * coef[j];
        out[i] = s;
      }
      return out;
    },
  };
}

/** Fits ridge regression with a given α (see `RidgeSystem` to solve several α on the same data). */
export function fitRidge(x: Matrix, y: ArrayLike<number>, opts: RidgeOptions = {}): RidgeModel {
  return new RidgeSystem(x, y, opts.fitIntercept ?? true).solve(opts.alpha ?? 1);
}
