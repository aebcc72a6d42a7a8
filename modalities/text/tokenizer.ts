/**
 * Tokenizers for radiology text, through transformers.js (`AutoTokenizer`), offline by default.
 *
 * `loadTokenizer()` returns the shipped bert-base-uncased WordPiece tokenizer; `loadTokenizer(dir)` any Hugging Face
 * tokenizer folder (tokenizer.json + tokenizer_config.json, or a BERT vocab.txt alone); `loadTokenizer(hubId,
 * { allowRemote: true })` downloads one. Encodings always carry the model's special tokens ([CLS] … [SEP] for BERT)
 * and truncation keeps them: a long report loses its tail, never its [SEP].
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import * as tf from '../../src/tf.js';
import { FileFormatError, ValueError } from '../../src/errors.js';
import { bertBaseUncasedDir } from './assets.js';
import { transformers, resolveModelSource, withRemote, remoteAllowedByEnv, type ModelSourceOptions } from './hf.js';
import { bertTokenizerFiles, parseVocabTxt } from './wordpiece-files.js';

export interface LoadTokenizerOptions extends ModelSourceOptions {
  /** Default maximum tokens per text, special tokens included (default: the tokenizer's model_max_length, ≤ 512). */
  maxLength?: number;
  /**
   * Cache the ids of each distinct word (default true; used only for word-local tokenizers such as BERT's, where
   * it gives identical ids). Costs up to ~100k cached words of memory.
   */
  wordCache?: boolean;
}

export interface EncodeOptions {
  /** Maximum tokens, special tokens included; longer texts are truncated at the end (default: the tokenizer's). */
  maxLength?: number;
}

export interface EncodeBatchOptions extends EncodeOptions {
  /** 'longest' (default): pad to the longest text of the batch; 'max_length': pad every text to maxLength. */
  padding?: 'longest' | 'max_length';
}

/** A batch as plain arrays (row-major [batch, length]), for runtimes other than tfjs (onnxruntime). */
export interface EncodedArrays {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  batch: number;
  length: number;
  /** Tokens of each text after truncation, before padding. */
  lengths: Int32Array;
  /** How many texts were truncated. */
  truncated: number;
}

/** A batch as int32 tfjs tensors [batch, length]; the caller disposes them. */
export interface EncodedBatch {
  input_ids: tf.Tensor2D;
  attention_mask: tf.Tensor2D;
  lengths: Int32Array;
  truncated: number;
}

/** Texts longer than this many characters per token of budget are pre-cut at a word boundary before encoding. */
const LONG_TEXT_CHARS_PER_TOKEN = 24;
const LONG_TEXT_WORD_MARGIN = 16;
/**
 * A word for BERT's normalizer: a run of characters other than those it maps to a space — JS `\s` minus \v, \f
 * and U+FEFF, which it deletes as control/format characters instead (so "a\vb" is one word, "ab").
 */
