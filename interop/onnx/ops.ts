/**
 * ONNX operators as tfjs ops (default domain, opsets 11–17 and the attribute→input changes between them).
 * Every op works in ONNX's layout (channels-first); convolution and pooling transpose internally (conv.ts).
 * Integer tensors are int32 (ONNX int64 values saturate to the int32 range, which covers shapes, indices and the
 * INT64_MAX "to the end" sentinel of Slice).
 *
 * Ops whose tfjs gradient needs a kernel that wasm lacks are rewritten: Gather (scatterND gradient), strided
 * Slice (reshape instead of StridedSlice), Conv (conv.ts).
 */
import * as tf from '../../src/tf.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import { onnxConv, onnxPool, resolvePads } from './conv.js';
import { OnnxDataType, hostToTensor, tensorFromProto, toNumber, type AttributeObj, type NodeObj } from './proto.js';

export type Value = tf.Tensor;

/** Attribute access with ONNX defaults. */
export class Attrs {
  private readonly map: Map<string, AttributeObj>;
  constructor(
    node: NodeObj,
    private readonly where: string,
  ) {
    this.map = new Map((node.attribute ?? []).map((a) => [a.name, a]));
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  int(name: string, def: number): number {
    const a = this.map.get(name);
    return a?.i != null ? toNumber(a.i) : def;
  }
  ints(name: string, def: number[] | null): number[] | null {
    const a = this.map.get(name);
    return a?.ints ? a.ints.map(toNumber) : def;
  }
  float(name: string, def: number): number {
    const a = this.map.get(name);
    return a?.f ?? def;
  }
  floats(name: string): number[] | null {
    return this.map.get(name)?.floats ?? null;
  }
  string(name: string, def: string): string {
    const s = this.map.get(name)?.s;
    return s ? new TextDecoder().decode(s) : def;
  }
  tensor(name: string): tf.Tensor | null {
    const t = this.map.get(name)?.t;
    return t ? hostToTensor(tensorFromProto(t, this.where)) : null;
  }
}

export interface OpContext {
  opset: number;
  node: NodeObj;
  attr: Attrs;
  /** How many outputs the node declares (some are optional and named ''). */
  numOutputs: number;
}

export interface OpSpec {
  run(inputs: (Value | null)[], ctx: OpContext): Value | (Value | null)[];
  /** Import-time check of attributes this implementation does not cover; returns the problem or null. */
  check?(node: NodeObj, attr: Attrs, opset: number): string | null;
}

// --- helpers ---------------------------------------------------------------------------------------------------

/** Reads a small integer tensor (shapes, axes, indices) on the host. */
export function hostInts(t: Value | null): number[] | null {
  if (t == null) return null;
  return Array.from(t.dataSync(), (v) => Number(v));
}

function need(inputs: (Value | null)[], i: number, ctx: OpContext): Value {
  const v = inputs[i];
  if (v == null) throw new ValueError(`${ctx.node.op_type} '${ctx.node.name ?? ''}': input ${i} is required`);
  return v;
}

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function isFloat(t: Value): boolean {
  return t.dtype === 'float32';
}

/** Brings two tensors to a common dtype for arithmetic (bool → int32, int32 + float → float32). */
function unify(a: Value, b: Value): [Value, Value] {
  const kind = (t: Value) => (t.dtype === 'bool' ? 'int32' : t.dtype);
  const ka = kind(a);
  const kb = kind(b);
  const target = ka === 'float32' || kb === 'float32' ? 'float32' : 'int32';
  return [a.dtype === target ? a : tf.cast(a, target), b.dtype === target ? b : tf.cast(b, target)];
}

const binary = (f: (a: Value, b: Value) => Value): OpSpec => ({
  run: (x, ctx) => {
    const [a, b] = unify(need(x, 0, ctx), need(x, 1, ctx));
    return f(a, b);
  },
});
const unary = (f: (a: Value, ctx: OpContext) => Value): OpSpec => ({ run: (x, ctx) => f(need(x, 0, ctx), ctx) });
const compare = (f: (a: Value, b: Value) => Value): OpSpec => binary(f);

function trunc(x: Value): Value {
  return tf.mul(tf.sign(x), tf.floor(tf.abs(x)));
}

/** Numpy-style matmul with rank-1 operands and batch broadcasting. */
function matmul(a: Value, b: Value): Value {
  let aa = a.rank === 1 ? tf.reshape(a, [1, a.shape[0]]) : a;
  let bb = b.rank === 1 ? tf.reshape(b, [b.shape[0], 1]) : b;
  let y: Value;
  if (bb.rank === 2 && aa.rank > 2) {
    // [..., m, k] × [k, n]: one 2-D product.
    const lead = aa.shape.slice(0, -1);
    y = tf.reshape(tf.matMul(tf.reshape(aa, [-1, aa.shape[aa.rank - 1]]) as tf.Tensor2D, bb as tf.Tensor2D), [...lead, bb.shape[1]!]);
  } else {
    const rank = Math.max(aa.rank, bb.rank);
    while (aa.rank < rank) aa = tf.expandDims(aa, 0);
    while (bb.rank < rank) bb = tf.expandDims(bb, 0);
    const batchA = aa.shape.slice(0, -2);
    const batchB = bb.shape.slice(0, -2);
    const batch = batchA.map((d, i) => Math.max(d, batchB[i]));
    if (batchA.some((d, i) => d !== batch[i])) aa = tf.broadcastTo(aa, [...batch, ...aa.shape.slice(-2)]);
    if (batchB.some((d, i) => d !== batch[i])) bb = tf.broadcastTo(bb, [...batch, ...bb.shape.slice(-2)]);
    y = tf.matMul(aa, bb);
  }
  if (a.rank === 1) y = tf.squeeze(y, [y.rank - 2]);
  if (b.rank === 1) y = tf.squeeze(y, [y.rank - 1]);
  return y;
}

/** Softmax-like ops along any axis (tfjs computes along the last one). */
function alongAxis(x: Value, axis: number, f: (t: Value) => Value): Value {
  const ax = normAxis(axis, x.rank);
  if (ax === x.rank - 1) return f(x);
  const perm = Array.from({ length: x.rank }, (_, i) => i);
  perm[ax] = x.rank - 1;
  perm[x.rank - 1] = ax;
  return tf.transpose(f(tf.transpose(x, perm)), perm);
}

/** Opset < 13 softmax: flatten to 2-D at `axis`, apply, restore. */
function coerced2d(x: Value, axis: number, f: (t: Value) => Value): Value {
  const ax = normAxis(axis, x.rank);
  const rows = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  return tf.reshape(f(tf.reshape(x, [rows, -1])), x.shape);
}

/**
 * Gather along axis 0 with a gradient built from scatterND (tf.gather's gradient needs UnsortedSegmentSum,
 * which wasm lacks; scatterND sums duplicate indices, as an embedding gradient must).
 */
function gatherRows(params: Value, indices: Value): Value {
  const op = tf.customGrad(((p: tf.Tensor, idx: tf.Tensor, save: tf.GradSaveFunc) => {
    save([idx]);
    const flat = tf.reshape(idx, [-1]);
    const rows = tf.gather(p, flat, 0);
    return {
      value: tf.reshape(rows, [...idx.shape, ...p.shape.slice(1)]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sidx] = saved;
        const count = sidx.size;
        const d2 = tf.reshape(dy, [count, ...p.shape.slice(1)]);
        const dp = tf.scatterND(tf.reshape(sidx, [count, 1]), d2, p.shape);
        return [dp, tf.zerosLike(sidx)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor)(params, indices);
}

function gather(data: Value, indices: Value, axis: number): Value {
  const ax = normAxis(axis, data.rank);
  const dim = data.shape[ax];
  let idx = indices.dtype === 'int32' ? indices : tf.cast(indices, 'int32');
  // Negative indices count from the end.
  idx = tf.where(tf.less(idx, tf.scalar(0, 'int32')), tf.add(idx, tf.scalar(dim, 'int32')), idx);
  if (!isFloat(data)) {
    const flat = tf.gather(data, tf.reshape(idx, [-1]), ax);
    return tf.reshape(flat, [...data.shape.slice(0, ax), ...indices.shape, ...data.shape.slice(ax + 1)]);
  }
  if (ax === 0) return gatherRows(data, idx);
  // Move the axis to the front, gather rows, move the index dims back to where the axis was.
  const perm = [ax, ...Array.from({ length: data.rank }, (_, i) => i).filter((i) => i !== ax)];
  const rows = gatherRows(tf.transpose(data, perm), idx); // [idx…, other dims in order]
  const q = indices.rank;
  const before = ax;
  const order = [...Array.from({ length: before }, (_, i) => q + i), ...Array.from({ length: q }, (_, i) => i), ...Array.from({ length: data.rank - 1 - before }, (_, i) => q + before + i)];
  return tf.transpose(rows, order);
}

/** Numpy/ONNX Slice on one axis with any step, differentiably (no StridedSlice). */
function sliceAxis(x: Value, axis: number, start: number, end: number, step: number): Value {
  const dim = x.shape[axis];
  if (step === 0) throw new ValueError('Slice: step 0');
  if (step > 0) {
    const s = Math.min(Math.max(start < 0 ? start + dim : start, 0), dim);
    const e = Math.min(Math.max(end < 0 ? end + dim : end, 0), dim);
    const len = Math.max(0, e - s);
    const begin = new Array(x.rank).fill(0);
    const size = [...x.shape];
    begin[axis] = s;
    size[axis] = len;
    let y = tf.slice(x, begin, size);
    if (step > 1 && len > 0) {
      const count = Math.ceil(len / step);
      const padTo = count * step;
      if (padTo > len) {
        const pads = x.shape.map(() => [0, 0] as [number, number]);
        pads[axis] = [0, padTo - len];
        y = tf.pad(y, pads);
      }
      const shape = [...y.shape.slice(0, axis), count, step, ...y.shape.slice(axis + 1)];
      const b2 = new Array(shape.length).fill(0);
      const s2 = [...shape];
      s2[axis + 1] = 1;
      y = tf.reshape(tf.slice(tf.reshape(y, shape), b2, s2), [...y.shape.slice(0, axis), count, ...y.shape.slice(axis + 1)]);
    }
    return y;
  }
  // Negative step: reverse the axis and slice forward.
  const s = Math.min(Math.max(start < 0 ? start + dim : start, -1), dim - 1);
  const e = Math.min(Math.max(end < 0 ? end + dim : end, -1), dim - 1);
  const rev = tf.reverse(x, [axis]);
  // Index i in x is dim-1-i in rev.
  return sliceAxis(rev, axis, dim - 1 - s, dim - 1 - e, -step);
}

function reduce(kind: string): OpSpec {
  return {
    run: (x, ctx) => {
      const data = need(x, 0, ctx);
      const keep = ctx.attr.int('keepdims', 1) === 1;
      const axesFromInput = ctx.opset >= 18 || (kind === 'ReduceSum' && ctx.opset >= 13);
      let axes = axesFromInput ? hostInts(x[1] ?? null) : ctx.attr.ints('axes', null);
      if (axes == null || axes.length === 0) {
        if (ctx.attr.int('noop_with_empty_axes', 0) === 1) return data;
        axes = Array.from({ length: data.rank }, (_, i) => i);
      }
      const ax = axes.map((a) => normAxis(a, data.rank));
      const f = isFloat(data) ? data : tf.cast(data, 'float32');
      let y: Value;
      switch (kind) {
        case 'ReduceMean': y = tf.mean(f, ax, keep); break;
        case 'ReduceSum': y = tf.sum(data, ax, keep); break;
        case 'ReduceMax': y = tf.max(data, ax, keep); break;
        case 'ReduceMin': y = tf.min(data, ax, keep); break;
        case 'ReduceProd': y = tf.prod(data, ax, keep); break;
        case 'ReduceL1': y = tf.sum(tf.abs(f), ax, keep); break;
        case 'ReduceL2': y = tf.sqrt(tf.sum(tf.square(f), ax, keep)); break;
        case 'ReduceSumSquare': y = tf.sum(tf.square(f), ax, keep); break;
        case 'ReduceLogSum': y = tf.log(tf.sum(f, ax, keep)); break;
        case 'ReduceLogSumExp': y = tf.logSumExp(f, ax, keep); break;
        default: throw new ValueError(`unknown reduction ${kind}`);
      }
      return y;
    },
  };
}

function castTo(x: Value, to: number): Value {
  switch (to) {
    case OnnxDataType.FLOAT:
    case OnnxDataType.DOUBLE:
    case OnnxDataType.FLOAT16:
    case OnnxDataType.BFLOAT16:
      return x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    case OnnxDataType.BOOL:
      return x.dtype === 'bool' ? x : tf.notEqual(x, 0);
    case OnnxDataType.INT64:
    case OnnxDataType.INT32:
    case OnnxDataType.INT16:
    case OnnxDataType.INT8:
    case OnnxDataType.UINT8:
    case OnnxDataType.UINT16:
    case OnnxDataType.UINT32:
    case OnnxDataType.UINT64:
      return x.dtype === 'int32' ? x : tf.cast(x.dtype === 'float32' ? trunc(x) : x, 'int32');
    default:
      throw new ValueError(`Cast to ONNX type ${to} is not supported`);
  }
}

function broadcastShapes(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  const pa = [...new Array(r - a.length).fill(1), ...a];
  const pb = [...new Array(r - b.length).fill(1), ...b];
  return pa.map((d, i) => {
    if (d === pb[i] || pb[i] === 1) return d;
    if (d === 1) return pb[i];
    throw new ShapeError(`shapes [${a}] and [${b}] do not broadcast`);
  });
}

function poolAttrs(x: Value, a: Attrs): { kernelShape: number[]; strides: number[]; pads: number[]; ceilMode: boolean; countIncludePad: boolean } {
  const r = x.rank - 2;
  const kernelShape = a.ints('kernel_shape', null);
  if (!kernelShape) throw new ValueError('pooling needs kernel_shape');
  const strides = a.ints('strides', null) ?? new Array(r).fill(1);
  const pads = resolvePads(a.string('auto_pad', 'NOTSET'), a.ints('pads', null), x.shape.slice(2), kernelShape, strides, new Array(r).fill(1));
  return { kernelShape, strides, pads, ceilMode: a.int('ceil_mode', 0) === 1, countIncludePad: a.int('count_include_pad', 0) === 1 };
}

// --- the registry ----------------------------------------------------------------------------------------------

export const OPS: Record<string, OpSpec> = {
  // Element-wise arithmetic (numpy broadcasting, as tfjs).
  Add: binary((a, b) => tf.add(a, b)),
  Sub: binary((a, b) => tf.sub(a, b)),
  Mul: binary((a, b) => tf.mul(a, b)),
  Div: binary((a, b) => (a.dtype === 'int32' ? tf.cast(trunc(tf.div(tf.cast(a, 'float32'), tf.cast(b, 'float32'))), 'int32') : tf.div(a, b))),
  Pow: { run: (x, ctx) => { const a = need(x, 0, ctx); const b = need(x, 1, ctx); return tf.pow(a, b.dtype === a.dtype ? b : tf.cast(b, a.dtype)); } },
  Mod: binary((a, b) => tf.mod(a, b)),
  Max: { run: (x) => (x.filter(Boolean) as Value[]).reduce((a, b) => tf.maximum(a, b)) },
  Min: { run: (x) => (x.filter(Boolean) as Value[]).reduce((a, b) => tf.minimum(a, b)) },
  Sum: { run: (x) => (x.filter(Boolean) as Value[]).reduce((a, b) => tf.add(a, b)) },
  Mean: { run: (x) => { const v = x.filter(Boolean) as Value[]; return tf.div(v.reduce((a, b) => tf.add(a, b)), v.length); } },
  Neg: unary((a) => tf.neg(a)),
  Abs: unary((a) => tf.abs(a)),
  Reciprocal: unary((a) => tf.reciprocal(a)),
  Sqrt: unary((a) => tf.sqrt(a)),
  Exp: unary((a) => tf.exp(a)),
  Log: unary((a) => tf.log(a)),
  Floor: unary((a) => tf.floor(a)),
  Ceil: unary((a) => tf.ceil(a)),
  Round: unary((a) => tf.round(a)),
  Sign: unary((a) => tf.sign(a)),
  Sin: unary((a) => tf.sin(a)),
  Cos: unary((a) => tf.cos(a)),
  Erf: unary((a) => tf.erf(a)),
  // Activations.
  Relu: unary((a) => tf.relu(a)),
  Sigmoid: unary((a) => tf.sigmoid(a)),
  Tanh: unary((a) => tf.tanh(a)),
  Softplus: unary((a) => tf.softplus(a)),
  Softsign: unary((a) => tf.div(a, tf.add(tf.abs(a), 1))),
  LeakyRelu: unary((a, c) => tf.leakyRelu(a, c.attr.float('alpha', 0.01))),
  Elu: unary((a, c) => {
    const alpha = c.attr.float('alpha', 1);
    return alpha === 1 ? tf.elu(a) : tf.where(tf.greater(a, 0), a, tf.mul(alpha, tf.sub(tf.exp(a), 1)));
  }),
  Selu: unary((a, c) => {
    const alpha = c.attr.float('alpha', 1.67326319217681884765625);
    const gamma = c.attr.float('gamma', 1.05070102214813232421875);
    return tf.mul(gamma, tf.where(tf.greater(a, 0), a, tf.mul(alpha, tf.sub(tf.exp(a), 1))));
  }),
  HardSigmoid: unary((a, c) => tf.clipByValue(tf.add(tf.mul(a, c.attr.float('alpha', 0.2)), c.attr.float('beta', 0.5)), 0, 1)),
  HardSwish: unary((a) => tf.mul(a, tf.clipByValue(tf.add(tf.div(a, 6), 0.5), 0, 1))),
  PRelu: { run: (x, ctx) => { const a = need(x, 0, ctx); const s = need(x, 1, ctx); return tf.add(tf.relu(a), tf.mul(s, tf.minimum(a, 0))); } },
  Gelu: unary((a, c) => {
    if (c.attr.string('approximate', 'none') === 'tanh') {
      const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(a, tf.mul(0.044715, tf.pow(a, 3))));
      return tf.mul(tf.mul(0.5, a), tf.add(1, tf.tanh(inner)));
    }
    return tf.mul(tf.mul(0.5, a), tf.add(1, tf.erf(tf.div(a, Math.SQRT2))));
  }),
  Clip: {
    run: (x, ctx) => {
      const a = need(x, 0, ctx);
      const scalar = (t: Value | null | undefined, def: number) => (t ? Number(t.dataSync()[0]) : def);
      const lo = ctx.opset >= 11 ? scalar(x[1], -Infinity) : ctx.attr.float('min', -Infinity);
      const hi = ctx.opset >= 11 ? scalar(x[2], Infinity) : ctx.attr.float('max', Infinity);
      return tf.clipByValue(a, Math.max(lo, -3.4e38), Math.min(hi, 3.4e38));
    },
  },
  Softmax: { run: (x, ctx) => { const a = need(x, 0, ctx); const axis = ctx.attr.int('axis', ctx.opset >= 13 ? -1 : 1); return ctx.opset >= 13 ? alongAxis(a, axis, (t) => tf.softmax(t)) : coerced2d(a, axis, (t) => tf.softmax(t)); } },
  LogSoftmax: { run: (x, ctx) => { const a = need(x, 0, ctx); const axis = ctx.attr.int('axis', ctx.opset >= 13 ? -1 : 1); return ctx.opset >= 13 ? alongAxis(a, axis, (t) => tf.logSoftmax(t)) : coerced2d(a, axis, (t) => tf.logSoftmax(t)); } },
  // Comparison and logic.
  Equal: compare((a, b) => tf.equal(a, b)),
  Less: compare((a, b) => tf.less(a, b)),
  LessOrEqual: compare((a, b) => tf.lessEqual(a, b)),
  Greater: compare((a, b) => tf.greater(a, b)),
  GreaterOrEqual: compare((a, b) => tf.greaterEqual(a, b)),
  Not: unary((a) => tf.logicalNot(a)),
  And: { run: (x, c) => tf.logicalAnd(need(x, 0, c), need(x, 1, c)) },
  Or: { run: (x, c) => tf.logicalOr(need(x, 0, c), need(x, 1, c)) },
  Xor: { run: (x, c) => tf.logicalXor(need(x, 0, c), need(x, 1, c)) },
  Where: {
    run: (x, ctx) => {
      const cond = need(x, 0, ctx);
      let [a, b] = unify(need(x, 1, ctx), need(x, 2, ctx));
      const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape), b.shape);
      const bc = (t: Value) => (tf.util.arraysEqual(t.shape, shape) ? t : tf.broadcastTo(t, shape));
      a = bc(a);
      b = bc(b);
      return tf.where(bc(cond), a, b);
    },
  },
  // Linear algebra.
  MatMul: { run: (x, c) => matmul(need(x, 0, c), need(x, 1, c)) },
  Gemm: {
    run: (x, ctx) => {
      const a = need(x, 0, ctx) as tf.Tensor2D;
      const b = need(x, 1, ctx) as tf.Tensor2D;
      const alpha = ctx.attr.float('alpha', 1);
      const beta = ctx.attr.float('beta', 1);
      let y: Value = tf.matMul(a, b, ctx.attr.int('transA', 0) === 1, ctx.attr.int('transB', 0) === 1);
      if (alpha !== 1) y = tf.mul(y, alpha);
      const c = x[2];
      if (c) y = tf.add(y, beta === 1 ? c : tf.mul(c, beta));
      return y;
    },
  },
  // Normalisation.
  BatchNormalization: {
    check: (node) => ((node.output?.filter(Boolean).length ?? 1) > 1 ? 'training-mode outputs (running mean/var) are not supported' : null),
    run: (x, ctx) => {
      const [data, scale, bias, mean, variance] = [0, 1, 2, 3, 4].map((i) => need(x, i, ctx));
      const eps = ctx.attr.float('epsilon', 1e-5);
      const shape = [1, data.shape[1], ...new Array(data.rank - 2).fill(1)];
      const r = (t: Value) => tf.reshape(t, shape);
      let mu = r(mean);
      let v = r(variance);
      if (ctx.attr.int('training_mode', 0) === 1) {
        // Training-mode graphs normalise with the batch statistics.
        const axes = [0, ...Array.from({ length: data.rank - 2 }, (_, i) => i + 2)];
        const m = tf.moments(data, axes, true);
        mu = m.mean;
        v = m.variance;
      }
      return tf.add(tf.mul(tf.mul(tf.sub(data, mu), tf.rsqrt(tf.add(v, eps))), r(scale)), r(bias));
    },
  },
  InstanceNormalization: {
    run: (x, ctx) => {
      const [data, scale, bias] = [0, 1, 2].map((i) => need(x, i, ctx));
      const axes = Array.from({ length: data.rank - 2 }, (_, i) => i + 2);
      const { mean, variance } = tf.moments(data, axes, true);
      const shape = [1, data.shape[1], ...new Array(data.rank - 2).fill(1)];
      const y = tf.mul(tf.sub(data, mean), tf.rsqrt(tf.add(variance, ctx.attr.float('epsilon', 1e-5))));
      return tf.add(tf.mul(y, tf.reshape(scale, shape)), tf.reshape(bias, shape));
    },
  },
  LayerNormalization: {
    run: (x, ctx) => {
      const data = need(x, 0, ctx);
      const axis = normAxis(ctx.attr.int('axis', -1), data.rank);
      const axes = Array.from({ length: data.rank - axis }, (_, i) => axis + i);
      const { mean, variance } = tf.moments(data, axes, true);
      const inv = tf.rsqrt(tf.add(variance, ctx.attr.float('epsilon', 1e-5)));
      let y = tf.mul(tf.mul(tf.sub(data, mean), inv), need(x, 1, ctx));
      if (x[2]) y = tf.add(y, x[2]);
      return [y, mean, inv];
    },
  },
  // Convolution and pooling.
  Conv: {
    run: (x, ctx) => {
      const data = need(x, 0, ctx);
      const w = need(x, 1, ctx);
      const r = data.rank - 2;
      const kernelShape = ctx.attr.ints('kernel_shape', null) ?? w.shape.slice(2);
      const strides = ctx.attr.ints('strides', null) ?? new Array(r).fill(1);
      const dilations = ctx.attr.ints('dilations', null) ?? new Array(r).fill(1);
      const pads = resolvePads(ctx.attr.string('auto_pad', 'NOTSET'), ctx.attr.ints('pads', null), data.shape.slice(2), kernelShape, strides, dilations);
      return onnxConv(data, w, x[2] ?? null, { kernelShape, strides, dilations, pads, group: ctx.attr.int('group', 1) });
    },
  },
  MaxPool: {
    check: (node, a) => {
      if ((a.ints('dilations', null) ?? []).some((d) => d !== 1)) return 'dilations ≠ 1 are not supported';
      if ((node.output?.filter(Boolean).length ?? 1) > 1) return 'the Indices output is not supported';
      if (a.int('storage_order', 0) !== 0) return 'storage_order = 1 is not supported';
      return null;
    },
    run: (x, ctx) => onnxPool('max', need(x, 0, ctx), poolAttrs(need(x, 0, ctx), ctx.attr)),
  },
  AveragePool: {
    check: (_n, a) => ((a.ints('dilations', null) ?? []).some((d) => d !== 1) ? 'dilations ≠ 1 are not supported' : null),
    run: (x, ctx) => onnxPool('avg', need(x, 0, ctx), poolAttrs(need(x, 0, ctx), ctx.attr)),
  },
  GlobalAveragePool: unary((a) => tf.mean(a, Array.from({ length: a.rank - 2 }, (_, i) => i + 2), true)),
  GlobalMaxPool: unary((a) => tf.max(a, Array.from({ length: a.rank - 2 }, (_, i) => i + 2), true)),
  // Reductions.
  ReduceMean: reduce('ReduceMean'),
  ReduceSum: reduce('ReduceSum'),
  ReduceMax: reduce('ReduceMax'),
  ReduceMin: reduce('ReduceMin'),
  ReduceProd: reduce('ReduceProd'),
  ReduceL1: reduce('ReduceL1'),
  ReduceL2: reduce('ReduceL2'),
  ReduceSumSquare: reduce('ReduceSumSquare'),
  ReduceLogSum: reduce('ReduceLogSum'),
  ReduceLogSumExp: reduce('ReduceLogSumExp'),
  ArgMax: { run: (x, c) => argReduce(need(x, 0, c), c, 'max') },
  ArgMin: { run: (x, c) => argReduce(need(x, 0, c), c, 'min') },
  CumSum: {
    run: (x, ctx) => {
      const axis = hostInts(need(x, 1, ctx))![0];
      return tf.cumsum(need(x, 0, ctx), axis, ctx.attr.int('exclusive', 0) === 1, ctx.attr.int('reverse', 0) === 1);
    },
  },
  // Shape manipulation.
  Identity: unary((a) => a),
  Dropout: { run: (x, ctx) => { const a = need(x, 0, ctx); return ctx.numOutputs > 1 ? [a, tf.onesLike(tf.cast(a, 'bool'))] : a; } },
  Cast: unary((a, c) => castTo(a, c.attr.int('to', OnnxDataType.FLOAT))),
  CastLike: { run: (x, c) => { const t = need(x, 1, c); return t.dtype === 'float32' ? castTo(need(x, 0, c), OnnxDataType.FLOAT) : t.dtype === 'bool' ? castTo(need(x, 0, c), OnnxDataType.BOOL) : castTo(need(x, 0, c), OnnxDataType.INT64); } },
  Shape: {
    run: (x, ctx) => {
      const shape = need(x, 0, ctx).shape;
      const r = shape.length;
      const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + r : i, 0), r);
      const start = clampIdx(ctx.attr.int('start', 0));
      const end = clampIdx(ctx.attr.has('end') ? ctx.attr.int('end', r) : r);
      return tf.tensor1d(shape.slice(start, end), 'int32');
    },
  },
  Size: unary((a) => tf.scalar(a.size, 'int32')),
  Reshape: {
    run: (x, ctx) => {
      const data = need(x, 0, ctx);
      const allowZero = ctx.attr.int('allowzero', 0) === 1;
      const spec = hostInts(need(x, 1, ctx))!.map((d, i) => (d === 0 && !allowZero ? data.shape[i] : d));
      return tf.reshape(data, spec);
    },
  },
  Flatten: unary((a, c) => {
    const axis = normAxis(c.attr.int('axis', 1), a.rank);
    const rows = a.shape.slice(0, axis).reduce((p, q) => p * q, 1);
    return tf.reshape(a, [rows, a.size / Math.max(rows, 1)]);
  }),
  Transpose: unary((a, c) => tf.transpose(a, c.attr.ints('perm', null) ?? undefined)),
  Squeeze: {
    run: (x, ctx) => {
      const data = need(x, 0, ctx);
      const axes = ctx.opset >= 13 ? hostInts(x[1] ?? null) : ctx.attr.ints('axes', null);
      if (axes == null || axes.length === 0) return tf.squeeze(data);
      return tf.squeeze(data, axes.map((a) => normAxis(a, data.rank)));
    },
  },
  Unsqueeze: {
    run: (x, ctx) => {
      const data = need(x, 0, ctx);
      const axes = (ctx.opset >= 13 ? hostInts(need(x, 1, ctx)) : ctx.attr.ints('axes', null))!;
      const outRank = data.rank + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, outRank)));
      const shape: number[] = [];
      let k = 0;
      for (let i = 0; i < outRank; i++) shape.push(set.has(i) ? 1 : data.shape[k++]);
      return tf.reshape(data, shape);
    },
  },
  Concat: {
    run: (x, ctx) => {
      const parts = x.filter((t): t is Value => t != null);
      const axis = normAxis(ctx.attr.int('axis', 0), parts[0].rank);
      const target = parts.some(isFloat) ? 'float32' : parts[0].dtype;
      const nonEmpty = parts.filter((p) => p.size > 0).map((p) => (p.dtype === target ? p : tf.cast(p, target)));
      if (nonEmpty.length === 0) return parts[0];
      return nonEmpty.length === 1 ? nonEmpty[0] : tf.concat(nonEmpty, axis);
    },
  },
  Split: {
    run: (x, ctx) => {
      const data = need(x, 0, ctx);
      const axis = normAxis(ctx.attr.int('axis', 0), data.rank);
      let sizes = ctx.opset >= 13 ? hostInts(x[1] ?? null) : ctx.attr.ints('split', null);
      if (sizes == null || sizes.length === 0) {
        const parts = ctx.attr.int('num_outputs', ctx.numOutputs);
        const each = Math.ceil(data.shape[axis] / parts);
        sizes = Array.from({ length: parts }, (_, i) => Math.min(each, data.shape[axis] - i * each));
      }
      return tf.split(data, sizes, axis);
    },
  },
  Slice: {
    check: (_n, _a, opset) => (opset < 10 ? 'opset < 10 Slice (attributes) is not supported' : null),
    run: (x, ctx) => {
      let data = need(x, 0, ctx);
      const starts = hostInts(need(x, 1, ctx))!;
      const ends = hostInts(need(x, 2, ctx))!;
      const axes = hostInts(x[3] ?? null) ?? starts.map((_, i) => i);
      const steps = hostInts(x[4] ?? null) ?? starts.map(() => 1);
      axes.forEach((a, i) => {
        data = sliceAxis(data, normAxis(a, data.rank), starts[i], ends[i], steps[i]);
      });
      return data;
    },
  },
  Gather: { run: (x, ctx) => gather(need(x, 0, ctx), need(x, 1, ctx), ctx.attr.int('axis', 0)) },
  Expand: {
    run: (x, ctx) => {
      const data = need(x, 0, ctx);
      const shape = broadcastShapes(data.shape, hostInts(need(x, 1, ctx))!);
      return tf.util.arraysEqual(shape, data.shape) ? data : tf.broadcastTo(data, shape);
    },
  },
  Tile: { run: (x, c) => tf.tile(need(x, 0, c), hostInts(need(x, 1, c))!) },
  Pad: {
    run: (x, ctx) => {
      const data = need(x, 0, ctx);
      const mode = ctx.attr.string('mode', 'constant');
      const r = data.rank;
      let pads = ctx.opset >= 11 ? hostInts(need(x, 1, ctx))! : ctx.attr.ints('pads', null)!;
      const value = ctx.opset >= 11 ? (x[2] ? Number(x[2].dataSync()[0]) : 0) : ctx.attr.float('value', 0);
      if (ctx.opset >= 18 && x[3]) {
        const axes = hostInts(x[3])!.map((a) => normAxis(a, r));
        const full = new Array(2 * r).fill(0);
        axes.forEach((a, i) => {
          full[a] = pads[i];
          full[a + r] = pads[i + axes.length];
        });
        pads = full;
      }
      // Negative pads crop.
      let y = data;
      for (let i = 0; i < r; i++) {
        if (pads[i] < 0 || pads[i + r] < 0) y = sliceAxis(y, i, Math.max(0, -pads[i]), y.shape[i] - Math.max(0, -pads[i + r]), 1);
      }
      const spec = Array.from({ length: r }, (_, i) => [Math.max(0, pads[i]), Math.max(0, pads[i + r])] as [number, number]);
      if (spec.every(([b, e]) => b === 0 && e === 0)) return y;
      if (mode === 'constant') return tf.pad(y, spec, value);
      if (mode === 'reflect') return tf.mirrorPad(y, spec, 'reflect');
      if (mode === 'edge') return edgePad(y, spec);
      throw new ValueError(`Pad mode '${mode}' is not supported`);
    },
  },
  Constant: {
    check: (node) => {
      const names = (node.attribute ?? []).map((a) => a.name);
      return names.some((n) => n === 'sparse_value' || n === 'value_string' || n === 'value_strings') ? `attribute ${names.join(', ')} is not supported` : null;
    },
    run: (_x, ctx) => {
      const a = ctx.attr;
      const t = a.tensor('value');
      if (t) return t;
      if (a.has('value_float')) return tf.scalar(a.float('value_float', 0));
      if (a.has('value_floats')) return tf.tensor1d(a.floats('value_floats')!);
      if (a.has('value_int')) return tf.scalar(a.int('value_int', 0), 'int32');
      if (a.has('value_ints')) return tf.tensor1d(a.ints('value_ints', [])!, 'int32');
      throw new ValueError('Constant node without a value');
    },
  },
  ConstantOfShape: {
    run: (x, ctx) => {
      const shape = hostInts(need(x, 0, ctx))!;
      const v = ctx.attr.tensor('value');
      const value = v ? v.dataSync()[0] : 0;
      return tf.fill(shape, Number(value), v?.dtype ?? 'float32');
    },
  },
  Range: {
    run: (x, ctx) => {
      const [start, limit, delta] = [0, 1, 2].map((i) => Number(need(x, i, ctx).dataSync()[0]));
      return tf.range(start, limit, delta, need(x, 0, ctx).dtype === 'float32' ? 'float32' : 'int32');
    },
  },
};

