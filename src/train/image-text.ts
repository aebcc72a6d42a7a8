/**
 * The `image-text` task: an image encoder and a text encoder trained jointly on paired (image, report) batches
 * with CLIP's symmetric loss or its geometric, kernel-weighted version (LOSSES.md §9), optionally plus
 * intra-image objectives (y-Aware, …) on the image views.
 *
 * ```yaml
 * encoder: {arch: resnet3d, widths: [8, 16, 32, 64]}      # the image encoder (or --init RUNDIR)
 * task:
 *   name: image-text
 *   objective: {name: kernel-clip, metadata: [age, diagnosis], kernel: {type: product, factors: [{type: rbf, sigma: 5}, {type: delta}]}}
 *   temperature: 0.07              # initial τ
 *   learnTemperature: true         # learnable log(1/τ) (CLIP's logit_scale), clamped so that 1/τ ≤ 100
 *   textEncoder: {arch: text-transformer, dim: 64, depth: 2, heads: 4}   # vocabSize and maxLength come from the data
 *   image: [{name: yaware, weight: 0.5}]                  # optional, needs data.views ≥ 2
 * ```
 *
 * The data must carry token ids of the paired reports (`TrainDataSource.inputs`, e.g. the `mri-text` modality).
 * The cross-modal loss is averaged over the image views. Parts: `image` (the run's `model.safetensors`) and
 * `text` (`text-model.safetensors`, with the tokenizer reference under `geoclr.text`); variable `logit_scale`.
 * Checkpoints hold both encoders, the temperature and their optimizer state, so `--resume` is exact.
 */
import path from 'node:path';
import * as tf from '../tf.js';
import { ConfigError, ValueError } from '../errors.js';
import { saveEncoderFile } from '../io/model-file.js';
import { clipLoss, MAX_LOGIT_SCALE } from '../losses/clip.js';
import { kernelClipLoss } from '../losses/kernel-clip.js';
import type { Kernel, KernelSpec } from '../kernels/kernels.js';
import { createEncoder, resolveEncoderConfig, type ResolvedEncoderConfig } from '../nn/encoders/factory.js';
import type { Encoder } from '../nn/encoders/encoder.js';
import { buildObjectives, kernelSpecOf, metadataRows, type DataInfo, type ObjectiveTerm } from './objectives.js';
import { boolean, checkKeys, number, object, oneOfValues, type Obj } from './schema.js';
import { describeTerms, registerTask, type TaskSetup, type TrainingTask } from './tasks.js';
import type { InputInfo, LossOutput, TrainableModel, TrainBatch } from './types.js';

/** File name of the text encoder in the run folder. */
export const TEXT_MODEL_FILE = 'text-model.safetensors';
/** Metadata key of the text pipeline (tokenizer reference, maxLength, vocabulary) in the text model file. */
export const TEXT_PIPELINE_KEY = 'geoclr.text';

export const IMAGE_TEXT_OBJECTIVES = ['clip', 'kernel-clip'] as const;
export type ImageTextObjectiveName = (typeof IMAGE_TEXT_OBJECTIVES)[number];

/** Default metadata kernel of kernel-clip: age RBF (σ = 5 years) × diagnosis delta. */
export const DEFAULT_KERNEL_CLIP = {
  metadata: ['age', 'diagnosis'],
  kernel: { type: 'product', factors: [{ type: 'rbf', sigma: 5 }, { type: 'delta' }] } as KernelSpec,
};

const TASK_KEYS = ['objective', 'temperature', 'learnTemperature', 'textEncoder', 'image'] as const;

interface CrossModalObjective {
  name: ImageTextObjectiveName;
  weight: number;
  metadata: string[];
  kernel: Kernel | null;
  kernelSpec: KernelSpec | null;
}

function crossModalObjective(raw: unknown, field: string, data: DataInfo): CrossModalObjective {
  const o: Obj = typeof raw === 'string' ? { name: raw } : object(raw ?? { name: 'clip' }, field);
  checkKeys(o, ['name', 'weight', 'metadata', 'kernel'], field);
  const name = oneOfValues<ImageTextObjectiveName>(o.name, `${field}.name`, IMAGE_TEXT_OBJECTIVES);
  const weight = number(o.weight, `${field}.weight`, 1, { min: 0, exclusiveMin: true });
  if (name === 'clip') {
    for (const k of ['metadata', 'kernel']) if (o[k] !== undefined) throw new ConfigError(`${field}.${k}`, "only kernel-clip reads metadata; plain clip matches each image with its own report");
    return { name, weight, metadata: [], kernel: null, kernelSpec: null };
  }
  const { metadata, kernel, spec } = kernelSpecOf(o, field, data, DEFAULT_KERNEL_CLIP);
  if (metadata.length === 0) throw new ConfigError(`${field}.metadata`, 'kernel-clip needs at least one metadata column (e.g. [age, diagnosis])');
  return { name, weight, metadata, kernel, kernelSpec: spec };
}

