/**
 * NIfTI-1/NIfTI-2 header parsing and validation. Field decoding is done by `nifti-reader-js`; geoclr then
 * re-reads the few fields that library gets wrong or does not keep (srow for NIfTI-1, 64-bit ints for big-endian
 * NIfTI-2), applies nibabel's header fixes (`check_fix`), and chooses the affine exactly as nibabel does
 * (`get_best_affine`: sform if its code is valid and non-zero, else qform, else the centred base affine).
 */
import * as nifti from 'nifti-reader-js';
import { FileFormatError } from '../../../src/errors.js';
import { type Mat4 } from '../affine.js';
import { datatypeForCode, type DatatypeInfo } from './datatypes.js';

export interface NiftiExtension {
  code: number;
  /** Bytes including the 8-byte extension header. */
  size: number;
}

/** Decoded header fields, with nibabel's fixes applied (pixdim, qfac, invalid xform codes). */
export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  /** dim[0..7]: dim[0] is the number of axes. */
  dims: number[];
  /** pixdim[0..7]: pixdim[0] is qfac (±1). */
  pixdim: number[];
  datatypeCode: number;
  bitpix: number;
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  qformCode: number;
  sformCode: number;
  /** Quaternion b, c, d. */
  quatern: [number, number, number];
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z. */
  srow: number[][];
  xyztUnits: number;
  dimInfo: number;
  intentCode: number;
  intentName: string;
  intentP: [number, number, number];
  sliceStart: number;
  sliceEnd: number;
  sliceCode: number;
  sliceDuration: number;
  toffset: number;
  calMin: number;
  calMax: number;
  description: string;
  auxFile: string;
  magic: string;
  extensions: NiftiExtension[];
}

/** A parsed header plus what the reader derives from it. */
export interface ParsedHeader {
  header: NiftiHeader;
  datatype: DatatypeInfo;
  shape: number[];
  /** Voxels in the image (∏ shape). */
  voxels: number;
  /** Bytes of voxel data the header claims. */
  dataBytes: number;
  /** Where voxel data starts. */
  dataOffset: number;
  /** nibabel's scaling: null when scl_slope is 0 or not finite (no scaling). */
  scaling: { slope: number; inter: number } | null;
}

export const NIFTI1_HEADER_BYTES = 348;
export const NIFTI2_HEADER_BYTES = 540;
/** Bytes needed to decide the version and read a fixed-size header. */
export const HEADER_PROBE_BYTES = NIFTI2_HEADER_BYTES + 4;

