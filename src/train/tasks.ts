/**
 * The task registry. A task turns a config section into what the trainer core needs — model parts, extra
 * trainable variables, and a loss function of a batch returning `{total, terms}` — so the core never changes
 * when a new kind of training arrives. This issue ships `contrastive` (one encoder, V views, weighted objective
 * terms); later parts add e.g. `image-text` (two encoders + a learnable temperature), `longitudinal` (a learned
 * direction variable), `sepclr` (a two-head model), `cvae`.
 *
 * ```ts
 * registerTask('my-task', {
 *   summary: '…', keys: ['objectives', 'alpha'],
 *   resolve: (section, field) => ({ ...section }),               // static validation, no data yet
 *   create: (setup) => ({ parts: { encoder }, variables: {}, columns: [], loss: (batch) => …, primary: 'encoder', describe: () => …, dispose }),
 * });
 * ```
 */
import * as tf from '../tf.js';
import { ConfigError } from '../errors.js';
import { createEncoder } from '../nn/encoders/factory.js';
import type { ResolvedEncoderConfig } from '../nn/encoders/factory.js';
import { buildObjectives, type DataInfo, type ObjectiveTerm } from './objectives.js';
import { checkKeys, object, string, type Obj } from './schema.js';
import type { InputInfo, LossOutput, StepInfo, TrainableModel, TrainBatch } from './types.js';

/** What a task is created from. */
export interface TaskSetup {
  /** The resolved task section (`{name, ...}`). */
  config: Obj;
  /** The resolved encoder config (null when the model comes from `init`). */
  encoder: ResolvedEncoderConfig | null;
  /** A pretrained model to start from (`geoclr train --init RUNDIR`), replacing a fresh encoder. */
  init?: TrainableModel | null;
  /** Weight-initialisation seed. */
  seed: number;
  /** The training data: metadata columns, sample shape, and extra inputs (token ids of paired reports…). */
  data: Required<DataInfo> & { inputShape: number[]; inputs?: Record<string, InputInfo> };
}

/** A created task: everything the trainer core needs, nothing modality-specific. */
export interface TrainingTask {
  /** Model parts by name, checkpointed as `<part>/<parameter>`. */
  parts: Record<string, TrainableModel>;
  /** Extra trainable variables (temperatures, directions), checkpointed by name. */
  variables: Record<string, tf.Variable>;
  /** Metadata columns every batch must carry. */
  columns: string[];
  /** The loss of one batch (called inside tf.variableGrads). */
  loss(batch: TrainBatch, info: StepInfo): LossOutput;
  /** The part saved as the run's `model.safetensors`. */
  primary: string;
  /** The objective(s) and their hyper-parameters, for weight files and embedding tables (`{name, ...}`). */
  describe(): { name: string } & Record<string, unknown>;
  /**
   * Writes the task's other trained parts beside model.safetensors (e.g. `text-model.safetensors`) once the run
   * is complete; `metadata` is what the primary model got. Returns the files written.
   */
  save?(runDir: string, metadata: Record<string, unknown>): Promise<string[]>;
  dispose(): void;
}

export interface TaskDefinition {
  summary: string;
  /** Keys of the task section besides `name`. */
  keys: readonly string[];
  /** Validates the section without data (unknown keys, types, objective options); returns it with defaults. */
  resolve(section: Obj, field: string): Obj;
  create(setup: TaskSetup): TrainingTask;
}

const TASKS = new Map<string, TaskDefinition>();

export function registerTask(name: string, def: TaskDefinition): void {
  TASKS.set(name, def);
}

export function taskNames(): string[] {
  return [...TASKS.keys()];
}

/** Validates a config's task section (`task: {name: contrastive, objectives: [...]}`). */
export function resolveTaskConfig(raw: unknown, field = 'task'): Obj {
  const section = object(raw, field);
  const name = string(section.name, `${field}.name`);
  const def = TASKS.get(name);
  if (def == null) throw new ConfigError(`${field}.name`, `unknown task '${name}'; expected one of ${taskNames().join(', ')}`);
  checkKeys(section, ['name', ...def.keys], field);
  return { ...def.resolve(section, field), name };
}

export function createTask(setup: TaskSetup): TrainingTask {
  const name = setup.config.name as string;
  const def = TASKS.get(name);
  if (def == null) throw new ConfigError('task.name', `unknown task '${name}'; expected one of ${taskNames().join(', ')}`);
  return def.create(setup);
}

/** Combines the loss of several terms: `total = Σ weight·term`; term values are kept for logging. */
export function weightedTerms(terms: ObjectiveTerm[], values: tf.Scalar[]): LossOutput {
  const out: Record<string, tf.Scalar> = {};
  terms.forEach((t, i) => (out[t.key] = values[i]));
  const weighted = terms.map((t, i) => (t.weight === 1 ? values[i] : tf.mul(values[i], t.weight)));
  const total = (weighted.length === 1 ? weighted[0] : tf.addN(weighted)) as tf.Scalar;
  return { total, terms: out };
}

/**
 * When a model's outputs hold NaN/Inf (diverged weights), a NaN loss still connected to them — the trainer then
 * stops with a DivergenceError — instead of letting the objectives reject their non-finite input.
 */
export function nonFiniteOutputs(outputs: tf.Tensor[]): LossOutput | null {
  const ok = tf.tidy(() => tf.all(tf.stack(outputs.map((o) => tf.all(tf.isFinite(o))))));
  const finite = ok.dataSync()[0] === 1;
  ok.dispose();
  if (finite) return null;
  const total = tf.mul(tf.addN(outputs.map((o) => tf.sum(o))), NaN) as tf.Scalar;
  return { total, terms: {} };
}

/** The objective description stored with weights: one term as itself, several as `{name: 'a+b', terms}`. */
export function describeTerms(terms: ObjectiveTerm[]): { name: string } & Record<string, unknown> {
  if (terms.length === 1) return terms[0].spec;
  return { name: terms.map((t) => t.spec.name).join('+'), terms: terms.map((t) => t.spec) };
}

registerTask('contrastive', {
  summary: 'one encoder, V augmented views, a weighted sum of objectives (infonce, yaware, fairkl, supcon, …)',
  keys: ['objectives'],
  resolve(section, field) {
    buildObjectives(section.objectives, `${field}.objectives`, {}); // option checks; columns are checked with the data
    return { objectives: section.objectives };
  },
  create(setup) {
    const terms = buildObjectives(setup.config.objectives, 'task.objectives', setup.data);
    const encoder: TrainableModel = setup.init ?? createEncoder(setup.encoder as ResolvedEncoderConfig, { seed: setup.seed });
    return {
      parts: { encoder },
      variables: {},
      columns: [...new Set(terms.flatMap((t) => t.columns))],
      primary: 'encoder',
      loss(batch) {
        const outs = batch.views.map((v) => encoder.forward(v));
        const pick = (on: 'projection' | 'representation') => outs.map((o) => o[on]);
        const diverged = nonFiniteOutputs(outs.flatMap((o) => [o.representation, o.projection]));
        if (diverged) return diverged;
        const values = terms.map((t) => t.compute(pick(t.on), batch));
        return weightedTerms(terms, values);
      },
      describe: () => describeTerms(terms),
      dispose: () => encoder.dispose(),
    };
  },
});
