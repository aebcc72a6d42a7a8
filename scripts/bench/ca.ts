/**
 * `geoclr bench ca`: SepCLR training throughput — the two-encoder, two-head model of contrastive analysis trained
 * with the full SepCLR objective (two views stacked in one batch, AdamW step) — geoclr on the active backend against
 * the same model in PyTorch CPU (geoclr_torch.SepCLRModel + sep_clr_loss, torch.optim.AdamW) in the same run, at
 * 2 threads and at 1 (geoclr's wasm runs on one core). Cases: the demo's 2D digits-on-texture model and its 3D
 * MRI model. Writes a table to stdout and bench/results/ca.json.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '../../src/tf.js';
import { initBackend } from '../../src/backend.js';
import { Rng } from '../../src/util/random.js';
import { writeFileAtomicSync } from '../../src/util/fs.js';
import { AdamW } from '../../src/nn/optim.js';
import { buildMethod } from '../../src/contrastive-analysis/methods.js';
import { resolveContrastiveAnalysisConfig } from '../../src/contrastive-analysis/config.js';
import { benchOptions, benchRunInfo, runPythonJson, timeMs, type Timing } from './timing.js';

interface Case {
  name: string;
  /** Spatial shape of one sample. */
  shape: number[];
  batch: number;
  encoder: Record<string, unknown>;
  commonDim: number;
  salientDim: number;
  hidden: number;
}

const CASES: Case[] = [
  { name: '2D 32×32, B=64', shape: [32, 32], batch: 64, encoder: { arch: 'convnet2d', widths: [16, 32, 64], pooling: 'avg' }, commonDim: 16, salientDim: 16, hidden: 64 },
  { name: '3D 32×40×32, B=16', shape: [32, 40, 32], batch: 16, encoder: { arch: 'convnet3d', widths: [8, 16, 32], pooling: 'flatten', inputShape: [32, 40, 32] }, commonDim: 16, salientDim: 16, hidden: 64 },
];

/** One SepCLR training step of geoclr (forward of both views, loss, backward, AdamW) on fixed data. */
function geoclrStep(c: Case, reps: number): Timing {
  const cfg = resolveContrastiveAnalysisConfig({
    method: 'sepclr',
    encoder: c.encoder,
    commonDim: c.commonDim,
    salientDim: c.salientDim,
    projector: { hidden: c.hidden },
    sepclr: { betaSalient: 1000, betaReg: 1000, lambdaJem: 10 },
  });
  const method = buildMethod(cfg, c.shape);
  method.model.train();
  const rng = new Rng(0);
  const size = c.shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(rng.normalArray(2 * c.batch * size), [2 * c.batch, ...c.shape, 1]);
  const group = Array.from({ length: c.batch }, (_, i) => i % 2);
  const optimizer = new AdamW(method.model, { lr: 1e-3 });
  const t = timeMs(() => {
    const { value, grads } = tf.variableGrads(() => method.loss(x, group, rng).total, method.model.parameters());
    optimizer.step(grads);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  }, reps);
  optimizer.dispose();
  method.model.dispose();
  x.dispose();
  return t;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...benchOptions('ca'),
    },
  });
  if (values.help) {
    console.log('usage: geoclr bench ca [--reps 7] [--threads 2] [--quick] [--out FILE]');
    return 0;
  }
  const info = await initBackend();
  const reps = values.quick ? 2 : Number(values.reps);
  const cases = values.quick ? CASES.map((c) => ({ ...c, batch: Math.max(4, c.batch / 4), name: c.name.replace(/B=\d+/, `B=${Math.max(4, c.batch / 4)}`) })) : CASES;
  console.error(`bench ca: backend ${info.choice}, ${reps} reps; SepCLR, two encoders, two views stacked`);
  const ours: Record<string, Timing> = {};
  for (const c of cases) ours[c.name] = geoclrStep(c, reps);

  const threads = Number(values.threads);
  let torchProblem: string | null = null;
  const runTorch = (n: number): Record<string, Timing> | null => {
    const { result, problem } = runPythonJson<Record<string, Timing>>('scripts/bench/ca_torch.py', { threads: n, reps, cases }, 'geoclr-bench-ca-');
    torchProblem ??= problem;
    return result;
  };
  const torch = runTorch(threads);
  const torch1 = threads === 1 ? torch : runTorch(1);

  const rows = cases.map((c) => {
    const t = ours[c.name];
    const p = torch?.[c.name] ?? null;
    const p1 = torch1?.[c.name] ?? null;
    const perSecond = (ms: number | undefined) => (ms == null ? null : (1000 * c.batch) / ms);
    return {
      name: c.name,
      batch: c.batch,
      geoclr_ms: t.min,
      geoclr_median_ms: t.median,
      geoclr_samples_per_s: perSecond(t.min),
      torch_ms: p?.min ?? null,
      torch_median_ms: p?.median ?? null,
      torch_samples_per_s: perSecond(p?.min),
      ratio: p == null ? null : t.min / p.min,
      torch_1thread_ms: p1?.min ?? null,
      torch_1thread_samples_per_s: perSecond(p1?.min),
      ratio_1thread: p1 == null ? null : t.min / p1.min,
    };
  });
  const fmt = (v: number | null, digits = 1) => (v == null ? '—' : v.toFixed(digits));
  console.log(`\nSepCLR training step, best of ${reps} (median); samples/s count samples (each seen as 2 views); ratio = geoclr time / torch time`);
  console.log(`${'case'.padEnd(20)} ${'geoclr ms'.padStart(16)} ${'samples/s'.padStart(10)} ${`torch ${threads}t ms`.padStart(16)} ${'samples/s'.padStart(10)} ${'ratio'.padStart(6)} ${'torch 1t ms'.padStart(12)} ${'ratio'.padStart(6)}`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(20)} ${`${fmt(r.geoclr_ms, 0)} (${fmt(r.geoclr_median_ms, 0)})`.padStart(16)} ${fmt(r.geoclr_samples_per_s, 0).padStart(10)} ` +
        `${`${fmt(r.torch_ms, 0)} (${fmt(r.torch_median_ms, 0)})`.padStart(16)} ${fmt(r.torch_samples_per_s, 0).padStart(10)} ${fmt(r.ratio, 2).padStart(6)} ` +
        `${fmt(r.torch_1thread_ms, 0).padStart(12)} ${fmt(r.ratio_1thread, 2).padStart(6)}`,
    );
  }
  if (torchProblem) console.log(`\n(${torchProblem})`);
  const result = {
    ...benchRunInfo('ca', info, threads),
    reps,
    cases,
    rows,
    torchProblem,
  };
  writeFileAtomicSync(path.resolve(values.out), JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${values.out}`);
  return 0;
}
