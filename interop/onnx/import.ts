/**
 * Trainable ONNX import: an ONNX model (e.g. from `torch.onnx.export`, opset ≤ 17) becomes a geoclr model whose
 * graph runs as tfjs ops and whose float initializers are `tf.Variable`s — so a lab's pretrained encoder can be
 * fine-tuned with geoclr's objectives on any backend (wasm included).
 *
 *   const model = await importOnnx('encoder.onnx');
 *   const z = model.apply(x);                                        // forward (records gradients)
 *   const { grads } = tf.variableGrads(() => loss(model.apply(x)), model.trainableVariables);
 *
 * Every operator is checked at import: unsupported ones are listed, all at once, in one `OnnxUnsupportedError`
 * before anything runs. BatchNormalization runs in inference mode (running statistics, not trained) as exported.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/tf.js';
import { FileFormatError, GeoclrError, ShapeError, ValueError } from '../../src/errors.js';
import { Attrs, OPS, type OpSpec, type Value } from './ops.js';
import { OnnxDataType, decodeModel, hostToTensor, onnxTypeName, tensorFromProto, toNumber, type ModelObj, type NodeObj, type ValueInfo } from './proto.js';

/** The model uses operators (or operator features) geoclr cannot run; `ops` lists them all. */
export class OnnxUnsupportedError extends GeoclrError {
  constructor(
    readonly source: string,
    readonly ops: string[],
    readonly problems: string[],
  ) {
    const parts: string[] = [];
    if (ops.length) parts.push(`unsupported ONNX operator${ops.length > 1 ? 's' : ''}: ${ops.join(', ')}`);
    if (problems.length) parts.push(`unsupported operator features: ${problems.join('; ')}`);
    super(`${source}: ${parts.join('; ')}`);
  }
}

export interface OnnxIoInfo {
  name: string;
  /** The ONNX element type name (FLOAT, INT64, ...). */
  onnxType: string;
  /** The tfjs dtype it maps to. */
  dtype: 'float32' | 'int32' | 'bool';
  /** Static sizes, symbolic names (e.g. 'batch') or null where unknown. */
  shape: (number | string | null)[] | null;
}

export interface ImportOnnxOptions {
  /** Which float initializers are trainable (default: all except BatchNormalization running mean/variance). */
  trainable?: (name: string) => boolean;
}

export type OnnxInput = tf.Tensor | tf.Tensor[] | Record<string, tf.Tensor>;

interface PlannedNode {
  node: NodeObj;
  spec: OpSpec;
  attr: Attrs;
  inputs: string[];
  outputs: string[];
}

function tfDtypeOf(onnxType: number): 'float32' | 'int32' | 'bool' {
  if (onnxType === OnnxDataType.BOOL) return 'bool';
  if ([OnnxDataType.FLOAT, OnnxDataType.DOUBLE, OnnxDataType.FLOAT16, OnnxDataType.BFLOAT16].includes(onnxType as 1)) return 'float32';
  return 'int32';
}

function ioInfo(v: ValueInfo): OnnxIoInfo {
  const tt = v.type?.tensor_type;
  const et = tt?.elem_type ?? OnnxDataType.FLOAT;
  const dims = tt?.shape?.dim;
  return {
    name: v.name,
    onnxType: onnxTypeName(et),
    dtype: tfDtypeOf(et),
    shape: dims ? dims.map((d) => (d.dim_value != null && toNumber(d.dim_value) > 0 ? toNumber(d.dim_value) : d.dim_param ?? null)) : null,
  };
}

let modelCount = 0;

/** An imported ONNX graph with trainable initializers. */
export class OnnxModel {
  readonly inputs: OnnxIoInfo[];
  readonly outputs: OnnxIoInfo[];
  /** Float initializers as variables, keyed by initializer name (PyTorch exports use state_dict names). */
  readonly namedVariables = new Map<string, tf.Variable>();
  /** Non-float initializers (shapes, indices), kept as constants. */
  readonly constants = new Map<string, tf.Tensor>();
  readonly opset: number;
  readonly irVersion: number;
  readonly producer: string;
  private readonly nodes: PlannedNode[];
  private readonly producerOf = new Map<string, number>();
  private disposed = false;

