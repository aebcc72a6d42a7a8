/**
 * `geoclr bench text` part 2: text-encoder training throughput in reports/s — one step = forward, backward (CLIP
 * loss of the report projections against fixed targets, τ = 0.07) and an AdamW update — of the text transformer on
 * the active tfjs backend against the same model (its PyTorch twin, interop/python/geoclr_torch, same weights,
 * same token ids) on PyTorch CPU with torch.set_num_threads(2) and (1), same run. Batches are synthetic reports tokenized
 * by the shipped BERT tokenizer, padded to the batch's longest (≤ maxLength), through the compact corpus
 * vocabulary the trainer uses (and, for one row, the full 30 522-id vocabulary).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '../../src/tf.js';
import { AdamW } from '../../src/nn/optim.js';
import { clipLoss } from '../../src/losses/clip.js';
import { createEncoder, resolveEncoderConfig } from '../../src/nn/encoders/factory.js';
import { Rng } from '../../src/util/random.js';
import { loadTokenizer } from '../../modalities/text/tokenizer.js';
import { generateReport, randomReportFacts } from '../../modalities/text/reports.js';
import { TextPipeline, corpusVocabulary } from '../../modalities/text/pipeline.js';

export interface TrainingCase {
  name: string;
  encoder: Record<string, unknown>;
  vocabulary: 'corpus' | 'full';
}

export const TRAINING_CASES: TrainingCase[] = [
  { name: 'demo text encoder (dim 64, 1 layer, 2 heads), corpus vocabulary', encoder: { arch: 'text-transformer', dim: 64, depth: 1, heads: 2, dropout: 0.1 }, vocabulary: 'corpus' },
  { name: 'default text encoder (dim 64, 2 layers, 4 heads), corpus vocabulary', encoder: { arch: 'text-transformer', dim: 64, depth: 2, heads: 4, dropout: 0.1 }, vocabulary: 'corpus' },
  { name: 'default text encoder, full BERT vocabulary (30 522 rows)', encoder: { arch: 'text-transformer', dim: 64, depth: 2, heads: 4, dropout: 0.1 }, vocabulary: 'full' },
];

export interface TrainingRow {
  name: string;
  vocab_size: number;
  params: number;
  geoclr_reports_per_s: number;
  /** PyTorch CPU, torch.set_num_threads(2). */
  torch_reports_per_s: number | null;
  /** PyTorch CPU, one thread (geoclr's wasm backend runs on one). */
  torch_1thread_reports_per_s: number | null;
  /** geoclr / PyTorch (2 threads) throughput (> 1: geoclr faster). */
  ratio: number | null;
  /** geoclr / PyTorch (1 thread). */
  ratio_1thread: number | null;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Times the training step of every case; `python` runs the twin (null: skipped, with the reason). */
export async function benchTextTraining(opts: { batch: number; maxLength: number; steps: number; seed: number; python: string; root: string }): Promise<{ rows: TrainingRow[]; meanTokens: number; torchProblem: string | null }> {
  const rng = new Rng(opts.seed);
  const corpus = Array.from({ length: 2000 }, () => generateReport(randomReportFacts(rng), rng.fork()));
  const tok = await loadTokenizer();
  const vocabulary = corpusVocabulary(tok, corpus, opts.maxLength);
  const batches = Array.from({ length: opts.steps + 2 }, (_, i) => corpus.slice((i * opts.batch) % (corpus.length - opts.batch), ((i * opts.batch) % (corpus.length - opts.batch)) + opts.batch));
  const rows: TrainingRow[] = [];
  let meanTokens = 0;
  let torchProblem: string | null = null;
  for (const c of TRAINING_CASES) {
    const pipeline = new TextPipeline(tok, { tokenizer: 'bert-base-uncased', maxLength: opts.maxLength, vocabulary: c.vocabulary === 'corpus' ? vocabulary : null });
    const config = resolveEncoderConfig({ ...c.encoder, vocabSize: pipeline.vocabSize, maxLength: opts.maxLength, head: { out: 128 } });
    const encoded = batches.map((b) => pipeline.encodeArrays(b));
    meanTokens = encoded.reduce((a, e) => a + e.mask.reduce((x, y) => x + y, 0), 0) / (encoded.length * opts.batch);
    const enc = createEncoder(config, { seed: opts.seed });
    const opt = new AdamW(enc, { lr: 1e-3, weightDecay: 0.01 });
    const target = tf.tensor2d(new Rng(`${opts.seed}/target`).normalArray(opts.batch * 128), [opts.batch, 128]);
    const times: number[] = [];
    encoded.forEach((e, i) => {
      const t0 = performance.now();
      const ids = tf.tensor2d(e.ids, [e.batch, e.length], 'int32');
      const mask = tf.tensor2d(e.mask, [e.batch, e.length], 'int32');
      const { value, grads } = tf.variableGrads(() => clipLoss(enc.forward(ids, mask).projection, target, { temperature: 0.07 }), enc.parameters());
      value.dataSync();
      opt.step(grads);
      tf.dispose([value, ...Object.values(grads), ids, mask]);
      if (i >= 2) times.push(performance.now() - t0); // two warm-up steps
    });
    const state = Object.fromEntries(Object.entries(enc.stateDict()).map(([k, v]) => [k, { shape: v.shape, data: Array.from(v.dataSync()) }]));
    const params = enc.numParameters();
    opt.dispose();
    enc.dispose();
    target.dispose();
    const ours = (opts.batch * 1000) / median(times);
    let theirs: Record<number, number> = {};
    if (torchProblem == null) {
      const r = torchStep(opts, config, state, encoded);
      if (typeof r === 'string') torchProblem = r;
      else theirs = r;
    }
    const ratio = (t: number | undefined) => (t == null ? null : ours / t);
    rows.push({
      name: c.name,
      vocab_size: pipeline.vocabSize,
      params,
      geoclr_reports_per_s: ours,
      torch_reports_per_s: theirs[2] ?? null,
      torch_1thread_reports_per_s: theirs[1] ?? null,
      ratio: ratio(theirs[2]),
      ratio_1thread: ratio(theirs[1]),
    });
  }
  return { rows, meanTokens, torchProblem };
}

