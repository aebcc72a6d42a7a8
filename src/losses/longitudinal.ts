/**
 * Longitudinal trajectory term — in the spirit of LSSL, Ouyang et al., "Self-Supervised Longitudinal
 * Neighbourhood Embedding" (MICCAI 2021), Eq. 2 (cosine between a visit pair's displacement and a learned
 * direction); LOSSES.md §10. The subject × time kernel of §10 is `longitudinalKernel` (src/kernels).
 */
import * as tf from '../tf.js';
import { ShapeError, ValueError } from '../errors.js';
import { labelCodes, type Labels } from '../kernels/metadata.js';
import { l2Normalize } from './common.js';
import { embeddings, finite } from './validate.js';

/**
 * `L_dir = mean_pairs (1 − cos(z_later − z_earlier, τ_dir))` for visit pairs given row by row
 * (`zEarlier`, `zLater` `[P, d]`, the later visit of the same subject in the same row) and a learned
 * direction `[d]` (or `[1, d]`; normalised here) (LOSSES.md §10). Norms are floored at 1e-12 (as torch's
 * F.normalize), so a zero displacement has cosine 0 instead of NaN.
 */
export function longitudinalDirection(zEarlier: tf.Tensor, zLater: tf.Tensor, direction: tf.Tensor): tf.Scalar {
  const a = embeddings(zEarlier, 'longitudinalDirection: zEarlier');
  const d = a.shape[1];
  embeddings(zLater, 'longitudinalDirection: zLater', { n: a.shape[0], d, nName: 'zEarlier', dName: 'zEarlier' });
  if (!(direction instanceof tf.Tensor) || direction.size !== d || direction.rank > 2 || (direction.rank === 2 && direction.shape[0] !== 1)) {
    const got = direction instanceof tf.Tensor ? `[${direction.shape.join(', ')}]` : String(direction);
    throw new ShapeError(`longitudinalDirection: direction must have shape [${d}] (d from zEarlier); got ${got}`);
  }
  finite(direction, 'longitudinalDirection: direction');
  return tf.tidy(() => {
    const delta = l2Normalize(tf.sub(zLater, a));
    const dir = l2Normalize(tf.reshape(direction, [1, d]));
    const cos = tf.sum(tf.mul(delta, dir), 1);
    return tf.mean(tf.sub(1, cos)) as tf.Scalar;
  });
}

/**
 * Selectors of the ordered visit pairs `(i, j)` of one subject with `t_j > t_i`: one-hot matrices
 * `earlier`, `later` `[P, n]` so that `tf.matMul(earlier, z)` and `tf.matMul(later, z)` give the pair rows
 * of `z` `[n, d]` (a matmul, not a gather: trains on wasm). The caller disposes both.
 */
export function visitPairs(subjects: Labels, times: ArrayLike<number> | tf.Tensor): { earlier: tf.Tensor2D; later: tf.Tensor2D; count: number } {
  const s = labelCodes(subjects, 'visitPairs: subjects');
  const n = s.length;
  const t = times instanceof tf.Tensor ? times.dataSync() : times;
  if (t == null || t.length !== n) throw new ShapeError(`visitPairs: times must hold one time per visit (${n}); got ${t?.length}`);
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(t[i])) throw new ValueError(`visitPairs: times must be finite; times[${i}] is ${t[i]}`);
    for (let j = 0; j < n; j++) if (s[i] === s[j] && t[j] > t[i]) pairs.push([i, j]);
  }
  if (pairs.length === 0) throw new ValueError('visitPairs: no subject has two visits at different times in this batch');
  const e = new Float32Array(pairs.length * n);
  const l = new Float32Array(pairs.length * n);
  pairs.forEach(([i, j], p) => {
    e[p * n + i] = 1;
    l[p * n + j] = 1;
  });
  return { earlier: tf.tensor2d(e, [pairs.length, n]), later: tf.tensor2d(l, [pairs.length, n]), count: pairs.length };
}
