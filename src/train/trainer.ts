/**
 * The trainer core, independent of the task and of the modality: model parts + extra variables + a loss function
 * of a batch returning `{total, terms}`, a data source, an optimizer with a warm-up cosine schedule, gradient
 * clipping, `metrics.jsonl`, a progress bar, atomic checkpoints and exact resume.
 *
 * Resume is bit for bit on the same backend: a checkpoint holds the parameters, buffers (batch-norm statistics),
 * extra variables, the optimizer's float32 state and step counts, the random states (dropout, task) and the
 * data position (epoch, next batch); the data sources are deterministic in (seed, epoch) and start at any batch.
 *
 * A NaN/Inf loss or gradient stops training with a DivergenceError before the update is applied, so no
 * checkpoint (nor the final model) ever holds poisoned weights.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '../tf.js';
import { ConfigError, DivergenceError } from '../errors.js';
import { Adam, AdamW, clipGradNorm, cosineWithWarmup, SGD, type NamedVariables, type Optimizer, type ParamGroup } from '../nn/optim.js';
import { writeFileAtomic } from '../util/fs.js';
import { ProgressBar } from '../util/progress.js';
import { disposeCheckpoint, loadCheckpoint, readLatestPointer, saveCheckpoint, type CheckpointState } from './checkpoint.js';
import type { OptimizerConfig, ScheduleConfig } from './config.js';
import type { LossOutput, StepInfo, TrainableModel, TrainBatch, TrainDataSource } from './types.js';

export const METRICS_FILE = 'metrics.jsonl';

export interface TrainerOptions {
  /** Where metrics.jsonl and checkpoints/ go. */
  runDir: string;
  parts: Record<string, TrainableModel>;
  variables?: Record<string, tf.Variable>;
  loss(batch: TrainBatch, info: StepInfo): LossOutput;
  data: TrainDataSource;
  epochs: number;
  optimizer?: Partial<OptimizerConfig>;
  schedule?: Partial<ScheduleConfig>;
  /** Max global gradient norm (null: no clipping; the norm is logged either way). */
  clipGradNorm?: number | null;
  checkpoint?: { everySteps?: number; keep?: number };
  /** Continue from `checkpoints/latest.json` (a fresh start when there is none). */
  resume?: boolean;
  /** Identifies the configuration; resuming under another fingerprint is refused. */
  fingerprint?: string;
  /** State of the task itself (its random generators…), saved in checkpoints. */
  taskState?: { get(): unknown; set(state: unknown): void };
  /** Show a progress bar (default true). */
  progress?: boolean;
  log?: (message: string) => void;
  /** Stop after this many global steps (the run stays resumable), e.g. for tests. */
  maxSteps?: number;
  onEpochEnd?(epoch: number): void;
}

export interface TrainResult {
  steps: number;
  totalSteps: number;
  /** Step the run resumed from (null: fresh start). */
  resumedFrom: number | null;
  /** Last logged loss. */
  loss: number | null;
  /** Training seconds, including earlier sessions of a resumed run. */
  seconds: number;
  /** Mean samples per second of this session. */
  samplesPerSecond: number;
  /** Whether every planned step has run. */
  complete: boolean;
}

function buildOptimizer(parts: Record<string, TrainableModel>, variables: Record<string, tf.Variable>, cfg: OptimizerConfig): Optimizer {
  const decay: NamedVariables = [];
  const noDecay: NamedVariables = [];
  for (const [part, model] of Object.entries(parts)) {
    for (const [name, v] of model.namedParameters()) {
      if (!v.trainable) continue;
      // Biases and normalisation weights (rank ≤ 1) are not decayed, as usual for AdamW.
      (v.rank <= 1 ? noDecay : decay).push([`${part}.${name}`, v]);
    }
  }
  for (const [name, v] of Object.entries(variables)) if (v.trainable) noDecay.push([`variable.${name}`, v]);
  const groups: ParamGroup[] = [
    { params: decay, weightDecay: cfg.weightDecay },
    { params: noDecay, weightDecay: 0 },
  ].filter((g) => g.params.length > 0);
  if (groups.length === 0) throw new ConfigError('task', 'the model has no trainable parameters');
  switch (cfg.name) {
    case 'adam':
      return new Adam(groups, { lr: cfg.lr, betas: cfg.betas, eps: cfg.eps });
    case 'adamw':
      return new AdamW(groups, { lr: cfg.lr, betas: cfg.betas, eps: cfg.eps, weightDecay: cfg.weightDecay });
    case 'sgd':
      return new SGD(groups, { lr: cfg.lr, momentum: cfg.momentum, dampening: cfg.dampening, nesterov: cfg.nesterov });
  }
}

