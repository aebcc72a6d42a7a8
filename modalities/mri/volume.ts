/**
 * The in-memory volume every MRI function takes and returns. Layout follows NIfTI and nibabel: `shape` is
 * [X, Y, Z] (or [X, Y, Z, T]) and `data` is x-fastest, so the same buffer read C-order is [Z, Y, X] = [D, H, W],
 * the layout tfjs models see.
 */
import { ShapeError } from '../../src/errors.js';
import { checkMat4, type Mat4, voxelSizes } from './affine.js';

export type VolumeData = Float32Array | Float64Array;

export interface Volume {
  /** Grid size per axis, [X, Y, Z] or [X, Y, Z, T]. */
  shape: number[];
  /** Voxel size per axis (mm for space; pixdim[1..ndim] as read). */
  spacing: number[];
  /** Voxel (i, j, k) → world (x, y, z) millimetres, RAS+. */
  affine: Mat4;
  /** Values, x fastest. */
  data: VolumeData;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Voxels in one 3-D frame (the first three axes; missing axes count as 1). */
export function frameSize(shape: readonly number[]): number {
  return (shape[0] ?? 1) * (shape[1] ?? 1) * (shape[2] ?? 1);
}

/** Number of 3-D frames (product of the axes after the third). */
export function frameCount(shape: readonly number[]): number {
  return numel(shape.slice(3));
}

/** Throws a ShapeError unless `vol` is self-consistent (data length = ∏ shape, 4×4 affine). */
export function checkVolume(vol: Volume, what = 'volume'): void {
  if (vol == null || !Array.isArray(vol.shape) || vol.shape.length < 1) throw new ShapeError(`${what}: missing shape`);
  if (vol.shape.some((n) => !Number.isInteger(n) || n < 1)) throw new ShapeError(`${what}: shape ${JSON.stringify(vol.shape)} must hold positive integers`);
  if (!(vol.data instanceof Float32Array || vol.data instanceof Float64Array)) throw new ShapeError(`${what}: data must be a Float32Array or Float64Array`);
  if (vol.data.length !== numel(vol.shape)) {
    throw new ShapeError(`${what}: data has ${vol.data.length} values but shape ${vol.shape.join('×')} needs ${numel(vol.shape)}`);
  }
  checkMat4(vol.affine, `${what}.affine`);
}

/** Pads a shape to at least three axes with 1s ([X, Y] → [X, Y, 1]). */
export function shape3(shape: readonly number[]): [number, number, number] {
  return [shape[0] ?? 1, shape[1] ?? 1, shape[2] ?? 1];
}

/** Spacing for a new spatial affine, keeping non-spatial spacing (e.g. TR) from `old`. */
export function spacingFrom(affine: Mat4, shape: readonly number[], old: readonly number[]): number[] {
  const s = voxelSizes(affine);
  return shape.map((_, i) => (i < 3 ? s[i] : old[i] ?? 1));
}

/** A deep copy (new data buffer, same values). */
export function cloneVolume<T extends Volume>(vol: T): T {
  return { ...vol, shape: vol.shape.slice(), spacing: vol.spacing.slice(), affine: vol.affine.map((r) => r.slice()), data: vol.data.slice() };
}

/** A volume with the same geometry and new data. */
export function withData(vol: Volume, data: VolumeData): Volume {
  return { shape: vol.shape.slice(), spacing: vol.spacing.slice(), affine: vol.affine.map((r) => r.slice()), data };
}
