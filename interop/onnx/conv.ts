/**
 * ONNX Conv and pooling (1D/2D/3D, channels-first), built from ops that are fast and differentiable on every
 * backend, wasm included:
 *
 * - Convolution delegates to geoclr's own `conv2d` / `conv3d` (src/nn/ops/conv.ts: channels-last, PyTorch-layout
 *   weights; on wasm a 3D conv is a sum of XNNPACK 2D convs with hand-written backward passes). ONNX's extras are
 *   reduced to them here: asymmetric pads become an explicit tf.pad, dilation spreads the kernel with zeros, groups
 *   are separate convolutions, and 1D is 2D with height 1.
 * - Pooling separates depth from height/width; average pooling divides a window sum by the number of counted
 *   positions (PyTorch's and ONNX's count_include_pad and ceil_mode rules); max pooling has its own gradient
 *   (tfjs 4.22's wasm MaxPoolGrad is wrong for some shapes).
 *
 * All slicing happens on tensors of rank ≤ 4 (rank-5 slices take a slow generic path on wasm).
 */
import * as tf from '../../src/tf.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import { conv2d, conv3d } from '../../src/nn/ops/conv.js';

/** Spreads a kernel with zeros along `axis` for dilation d: k taps → (k−1)·d + 1 (differentiable). */
function dilateAxis(w: tf.Tensor, axis: number, d: number): tf.Tensor {
  const k = w.shape[axis];
  if (d === 1 || k === 1) return w;
  const before = w.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const after = w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const w3 = tf.reshape(w, [before, k, 1, after]);
  const spread = tf.reshape(tf.pad(w3, [[0, 0], [0, 0], [0, d - 1], [0, 0]]), [before, k * d, after]);
  const cut = tf.slice(spread, [0, 0, 0], [before, (k - 1) * d + 1, after]);
  const shape = [...w.shape];
  shape[axis] = (k - 1) * d + 1;
  return tf.reshape(cut, shape);
}

/**
 * Selects depth planes start, start+stride, … (count of them) of x [N, D, H, W, C] → [N·count, H, W, C], with
 * slices on rank-3 views and a reshape for the stride (both differentiable).
 */
export function depthPlanes(x: tf.Tensor, start: number, count: number, stride: number): tf.Tensor4D {
  const [n, d, h, w, c] = x.shape;
  let x3 = tf.reshape(x, [n, d, h * w * c]);
  if (stride === 1) return tf.reshape(tf.slice(x3, [0, start, 0], [n, count, h * w * c]), [n * count, h, w, c]);
  const need = start + count * stride;
  if (need > d) x3 = tf.pad(x3, [[0, 0], [0, need - d], [0, 0]]);
  const span = tf.reshape(tf.slice(x3, [0, start, 0], [n, count * stride, h * w * c]), [n, count, stride, h * w * c]);
  return tf.reshape(tf.slice(span, [0, 0, 0, 0], [n, count, 1, h * w * c]), [n * count, h, w, c]);
}

export interface ConvAttrs {
  kernelShape: number[];
  strides: number[];
  dilations: number[];
  /** [b1, b2, …, e1, e2, …] as in ONNX. */
  pads: number[];
  group: number;
}

/** Resolves ONNX auto_pad into explicit pads for the given input spatial shape. */
export function resolvePads(
  autoPad: string,
  pads: number[] | null,
  spatial: number[],
  kernel: number[],
  strides: number[],
  dilations: number[],
): number[] {
  const r = spatial.length;
  if (autoPad === 'NOTSET' || autoPad === '') return pads ?? new Array(2 * r).fill(0);
  if (autoPad === 'VALID') return new Array(2 * r).fill(0);
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') throw new ValueError(`auto_pad '${autoPad}' is not an ONNX value`);
  const out = new Array(2 * r).fill(0);
  for (let i = 0; i < r; i++) {
    const eff = (kernel[i] - 1) * dilations[i] + 1;
    const total = Math.max(0, (Math.ceil(spatial[i] / strides[i]) - 1) * strides[i] + eff - spatial[i]);
    const small = Math.floor(total / 2);
    out[i] = autoPad === 'SAME_UPPER' ? small : total - small;
    out[i + r] = total - out[i];
  }
  return out;
}

