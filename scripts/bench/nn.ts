/**
 * `geoclr bench nn`: forward+backward time of 3D conv layers and of the default 3D encoder at a demo-like size on
 * the active backend, against PyTorch CPU (2 threads) in the same run, plus a kernel profile of one encoder
 * training step (where the time goes). Writes a table to stdout and bench/results/nn.json.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '../../src/tf.js';
import { initBackend } from '../../src/backend.js';
import { Rng } from '../../src/util/random.js';
import { writeFileAtomicSync } from '../../src/util/fs.js';
import { conv3d, convImplementation } from '../../src/nn/ops/conv.js';
import { createEncoder, resolveEncoderConfig } from '../../src/nn/encoders/factory.js';
import type { Encoder } from '../../src/nn/encoders/encoder.js';
import { benchOptions, benchRunInfo, runPythonJson, timeMs, type Timing } from './timing.js';

interface ConvCase {
  name: string;
  input: number[];
  out: number;
  kernel: number;
  stride: number;
  padding: number;
  inputGrad: boolean;
}

function randn(shape: number[], rng: Rng): tf.Tensor {
  return tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
}

function convCases(b: number, d: number, h: number, w: number, widths: number[]): ConvCase[] {
  const half = (n: number) => Math.ceil(n / 2);
  const [d1, h1, w1] = [half(d), half(h), half(w)];
  const [d2, h2, w2] = [half(d1), half(h1), half(w1)];
  return [
    { name: `stem 1→${widths[0]} s2`, input: [b, d, h, w, 1], out: widths[0], kernel: 3, stride: 2, padding: 1, inputGrad: false },
    { name: `${widths[0]}→${widths[0]} s1`, input: [b, d1, h1, w1, widths[0]], out: widths[0], kernel: 3, stride: 1, padding: 1, inputGrad: true },
    { name: `${widths[0]}→${widths[1]} s2`, input: [b, d1, h1, w1, widths[0]], out: widths[1], kernel: 3, stride: 2, padding: 1, inputGrad: true },
    { name: `${widths[0]}→${widths[1]} 1×1 s2`, input: [b, d1, h1, w1, widths[0]], out: widths[1], kernel: 1, stride: 2, padding: 0, inputGrad: true },
    { name: `${widths[1]}→${widths[1]} s1`, input: [b, d2, h2, w2, widths[1]], out: widths[1], kernel: 3, stride: 1, padding: 1, inputGrad: true },
  ];
}

function benchConv(c: ConvCase, reps: number, rng: Rng): Record<string, Timing> {
  const x = randn(c.input, rng);
  const xv = tf.variable(x, c.inputGrad);
  const w = tf.variable(randn([c.out, c.input[4], c.kernel, c.kernel, c.kernel], rng));
  const opts = { stride: c.stride, padding: c.padding };
  const fwd = timeMs(() => tf.dispose(conv3d(x, w, null, opts)), reps);
  const vars = c.inputGrad ? [w, xv] : [w];
  const fb = timeMs(() => {
    const { value, grads } = tf.variableGrads(() => {
      const y = conv3d(xv, w, null, opts);
      return tf.mean(tf.square(y));
    }, vars);
    tf.dispose([value, ...Object.values(grads)]);
  }, reps);
  tf.dispose([x, xv, w]);
  return { [`${c.name} fwd`]: fwd, [`${c.name} fwd+bwd`]: fb };
}

function trainStep(enc: Encoder, x: tf.Tensor): void {
  const { value, grads } = tf.variableGrads(() => {
    const { representation, projection } = enc.forward(x);
    return tf.add(tf.mean(tf.square(projection)), tf.mean(representation));
  }, enc.parameters());
  tf.dispose([value, ...Object.values(grads)]);
}

/** Kernel time of one call of `fn` by kernel name (top `top`), from tf.profile. */
export async function kernelProfile(fn: () => void, top: number): Promise<{ totalKernelMs: number; kernels: { name: string; ms: number; calls: number; share: number }[] }> {
  const prof = await tf.profile(fn);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of prof.kernels) {
    // customOp scopes ('geoclr.*') time their nested kernels too; count kernels only once.
    if (k.name.startsWith('geoclr.')) continue;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += k.kernelTimeMs as number;
    e.calls++;
    byKernel.set(k.name, e);
    total += k.kernelTimeMs as number;
  }
  return {
    totalKernelMs: total,
    kernels: [...byKernel.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, top)
      .map(([name, e]) => ({ name, ms: e.ms, calls: e.calls, share: e.ms / total })),
  };
}

