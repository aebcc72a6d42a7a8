/**
 * Training configuration: one YAML or JSON file describing the data, the encoder, the task and its objectives,
 * the optimizer and schedule, and the run. `resolveTrainConfig` validates every field (unknown key, wrong type,
 * out of range, missing data path → a ConfigError naming the field and what is expected) and fills every
 * default; the resolved config is what a run stores as `config.json` and what `--resume` compares against.
 *
 * ```yaml
 * name: yaware-fairkl
 * seed: 0
 * out: runs/yaware-fairkl
 * data:
 *   modality: mri
 *   manifest: cohort/manifest.tsv
 *   preprocess: {shape: [32, 40, 32], normalize: zscore-nonzero}
 *   augment: yaware
 *   views: 2
 * encoder: {arch: resnet3d, widths: [8, 16, 32, 64]}
 * task:
 *   name: contrastive
 *   objectives:
 *     - {name: yaware, temperature: 0.1, metadata: [age, sex], kernel: {type: product, factors: [{type: rbf, sigma: 5}, {type: delta}]}}
 *     - {name: fairkl, weight: 1, labels: {column: age, bins: [45, 65]}, bias: site}
 * optimizer: {name: adamw, lr: 0.001, weightDecay: 0.05}
 * schedule: {name: cosine, warmupSteps: 10}
 * clipGradNorm: 5
 * epochs: 20
 * batchSize: 16
 * checkpoint: {everySteps: 50, keep: 2}
 * ```
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, FileFormatError } from '../errors.js';
import { resolveEncoderConfig, type ResolvedEncoderConfig } from '../nn/encoders/factory.js';
import { resolveDataConfig } from './data.js';
import { boolean, checkKeys, number, numberList, object, oneOfValues, optionalNumber, string, stringList, type Obj } from './schema.js';
import { resolveTaskConfig } from './tasks.js';

export type OptimizerName = 'adam' | 'adamw' | 'sgd';

export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  weightDecay: number;
  /** Adam/AdamW. */
  betas: [number, number];
  eps: number;
  /** SGD. */
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

export interface ScheduleConfig {
  name: 'cosine' | 'constant';
  /** Linear warm-up steps (from `warmupSteps`, or `warmupEpochs` × batches per epoch once the data is known). */
  warmupSteps: number | null;
  warmupEpochs: number | null;
  /** Final learning-rate factor of the cosine. */
  minFactor: number;
}

export type EvalRole = 'regression' | 'classification' | 'nuisance';

export interface EvaluationConfig {
  /** Embed the training data after training and put probe results and maps in report.html (default true). */
  enabled: boolean;
  /** Targets to probe (default: whichever of age, sex, diagnosis, site the data has; site as a nuisance). */
  targets: Record<string, EvalRole> | null;
  /** Variables the 2D embedding map is coloured by (default: age, site, diagnosis when present). */
  colorBy: string[] | null;
  folds: number;
}

export interface ResolvedTrainConfig {
  name: string;
  seed: number;
  /** Absolute run directory. */
  out: string;
  /** `{modality, ...}` as completed by the modality. */
  data: Obj;
  encoder: ResolvedEncoderConfig;
  /** `{name, ...}` as completed by the task. */
  task: Obj;
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  clipGradNorm: number | null;
  epochs: number;
  batchSize: number;
  checkpoint: { everySteps: number; keep: number };
  evaluation: EvaluationConfig;
  /** A run directory whose model initialises the encoder (`--init`), or null. */
  init: string | null;
}

const TOP_KEYS = ['name', 'seed', 'out', 'data', 'encoder', 'task', 'optimizer', 'schedule', 'clipGradNorm', 'epochs', 'batchSize', 'checkpoint', 'evaluation', 'init'];

export interface ResolveOptions {
  /** Relative paths (data, out, init) resolve against this folder (default: the current directory). */
  baseDir?: string;
  /** Default run name (e.g. the config file's stem). */
  defaultName?: string;
}