function argReduce(x: Value, ctx: OpContext, kind: 'max' | 'min'): Value {
  const axis = normAxis(ctx.attr.int('axis', 0), x.rank);
  const data = ctx.attr.int('select_last_index', 0) === 1 ? tf.reverse(x, [axis]) : x;
  let idx = kind === 'max' ? tf.argMax(data, axis) : tf.argMin(data, axis);
  if (ctx.attr.int('select_last_index', 0) === 1) idx = tf.sub(tf.scalar(x.shape[axis]! - 1, 'int32'), idx);
  return ctx.attr.int('keepdims', 1) === 1 ? tf.expandDims(idx, axis) : idx;
}

/** Pad by repeating the edge values (ONNX Pad mode 'edge'). */
function edgePad(x: Value, spec: [number, number][]): Value {
  let y = x;
  spec.forEach(([b, e], axis) => {
    const parts: Value[] = [];
    const dim = y.shape[axis];
    const edge = (i: number) => sliceAxis(y, axis, i, i + 1, 1);
    if (b > 0) parts.push(tf.concat(new Array(b).fill(0).map(() => edge(0)), axis));
    parts.push(y);
    if (e > 0) parts.push(tf.concat(new Array(e).fill(0).map(() => edge(dim - 1)), axis));
    if (parts.length > 1) y = tf.concat(parts, axis);
  });
  return y;
}

/** Operator names geoclr can run (default domain). */
export function supportedOps(): string[] {
  return Object.keys(OPS).sort();
}
