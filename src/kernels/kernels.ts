/**
 * Kernels on metadata (LOSSES.md §5, §6, §9, §10): first-class values that map metadata rows `[n, q]` to a
 * similarity matrix `[n, n]`. They weight positive pairs (y-Aware InfoNCE, kernel CLIP) or define a prior
 * (Decoupled Uniformity). Kernel matrices are constants of the objective: no gradient flows through metadata.
 */
import * as tf from '../tf.js';
import { ConfigError, ShapeError, ValueError } from '../errors.js';
import { metadataMatrix, type Metadata } from './metadata.js';

/** A serialisable description of a built-in kernel (configs, fixtures). */
export type KernelSpec =
  | { type: 'rbf'; sigma: number }
  | { type: 'delta' }
  | { type: 'cosine' }
  | { type: 'product'; factors: KernelSpec[] }
  | { type: 'longitudinal'; sigmaTime: number; metadata?: KernelSpec };

export interface Kernel {
  /** Human-readable, e.g. `rbf(σ=5)`. */
  readonly name: string;
  /** How many metadata columns it consumes as a factor of `productKernel` (1 when absent). */
  readonly columns?: number;
  /** Whether string (categorical, coded) columns are meaningful to it: true only for equality-based kernels. */
  readonly categorical?: boolean;
  /** Present for built-in kernels: the spec `kernelFromSpec` rebuilds it from. */
  readonly spec?: KernelSpec;
  /**
   * `[n, c]` metadata → `[n, n]` kernel matrix. `categorical[j]` says column j holds codes of strings.
   * Called outside any differentiated path; returns a new tensor the caller disposes.
   */
  matrix(y: tf.Tensor2D, categorical?: readonly boolean[]): tf.Tensor2D;
}

/** A user kernel may also be a plain function `[n, q] → [n, n]`. */
export type KernelLike = Kernel | ((y: tf.Tensor2D) => tf.Tensor2D);

function checkNumericColumns(kernel: string, categorical: readonly boolean[] | undefined): void {
  const j = categorical?.indexOf(true) ?? -1;
  if (j >= 0) {
    throw new ValueError(
      `${kernel} needs numeric metadata, but column ${j} holds strings; use deltaKernel() for a categorical column`,
    );
  }
}

function checkSigma(sigma: number, name: string): void {
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma <= 0) {
    throw new ValueError(`${name} must be a finite number > 0 (in the attribute's units); got ${sigma}`);
  }
}

/**
 * A symmetric `[n, n]` matrix `f(row a, row b)` computed on the CPU in float64: kernel matrices are small
 * constants of the objectives, and one JS loop beats a chain of broadcast tensor ops (and keeps full precision).
 */
function symmetricOnCpu(y: tf.Tensor2D, f: (data: ArrayLike<number>, a: number, b: number, q: number) => number): tf.Tensor2D {
  const [n, q] = y.shape;
  const data = y.dataSync();
  const out = new Float32Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      const v = f(data, a * q, b * q, q);
      out[a * n + b] = v;
      out[b * n + a] = v;
    }
  }
  return tf.tensor2d(out, [n, n]);
}

/**
 * Gaussian (RBF) kernel `k(a, b) = exp(−‖y_a − y_b‖² / (2σ²))`, σ in the metadata's units (LOSSES.md §5:
 * age with σ = 5; §6: prior representations). On several columns it uses the Euclidean distance between rows.
 */
export function rbfKernel(sigma: number): Kernel {
  checkSigma(sigma, 'rbfKernel: sigma');
  const name = `rbf(σ=${sigma})`;
  const scale = -1 / (2 * sigma * sigma);
  return {
    name,
    spec: { type: 'rbf', sigma },
    matrix(y, categorical) {
      checkNumericColumns(name, categorical);
      return symmetricOnCpu(y, (d, a, b, q) => {
        let sq = 0;
        for (let k = 0; k < q; k++) sq += (d[a + k] - d[b + k]) ** 2;
        return Math.exp(sq * scale);
      });
    },
  };
}

/** Delta kernel `k(a, b) = 1` if the rows are equal (every column), else 0 — for discrete metadata (sex, site, label). */
export function deltaKernel(): Kernel {
  return {
    name: 'delta',
    categorical: true,
    spec: { type: 'delta' },
    matrix(y) {
      return symmetricOnCpu(y, (d, a, b, q) => {
        for (let k = 0; k < q; k++) if (d[a + k] !== d[b + k]) return 0;
        return 1;
      });
    },
  };
}

