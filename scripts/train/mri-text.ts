/**
 * The `mri-text` data modality: T1 volumes (everything the `mri` modality reads) paired with each session's
 * radiology report, tokenized. Each batch carries the volume views, the reports' token ids and attention mask
 * (`inputs.input_ids`, `inputs.attention_mask`, padded to the batch's longest report) and the metadata.
 *
 * ```yaml
 * data:
 *   modality: mri-text
 *   manifest: cohort/manifest.tsv   # as for mri (manifest or cohort folder, filter, preprocess, augment, views…)
 *   reports: cohort/reports.tsv     # default: the manifest's own report column if it has one, else
 *                                   # reports.tsv beside the manifest (`geoclr reports COHORT` writes it)
 *   reportColumn: report            # the column holding the text
 *   onMissingReport: skip           # or error: a session without a (non-empty) report
 *   invalidUtf8: error              # or replace (U+FFFD, counted): invalid UTF-8 in the reports file
 *   tokenizer: bert-base-uncased    # or a tokenizer folder
 *   maxLength: 128                  # tokens, [CLS]/[SEP] included; longer reports are truncated (counted)
 *   vocabulary: corpus              # the ids the training reports use (compact embedding table), or full
 *   views: 1
 * ```
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { checkKeys, number, oneOfValues, string, type Obj } from '../../src/train/schema.js';
import { registerDataModality } from '../../src/train/data.js';
import type { InputInfo, TrainBatch, TrainDataSource } from '../../src/train/types.js';
import type { ManifestRow } from '../../modalities/mri/index.js';
import { readReports } from '../../modalities/text/reports-io.js';
import { corpusVocabulary, TextPipeline, tokenizerReference, type TextPipelineSpec } from '../../modalities/text/pipeline.js';
import { loadTokenizer } from '../../modalities/text/tokenizer.js';
import { openMriEmbed, openMriTrain, resolveMriData, type MriDataConfig } from './mri.js';

export interface MriTextDataConfig extends MriDataConfig {
  /** A reports table (TSV/CSV) joined to the manifest, or null: the manifest's own `reportColumn`. */
  reports: string | null;
  reportColumn: string;
  onMissingReport: 'skip' | 'error';
  /** Invalid UTF-8 in the reports file: an error naming the line and byte, or U+FFFD replacements (counted). */
  invalidUtf8: 'error' | 'replace';
  /** 'bert-base-uncased' or an absolute tokenizer folder. */
  tokenizer: string;
  maxLength: number;
  vocabulary: 'corpus' | 'full';
}

const TEXT_KEYS = ['reports', 'reportColumn', 'onMissingReport', 'invalidUtf8', 'tokenizer', 'maxLength', 'vocabulary'];
const MRI_KEYS = ['manifest', 'cohort', 'filter', 'preprocess', 'augment', 'views', 'workers', 'cache', 'onBadFile', 'types'];

export const IDS_INPUT = 'input_ids';
export const MASK_INPUT = 'attention_mask';

export function resolveMriTextData(section: Obj, field: string, baseDir: string): MriTextDataConfig {
  checkKeys(section, [...MRI_KEYS, ...TEXT_KEYS], field);
  const mriPart: Obj = {};
  for (const k of MRI_KEYS) if (section[k] !== undefined) mriPart[k] = section[k];
  if (mriPart.views === undefined) mriPart.views = 1;
  const mri = resolveMriData(mriPart, field, baseDir);
  let reports: string | null = null;
  if (section.reports != null) {
    reports = path.resolve(baseDir, string(section.reports, `${field}.reports`));
    if (!existsSync(reports)) throw new ConfigError(`${field}.reports`, `no such file: ${reports} (for the synthetic cohort, \`geoclr reports COHORT_DIR\` writes reports.tsv)`);
  } else {
    const dir = statSync(mri.manifest).isDirectory() ? mri.manifest : path.dirname(mri.manifest);
    const beside = path.join(dir, 'reports.tsv');
    if (existsSync(beside)) reports = beside;
  }
  const tokenizer = tokenizerReference(section.tokenizer == null ? undefined : string(section.tokenizer, `${field}.tokenizer`), baseDir);
  if (tokenizer !== 'bert-base-uncased' && !existsSync(tokenizer)) throw new ConfigError(`${field}.tokenizer`, `no such tokenizer folder: ${tokenizer}`);
  return {
    ...mri,
    reports,
    reportColumn: string(section.reportColumn, `${field}.reportColumn`, 'report'),
    onMissingReport: oneOfValues(section.onMissingReport, `${field}.onMissingReport`, ['skip', 'error'] as const, 'skip'),
    invalidUtf8: oneOfValues(section.invalidUtf8, `${field}.invalidUtf8`, ['error', 'replace'] as const, 'error'),
    tokenizer,
    maxLength: number(section.maxLength, `${field}.maxLength`, 128, { min: 3, max: 4096, integer: true }),
    vocabulary: oneOfValues(section.vocabulary, `${field}.vocabulary`, ['corpus', 'full'] as const, 'corpus'),
  };
}

