/**
 * The network pieces added for contrastive analysis: nearest upsampling (forward and hand-written backward, against
 * explicit loops and against torch.nn.functional.interpolate), the plain ConvNet encoder's config handling, and the
 * upsample+conv decoder (shapes, typed config errors, gradients reaching every parameter). The ConvNet ↔ PyTorch
 * twin round trip is in nn-twins.test.ts.
 */
import assert from 'node:assert/strict';
import * as g from 'geoclr';
import { ConfigError, ShapeError } from 'geoclr';
import { needPython, runPython } from './support/peers.js';
import { assertClose, assertNoLeak } from './support/tf.js';

const { tf } = g;

function randn(shape: number[], seed: number): g.tf.Tensor {
  return tf.tensor(new g.Rng(seed).normalArray(shape.reduce((a, b) => a * b, 1)), shape);
}

/** Explicit-loop nearest upsampling of a channels-last array: out[i…] = in[⌊i/f⌋…]. */
function loopUpsample(data: Float32Array, shape: number[], f: number): { data: Float32Array; shape: number[] } {
  const spatial = shape.slice(1, -1);
  const [b, c] = [shape[0], shape[shape.length - 1]];
  const outSpatial = spatial.map((n) => n * f);
  const outSize = outSpatial.reduce((a, e) => a * e, 1);
  const inSize = spatial.reduce((a, e) => a * e, 1);
  const out = new Float32Array(b * outSize * c);
  for (let n = 0; n < b; n++) {
    for (let o = 0; o < outSize; o++) {
      let rem = o;
      let src = 0;
      let stride = 1;
      for (let a = outSpatial.length - 1; a >= 0; a--) {
        const idx = rem % outSpatial[a];
        rem = Math.floor(rem / outSpatial[a]);
        src += Math.floor(idx / f) * stride;
        stride *= spatial[a];
      }
      for (let k = 0; k < c; k++) out[(n * outSize + o) * c + k] = data[(n * inSize + src) * c + k];
    }
  }
  return { data: out, shape: [b, ...outSpatial, c] };
}

describe('upsampleNearest', () => {
  for (const [shape, f] of [
    [[2, 3, 4, 5], 2],
    [[2, 3, 2, 4, 3], 2],
    [[1, 2, 3, 2, 2], 3],
  ] as [number[], number][]) {
    it(`[${shape}] × ${f}: forward = explicit loop, gradient = block sums of the upstream gradient`, async () => {
      const x = randn(shape, 1);
      const up = loopUpsample(x.dataSync() as Float32Array, shape, f);
      const w = randn(up.shape, 2);
      await assertNoLeak(() => {
        const y = g.upsampleNearest(x, f);
        assert.deepEqual(y.shape, up.shape);
        assertClose(y.dataSync(), up.data, 0, 0, 'forward');
        y.dispose();
        const grad = tf.grad((t: g.tf.Tensor) => tf.sum(tf.mul(g.upsampleNearest(t, f), w)))(x);
        // d/dx_j Σ w_i up(x)_i = Σ_{i: src(i) = j} w_i — the loop's adjoint, built by scattering w.
        const expected = new Float32Array(x.size);
        const idx = loopUpsample(Float32Array.from({ length: x.size }, (_, i) => i), shape, f).data;
        const wd = w.dataSync();
        idx.forEach((src, i) => (expected[src] += wd[i]));
        assertClose(grad.dataSync(), expected, 1e-5, 1e-5, 'gradient');
        grad.dispose();
      }, 'upsampleNearest');
      tf.dispose([x, w]);
    });
  }

  it('matches torch.nn.functional.interpolate(mode="nearest") forward and backward (3D)', function () {
    needPython(this, ['torch']);
    const shape = [2, 3, 4, 2, 3];
    const x = randn(shape, 3);
    const y = g.upsampleNearest(x, 2);
    const w = randn(y.shape, 4);
    const grad = tf.grad((t: g.tf.Tensor) => tf.sum(tf.mul(g.upsampleNearest(t, 2), w)))(x);
    const out = runPython(
      `
import json, sys, torch
d = json.load(sys.stdin)
x = torch.tensor(d["x"], dtype=torch.float64).reshape(d["shape"]).permute(0, 4, 1, 2, 3).requires_grad_(True)
y = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
w = torch.tensor(d["w"], dtype=torch.float64).reshape(y.permute(0, 2, 3, 4, 1).shape).permute(0, 4, 1, 2, 3)
(y * w).sum().backward()
print(json.dumps({"y": y.permute(0, 2, 3, 4, 1).flatten().tolist(), "g": x.grad.permute(0, 2, 3, 4, 1).flatten().tolist()}))
`,
      [],
      JSON.stringify({ x: Array.from(x.dataSync()), w: Array.from(w.dataSync()), shape }),
    );
    const ref = JSON.parse(out) as { y: number[]; g: number[] };
    assertClose(y.dataSync(), ref.y, 1e-6, 1e-6, 'forward vs torch');
    assertClose(grad.dataSync(), ref.g, 1e-5, 1e-5, 'gradient vs torch');
    tf.dispose([x, y, w, grad]);
  });

  it('rejects bad ranks and factors', () => {
    assert.throws(() => g.upsampleNearest(tf.zeros([2, 3, 4]), 2), ShapeError);
    assert.throws(() => g.upsampleNearest(tf.zeros([1, 2, 2, 1]), 1.5), /factor/);
  });
});