async function profileStep(enc: Encoder, x: tf.Tensor, top: number) {
  enc.train();
  return kernelProfile(() => trainStep(enc, x), top);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      batch: { type: 'string', default: '16' },
      size: { type: 'string', default: '32,40,32' },
      ...benchOptions('nn'),
    },
  });
  if (values.help) {
    console.log('usage: geoclr bench nn [--batch 16] [--size D,H,W] [--reps 7] [--threads 2] [--quick] [--out FILE]');
    return 0;
  }
  const info = await initBackend();
  const quick = values.quick;
  const batch = quick ? 4 : Number(values.batch);
  const [d, h, w] = values.size.split(',').map(Number);
  const reps = quick ? 2 : Number(values.reps);
  const config = resolveEncoderConfig({ arch: 'resnet3d' });
  const widths = (config as { widths: number[] }).widths;
  const rng = new Rng(0);
  const convs = convCases(batch, d, h, w, widths);

  console.error(`bench nn: backend ${info.choice} (conv: ${convImplementation()}), batch ${batch}, volume ${d}×${h}×${w}, ${reps} reps`);
  const ours: Record<string, Timing> = {};
  for (const c of convs) Object.assign(ours, benchConv(c, reps, rng));
  const enc = createEncoder(config, { seed: 0 });
  const x = randn([batch, d, h, w, 1], rng);
  enc.train();
  ours['encoder train step'] = timeMs(() => trainStep(enc, x), reps);
  enc.eval();
  ours['encoder inference'] = timeMs(() => {
    const o = enc.forward(x);
    tf.dispose([o.representation, o.projection]);
  }, reps);
  const profile = await profileStep(enc, x, 12);
  enc.dispose();
  x.dispose();

  // PyTorch at the requested thread count, and with one thread: geoclr's wasm runs on one core, and under load
  // OpenMP's barriers make multi-threaded timings erratic, so the single-thread column is the stable comparison.
  const threads = Number(values.threads);
  let torchProblem: string | null = null;
  const runTorch = (n: number): Record<string, Timing> | null => {
    const spec = { threads: n, reps, convs, encoder: { config, input: [batch, d, h, w, 1] } };
    const { result, problem } = runPythonJson<Record<string, Timing>>('scripts/bench/nn_torch.py', spec, 'geoclr-bench-nn-');
    torchProblem ??= problem;
    return result;
  };
  const torch = runTorch(threads);
  const torch1 = threads === 1 ? torch : runTorch(1);

  const rows = Object.entries(ours).map(([name, t]) => {
    const p = torch?.[name] ?? null;
    const p1 = torch1?.[name] ?? null;
    return {
      name,
      geoclr_ms: t.min,
      geoclr_median_ms: t.median,
      torch_ms: p?.min ?? null,
      torch_median_ms: p?.median ?? null,
      ratio: p == null ? null : t.min / p.min,
      torch_1thread_ms: p1?.min ?? null,
      ratio_1thread: p1 == null ? null : t.min / p1.min,
    };
  });
  const fmt = (v: number | null, digits = 1) => (v == null ? '—' : v.toFixed(digits));
  console.log(`\nbest of ${reps} (median in parentheses); ratio = geoclr / torch, above 1 means geoclr is slower`);
  const tcol = `torch ${threads}t ms`;
  console.log(`${'case'.padEnd(24)} ${'geoclr ms'.padStart(18)} ${tcol.padStart(18)} ${'ratio'.padStart(7)} ${'torch 1t ms'.padStart(12)} ${'ratio'.padStart(7)}`);
  for (const r of rows) {
    const g = `${fmt(r.geoclr_ms)} (${fmt(r.geoclr_median_ms)})`;
    const t = `${fmt(r.torch_ms)} (${fmt(r.torch_median_ms)})`;
    console.log(
      `${r.name.padEnd(24)} ${g.padStart(18)} ${t.padStart(18)} ${fmt(r.ratio, 2).padStart(7)} ${fmt(r.torch_1thread_ms).padStart(12)} ${fmt(r.ratio_1thread, 2).padStart(7)}`,
    );
  }
  if (torchProblem) console.log(`\n(${torchProblem})`);
  console.log(`\nwhere one encoder training step spends its kernel time (${profile.totalKernelMs.toFixed(0)} ms):`);
  for (const k of profile.kernels) console.log(`  ${k.name.padEnd(22)} ${k.ms.toFixed(1).padStart(8)} ms ${String(k.calls).padStart(4)} calls ${(100 * k.share).toFixed(1).padStart(5)}%`);

  const result = {
    ...benchRunInfo('nn', info, threads),
    convImplementation: convImplementation(),
    batch,
    volume: [d, h, w],
    reps,
    encoder: config,
    rows,
    profile,
    torchProblem,
  };
  writeFileAtomicSync(path.resolve(values.out), JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${values.out}`);
  return 0;
}