/** The key batches use for a sample (the mri modality's sample ids). */
export function sampleKey(row: { subject_id: string; session_id?: string | null }): string {
  return `${row.subject_id}${row.session_id ? `/${row.session_id}` : ''}`;
}

export interface ReportJoin {
  /** Rows with a report, in manifest order. */
  rows: ManifestRow[];
  /** Report text by sample key. */
  reports: Map<string, string>;
  missing: number;
  empty: number;
  skippedExamples: string[];
  /** Lines of the reports file read with U+FFFD replacements (invalidUtf8: replace). */
  replacedLines: number[];
}

/**
 * Pairs manifest rows with their reports: from the reports table (joined on subject_id + session_id) or from the
 * manifest's own report column. Sessions without a non-empty report are skipped and counted, or fail
 * (`onMissingReport: error`) with a FileFormatError naming the session.
 */
export function joinReports(rows: ManifestRow[], cfg: Pick<MriTextDataConfig, 'reports' | 'reportColumn' | 'onMissingReport' | 'manifest'> & { invalidUtf8?: 'error' | 'replace' }): ReportJoin {
  const reports = new Map<string, string>();
  const out: ReportJoin = { rows: [], reports, missing: 0, empty: 0, skippedExamples: [], replacedLines: [] };
  if (cfg.reports != null) {
    const records = rows.map((r): Record<string, string> => (r.session_id != null ? { subject_id: r.subject_id, session_id: r.session_id } : { subject_id: r.subject_id }));
    let table;
    try {
      table = readReports(cfg.reports, { manifest: records, reportColumn: cfg.reportColumn, onMissing: cfg.onMissingReport, invalidUtf8: cfg.invalidUtf8 ?? 'error' });
    } catch (e) {
      // readReports' hint names its own option; point at the config key instead.
      if (e instanceof FileFormatError && /pass onMissing/.test(e.problem)) throw new FileFormatError(e.file, e.problem.replace(/\(pass onMissing: 'skip'[^)]*\)/, '(set data.onMissingReport: skip to skip such sessions)'));
      if (e instanceof FileFormatError && /invalidUtf8: 'replace'/.test(e.problem)) throw new FileFormatError(e.file, e.problem.replace("read it with { invalidUtf8: 'replace' }", 'set data.invalidUtf8: replace'));
      throw e;
    }
    for (const r of table.rows) reports.set(sampleKey(r), r.report);
    Object.assign(out, { missing: table.missing, empty: table.empty, skippedExamples: table.skippedExamples, replacedLines: table.replacedLines });
  } else {
    if (rows.length > 0 && !(cfg.reportColumn in rows[0])) {
      throw new ConfigError(
        'data.reports',
        `no reports: ${cfg.manifest} has no '${cfg.reportColumn}' column and there is no reports.tsv beside it; give data.reports (a TSV/CSV with subject_id, session_id and ${cfg.reportColumn}) — for the synthetic cohort, run geoclr reports COHORT_DIR`,
      );
    }
    for (const r of rows) {
      const text = r[cfg.reportColumn];
      const kind = text == null ? 'missing' : String(text).trim() === '' ? 'empty' : null;
      if (kind != null) {
        if (cfg.onMissingReport === 'error') {
          throw new ConfigError('data.onMissingReport', `${kind === 'missing' ? 'no report' : 'an empty report'} for ${sampleKey(r)} in ${cfg.manifest} (set onMissingReport: skip to skip such sessions)`);
        }
        out[kind]++;
        if (out.skippedExamples.length < 5) out.skippedExamples.push(sampleKey(r));
        continue;
      }
      reports.set(sampleKey(r), String(text));
    }
  }
  out.rows = rows.filter((r) => reports.has(sampleKey(r)));
  if (out.rows.length === 0) throw new ConfigError('data.reports', `none of the ${rows.length} selected sessions has a report${cfg.reports ? ` in ${cfg.reports}` : ''}`);
  return out;
}

