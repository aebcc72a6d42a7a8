/**
 * Run folders as exchange points with Python labs (what `geoclr export` / `geoclr import` / `geoclr train --init`
 * work on):
 *
 * - a geoclr run holds `model.safetensors` (written by `saveEncoderFile`: the weights under PyTorch names and the
 *   resolved encoder config in the `geoclr.encoder` metadata; `geoclr.input` = JSON {shape, channels} when the
 *   training data fixed the input size) and the training `config.json`;
 * - an imported ONNX run holds `model.onnx` (a copy of the lab's file, plus its external-data files if any) and
 *   `import.json` saying how to wrap it as an encoder (representation output, fresh head, seed, input layout) and
 *   the model's sha256.
 *
 * `loadInitModel(runDir)` returns the encoder either kind of folder holds, ready for fine-tuning.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, FileFormatError } from '../src/errors.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { geoclrVersion } from '../src/version.js';
import { ENCODER_INPUT_KEY, loadEncoderFile, saveEncoderFile } from '../src/io/model-file.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import type { Encoder, HeadConfig } from '../src/nn/encoders/encoder.js';
import { exportOnnx, type OnnxExportInfo, type OnnxExportOutput } from './onnx/export.js';
import { OnnxEncoder, type OnnxInputLayout } from './onnx/encoder.js';
import { decodeModel, type GraphObj } from './onnx/proto.js';
import type { OnnxIoInfo } from './onnx/import.js';

export const RUN_WEIGHTS = 'model.safetensors';
export const RUN_ONNX = 'model.onnx';
export const RUN_IMPORT = 'import.json';
/** safetensors metadata key of the input size: JSON {shape: [D,H,W] | [H,W] | [L], channels}. */
export const INPUT_METADATA_KEY = ENCODER_INPUT_KEY;
const IMPORT_FORMAT = 'geoclr.onnx-import/1';

/** What `import.json` records. */
export interface OnnxImportRecord {
  format: typeof IMPORT_FORMAT;
  /** The model file inside the run folder. */
  model: string;
  /** Where it was imported from (absolute path). */
  source: string;
  sha256: string;
  bytes: number;
  externalData: string[];
  opset: number;
  irVersion: number;
  producer: string;
  inputs: OnnxIoInfo[];
  outputs: OnnxIoInfo[];
  representationOutput: string;
  projectionOutput: string | null;
  representationDim: number;
  projectionDim: number;
  head: Required<HeadConfig> | null;
  seed: number | string;
  layout: OnnxInputLayout;
  /** Trainable values (ONNX initializers the outputs use, plus the head). */
  parameters: number;
  geoclrVersion: string;
  createdAt: string;
}

