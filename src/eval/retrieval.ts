/**
 * Cross-modal retrieval and zero-shot classification from embeddings (image ↔ report, visit ↔ visit, ...).
 * Ranks are pessimistic on ties — a candidate scoring exactly as the true match is counted above it — so a
 * collapsed embedding scores at the bottom, never at the top.
 */
import { ShapeError, ValueError } from '../errors.js';
import { l2NormalizeRows, matMulT, toMatrix, zeros, type Matrix, type MatrixLike } from './matrix.js';
import { accuracyScore, balancedAccuracy, encodeLabels, rocAuc, rocAucOvr, type Label } from './metrics.js';
import { argmaxRow } from './logistic.js';

export type Similarity = 'cosine' | 'dot';

export interface RetrievalOptions {
  /** Which b-rows match which a-rows. Default: row i of a matches row i of b (same number of rows). */
  pairs?: ArrayLike<readonly [number, number]>;
  /** Alternative to `pairs`: a row of a matches every row of b with the same key (e.g. subject id). */
  keys?: readonly [ArrayLike<string | number>, ArrayLike<string | number>];
  /** Recall cut-offs (default [1, 5, 10]). */
  ks?: number[];
  similarity?: Similarity;
}

export interface DirectionMetrics {
  /** Recall@k: fraction of queries with a true match among the top k. Keys are the cut-offs. */
  recall: Record<string, number>;
  /** Median and mean (1-based) rank of the best-ranked true match. */
  medianRank: number;
  meanRank: number;
  /** Queries with at least one true match (the others are not scored). */
  queries: number;
  /** The same numbers for a random ranking (expected recall; median of the random best rank). */
  chance: { recall: Record<string, number>; medianRank: number };
}

export interface RetrievalResult {
  aToB: DirectionMetrics;
  bToA: DirectionMetrics;
}

/** Cosine (or dot) similarity matrix [a.rows, b.rows]. */
export function similarityMatrix(a: Matrix, b: Matrix, similarity: Similarity = 'cosine'): Matrix {
  if (a.cols !== b.cols) throw new ShapeError(`similarity: rows of a have ${a.cols} values, rows of b ${b.cols}`);
  if (similarity !== 'cosine' && similarity !== 'dot') throw new ValueError(`similarity must be 'cosine' or 'dot', got '${similarity}'`);
  return similarity === 'cosine' ? matMulT(l2NormalizeRows(a), l2NormalizeRows(b)) : matMulT(a, b);
}

