/**
 * Resampling onto a new voxel grid. Semantics follow scipy.ndimage.affine_transform as nibabel.processing uses
 * it (order 1 = trilinear, order 0 = nearest, mode 'constant'): a target voxel whose source coordinate falls
 * outside [0, n−1] on any axis gets `fill`. Axis-aligned grids (spacing changes, crops, flips) take a separable
 * fast path; oblique ones are sampled point by point.
 */
import { ShapeError, ValueError } from '../../src/errors.js';
import { invert4, type Mat4, matmul4, voxelSizes } from './affine.js';
import { gaussianBlur } from './filters.js';
import { checkVolume, frameCount, frameSize, shape3, spacingFrom, type Volume } from './volume.js';

export type InterpolationOrder = 0 | 1 | 'nearest' | 'linear';

export interface ResampleOptions {
  /** 1 / 'linear' (trilinear, default) for images; 0 / 'nearest' for label maps. */
  order?: InterpolationOrder;
  /** Value outside the source volume (default 0). */
  fill?: number;
}

export interface Grid {
  /** [X, Y, Z] */
  shape: number[];
  affine: Mat4;
}

/** Coordinates within this distance of the edge count as inside (guards against round-off in the grid maps). */
const EDGE_EPS = 1e-6;

function orderOf(o: InterpolationOrder | undefined): 0 | 1 {
  if (o == null || o === 1 || o === 'linear') return 1;
  if (o === 0 || o === 'nearest') return 0;
  throw new ValueError(`resample: order must be 0/'nearest' or 1/'linear', got ${JSON.stringify(o)}`);
}

interface AxisTable {
  /** Source index of the lower neighbour (or the nearest voxel), −1 when outside. */
  i0: Int32Array;
  /** Weight of the upper neighbour. */
  w: Float32Array;
}

function axisTable(n: number, count: number, scale: number, offset: number, order: 0 | 1): AxisTable {
  const i0 = new Int32Array(count);
  const w = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const c = scale * i + offset;
    if (c < -EDGE_EPS || c > n - 1 + EDGE_EPS) {
      i0[i] = -1;
      continue;
    }
    if (order === 0) {
      i0[i] = Math.min(n - 1, Math.max(0, Math.floor(c + 0.5)));
      continue;
    }
    let f = Math.floor(c);
    if (f >= n - 1) f = Math.max(0, n - 2);
    if (f < 0) f = 0;
    i0[i] = f;
    w[i] = n === 1 ? 0 : Math.min(1, Math.max(0, c - f));
  }
  return { i0, w };
}

function isAxisAligned(m: Mat4): boolean {
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j && Math.abs(m[i][j]) > 1e-12) return false;
  return true;
}

function sampleSeparable(src: ArrayLike<number>, inShape: number[], outShape: number[], m: Mat4, order: 0 | 1, fill: number, dst: Float32Array, dOff: number, sOff: number): void {
  const [nx, ny, nz] = inShape;
  const tx = axisTable(nx, outShape[0], m[0][0], m[0][3], order);
  const ty = axisTable(ny, outShape[1], m[1][1], m[1][3], order);
  const tz = axisTable(nz, outShape[2], m[2][2], m[2][3], order);
  const sx1 = nx > 1 ? 1 : 0;
  const sy = nx;
  const sy1 = ny > 1 ? nx : 0;
  const sz = nx * ny;
  const sz1 = nz > 1 ? nx * ny : 0;
  let w = dOff;
  for (let z = 0; z < outShape[2]; z++) {
    const iz = tz.i0[z];
    const wz = tz.w[z];
    for (let y = 0; y < outShape[1]; y++) {
      const iy = ty.i0[y];
      if (iz < 0 || iy < 0) {
        dst.fill(fill, w, w + outShape[0]);
        w += outShape[0];
        continue;
      }
      const wy = ty.w[y];
      const row = sOff + iz * sz + iy * sy;
      if (order === 0) {
        for (let x = 0; x < outShape[0]; x++) {
          const ix = tx.i0[x];
          dst[w++] = ix < 0 ? fill : src[row + ix];
        }
        continue;
      }
      for (let x = 0; x < outShape[0]; x++) {
        const ix = tx.i0[x];
        if (ix < 0) {
          dst[w++] = fill;
          continue;
        }
        const wx = tx.w[x];
        const p = row + ix;
        const c00 = src[p] + wx * (src[p + sx1] - src[p]);
        const c10 = src[p + sy1] + wx * (src[p + sy1 + sx1] - src[p + sy1]);
        const c01 = src[p + sz1] + wx * (src[p + sz1 + sx1] - src[p + sz1]);
        const c11 = src[p + sz1 + sy1] + wx * (src[p + sz1 + sy1 + sx1] - src[p + sz1 + sy1]);
        const c0 = c00 + wy * (c10 - c00);
        const c1 = c01 + wy * (c11 - c01);
        dst[w++] = c0 + wz * (c1 - c0);
      }
    }
  }
}

