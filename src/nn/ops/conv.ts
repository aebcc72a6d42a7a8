/**
 * 2D and 3D convolutions on channels-last tensors with PyTorch-layout filters ([out, in, k…]).
 *
 * Two implementations, chosen per backend (see `convImplementation`):
 * - 'native': tf.conv2d / tf.conv3d with tfjs' own gradients (tfjs-node, WebGL/WebGPU, where these kernels are fast).
 * - 'decomposed' (wasm, cpu): tfjs-wasm's Conv3D is a naive loop (~200× slower than PyTorch) and it has no
 *   Conv2DBackpropFilter, but its Conv2D (XNNPACK) is fast. A 3D conv is a sum over kernel depth of 2D convs on
 *   depth slices ([B, D, H, W, C] viewed as [B·D, H, W, C]); the backward pass is hand-written:
 *     · input gradient: a 2D conv of dy with the flipped, transposed filter (tfjs-wasm's Conv2DBackpropInput is
 *       ~10× slower than Conv2D), after zero-insertion when strided;
 *     · filter gradient: a 2D conv of the transposed input [C, H, W, N] with the transposed output gradient
 *       [Ho, Wo, N, O] as "filter" (dilated by the stride) — XNNPACK runs it at 30–60 GFLOP/s, far faster than
 *       per-tap matmuls (~1 GFLOP/s);
 *     · depth taps of a depth-strided conv are grouped by stride phase, so no zero depth slices are processed;
 *     · 1×1 convs with stride 1 are linear maps over channels (matmul backward).
 *   Every slice is taken on a ≤ 4-D view (rank-5 slices/transposes take a slow generic path on wasm). tfjs-wasm's
 *   own Conv3D gradients are not only slow but wrong for common shapes (input gradient even at stride 1), so the
 *   native path is never chosen on wasm.
 */
import * as tf from '../../tf.js';
import { ShapeError, ValueError } from '../../errors.js';
import { customOp } from './custom.js';
import { channelOp, channelSum } from './channelwise.js';
import { linear } from './dense.js';

export type ConvImplementation = 'auto' | 'native' | 'decomposed';

let implementation: ConvImplementation = 'auto';

/** Forces a convolution implementation ('auto' picks by backend). Mostly for tests and benchmarks. */
export function setConvImplementation(impl: ConvImplementation): void {
  if (!['auto', 'native', 'decomposed'].includes(impl)) {
    throw new ValueError(`setConvImplementation: '${impl}' is not one of auto, native, decomposed`);
  }
  implementation = impl;
}

/** The implementation used on the active backend: native where tfjs' conv kernels are fast, else decomposed. */
export function convImplementation(): 'native' | 'decomposed' {
  if (implementation !== 'auto') return implementation;
  const backend = tf.getBackend();
  return backend === 'tensorflow' || backend === 'webgl' || backend === 'webgpu' ? 'native' : 'decomposed';
}

export interface ConvOptions {
  /** Stride per spatial axis (a number applies to all). Default 1. */
  stride?: number | readonly number[];
  /** Symmetric zero padding per spatial axis (a number applies to all). Default 0. */
  padding?: number | readonly number[];
}

function expand(v: number | readonly number[] | undefined, n: number, dflt: number, what: string): number[] {
  const out = v == null ? new Array(n).fill(dflt) : typeof v === 'number' ? new Array(n).fill(v) : [...v];
  if (out.length !== n || out.some((e) => !Number.isInteger(e) || e < 0)) {
    throw new ValueError(`conv: ${what} must be a non-negative integer or ${n} of them, got ${JSON.stringify(v)}`);
  }
  return out;
}

const prod = (a: readonly number[]) => a.reduce((p, e) => p * e, 1);

/** PyTorch filter [O, I, k…] → tfjs filter [k…, I, O]. */
export function torchToTfFilter(w: tf.Tensor): tf.Tensor {
  const [o, i, ...k] = w.shape;
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(w, [o, i, prod(k)]), [2, 1, 0]), [...k, i, o]));
}

