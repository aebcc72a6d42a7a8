/**
 * Optimizers with torch.optim's update rules (Adam, AdamW, SGD with momentum / Nesterov), a cosine schedule with
 * linear warm-up, gradient clipping by global norm, parameter groups with a no-decay rule, and an exact state
 * export (float32 buffers, step counts) so a resumed run continues bit for bit on the same backend.
 *
 * Gradients are the map returned by tf.variableGrads (keyed by variable name); parameters without a gradient are
 * skipped, as PyTorch skips parameters whose .grad is None.
 */
import * as tf from '../tf.js';
import { ShapeError, ValueError } from '../errors.js';
import type { Module } from './module.js';

export type NamedVariables = Array<[string, tf.Variable]>;

export interface ParamGroup {
  params: NamedVariables;
  /** Overrides the optimizer's learning rate for this group. */
  lr?: number;
  /** Overrides the optimizer's weight decay for this group. */
  weightDecay?: number;
}

export type Params = Module | NamedVariables | ParamGroup[];

interface Group {
  params: NamedVariables;
  lr: number;
  initialLr: number;
  weightDecay: number;
}

/** Exact optimizer state: hyper-parameters per group, per-parameter step counts and float32 buffers. */
export interface OptimizerState {
  kind: string;
  groups: Array<{ params: string[]; lr: number; initialLr: number; weightDecay: number }>;
  /** name → number of updates applied to that parameter. */
  steps: Record<string, number>;
  /** `${param}.${buffer}` → values (exp_avg, exp_avg_sq, momentum_buffer). */
  buffers: Record<string, { shape: number[]; data: Float32Array }>;
}

/**
 * Splits a module's trainable parameters into a decayed group and a no-decay group (biases and normalisation
 * weights: by default every parameter of rank ≤ 1), the usual rule for AdamW.
 */
export function parameterGroups(
  module: Module,
  opts: { weightDecay: number; noDecay?: (name: string, p: tf.Variable) => boolean },
): ParamGroup[] {
  const noDecay = opts.noDecay ?? ((_name: string, p: tf.Variable) => p.rank <= 1);
  const params = module.namedParameters().filter(([, p]) => p.trainable);
  return [
    { params: params.filter(([n, p]) => !noDecay(n, p)), weightDecay: opts.weightDecay },
    { params: params.filter(([n, p]) => noDecay(n, p)), weightDecay: 0 },
  ].filter((g) => g.params.length > 0);
}

function toGroups(params: Params, lr: number, weightDecay: number): Group[] {
  let groups: ParamGroup[];
  if (Array.isArray(params) && params.length > 0 && Array.isArray(params[0])) groups = [{ params: params as NamedVariables }];
  else if (Array.isArray(params)) groups = params as ParamGroup[];
  else groups = [{ params: (params as Module).namedParameters().filter(([, p]) => p.trainable) }];
  const seen = new Set<string>();
  for (const g of groups) {
    for (const [name] of g.params) {
      if (seen.has(name)) throw new ValueError(`optimizer: parameter '${name}' appears in two groups`);
      seen.add(name);
    }
  }
  return groups.map((g) => {
    const glr = g.lr ?? lr;
    const wd = g.weightDecay ?? weightDecay;
    if (!(glr >= 0)) throw new ValueError(`optimizer: lr must be ≥ 0, got ${glr}`);
    if (!(wd >= 0)) throw new ValueError(`optimizer: weight decay must be ≥ 0, got ${wd}`);
    return { params: g.params, lr: glr, initialLr: glr, weightDecay: wd };
  });
}

export abstract class Optimizer {
  readonly groups: Group[];
  protected readonly steps = new Map<string, number>();
  /** name → buffer name → variable. */
  protected readonly buffers = new Map<string, Map<string, tf.Variable>>();
  abstract readonly kind: string;

  constructor(params: Params, lr: number, weightDecay: number) {
    this.groups = toGroups(params, lr, weightDecay);
  }

  /** Sets every group's learning rate to its initial value × factor (what a schedule does each step). */
  setLrFactor(factor: number): void {
    if (!(factor >= 0)) throw new ValueError(`optimizer: learning-rate factor must be ≥ 0, got ${factor}`);
    for (const g of this.groups) g.lr = g.initialLr * factor;
  }

  /** The current learning rate of each group. */
  get lrs(): number[] {
    return this.groups.map((g) => g.lr);
  }

  /** Applies one update from gradients keyed by variable name (tf.variableGrads' `grads`). */
  step(grads: Record<string, tf.Tensor>): void {
    tf.tidy(() => {
      for (const g of this.groups) {
        for (const [name, p] of g.params) {
          const grad = grads[p.name];
          if (grad == null) continue;
          if (!tf.util.arraysEqual(grad.shape, p.shape)) {
            throw new ShapeError(`optimizer: gradient of '${name}' is [${grad.shape}], the parameter is [${p.shape}]`);
          }
          const t = (this.steps.get(name) ?? 0) + 1;
          this.steps.set(name, t);
          this.update(name, p, grad, g, t);
        }
      }
    });
  }

