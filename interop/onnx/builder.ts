/**
 * A small ONNX graph builder: inputs/outputs (with symbolic dims such as a dynamic batch axis), initializers
 * from tf tensors, nodes with attributes, opset and IR version; serialised with the vendored onnx.proto.
 * It is the foundation of geoclr's encoder export (models pass `onnx.checker.check_model(full_check=True)` and
 * run in onnxruntime).
 *
 *   const g = new OnnxGraphBuilder('encoder');
 *   const x = g.input('image', 'float32', ['batch', 3, 32, 32]);
 *   const w = g.initializer('conv.weight', weightTensor);
 *   const [y] = g.node('Conv', [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
 *   g.output(g.node('Relu', [y])[0], 'float32', ['batch', 8, 32, 32], 'features');
 *   await g.save('encoder.onnx');
 */
import * as tf from '../../src/tf.js';
import { ValueError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { geoclrVersion } from '../version.js';
import { OnnxDataType, encodeModel, tensorToProto, type AttributeObj, type GraphObj, type ModelObj, type NodeObj, type TensorProtoObj, type ValueInfo } from './proto.js';

export type OnnxElemType = 'float32' | 'int64' | 'int32' | 'bool';
const ELEM: Record<OnnxElemType, number> = { float32: OnnxDataType.FLOAT, int64: OnnxDataType.INT64, int32: OnnxDataType.INT32, bool: OnnxDataType.BOOL };

/** A typed attribute value, for when a plain JS value would be ambiguous (e.g. a float that is a whole number). */
export class OnnxAttr {
  private constructor(
    readonly kind: 'float' | 'floats' | 'int' | 'ints' | 'string' | 'tensor',
    readonly value: number | number[] | string | tf.Tensor,
  ) {}
  static float(v: number): OnnxAttr {
    return new OnnxAttr('float', v);
  }
  static floats(v: number[]): OnnxAttr {
    return new OnnxAttr('floats', v);
  }
  static int(v: number): OnnxAttr {
    return new OnnxAttr('int', v);
  }
  static ints(v: number[]): OnnxAttr {
    return new OnnxAttr('ints', v);
  }
  static string(v: string): OnnxAttr {
    return new OnnxAttr('string', v);
  }
  static tensor(v: tf.Tensor): OnnxAttr {
    return new OnnxAttr('tensor', v);
  }
}

/** Plain values: integer → INT, other number → FLOAT, integer array → INTS, number array → FLOATS, string, tensor. */
export type OnnxAttrValue = number | number[] | string | tf.Tensor | OnnxAttr;

const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

function attribute(name: string, v: OnnxAttrValue): AttributeObj {
  const a = v instanceof OnnxAttr ? v : null;
  const kind = a?.kind ?? (typeof v === 'string' ? 'string' : v instanceof tf.Tensor ? 'tensor' : Array.isArray(v) ? (v.every(Number.isInteger) ? 'ints' : 'floats') : Number.isInteger(v) ? 'int' : 'float');
  const val = a ? a.value : v;
  switch (kind) {
    case 'float':
      return { name, type: ATTR.FLOAT, f: val as number };
    case 'int':
      return { name, type: ATTR.INT, i: val as number };
    case 'floats':
      return { name, type: ATTR.FLOATS, floats: val as number[] };
    case 'ints':
      return { name, type: ATTR.INTS, ints: val as number[] };
    case 'string':
      return { name, type: ATTR.STRING, s: new TextEncoder().encode(val as string) };
    case 'tensor':
      return { name, type: ATTR.TENSOR, t: tensorToProto('', val as tf.Tensor) };
  }
}

function valueInfo(name: string, elem: OnnxElemType, shape: (number | string)[] | null): ValueInfo {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ELEM[elem],
        ...(shape ? { shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } : {}),
      },
    },
  };
}

export interface OnnxBuilderOptions {
  /** Default-domain opset (default 17). */
  opset?: number;
  /** IR version (default 8, the one that goes with opset 17). */
  irVersion?: number;
  producerName?: string;
  docString?: string;
  /** Model-level metadata (metadata_props). */
  metadata?: Record<string, string>;
}

