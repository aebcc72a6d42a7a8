/**
 * The longitudinal objectives of LOSSES.md §10 on a batch of visits, as terms to weight and add to any other
 * objective (e.g. `+ λ·fairKL(representation, diagnosis, site)`):
 * - `longitudinalYAware`: y-Aware InfoNCE (Dufumier et al., MICCAI 2021, Eq. 3) with the kernel
 *   `K = δ(subject) · exp(−Δt²/(2σ_t²)) [· K_meta]` — visits of one subject close in time are strong positives,
 *   far apart weaker, other subjects negatives;
 * - `trajectoryAlignment`: the LSSL-style direction term (Ouyang et al., MICCAI 2021, Eq. 2)
 *   `mean_pairs(1 − cos(z_j − z_i, τ_dir))` over the ordered visit pairs (t_j > t_i) of each subject, with the
 *   views of a batch stacked (so pairs across views count too).
 */
import * as tf from '../tf.js';
import { ShapeError, ValueError } from '../errors.js';
import { longitudinalKernel, type KernelLike } from '../kernels/kernels.js';
import type { Labels } from '../kernels/metadata.js';
import { matMul } from '../losses/common.js';
import { longitudinalDirection, visitPairs } from '../losses/longitudinal.js';
import { yAwareInfoNCE } from '../losses/yaware.js';

/** Which visits a batch holds: a subject id and a time (years) per row, and optional extra metadata columns. */
export interface VisitBatch {
  subjects: Labels;
  times: ArrayLike<number>;
  /** Rows `[n, q]` for the optional metadata factor of the kernel (e.g. `[[age], …]`). */
  metadata?: readonly (readonly (number | string)[])[];
}

export interface LongitudinalYAwareOptions {
  /** τ (default 0.1). */
  temperature?: number;
  /** σ_t in years (default 1). */
  sigmaTime?: number;
  /**
   * Kernel on `batch.metadata`, multiplied in (LOSSES.md §10). Because δ(subject) is a factor, it only reweights
   * pairs of one subject; to draw different subjects of similar age together, add a cross-sectional y-Aware term.
   */
  metadataKernel?: KernelLike;
}

function subjectArray(subjects: Labels, n: number, what: string): (string | number)[] {
  const s = subjects instanceof tf.Tensor ? Array.from(subjects.dataSync()) : Array.from(subjects as ArrayLike<string | number>);
  if (s.length !== n) throw new ShapeError(`${what}: subjects must hold one id per visit (${n}); got ${s.length}`);
  return s;
}

function timeArray(times: ArrayLike<number>, n: number, what: string): number[] {
  if (times == null || times.length !== n) throw new ShapeError(`${what}: times must hold one time per visit (${n}); got ${times?.length}`);
  const t = Array.from(times);
  t.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new ValueError(`${what}: times must be finite (years); times[${i}] is ${v}`);
  });
  return t;
}

/** y-Aware InfoNCE on two views `[n, d]` with the subject × time kernel of LOSSES.md §10. */
export function longitudinalYAware(z1: tf.Tensor, z2: tf.Tensor, batch: VisitBatch, options: LongitudinalYAwareOptions = {}): tf.Scalar {
  const n = z1.shape[0];
  const subjects = subjectArray(batch.subjects, n, 'longitudinalYAware');
  const times = timeArray(batch.times, n, 'longitudinalYAware');
  const kernel = longitudinalKernel({ sigmaTime: options.sigmaTime ?? 1, ...(options.metadataKernel ? { metadata: options.metadataKernel } : {}) });
  let rows: (string | number)[][];
  if (options.metadataKernel) {
    const meta = batch.metadata;
    if (meta == null || meta.length !== n) throw new ShapeError(`longitudinalYAware: a metadataKernel needs batch.metadata with one row per visit (${n}); got ${meta?.length}`);
    rows = subjects.map((s, i) => [s, times[i], ...meta[i]]);
  } else {
    rows = subjects.map((s, i) => [s, times[i]]);
  }
  return yAwareInfoNCE(z1, z2, rows, { temperature: options.temperature ?? 0.1, kernel });
}

