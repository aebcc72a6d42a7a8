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
export {
  generateReport,
  randomReportFacts,
  reportFindings,
  severityOf,
  FINDINGS,
  FINDING_COLUMNS,
  SEVERITIES,
  DEFAULT_SEVERITY_THRESHOLDS,
} from './reports.js';
export type { Finding, Severity, SeverityThresholds, ReportFacts, ReportOptions } from './reports.js';
export { writeCohortReports, readReports, readTableFile, reportFactsOf } from './reports-io.js';
export type {
  WriteCohortReportsOptions,
  CohortReportsResult,
  ReadReportsOptions,
  ReportRow,
  ReportsTable,
  ReadTableOptions,
  TableRecord,
} from './reports-io.js';
export { parseTable, formatTable, decodeUtf8, invalidUtf8Offsets, delimiterFor } from './table.js';
export type { Table } from './table.js';
export { loadPretrainedTextEncoder, PretrainedTextEncoder, pool as poolHiddenStates } from './pretrained-encoder.js';
export type { PretrainedTextEncoderOptions, TextPooling, TextEmbedder } from './pretrained-encoder.js';
export { loadTextModel, embedTexts, saveTextModel, TEXT_MODEL_FILE } from './text-model.js';
export type { TextModel, TextEmbeddings, EmbedTextsOptions } from './text-model.js';
