/**
 * Writing NIfTI-1/NIfTI-2 (.nii, .nii.gz), little endian, atomically. The affine goes to the sform (and, as in
 * nibabel, to the quaternion fields), so nibabel reads back the same shape, affine (to float32 precision for
 * NIfTI-1) and values.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import zlib from 'node:zlib';
import { ValueError } from '../../../src/errors.js';
import { writeFileAtomic, writeFileAtomicSync } from '../../../src/util/fs.js';
import { det3, type Mat4, polarOrthogonal, voxelSizes } from '../affine.js';
import { checkVolume, type Volume } from '../volume.js';
import { datatypeInfo, type DatatypeInfo, type NiftiDatatype, typedView } from './datatypes.js';
import type { NiftiHeader } from './header.js';

export interface WriteNiftiOptions {
  /** Stored type (default: float32, or float64 for Float64Array data). */
  datatype?: NiftiDatatype;
  /**
   * Scaling for integer types: stored = round((value − inter) / slope). 'auto' fits the data's range to the type;
   * omitted: values must already be integers within the type's range.
   */
  scaling?: { slope: number; inter: number } | 'auto';
  /** NIfTI version (default 1, or 2 when an axis exceeds 32767 voxels). */
  version?: 1 | 2;
  /** gzip the output (default: when the path ends with .gz). */
  gzip?: boolean;
  /** zlib level 1–9 (default 6). */
  gzipLevel?: number;
  /** sform_code (default: the source header's, else 2 = aligned). */
  sformCode?: number;
  /** qform_code (default: the source header's, else 0 = unknown, as nibabel writes new images). */
  qformCode?: number;
  description?: string;
}

/** Quaternion (b, c, d), qfac and zooms for an affine, as nifti1_io's mat44_to_quatern (shears stripped). */
export function affineToQuaternion(affine: Mat4): { quatern: [number, number, number]; qfac: 1 | -1; zooms: [number, number, number] } {
  const zooms = voxelSizes(affine).map((z) => (z === 0 ? 1 : z)) as [number, number, number];
  let R = [0, 1, 2].map((i) => [0, 1, 2].map((j) => affine[i][j] / zooms[j]));
  let qfac: 1 | -1 = 1;
  if (det3(R) < 0) {
    qfac = -1;
    for (let i = 0; i < 3; i++) R[i][2] = -R[i][2];
  }
  R = polarOrthogonal(R) ?? [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  const [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]] = R;
  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { quatern: [b, c, d], qfac, zooms };
}

function resolveScaling(vol: Volume, dt: DatatypeInfo, opt: WriteNiftiOptions['scaling']): { slope: number; inter: number } | null {
  if (!dt.integer) return opt && opt !== 'auto' ? opt : null;
  if (opt && opt !== 'auto') {
    if (!(opt.slope !== 0 && Number.isFinite(opt.slope) && Number.isFinite(opt.inter))) throw new ValueError('writeNifti: scaling.slope must be finite and non-zero');
    return opt; // explicit: values are rounded and clamped to the type
  }
  const data = vol.data;
  let lo = Infinity;
  let hi = -Infinity;
  let integral = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) throw new ValueError(`writeNifti: data holds ${v} at index ${i}; ${dt.name} cannot store it`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (integral && v !== Math.round(v)) integral = false;
  }
  if (integral && lo >= dt.min && hi <= dt.max) return null;
  if (opt !== 'auto') {
    throw new ValueError(
      `writeNifti: values span [${lo}, ${hi}]${integral ? '' : ' and are not integers'}; ${dt.name} cannot hold them — ` +
        `pass scaling: 'auto', an explicit { slope, inter }, or datatype: 'float32'`,
    );
  }
  const span = hi - lo;
  const slope = span > 0 ? span / (dt.max - dt.min) : 1;
  return { slope, inter: lo - dt.min * slope };
}

function writeString(bytes: Uint8Array, at: number, max: number, s: string): void {
  for (let i = 0; i < Math.min(max - 1, s.length); i++) bytes[at + i] = s.charCodeAt(i) & 0x7f;
}

