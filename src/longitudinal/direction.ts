/**
 * The learned unit direction τ_dir of the LSSL-style trajectory term (Ouyang et al., MICCAI 2021; LOSSES.md §10)
 * as a one-parameter module, so optimizers, checkpoints and state_dicts treat it like any weight
 * (`direction` [d]). It is normalised where it is used (`longitudinalDirection`), so its scale is free.
 */
import * as tf from '../tf.js';
import { ValueError } from '../errors.js';
import { Rng } from '../util/random.js';
import { Module } from '../nn/module.js';

export class LearnedDirection extends Module {
  readonly direction: tf.Variable;
  constructor(
    readonly dim: number,
    opts: { seed?: number | string; rng?: Rng } = {},
  ) {
    super();
    if (!Number.isInteger(dim) || dim < 1) throw new ValueError(`LearnedDirection: dim must be a positive integer, got ${dim}`);
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    // A random unit vector: no preferred axis at the start.
    const v = rng.normalArray(dim);
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    this.direction = this.addParameter('direction', tf.tensor1d(v.map((x) => x / norm)));
  }

  /** The current direction as a unit vector (a new tensor). */
  unit(): tf.Tensor1D {
    return tf.tidy(() => tf.div(this.direction, tf.maximum(tf.norm(this.direction), 1e-12)) as tf.Tensor1D);
  }
}