function median(v: number[]): number {
  const s = [...v].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** P(best of p positives lands in the top k of m) under a uniformly random ranking. */
function chanceRecall(m: number, p: number, k: number): number {
  if (k >= m - p + 1) return 1;
  let none = 1;
  for (let i = 0; i < k; i++) none *= (m - p - i) / (m - i);
  return 1 - none;
}

/** Median of the best rank of p positives among m under a random ranking. */
function chanceMedianRank(m: number, p: number): number {
  for (let r = 1; r <= m; r++) if (chanceRecall(m, p, r) >= 0.5 - 1e-12) return r;
  return m;
}

function direction(sim: Matrix, positives: Set<number>[], ks: number[]): DirectionMetrics {
  const ranks: number[] = [];
  const chance: Record<string, number> = {};
  const chanceMedians: number[] = [];
  for (const k of ks) chance[k] = 0;
  const m = sim.cols;
  for (let q = 0; q < sim.rows; q++) {
    const pos = positives[q];
    if (pos.size === 0) continue;
    let best = -Infinity;
    for (const j of pos) best = Math.max(best, sim.data[q * m + j]);
    let above = 0;
    for (let j = 0; j < m; j++) if (!pos.has(j) && sim.data[q * m + j] >= best) above++;
    ranks.push(above + 1);
    for (const k of ks) chance[k] += chanceRecall(m, pos.size, k);
    chanceMedians.push(chanceMedianRank(m, pos.size));
  }
  if (ranks.length === 0) throw new ValueError('retrieval: no query has a true match; check pairs/keys');
  const recall: Record<string, number> = {};
  for (const k of ks) {
    recall[k] = ranks.filter((r) => r <= k).length / ranks.length;
    chance[k] /= ranks.length;
  }
  return {
    recall,
    medianRank: median(ranks),
    meanRank: ranks.reduce((a, b) => a + b, 0) / ranks.length,
    queries: ranks.length,
    chance: { recall: chance, medianRank: median(chanceMedians) },
  };
}

/** Recall@k, median rank and chance levels for retrieval a→b and b→a. */
export function retrievalMetrics(a: MatrixLike, b: MatrixLike, opts: RetrievalOptions = {}): RetrievalResult {
  const A = toMatrix(a, 'retrieval a');
  const B = toMatrix(b, 'retrieval b');
  const ks = opts.ks ?? [1, 5, 10];
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new ValueError(`retrieval: cut-off k must be an integer ≥ 1, got ${k}`);
  const posA = Array.from({ length: A.rows }, () => new Set<number>());
  const posB = Array.from({ length: B.rows }, () => new Set<number>());
  if (opts.keys) {
    const [ka, kb] = opts.keys;
    if (ka.length !== A.rows || kb.length !== B.rows) {
      throw new ShapeError(`retrieval keys: ${ka.length}/${kb.length} keys for ${A.rows}/${B.rows} rows`);
    }
    const byKey = new Map<string, number[]>();
    for (let j = 0; j < kb.length; j++) {
      const key = String(kb[j]);
      if (!byKey.has(key)) byKey.set(key, []);
      byKey.get(key)!.push(j);
    }
    for (let i = 0; i < ka.length; i++) {
      for (const j of byKey.get(String(ka[i])) ?? []) {
        posA[i].add(j);
        posB[j].add(i);
      }
    }
  } else if (opts.pairs) {
    for (let p = 0; p < opts.pairs.length; p++) {
      const [i, j] = opts.pairs[p];
      if (!(i >= 0 && i < A.rows && j >= 0 && j < B.rows) || !Number.isInteger(i) || !Number.isInteger(j)) {
        throw new ShapeError(`retrieval pairs[${p}] = [${i}, ${j}] is outside ${A.rows}×${B.rows}`);
      }
      posA[i].add(j);
      posB[j].add(i);
    }
  } else {
    if (A.rows !== B.rows) throw new ShapeError(`retrieval: a has ${A.rows} rows and b ${B.rows}; give pairs or keys when they differ`);
    for (let i = 0; i < A.rows; i++) {
      posA[i].add(i);
      posB[i].add(i);
    }
  }
  const sim = similarityMatrix(A, B, opts.similarity);
  const simT = zeros(B.rows, A.rows);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < B.rows; j++) simT.data[j * A.rows + i] = sim.data[i * B.rows + j];
  return { aToB: direction(sim, posA, ks), bToA: direction(simT, posB, ks) };
}

export interface ZeroShotResult {
  /** Binary: AUC of s(positive prompt) − s(negative prompt); K > 2: one-vs-rest macro AUC of the similarities. */
  auc: number;
  /** Accuracy / balanced accuracy of the most similar prompt. */
  accuracy: number;
  balancedAccuracy: number;
  /** Similarities [n, K] of each embedding to each prompt. */
  scores: Matrix;
}

/**
 * Zero-shot classification: embedding i is assigned the class of its most similar prompt embedding. Row k of
 * `prompts` describes class `classes[k]` (default: the sorted distinct labels, so for booleans row 0 is the
 * "absent" prompt and row 1 the "present" one).
 */
export function zeroShotClassification(
  embeddings: MatrixLike,
  prompts: MatrixLike,
  labels: ArrayLike<Label>,
  opts: { classes?: (string | number)[]; similarity?: Similarity } = {},
): ZeroShotResult {
  const X = toMatrix(embeddings, 'zero-shot embeddings');
  const P = toMatrix(prompts, 'zero-shot prompts');
  if (labels.length !== X.rows) throw new ShapeError(`zero-shot: ${X.rows} embeddings but ${labels.length} labels`);
  const { classes, codes } = encodeLabels(labels, 'zero-shot labels', opts.classes);
  if (P.rows !== classes.length) {
    throw new ShapeError(`zero-shot: ${P.rows} prompts for ${classes.length} classes ${JSON.stringify(classes)}; give one prompt per class`);
  }
  const scores = similarityMatrix(X, P, opts.similarity);
  const pred = Array.from({ length: X.rows }, (_, i) => argmaxRow(scores, i));
  let auc: number;
  if (classes.length === 2) {
    const diff = Array.from({ length: X.rows }, (_, i) => scores.data[i * 2 + 1] - scores.data[i * 2]);
    auc = rocAuc(Array.from(codes, (c) => c === 1), diff);
  } else {
    auc = rocAucOvr(codes, scores);
  }
  return { auc, accuracy: accuracyScore(codes, pred), balancedAccuracy: balancedAccuracy(codes, pred), scores };
}

/** Zero-shot AUC only (see `zeroShotClassification`). */
export function zeroShotAuc(embeddings: MatrixLike, prompts: MatrixLike, labels: ArrayLike<Label>, opts: { classes?: (string | number)[]; similarity?: Similarity } = {}): number {
  return zeroShotClassification(embeddings, prompts, labels, opts).auc;
}
