/**
 * Training checkpoints: one safetensors file per checkpoint (`checkpoints/step-000120.safetensors`) holding
 * every model part's parameters and buffers (`model/<part>/<name>`), the extra variables (`variable/<name>`) and
 * the optimizer's float32 buffers (`optimizer/<param>.<buffer>`), with the rest of the state as JSON metadata
 * (`geoclr.checkpoint`: step, data position, optimizer step counts and learning rates, random-generator states,
 * a fingerprint of the config). Each file is written atomically, then `checkpoints/latest.json` points at it —
 * written last, so a run killed at any moment leaves the previous pointer and its file intact.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import * as tf from '../tf.js';
import { FileFormatError } from '../errors.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { OptimizerState } from '../nn/optim.js';

export const CHECKPOINT_DIR = 'checkpoints';
export const LATEST_FILE = 'latest.json';
const META_KEY = 'geoclr.checkpoint';

/** The JSON part of a checkpoint. */
export interface CheckpointState {
  /** Updates applied so far. */
  step: number;
  /** Where the data continues: epoch and batch number within it. */
  next: { epoch: number; batch: number };
  /** Total steps the run was planned with. */
  totalSteps: number;
  optimizer: Omit<OptimizerState, 'buffers'>;
  /** Random-generator states of model parts (dropout) and of the task. */
  random: Record<string, Record<string, number[]>>;
  task?: unknown;
  /** Fingerprint of the resolved config the run was started with. */
  config: string;
  /** Wall-clock seconds of training so far. */
  seconds: number;
  time: string;
}

export interface LatestPointer {
  step: number;
  file: string;
  epoch: number;
  time: string;
}

export interface CheckpointContent {
  state: CheckpointState;
  parts: Record<string, Record<string, tf.Tensor>>;
  variables: Record<string, tf.Tensor>;
  optimizerBuffers: OptimizerState['buffers'];
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}.safetensors`;
}

/** Writes a checkpoint and then the `latest.json` pointer; prunes all but the newest `keep` checkpoints. */
export async function saveCheckpoint(runDir: string, content: CheckpointContent, keep: number): Promise<string> {
  const dir = path.join(runDir, CHECKPOINT_DIR);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [part, state] of Object.entries(content.parts)) for (const [name, t] of Object.entries(state)) tensors[`model/${part}/${name}`] = t;
  for (const [name, t] of Object.entries(content.variables)) tensors[`variable/${name}`] = t;
  const owned: tf.Tensor[] = [];
  for (const [key, b] of Object.entries(content.optimizerBuffers)) {
    const t = tf.tensor(b.data, b.shape, 'float32');
    owned.push(t);
    tensors[`optimizer/${key}`] = t;
  }
  const file = checkpointName(content.state.step);
  try {
    await saveSafetensors(path.join(dir, file), tensors, { [META_KEY]: JSON.stringify(content.state) });
  } finally {
    tf.dispose(owned);
  }
  const pointer: LatestPointer = { step: content.state.step, file, epoch: content.state.next.epoch, time: content.state.time };
  await writeFileAtomic(path.join(dir, LATEST_FILE), JSON.stringify(pointer, null, 2) + '\n');
  await pruneCheckpoints(dir, keep, file);
  return path.join(dir, file);
}

async function pruneCheckpoints(dir: string, keep: number, current: string): Promise<void> {
  const files = (await fsp.readdir(dir)).filter((f) => /^step-\d+\.safetensors$/.test(f)).sort();
  const old = files.filter((f) => f !== current).slice(0, Math.max(0, files.length - keep));
  await Promise.all(old.map((f) => fsp.rm(path.join(dir, f), { force: true })));
}

/** The `latest.json` pointer of a run, or null when the run has no checkpoint. */
export async function readLatestPointer(runDir: string): Promise<LatestPointer | null> {
  const file = path.join(runDir, CHECKPOINT_DIR, LATEST_FILE);
  if (!existsSync(file)) return null;
  let pointer: LatestPointer;
  try {
    pointer = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (e) {
    throw new FileFormatError(file, `not a valid checkpoint pointer (${(e as Error).message})`);
  }
  if (typeof pointer?.file !== 'string' || !Number.isInteger(pointer.step)) throw new FileFormatError(file, 'not a valid checkpoint pointer (needs file and step)');
  return pointer;
}

/** Reads the checkpoint `latest.json` points at. The caller disposes the tensors. */
export async function loadCheckpoint(runDir: string, pointer: LatestPointer): Promise<CheckpointContent> {
  const file = path.join(runDir, CHECKPOINT_DIR, path.basename(pointer.file));
  if (!existsSync(file)) throw new FileFormatError(file, `missing: ${LATEST_FILE} points at it but it is gone`);
  const { tensors, metadata } = await loadSafetensors(file);
  const raw = metadata[META_KEY];
  let state: CheckpointState;
  try {
    state = JSON.parse(raw);
  } catch {
    for (const t of tensors.values()) t.dispose();
    throw new FileFormatError(file, `not a geoclr checkpoint (no valid '${META_KEY}' metadata)`);
  }
  const content: CheckpointContent = { state, parts: {}, variables: {}, optimizerBuffers: {} };
  for (const [key, t] of tensors) {
    const slash = key.indexOf('/');
    const kind = key.slice(0, slash);
    const rest = key.slice(slash + 1);
    if (kind === 'model') {
      const s2 = rest.indexOf('/');
      const part = rest.slice(0, s2);
      (content.parts[part] ??= {})[rest.slice(s2 + 1)] = t;
    } else if (kind === 'variable') {
      content.variables[rest] = t;
    } else if (kind === 'optimizer') {
      content.optimizerBuffers[rest] = { shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) };
      t.dispose();
    } else {
      t.dispose();
    }
  }
  return content;
}

/** Disposes the tensors of a loaded checkpoint. */
export function disposeCheckpoint(content: CheckpointContent): void {
  for (const state of Object.values(content.parts)) tf.dispose(Object.values(state));
  tf.dispose(Object.values(content.variables));
}
