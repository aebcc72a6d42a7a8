/**
 * A small text transformer encoder: token + learned position embeddings, pre-LN transformer layers, a final
 * LayerNorm, CLS (first token) or masked-mean pooling, and an MLP projection head. Names:
 * `token_embedding.weight`, `position_embedding.weight`, `layers.0.self_attn.in_proj_weight`, …, `norm.weight`,
 * `head.0.weight`. Embeddings start at N(0, 0.02²) (BERT's initialisation; PyTorch's N(0, 1) default is too large
 * for a residual stream of small width).
 */
import * as tf from '../../tf.js';
import { ShapeError } from '../../errors.js';
import { Rng } from '../../util/random.js';
import { ModuleList } from '../module.js';
import { Dropout, Embedding, LayerNorm } from '../layers.js';
import { TransformerEncoderLayer } from '../attention.js';
import { Encoder, MLPHead, type HeadConfig } from './encoder.js';

export interface TextTransformerConfig {
  arch: 'text-transformer';
  vocabSize: number;
  maxLength?: number;
  dim?: number;
  depth?: number;
  heads?: number;
  /** Feed-forward width; default 4·dim. */
  ffDim?: number;
  dropout?: number;
  /** 'cls': the first token's state; 'mean': the mean over non-padding tokens. */
  pooling?: 'cls' | 'mean';
  head?: HeadConfig | null;
}

export type ResolvedTextTransformerConfig = Required<Omit<TextTransformerConfig, 'head'>> & { head: Required<HeadConfig> | null };

export const TEXT_TRANSFORMER_DEFAULTS = { maxLength: 128, dim: 64, depth: 2, heads: 4, dropout: 0.1, pooling: 'cls' } as const;

export class TextTransformerEncoder extends Encoder {
  readonly config: ResolvedTextTransformerConfig;
  readonly representationDim: number;
  readonly projectionDim: number;
  readonly tokenEmbedding: Embedding;
  readonly positionEmbedding: Embedding;
  readonly embeddingDropout: Dropout;
  readonly layers: ModuleList<TransformerEncoderLayer>;
  readonly norm: LayerNorm;
  readonly head: MLPHead | null;
  constructor(config: ResolvedTextTransformerConfig, rng: Rng) {
    super();
    this.config = config;
    const { dim } = config;
    this.tokenEmbedding = this.addModule('token_embedding', new Embedding(config.vocabSize, dim, { rng, std: 0.02 }));
    this.positionEmbedding = this.addModule('position_embedding', new Embedding(config.maxLength, dim, { rng, std: 0.02 }));
    this.embeddingDropout = this.addModule('dropout', new Dropout(config.dropout, { rng }));
    const layers = Array.from(
      { length: config.depth },
      () => new TransformerEncoderLayer(dim, config.heads, { ffDim: config.ffDim, dropout: config.dropout, activation: 'gelu', rng }),
    );
    this.layers = this.addModule('layers', new ModuleList(layers));
    this.norm = this.addModule('norm', new LayerNorm(dim));
    this.representationDim = dim;
    this.head = config.head == null ? null : this.addModule('head', new MLPHead(dim, config.head, rng));
    this.projectionDim = this.head?.outDim ?? dim;
  }

  /**
   * ids: int32 [B, L] token ids; attentionMask: [B, L] with 1 for real tokens and 0 for padding (Hugging Face's
   * convention; default all ones) → [B, dim].
   */
  represent(ids: tf.Tensor, attentionMask?: tf.Tensor): tf.Tensor2D {
    if (ids.rank !== 2) throw new ShapeError(`text encoder: ids must be [B, L], got [${ids.shape}]`);
    const [b, l] = ids.shape;
    if (l > this.config.maxLength) throw new ShapeError(`text encoder: sequence length ${l} exceeds maxLength ${this.config.maxLength}`);
    if (attentionMask != null && (attentionMask.rank !== 2 || attentionMask.shape[0] !== b || attentionMask.shape[1] !== l)) {
      throw new ShapeError(`text encoder: attention mask must be [${b}, ${l}], got [${attentionMask.shape}]`);
    }
    return tf.tidy(() => {
      const positions = tf.tile(tf.reshape(tf.range(0, l, 1, 'int32'), [1, l]), [b, 1]);
      let h = tf.add(this.tokenEmbedding.forward(ids), this.positionEmbedding.forward(positions));
      h = this.embeddingDropout.forward(h);
      const padding = attentionMask == null ? undefined : tf.sub(1, tf.cast(attentionMask, 'int32'));
      for (const layer of this.layers.items) h = layer.forward(h, padding);
      h = this.norm.forward(h);
      if (this.config.pooling === 'cls') return tf.reshape(tf.slice(h, [0, 0, 0], [b, 1, this.config.dim]), [b, this.config.dim]) as tf.Tensor2D;
      const m = attentionMask == null ? tf.ones([b, l, 1]) : tf.reshape(tf.cast(attentionMask, 'float32'), [b, l, 1]);
      return tf.div(tf.sum(tf.mul(h, m), 1), tf.maximum(tf.sum(m, 1), 1)) as tf.Tensor2D;
    });
  }
}