/** tfjs filter [k…, I, O] → PyTorch filter [O, I, k…]. */
export function tfToTorchFilter(f: tf.Tensor): tf.Tensor {
  const k = f.shape.slice(0, -2);
  const [i, o] = f.shape.slice(-2);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(f, [prod(k), i, o]), [2, 1, 0]), [o, i, ...k]));
}

/**
 * The per-depth-tap tfjs filters of a PyTorch weight [O, I, kd, kh, kw] (kd = 1 for 2D): `forward[z]` is
 * [kh, kw, I, O]; `flipped[z]` is the same tap rotated 180° in (kh, kw) with I and O swapped, [kh, kw, O, I] (the
 * filter of the input-gradient conv). Rearranged in JavaScript: weights are small, and tfjs-wasm's Reverse and
 * rank-3 transposes of them cost milliseconds per call.
 */
function filterTaps(w: tf.Tensor, which: 'forward' | 'flipped'): tf.Tensor4D[] {
  const [o, i] = w.shape;
  const k = w.shape.slice(2);
  const [kd, kh, kw] = k.length === 3 ? k : [1, k[0], k[1]];
  const src = w.dataSync() as Float32Array;
  const khw = kh * kw;
  const taps: tf.Tensor4D[] = [];
  for (let z = 0; z < kd; z++) {
    const dst = new Float32Array(khw * i * o);
    for (let a = 0; a < o; a++) {
      for (let b = 0; b < i; b++) {
        const base = ((a * i + b) * kd + z) * khw;
        for (let t = 0; t < khw; t++) {
          const v = src[base + t];
          if (which === 'forward') dst[(t * i + b) * o + a] = v;
          else dst[((khw - 1 - t) * o + a) * i + b] = v;
        }
      }
    }
    taps.push(tf.tensor4d(dst, which === 'forward' ? [kh, kw, i, o] : [kh, kw, o, i]));
  }
  return taps;
}

/** Per-tap filter gradients [I, kh, kw, O] (one per depth tap) → the PyTorch weight gradient [O, I, k…]. */
function tapsToTorch(parts: tf.Tensor[], kernel: number[]): tf.Tensor {
  const [i, kh, kw, o] = parts[0].shape;
  const kd = parts.length;
  const khw = kh * kw;
  const dst = new Float32Array(o * i * kd * khw);
  parts.forEach((part, z) => {
    const src = part.dataSync() as Float32Array;
    for (let b = 0; b < i; b++) {
      for (let t = 0; t < khw; t++) {
        for (let a = 0; a < o; a++) dst[((a * i + b) * kd + z) * khw + t] = src[(b * khw + t) * o + a];
      }
    }
  });
  return tf.tensor(dst, [o, i, ...kernel]);
}

function outSize(n: number, k: number, s: number, p: number): number {
  return Math.floor((n + 2 * p - k) / s) + 1;
}

type Pads4 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * A 'valid' 2D conv of x padded by (top, bottom, left, right) on axes 1–2: positive amounts become the conv's own
 * explicit padding (free in XNNPACK, unlike a separate pad), negative ones crop x first.
 */
function convPadded(
  x: tf.Tensor4D,
  f: tf.Tensor4D,
  [top, bottom, left, right]: number[],
  dilation: [number, number] = [1, 1],
): tf.Tensor4D {
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = x.shape;
    const t = Math.max(0, -top);
    const l = Math.max(0, -left);
    x = tf.slice(x, [0, t, l, 0], [n, h - t - Math.max(0, -bottom), w - l - Math.max(0, -right), c]);
  }
  const pads: Pads4 = [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]];
  return tf.conv2d(x, f, 1, pads, 'NHWC', dilation);
}

// ---------------------------------------------------------------------------------------------------------------
// 2D building blocks (tfjs filter layout [kh, kw, I, O]); callers run them inside a tidy.

/** y = conv(x, f) with symmetric padding. */
function conv2dForward(x: tf.Tensor4D, f: tf.Tensor4D, s: number[], p: number[]): tf.Tensor4D {
  return tf.conv2d(x, f, [s[0], s[1]], [[0, 0], [p[0], p[0]], [p[1], p[1]], [0, 0]]);
}

