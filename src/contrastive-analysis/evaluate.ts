/**
 * Evaluation of a common/salient separation, following the SepCLR paper's protocol (Louiset et al. 2024, §5 and
 * their `evaluation_script.py`): linear probes trained on the training split's *target* samples and scored on the
 * held-out targets — the salient factor from the salient space (should be high) and from the common space (low), the
 * common factors from the common space (high) and from the salient space (low). Classification factors are scored
 * by balanced accuracy, continuous ones by R². The common factors are also probed on background samples
 * (`background_from_common`): whether the common space holds them where no salient pattern overlays them. Plus two
 * label-free checks on the held-out samples:
 * - the background salient norm: mean ‖s‖ over background samples / mean ‖s‖ over targets, in the code the
 *   background is pushed to zero in (SepCLR's salient projection; the VAEs' salient posterior mean) — 0 = the
 *   background carries no salient information, SepCLR's "information-less" constraint; ≈ 1 = no distinction;
 * - the normalised HSIC (RBF, median bandwidths: kernel CKA) between the two spaces on the held-out targets
 *   (0 = statistically independent spaces).
 */
import * as tf from '../tf.js';
import { ValueError } from '../errors.js';
import { crossValidateProbe } from '../eval/probe.js';
import type { Matrix } from '../eval/matrix.js';
import { hsic } from '../losses/hsic.js';
import type { ContrastiveDataset, FactorSpec, Split } from './dataset.js';
import type { Embeddings } from './fit.js';

export interface FactorScores {
  factor: string;
  metric: 'balanced_accuracy' | 'r2';
  /** Probed on targets (the protocol). */
  from_common: number;
  from_salient: number;
  /** Common factors only: the same probes on background samples (does the common space hold the factor there?). */
  background_from_common?: number;
  background_from_salient?: number;
}

export interface SeparationScores {
  /** The four numbers of the protocol (the first common factor stands for the common ones). */
  salient_from_salient: number;
  salient_from_common: number;
  common_from_common: number;
  common_from_salient: number;
  salient: FactorScores;
  common: FactorScores[];
  background_salient_norm: number;
  /** Mean ‖s‖ of held-out background and target samples. */
  salient_norm: { background: number; target: number };
  hsic: number;
  /** Targets the probes were trained and scored on. */
  probe_samples: { train: number; test: number };
}

function rows(data: Float32Array, dim: number, positions: ArrayLike<number>): Matrix {
  const out = new Float64Array(positions.length * dim);
  for (let k = 0; k < positions.length; k++) {
    for (let j = 0; j < dim; j++) out[k * dim + j] = data[positions[k] * dim + j];
  }
  return { rows: positions.length, cols: dim, data: out };
}

function score(x: Matrix, y: unknown[], spec: FactorSpec, nTrain: number, seed: number): number {
  const split = { train: Int32Array.from({ length: nTrain }, (_, i) => i), test: Int32Array.from({ length: x.rows - nTrain }, (_, i) => nTrain + i) };
  const r = crossValidateProbe(x, y, { task: spec.task, split, bootstrap: 0, seed });
  const key = spec.task === 'classification' ? 'balanced_accuracy' : 'r2';
  return r.metrics[key].mean;
}

/**
 * Scores embeddings of the train and test samples (`train`, `test` from `embedDataset` on the split's indices).
 * Probes use target samples with a defined factor value; a factor with fewer than two classes among the training
 * targets is a ValueError.
 */
export function evaluateSeparation(ds: ContrastiveDataset, train: Embeddings, test: Embeddings, opts: { seed?: number } = {}): SeparationScores {
  const seed = opts.seed ?? 0;
  const members = (e: Embeddings, factor: string, group = 1) => {
    const pos: number[] = [];
    e.indices.forEach((sample, k) => {
      if (ds.group[sample] === group && ds.factors[factor][sample] != null) pos.push(k);
    });
    return pos;
  };
  const targets = (e: Embeddings, factor: string) => members(e, factor, 1);
  const probe = (spec: FactorSpec, group = 1): FactorScores => {
    const trPos = members(train, spec.name, group);
    const tePos = members(test, spec.name, group);
    if (trPos.length < 2 || tePos.length < 1) {
      throw new ValueError(
        `evaluateSeparation: factor '${spec.name}' has ${trPos.length} training and ${tePos.length} held-out ${group ? 'target' : 'background'} samples`,
      );
    }
    const y = [...trPos.map((k) => ds.factors[spec.name][train.indices[k]]), ...tePos.map((k) => ds.factors[spec.name][test.indices[k]])];
    const space = (which: 'common' | 'salient') => {
      const dim = which === 'common' ? train.commonDim : train.salientDim;
      const a = rows(train[which], dim, trPos);
      const b = rows(test[which], dim, tePos);
      const data = new Float64Array(a.data.length + b.data.length);
      data.set(a.data);
      data.set(b.data, a.data.length);
      return score({ rows: a.rows + b.rows, cols: dim, data }, y, spec, trPos.length, seed);
    };
    return {
      factor: spec.name,
      metric: spec.task === 'classification' ? 'balanced_accuracy' : 'r2',
      from_common: space('common'),
      from_salient: space('salient'),
    };
  };
  const salient = probe(ds.salient);
  const common = ds.common.map((spec) => {
    const onTargets = probe(spec);
    const bgTrain = members(train, spec.name, 0);
    const classes = new Set(bgTrain.map((k) => String(ds.factors[spec.name][train.indices[k]])));
    if (bgTrain.length < 2 || members(test, spec.name, 0).length < 1 || (spec.task === 'classification' && classes.size < 2)) return onTargets;
    const onBackground = probe(spec, 0);
    return { ...onTargets, background_from_common: onBackground.from_common, background_from_salient: onBackground.from_salient };
  });

  // Label-free checks on the held-out samples.
  const norms = { background: 0, target: 0 };
  const counts = { background: 0, target: 0 };
  const d = test.codeDim;
  test.indices.forEach((sample, k) => {
    let sq = 0;
    for (let j = 0; j < d; j++) sq += test.salientCode[k * d + j] ** 2;
    const key = ds.group[sample] === 1 ? 'target' : 'background';
    norms[key] += Math.sqrt(sq);
    counts[key] += 1;
  });
  const meanNorm = { background: norms.background / Math.max(1, counts.background), target: norms.target / Math.max(1, counts.target) };
  const tePos = test.indices.reduce<number[]>((acc, s, k) => (ds.group[s] === 1 ? (acc.push(k), acc) : acc), []);
  let dependence = NaN;
  if (tePos.length >= 2) {
    const c = rows(test.common, test.commonDim, tePos);
    const s = rows(test.salient, test.salientDim, tePos);
    const v = tf.tidy(() => hsic(tf.tensor2d(Float32Array.from(c.data), [c.rows, c.cols]), tf.tensor2d(Float32Array.from(s.data), [s.rows, s.cols]), { normalized: true }));
    dependence = v.dataSync()[0];
    v.dispose();
  }
  return {
    salient_from_salient: salient.from_salient,
    salient_from_common: salient.from_common,
    common_from_common: common[0]?.from_common ?? NaN,
    common_from_salient: common[0]?.from_salient ?? NaN,
    salient,
    common,
    background_salient_norm: meanNorm.target > 0 ? meanNorm.background / meanNorm.target : NaN,
    salient_norm: meanNorm,
    hsic: dependence,
    probe_samples: { train: targets(train, ds.salient.name).length, test: targets(test, ds.salient.name).length },
  };
}
