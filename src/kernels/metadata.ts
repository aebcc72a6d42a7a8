/**
 * Labels and metadata as the objectives receive them: plain arrays (numbers or strings) or tensors.
 *
 * They only ever select or weight pairs, so they are turned into constants here — outside any differentiated
 * path — and validated (length, rank, NaN/Inf) before a loss computes anything.
 */
import * as tf from '../tf.js';
import { ShapeError, ValueError } from '../errors.js';

/** Class/group labels: one per sample. Strings are categories; numbers are compared for equality. */
export type Labels = tf.Tensor | ArrayLike<number> | readonly string[] | readonly (string | number)[];

/**
 * Metadata rows `[n, q]`: a tensor, a flat array (one column: `number[]` or `string[]`), or rows of
 * numbers/strings. A column holding strings is categorical: it is coded 0, 1, … in order of first appearance
 * (only delta-like kernels accept it).
 */
export type Metadata = tf.Tensor | readonly (number | string)[] | readonly (readonly (number | string)[])[];

/** Metadata as a numeric `[n, q]` float32 tensor plus which columns were coded from strings. */
export interface MetadataMatrix {
  values: tf.Tensor2D;
  /** `categorical[j]`: column j held strings and now holds their codes. */
  categorical: boolean[];
}

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

function checkFiniteArray(data: ArrayLike<number>, name: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new ValueError(`${name} must be finite; element ${i} is ${data[i]}`);
    }
  }
}

/**
 * Label codes as an Int32Array of length n (n checked when given): equal labels ⇔ equal codes.
 * Numbers must be finite; strings are coded by first appearance; mixing is allowed (`1` ≠ `'1'`).
 */
export function labelCodes(labels: Labels, name: string, n?: number): Int32Array {
  let values: ArrayLike<number | string>;
  if (isTensor(labels)) {
    if (labels.rank !== 1 && !(labels.rank === 2 && labels.shape[1] === 1)) {
      throw new ShapeError(`${name} must have shape [n] (one label per sample); got [${labels.shape.join(', ')}]`);
    }
    values = labels.dataSync() as ArrayLike<number>;
  } else if (labels == null || typeof (labels as ArrayLike<unknown>).length !== 'number') {
    throw new ShapeError(`${name} must be an array or a tensor of n labels; got ${String(labels)}`);
  } else {
    values = labels as ArrayLike<number | string>;
  }
  if (n != null && values.length !== n) {
    throw new ShapeError(`${name} must hold one label per sample (${n}); got ${values.length}`);
  }
  const codes = new Int32Array(values.length);
  const seen = new Map<string, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let key: string;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new ValueError(`${name} must be finite; element ${i} is ${v}`);
      key = `n${v}`;
    } else if (typeof v === 'string') {
      key = `s${v}`;
    } else {
      throw new ValueError(`${name}[${i}] must be a number or a string; got ${String(v)}`);
    }
    let code = seen.get(key);
    if (code == null) seen.set(key, (code = seen.size));
    codes[i] = code;
  }
  return codes;
}

/**
 * Metadata as a `[n, q]` matrix (n checked when given). A 1-D input is one column. Every value must be finite.
 * The caller owns (and disposes) `values`.
 */
export function metadataMatrix(metadata: Metadata, name: string, n?: number): MetadataMatrix {
  let rows: number;
  let cols: number;
  let data: Float32Array;
  let categorical: boolean[];
  if (isTensor(metadata)) {
    if (metadata.rank !== 1 && metadata.rank !== 2) {
      throw new ShapeError(`${name} must have shape [n, q] (or [n]); got [${metadata.shape.join(', ')}]`);
    }
    rows = metadata.shape[0];
    cols = metadata.rank === 2 ? metadata.shape[1]! : 1;
    data = Float32Array.from(metadata.dataSync() as ArrayLike<number>);
    checkFiniteArray(data, name);
    categorical = new Array<boolean>(cols).fill(false);
  } else if (metadata == null || typeof (metadata as ArrayLike<unknown>).length !== 'number') {
    throw new ShapeError(`${name} must be a [n, q] array or tensor; got ${String(metadata)}`);
  } else {
    const arr = metadata as ArrayLike<unknown>;
    rows = arr.length;
    const nested = rows > 0 && Array.isArray(arr[0]);
    cols = nested ? (arr[0] as unknown[]).length : 1;
    const table: (number | string)[][] = [];
    for (let i = 0; i < rows; i++) {
      const row = arr[i];
      if (nested !== Array.isArray(row)) {
        throw new ShapeError(`${name} must be rectangular: row 0 is ${nested ? 'an array' : 'a value'}, row ${i} is not`);
      }
      const r = nested ? (row as (number | string)[]) : [row as number | string];
      if (r.length !== cols) throw new ShapeError(`${name} must be rectangular [n, ${cols}]; row ${i} has ${r.length} values`);
      table.push(r);
    }
    categorical = [];
    data = new Float32Array(rows * cols);
    for (let j = 0; j < cols; j++) {
      const column = table.map((r) => r[j]);
      const isString = column.some((v) => typeof v === 'string');
      categorical.push(isString);
      if (isString) {
        const codes = labelCodes(column, `${name} column ${j}`);
        for (let i = 0; i < rows; i++) data[i * cols + j] = codes[i];
      } else {
        for (let i = 0; i < rows; i++) {
          const v = column[i];
          if (typeof v !== 'number' || !Number.isFinite(v)) {
            throw new ValueError(`${name} must be finite numbers or strings; row ${i}, column ${j} is ${String(v)}`);
          }
          data[i * cols + j] = v;
        }
      }
    }
  }
  if (n != null && rows !== n) {
    throw new ShapeError(`${name} must have one row per sample: expected [${n}, q], got [${rows}, ${cols}]`);
  }
  if (cols === 0) throw new ShapeError(`${name} must have at least one column; got [${rows}, 0]`);
  return { values: tf.tensor2d(data, [rows, cols]), categorical };
}