export interface ImportOnnxRunOptions {
  representationOutput?: string;
  /** A fresh MLP projection head on the representation. */
  head?: HeadConfig | null;
  seed?: number;
  layout?: OnnxInputLayout;
  representationDim?: number;
  /** Replace an existing model in the folder (default false). */
  force?: boolean;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function requireDir(runDir: string, what: string): void {
  if (!existsSync(runDir)) throw new FileFormatError(runDir, `${what} does not exist`);
  if (!statSync(runDir).isDirectory()) throw new FileFormatError(runDir, `${what} is not a directory`);
}

/** External-data files a model refers to (relative paths inside its folder). */
function externalFiles(graph: GraphObj | undefined, source: string): string[] {
  const files = new Set<string>();
  for (const t of graph?.initializer ?? []) {
    if (t.data_location !== 1) continue;
    const location = (t.external_data ?? []).find((e) => e.key === 'location')?.value;
    if (!location || path.isAbsolute(location) || location.split(/[\\/]/).includes('..')) {
      throw new FileFormatError(source, `tensor '${t.name ?? ''}' has external data at '${location}', which must be a relative path inside the model's folder`);
    }
    files.add(location);
  }
  return [...files].sort();
}

/**
 * `geoclr import`: validates an ONNX model as a trainable encoder (every unsupported operator listed in one error,
 * outputs and head checked, one forward pass when the input sizes are static), then copies it to
 * `runDir/model.onnx` and writes `runDir/import.json` (last, so a complete import is one that has it).
 */
export async function importOnnxRun(file: string, runDir: string, options: ImportOnnxRunOptions = {}): Promise<OnnxImportRecord> {
  const bytes = await fsp.readFile(file).catch((e) => {
    throw new FileFormatError(file, `cannot open: ${(e as Error).message}`);
  });
  if (existsSync(runDir) && !statSync(runDir).isDirectory()) throw new FileFormatError(runDir, 'the output run folder is a file');
  const taken = [RUN_ONNX, RUN_IMPORT, RUN_WEIGHTS].filter((f) => existsSync(path.join(runDir, f)));
  if (taken.length && !options.force) {
    throw new FileFormatError(runDir, `already holds ${taken.join(', ')}; choose another folder or pass --force to replace the model`);
  }
  const proto = decodeModel(bytes, file);
  const external = externalFiles(proto.graph, file);
  // Import from the path (external data resolves beside the file) and build the encoder: this is the validation.
  const encoder = await OnnxEncoder.load(file, {
    representationOutput: options.representationOutput,
    head: options.head ?? null,
    seed: options.seed ?? 0,
    layout: options.layout,
    representationDim: options.representationDim,
  });
  let record: OnnxImportRecord;
  try {
    const example = encoder.exampleInput(1);
    if (example) {
      try {
        encoder.eval();
        const out = encoder.forward(example.x, example.mask);
        out.representation.dispose();
        out.projection.dispose();
      } catch (e) {
        throw new FileFormatError(file, `a forward pass on a zero input failed: ${(e as Error).message}`);
      } finally {
        example.x.dispose();
        example.mask?.dispose();
      }
    }
    const m = encoder.model;
    const cfg = encoder.config;
    record = {
      format: IMPORT_FORMAT,
      model: RUN_ONNX,
      source: path.resolve(file),
      sha256: sha256(bytes),
      bytes: bytes.length,
      externalData: external,
      opset: m.opset,
      irVersion: m.irVersion,
      producer: m.producer,
      inputs: m.inputs,
      outputs: m.outputs,
      representationOutput: cfg.representationOutput,
      projectionOutput: cfg.projectionOutput,
      representationDim: encoder.representationDim,
      projectionDim: encoder.projectionDim,
      head: cfg.head,
      seed: cfg.seed,
      layout: cfg.layout,
      parameters: encoder.numParameters(),
      geoclrVersion: geoclrVersion(),
      createdAt: new Date().toISOString(),
    };
  } finally {
    encoder.dispose();
  }
  await fsp.mkdir(runDir, { recursive: true });
  await fsp.rm(path.join(runDir, RUN_IMPORT), { force: true });
  for (const rel of external) await writeFileAtomic(path.join(runDir, rel), await fsp.readFile(path.join(path.dirname(file), rel)));
  await writeFileAtomic(path.join(runDir, RUN_ONNX), bytes);
  await writeFileAtomic(path.join(runDir, RUN_IMPORT), JSON.stringify(record, null, 2) + '\n');
  return record;
}

/** Reads and checks `runDir/import.json`. */
export async function readImportRecord(runDir: string): Promise<OnnxImportRecord> {
  const file = path.join(runDir, RUN_IMPORT);
  let record: OnnxImportRecord;
  try {
    record = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (e) {
    throw new FileFormatError(file, `cannot read it as JSON: ${(e as Error).message}`);
  }
  if (record == null || typeof record !== 'object' || record.format !== IMPORT_FORMAT) {
    throw new FileFormatError(file, `not a geoclr import record (expected format '${IMPORT_FORMAT}')`);
  }
  for (const key of ['model', 'sha256', 'representationOutput', 'layout'] as const) {
    if (typeof record[key] !== 'string') throw new FileFormatError(file, `field '${key}' is missing or not a string`);
  }
  if (path.isAbsolute(record.model) || record.model.split(/[\\/]/).includes('..')) {
    throw new FileFormatError(file, `field 'model' must name a file inside the run folder, got '${record.model}'`);
  }
  return record;
}

/**
 * The encoder a run folder holds, for `geoclr train --init DIR`: a geoclr `Encoder` rebuilt from
 * `model.safetensors`, or an `OnnxEncoder` from `model.onnx` + `import.json` (its file checked against the
 * recorded sha256; fine-tuned weights in `model.safetensors` beside them, if any, are loaded into it). Both have
 * forward / namedParameters / train / eval / stateDict / dispose.
 */
export async function loadInitModel(runDir: string): Promise<Encoder> {
  requireDir(runDir, 'the init run folder');
  if (existsSync(path.join(runDir, RUN_IMPORT))) {
    const record = await readImportRecord(runDir);
    const modelFile = path.join(runDir, record.model);
    const bytes = await fsp.readFile(modelFile).catch((e) => {
      throw new FileFormatError(modelFile, `cannot open the imported model: ${(e as Error).message}`);
    });
    if (sha256(bytes) !== record.sha256) {
      throw new FileFormatError(modelFile, `its sha256 differs from the one in ${RUN_IMPORT}: the file changed after the import; import it again`);
    }
    const encoder = await OnnxEncoder.load(modelFile, {
      representationOutput: record.representationOutput,
      projectionOutput: record.projectionOutput,
      head: record.head,
      seed: record.seed,
      layout: record.layout,
      representationDim: record.representationDim,
    });
    // A run trained from an import keeps model.onnx + import.json and saves its fine-tuned weights beside them.
    const tuned = path.join(runDir, RUN_WEIGHTS);
    if (existsSync(tuned)) {
      try {
        const { tensors } = await loadSafetensors(tuned);
        try {
          encoder.loadStateDict(Object.fromEntries(tensors));
        } finally {
          for (const t of tensors.values()) t.dispose();
        }
      } catch (e) {
        encoder.dispose();
        throw e instanceof FileFormatError ? e : new FileFormatError(tuned, `does not fit the imported model: ${(e as Error).message}`);
      }
    }
    return encoder;
  }
  const weights = path.join(runDir, RUN_WEIGHTS);
  if (existsSync(weights)) return (await loadEncoderFile(weights)).encoder;
  throw new FileFormatError(
    runDir,
    `holds neither ${RUN_WEIGHTS} (a geoclr run) nor ${RUN_IMPORT} + ${RUN_ONNX} (made by geoclr import --onnx FILE --out ${runDir})`,
  );
}

/** The input size recorded in a weight file's metadata (`geoclr.input`), checked against the encoder. */
export function recordedInputShape(metadata: Record<string, unknown>, encoder: Encoder, file: string): number[] | null {
  const v = metadata[INPUT_METADATA_KEY];
  if (v == null) return null;
  const o = v as { shape?: unknown; channels?: unknown };
  if (typeof v !== 'object' || !Array.isArray(o.shape) || o.shape.some((d) => !Number.isInteger(d) || (d as number) < 1)) {
    throw new FileFormatError(file, `metadata '${INPUT_METADATA_KEY}' must be JSON {shape: [positive integers], channels}, got ${JSON.stringify(v)}`);
  }
  const channels = (encoder.config as { inChannels?: number }).inChannels;
  if (o.channels != null && channels != null && o.channels !== channels) {
    throw new FileFormatError(file, `metadata '${INPUT_METADATA_KEY}' says ${o.channels} channels but the encoder takes ${channels}`);
  }
  return o.shape as number[];
}

export interface ExportRunOptions {
  format: 'onnx' | 'safetensors';
  out: string;
  /** Input size for ONNX when the weights do not record one (`geoclr.input`); omitted: dynamic axes. */
  inputShape?: number[];
  output?: OnnxExportOutput;
  opset?: number;
}

export interface ExportRunResult {
  format: 'onnx' | 'safetensors';
  out: string;
  /** The input size used (null: dynamic) and where it came from. */
  inputShape: number[] | null;
  inputShapeFrom: 'metadata' | 'option' | 'none';
  onnx?: OnnxExportInfo;
}

/** `geoclr export`: writes a run's encoder as ONNX or as a safetensors file for PyTorch labs. */
export async function exportRun(runDir: string, options: ExportRunOptions): Promise<ExportRunResult> {
  if (options.format !== 'onnx' && options.format !== 'safetensors') {
    throw new ConfigError('--format', `must be onnx or safetensors, got ${JSON.stringify(options.format)}`);
  }
  requireDir(runDir, 'the run folder');
  const weights = path.join(runDir, RUN_WEIGHTS);
  if (existsSync(path.join(runDir, RUN_IMPORT))) {
    throw new FileFormatError(
      runDir,
      `holds an imported ONNX model (${RUN_ONNX} + ${RUN_IMPORT}); exporting it is not supported yet — ${RUN_ONNX} is the original ONNX file` +
        (existsSync(weights) ? ` and ${RUN_WEIGHTS} the fine-tuned weights under its initializer names` : ''),
    );
  }
  if (!existsSync(weights)) throw new FileFormatError(runDir, `has no ${RUN_WEIGHTS} to export`);
  const { encoder, metadata } = await loadEncoderFile(weights);
  try {
    const recorded = recordedInputShape(metadata, encoder, weights);
    if (recorded && options.inputShape && recorded.join() !== options.inputShape.join()) {
      throw new ConfigError('--input-shape', `[${options.inputShape}] differs from the input size the weights record (${INPUT_METADATA_KEY}: [${recorded}])`);
    }
    const inputShape = recorded ?? options.inputShape ?? null;
    const inputShapeFrom = recorded ? 'metadata' : options.inputShape ? 'option' : 'none';
    if (options.format === 'safetensors') {
      const extra: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(metadata)) if (!['geoclr.encoder', 'geoclr.version', 'format'].includes(k)) extra[k] = v;
      if (inputShape && !recorded) extra[INPUT_METADATA_KEY] = { shape: inputShape, channels: (encoder.config as { inChannels?: number }).inChannels ?? null };
      await saveEncoderFile(options.out, encoder, extra);
      return { format: 'safetensors', out: options.out, inputShape, inputShapeFrom };
    }
    encoder.eval();
    const onnx = await exportOnnx(encoder, options.out, {
      inputShape: inputShape ?? undefined,
      output: options.output,
      opset: options.opset,
      metadata: { 'geoclr.run': path.resolve(runDir) },
    });
    return { format: 'onnx', out: options.out, inputShape, inputShapeFrom, onnx };
  } finally {
    encoder.dispose();
  }
}
