/**
 * A throw-away tensor exchange with Python for the nn tests: a folder holding `tensors.json` (name → dtype, shape,
 * byte offset) and `tensors.bin` (raw little-endian float32 / float64 / int32 values). Deliberately simpler than
 * safetensors (which the interop module implements and tests on its own); read by test/support/exchange.py.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from 'geoclr';

export type ExchangeDtype = 'float32' | 'float64' | 'int32';
export interface ExchangeArray {
  dtype: ExchangeDtype;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array;
}

const CTORS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

/** Writes named arrays (tensors are read back synchronously) into `dir`. */
export function writeExchange(dir: string, items: Record<string, tf.Tensor | ExchangeArray>): void {
  const index: Record<string, { dtype: ExchangeDtype; shape: number[]; offset: number; length: number }> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, item] of Object.entries(items)) {
    let arr: ExchangeArray;
    if (item instanceof tf.Tensor) {
      const dtype: ExchangeDtype = item.dtype === 'int32' || item.dtype === 'bool' ? 'int32' : 'float32';
      const values = item.dtype === 'bool' ? Int32Array.from(item.dataSync()) : item.dataSync();
      arr = { dtype, shape: item.shape, data: values as Float32Array | Int32Array };
    } else arr = item;
    const bytes = Buffer.from(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
    index[name] = { dtype: arr.dtype, shape: arr.shape, offset, length: bytes.length };
    chunks.push(Buffer.from(bytes));
    offset += bytes.length;
    const pad = (8 - (offset % 8)) % 8;
    if (pad) {
      chunks.push(Buffer.alloc(pad));
      offset += pad;
    }
  }
  writeFileSync(path.join(dir, 'tensors.bin'), Buffer.concat(chunks));
  writeFileSync(path.join(dir, 'tensors.json'), JSON.stringify(index));
}

/** Reads every array of an exchange folder. */
export function readExchange(dir: string): Record<string, ExchangeArray> {
  const index = JSON.parse(readFileSync(path.join(dir, 'tensors.json'), 'utf8')) as Record<
    string,
    { dtype: ExchangeDtype; shape: number[]; offset: number; length: number }
  >;
  const bin = readFileSync(path.join(dir, 'tensors.bin'));
  const out: Record<string, ExchangeArray> = {};
  for (const [name, e] of Object.entries(index)) {
    const Ctor = CTORS[e.dtype];
    const copy = new Uint8Array(e.length);
    copy.set(bin.subarray(e.offset, e.offset + e.length));
    out[name] = { dtype: e.dtype, shape: e.shape, data: new Ctor(copy.buffer) };
  }
  return out;
}

/** A fresh temporary folder, removed by the returned cleanup function. */
export function tempExchangeDir(prefix = 'geoclr-nn-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
