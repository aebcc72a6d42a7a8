/**
 * L2-regularised logistic regression (binary, and multinomial/softmax for K > 2 classes), as scikit-learn's
 * `LogisticRegression(penalty='l2', C, solver='lbfgs')`: minimise Σᵢ sᵢ·ℓᵢ + ‖W‖²/(2C), intercepts unpenalised,
 * sᵢ the sample (class) weights. Solved in float64 by L-BFGS on the objective divided by Σ sᵢ (same optimum,
 * better scaled). For K > 2 the softmax intercepts are only defined up to a constant; they stay centred (sum 0),
 * as the solver starts at 0 and every gradient of them sums to 0.
 */
import { ShapeError, ValueError } from '../errors.js';
import { minimizeLbfgs } from './lbfgs.js';
import { encodeLabels, type Label } from './metrics.js';
import { zeros, type Matrix } from './matrix.js';

export interface LogisticOptions {
  /** Inverse regularisation strength (default 1, as sklearn). */
  C?: number;
  fitIntercept?: boolean;
  /** 'balanced' weighs class c by n / (K·n_c) (as sklearn); or an explicit weight per class; default none. */
  classWeight?: 'balanced' | Record<string, number> | null;
  /** Per-sample weights, multiplied with the class weights. */
  sampleWeight?: ArrayLike<number>;
  /** Convergence: max |gradient| of the weight-normalised objective (default 1e-8). */
  tol?: number;
  maxIter?: number;
  /** The class list (sorted); by default the distinct labels of `y`. */
  classes?: (string | number)[];
  /** Start from this model's weights (same classes and features), e.g. the solution for a nearby C. */
  warmStart?: Pick<LogisticModel, 'coef' | 'intercept'>;
}

export interface LogisticModel {
  classes: (string | number)[];
  /** [1, d] for two classes (the weights of class `classes[1]`), [K, d] otherwise. */
  coef: Matrix;
  intercept: Float64Array;
  C: number;
  iterations: number;
  converged: boolean;
  /** Class probabilities [n, K], columns in the order of `classes`. */
  predictProba(x: Matrix): Matrix;
  /** Most probable class of each row. */
  predict(x: Matrix): (string | number)[];
}

/** Per-class weights: 'balanced' → n / (K · n_c). */
export function classWeights(codes: Int32Array, k: number, spec: LogisticOptions['classWeight'], classes: (string | number)[]): Float64Array {
  const w = new Float64Array(k).fill(1);
  if (spec == null) return w;
  if (spec === 'balanced') {
    const counts = new Float64Array(k);
    for (const c of codes) counts[c]++;
    const present = counts.filter((c) => c > 0).length;
    for (let c = 0; c < k; c++) w[c] = counts[c] > 0 ? codes.length / (present * counts[c]) : 0;
    return w;
  }
  for (const [name, v] of Object.entries(spec)) {
    const c = classes.findIndex((x) => String(x) === name);
    if (c < 0) throw new ValueError(`classWeight: unknown class '${name}'; classes are ${JSON.stringify(classes)}`);
    if (!(v >= 0)) throw new ValueError(`classWeight['${name}'] must be ≥ 0, got ${v}`);
    w[c] = v;
  }
  return w;
}