const OPTIMIZER_DEFAULTS: OptimizerConfig = { name: 'adamw', lr: 1e-3, weightDecay: 0.01, betas: [0.9, 0.999], eps: 1e-8, momentum: 0.9, dampening: 0, nesterov: false };

/** Learning-rate factor per (0-based) step. */
export function scheduleFactor(cfg: Partial<ScheduleConfig>, totalSteps: number, batchesPerEpoch: number): (step: number) => number {
  const warm = Math.min(totalSteps, cfg.warmupSteps ?? Math.round((cfg.warmupEpochs ?? 0) * batchesPerEpoch));
  if ((cfg.name ?? 'cosine') === 'constant') return (s) => (s < warm ? (s + 1) / warm : 1);
  return cosineWithWarmup({ warmupSteps: warm, totalSteps, minFactor: cfg.minFactor ?? 0 });
}

/** Appends one JSON line per step; on resume keeps only the lines up to the checkpoint's step. */
class MetricsLog {
  readonly file: string;
  constructor(runDir: string) {
    this.file = path.join(runDir, METRICS_FILE);
  }
  async reset(keepUpTo: number | null): Promise<void> {
    let kept = '';
    if (keepUpTo != null && existsSync(this.file)) {
      kept = readFileSync(this.file, 'utf8')
        .split('\n')
        .filter((line) => {
          try {
            const r = JSON.parse(line);
            return typeof r.step === 'number' && r.step <= keepUpTo;
          } catch {
            return false; // the torn last line of a killed run
          }
        })
        .map((l) => `${l}\n`)
        .join('');
    }
    await writeFileAtomic(this.file, kept);
  }
  append(record: Record<string, unknown>): void {
    appendFileSync(this.file, `${JSON.stringify(record)}\n`);
  }
}

function finite(v: number): boolean {
  return Number.isFinite(v);
}

