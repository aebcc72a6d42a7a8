/** The encoder contract shared by every architecture, and the MLP projection head. */
import * as tf from '../../tf.js';
import { ValueError } from '../../errors.js';
import { Rng } from '../../util/random.js';
import { Layer, Module, Sequential } from '../module.js';
import { BatchNorm1d, Linear, ReLU } from '../layers.js';

/**
 * What an encoder returns: the representation (what probes, k-NN and representation-level losses such as FairKL
 * use) and its projection through the head (what contrastive losses usually act on), separately.
 */
export interface EncoderOutput {
  representation: tf.Tensor2D;
  projection: tf.Tensor2D;
}

export interface HeadConfig {
  /** Hidden widths of the MLP; [] gives a single linear layer. Default: one hidden layer as wide as the input. */
  hidden?: number[];
  /** Output (projection) dimension. Default 128. */
  out?: number;
  /** BatchNorm1d after each hidden linear layer (SimCLR v2 style). Default false. */
  batchNorm?: boolean;
}

export abstract class Encoder extends Module {
  /** The architecture's JSON config with every default filled in (what `createEncoder` rebuilds it from). */
  abstract readonly config: Readonly<Record<string, unknown>>;
  /** Width of the representation. */
  abstract readonly representationDim: number;
  /** Width of the projection (equals representationDim when there is no head). */
  abstract readonly projectionDim: number;
  /** The projection head ('head.*' in the state_dict), or null. */
  abstract readonly head: MLPHead | null;

  /** Representation only (skips the head). */
  abstract represent(x: tf.Tensor, mask?: tf.Tensor): tf.Tensor2D;

  forward(x: tf.Tensor, mask?: tf.Tensor): EncoderOutput {
    return tf.tidy(() => {
      const representation = this.represent(x, mask);
      const projection = this.head == null ? tf.clone(representation) : (this.head.forward(representation) as tf.Tensor2D);
      return { representation, projection };
    });
  }
}

/**
 * MLP projection head: Linear → [BatchNorm1d] → ReLU → … → Linear, named as torch.nn.Sequential
 * (`head.0.weight`, `head.2.weight`, …). Linear biases start at zero (as torchvision heads).
 */
export class MLPHead extends Sequential {
  readonly outDim: number;
  constructor(inDim: number, cfg: Required<HeadConfig>, rng: Rng) {
    const layers: Layer[] = [];
    let width = inDim;
    for (const h of cfg.hidden) {
      layers.push(new Linear(width, h, { rng, zeroBias: true }));
      if (cfg.batchNorm) layers.push(new BatchNorm1d(h));
      layers.push(new ReLU());
      width = h;
    }
    layers.push(new Linear(width, cfg.out, { rng, zeroBias: true }));
    super(...layers);
    this.outDim = cfg.out;
  }
}

/** Fills a head config's defaults for an input width; null/false means no head. */
export function normalizeHead(head: HeadConfig | null | false | undefined, inDim: number): Required<HeadConfig> | null {
  if (head === null || head === false) return null;
  const h = head ?? {};
  const out = { hidden: h.hidden ?? [inDim], out: h.out ?? 128, batchNorm: h.batchNorm ?? false };
  for (const w of [...out.hidden, out.out]) {
    if (!Number.isInteger(w) || w < 1) throw new ValueError(`head widths must be positive integers, got ${JSON.stringify(h)}`);
  }
  return out;
}
