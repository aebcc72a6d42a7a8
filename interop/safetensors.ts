/**
 * safetensors: weights exchanged with PyTorch / Hugging Face labs (INTEROP.md "Weights").
 *
 * Layout: u64 little-endian header length N · N bytes of UTF-8 JSON
 * `{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}` (padded with spaces
 * so the data starts 8-byte aligned) · the tensors' raw little-endian bytes, offsets relative to the data start.
 * The data must be covered exactly: no gaps, no overlaps, nothing after the last tensor (the format forbids
 * polyglot files).
 *
 * tfjs has no float16/bfloat16/int64 types: on load f16 and bf16 widen to float32 (exact), int64 narrows to
 * int32 after a range check (a value outside int32 is an error naming the tensor — use `readSafetensors` and
 * `entry.bigint64()` for the exact values), u8/i8/i16/u16 widen to int32 and f64 narrows to float32. On save,
 * float32 tensors can be stored as F16/BF16/F64 and int32 tensors as I64/U8/... via `options.dtypes`.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as tf from '../src/tf.js';
import { FileFormatError, ShapeError, ValueError } from '../src/errors.js';
import { writeFileAtomic } from '../src/util/fs.js';
import {
  decodeBfloat16,
  decodeFloat16,
  decodeInt64AsInt32,
  encodeBfloat16,
  encodeFloat16,
  encodeInt64,
} from './dtypes.js';

/** The dtype names of the safetensors format that geoclr reads and writes. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'U16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Alignment rank used to order tensors in the data section, as the reference writer does (widest first). */
const DTYPE_ORDER: SafetensorsDtype[] = ['BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'BF16', 'I32', 'F32', 'F64', 'I64'];

/** The format's own dtypes that geoclr cannot convert to a tfjs tensor (named in the error). */
const KNOWN_UNSUPPORTED = new Set(['F8_E5M2', 'F8_E4M3', 'U32', 'U64', 'C64', 'F4', 'F6_E2M3', 'F6_E3M2', 'E8M0', 'F8_E8M0']);

/** The reference implementation refuses headers above 100 MB; so do we (a lying length is caught before reading). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntryInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Tensors in the order of their data. */
  tensors: Map<string, SafetensorsEntryInfo>;
  metadata: Record<string, string>;
  /** Absolute file offset where the data section begins (8 + header length). */
  dataStart: number;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates a safetensors header against the file size, before any tensor memory is allocated:
 * header length within the file, valid JSON object, known dtypes, integer shapes, `shape × dtype = byte length`,
 * offsets inside the data section, ranges neither overlapping nor leaving gaps, and the data fully covered.
 */
export function parseSafetensorsHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const fail = (problem: string): never => {
    throw new FileFormatError(file, `not a valid safetensors file: ${problem}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    fail(`header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) return fail('header JSON is not an object');
  const dataStart = 8 + headerBytes.length;
  const dataSize = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const entries: [string, SafetensorsEntryInfo][] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) fail('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (!isPlainObject(raw)) fail(`tensor '${name}' is not an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(`tensor '${name}' has no dtype`);
    if (!(dtype as string in DTYPE_BYTES)) {
      fail(
        KNOWN_UNSUPPORTED.has(dtype as string)
          ? `tensor '${name}' has dtype ${dtype}, which geoclr cannot convert to a tfjs tensor`
          : `tensor '${name}' has unknown dtype '${dtype}'`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
    ) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = count * DTYPE_BYTES[dtype as SafetensorsDtype];
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      fail(
        `tensor '${name}': shape [${shape}] × ${dtype} is ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    if (end > dataSize) {
      fail(`tensor '${name}': data_offsets [${begin}, ${end}] lie outside the data section (${Math.max(0, dataSize)} bytes)`);
    }
    entries.push([name, { dtype: dtype as SafetensorsDtype, shape: shape as number[], dataOffsets: [begin, end] }]);
  }
  entries.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  let cursor = 0;
  for (const [name, info] of entries) {
    const [begin, end] = info.dataOffsets;
    if (begin < cursor) fail(`tensor '${name}' (bytes ${begin}–${end}) overlaps the previous tensor (ends at ${cursor})`);
    if (begin > cursor) fail(`gap in the data section: bytes ${cursor}–${begin} belong to no tensor (before '${name}')`);
    cursor = end;
  }
  if (cursor !== dataSize) {
    fail(`the data section holds ${dataSize} bytes but the tensors cover ${cursor} (trailing bytes belong to no tensor)`);
  }
  return { tensors: new Map(entries), metadata, dataStart };
}

/** Reads and validates only the header (the 8-byte length, then the JSON): cheap for any file size. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const fh = await fsp.open(file, 'r').catch((e) => {
    throw new FileFormatError(file, `cannot open: ${(e as Error).message}`);
  });
  try {
    const { size } = await fh.stat();
    return await readHeaderFrom(file, fh, size);
  } finally {
    await fh.close();
  }
}

async function readHeaderFrom(file: string, fh: fsp.FileHandle, size: number): Promise<SafetensorsHeader> {
  if (size < 8) throw new FileFormatError(file, `not a valid safetensors file: ${size} bytes, shorter than the 8-byte header length`);
  const lenBuf = Buffer.alloc(8);
  await fh.read(lenBuf, 0, 8, 0);
  const headerLen = lenBuf.readBigUInt64LE(0);
  if (headerLen > BigInt(size - 8)) {
    throw new FileFormatError(file, `not a valid safetensors file: header length ${headerLen} exceeds the file (${size} bytes)`);
  }
  if (headerLen > BigInt(MAX_HEADER_BYTES)) {
    throw new FileFormatError(file, `not a valid safetensors file: header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const header = Buffer.alloc(Number(headerLen));
  await fh.read(header, 0, header.length, 8);
  return parseSafetensorsHeader(file, header, size);
}

/** One tensor's raw bytes, with typed views for the dtypes tfjs lacks. */
export class SafetensorsEntry {
  constructor(
    readonly name: string,
    readonly dtype: SafetensorsDtype,
    readonly shape: number[],
    /** Little-endian bytes (a view into the file buffer). */
    readonly bytes: Uint8Array,
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Exact int64 values (I64 only). */
  bigint64(): BigInt64Array {
    if (this.dtype !== 'I64') throw new ValueError(`tensor '${this.name}' is ${this.dtype}, not I64`);
    return new BigInt64Array(this.bytes.slice().buffer);
  }
}

export interface LoadedSafetensors {
  tensors: Map<string, tf.Tensor>;
  /** The file's `__metadata__` strings. */
  metadata: Record<string, string>;
  /** Each tensor's dtype in the file (before conversion to a tfjs dtype). */
  dtypes: Map<string, SafetensorsDtype>;
}

/** Reads and validates a safetensors file; tensor bytes are views into one buffer (nothing converted yet). */
export async function readSafetensors(file: string): Promise<{ entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> }> {
  const fh = await fsp.open(file, 'r').catch((e) => {
    throw new FileFormatError(file, `cannot open: ${(e as Error).message}`);
  });
  try {
    const { size } = await fh.stat();
    const header = await readHeaderFrom(file, fh, size);
    const data = Buffer.alloc(size - header.dataStart);
    await fh.read(data, 0, data.length, header.dataStart);
    const entries = new Map<string, SafetensorsEntry>();
    for (const [name, info] of header.tensors) {
      const [b, e] = info.dataOffsets;
      entries.set(name, new SafetensorsEntry(name, info.dtype, info.shape, new Uint8Array(data.buffer, data.byteOffset + b, e - b)));
    }
    return { entries, metadata: header.metadata };
  } finally {
    await fh.close();
  }
}

/** Copies `bytes` into a fresh, aligned typed array of the given constructor. */
function aligned<T extends Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Float32Array | Float64Array>(
  Ctor: { new (buf: ArrayBuffer): T },
  bytes: Uint8Array,
): T {
  return new Ctor(bytes.slice().buffer);
}

/** Converts one entry to a tfjs tensor (see the module doc for the dtype mapping). */
export function entryToTensor(file: string, entry: SafetensorsEntry): tf.Tensor {
  const { shape, bytes, size } = entry;
  switch (entry.dtype) {
    case 'F32':
      return tf.tensor(aligned(Float32Array, bytes), shape, 'float32');
    case 'F64':
      return tf.tensor(Float32Array.from(aligned(Float64Array, bytes)), shape, 'float32');
    case 'F16':
      return tf.tensor(decodeFloat16(bytes, size), shape, 'float32');
    case 'BF16':
      return tf.tensor(decodeBfloat16(bytes, size), shape, 'float32');
    case 'I32':
      return tf.tensor(aligned(Int32Array, bytes), shape, 'int32');
    case 'I64': {
      const r = decodeInt64AsInt32(bytes, size);
      if (!(r instanceof Int32Array)) {
        throw new ValueError(
          `${file}: tensor '${entry.name}' holds int64 value ${r.value} (element ${r.overflowAt}) outside the int32 range of tfjs; ` +
            'read it exactly with readSafetensors(...).entries.get(name).bigint64()',
        );
      }
      return tf.tensor(r, shape, 'int32');
    }
    case 'I16':
      return tf.tensor(Int32Array.from(aligned(Int16Array, bytes)), shape, 'int32');
    case 'U16':
      return tf.tensor(Int32Array.from(aligned(Uint16Array, bytes)), shape, 'int32');
    case 'I8':
      return tf.tensor(Int32Array.from(aligned(Int8Array, bytes)), shape, 'int32');
    case 'U8':
      return tf.tensor(Int32Array.from(bytes), shape, 'int32');
    case 'BOOL':
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] > 1) throw new FileFormatError(file, `tensor '${entry.name}' is BOOL but byte ${i} is ${bytes[i]}`);
      }
      return tf.tensor(Uint8Array.from(bytes), shape, 'bool');
  }
}

/**
 * Loads every tensor of a safetensors file as a tfjs tensor (the caller owns and disposes them).
 * Throws `FileFormatError` naming the file and the problem for malformed files, before allocating tensor memory.
 */
export async function loadSafetensors(file: string): Promise<LoadedSafetensors> {
  const { entries, metadata } = await readSafetensors(file);
  const tensors = new Map<string, tf.Tensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  try {
    for (const [name, entry] of entries) {
      tensors.set(name, entryToTensor(file, entry));
      dtypes.set(name, entry.dtype);
    }
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
  return { tensors, metadata, dtypes };
}

export type TensorRecord = Map<string, tf.Tensor> | Record<string, tf.Tensor>;

export interface SaveSafetensorsOptions {
  /** Store some tensors under another dtype (e.g. `{'bn.num_batches_tracked': 'I64', 'fc.weight': 'F16'}`). */
  dtypes?: Record<string, SafetensorsDtype>;
}

function defaultDtype(name: string, t: tf.Tensor): SafetensorsDtype {
  switch (t.dtype) {
    case 'float32':
      return 'F32';
    case 'int32':
      return 'I32';
    case 'bool':
      return 'BOOL';
    default:
      throw new ValueError(`tensor '${name}' has dtype ${t.dtype}, which safetensors cannot store`);
  }
}

function encodeValues(name: string, dtype: SafetensorsDtype, values: Float32Array | Int32Array | Uint8Array, from: tf.DataType): Uint8Array {
  const isFloat = from === 'float32';
  if (dtype.startsWith('F') || dtype === 'BF16') {
    if (!isFloat) throw new ValueError(`tensor '${name}' is ${from}; store it as an integer dtype, not ${dtype}`);
  } else if (isFloat) {
    throw new ValueError(`tensor '${name}' is float32; cast it before storing it as ${dtype}`);
  }
  const range = (lo: number, hi: number) => {
    for (let i = 0; i < values.length; i++) {
      if (values[i] < lo || values[i] > hi) throw new ValueError(`tensor '${name}' element ${i} = ${values[i]} does not fit ${dtype}`);
    }
  };
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (dtype) {
    case 'F32':
      return bytesOf(values);
    case 'F64':
      return bytesOf(Float64Array.from(values));
    case 'F16':
      return encodeFloat16(values);
    case 'BF16':
      return encodeBfloat16(values);
    case 'I32':
      return bytesOf(values);
    case 'I64':
      return encodeInt64(values);
    case 'I16':
      range(-32768, 32767);
      return bytesOf(Int16Array.from(values));
    case 'U16':
      range(0, 65535);
      return bytesOf(Uint16Array.from(values));
    case 'I8':
      range(-128, 127);
      return bytesOf(Int8Array.from(values));
    case 'U8':
      range(0, 255);
      return Uint8Array.from(values);
    case 'BOOL':
      range(0, 1);
      return Uint8Array.from(values);
  }
}

/**
 * Serialises tensors to safetensors bytes, laid out exactly as the reference writer does: tensors ordered by
 * dtype width (widest first) then name, compact JSON with `__metadata__` first, header padded with spaces to a
 * multiple of 8 bytes.
 */
export function toSafetensors(tensors: TensorRecord, metadata: Record<string, string> = {}, options: SaveSafetensorsOptions = {}): Uint8Array {
  const items = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const seen = new Set<string>();
  const prepared = items.map(([name, t]) => {
    if (name === '__metadata__') throw new ValueError("'__metadata__' is reserved and cannot name a tensor");
    if (seen.has(name)) throw new ValueError(`tensor name '${name}' appears twice`);
    seen.add(name);
    if (!(t instanceof tf.Tensor) || t.isDisposed) throw new ValueError(`tensor '${name}' is not a live tf.Tensor`);
    const dtype = options.dtypes?.[name] ?? defaultDtype(name, t);
    if (!(dtype in DTYPE_BYTES)) throw new ValueError(`tensor '${name}': unknown safetensors dtype '${dtype}'`);
    return { name, t, dtype };
  });
  for (const name of Object.keys(options.dtypes ?? {})) {
    if (!seen.has(name)) throw new ValueError(`options.dtypes names '${name}', which is not among the tensors`);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new ValueError(`metadata '${k}' must be a string (safetensors metadata is str → str)`);
  }
  prepared.sort(
    (a, b) => DTYPE_ORDER.indexOf(b.dtype) - DTYPE_ORDER.indexOf(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const chunks: Uint8Array[] = [];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  let offset = 0;
  for (const { name, t, dtype } of prepared) {
    const bytes = encodeValues(name, dtype, t.dataSync() as Float32Array | Int32Array | Uint8Array, t.dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Writes tensors (name → tf.Tensor) to a safetensors file, atomically (temp file + rename). */
export async function saveSafetensors(
  file: string,
  tensors: TensorRecord,
  metadata: Record<string, string> = {},
  options: SaveSafetensorsOptions = {},
): Promise<void> {
  await writeFileAtomic(file, toSafetensors(tensors, metadata, options));
}

/** Hex sha256 of a file (for the `weights_sha256` field of embedding tables and run records). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const fh = await fsp.open(file, 'r');
  try {
    for await (const chunk of fh.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

// --- state dicts -------------------------------------------------------------------------------------------

export interface StateDictReport {
  missing: string[];
  unexpected: string[];
  mismatched: { name: string; expected: number[]; found: number[] }[];
}

/**
 * Copies loaded tensors into existing variables by PyTorch `state_dict` name, like `load_state_dict`. With
 * `strict` (default) any missing or unexpected name, or any shape mismatch, is one `ShapeError` listing them all,
 * and no variable is changed. Returns what did not match (non-strict mode).
 */
export function assignStateDict(
  variables: Map<string, tf.Variable>,
  loaded: Map<string, tf.Tensor>,
  { strict = true, source = 'state dict' }: { strict?: boolean; source?: string } = {},
): StateDictReport {
  const report: StateDictReport = { missing: [], unexpected: [], mismatched: [] };
  for (const [name, v] of variables) {
    const t = loaded.get(name);
    if (t == null) report.missing.push(name);
    else if (!tf.util.arraysEqual(t.shape, v.shape)) report.mismatched.push({ name, expected: v.shape, found: t.shape });
  }
  for (const name of loaded.keys()) if (!variables.has(name)) report.unexpected.push(name);
  const problems = [
    report.missing.length ? `missing: ${report.missing.join(', ')}` : '',
    report.unexpected.length ? `unexpected: ${report.unexpected.join(', ')}` : '',
    report.mismatched.length
      ? `shape mismatch: ${report.mismatched.map((m) => `${m.name} expects [${m.expected}] got [${m.found}]`).join(', ')}`
      : '',
  ].filter(Boolean);
  if (strict && problems.length > 0) throw new ShapeError(`${source}: ${problems.join('; ')}`);
  for (const [name, v] of variables) {
    const t = loaded.get(name);
    if (t == null || !tf.util.arraysEqual(t.shape, v.shape)) continue;
    tf.tidy(() => v.assign(t.dtype === v.dtype ? t : tf.cast(t, v.dtype)));
  }
  return report;
}

/** Saves named variables/tensors as a PyTorch-loadable state dict (safetensors, PyTorch names and layouts). */
export async function saveStateDict(
  file: string,
  tensors: TensorRecord,
  metadata: Record<string, string> = {},
  options: SaveSafetensorsOptions = {},
): Promise<void> {
  await saveSafetensors(file, tensors, { format: 'pt', ...metadata }, options);
}

/** Loads a safetensors state dict into existing variables (see `assignStateDict`); disposes the loaded tensors. */
export async function loadStateDict(
  file: string,
  variables: Map<string, tf.Variable>,
  { strict = true }: { strict?: boolean } = {},
): Promise<StateDictReport & { metadata: Record<string, string> }> {
  const { tensors, metadata } = await loadSafetensors(file);
  try {
    return { ...assignStateDict(variables, tensors, { strict, source: file }), metadata };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

// --- layout conversions (tfjs ↔ PyTorch) ---------------------------------------------------------------------

/**
 * tfjs conv kernel `[k..., in, out]` → PyTorch `[out, in, k...]` (1D/2D/3D). For code that keeps tfjs layouts;
 * geoclr's own modules store PyTorch layouts and need no conversion.
 */
export function convKernelToTorch(kernel: tf.Tensor): tf.Tensor {
  const r = kernel.rank;
  if (r < 3 || r > 5) throw new ShapeError(`conv kernel must be rank 3–5, got shape [${kernel.shape}]`);
  const spatial = Array.from({ length: r - 2 }, (_, i) => i);
  return tf.transpose(kernel, [r - 1, r - 2, ...spatial]);
}

/** PyTorch conv weight `[out, in, k...]` → tfjs `[k..., in, out]`. */
export function convKernelFromTorch(weight: tf.Tensor): tf.Tensor {
  const r = weight.rank;
  if (r < 3 || r > 5) throw new ShapeError(`conv weight must be rank 3–5, got shape [${weight.shape}]`);
  const spatial = Array.from({ length: r - 2 }, (_, i) => i + 2);
  return tf.transpose(weight, [...spatial, 1, 0]);
}

/** tfjs dense kernel `[in, out]` ↔ PyTorch Linear weight `[out, in]` (the same transpose both ways). */
export function denseKernelToTorch(kernel: tf.Tensor): tf.Tensor {
  if (kernel.rank !== 2) throw new ShapeError(`dense kernel must be rank 2, got shape [${kernel.shape}]`);
  return tf.transpose(kernel);
}
export const denseKernelFromTorch = denseKernelToTorch;