function skippedText(join: ReportJoin): string {
  const n = join.missing + join.empty;
  return `${n} session(s) without a report skipped (${join.missing} missing, ${join.empty} empty; e.g. ${join.skippedExamples.join(', ')})`;
}

/** The text pipeline for training: the tokenizer, and the compact vocabulary of the training reports. */
export async function trainingPipeline(cfg: MriTextDataConfig, texts: string[]): Promise<{ pipeline: TextPipeline; truncated: number }> {
  const tokenizer = await loadTokenizer(cfg.tokenizer, { maxLength: cfg.maxLength });
  const vocabulary = cfg.vocabulary === 'corpus' ? corpusVocabulary(tokenizer, texts, cfg.maxLength) : null;
  const spec: TextPipelineSpec = { tokenizer: cfg.tokenizer, maxLength: cfg.maxLength, vocabulary };
  const pipeline = new TextPipeline(tokenizer, spec);
  let truncated = 0;
  for (let i = 0; i < texts.length; i += 256) truncated += tokenizer.encodeBatchArrays(texts.slice(i, i + 256), { maxLength: cfg.maxLength }).truncated;
  return { pipeline, truncated };
}

export async function openMriTextTrain(data: Obj, opts: { batchSize: number; seed: number }, log: (m: string) => void = (m) => console.error(`data: ${m}`)): Promise<TrainDataSource> {
  const cfg = data as unknown as MriTextDataConfig;
  let join: ReportJoin | null = null;
  const source = await openMriTrain(data, {
    ...opts,
    select: (rows) => {
      join = joinReports(rows, cfg);
      return join.rows;
    },
  });
  const j = join as unknown as ReportJoin;
  try {
    if (j.missing + j.empty > 0) log(skippedText(j));
    if (j.replacedLines.length > 0) log(`${j.replacedLines.length} line(s) of ${cfg.reports} held invalid UTF-8, read with U+FFFD replacements (e.g. line ${j.replacedLines[0]})`);
    const texts = j.rows.map((r) => j.reports.get(sampleKey(r))!);
    const { pipeline, truncated } = await trainingPipeline(cfg, texts);
    if (truncated > 0) log(`${truncated} of ${texts.length} reports are longer than ${cfg.maxLength} tokens and are truncated (data.maxLength)`);
    const tokens: InputInfo = { type: 'tokens', vocabSize: pipeline.vocabSize, maxLength: cfg.maxLength, mask: MASK_INPUT, tokenizer: pipeline.spec as unknown as Record<string, unknown> };
    const reportStats = { file: cfg.reports, column: cfg.reportColumn, paired: j.rows.length, missing: j.missing, empty: j.empty, truncated, vocabulary: pipeline.vocabSize };
    return {
      size: source.size,
      inputShape: source.inputShape,
      columns: source.columns,
      get batchesPerEpoch() {
        return source.batchesPerEpoch;
      },
      columnValues: (name) => source.columnValues(name),
      inputs: { [IDS_INPUT]: tokens },
      async *batches(epoch: number, start: number): AsyncGenerator<TrainBatch> {
        for await (const b of source.batches(epoch, start)) {
          const enc = pipeline.encode(b.ids.map((id) => j.reports.get(id)!));
          yield { ...b, inputs: { ...(b.inputs ?? {}), [IDS_INPUT]: enc.ids, [MASK_INPUT]: enc.mask } };
        }
      },
      close: () => source.close(),
      describe: () => ({ ...(source.describe?.() ?? {}), modality: 'mri-text', reports: reportStats, text: pipeline.spec.tokenizer, maxLength: cfg.maxLength }),
    };
  } catch (e) {
    await source.close();
    throw e;
  }
}

registerDataModality('mri-text', {
  summary: 'T1 volumes (as mri) paired with their radiology reports (reports.tsv or a manifest column), tokenized',
  resolve: (section, field, baseDir) => resolveMriTextData(section, field, baseDir) as unknown as Obj,
  openTrain: (data, opts) => openMriTextTrain(data, opts),
  // Embedding (the run report's probes, geoclr embed) reads the images: the run's primary model is the image encoder.
  openEmbed: (data, opts) => openMriEmbed(data, opts),
});

