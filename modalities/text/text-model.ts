/**
 * A trained text encoder with its text pipeline: `text-model.safetensors` in an image–text run folder (beside the
 * image encoder's `model.safetensors`). The file is an encoder weight file (`saveEncoderFile`: PyTorch names, the
 * resolved `text-transformer` config under `geoclr.encoder`) whose metadata `geoclr.text` holds the pipeline spec
 * (tokenizer reference, maxLength, compact vocabulary), so `loadTextModel(file)` embeds raw texts again.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/tf.js';
import { FileFormatError, ValueError } from '../../src/errors.js';
import { loadEncoderFile, saveEncoderFile } from '../../src/io/model-file.js';
import type { Encoder } from '../../src/nn/encoders/encoder.js';
import { TEXT_MODEL_FILE, TEXT_PIPELINE_KEY } from '../../src/train/image-text.js';
import { createTextPipeline, type TextPipeline, type TextPipelineSpec } from './pipeline.js';

export { TEXT_MODEL_FILE, TEXT_PIPELINE_KEY };

export interface EmbedTextsOptions {
  /** 'projection' (default: the space image–text objectives align) or 'representation'. */
  output?: 'projection' | 'representation';
  batchSize?: number;
}

/** Embeddings of texts, row-major `[n, dim]`. */
export interface TextEmbeddings {
  n: number;
  dim: number;
  data: Float32Array;
  /** Texts truncated to maxLength / tokens outside the vocabulary. */
  truncated: number;
  outOfVocabulary: number;
}

/** Runs a text encoder (eval mode) over texts in batches; restores training mode if the encoder was training. */
export function embedTexts(encoder: Encoder, pipeline: TextPipeline, texts: readonly string[], options: EmbedTextsOptions = {}): TextEmbeddings {
  const output = options.output ?? 'projection';
  const batchSize = options.batchSize ?? 64;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new ValueError(`embedTexts: batchSize must be an integer ≥ 1, got ${batchSize}`);
  const wasTraining = encoder.training;
  encoder.eval();
  const chunks: Float32Array[] = [];
  let dim = output === 'projection' ? encoder.projectionDim : encoder.representationDim;
  let truncated = 0;
  let outOfVocabulary = 0;
  try {
    for (let i = 0; i < texts.length; i += batchSize) {
      const enc = pipeline.encode(texts.slice(i, i + batchSize));
      truncated += enc.truncated;
      outOfVocabulary += enc.outOfVocabulary;
      const out = tf.tidy(() => {
        const o = encoder.forward(enc.ids, enc.mask);
        return output === 'projection' ? o.projection : o.representation;
      });
      tf.dispose([enc.ids, enc.mask]);
      dim = out.shape[1];
      chunks.push(out.dataSync() as Float32Array);
      out.dispose();
    }
  } finally {
    encoder.train(wasTraining);
  }
  const data = new Float32Array(texts.length * dim);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { n: texts.length, dim, data, truncated, outOfVocabulary };
}

/** Writes a text encoder and its pipeline spec (atomic). */
export async function saveTextModel(file: string, encoder: Encoder, spec: TextPipelineSpec, extra: Record<string, unknown> = {}): Promise<void> {
  await saveEncoderFile(file, encoder, { ...extra, [TEXT_PIPELINE_KEY]: spec });
}

export interface TextModel {
  encoder: Encoder;
  pipeline: TextPipeline;
  metadata: Record<string, unknown>;
  /** Embeds texts (see `embedTexts`). */
  embed(texts: readonly string[], options?: EmbedTextsOptions): TextEmbeddings;
  dispose(): void;
}

function checkSpec(v: unknown, file: string): TextPipelineSpec {
  const o = v as Partial<TextPipelineSpec> | null;
  if (o == null || typeof o !== 'object' || typeof o.tokenizer !== 'string' || !Number.isInteger(o.maxLength) || !(o.vocabulary === null || Array.isArray(o.vocabulary))) {
    throw new FileFormatError(file, `no valid '${TEXT_PIPELINE_KEY}' metadata ({tokenizer, maxLength, vocabulary}): not a geoclr text model`);
  }
  return o as TextPipelineSpec;
}

/** Loads `text-model.safetensors` (or a run folder holding one) with its tokenizer, offline. */
export async function loadTextModel(fileOrRunDir: string): Promise<TextModel> {
  const file = existsSync(fileOrRunDir) && statSync(fileOrRunDir).isDirectory() ? path.join(fileOrRunDir, TEXT_MODEL_FILE) : fileOrRunDir;
  if (!existsSync(file)) throw new FileFormatError(file, `no such file${file !== fileOrRunDir ? ` (looked for ${TEXT_MODEL_FILE} in the run folder; image-text runs write it)` : ''}`);
  const { encoder, metadata } = await loadEncoderFile(file);
  try {
    const spec = checkSpec(metadata[TEXT_PIPELINE_KEY], file);
    const pipeline = await createTextPipeline(spec);
    if (pipeline.vocabSize !== (encoder.config as { vocabSize?: number }).vocabSize) {
      throw new FileFormatError(file, `the text pipeline gives ${pipeline.vocabSize} ids but the encoder embeds ${String((encoder.config as { vocabSize?: number }).vocabSize)}`);
    }
    encoder.eval();
    return {
      encoder,
      pipeline,
      metadata,
      embed: (texts, options) => embedTexts(encoder, pipeline, texts, options),
      dispose: () => encoder.dispose(),
    };
  } catch (e) {
    encoder.dispose();
    throw e;
  }
}