const BERT_WORD = /[^\t\n\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
/** Bound on the word → ids cache (entries); it is cleared when full. */
const WORD_CACHE_SIZE = 100_000;

/** A transformers.js tokenizer with geoclr's truncation, padding and tensor conventions. */
export class TextTokenizer {
  /** Special-token ids the tokenizer puts before and after a single text (BERT: [CLS] and [SEP]). */
  readonly prefixIds: readonly number[];
  readonly suffixIds: readonly number[];
  readonly padId: number;
  readonly maxLength: number;
  /**
   * Word → ids cache, used only when tokenization is provably word-local (BERT normalizer + BERT/whitespace
   * pre-tokenizer + WordPiece): then the ids of a text are the concatenation of the ids of its whitespace-separated
   * words, and reports, which reuse a small vocabulary, skip most of transformers.js' per-character work.
   */
  private readonly wordCache: Map<string, number[]> | null;

  constructor(
    /** The underlying transformers.js tokenizer, for anything not wrapped here. */
    readonly hf: PreTrainedTokenizer,
    /** The folder (or hub id) it was loaded from. */
    readonly source: string,
    options: { maxLength?: number; wordCache?: boolean } = {},
  ) {
    [this.prefixIds, this.suffixIds] = specialTemplate(hf);
    this.wordCache = options.wordCache !== false && isWordLocal(hf) ? new Map() : null;
    this.padId = hf.pad_token_id ?? 0;
    const modelMax = Number.isFinite(hf.model_max_length) ? hf.model_max_length : 512;
    this.maxLength = checkMaxLength(options.maxLength ?? Math.min(modelMax, 512), this.minLength, 'maxLength');
  }

  /** The vocabulary size (ids are in [0, vocabSize)). */
  get vocabSize(): number {
    return this.hf.get_vocab().size;
  }

  /** The smallest usable maxLength: the special tokens plus one token of text. */
  get minLength(): number {
    return this.prefixIds.length + this.suffixIds.length + 1;
  }

  /** The tokens of a text, without special tokens (e.g. ['hip', '##po', '##camp', '##al']). */
  tokenize(text: string): string[] {
    return this.hf.tokenize(checkText(text, 'text'));
  }

  /** The ids of one text with the special tokens ([CLS] … [SEP]), truncated to maxLength. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const maxLength = checkMaxLength(options.maxLength ?? this.maxLength, this.minLength, 'maxLength');
    return this.encodeChecked(checkText(text, 'text'), maxLength).ids;
  }

  /** Batch encoding to plain Int32Arrays (row-major), padded with the pad id; mask 1 on tokens, 0 on padding. */
  encodeBatchArrays(texts: readonly string[], options: EncodeBatchOptions = {}): EncodedArrays {
    if (!Array.isArray(texts)) throw new ValueError(`texts: expected an array of strings, got ${typeof texts}`);
    const maxLength = checkMaxLength(options.maxLength ?? this.maxLength, this.minLength, 'maxLength');
    const padding = options.padding ?? 'longest';
    if (padding !== 'longest' && padding !== 'max_length') {
      throw new ValueError(`padding: expected 'longest' or 'max_length', got '${padding}'`);
    }
    const encoded = texts.map((text, i) => this.encodeChecked(checkText(text, `texts[${i}]`), maxLength));
    const length = padding === 'max_length' ? maxLength : encoded.reduce((m, e) => Math.max(m, e.ids.length), 0);
    const batch = texts.length;
    const inputIds = new Int32Array(batch * length).fill(this.padId);
    const attentionMask = new Int32Array(batch * length);
    const lengths = new Int32Array(batch);
    let truncated = 0;
    encoded.forEach(({ ids, wasTruncated }, b) => {
      inputIds.set(ids, b * length);
      attentionMask.fill(1, b * length, b * length + ids.length);
      lengths[b] = ids.length;
      if (wasTruncated) truncated++;
    });
    return { inputIds, attentionMask, batch, length, lengths, truncated };
  }

  /** Batch encoding to int32 tensors `input_ids` and `attention_mask` of shape [texts.length, length]. */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): EncodedBatch {
    const a = this.encodeBatchArrays(texts, options);
    return {
      input_ids: tf.tensor2d(a.inputIds, [a.batch, a.length], 'int32'),
      attention_mask: tf.tensor2d(a.attentionMask, [a.batch, a.length], 'int32'),
      lengths: a.lengths,
      truncated: a.truncated,
    };
  }

  /** Text from ids (special tokens dropped by default). */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.hf.decode(Array.from(ids), { skip_special_tokens: options.skipSpecialTokens ?? true });
  }

  private encodeChecked(text: string, maxLength: number): { ids: number[]; wasTruncated: boolean } {
    const budget = maxLength - this.prefixIds.length - this.suffixIds.length;
    if (this.wordCache) return this.encodeByWords(text, budget);
    let content: number[] | null = null;
    // A very long text (a pasted document, a runaway export) is cut after enough words before encoding, so its
    // cost is bounded by maxLength, not by its size. Each word gives at least one token, so the first `budget`
    // tokens come from the first words; the check below falls back to the whole text if that did not hold.
    if (text.length > LONG_TEXT_CHARS_PER_TOKEN * (budget + LONG_TEXT_WORD_MARGIN)) {
      const head = cutAfterWords(text, budget + LONG_TEXT_WORD_MARGIN);
      if (head.length < text.length) {
        const ids = this.hf.encode(head, { add_special_tokens: false });
        if (ids.length >= budget + LONG_TEXT_WORD_MARGIN) content = ids;
      }
    }
    content ??= this.hf.encode(text, { add_special_tokens: false });
    const wasTruncated = content.length > budget;
    const kept = wasTruncated ? content.slice(0, budget) : content;
    return { ids: [...this.prefixIds, ...kept, ...this.suffixIds], wasTruncated };
  }

  /** Word-local tokenizers: ids word by word through the cache, stopping once the budget is exceeded. */
  private encodeByWords(text: string, budget: number): { ids: number[]; wasTruncated: boolean } {
    const cache = this.wordCache!;
    const ids = [...this.prefixIds];
    const end = budget + this.prefixIds.length;
    const re = new RegExp(BERT_WORD.source, 'g');
    for (let m = re.exec(text); m != null && ids.length <= end; m = re.exec(text)) {
      const word = m[0];
      let pieces = cache.get(word);
      if (pieces == null) {
        pieces = this.hf.encode(word, { add_special_tokens: false });
        if (cache.size >= WORD_CACHE_SIZE) cache.clear();
        cache.set(word, pieces);
      }
      for (const id of pieces) ids.push(id);
    }
    const wasTruncated = ids.length > end;
    if (wasTruncated) ids.length = end;
    for (const id of this.suffixIds) ids.push(id);
    return { ids, wasTruncated };
  }
}

/**
 * Whether a tokenizer's output on a text is the concatenation of its outputs on the whitespace-separated words:
 * true for BERT's pipeline (BertNormalizer maps every whitespace character to a space and otherwise works
 * character by character; BertPreTokenizer splits on whitespace first; WordPiece works within a word).
 */