/** Trains until every epoch has run (or `maxSteps`); resumable at every checkpoint. */
export async function train(opts: TrainerOptions): Promise<TrainResult> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const variables = opts.variables ?? {};
  const data = opts.data;
  const perEpoch = data.batchesPerEpoch;
  if (!(perEpoch > 0)) throw new ConfigError('batchSize', `gives no full batch from the ${data.size} training samples; lower it to at most ${data.size}`);
  if (!(Number.isInteger(opts.epochs) && opts.epochs >= 1)) throw new ConfigError('epochs', `must be an integer ≥ 1, got ${opts.epochs}`);
  const totalSteps = opts.epochs * perEpoch;
  const optimizerConfig: OptimizerConfig = { ...OPTIMIZER_DEFAULTS, ...(opts.optimizer ?? {}) };
  const optimizer = buildOptimizer(opts.parts, variables, optimizerConfig);
  const factor = scheduleFactor(opts.schedule ?? {}, totalSteps, perEpoch);
  const every = opts.checkpoint?.everySteps ?? 100;
  const keep = opts.checkpoint?.keep ?? 2;
  const fingerprint = opts.fingerprint ?? '';
  // Buffers (batch-norm running statistics) change during the forward pass; a diverging step must not keep them.
  const paramSet = new Set(Object.values(opts.parts).flatMap((m) => m.namedParameters().map(([, v]) => v)));
  const buffers: tf.Variable[] = Object.values(opts.parts)
    .flatMap((m) => Object.values(m.stateDict()))
    .filter((t): t is tf.Variable => t instanceof tf.Variable && !paramSet.has(t));
  const trainable: tf.Variable[] = [
    ...Object.values(opts.parts).flatMap((m) => m.namedParameters().map(([, v]) => v)),
    ...Object.values(variables),
  ].filter((v) => v.trainable);
  await mkdir(opts.runDir, { recursive: true });

  // --- start or resume ---
  let step = 0;
  let epoch = 0;
  let batchInEpoch = 0;
  let secondsBefore = 0;
  let resumedFrom: number | null = null;
  const pointer = await readLatestPointer(opts.runDir);
  if (pointer != null && !opts.resume) {
    throw new ConfigError('--resume', `${opts.runDir} already holds a run (checkpoint at step ${pointer.step}); pass --resume to continue it, or choose another output folder`);
  }
  const metrics = new MetricsLog(opts.runDir);
  if (opts.resume && pointer != null) {
    const ckpt = await loadCheckpoint(opts.runDir, pointer);
    try {
      if (fingerprint && ckpt.state.config !== fingerprint) {
        throw new ConfigError('--resume', `the checkpoint at step ${ckpt.state.step} was written under another configuration; resume with the run's own config.json`);
      }
      if (ckpt.state.totalSteps !== totalSteps) {
        throw new ConfigError('epochs', `the run was planned for ${ckpt.state.totalSteps} steps, this configuration gives ${totalSteps}; resume with the same epochs, batch size and data`);
      }
      restoreState(opts, variables, optimizer, ckpt);
      step = ckpt.state.step;
      epoch = ckpt.state.next.epoch;
      batchInEpoch = ckpt.state.next.batch;
      secondsBefore = ckpt.state.seconds;
      resumedFrom = step;
      opts.taskState?.set(ckpt.state.task);
    } finally {
      disposeCheckpoint(ckpt);
    }
    await metrics.reset(step);
    log(`resuming ${opts.runDir} at step ${step} (epoch ${epoch + 1}, batch ${batchInEpoch + 1})`);
  } else {
    if (opts.resume) log(`no checkpoint in ${opts.runDir}: starting from step 0`);
    await metrics.reset(null);
  }

  const limit = Math.min(totalSteps, opts.maxSteps ?? Infinity);
  const bar = opts.progress === false ? null : new ProgressBar({ label: 'train', total: totalSteps, unit: 'samples' });
  if (step > 0) bar?.tick(step, {}, 0);
  const t0 = performance.now();
  let lastTime = t0;
  let samples = 0;
  let lastLoss: number | null = null;
  let lastCheckpoint = step;

  const lastCheckpointText = () => {
    const p = path.join(opts.runDir, 'checkpoints');
    return lastCheckpoint > 0 || pointer != null ? `the last checkpoint (step ${lastCheckpoint}) in ${p} is intact` : 'no checkpoint had been written yet';
  };

  const checkpoint = async (next: { epoch: number; batch: number }) => {
    const nonFinite = nonFiniteVariables(opts.parts, variables);
    if (nonFinite.length) {
      throw new DivergenceError(
        `training diverged at step ${step}: the update made ${nonFinite.slice(0, 3).join(', ')}${nonFinite.length > 3 ? ` and ${nonFinite.length - 3} more` : ''} non-finite; ` +
          `no checkpoint was written and ${lastCheckpointText()}. Lower optimizer.lr (now ${optimizerConfig.lr}) or set clipGradNorm, then rerun (or --resume).`,
      );
    }
    const state: CheckpointState = {
      step,
      next,
      totalSteps,
      optimizer: (({ buffers: _b, ...rest }) => rest)(optimizer.stateDict()),
      random: Object.fromEntries(Object.entries(opts.parts).map(([p, m]) => [p, m.randomState?.() ?? {}])),
      task: opts.taskState?.get(),
      config: fingerprint,
      seconds: secondsBefore + (performance.now() - t0) / 1000,
      time: new Date().toISOString(),
    };
    await saveCheckpoint(
      opts.runDir,
      {
        state,
        parts: Object.fromEntries(Object.entries(opts.parts).map(([p, m]) => [p, m.stateDict()])),
        variables,
        optimizerBuffers: optimizer.stateDict().buffers,
      },
      keep,
    );
    lastCheckpoint = step;
  };

  try {
    for (const part of Object.values(opts.parts)) part.train();
    outer: while (epoch < opts.epochs && step < limit) {
      let b = batchInEpoch;
      for await (const batch of data.batches(epoch, batchInEpoch)) {
        const index = batch.index ?? b;
        const info: StepInfo = { step, epoch };
        optimizer.setLrFactor(factor(step));
        const saved = buffers.map((b) => tf.clone(b));
        let value: tf.Scalar | null = null;
        let grads: Record<string, tf.Tensor> = {};
        const kept: tf.Tensor[] = [];
        let termNames: string[] = [];
        let valueNames: string[] = [];
        const terms: Record<string, number> = {};
        const values: Record<string, number> = {};
        try {
          const res = tf.variableGrads(() => {
            const out = opts.loss(batch, info);
            termNames = Object.keys(out.terms);
            valueNames = Object.keys(out.values ?? {});
            for (const name of termNames) kept.push(tf.keep(out.terms[name]));
            for (const name of valueNames) kept.push(tf.keep(out.values![name]));
            return out.total;
          }, trainable);
          value = res.value;
          grads = res.grads;
          const lossValue = value.dataSync()[0];
          lastLoss = lossValue;
          kept.forEach((t, i) => {
            if (i < termNames.length) terms[termNames[i]] = t.dataSync()[0];
            else values[valueNames[i - termNames.length]] = t.dataSync()[0];
          });
          const lr = optimizer.lrs[0];
          const norm = clipGradNorm(grads, opts.clipGradNorm ?? Infinity);
          const bad = !finite(lossValue) ? `loss = ${lossValue}` : !finite(norm) ? `gradient norm = ${norm}` : null;
          if (bad) {
            buffers.forEach((b, i) => b.assign(saved[i]));
            metrics.append({ step: step + 1, epoch: epoch + 1, loss: lossValue, terms, lr, grad_norm: norm, diverged: true });
            const termText = Object.entries(terms).map(([k, v]) => `${k} = ${v}`).join(', ');
            throw new DivergenceError(
              `training diverged at step ${step + 1} (epoch ${epoch + 1}): ${bad}${termText ? ` (${termText})` : ''}; the update was not applied and ${lastCheckpointText()}. ` +
                `Lower optimizer.lr (now ${optimizerConfig.lr}), set clipGradNorm, or raise the objectives' temperatures, then rerun (or --resume).`,
            );
          }
          optimizer.step(grads);
          step++;
          samples += batch.size;
          const now = performance.now();
          const rate = batch.size / Math.max(1e-9, (now - lastTime) / 1000);
          lastTime = now;
          metrics.append({ step, epoch: epoch + 1, loss: lossValue, terms, ...(valueNames.length ? { values } : {}), lr, grad_norm: norm, samples_per_s: rate, elapsed_s: secondsBefore + (now - t0) / 1000 });
          bar?.tick(1, { epoch: `${epoch + 1}/${opts.epochs}`, loss: lossValue }, batch.size);
        } finally {
          tf.dispose([...saved, ...(value ? [value] : []), ...Object.values(grads), ...kept, ...batch.views, ...Object.values(batch.inputs ?? {})]);
        }
        b = index + 1;
        const next = b >= perEpoch ? { epoch: epoch + 1, batch: 0 } : { epoch, batch: b };
        if (step % every === 0 || step === totalSteps) await checkpoint(next);
        if (step >= limit) {
          if (lastCheckpoint !== step) await checkpoint(next);
          if (next.epoch > epoch) opts.onEpochEnd?.(epoch);
          break outer;
        }
      }
      opts.onEpochEnd?.(epoch);
      epoch++;
      batchInEpoch = 0;
    }
  } finally {
    bar?.finish();
    optimizer.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    steps: step,
    totalSteps,
    resumedFrom,
    loss: lastLoss,
    seconds: secondsBefore + seconds,
    samplesPerSecond: samples / Math.max(1e-9, seconds),
    complete: step >= totalSteps,
  };
}

