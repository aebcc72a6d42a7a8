/**
 * Contrastive-analysis data: one in-memory set of single-channel images or volumes, each tagged background (0:
 * healthy controls, texture-only images) or target (1: patients, digits on texture), plus the ground-truth factors
 * the evaluation probes (the salient factor, e.g. the diagnosis subtype or the digit; common factors, e.g. age, site
 * or the texture). Modalities build it (`digitsOnTexture` in geoclr/images, `cohortContrastiveDataset` in
 * geoclr/mri); training draws balanced background/target batches from it.
 */
import { ConfigError, ShapeError, ValueError } from '../errors.js';
import { Rng } from '../util/random.js';

export type FactorValue = number | string | null;
export type FactorTask = 'classification' | 'regression';

export interface FactorSpec {
  /** A key of `factors`. */
  name: string;
  task: FactorTask;
}

export interface ContrastiveDataset {
  /** A short name used in reports (e.g. 'digits-on-texture', 'mri-cohort'). */
  name: string;
  /** Spatial shape of one sample: [H, W] (images) or [D, H, W] (volumes); one channel. */
  shape: number[];
  /** Number of samples. */
  n: number;
  /** n × prod(shape) values, sample-major (channels-last with C = 1). */
  images: Float32Array;
  /** 0 background, 1 target, per sample. */
  group: Uint8Array;
  /** Ground-truth factors per sample (null where undefined, e.g. the digit of a background image). */
  factors: Record<string, FactorValue[]>;
  /** The factor only targets vary in (probed on targets). */
  salient: FactorSpec;
  /** Factors shared by both groups. */
  common: FactorSpec[];
  /** Optional per-sample ids (subject ids), for grouped splits and reports. */
  ids?: string[];
}

/** Sample counts per group. */
export function groupCounts(group: ArrayLike<number>): { background: number; target: number } {
  let target = 0;
  for (let i = 0; i < group.length; i++) target += group[i];
  return { background: group.length - target, target };
}

/**
 * Checks a data set before training: shapes, 0/1 group labels (a ValueError names the first other value), both
 * groups non-empty (contrastive analysis needs healthy and pathological samples), finite images, factor lengths.
 */
export function validateDataset(ds: ContrastiveDataset, what = 'contrastive-analysis data set'): ContrastiveDataset {
  if (ds == null || typeof ds !== 'object') throw new ValueError(`${what}: expected a data set object, got ${String(ds)}`);
  const size = Array.isArray(ds.shape) ? ds.shape.reduce((a, b) => a * b, 1) : NaN;
  if (!Array.isArray(ds.shape) || (ds.shape.length !== 2 && ds.shape.length !== 3) || !ds.shape.every((v) => Number.isInteger(v) && v > 0)) {
    throw new ShapeError(`${what}: shape must be [H, W] or [D, H, W] of positive integers, got ${JSON.stringify(ds.shape)}`);
  }
  if (!Number.isInteger(ds.n) || ds.n < 0) throw new ShapeError(`${what}: n must be a non-negative integer, got ${ds.n}`);
  if (!(ds.images instanceof Float32Array) || ds.images.length !== ds.n * size) {
    throw new ShapeError(`${what}: images must be a Float32Array of n × ${ds.shape.join('×')} = ${ds.n * size} values, got ${ds.images?.length}`);
  }
  if (ds.group == null || ds.group.length !== ds.n) throw new ShapeError(`${what}: group must hold one label per sample (${ds.n}), got ${ds.group?.length}`);
  for (let i = 0; i < ds.n; i++) {
    const g = ds.group[i];
    if (g !== 0 && g !== 1) throw new ValueError(`${what}: group[${i}] must be 0 (background) or 1 (target), got ${g}`);
  }
  const { background, target } = groupCounts(ds.group);
  if (background === 0 || target === 0) {
    throw new ValueError(
      `${what}: the ${background === 0 ? 'background (group 0)' : 'target (group 1)'} set is empty ` +
        `(${background} background, ${target} target samples); contrastive analysis needs both`,
    );
  }
  for (let i = 0; i < ds.images.length; i++) {
    if (!Number.isFinite(ds.images[i])) throw new ValueError(`${what}: image value ${i} (sample ${Math.floor(i / size)}) is ${ds.images[i]}`);
  }
  for (const spec of [ds.salient, ...ds.common]) {
    if (spec == null || ds.factors?.[spec.name] == null) throw new ConfigError('factors', `${what} has no factor '${spec?.name}'`);
    if (ds.factors[spec.name].length !== ds.n) throw new ShapeError(`${what}: factor '${spec.name}' has ${ds.factors[spec.name].length} values for ${ds.n} samples`);
    if (spec.task !== 'classification' && spec.task !== 'regression') throw new ConfigError(`factors.${spec.name}.task`, `must be classification or regression, got ${spec.task}`);
  }
  return ds;
}

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

