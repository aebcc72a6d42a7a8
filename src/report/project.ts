/**
 * 2D maps of embeddings for reports: UMAP (umap-js, seeded through its `random` option so the same seed gives the
 * same map) or PCA (deterministic; used for fewer than 15 points, where UMAP's neighbourhood graph is meaningless).
 */
import { UMAP } from 'umap-js';
import { ValueError } from '../errors.js';
import { Rng } from '../util/random.js';
import { toMatrix, type Matrix, type MatrixLike } from '../eval/matrix.js';

export type ProjectionMethod = 'umap' | 'pca' | 'auto';

export interface ProjectionOptions {
  /** 'auto' (default): UMAP from 15 points on, PCA below. */
  method?: ProjectionMethod;
  seed?: number;
  /** UMAP neighbours (default min(15, n − 1)). */
  nNeighbors?: number;
  minDist?: number;
  /** UMAP optimisation epochs (default: umap-js' choice for n). */
  nEpochs?: number;
}

export interface Projection {
  method: 'umap' | 'pca';
  x: Float64Array;
  y: Float64Array;
  /** PCA: fraction of variance of each of the two components. */
  explainedVariance?: [number, number];
}

/** Top-2 principal components (power iteration with deflation on the covariance, float64, sign-normalised). */
export function pca2d(data: Matrix, seed = 0): Projection {
  const { rows: n, cols: d } = data;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data.data[i * d + j] / n;
  const xc = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xc[i * d + j] = data.data[i * d + j] - mean[j];
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const v = xc[i * d + a];
      if (v === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += v * xc[i * d + b];
    }
  }
  let trace = 0;
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a];
    trace += cov[a * d + a];
  }
  const rng = new Rng(seed);
  const comps: Float64Array[] = [];
  const eig: number[] = [];
  for (let c = 0; c < Math.min(2, d); c++) {
    let v = Float64Array.from({ length: d }, () => rng.normal());
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += cov[a * d + b] * v[b];
        w[a] = s;
      }
      for (const u of comps) {
        let p = 0;
        for (let a = 0; a < d; a++) p += w[a] * u[a];
        for (let a = 0; a < d; a++) w[a] -= p * u[a];
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      let change = 0;
      for (let a = 0; a < d; a++) {
        const nv = w[a] / norm;
        change = Math.max(change, Math.abs(Math.abs(nv) - Math.abs(v[a])));
        w[a] = nv;
      }
      v = w;
      lambda = norm;
      if (change < 1e-10) break;
    }
    // Sign: the largest-magnitude loading is positive, so the map does not flip between runs.
    let big = 0;
    for (let a = 1; a < d; a++) if (Math.abs(v[a]) > Math.abs(v[big])) big = a;
    if (v[big] < 0) for (let a = 0; a < d; a++) v[a] = -v[a];
    comps.push(v);
    eig.push(lambda);
  }
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      x[i] += xc[i * d + a] * comps[0][a];
      if (comps[1]) y[i] += xc[i * d + a] * comps[1][a];
    }
  }
  return { method: 'pca', x, y, explainedVariance: [trace > 0 ? eig[0] / trace : 0, trace > 0 && eig[1] != null ? eig[1] / trace : 0] };
}

/** Projects embeddings [n, d] to 2D. */
export function project2d(embeddings: MatrixLike, opts: ProjectionOptions = {}): Projection {
  const m = toMatrix(embeddings, 'embeddings');
  const method = opts.method ?? 'auto';
  if (method !== 'umap' && method !== 'pca' && method !== 'auto') throw new ValueError(`projection method must be 'umap', 'pca' or 'auto', got '${method}'`);
  const seed = opts.seed ?? 0;
  if (method === 'pca' || (method === 'auto' && m.rows < 15) || m.rows < 4) return pca2d(m, seed);
  const rng = new Rng(seed);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.max(2, Math.min(opts.nNeighbors ?? 15, m.rows - 1)),
    minDist: opts.minDist ?? 0.1,
    ...(opts.nEpochs != null ? { nEpochs: opts.nEpochs } : {}),
    random: () => rng.next(),
  });
  const rows = Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  const out = umap.fit(rows);
  return { method: 'umap', x: Float64Array.from(out, (p) => p[0]), y: Float64Array.from(out, (p) => p[1]) };
}
