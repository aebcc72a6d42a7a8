/**
 * Encoder weight files: one safetensors file that a PyTorch lab loads with
 * `twin.load_state_dict(load_file(path))` and that geoclr rebuilds the encoder from.
 *
 * Tensors: the encoder's `state_dict` under PyTorch names and layouts (`num_batches_tracked` stored as I64, as
 * PyTorch has it). `__metadata__` (strings, as the format requires):
 *   - `geoclr.encoder`: JSON of the resolved encoder config (what `createEncoder` takes);
 *   - `geoclr.version`: the geoclr version that wrote the file;
 *   - `format`: 'pt' (what Hugging Face tools expect for PyTorch weights);
 *   - `geoclr.input`: JSON {shape, channels} of the training inputs, when the caller gives it (ENCODER_INPUT_KEY);
 *   - any extra entries the caller gives (objective, preprocessing, source run).
 */
import * as tf from '../tf.js';
import { FileFormatError } from '../errors.js';
import { createEncoder } from '../nn/encoders/factory.js';
import type { Encoder } from '../nn/encoders/encoder.js';
import { geoclrVersion } from '../version.js';
import { loadSafetensors, saveSafetensors, type SafetensorsDtype } from './safetensors.js';

export const ENCODER_CONFIG_KEY = 'geoclr.encoder';
/**
 * Metadata key of the input size the encoder was trained on: JSON {shape: [D, H, W] | [H, W] | [L], channels}
 * (what `geoclr export --format onnx` fixes the ONNX input to). Training writes it through `extra`.
 */
export const ENCODER_INPUT_KEY = 'geoclr.input';

/** Writes an encoder's weights and config to `file` (atomic). Extra metadata values are JSON-encoded unless strings. */
export async function saveEncoderFile(file: string, encoder: Encoder, extra: Record<string, unknown> = {}): Promise<void> {
  const state = encoder.stateDict();
  const dtypes: Record<string, SafetensorsDtype> = {};
  for (const name of Object.keys(state)) if (name.endsWith('num_batches_tracked')) dtypes[name] = 'I64';
  const metadata: Record<string, string> = { format: 'pt' };
  for (const [k, v] of Object.entries(extra)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  metadata[ENCODER_CONFIG_KEY] = JSON.stringify(encoder.config);
  metadata['geoclr.version'] = geoclrVersion();
  await saveSafetensors(file, state, metadata, { dtypes });
}

/** A weight file's metadata strings with JSON values parsed (other strings kept as they are). */
export function parseFileMetadata(metadata: Record<string, string>): Record<string, unknown> {
  const parsed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    try {
      parsed[k] = JSON.parse(v);
    } catch {
      parsed[k] = v;
    }
  }
  return parsed;
}

export interface LoadedEncoderFile {
  encoder: Encoder;
  /** The file's metadata, JSON values parsed where they parse. */
  metadata: Record<string, unknown>;
}

/**
 * Rebuilds the encoder described by `file`'s `geoclr.encoder` metadata and loads its weights (strict: every
 * name and shape must match). A weight file without geoclr metadata (e.g. saved by a PyTorch twin) needs
 * `config` to say which architecture it holds.
 */
export async function loadEncoderFile(file: string, config?: Record<string, unknown>): Promise<LoadedEncoderFile> {
  const { tensors, metadata } = await loadSafetensors(file);
  try {
    const parsed = parseFileMetadata(metadata);
    const encoderConfig = config ?? (parsed[ENCODER_CONFIG_KEY] as Record<string, unknown> | undefined);
    if (encoderConfig == null || typeof encoderConfig !== 'object') {
      throw new FileFormatError(file, `no '${ENCODER_CONFIG_KEY}' metadata: pass the encoder config to load weights saved elsewhere`);
    }
    const encoder = createEncoder(encoderConfig);
    try {
      const state: Record<string, tf.Tensor> = {};
      for (const [name, t] of tensors) state[name] = t;
      encoder.loadStateDict(state);
    } catch (e) {
      encoder.dispose();
      throw e instanceof Error ? new FileFormatError(file, e.message) : e;
    }
    return { encoder, metadata: parsed };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