/**
 * Samples `src` (x-fastest, shape `inShape`) at source voxel coordinates M·[x, y, z, 1] for every target voxel.
 * Exposed for transforms that build their own voxel map (augmentations, the synthetic cohort).
 */
export function sampleAffine(
  src: ArrayLike<number>,
  inShape: readonly number[],
  outShape: readonly number[],
  m: Mat4,
  order: 0 | 1 = 1,
  fill = 0,
  dst = new Float32Array(outShape[0] * outShape[1] * outShape[2]),
  dOff = 0,
  sOff = 0,
): Float32Array {
  const ins = [...inShape];
  const outs = [...outShape];
  if (isAxisAligned(m)) {
    sampleSeparable(src, ins, outs, m, order, fill, dst, dOff, sOff);
    return dst;
  }
  const [nx, ny, nz] = ins;
  const sy = nx;
  const sz = nx * ny;
  const hx = nx - 1 + EDGE_EPS;
  const hy = ny - 1 + EDGE_EPS;
  const hz = nz - 1 + EDGE_EPS;
  let w = dOff;
  for (let z = 0; z < outs[2]; z++) {
    for (let y = 0; y < outs[1]; y++) {
      let cx = m[0][1] * y + m[0][2] * z + m[0][3];
      let cy = m[1][1] * y + m[1][2] * z + m[1][3];
      let cz = m[2][1] * y + m[2][2] * z + m[2][3];
      for (let x = 0; x < outs[0]; x++, cx += m[0][0], cy += m[1][0], cz += m[2][0]) {
        if (cx < -EDGE_EPS || cy < -EDGE_EPS || cz < -EDGE_EPS || cx > hx || cy > hy || cz > hz) {
          dst[w++] = fill;
          continue;
        }
        if (order === 0) {
          const ix = Math.min(nx - 1, Math.max(0, Math.floor(cx + 0.5)));
          const iy = Math.min(ny - 1, Math.max(0, Math.floor(cy + 0.5)));
          const iz = Math.min(nz - 1, Math.max(0, Math.floor(cz + 0.5)));
          dst[w++] = src[sOff + iz * sz + iy * sy + ix];
          continue;
        }
        let ix = Math.floor(cx);
        let iy = Math.floor(cy);
        let iz = Math.floor(cz);
        ix = ix < 0 ? 0 : ix > nx - 2 ? Math.max(0, nx - 2) : ix;
        iy = iy < 0 ? 0 : iy > ny - 2 ? Math.max(0, ny - 2) : iy;
        iz = iz < 0 ? 0 : iz > nz - 2 ? Math.max(0, nz - 2) : iz;
        const wx = nx > 1 ? Math.min(1, Math.max(0, cx - ix)) : 0;
        const wy = ny > 1 ? Math.min(1, Math.max(0, cy - iy)) : 0;
        const wz = nz > 1 ? Math.min(1, Math.max(0, cz - iz)) : 0;
        const p = sOff + iz * sz + iy * sy + ix;
        const dx = nx > 1 ? 1 : 0;
        const dy = ny > 1 ? sy : 0;
        const dz = nz > 1 ? sz : 0;
        const c00 = src[p] + wx * (src[p + dx] - src[p]);
        const c10 = src[p + dy] + wx * (src[p + dy + dx] - src[p + dy]);
        const c01 = src[p + dz] + wx * (src[p + dz + dx] - src[p + dz]);
        const c11 = src[p + dz + dy] + wx * (src[p + dz + dy + dx] - src[p + dz + dy]);
        const c0 = c00 + wy * (c10 - c00);
        const c1 = c01 + wy * (c11 - c01);
        dst[w++] = c0 + wz * (c1 - c0);
      }
    }
  }
  return dst;
}

/**
 * Resamples onto the grid `target` (shape + affine), like `nibabel.processing.resample_from_to`. 4-D volumes are
 * resampled frame by frame.
 */
