/**
 * Reading NIfTI-1/NIfTI-2 images (.nii, .nii.gz) into a `Volume` with nibabel's semantics: the same shape,
 * zooms, affine (`get_best_affine`) and scaled values (`get_fdata`). Every problem with the file is a
 * FileFormatError naming the file, raised after reading the header and before allocating what it claims.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, promises as fsp } from 'node:fs';
import { endianness } from 'node:os';
import zlib from 'node:zlib';
import { FileFormatError } from '../../../src/errors.js';
import type { Mat4 } from '../affine.js';
import type { Volume } from '../volume.js';
import { type NiftiDatatype, typedView, type VoxelArray } from './datatypes.js';
import { bestAffine, DEFAULT_MAX_BYTES, formatBytes, HEADER_PROBE_BYTES, type NiftiHeader, parseHeader, type ParsedHeader } from './header.js';

export interface NiftiImage extends Volume {
  /** The stored datatype, e.g. 'int16' (data is always returned as floats, scaled). */
  datatype: NiftiDatatype;
  header: NiftiHeader;
}

export interface ReadNiftiOptions {
  /** Element type of `data` (default 'float32'; 'float64' matches nibabel's get_fdata bit for bit). */
  dtype?: 'float32' | 'float64';
  /** Refuse headers that claim more voxel data than this (default 2 GiB). */
  maxBytes?: number;
  /** Name used in error messages when reading from bytes (default '<bytes>'). */
  name?: string;
}

const HOST_LITTLE = endianness() === 'LE';
/** deflate cannot expand data more than ~1032:1; a header claiming more than that is lying about the file. */
const MAX_DEFLATE_RATIO = 1032;

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gzipProblem(e: unknown): string {
  const msg = (e as Error).message ?? String(e);
  if (/unexpected end of file/i.test(msg)) return 'truncated gzip stream (unexpected end of file)';
  return `corrupt gzip stream (${msg})`;
}

/** Inflates just enough of a gzip stream to read the fixed header. */
function gunzipPrefix(gz: Uint8Array, file: string): Uint8Array {
  for (const take of [4096, 65536, gz.length]) {
    let out: Buffer;
    try {
      out = zlib.gunzipSync(gz.subarray(0, Math.min(take, gz.length)), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (e) {
      throw new FileFormatError(file, gzipProblem(e));
    }
    if (out.length >= HEADER_PROBE_BYTES || take >= gz.length) return out;
  }
  throw new FileFormatError(file, 'gzip stream is empty');
}

/** Decompresses the whole stream, never producing (much) more than the header said it needs. */
function gunzipBounded(gz: Uint8Array, file: string, needed: number, maxBytes: number): Uint8Array {
  const isize = gz.length >= 18 ? new DataView(gz.buffer, gz.byteOffset + gz.length - 4, 4).getUint32(0, true) : 0;
  const cap = Math.max(needed + (1 << 20), isize <= maxBytes + (1 << 20) ? isize : 0);
  try {
    return zlib.gunzipSync(gz, { maxOutputLength: cap });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new FileFormatError(file, `gzip stream holds more than ${formatBytes(cap)}, far beyond the ${formatBytes(needed)} the header describes`);
    }
    throw new FileFormatError(file, gzipProblem(e));
  }
}

function checkComplete(bytes: Uint8Array, p: ParsedHeader, file: string): void {
  const end = p.dataOffset + p.dataBytes;
  if (bytes.length < end) {
    throw new FileFormatError(
      file,
      `truncated: header claims ${p.shape.join('×')} ${p.datatype.name} voxels (${formatBytes(p.dataBytes)} from offset ${p.dataOffset}) but the ${
        isGzip(bytes) ? 'stream' : 'file'
      } holds only ${formatBytes(Math.max(0, bytes.length - p.dataOffset))} of voxel data`,
    );
  }
}

/** Typed view of the raw voxels in host byte order (a copy only when misaligned or byte-swapped). */
function rawVoxels(bytes: Uint8Array, p: ParsedHeader): VoxelArray {
  const size = p.datatype.bytes;
  let src = bytes.subarray(p.dataOffset, p.dataOffset + p.dataBytes);
  const swap = size > 1 && p.header.littleEndian !== HOST_LITTLE;
  if (swap) {
    const out = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i += size) for (let b = 0; b < size; b++) out[i + b] = src[i + size - 1 - b];
    src = out;
  } else if (src.byteOffset % size !== 0) {
    src = src.slice();
  }
  return typedView(p.datatype.name, src.buffer, src.byteOffset, p.voxels);
}