/**
 * Reports/s of the twin's training step (median over the same batches) at 2 and at 1 thread, or the reason it could
 * not run. Both, because on a loaded machine 2 OpenMP threads can be several times slower than one.
 */
function torchStep(
  opts: { batch: number; steps: number; seed: number; python: string; root: string },
  config: Record<string, unknown>,
  state: Record<string, { shape: number[]; data: number[] }>,
  encoded: { ids: Int32Array; mask: Int32Array; batch: number; length: number }[],
): Record<number, number> | string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'geoclr-bench-text-train-'));
  try {
    writeFileSync(path.join(dir, 'in.json'), JSON.stringify({ config, state, batches: encoded.map((e) => ({ ids: Array.from(e.ids), mask: Array.from(e.mask), shape: [e.batch, e.length] })), seed: opts.seed }));
    const script = `
import json, sys, time, torch
sys.path.insert(0, ${JSON.stringify(path.join(opts.root, 'interop', 'python'))})
from geoclr_torch import build_encoder
a = json.load(open(sys.argv[1]))
state = {k: torch.tensor(v['data'], dtype=torch.float32).reshape(v['shape']) for k, v in a['state'].items()}
B = a['batches'][0]['shape'][0]
out = {}
for threads in (2, 1):
    torch.set_num_threads(threads)
    m = build_encoder(a['config'])
    m.load_state_dict(state, strict=True)
    m.train()
    decay = [p for n, p in m.named_parameters() if p.dim() > 1]
    rest = [p for n, p in m.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': rest, 'weight_decay': 0.0}], lr=1e-3)
    g = torch.Generator().manual_seed(a['seed'])
    target = torch.randn(B, 128, generator=g)
    times = []
    for i, b in enumerate(a['batches']):
        t0 = time.perf_counter()
        ids = torch.tensor(b['ids'], dtype=torch.int64).reshape(b['shape'])
        mask = torch.tensor(b['mask'], dtype=torch.int64).reshape(b['shape'])
        _, u = m(ids, mask)
        u = u / u.norm(dim=1, keepdim=True); v = target / target.norm(dim=1, keepdim=True)
        logits = u @ v.T / 0.07
        y = torch.arange(len(u))
        loss = 0.5 * (torch.nn.functional.cross_entropy(logits, y) + torch.nn.functional.cross_entropy(logits.T, y))
        opt.zero_grad(); loss.backward(); opt.step()
        if i >= 2: times.append(time.perf_counter() - t0)
    times.sort()
    out[threads] = B / times[len(times) // 2]
print(json.dumps(out))
`;
    const r = spawnSync(opts.python, ['-c', script, path.join(dir, 'in.json')], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) return (r.stderr || `${opts.python} failed`).trim().split('\n').pop() ?? 'python failed';
    const parsed = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
    return { 1: parsed['1'], 2: parsed['2'] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads bench/results/text.json as `{suite, parts}` (an older single-part file becomes its part). */
export function readTextResults(file: string): { suite: string; parts: Record<string, unknown> } {
  try {
    const old = JSON.parse(readFileSync(file, 'utf8'));
    if (old.parts) return old;
    return { suite: 'text', parts: old.part ? { [old.part]: old } : {} };
  } catch {
    return { suite: 'text', parts: {} };
  }
}