/** The text encoder config as written (vocabSize and maxLength are taken from the data unless given). */
function resolveTextEncoder(raw: unknown, field: string, tokens: InputInfo | null): ResolvedEncoderConfig {
  const o = object(raw ?? { arch: 'text-transformer' }, field);
  const arch = o.arch ?? 'text-transformer';
  if (arch !== 'text-transformer') throw new ConfigError(`${field}.arch`, `must be 'text-transformer' (the trainable text encoder), got ${JSON.stringify(arch)}`);
  const vocabSize = tokens?.vocabSize ?? 2;
  if (o.vocabSize !== undefined && tokens != null && o.vocabSize !== tokens.vocabSize) {
    throw new ConfigError(`${field}.vocabSize`, `is ${JSON.stringify(o.vocabSize)} but the data's text pipeline gives ${tokens.vocabSize} ids; leave it out to follow the data`);
  }
  if (o.maxLength !== undefined && tokens != null && typeof o.maxLength === 'number' && o.maxLength < tokens.maxLength) {
    throw new ConfigError(`${field}.maxLength`, `is ${o.maxLength} but the data's reports are up to ${tokens.maxLength} tokens long (data.maxLength); raise it or leave it out`);
  }
  return resolveEncoderConfig({ ...o, arch, vocabSize: o.vocabSize ?? vocabSize, maxLength: o.maxLength ?? tokens?.maxLength ?? 128 }, field);
}

/** The token input of the data (exactly one). */
function tokenInput(data: TaskSetup['data']): [string, InputInfo] {
  const found = Object.entries(data.inputs ?? {}).filter(([, v]) => v.type === 'tokens');
  if (found.length !== 1) {
    throw new ConfigError(
      'data.modality',
      found.length === 0
        ? 'the image-text task needs paired reports in every batch; use a data modality that reads them (e.g. modality: mri-text with reports: reports.tsv)'
        : `the data carries ${found.length} token inputs (${found.map(([k]) => k).join(', ')}); the image-text task reads one`,
    );
  }
  return found[0];
}

