/**
 * Training wiring of the longitudinal objectives (LOSSES.md §10):
 * - the objective `longitudinal-yaware` — y-Aware InfoNCE with the subject × time kernel, usable in any task's
 *   objective list (it reads a subject column and a time column in years);
 * - the task `longitudinal` — one encoder, V augmented views of P subjects × K visits (the `mri-longitudinal` data
 *   modality samples them), a weighted sum of objectives (default: `longitudinal-yaware`), plus the LSSL-style
 *   trajectory term whose learned unit direction is the task variable `direction` (trained, checkpointed, resumed
 *   like any weight).
 *
 * ```yaml
 * data: {modality: mri-longitudinal, manifest: cohort/, visitsPerSubject: 2, preprocess: {shape: [24, 28, 24]}}
 * batchSize: 16                                           # = P subjects × K visits
 * task:
 *   name: longitudinal
 *   direction: {weight: 1, on: representation}            # null switches the trajectory term off
 *   objectives:
 *     - {name: longitudinal-yaware, sigmaTime: 2}          # δ(subject) · RBF_σt(Δt)
 *     - {name: yaware, metadata: [age], kernel: {type: rbf, sigma: 5}}
 *     - {name: fairkl, labels: diagnosis, bias: site, weight: 0.5}
 * ```
 */
import * as tf from '../tf.js';
import { ConfigError, ValueError } from '../errors.js';
import { kernelFromSpec, type Kernel, type KernelSpec } from '../kernels/kernels.js';
import { Encoder } from '../nn/encoders/encoder.js';
import { createEncoder, type ResolvedEncoderConfig } from '../nn/encoders/factory.js';
import { buildObjectives, registerObjective, type EmbeddingKind } from '../train/objectives.js';
import { checkKeys, isObject, number, object, oneOfValues, string, stringList, type Obj } from '../train/schema.js';
import { describeTerms, registerTask } from '../train/tasks.js';
import type { LossOutput, TrainBatch, TrainableModel } from '../train/types.js';
import { LearnedDirection } from './direction.js';
import { longitudinalYAware, trajectoryAlignment, type VisitBatch } from './objective.js';

/** Default columns: the subject id, and the visit time in years that the `mri-longitudinal` data adds. */
export const SUBJECT_COLUMN = 'subject_id';
export const TIME_COLUMN = 'visit_years';

/** The subject ids and times (years) of a batch, checked: every visit needs both. */
export function visitBatch(batch: TrainBatch, subject: string, time: string): VisitBatch {
  const get = (name: string) => {
    const v = batch.meta[name];
    if (v == null) throw new ValueError(`batch has no metadata column '${name}'`);
    return v;
  };
  const subjects = get(subject).map((v, i) => {
    if (v == null) throw new ValueError(`visit ${batch.ids[i] ?? i} has no '${subject}'; the longitudinal terms need a subject for every visit`);
    return String(v);
  });
  const times = get(time).map((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValueError(`visit ${batch.ids[i] ?? i} has ${time} = ${JSON.stringify(v)}; the longitudinal terms need a time in years for every visit`);
    return v;
  });
  return { subjects, times };
}

function checkColumn(columns: Record<string, 'number' | 'string'> | undefined, name: string, field: string, numeric: boolean): void {
  if (columns == null) return;
  if (columns[name] == null) throw new ConfigError(field, `no metadata column '${name}' in the training data; columns are ${Object.keys(columns).join(', ')}`);
  if (numeric && columns[name] !== 'number') throw new ConfigError(field, `column '${name}' must hold numbers (years)`);
}

registerObjective('longitudinal-yaware', {
  summary: 'y-Aware InfoNCE with the subject × time kernel δ(subject)·RBF_σt(Δt) [× a metadata kernel], LOSSES.md §10',
  keys: ['temperature', 'sigmaTime', 'subject', 'time', 'metadata', 'kernel'],
  on: 'projection',
  build(o, field, data) {
    const temperature = number(o.temperature, `${field}.temperature`, 0.1, { min: 0, exclusiveMin: true });
    const sigmaTime = number(o.sigmaTime, `${field}.sigmaTime`, 1, { min: 0, exclusiveMin: true });
    const subject = string(o.subject, `${field}.subject`, SUBJECT_COLUMN);
    const time = string(o.time, `${field}.time`, TIME_COLUMN);
    const metadata = o.metadata === undefined ? [] : stringList(o.metadata, `${field}.metadata`);
    checkColumn(data.columns, subject, `${field}.subject`, false);
    checkColumn(data.columns, time, `${field}.time`, true);
    metadata.forEach((m, i) => checkColumn(data.columns, m, `${field}.metadata[${i}]`, false));
    let kernel: Kernel | undefined;
    let kernelSpec: KernelSpec | undefined;
    if (metadata.length > 0) {
      kernelSpec = (o.kernel === undefined ? { type: 'rbf', sigma: 20 } : object(o.kernel, `${field}.kernel`)) as KernelSpec;
      try {
        kernel = kernelFromSpec(kernelSpec, `${field}.kernel`);
      } catch (e) {
        if (e instanceof ValueError) throw new ConfigError(`${field}.kernel`, e.message);
        throw e;
      }
    } else if (o.kernel !== undefined) {
      throw new ConfigError(`${field}.kernel`, 'a metadata kernel needs metadata columns, e.g. metadata: [age]');
    }
    return {
      columns: [subject, time, ...metadata],
      compute(views, batch) {
        if (views.length < 2) throw new ValueError(`longitudinal-yaware needs 2 views per visit (data.views), got ${views.length}`);
        const visits = visitBatch(batch, subject, time);
        if (metadata.length) {
          const cols = metadata.map((m) => batch.meta[m]);
          visits.metadata = Array.from({ length: batch.size }, (_, i) => cols.map((c) => c[i] as number | string));
        }
        return longitudinalYAware(views[0], views[1], visits, { temperature, sigmaTime, ...(kernel ? { metadataKernel: kernel } : {}) });
      },
      spec: { name: 'longitudinal-yaware', temperature, sigmaTime, subject, time, ...(kernelSpec ? { metadata, kernel: kernelSpec } : {}) },
    };
  },
});