/** [N, C, …spatial] ↔ [N, …spatial, C] through rank-3 views (rank-5 transposes are slow on wasm). */
export function toChannelsLast(x: tf.Tensor): tf.Tensor {
  const [n, c, ...sp] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [n, c, -1]), [0, 2, 1]), [n, ...sp, c]);
}
export function toChannelsFirst(x: tf.Tensor): tf.Tensor {
  const n = x.shape[0];
  const c = x.shape[x.rank - 1];
  const sp = x.shape.slice(1, -1);
  return tf.reshape(tf.transpose(tf.reshape(x, [n, -1, c]), [0, 2, 1]), [n, c, ...sp]);
}

/** ONNX Conv: x [N, C, …spatial], w [O, C/group, …k] (PyTorch layout), optional bias [O]. */
export function onnxConv(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor | null, a: ConvAttrs): tf.Tensor {
  const r = x.rank - 2;
  if (r < 1 || r > 3) throw new ShapeError(`Conv supports 1D–3D inputs, got shape [${x.shape}]`);
  if (w.rank !== x.rank) throw new ShapeError(`Conv weight shape [${w.shape}] does not match input rank ${x.rank}`);
  const g = a.group;
  const c = x.shape[1];
  const o = w.shape[0];
  if (c !== w.shape[1]! * g || o! % g !== 0) throw new ShapeError(`Conv: input channels ${c}, weight [${w.shape}], group ${g} do not fit`);
  // Channels-last; 1D lifted to 2D (height 1).
  let xl = toChannelsLast(x);
  let ww = w;
  let strides = a.strides;
  let before = a.pads.slice(0, r);
  let after = a.pads.slice(r);
  if (r === 1) {
    xl = tf.expandDims(xl, 1);
    ww = tf.expandDims(w, 2);
    strides = [1, ...strides];
    before = [0, ...before];
    after = [0, ...after];
  }
  const rr = Math.max(r, 2);
  const dil = r === 1 ? [1, ...a.dilations] : a.dilations;
  for (let i = 0; i < rr; i++) ww = dilateAxis(ww, i + 2, dil[i]);
  // Symmetric padding goes to the conv; anything else is padded here.
  const symmetric = before.every((b, i) => b === after[i]);
  if (!symmetric) xl = tf.pad(xl, [[0, 0], ...before.map((b, i) => [b, after[i]] as [number, number]), [0, 0]]);
  const padding = symmetric ? before : new Array(rr).fill(0);
  const conv = (xi: tf.Tensor, wi: tf.Tensor) =>
    rr === 3 ? conv3d(xi, wi, null, { stride: strides, padding }) : conv2d(xi, wi, null, { stride: strides, padding });
  let yl: tf.Tensor;
  if (g === 1) yl = conv(xl, ww);
  else {
    const xs = tf.split(xl, g, xl.rank - 1);
    const ws = tf.split(ww, g, 0);
    yl = tf.concat(xs.map((xg, i) => conv(xg, ws[i])), xl.rank - 1);
  }
  if (bias) yl = tf.add(yl, bias);
  if (r === 1) yl = tf.squeeze(yl, [1]);
  return toChannelsFirst(yl);
}

export interface PoolAttrs {
  kernelShape: number[];
  strides: number[];
  pads: number[];
  ceilMode: boolean;
  countIncludePad: boolean;
}

