/**
 * The ONNX protobuf schema (vendored `onnx.proto`, parsed by protobufjs at first use) and conversions between
 * `TensorProto` and tfjs tensors. Field names keep the .proto's snake_case (`raw_data`, `op_type`, ...).
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import * as tf from '../../src/tf.js';
import { FileFormatError, ValueError } from '../../src/errors.js';
import { decodeBfloat16, decodeFloat16 } from '../dtypes.js';

// --- plain-object views of the messages we use (protobufjs toObject output, longs as numbers) -------------------

export interface TensorShapeDim {
  dim_value?: number;
  dim_param?: string;
}
export interface ValueInfo {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: TensorShapeDim[] } } };
  doc_string?: string;
}
export interface StringStringEntry {
  key: string;
  value: string;
}
export interface TensorProtoObj {
  dims?: number[];
  data_type?: number;
  name?: string;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: (number | protobuf.Long)[];
  double_data?: number[];
  uint64_data?: (number | protobuf.Long)[];
  string_data?: Uint8Array[];
  data_location?: number;
  external_data?: StringStringEntry[];
  doc_string?: string;
}
export interface AttributeObj {
  name: string;
  type?: number;
  f?: number;
  i?: number | protobuf.Long;
  s?: Uint8Array;
  t?: TensorProtoObj;
  g?: GraphObj;
  floats?: number[];
  ints?: (number | protobuf.Long)[];
  strings?: Uint8Array[];
  ref_attr_name?: string;
}
export interface NodeObj {
  input?: string[];
  output?: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: AttributeObj[];
  doc_string?: string;
}
export interface GraphObj {
  node?: NodeObj[];
  name?: string;
  initializer?: TensorProtoObj[];
  doc_string?: string;
  input?: ValueInfo[];
  output?: ValueInfo[];
  value_info?: ValueInfo[];
}
export interface ModelObj {
  ir_version?: number;
  opset_import?: { domain?: string; version?: number }[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph?: GraphObj;
  metadata_props?: StringStringEntry[];
  functions?: unknown[];
}

/** ONNX TensorProto.DataType values. */
export const OnnxDataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;
const TYPE_NAMES = Object.fromEntries(Object.entries(OnnxDataType).map(([k, v]) => [v, k])) as Record<number, string>;

export function onnxTypeName(t: number | undefined): string {
  return TYPE_NAMES[t ?? 0] ?? `type ${t}`;
}

let cachedRoot: protobuf.Root | null = null;

/** The vendored onnx.proto, parsed once. It sits in the source tree at interop/onnx/onnx.proto. */
export function onnxRoot(): protobuf.Root {
  if (cachedRoot == null) {
    const here = path.dirname(new URL(import.meta.url).pathname);
    // dist/interop/onnx/proto.js → <root>/interop/onnx/onnx.proto (and the source file's own folder, for ts-node).
    const candidates = [path.resolve(here, '../../../interop/onnx/onnx.proto'), path.resolve(here, 'onnx.proto')];
    const file = candidates.find((c) => existsSync(c));
    if (!file) throw new Error(`geoclr: vendored onnx.proto not found (looked in ${candidates.join(', ')})`);
    cachedRoot = protobuf.parse(readFileSync(file, 'utf8'), { keepCase: true }).root;
  }
  return cachedRoot;
}

export function modelType(): protobuf.Type {
  return onnxRoot().lookupType('onnx.ModelProto');
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, bytes: Uint8Array as unknown as typeof String, defaults: false, arrays: true };

/** Decodes ModelProto bytes; throws FileFormatError for anything that is not a (complete) ONNX model. */
export function decodeModel(bytes: Uint8Array, source: string): ModelObj {
  let msg: protobuf.Message;
  try {
    msg = modelType().decode(bytes);
  } catch (e) {
    const why = e instanceof protobuf.util.ProtocolError ? 'truncated' : (e as Error).message;
    throw new FileFormatError(source, `not a valid ONNX model (protobuf decoding failed: ${why})`);
  }
  const model = modelType().toObject(msg, TO_OBJECT) as ModelObj;
  if (!model.graph || !model.ir_version || !(model.opset_import?.length)) {
    throw new FileFormatError(
      source,
      'not an ONNX model: ' + [!model.graph && 'no graph', !model.ir_version && 'no ir_version', !model.opset_import?.length && 'no opset_import'].filter(Boolean).join(', '),
    );
  }
  return model;
}