  /** @internal use importOnnx */
  constructor(
    readonly source: string,
    model: ModelObj,
    baseDir: string | undefined,
    options: ImportOnnxOptions,
  ) {
    const g = model.graph!;
    this.opset = toNumber(model.opset_import?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
    this.irVersion = toNumber(model.ir_version);
    this.producer = [model.producer_name, model.producer_version].filter(Boolean).join(' ');
    const initNames = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
    this.inputs = (g.input ?? []).filter((v) => !initNames.has(v.name)).map(ioInfo);
    this.outputs = (g.output ?? []).map(ioInfo);
    this.nodes = this.plan(g.node ?? []);
    this.checkWiring(initNames);

    const frozen = new Set<string>();
    for (const p of this.nodes) if (p.node.op_type === 'BatchNormalization') [p.inputs[3], p.inputs[4]].forEach((n) => n && frozen.add(n));
    const trainable = options.trainable ?? ((name: string) => !frozen.has(name));
    const modelId = ++modelCount;
    try {
      for (const init of g.initializer ?? []) {
        const host = tensorFromProto(init, source, baseDir);
        const name = init.name ?? '';
        // tfjs variable names are global: prefix them with a per-model id.
        if (host.dtype === 'float32') this.namedVariables.set(name, tf.variable(hostToTensor(host), trainable(name), `onnx${modelId}/${name}`));
        else this.constants.set(name, tf.keep(hostToTensor(host)));
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  get inputNames(): string[] {
    return this.inputs.map((i) => i.name);
  }
  get outputNames(): string[] {
    return this.outputs.map((o) => o.name);
  }
  /** All initializer variables (trainable or not). */
  get variables(): tf.Variable[] {
    return [...this.namedVariables.values()];
  }
  get trainableVariables(): tf.Variable[] {
    return this.variables.filter((v) => v.trainable);
  }

  /** Whether `name` is a value of the graph: an input, an initializer or a node output. */
  hasValue(name: string): boolean {
    return this.producerOf.has(name) || this.namedVariables.has(name) || this.constants.has(name) || this.inputNames.includes(name);
  }

  /** The names of the initializers that the given values (outputs or inner values) depend on. */
  initializersFor(values: string[]): Set<string> {
    const used = new Set<string>();
    const seen = new Set<string>();
    const stack = [...values];
    while (stack.length) {
      const name = stack.pop()!;
      if (!name || seen.has(name)) continue;
      seen.add(name);
      if (this.namedVariables.has(name) || this.constants.has(name)) used.add(name);
      const i = this.producerOf.get(name);
      if (i != null) stack.push(...this.nodes[i].inputs);
    }
    return used;
  }

  /** Initializers by name (a state dict in the ONNX graph's own names and layouts). */
  stateDict(): Map<string, tf.Tensor> {
    return new Map([...this.namedVariables, ...this.constants]);
  }

  private plan(nodes: NodeObj[]): PlannedNode[] {
    const missing = new Set<string>();
    const problems: string[] = [];
    const planned: PlannedNode[] = [];
    for (const node of nodes) {
      const domain = node.domain ?? '';
      const op = node.op_type;
      const spec = domain === '' || domain === 'ai.onnx' ? OPS[op] : undefined;
      if (!spec) {
        missing.add(domain && domain !== 'ai.onnx' ? `${domain}::${op}` : op);
        continue;
      }
      const attr = new Attrs(node, this.source);
      const problem = spec.check?.(node, attr, this.opset);
      if (problem) problems.push(`${op} '${node.name ?? ''}': ${problem}`);
      planned.push({ node, spec, attr, inputs: node.input ?? [], outputs: node.output ?? [] });
    }
    if (missing.size || problems.length) throw new OnnxUnsupportedError(this.source, [...missing].sort(), problems);
    planned.forEach((p, i) => p.outputs.forEach((o) => o && this.producerOf.set(o, i)));
    return planned;
  }

  /** Every node input must come from an earlier node, a graph input or an initializer (ONNX requires topological order). */
  private checkWiring(initNames: Set<string>): void {
    const known = new Set<string>([...initNames, ...this.inputs.map((i) => i.name), '']);
    for (const p of this.nodes) {
      for (const i of p.inputs) {
        if (!known.has(i)) throw new FileFormatError(this.source, `node ${p.node.op_type} '${p.node.name ?? ''}' reads '${i}', which no earlier node, input or initializer provides`);
      }
      p.outputs.forEach((o) => known.add(o));
    }
    for (const o of this.outputs) if (!known.has(o.name)) throw new FileFormatError(this.source, `graph output '${o.name}' is never produced`);
  }

  private bind(input: OnnxInput): Map<string, tf.Tensor> {
    const feeds = new Map<string, tf.Tensor>();
    if (input instanceof tf.Tensor) {
      if (this.inputs.length !== 1) throw new ValueError(`${this.source}: the model has ${this.inputs.length} inputs (${this.inputNames.join(', ')}); pass a record`);
      feeds.set(this.inputs[0].name, input);
    } else if (Array.isArray(input)) {
      if (input.length !== this.inputs.length) throw new ValueError(`${this.source}: expected ${this.inputs.length} inputs (${this.inputNames.join(', ')}), got ${input.length}`);
      input.forEach((t, i) => feeds.set(this.inputs[i].name, t));
    } else {
      for (const k of Object.keys(input)) if (!this.inputNames.includes(k)) throw new ValueError(`${this.source}: no input named '${k}' (inputs: ${this.inputNames.join(', ')})`);
      for (const i of this.inputs) {
        if (!(i.name in input)) throw new ValueError(`${this.source}: input '${i.name}' is missing`);
        feeds.set(i.name, input[i.name]);
      }
    }
    for (const info of this.inputs) {
      const t = feeds.get(info.name)!;
      if (!(t instanceof tf.Tensor)) throw new ValueError(`${this.source}: input '${info.name}' is not a tf.Tensor`);
      if (info.shape) {
        const bad = t.rank !== info.shape.length || info.shape.some((d, k) => typeof d === 'number' && d !== t.shape[k]);
        if (bad) throw new ShapeError(`${this.source}: input '${info.name}' has shape [${t.shape}]; the model expects [${info.shape.map((d) => d ?? '?')}]`);
      }
      if (info.dtype !== 'float32' && t.dtype === 'float32') {
        throw new ValueError(`${this.source}: input '${info.name}' must be an integer tensor (${info.onnxType}), got float32`);
      }
    }
    return feeds;
  }

  /** Indices of the nodes needed for `wanted`, in order. */
  private needed(wanted: string[], feeds: Map<string, tf.Tensor>): number[] {
    const need = new Set<number>();
    const stack = [...wanted];
    const seen = new Set<string>();
    while (stack.length) {
      const name = stack.pop()!;
      if (seen.has(name) || feeds.has(name)) continue;
      seen.add(name);
      const i = this.producerOf.get(name);
      if (i == null) {
        if (!this.namedVariables.has(name) && !this.constants.has(name)) throw new ValueError(`${this.source}: no value named '${name}' in the graph`);
        continue;
      }
      if (need.has(i)) continue;
      need.add(i);
      for (const inp of this.nodes[i].inputs) if (inp) stack.push(inp);
    }
    return [...need].sort((a, b) => a - b);
  }

  private run(input: OnnxInput, outputs: string[] | undefined, freeEagerly: boolean): tf.Tensor | Record<string, tf.Tensor> {
    if (this.disposed) throw new ValueError(`${this.source}: the model was disposed`);
    const feeds = this.bind(input);
    const wanted = outputs ?? this.outputNames;
    const order = this.needed(wanted, feeds);
    const result = tf.tidy(() => {
      const values = new Map<string, tf.Tensor>();
      for (const info of this.inputs) {
        const t = feeds.get(info.name)!;
        values.set(info.name, info.dtype === 'float32' && t.dtype !== 'float32' ? tf.cast(t, 'float32') : t);
      }
      const lookup = (name: string): Value | null => {
        if (!name) return null;
        const v = values.get(name) ?? this.namedVariables.get(name) ?? this.constants.get(name);
        if (v == null) throw new ValueError(`${this.source}: value '${name}' is not available`);
        return v;
      };
      // Remaining uses of each intermediate, to free it as soon as it is dead (inference only: a gradient tape
      // still needs them). Several names can hold one tensor (Identity), so tensors are counted by id too.
      const uses = new Map<string, number>();
      if (freeEagerly) for (const i of order) for (const n of this.nodes[i].inputs) uses.set(n, (uses.get(n) ?? 0) + 1);
      const keep = new Set([...wanted, ...feeds.keys()]);
      const holders = new Map<number, number>();
      const hold = (t: tf.Tensor, d: number) => holders.set(t.id, (holders.get(t.id) ?? 0) + d);
      const external = new Set<tf.Tensor>([...feeds.values(), ...this.namedVariables.values(), ...this.constants.values()]);
      for (const i of order) {
        const p = this.nodes[i];
        let out: Value | (Value | null)[];
        try {
          out = p.spec.run(p.inputs.map(lookup), { opset: this.opset, node: p.node, attr: p.attr, numOutputs: p.outputs.length });
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          const Err = e instanceof ShapeError ? ShapeError : ValueError;
          throw new Err(`${this.source}: ${p.node.op_type} '${p.node.name ?? ''}' failed: ${msg}`);
        }
        const outs = Array.isArray(out) ? out : [out];
        p.outputs.forEach((name, k) => {
          if (name && outs[k]) {
            values.set(name, outs[k]!);
            hold(outs[k]!, 1);
          }
        });
        if (freeEagerly) {
          for (const n of p.inputs) {
            const left = (uses.get(n) ?? 0) - 1;
            uses.set(n, left);
            if (left === 0 && !keep.has(n) && values.has(n)) {
              const t = values.get(n)!;
              values.delete(n);
              hold(t, -1);
              if (holders.get(t.id) === 0 && !external.has(t)) t.dispose();
            }
          }
        }
      }
      const fetch = (name: string) => {
        const v = lookup(name)!;
        // Never hand out a variable, constant or the caller's own tensor, which the caller might dispose.
        return external.has(v) ? tf.clone(v) : v;
      };
      if (outputs == null && wanted.length === 1) return fetch(wanted[0]);
      return Object.fromEntries(wanted.map((n) => [n, fetch(n)]));
    });
    return result as tf.Tensor | Record<string, tf.Tensor>;
  }

  /**
   * Runs the graph (gradients can be taken through it). Returns the single output as a tensor, or a record
   * by output name; `outputs` selects other values by name (e.g. an intermediate embedding).
   */
  apply(input: OnnxInput, options: { outputs?: string[] } = {}): tf.Tensor | Record<string, tf.Tensor> {
    return this.run(input, options.outputs, false);
  }

  /** Like `apply`, for inference: frees every intermediate as soon as it is no longer needed. */
  predict(input: OnnxInput, options: { outputs?: string[] } = {}): tf.Tensor | Record<string, tf.Tensor> {
    return this.run(input, options.outputs, true);
  }

  /** Releases the variables and constants. */
  dispose(): void {
    this.disposed = true;
    for (const v of this.namedVariables.values()) v.dispose();
    for (const c of this.constants.values()) c.dispose();
  }
}

/** Loads an ONNX model from a path or bytes; see the module doc. Throws FileFormatError / OnnxUnsupportedError. */
export async function importOnnx(source: string | Uint8Array, options: ImportOnnxOptions = {}): Promise<OnnxModel> {
  let bytes: Uint8Array;
  let label: string;
  let baseDir: string | undefined;
  if (typeof source === 'string') {
    label = source;
    baseDir = path.dirname(path.resolve(source));
    bytes = await fsp.readFile(source).catch((e) => {
      throw new FileFormatError(source, `cannot open: ${(e as Error).message}`);
    });
  } else {
    label = '<onnx bytes>';
    bytes = source;
  }
  return new OnnxModel(label, decodeModel(bytes, label), baseDir, options);
}