describe('ConvNet encoder config (convnet2d / convnet3d)', () => {
  it('resolves defaults, computes the flatten width, and rejects bad configs with ConfigError', () => {
    const c = g.resolveEncoderConfig({ arch: 'convnet3d', pooling: 'flatten', inputShape: [24, 32, 24], widths: [8, 16, 32], head: null });
    assert.deepEqual({ ...c }, { arch: 'convnet3d', inChannels: 1, widths: [8, 16, 32], kernel: 3, batchNorm: true, pooling: 'flatten', inputShape: [24, 32, 24], head: null });
    const enc = g.createEncoder(c);
    assert.equal(enc.representationDim, 32 * 3 * 4 * 3);
    const x = tf.zeros([2, 24, 32, 24, 1]);
    const r = enc.represent(x);
    assert.deepEqual(r.shape, [2, 32 * 3 * 4 * 3]);
    assert.throws(() => enc.represent(tf.zeros([2, 24, 32, 16, 1])), (e: Error) => e instanceof ShapeError && /24,32,24/.test(e.message));
    tf.dispose([x, r]);
    enc.dispose();
    for (const [bad, field] of [
      [{ arch: 'convnet2d', pooling: 'flatten' }, 'inputShape'],
      [{ arch: 'convnet2d', kernel: 4 }, 'kernel'],
      [{ arch: 'convnet2d', pooling: 'max' }, 'pooling'],
      [{ arch: 'convnet3d', inputShape: [8, 8] }, 'inputShape'],
      [{ arch: 'convnet2d', depth: 3 }, 'depth'],
    ] as const) {
      assert.throws(() => g.resolveEncoderConfig(bad), (e: Error) => e instanceof ConfigError && e.message.includes(field), JSON.stringify(bad));
    }
  });
});

describe('ConvDecoder', () => {
  it('maps latents to the output shape (2D and 3D) and every parameter gets a gradient', async () => {
    for (const [dims, outputShape] of [
      [2, [16, 12]],
      [3, [8, 12, 8]],
    ] as [2 | 3, number[]][]) {
      const dec = new g.ConvDecoder({ dims, latentDim: 5, outputShape, widths: [8, 4], outChannels: 2 }, { seed: 1 });
      assert.deepEqual(dec.startShape, outputShape.map((n) => n / 4));
      const z = randn([3, 5], 5);
      await assertNoLeak(() => {
        const y = dec.forward(z);
        assert.deepEqual(y.shape, [3, ...outputShape, 2]);
        y.dispose();
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(dec.forward(z))) as g.tf.Scalar, dec.parameters());
        assert.deepEqual(Object.keys(grads).length, dec.parameters().length);
        for (const [name, gr] of Object.entries(grads)) {
          assert.ok(Array.from(gr.dataSync()).every(Number.isFinite), `${name} gradient`);
        }
        tf.dispose([value, ...Object.values(grads)]);
      }, `decoder ${dims}D`);
      assert.ok(Object.keys(dec.stateDict()).includes('blocks.1.bn.running_mean'));
      z.dispose();
      dec.dispose();
    }
  });

  it('typed config errors: sizes not divisible by 2^stages, even kernels, wrong latent width', () => {
    assert.throws(() => new g.ConvDecoder({ dims: 3, latentDim: 4, outputShape: [12, 14, 12], widths: [8, 8] }), (e: Error) => e instanceof ConfigError && /divisible by 2\^2/.test(e.message));
    assert.throws(() => new g.ConvDecoder({ dims: 2, latentDim: 4, outputShape: [8, 8], kernel: 2 }), ConfigError);
    assert.throws(() => new g.ConvDecoder({ dims: 2, latentDim: 0, outputShape: [8, 8] }), ConfigError);
    const dec = new g.ConvDecoder({ dims: 2, latentDim: 4, outputShape: [8, 8], widths: [4] });
    assert.throws(() => dec.forward(tf.zeros([2, 3])), ShapeError);
    dec.dispose();
  });
});
