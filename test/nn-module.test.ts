/** The module system, encoder factory, seeding, memory hygiene, and the conv implementations' agreement. */
import assert from 'node:assert/strict';
import {
  tf,
  Rng,
  ConfigError,
  Linear,
  Dropout,
  Sequential,
  ReLU,
  BatchNorm1d,
  Conv3d,
  StateDictError,
  AdamW,
  createEncoder,
  resolveEncoderConfig,
  conv2d,
  conv3d,
  customOp,
  setConvImplementation,
  maxPool3d,
  type Encoder,
} from 'geoclr';
import { assertNoLeak, assertClose } from './support/tf.js';

function inputFor(enc: Encoder, rng: Rng): { x: tf.Tensor; mask?: tf.Tensor } {
  const c = enc.config as { arch: string; inChannels?: number; vocabSize?: number };
  if (c.arch === 'text-transformer') {
    return { x: tf.tensor(Int32Array.from({ length: 24 }, () => rng.int(0, c.vocabSize!)), [3, 8], 'int32'), mask: tf.ones([3, 8], 'int32') };
  }
  const shape = c.arch.endsWith('3d') ? [2, 12, 12, 12, c.inChannels!] : [2, 24, 24, c.inChannels!];
  return { x: tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape) };
}

describe('nn module system', () => {
  it('names parameters and buffers as PyTorch, in state_dict order, and counts parameters', () => {
    const enc = createEncoder({ arch: 'resnet3d', widths: [4, 8], depths: [1, 1], head: { hidden: [6], out: 3 } });
    const names = Object.keys(enc.stateDict());
    assert.deepEqual(names.slice(0, 7), ['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked', 'layer1.0.conv1.weight']);
    assert.ok(names.includes('layer2.0.downsample.0.weight') && names.includes('layer2.0.downsample.1.running_var'));
    assert.deepEqual(names.slice(-4), ['head.0.weight', 'head.0.bias', 'head.2.weight', 'head.2.bias']);
    assert.deepEqual(enc.stateDict()['layer2.0.conv1.weight'].shape, [8, 4, 3, 3, 3]);
    assert.equal(enc.stateDict()['bn1.num_batches_tracked'].dtype, 'int32');
    // conv1 4·1·27, bn 2·4, layer1 2·(4·4·27 + 8), layer2 8·4·27 + 8·8·27 + 2·16 + 8·4 + 16, head 8·6+6 + 6·3+3
    const expected = 108 + 8 + 2 * (432 + 8) + (864 + 1728 + 32 + 32 + 16) + (54 + 21);
    assert.equal(enc.numParameters(), expected);
    enc.dispose();
  });

  it('loadStateDict reports every missing, unexpected and mis-shaped name at once', () => {
    const net = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2));
    const state: Record<string, tf.Tensor> = {
      '0.weight': tf.zeros([4, 3]),
      '0.bias': tf.zeros([5]),
      '2.weight': tf.zeros([2, 4]),
      'extra.weight': tf.zeros([1]),
    };
    assert.throws(
      () => net.loadStateDict(state),
      (e: unknown) => {
        assert.ok(e instanceof StateDictError);
        assert.deepEqual(e.missing, ['2.bias']);
        assert.deepEqual(e.unexpected, ['extra.weight']);
        assert.deepEqual(e.misShaped, [{ name: '0.bias', expected: [4], got: [5] }]);
        assert.match(e.message, /missing 1: 2\.bias; unexpected 1: extra\.weight; wrong shape 1: 0\.bias expects \[4\] got \[5\]/);
        return true;
      },
    );
    // Nothing was assigned by the failed call.
    assert.notEqual(net.stateDict()['0.weight'].dataSync()[0], 0);
    state['0.bias'].dispose();
    state['0.bias'] = tf.ones([4]);
    net.loadStateDict(state, { strict: false });
    assert.deepEqual(Array.from(net.stateDict()['0.bias'].dataSync()), [1, 1, 1, 1]);
    tf.dispose(Object.values(state));
    net.dispose();
  });

  it('same seed → same weights; another seed → other weights; PyTorch default bounds', () => {
    const a = createEncoder({ arch: 'densenet3d', blocks: [1, 1] }, { seed: 3 });
    const b = createEncoder({ arch: 'densenet3d', blocks: [1, 1] }, { seed: 3 });
    const c = createEncoder({ arch: 'densenet3d', blocks: [1, 1] }, { seed: 4 });
    for (const [k, v] of Object.entries(a.stateDict())) assert.deepEqual(Array.from(b.stateDict()[k].dataSync()), Array.from(v.dataSync()), k);
    assert.notDeepEqual(Array.from(c.stateDict()['features.conv0.weight'].dataSync()), Array.from(a.stateDict()['features.conv0.weight'].dataSync()));
    const lin = new Linear(16, 8, { rng: new Rng(1) });
    const w = lin.weight.dataSync();
    assert.ok(Math.max(...w.map(Math.abs)) <= 0.25 && Math.max(...w.map(Math.abs)) > 0.2, 'U(±1/√16)');
    [a, b, c, lin].forEach((m) => m.dispose());
  });

  it('train()/eval() reach every descendant; dropout masks are seeded and resumable', () => {
    const drop = new Dropout(0.5, { rng: new Rng(9) });
    const net = new Sequential(new Linear(4, 4), drop, new BatchNorm1d(4));
    net.eval();
    assert.ok(net.namedModules().every(([, m]) => !m.training));
    net.train();
    const x = tf.ones([3, 4]);
    const state = net.randomState();
    const m1 = drop.forward(x).dataSync();
    net.setRandomState(state);
    const m2 = drop.forward(x).dataSync();
    assert.deepEqual(Array.from(m1), Array.from(m2));
    assert.ok(Array.from(m1).some((v) => v === 0) && Array.from(m1).some((v) => v === 2));
    drop.eval();
    assert.deepEqual(Array.from(drop.forward(x).dataSync()), Array.from(x.dataSync()));
    x.dispose();
    net.dispose();
  });

  it('createEncoder validates configs field by field', () => {
    const err = (cfg: unknown, field: RegExp, problem: RegExp) =>
      assert.throws(() => createEncoder(cfg as never), (e: unknown) => e instanceof ConfigError && field.test(e.field) && problem.test(e.problem));
    err({ arch: 'vgg' }, /^encoder\.arch$/, /must be one of resnet3d/);
    err({ arch: 'resnet3d', width: [8] }, /^encoder\.width$/, /unknown key/);
    err({ arch: 'resnet3d', widths: [8, -1] }, /^encoder\.widths$/, /integers ≥ 1/);
    err({ arch: 'resnet3d', widths: [8, 16], depths: [1] }, /^encoder\.depths$/, /one entry per stage/);
    err({ arch: 'densenet3d', dropRate: 1.5 }, /^encoder\.dropRate$/, /\[0, 1\)/);
    err({ arch: 'text-transformer' }, /^encoder\.vocabSize$/, /required/);
    err({ arch: 'text-transformer', vocabSize: 10, dim: 10, heads: 4 }, /^encoder\.heads$/, /divide dim/);
    err({ arch: 'resnet2d', head: { out: 0 } }, /^encoder\.head\.out$/, /integer ≥ 1/);
    err({ arch: 'resnet2d', stemPool: 'yes' }, /^encoder\.stemPool$/, /true or false/);
    assert.deepEqual((resolveEncoderConfig({ arch: 'resnet3d', widths: [4, 8, 16] }) as { depths: number[] }).depths, [2, 2, 2]);
  });

  for (const cfg of [
    { arch: 'resnet3d', widths: [4, 8], depths: [1, 1], stemPool: true },
    { arch: 'densenet3d', blocks: [2, 2], growthRate: 4 },
    { arch: 'resnet2d', inChannels: 3, widths: [4, 8] },
    { arch: 'densenet2d', blocks: [1, 2] },
    { arch: 'text-transformer', vocabSize: 20, dim: 8, heads: 2, maxLength: 8, dropout: 0.1 },
  ]) {
    it(`${cfg.arch}: a training step (forward, backward, AdamW) leaves no tensor behind and changes the weights`, async () => {
      const enc = createEncoder(cfg, { seed: 1 });
      const { x, mask } = inputFor(enc, new Rng(2));
      const opt = new AdamW(enc, { lr: 1e-2 });
      const step = () => {
        const { value, grads } = tf.variableGrads(() => {
          const { representation, projection } = enc.forward(x, mask);
          return tf.add(tf.mean(tf.square(projection)), tf.mean(representation));
        }, enc.parameters());
        opt.step(grads);
        tf.dispose([value, ...Object.values(grads)]);
      };
      step(); // optimizer buffers are created on the first step
      const before = Object.fromEntries(Object.entries(enc.stateDict()).map(([k, v]) => [k, v.dataSync().slice()]));
      await assertNoLeak(step, 'a training step');
      const changed = Object.entries(enc.stateDict()).filter(([k, v]) => k.endsWith('weight') && v.dataSync().some((e, i) => e !== before[k][i]));
      assert.ok(changed.length > 3, 'weights were updated');
      const tracked = enc.stateDict()[cfg.arch.startsWith('dense') ? 'features.norm0.num_batches_tracked' : cfg.arch === 'text-transformer' ? 'norm.weight' : 'bn1.num_batches_tracked'];
      if (tracked.dtype === 'int32') assert.equal(tracked.dataSync()[0], 2);
      opt.dispose();
      enc.dispose();
      tf.dispose([x, ...(mask ? [mask] : [])]);
    });
  }
});

