/**
 * Properties of the contrastive-analysis regularisers (mmd, hsic) and the cVAE / MM-cVAE objective that the PyTorch
 * fixtures do not cover: identities, edge cases that must stay finite (constant codes, batches with one group), typed
 * errors on bad input, and no tensor leaks. Values and gradients vs PyTorch: losses.reference.test.ts.
 */
import assert from 'node:assert/strict';
import * as g from 'geoclr';
import { ShapeError, ValueError } from 'geoclr';
import { assertNoLeak, valueAndGrads } from './support/tf.js';

const { tf } = g;
type T = g.tf.Tensor;

function randn(shape: number[], seed: number, scale = 1, shift = 0): T {
  const rng = new g.Rng(seed);
  return tf.tensor(Array.from(rng.normalArray(shape.reduce((a, b) => a * b, 1)), (v) => v * scale + shift), shape);
}

const allFinite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);

describe('mmd (RBF maximum mean discrepancy)', () => {
  const x = randn([8, 3], 1);
  const y = randn([6, 3], 2, 1, 1.5);
  after(() => tf.dispose([x, y]));

  it('is 0 between a sample and itself, symmetric, ≥ 0 (biased) and grows with the shift', () => {
    const same = g.mmd(x, x);
    assert.ok(Math.abs(same.dataSync()[0]) < 1e-6, `MMD(x, x) = ${same.dataSync()[0]}`);
    const xy = g.mmd(x, y).dataSync()[0];
    const yx = g.mmd(y, x).dataSync()[0];
    assert.ok(Math.abs(xy - yx) < 1e-6 && xy > 0, `MMD(x,y) = ${xy}, MMD(y,x) = ${yx}`);
    const near = tf.tidy(() => g.mmd(x, tf.add(x, 0.1)).dataSync()[0]);
    assert.ok(near < xy, `a small shift (${near}) must score below a large one (${xy})`);
    same.dispose();
  });

  it('unbiased: about 0 in expectation for two draws of one distribution, needs 2 rows per side', () => {
    const a = randn([200, 2], 3);
    const b = randn([200, 2], 4);
    const v = tf.tidy(() => g.mmd(a, b, { estimator: 'unbiased' }).dataSync()[0]);
    assert.ok(Math.abs(v) < 0.02, `unbiased MMD² of two N(0, I) samples = ${v}`);
    assert.throws(() => g.mmd(tf.zeros([1, 2]), b, { estimator: 'unbiased' }), ShapeError);
    tf.dispose([a, b]);
  });

  it('rejects bad bandwidths and estimators with typed errors; leaks nothing', async () => {
    assert.throws(() => g.mmd(x, y, { sigma: 0 }), ValueError);
    assert.throws(() => g.mmd(x, y, { sigma: [] }), ValueError);
    assert.throws(() => g.mmd(x, y, { estimator: 'fast' as never }), ValueError);
    assert.throws(() => g.mmd(x, randn([4, 2], 5)), ShapeError);
    await assertNoLeak(() => {
      const r = valueAndGrads((a, b) => g.mmd(a, b, { sigma: 'median' }), [x, y]);
      assert.ok(allFinite(r.grads[0]) && allFinite(r.grads[1]));
    }, 'mmd value + gradient');
  });
});

describe('hsic (kernel independence)', () => {
  it('normalised HSIC is 1 for identical codes, near 0 for independent ones, and 0 (finite gradients) for a constant code', async () => {
    const x = randn([64, 3], 6);
    const indep = randn([64, 2], 7);
    const one = tf.tidy(() => g.hsic(x, x, { normalized: true }).dataSync()[0]);
    assert.ok(Math.abs(one - 1) < 1e-4, `nHSIC(x, x) = ${one}`);
    const low = tf.tidy(() => g.hsic(x, indep, { normalized: true }).dataSync()[0]);
    const dep = tf.tidy(() => g.hsic(x, tf.tanh(tf.slice(x, [0, 0], [-1, 2])), { normalized: true }).dataSync()[0]);
    assert.ok(low < 0.2 && dep > 0.5, `independent ${low}, dependent ${dep}`);
    const constant = tf.zeros([64, 2]);
    await assertNoLeak(() => {
      const r = valueAndGrads((a, b) => g.hsic(a, b, { normalized: true }), [x, constant]);
      assert.ok(Math.abs(r.value) < 1e-3, `nHSIC with a constant code = ${r.value}`);
      assert.ok(allFinite(r.grads[0]) && allFinite(r.grads[1]), 'gradients must stay finite for a constant code');
      const raw = valueAndGrads((a, b) => g.hsic(a, b), [x, constant]);
      assert.ok(Math.abs(raw.value) < 1e-7 && allFinite(raw.grads[0]));
    }, 'hsic');
    tf.dispose([x, indep, constant]);
  });

  it('typed errors: row mismatch, fewer than 2 rows, bad bandwidth', () => {
    const x = randn([5, 2], 8);
    assert.throws(() => g.hsic(x, randn([4, 2], 9)), ShapeError);
    assert.throws(() => g.hsic(tf.zeros([1, 2]), tf.zeros([1, 2])), ShapeError);
    assert.throws(() => g.hsic(x, x, { sigmaX: -1 }), ValueError);
    x.dispose();
  });
});

