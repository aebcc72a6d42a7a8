/**
 * A training run from a resolved config, and its run directory (others rely on this layout):
 *
 *   config.json          the resolved config (every default filled in)
 *   metrics.jsonl        one line per step: step, epoch, loss, terms.<objective>, lr, grad_norm, samples_per_s
 *   checkpoints/         step-NNNNNN.safetensors + latest.json (the pointer, written last)
 *   model.safetensors    the final encoder (`saveEncoderFile`), with metadata geoclr.input = {shape, channels},
 *                        geoclr.objective, geoclr.preprocessing, geoclr.data, geoclr.run
 *   report.html          loss curves, probe tables and an embedding map of the training data
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, FileFormatError } from '../errors.js';
import { evaluateEmbeddings, type EvaluationResult, type TargetSpec } from '../eval/evaluate.js';
import { Encoder } from '../nn/encoders/encoder.js';
import { ENCODER_INPUT_KEY, saveEncoderFile } from '../io/model-file.js';
import { evaluationBlocks } from '../report/evaluation.js';
import { writeReport, type ReportSection } from '../report/page.js';
import { writeFileAtomic } from '../util/fs.js';
import { geoclrVersion } from '../version.js';
import { configDifferences, type EvalRole, type ResolvedTrainConfig } from './config.js';
import { dataModality, type EmbedSource } from './data.js';
import { embedAll, type EmbeddingSet } from './embed.js';
import { createTask, type TrainingTask } from './tasks.js';
import { train, type TrainResult } from './trainer.js';
import type { TrainableModel, TrainDataSource } from './types.js';

export const CONFIG_FILE = 'config.json';
export const MODEL_FILE = 'model.safetensors';
export const REPORT_FILE = 'report.html';

/** Saves the primary model part; the default handles geoclr encoders (others: pass your own, e.g. ONNX). */
export type SaveModel = (file: string, model: TrainableModel, metadata: Record<string, unknown>) => Promise<void>;

export const saveGeoclrEncoder: SaveModel = async (file, model, metadata) => {
  if (!(model instanceof Encoder)) {
    throw new ConfigError('init', 'the trained model is not a geoclr encoder, so it cannot be written as model.safetensors; pass a saveModel for it (geoclr/interop exports ONNX models)');
  }
  await saveEncoderFile(file, model, metadata);
};

export interface RunTrainingOptions {
  config: ResolvedTrainConfig;
  resume?: boolean;
  /** The model to start from (`--init`), replacing a fresh encoder. */
  init?: TrainableModel | null;
  /** The training data (default: opened through the config's data modality). */
  data?: TrainDataSource;
  /** Samples to embed for the report's evaluation (default: the modality's unaugmented view of the data). */
  embed?: EmbedSource | null;
  saveModel?: SaveModel;
  progress?: boolean;
  log?: (message: string) => void;
  /** Stop after this many steps (the run stays resumable). */
  maxSteps?: number;
  onEpochEnd?(epoch: number): void;
  /** Called with the task after it is created (e.g. to keep the encoder for further use). */
  keepTask?: boolean;
}

export interface RunResult {
  runDir: string;
  train: TrainResult;
  /** model.safetensors, when the run completed. */
  modelFile: string | null;
  /** Other model files the task wrote beside it (e.g. text-model.safetensors). */
  files: string[];
  reportFile: string | null;
  evaluation: EvaluationResult | null;
  /** The task (only with `keepTask`; the caller disposes it). */
  task: TrainingTask | null;
}