registerTask('image-text', {
  summary: 'an image encoder and a text encoder trained jointly on paired reports: clip or kernel-clip (learnable temperature), optional intra-image terms',
  keys: TASK_KEYS,
  resolve(section, field) {
    const objective = crossModalObjective(section.objective, `${field}.objective`, {});
    const temperature = number(section.temperature, `${field}.temperature`, 0.07, { min: 1 / MAX_LOGIT_SCALE });
    const learnTemperature = boolean(section.learnTemperature, `${field}.learnTemperature`, true);
    const te = object(section.textEncoder ?? { arch: 'text-transformer' }, `${field}.textEncoder`);
    const resolved = resolveTextEncoder(te, `${field}.textEncoder`, null) as Obj;
    // vocabSize and maxLength follow the data unless the config fixes them.
    if (te.vocabSize === undefined) delete resolved.vocabSize;
    if (te.maxLength === undefined) delete resolved.maxLength;
    if (section.image != null) buildObjectives(section.image, `${field}.image`, {});
    const objectiveOut: Obj = { name: objective.name, weight: objective.weight };
    if (objective.name === 'kernel-clip') Object.assign(objectiveOut, { metadata: objective.metadata, kernel: objective.kernelSpec });
    return { objective: objectiveOut, temperature, learnTemperature, textEncoder: resolved, image: section.image ?? null };
  },
  create(setup: TaskSetup): TrainingTask {
    const cfg = setup.config;
    const [idsKey, tokens] = tokenInput(setup.data);
    const objective = crossModalObjective(cfg.objective, 'task.objective', setup.data);
    const imageTerms: ObjectiveTerm[] = cfg.image == null ? [] : buildObjectives(cfg.image, 'task.image', setup.data);
    const textConfig = resolveTextEncoder(cfg.textEncoder, 'task.textEncoder', tokens);
    const temperature = cfg.temperature as number;
    const learn = cfg.learnTemperature as boolean;
    const image: TrainableModel = setup.init ?? createEncoder(setup.encoder as ResolvedEncoderConfig, { seed: setup.seed });
    let text: Encoder | null = null;
    let logitScale: tf.Variable | null = null;
    try {
      text = createEncoder(textConfig, { seed: `${setup.seed}/text` });
      const imageDim = (image as Partial<Encoder>).projectionDim;
      if (imageDim != null && imageDim !== text.projectionDim) {
        throw new ConfigError('task.textEncoder.head.out', `the text projection has ${text.projectionDim} dimensions but the image encoder's has ${imageDim}; they must match (set head.out of one or the other)`);
      }
      if (learn) {
        const init = tf.scalar(Math.log(1 / temperature));
        logitScale = tf.variable(init, true);
        init.dispose(); // the variable keeps the data; the initial tensor would stay counted
      }
    } catch (e) {
      image.dispose();
      text?.dispose();
      throw e;
    }
    const textModel = text;
    const scale = logitScale;
    const scaleOption = scale ? { logitScale: scale } : { temperature };
    const cross = (u: tf.Tensor2D, v: tf.Tensor2D, batch: TrainBatch): tf.Scalar =>
      objective.name === 'clip'
        ? clipLoss(u, v, scaleOption)
        : kernelClipLoss(u, v, metadataRows(batch, objective.metadata), { ...scaleOption, kernel: objective.kernel! });
    const objectiveSpec = (): { name: string } & Record<string, unknown> => {
      const spec: { name: string } & Record<string, unknown> = { name: objective.name, weight: objective.weight, temperature, learnTemperature: learn };
      if (scale) spec.learnedTemperature = Number(temperatureOf(scale.dataSync()[0]).toPrecision(6));
      if (objective.name === 'kernel-clip') Object.assign(spec, { metadata: objective.metadata, kernel: objective.kernelSpec });
      if (imageTerms.length) spec.image = describeTerms(imageTerms);
      return spec;
    };
    return {
      parts: { image, text: textModel },
      variables: scale ? { logit_scale: scale } : {},
      columns: [...new Set([...objective.metadata, ...imageTerms.flatMap((t) => t.columns)])],
      primary: 'image',
      loss(batch: TrainBatch): LossOutput {
        const ids = batch.inputs?.[idsKey];
        const mask = batch.inputs?.[tokens.mask];
        if (ids == null || mask == null) throw new ValueError(`image-text: the batch carries no '${idsKey}'/'${tokens.mask}' inputs (paired reports)`);
        if (batch.views.length === 0) throw new ValueError('image-text: the batch carries no image view');
        const textOut = textModel.forward(ids, mask);
        const imageOuts = batch.views.map((v) => image.forward(v));
        const crossValues = imageOuts.map((o) => cross(o.projection, textOut.projection, batch));
        const crossValue = (crossValues.length === 1 ? crossValues[0] : tf.div(tf.addN(crossValues), crossValues.length)) as tf.Scalar;
        const terms: Record<string, tf.Scalar> = { [objective.name]: crossValue };
        const weighted: tf.Scalar[] = [objective.weight === 1 ? crossValue : tf.mul(crossValue, objective.weight)];
        for (const t of imageTerms) {
          const v = t.compute(imageOuts.map((o) => o[t.on]), batch);
          terms[t.key in terms ? `image_${t.key}` : t.key] = v;
          weighted.push(t.weight === 1 ? v : tf.mul(v, t.weight));
        }
        const total = (weighted.length === 1 ? weighted[0] : tf.addN(weighted)) as tf.Scalar;
        const values = { inv_temperature: (scale ? tf.exp(tf.minimum(scale, Math.log(MAX_LOGIT_SCALE))) : tf.scalar(1 / temperature)) as tf.Scalar };
        return { total, terms, values };
      },
      describe: objectiveSpec,
      async save(runDir, metadata) {
        const file = path.join(runDir, TEXT_MODEL_FILE);
        const { 'geoclr.input': _i, 'geoclr.preprocessing': _p, ...rest } = metadata;
        await saveEncoderFile(file, textModel, { ...rest, [TEXT_PIPELINE_KEY]: tokens.tokenizer });
        return [file];
      },
      dispose() {
        image.dispose();
        textModel.dispose();
        scale?.dispose();
      },
    };
  },
});

/** The temperature τ a learnable logit scale stands for (clamped as the loss clamps it). */
export function temperatureOf(logitScale: number): number {
  return 1 / Math.min(Math.exp(logitScale), MAX_LOGIT_SCALE);
}
