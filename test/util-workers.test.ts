import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { stopWorker } from '../src/util/workers.js';

const WORKERS_URL = new URL('../src/util/workers.js', import.meta.url).href;

/** A worker serving messages through `serveMessages` (doubles numbers), as the MRI workers do. */
function servingWorker(): Worker {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(WORKERS_URL)}).then(({ serveMessages }) => {
      serveMessages(parentPort, (x) => parentPort.postMessage(2 * x));
      parentPort.postMessage('ready');
    });`;
  return new Worker(code, { eval: true });
}

describe('util: stopping worker threads', () => {
  it('a serving worker answers, then exits on its own (code 0) when asked, even while unref-ed', async () => {
    const w = servingWorker();
    const messages: unknown[] = [];
    await new Promise<void>((resolve) => w.on('message', (m) => (messages.push(m), m === 'ready' && resolve())));
    const answer = new Promise((resolve) => w.once('message', resolve));
    w.postMessage(21);
    assert.equal(await answer, 42);
    w.unref();
    let code: number | null = null;
    w.once('exit', (c) => (code = c));
    await stopWorker(w);
    assert.equal(code, 0, 'closed its port and exited normally, not terminated');
  });

  it('terminates a worker that does not stop within the timeout', async () => {
    const w = new Worker(`require('node:worker_threads').parentPort.on('message', () => {}); setInterval(() => {}, 1000);`, { eval: true });
    let code: number | null = null;
    w.once('exit', (c) => (code = c));
    const t0 = performance.now();
    await stopWorker(w, 200);
    assert.ok(performance.now() - t0 >= 150, 'waited for the timeout');
    assert.equal(code, 1, 'terminate() gives exit code 1');
  });
});