export function resampleToGrid(vol: Volume, target: Grid, opts: ResampleOptions = {}): Volume {
  checkVolume(vol);
  const order = orderOf(opts.order);
  const outShape = shape3(target.shape);
  if (outShape.some((n) => !Number.isInteger(n) || n < 1)) throw new ShapeError(`resample: target shape ${JSON.stringify(target.shape)} must be positive integers`);
  const m = matmul4(invert4(vol.affine), target.affine);
  const inShape = shape3(vol.shape);
  const outFrame = outShape[0] * outShape[1] * outShape[2];
  const frames = frameCount(vol.shape);
  const dst = new Float32Array(outFrame * frames);
  for (let f = 0; f < frames; f++) {
    sampleAffine(vol.data, inShape, outShape, m, order, opts.fill ?? 0, dst, f * outFrame, f * frameSize(vol.shape));
  }
  const shape = [...outShape, ...vol.shape.slice(3)];
  return { shape, spacing: spacingFrom(target.affine, shape, vol.spacing), affine: target.affine.map((r) => r.slice()), data: dst };
}

export interface ResampleToOptions extends ResampleOptions {
  /** Target voxel size in mm: one number (isotropic) or [sx, sy, sz]. Default: keep. */
  spacing?: number | readonly number[];
  /** Target grid size [X, Y, Z]. Default: the field of view divided by the new spacing. */
  shape?: readonly number[];
  /** Gaussian pre-filter when downsampling (σ = (factor − 1)/2 voxels, as skimage), against aliasing. Default false. */
  antialias?: boolean;
}

/**
 * The grid with the same orientation and field-of-view centre as `vol`, a new voxel size and/or shape.
 * With only `spacing`, the shape keeps the field of view (round(n·s/s')); with only `shape`, the spacing does.
 */
export function targetGrid(vol: Volume, opts: Pick<ResampleToOptions, 'spacing' | 'shape'>): Grid {
  const n = shape3(vol.shape);
  const s = voxelSizes(vol.affine);
  let sp: number[] | null = opts.spacing == null ? null : typeof opts.spacing === 'number' ? [opts.spacing, opts.spacing, opts.spacing] : [...opts.spacing];
  if (sp && (sp.length !== 3 || sp.some((v) => !(v > 0)))) throw new ValueError(`resample: spacing ${JSON.stringify(opts.spacing)} must be a positive number or three`);
  let shape = opts.shape ? [...opts.shape] : null;
  if (shape && (shape.length !== 3 || shape.some((v) => !Number.isInteger(v) || v < 1))) throw new ShapeError(`resample: shape ${JSON.stringify(opts.shape)} must be three positive integers`);
  if (!sp && !shape) return { shape: n, affine: vol.affine.map((r) => r.slice()) };
  if (!sp) sp = [0, 1, 2].map((i) => (s[i] * n[i]) / shape![i]);
  if (!shape) shape = [0, 1, 2].map((i) => Math.max(1, Math.round((n[i] * s[i]) / sp![i])));
  // target voxel i ↦ source voxel r·i + c, with the centres of both grids aligned
  const r = [0, 1, 2].map((i) => sp![i] / s[i]);
  const c = [0, 1, 2].map((i) => (n[i] - 1) / 2 - ((shape![i] - 1) / 2) * r[i]);
  const t: Mat4 = [
    [r[0], 0, 0, c[0]],
    [0, r[1], 0, c[1]],
    [0, 0, r[2], c[2]],
    [0, 0, 0, 1],
  ];
  return { shape, affine: matmul4(vol.affine, t) };
}

/**
 * Resamples to a voxel size and/or grid shape, keeping the orientation and the field-of-view centre.
 *
 * ```ts
 * const at2mm = resample(img, { spacing: 2 });                       // trilinear
 * const labels = resample(atlas, { spacing: 2, order: 'nearest' });   // label maps
 * const small = resample(img, { spacing: 4, shape: [48, 56, 48] });   // 4 mm, cropped/padded to 48×56×48
 * ```
 */
export function resample(vol: Volume, opts: ResampleToOptions): Volume {
  const grid = targetGrid(vol, opts);
  let src = vol;
  if (opts.antialias && orderOf(opts.order) === 1) {
    const s = voxelSizes(vol.affine);
    const g = voxelSizes(grid.affine);
    const sigma = [0, 1, 2].map((i) => Math.max(0, (g[i] / s[i] - 1) / 2));
    if (sigma.some((v) => v > 0)) src = gaussianBlur(vol, sigma);
  }
  return resampleToGrid(src, grid, opts);
}

/** Resamples `vol` onto `ref`'s grid (e.g. a label atlas onto an image: `{ order: 'nearest' }`). */
export function resampleLike(vol: Volume, ref: Volume, opts: ResampleOptions = {}): Volume {
  return resampleToGrid(vol, { shape: shape3(ref.shape), affine: ref.affine }, opts);
}
