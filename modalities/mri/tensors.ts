/** Turning loader batches into tfjs tensors: views as [B, D, H, W, 1] (channels last), metadata as 1-D tensors. */
import * as tf from '../../src/tf.js';
import { ConfigError, ValueError } from '../../src/errors.js';
import type { Batch } from './loader.js';
import { type CellValue, columnLevels, type Manifest, type ManifestRow } from './manifest.js';

/** One [B, D, H, W, 1] float32 tensor per view. The caller disposes them. */
export function batchViews(batch: Batch): tf.Tensor5D[] {
  const [b, d, h, w] = batch.shape;
  return batch.views.map((v) => tf.tensor5d(v, [b, d, h, w, 1], 'float32'));
}

/**
 * A metadata column as a tensor: numbers as float32, categories (strings/booleans) as int32 codes into
 * `levels` (default: the sorted distinct values of the column in `manifest`, so codes agree across batches).
 * Missing values are NaN (numbers) or −1 (categories).
 */
export function metaTensor(rows: ManifestRow[], column: string, levels?: readonly CellValue[] | Manifest): tf.Tensor1D {
  if (rows.length && !(column in rows[0])) throw new ConfigError(column, `no such manifest column (have ${Object.keys(rows[0]).join(', ')})`);
  const values = rows.map((r) => r[column]);
  const isNumber = values.every((v) => v == null || typeof v === 'number');
  if (isNumber && !Array.isArray(levels)) return tf.tensor1d(values.map((v) => (v == null ? NaN : (v as number))), 'float32');
  const lv = Array.isArray(levels) ? levels : columnLevels((levels as Manifest | undefined) ?? rows, column);
  const codes = values.map((v) => {
    if (v == null) return -1;
    const k = lv.indexOf(v);
    if (k < 0) throw new ValueError(`column '${column}': value ${JSON.stringify(v)} is not among the levels ${JSON.stringify(lv)}`);
    return k;
  });
  return tf.tensor1d(codes, 'int32');
}

/** Views plus the requested metadata columns as tensors. The caller disposes them (or wraps in tf.tidy). */
export function batchToTensors(batch: Batch, columns: string[] = [], manifest?: Manifest): { views: tf.Tensor5D[]; meta: Record<string, tf.Tensor1D> } {
  const meta: Record<string, tf.Tensor1D> = {};
  for (const c of columns) meta[c] = metaTensor(batch.rows, c, manifest);
  return { views: batchViews(batch), meta };
}
