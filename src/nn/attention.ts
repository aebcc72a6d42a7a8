/**
 * Multi-head self-attention and a pre-LN transformer encoder layer, parameter-compatible with
 * torch.nn.MultiheadAttention(E, H, batch_first=True) and
 * torch.nn.TransformerEncoderLayer(E, H, F, dropout, activation='gelu', batch_first=True, norm_first=True)
 * (Vaswani et al. 2017; pre-LN as Xiong et al. 2020). Inputs are [B, L, E]; a key padding mask is [B, L] with 1 (true)
 * where a position is padding, as PyTorch's `src_key_padding_mask`.
 */
import * as tf from '../tf.js';
import { ShapeError, ValueError } from '../errors.js';
import { Rng } from '../util/random.js';
import { Module } from './module.js';
import * as init from './init.js';
import { Dropout, GELU, LayerNorm, Linear, ReLU } from './layers.js';
import { linear, matmul } from './ops/dense.js';

/** Self-attention: `in_proj_weight` [3E, E], `in_proj_bias` [3E], `out_proj.weight` [E, E], `out_proj.bias` [E]. */
export class MultiheadAttention extends Module {
  readonly inProjWeight: tf.Variable;
  readonly inProjBias: tf.Variable;
  readonly outProj: Linear;
  readonly attnDropout: Dropout;
  readonly headDim: number;
  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    opts: { dropout?: number; rng?: Rng } = {},
  ) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new ValueError(`MultiheadAttention: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    }
    const rng = opts.rng ?? new Rng(0);
    this.headDim = embedDim / numHeads;
    this.inProjWeight = this.addParameter('in_proj_weight', init.xavierUniform([3 * embedDim, embedDim], rng));
    this.inProjBias = this.addParameter('in_proj_bias', tf.zeros([3 * embedDim]));
    this.outProj = this.addModule('out_proj', new Linear(embedDim, embedDim, { rng, zeroBias: true }));
    // PyTorch keeps attention dropout as a float; as a child here it joins train()/eval() and randomState(), and
    // adds nothing to the state_dict.
    this.attnDropout = this.addModule('attn_dropout', new Dropout(opts.dropout ?? 0, { rng }));
  }

  /** x [B, L, E] → [B, L, E]. */
  forward(x: tf.Tensor, keyPaddingMask?: tf.Tensor): tf.Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.embedDim) {
      throw new ShapeError(`MultiheadAttention(${this.embedDim}): input must be [B, L, ${this.embedDim}], got [${x.shape}]`);
    }
    const [b, l, e] = x.shape;
    const h = this.numHeads;
    const dh = this.headDim;
    if (keyPaddingMask != null && (keyPaddingMask.rank !== 2 || keyPaddingMask.shape[0] !== b || keyPaddingMask.shape[1] !== l)) {
      throw new ShapeError(`MultiheadAttention: key padding mask must be [${b}, ${l}], got [${keyPaddingMask.shape}]`);
    }
    return tf.tidy(() => {
      // One projection per q/k/v from row blocks of in_proj_weight, each reshaped to heads [B, H, L, dh].
      const heads = (i: number) => {
        const w = tf.slice(this.inProjWeight, [i * e, 0], [e, e]);
        const bias = tf.slice(this.inProjBias, [i * e], [e]);
        return tf.transpose(tf.reshape(linear(x, w, bias), [b, l, h, dh]), [0, 2, 1, 3]);
      };
      const q = tf.mul(heads(0), 1 / Math.sqrt(dh));
      const k = heads(1);
      const v = heads(2);
      let scores = matmul(q, k, false, true); // [B, H, L, L]
      if (keyPaddingMask != null) {
        // −1e9 rather than −∞: identical after softmax in float32 unless every key is masked (then uniform, not NaN).
        const bias = tf.reshape(tf.mul(tf.cast(keyPaddingMask, 'float32'), -1e9), [b, 1, 1, l]);
        scores = tf.add(scores, bias);
      }
      const attn = this.attnDropout.forward(tf.softmax(scores, -1));
      const ctx = tf.reshape(tf.transpose(matmul(attn, v), [0, 2, 1, 3]), [b, l, e]);
      return this.outProj.forward(ctx);
    });
  }
}

export interface TransformerEncoderLayerOptions {
  /** Feed-forward width (PyTorch's dim_feedforward); default 4·E. */
  ffDim?: number;
  dropout?: number;
  activation?: 'gelu' | 'relu';
  eps?: number;
  rng?: Rng;
}

/**
 * Pre-LN encoder layer: x + Dropout(SelfAttn(LN₁(x))), then + Dropout(W₂ Dropout(act(W₁ LN₂(x)))).
 * Names: self_attn.*, linear1.*, linear2.*, norm1.*, norm2.* (as torch.nn.TransformerEncoderLayer).
 */
export class TransformerEncoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  readonly activation: GELU | ReLU;
  constructor(
    readonly dModel: number,
    readonly numHeads: number,
    opts: TransformerEncoderLayerOptions = {},
  ) {
    super();
    const rng = opts.rng ?? new Rng(0);
    const ff = opts.ffDim ?? 4 * dModel;
    const p = opts.dropout ?? 0.1;
    const eps = opts.eps ?? 1e-5;
    this.selfAttn = this.addModule('self_attn', new MultiheadAttention(dModel, numHeads, { dropout: p, rng }));
    this.linear1 = this.addModule('linear1', new Linear(dModel, ff, { rng }));
    this.dropout = this.addModule('dropout', new Dropout(p, { rng }));
    this.linear2 = this.addModule('linear2', new Linear(ff, dModel, { rng }));
    this.norm1 = this.addModule('norm1', new LayerNorm(dModel, { eps }));
    this.norm2 = this.addModule('norm2', new LayerNorm(dModel, { eps }));
    this.dropout1 = this.addModule('dropout1', new Dropout(p, { rng }));
    this.dropout2 = this.addModule('dropout2', new Dropout(p, { rng }));
    this.activation = (opts.activation ?? 'gelu') === 'gelu' ? new GELU() : new ReLU();
  }

  /** x [B, L, E], optional key padding mask [B, L] (1 = padding) → [B, L, E]. */
  forward(x: tf.Tensor, keyPaddingMask?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const a = this.dropout1.forward(this.selfAttn.forward(this.norm1.forward(x), keyPaddingMask));
      const h = tf.add(x, a);
      const f = this.linear2.forward(this.dropout.forward(this.activation.forward(this.linear1.forward(this.norm2.forward(h)))));
      return tf.add(h, this.dropout2.forward(f));
    });
  }
}
