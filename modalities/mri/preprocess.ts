/**
 * The standard preprocessing chain as plain data (so worker threads can run it): canonical RAS orientation →
 * resample to a spacing/shape (crop/pad around the centre or the non-zero bounding box) → optional percentile
 * clip → intensity normalisation.
 */
import { ConfigError, ShapeError } from '../../src/errors.js';
import { cropOrPad } from './crop.js';
import { minMax, percentileClip, zscore } from './intensity.js';
import { asClosestCanonical } from './orientation.js';
import { resample } from './resample.js';
import { type Volume } from './volume.js';

export type Normalization = 'zscore' | 'zscore-nonzero' | 'minmax' | 'none';

export interface PreprocessSpec {
  /** Reorient to the closest RAS+ (default true). */
  canonical?: boolean;
  /** Target voxel size in mm (default: keep). */
  spacing?: number | number[];
  /** Target grid [X, Y, Z] (default: keep the field of view). */
  shape?: number[];
  /** Where `shape` is centred: the grid centre (default) or the bounding box of non-zero voxels. */
  crop?: 'center' | 'mask';
  /** Gaussian pre-filter when downsampling (default true). */
  antialias?: boolean;
  /** Clip to these percentiles (of non-zero voxels) before normalising, e.g. [0.5, 99.5]. */
  clip?: [number, number];
  /** Default 'zscore-nonzero' (statistics and output inside the non-zero voxels; background stays 0). */
  normalize?: Normalization;
}

export const NORMALIZATIONS: Normalization[] = ['zscore', 'zscore-nonzero', 'minmax', 'none'];


export function checkPreprocessSpec(spec: PreprocessSpec, field = 'preprocess'): void {
  if (spec.normalize != null && !NORMALIZATIONS.includes(spec.normalize)) {
    throw new ConfigError(`${field}.normalize`, `${JSON.stringify(spec.normalize)} is not one of ${NORMALIZATIONS.join(', ')}`);
  }
  if (spec.crop != null && spec.crop !== 'center' && spec.crop !== 'mask') throw new ConfigError(`${field}.crop`, `must be 'center' or 'mask'`);
  if (spec.shape != null && (spec.shape.length !== 3 || spec.shape.some((n) => !Number.isInteger(n) || n < 1))) {
    throw new ConfigError(`${field}.shape`, `${JSON.stringify(spec.shape)} must be three positive integers`);
  }
  const sp = spec.spacing;
  if (sp != null && !(typeof sp === 'number' ? sp > 0 : sp.length === 3 && sp.every((v) => v > 0))) {
    throw new ConfigError(`${field}.spacing`, `${JSON.stringify(sp)} must be a positive number or three`);
  }
}

/** Applies one of the named normalisations. */
export function normalizeIntensity<T extends Volume>(v: T, method: Normalization): T {
  switch (method) {
    case 'zscore':
      return zscore(v);
    case 'zscore-nonzero':
      return zscore(v, { mask: 'nonzero' });
    case 'minmax':
      return minMax(v);
    case 'none':
      return v;
    default:
      throw new ConfigError('normalize', `${JSON.stringify(method)} is not one of ${NORMALIZATIONS.join(', ')}`);
  }
}

/** Runs the chain on one 3-D volume (a 4-D volume with a single frame is accepted). */
export function preprocessVolume(vol: Volume, spec: PreprocessSpec = {}): Volume {
  checkPreprocessSpec(spec);
  let v = vol;
  if (v.shape.length > 3) {
    if (v.shape.slice(3).some((n) => n !== 1)) throw new ShapeError(`volume has shape ${v.shape.join('×')}; preprocessing expects a 3-D volume`);
    v = { ...v, shape: v.shape.slice(0, 3), spacing: v.spacing.slice(0, 3) };
  }
  if (spec.canonical ?? true) v = asClosestCanonical(v);
  const antialias = spec.antialias ?? true;
  if (spec.crop === 'mask' && spec.shape) {
    if (spec.spacing != null) v = resample(v, { spacing: spec.spacing, antialias });
    v = cropOrPad(v, spec.shape, { mask: v });
  } else if (spec.spacing != null || spec.shape) {
    v = resample(v, { spacing: spec.spacing, shape: spec.shape, antialias });
  }
  if (spec.clip) v = percentileClip(v, { lower: spec.clip[0], upper: spec.clip[1], mask: 'nonzero' });
  v = normalizeIntensity(v, spec.normalize ?? 'zscore-nonzero');
  if (!(v.data instanceof Float32Array)) v = { ...v, data: Float32Array.from(v.data) };
  return v;
}