/**
 * A held-out split, stratified by group (and by `stratify` values when given, e.g. the salient factor), seeded.
 * Samples sharing an id (visits of one subject) stay on one side.
 */
export function splitDataset(ds: ContrastiveDataset, opts: { testFraction?: number; seed?: number; stratify?: string } = {}): Split {
  const fraction = opts.testFraction ?? 0.3;
  if (!(fraction > 0 && fraction < 1)) throw new ConfigError('testFraction', `must be in (0, 1), got ${fraction}`);
  const rng = new Rng(opts.seed ?? 0);
  // Units: ids (subjects) or single samples; each unit takes its first sample's stratum.
  const units = new Map<string, number[]>();
  for (let i = 0; i < ds.n; i++) {
    const key = ds.ids ? ds.ids[i] : String(i);
    const list = units.get(key);
    if (list) list.push(i);
    else units.set(key, [i]);
  }
  const strata = new Map<string, number[][]>();
  for (const members of units.values()) {
    const first = members[0];
    const key = `${ds.group[first]}|${opts.stratify ? String(ds.factors[opts.stratify]?.[first]) : ''}`;
    const list = strata.get(key);
    if (list) list.push(members);
    else strata.set(key, [members]);
  }
  const train: number[] = [];
  const test: number[] = [];
  for (const key of [...strata.keys()].sort()) {
    const list = rng.shuffle(strata.get(key)!);
    const nTest = Math.round(list.length * fraction);
    list.forEach((members, k) => (k < nTest ? test : train).push(...members));
  }
  const sorted = (a: number[]) => Int32Array.from(a.sort((x, y) => x - y));
  return { train: sorted(train), test: sorted(test) };
}

/**
 * Balanced background/target batches: each batch holds ⌊B·targetFraction⌉ target and the rest background samples
 * from `indices`, each group drawn without replacement (reshuffled when exhausted), seeded.
 */
export class BalancedBatches {
  private readonly pools: [number[], number[]];
  private readonly cursor = [0, 0];
  private readonly rng: Rng;
  readonly perGroup: [number, number];

  constructor(
    ds: ContrastiveDataset,
    indices: ArrayLike<number>,
    readonly batchSize: number,
    opts: { seed?: number; targetFraction?: number } = {},
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 2) throw new ConfigError('batchSize', `must be an integer ≥ 2 (one background and one target sample at least), got ${batchSize}`);
    const fraction = opts.targetFraction ?? 0.5;
    if (!(fraction > 0 && fraction < 1)) throw new ConfigError('targetFraction', `must be in (0, 1), got ${fraction}`);
    this.pools = [[], []];
    for (let k = 0; k < indices.length; k++) this.pools[ds.group[indices[k]] as 0 | 1].push(indices[k]);
    if (this.pools[0].length === 0 || this.pools[1].length === 0) {
      throw new ValueError(
        `training split has ${this.pools[0].length} background and ${this.pools[1].length} target samples; both groups are needed`,
      );
    }
    const nTarget = Math.min(batchSize - 1, Math.max(1, Math.round(batchSize * fraction)));
    this.perGroup = [batchSize - nTarget, nTarget];
    this.rng = new Rng(opts.seed ?? 0);
    this.pools.forEach((p) => this.rng.shuffle(p));
  }

  /** The next batch's sample indices (background first, then target). */
  next(): number[] {
    const out: number[] = [];
    for (const g of [0, 1] as const) {
      const pool = this.pools[g];
      for (let k = 0; k < this.perGroup[g]; k++) {
        if (this.cursor[g] >= pool.length) {
          this.rng.shuffle(pool);
          this.cursor[g] = 0;
        }
        out.push(pool[this.cursor[g]++]);
      }
    }
    return out;
  }
}

/** The samples `indices` as one contiguous Float32Array `[k, …shape]`. */
export function gatherImages(ds: ContrastiveDataset, indices: ArrayLike<number>): Float32Array {
  const size = ds.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(indices.length * size);
  for (let k = 0; k < indices.length; k++) out.set(ds.images.subarray(indices[k] * size, (indices[k] + 1) * size), k * size);
  return out;
}
