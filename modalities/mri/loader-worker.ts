/** Worker thread of `CohortLoader`: rebuilds the pipeline from plain data, then runs batch tasks. */
import { parentPort, workerData } from 'node:worker_threads';
import { buildTransform, type AugmentSpec } from './augment.js';
import { runTask, type TaskItem } from './loader-core.js';
import type { PreprocessSpec } from './preprocess.js';
import { serveMessages } from '../../src/util/workers.js';

const { preprocess, augment, views } = workerData as { preprocess: PreprocessSpec; augment: AugmentSpec[]; views: number };
const transform = augment.length ? buildTransform(augment) : null;

serveMessages<{ id: number; items: TaskItem[]; wantCache: boolean }>(parentPort!, (msg) => {
  try {
    const result = runTask(msg.items, views, preprocess, transform, msg.wantCache, true);
    parentPort!.postMessage({ id: msg.id, result }, result.views.map((v) => v.buffer as ArrayBuffer));
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: msg.id, error: { name: err.name, message: err.message, stack: err.stack } });
  }
});
