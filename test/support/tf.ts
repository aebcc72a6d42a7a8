import assert from 'node:assert/strict';
import { tf } from 'geoclr';

/** Runs `fn` and asserts that it leaves no new tensor behind (tf.memory().numTensors before/after). */
export async function assertNoLeak<T>(fn: () => T | Promise<T>, what = 'the call'): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `${what} leaked ${after - before} tensor(s)`);
  return out;
}

/** Max absolute and relative (to max(|expected|, floor)) difference between two arrays. */
export function maxDiff(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-6) {
  assert.equal(actual.length, expected.length, 'length mismatch');
  let abs = 0;
  let rel = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    abs = Math.max(abs, d);
    rel = Math.max(rel, d / Math.max(Math.abs(expected[i]), floor));
  }
  return { abs, rel };
}

/** Asserts every element is within `atol + rtol·|expected|`; the message names the worst index. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what = 'values') {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** A scalar function's value and its gradients w.r.t. every input (read back), leaving no tensor behind. */
export function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Scalar, xs: tf.Tensor[]): { value: number; grads: Float32Array[] } {
  const v = f(...xs);
  const value = v.dataSync()[0];
  v.dispose();
  const grads = tf.grads((...ts: tf.Tensor[]) => f(...ts))(xs);
  const out = grads.map((x) => x.dataSync() as Float32Array);
  tf.dispose(grads);
  return { value, grads: out };
}
