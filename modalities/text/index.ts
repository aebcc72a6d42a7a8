/**
 * geoclr's radiology-text modality (`import { loadTokenizer, ... } from 'geoclr/text'`): tokenizers through
 * transformers.js (offline by default), a frozen pretrained text-encoder path over ONNX, and radiology-style
 * reports for the synthetic cohort plus readers for users' own reports.
 */
export { loadTokenizer, TextTokenizer } from './tokenizer.js';
export type { LoadTokenizerOptions, EncodeOptions, EncodeBatchOptions, EncodedArrays, EncodedBatch } from './tokenizer.js';
export { bertTokenizerFiles, parseVocabTxt, BERT_SPECIAL_TOKENS } from './wordpiece-files.js';
export type { BertTokenizerOptions, WordPieceFiles } from './wordpiece-files.js';
export { bertBaseUncasedDir } from './assets.js';
export type { ModelSourceOptions } from './hf.js';
