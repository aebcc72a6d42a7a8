/**
 * Crop/pad to a fixed grid size around the volume's centre, a given voxel, or a mask's bounding box. Integer
 * voxel shifts only (no interpolation); the affine is translated so world coordinates are unchanged.
 */
import { ShapeError, ValueError } from '../../src/errors.js';
import { matmul4 } from './affine.js';
import { checkVolume, frameCount, frameSize, shape3, type Volume } from './volume.js';

/** Inclusive voxel bounding box [min, max] per axis of the voxels where `mask` > threshold; null if empty. */
export function boundingBox(mask: ArrayLike<number>, shape: readonly number[], threshold = 0): { min: number[]; max: number[] } | null {
  const [nx, ny, nz] = shape3(shape);
  const min = [Infinity, Infinity, Infinity];
  const max = [-1, -1, -1];
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (mask[i] > threshold) {
          if (x < min[0]) min[0] = x;
          if (x > max[0]) max[0] = x;
          if (y < min[1]) min[1] = y;
          if (y > max[1]) max[1] = y;
          if (z < min[2]) min[2] = z;
          if (z > max[2]) max[2] = z;
        }
      }
    }
  }
  return max[0] < 0 ? null : { min, max };
}

export interface CropOrPadOptions {
  /** Voxel coordinate to centre on (default: the volume's centre, (n−1)/2). */
  center?: readonly number[];
  /** Centre on the bounding box of this mask's non-zero voxels instead (same grid as the volume). */
  mask?: Volume | ArrayLike<number>;
  /** Value for padded voxels (default 0). */
  fill?: number;
}

/** Copies the box starting at voxel `start` with size `shape` (out-of-range voxels get `fill`). */
export function extractBox<T extends Volume>(vol: T, start: readonly number[], shape: readonly number[], fill = 0): T {
  const inS = shape3(vol.shape);
  const [ox, oy, oz] = shape;
  const outFrame = ox * oy * oz;
  const frames = frameCount(vol.shape);
  const src = vol.data;
  const dst = new (src.constructor as Float32ArrayConstructor)(outFrame * frames);
  if (fill !== 0) dst.fill(fill);
  // the x-range that overlaps the source, computed once
  const x0 = Math.max(0, -start[0]);
  const x1 = Math.min(ox, inS[0] - start[0]);
  for (let f = 0; f < frames; f++) {
    const sF = f * frameSize(vol.shape);
    const dF = f * outFrame;
    for (let z = 0; z < oz; z++) {
      const sz = z + start[2];
      if (sz < 0 || sz >= inS[2]) continue;
      for (let y = 0; y < oy; y++) {
        const sy = y + start[1];
        if (sy < 0 || sy >= inS[1] || x1 <= x0) continue;
        const sRow = sF + (sz * inS[1] + sy) * inS[0] + start[0];
        const dRow = dF + (z * oy + y) * ox;
        dst.set(src.subarray(sRow + x0, sRow + x1), dRow + x0);
      }
    }
  }
  const t = [
    [1, 0, 0, start[0]],
    [0, 1, 0, start[1]],
    [0, 0, 1, start[2]],
    [0, 0, 0, 1],
  ];
  return { ...vol, shape: [ox, oy, oz, ...vol.shape.slice(3)], affine: matmul4(vol.affine, t), data: dst };
}

/**
 * Crops and/or pads the first three axes to `shape` around a centre (default the volume centre; or a given
 * voxel; or the mask's bounding-box centre).
 *
 * ```ts
 * const fixed = cropOrPad(img, [96, 112, 96]);                 // around the centre
 * const brain = cropOrPad(img, [80, 96, 80], { mask: img });   // around the non-zero (brain) voxels
 * ```
 */
export function cropOrPad<T extends Volume>(vol: T, shape: readonly number[], opts: CropOrPadOptions = {}): T {
  checkVolume(vol);
  if (shape.length !== 3 || shape.some((n) => !Number.isInteger(n) || n < 1)) throw new ShapeError(`cropOrPad: shape ${JSON.stringify(shape)} must be three positive integers`);
  const n = shape3(vol.shape);
  let center = opts.center ? [...opts.center] : n.map((v) => (v - 1) / 2);
  if (opts.mask) {
    const m = 'data' in opts.mask ? (opts.mask as Volume).data : (opts.mask as ArrayLike<number>);
    if (m.length < n[0] * n[1] * n[2]) throw new ShapeError(`cropOrPad: mask has ${m.length} voxels, the volume ${n[0] * n[1] * n[2]} per frame`);
    const box = boundingBox(m, n);
    if (box == null) throw new ValueError('cropOrPad: mask is empty (no voxel above 0)');
    center = box.min.map((lo, i) => (lo + box.max[i]) / 2);
  }
  if (center.length !== 3 || center.some((c) => !Number.isFinite(c))) throw new ValueError(`cropOrPad: center ${JSON.stringify(center)} must be three numbers`);
  const start = [0, 1, 2].map((i) => Math.round(center[i] - (shape[i] - 1) / 2));
  return extractBox(vol, start, shape, opts.fill ?? 0);
}
