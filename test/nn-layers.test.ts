/**
 * Every layer's forward, input gradient, parameter gradients and buffer updates against PyTorch float64 modules
 * loaded with the same state_dict (one Python process for all cases).
 */
import assert from 'node:assert/strict';
import {
  tf,
  Rng,
  Linear,
  Conv2d,
  Conv3d,
  BatchNorm1d,
  BatchNorm2d,
  BatchNorm3d,
  LayerNorm,
  GELU,
  ReLU,
  MaxPool2d,
  MaxPool3d,
  AvgPool2d,
  AvgPool3d,
  GlobalAvgPool,
  Embedding,
  MultiheadAttention,
  TransformerEncoderLayer,
  Sequential,
  type Module,
} from 'geoclr';
import { needPython } from './support/peers.js';
import { compareWithTorch, worstRelative, type Comparison, type ReferenceCase } from './support/nn-reference.js';

const rng = new Rng(7);
const randn = (shape: number[], std = 1) => tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1), std), shape);

/** A module plus a randomised state (so zero biases / unit norms do not hide mistakes). */
function randomise<M extends Module>(m: M): M {
  for (const [, p] of m.namedParameters()) p.assign(tf.tidy(() => tf.add(p, randn(p.shape, 0.3))));
  for (const [name, b] of m.namedBuffers()) {
    if (name.endsWith('running_var')) b.assign(tf.tidy(() => tf.add(0.5, tf.abs(randn(b.shape)))));
    else if (name.endsWith('running_mean')) b.assign(randn(b.shape, 0.5));
  }
  return m;
}

function single(name: string, module: Module & { forward(x: tf.Tensor): tf.Tensor }, pyModule: string, x: tf.Tensor, opts: Partial<ReferenceCase> = {}): ReferenceCase {
  return { name, module, pyModule, inputs: { x }, forward: (i) => module.forward(i.x), train: true, ...opts };
}

const cl = { channelsLast: ['x'] };