export class OnnxGraphBuilder {
  private readonly nodes: NodeObj[] = [];
  private readonly inits: TensorProtoObj[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly names = new Set<string>();
  private readonly extraOpsets = new Map<string, number>();
  private counter = 0;

  constructor(
    readonly name: string,
    private readonly options: OnnxBuilderOptions = {},
  ) {}

  /** A fresh value name with the given prefix. */
  fresh(prefix = 'v'): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`;
    while (this.names.has(n));
    return n;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new ValueError(`ONNX graph '${this.name}': the name '${name}' is already used`);
    this.names.add(name);
    return name;
  }

  /** Declares a graph input; symbolic dims (strings) are dynamic axes, e.g. ['batch', 1, 64, 64, 64]. */
  input(name: string, elem: OnnxElemType, shape: (number | string)[]): string {
    this.inputs.push(valueInfo(this.claim(name), elem, shape));
    return name;
  }

  /** Declares `value` as a graph output (renamed with an Identity node when `as` differs). */
  output(value: string, elem: OnnxElemType, shape: (number | string)[] | null = null, as?: string): string {
    let name = value;
    if (as && as !== value) [name] = this.node('Identity', [value], {}, { outputs: [as] });
    this.outputs.push(valueInfo(name, elem, shape));
    return name;
  }

  /** Adds a tensor initializer (int32 tensors are stored as INT64 unless `elem` says int32). */
  initializer(name: string, t: tf.Tensor, elem?: OnnxElemType): string {
    const intType = elem === 'int32' ? OnnxDataType.INT32 : OnnxDataType.INT64;
    this.inits.push(tensorToProto(this.claim(name), t, { intType }));
    return name;
  }

  /** An int64 1-D initializer (shapes, axes, pads inputs). */
  int64s(values: number[], name = this.fresh('const')): string {
    const t = tf.tensor1d(values, 'int32');
    try {
      return this.initializer(name, t, 'int64');
    } finally {
      t.dispose();
    }
  }

  /**
   * Adds a node; returns its output names (`outputs`: names, or how many fresh ones; default 1).
   * Inputs may be '' for an omitted optional input.
   */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, OnnxAttrValue> = {},
    { outputs = 1, name, domain }: { outputs?: string[] | number; name?: string; domain?: string } = {},
  ): string[] {
    for (const i of inputs) if (i !== '' && !this.names.has(i)) throw new ValueError(`ONNX graph '${this.name}': ${opType} reads '${i}', which is not defined yet`);
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs;
    outs.forEach((o) => this.claim(o));
    if (domain && !this.extraOpsets.has(domain)) this.extraOpsets.set(domain, 1);
    this.nodes.push({
      op_type: opType,
      input: inputs,
      output: outs,
      name: name ?? `${opType}_${this.nodes.length}`,
      ...(domain ? { domain } : {}),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Declares the version of a non-default operator domain. */
  opsetImport(domain: string, version: number): void {
    this.extraOpsets.set(domain, version);
  }

  toModel(): ModelObj {
    if (this.outputs.length === 0) throw new ValueError(`ONNX graph '${this.name}' has no outputs`);
    const graph: GraphObj = { name: this.name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs };
    return {
      ir_version: this.options.irVersion ?? 8,
      producer_name: this.options.producerName ?? 'geoclr',
      producer_version: geoclrVersion(),
      opset_import: [{ domain: '', version: this.options.opset ?? 17 }, ...[...this.extraOpsets].map(([domain, version]) => ({ domain, version }))],
      graph,
      ...(this.options.docString ? { doc_string: this.options.docString } : {}),
      ...(this.options.metadata ? { metadata_props: Object.entries(this.options.metadata).map(([key, value]) => ({ key, value })) } : {}),
    };
  }

  toBytes(): Uint8Array {
    return encodeModel(this.toModel());
  }

  /** Writes the model atomically. */
  async save(file: string): Promise<void> {
    await writeFileAtomic(file, this.toBytes());
  }
}