/** Encodes a volume as NIfTI bytes (gzipped if `opts.gzip`). */
export function encodeNifti(vol: Volume & { header?: NiftiHeader }, opts: WriteNiftiOptions = {}): Uint8Array {
  checkVolume(vol, 'writeNifti volume');
  if (vol.shape.length > 7) throw new ValueError(`writeNifti: ${vol.shape.length} axes; NIfTI holds at most 7`);
  const dt = datatypeInfo(opts.datatype ?? (vol.data instanceof Float64Array ? 'float64' : 'float32'));
  const version = opts.version ?? (vol.shape.some((n) => n > 32767) ? 2 : 1);
  if (version === 1 && vol.shape.some((n) => n > 32767)) throw new ValueError('writeNifti: an axis exceeds 32767 voxels; use version: 2');
  let scaling = resolveScaling(vol, dt, opts.scaling);
  // Encode with the slope/intercept a reader will see (float32 in NIfTI-1), so values round-trip.
  if (scaling && version === 1) scaling = { slope: Math.fround(scaling.slope), inter: Math.fround(scaling.inter) };
  const hdrBytes = version === 1 ? 352 : 544;
  const n = vol.data.length;
  const out = new Uint8Array(hdrBytes + n * dt.bytes);
  const view = new DataView(out.buffer);
  const le = true;
  const ndim = vol.shape.length;
  const dims = [ndim, ...vol.shape, ...Array(7 - ndim).fill(1)];
  const { quatern, qfac, zooms } = affineToQuaternion(vol.affine);
  const pixdim = new Array<number>(8).fill(0);
  pixdim[0] = qfac;
  for (let i = 0; i < 3; i++) pixdim[i + 1] = zooms[i];
  for (let i = 3; i < ndim; i++) pixdim[i + 1] = vol.spacing[i] ?? 1;
  const sformCode = opts.sformCode ?? (vol.header?.sformCode || 2);
  const qformCode = opts.qformCode ?? (vol.header?.qformCode ?? 0);
  const xyztUnits = 2 | (ndim >= 4 ? 8 : 0);
  const slope = scaling?.slope ?? 1;
  const inter = scaling?.inter ?? 0;
  const description = opts.description ?? 'geoclr';

  if (version === 1) {
    view.setInt32(0, 348, le);
    out[38] = 'r'.charCodeAt(0);
    for (let i = 0; i < 8; i++) view.setInt16(40 + 2 * i, dims[i], le);
    view.setInt16(70, dt.code, le);
    view.setInt16(72, dt.bytes * 8, le);
    for (let i = 0; i < 8; i++) view.setFloat32(76 + 4 * i, pixdim[i], le);
    view.setFloat32(108, hdrBytes, le);
    view.setFloat32(112, scaling ? slope : 1, le);
    view.setFloat32(116, inter, le);
    out[123] = xyztUnits;
    writeString(out, 148, 80, description);
    view.setInt16(252, qformCode, le);
    view.setInt16(254, sformCode, le);
    for (let i = 0; i < 3; i++) view.setFloat32(256 + 4 * i, quatern[i], le);
    for (let i = 0; i < 3; i++) view.setFloat32(268 + 4 * i, vol.affine[i][3], le);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) view.setFloat32(280 + 4 * (r * 4 + c), vol.affine[r][c], le);
    writeString(out, 344, 4, 'n+1');
  } else {
    view.setInt32(0, 540, le);
    out.set([0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], 4);
    view.setInt16(12, dt.code, le);
    view.setInt16(14, dt.bytes * 8, le);
    for (let i = 0; i < 8; i++) view.setBigInt64(16 + 8 * i, BigInt(dims[i]), le);
    for (let i = 0; i < 8; i++) view.setFloat64(104 + 8 * i, pixdim[i], le);
    view.setBigInt64(168, BigInt(hdrBytes), le);
    view.setFloat64(176, scaling ? slope : 1, le);
    view.setFloat64(184, inter, le);
    writeString(out, 240, 80, description);
    view.setInt32(344, qformCode, le);
    view.setInt32(348, sformCode, le);
    for (let i = 0; i < 3; i++) view.setFloat64(352 + 8 * i, quatern[i], le);
    for (let i = 0; i < 3; i++) view.setFloat64(376 + 8 * i, vol.affine[i][3], le);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) view.setFloat64(400 + 8 * (r * 4 + c), vol.affine[r][c], le);
    view.setInt32(500, xyztUnits, le);
  }
  encodeVoxels(vol.data, dt, scaling, out, hdrBytes);
  const gz = opts.gzip ?? false;
  return gz ? zlib.gzipSync(out, { level: opts.gzipLevel ?? 6 }) : out;
}

function encodeVoxels(data: Float32Array | Float64Array, dt: DatatypeInfo, scaling: { slope: number; inter: number } | null, out: Uint8Array, offset: number): void {
  const n = data.length;
  // Host byte order: little endian on every platform Node supports in practice (DataView would be ~10× slower).
  const buf = out.buffer;
  const target = typedView(dt.name, buf, offset, n);
  if (target instanceof BigInt64Array || target instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) target[i] = BigInt(Math.round(scaling ? (data[i] - scaling.inter) / scaling.slope : data[i]));
    return;
  }
  if (!scaling) {
    target.set(data);
    return;
  }
  const { slope, inter } = scaling;
  if (!dt.integer) {
    for (let i = 0; i < n; i++) target[i] = (data[i] - inter) / slope;
    return;
  }
  const lo = dt.min;
  const hi = dt.max;
  for (let i = 0; i < n; i++) {
    const v = Math.round((data[i] - inter) / slope);
    target[i] = v < lo ? lo : v > hi ? hi : v;
  }
}

function wantsGzip(path: string, opts: WriteNiftiOptions): WriteNiftiOptions {
  return { ...opts, gzip: opts.gzip ?? path.toLowerCase().endsWith('.gz') };
}

/**
 * Writes a volume to `path` atomically (.nii.gz paths are gzipped). The stored type defaults to float32;
 * pass `datatype: 'int16'` (with `scaling: 'auto'` for non-integer data) for compact files.
 */
export async function writeNifti(path: string, vol: Volume, opts: WriteNiftiOptions = {}): Promise<void> {
  await writeFileAtomic(path, encodeNifti(vol, wantsGzip(path, opts)));
}

/** Synchronous twin of `writeNifti`. */
export function writeNiftiSync(path: string, vol: Volume, opts: WriteNiftiOptions = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomicSync(path, encodeNifti(vol, wantsGzip(path, opts)));
}
