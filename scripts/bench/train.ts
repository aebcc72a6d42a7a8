/**
 * `geoclr bench train`: training throughput and peak memory of the demo's encoder at the demo's input size and
 * batch — two views, y-Aware InfoNCE, AdamW — against the same architecture in PyTorch CPU (the twin in
 * interop/python/geoclr_torch, 2 threads) in the same run; the phases of a step and a kernel profile (where the
 * time goes); and the throughput of the full pipeline (CohortLoader with augmentation in a worker thread).
 * Writes a table to stdout and bench/results/train.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '../../src/tf.js';
import { initBackend } from '../../src/backend.js';
import { Rng } from '../../src/util/random.js';
import { writeFileAtomicSync } from '../../src/util/fs.js';
import { resolveEncoderConfig } from '../../src/nn/encoders/factory.js';
import { AdamW, parameterGroups } from '../../src/nn/optim.js';
import { createTask, resolveTaskConfig } from '../../src/train/tasks.js';
import { train } from '../../src/train/trainer.js';
import type { Encoder } from '../../src/nn/encoders/encoder.js';
import type { TrainBatch } from '../../src/train/types.js';
import { synthCohort } from '../../modalities/mri/index.js';
import { BASE_PARAMS, OBJECTIVES } from '../demo/sections/base.js';
import { openMriTrain, resolveMriData } from '../train/mri.js';
import { kernelProfile } from './nn.js';
import { benchOptions, benchRunInfo, runPythonJson, type Timing } from './timing.js';

/** Minimum and median of measured times (ms). */
function stats(times: number[]): Timing {
  const s = [...times].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...benchOptions('train'),
    },
  });
  if (values.help) {
    console.log('usage: geoclr bench train [--reps 7] [--threads 2] [--quick] [--out FILE]');
    return 0;
  }
  const info = await initBackend();
  const p = BASE_PARAMS.default;
  const reps = values.quick ? 2 : Number(values.reps);
  const batch = p.batchSize;
  const [x, y, z] = p.shape;
  const volume = [z, y, x]; // [D, H, W]
  const encoder = resolveEncoderConfig(p.encoder);
  const rng = new Rng(0);
  console.error(`bench train: backend ${info.choice}, demo encoder ${JSON.stringify(p.encoder)}, batch ${batch} × 2 views of ${volume.join('×')}, ${reps} reps`);

  // --- geoclr: the demo's training step on random volumes ---
  const meta = { age: Array.from({ length: batch }, () => rng.uniform(20, 85)), sex: Array.from({ length: batch }, () => (rng.bernoulli(0.5) ? 'F' : 'M')) };
  const task = createTask({
    config: resolveTaskConfig({ name: 'contrastive', objectives: OBJECTIVES.yaware }),
    encoder,
    seed: 0,
    data: { columns: { age: 'number', sex: 'string' }, inputShape: [...volume, 1] },
  });
  const enc = task.parts.encoder as Encoder;
  const optimizer = new AdamW(parameterGroups(enc, { weightDecay: 1e-4 }), { lr: 1e-3 });
  const views = [0, 1].map(() => tf.tensor(rng.normalArray(batch * volume[0] * volume[1] * volume[2]), [batch, ...volume, 1]));
  const batchOf: TrainBatch = { views, meta, ids: meta.age.map((_, i) => String(i)), size: batch };
  const phases: Record<string, number[]> = { forward: [], 'loss+backward': [], optimizer: [], step: [] };
  const step = () => {
    const t0 = performance.now();
    tf.tidy(() => views.forEach((v) => enc.forward(v)));
    const t1 = performance.now();
    const { value, grads } = tf.variableGrads(() => task.loss(batchOf, { step: 0, epoch: 0 }).total, enc.parameters());
    value.dataSync();
    const t2 = performance.now();
    optimizer.step(grads);
    tf.dispose([value, ...Object.values(grads)]);
    const t3 = performance.now();
    phases.forward.push(t1 - t0);
    phases['loss+backward'].push(t2 - t1);
    phases.optimizer.push(t3 - t2);
    phases.step.push(t3 - t1); // the training step proper (the forward pass is inside loss+backward)
  };
  enc.train();
  step();
  step();
  for (const v of Object.values(phases)) v.length = 0;
  const rssBefore = process.memoryUsage().rss;
  for (let i = 0; i < reps; i++) step();
  const { totalKernelMs: kernelMs, kernels } = await kernelProfile(() => {
    const { value, grads } = tf.variableGrads(() => task.loss(batchOf, { step: 0, epoch: 0 }).total, enc.parameters());
    tf.dispose([value, ...Object.values(grads)]);
  }, 12);
  const peak = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => task.loss(batchOf, { step: 0, epoch: 0 }).total, enc.parameters());
    tf.dispose([value, ...Object.values(grads)]);
  });
  const ours = {
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, stats(v)])),
    peakTensorMB: peak.peakBytes / 2 ** 20,
    rssMB: Math.max(rssBefore, process.memoryUsage().rss) / 2 ** 20,
  };
  tf.dispose(views);
  optimizer.dispose();
  task.dispose();

  // --- geoclr: the whole pipeline (CohortLoader, augmentation in a worker, the trainer), second epoch (cached) ---
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'geoclr-bench-train-'));
  let pipeline: { samplesPerSecond: number; steps: number } | null = null;
  try {
    const subjects = values.quick ? 2 * batch : 4 * batch;
    await synthCohort({ out: path.join(tmp, 'cohort'), subjects, visits: 1, seed: 0, shape: p.shape, progress: false });
    const data = await openMriTrain(resolveMriData({ manifest: path.join(tmp, 'cohort', 'manifest.tsv'), preprocess: { shape: p.shape } }, 'data', tmp) as never, { batchSize: batch, seed: 0 });
    const ptask = createTask({ config: resolveTaskConfig({ name: 'contrastive', objectives: OBJECTIVES.yaware }), encoder, seed: 0, data: { columns: data.columns, inputShape: data.inputShape } });
    const marks: number[] = [];
    try {
      await train({ runDir: path.join(tmp, 'run'), parts: ptask.parts, loss: ptask.loss.bind(ptask), data, epochs: 2, progress: false, log: () => undefined, checkpoint: { everySteps: 10_000 }, onEpochEnd: () => marks.push(performance.now()) });
    } finally {
      ptask.dispose();
      await data.close();
    }
    pipeline = { samplesPerSecond: (data.batchesPerEpoch * batch) / ((marks[1] - marks[0]) / 1000), steps: data.batchesPerEpoch };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  // --- PyTorch twin, same step ---
  const threads = Number(values.threads);
  const py = runPythonJson<Record<string, unknown>>('scripts/bench/train_torch.py', { threads, reps, batch, volume, encoder }, 'geoclr-bench-train-py-');
  const torch = py.result;
  const torchProblem = py.problem;

  const tp = torch?.step as Timing | undefined;
  const volumesPerSecond = (ms: number) => (2 * batch) / (ms / 1000);
  const ratio = tp ? ours.phases.step.min / tp.min : null;
  const fmt = (v: number | null | undefined, d = 1) => (v == null ? '—' : v.toFixed(d));
  console.log(`\ntraining step: batch ${batch} × 2 views of ${volume.join('×')}, y-Aware InfoNCE + AdamW; best of ${reps} (median)`);
  console.log(`${''.padEnd(26)} ${'geoclr'.padStart(20)} ${`PyTorch ${threads} threads`.padStart(20)}`);
  const row = (name: string, a: string, b: string) => console.log(`${name.padEnd(26)} ${a.padStart(20)} ${b.padStart(20)}`);
  for (const k of ['step', 'forward', 'loss+backward', 'optimizer']) {
    const t = (torch?.[k] as Timing | undefined) ?? null;
    row(`${k} ms`, `${fmt(ours.phases[k].min)} (${fmt(ours.phases[k].median)})`, t ? `${fmt(t.min)} (${fmt(t.median)})` : '—');
  }
  row('volumes/s (views)', fmt(volumesPerSecond(ours.phases.step.min)), tp ? fmt(volumesPerSecond(tp.min)) : '—');
  row('peak memory MB', `${fmt(ours.peakTensorMB)} tensors, ${fmt(ours.rssMB, 0)} RSS`, torch ? `${fmt(torch.peak_rss_mb as number, 0)} RSS` : '—');
  if (pipeline) row('pipeline samples/s', fmt(pipeline.samplesPerSecond), '');
  console.log(`ratio (geoclr step / PyTorch step): ${fmt(ratio, 2)}${torchProblem ? `  (${torchProblem})` : ''}`);
  console.log(`\nwhere a geoclr training step spends its kernel time (${kernelMs.toFixed(0)} ms):`);
  for (const k of kernels) console.log(`  ${k.name.padEnd(24)} ${k.ms.toFixed(1).padStart(8)} ms ${String(k.calls).padStart(5)} calls ${(100 * k.share).toFixed(1).padStart(5)}%`);

  const result = {
    ...benchRunInfo('train', info, threads),
    batch,
    views: 2,
    volume,
    encoder,
    objective: OBJECTIVES.yaware,
    reps,
    geoclr: { ...ours, volumesPerSecond: volumesPerSecond(ours.phases.step.min), pipeline },
    torch,
    torchVolumesPerSecond: tp ? volumesPerSecond(tp.min) : null,
    ratio,
    profile: { kernelMs, kernels },
    torchProblem,
  };
  writeFileAtomicSync(path.resolve(values.out), JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${values.out}`);
  return 0;
}
