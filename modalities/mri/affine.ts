/**
 * 4×4 affine helpers for voxel→world (RAS+ millimetre) transforms. Matrices are `number[][]` (row-major, 4 rows),
 * the same layout nibabel prints, so they compare and serialise (JSON) without conversion.
 */
import { ShapeError } from '../../src/errors.js';

export type Mat4 = number[][];
export type Vec3 = [number, number, number];

export function identity4(): Mat4 {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

export function checkMat4(m: Mat4, what = 'affine'): void {
  if (!Array.isArray(m) || m.length !== 4 || m.some((r) => !Array.isArray(r) || r.length !== 4)) {
    throw new ShapeError(`${what} must be a 4×4 array of rows`);
  }
  if (m.some((r) => r.some((v) => !Number.isFinite(v)))) throw new ShapeError(`${what} holds a NaN or infinite value`);
}

export function copy4(m: Mat4): Mat4 {
  return m.map((r) => r.slice());
}

/** a · b */
export function matmul4(a: Mat4, b: Mat4): Mat4 {
  const out: Mat4 = [[], [], [], []];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[i][k] * b[k][j];
      out[i][j] = s;
    }
  }
  return out;
}

/** Inverse of a 4×4 matrix (Gauss–Jordan with partial pivoting); throws on a singular matrix. */
export function invert4(m: Mat4): Mat4 {
  const a = m.map((r, i) => [...r, ...[0, 1, 2, 3].map((j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    if (Math.abs(a[p][c]) < 1e-300) throw new ShapeError('affine is singular (a voxel axis has zero length)');
    [a[c], a[p]] = [a[p], a[c]];
    const piv = a[c][c];
    for (let j = 0; j < 8; j++) a[c][j] /= piv;
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = a[r][c];
      if (f !== 0) for (let j = 0; j < 8; j++) a[r][j] -= f * a[c][j];
    }
  }
  return a.map((r) => r.slice(4));
}

/** Applies the affine to a point (homogeneous coordinate 1). */
export function applyAffine(m: Mat4, p: readonly number[]): Vec3 {
  return [0, 1, 2].map((i) => m[i][0] * p[0] + m[i][1] * p[1] + m[i][2] * p[2] + m[i][3]) as Vec3;
}

/** Voxel sizes implied by the affine: the lengths of its first three columns. */
export function voxelSizes(m: Mat4): Vec3 {
  return [0, 1, 2].map((j) => Math.hypot(m[0][j], m[1][j], m[2][j])) as Vec3;
}

/** An affine that scales voxel axes then translates: diag(s) with column 3 = t. */
export function scaleTranslate(s: readonly number[], t: readonly number[] = [0, 0, 0]): Mat4 {
  return [
    [s[0], 0, 0, t[0]],
    [0, s[1], 0, t[1]],
    [0, 0, s[2], t[2]],
    [0, 0, 0, 1],
  ];
}

export function det3(m: number[][]): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

function inv3T(m: number[][]): number[][] | null {
  const d = det3(m);
  if (!(Math.abs(d) > 1e-300)) return null;
  // cofactor matrix / det = inverse transposed
  return [
    [(m[1][1] * m[2][2] - m[1][2] * m[2][1]) / d, -(m[1][0] * m[2][2] - m[1][2] * m[2][0]) / d, (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / d],
    [-(m[0][1] * m[2][2] - m[0][2] * m[2][1]) / d, (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / d, -(m[0][0] * m[2][1] - m[0][1] * m[2][0]) / d],
    [(m[0][1] * m[1][2] - m[0][2] * m[1][1]) / d, -(m[0][0] * m[1][2] - m[0][2] * m[1][0]) / d, (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / d],
  ];
}

/**
 * Orthogonal polar factor of a 3×3 matrix — the closest rotation/reflection, as numpy's `P·Qs` from the SVD —
 * by Newton's iteration X ← (X + X⁻ᵀ)/2, which converges quadratically for a non-singular matrix.
 * Returns null for a singular matrix (the caller falls back to per-axis handling).
 */
export function polarOrthogonal(m: number[][]): number[][] | null {
  let x = m.map((r) => r.slice());
  for (let it = 0; it < 100; it++) {
    const it3 = inv3T(x);
    if (it3 == null) return null;
    let change = 0;
    const next = x.map((r, i) => r.map((v, j) => {
      const n = 0.5 * (v + it3[i][j]);
      change = Math.max(change, Math.abs(n - v));
      return n;
    }));
    x = next;
    if (change < 1e-15) break;
  }
  return x;
}