/** Output length and extra end padding for one pooled axis (ceil_mode drops a window that starts in padding). */
function poolAxis(len: number, k: number, s: number, pb: number, pe: number, ceil: boolean): { out: number; extra: number } {
  const padded = len + pb + pe;
  let out = (ceil ? Math.ceil((padded - k) / s) : Math.floor((padded - k) / s)) + 1;
  if (ceil && (out - 1) * s >= len + pb) out -= 1;
  if (out <= 0) throw new ShapeError(`pooling window ${k} does not fit an axis of length ${len} (+ padding ${pb + pe})`);
  return { out, extra: Math.max(0, (out - 1) * s + k - padded) };
}

/** ONNX MaxPool / AveragePool on x [N, C, …spatial] (1D–3D). */
export function onnxPool(kind: 'max' | 'avg', x: tf.Tensor, a: PoolAttrs): tf.Tensor {
  const r = x.rank - 2;
  if (r < 1 || r > 3) throw new ShapeError(`${kind === 'max' ? 'MaxPool' : 'AveragePool'} supports 1D–3D inputs, got shape [${x.shape}]`);
  const spatial = x.shape.slice(2);
  const axes = spatial.map((len, i) => poolAxis(len, a.kernelShape[i], a.strides[i], a.pads[i], a.pads[i + r], a.ceilMode));
  // Lift 1D to 2D (height 1) so everything below is 2D or 3D.
  const lift = r === 1;
  let xl = toChannelsLast(x);
  let k = a.kernelShape;
  let s = a.strides;
  let padPairs: [number, number][] = axes.map((ax, i) => [a.pads[i], a.pads[i + r] + ax.extra]);
  let realPad: [number, number][] = axes.map((_, i) => [a.pads[i], a.pads[i + r]]);
  if (lift) {
    xl = tf.expandDims(xl, 1);
    k = [1, ...k];
    s = [1, ...s];
    padPairs = [[0, 0], ...padPairs];
    realPad = [[0, 0], ...realPad];
  }
  const fill = kind === 'max' ? -Infinity : 0;
  const padded = padPairs.some(([b, e]) => b || e) ? tf.pad(xl, [[0, 0], ...padPairs, [0, 0]], fill) : xl;
  let y: tf.Tensor;
  if (kind === 'max') y = poolSum(padded, k, s, 'max');
  else {
    const sum = poolSum(padded, k, s, 'sum');
    const window = k.reduce((p, q) => p * q, 1);
    const anyExtra = axes.some((ax) => ax.extra > 0);
    const anyPad = padPairs.some(([b, e]) => b || e);
    if (!anyPad || (a.countIncludePad && !anyExtra)) y = tf.div(sum, window);
    else {
      // Count the positions each window averages: real input, plus explicit padding if count_include_pad.
      const dims = xl.shape.slice(1, -1);
      let mask = tf.ones([1, ...dims, 1]);
      if (a.countIncludePad) mask = tf.pad(mask, [[0, 0], ...realPad, [0, 0]], 1);
      const extraPad = padPairs.map(([b, e], i) => (a.countIncludePad ? [0, e - realPad[i][1]] : [b, e]) as [number, number]);
      mask = tf.pad(mask, [[0, 0], ...extraPad, [0, 0]], 0);
      y = tf.div(sum, poolSum(mask, k, s, 'sum'));
    }
  }
  if (lift) y = tf.squeeze(y, [1]);
  return toChannelsFirst(y);
}

/**
 * Max pooling ('valid', channels-last) with its own gradient: dy goes to the first position (row-major) of each
 * window that holds the maximum, as in PyTorch. tfjs 4.22's wasm MaxPoolGrad and MaxPoolWithArgmax get some
 * windows wrong, so the gradient is built from element-wise ops, one kernel tap at a time.
 */
