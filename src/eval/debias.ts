/**
 * The debiasing view of an embedding (FairKL / ε-SupInfoNCE papers): how well a nuisance such as the acquisition
 * site can still be decoded (lower is better), and how a target probe fares on bias-aligned vs bias-conflicting
 * samples (a debiased representation closes the gap).
 */
import { ShapeError } from '../errors.js';
import { accuracyScore, balancedAccuracy, type Label } from './metrics.js';

/**
 * Marks each sample as bias-aligned (true) or bias-conflicting (false): a sample is aligned when its
 * (target, bias) combination is over-represented relative to independence, i.e. count(t, b)·n > count(t)·count(b)
 * — the bias value "points to" the sample's class, as in Colored-MNIST or a site that scanned mostly patients.
 */
export function biasAlignedMask(targets: ArrayLike<Label>, bias: ArrayLike<Label>): boolean[] {
  if (targets.length !== bias.length) throw new ShapeError(`biasAlignedMask: ${targets.length} targets but ${bias.length} bias values`);
  const n = targets.length;
  const ct = new Map<string, number>();
  const cb = new Map<string, number>();
  const ctb = new Map<string, number>();
  const key = (i: number) => JSON.stringify([String(targets[i]), String(bias[i])]);
  for (let i = 0; i < n; i++) {
    ct.set(String(targets[i]), (ct.get(String(targets[i])) ?? 0) + 1);
    cb.set(String(bias[i]), (cb.get(String(bias[i])) ?? 0) + 1);
    ctb.set(key(i), (ctb.get(key(i)) ?? 0) + 1);
  }
  return Array.from({ length: n }, (_, i) => ctb.get(key(i))! * n > ct.get(String(targets[i]))! * cb.get(String(bias[i]))!);
}

export interface SubsetScores {
  n: number;
  accuracy: number;
  balanced_accuracy: number;
}

export interface BiasConflictResult {
  /** Name of the bias variable. */
  bias: string;
  aligned: SubsetScores;
  conflicting: SubsetScores;
  /** aligned − conflicting balanced accuracy: > 0 means the probe leans on the bias. */
  gap: number;
}

function scores(yTrue: Label[], yPred: Label[]): SubsetScores {
  if (yTrue.length === 0) return { n: 0, accuracy: NaN, balanced_accuracy: NaN };
  return { n: yTrue.length, accuracy: accuracyScore(yTrue, yPred), balanced_accuracy: balancedAccuracy(yTrue, yPred) };
}

/** Accuracy of predictions on bias-aligned vs bias-conflicting samples (`aligned` from `biasAlignedMask` or given). */
export function biasConflictScores(
  yTrue: ArrayLike<Label>,
  yPred: ArrayLike<Label>,
  aligned: ArrayLike<boolean>,
  biasName = 'bias',
): BiasConflictResult {
  if (yTrue.length !== yPred.length || yTrue.length !== aligned.length) {
    throw new ShapeError(`biasConflictScores: ${yTrue.length} labels, ${yPred.length} predictions, ${aligned.length} mask values`);
  }
  const split = (want: boolean) => {
    const t: Label[] = [];
    const p: Label[] = [];
    for (let i = 0; i < yTrue.length; i++) {
      if (Boolean(aligned[i]) === want) {
        t.push(yTrue[i]);
        p.push(yPred[i]);
      }
    }
    return scores(t, p);
  };
  const a = split(true);
  const c = split(false);
  return { bias: biasName, aligned: a, conflicting: c, gap: a.balanced_accuracy - c.balanced_accuracy };
}
