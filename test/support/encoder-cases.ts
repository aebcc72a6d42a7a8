/**
 * One small configuration per geoclr encoder architecture (with and without heads, batch-norm heads, stem pools,
 * CLS and mean pooling), inputs for them, and helpers shared by the interop export / weight round-trip tests.
 */
import assert from 'node:assert/strict';
import { tf, Rng, type Encoder, type EncoderConfig } from 'geoclr';

export interface EncoderCase {
  name: string;
  config: EncoderConfig;
  kind: 'volume' | 'image' | 'text';
  /** Channels-last input shape (ids [B, L] for text); B = 3. */
  shape: number[];
  /** Export with a static input size (true) or dynamic spatial / sequence axes (false). */
  staticShape: boolean;
}

export const ENCODER_CASES: EncoderCase[] = [
  { name: 'resnet3d', config: { arch: 'resnet3d' }, kind: 'volume', shape: [3, 12, 16, 12, 1], staticShape: true },
  {
    name: 'resnet3d_pool',
    config: { arch: 'resnet3d', inChannels: 2, widths: [4, 8], depths: [1, 2], stemKernel: 7, stemPool: true, head: { hidden: [16], out: 8, batchNorm: true } },
    kind: 'volume',
    shape: [3, 16, 12, 16, 2],
    staticShape: true,
  },
  { name: 'resnet2d', config: { arch: 'resnet2d', inChannels: 3, head: { hidden: [], out: 16 } }, kind: 'image', shape: [3, 32, 28, 3], staticShape: false },
  { name: 'densenet3d', config: { arch: 'densenet3d', blocks: [2, 3], growthRate: 4, initFeatures: 8 }, kind: 'volume', shape: [3, 12, 16, 12, 1], staticShape: true },
  { name: 'densenet2d', config: { arch: 'densenet2d', head: null, stemPool: true }, kind: 'image', shape: [3, 32, 32, 1], staticShape: true },
  {
    name: 'text_mean',
    config: { arch: 'text-transformer', vocabSize: 50, maxLength: 12, dim: 16, depth: 2, heads: 2, dropout: 0, pooling: 'mean' },
    kind: 'text',
    shape: [3, 10],
    staticShape: true,
  },
  { name: 'text_cls', config: { arch: 'text-transformer', vocabSize: 30, maxLength: 8, dim: 8, depth: 1, heads: 2, dropout: 0.1 }, kind: 'text', shape: [3, 8], staticShape: false },
];

export interface CaseInput {
  /** Channels-last volume/image, or int32 ids. */
  x: tf.Tensor;
  /** int32 attention mask (text): 1 = token, 0 = padding; the last rows are padded. */
  mask?: tf.Tensor;
}

export function caseInput(c: EncoderCase, rng: Rng): CaseInput {
  if (c.kind === 'text') {
    const [b, l] = c.shape;
    const vocab = (c.config as { vocabSize: number }).vocabSize;
    const ids = Int32Array.from({ length: b * l }, () => rng.int(0, vocab));
    const mask = Int32Array.from({ length: b * l }, (_, i) => (i % l < l - Math.floor(i / l) * 2 ? 1 : 0));
    return { x: tf.tensor(ids, [b, l], 'int32'), mask: tf.tensor(mask, [b, l], 'int32') };
  }
  return { x: tf.tensor(rng.normalArray(c.shape.reduce((a, e) => a * e, 1)), c.shape) };
}

/** The first `n` items of a case input. */
export function firstItems(input: CaseInput, n: number): CaseInput {
  const take = (t: tf.Tensor) => tf.slice(t, new Array(t.rank).fill(0), [n, ...t.shape.slice(1)]);
  return { x: take(input.x), ...(input.mask ? { mask: take(input.mask) } : {}) };
}

/** Channels-last → channels-first (what ONNX models and the PyTorch twins take); ids unchanged. */
export function channelsFirst(x: tf.Tensor): tf.Tensor {
  if (x.dtype !== 'float32') return tf.clone(x);
  return tf.transpose(x, [0, x.rank - 1, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 1)]);
}

/** Random batch-norm statistics, so eval mode differs from train mode and from the defaults. */
export function perturbBatchNorm(m: Encoder, rng: Rng): void {
  for (const [name, b] of m.namedBuffers()) {
    if (name.endsWith('running_mean')) b.assign(tf.tensor(rng.normalArray(b.size, 0.1), b.shape));
    if (name.endsWith('running_var')) b.assign(tf.tensor(Float32Array.from({ length: b.size }, () => rng.uniform(0.5, 1.5)), b.shape));
    if (name.endsWith('num_batches_tracked')) b.assign(tf.scalar(7, 'int32'));
  }
}

/** Largest |a − e| relative to max(1, max |e|) — the 1e-4 float32 criterion of INTEROP.md. */
export function maxRel(a: ArrayLike<number>, e: ArrayLike<number>): number {
  assert.equal(a.length, e.length, 'length mismatch');
  let scale = 1;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]));
  let d = 0;
  for (let i = 0; i < e.length; i++) d = Math.max(d, Math.abs(a[i] - e[i]));
  return Number.isNaN(d) ? Infinity : d / scale;
}

/** Asserts maxRel ≤ tol with a message naming what differs. */
export function assertRel(actual: tf.Tensor | ArrayLike<number>, expected: tf.Tensor | ArrayLike<number>, what: string, tol = 1e-4): void {
  const a = actual instanceof tf.Tensor ? actual.dataSync() : actual;
  const e = expected instanceof tf.Tensor ? expected.dataSync() : expected;
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor) assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const rel = maxRel(a, e);
  assert.ok(rel <= tol, `${what} differs by ${rel.toExponential(2)} (relative to max(1, |expected|))`);
}
