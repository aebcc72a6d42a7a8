/**
 * Fast inference of any ONNX model with onnxruntime-node (native CPU kernels): embedding extraction for exported
 * or imported encoders. Inputs and outputs are tfjs tensors; int32 tensors are widened to int64 where the model
 * expects it (token ids), float outputs come back as float32 tensors.
 */
import { promises as fsp } from 'node:fs';
import * as tf from '../../src/tf.js';
import { FileFormatError, ShapeError, ValueError } from '../../src/errors.js';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;
type OrtTensor = import('onnxruntime-node').Tensor;

let ortModule: Promise<Ort> | null = null;
function ort(): Promise<Ort> {
  return (ortModule ??= import('onnxruntime-node'));
}

export interface OnnxSessionOptions {
  /** Threads inside one operator (default: onnxruntime's choice, all cores). */
  threads?: number;
}

/** An onnxruntime-node session with the model's input/output metadata. */
export class OnnxSession {
  /** @internal use createOnnxSession */
  constructor(
    readonly source: string,
    readonly session: Session,
    private readonly runtime: Ort,
  ) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  private inputType(name: string): string | null {
    const meta = this.session.inputMetadata.find((m) => m.name === name);
    return meta && meta.isTensor ? meta.type : null;
  }

  private toOrt(name: string, t: tf.Tensor): OrtTensor {
    const want = this.inputType(name);
    const dims = t.shape;
    const values = t.dataSync();
    switch (want ?? (t.dtype === 'float32' ? 'float32' : t.dtype === 'bool' ? 'bool' : 'int64')) {
      case 'float32':
        return new this.runtime.Tensor('float32', Float32Array.from(values as Float32Array), dims);
      case 'int64':
        if (t.dtype === 'float32') throw new ValueError(`${this.source}: input '${name}' must be integer (int64), got float32`);
        return new this.runtime.Tensor('int64', BigInt64Array.from(values as Int32Array, (v) => BigInt(v)), dims);
      case 'int32':
        return new this.runtime.Tensor('int32', Int32Array.from(values as Int32Array), dims);
      case 'bool':
        return new this.runtime.Tensor('bool', Uint8Array.from(values as Uint8Array), dims);
      default:
        throw new ValueError(`${this.source}: input '${name}' has type ${want}, which runOnnx does not feed`);
    }
  }

  /**
   * Runs the model. `input` is a tensor (single-input models), an array in input order, or a record by name.
   * Returns every output (or those in `outputs`) as tfjs tensors the caller owns.
   */
  async run(input: tf.Tensor | tf.Tensor[] | Record<string, tf.Tensor>, outputs?: string[]): Promise<Record<string, tf.Tensor>> {
    const names = this.inputNames;
    let record: Record<string, tf.Tensor>;
    if (input instanceof tf.Tensor) {
      if (names.length !== 1) throw new ValueError(`${this.source}: the model has ${names.length} inputs (${names.join(', ')}); pass a record`);
      record = { [names[0]]: input };
    } else if (Array.isArray(input)) {
      if (input.length !== names.length) throw new ValueError(`${this.source}: expected ${names.length} inputs, got ${input.length}`);
      record = Object.fromEntries(names.map((n, i) => [n, input[i]]));
    } else record = input;
    for (const n of names) if (!(n in record)) throw new ValueError(`${this.source}: input '${n}' is missing`);
    const feeds = Object.fromEntries(Object.entries(record).map(([n, t]) => [n, this.toOrt(n, t)]));
    let result: Record<string, import('onnxruntime-node').OnnxValue>;
    try {
      result = outputs ? await this.session.run(feeds, outputs) : await this.session.run(feeds);
    } catch (e) {
      const msg = (e as Error).message;
      throw /shape|dimension|Got invalid dimensions/i.test(msg) ? new ShapeError(`${this.source}: ${msg}`) : new ValueError(`${this.source}: ${msg}`);
    }
    const out: Record<string, tf.Tensor> = {};
    for (const [name, v] of Object.entries(result)) {
      const t = v as OrtTensor;
      const dims = [...t.dims];
      switch (t.type) {
        case 'float32':
          out[name] = tf.tensor(t.data as Float32Array, dims, 'float32');
          break;
        case 'float64':
        case 'float16':
          out[name] = tf.tensor(Float32Array.from(t.data as ArrayLike<number>), dims, 'float32');
          break;
        case 'int64':
          out[name] = tf.tensor(Int32Array.from(t.data as BigInt64Array, (b) => Number(b)), dims, 'int32');
          break;
        case 'int32':
        case 'int8':
        case 'uint8':
        case 'int16':
        case 'uint16':
          out[name] = tf.tensor(Int32Array.from(t.data as ArrayLike<number>), dims, 'int32');
          break;
        case 'bool':
          out[name] = tf.tensor(Uint8Array.from(t.data as Uint8Array), dims, 'bool');
          break;
        default:
          throw new ValueError(`${this.source}: output '${name}' has type ${t.type}, which runOnnx does not convert`);
      }
      t.dispose?.();
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Opens an ONNX model (path or bytes) in onnxruntime-node. Malformed files are FileFormatErrors. */
export async function createOnnxSession(source: string | Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
  const runtime = await ort();
  const label = typeof source === 'string' ? source : '<onnx bytes>';
  if (typeof source === 'string') {
    await fsp.access(source).catch((e) => {
      throw new FileFormatError(source, `cannot open: ${(e as Error).message}`);
    });
  }
  const opts = options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {};
  try {
    const session = typeof source === 'string' ? await runtime.InferenceSession.create(source, opts) : await runtime.InferenceSession.create(source, opts);
    return new OnnxSession(label, session, runtime);
  } catch (e) {
    throw new FileFormatError(label, `onnxruntime cannot load the model: ${(e as Error).message}`);
  }
}

/** One-shot convenience: run a session (see `OnnxSession.run`). */
export function runOnnx(session: OnnxSession, input: tf.Tensor | tf.Tensor[] | Record<string, tf.Tensor>, outputs?: string[]): Promise<Record<string, tf.Tensor>> {
  return session.run(input, outputs);
}