  protected abstract update(name: string, p: tf.Variable, grad: tf.Tensor, group: Group, step: number): void;

  protected buffer(name: string, key: string, init: () => tf.Tensor): { v: tf.Variable; fresh: boolean } {
    let m = this.buffers.get(name);
    if (m == null) this.buffers.set(name, (m = new Map()));
    const existing = m.get(key);
    if (existing != null) return { v: existing, fresh: false };
    const v = tf.keep(tf.variable(init(), false));
    m.set(key, v);
    return { v, fresh: true };
  }

  /** A copy of the complete state (exact float32 values). */
  stateDict(): OptimizerState {
    const buffers: OptimizerState['buffers'] = {};
    for (const [name, m] of this.buffers) {
      for (const [key, v] of m) buffers[`${name}.${key}`] = { shape: v.shape, data: Float32Array.from(v.dataSync() as Float32Array) };
    }
    return {
      kind: this.kind,
      groups: this.groups.map((g) => ({ params: g.params.map(([n]) => n), lr: g.lr, initialLr: g.initialLr, weightDecay: g.weightDecay })),
      steps: Object.fromEntries(this.steps),
      buffers,
    };
  }

  /** Restores a state from stateDict(); the parameter names and groups must match this optimizer's. */
  loadStateDict(state: OptimizerState): void {
    if (state.kind !== this.kind) throw new ValueError(`optimizer state is for '${state.kind}', this optimizer is '${this.kind}'`);
    if (state.groups.length !== this.groups.length) {
      throw new ValueError(`optimizer state has ${state.groups.length} parameter groups, this optimizer ${this.groups.length}`);
    }
    const shapes = new Map<string, number[]>();
    state.groups.forEach((sg, i) => {
      const names = this.groups[i].params.map(([n]) => n);
      if (sg.params.length !== names.length || sg.params.some((n, j) => n !== names[j])) {
        throw new ValueError(`optimizer state group ${i} holds parameters [${sg.params.join(', ')}], this optimizer [${names.join(', ')}]`);
      }
      this.groups[i].params.forEach(([n, p]) => shapes.set(n, p.shape));
    });
    for (const [key, b] of Object.entries(state.buffers)) {
      const dot = key.lastIndexOf('.');
      const name = key.slice(0, dot);
      const expected = shapes.get(name);
      if (expected == null) throw new ValueError(`optimizer state has a buffer for unknown parameter '${name}'`);
      if (!tf.util.arraysEqual(expected, b.shape) || b.data.length !== tf.util.sizeFromShape(b.shape)) {
        throw new ShapeError(`optimizer state buffer '${key}' is [${b.shape}], the parameter is [${expected}]`);
      }
    }
    this.dispose();
    state.groups.forEach((sg, i) => {
      this.groups[i].lr = sg.lr;
      this.groups[i].initialLr = sg.initialLr;
      this.groups[i].weightDecay = sg.weightDecay;
    });
    for (const [name, t] of Object.entries(state.steps)) this.steps.set(name, t);
    for (const [key, b] of Object.entries(state.buffers)) {
      const dot = key.lastIndexOf('.');
      this.buffer(key.slice(0, dot), key.slice(dot + 1), () => tf.tensor(b.data, b.shape));
    }
  }

  /** Frees the state buffers. */
  dispose(): void {
    for (const m of this.buffers.values()) for (const v of m.values()) v.dispose();
    this.buffers.clear();
    this.steps.clear();
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** torch.optim.Adam (weight decay as L2: grad += wd·p). Kingma & Ba 2015, Algorithm 1. */
export class Adam extends Optimizer {
  readonly kind: string = 'adam';
  readonly betas: [number, number];
  readonly eps: number;
  constructor(params: Params, opts: AdamOptions = {}) {
    super(params, opts.lr ?? 1e-3, opts.weightDecay ?? 0);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    if (this.betas.some((b) => !(b >= 0 && b < 1))) throw new ValueError(`Adam: betas must be in [0, 1), got [${this.betas}]`);
  }
  protected decoupled(): boolean {
    return false;
  }
  protected update(name: string, p: tf.Variable, grad: tf.Tensor, group: Group, t: number): void {
    const [b1, b2] = this.betas;
    let g = grad;
    if (this.decoupled()) {
      if (group.weightDecay !== 0) p.assign(tf.mul(p, 1 - group.lr * group.weightDecay));
    } else if (group.weightDecay !== 0) {
      g = tf.add(g, tf.mul(p, group.weightDecay));
    }
    const m = this.buffer(name, 'exp_avg', () => tf.zerosLike(p)).v;
    const v = this.buffer(name, 'exp_avg_sq', () => tf.zerosLike(p)).v;
    m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
    v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.mul(g, g), 1 - b2)));
    const stepSize = group.lr / (1 - b1 ** t);
    const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(1 - b2 ** t)), this.eps);
    p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
  }
}

