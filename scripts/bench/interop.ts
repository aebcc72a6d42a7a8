/**
 * `geoclr bench interop`:
 *  - embedding tables: write and read throughput of N × d float32 embeddings (default 1M × 128, plus subject ids,
 *    a categorical site and an age column) as Arrow IPC and Parquet (zstd), streamed in record batches; the
 *    baseline is NumPy's raw `.npy` save/load of the same embeddings and ids on /usr/bin/python3 (Debian has no
 *    pyarrow, so no Python Arrow/Parquet writer to compare with);
 *  - ONNX inference of a PyTorch-exported 3D CNN (4 volumes of 32³, test/fixtures/onnx_models.py): geoclr's
 *    importOnnx on the active tfjs backend vs onnxruntime-node vs PyTorch CPU (torch.set_num_threads(2), and
 *    onnxruntime with 2 threads, to match);
 *  - embedding extraction with the default 3D encoder (createEncoder({arch: 'resnet3d'}), eval mode, batches of 16
 *    volumes of 1×32×40×32): geoclr's forward on the active tfjs backend vs onnxruntime-node running the model
 *    exportOnnx wrote vs the PyTorch twin on CPU, same weights, same run; onnxruntime and PyTorch at 2 threads (the
 *    reference of the ratios) and at 1 thread (tfjs-wasm's count; less sensitive to a loaded machine).
 * Results: stdout and bench/results/interop.json (sections not run keep their previous results).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import * as tf from '../../src/tf.js';
import { initBackend } from '../../src/backend.js';
import { ConfigError } from '../../src/errors.js';
import { Rng } from '../../src/util/random.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { readEmbeddings, writeEmbeddings, type EmbeddingColumns } from '../../interop/embeddings.js';
import { exportOnnx } from '../../interop/onnx/export.js';
import { createEncoder } from '../../src/nn/encoders/factory.js';
import { saveEncoderFile } from '../../src/io/model-file.js';
import { saveSafetensors } from '../../src/io/safetensors.js';
import { importOnnx } from '../../interop/onnx/import.js';
import { createOnnxSession } from '../../interop/onnx/runtime.js';
import { loadSafetensors } from '../../interop/safetensors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PYTHON = process.env.GEOCLR_PYTHON ?? '/usr/bin/python3';

const USAGE = `usage: geoclr bench interop [--rows N] [--dim D] [--repeats R] [--onnx-repeats R] [--extract-repeats R]
                           [--extract-batch B] [--no-tables] [--no-onnx] [--no-extraction]

Embedding-table write/read throughput (Arrow IPC, Parquet zstd; NumPy .npy baseline) for N × D float32 embeddings
(default 1 000 000 × 128, best of R = 1); ONNX 3D-CNN inference: importOnnx (tfjs) vs onnxruntime-node vs
PyTorch (median of R = 5); embedding extraction with the default 3D encoder (batch B = 16 of 1×32×40×32): tfjs vs
onnxruntime-node (exportOnnx) vs the PyTorch twin (median of R = 5).`;

function int(value: string | undefined, fallback: number, field: string): number {
  if (value == null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(field, `expected a positive integer, got '${value}'`);
  return n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

function python(script: string, args: string[] = []): { out: string | null; problem?: string } {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) return { out: null, problem: (r.stderr || `${PYTHON} failed`).trim().split('\n').pop() };
  return { out: r.stdout };
}

interface TableRow {
  name: string;
  write_s: number;
  read_s: number;
  mb: number;
  write_mb_per_s: number;
  read_mb_per_s: number;
  write_ratio_vs_npy: number | null;
  read_ratio_vs_npy: number | null;
}

async function tables(rows: number, dim: number, repeats: number, dir: string): Promise<{ rows: TableRow[]; problem?: string }> {
  const rng = new Rng(7);
  const embedding = new Float32Array(rows * dim);
  for (let i = 0; i < embedding.length; i++) embedding[i] = rng.normal();
  const data: EmbeddingColumns = {
    subject_id: Array.from({ length: rows }, (_, i) => `sub-${String(i).padStart(7, '0')}`),
    modality: 'T1w',
    embedding,
    columns: {
      site: Array.from({ length: rows }, (_, i) => `site-${i % 17}`),
      age: Float64Array.from({ length: rows }, (_, i) => 20 + (i % 600) / 10),
    },
  };
  const payloadMb = (embedding.byteLength + rows * 11) / 1e6; // embeddings + ids: the data every format must carry
  const out: TableRow[] = [];
  for (const ext of ['arrow', 'parquet']) {
    const file = path.join(dir, `emb.${ext}`);
    const w: number[] = [];
    const r: number[] = [];
    for (let k = 0; k < repeats; k++) {
      w.push(await time(() => writeEmbeddings(file, data, { metadata: { model: 'bench' } })));
      r.push(await time(() => readEmbeddings(file)));
    }
    const size = statSync(file).size / 1e6;
    out.push({
      name: ext === 'arrow' ? 'geoclr Arrow IPC (.arrow)' : 'geoclr Parquet zstd (.parquet)',
      write_s: Math.min(...w),
      read_s: Math.min(...r),
      mb: size,
      write_mb_per_s: payloadMb / Math.min(...w),
      read_mb_per_s: payloadMb / Math.min(...r),
      write_ratio_vs_npy: null,
      read_ratio_vs_npy: null,
    });
  }
  const py = python(
    `import sys, time, os, numpy as np
n, d, reps, folder = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
e = np.random.default_rng(7).standard_normal((n, d), dtype=np.float32)
ids = np.array([f"sub-{i:07d}" for i in range(n)])
w, r = [], []
for _ in range(reps):
    t0 = time.perf_counter(); np.save(os.path.join(folder, "e.npy"), e); np.save(os.path.join(folder, "ids.npy"), ids)
    with open(os.path.join(folder, "e.npy"), "rb") as f: os.fsync(f.fileno())
    w.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); a = np.load(os.path.join(folder, "e.npy")); b = np.load(os.path.join(folder, "ids.npy")); r.append(time.perf_counter() - t0)
size = (os.path.getsize(os.path.join(folder, "e.npy")) + os.path.getsize(os.path.join(folder, "ids.npy"))) / 1e6
print(min(w), min(r), size)`,
    [String(rows), String(dim), String(repeats), dir],
  );
  if (py.out == null) return { rows: out, problem: py.problem };
  const [ws, rs, mb] = py.out.trim().split(/\s+/).map(Number);
  const npy: TableRow = { name: 'NumPy np.save/np.load (.npy, raw)', write_s: ws, read_s: rs, mb, write_mb_per_s: payloadMb / ws, read_mb_per_s: payloadMb / rs, write_ratio_vs_npy: 1, read_ratio_vs_npy: 1 };
  for (const row of out) {
    row.write_ratio_vs_npy = npy.write_s / row.write_s;
    row.read_ratio_vs_npy = npy.read_s / row.read_s;
  }
  return { rows: [...out, npy] };
}

interface OnnxRow {
  name: string;
  volumes_per_s: number;
  ratio_vs_pytorch: number | null;
  max_abs_diff_vs_pytorch: number | null;
}

async function onnx(repeats: number, dir: string): Promise<{ rows: OnnxRow[]; problem?: string; input?: number[] }> {
  const exp = spawnSync(PYTHON, [path.join(ROOT, 'test', 'fixtures', 'onnx_models.py'), dir, 'cnn3d_bench'], { encoding: 'utf8' });
  if (exp.status !== 0) return { rows: [], problem: `could not export the PyTorch model: ${(exp.stderr || '').trim().split('\n').pop()}` };
  const file = path.join(dir, 'cnn3d_bench.onnx');
  const io = (await loadSafetensors(path.join(dir, 'cnn3d_bench.io.safetensors'))).tensors;
  const x = io.get('input.volume')!;
  const ref = io.get('output.out0')!;
  const n = x.shape[0];
  const diff = (t: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, ref))).dataSync()[0]);
  const model = await importOnnx(file);
  const first = model.predict(x) as tf.Tensor;
  const tfDiff = diff(first);
  first.dispose();
  const tfTimes: number[] = [];
  for (let k = 0; k < repeats; k++) tfTimes.push(await time(() => (model.predict(x) as tf.Tensor).dispose()));
  model.dispose();
  const session = await createOnnxSession(file, { threads: 2 });
  const o = await session.run(x);
  const ortDiff = diff(o.out0);
  tf.dispose(Object.values(o));
  const ortTimes: number[] = [];
  for (let k = 0; k < repeats; k++) ortTimes.push(await time(async () => tf.dispose(Object.values(await session.run(x)))));
  await session.release();
  const py = python(
    `import sys, time, torch
sys.path.insert(0, sys.argv[1]); import onnx_models as om
torch.set_num_threads(2)
model, inputs, _ = om.build("cnn3d_bench", torch.Generator().manual_seed(1234))
x = inputs["volume"]
with torch.no_grad():
    model(x); ts = []
    for _ in range(int(sys.argv[2])):
        t0 = time.perf_counter(); model(x); ts.append(time.perf_counter() - t0)
ts.sort(); print(ts[len(ts) // 2])`,
    [path.join(ROOT, 'test', 'fixtures'), String(repeats)],
  );
  const rows: OnnxRow[] = [
    { name: `geoclr importOnnx → tfjs ${tf.getBackend()} (predict)`, volumes_per_s: n / median(tfTimes), ratio_vs_pytorch: null, max_abs_diff_vs_pytorch: tfDiff },
    { name: 'onnxruntime-node (2 threads)', volumes_per_s: n / median(ortTimes), ratio_vs_pytorch: null, max_abs_diff_vs_pytorch: ortDiff },
  ];
  if (py.out != null) {
    const torchRate = n / Number(py.out.trim());
    rows.push({ name: 'PyTorch CPU eager (2 threads)', volumes_per_s: torchRate, ratio_vs_pytorch: 1, max_abs_diff_vs_pytorch: 0 });
    for (const r of rows) r.ratio_vs_pytorch = r.volumes_per_s / torchRate;
  }
  tf.dispose([...io.values()]);
  return { rows, problem: py.problem, input: x.shape };
}

interface ExtractionRow {
  name: string;
  volumes_per_s: number;
  ms_per_batch: number;
  ratio_vs_pytorch: number | null;
  max_abs_diff_vs_tfjs: number | null;
}

/** Embedding extraction with the default 3D encoder: tfjs forward vs onnxruntime (exported) vs the PyTorch twin. */
async function extraction(batch: number, repeats: number, dir: string): Promise<{ rows: ExtractionRow[]; problem?: string; input: number[] }> {
  const spatial = [32, 40, 32];
  const encoder = createEncoder({ arch: 'resnet3d' }, { seed: 0 });
  encoder.eval();
  const rng = new Rng(3);
  const x = tf.tensor(rng.normalArray(batch * spatial.reduce((a, b) => a * b, 1)), [batch, ...spatial, 1]);
  const xcf = tf.transpose(x, [0, 4, 1, 2, 3]);
  const run = () => {
    const out = encoder.forward(x);
    out.representation.dataSync();
    out.projection.dataSync();
    return out;
  };
  const ref = run();
  const tfTimes: number[] = [];
  for (let k = 0; k < repeats; k++) tfTimes.push(await time(() => tf.dispose(Object.values(run()))));
  const diff = (t: tf.Tensor, r: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, r))).dataSync()[0]);

  const onnxFile = path.join(dir, 'resnet3d.onnx');
  await exportOnnx(encoder, onnxFile, { inputShape: spatial });
  const ort: { threads: number; seconds: number; diff: number }[] = [];
  for (const threads of [2, 1]) {
    const session = await createOnnxSession(onnxFile, { threads });
    const first = await session.run(xcf);
    const d = Math.max(diff(first.representation, ref.representation), diff(first.projection, ref.projection));
    tf.dispose(Object.values(first));
    const times: number[] = [];
    for (let k = 0; k < repeats; k++) times.push(await time(async () => tf.dispose(Object.values(await session.run(xcf)))));
    await session.release();
    ort.push({ threads, seconds: median(times), diff: d });
  }

  const weights = path.join(dir, 'resnet3d.safetensors');
  const io = path.join(dir, 'resnet3d.io.safetensors');
  await saveEncoderFile(weights, encoder);
  await saveSafetensors(io, { x: xcf, representation: ref.representation, projection: ref.projection });
  const py = python(
    `import sys, json, time, torch
sys.path.insert(0, sys.argv[1])
from geoclr_torch import build_encoder, load_file, load_metadata
model = build_encoder(json.loads(load_metadata(sys.argv[2])["geoclr.encoder"]))
model.load_state_dict(load_file(sys.argv[2]), strict=True)
model.eval()
io = load_file(sys.argv[3])
out = []
with torch.no_grad():
    rep, proj = model(io["x"])
    d = max((rep - io["representation"]).abs().max().item(), (proj - io["projection"]).abs().max().item())
    for threads in (2, 1):
        torch.set_num_threads(threads)
        model(io["x"]); model(io["x"])
        ts = []
        for _ in range(int(sys.argv[4])):
            t0 = time.perf_counter(); model(io["x"]); ts.append(time.perf_counter() - t0)
        ts.sort(); out.append(ts[len(ts) // 2])
print(out[0], out[1], d)`,
    [path.join(ROOT, 'interop', 'python'), weights, io, String(repeats)],
  );
  const row = (name: string, seconds: number, d: number | null): ExtractionRow => ({
    name,
    volumes_per_s: batch / seconds,
    ms_per_batch: seconds * 1000,
    ratio_vs_pytorch: null,
    max_abs_diff_vs_tfjs: d,
  });
  const rows = [
    row(`geoclr forward, tfjs ${tf.getBackend()} (1 thread)`, median(tfTimes), 0),
    ...ort.map((o) => row(`onnxruntime-node, exportOnnx model (${o.threads} thread${o.threads > 1 ? 's' : ''})`, o.seconds, o.diff)),
  ];
  if (py.out != null) {
    const [t2, t1, d] = py.out.trim().split(/\s+/).map(Number);
    const torch2 = row('PyTorch twin, CPU eager (2 threads)', t2, d);
    rows.push(torch2, row('PyTorch twin, CPU eager (1 thread)', t1, d));
    for (const r of rows) r.ratio_vs_pytorch = r.volumes_per_s / torch2.volumes_per_s;
  }
  tf.dispose([x, xcf, ref.representation, ref.projection]);
  encoder.dispose();
  return { rows, problem: py.problem, input: [batch, 1, ...spatial] };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: 'string' },
      dim: { type: 'string' },
      repeats: { type: 'string' },
      'onnx-repeats': { type: 'string' },
      'no-onnx': { type: 'boolean' },
      'no-tables': { type: 'boolean' },
      'no-extraction': { type: 'boolean' },
      'extract-repeats': { type: 'string' },
      'extract-batch': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rows = int(values.rows, 1_000_000, '--rows');
  const dim = int(values.dim, 128, '--dim');
  const repeats = int(values.repeats, 1, '--repeats');
  const onnxRepeats = int(values['onnx-repeats'], 5, '--onnx-repeats');
  const extractRepeats = int(values['extract-repeats'], 5, '--extract-repeats');
  const extractBatch = int(values['extract-batch'], 16, '--extract-batch');
  await initBackend();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'geoclr-bench-interop-'));
  const out = path.join(ROOT, 'bench', 'results', 'interop.json');
  // Sections not run this time keep their previous results (each section records its own date).
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    previous = {};
  }
  for (const key of ['tables', 'onnx', 'extraction']) {
    const section = previous[key] as Record<string, unknown> | undefined;
    if (section && section.date == null) section.date = previous.date;
  }
  const date = new Date().toISOString();
  const result: Record<string, unknown> = {
    ...previous,
    suite: 'interop',
    date,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, backend: tf.getBackend() },
  };
  delete result.part;
  try {
    if (!values['no-tables']) {
      const t = await tables(rows, dim, repeats, dir);
      console.log(`embedding tables: ${rows} × ${dim} float32 + ids, site (dictionary), age; best of ${repeats}`);
      for (const r of t.rows) {
        const ratio = (v: number | null) => (v == null ? '' : `×${v.toFixed(2)} vs npy`);
        console.log(
          `  ${r.name.padEnd(34)} write ${r.write_s.toFixed(2).padStart(6)} s (${r.write_mb_per_s.toFixed(0).padStart(4)} MB/s ${ratio(r.write_ratio_vs_npy)})` +
            `   read ${r.read_s.toFixed(2).padStart(6)} s (${r.read_mb_per_s.toFixed(0).padStart(4)} MB/s ${ratio(r.read_ratio_vs_npy)})   ${r.mb.toFixed(0)} MB on disk`,
        );
      }
      if (t.problem) console.log(`  (NumPy baseline skipped: ${t.problem})`);
      result.tables = { date, params: { rows, dim, repeats }, results: t.rows, ...(t.problem ? { skipped: t.problem } : {}) };
    }
    if (!values['no-onnx']) {
      const o = await onnx(onnxRepeats, dir);
      console.log(`ONNX 3D CNN inference (${o.input ? `input [${o.input}]` : 'not run'}), median of ${onnxRepeats}`);
      for (const r of o.rows) {
        console.log(
          `  ${r.name.padEnd(44)} ${r.volumes_per_s.toFixed(1).padStart(8)} volumes/s` +
            (r.ratio_vs_pytorch != null ? `   ×${r.ratio_vs_pytorch.toFixed(2)} vs PyTorch` : '') +
            (r.max_abs_diff_vs_pytorch != null ? `   max |Δ| ${r.max_abs_diff_vs_pytorch.toExponential(1)}` : ''),
        );
      }
      if (o.problem) console.log(`  (${o.problem})`);
      result.onnx = { date, params: { repeats: onnxRepeats, input: o.input }, results: o.rows, ...(o.problem ? { skipped: o.problem } : {}) };
    }
    if (!values['no-extraction']) {
      const e = await extraction(extractBatch, extractRepeats, dir);
      console.log(`embedding extraction, default resnet3d (input [${e.input}], representation + projection), median of ${extractRepeats}`);
      for (const r of e.rows) {
        console.log(
          `  ${r.name.padEnd(46)} ${r.volumes_per_s.toFixed(1).padStart(8)} volumes/s ${r.ms_per_batch.toFixed(0).padStart(6)} ms/batch` +
            (r.ratio_vs_pytorch != null ? `   ×${r.ratio_vs_pytorch.toFixed(2)} vs PyTorch` : '') +
            (r.max_abs_diff_vs_tfjs != null ? `   max |Δ| vs tfjs ${r.max_abs_diff_vs_tfjs.toExponential(1)}` : ''),
        );
      }
      if (e.problem) console.log(`  (PyTorch skipped: ${e.problem})`);
      result.extraction = { date, params: { repeats: extractRepeats, batch: extractBatch, input: e.input, encoder: 'resnet3d defaults' }, results: e.rows, ...(e.problem ? { skipped: e.problem } : {}) };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await writeFileAtomic(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
  return 0;
}
