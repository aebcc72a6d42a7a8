/**
 * A frozen pretrained text encoder: any BERT-like ONNX model in a local folder (config.json, tokenizer files,
 * onnx/model.onnx — the layout transformers.js uses) turned into sentence embeddings [n, d] by mean or [CLS]
 * pooling of its last hidden state.
 *
 * Two runtimes:
 *  - 'onnxruntime' (default): onnxruntime-node on the ONNX file, fed by geoclr's tokenizer (truncation keeps
 *    [SEP]; inputs matched by name: input_ids, attention_mask, token_type_ids), pooled here;
 *  - 'transformers': transformers.js' `feature-extraction` pipeline (its own tokenization, truncated at the
 *    tokenizer's model_max_length), also the way to use a Hugging Face Hub id with `allowRemote: true`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import * as tf from '../../src/tf.js';
import { ConfigError, FileFormatError, ValueError } from '../../src/errors.js';
import { transformers, resolveModelSource, withRemote, remoteAllowedByEnv, type ModelSourceOptions } from './hf.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

export type TextPooling = 'mean' | 'cls';

export interface PretrainedTextEncoderOptions extends ModelSourceOptions {
  /** 'mean' (default): average over the text's tokens (attention mask); 'cls': the first token's state. */
  pooling?: TextPooling;
  /** 'onnxruntime' (default) or 'transformers' (see the module comment). */
  runtime?: 'onnxruntime' | 'transformers';
  /** Maximum tokens per text (default: min(tokenizer's, config.max_position_embeddings)); onnxruntime only. */
  maxLength?: number;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
  /** L2-normalize each embedding (default false). */
  normalize?: boolean;
  /** The ONNX file, relative to the folder (default: onnx/model.onnx, else model.onnx). */
  modelFile?: string;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
}

/** Something that turns texts into embeddings (implemented by the frozen encoder; trainable ones come later). */
export interface TextEmbedder {
  readonly dim: number;
  embed(texts: readonly string[]): Promise<tf.Tensor2D>;
}

interface Backend {
  /** Embeddings of one batch, row-major [texts.length, dim]. */
  run(texts: readonly string[]): Promise<{ data: Float32Array; dim: number }>;
  dispose(): Promise<void>;
}

/** A frozen ONNX text encoder; `embed` returns a float32 tensor [n, dim] that the caller disposes. */
export class PretrainedTextEncoder implements TextEmbedder {
  private constructor(
    private readonly backend: Backend,
    readonly dim: number,
    readonly source: string,
    readonly runtime: 'onnxruntime' | 'transformers',
    readonly pooling: TextPooling,
    readonly normalize: boolean,
    readonly batchSize: number,
    /** The tokenizer feeding the onnxruntime path (null for 'transformers', which tokenizes itself). */
    readonly tokenizer: TextTokenizer | null,
  ) {}

  /** @internal */
  static from(backend: Backend, dim: number, source: string, o: Required<Pick<PretrainedTextEncoderOptions, 'runtime' | 'pooling' | 'normalize' | 'batchSize'>>, tokenizer: TextTokenizer | null): PretrainedTextEncoder {
    return new PretrainedTextEncoder(backend, dim, source, o.runtime, o.pooling, o.normalize, o.batchSize, tokenizer);
  }

  /** Embeddings of `texts`, in order: float32 [texts.length, dim]. */
  async embed(texts: readonly string[]): Promise<tf.Tensor2D> {
    if (!Array.isArray(texts)) throw new ValueError(`texts: expected an array of strings, got ${typeof texts}`);
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw new ValueError(`texts[${i}]: expected a string, got ${t === null ? 'null' : typeof t}`);
    });
    const out = new Float32Array(texts.length * this.dim);
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const { data, dim } = await this.backend.run(texts.slice(start, start + this.batchSize));
      if (dim !== this.dim) throw new FileFormatError(this.source, `the model returned ${dim}-d embeddings, earlier ${this.dim}-d`);
      out.set(data, start * this.dim);
    }
    if (this.normalize) l2NormalizeRows(out, this.dim);
    return tf.tensor2d(out, [texts.length, this.dim], 'float32');
  }

  /** Releases the ONNX session. */
  async dispose(): Promise<void> {
    await this.backend.dispose();
  }
}