function cases(): ReferenceCase[] {
  const r = new Rng(3);
  const out: ReferenceCase[] = [
    single('linear', randomise(new Linear(5, 7, { rng: r })), 'nn.Linear(5, 7)', randn([3, 4, 5])),
    single('linear_nobias', new Linear(6, 3, { rng: r, bias: false }), 'nn.Linear(6, 3, bias=False)', randn([4, 6])),
    single('conv3d_s1p1', new Conv3d(3, 4, 3, { rng: r, padding: 1 }), 'nn.Conv3d(3, 4, 3, padding=1)', randn([2, 5, 6, 7, 3]), cl),
    single('conv3d_s2p1', new Conv3d(2, 5, 3, { rng: r, stride: 2, padding: 1 }), 'nn.Conv3d(2, 5, 3, stride=2, padding=1)', randn([2, 7, 8, 6, 2]), cl),
    single('conv3d_1x1s2_nobias', new Conv3d(3, 4, 1, { rng: r, stride: 2, bias: false }), 'nn.Conv3d(3, 4, 1, stride=2, bias=False)', randn([2, 6, 5, 6, 3]), cl),
    single('conv3d_1x1_pointwise', new Conv3d(5, 3, 1, { rng: r }), 'nn.Conv3d(5, 3, 1)', randn([2, 3, 4, 5, 5]), cl),
    single('conv2d_1x1_pointwise', new Conv2d(4, 6, 1, { rng: r, bias: false }), 'nn.Conv2d(4, 6, 1, bias=False)', randn([3, 5, 4, 4]), cl),
    single('conv3d_k7s2p3', new Conv3d(1, 3, 7, { rng: r, stride: 2, padding: 3 }), 'nn.Conv3d(1, 3, 7, stride=2, padding=3)', randn([2, 9, 10, 8, 1]), cl),
    single('conv3d_aniso', new Conv3d(2, 3, [1, 3, 5], { rng: r, stride: [1, 2, 1], padding: [0, 1, 2] }), 'nn.Conv3d(2, 3, (1, 3, 5), stride=(1, 2, 1), padding=(0, 1, 2))', randn([2, 4, 7, 6, 2]), cl),
    single('conv2d_s1p1', new Conv2d(3, 4, 3, { rng: r, padding: 1 }), 'nn.Conv2d(3, 4, 3, padding=1)', randn([2, 7, 6, 3]), cl),
    single('conv2d_s2p3', new Conv2d(2, 4, 7, { rng: r, stride: 2, padding: 3 }), 'nn.Conv2d(2, 4, 7, stride=2, padding=3)', randn([2, 11, 9, 2]), cl),
    single('bn1d_train', randomise(new BatchNorm1d(4)), 'nn.BatchNorm1d(4)', randn([6, 4], 2)),
    single('bn1d_seq_train', randomise(new BatchNorm1d(3)), 'nn.BatchNorm1d(3)', randn([4, 5, 3]), cl),
    single('bn2d_train', randomise(new BatchNorm2d(3)), 'nn.BatchNorm2d(3)', randn([2, 4, 5, 3], 3), cl),
    single('bn3d_train', randomise(new BatchNorm3d(5)), 'nn.BatchNorm3d(5)', tf.tidy(() => tf.add(randn([2, 3, 4, 5, 5], 2), 1)), cl),
    single('bn3d_eval', randomise(new BatchNorm3d(5)), 'nn.BatchNorm3d(5)', randn([2, 3, 4, 5, 5]), { ...cl, train: false }),
    single('bn3d_momentum', randomise(new BatchNorm3d(2, { momentum: 0.3, eps: 1e-3 })), 'nn.BatchNorm3d(2, momentum=0.3, eps=1e-3)', randn([3, 2, 3, 2, 2]), cl),
    single('bn2d_noaffine', new BatchNorm2d(3, { affine: false }), 'nn.BatchNorm2d(3, affine=False)', randn([2, 3, 3, 3]), cl),
    single('layernorm', randomise(new LayerNorm(6)), 'nn.LayerNorm(6)', randn([3, 4, 6], 2)),
    single('gelu', new GELU(), 'nn.GELU()', randn([4, 9], 2)),
    single('relu', new ReLU(), 'nn.ReLU()', randn([4, 9], 2)),
    single('maxpool3d_k2', new MaxPool3d({ kernel: 2 }), 'nn.MaxPool3d(2)', randn([2, 5, 6, 7, 3]), cl),
    single('maxpool3d_k3s2p1', new MaxPool3d({ kernel: 3, stride: 2, padding: 1 }), 'nn.MaxPool3d(3, stride=2, padding=1)', randn([2, 6, 7, 5, 2]), cl),
    single('avgpool3d_k2', new AvgPool3d({ kernel: 2 }), 'nn.AvgPool3d(2)', randn([2, 4, 6, 5, 3]), cl),
    single('avgpool3d_k3s2p1', new AvgPool3d({ kernel: 3, stride: 2, padding: 1 }), 'nn.AvgPool3d(3, stride=2, padding=1)', randn([2, 5, 6, 5, 2]), cl),
    single('maxpool2d_k2', new MaxPool2d({ kernel: 2 }), 'nn.MaxPool2d(2)', randn([2, 6, 5, 3]), cl),
    single('avgpool2d_k2', new AvgPool2d({ kernel: 2 }), 'nn.AvgPool2d(2)', randn([2, 6, 4, 3]), cl),
    single('globalavgpool3d', new GlobalAvgPool(), 'nn.Sequential(nn.AdaptiveAvgPool3d(1), nn.Flatten())', randn([2, 3, 4, 5, 6]), { pyCall: 'm(x.permute(0, 4, 1, 2, 3))' }),
    single(
      'conv_bn_relu_seq',
      new Sequential(new Conv3d(2, 4, 3, { rng: r, padding: 1, bias: false }), randomise(new BatchNorm3d(4)), new ReLU(), new MaxPool3d({ kernel: 2 })),
      'nn.Sequential(nn.Conv3d(2, 4, 3, padding=1, bias=False), nn.BatchNorm3d(4), nn.ReLU(), nn.MaxPool3d(2))',
      randn([2, 6, 6, 6, 2]),
      cl,
    ),
  ];
  const emb = new Embedding(11, 5, { rng: r });
  out.push({
    name: 'embedding',
    module: emb,
    pyModule: 'nn.Embedding(11, 5)',
    pyCall: 'm(ids)',
    inputs: { ids: tf.tensor([[1, 3, 3, 0], [10, 1, 3, 7]], [2, 4], 'int32') },
    forward: (i) => emb.forward(i.ids),
    train: true,
  });
  const mha = randomise(new MultiheadAttention(8, 2, { rng: r }));
  const mask = tf.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], [2, 5], 'int32');
  out.push({
    name: 'mha_masked',
    module: mha,
    pyModule: 'nn.MultiheadAttention(8, 2, batch_first=True)',
    pyCall: 'm(x, x, x, key_padding_mask=mask, need_weights=False)[0]',
    inputs: { x: randn([2, 5, 8]), mask },
    boolInputs: ['mask'],
    forward: (i) => mha.forward(i.x, i.mask),
    train: true,
  });
  const layer = randomise(new TransformerEncoderLayer(8, 2, { ffDim: 12, dropout: 0, rng: r }));
  out.push({
    name: 'transformer_layer',
    module: layer,
    pyModule: "nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation='gelu', batch_first=True, norm_first=True)",
    pyCall: 'm(x, src_key_padding_mask=mask)',
    inputs: { x: randn([2, 5, 8]), mask },
    boolInputs: ['mask'],
    forward: (i) => layer.forward(i.x, i.mask),
    train: true,
  });
  return out;
}

describe('nn layers against PyTorch float64', function () {
  let results: Record<string, Comparison> = {};
  let names: string[] = [];

  before(function () {
    needPython(this, ['torch']);
    const all = cases();
    names = all.map((c) => c.name);
    results = compareWithTorch(all);
    for (const c of all) c.module.dispose();
  });

  it('matches forward, input and parameter gradients, and running statistics for every layer', function () {
    needPython(this, ['torch']);
    assert.ok(names.length >= 25, 'all cases ran');
    const failures: string[] = [];
    for (const name of names) {
      const { name: worstName, rel } = worstRelative(results[name]);
      if (!(rel < 2e-5)) failures.push(`${name}: ${worstName} off by ${rel.toExponential(2)} (relative to its max)`);
      // Each case compared its output and at least one gradient.
      const keys = Object.keys(results[name].pairs);
      assert.ok(keys.includes('out') && keys.some((k) => k.startsWith('grad.')), `${name} compared ${keys}`);
    }
    assert.deepEqual(failures, []);
  });

  it('updates num_batches_tracked and running statistics only in training mode', function () {
    needPython(this, ['torch']);
    const train = results.bn3d_train.pairs['after.num_batches_tracked'];
    assert.equal(train[0][0], 1);
    assert.equal(results.bn3d_eval.pairs['after.num_batches_tracked'][0][0], 0);
  });
});