describe('contrastiveVAELoss (cVAE / MM-cVAE)', () => {
  const n = 6;
  const inputs = (group: number[]) => ({
    x: randn([n, 4, 4, 1], 10),
    recon: randn([n, 4, 4, 1], 11),
    zMu: randn([n, 3], 12),
    zLogvar: randn([n, 3], 13, 0.3),
    z: randn([n, 3], 14),
    sMu: randn([n, 2], 15),
    sLogvar: randn([n, 2], 16, 0.3),
    s: randn([n, 2], 17),
    group,
  });
  const names = ['x', 'recon', 'zMu', 'zLogvar', 'z', 'sMu', 'sLogvar', 's'] as const;

  for (const [tag, group] of [
    ['no background row', [1, 1, 1, 1, 1, 1]],
    ['no target row', [0, 0, 0, 0, 0, 0]],
    ['a single background row', [0, 1, 1, 1, 1, 1]],
  ] as const) {
    it(`finite value and gradients with ${tag} (MMD terms defined as documented)`, async () => {
      const inp = inputs([...group]);
      const ts = names.map((k) => inp[k]);
      await assertNoLeak(() => {
        const f = (...xs: T[]) =>
          tf.tidy(() =>
            g.contrastiveVAELoss({ ...Object.fromEntries(names.map((k, i) => [k, xs[i]])), group: inp.group } as never, {
              mmdCommon: 10,
              mmdSalient: 10,
            }).total,
          );
        const r = valueAndGrads(f, ts);
        assert.ok(Number.isFinite(r.value), `total = ${r.value}`);
        r.grads.forEach((gr, i) => assert.ok(allFinite(gr), `gradient w.r.t. ${names[i]} not finite`));
        const terms = g.contrastiveVAELoss(inp as never, { mmdCommon: 1 });
        const v = Object.fromEntries(Object.entries(terms).map(([k, t]) => [k, t.dataSync()[0]]));
        tf.dispose(Object.values(terms));
        const has = (k: number) => (group as readonly number[]).includes(k);
        if (!has(0)) assert.equal(Math.abs(v.mmdSalient), 0);
        if (!has(0) || !has(1)) assert.equal(Math.abs(v.mmdCommon), 0);
        if (!has(1)) assert.equal(Math.abs(v.klSalient), 0);
      }, tag);
      tf.dispose(ts);
    });
  }

  it('typed errors: group labels other than 0/1, wrong lengths, shape mismatches, bad options', () => {
    const inp = inputs([0, 1, 0, 1, 0, 1]);
    assert.throws(() => g.contrastiveVAELoss({ ...inp, group: [0, 1, 2, 1, 0, 1] }), (e: Error) => e instanceof ValueError && /group\[2\].*0.*1.*got 2/.test(e.message));
    assert.throws(() => g.contrastiveVAELoss({ ...inp, group: [0, 1] }), ShapeError);
    assert.throws(() => g.contrastiveVAELoss({ ...inp, recon: inp.zMu }), (e: Error) => e instanceof ShapeError && /recon/.test(e.message));
    assert.throws(() => g.contrastiveVAELoss({ ...inp, zLogvar: inp.sMu }), (e: Error) => e instanceof ShapeError && /zLogvar/.test(e.message));
    assert.throws(() => g.contrastiveVAELoss(inp, { likelihood: 'poisson' as never }), ValueError);
    assert.throws(() => g.contrastiveVAELoss(inp, { beta: -1 }), ValueError);
    const nan = tf.fill([n, 4, 4, 1], NaN);
    assert.throws(() => g.contrastiveVAELoss({ ...inp, x: nan }), (e: Error) => e instanceof ValueError && /finite/.test(e.message));
    tf.dispose([nan, ...names.map((k) => inp[k])]);
  });

  it('reduces to the ELBO parts: β = 0 and λ = 0 leave the reconstruction only', () => {
    const inp = inputs([0, 1, 0, 1, 1, 0]);
    const r = g.contrastiveVAELoss(inp, { beta: 0 });
    assert.ok(Math.abs(r.total.dataSync()[0] - r.reconstruction.dataSync()[0]) < 1e-5);
    tf.dispose([...Object.values(r), ...names.map((k) => inp[k])]);
  });
});

describe('sepCLR with one group only', () => {
  for (const [tag, group] of [
    ['no background', [1, 1, 1, 1]],
    ['no target', [0, 0, 0, 0]],
  ] as const) {
    it(`${tag}: finite value and gradients`, () => {
      const xs = [randn([4, 5], 20), randn([4, 5], 21), randn([4, 3], 22), randn([4, 3], 23)];
      const r = valueAndGrads((c1, c2, s1, s2) => tf.tidy(() => g.sepCLR({ c1, c2, s1, s2, group: [...group] }).total), xs);
      assert.ok(Number.isFinite(r.value));
      r.grads.forEach((gr) => assert.ok(allFinite(gr)));
      tf.dispose(xs);
    });
  }
});