/**
 * Loads a frozen pretrained text encoder from a local folder (or, with `allowRemote` and runtime 'transformers',
 * a hub id). Missing files are FileFormatErrors naming what was looked for and where.
 */
export async function loadPretrainedTextEncoder(nameOrDir: string, options: PretrainedTextEncoderOptions = {}): Promise<PretrainedTextEncoder> {
  const runtime = options.runtime ?? 'onnxruntime';
  const pooling = options.pooling ?? 'mean';
  const batchSize = options.batchSize ?? 32;
  if (runtime !== 'onnxruntime' && runtime !== 'transformers') throw new ConfigError('runtime', `expected 'onnxruntime' or 'transformers', got '${runtime}'`);
  if (pooling !== 'mean' && pooling !== 'cls') throw new ConfigError('pooling', `expected 'mean' or 'cls', got '${pooling}'`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError('batchSize', `expected a positive integer, got ${batchSize}`);
  const settings = { runtime, pooling, batchSize, normalize: options.normalize ?? false } as const;

  const source = resolveModelSource(nameOrDir, options, 'text-encoder');
  if (source.kind === 'hub' && runtime !== 'transformers') {
    throw new ConfigError('runtime', `a Hugging Face Hub id ('${source.id}') needs runtime: 'transformers'`);
  }
  const backend = runtime === 'transformers' ? await transformersBackend(source.kind === 'hub' ? source.id : source.dir, source.kind === 'dir', pooling, options) : null;
  if (backend) {
    const { dim } = await backend.run(['a']);
    return PretrainedTextEncoder.from(backend, dim, source.kind === 'hub' ? source.id : source.dir, settings, null);
  }
  const dir = (source as { dir: string }).dir;
  const modelFile = findModelFile(dir, options.modelFile);
  const config = readConfig(dir);
  const tokenizer = await loadTokenizer(dir);
  const maxPositions = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : Infinity;
  const maxLength = options.maxLength ?? Math.min(tokenizer.maxLength, maxPositions);
  if (maxLength > maxPositions) throw new ConfigError('maxLength', `${maxLength} exceeds the model's max_position_embeddings (${maxPositions})`);
  const ort = await ortBackend(modelFile, tokenizer, maxLength, pooling, options.threads);
  const { dim } = await ort.run(['a']);
  return PretrainedTextEncoder.from(ort, dim, dir, settings, tokenizer);
}

function findModelFile(dir: string, explicit: string | undefined): string {
  const candidates = explicit ? [explicit] : [path.join('onnx', 'model.onnx'), 'model.onnx'];
  for (const c of candidates) if (existsSync(path.join(dir, c))) return path.join(dir, c);
  throw new FileFormatError(path.join(dir, candidates[0]), `missing: looked in ${dir} for ${candidates.join(' and ')}`);
}

function readConfig(dir: string): Record<string, unknown> {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FileFormatError(file, `not valid JSON: ${(e as Error).message}`);
  }
}