/**
 * The direction term over the ordered visit pairs of each subject, views stacked: `views` V tensors `[n, d]`
 * (or one), `direction` `[d]` (normalised inside). Returns the loss and the number of pairs; with no pair in the
 * batch (every subject seen once) the loss is 0 with pairs = 0 — the sampler should prevent that.
 */
export function trajectoryAlignment(views: tf.Tensor | readonly tf.Tensor[], batch: VisitBatch, direction: tf.Tensor): { loss: tf.Scalar; pairs: number } {
  const list = Array.isArray(views) ? (views as tf.Tensor[]) : [views as tf.Tensor];
  if (list.length === 0) throw new ShapeError('trajectoryAlignment: needs at least one view');
  const n = list[0].shape[0];
  for (const [i, v] of list.entries()) {
    if (v.rank !== 2 || v.shape[0] !== n) throw new ShapeError(`trajectoryAlignment: view ${i} must be [${n}, d]; got [${v.shape}]`);
  }
  const subjects = subjectArray(batch.subjects, n, 'trajectoryAlignment');
  const times = timeArray(batch.times, n, 'trajectoryAlignment');
  const allSubjects = list.flatMap(() => subjects);
  const allTimes = list.flatMap(() => times);
  let selectors: ReturnType<typeof visitPairs>;
  try {
    selectors = visitPairs(allSubjects, allTimes);
  } catch (e) {
    if (e instanceof ValueError && /no subject has two visits/.test(e.message)) return { loss: tf.scalar(0) as tf.Scalar, pairs: 0 };
    throw e;
  }
  const { earlier, later, count } = selectors;
  try {
    const loss = tf.tidy(() => {
      const z = (list.length === 1 ? list[0] : tf.concat(list as tf.Tensor[], 0)) as tf.Tensor2D;
      return longitudinalDirection(matMul(earlier, z), matMul(later, z), direction);
    });
    return { loss, pairs: count };
  } finally {
    tf.dispose([earlier, later]);
  }
}

export interface LongitudinalObjectiveOptions extends LongitudinalYAwareOptions {
  /** Weight of the y-Aware (subject × time) term (default 1). */
  yAwareWeight?: number;
  /** Weight λ of the direction term (default 1; 0 switches it off). */
  directionWeight?: number;
}

/**
 * `w·longitudinalYAware(z1, z2) + λ·trajectoryAlignment([r1, r2], τ_dir)`: the y-Aware term on the projections,
 * the direction term on the representations (where downstream probes read time), as LSSL aligns its latent
 * space. Returns the total and each term (unweighted), for logging. Add other objectives to `total` freely.
 */
export function longitudinalObjective(
  outputs: { z1: tf.Tensor; z2: tf.Tensor; r1: tf.Tensor; r2: tf.Tensor },
  batch: VisitBatch,
  direction: tf.Tensor | null,
  options: LongitudinalObjectiveOptions = {},
): { total: tf.Scalar; terms: { yaware: tf.Scalar; direction?: tf.Scalar }; pairs: number } {
  const w = options.yAwareWeight ?? 1;
  const lambda = options.directionWeight ?? 1;
  if (!(w >= 0) || !(lambda >= 0)) throw new ValueError(`longitudinalObjective: weights must be ≥ 0; got yAwareWeight ${w}, directionWeight ${lambda}`);
  if (lambda > 0 && direction == null) throw new ValueError('longitudinalObjective: directionWeight > 0 needs a direction (a LearnedDirection variable)');
  const yaware = longitudinalYAware(outputs.z1, outputs.z2, batch, options);
  if (lambda === 0 || direction == null) return { total: tf.mul(yaware, w) as tf.Scalar, terms: { yaware }, pairs: 0 };
  const dir = trajectoryAlignment([outputs.r1, outputs.r2], batch, direction);
  const total = tf.tidy(() => tf.add(tf.mul(yaware, w), tf.mul(dir.loss, lambda)) as tf.Scalar);
  return { total, terms: { yaware, direction: dir.loss }, pairs: dir.pairs };
}
