/** Worker thread of `synthCohort`: renders and writes the scans it is sent, replying with how many it wrote. */
import { parentPort, workerData } from 'node:worker_threads';
import { serveMessages } from '../../../src/util/workers.js';
import type { Grid } from '../resample.js';
import { type RenderJob, writeScan } from './render.js';

const { root, grid, gzipLevel } = workerData as { root: string; grid: Grid; gzipLevel: number };

serveMessages<RenderJob[]>(parentPort!, (jobs) => {
  try {
    for (const job of jobs) writeScan(root, job, grid, gzipLevel);
    parentPort!.postMessage({ done: jobs.length });
  } catch (e) {
    parentPort!.postMessage({ error: `${(e as Error).message}\n${(e as Error).stack ?? ''}` });
  }
});
