/**
 * Pooling on channels-last tensors, with PyTorch's semantics: max pools pad with −∞ and send each window's
 * gradient to its first maximum; average pools count the zero padding (count_include_pad=True); output sizes round
 * down (ceil_mode=False).
 *
 * - Average pooling in 3D is two 2D pools — over (H, W) on the [B·D, H, W, C] view, then over depth on the
 *   [B, D, H'·W', C] view with a [k, 1] window — because tfjs-wasm's AvgPool3D is a naive loop while its 2D pool
 *   and gradient are fast; averaging is separable, so this equals the 3D pool.
 * - Max pooling (2D and 3D) is one pass in JavaScript that records each window's argmax, with a scatter-add
 *   backward: tfjs-wasm 4.22's MaxPoolGrad and MaxPoolWithArgmax return wrong values for common shapes (found by
 *   these tests), and a two-step max decomposition could not route ties like PyTorch. On backends with fast native
 *   kernels (see convImplementation) tf.maxPool / tf.maxPool3d and their own gradients are used.
 */
import * as tf from '../../tf.js';
import { ShapeError, ValueError } from '../../errors.js';
import { customOp } from './custom.js';
import { convImplementation } from './conv.js';

export interface PoolOptions {
  /** Window size per spatial axis. */
  kernel: number | readonly number[];
  /** Stride per spatial axis; defaults to the kernel (non-overlapping windows). */
  stride?: number | readonly number[];
  /** Symmetric padding per spatial axis (≤ kernel/2). Default 0. */
  padding?: number | readonly number[];
}

type Mode = 'max' | 'avg';

function expandPool(v: number | readonly number[] | undefined, n: number, dflt: readonly number[], what: string): number[] {
  const out = v == null ? [...dflt] : typeof v === 'number' ? new Array(n).fill(v) : [...v];
  if (out.length !== n || out.some((e) => !Number.isInteger(e) || e < 0)) {
    throw new ValueError(`pool: ${what} must be a non-negative integer or ${n} of them, got ${JSON.stringify(v)}`);
  }
  return out;
}

function parse(opts: PoolOptions, n: number) {
  const k = expandPool(opts.kernel, n, [], 'kernel');
  const s = expandPool(opts.stride, n, k, 'stride');
  const p = expandPool(opts.padding, n, new Array(n).fill(0), 'padding');
  if (k.some((e) => e < 1) || s.some((e) => e < 1)) throw new ValueError(`pool: kernel and stride must be ≥ 1`);
  if (p.some((e, i) => 2 * e > k[i])) throw new ValueError(`pool: padding [${p}] must be at most half the kernel [${k}]`);
  return { k, s, p };
}

/** A 2D pool over axes 1–2 of a rank-4 tensor, padding explicitly (−∞ for max, 0 for avg) then 'valid'. */
function pool2d(x: tf.Tensor4D, mode: Mode, k: number[], s: number[], p: number[]): tf.Tensor4D {
  if (k[0] === 1 && k[1] === 1 && s[0] === 1 && s[1] === 1) return x;
  let xp = x;
  if (p[0] > 0 || p[1] > 0) {
    xp = tf.pad(x, [[0, 0], [p[0], p[0]], [p[1], p[1]], [0, 0]], mode === 'max' ? -Infinity : 0);
  }
  const [, h, w] = xp.shape;
  if (h < k[0] || w < k[1]) throw new ShapeError(`pool: input [${x.shape}] (padded ${h}×${w}) is smaller than the window [${k}]`);
  const f = mode === 'max' ? tf.maxPool : tf.avgPool;
  return f(xp, [k[0], k[1]], [s[0], s[1]], 'valid');
}

/** torch.nn.functional.avg_pool3d (count_include_pad=True) on [B, D, H, W, C]. */
export function avgPool3d(x: tf.Tensor, opts: PoolOptions): tf.Tensor {
  if (x.rank !== 5) throw new ShapeError(`avgPool3d: input must be [B, D, H, W, C], got [${x.shape}]`);
  const mode: Mode = 'avg';
  const { k, s, p } = parse(opts, 3);
  return tf.tidy(() => {
    const [b, d, h, w, c] = x.shape;
    const hw = pool2d(tf.reshape(x, [b * d, h, w, c]), mode, [k[1], k[2]], [s[1], s[2]], [p[1], p[2]]);
    const [, ho, wo] = hw.shape;
    const dep = pool2d(tf.reshape(hw, [b, d, ho * wo, c]), mode, [k[0], 1], [s[0], 1], [p[0], 0]);
    return tf.reshape(dep, [b, dep.shape[1], ho, wo, c]);
  });
}

function pool2dPublic(x: tf.Tensor, mode: Mode, opts: PoolOptions): tf.Tensor {
  if (x.rank !== 4) throw new ShapeError(`${mode}Pool2d: input must be [B, H, W, C], got [${x.shape}]`);
  const { k, s, p } = parse(opts, 2);
  return tf.tidy(() => pool2d(x as tf.Tensor4D, mode, k, s, p));
}