export function maxPool2dValid(x: tf.Tensor4D, k: [number, number], s: [number, number]): tf.Tensor4D {
  const op = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.maxPool(xi as tf.Tensor4D, k, s, 'valid');
    save([xi, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor4D, tf.Tensor4D];
        const [n, h, w, c] = sx.shape;
        const [, ho, wo] = sy.shape;
        let taken = tf.zeros(sy.shape, 'bool');
        let dx: tf.Tensor | null = null;
        for (let i = 0; i < k[0]; i++) {
          for (let j = 0; j < k[1]; j++) {
            const xs = tf.stridedSlice(sx, [0, i, j, 0], [n, i + (ho - 1) * s[0] + 1, j + (wo - 1) * s[1] + 1, c], [1, s[0], s[1], 1]);
            const hit = tf.logicalAnd(tf.equal(xs, sy), tf.logicalNot(taken));
            taken = tf.logicalOr(taken, hit);
            const part = placeStrided(tf.where(hit, dy, tf.zerosLike(dy)) as tf.Tensor4D, i, j, s, h, w);
            dx = dx == null ? part : tf.add(dx, part);
          }
        }
        return [dx!];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as (a: tf.Tensor) => tf.Tensor)(x) as tf.Tensor4D;
}

/** Scatters v [N, Ho, Wo, C] to rows i + ho·sh and columns j + wo·sw of a zero [N, H, W, C] (rank ≤ 4 ops). */
function placeStrided(v: tf.Tensor4D, i: number, j: number, [sh, sw]: [number, number], h: number, w: number): tf.Tensor4D {
  const [n, ho, wo, c] = v.shape;
  const fit = (t: tf.Tensor3D, before: number, len: number): tf.Tensor3D => {
    // t [A, L, B]: shift right by `before`, then cut or pad to length len.
    const [a, l, b] = t.shape;
    const padded = tf.pad(t, [[0, 0], [before, Math.max(0, len - before - l)], [0, 0]]);
    return padded.shape[1] === len ? padded : tf.slice(padded, [0, 0, 0], [a, len, b]);
  };
  let rows = tf.reshape(v, [n, ho, 1, wo * c]);
  if (sh > 1) rows = tf.pad(rows, [[0, 0], [0, 0], [0, sh - 1], [0, 0]]);
  const r3 = fit(tf.reshape(rows, [n, ho * sh, wo * c]), i, h);
  let cols = tf.reshape(r3, [n * h, wo, 1, c]);
  if (sw > 1) cols = tf.pad(cols, [[0, 0], [0, 0], [0, sw - 1], [0, 0]]);
  const c3 = fit(tf.reshape(cols, [n * h, wo * sw, c]), j, w);
  return tf.reshape(c3, [n, h, w, c]);
}

/** Window max or sum over an already padded channels-last 2D/3D tensor ('valid' windows). */
function poolSum(x: tf.Tensor, k: number[], s: number[], op: 'max' | 'sum'): tf.Tensor {
  const pool2d = (t: tf.Tensor4D, kk: [number, number], ss: [number, number]) =>
    op === 'max' ? maxPool2dValid(t, kk, ss) : tf.mul(tf.avgPool(t, kk, ss, 'valid'), kk[0] * kk[1]);
  if (x.rank === 4) return pool2d(x as tf.Tensor4D, [k[0], k[1]], [s[0], s[1]]);
  // 3D: pool height/width on every depth plane, then combine kd planes along depth.
  const [n, d, h, w, c] = x.shape;
  const hw = pool2d(tf.reshape(x, [n * d, h, w, c]), [k[1], k[2]], [s[1], s[2]]);
  const [, ho, wo] = hw.shape;
  const planes = tf.reshape(hw, [n, d, ho, wo, c]);
  const dOut = Math.floor((d - k[0]) / s[0]) + 1;
  let acc: tf.Tensor | null = null;
  for (let i = 0; i < k[0]; i++) {
    const p = depthPlanes(planes, i, dOut, s[0]);
    acc = acc == null ? p : op === 'max' ? tf.maximum(acc, p) : tf.add(acc, p);
  }
  return tf.reshape(acc!, [n, dOut, ho, wo, c]);
}
