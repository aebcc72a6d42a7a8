/**
 * Axis orientation, following nibabel.orientations: an orientation is, per voxel axis, the world axis it runs
 * along (0 = x/L–R, 1 = y/P–A, 2 = z/I–S) and its direction (+1 toward R/A/S, −1 toward L/P/I).
 * `asClosestCanonical` flips and permutes voxel axes so the image is as close to RAS+ as possible, exactly as
 * `nibabel.as_closest_canonical` (same data order, same affine).
 */
import { ShapeError, ValueError } from '../../src/errors.js';
import { type Mat4, matmul4, polarOrthogonal } from './affine.js';
import { checkVolume, frameCount, frameSize, spacingFrom, type Volume } from './volume.js';

/** Per voxel axis: [world axis, ±1]. */
export type Orientation = [number, 1 | -1][];

const LABELS: [string, string][] = [
  ['L', 'R'],
  ['P', 'A'],
  ['I', 'S'],
];

/**
 * nibabel's `io_orientation`: the world axis each voxel axis is closest to, from the orthogonal polar factor
 * of the affine's normalised 3×3 part (so oblique affines get their nearest orthogonal orientation).
 */
export function ioOrientation(affine: Mat4): Orientation {
  const zooms = [0, 1, 2].map((j) => Math.hypot(affine[0][j], affine[1][j], affine[2][j]) || 1);
  const RS = [0, 1, 2].map((i) => [0, 1, 2].map((j) => affine[i][j] / zooms[j]));
  const R = polarOrthogonal(RS) ?? RS.map((r) => r.slice());
  const out: Orientation = [];
  for (let inAx = 0; inAx < 3; inAx++) {
    const col = [R[0][inAx], R[1][inAx], R[2][inAx]];
    if (col.every((v) => Math.abs(v) <= 1e-8)) throw new ValueError(`affine: voxel axis ${inAx} has no direction (rank-deficient affine)`);
    let outAx = 0;
    for (let k = 1; k < 3; k++) if (Math.abs(col[k]) > Math.abs(col[outAx])) outAx = k;
    out.push([outAx, col[outAx] < 0 ? -1 : 1]);
    for (let j = 0; j < 3; j++) R[outAx][j] = 0; // an output axis is used once
  }
  return out;
}

/** Axis codes such as ['R', 'A', 'S'] (nibabel's `aff2axcodes`). */
export function axisCodes(affine: Mat4): string[] {
  return ornt2axcodes(ioOrientation(affine));
}

export function ornt2axcodes(ornt: Orientation): string[] {
  return ornt.map(([ax, dir]) => LABELS[ax][dir === 1 ? 1 : 0]);
}

/** ['R','A','S'] or 'RAS' → orientation. */
export function axcodes2ornt(codes: string | readonly string[]): Orientation {
  const list = typeof codes === 'string' ? [...codes.toUpperCase()] : codes.map((c) => c.toUpperCase());
  if (list.length !== 3) throw new ValueError(`axis codes ${JSON.stringify(codes)}: need exactly three (e.g. 'RAS')`);
  const seen = new Set<number>();
  return list.map((c) => {
    const ax = LABELS.findIndex((pair) => pair.includes(c));
    if (ax < 0 || seen.has(ax)) throw new ValueError(`axis codes ${JSON.stringify(codes)}: need one of L/R, P/A, I/S each`);
    seen.add(ax);
    return [ax, LABELS[ax][1] === c ? 1 : -1] as [number, 1 | -1];
  });
}

/** nibabel's `ornt_transform`: the orientation change taking `start` to `end`. */
export function orntTransform(start: Orientation, end: Orientation): Orientation {
  return start.map(([sAx, sFlip]) => {
    const endIdx = end.findIndex(([eAx]) => eAx === sAx);
    if (endIdx < 0) throw new ValueError(`orientation: world axis ${sAx} missing from the target`);
    return [endIdx, sFlip === end[endIdx][1] ? 1 : -1] as [number, 1 | -1];
  });
}