/** Cosine kernel `k(a, b) = y_a·y_b / (‖y_a‖‖y_b‖)` (LOSSES.md §6, e.g. on a generative model's representation). */
export function cosineKernel(): Kernel {
  return {
    name: 'cosine',
    spec: { type: 'cosine' },
    matrix(y, categorical) {
      checkNumericColumns('cosine', categorical);
      const [n, q] = y.shape;
      const data = y.dataSync();
      const norms = new Float64Array(n);
      for (let a = 0; a < n; a++) {
        let sq = 0;
        for (let k = 0; k < q; k++) sq += data[a * q + k] ** 2;
        norms[a] = Math.sqrt(sq);
        if (!(norms[a] > 0)) throw new ValueError(`cosineKernel: metadata row ${a} has zero norm; the cosine is undefined`);
      }
      return symmetricOnCpu(y, (d, a, b, k) => {
        let dot = 0;
        for (let c = 0; c < k; c++) dot += d[a + c] * d[b + c];
        return dot / (norms[a / k] * norms[b / k]);
      });
    },
  };
}

function asKernel(kernel: KernelLike, name: string): Kernel {
  if (typeof kernel === 'function') return userKernel(kernel);
  if (kernel == null || typeof kernel.matrix !== 'function') {
    throw new ValueError(`${name} must be a Kernel (rbfKernel(σ), deltaKernel(), …) or a function [n, q] → [n, n]`);
  }
  return kernel;
}

/**
 * Product of per-attribute kernels (LOSSES.md §5, multi-attribute metadata): factor i applies to metadata
 * column i (or to the next `factor.columns` columns), e.g. `productKernel(rbfKernel(5), deltaKernel())` on
 * `[age, sex]` rows.
 */
export function productKernel(...factors: KernelLike[]): Kernel {
  if (factors.length === 0) throw new ValueError('productKernel needs at least one factor kernel');
  const ks = factors.map((k, i) => asKernel(k, `productKernel factor ${i}`));
  const widths = ks.map((k) => k.columns ?? 1);
  const columns = widths.reduce((a, b) => a + b, 0);
  const specs = ks.map((k) => k.spec);
  const name = `product(${ks.map((k) => k.name).join(', ')})`;
  return {
    name,
    columns,
    categorical: true,
    ...(specs.every((s) => s != null) ? { spec: { type: 'product', factors: specs as KernelSpec[] } } : {}),
    matrix(y, categorical) {
      if (y.shape[1] !== columns) {
        throw new ShapeError(
          `${name} has ${ks.length} factor(s) consuming ${columns} metadata column(s); got metadata [${y.shape.join(', ')}]`,
        );
      }
      return tf.tidy(() => {
        let product: tf.Tensor2D | null = null;
        let start = 0;
        ks.forEach((k, i) => {
          const cols = tf.slice(y, [0, start], [-1, widths[i]]);
          const cat = categorical?.slice(start, start + widths[i]);
          const factorMatrix = evaluateKernel(k, cols, cat);
          product = product == null ? factorMatrix : (tf.mul(product, factorMatrix) as tf.Tensor2D);
          start += widths[i];
        });
        return product!;
      });
    },
  };
}

/**
 * A user kernel from a function `[n, q] → [n, n]` (return a new tensor; it is disposed by the caller).
 * `columns` is its width inside `productKernel`; `categorical: true` lets it receive string-coded columns.
 */
export function userKernel(
  fn: (y: tf.Tensor2D) => tf.Tensor2D,
  options: { name?: string; columns?: number; categorical?: boolean } = {},
): Kernel {
  if (typeof fn !== 'function') throw new ValueError('userKernel: fn must be a function [n, q] → [n, n]');
  const { name = fn.name || 'user', columns, categorical = false } = options;
  return {
    name,
    ...(columns != null ? { columns } : {}),
    categorical,
    matrix(y, cat) {
      if (!categorical) checkNumericColumns(`kernel '${name}'`, cat);
      return fn(y);
    },
  };
}

/**
 * The longitudinal kernel of LOSSES.md §10 on rows `[subject, time, ...metadata]`:
 * `K = δ(subject) · exp(−Δt² / (2σ_t²)) · K_meta(metadata)` (the last factor only when `metadata` is given).
 * Subject ids may be numbers or strings. Use it as `yAwareInfoNCE`'s kernel over visits.
 */