describe('nn ops', () => {
  afterEach(() => setConvImplementation('auto'));

  it('decomposed and native convolutions agree (forward on wasm; forward and gradients on the cpu backend)', async () => {
    const rng = new Rng(5);
    const run = (impl: 'native' | 'decomposed', withGrads: boolean) => {
      setConvImplementation(impl);
      const x = tf.tensor(new Rng(1).normalArray(2 * 6 * 7 * 5 * 3), [2, 6, 7, 5, 3]);
      const w = tf.tensor(new Rng(2).normalArray(4 * 3 * 27), [4, 3, 3, 3, 3]);
      const b = tf.tensor([0.1, -0.2, 0.3, 0]);
      const x2 = tf.tensor(new Rng(3).normalArray(2 * 9 * 8 * 3), [2, 9, 8, 3]);
      const w2 = tf.tensor(new Rng(4).normalArray(4 * 3 * 9), [4, 3, 3, 3]);
      const outs = [conv3d(x, w, b, { stride: [2, 1, 2], padding: 1 }), conv2d(x2, w2, b, { stride: 2, padding: 1 })];
      if (withGrads) {
        outs.push(...tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(conv3d(x, w, null, { stride: 2, padding: 1 }))))([x, w]));
        outs.push(...tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(conv2d(x, w, null, { stride: 1, padding: 1 }))))([x2, w2]));
      }
      const vals = outs.map((t) => t.dataSync().slice());
      tf.dispose([x, w, b, x2, w2, ...outs]);
      return vals;
    };
    const check = (withGrads: boolean) => {
      const a = run('native', withGrads);
      const d = run('decomposed', withGrads);
      a.forEach((v, i) => assertClose(d[i], v, 1e-4, 1e-4, `output ${i}`));
    };
    check(false);
    void rng;
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      check(true);
    } finally {
      await tf.setBackend(previous);
    }
  });

  it('customOp computes only the gradients the tape needs', () => {
    let xGrads = 0;
    let wGrads = 0;
    const op = (x: tf.Tensor, w: tf.Tensor) =>
      customOp({
        name: 'probe',
        inputs: { x, w },
        forward: (save) => {
          save([x, w]);
          return tf.mul(x, w);
        },
        backward: ([dy], [xs, ws]) => ({
          x: () => (xGrads++, tf.mul(dy, ws)),
          w: () => (wGrads++, tf.mul(dy, xs)),
        }),
      });
    const x = tf.tensor([1, 2, 3]);
    const w = tf.variable(tf.tensor([4, 5, 6]));
    const { grads, value } = tf.variableGrads(() => tf.sum(op(x, w)), [w]);
    assert.deepEqual(Array.from(grads[w.name].dataSync()), [1, 2, 3]);
    assert.deepEqual([xGrads, wGrads], [0, 1]);
    tf.dispose([x, w, value, ...Object.values(grads)]);
  });

  it('re-registered wasm Slice/Identity kernels give the same values as the cpu backend', async () => {
    const rng = new Rng(8);
    const cases: Array<[number[], number[], number[]]> = [
      [[5], [1], [3]],
      [[4, 6], [1, 2], [2, 3]],
      [[3, 4, 5], [0, 1, 0], [3, 2, 5]],
      [[2, 3, 4, 5], [1, 0, 2, 1], [1, 3, 2, 3]],
      [[2, 3, 4, 5, 2], [0, 1, 1, 0, 0], [2, 2, 3, 5, 2]],
      [[2, 3, 4], [0, 0, 0], [2, 3, 4]],
    ];
    const ours = cases.map(([shape, begin, size]) => {
      const x = tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
      const s = tf.slice(tf.clone(x), begin, size);
      const v = { x: x.dataSync().slice(), s: s.dataSync().slice() };
      tf.dispose([x, s]);
      return v;
    });
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      cases.forEach(([shape, begin, size], i) => {
        const s = tf.slice(tf.tensor(ours[i].x, shape), begin, size);
        assert.deepEqual(Array.from(ours[i].s), Array.from(s.dataSync()), `slice case ${i}`);
        s.dispose();
      });
    } finally {
      await tf.setBackend(previous);
    }
  });

  it('max pooling routes each window gradient to its first maximum (ties included), like PyTorch', () => {
    const x = tf.tensor([1, 3, 3, 0, 2, 2, 2, 2], [1, 2, 2, 2, 1]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(maxPool3d(v, { kernel: 2 })))(x);
    assert.deepEqual(Array.from(g.dataSync()), [0, 1, 0, 0, 0, 0, 0, 0]);
    const y = tf.tensor([5, 5, 5, 5, 5, 5, 5, 5], [1, 2, 2, 2, 1]);
    const gy = tf.grad((v: tf.Tensor) => tf.sum(maxPool3d(v, { kernel: 2 })))(y);
    assert.deepEqual(Array.from(gy.dataSync()), [1, 0, 0, 0, 0, 0, 0, 0]);
    tf.dispose([x, g, y, gy]);
  });

  it('shape errors name the layer and the expected layout', () => {
    const conv = new Conv3d(2, 4, 3);
    assert.throws(() => conv.forward(tf.zeros([1, 8, 8, 8, 3])), /conv3d: input has 3 channels but the weight expects 2/);
    assert.throws(() => conv.forward(tf.zeros([1, 8, 8, 2])), /rank 5 channels-last \[B, D, H, W, C\]/);
    assert.throws(() => new BatchNorm1d(3).forward(tf.zeros([1, 3])), /more than 1 value per channel/);
    conv.dispose();
  });
});
