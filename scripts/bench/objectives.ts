/**
 * `geoclr bench objectives`: forward + backward time of every objective at n ∈ {256, 1024}, d = 128, on the
 * active tfjs backend and on PyTorch CPU float32 (torch.set_num_threads(2)) in the same run — the PyTorch twin
 * (scripts/bench/objectives.py) runs as a server, and each objective is timed by both sides back to back so
 * that machine load affects both alike (single runs alternate after the warm-up). Median (and minimum) of
 * `--reps` (≥ 5) runs after `--warmup` runs. Prints a table and writes bench/results/objectives.json with the
 * ratio geoclr/PyTorch.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '../../src/tf.js';
import { initBackend } from '../../src/backend.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { ProgressBar } from '../../src/util/progress.js';
import { Rng } from '../../src/util/random.js';
import {
  alignment,
  clipLoss,
  decoupledUniformity,
  epsilonSupInfoNCE,
  fairKL,
  infoNCE,
  kernelClipLoss,
  longitudinalDirection,
  sepCLR,
  supCon,
  uniformity,
  yAwareInfoNCE,
} from '../../src/losses/index.js';
import { rbfKernel } from '../../src/kernels/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TWIN = path.join(REPO, 'scripts/bench/objectives.py');
const PYTHON = process.env.GEOCLR_PYTHON ?? '/usr/bin/python3';

type Objective = (z1: tf.Tensor2D, z2: tf.Tensor2D) => tf.Scalar;

/** The same objectives, batch layouts and hyper-parameters as the PyTorch twin. */
export function benchObjectives(n: number, d: number, rng: Rng): Record<string, Objective> {
  const labels = Array.from({ length: n }, () => rng.int(0, 10));
  const bias = Array.from({ length: n }, () => rng.int(0, 2));
  const age = Array.from({ length: n }, () => rng.uniform(20, 80));
  const prior = Array.from({ length: n }, () => Array.from({ length: 8 }, () => rng.normal()));
  const group = Array.from({ length: n }, () => rng.int(0, 2));
  const direction = tf.keep(tf.tensor1d(rng.normalArray(d)));
  return {
    infoNCE: (a, b) => infoNCE(a, b),
    supCon: (a, b) => supCon([a, b], labels),
    epsilonSupInfoNCE: (a, b) => epsilonSupInfoNCE([a, b], labels, { epsilon: 0.25 }),
    epsilonSupCon: (a, b) => epsilonSupInfoNCE([a, b], labels, { epsilon: 0.25, variant: 'supcon' }),
    yAwareInfoNCE: (a, b) => yAwareInfoNCE(a, b, age, { kernel: rbfKernel(5) }),
    fairKL: (a) => fairKL(a, labels, bias),
    decoupledUniformity: (a, b) => decoupledUniformity([a, b]),
    'decoupledUniformity+prior': (a, b) => decoupledUniformity([a, b], { prior, kernel: rbfKernel(10) }),
    alignment: (a, b) => alignment(a, b),
    uniformity: (a) => uniformity(a),
    sepCLR: (a, b) =>
      tf.tidy(() => {
        const r = sepCLR({ c1: a, c2: b, s1: tf.mul(a, 0.5), s2: tf.mul(b, 0.5), group });
        return r.total;
      }),
    clipLoss: (a, b) => clipLoss(a, b),
    kernelClipLoss: (a, b) => kernelClipLoss(a, b, age, { kernel: rbfKernel(5) }),
    longitudinalDirection: (a, b) => longitudinalDirection(a, b, direction),
  };
}

/** Times forward + backward (gradients w.r.t. both inputs, read back) `warmup + reps` times; returns ms. */
export function timeObjective(f: Objective, z1: tf.Tensor2D, z2: tf.Tensor2D, reps: number, warmup: number): number[] {
  const times: number[] = [];
  const grad = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.add(f(a as tf.Tensor2D, b as tf.Tensor2D), tf.mul(tf.sum(b), 0)));
  for (let rep = 0; rep < warmup + reps; rep++) {
    const t0 = performance.now();
    const gs = grad([z1, z2]);
    gs.forEach((g) => g.dataSync());
    const elapsed = performance.now() - t0;
    tf.dispose(gs);
    if (rep >= warmup) times.push(elapsed);
  }
  return times;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The PyTorch twin as a line-based server. */
