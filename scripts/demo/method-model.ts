/** The model of one method in a demo section: the untrained encoder, or a fresh training run with its loss curve. */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createEncoder } from '../../src/nn/encoders/factory.js';
import { readMetricsLog } from '../../src/report/training.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import { runTraining } from '../../src/train/run.js';
import type { TrainableModel } from '../../src/train/types.js';
import type { DemoContext } from './context.js';

export interface DemoMethodModel {
  model: TrainableModel;
  dispose: () => void;
  /** Optimisation steps taken (0 for the untrained encoder). */
  steps: number;
  /** Loss per logged step (null for the untrained encoder). */
  curve: { x: number[]; y: number[] } | null;
}

/**
 * `config` null: the untrained `encoder` (seeded by the demo's seed), the reference of a comparison. Otherwise a
 * training run of `config` (a config as a user would write it), started afresh in its `out` folder, its task kept
 * so that the caller embeds with the trained encoder and disposes of it.
 */
export async function demoMethodModel(ctx: DemoContext, encoder: Record<string, unknown>, config: Record<string, unknown> | null): Promise<DemoMethodModel> {
  if (config == null) {
    const enc = createEncoder(encoder, { seed: ctx.seed });
    return { model: enc, dispose: () => enc.dispose(), steps: 0, curve: null };
  }
  const resolved = resolveTrainConfig(config);
  rmSync(resolved.out, { recursive: true, force: true }); // a demo run always starts afresh
  const r = await runTraining({ config: resolved, keepTask: true, log: ctx.log });
  const task = r.task!;
  const metrics = (await readMetricsLog(path.join(resolved.out, 'metrics.jsonl'))).records;
  return {
    model: task.parts[task.primary],
    dispose: () => task.dispose(),
    steps: r.train.steps,
    curve: { x: metrics.map((x) => x.step as number), y: metrics.map((x) => x.loss as number) },
  };
}