/** Default ceiling on the voxel data a header may claim (2 GiB): larger claims are refused before allocating. */
export const DEFAULT_MAX_BYTES = 2 ** 31;

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Decides NIfTI-1 vs NIfTI-2 and the byte order from sizeof_hdr, as nibabel does. */
function sniff(bytes: Uint8Array, file: string): { version: 1 | 2; littleEndian: boolean } {
  if (bytes.byteLength === 0) throw new FileFormatError(file, 'file is empty');
  if (bytes.byteLength < NIFTI1_HEADER_BYTES) {
    throw new FileFormatError(file, `file is too short for a NIfTI header (${bytes.byteLength} bytes, need at least ${NIFTI1_HEADER_BYTES})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = view.getInt32(0, true);
  const be = view.getInt32(0, false);
  if (le === NIFTI1_HEADER_BYTES || be === NIFTI1_HEADER_BYTES) return { version: 1, littleEndian: le === NIFTI1_HEADER_BYTES };
  if (le === NIFTI2_HEADER_BYTES || be === NIFTI2_HEADER_BYTES) {
    if (bytes.byteLength < NIFTI2_HEADER_BYTES) {
      throw new FileFormatError(file, `file is too short for a NIfTI-2 header (${bytes.byteLength} bytes, need ${NIFTI2_HEADER_BYTES})`);
    }
    return { version: 2, littleEndian: le === NIFTI2_HEADER_BYTES };
  }
  throw new FileFormatError(file, `not a NIfTI file: bad magic (sizeof_hdr is ${le}, expected 348 for NIfTI-1 or 540 for NIfTI-2)`);
}

function readMagic(bytes: Uint8Array, version: 1 | 2): string {
  const at = version === 1 ? 344 : 4;
  let s = '';
  for (let i = 0; i < 3; i++) s += String.fromCharCode(bytes[at + i]);
  return s;
}

/**
 * Parses and validates the header at the start of `bytes` (at least the fixed header; extensions are decoded
 * when `bytes` reaches vox_offset). Throws FileFormatError naming `file` and the problem. Nothing the header
 * claims is allocated here.
 */
export function parseHeader(bytes: Uint8Array, file: string, maxBytes = DEFAULT_MAX_BYTES): ParsedHeader {
  const { version, littleEndian } = sniff(bytes, file);
  const magic = readMagic(bytes, version);
  const single = version === 1 ? 'n+1' : 'n+2';
  const pair = version === 1 ? 'ni1' : 'ni2';
  if (magic === pair) {
    throw new FileFormatError(file, `is the header of a NIfTI .hdr/.img pair (magic '${pair}'); only single-file .nii/.nii.gz is supported`);
  }
  if (magic !== single) throw new FileFormatError(file, `bad NIfTI-${version} magic ${JSON.stringify(magic)} (expected '${single}')`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let lib: nifti.NIFTI1 | nifti.NIFTI2;
  try {
    lib = version === 1 ? new nifti.NIFTI1() : new nifti.NIFTI2();
    // Exactly the fixed header: the library's own extension walk can read past a short buffer.
    lib.readHeader(toArrayBuffer(bytes.subarray(0, version === 1 ? NIFTI1_HEADER_BYTES : NIFTI2_HEADER_BYTES)));
  } catch (e) {
    throw new FileFormatError(file, `unreadable NIfTI-${version} header: ${(e as Error).message}`);
  }

  // Fields the library reads imprecisely or drops: 64-bit ints (NIfTI-2) and NIfTI-1 srow.
  let dims: number[];
  let voxOffset: number;
  let srow: number[][];
  if (version === 2) {
    const i64 = (at: number) => Number(view.getBigInt64(at, littleEndian));
    dims = Array.from({ length: 8 }, (_, i) => i64(16 + 8 * i));
    voxOffset = i64(168);
    srow = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => view.getFloat64(400 + (r * 4 + c) * 8, littleEndian)));
  } else {
    dims = lib.dims.slice(0, 8);
    voxOffset = Math.trunc(lib.vox_offset); // nibabel: int(vox_offset)
    srow = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => view.getFloat32(280 + (r * 4 + c) * 4, littleEndian)));
  }

  const ndim = dims[0];
  if (!(ndim >= 1 && ndim <= 7)) throw new FileFormatError(file, `dim[0] is ${ndim}; a NIfTI image has 1 to 7 axes`);
  const shape = dims.slice(1, ndim + 1);
  for (let i = 0; i < ndim; i++) {
    if (!(shape[i] >= 1)) throw new FileFormatError(file, `dim[${i + 1}] is ${shape[i]}; every axis needs at least one voxel`);
  }
  const dt = datatypeForCode(lib.datatypeCode);
  if (typeof dt === 'string') throw new FileFormatError(file, dt);
  const voxels = shape.reduce((a, b) => a * b, 1);
  const dataBytes = voxels * dt.bytes;
  if (!(dataBytes <= maxBytes)) {
    throw new FileFormatError(
      file,
      `header claims ${shape.join('×')} ${dt.name} voxels (${formatBytes(dataBytes)}), more than the limit of ${formatBytes(maxBytes)} (option maxBytes)`,
    );
  }
  const minOffset = version === 1 ? 352 : 544;
  if (voxOffset < minOffset) {
    throw new FileFormatError(file, `vox_offset ${voxOffset} is too low for a single-file NIfTI-${version} (minimum ${minOffset})`);
  }

  // nibabel's check_fix: zero spatial pixdims → 1, negative → abs; qfac not ±1 → 1; unknown xform codes → 0.
  const pixdim = lib.pixDims.slice(0, 8).map((v) => v ?? 0);
  for (let i = 1; i <= 3; i++) {
    if (pixdim[i] === 0) pixdim[i] = 1;
    else if (pixdim[i] < 0) pixdim[i] = -pixdim[i];
  }
  if (pixdim[0] !== 1 && pixdim[0] !== -1) pixdim[0] = 1;
  const validCode = (c: number) => (Number.isInteger(c) && c >= 0 && c <= 5 ? c : 0);

  const sclSlope = lib.scl_slope;
  const sclInter = lib.scl_inter;
  let scaling: ParsedHeader['scaling'] = null;
  if (sclSlope !== 0 && Number.isFinite(sclSlope)) {
    if (!Number.isFinite(sclInter)) throw new FileFormatError(file, `valid scl_slope ${sclSlope} but invalid scl_inter ${sclInter}`);
    if (!(sclSlope === 1 && sclInter === 0)) scaling = { slope: sclSlope, inter: sclInter };
  }

  const header: NiftiHeader = {
    version,
    littleEndian,
    dims,
    pixdim,
    datatypeCode: lib.datatypeCode,
    bitpix: lib.numBitsPerVoxel,
    voxOffset,
    sclSlope,
    sclInter,
    qformCode: validCode(lib.qform_code),
    sformCode: validCode(lib.sform_code),
    quatern: [lib.quatern_b, lib.quatern_c, lib.quatern_d],
    qoffset: [lib.qoffset_x, lib.qoffset_y, lib.qoffset_z],
    srow,
    xyztUnits: lib.xyzt_units,
    dimInfo: lib.dim_info,
    intentCode: lib.intent_code,
    intentName: lib.intent_name,
    intentP: [lib.intent_p1, lib.intent_p2, lib.intent_p3],
    sliceStart: lib.slice_start,
    sliceEnd: lib.slice_end,
    sliceCode: lib.slice_code,
    sliceDuration: lib.slice_duration,
    toffset: lib.toffset,
    calMin: lib.cal_min,
    calMax: lib.cal_max,
    description: lib.description,
    auxFile: lib.aux_file,
    magic,
    extensions: [],
  };
  if (bytes.byteLength >= voxOffset) header.extensions = readExtensions(view, version, littleEndian, voxOffset);
  return { header, datatype: dt, shape, voxels, dataBytes, dataOffset: voxOffset, scaling };
}

/** Extension headers between the fixed header and vox_offset (codes and sizes only). */
function readExtensions(view: DataView, version: 1 | 2, le: boolean, voxOffset: number): NiftiExtension[] {
  const flagAt = version === 1 ? 348 : 540;
  if (view.byteLength < flagAt + 4 || view.getUint8(flagAt) === 0) return [];
  const out: NiftiExtension[] = [];
  let at = flagAt + 4;
  while (at + 8 <= voxOffset && at + 8 <= view.byteLength) {
    const size = view.getInt32(at, le);
    if (size < 8 || at + size > voxOffset) break; // malformed: nibabel warns and stops; so do we
    out.push({ code: view.getInt32(at + 4, le), size });
    at += size;
  }
  return out;
}

/** nibabel's `get_base_affine`: voxel sizes on the diagonal, x flipped, origin at the volume's centre. */
export function baseAffine(shape: readonly number[], pixdim: readonly number[]): Mat4 {
  const n = [0, 1, 2].map((i) => shape[i] ?? 1);
  const z = [0, 1, 2].map((i) => (i < shape.length ? pixdim[i + 1] : 1));
  z[0] = -z[0];
  const m: Mat4 = [
    [z[0], 0, 0, 0],
    [0, z[1], 0, 0],
    [0, 0, z[2], 0],
    [0, 0, 0, 1],
  ];
  for (let i = 0; i < 3; i++) m[i][3] = (-(n[i] - 1) / 2) * z[i];
  return m;
}

/** nibabel's `get_qform`: rotation from the unit quaternion (a filled in ≥ 0), zooms, qfac, offsets. */
export function qformAffine(h: NiftiHeader, file = 'NIfTI header'): Mat4 {
  const [b, c, d] = h.quatern;
  // nibabel's threshold scales with the precision of the stored values (float32 for NIfTI-1, float64 for NIfTI-2).
  const thresh = -(h.version === 1 ? 2 ** -23 : 2 ** -52) * 3;
  const w2 = 1 - (b * b + c * c + d * d);
  let a: number;
  if (w2 < 0) {
    if (w2 < thresh) throw new FileFormatError(file, `qform quaternion (b, c, d) = (${b}, ${c}, ${d}) is not a unit quaternion`);
    a = 0;
  } else a = Math.sqrt(w2);
  const nq = a * a + b * b + c * c + d * d;
  let R: number[][];
  if (nq < 2 ** -52) {
    R = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
  } else {
    const s = 2 / nq;
    const X = b * s, Y = c * s, Z = d * s;
    const wX = a * X, wY = a * Y, wZ = a * Z;
    const xX = b * X, xY = b * Y, xZ = b * Z;
    const yY = c * Y, yZ = c * Z, zZ = d * Z;
    R = [
      [1 - (yY + zZ), xY - wZ, xZ + wY],
      [xY + wZ, 1 - (xX + zZ), yZ - wX],
      [xZ - wY, yZ + wX, 1 - (xX + yY)],
    ];
  }
  const vox = [h.pixdim[1], h.pixdim[2], h.pixdim[3] * h.pixdim[0]];
  const m: Mat4 = [0, 1, 2].map((i) => [R[i][0] * vox[0], R[i][1] * vox[1], R[i][2] * vox[2], h.qoffset[i]]);
  m.push([0, 0, 0, 1]);
  return m;
}

export function sformAffine(h: NiftiHeader): Mat4 {
  return [...h.srow.map((r) => r.slice()), [0, 0, 0, 1]];
}

/** The affine nibabel's `Nifti1Image.affine` holds for this header. */
export function bestAffine(h: NiftiHeader, shape: readonly number[], file = 'NIfTI header'): Mat4 {
  if (h.sformCode !== 0) return sformAffine(h);
  if (h.qformCode !== 0) return qformAffine(h, file);
  return baseAffine(shape, h.pixdim);
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(n >= 2 ** 40 ? 0 : 2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} bytes`;
}
