/**
 * The standard Hugging Face files of a BERT WordPiece tokenizer (`tokenizer.json`, `tokenizer_config.json`,
 * `special_tokens_map.json`, `vocab.txt`), built from a vocabulary list. transformers.js loads a tokenizer only
 * from `tokenizer.json` + `tokenizer_config.json`; older BERT checkpoints ship only `vocab.txt`, so `loadTokenizer`
 * builds the JSON in memory for such folders, and `scripts/make-bert-tokenizer.ts` writes the shipped default.
 */
import { ValueError } from '../../src/errors.js';

/** The five special tokens of BERT, in `special_tokens_map.json` order. */
export const BERT_SPECIAL_TOKENS = {
  unk_token: '[UNK]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  cls_token: '[CLS]',
  mask_token: '[MASK]',
} as const;

export interface BertTokenizerOptions {
  /** Lower-case and strip accents before WordPiece (the "uncased" models). Default true. */
  lowercase?: boolean;
  /** `model_max_length` in tokenizer_config.json (BERT's position-embedding count). Default 512. */
  modelMaxLength?: number;
}

export interface WordPieceFiles {
  'vocab.txt': string;
  'tokenizer.json': string;
  'tokenizer_config.json': string;
  'special_tokens_map.json': string;
}

/** Parses a `vocab.txt` (one token per line; the line number is the id). */
export function parseVocabTxt(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Builds the four tokenizer files of a BERT WordPiece tokenizer whose vocabulary is `vocab` (index = id). */
export function bertTokenizerFiles(vocab: readonly string[], options: BertTokenizerOptions = {}): WordPieceFiles {
  const lowercase = options.lowercase ?? true;
  const modelMaxLength = options.modelMaxLength ?? 512;
  const ids = new Map<string, number>();
  vocab.forEach((token, id) => {
    if (token.length === 0 || /[\r\n]/.test(token)) throw new ValueError(`vocab: token ${id} is empty or holds a line break`);
    if (ids.has(token)) throw new ValueError(`vocab: token '${token}' appears twice (ids ${ids.get(token)} and ${id})`);
    ids.set(token, id);
  });
  const idOf = (token: string): number => {
    const id = ids.get(token);
    if (id == null) throw new ValueError(`vocab: the special token ${token} is missing`);
    return id;
  };
  const specials = Object.values(BERT_SPECIAL_TOKENS)
    .map((content) => ({ id: idOf(content), content }))
    .sort((a, b) => a.id - b.id);
  const cls = idOf('[CLS]');
  const sep = idOf('[SEP]');

  const head = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(({ id, content }) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  };
  // The vocab object is written by hand so that it stays in id order: JSON.stringify would move integer-like
  // keys ("1", "2019", ...) to the front.
  const vocabEntries = vocab.map((token, id) => `      ${JSON.stringify(token)}: ${id}`).join(',\n');
  const model =
    '  "model": {\n    "type": "WordPiece",\n    "unk_token": "[UNK]",\n    "continuing_subword_prefix": "##",\n' +
    `    "max_input_chars_per_word": 100,\n    "vocab": {\n${vocabEntries}\n    }\n  }`;
  const headJson = JSON.stringify(head, null, 2);
  const tokenizerJson = `${headJson.slice(0, -2)},\n${model}\n}\n`;

  const config = {
    clean_up_tokenization_spaces: true,
    ...BERT_SPECIAL_TOKENS,
    do_lower_case: lowercase,
    model_max_length: modelMaxLength,
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
  };
  return {
    'vocab.txt': vocab.join('\n') + '\n',
    'tokenizer.json': tokenizerJson,
    'tokenizer_config.json': JSON.stringify(config, null, 2) + '\n',
    'special_tokens_map.json': JSON.stringify(BERT_SPECIAL_TOKENS, null, 2) + '\n',
  };
}