export function encodeModel(model: ModelObj): Uint8Array {
  const type = modelType();
  const err = type.verify(model as Record<string, unknown>);
  if (err) throw new ValueError(`invalid ONNX model object: ${err}`);
  return type.encode(type.fromObject(model as Record<string, unknown>)).finish();
}

export function toNumber(v: number | protobuf.Long | undefined): number {
  if (v == null) return 0;
  return typeof v === 'number' ? v : (v as unknown as { toNumber(): number }).toNumber();
}

/** int64 → int32 with saturation: ONNX uses INT64_MAX/MIN as "to the end" sentinels (Slice), which must clamp. */
export function clampInt32(v: number | bigint): number {
  const n = typeof v === 'bigint' ? (v > 2147483647n ? 2147483647 : v < -2147483648n ? -2147483648 : Number(v)) : v;
  return Math.max(-2147483648, Math.min(2147483647, n));
}

/** A decoded TensorProto: tfjs dtype, shape and values (int64 saturated to int32; f16/bf16/f64 to float32). */
export interface HostTensor {
  dtype: 'float32' | 'int32' | 'bool';
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
  /** The ONNX element type it came from. */
  onnxType: number;
}

function bytesToTyped<T>(raw: Uint8Array, Ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, count: number, where: string): T {
  if (raw.length !== count * Ctor.BYTES_PER_ELEMENT) {
    throw new FileFormatError(where, `raw_data holds ${raw.length} bytes; ${count} elements need ${count * Ctor.BYTES_PER_ELEMENT}`);
  }
  // Copy into a fresh, aligned buffer (protobufjs hands out Buffer views into the whole message; Buffer.slice
  // would not copy).
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  return new Ctor(copy.buffer);
}

/**
 * TensorProto → host values. `baseDir` resolves external data (large models saved with external tensors);
 * `where` names the file for errors.
 */
export function tensorFromProto(t: TensorProtoObj, where: string, baseDir?: string): HostTensor {
  const shape = (t.dims ?? []).map(toNumber);
  const count = shape.reduce((a, b) => a * b, 1);
  const type = t.data_type ?? 0;
  const label = `${where} (tensor '${t.name ?? ''}')`;
  let raw = t.raw_data && t.raw_data.length > 0 ? t.raw_data : null;
  if (t.data_location === 1) raw = readExternal(t, label, baseDir);
  const fromList = <A extends ArrayLike<number>>(list: A | undefined) => {
    if ((list?.length ?? 0) !== count) throw new FileFormatError(label, `holds ${list?.length ?? 0} values for shape [${shape}]`);
    return list!;
  };
  switch (type) {
    case OnnxDataType.FLOAT:
      return { dtype: 'float32', shape, onnxType: type, values: raw ? bytesToTyped(raw, Float32Array, count, label) : Float32Array.from(fromList(t.float_data)) };
    case OnnxDataType.DOUBLE:
      return { dtype: 'float32', shape, onnxType: type, values: Float32Array.from(raw ? bytesToTyped(raw, Float64Array, count, label) : fromList(t.double_data)) };
    case OnnxDataType.FLOAT16:
    case OnnxDataType.BFLOAT16: {
      // Without raw_data, 16-bit floats are stored one per int32_data entry (their bit patterns).
      const bits = raw ?? new Uint8Array(Uint16Array.from(fromList(t.int32_data)).buffer);
      if (bits.length !== count * 2) throw new FileFormatError(label, `holds ${bits.length} bytes for ${count} 16-bit floats`);
      return { dtype: 'float32', shape, onnxType: type, values: type === OnnxDataType.FLOAT16 ? decodeFloat16(bits, count) : decodeBfloat16(bits, count) };
    }
    case OnnxDataType.INT64: {
      if (raw) {
        const big = bytesToTyped(raw, BigInt64Array, count, label);
        return { dtype: 'int32', shape, onnxType: type, values: Int32Array.from(big, (v) => clampInt32(v)) };
      }
      return { dtype: 'int32', shape, onnxType: type, values: Int32Array.from((t.int64_data ?? []).map((v) => clampInt32(toNumber(v)))) };
    }
    case OnnxDataType.INT32:
    case OnnxDataType.INT16:
    case OnnxDataType.INT8:
    case OnnxDataType.UINT16:
    case OnnxDataType.UINT8: {
      if (raw) {
        const Ctor = { [OnnxDataType.INT32]: Int32Array, [OnnxDataType.INT16]: Int16Array, [OnnxDataType.INT8]: Int8Array, [OnnxDataType.UINT16]: Uint16Array, [OnnxDataType.UINT8]: Uint8Array }[type];
        return { dtype: 'int32', shape, onnxType: type, values: Int32Array.from(bytesToTyped(raw, Ctor as unknown as typeof Int32Array, count, label)) };
      }
      return { dtype: 'int32', shape, onnxType: type, values: Int32Array.from(fromList(t.int32_data)) };
    }
    case OnnxDataType.UINT32:
    case OnnxDataType.UINT64: {
      if (raw) {
        const vals: (number | bigint)[] = type === OnnxDataType.UINT32 ? Array.from(bytesToTyped(raw, Uint32Array, count, label)) : Array.from(bytesToTyped(raw, BigUint64Array, count, label));
        return { dtype: 'int32', shape, onnxType: type, values: Int32Array.from(vals, (v) => clampInt32(v)) };
      }
      return { dtype: 'int32', shape, onnxType: type, values: Int32Array.from((t.uint64_data ?? []).map((v) => clampInt32(toNumber(v)))) };
    }
    case OnnxDataType.BOOL:
      return { dtype: 'bool', shape, onnxType: type, values: raw ? Uint8Array.from(raw) : Uint8Array.from(fromList(t.int32_data)) };
    default:
      throw new FileFormatError(label, `element type ${onnxTypeName(type)} is not supported`);
  }
}