/** Inserts s−1 zeros between rows / columns of dy: [N, Ho, Wo, C] → [N, Ho·sh, Wo·sw, C] (trailing zeros included). */
function zeroInsert(dy: tf.Tensor4D, s: number[]): tf.Tensor4D {
  let [n, h, w, c] = dy.shape;
  let out: tf.Tensor4D = dy;
  if (s[0] > 1) {
    const v = tf.pad(tf.reshape(out, [n * h, 1, w * c]), [[0, 0], [0, s[0] - 1], [0, 0]]);
    h *= s[0];
    out = tf.reshape(v, [n, h, w, c]);
  }
  if (s[1] > 1) {
    const v = tf.pad(tf.reshape(out, [n * h * w, 1, c]), [[0, 0], [0, s[1] - 1], [0, 0]]);
    w *= s[1];
    out = tf.reshape(v, [n, h, w, c]);
  }
  return out;
}

/** Gradient of conv2dForward with respect to x: a 2D conv of dy with the flipped, transposed filter fT [kh, kw, O, I]. */
function conv2dInputGrad(dy: tf.Tensor4D, fT: tf.Tensor4D, s: number[], p: number[], hw: number[]): tf.Tensor4D {
  const [kh, kw] = fT.shape;
  const [, ho, wo] = dy.shape;
  const d = zeroInsert(dy, s);
  // Rows of the dilated dy: (ho−1)·s+1 meaningful ones plus s−1 trailing zeros.
  const top = kh - 1 - p[0];
  const left = kw - 1 - p[1];
  const bottom = hw[0] + kh - 1 - ((ho - 1) * s[0] + 1) - top - (s[0] - 1);
  const right = hw[1] + kw - 1 - ((wo - 1) * s[1] + 1) - left - (s[1] - 1);
  return convPadded(d, fT, [top, bottom, left, right]);
}

/** dy [N, Ho, Wo, O] → [Ho, Wo, N, O]: the "filter" of the filter-gradient conv. */
function filterGradRhs(dy: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(dy, [1, 2, 0, 3]);
}

/**
 * Gradient of conv2dForward with respect to its filter, as [I, kh, kw, O]: the conv of xᵀ [I, H, W, N] with
 * dyᵀ [Ho, Wo, N, O] as filter, dilated by the stride (dW[i, j] = Σ_n,ho,wo x[n, ho·s + i − p, wo·s + j − p] dy[n, ho, wo]).
 */
function conv2dFilterGradT(x: tf.Tensor4D, dyT: tf.Tensor4D, s: number[], p: number[], k: number[]): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [ho, wo] = dyT.shape;
  const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
  const bottom = k[0] + s[0] * (ho - 1) - h - p[0];
  const right = k[1] + s[1] * (wo - 1) - w - p[1];
  return convPadded(xT, dyT, [p[0], bottom, p[1], right], [s[0], s[1]]);
}

// ---------------------------------------------------------------------------------------------------------------
// Depth handling for the 3D decomposition.

/**
 * Depth taps of a 3D conv: tap z is the [B·Do, H, W, C] stack of the input slices it multiplies. Holds the input
 * padded (or cropped) in depth as [B, Dp, H·W·C], which the forward saves for the backward (no second pad).
 */
class DepthTaps {
  private readonly view: tf.Tensor;
  readonly shape: [number, number, number, number];

  private constructor(
    /** The depth-padded input [B, Dp, H·W·C]. */
    readonly padded: tf.Tensor3D,
    hwc: [number, number, number],
    private readonly sd: number,
    private readonly outD: number,
  ) {
    const [b, dp, f] = padded.shape;
    this.view = sd === 1 ? padded : tf.reshape(padded, [b, dp / sd, sd, f]);
    this.shape = [b * outD, ...hwc];
  }

  /** Pads x [B, D, H, W, C] in depth for a kernel kd, stride sd, padding pd with outD output planes. */
  static of(x: tf.Tensor, kd: number, sd: number, pd: number, outD: number): DepthTaps {
    const [b, d, h, w, c] = x.shape;
    const padded = sd * (outD + Math.floor((kd - 1) / sd));
    const bottom = padded - d - pd;
    let v = tf.reshape(x, [b, d, h * w * c]) as tf.Tensor3D;
    if (bottom < 0) v = tf.slice(v, [0, 0, 0], [b, d + bottom, h * w * c]);
    if (pd > 0 || bottom > 0) v = tf.pad(v, [[0, 0], [pd, Math.max(0, bottom)], [0, 0]]);
    return new DepthTaps(v, [h, w, c], sd, outD);
  }