/** nibabel's `inv_ornt_aff`: the voxel affine that undoes applying `ornt` to an array of `shape`. */
export function invOrntAffine(ornt: Orientation, shape: readonly number[]): Mat4 {
  const p = 3;
  const undoReorder: Mat4 = [...ornt.map(([ax]) => [0, 1, 2, 3].map((j) => (j === ax ? 1 : 0))), [0, 0, 0, 1]];
  const undoFlip: Mat4 = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? (i < p ? ornt[i][1] : 1) : 0)));
  for (let i = 0; i < p; i++) {
    const c = -((shape[i] ?? 1) - 1) / 2;
    undoFlip[i][3] = ornt[i][1] * c - c;
  }
  return matmul4(undoFlip, undoReorder);
}

function isIdentity(ornt: Orientation): boolean {
  return ornt.every(([ax, d], i) => ax === i && d === 1);
}

/**
 * Applies an orientation transform to the first three axes (nibabel's `apply_orientation` + the affine update of
 * `as_reoriented`). Axis i of the input becomes axis ornt[i][0] of the output, reversed when ornt[i][1] = −1.
 */
export function applyOrientation<T extends Volume>(vol: T, ornt: Orientation): T {
  checkVolume(vol);
  if (vol.shape.length < 3) throw new ShapeError(`applyOrientation: need a 3-D or 4-D volume, got shape ${vol.shape.join('×')}`);
  if (isIdentity(ornt)) return vol;
  const inShape = vol.shape.slice(0, 3);
  const outShape = [0, 0, 0];
  for (let i = 0; i < 3; i++) outShape[ornt[i][0]] = inShape[i];
  // For each output axis: the input stride it walks and the input offset of its first element.
  const inStride = [1, inShape[0], inShape[0] * inShape[1]];
  const step = [0, 0, 0];
  let base = 0;
  for (let i = 0; i < 3; i++) {
    const o = ornt[i][0];
    if (ornt[i][1] === 1) step[o] = inStride[i];
    else {
      step[o] = -inStride[i];
      base += (inShape[i] - 1) * inStride[i];
    }
  }
  const fs = frameSize(vol.shape);
  const src = vol.data;
  const dst = new (src.constructor as Float32ArrayConstructor)(src.length);
  const [nx, ny, nz] = outShape;
  for (let f = 0, frames = frameCount(vol.shape); f < frames; f++) {
    const off = f * fs;
    let w = off;
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        let r = off + base + z * step[2] + y * step[1];
        if (step[0] === 1) {
          // x unchanged: a contiguous row copy
          dst.set(src.subarray(r, r + nx), w);
          w += nx;
        } else if (step[0] === -1) {
          // x reversed: copy the row, then the native in-place reverse
          dst.set(src.subarray(r - nx + 1, r + 1), w);
          dst.subarray(w, w + nx).reverse();
          w += nx;
        } else {
          const sx = step[0];
          for (let x = 0; x < nx; x++, r += sx) dst[w++] = src[r];
        }
      }
    }
  }
  const affine = matmul4(vol.affine, invOrntAffine(ornt, inShape));
  const shape = [...outShape, ...vol.shape.slice(3)];
  const oldSpacing = [...vol.spacing];
  const spacing = [0, 0, 0].map((_, j) => oldSpacing[ornt.findIndex(([ax]) => ax === j)]).concat(oldSpacing.slice(3));
  return { ...vol, shape, affine, data: dst, spacing: spacing.every((v) => v != null) ? spacing : spacingFrom(affine, shape, oldSpacing) };
}

/** Reorients to the closest RAS+ voxel order (nibabel's `as_closest_canonical`); returns `vol` when already RAS. */
export function asClosestCanonical<T extends Volume>(vol: T): T {
  return applyOrientation(vol, ioOrientation(vol.affine));
}

/** Reorients to the given axis codes, e.g. 'LPS' or 'RAS'. */
export function reorient<T extends Volume>(vol: T, codes: string | readonly string[]): T {
  return applyOrientation(vol, orntTransform(ioOrientation(vol.affine), axcodes2ornt(codes)));
}