interface DirectionConfig {
  weight: number;
  on: EmbeddingKind;
}

function resolveDirection(raw: unknown, field: string): DirectionConfig | null {
  if (raw === null || raw === false) return null;
  const o = object(raw, field, true);
  checkKeys(o, ['weight', 'on'], field);
  return { weight: number(o.weight, `${field}.weight`, 1, { min: 0 }), on: oneOfValues<EmbeddingKind>(o.on, `${field}.on`, ['representation', 'projection'], 'representation') };
}

const DEFAULT_OBJECTIVES = [{ name: 'longitudinal-yaware' }];

/** Width of an embedding of a model: from the encoder when it says, else by running one zero sample. */
function widthOf(model: TrainableModel, on: EmbeddingKind, inputShape: number[]): number {
  if (model instanceof Encoder) return on === 'representation' ? model.representationDim : model.projectionDim;
  const out = tf.tidy(() => {
    const o = model.forward(tf.zeros([1, ...inputShape]));
    return on === 'representation' ? o.representation : o.projection;
  });
  const d = out.shape[1];
  out.dispose();
  return d;
}

registerTask('longitudinal', {
  summary: 'visits of P subjects × K per batch: objectives (default longitudinal-yaware) + trajectory direction term (LOSSES.md §10)',
  keys: ['subject', 'time', 'direction', 'objectives'],
  resolve(section, field) {
    const subject = string(section.subject, `${field}.subject`, SUBJECT_COLUMN);
    const time = string(section.time, `${field}.time`, TIME_COLUMN);
    const direction = resolveDirection(section.direction, `${field}.direction`);
    const objectives = section.objectives === undefined ? DEFAULT_OBJECTIVES : section.objectives;
    if (objectives !== null && !(Array.isArray(objectives) && objectives.length === 0)) buildObjectives(objectives, `${field}.objectives`, {});
    const list = Array.isArray(objectives) ? objectives : [];
    if (list.length === 0 && (direction == null || direction.weight === 0)) {
      throw new ConfigError(`${field}.objectives`, 'nothing to train: no objective and no direction term (set objectives, or direction: {weight: 1})');
    }
    // The time column of `longitudinal-yaware` defaults to the task's.
    const withDefaults = list.map((o) => (isObject(o) && o.name === 'longitudinal-yaware' ? { subject, time, ...o } : o));
    return { subject, time, direction, objectives: withDefaults };
  },
  create(setup) {
    const cfg = setup.config;
    const subject = cfg.subject as string;
    const time = cfg.time as string;
    const direction = cfg.direction as DirectionConfig | null;
    const list = cfg.objectives as unknown[];
    const terms = list.length ? buildObjectives(list, 'task.objectives', setup.data) : [];
    if (direction) {
      checkColumn(setup.data.columns, subject, 'task.subject', false);
      checkColumn(setup.data.columns, time, 'task.time', true);
    }
    const encoder: TrainableModel = setup.init ?? createEncoder(setup.encoder as ResolvedEncoderConfig, { seed: setup.seed });
    const tau = direction ? new LearnedDirection(widthOf(encoder, direction.on, setup.data.inputShape), { seed: `${setup.seed}/direction` }) : null;
    return {
      parts: { encoder },
      variables: (tau ? { direction: tau.direction } : {}) as Record<string, tf.Variable>,
      columns: [...new Set([...terms.flatMap((t) => t.columns), ...(direction ? [subject, time] : [])])],
      primary: 'encoder',
      loss(batch: TrainBatch): LossOutput {
        const outs = batch.views.map((v) => encoder.forward(v));
        const pick = (on: EmbeddingKind) => outs.map((o) => o[on]);
        const out: Record<string, tf.Scalar> = {};
        const weighted: tf.Scalar[] = [];
        terms.forEach((t) => {
          const v = t.compute(pick(t.on), batch);
          out[t.key] = v;
          weighted.push(t.weight === 1 ? v : (tf.mul(v, t.weight) as tf.Scalar));
        });
        if (direction && tau) {
          const d = trajectoryAlignment(pick(direction.on), visitBatch(batch, subject, time), tau.direction).loss;
          out.direction = d;
          weighted.push(direction.weight === 1 ? d : (tf.mul(d, direction.weight) as tf.Scalar));
        }
        return { total: (weighted.length === 1 ? weighted[0] : tf.addN(weighted)) as tf.Scalar, terms: out };
      },
      describe: () => ({
        name: 'longitudinal',
        subject,
        time,
        direction,
        ...(terms.length ? { objectives: describeTerms(terms) } : {}),
      }),
      dispose() {
        encoder.dispose();
        tau?.dispose();
      },
    };
  },
});
