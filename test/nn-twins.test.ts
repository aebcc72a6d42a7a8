/**
 * geoclr encoders ↔ their PyTorch twins (interop/python/geoclr_torch): a seeded geoclr model's state_dict loads
 * into the twin with load_state_dict(strict=True) and gives the same representation and projection (eval and
 * train-mode batch norm, running statistics after the train step); a twin's state_dict loads into geoclr and gives
 * the twin's outputs. Tolerance 1e-4 relative to the largest output (float32 on both sides).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tf, Rng, createEncoder, resolveEncoderConfig, type Encoder, type EncoderConfig } from 'geoclr';
import { needPython, runPythonFile } from './support/peers.js';
import { readExchange, tempExchangeDir, writeExchange, type ExchangeArray } from './support/exchange.js';

interface TwinCase {
  name: string;
  config: EncoderConfig;
  input: 'volume' | 'image' | 'text';
  shape: number[];
}

const CASES: TwinCase[] = [
  { name: 'resnet3d', config: { arch: 'resnet3d' }, input: 'volume', shape: [2, 16, 20, 16, 1] },
  { name: 'resnet3d_pool', config: { arch: 'resnet3d', inChannels: 2, widths: [4, 8], depths: [1, 2], stemKernel: 7, stemPool: true, head: { hidden: [16], out: 8, batchNorm: true } }, input: 'volume', shape: [3, 16, 12, 16, 2] },
  { name: 'densenet3d', config: { arch: 'densenet3d', blocks: [2, 3], growthRate: 4, initFeatures: 8 }, input: 'volume', shape: [2, 12, 16, 12, 1] },
  { name: 'resnet2d', config: { arch: 'resnet2d', inChannels: 3, head: { hidden: [], out: 16 } }, input: 'image', shape: [3, 32, 28, 3] },
  { name: 'convnet3d_flatten', config: { arch: 'convnet3d', widths: [4, 8, 8], pooling: 'flatten', inputShape: [8, 12, 8], head: { hidden: [16], out: 6 } }, input: 'volume', shape: [3, 8, 12, 8, 1] },
  { name: 'convnet2d', config: { arch: 'convnet2d', inChannels: 2, widths: [8, 16], kernel: 5, batchNorm: false, head: null }, input: 'image', shape: [2, 20, 17, 2] },
  { name: 'densenet2d', config: { arch: 'densenet2d', inChannels: 1, head: null }, input: 'image', shape: [2, 32, 32, 1] },
  { name: 'text', config: { arch: 'text-transformer', vocabSize: 50, maxLength: 12, dim: 16, depth: 2, heads: 2, dropout: 0, pooling: 'mean' }, input: 'text', shape: [3, 10] },
  { name: 'text_cls', config: { arch: 'text-transformer', vocabSize: 30, maxLength: 8, dim: 8, depth: 1, heads: 2, dropout: 0 }, input: 'text', shape: [2, 8] },
];

function makeInput(c: TwinCase, rng: Rng): { x: tf.Tensor; mask?: tf.Tensor } {
  if (c.input === 'text') {
    const [b, l] = c.shape;
    const vocab = (c.config as { vocabSize: number }).vocabSize;
    const ids = Int32Array.from({ length: b * l }, () => rng.int(0, vocab));
    const mask = Int32Array.from({ length: b * l }, (_, i) => (i % l < l - (i / l >= 1 ? 3 : 0) ? 1 : 0));
    return { x: tf.tensor(ids, [b, l], 'int32'), mask: tf.tensor(mask, [b, l], 'int32') };
  }
  return { x: tf.tensor(rng.normalArray(c.shape.reduce((a, e) => a * e, 1)), c.shape) };
}

/** Perturbs the batch-norm statistics so eval mode differs from train mode and from the defaults. */
function perturbBuffers(m: Encoder, rng: Rng): void {
  for (const [name, b] of m.namedBuffers()) {
    if (name.endsWith('running_mean')) b.assign(tf.tensor(rng.normalArray(b.size, 0.1), b.shape));
    if (name.endsWith('running_var')) b.assign(tf.tensor(Float32Array.from({ length: b.size }, () => rng.uniform(0.5, 1.5)), b.shape));
  }
}

function maxRel(a: ArrayLike<number>, e: ArrayLike<number>): number {
  assert.equal(a.length, e.length);
  let scale = 1;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]));
  let d = 0;
  for (let i = 0; i < e.length; i++) d = Math.max(d, Math.abs(a[i] - e[i]));
  return Number.isNaN(d) ? Infinity : d / scale;
}

