/**
 * Seeded k-fold splits: plain, stratified (class proportions kept per fold), grouped (all samples of a group —
 * e.g. every session of a subject — in one fold, so longitudinal data never leaks between train and test), and
 * stratified-grouped. Same seed → same folds.
 */
import { ShapeError, ValueError } from '../errors.js';
import { Rng } from '../util/random.js';

export interface Fold {
  train: Int32Array;
  test: Int32Array;
}

export interface KFoldOptions {
  /** Number of folds (default 5). */
  folds?: number;
  seed?: number;
  /** Class code of each sample, to keep class proportions in every fold. */
  stratify?: ArrayLike<number>;
  /** Group of each sample (e.g. subject id): a group's samples never straddle folds. */
  groups?: ArrayLike<string | number>;
}

/** Splits `n` samples into k folds; each sample is in exactly one test set. */
export function kFoldSplits(n: number, opts: KFoldOptions = {}): Fold[] {
  const k = opts.folds ?? 5;
  if (!Number.isInteger(k) || k < 2) throw new ValueError(`folds must be an integer ≥ 2, got ${k}`);
  if (opts.stratify && opts.stratify.length !== n) throw new ShapeError(`stratify has ${opts.stratify.length} values for ${n} samples`);
  if (opts.groups && opts.groups.length !== n) throw new ShapeError(`groups has ${opts.groups.length} values for ${n} samples`);
  const rng = new Rng(opts.seed ?? 0);
  const foldOf = new Int32Array(n);
  if (opts.groups) {
    const members = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const g = opts.groups[i];
      if (g == null || g === '') throw new ValueError(`groups: sample ${i} has no group`);
      const key = String(g);
      if (!members.has(key)) members.set(key, []);
      members.get(key)!.push(i);
    }
    const groups = rng.shuffle([...members.values()]);
    if (groups.length < k) throw new ValueError(`folds=${k} but there are only ${groups.length} groups; use fewer folds`);
    const assign = opts.stratify ? assignGroupsStratified(groups, opts.stratify, k) : assignGroupsBySize(groups, k);
    groups.forEach((g, gi) => g.forEach((i) => (foldOf[i] = assign[gi])));
  } else {
    if (n < k) throw new ValueError(`folds=${k} but there are only ${n} samples; use fewer folds`);
    let order: number[];
    if (opts.stratify) {
      // Shuffle within each class, then deal the class-ordered list round-robin: every fold gets ≈ n_c/k of class c.
      const byClass = new Map<number, number[]>();
      for (let i = 0; i < n; i++) {
        const c = opts.stratify[i];
        if (!byClass.has(c)) byClass.set(c, []);
        byClass.get(c)!.push(i);
      }
      order = [...byClass.keys()].sort((a, b) => a - b).flatMap((c) => rng.shuffle(byClass.get(c)!));
      order.forEach((i, p) => (foldOf[i] = p % k));
    } else {
      order = rng.permutation(n);
      // Contiguous chunks of a permutation: the first n % k folds get one extra sample.
      const base = Math.floor(n / k);
      const extra = n % k;
      let p = 0;
      for (let f = 0; f < k; f++) {
        const size = base + (f < extra ? 1 : 0);
        for (let j = 0; j < size; j++) foldOf[order[p++]] = f;
      }
    }
  }
  return foldsFromAssignment(foldOf, k);
}

function foldsFromAssignment(foldOf: Int32Array, k: number): Fold[] {
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const test: number[] = [];
    const train: number[] = [];
    for (let i = 0; i < foldOf.length; i++) (foldOf[i] === f ? test : train).push(i);
    folds.push({ train: Int32Array.from(train), test: Int32Array.from(test) });
  }
  return folds;
}

/** Largest groups first, each into the currently smallest fold (ties: lowest fold index). */
function assignGroupsBySize(groups: number[][], k: number): Int32Array {
  const order = groups.map((_, i) => i).sort((a, b) => groups[b].length - groups[a].length || a - b);
  const size = new Float64Array(k);
  const assign = new Int32Array(groups.length);
  for (const gi of order) {
    let best = 0;
    for (let f = 1; f < k; f++) if (size[f] < size[best]) best = f;
    assign[gi] = best;
    size[best] += groups[gi].length;
  }
  return assign;
}

/**
 * Greedy stratified group assignment (the scheme of sklearn's StratifiedGroupKFold): groups with the most
 * unbalanced class counts go first, each into the fold that keeps the per-class fold proportions most even.
 */
function assignGroupsStratified(groups: number[][], stratify: ArrayLike<number>, k: number): Int32Array {
  const classes = [...new Set(Array.from(stratify))].sort((a, b) => a - b);
  const ci = new Map(classes.map((c, i) => [c, i]));
  const C = classes.length;
  const counts = groups.map((g) => {
    const v = new Float64Array(C);
    for (const i of g) v[ci.get(stratify[i])!]++;
    return v;
  });
  const total = new Float64Array(C);
  for (const v of counts) for (let c = 0; c < C; c++) total[c] += v[c];
  const std = (v: Float64Array) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
  };
  const order = groups.map((_, i) => i).sort((a, b) => std(counts[b]) - std(counts[a]) || a - b);
  const perFold = Array.from({ length: k }, () => new Float64Array(C));
  const size = new Float64Array(k);
  const assign = new Int32Array(groups.length);
  for (const gi of order) {
    let best = -1;
    let bestScore = Infinity;
    for (let f = 0; f < k; f++) {
      for (let c = 0; c < C; c++) perFold[f][c] += counts[gi][c];
      let score = 0;
      for (let c = 0; c < C; c++) {
        const props = new Float64Array(k);
        for (let g = 0; g < k; g++) props[g] = perFold[g][c] / total[c];
        score += std(props);
      }
      score /= C;
      for (let c = 0; c < C; c++) perFold[f][c] -= counts[gi][c];
      if (score < bestScore - 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && size[f] < size[best])) {
        best = f;
        bestScore = score;
      }
    }
    assign[gi] = best;
    size[best] += groups[gi].length;
    for (let c = 0; c < C; c++) perFold[best][c] += counts[gi][c];
  }
  // A fold left empty (possible with few groups) takes the smallest group of the fold holding the most groups
  // (which holds at least two, as there are at least k groups).
  for (let f = 0; f < k; f++) {
    if (size[f] > 0) continue;
    const held = (g: number) => order.filter((i) => assign[i] === g);
    let donor = 0;
    for (let g = 1; g < k; g++) if (held(g).length > held(donor).length) donor = g;
    const gi = held(donor).sort((a, b) => groups[a].length - groups[b].length)[0];
    assign[gi] = f;
    size[f] += groups[gi].length;
    size[donor] -= groups[gi].length;
  }
  return assign;
}