function isWordLocal(hf: PreTrainedTokenizer): boolean {
  const json = (hf as unknown as { _tokenizerJSON?: Record<string, { type?: string } | null> })._tokenizerJSON;
  if (json == null) return false;
  const normalizer = json.normalizer?.type ?? null;
  const pre = json.pre_tokenizer?.type ?? null;
  return (
    json.model?.type === 'WordPiece' &&
    (normalizer === 'BertNormalizer' || normalizer === null) &&
    (pre === 'BertPreTokenizer' || pre === 'WhitespaceSplit')
  );
}

/**
 * Loads a tokenizer, offline unless asked otherwise.
 *  - no argument (or 'bert-base-uncased'): the shipped bert-base-uncased WordPiece tokenizer;
 *  - a folder: `tokenizer.json` + `tokenizer_config.json` (any transformers.js tokenizer), or a BERT `vocab.txt`
 *    alone (uncased unless its tokenizer_config.json says `do_lower_case: false`);
 *  - a Hugging Face Hub id, only with `{ allowRemote: true }` or GEOCLR_ALLOW_REMOTE_MODELS=1 (downloads).
 * Missing or unreadable files are a FileFormatError naming the file and the folder searched.
 */
export async function loadTokenizer(nameOrDir?: string, options: LoadTokenizerOptions = {}): Promise<TextTokenizer> {
  const t = await transformers();
  const name = nameOrDir == null || nameOrDir === 'bert-base-uncased' ? bertBaseUncasedDir() : nameOrDir;
  const source = resolveModelSource(name, options, 'tokenizer');
  if (source.kind === 'hub') {
    let hf: PreTrainedTokenizer;
    try {
      hf = await withRemote(t, options.allowRemote ?? remoteAllowedByEnv(), () =>
        t.AutoTokenizer.from_pretrained(source.id, { local_files_only: false, ...(options.cacheDir ? { cache_dir: options.cacheDir } : {}) }),
      );
    } catch (e) {
      throw new FileFormatError(source.id, `could not load the tokenizer from the Hugging Face Hub: ${(e as Error).message}`);
    }
    return new TextTokenizer(hf, source.id, options);
  }
  const dir = source.dir;
  const file = (name: string) => path.join(dir, name);
  const has = (name: string) => existsSync(file(name));
  if (has('tokenizer.json')) {
    if (!has('tokenizer_config.json')) {
      throw new FileFormatError(file('tokenizer_config.json'), `missing: a tokenizer folder needs it beside tokenizer.json (looked in ${dir})`);
    }
    for (const name of ['tokenizer.json', 'tokenizer_config.json']) readJson(file(name));
    let hf: PreTrainedTokenizer;
    try {
      hf = await t.AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    } catch (e) {
      throw new FileFormatError(file('tokenizer.json'), `transformers.js could not build a tokenizer from it: ${(e as Error).message}`);
    }
    return new TextTokenizer(hf, dir, options);
  }
  if (has('vocab.txt')) {
    const config = has('tokenizer_config.json') ? (readJson(file('tokenizer_config.json')) as Record<string, unknown>) : {};
    const vocab = parseVocabTxt(readFileSync(file('vocab.txt'), 'utf8'));
    let files;
    try {
      files = bertTokenizerFiles(vocab, {
        lowercase: config.do_lower_case !== false,
        modelMaxLength: typeof config.model_max_length === 'number' ? config.model_max_length : 512,
      });
    } catch (e) {
      throw new FileFormatError(file('vocab.txt'), (e as Error).message);
    }
    const hf = new t.BertTokenizer(JSON.parse(files['tokenizer.json']), { ...JSON.parse(files['tokenizer_config.json']), ...config });
    return new TextTokenizer(hf, dir, options);
  }
  throw new FileFormatError(
    file('tokenizer.json'),
    `missing: looked in ${dir} for tokenizer.json + tokenizer_config.json (or a BERT vocab.txt) and found neither`,
  );
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FileFormatError(file, `cannot read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(file, `not valid JSON: ${(e as Error).message}`);
  }
}

/** The special ids a tokenizer wraps one text in, found by encoding a probe with and without them. */
function specialTemplate(hf: PreTrainedTokenizer): [number[], number[]] {
  const probe = 'a';
  const inner = hf.encode(probe, { add_special_tokens: false });
  const outer = hf.encode(probe);
  for (let k = 0; k + inner.length <= outer.length; k++) {
    if (inner.every((id, i) => outer[k + i] === id)) return [outer.slice(0, k), outer.slice(k + inner.length)];
  }
  return [[], []];
}

function checkText(text: unknown, what: string): string {
  if (typeof text !== 'string') throw new ValueError(`${what}: expected a string, got ${text === null ? 'null' : typeof text}`);
  return text;
}

function checkMaxLength(n: number, min: number, what: string): number {
  if (!Number.isInteger(n) || n < min) throw new ValueError(`${what}: expected an integer ≥ ${min} (special tokens + 1), got ${n}`);
  return n;
}

/** The text up to the end of its `words`-th whitespace-separated word (the whole text if it has fewer). */
function cutAfterWords(text: string, words: number): string {
  const re = /\S+/g;
  let count = 0;
  for (let m = re.exec(text); m != null; m = re.exec(text)) {
    if (++count === words) return text.slice(0, m.index + m[0].length);
  }
  return text;
}