  /** Rebuilds the taps from a saved `padded`. */
  static fromPadded(padded: tf.Tensor, hwc: [number, number, number], sd: number, outD: number): DepthTaps {
    return new DepthTaps(padded as tf.Tensor3D, hwc, sd, outD);
  }

  tap(z: number): tf.Tensor4D {
    const [n, h, w, c] = this.shape;
    const b = n / this.outD;
    const f = h * w * c;
    if (this.sd === 1) {
      if (z === 0 && this.view.shape[1] === this.outD) return tf.reshape(this.view, this.shape);
      return tf.reshape(tf.slice(this.view, [0, z, 0], [b, this.outD, f]), this.shape);
    }
    const q = Math.floor(z / this.sd);
    const r = z % this.sd;
    return tf.reshape(tf.slice(this.view, [0, q, r, 0], [b, this.outD, 1, f]), this.shape);
  }
}

function addAll(terms: tf.Tensor[]): tf.Tensor {
  return terms.length === 1 ? terms[0] : tf.addN(terms);
}

/** Accumulates a sum term by term, disposing as it goes, so only two big tensors are alive at once. */
class Accumulator {
  private total: tf.Tensor | null = null;
  add(t: tf.Tensor): void {
    if (this.total == null) this.total = t;
    else {
      const next = tf.add(this.total, t);
      this.total.dispose();
      t.dispose();
      this.total = next;
    }
  }
  get value(): tf.Tensor {
    if (this.total == null) throw new Error('empty sum');
    return this.total;
  }
}

function checkConvInput(x: tf.Tensor, w: tf.Tensor, rank: number, what: string): void {
  if (x.rank !== rank + 2) {
    throw new ShapeError(
      `${what}: input must be rank ${rank + 2} channels-last [B, ${rank === 3 ? 'D, H, W' : 'H, W'}, C], got [${x.shape}]`,
    );
  }
  if (w.rank !== rank + 2) throw new ShapeError(`${what}: weight must be [out, in, ${'k, '.repeat(rank - 1)}k], got [${w.shape}]`);
  if (x.shape[rank + 1] !== w.shape[1]) {
    throw new ShapeError(`${what}: input has ${x.shape[rank + 1]} channels but the weight expects ${w.shape[1]}`);
  }
}

