/**
 * k-nearest-neighbour probes (brute force), as scikit-learn's `KNeighborsClassifier` / `KNeighborsRegressor`
 * with `algorithm='brute'`. Cosine distance (1 − cos) suits contrastive embeddings, which live on a sphere.
 */
import { ShapeError, ValueError } from '../errors.js';
import { encodeLabels, type Label } from './metrics.js';
import { argmaxRow } from './logistic.js';
import { l2NormalizeRows, zeros, type Matrix } from './matrix.js';

export type KnnMetric = 'cosine' | 'euclidean';

export interface KnnOptions {
  /** Number of neighbours (default 5; capped by the number of training samples). */
  k?: number;
  /** Distance (default 'cosine'). */
  metric?: KnnMetric;
  /** 'uniform' (default) or 'distance' (weights 1/distance; exact matches take all the weight). */
  weights?: 'uniform' | 'distance';
}

export interface KnnClassifier {
  classes: (string | number)[];
  predictProba(x: Matrix): Matrix;
  predict(x: Matrix): (string | number)[];
}

export interface KnnRegressor {
  predict(x: Matrix): Float64Array;
}

function checkOptions(opts: KnnOptions): Required<KnnOptions> {
  const k = opts.k ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new ValueError(`knn: k must be an integer ≥ 1, got ${k}`);
  const metric = opts.metric ?? 'cosine';
  if (metric !== 'cosine' && metric !== 'euclidean') throw new ValueError(`knn: metric must be 'cosine' or 'euclidean', got '${metric}'`);
  const weights = opts.weights ?? 'uniform';
  if (weights !== 'uniform' && weights !== 'distance') throw new ValueError(`knn: weights must be 'uniform' or 'distance', got '${weights}'`);
  return { k, metric, weights };
}

/**
 * For each row of `query`, the indices (nearest first; equal distances by lower index) and distances of its k
 * nearest rows of `ref`.
 */
export function nearestNeighbors(
  ref: Matrix,
  query: Matrix,
  k: number,
  metric: KnnMetric = 'cosine',
): { indices: Int32Array[]; distances: Float64Array[] } {
  if (ref.cols !== query.cols) throw new ShapeError(`knn: query rows have ${query.cols} values, reference rows ${ref.cols}`);
  if (ref.rows === 0) throw new ShapeError('knn: no reference samples');
  const kk = Math.min(k, ref.rows);
  const a = metric === 'cosine' ? l2NormalizeRows(ref) : ref;
  const b = metric === 'cosine' ? l2NormalizeRows(query) : query;
  const d = ref.cols;
  const indices: Int32Array[] = [];
  const distances: Float64Array[] = [];
  for (let q = 0; q < b.rows; q++) {
    const idx = new Int32Array(kk).fill(-1);
    const dist = new Float64Array(kk).fill(Infinity);
    const qo = q * d;
    for (let r = 0; r < a.rows; r++) {
      const ro = r * d;
      let v: number;
      if (metric === 'cosine') {
        let s = 0;
        for (let j = 0; j < d; j++) s += a.data[ro + j] * b.data[qo + j];
        v = Math.max(0, 1 - s);
      } else {
        let s = 0;
        for (let j = 0; j < d; j++) s += (a.data[ro + j] - b.data[qo + j]) ** 2;
        v = Math.sqrt(s);
      }
      if (v >= dist[kk - 1]) continue;
      // Insertion into the sorted k-best list (strict < keeps the lower index first on ties).
      let p = kk - 1;
      while (p > 0 && dist[p - 1] > v) {
        dist[p] = dist[p - 1];
        idx[p] = idx[p - 1];
        p--;
      }
      dist[p] = v;
      idx[p] = r;
    }
    indices.push(idx);
    distances.push(dist);
  }
  return { indices, distances };
}

function neighborWeights(dist: Float64Array, weights: 'uniform' | 'distance'): Float64Array {
  const w = new Float64Array(dist.length).fill(1);
  if (weights === 'uniform') return w;
  if (dist.some((v) => v === 0)) {
    for (let i = 0; i < dist.length; i++) w[i] = dist[i] === 0 ? 1 : 0;
  } else {
    for (let i = 0; i < dist.length; i++) w[i] = 1 / dist[i];
  }
  return w;
}

export function fitKnnClassifier(x: Matrix, y: ArrayLike<Label>, opts: KnnOptions = {}): KnnClassifier {
  const o = checkOptions(opts);
  if (y.length !== x.rows) throw new ShapeError(`knn: ${x.rows} samples in X but ${y.length} labels`);
  const { classes, codes } = encodeLabels(y, 'knn labels');
  const K = classes.length;
  const predictProba = (q: Matrix): Matrix => {
    const { indices, distances } = nearestNeighbors(x, q, o.k, o.metric);
    const out = zeros(q.rows, K);
    for (let i = 0; i < q.rows; i++) {
      const w = neighborWeights(distances[i], o.weights);
      let total = 0;
      for (let j = 0; j < w.length; j++) {
        out.data[i * K + codes[indices[i][j]]] += w[j];
        total += w[j];
      }
      for (let c = 0; c < K; c++) out.data[i * K + c] /= total;
    }
    return out;
  };
  return {
    classes,
    predictProba,
    predict(q: Matrix) {
      const p = predictProba(q);
      return Array.from({ length: q.rows }, (_, i) => classes[argmaxRow(p, i)]);
    },
  };
}

export function fitKnnRegressor(x: Matrix, y: ArrayLike<number>, opts: KnnOptions = {}): KnnRegressor {
  const o = checkOptions(opts);
  if (y.length !== x.rows) throw new ShapeError(`knn: ${x.rows} samples in X but ${y.length} targets`);
  for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i])) throw new ValueError(`knn: target ${i} is ${y[i]}`);
  return {
    predict(q: Matrix) {
      const { indices, distances } = nearestNeighbors(x, q, o.k, o.metric);
      const out = new Float64Array(q.rows);
      for (let i = 0; i < q.rows; i++) {
        const w = neighborWeights(distances[i], o.weights);
        let s = 0;
        let t = 0;
        for (let j = 0; j < w.length; j++) {
          s += w[j] * y[indices[i][j]];
          t += w[j];
        }
        out[i] = s / t;
      }
      return out;
    },
  };
}