function resolveOptimizer(raw: unknown): OptimizerConfig {
  const o = object(raw, 'optimizer', true);
  checkKeys(o, ['name', 'lr', 'weightDecay', 'betas', 'eps', 'momentum', 'dampening', 'nesterov'], 'optimizer');
  const name = oneOfValues<OptimizerName>(o.name, 'optimizer.name', ['adam', 'adamw', 'sgd'], 'adamw');
  const betas = o.betas === undefined ? [0.9, 0.999] : numberList(o.betas, 'optimizer.betas', 2, { min: 0 });
  if (betas.some((b) => b >= 1)) throw new ConfigError('optimizer.betas', `must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
  const momentum = number(o.momentum, 'optimizer.momentum', name === 'sgd' ? 0.9 : 0, { min: 0 });
  const dampening = number(o.dampening, 'optimizer.dampening', 0, { min: 0, max: 1 });
  const nesterov = boolean(o.nesterov, 'optimizer.nesterov', false);
  if (nesterov && (momentum <= 0 || dampening !== 0)) throw new ConfigError('optimizer.nesterov', 'needs momentum > 0 and dampening 0');
  return {
    name,
    lr: number(o.lr, 'optimizer.lr', name === 'sgd' ? 0.05 : 1e-3, { min: 0, exclusiveMin: true }),
    weightDecay: number(o.weightDecay, 'optimizer.weightDecay', name === 'adamw' ? 0.01 : 0, { min: 0 }),
    betas: betas as [number, number],
    eps: number(o.eps, 'optimizer.eps', 1e-8, { min: 0, exclusiveMin: true }),
    momentum,
    dampening,
    nesterov,
  };
}

function resolveSchedule(raw: unknown): ScheduleConfig {
  const o = object(raw, 'schedule', true);
  checkKeys(o, ['name', 'warmupSteps', 'warmupEpochs', 'minFactor'], 'schedule');
  const name = oneOfValues(o.name, 'schedule.name', ['cosine', 'constant'] as const, 'cosine');
  const warmupSteps = optionalNumber(o.warmupSteps, 'schedule.warmupSteps', { min: 0, integer: true }) ?? null;
  const warmupEpochs = optionalNumber(o.warmupEpochs, 'schedule.warmupEpochs', { min: 0 }) ?? null;
  if (warmupSteps != null && warmupEpochs != null) throw new ConfigError('schedule.warmupEpochs', 'give warmupSteps or warmupEpochs, not both');
  return { name, warmupSteps, warmupEpochs, minFactor: number(o.minFactor, 'schedule.minFactor', 0, { min: 0, max: 1 }) };
}

function resolveEvaluation(raw: unknown): EvaluationConfig {
  if (raw === false) return { enabled: false, targets: null, colorBy: null, folds: 5 };
  const o = object(raw, 'evaluation', true);
  checkKeys(o, ['enabled', 'targets', 'colorBy', 'folds'], 'evaluation');
  let targets: Record<string, EvalRole> | null = null;
  if (o.targets != null) {
    const t = object(o.targets, 'evaluation.targets');
    targets = {};
    for (const [k, v] of Object.entries(t)) targets[k] = oneOfValues<EvalRole>(v, `evaluation.targets.${k}`, ['regression', 'classification', 'nuisance']);
  }
  return {
    enabled: boolean(o.enabled, 'evaluation.enabled', true),
    targets,
    colorBy: o.colorBy == null ? null : stringList(o.colorBy, 'evaluation.colorBy'),
    folds: number(o.folds, 'evaluation.folds', 5, { min: 2, integer: true }),
  };
}

/** Validates a parsed config object and fills every default. */
export function resolveTrainConfig(raw: unknown, opts: ResolveOptions = {}): ResolvedTrainConfig {
  const baseDir = path.resolve(opts.baseDir ?? '.');
  const c = object(raw, '(config)');
  checkKeys(c, TOP_KEYS, '');
  const name = string(c.name, 'name', opts.defaultName ?? 'run');
  if (!/^[\w.-]+$/.test(name)) throw new ConfigError('name', `must use letters, digits, '.', '-' or '_' (it names files), got ${JSON.stringify(name)}`);
  const init = c.init == null ? null : path.resolve(baseDir, string(c.init, 'init'));
  if (c.data === undefined) throw new ConfigError('data', "is required: {modality: mri, manifest: PATH | cohort: DIR, ...}");
  if (c.task === undefined) throw new ConfigError('task', 'is required: {name: contrastive, objectives: [{name: infonce}]}');
  const config: ResolvedTrainConfig = {
    name,
    seed: number(c.seed, 'seed', 0, { min: 0, integer: true }),
    out: path.resolve(baseDir, string(c.out, 'out', path.join('runs', name))),
    data: resolveDataConfig(c.data, baseDir),
    encoder: resolveEncoderConfig(c.encoder ?? { arch: 'resnet3d' }, 'encoder'),
    task: resolveTaskConfig(c.task),
    optimizer: resolveOptimizer(c.optimizer),
    schedule: resolveSchedule(c.schedule),
    clipGradNorm: c.clipGradNorm == null ? null : number(c.clipGradNorm, 'clipGradNorm', undefined, { min: 0, exclusiveMin: true }),
    epochs: number(c.epochs, 'epochs', 10, { min: 1, integer: true }),
    batchSize: number(c.batchSize, 'batchSize', 16, { min: 2, integer: true }),
    checkpoint: (() => {
      const o = object(c.checkpoint, 'checkpoint', true);
      checkKeys(o, ['everySteps', 'keep'], 'checkpoint');
      return {
        everySteps: number(o.everySteps, 'checkpoint.everySteps', 100, { min: 1, integer: true }),
        keep: number(o.keep, 'checkpoint.keep', 2, { min: 1, integer: true }),
      };
    })(),
    evaluation: resolveEvaluation(c.evaluation),
    init,
  };
  return config;
}

/** Parses a YAML (`.yaml`, `.yml`) or JSON file; syntax errors name the file and the line. */
export function parseConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileFormatError(file, code === 'ENOENT' ? 'no such config file' : `cannot read (${code ?? (e as Error).message})`);
  }
  const ext = path.extname(file).toLowerCase();
  try {
    return ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new FileFormatError(file, `not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Reads and validates a config file; relative paths in it resolve against the current directory. */
export function readTrainConfig(file: string, opts: ResolveOptions = {}): ResolvedTrainConfig {
  const raw = parseConfigFile(file);
  return resolveTrainConfig(raw, { defaultName: path.basename(file).replace(/\.(ya?ml|json)$/i, ''), ...opts });
}

/** The fields of two resolved configs that differ (dotted paths), ignoring where the run is written. */
export function configDifferences(a: unknown, b: unknown, prefix = ''): string[] {
  if (prefix === 'out') return [];
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '(config)'];
  }
  const keys = new Set([...Object.keys(a as Obj), ...Object.keys(b as Obj)]);
  const out: string[] = [];
  for (const k of keys) out.push(...configDifferences((a as Obj)[k], (b as Obj)[k], prefix ? `${prefix}.${k}` : k));
  return out;
}