export function longitudinalKernel(options: { sigmaTime: number; metadata?: KernelLike }): Kernel {
  const { sigmaTime } = options;
  checkSigma(sigmaTime, 'longitudinalKernel: sigmaTime');
  const meta = options.metadata == null ? null : asKernel(options.metadata, 'longitudinalKernel: metadata');
  const subject = deltaKernel();
  const time = rbfKernel(sigmaTime);
  const name = `longitudinal(subject × rbf(σt=${sigmaTime})${meta ? ` × ${meta.name}` : ''})`;
  return {
    name,
    ...(meta == null ? { columns: 2 } : meta.columns != null ? { columns: 2 + meta.columns } : {}),
    categorical: true,
    ...(meta == null
      ? { spec: { type: 'longitudinal', sigmaTime } }
      : meta.spec != null
        ? { spec: { type: 'longitudinal', sigmaTime, metadata: meta.spec } }
        : {}),
    matrix(y, categorical) {
      const q = y.shape[1];
      if (meta == null ? q !== 2 : q < 3) {
        throw new ShapeError(
          `${name} expects metadata rows [subject, time${meta ? ', ...metadata' : ''}]; got [${y.shape.join(', ')}]`,
        );
      }
      if (categorical?.[1]) throw new ValueError(`${name}: the time column (1) must be numeric, not strings`);
      return tf.tidy(() => {
        const k = tf.mul(
          evaluateKernel(subject, tf.slice(y, [0, 0], [-1, 1]), categorical?.slice(0, 1)),
          evaluateKernel(time, tf.slice(y, [0, 1], [-1, 1]), categorical?.slice(1, 2)),
        );
        if (meta == null) return k as tf.Tensor2D;
        const rest = evaluateKernel(meta, tf.slice(y, [0, 2], [-1, q - 2]), categorical?.slice(2));
        return tf.mul(k, rest) as tf.Tensor2D;
      });
    },
  };
}

/** Runs a kernel on `[n, c]` and checks that it returned a finite `[n, n]` matrix. */
function evaluateKernel(kernel: Kernel, y: tf.Tensor2D, categorical?: readonly boolean[]): tf.Tensor2D {
  const k = kernel.matrix(y, categorical);
  const n = y.shape[0];
  if (!(k instanceof tf.Tensor) || k.rank !== 2 || k.shape[0] !== n || k.shape[1] !== n) {
    const got = k instanceof tf.Tensor ? `[${k.shape.join(', ')}]` : String(k);
    throw new ShapeError(`kernel '${kernel.name}' must return an [n, n] = [${n}, ${n}] matrix; got ${got}`);
  }
  return k;
}

/**
 * The kernel matrix `[n, n]` of `kernel` on `metadata` (`[n, q]`, arrays or a tensor; string columns are
 * categorical). Validates the metadata (length `n` when given, finite) and the result (shape, finite).
 * The caller disposes the returned tensor.
 */
export function kernelMatrix(
  kernel: KernelLike,
  metadata: Metadata,
  options: { n?: number; name?: string } = {},
): tf.Tensor2D {
  const name = options.name ?? 'metadata';
  const k = asKernel(kernel, 'kernel');
  const { values, categorical } = metadataMatrix(metadata, name, options.n);
  try {
    if (k.columns != null && values.shape[1] !== k.columns) {
      throw new ShapeError(`${name} must be [n, ${k.columns}] for kernel ${k.name}; got [${values.shape.join(', ')}]`);
    }
    const matrix = evaluateKernel(k, values, categorical);
    const data = matrix.dataSync();
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        matrix.dispose();
        throw new ValueError(`kernel '${k.name}' gave a non-finite value (${data[i]}) at [${Math.floor(i / values.shape[0])}, ${i % values.shape[0]}]`);
      }
    }
    return matrix;
  } finally {
    values.dispose();
  }
}

/** Rebuilds a built-in kernel from its spec (`kernel.spec`), e.g. from a config file. */
export function kernelFromSpec(spec: KernelSpec, field = 'kernel'): Kernel {
  switch (spec?.type) {
    case 'rbf':
      return rbfKernel(spec.sigma);
    case 'delta':
      return deltaKernel();
    case 'cosine':
      return cosineKernel();
    case 'product':
      if (!Array.isArray(spec.factors)) throw new ConfigError(`${field}.factors`, 'must be a list of kernel specs');
      return productKernel(...spec.factors.map((f, i) => kernelFromSpec(f, `${field}.factors[${i}]`)));
    case 'longitudinal':
      return longitudinalKernel({
        sigmaTime: spec.sigmaTime,
        ...(spec.metadata ? { metadata: kernelFromSpec(spec.metadata, `${field}.metadata`) } : {}),
      });
    default:
      throw new ConfigError(
        `${field}.type`,
        `unknown kernel '${(spec as { type?: unknown })?.type}'; expected rbf, delta, cosine, product or longitudinal`,
      );
  }
}
