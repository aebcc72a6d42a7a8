/**
 * `geoclr train --init RUNDIR` and `geoclr embed --run RUNDIR`: the one place where a saved model enters training
 * or embedding. It delegates to interop's `loadInitModel`, which reads both kinds of run folder — a geoclr run
 * (`model.safetensors`) and an imported ONNX model (`model.onnx` + `import.json`, from `geoclr import`) — and
 * returns an encoder with `forward → {representation, projection}`, `namedParameters`, `stateDict`,
 * `train`/`eval`, `dispose`.
 *
 * A run trained from an ONNX import keeps that layout (interop's convention): its folder gets a copy of
 * `model.onnx` (and external-data files) and `import.json`, with the fine-tuned weights in `model.safetensors`.
 */
import { existsSync, promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { readSafetensorsHeader } from '../../src/io/safetensors.js';
import { parseFileMetadata, saveEncoderFile } from '../../src/io/model-file.js';
import { Encoder } from '../../src/nn/encoders/encoder.js';
import { withAtomicPath } from '../../src/util/fs.js';
import type { SaveModel } from '../../src/train/run.js';
import { loadInitModel as loadRunEncoder, readImportRecord, RUN_IMPORT, RUN_ONNX, RUN_WEIGHTS } from '../../interop/run-dir.js';

export interface InitModel {
  model: Encoder;
  /** The weight file (model.safetensors) or the imported model (model.onnx) it came from. */
  file: string;
  /** model.safetensors' metadata, JSON values parsed ({} for a bare ONNX import). */
  metadata: Record<string, unknown>;
  /** The run folder when it holds an ONNX import (its files travel to runs trained from it). */
  onnxRun: string | null;
}

export async function loadInitModel(runDir: string, option = '--init'): Promise<InitModel> {
  if (!existsSync(runDir)) throw new ConfigError(option, `no such run folder: ${runDir}`);
  if (!statSync(runDir).isDirectory()) throw new ConfigError(option, `${runDir} is not a run folder (give the folder, not a file in it)`);
  const model = await loadRunEncoder(runDir);
  const weights = path.join(runDir, RUN_WEIGHTS);
  const metadata = existsSync(weights) ? parseFileMetadata((await readSafetensorsHeader(weights)).metadata) : {};
  const onnxRun = existsSync(path.join(runDir, RUN_IMPORT)) ? runDir : null;
  return { model, file: existsSync(weights) ? weights : path.join(runDir, RUN_ONNX), metadata, onnxRun };
}

/** Copies a file into a folder atomically (temp + rename). */
async function copyInto(from: string, toDir: string, name: string): Promise<void> {
  await withAtomicPath(path.join(toDir, name), (tmp) => fsp.copyFile(from, tmp));
}

/**
 * How `runTraining` saves the trained encoder: `model.safetensors` (`saveEncoderFile`) — plus, for a model
 * fine-tuned from an ONNX import, the import's `model.onnx`, external data and `import.json` (written last).
 */
export function runModelSaver(init: InitModel | null): SaveModel {
  return async (file, model, metadata) => {
    if (!(model instanceof Encoder)) throw new ConfigError('init', 'the trained model is not an encoder and cannot be saved');
    await saveEncoderFile(file, model, metadata);
    if (init?.onnxRun == null) return;
    const dir = path.dirname(file);
    if (path.resolve(dir) === path.resolve(init.onnxRun)) return;
    const record = await readImportRecord(init.onnxRun);
    await copyInto(path.join(init.onnxRun, record.model), dir, record.model);
    for (const f of record.externalData ?? []) await copyInto(path.join(init.onnxRun, f), dir, f);
    await copyInto(path.join(init.onnxRun, RUN_IMPORT), dir, RUN_IMPORT);
  };
}
