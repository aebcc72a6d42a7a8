/**
 * `geoclr train --init RUNDIR`: the one place where a pretrained model enters training.
 *
 * Today it reads geoclr run folders (`RUNDIR/model.safetensors`, written by `geoclr train`, through
 * `loadEncoderFile`). ONNX models (`RUNDIR/model.onnx`, from `geoclr import --onnx`) need interop's
 * `loadInitModel(runDir)`, which returns the same trainable surface (`forward → {representation, projection}`,
 * `namedParameters`, `stateDict`, `train`/`eval`, `dispose`): when interop ships it, this function delegates to it.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { loadEncoderFile } from '../../src/io/model-file.js';
import type { TrainableModel } from '../../src/train/types.js';

export interface InitModel {
  model: TrainableModel;
  /** The weight file it came from. */
  file: string;
  metadata: Record<string, unknown>;
}

export async function loadInitModel(runDir: string, option = '--init'): Promise<InitModel> {
  if (!existsSync(runDir)) throw new ConfigError(option, `no such run folder: ${runDir}`);
  const dir = statSync(runDir).isDirectory() ? runDir : path.dirname(runDir);
  const weights = statSync(runDir).isDirectory() ? path.join(runDir, 'model.safetensors') : runDir;
  if (existsSync(weights) && weights.endsWith('.safetensors')) {
    const { encoder, metadata } = await loadEncoderFile(weights);
    return { model: encoder, file: weights, metadata };
  }
  if (existsSync(path.join(dir, 'model.onnx'))) {
    throw new ConfigError(option, `${dir} holds an ONNX model (model.onnx); training from ONNX needs geoclr/interop's loadInitModel, which this build does not have yet`);
  }
  throw new ConfigError(option, `${dir} has no model.safetensors (a finished geoclr run) or model.onnx (geoclr import)`);
}