function checkOutput(spatial: number[], k: number[], s: number[], p: number[], what: string): number[] {
  const out = spatial.map((n, a) => outSize(n, k[a], s[a], p[a]));
  if (out.some((o) => o < 1)) {
    throw new ShapeError(`${what}: input [${spatial}] is smaller than the kernel [${k}] (padding [${p}])`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Public ops.

/**
 * 3D convolution. x: [B, D, H, W, C] (channels-last); weight: PyTorch layout [O, C, kd, kh, kw]; bias: [O] or null.
 * Matches torch.nn.functional.conv3d(x.permute(0, 4, 1, 2, 3), weight, bias, stride, padding) permuted back.
 */
export function conv3d(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null, opts: ConvOptions = {}): tf.Tensor {
  checkConvInput(x, weight, 3, 'conv3d');
  const s = expand(opts.stride, 3, 1, 'stride');
  const p = expand(opts.padding, 3, 0, 'padding');
  if (s.some((e) => e < 1)) throw new ValueError(`conv3d: stride must be ≥ 1, got [${s}]`);
  const k = weight.shape.slice(2);
  const outDims = checkOutput(x.shape.slice(1, 4), k, s, p, 'conv3d');
  if (convImplementation() === 'native') return conv3dNative(x, weight, bias, s, p);
  if (isPointwise(k, s, p)) return pointwise(x, weight, bias);
  return conv3dDecomposed(x, weight, bias, s, p, k, outDims);
}

/**
 * 2D convolution. x: [B, H, W, C]; weight: PyTorch layout [O, C, kh, kw]; bias: [O] or null.
 */
export function conv2d(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null, opts: ConvOptions = {}): tf.Tensor {
  checkConvInput(x, weight, 2, 'conv2d');
  const s = expand(opts.stride, 2, 1, 'stride');
  const p = expand(opts.padding, 2, 0, 'padding');
  if (s.some((e) => e < 1)) throw new ValueError(`conv2d: stride must be ≥ 1, got [${s}]`);
  const k = weight.shape.slice(2);
  checkOutput(x.shape.slice(1, 3), k, s, p, 'conv2d');
  if (convImplementation() === 'native') return conv2dNative(x, weight, bias, s, p);
  if (isPointwise(k, s, p)) return pointwise(x, weight, bias);
  return conv2dDecomposed(x, weight, bias, s, p, k);
}

const isPointwise = (k: number[], s: number[], p: number[]) => [...k, ...s].every((e) => e === 1) && p.every((e) => e === 0);

/**
 * A 1×1(×1) conv with stride 1 is a linear map over channels; its matmul backward (dW = dyᵀ·x) beats the
 * filter-gradient conv, whose "filter" would be the whole output gradient.
 */
function pointwise(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => linear(x, tf.reshape(w, w.shape.slice(0, 2)), b));
}

function conv3dNative(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, s: number[], p: number[]): tf.Tensor {
  return tf.tidy(() => {
    const xp = p.some((e) => e > 0) ? tf.pad(x, [[0, 0], [p[0], p[0]], [p[1], p[1]], [p[2], p[2]], [0, 0]]) : x;
    const y = tf.conv3d(xp as tf.Tensor5D, torchToTfFilter(w) as tf.Tensor5D, [s[0], s[1], s[2]], 'valid');
    return b == null ? y : tf.add(y, b);
  });
}

function conv2dNative(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, s: number[], p: number[]): tf.Tensor {
  return tf.tidy(() => {
    const y = conv2dForward(x as tf.Tensor4D, torchToTfFilter(w) as tf.Tensor4D, s, p);
    return b == null ? y : tf.add(y, b);
  });
}

function biasGrad(dy: tf.Tensor): tf.Tensor {
  return channelSum(dy);
}

function conv2dDecomposed(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, s: number[], p: number[], k: number[]): tf.Tensor {
  const inputs: Record<string, tf.Tensor> = b == null ? { x, w } : { x, w, b };
  return customOp({
    name: 'conv2d',
    inputs,
    forward: (save) => {
      save([x, w]);
      const y = conv2dForward(x as tf.Tensor4D, filterTaps(w, 'forward')[0], s, p);
      return b == null ? y : channelOp(y, b, tf.add);
    },
    backward: ([dy], [xs, ws]) => {
      const grads: Record<string, () => tf.Tensor> = {
        x: () => conv2dInputGrad(dy as tf.Tensor4D, filterTaps(ws, 'flipped')[0], s, p, xs.shape.slice(1, 3)),
        w: () => tapsToTorch([conv2dFilterGradT(xs as tf.Tensor4D, filterGradRhs(dy as tf.Tensor4D), s, p, k)], k),
      };
      if (b != null) grads.b = () => biasGrad(dy);
      return grads;
    },
  });
}

function conv3dDecomposed(
  x: tf.Tensor,
  w: tf.Tensor,
  b: tf.Tensor | null,
  s: number[],
  p: number[],
  k: number[],
  outDims: number[],
): tf.Tensor {
  const [bs, d, h, wd, c] = x.shape;
  const [o] = w.shape;
  const [kd, kh, kw] = k;
  const [od, oh, ow] = outDims;
  const s2 = [s[1], s[2]];
  const p2 = [p[1], p[2]];
  const inputs: Record<string, tf.Tensor> = b == null ? { x, w } : { x, w, b };
  return customOp({
    name: 'conv3d',
    inputs,
    forward: (save) => {
      const filters = filterTaps(w, 'forward');
      const taps = DepthTaps.of(x, kd, s[0], p[0], od);
      save([taps.padded, w]);
      const acc = new Accumulator();
      for (let z = 0; z < kd; z++) {
        acc.add(tf.tidy(() => conv2dForward(taps.tap(z), filters[z], s2, p2)));
      }
      const y = b == null ? acc.value : channelOp(acc.value, b, tf.add);
      return tf.reshape(y, [bs, od, oh, ow, o]);
    },
    backward: ([dy], [padded, ws]) => {
      const dy4 = tf.reshape(dy, [bs * od, oh, ow, o]) as tf.Tensor4D;
      const grads: Record<string, () => tf.Tensor> = {
        x: () => conv3dInputGrad(dy, filterTaps(ws, 'flipped'), s, p, [d, h, wd, c]),
        w: () => {
          const dyT = filterGradRhs(dy4);
          const taps = DepthTaps.fromPadded(padded, [h, wd, c], s[0], od);
          const parts: tf.Tensor[] = [];
          for (let z = 0; z < kd; z++) parts.push(tf.tidy(() => conv2dFilterGradT(taps.tap(z), dyT, s2, p2, [kh, kw])));
          return tapsToTorch(parts, [kd, kh, kw]);
        },
      };
      if (b != null) grads.b = () => biasGrad(dy);
      return grads;
    },
  });
}

/** Gradient of the decomposed conv3d with respect to its input [B, D, H, W, C]. */
function conv3dInputGrad(dy: tf.Tensor, flipped: tf.Tensor4D[], s: number[], p: number[], xDims: number[]): tf.Tensor {
  const [bs, od, oh, ow, o] = dy.shape;
  const kd = flipped.length;
  const [d, h, w, c] = xDims;
  const sd = s[0];
  const pd = p[0];
  const s2 = [s[1], s[2]];
  const p2 = [p[1], p[2]];
  const fo = oh * ow * o;
  const dy3 = tf.reshape(dy, [bs, od, fo]) as tf.Tensor3D;
  const gradOf = (rows: tf.Tensor3D, z: number, n: number) =>
    conv2dInputGrad(tf.reshape(rows, [bs * n, oh, ow, o]) as tf.Tensor4D, flipped[z], s2, p2, [h, w]);

  if (sd === 1) {
    // dx[d] = Σ_z g_z(dy[d + pd − z]): a correlation over depth of the zero-padded dy.
    const top = kd - 1 - pd;
    let dyp = dy3;
    if (top < 0) dyp = tf.slice(dyp, [0, -top, 0], [bs, od + 2 * top, fo]);
    else if (top > 0) dyp = tf.pad(dyp, [[0, 0], [top, top], [0, 0]]);
    const acc = new Accumulator();
    for (let z = 0; z < kd; z++) {
      acc.add(tf.tidy(() => gradOf(tf.slice(dyp, [0, kd - 1 - z, 0], [bs, d, fo]), z, d)));
    }
    return tf.reshape(acc.value, [bs, d, h, w, c]);
  }

  // Depth stride > 1: padded input row sd·m + r receives taps z = q·sd + r from dy row m − q.
  const q = Math.floor((kd - 1) / sd);
  const rows = od + q;
  const dyp = q > 0 ? tf.pad(dy3, [[0, 0], [q, q], [0, 0]]) : dy3;
  const phases: tf.Tensor[] = [];
  for (let r = 0; r < sd; r++) {
    const terms: tf.Tensor[] = [];
    for (let qq = 0; qq * sd + r < kd; qq++) {
      terms.push(gradOf(tf.slice(dyp, [0, q - qq, 0], [bs, rows, fo]), qq * sd + r, rows));
    }
    const phase = terms.length > 0 ? addAll(terms) : tf.zeros([bs * rows, h, w, c]);
    phases.push(tf.reshape(phase, [bs * rows, 1, h * w * c]));
  }
  const padded = tf.reshape(tf.concat(phases, 1), [bs, rows * sd, h * w * c]) as tf.Tensor3D;
  // Padded rows [pd, pd + d) are the input; rows beyond the padded length (cropped, unused) get zero gradient.
  const avail = Math.min(d, rows * sd - pd);
  let dx = tf.slice(padded, [0, pd, 0], [bs, avail, h * w * c]);
  if (avail < d) dx = tf.pad(dx, [[0, 0], [0, d - avail], [0, 0]]);
  return tf.reshape(dx, [bs, d, h, w, c]);
}