/** Names of parameters, buffers and variables holding NaN/Inf (one reduction per tensor, run at checkpoints). */
function nonFiniteVariables(parts: Record<string, TrainableModel>, variables: Record<string, tf.Variable>): string[] {
  const named: [string, tf.Tensor][] = [
    ...Object.entries(parts).flatMap(([p, m]) => Object.entries(m.stateDict()).map(([n, t]) => [`${p}.${n}`, t] as [string, tf.Tensor])),
    ...Object.entries(variables),
  ].filter(([, t]) => t.dtype === 'float32');
  if (named.length === 0) return [];
  const flags = tf.tidy(() => tf.stack(named.map(([, t]) => tf.all(tf.isFinite(t)))));
  const ok = flags.dataSync();
  flags.dispose();
  return named.filter((_, i) => !ok[i]).map(([n]) => n);
}

function restoreState(opts: TrainerOptions, variables: Record<string, tf.Variable>, optimizer: Optimizer, ckpt: Awaited<ReturnType<typeof loadCheckpoint>>): void {
  for (const [part, model] of Object.entries(opts.parts)) {
    const saved = ckpt.parts[part];
    if (saved == null) throw new ConfigError('--resume', `the checkpoint holds no model part '${part}'`);
    const live = model.stateDict();
    const missing = Object.keys(live).filter((k) => !(k in saved));
    const unexpected = Object.keys(saved).filter((k) => !(k in live));
    if (missing.length || unexpected.length) {
      throw new ConfigError('--resume', `the checkpoint's '${part}' does not match the model (missing ${missing.join(', ') || 'none'}; unexpected ${unexpected.join(', ') || 'none'})`);
    }
    // Constants (not variables) cannot have changed during training.
    for (const [name, t] of Object.entries(live)) if (t instanceof tf.Variable) t.assign(saved[name]);
    model.setRandomState?.(ckpt.state.random[part] ?? {});
  }
  for (const [name, v] of Object.entries(variables)) {
    const saved = ckpt.variables[name];
    if (saved == null) throw new ConfigError('--resume', `the checkpoint holds no variable '${name}'`);
    v.assign(saved);
  }
  optimizer.loadStateDict({ ...ckpt.state.optimizer, buffers: ckpt.optimizerBuffers });
}