describe('PyTorch twins (geoclr_torch)', function () {
  const ours: Record<string, Record<string, Float32Array | Int32Array>> = {};
  const reverse: Record<string, Record<string, Float32Array>> = {};
  let ref: Record<string, ExchangeArray> = {};

  before(function () {
    needPython(this, ['torch']);
    const { dir, cleanup } = tempExchangeDir();
    try {
      const rng = new Rng(11);
      const items: Record<string, tf.Tensor> = {};
      const inputs: Record<string, { x: tf.Tensor; mask?: tf.Tensor }> = {};
      const specs: object[] = [];
      for (const c of CASES) {
        const enc = createEncoder(c.config, { seed: 5 });
        perturbBuffers(enc, rng);
        const input = makeInput(c, rng);
        inputs[c.name] = input;
        for (const [k, v] of Object.entries(enc.stateDict())) items[`${c.name}.state.${k}`] = tf.clone(v);
        items[`${c.name}.x`] = input.x;
        if (input.mask) items[`${c.name}.mask`] = input.mask;
        const res: Record<string, Float32Array | Int32Array> = {};
        for (const mode of ['eval', 'train'] as const) {
          enc.train(mode === 'train');
          const out = enc.forward(input.x, input.mask);
          res[`${mode}.rep`] = out.representation.dataSync() as Float32Array;
          res[`${mode}.proj`] = out.projection.dataSync() as Float32Array;
          tf.dispose([out.representation, out.projection]);
        }
        for (const [k, b] of enc.namedBuffers()) res[`after.${k}`] = b.dataSync() as Float32Array | Int32Array;
        ours[c.name] = res;
        enc.dispose();
        specs.push({ name: c.name, config: resolveEncoderConfig(c.config), input: c.input });
      }
      writeExchange(dir, items);
      tf.dispose(Object.values(items).filter((t) => !Object.values(inputs).some((i) => i.x === t || i.mask === t)));
      writeFileSync(path.join(dir, 'cases.json'), JSON.stringify(specs));
      runPythonFile(path.resolve('test/support/twin_check.py'), [dir]);
      ref = readExchange(path.join(dir, 'out'));
      // Direction B: the twin's weights into geoclr.
      for (const c of CASES) {
        const enc = createEncoder(c.config, { seed: 99 });
        const prefix = `${c.name}.pystate.`;
        const state = Object.fromEntries(
          Object.entries(ref)
            .filter(([k]) => k.startsWith(prefix))
            .map(([k, v]) => [k.slice(prefix.length), tf.tensor(v.data as Float32Array | Int32Array, v.shape, v.dtype === 'int32' ? 'int32' : 'float32')]),
        );
        enc.loadStateDict(state);
        tf.dispose(Object.values(state));
        enc.eval();
        const out = enc.forward(inputs[c.name].x, inputs[c.name].mask);
        reverse[c.name] = { rep: out.representation.dataSync() as Float32Array, proj: out.projection.dataSync() as Float32Array };
        tf.dispose([out.representation, out.projection]);
        enc.dispose();
      }
      for (const i of Object.values(inputs)) tf.dispose([i.x, ...(i.mask ? [i.mask] : [])]);
    } finally {
      cleanup();
    }
  });

  for (const c of CASES) {
    it(`${c.name}: geoclr weights → twin gives the same outputs (eval and train mode) and statistics`, function () {
      needPython(this, ['torch']);
      const failures: string[] = [];
      for (const [k, v] of Object.entries(ours[c.name])) {
        const e = ref[`${c.name}.py.${k}`];
        assert.ok(e, `twin produced no ${k}`);
        const rel = maxRel(v, e.data);
        if (!(rel <= 1e-4)) failures.push(`${k}: ${rel.toExponential(2)}`);
      }
      assert.deepEqual(failures, []);
    });
    it(`${c.name}: twin weights → geoclr gives the twin's outputs`, function () {
      needPython(this, ['torch']);
      for (const k of ['rep', 'proj']) {
        const rel = maxRel(reverse[c.name][k], ref[`${c.name}.pyB.eval.${k}`].data);
        assert.ok(rel <= 1e-4, `${k} differs by ${rel.toExponential(2)}`);
      }
    });
  }
});