async function ortBackend(file: string, tokenizer: TextTokenizer, maxLength: number, pooling: TextPooling, threads?: number): Promise<Backend> {
  const ort: typeof Ort = await import('onnxruntime-node');
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, threads ? { intraOpNumThreads: threads } : {});
  } catch (e) {
    throw new FileFormatError(file, `onnxruntime could not load it: ${(e as Error).message}`);
  }
  const known = new Set(['input_ids', 'attention_mask', 'token_type_ids']);
  const unknown = session.inputNames.filter((n) => !known.has(n));
  if (unknown.length > 0 || !session.inputNames.includes('input_ids')) {
    throw new FileFormatError(file, `inputs ${JSON.stringify(session.inputNames)}: expected input_ids and optionally attention_mask, token_type_ids`);
  }
  const inputType = (name: string): 'int64' | 'int32' => {
    const meta = session.inputMetadata?.find((m) => m.name === name);
    return meta && meta.isTensor && meta.type === 'int32' ? 'int32' : 'int64';
  };
  const output = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames.includes('token_embeddings') ? 'token_embeddings' : session.outputNames[0];
  const tensor = (name: string, values: Int32Array, dims: number[]) =>
    inputType(name) === 'int32' ? new ort.Tensor('int32', values, dims) : new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
  return {
    async run(texts) {
      const a = tokenizer.encodeBatchArrays(texts, { maxLength });
      const dims = [a.batch, a.length];
      const feeds: Record<string, Ort.Tensor> = { input_ids: tensor('input_ids', a.inputIds, dims) };
      if (session.inputNames.includes('attention_mask')) feeds.attention_mask = tensor('attention_mask', a.attentionMask, dims);
      if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = tensor('token_type_ids', new Int32Array(a.inputIds.length), dims);
      const result = await session.run(feeds);
      const hidden = result[output];
      try {
        if (hidden.type !== 'float32' || hidden.dims.length !== 3 || hidden.dims[0] !== a.batch || hidden.dims[1] !== a.length) {
          throw new FileFormatError(file, `output '${output}' is ${hidden.type} ${JSON.stringify(hidden.dims)}; expected float32 [${a.batch}, ${a.length}, hidden]`);
        }
        const dim = hidden.dims[2];
        return { data: pool(hidden.data as Float32Array, a.attentionMask, a.batch, a.length, dim, pooling), dim };
      } finally {
        for (const t of Object.values(result)) t.dispose();
      }
    },
    async dispose() {
      await session.release();
    },
  };
}

/** Mean over masked tokens (in float64) or the first token, of a row-major [batch, length, dim] hidden state. */
export function pool(hidden: Float32Array, mask: Int32Array, batch: number, length: number, dim: number, pooling: TextPooling): Float32Array {
  const out = new Float32Array(batch * dim);
  const acc = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    if (pooling === 'cls') {
      out.set(hidden.subarray(b * length * dim, b * length * dim + dim), b * dim);
      continue;
    }
    acc.fill(0);
    let count = 0;
    for (let t = 0; t < length; t++) {
      if (mask[b * length + t] === 0) continue;
      count++;
      const base = (b * length + t) * dim;
      for (let k = 0; k < dim; k++) acc[k] += hidden[base + k];
    }
    for (let k = 0; k < dim; k++) out[b * dim + k] = count > 0 ? acc[k] / count : 0;
  }
  return out;
}

function l2NormalizeRows(data: Float32Array, dim: number): void {
  for (let r = 0; r < data.length / dim; r++) {
    let ss = 0;
    for (let k = 0; k < dim; k++) ss += data[r * dim + k] ** 2;
    const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
    for (let k = 0; k < dim; k++) data[r * dim + k] *= inv;
  }
}

async function transformersBackend(id: string, local: boolean, pooling: TextPooling, options: PretrainedTextEncoderOptions): Promise<Backend> {
  const t = await transformers();
  const allowRemote = !local && (options.allowRemote ?? remoteAllowedByEnv());
  let subfolder = 'onnx';
  let modelFileName: string | undefined;
  if (local) {
    const file = findModelFile(id, options.modelFile);
    subfolder = path.relative(id, path.dirname(file));
    modelFileName = path.basename(file, '.onnx');
    const required = ['tokenizer.json', 'tokenizer_config.json', 'config.json'];
    for (const name of required) {
      if (!existsSync(path.join(id, name))) throw new FileFormatError(path.join(id, name), `missing: transformers.js needs ${required.join(', ')} in ${id}`);
    }
  }
  let extractor: Awaited<ReturnType<typeof t.pipeline<'feature-extraction'>>>;
  try {
    extractor = await withRemote(t, allowRemote, () =>
      t.pipeline('feature-extraction', id, {
        local_files_only: !allowRemote,
        dtype: 'fp32',
        device: 'cpu',
        subfolder,
        ...(modelFileName ? { model_file_name: modelFileName } : {}),
        ...(options.cacheDir ? { cache_dir: options.cacheDir } : {}),
      }),
    );
  } catch (e) {
    throw new FileFormatError(id, `transformers.js could not load a feature-extraction model: ${(e as Error).message}`);
  }
  return {
    async run(texts) {
      const out = await extractor([...texts], { pooling, normalize: false });
      const dims = out.dims as number[];
      return { data: Float32Array.from(out.data as Float32Array), dim: dims[dims.length - 1] };
    },
    async dispose() {
      await extractor.dispose();
    },
  };
}
