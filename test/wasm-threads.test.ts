import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tf, initBackend } from 'geoclr';

// Runs a small script in a child process with GEOCLR_WASM_THREADS set; returns its parsed JSON output.
function runWithThreads(threads: string, script: string) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, GEOCLR_BACKEND: 'wasm', GEOCLR_WASM_THREADS: threads },
    timeout: 60_000,
  });
  return r;
}

const MATMUL = `
import { tf, initBackend } from 'geoclr';
const info = await initBackend();
const a = tf.tensor2d(Array.from({ length: 300 * 200 }, (_, i) => Math.sin(i)), [300, 200]);
const b = tf.tensor2d(Array.from({ length: 200 * 100 }, (_, i) => Math.cos(i)), [200, 100]);
const c = tf.matMul(a, b);
console.log(JSON.stringify({ threads: info.numThreads, sum: tf.sum(c).dataSync()[0], first: Array.from(c.dataSync().slice(0, 5)) }));
`;

describe('multithreaded wasm backend (GEOCLR_WASM_THREADS)', () => {
  before(async function () {
    if ((await initBackend()).choice !== 'wasm' && !process.env.GEOCLR_BACKEND) this.skip();
  });

  it('runs XNNPACK on 2 threads, gives the single-thread result, and lets the process exit', function () {
    const one = runWithThreads('1', MATMUL);
    const two = runWithThreads('2', MATMUL);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(two.status, 0, `2 threads: exit ${two.status} signal ${two.signal} (a hang ends in SIGTERM)\n${two.stderr}`);
    const r1 = JSON.parse(one.stdout);
    const r2 = JSON.parse(two.stdout);
    assert.equal(r1.threads, 1);
    assert.equal(r2.threads, 2);
    assert.deepEqual(r2.first, r1.first);
    assert.equal(r2.sum, r1.sum);
    assert.ok(tf);
  });

  it('rejects a malformed thread count with a clear error', function () {
    const r = runWithThreads('lots', MATMUL);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /GEOCLR_WASM_THREADS='lots' must be 'auto' or an integer from 1 to 8/);
  });
});
