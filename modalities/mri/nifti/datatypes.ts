/** NIfTI datatype codes (nifti1.h) that geoclr reads and writes. */

export type NiftiDatatype = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64';

export interface DatatypeInfo {
  name: NiftiDatatype;
  code: number;
  bytes: number;
  integer: boolean;
  min: number;
  max: number;
}

const TABLE: DatatypeInfo[] = [
  { name: 'uint8', code: 2, bytes: 1, integer: true, min: 0, max: 255 },
  { name: 'int16', code: 4, bytes: 2, integer: true, min: -32768, max: 32767 },
  { name: 'int32', code: 8, bytes: 4, integer: true, min: -(2 ** 31), max: 2 ** 31 - 1 },
  { name: 'float32', code: 16, bytes: 4, integer: false, min: -3.4028234663852886e38, max: 3.4028234663852886e38 },
  { name: 'float64', code: 64, bytes: 8, integer: false, min: -Number.MAX_VALUE, max: Number.MAX_VALUE },
  { name: 'int8', code: 256, bytes: 1, integer: true, min: -128, max: 127 },
  { name: 'uint16', code: 512, bytes: 2, integer: true, min: 0, max: 65535 },
  { name: 'uint32', code: 768, bytes: 4, integer: true, min: 0, max: 2 ** 32 - 1 },
  { name: 'int64', code: 1024, bytes: 8, integer: true, min: -(2 ** 63), max: 2 ** 63 - 1 },
  { name: 'uint64', code: 1280, bytes: 8, integer: true, min: 0, max: 2 ** 64 - 1 },
];

/** Codes NIfTI defines that geoclr deliberately does not decode, with their names for error messages. */
const UNSUPPORTED: Record<number, string> = {
  1: 'binary (1 bit)',
  32: 'complex64',
  128: 'RGB24',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'RGBA32',
};

export const DATATYPES: ReadonlyMap<NiftiDatatype, DatatypeInfo> = new Map(TABLE.map((t) => [t.name, t]));
const BY_CODE = new Map(TABLE.map((t) => [t.code, t]));

/** The datatype for a code, or a string saying why it cannot be read. */
export function datatypeForCode(code: number): DatatypeInfo | string {
  const t = BY_CODE.get(code);
  if (t) return t;
  const name = UNSUPPORTED[code];
  return name
    ? `datatype ${code} (${name}) is not supported; convert it to a scalar type (e.g. float32) first`
    : `unknown datatype code ${code}`;
}

export function datatypeInfo(name: NiftiDatatype): DatatypeInfo {
  const t = DATATYPES.get(name);
  if (!t) throw new Error(`unknown datatype '${name}'`);
  return t;
}

export type VoxelArray = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** A typed array of `n` elements of `name` over `buffer` at `byteOffset` (host byte order). */
export function typedView(name: NiftiDatatype, buffer: ArrayBufferLike, byteOffset: number, n: number): VoxelArray {
  switch (name) {
    case 'uint8': return new Uint8Array(buffer, byteOffset, n);
    case 'int8': return new Int8Array(buffer, byteOffset, n);
    case 'int16': return new Int16Array(buffer, byteOffset, n);
    case 'uint16': return new Uint16Array(buffer, byteOffset, n);
    case 'int32': return new Int32Array(buffer, byteOffset, n);
    case 'uint32': return new Uint32Array(buffer, byteOffset, n);
    case 'float32': return new Float32Array(buffer, byteOffset, n);
    case 'float64': return new Float64Array(buffer, byteOffset, n);
    case 'int64': return new BigInt64Array(buffer, byteOffset, n);
    case 'uint64': return new BigUint64Array(buffer, byteOffset, n);
  }
}
