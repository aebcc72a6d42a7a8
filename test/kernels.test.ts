/**
 * Kernels on metadata: values against direct evaluation of their definitions, column routing in products,
 * string (categorical) columns, the longitudinal kernel, user kernels, specs, and bad input.
 */
import assert from 'node:assert/strict';
import * as g from 'geoclr';
import { ConfigError, ShapeError, ValueError } from 'geoclr';
import { assertClose, assertNoLeak } from './support/tf.js';
import { solve } from '../src/util/linalg.js';

const { tf } = g;

function matrixOf(kernel: g.KernelLike, metadata: g.Metadata): number[][] {
  const k = g.kernelMatrix(kernel, metadata);
  const out = k.arraySync() as number[][];
  k.dispose();
  return out;
}

function expectMatrix(actual: number[][], f: (a: number, b: number) => number, what: string): void {
  const n = actual.length;
  const expected = Array.from({ length: n }, (_, a) => Array.from({ length: n }, (_, b) => f(a, b)));
  assertClose(actual.flat(), expected.flat(), 1e-5, 1e-6, what);
}

describe('kernels on metadata', () => {
  const ages = [20, 25, 31, 60, 61.5];
  const sex = ['F', 'M', 'F', 'F', 'M'];

  it('rbfKernel(σ) = exp(−Δ²/(2σ²)), on numbers, one column, or several (Euclidean)', () => {
    expectMatrix(matrixOf(g.rbfKernel(5), ages), (a, b) => Math.exp(-((ages[a] - ages[b]) ** 2) / 50), 'rbf 1-D');
    const rows = [[0, 1], [2, 0], [1, 1]];
    const d2 = (a: number, b: number) => (rows[a][0] - rows[b][0]) ** 2 + (rows[a][1] - rows[b][1]) ** 2;
    expectMatrix(matrixOf(g.rbfKernel(1.5), rows), (a, b) => Math.exp(-d2(a, b) / 4.5), 'rbf 2-D');
    const t = tf.tensor2d(rows);
    expectMatrix(matrixOf(g.rbfKernel(1.5), t), (a, b) => Math.exp(-d2(a, b) / 4.5), 'rbf on a tensor');
    t.dispose();
  });

  it('deltaKernel compares whole rows, and strings as categories', () => {
    expectMatrix(matrixOf(g.deltaKernel(), sex), (a, b) => (sex[a] === sex[b] ? 1 : 0), 'delta on strings');
    const rows = [[1, 'a'], [1, 'b'], [1, 'a'], [2, 'a']];
    expectMatrix(matrixOf(g.deltaKernel(), rows), (a, b) => (rows[a][0] === rows[b][0] && rows[a][1] === rows[b][1] ? 1 : 0), 'delta rows');
    // 1 and '1' are different categories.
    expectMatrix(matrixOf(g.deltaKernel(), [1, '1', 1]), (a, b) => (a === b || a + b === 2 ? 1 : 0), "1 vs '1'");
  });

  it('cosineKernel = cosine similarity of rows', () => {
    const rows = [[1, 0, 0], [1, 1, 0], [-2, 0, 1]];
    const cos = (a: number, b: number) => {
      const dot = rows[a].reduce((s, x, k) => s + x * rows[b][k], 0);
      return dot / Math.hypot(...rows[a]) / Math.hypot(...rows[b]);
    };
    expectMatrix(matrixOf(g.cosineKernel(), rows), cos, 'cosine');
  });

  it('productKernel applies factor i to column i (mixed continuous and string columns)', () => {
    const rows = ages.map((a, i) => [a, sex[i]]);
    expectMatrix(
      matrixOf(g.productKernel(g.rbfKernel(10), g.deltaKernel()), rows),
      (a, b) => Math.exp(-((ages[a] - ages[b]) ** 2) / 200) * (sex[a] === sex[b] ? 1 : 0),
      'rbf(age) × delta(sex)',
    );
    // A factor declaring two columns (a user kernel) consumes both.
    const sumKernel = g.userKernel((y) => tf.tidy(() => {
      const s = tf.sum(y, 1, true);
      return tf.exp(tf.neg(tf.abs(tf.sub(s, tf.transpose(s))))) as g.tf.Tensor2D;
    }), { name: 'sum-laplace', columns: 2 });
    const rows3 = [[1, 2, 'x'], [0, 0, 'x'], [3, 1, 'y']];
    const sums = [3, 0, 4];
    expectMatrix(
      matrixOf(g.productKernel(sumKernel, g.deltaKernel()), rows3),
      (a, b) => Math.exp(-Math.abs(sums[a] - sums[b])) * (rows3[a][2] === rows3[b][2] ? 1 : 0),
      'user(2 columns) × delta',
    );
  });

  it('longitudinalKernel = δ(subject) · RBF_σt(time) [· metadata kernel]', () => {
    const rows = [['s1', 0, 50], ['s1', 1, 51], ['s2', 0, 70], ['s1', 3, 53]] as [string, number, number][];
    const kt = (a: number, b: number) =>
      (rows[a][0] === rows[b][0] ? 1 : 0) * Math.exp(-((rows[a][1] - rows[b][1]) ** 2) / (2 * 1.5 ** 2));
    expectMatrix(matrixOf(g.longitudinalKernel({ sigmaTime: 1.5 }), rows.map((r) => [r[0], r[1]])), kt, 'subject × time');
    expectMatrix(
      matrixOf(g.longitudinalKernel({ sigmaTime: 1.5, metadata: g.rbfKernel(2) }), rows),
      (a, b) => kt(a, b) * Math.exp(-((rows[a][2] - rows[b][2]) ** 2) / 8),
      'subject × time × rbf(age)',
    );
  });

  it('a plain function is a user kernel', () => {
    const ones = (y: g.tf.Tensor2D) => tf.ones([y.shape[0], y.shape[0]]) as g.tf.Tensor2D;
    expectMatrix(matrixOf(ones, ages), () => 1, 'function kernel');
  });

  it('kernelFromSpec rebuilds built-in kernels from their spec', () => {
    const k = g.longitudinalKernel({ sigmaTime: 2, metadata: g.productKernel(g.rbfKernel(3), g.deltaKernel()) });
    assert.deepEqual(k.spec, {
      type: 'longitudinal',
      sigmaTime: 2,
      metadata: { type: 'product', factors: [{ type: 'rbf', sigma: 3 }, { type: 'delta' }] },
    });
    const rows = [['a', 0, 40, 'F'], ['a', 1, 42, 'F'], ['b', 0, 41, 'M']];
    assert.deepEqual(matrixOf(g.kernelFromSpec(k.spec!), rows), matrixOf(k, rows));
    assert.throws(() => g.kernelFromSpec({ type: 'laplace' } as never), ConfigError);
  });

  it('bad input: typed errors naming the problem', () => {
    assert.throws(() => g.rbfKernel(-1), (e: Error) => e instanceof ValueError && /sigma must be .*> 0.*-1/.test(e.message));
    assert.throws(() => g.rbfKernel(0), ValueError);
    assert.throws(() => g.longitudinalKernel({ sigmaTime: Number.NaN }), ValueError);
    assert.throws(() => g.kernelMatrix(g.rbfKernel(1), sex), (e: Error) => e instanceof ValueError && /column 0 holds strings/.test(e.message));
    assert.throws(() => g.kernelMatrix(g.rbfKernel(1), [1, Number.NaN]), (e: Error) => e instanceof ValueError && /finite/.test(e.message));
    assert.throws(() => g.kernelMatrix(g.rbfKernel(1), [[1, 2], [3]]), (e: Error) => e instanceof ShapeError && /rectangular/.test(e.message));
    assert.throws(() => g.kernelMatrix(g.rbfKernel(1), ages, { n: 4 }), (e: Error) => e instanceof ShapeError && /\[4, q\]/.test(e.message));
    assert.throws(() => g.kernelMatrix(g.productKernel(g.rbfKernel(1), g.deltaKernel()), ages), ShapeError);
    assert.throws(() => g.kernelMatrix(g.longitudinalKernel({ sigmaTime: 1 }), ages), ShapeError);
    assert.throws(() => g.kernelMatrix(g.cosineKernel(), [[0, 0], [1, 1]]), (e: Error) => e instanceof ValueError && /zero norm/.test(e.message));
    const wrong = (y: g.tf.Tensor2D) => tf.ones([y.shape[0], 2]) as g.tf.Tensor2D;
    assert.throws(() => g.kernelMatrix(wrong, ages), (e: Error) => e instanceof ShapeError && /\[5, 5\]/.test(e.message));
  });

  it('kernels leak no tensors', async () => {
    await assertNoLeak(() => {
      matrixOf(g.productKernel(g.rbfKernel(10), g.deltaKernel()), ages.map((a, i) => [a, sex[i]]));
      matrixOf(g.longitudinalKernel({ sigmaTime: 1, metadata: g.rbfKernel(2) }), [['a', 0, 1], ['a', 1, 2]]);
      matrixOf(g.cosineKernel(), [[1, 2], [3, 4]]);
    });
  });
});