export function fitLogistic(x: Matrix, y: ArrayLike<Label>, opts: LogisticOptions = {}): LogisticModel {
  const C = opts.C ?? 1;
  if (!(C > 0) || !Number.isFinite(C)) throw new ValueError(`logistic regression: C must be a finite number > 0, got ${C}`);
  if (y.length !== x.rows) throw new ShapeError(`logistic regression: ${x.rows} samples in X but ${y.length} labels`);
  const { classes, codes } = encodeLabels(y, 'logistic regression labels', opts.classes);
  const K = classes.length;
  if (K < 2) throw new ValueError(`logistic regression: needs at least two classes, got ${JSON.stringify(classes)}`);
  const fitIntercept = opts.fitIntercept ?? true;
  const n = x.rows;
  const d = x.cols;
  const cw = classWeights(codes, K, opts.classWeight, classes);
  const sw = new Float64Array(n);
  let swSum = 0;
  for (let i = 0; i < n; i++) {
    const s = cw[codes[i]] * (opts.sampleWeight ? opts.sampleWeight[i] : 1);
    if (!(s >= 0)) throw new ValueError(`logistic regression: sample weight ${i} is ${s}; expected ≥ 0`);
    sw[i] = s;
    swSum += s;
  }
  if (!(swSum > 0)) throw new ValueError('logistic regression: all sample weights are 0');
  const binary = K === 2;
  const R = binary ? 1 : K; // rows of W
  const P = d + (fitIntercept ? 1 : 0); // parameters per row: [w..., b]
  const lambda = 1 / (C * swSum);
  const X = x.data;
  const z = new Float64Array(R);

  const fg = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const s = sw[i] / swSum;
      if (s === 0) continue;
      const xi = i * d;
      for (let r = 0; r < R; r++) {
        let v = fitIntercept ? theta[r * P + d] : 0;
        const o = r * P;
        for (let j = 0; j < d; j++) v += theta[o + j] * X[xi + j];
        z[r] = v;
      }
      if (binary) {
        const t = codes[i];
        const v = z[0];
        // log(1 + exp(−y·v)) for y = ±1, computed stably; dℓ/dv = σ(v) − t.
        const m = t === 1 ? -v : v;
        loss += s * (m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m)));
        const p = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
        z[0] = s * (p - t);
      } else {
        let mx = -Infinity;
        for (let r = 0; r < R; r++) mx = Math.max(mx, z[r]);
        let se = 0;
        for (let r = 0; r < R; r++) se += Math.exp(z[r] - mx);
        const lse = mx + Math.log(se);
        loss += s * (lse - z[codes[i]]);
        for (let r = 0; r < R; r++) z[r] = s * (Math.exp(z[r] - lse) - (r === codes[i] ? 1 : 0));
      }
      for (let r = 0; r < R; r++) {
        const e = z[r];
        if (e === 0) continue;
        const o = r * P;
        for (let j = 0; j < d; j++) grad[o + j] += e * X[xi + j];
        if (fitIntercept) grad[o + d] += e;
      }
    }
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < d; j++) {
        const w = theta[r * P + j];
        loss += 0.5 * lambda * w * w;
        grad[r * P + j] += lambda * w;
      }
    }
    return loss;
  };

  const theta0 = new Float64Array(R * P);
  const ws = opts.warmStart;
  if (ws && ws.coef.rows === R && ws.coef.cols === d) {
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < d; j++) theta0[r * P + j] = ws.coef.data[r * d + j];
      if (fitIntercept) theta0[r * P + d] = ws.intercept[r];
    }
  }
  const res = minimizeLbfgs(fg, theta0, { gtol: opts.tol ?? 1e-8, maxIter: opts.maxIter ?? 1000 });
  const coef = zeros(R, d);
  const intercept = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < d; j++) coef.data[r * d + j] = res.x[r * P + j];
    if (fitIntercept) intercept[r] = res.x[r * P + d];
  }
  return makeLogisticModel(classes, coef, intercept, C, res.iterations, res.converged);
}

function makeLogisticModel(
  classes: (string | number)[],
  coef: Matrix,
  intercept: Float64Array,
  C: number,
  iterations: number,
  converged: boolean,
): LogisticModel {
  const K = classes.length;
  const d = coef.cols;
  const predictProba = (x: Matrix): Matrix => {
    if (x.cols !== d) throw new ShapeError(`logistic predict: X has ${x.cols} columns, the model ${d}`);
    const out = zeros(x.rows, K);
    const z = new Float64Array(coef.rows);
    for (let i = 0; i < x.rows; i++) {
      for (let r = 0; r < coef.rows; r++) {
        let v = intercept[r];
        for (let j = 0; j < d; j++) v += coef.data[r * d + j] * x.data[i * d + j];
        z[r] = v;
      }
      if (K === 2) {
        const p = z[0] >= 0 ? 1 / (1 + Math.exp(-z[0])) : Math.exp(z[0]) / (1 + Math.exp(z[0]));
        out.data[i * 2] = 1 - p;
        out.data[i * 2 + 1] = p;
      } else {
        let mx = -Infinity;
        for (let r = 0; r < K; r++) mx = Math.max(mx, z[r]);
        let se = 0;
        for (let r = 0; r < K; r++) se += Math.exp(z[r] - mx);
        for (let r = 0; r < K; r++) out.data[i * K + r] = Math.exp(z[r] - mx) / se;
      }
    }
    return out;
  };
  return {
    classes,
    coef,
    intercept,
    C,
    iterations,
    converged,
    predictProba,
    predict(x: Matrix) {
      const p = predictProba(x);
      return Array.from({ length: x.rows }, (_, i) => classes[argmaxRow(p, i)]);
    },
  };
}

/** Index of the largest entry of row i (first one on ties). */
export function argmaxRow(m: Matrix, i: number): number {
  let best = 0;
  for (let j = 1; j < m.cols; j++) if (m.data[i * m.cols + j] > m.data[i * m.cols + best]) best = j;
  return best;
}
