/**
 * Texts → the token ids a trainable text encoder reads: a tokenizer, a maximum length, and optionally a compact
 * vocabulary (the tokenizer ids that occur in the training corpus, renumbered from 0).
 *
 * Why a compact vocabulary: a text encoder trained from scratch never updates the embedding of a token absent
 * from its corpus, yet a 30 522-row BERT table costs every optimizer step (AdamW and gradient clipping touch
 * each row; ~0.35 s per step on wasm for dim 64) — radiology reports use a few thousand tokens at most (the
 * synthetic ones ~350). Tokens outside the vocabulary map to one out-of-vocabulary id, as [UNK] does.
 *
 * A pipeline is described by a small JSON `TextPipelineSpec` (tokenizer reference, maxLength, vocabulary) that is
 * stored with the trained weights (`text-model.safetensors`, metadata `geoclr.text`) and rebuilds the same
 * pipeline later (`createTextPipeline(spec)`).
 */
import path from 'node:path';
import * as tf from '../../src/tf.js';
import { ValueError } from '../../src/errors.js';
import { bertBaseUncasedDir } from './assets.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

export interface TextPipelineSpec {
  /** 'bert-base-uncased' (the shipped tokenizer) or an absolute tokenizer folder. */
  tokenizer: string;
  /** Maximum tokens per text, special tokens included; longer texts lose their end (their [SEP] is kept). */
  maxLength: number;
  /**
   * Compact vocabulary: entry i is the tokenizer id that compact id i stands for. Entry 0 is the padding id and
   * entry 1 the out-of-vocabulary bucket (the tokenizer's [UNK] id, or -1 when it has none). null: the
   * tokenizer's own ids.
   */
  vocabulary: number[] | null;
}

/** A batch of encoded texts as plain arrays (row-major [batch, length]). */
export interface TextIdArrays {
  ids: Int32Array;
  mask: Int32Array;
  batch: number;
  length: number;
  /** How many texts were truncated to maxLength. */
  truncated: number;
  /** How many tokens fell outside the compact vocabulary. */
  outOfVocabulary: number;
}

export class TextPipeline {
  /** Tokenizer id → compact id (null: identity). */
  private readonly toCompact: Map<number, number> | null;

  constructor(
    readonly tokenizer: TextTokenizer,
    readonly spec: Readonly<TextPipelineSpec>,
  ) {
    if (!Number.isInteger(spec.maxLength) || spec.maxLength < tokenizer.minLength) {
      throw new ValueError(`text pipeline: maxLength must be an integer ≥ ${tokenizer.minLength}, got ${spec.maxLength}`);
    }
    if (spec.vocabulary == null) {
      this.toCompact = null;
      return;
    }
    const v = spec.vocabulary;
    if (v.length < 2 || v[0] !== tokenizer.padId) {
      throw new ValueError(`text pipeline: a compact vocabulary starts with the padding id ${tokenizer.padId} and the out-of-vocabulary id; got [${v.slice(0, 3).join(', ')}…]`);
    }
    this.toCompact = new Map();
    const size = tokenizer.vocabSize;
    v.forEach((id, i) => {
      if (i !== 1 && !(Number.isInteger(id) && id >= 0 && id < size)) {
        throw new ValueError(`text pipeline: vocabulary[${i}] = ${id} is not an id of the tokenizer (0…${size - 1})`);
      }
      if (i !== 1 && this.toCompact!.has(id)) throw new ValueError(`text pipeline: id ${id} appears twice in the vocabulary`);
      if (i !== 1 || id >= 0) this.toCompact!.set(id, i);
    });
  }

  /** Ids are in [0, vocabSize). */
  get vocabSize(): number {
    return this.spec.vocabulary?.length ?? this.tokenizer.vocabSize;
  }

  get maxLength(): number {
    return this.spec.maxLength;
  }

  /** Encodes texts, padded to the longest (or to maxLength with `padding: 'max_length'`). */
  encodeArrays(texts: readonly string[], options: { padding?: 'longest' | 'max_length' } = {}): TextIdArrays {
    const a = this.tokenizer.encodeBatchArrays(texts, { maxLength: this.spec.maxLength, padding: options.padding });
    let outOfVocabulary = 0;
    if (this.toCompact != null) {
      const map = this.toCompact;
      const ids = a.inputIds;
      for (let i = 0; i < ids.length; i++) {
        const c = map.get(ids[i]);
        if (c === undefined) {
          ids[i] = 1;
          outOfVocabulary++;
        } else {
          ids[i] = c;
        }
      }
    }
    return { ids: a.inputIds, mask: a.attentionMask, batch: a.batch, length: a.length, truncated: a.truncated, outOfVocabulary };
  }

  /** Encodes texts to int32 tensors `[batch, length]` (the caller disposes them). */
  encode(texts: readonly string[], options: { padding?: 'longest' | 'max_length' } = {}): { ids: tf.Tensor2D; mask: tf.Tensor2D; truncated: number; outOfVocabulary: number } {
    const a = this.encodeArrays(texts, options);
    return {
      ids: tf.tensor2d(a.ids, [a.batch, a.length], 'int32'),
      mask: tf.tensor2d(a.mask, [a.batch, a.length], 'int32'),
      truncated: a.truncated,
      outOfVocabulary: a.outOfVocabulary,
    };
  }
}

/** The tokenizer reference stored in specs: 'bert-base-uncased' for the shipped one, else an absolute folder. */
export function tokenizerReference(nameOrDir: string | undefined, baseDir = '.'): string {
  if (nameOrDir == null || nameOrDir === 'bert-base-uncased') return 'bert-base-uncased';
  const dir = path.resolve(baseDir, nameOrDir);
  return dir === bertBaseUncasedDir() ? 'bert-base-uncased' : dir;
}

/**
 * The compact vocabulary of a corpus: padding id, out-of-vocabulary id, the tokenizer's other special ids
 * ([CLS], [SEP], …), then every id the texts produce within maxLength, in increasing order (deterministic).
 */
export function corpusVocabulary(tokenizer: TextTokenizer, texts: Iterable<string>, maxLength: number): number[] {
  const seen = new Set<number>();
  const batch: string[] = [];
  const flush = () => {
    const a = tokenizer.encodeBatchArrays(batch, { maxLength });
    for (let i = 0; i < a.inputIds.length; i++) if (a.attentionMask[i]) seen.add(a.inputIds[i]);
    batch.length = 0;
  };
  for (const t of texts) {
    batch.push(t);
    if (batch.length === 256) flush();
  }
  if (batch.length) flush();
  const unk = tokenizer.hf.unk_token_id ?? -1;
  const head = [tokenizer.padId, unk];
  const specials = [...new Set([...tokenizer.prefixIds, ...tokenizer.suffixIds])].filter((id) => !head.includes(id));
  const rest = [...seen].filter((id) => !head.includes(id) && !specials.includes(id)).sort((a, b) => a - b);
  return [...head, ...specials, ...rest];
}

/** Builds the pipeline a spec describes (loads its tokenizer, offline). */
export async function createTextPipeline(spec: TextPipelineSpec): Promise<TextPipeline> {
  const tokenizer = await loadTokenizer(spec.tokenizer, { maxLength: spec.maxLength });
  return new TextPipeline(tokenizer, spec);
}
