/**
 * `geoclr bench text`: part 1 (`--part tokenisation`): tokenisation throughput in reports/s on synthetic radiology reports —
 * geoclr's `loadTokenizer().encodeBatch` (int32 tfjs tensors; word cache warm, filling, and off) against transformers.js'
 * default call `tokenizer(texts, { padding: true, truncation: true, max_length })` (int64 tensors), same run,
 * same texts; plus, for context, a pure-Python implementation of the original BERT algorithm
 * (test/support/bert_wordpiece.py) on /usr/bin/python3. Part 2 (`--part training`, scripts/bench/text-training.ts):
 * text-encoder training throughput (forward + backward + AdamW) vs the PyTorch twin on 2 threads and 1 thread. Results: stdout and
 * bench/results/text.json (`parts.tokenisation`, `parts.training`; running one part keeps the other's).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { loadTokenizer } from '../../modalities/text/tokenizer.js';
import { generateReport, randomReportFacts } from '../../modalities/text/reports.js';
import { bertBaseUncasedDir } from '../../modalities/text/assets.js';
import { benchTextTraining, readTextResults } from './text-training.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PYTHON = process.env.GEOCLR_PYTHON ?? '/usr/bin/python3';

const USAGE = `usage: geoclr bench text [--part tokenisation|training|all] [--reports N] [--batch B] [--max-length L]
                         [--repeats R] [--steps K] [--seed S]

tokenisation: reports/s of geoclr's batch path vs transformers.js defaults on N synthetic reports (default 2000,
  batches of 32, max length 128, median of 5 repeats).
training: reports/s of a text-encoder training step (forward, backward, AdamW) vs the same model in PyTorch CPU
  (2 threads and 1 thread), batches of 16 (--batch) padded to the longest report ≤ 128 tokens, median of K = 12 steps.`;

interface Row {
  name: string;
  reports_per_s: number;
  ratio_vs_transformers_default: number | null;
}

function int(value: string | undefined, fallback: number, field: string): number {
  if (value == null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(field, `expected a positive integer, got '${value}'`);
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      reports: { type: 'string' },
      batch: { type: 'string' },
      'max-length': { type: 'string' },
      repeats: { type: 'string' },
      steps: { type: 'string' },
      part: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const part = values.part ?? 'all';
  if (!['tokenisation', 'training', 'all'].includes(part)) throw new ConfigError('--part', `expected tokenisation, training or all, got '${part}'`);
  const maxLength = int(values['max-length'], 128, '--max-length');
  const seed = int(values.seed, 1, '--seed');
  await initBackend();
  const out = path.join(ROOT, 'bench', 'results', 'text.json');
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, backend: tf.getBackend(), loadAverage: Number(os.loadavg()[0].toFixed(2)) };
  let status = 0;
  if (part !== 'training') status = await tokenisation(values, maxLength, seed, machine, out);
  if (part !== 'tokenisation') await training(values, maxLength, seed, machine, out);
  return status;
}

async function training(values: Record<string, string | boolean | undefined>, maxLength: number, seed: number, machine: Record<string, unknown>, out: string): Promise<void> {
  const batch = int(values.batch as string | undefined, 16, '--batch');
  const steps = int(values.steps as string | undefined, 12, '--steps');
  const { rows, meanTokens, torchProblem } = await benchTextTraining({ batch, maxLength, steps, seed, python: PYTHON, root: ROOT });
  console.log(`text-encoder training step (forward + backward + AdamW, CLIP loss): batch ${batch}, mean ${meanTokens.toFixed(0)} tokens/report (max ${maxLength}), median of ${steps} steps; load average ${machine.loadAverage}`);
  const f = (v: number | null, d = 1) => (v == null ? '—' : v.toFixed(d));
  for (const r of rows) {
    console.log(
      `  ${r.name.padEnd(70)} vocab ${String(r.vocab_size).padStart(5)}  geoclr ${f(r.geoclr_reports_per_s).padStart(6)}  ` +
        `PyTorch 2 threads ${f(r.torch_reports_per_s).padStart(6)} (×${f(r.ratio, 2)})  1 thread ${f(r.torch_1thread_reports_per_s).padStart(6)} (×${f(r.ratio_1thread, 2)}) reports/s`,
    );
  }
  if (torchProblem) console.log(`  (PyTorch skipped: ${torchProblem})`);
  const all = readTextResults(out);
  all.parts.training = { date: new Date().toISOString(), machine, params: { batch, max_length: maxLength, steps, seed, mean_tokens: Number(meanTokens.toFixed(1)), torch_threads: [2, 1] }, torch_problem: torchProblem, results: rows };
  await writeFileAtomic(out, JSON.stringify(all, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), out)} (parts.training)`);
}

async function tokenisation(values: Record<string, string | boolean | undefined>, maxLength: number, seed: number, machine: Record<string, unknown>, out: string): Promise<number> {
  const n = int(values.reports as string | undefined, 2000, '--reports');
  const batch = int(values.batch as string | undefined, 32, '--batch');
  const repeats = int(values.repeats as string | undefined, 5, '--repeats');

  const rng = new Rng(seed);
  const texts = Array.from({ length: n }, () => generateReport(randomReportFacts(rng), rng.fork()));
  const batches: string[][] = [];
  for (let i = 0; i < n; i += batch) batches.push(texts.slice(i, i + batch));
  const meanChars = texts.reduce((a, t) => a + t.length, 0) / n;

  const cold = await loadTokenizer();
  const encodeAll = (tok: typeof cold) => {
    for (const b of batches) {
      const e = tok.encodeBatch(b, { maxLength });
      tf.dispose([e.input_ids, e.attention_mask]);
    }
  };
  const coldSeconds = time(() => encodeAll(cold)); // a fresh tokenizer's first pass: the cache fills as it goes
  const warm = await loadTokenizer();
  encodeAll(warm);
  const uncached = await loadTokenizer(undefined, { wordCache: false });
  encodeAll(uncached);
  const hf = warm.hf;
  const defaultAll = () => {
    for (const b of batches) hf(b, { padding: true, truncation: true, max_length: maxLength });
  };
  defaultAll();
  const ours: number[] = [];
  const oursUncached: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    // interleaved, so that load from other processes hits all alike
    ours.push(time(() => encodeAll(warm)));
    oursUncached.push(time(() => encodeAll(uncached)));
    theirs.push(time(defaultAll));
  }

  // The two paths must agree on every report that fits (transformers.js truncation also drops [SEP]).
  let same = 0;
  let compared = 0;
  for (const text of texts.slice(0, 200)) {
    const a = warm.encode(text, { maxLength });
    if (uncached.encode(text, { maxLength }).join() !== a.join()) throw new Error('word cache changed the ids');
    const b = hf.encode(text);
    if (b.length > maxLength) continue;
    compared++;
    if (a.length === b.length && a.every((v, i) => v === b[i])) same++;
  }

  const python = pythonReference(texts);
  const theirsRate = n / median(theirs);
  const rows: Row[] = [
    { name: 'geoclr encodeBatch → int32 tf tensors (warm word cache)', reports_per_s: n / median(ours), ratio_vs_transformers_default: null },
    { name: 'geoclr encodeBatch → int32 tf tensors (fresh tokenizer, first pass)', reports_per_s: n / coldSeconds, ratio_vs_transformers_default: null },
    { name: 'geoclr encodeBatch → int32 tf tensors (word cache off)', reports_per_s: n / median(oursUncached), ratio_vs_transformers_default: null },
    { name: 'transformers.js tokenizer(texts, {padding, truncation, max_length}) → int64', reports_per_s: theirsRate, ratio_vs_transformers_default: 1 },
  ];
  if (python.rate != null) rows.push({ name: 'pure-Python original BERT algorithm (reference, ids only)', reports_per_s: python.rate, ratio_vs_transformers_default: null });
  for (const r of rows) r.ratio_vs_transformers_default = r.reports_per_s / theirsRate;

  console.log(`text tokenisation: ${n} synthetic reports (mean ${meanChars.toFixed(0)} chars), batch ${batch}, max length ${maxLength}, median of ${repeats}`);
  console.log(`ids identical on ${same}/${compared} untruncated reports checked`);
  for (const r of rows) {
    console.log(`  ${r.name.padEnd(82)} ${r.reports_per_s.toFixed(0).padStart(8)} reports/s   ×${r.ratio_vs_transformers_default!.toFixed(2)}`);
  }
  if (python.problem) console.log(`  (pure-Python reference skipped: ${python.problem})`);

  const all = readTextResults(out);
  all.parts.tokenisation = {
    date: new Date().toISOString(),
    machine,
    params: { reports: n, batch, max_length: maxLength, repeats, seed, mean_chars: Math.round(meanChars) },
    agreement: { identical: same, compared },
    results: rows,
  };
  await writeFileAtomic(out, JSON.stringify(all, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), out)} (parts.tokenisation)`);
  return same === compared ? 0 : 1;
}

/** Reports/s of test/support/bert_wordpiece.py's encode, timed inside Python (one pass, after loading the vocab). */
function pythonReference(texts: string[]): { rate: number | null; problem?: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'geoclr-bench-text-'));
  try {
    writeFileSync(path.join(dir, 'texts.json'), JSON.stringify(texts));
    const script = [
      'import json, sys, time',
      `sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'test', 'support'))})`,
      'import bert_wordpiece as b',
      `vocab = {l.rstrip("\\n"): i for i, l in enumerate(open(${JSON.stringify(path.join(bertBaseUncasedDir(), 'vocab.txt'))}, encoding="utf-8"))}`,
      `texts = json.load(open(${JSON.stringify(path.join(dir, 'texts.json'))}, encoding="utf-8"))`,
      't0 = time.perf_counter()',
      'for t in texts: b.encode(t, vocab)',
      'print(len(texts) / (time.perf_counter() - t0))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8' });
    if (r.status !== 0) return { rate: null, problem: (r.stderr || `${PYTHON} failed`).trim().split('\n').pop() };
    return { rate: Number(r.stdout.trim()) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
