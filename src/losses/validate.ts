/**
 * Input validation shared by the objectives. Every check runs before any computation and throws a typed
 * error (ShapeError / ValueError) that names the argument and what was expected.
 */
import * as tf from '../tf.js';
import { ShapeError, ValueError } from '../errors.js';

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** A finite number > 0 (temperatures, σ, t, ...). */
export function positive(value: unknown, name: string, hint = ''): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValueError(`${name} must be a finite number > 0${hint}; got ${String(value)}`);
  }
  return value;
}

/** A finite number ≥ 0 (ε, β, λ weights). */
export function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValueError(`${name} must be a finite number ≥ 0; got ${String(value)}`);
  }
  return value;
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (!allowed.includes(value as T)) {
    throw new ValueError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Throws a ValueError naming the first NaN/Inf element of `x`. */
export function finite(x: tf.Tensor, name: string): void {
  const ok = tf.tidy(() => tf.all(tf.isFinite(x)));
  const good = ok.dataSync()[0] === 1;
  ok.dispose();
  if (good) return;
  const data = x.dataSync();
  const i = data.findIndex((v) => !Number.isFinite(v));
  throw new ValueError(`${name} must be finite; element ${i} (flat index) is ${data[i]}`);
}

function tensorArg(x: unknown, name: string, expected: string): tf.Tensor {
  if (!(x instanceof tf.Tensor)) throw new ShapeError(`${name} must be a tensor of shape ${expected}; got ${String(x)}`);
  if (x.dtype !== 'float32') throw new ValueError(`${name} must be a float32 tensor; got ${x.dtype}`);
  return x;
}

/** An embedding batch `[n, d]` (n, d checked when given), finite. */
export function embeddings(
  x: unknown,
  name: string,
  expect: { n?: number; d?: number; nName?: string; dName?: string; minN?: number } = {},
): tf.Tensor2D {
  const n = expect.n != null ? String(expect.n) : 'n';
  const d = expect.d != null ? String(expect.d) : 'd';
  const t = tensorArg(x, name, `[${n}, ${d}]`);
  if (t.rank !== 2) throw new ShapeError(`${name} must have shape [${n}, ${d}] (rank 2); got ${fmt(t.shape)}`);
  if (expect.n != null && t.shape[0] !== expect.n) {
    throw new ShapeError(`${name} must have shape [${n}, ${d}]${expect.nName ? ` (n from ${expect.nName})` : ''}; got ${fmt(t.shape)}`);
  }
  if (expect.d != null && t.shape[1] !== expect.d) {
    throw new ShapeError(`${name} must have shape [${n}, ${d}]${expect.dName ? ` (d from ${expect.dName})` : ''}; got ${fmt(t.shape)}`);
  }
  const minN = expect.minN ?? 1;
  if (t.shape[0] < minN) throw new ShapeError(`${name} needs at least ${minN} rows; got ${fmt(t.shape)}`);
  if (t.shape[1]! < 1) throw new ShapeError(`${name} needs d ≥ 1; got ${fmt(t.shape)}`);
  finite(t, name);
  return t as tf.Tensor2D;
}

/** Views `[n, V, d]`, as a tensor or as a list of V tensors `[n, d]`; finite. */
export type Views = tf.Tensor3D | tf.Tensor | readonly tf.Tensor[];

export interface ViewsShape {
  n: number;
  V: number;
  d: number;
}

export function views(x: unknown, name: string, expect: { minV?: number; V?: number; minN?: number } = {}): ViewsShape {
  let shape: ViewsShape;
  if (Array.isArray(x)) {
    if (x.length === 0) throw new ShapeError(`${name} must hold at least one view [n, d]; got an empty list`);
    const first = embeddings(x[0], `${name}[0]`);
    const [n0, d0] = first.shape;
    for (let v = 1; v < x.length; v++) {
      embeddings(x[v], `${name}[${v}]`, { n: n0, d: d0, nName: `${name}[0]`, dName: `${name}[0]` });
    }
    shape = { n: n0, V: x.length, d: d0 };
  } else {
    const t = tensorArg(x, name, '[n, V, d]');
    if (t.rank !== 3) throw new ShapeError(`${name} must have shape [n, V, d] (rank 3); got ${fmt(t.shape)}`);
    finite(t, name);
    shape = { n: t.shape[0], V: t.shape[1]!, d: t.shape[2]! };
  }
  if (expect.V != null && shape.V !== expect.V) {
    throw new ShapeError(`${name} must have V = ${expect.V} views: [n, ${expect.V}, d]; got [${shape.n}, ${shape.V}, ${shape.d}]`);
  }
  if (shape.V < (expect.minV ?? 1)) {
    throw new ShapeError(`${name} must have at least ${expect.minV} views: [n, V ≥ ${expect.minV}, d]; got [${shape.n}, ${shape.V}, ${shape.d}]`);
  }
  if (shape.n < (expect.minN ?? 1) || shape.d < 1) {
    throw new ShapeError(`${name} needs n ≥ ${expect.minN ?? 1} samples and d ≥ 1; got [${shape.n}, ${shape.V}, ${shape.d}]`);
  }
  return shape;
}

/**
 * Contrastive-analysis group labels, one per sample: 0 background (healthy), 1 target (patient). Accepts 0/1
 * numbers, booleans or a rank-1 tensor; anything else is a ValueError naming the first bad entry.
 */
export function groupLabels(group: tf.Tensor | ArrayLike<number | boolean> | null | undefined, n: number, name: string): Float32Array {
  if (group instanceof tf.Tensor && group.rank !== 1) {
    throw new ShapeError(`${name} must have shape [${n}]; got ${fmt(group.shape)}`);
  }
  const values: ArrayLike<number | boolean> | null | undefined =
    group instanceof tf.Tensor ? (group.dataSync() as ArrayLike<number>) : group;
  if (values == null || values.length !== n) {
    throw new ShapeError(`${name} must hold one 0/1 value per sample (${n}); got ${values?.length ?? String(values)}`);
  }
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(values[i]);
    if (v !== 0 && v !== 1) throw new ValueError(`${name}[${i}] must be 0 (background) or 1 (target); got ${String(values[i])}`);
    g[i] = v;
  }
  return g;
}