async function startTwin(d: number, reps: number, warmup: number) {
  const child = spawn(PYTHON, [TWIN, '--serve', '--d', String(d), '--reps', String(reps), '--warmup', String(warmup), '--threads', '2'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error(`the PyTorch twin (${PYTHON} ${TWIN}) exited early`);
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  const hello = await next();
  return {
    torch: String(hello.torch),
    threads: Number(hello.threads),
    async time(name: string, n: number, reps: number, warmup: number): Promise<number[]> {
      child.stdin!.write(JSON.stringify({ name, n, reps, warmup }) + '\n');
      return (await next()).times as number[];
    },
    close() {
      child.stdin!.end();
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string', default: '256,1024' },
      d: { type: 'string', default: '128' },
      reps: { type: 'string', default: '7' },
      warmup: { type: 'string', default: '2' },
      only: { type: 'string', default: '' },
      out: { type: 'string', default: path.join(REPO, 'bench/results/objectives.json') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: geoclr bench objectives [--n 256,1024] [--d 128] [--reps 7] [--warmup 2] [--only name,...] [--out FILE]');
    return 0;
  }
  const sizes = values.n!.split(',').map(Number);
  const d = Number(values.d);
  const reps = Math.max(5, Number(values.reps));
  const warmup = Math.max(1, Number(values.warmup));
  const only = new Set(values.only!.split(',').filter(Boolean));
  const info = await initBackend();
  const loadBefore = os.loadavg()[0];
  const twin = await startTwin(d, reps, warmup);
  const rows: {
    objective: string;
    n: number;
    geoclrMs: number;
    torchMs: number;
    ratio: number;
    geoclrMinMs: number;
    torchMinMs: number;
    minRatio: number;
  }[] = [];
  try {
    const names = Object.keys(benchObjectives(2, d, new Rng(0))).filter((k) => only.size === 0 || only.has(k));
    const bar = new ProgressBar({ label: 'bench objectives', total: names.length * sizes.length, unit: 'objectives' });
    for (const n of sizes) {
      const rng = new Rng(n);
      const z1 = tf.tensor2d(rng.normalArray(n * d), [n, d]);
      const z2 = tf.tensor2d(rng.normalArray(n * d), [n, d]);
      const objectives = benchObjectives(n, d, rng);
      for (const name of names) {
        // Warm up both, then alternate single runs so that machine load falls on both sides alike.
        timeObjective(objectives[name], z1, z2, 0, warmup);
        await twin.time(name, n, 0, warmup);
        const ours: number[] = [];
        const theirs: number[] = [];
        for (let r = 0; r < reps; r++) {
          ours.push(...timeObjective(objectives[name], z1, z2, 1, 0));
          theirs.push(...(await twin.time(name, n, 1, 0)));
        }
        const geoclrMs = median(ours);
        const torchMs = median(theirs);
        rows.push({
          objective: name,
          n,
          geoclrMs,
          torchMs,
          ratio: geoclrMs / torchMs,
          geoclrMinMs: Math.min(...ours),
          torchMinMs: Math.min(...theirs),
          minRatio: Math.min(...ours) / Math.min(...theirs),
        });
        bar.tick(1, { [name]: `${geoclrMs.toFixed(1)} ms` });
      }
      tf.dispose([z1, z2]);
    }
    bar.finish();
  } finally {
    twin.close();
  }

  const backend = info.choice + (info.choice === 'wasm' ? ` (SIMD ${info.simd ? 'on' : 'off'}, ${info.numThreads ?? 1} thread)` : '');
  console.log(`\nforward + backward, d = ${d}, median of ${reps} after ${warmup} warm-up; geoclr on ${backend}, PyTorch ${twin.torch} CPU float32 with ${twin.threads} threads`);
  console.log(`machine: ${os.cpus().length} CPUs, 1-min load average ${loadBefore.toFixed(1)} → ${os.loadavg()[0].toFixed(1)} (other processes skew both sides)\n`);
  const head = ['objective'.padEnd(28), 'n'.padStart(6), 'geoclr ms'.padStart(11), 'torch ms'.padStart(10), 'ratio'.padStart(7)];
  console.log([...head, 'min: geoclr'.padStart(13), 'torch'.padStart(8), 'ratio'.padStart(7)].join(''));
  for (const r of rows) {
    const cells = [r.objective.padEnd(28), String(r.n).padStart(6), r.geoclrMs.toFixed(2).padStart(11), r.torchMs.toFixed(2).padStart(10)];
    cells.push(r.ratio.toFixed(2).padStart(7), r.geoclrMinMs.toFixed(2).padStart(13), r.torchMinMs.toFixed(2).padStart(8), r.minRatio.toFixed(2).padStart(7));
    console.log(cells.join(''));
  }
  const doc = {
    suite: 'objectives',
    date: new Date().toISOString(),
    backend: { ...info, probes: undefined },
    torch: { version: twin.torch, threads: twin.threads, dtype: 'float32', device: 'cpu' },
    d,
    reps,
    warmup,
    machine: { cpus: os.cpus().length, loadAverage1mBefore: loadBefore, loadAverage1mAfter: os.loadavg()[0] },
    measure: 'wall time of forward + backward (gradients w.r.t. both embedding batches), ms: median (ratio) and minimum (minRatio) over reps, geoclr and PyTorch runs alternated',
    results: rows,
  };
  await writeFileAtomic(values.out!, JSON.stringify(doc, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), values.out!)}`);
  return 0;
}
