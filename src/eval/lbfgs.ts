/**
 * Limited-memory BFGS for smooth (here: strongly convex) objectives in float64, with a backtracking Armijo line
 * search. Used by the logistic-regression probe; small and deterministic.
 */

/** Writes ∇f(x) into `grad` and returns f(x). */
export type ObjectiveWithGradient = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Stop when max |∇f| ≤ gtol (default 1e-8). */
  gtol?: number;
  /** Also stop when the relative decrease of f over an iteration is ≤ ftol (default 0: the gradient decides). */
  ftol?: number;
  maxIter?: number;
  /** Number of correction pairs kept (default 10). */
  memory?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  gradMax: number;
  iterations: number;
  converged: boolean;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function minimizeLbfgs(fg: ObjectiveWithGradient, x0: Float64Array, opts: LbfgsOptions = {}): LbfgsResult {
  const gtol = opts.gtol ?? 1e-8;
  const ftol = opts.ftol ?? 0;
  const maxIter = opts.maxIter ?? 1000;
  const m = opts.memory ?? 10;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fg(x, g);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const alphaBuf = new Float64Array(m);
  const dir = new Float64Array(n);
  const xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  let iter = 0;
  let converged = maxAbs(g) <= gtol;
  while (!converged && iter < maxIter) {
    iter++;
    // Two-loop recursion: dir = −H·g.
    for (let i = 0; i < n; i++) dir[i] = -g[i];
    const k = sList.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = rhoList[j] * dot(sList[j], dir);
      alphaBuf[j] = a;
      const yj = yList[j];
      for (let i = 0; i < n; i++) dir[i] -= a * yj[i];
    }
    if (k > 0) {
      const gamma = dot(sList[k - 1], yList[k - 1]) / dot(yList[k - 1], yList[k - 1]);
      for (let i = 0; i < n; i++) dir[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const b = rhoList[j] * dot(yList[j], dir);
      const sj = sList[j];
      const c = alphaBuf[j] - b;
      for (let i = 0; i < n; i++) dir[i] += c * sj[i];
    }
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      sList.length = yList.length = rhoList.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i];
      slope = dot(g, dir);
    }
    // First iteration: a unit-length step; afterwards the quasi-Newton step of 1 is usually accepted.
    let step = k === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = NaN;
    let accepted = false;
    for (let ls = 0; ls < 60; ls++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * dir[i];
      fNew = fg(xNew, gNew);
      if (!Number.isFinite(fNew)) {
        step *= 0.5;
        continue;
      }
      if (fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      // Near the optimum f stops resolving the decrease (float64 rounding); the approximate Wolfe test of
      // Hager & Zhang (2005) then accepts a step that leaves f unchanged to rounding and makes the slope flatter,
      // so the gradient keeps converging below what an f-based test can see.
      if (fNew <= f + 1e-14 * Math.abs(f)) {
        const slopeNew = dot(gNew, dir);
        if (slopeNew >= 0.9 * slope && slopeNew <= -0.8 * slope) {
          accepted = true;
          break;
        }
      }
      step *= 0.5;
    }
    if (!accepted) {
      // No decrease is possible along any tried step: we are at the floor of float64 precision.
      converged = maxAbs(g) <= Math.max(gtol, 1e-6);
      break;
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (sList.length === m) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
    }
    const fOld = f;
    x = Float64Array.from(xNew);
    [g, gNew] = [gNew, g];
    f = fNew;
    if (maxAbs(g) <= gtol) converged = true;
    else if (ftol > 0 && Math.abs(fOld - f) <= ftol * Math.max(1, Math.abs(f))) converged = true;
  }
  return { x, f, gradMax: maxAbs(g), iterations: iter, converged };
}