function readExternal(t: TensorProtoObj, label: string, baseDir?: string): Uint8Array {
  const entries = Object.fromEntries((t.external_data ?? []).map((e) => [e.key, e.value]));
  if (!baseDir) throw new FileFormatError(label, 'uses external data, which needs the model loaded from a path');
  const location = entries.location;
  if (!location || path.isAbsolute(location) || location.split(/[\\/]/).includes('..')) {
    throw new FileFormatError(label, `external data location '${location}' must be a relative path inside the model's folder`);
  }
  const file = path.join(baseDir, location);
  if (!existsSync(file)) throw new FileFormatError(label, `external data file ${file} does not exist`);
  const data = readFileSync(file);
  const offset = Number(entries.offset ?? 0);
  const length = entries.length != null ? Number(entries.length) : data.length - offset;
  if (!(offset >= 0 && length >= 0 && offset + length <= data.length)) {
    throw new FileFormatError(label, `external data range ${offset}+${length} lies outside ${file} (${data.length} bytes)`);
  }
  return new Uint8Array(data.buffer, data.byteOffset + offset, length);
}

export function hostToTensor(h: HostTensor): tf.Tensor {
  return tf.tensor(h.values, h.shape, h.dtype);
}

/** tf tensor → TensorProto (FLOAT, INT64 for int32 unless `int32`, BOOL), with raw little-endian data. */
export function tensorToProto(name: string, t: tf.Tensor, { intType = OnnxDataType.INT64 }: { intType?: number } = {}): TensorProtoObj {
  const values = t.dataSync();
  let data_type: number;
  let raw: Uint8Array;
  if (t.dtype === 'float32') {
    data_type = OnnxDataType.FLOAT;
    raw = new Uint8Array(Float32Array.from(values as Float32Array).buffer);
  } else if (t.dtype === 'int32') {
    data_type = intType;
    raw = intType === OnnxDataType.INT32
      ? new Uint8Array(Int32Array.from(values as Int32Array).buffer)
      : new Uint8Array(BigInt64Array.from(values as Int32Array, (v) => BigInt(v)).buffer);
  } else if (t.dtype === 'bool') {
    data_type = OnnxDataType.BOOL;
    raw = Uint8Array.from(values as Uint8Array);
  } else {
    throw new ValueError(`tensor '${name}' has dtype ${t.dtype}, which the ONNX writer does not support`);
  }
  return { name, dims: t.shape, data_type, raw_data: raw };
}
