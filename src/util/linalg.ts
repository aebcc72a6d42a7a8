/**
 * Small dense linear algebra in float64 on the CPU, for constants that need a solve (tfjs has no solver):
 * Decoupled Uniformity's `α = (K + λI)⁻¹ K`. Row-major Float64Arrays.
 */
import { ValueError } from '../errors.js';

/** In-place Cholesky `A = L Lᵀ` (lower triangle of `a` becomes L). Returns false if A is not positive definite. */
function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j];
    for (let k = 0; k < j; k++) d -= a[rj + k] * a[rj + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j];
      for (let k = 0; k < j; k++) s -= a[ri + k] * a[rj + k];
      a[ri + j] = s / ljj;
    }
  }
  return true;
}

/** Solves `L Lᵀ X = B` for X (B `[n, k]` overwritten). */
function choleskySolveInPlace(l: Float64Array, n: number, b: Float64Array, k: number): void {
  for (let i = 0; i < n; i++) {
    const bi = i * k;
    for (let j = 0; j < i; j++) {
      const f = l[i * n + j];
      if (f === 0) continue;
      const bj = j * k;
      for (let c = 0; c < k; c++) b[bi + c] -= f * b[bj + c];
    }
    const inv = 1 / l[i * n + i];
    for (let c = 0; c < k; c++) b[bi + c] *= inv;
  }
  for (let i = n - 1; i >= 0; i--) {
    const bi = i * k;
    for (let j = i + 1; j < n; j++) {
      const f = l[j * n + i];
      if (f === 0) continue;
      const bj = j * k;
      for (let c = 0; c < k; c++) b[bi + c] -= f * b[bj + c];
    }
    const inv = 1 / l[i * n + i];
    for (let c = 0; c < k; c++) b[bi + c] *= inv;
  }
}

/** Solves `A X = B` by LU with partial pivoting (A `[n, n]`, B `[n, k]`, both overwritten; X in B). */
function luSolveInPlace(a: Float64Array, n: number, b: Float64Array, k: number): void {
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]) > Math.abs(a[p * n + col])) p = r;
    const pivot = a[p * n + col];
    if (!(Math.abs(pivot) > 1e-300)) throw new ValueError(`the matrix to solve is singular (column ${col})`);
    if (p !== col) {
      for (let c = 0; c < n; c++) [a[p * n + c], a[col * n + c]] = [a[col * n + c], a[p * n + c]];
      for (let c = 0; c < k; c++) [b[p * k + c], b[col * k + c]] = [b[col * k + c], b[p * k + c]];
    }
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col] / pivot;
      if (f === 0) continue;
      for (let c = col; c < n; c++) a[r * n + c] -= f * a[col * n + c];
      for (let c = 0; c < k; c++) b[r * k + c] -= f * b[col * k + c];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let j = i + 1; j < n; j++) {
      const f = a[i * n + j];
      if (f === 0) continue;
      for (let c = 0; c < k; c++) b[i * k + c] -= f * b[j * k + c];
    }
    const inv = 1 / a[i * n + i];
    for (let c = 0; c < k; c++) b[i * k + c] *= inv;
  }
}

/**
 * Solves `A X = B` for a square `A` `[n, n]` and `B` `[n, k]` (row-major, not modified): Cholesky when A is
 * symmetric positive definite (kernel + λI), LU with partial pivoting otherwise.
 */
export function solve(a: ArrayLike<number>, n: number, b: ArrayLike<number>, k: number): Float64Array {
  if (a.length !== n * n || b.length !== n * k) throw new ValueError(`solve: A must be [${n}, ${n}] and B [${n}, ${k}]`);
  // Kernel matrices from a float32 matmul can be asymmetric in the last bit: treat near-symmetric as symmetric.
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(a[i]));
  const tol = 1e-6 * scale;
  let symmetric = true;
  for (let i = 0; i < n && symmetric; i++) {
    for (let j = 0; j < i; j++) {
      if (Math.abs(a[i * n + j] - a[j * n + i]) > tol) {
        symmetric = false;
        break;
      }
    }
  }
  const x = Float64Array.from(b);
  if (symmetric) {
    const l = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) l[i * n + j] = (a[i * n + j] + a[j * n + i]) / 2;
    if (choleskyInPlace(l, n)) {
      choleskySolveInPlace(l, n, x, k);
      return x;
    }
  }
  luSolveInPlace(Float64Array.from(a), n, x, k);
  return x;
}

/**
 * `α = (K + λI)⁻¹ K = I − λ (K + λI)⁻¹` for a symmetric `K` `[n, n]` (row-major): Cholesky `K + λI = L Lᵀ`,
 * the triangular inverse `L⁻¹`, then `(K + λI)⁻¹ = L⁻ᵀ L⁻¹` — ⅔ n³ multiply-adds instead of the 7/3 n³ of a
 * solve with n right-hand sides. Falls back to an LU solve when K + λI is not positive definite.
 */
export function ridgeSmoother(k: ArrayLike<number>, n: number, lambda: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) a[i * n + j] = (k[i * n + j] + k[j * n + i]) / 2;
    a[i * n + i] += lambda;
  }
  if (!choleskyInPlace(a, n)) {
    const shifted = Float64Array.from(k);
    for (let i = 0; i < n; i++) shifted[i * n + i] += lambda;
    return solve(shifted, n, k, n);
  }
  // L⁻¹ (lower), row by row with contiguous row updates: L⁻¹[i, :i] = −(Σ_{k<i} L[i,k] L⁻¹[k, :]) / L[i,i].
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let kk = 0; kk < i; kk++) {
      const f = a[ri + kk];
      if (f === 0) continue;
      const rk = kk * n;
      for (let j = 0; j <= kk; j++) inv[ri + j] += f * inv[rk + j];
    }
    const d = 1 / a[ri + i];
    for (let j = 0; j < i; j++) inv[ri + j] *= -d;
    inv[ri + i] = d;
  }
  // (K + λI)⁻¹ = L⁻ᵀ L⁻¹ = Σ_k (row k of L⁻¹)ᵀ (row k of L⁻¹): accumulate the upper triangle.
  const c = new Float64Array(n * n);
  for (let kk = 0; kk < n; kk++) {
    const rk = kk * n;
    for (let i = 0; i <= kk; i++) {
      const f = inv[rk + i];
      if (f === 0) continue;
      const ci = i * n;
      for (let j = i; j <= kk; j++) c[ci + j] += f * inv[rk + j];
    }
  }
  const alpha = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = (i === j ? 1 : 0) - lambda * c[i * n + j];
      alpha[i * n + j] = v;
      alpha[j * n + i] = v;
    }
  }
  return alpha;
}