/** torch.nn.functional.max_pool3d on [B, D, H, W, C]. */
export function maxPool3d(x: tf.Tensor, opts: PoolOptions): tf.Tensor {
  if (x.rank !== 5) throw new ShapeError(`maxPool3d: input must be [B, D, H, W, C], got [${x.shape}]`);
  const { k, s, p } = parse(opts, 3);
  if (convImplementation() === 'native') {
    return tf.tidy(() => {
      const xp = p.some((e) => e > 0) ? tf.pad(x, [[0, 0], [p[0], p[0]], [p[1], p[1]], [p[2], p[2]], [0, 0]], -Infinity) : x;
      return tf.maxPool3d(xp as tf.Tensor5D, [k[0], k[1], k[2]], [s[0], s[1], s[2]], 'valid');
    });
  }
  return maxPoolArgmax(x, x.shape.slice(1, 4), k, s, p);
}

/** torch.nn.functional.max_pool2d on [B, H, W, C]. */
export function maxPool2d(x: tf.Tensor, opts: PoolOptions): tf.Tensor {
  if (x.rank !== 4) throw new ShapeError(`maxPool2d: input must be [B, H, W, C], got [${x.shape}]`);
  if (convImplementation() === 'native') return pool2dPublic(x, 'max', opts);
  const { k, s, p } = parse(opts, 2);
  return maxPoolArgmax(x, [1, ...x.shape.slice(1, 3)], [1, ...k], [1, ...s], [0, ...p]);
}

/**
 * Max pooling over a [B, D, H, W, C] view of x (D = 1 for images): y and, per output, the flat index of the
 * window's first maximum (PyTorch's rule: a later value wins only if larger, or NaN); backward scatters dy there.
 */
function maxPoolArgmax(x: tf.Tensor, dims: number[], k: number[], s: number[], p: number[]): tf.Tensor {
  const [d, h, w] = dims;
  const b = x.shape[0];
  const c = x.shape[x.rank - 1];
  const out = dims.map((n, a) => Math.floor((n + 2 * p[a] - k[a]) / s[a]) + 1);
  if (out.some((o) => o < 1)) throw new ShapeError(`maxPool: input [${x.shape}] is smaller than the window [${k}]`);
  const [od, oh, ow] = out;
  const outShape = x.rank === 5 ? [b, od, oh, ow, c] : [b, oh, ow, c];
  return customOp({
    name: 'maxPool',
    inputs: { x },
    forward: (save) => {
      const xv = x.dataSync() as Float32Array;
      const n = b * od * oh * ow * c;
      const yv = new Float32Array(n);
      const arg = new Int32Array(n);
      let o = 0;
      for (let bi = 0; bi < b; bi++) {
        for (let zo = 0; zo < od; zo++) {
          const z0 = zo * s[0] - p[0];
          const z1 = Math.min(z0 + k[0], d);
          for (let yo = 0; yo < oh; yo++) {
            const y0 = yo * s[1] - p[1];
            const y1 = Math.min(y0 + k[1], h);
            for (let xo = 0; xo < ow; xo++, o += c) {
              const x0 = xo * s[2] - p[2];
              const x1 = Math.min(x0 + k[2], w);
              const zs = Math.max(z0, 0);
              const ys = Math.max(y0, 0);
              const xs = Math.max(x0, 0);
              const first = (((bi * d + zs) * h + ys) * w + xs) * c;
              for (let ci = 0; ci < c; ci++) {
                yv[o + ci] = -Infinity;
                arg[o + ci] = first + ci;
              }
              for (let zi = zs; zi < z1; zi++) {
                for (let yi = ys; yi < y1; yi++) {
                  for (let xi = xs; xi < x1; xi++) {
                    const base = (((bi * d + zi) * h + yi) * w + xi) * c;
                    for (let ci = 0; ci < c; ci++) {
                      const v = xv[base + ci];
                      if (v > yv[o + ci] || v !== v) {
                        yv[o + ci] = v;
                        arg[o + ci] = base + ci;
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
      save([tf.tensor(arg, [n, 1], 'int32')]);
      return tf.tensor(yv, outShape);
    },
    backward: ([dy], [arg]) => ({
      x: () => tf.reshape(tf.scatterND(arg, tf.reshape(dy, [arg.shape[0]]), [x.size]), x.shape),
    }),
  });
}

/** torch.nn.functional.avg_pool2d (count_include_pad=True) on [B, H, W, C]. */
export function avgPool2d(x: tf.Tensor, opts: PoolOptions): tf.Tensor {
  return pool2dPublic(x, 'avg', opts);
}

/** Mean over every spatial axis: [B, ..., C] → [B, C] (adaptive_avg_pool to 1 then flatten). */
export function globalAvgPool(x: tf.Tensor): tf.Tensor {
  if (x.rank < 3) throw new ShapeError(`globalAvgPool: input must be [B, ..., C], got [${x.shape}]`);
  const [b] = x.shape;
  const c = x.shape[x.rank - 1];
  return tf.tidy(() => tf.mean(tf.reshape(x, [b, x.size / (b * c), c]), 1));
}