function decode(bytes: Uint8Array, p: ParsedHeader, dtype: 'float32' | 'float64'): Float32Array | Float64Array {
  const raw = rawVoxels(bytes, p);
  const out = dtype === 'float64' ? new Float64Array(p.voxels) : new Float32Array(p.voxels);
  const n = p.voxels;
  // nibabel scales in float64: raw * slope + inter (then we round once to float32 if asked).
  const slope = p.scaling?.slope ?? 1;
  const inter = p.scaling?.inter ?? 0;
  if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = Number(raw[i]) * slope + inter;
  } else if (p.scaling == null) {
    out.set(raw);
  } else {
    for (let i = 0; i < n; i++) out[i] = raw[i] * slope + inter;
  }
  return out;
}

function toImage(bytes: Uint8Array, p: ParsedHeader, file: string, dtype: 'float32' | 'float64'): NiftiImage {
  const affine: Mat4 = bestAffine(p.header, p.shape, file);
  return {
    shape: p.shape.slice(),
    spacing: p.shape.map((_, i) => p.header.pixdim[i + 1]),
    affine,
    data: decode(bytes, p, dtype),
    datatype: p.datatype.name,
    header: p.header,
  };
}

/** Parses a whole NIfTI file held in memory (.nii bytes or .nii.gz bytes). */
export function parseNifti(input: Uint8Array | ArrayBuffer, opts: ReadNiftiOptions = {}): NiftiImage {
  const file = opts.name ?? '<bytes>';
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length === 0) throw new FileFormatError(file, 'file is empty');
  let p: ParsedHeader;
  if (isGzip(bytes)) {
    p = parseHeader(gunzipPrefix(bytes, file), file, maxBytes);
    const needed = p.dataOffset + p.dataBytes;
    if (needed > bytes.length * MAX_DEFLATE_RATIO + 1024) {
      throw new FileFormatError(
        file,
        `truncated: header claims ${p.shape.join('×')} ${p.datatype.name} voxels (${formatBytes(p.dataBytes)}), more than a ${formatBytes(bytes.length)} gzip file can hold`,
      );
    }
    bytes = gunzipBounded(bytes, file, needed, maxBytes);
  }
  p = parseHeader(bytes, file, maxBytes);
  checkComplete(bytes, p, file);
  return toImage(bytes, p, file, opts.dtype ?? 'float32');
}

/** Opens `path` (a FileFormatError when it cannot), runs `f` with the descriptor and size, and closes it. */
function withFile<T>(path: string, f: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new FileFormatError(path, `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return f(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

function readPrefix(fd: number, size: number, max: number): Uint8Array {
  const probe = new Uint8Array(Math.min(size, max));
  readSync(fd, probe, 0, probe.length, 0);
  return probe;
}

/** Reads the header of an uncompressed file and checks the file is long enough, before reading the rest. */
function probeUncompressed(path: string, maxBytes: number): void {
  withFile(path, (fd, size) => {
    const probe = readPrefix(fd, size, HEADER_PROBE_BYTES);
    if (isGzip(probe)) return; // checked against the stream once inflated
    const p = parseHeader(probe, path, maxBytes);
    if (size < p.dataOffset + p.dataBytes) {
      throw new FileFormatError(
        path,
        `truncated: header claims ${p.shape.join('×')} ${p.datatype.name} voxels (${formatBytes(p.dataBytes)} from offset ${p.dataOffset}) but the file has only ${formatBytes(size)}`,
      );
    }
  });
}

/**
 * Reads a NIfTI image from a path or from bytes. `data` holds the scaled values (scl_slope/scl_inter applied),
 * x fastest; `affine` is nibabel's choice; `spacing` is nibabel's `get_zooms()`.
 *
 * ```ts
 * const img = await readNifti('sub-01_T1w.nii.gz');
 * img.shape; // [181, 217, 181]
 * ```
 */
export async function readNifti(source: string | Uint8Array | ArrayBuffer, opts: ReadNiftiOptions = {}): Promise<NiftiImage> {
  if (typeof source !== 'string') return parseNifti(source, opts);
  probeUncompressed(source, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const bytes = await fsp.readFile(source);
  return parseNifti(bytes, { ...opts, name: source });
}

/** Synchronous twin of `readNifti` (used inside worker threads, where blocking is fine). */
export function readNiftiSync(source: string | Uint8Array | ArrayBuffer, opts: ReadNiftiOptions = {}): NiftiImage {
  if (typeof source !== 'string') return parseNifti(source, opts);
  probeUncompressed(source, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  return parseNifti(readFileSync(source), { ...opts, name: source });
}

/** Reads only the header (cheap: the fixed header of a .nii, or a few KiB of a .nii.gz). */
export function readNiftiHeader(path: string, opts: Pick<ReadNiftiOptions, 'maxBytes'> = {}): ParsedHeader & { affine: Mat4 } {
  return withFile(path, (fd, size) => {
    const probe = readPrefix(fd, size, 65536);
    const p = parseHeader(isGzip(probe) ? gunzipPrefix(probe, path) : probe, path, opts.maxBytes ?? DEFAULT_MAX_BYTES);
    return { ...p, affine: bestAffine(p.header, p.shape, path) };
  });
}