describe('linear solve for kernel priors', () => {
  it('solves SPD (Cholesky) and general (LU) systems', () => {
    const spd = [4, 1, 0, 1, 3, 1, 0, 1, 2];
    const x = [1, -2, 3, 0.5, 0, 1];
    const b = [0, 1, 2].flatMap((i) => [0, 1].map((c) => [0, 1, 2].reduce((s, k) => s + spd[i * 3 + k] * x[k * 2 + c], 0)));
    assertClose(solve(spd, 3, b, 2), x, 1e-12, 1e-12, 'SPD');
    const general = [0, 2, 1, 1, 0, 0, 3, 1, 1];
    const bg = [0, 1, 2].flatMap((i) => [0, 1].map((c) => [0, 1, 2].reduce((s, k) => s + general[i * 3 + k] * x[k * 2 + c], 0)));
    assertClose(solve(general, 3, bg, 2), x, 1e-12, 1e-12, 'LU');
    assert.throws(() => solve([1, 2, 2, 4], 2, [1, 1], 1), ValueError);
  });

  it('kernelCentroidWeights = (K + λI)⁻¹ K', () => {
    const k = g.kernelMatrix(g.rbfKernel(2), [0, 1, 3, 4]);
    const alpha = g.kernelCentroidWeights(k, 0.5);
    const back = tf.tidy(() => tf.matMul(tf.add(k, tf.mul(tf.eye(4), 0.5)), alpha));
    assertClose(back.dataSync(), k.dataSync(), 1e-5, 1e-6, '(K + λI) α = K');
    tf.dispose([k, alpha, back]);
  });
});
