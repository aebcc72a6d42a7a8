/**
 * Training and embedding for contrastive analysis: `fitContrastiveAnalysis` trains one method on the training split
 * of a data set with balanced background/target batches, seeded views, AdamW and per-term logging; `embedDataset`
 * maps samples to the two spaces in eval mode.
 */
import * as tf from '../tf.js';
import { DivergenceError } from '../errors.js';
import { Rng } from '../util/random.js';
import { ProgressBar } from '../util/progress.js';
import { AdamW, clipGradNorm, parameterGroups } from '../nn/optim.js';
import { resolveContrastiveAnalysisConfig, type ContrastiveAnalysisConfig, type ResolvedContrastiveAnalysisConfig } from './config.js';
import { BalancedBatches, gatherImages, validateDataset, type ContrastiveDataset } from './dataset.js';
import { buildMethod, type MethodImpl } from './methods.js';
import { augmentBatch, resolveViewAugmentation } from './views.js';

export interface TrainLogRecord {
  step: number;
  /** Seconds since the start of training. */
  seconds: number;
  loss: number;
  /** Every term of the objective (SepCLR: common, salient, reg, jem, …; VAEs: reconstruction, klCommon, …). */
  terms: Record<string, number>;
}

export interface FitOptions {
  /** Training sample indices (default: all). */
  indices?: ArrayLike<number>;
  /** Called with each logged record (e.g. to append to metrics.jsonl). */
  onLog?: (record: TrainLogRecord) => void;
  progress?: boolean;
}

export interface FitResult {
  method: MethodImpl;
  config: ResolvedContrastiveAnalysisConfig;
  history: TrainLogRecord[];
  seconds: number;
  /** Training samples seen per second (views not counted). */
  samplesPerSecond: number;
}

/** Arrays one after the other (views `[B, …]` each as one view-major `[V·B, …]`; embedding batches as one). */
function concatArrays(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A batch as channels-last tensors: `[k, …shape, 1]`. */
export function batchTensor(data: Float32Array, k: number, shape: readonly number[]): tf.Tensor {
  return tf.tensor(data, [k, ...shape, 1]);
}

/**
 * Trains `config.method` on `ds` (the training indices of `opts.indices`). Each step draws a balanced batch, makes
 * the views, and takes one AdamW step; a non-finite loss stops training with a DivergenceError naming the step
 * and the terms.
 */
export function fitContrastiveAnalysis(ds: ContrastiveDataset, config: ContrastiveAnalysisConfig | ResolvedContrastiveAnalysisConfig, opts: FitOptions = {}): FitResult {
  validateDataset(ds);
  const cfg = resolveContrastiveAnalysisConfig(config);
  const augment = resolveViewAugmentation(cfg.augment, ds.shape.length);
  const indices = opts.indices ?? Int32Array.from({ length: ds.n }, (_, i) => i);
  const batches = new BalancedBatches(ds, indices, cfg.batchSize, { seed: cfg.seed, targetFraction: cfg.targetFraction });
  const method = buildMethod(cfg, ds.shape);
  const model = method.model;
  model.train();
  const optimizer = new AdamW(parameterGroups(model, { weightDecay: cfg.weightDecay }), { lr: cfg.lr });
  const rng = new Rng(`ca/${cfg.seed}/views`);
  const noise = new Rng(`ca/${cfg.seed}/latent`);
  const history: TrainLogRecord[] = [];
  const bar = opts.progress ? new ProgressBar({ label: `train ${cfg.method}`, total: cfg.steps, unit: 'steps' }) : null;
  const t0 = performance.now();
  const useViews = method.views === 1 && !cfg.vae.augment ? 0 : method.views;
  try {
    for (let step = 1; step <= cfg.steps; step++) {
      const idx = batches.next();
      const group = idx.map((i) => ds.group[i]);
      const raw = gatherImages(ds, idx);
      const views = useViews === 0 ? [raw] : augmentBatch(raw, idx.length, ds.shape, augment, rng, useViews);
      const input = batchTensor(concatArrays(views), views.length * idx.length, ds.shape);
      let terms: Record<string, tf.Scalar> = {};
      const { value, grads } = tf.variableGrads(() => {
        const r = method.loss(input, group, noise);
        terms = Object.fromEntries(Object.entries(r.terms).map(([k, t]) => [k, tf.keep(t)]));
        return r.total;
      }, model.parameters());
      input.dispose();
      const log = step % cfg.logEvery === 0 || step === cfg.steps || step === 1;
      const loss = value.dataSync()[0];
      if (!Number.isFinite(loss)) {
        const detail = Object.entries(terms).map(([k, t]) => `${k}=${t.dataSync()[0]}`).join(', ');
        tf.dispose([value, ...Object.values(grads), ...Object.values(terms)]);
        throw new DivergenceError(`${cfg.method}: the loss became ${loss} at step ${step} (${detail}); lower lr or the term weights`);
      }
      if (cfg.clipGradNorm != null) clipGradNorm(grads, cfg.clipGradNorm);
      optimizer.step(grads);
      if (log) {
        const record: TrainLogRecord = {
          step,
          seconds: (performance.now() - t0) / 1000,
          loss,
          terms: Object.fromEntries(Object.entries(terms).map(([k, t]) => [k, t.dataSync()[0]])),
        };
        history.push(record);
        opts.onLog?.(record);
      }
      tf.dispose([value, ...Object.values(grads), ...Object.values(terms)]);
      bar?.tick();
    }
  } finally {
    bar?.finish();
    optimizer.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  model.eval();
  return { method, config: cfg, history, seconds, samplesPerSecond: (cfg.steps * cfg.batchSize) / seconds };
}

export interface Embeddings {
  /** Row-major `[k, dc]` and `[k, ds]`. */
  common: Float32Array;
  salient: Float32Array;
  /** The code the background is pushed to zero in (see MethodImpl.embed), `[k, codeDim]`. */
  salientCode: Float32Array;
  commonDim: number;
  salientDim: number;
  codeDim: number;
  /** The embedded sample indices, in order. */
  indices: Int32Array;
}

/** Embeds the samples `indices` (default all) in eval mode, in batches. */
export function embedDataset(method: MethodImpl, ds: ContrastiveDataset, indices?: ArrayLike<number>, batchSize = 128): Embeddings {
  const idx = Int32Array.from(indices ?? Array.from({ length: ds.n }, (_, i) => i));
  method.model.eval();
  const common: Float32Array[] = [];
  const salient: Float32Array[] = [];
  const code: Float32Array[] = [];
  let dc = 0;
  let dsal = 0;
  let dcode = 0;
  for (let start = 0; start < idx.length; start += batchSize) {
    const part = idx.subarray(start, Math.min(idx.length, start + batchSize));
    const x = batchTensor(gatherImages(ds, part), part.length, ds.shape);
    const e = method.embed(x);
    dc = e.common.shape[1];
    dsal = e.salient.shape[1];
    dcode = e.salientCode.shape[1];
    common.push(e.common.dataSync() as Float32Array);
    salient.push(e.salient.dataSync() as Float32Array);
    code.push(e.salientCode.dataSync() as Float32Array);
    tf.dispose([x, e.common, e.salient, e.salientCode]);
  }
  return { common: concatArrays(common), salient: concatArrays(salient), salientCode: concatArrays(code), commonDim: dc, salientDim: dsal, codeDim: dcode, indices: idx };
}
