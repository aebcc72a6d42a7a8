/**
 * Properties of the objectives that do not need PyTorch: the identities LOSSES.md states, finiteness at
 * τ = 0.01 with aligned inputs, no tensor leaks, typed errors on bad input (thrown before computing), and
 * that every objective's gradient runs — and trains — on the wasm backend.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as g from 'geoclr';
import { ShapeError, ValueError, type KernelLike } from 'geoclr';
import { assertClose, assertNoLeak, valueAndGrads } from './support/tf.js';

const { tf } = g;
type T = g.tf.Tensor;

function randn(shape: number[], seed: number): T {
  const rng = new g.Rng(seed);
  return tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
}

function assertSameObjective(
  what: string,
  f1: (...xs: T[]) => g.tf.Scalar,
  f2: (...xs: T[]) => g.tf.Scalar,
  xs: T[],
): void {
  const a = valueAndGrads(f1, xs);
  const b = valueAndGrads(f2, xs);
  assertClose([a.value], [b.value], 1e-5, 1e-6, `${what}: value`);
  a.grads.forEach((ga, i) => assertClose(ga, b.grads[i], 1e-4, 1e-6, `${what}: gradient ${i}`));
}

// One representative call of every objective on (z1, z2) [n, d], n = 8: what the generic tests iterate over.
const n = 8;
const labels = [0, 1, 0, 1, 2, 2, 0, 1];
const bias = [0, 1, 1, 0, 0, 1, 1, 0];
const ages = [31, 45, 52, 38, 67, 29, 71, 44];
const meta = ages.map((a, i) => [a, i % 2 ? 'F' : 'M']);
const mixed: KernelLike = g.productKernel(g.rbfKernel(10), g.deltaKernel());
const group = [0, 1, 0, 1, 1, 0, 1, 0];
const visits = ages.map((a, i) => [`s${i >> 1}`, i % 2 ? 1.5 : 0, a]);

function objectives(tau: number): Record<string, (z1: T, z2: T) => g.tf.Scalar> {
  return {
    infoNCE: (a, b) => g.infoNCE(a, b, { temperature: tau }),
    supCon: (a, b) => g.supCon([a, b], labels, { temperature: tau }),
    'epsilonSupInfoNCE infonce': (a, b) => g.epsilonSupInfoNCE([a, b], labels, { temperature: tau, epsilon: 0.5 }),
    'epsilonSupInfoNCE supcon': (a, b) => g.epsilonSupInfoNCE([a, b], labels, { temperature: tau, epsilon: 0.5, variant: 'supcon' }),
    'epsilonSupInfoNCE unsupervised': (a, b) => g.epsilonSupInfoNCE([a, b], null, { temperature: tau, epsilon: 0.25 }),
    yAwareInfoNCE: (a, b) => g.yAwareInfoNCE(a, b, meta, { temperature: tau, kernel: mixed }),
    'yAwareInfoNCE longitudinal': (a, b) =>
      g.yAwareInfoNCE(a, b, visits, { temperature: tau, kernel: g.longitudinalKernel({ sigmaTime: 1, metadata: g.rbfKernel(20) }) }),
    // Composites are tidied here so that the leak test sees only what the objectives themselves keep.
    'fairKL kl': (a, b) => tf.tidy(() => tf.add(g.fairKL(a, labels, bias, { temperature: tau }), g.fairKL(b, labels, bias, { temperature: tau }))),
    'fairKL moments': (a, b) => tf.tidy(() => g.fairKL(tf.add(a, b), labels, bias, { temperature: tau, mode: 'moments' })),
    decoupledUniformity: (a, b) => g.decoupledUniformity([a, b]),
    'decoupledUniformity prior': (a, b) => g.decoupledUniformity([a, b], { prior: ages, kernel: g.rbfKernel(10) }),
    alignment: (a, b) => g.alignment(a, b),
    uniformity: (a, b) => tf.tidy(() => tf.add(g.uniformity(a), g.uniformity(b))),
    sepCLR: (a, b) =>
      tf.tidy(() => g.sepCLR({ c1: a, c2: b, s1: tf.slice(a, [0, 0], [-1, 3]), s2: tf.slice(b, [0, 0], [-1, 3]), group }).total),
    clipLoss: (a, b) => g.clipLoss(a, b, { temperature: tau }),
    kernelClipLoss: (a, b) => g.kernelClipLoss(a, b, meta, { temperature: tau, kernel: mixed }),
    longitudinalDirection: (a, b) => tf.tidy(() => g.longitudinalDirection(a, b, tf.slice(tf.add(a, b), [0, 0], [1, -1]))),
  };
}

describe('objectives: identities of LOSSES.md', () => {
  const z1 = randn([n, 5], 1);
  const z2 = randn([n, 5], 2);
  after(() => tf.dispose([z1, z2]));

  it('ε = 0 ε-SupCon equals SupCon (values and gradients)', () => {
    assertSameObjective(
      'ε-SupCon(ε=0) vs SupCon',
      (a, b) => g.epsilonSupInfoNCE([a, b], labels, { epsilon: 0, variant: 'supcon', temperature: 0.2, baseTemperature: 0.07 }),
      (a, b) => g.supCon([a, b], labels, { temperature: 0.2, baseTemperature: 0.07 }),
      [z1, z2],
    );
  });

  it('ε = 0 ε-SupInfoNCE equals SupInfoNCE (a direct float64 evaluation of its definition)', () => {
    const v = g.epsilonSupInfoNCE([z1, z2], labels, { epsilon: 0, temperature: 0.1 });
    const got = v.dataSync()[0];
    v.dispose();
    // SupInfoNCE: −mean_a mean_{p∈P(a)} log( e^{S_ap} / (e^{S_ap} + Σ_{j∈N(a)} e^{S_aj}) ), by plain loops.
    const rows = [...z1.arraySync() as number[][], ...z2.arraySync() as number[][]].map((r) => {
      const norm = Math.hypot(...r);
      return r.map((x) => x / norm);
    });
    const y = [...labels, ...labels];
    const m = rows.length;
    const s = (a: number, b: number) => rows[a].reduce((acc, x, k) => acc + x * rows[b][k], 0) / 0.1;
    let total = 0;
    for (let a = 0; a < m; a++) {
      const pos = [...Array(m).keys()].filter((k) => k !== a && y[k] === y[a]);
      const neg = [...Array(m).keys()].filter((k) => y[k] !== y[a]);
      const negSum = neg.reduce((acc, j) => acc + Math.exp(s(a, j)), 0);
      total += -pos.reduce((acc, p) => acc + Math.log(Math.exp(s(a, p)) / (Math.exp(s(a, p)) + negSum)), 0) / pos.length;
    }
    assertClose([got], [total / m], 1e-5, 1e-6, 'ε-SupInfoNCE(ε=0)');
  });

  for (const variant of ['infonce', 'supcon'] as const) {
    it(`unsupervised (labels = null) ε = 0 ${variant} variant equals InfoNCE`, () => {
      assertSameObjective(
        `ε-${variant}(null, ε=0) vs InfoNCE`,
        (a, b) => g.epsilonSupInfoNCE(tf.stack([a, b], 1), null, { epsilon: 0, variant, temperature: 0.3 }),
        (a, b) => g.infoNCE(a, b, { temperature: 0.3 }),
        [z1, z2],
      );
    });
  }

  it('kernel CLIP with a delta kernel on sample identity equals CLIP', () => {
    const ids = [...Array(n).keys()];
    assertSameObjective(
      'kernelClip(delta on ids) vs CLIP',
      (a, b) => g.kernelClipLoss(a, b, ids, { kernel: g.deltaKernel(), temperature: 0.05 }),
      (a, b) => g.clipLoss(a, b, { temperature: 0.05 }),
      [z1, z2],
    );
  });

  it('y-Aware InfoNCE with a delta kernel on sample identity equals InfoNCE', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    assertSameObjective(
      'yAware(delta on ids) vs InfoNCE',
      (a, b) => g.yAwareInfoNCE(a, b, ids, { kernel: g.deltaKernel(), temperature: 0.2 }),
      (a, b) => g.infoNCE(a, b, { temperature: 0.2 }),
      [z1, z2],
    );
  });

  it('y-Aware InfoNCE with a longitudinal kernel = with the equivalent product kernel (subject × time)', () => {
    const rows = visits.map((r) => [r[0], r[1]]);
    assertSameObjective(
      'longitudinalKernel vs productKernel(delta, rbf)',
      (a, b) => g.yAwareInfoNCE(a, b, rows, { kernel: g.longitudinalKernel({ sigmaTime: 0.7 }) }),
      (a, b) => g.yAwareInfoNCE(a, b, rows, { kernel: g.productKernel(g.deltaKernel(), g.rbfKernel(0.7)) }),
      [z1, z2],
    );
  });

  it('a learnable CLIP temperature log(1/τ) gives the fixed-τ loss, and its gradient stops at the 1/τ ≤ 100 clamp', () => {
    const logScale = tf.scalar(Math.log(1 / 0.2));
    assertSameObjective(
      'clip(logitScale) vs clip(τ)',
      (a, b) => g.clipLoss(a, b, { logitScale: logScale }),
      (a, b) => g.clipLoss(a, b, { temperature: 0.2 }),
      [z1, z2],
    );
    const high = tf.scalar(Math.log(500));
    const dScale = tf.grad((s: T) => g.clipLoss(z1, z2, { temperature: s }))(high);
    const v = g.clipLoss(z1, z2, { logitScale: high });
    const atClamp = g.clipLoss(z1, z2, { temperature: 0.01 });
    assert.equal(dScale.dataSync()[0], 0);
    assertClose(v.dataSync(), atClamp.dataSync(), 1e-6, 1e-6, 'clamped loss');
    tf.dispose([logScale, high, dScale, v, atClamp]);
  });

  it('FairKL: a batch without bias-conflicting pairs contributes a documented zero (gradient zero), or throws on request', () => {
    const f = randn([6, 4], 3);
    const y = [0, 0, 1, 1, 2, 2];
    const { value, grads } = valueAndGrads((x) => g.fairKL(x, y, y), [f]);
    assert.equal(value, 0);
    assert.ok(grads[0].every((x) => x === 0));
    assert.throws(() => g.fairKL(f, y, y, { emptySets: 'error' }), (e: Error) => e instanceof ValueError && /pc.*nc|pair/.test(e.message));
    f.dispose();
  });

  it('anchors without positives contribute zero (SupCon on singleton classes is 0 with zero gradient)', () => {
    const z = randn([5, 1, 4], 4);
    const { value, grads } = valueAndGrads((x) => g.supCon(x, [0, 1, 2, 3, 4]), [z]);
    assert.equal(value, 0);
    assert.ok(grads[0].every((x) => x === 0));
    z.dispose();
  });
});

describe('objectives: τ = 0.01 with aligned inputs is finite (values and gradients)', () => {
  // Perfectly aligned views, and duplicated samples: the worst case for an un-shifted log-sum-exp.
  const base = randn([n, 6], 5);
  const z1 = tf.concat([tf.slice(base, [0, 0], [n / 2, -1]), tf.slice(base, [0, 0], [n / 2, -1])]);
  const z2 = tf.clone(z1);
  after(() => tf.dispose([base, z1, z2]));
  for (const [name, f] of Object.entries(objectives(0.01))) {
    it(name, () => {
      const { value, grads } = valueAndGrads(f, [z1, z2]);
      assert.ok(Number.isFinite(value), `${name}: value ${value}`);
      grads.forEach((gr, i) => assert.ok(gr.every(Number.isFinite), `${name}: gradient ${i} is not finite`));
    });
  }
});

describe('objectives: no tensor leaks', () => {
  const z1 = randn([n, 6], 6);
  const z2 = randn([n, 6], 7);
  after(() => tf.dispose([z1, z2]));
  for (const [name, f] of Object.entries(objectives(0.1))) {
    it(name, async () => {
      const v1 = tf.variable(z1);
      const v2 = tf.variable(z2);
      await assertNoLeak(() => tf.dispose(f(z1, z2)), `${name} (forward)`);
      await assertNoLeak(() => tf.dispose(tf.grads((a: T, b: T) => f(a, b))([z1, z2])), `${name} (tf.grads)`);
      await assertNoLeak(() => {
        const { value, grads } = tf.variableGrads(() => f(v1, v2), [v1, v2]);
        tf.dispose([value, ...Object.values(grads)]);
      }, `${name} (tf.variableGrads)`);
      tf.dispose([v1, v2]);
    });
  }
  it('the objectives used inside composites above leak nothing when called directly', async () => {
    const dir = tf.ones([6]);
    const calls: [string, () => g.tf.Scalar][] = [
      ['fairKL', () => g.fairKL(z1, labels, bias)],
      ['fairKL moments', () => g.fairKL(z1, labels, bias, { mode: 'moments' })],
      ['uniformity', () => g.uniformity(z1)],
      ['longitudinalDirection', () => g.longitudinalDirection(z1, z2, dir)],
    ];
    for (const [name, call] of calls) {
      await assertNoLeak(() => tf.dispose(call()), name);
      await assertNoLeak(() => tf.dispose(tf.grads(() => call())([z1])), `${name} (gradient)`);
    }
    dir.dispose();
  });
  it('sepCLR returns five scalars and keeps nothing else', async () => {
    await assertNoLeak(() => {
      const r = g.sepCLR({ c1: z1, c2: z2, s1: z1, s2: z2, group });
      assert.deepEqual(Object.keys(r).sort(), ['common', 'jem', 'reg', 'salient', 'total']);
      for (const v of Object.values(r)) assert.equal(v.rank, 0);
      tf.dispose(Object.values(r));
    });
  });
  it('kernels and bad-input errors leak nothing', async () => {
    await assertNoLeak(() => tf.dispose(g.kernelMatrix(mixed, meta)));
    await assertNoLeak(() => assert.throws(() => g.kernelMatrix(g.rbfKernel(1), meta)));
    await assertNoLeak(() => assert.throws(() => g.yAwareInfoNCE(z1, z2, ages.slice(1), { kernel: g.rbfKernel(5) })));
  });
});

describe('objectives: bad input is a typed error naming the argument, thrown before computing', () => {
  const z = randn([n, 4], 8);
  const z3 = randn([n, 3], 9);
  const views = tf.stack([z, z], 1);
  const withNaN = tf.tensor2d([...z.dataSync()].map((x, i) => (i === 5 ? NaN : x)), [n, 4]);
  const withInf = tf.tensor2d([...z.dataSync()].map((x, i) => (i === 2 ? Infinity : x)), [n, 4]);
  after(() => tf.dispose([z, z3, views, withNaN, withInf]));

  const cases: [string, () => unknown, typeof ShapeError | typeof ValueError, RegExp][] = [
    ['infoNCE d mismatch', () => g.infoNCE(z, z3), ShapeError, /z2.*\[8, 4\].*\[8, 3\]/],
    ['infoNCE n mismatch', () => g.infoNCE(z, tf.slice(z, [0, 0], [4, -1])), ShapeError, /z2/],
    ['infoNCE wrong rank', () => g.infoNCE(views, views), ShapeError, /z1.*rank 2/],
    ['infoNCE NaN', () => g.infoNCE(withNaN, z), ValueError, /z1 must be finite.*NaN/],
    ['infoNCE Inf', () => g.infoNCE(z, withInf), ValueError, /z2 must be finite.*Infinity/],
    ['infoNCE τ = 0', () => g.infoNCE(z, z, { temperature: 0 }), ValueError, /temperature.*> 0/],
    ['infoNCE τ < 0', () => g.infoNCE(z, z, { temperature: -0.1 }), ValueError, /temperature/],
    ['supCon labels length', () => g.supCon(views, [0, 1, 2]), ShapeError, /labels.*\(8\).*3/],
    ['supCon views rank', () => g.supCon(z, labels), ShapeError, /views.*\[n, V, d\]/],
    ['supCon NaN label', () => g.supCon(views, [...labels.slice(1), NaN]), ValueError, /labels must be finite/],
    ['supCon views list d mismatch', () => g.supCon([z, z3], labels), ShapeError, /views\[1\]/],
    ['supCon baseTemperature', () => g.supCon(views, labels, { baseTemperature: -1 }), ValueError, /baseTemperature/],
    ['ε negative', () => g.epsilonSupInfoNCE(views, labels, { epsilon: -0.1 }), ValueError, /epsilon.*≥ 0/],
    ['ε unknown variant', () => g.epsilonSupInfoNCE(views, null, { variant: 'simclr' as never }), ValueError, /variant.*'infonce', 'supcon'/],
    ['ε labels length', () => g.epsilonSupInfoNCE(views, [1, 2]), ShapeError, /labels/],
    ['yAware metadata rows', () => g.yAwareInfoNCE(z, z, ages.slice(2), { kernel: g.rbfKernel(5) }), ShapeError, /metadata.*\[8, q\]/],
    ['yAware negative σ', () => g.yAwareInfoNCE(z, z, ages, { kernel: g.rbfKernel(-5) }), ValueError, /sigma.*> 0/],
    ['yAware no kernel', () => g.yAwareInfoNCE(z, z, ages, {} as never), ValueError, /kernel is required/],
    ['yAware NaN metadata', () => g.yAwareInfoNCE(z, z, [...ages.slice(1), NaN], { kernel: g.rbfKernel(5) }), ValueError, /metadata must be finite/],
    ['yAware string column with rbf', () => g.yAwareInfoNCE(z, z, meta, { kernel: g.rbfKernel(5) }), ValueError, /column 1 holds strings/],
    ['yAware product column count', () => g.yAwareInfoNCE(z, z, ages, { kernel: mixed }), ShapeError, /metadata must be \[n, 2\]/],
    ['yAware negative kernel', () => g.yAwareInfoNCE(z, z, ages.map((a, i) => [i % 2 ? a : -a, 1]), { kernel: g.cosineKernel() }), ValueError, /kernel must be ≥ 0/],
    ['fairKL unknown mode', () => g.fairKL(z, labels, bias, { mode: 'js' as never }), ValueError, /mode.*'kl', 'moments'/],
    ['fairKL bias length', () => g.fairKL(z, labels, bias.slice(1)), ShapeError, /biasLabels/],
    ['fairKL kld', () => g.fairKL(z, labels, bias, { kld: -1 }), ValueError, /kld/],
    ['decoupledUniformity prior rows', () => g.decoupledUniformity(views, { prior: [1, 2, 3] }), ShapeError, /prior/],
    ['decoupledUniformity λ', () => g.decoupledUniformity(views, { prior: ages, lambda: 0 }), ValueError, /lambda/],
    ['decoupledUniformity t', () => g.decoupledUniformity(views, { t: -2 }), ValueError, /\bt must/],
    ['alignment α', () => g.alignment(z, z, { alpha: 0 }), ValueError, /alpha/],
    ['uniformity rank', () => g.uniformity(views), ShapeError, /z.*rank 2/],
    ['sepCLR group length', () => g.sepCLR({ c1: z, c2: z, s1: z3, s2: z3, group: [0, 1] }), ShapeError, /group/],
    ['sepCLR group value', () => g.sepCLR({ c1: z, c2: z, s1: z3, s2: z3, group: group.map((x) => x * 2) }), ValueError, /group\[1\].*0.*1/],
    ['sepCLR s2 d mismatch', () => g.sepCLR({ c1: z, c2: z, s1: z3, s2: z, group }), ShapeError, /s2/],
    ['sepCLR τ', () => g.sepCLR({ c1: z, c2: z, s1: z3, s2: z3, group }, { tau: 0 }), ValueError, /tau/],
    ['clip τ', () => g.clipLoss(z, z, { temperature: 0 }), ValueError, /temperature/],
    ['clip logitScale shape', () => g.clipLoss(z, z, { logitScale: tf.zeros([2]) }), ValueError, /logitScale.*scalar/],
    ['kernelClip metadata', () => g.kernelClipLoss(z, z, ages.slice(1), { kernel: g.rbfKernel(3) }), ShapeError, /metadata/],
    ['longitudinalDirection direction', () => g.longitudinalDirection(z, z, tf.zeros([3])), ShapeError, /direction.*\[4\]/],
  ];
  for (const [name, call, type, pattern] of cases) {
    it(name, () => {
      const before = tf.memory().numTensors;
      assert.throws(call as () => void, (e: Error) => {
        assert.ok(e instanceof type, `${name}: expected ${type.name}, got ${e.constructor.name}: ${e.message}`);
        assert.match(e.message, pattern);
        return true;
      });
      // Only the arguments built inline by the case itself may remain (they are not the objective's).
      assert.ok(tf.memory().numTensors - before <= 1, `${name}: computation started before the error`);
    });
  }
});

describe('objectives: gradients run and train on the wasm backend', function () {
  let previous = '';
  before(async function () {
    previous = tf.getBackend();
    if (previous !== 'wasm') {
      if (tf.findBackend('wasm') == null) {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        const require = createRequire(import.meta.url);
        wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
      }
      assert.ok(await tf.setBackend('wasm'), 'the wasm backend could not be activated');
    }
  });
  after(async () => {
    if (previous && previous !== 'wasm') await tf.setBackend(previous);
  });

  for (const [name, f] of Object.entries(objectives(0.1))) {
    it(name, () => {
      assert.equal(tf.getBackend(), 'wasm');
      const x1 = tf.variable(randn([n, 6], 10));
      const x2 = tf.variable(randn([n, 6], 11));
      const optimizer = tf.train.adam(0.05);
      const losses: number[] = [];
      for (let step = 0; step < 8; step++) {
        const loss = optimizer.minimize(() => f(x1, x2), true, [x1, x2])!;
        losses.push(loss.dataSync()[0]);
        loss.dispose();
      }
      optimizer.dispose();
      tf.dispose([x1, x2]);
      assert.ok(losses.every(Number.isFinite), `${name}: non-finite loss while training: ${losses}`);
      assert.ok(losses[losses.length - 1] < losses[0], `${name}: the loss did not decrease on wasm: ${losses.map((l) => l.toFixed(4))}`);
    });
  }
});