/** A stable fingerprint of what a run computes (the output folder does not count). */
export function configFingerprint(config: ResolvedTrainConfig): string {
  const { out: _out, ...rest } = config;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

/** The input description stored with weights: `{shape: [D, H, W], channels}` for channels-last samples. */
export function inputDescription(inputShape: number[]): { shape: number[]; channels: number } {
  return { shape: inputShape.slice(0, -1), channels: inputShape[inputShape.length - 1] };
}

/** Probe targets: the configured ones, else whichever of age, sex, diagnosis and site the data has. */
export function defaultTargets(columns: Record<string, 'number' | 'string'>, configured: Record<string, EvalRole> | null): Record<string, TargetSpec> {
  const roles: Record<string, EvalRole> = configured ?? {};
  if (configured == null) {
    if (columns.age === 'number') roles.age = 'regression';
    for (const c of ['sex', 'diagnosis']) if (columns[c] != null) roles[c] = 'classification';
    if (columns.site != null) roles.site = 'nuisance';
  }
  const out: Record<string, TargetSpec> = {};
  for (const [name, role] of Object.entries(roles)) {
    if (columns[name] == null) throw new ConfigError(`evaluation.targets.${name}`, `no column '${name}' in the data; columns are ${Object.keys(columns).join(', ')}`);
    out[name] = role === 'nuisance' ? { task: 'classification', nuisance: true } : { task: role };
  }
  return out;
}

function checkComplete(data: TrainDataSource, columns: string[]): void {
  for (const c of columns) {
    if (data.columns[c] == null) throw new ConfigError('task', `the objectives read column '${c}', which the data does not have (columns: ${Object.keys(data.columns).join(', ')})`);
    const values = data.columnValues(c);
    const missing = values.filter((v) => v == null || (typeof v === 'number' && !Number.isFinite(v))).length;
    if (missing > 0) throw new ConfigError('data', `column '${c}' is missing for ${missing} of ${values.length} training samples; the objectives need it for every sample (filter the manifest)`);
  }
}

/** Trains, then writes model.safetensors and report.html. */
export async function runTraining(opts: RunTrainingOptions): Promise<RunResult> {
  const config = opts.config;
  const log = opts.log ?? ((m: string) => console.error(m));
  const runDir = config.out;
  await mkdir(runDir, { recursive: true });
  const configFile = path.join(runDir, CONFIG_FILE);
  const stored = { ...config, geoclr_version: geoclrVersion() };
  if (opts.resume && existsSync(configFile)) {
    let previous: unknown;
    try {
      previous = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (e) {
      throw new FileFormatError(configFile, `not valid JSON (${(e as Error).message})`);
    }
    const { geoclr_version: _v, ...prev } = previous as Record<string, unknown>;
    const diff = configDifferences(prev, config);
    if (diff.length) throw new ConfigError(diff[0], `differs from the run's ${configFile} (also: ${diff.slice(1).join(', ') || 'nothing else'}); resume with the same configuration`);
  } else if (!opts.resume && existsSync(path.join(runDir, 'checkpoints', 'latest.json'))) {
    throw new ConfigError('--resume', `${runDir} already holds a run; pass --resume to continue it, or choose another output folder (--out)`);
  }

  const modality = opts.data == null ? dataModality(config.data.modality as string) : null;
  const data = opts.data ?? (await modality!.openTrain(config.data, { batchSize: config.batchSize, seed: config.seed }));
  let task: TrainingTask | null = null;
  try {
    task = createTask({
      config: config.task,
      encoder: config.encoder,
      init: opts.init ?? null,
      seed: config.seed,
      data: { columns: data.columns, inputShape: data.inputShape, inputs: data.inputs ?? {} },
    });
    checkComplete(data, task.columns);
    await writeFileAtomic(configFile, JSON.stringify(stored, null, 2) + '\n');
    const result = await train({
      runDir,
      parts: task.parts,
      variables: task.variables,
      loss: task.loss.bind(task),
      data,
      epochs: config.epochs,
      optimizer: config.optimizer,
      schedule: config.schedule,
      clipGradNorm: config.clipGradNorm,
      checkpoint: config.checkpoint,
      resume: opts.resume,
      fingerprint: configFingerprint(config),
      progress: opts.progress,
      log,
      maxSteps: opts.maxSteps,
      onEpochEnd: opts.onEpochEnd,
    });
    await data.close();

    let modelFile: string | null = null;
    let extraFiles: string[] = [];
    const primary = task.parts[task.primary];
    if (result.complete) {
      modelFile = path.join(runDir, MODEL_FILE);
      const metadata = {
        [ENCODER_INPUT_KEY]: inputDescription(data.inputShape),
        'geoclr.objective': task.describe(),
        'geoclr.preprocessing': (data.describe?.().preprocess as unknown) ?? null,
        'geoclr.data': data.describe?.() ?? null,
        'geoclr.run': { name: config.name, seed: config.seed, steps: result.steps, init: config.init },
      };
      await (opts.saveModel ?? saveGeoclrEncoder)(modelFile, primary, metadata);
      extraFiles = (await task.save?.(runDir, metadata)) ?? [];
    }

    let evaluation: EvaluationResult | null = null;
    const sections: ReportSection[] = [];
    if (config.evaluation.enabled && result.complete) {
      const embed = opts.embed === undefined ? (modality ? await modality.openEmbed(config.data, { batchSize: config.batchSize }) : null) : opts.embed;
      if (embed != null) {
        try {
          const set = await embedAll(primary, embed, { progress: opts.progress, label: 'embed (report)' });
          const built = evaluationSections(set, config, log);
          evaluation = built.evaluation;
          sections.push(...built.sections);
        } finally {
          await embed.close();
        }
      }
    }
    const reportFile = await writeReport(runDir, {
      title: `geoclr run ${config.name}`,
      subtitle: `${config.task.name} training, ${JSON.stringify(task.describe().name)} objective`,
      info: {
        steps: `${result.steps} / ${result.totalSteps}`,
        epochs: config.epochs,
        'batch size': config.batchSize,
        'training seconds': Number(result.seconds.toFixed(1)),
        'samples/s': Number(result.samplesPerSecond.toFixed(2)),
        seed: config.seed,
        encoder: config.init ? `from ${config.init}` : config.encoder.arch,
        optimizer: `${config.optimizer.name} lr ${config.optimizer.lr}`,
      },
      sections: [
        ...sections,
        { title: 'Configuration', blocks: [{ type: 'details', summary: 'config.json', blocks: [{ type: 'json', value: stored }] }] },
      ],
    });
    const keep = opts.keepTask ? task : null;
    if (!opts.keepTask) task.dispose();
    task = null;
    return { runDir, train: result, modelFile, files: extraFiles, reportFile, evaluation, task: keep };
  } finally {
    task?.dispose();
    await data.close();
  }
}

/** Probe tables and an embedding map of an embedded data set (cross-validated, grouped by subject). */
export function evaluationSections(set: EmbeddingSet, config: Pick<ResolvedTrainConfig, 'evaluation' | 'seed'>, log: (m: string) => void): { evaluation: EvaluationResult | null; sections: ReportSection[] } {
  const columns: Record<string, 'number' | 'string'> = {};
  for (const [k, v] of Object.entries(set.meta)) columns[k] = v.every((x) => x == null || typeof x === 'number') ? 'number' : 'string';
  const targets = defaultTargets(columns, config.evaluation.targets);
  const subjects = new Set(set.subjects).size;
  const sections: ReportSection[] = [];
  let evaluation: EvaluationResult | null = null;
  if (Object.keys(targets).length && subjects >= 2 * config.evaluation.folds) {
    evaluation = evaluateEmbeddings({
      embeddings: { rows: set.n, cols: set.dim, data: set.embeddings },
      metadata: { ...set.meta, subject_id: set.subjects },
      targets,
      folds: config.evaluation.folds,
      seed: config.seed,
      groups: 'subject_id',
      bootstrap: 200,
    });
    sections.push({
      title: 'Evaluation (training data, frozen representation)',
      intro: `Linear and k-NN probes, ${config.evaluation.folds}-fold cross-validation grouped by subject, on the training samples without augmentation. For held-out numbers, embed other subjects (geoclr embed) and run geoclr eval.`,
      blocks: evaluationBlocks(evaluation),
    });
  } else {
    log(`report: evaluation skipped (${subjects} subjects; ${2 * config.evaluation.folds} needed for ${config.evaluation.folds} folds)`);
  }
  const colorNames = config.evaluation.colorBy ?? ['age', 'site', 'diagnosis'].filter((c) => set.meta[c] != null);
  const colorBy: Record<string, unknown[]> = {};
  for (const c of colorNames) if (set.meta[c] != null) colorBy[c] = set.meta[c];
  if (set.n >= 3) {
    const rows = Array.from({ length: set.n }, (_, i) => set.embeddings.subarray(i * set.dim, (i + 1) * set.dim));
    sections.push({
      title: 'Embedding map',
      intro: 'UMAP of the representations (PCA below 15 samples), one panel per variable.',
      blocks: [{ type: 'embeddingMap', embeddings: rows, colorBy, labels: set.subjects.map((s, i) => `${s}${set.sessions[i] ? ` ${set.sessions[i]}` : ''}`), projection: { seed: config.seed } }],
    });
  }
  return { evaluation, sections };
}