/** torch.optim.AdamW: decoupled weight decay p ← p·(1 − lr·wd) before the Adam step (Loshchilov & Hutter 2019). */
export class AdamW extends Adam {
  override readonly kind: string = 'adamw';
  constructor(params: Params, opts: AdamOptions = {}) {
    super(params, { ...opts, weightDecay: opts.weightDecay ?? 1e-2 });
  }
  protected override decoupled(): boolean {
    return true;
  }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** torch.optim.SGD: grad += wd·p; buf ← μ·buf + (1 − dampening)·grad (buf ← grad at the first step); Nesterov optional. */
export class SGD extends Optimizer {
  readonly kind = 'sgd';
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  constructor(params: Params, opts: SGDOptions) {
    super(params, opts.lr, opts.weightDecay ?? 0);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (!(this.momentum >= 0)) throw new ValueError(`SGD: momentum must be ≥ 0, got ${this.momentum}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new ValueError('SGD: Nesterov momentum requires momentum > 0 and zero dampening');
    }
  }
  protected update(name: string, p: tf.Variable, grad: tf.Tensor, group: Group): void {
    let d = group.weightDecay !== 0 ? tf.add(grad, tf.mul(p, group.weightDecay)) : grad;
    if (this.momentum !== 0) {
      const { v: buf, fresh } = this.buffer(name, 'momentum_buffer', () => tf.clone(d));
      if (!fresh) buf.assign(tf.add(tf.mul(buf, this.momentum), tf.mul(d, 1 - this.dampening)));
      d = this.nesterov ? tf.add(d, tf.mul(buf, this.momentum)) : buf;
    }
    p.assign(tf.sub(p, tf.mul(d, group.lr)));
  }
}

/**
 * Scales gradients in place so their global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_: factor
 * min(1, maxNorm / (norm + 1e-6))); returns the norm before clipping (NaN/∞ pass through for the caller to catch).
 */
export function clipGradNorm(grads: Record<string, tf.Tensor>, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new ValueError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const keys = Object.keys(grads);
  if (keys.length === 0) return 0;
  const total = tf.tidy(() => tf.sqrt(tf.addN(keys.map((k) => tf.sum(tf.square(grads[k]))))));
  const norm = total.dataSync()[0];
  total.dispose();
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  if (coef < 1) {
    for (const k of keys) {
      const old = grads[k];
      grads[k] = tf.mul(old, coef);
      old.dispose();
    }
  }
  return norm;
}

export interface CosineScheduleOptions {
  /** Steps of linear warm-up: factor (s + 1) / warmupSteps for s < warmupSteps. */
  warmupSteps?: number;
  totalSteps: number;
  /** Final factor at the end of the cosine (default 0). */
  minFactor?: number;
}

/**
 * Learning-rate factor at step s (0-based): linear warm-up, then a half cosine from 1 to minFactor over the remaining
 * steps (Loshchilov & Hutter 2017, without restarts); minFactor after totalSteps.
 */
export function cosineWithWarmup(opts: CosineScheduleOptions): (step: number) => number {
  const warm = opts.warmupSteps ?? 0;
  const total = opts.totalSteps;
  const min = opts.minFactor ?? 0;
  if (!Number.isInteger(total) || total < 1) throw new ValueError(`cosineWithWarmup: totalSteps must be a positive integer, got ${total}`);
  if (!Number.isInteger(warm) || warm < 0 || warm > total) throw new ValueError(`cosineWithWarmup: warmupSteps must be in [0, totalSteps], got ${warm}`);
  if (!(min >= 0 && min <= 1)) throw new ValueError(`cosineWithWarmup: minFactor must be in [0, 1], got ${min}`);
  return (step: number) => {
    if (step < warm) return (step + 1) / warm;
    const progress = Math.min(1, (step - warm) / Math.max(1, total - warm));
    return min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** Encodes an optimizer state as JSON, float32 buffers as base64 little-endian bytes (exact). */
export function optimizerStateToJSON(state: OptimizerState): string {
  const buffers = Object.fromEntries(
    Object.entries(state.buffers).map(([k, b]) => [k, { shape: b.shape, base64: Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).toString('base64') }]),
  );
  return JSON.stringify({ ...state, buffers });
}

/** Inverse of optimizerStateToJSON. */
export function optimizerStateFromJSON(text: string): OptimizerState {
  const raw = JSON.parse(text) as Omit<OptimizerState, 'buffers'> & { buffers: Record<string, { shape: number[]; base64: string }> };
  const buffers: OptimizerState['buffers'] = {};
  for (const [k, b] of Object.entries(raw.buffers)) {
    const bytes = Buffer.from(b.base64, 'base64');
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    buffers[k] = { shape: b.shape, data: new Float32Array(copy.buffer) };
  }
  return { ...raw, buffers };
}
