/**
 * A small module system modelled on torch.nn.Module, so that geoclr models and their PyTorch twins share one
 * `state_dict`: parameters and buffers are tf.Variables stored in PyTorch layout (Conv weight [out, in, k…],
 * Linear weight [out, in]) under PyTorch names (`layer1.0.conv1.weight`, `bn1.running_mean`, …), in PyTorch's
 * order (a module's own parameters, then its buffers, then its children, recursively).
 *
 * Data inside tfjs is channels-last ([B, D, H, W, C] for volumes, [B, H, W, C] for images); a PyTorch twin takes
 * the same tensor permuted to channels-first (x.permute(0, 4, 1, 2, 3)). Weights need no conversion.
 */
import * as tf from '../tf.js';
import { GeoclrError, ShapeError } from '../errors.js';
import { Rng } from '../util/random.js';

/** A state_dict problem: lists every missing, unexpected and mis-shaped name at once. */
export class StateDictError extends GeoclrError {
  constructor(
    readonly missing: string[],
    readonly unexpected: string[],
    readonly misShaped: { name: string; expected: number[]; got: number[] }[],
  ) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.length}: ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected ${unexpected.length}: ${unexpected.join(', ')}`);
    if (misShaped.length) {
      parts.push(
        `wrong shape ${misShaped.length}: ` +
          misShaped.map((m) => `${m.name} expects [${m.expected}] got [${m.got}]`).join(', '),
      );
    }
    super(`loadStateDict: ${parts.join('; ')}`);
  }
}

export type StateDict = Record<string, tf.Tensor>;

export interface LoadStateDictOptions {
  /** Every name must match both ways (default true, as PyTorch). Shapes must always match. */
  strict?: boolean;
}

export abstract class Module {
  /** Training mode (batch norm uses batch statistics, dropout is active). New modules start in training mode. */
  training = true;
  private readonly ownParams = new Map<string, tf.Variable>();
  private readonly ownBuffers = new Map<string, tf.Variable>();
  private readonly childModules = new Map<string, Module>();

  /** Registers a trainable parameter (a tf.Variable owning `value`). */
  protected addParameter(name: string, value: tf.Tensor): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, true);
    value.dispose();
    this.ownParams.set(name, v);
    return v;
  }

  /** Registers a buffer: state saved in the state_dict but not trained (running statistics, counters). */
  protected addBuffer(name: string, value: tf.Tensor): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, false);
    value.dispose();
    this.ownBuffers.set(name, v);
    return v;
  }

  /** Registers a child module under `name` (its entries appear as `name.…`); returns it. */
  protected addModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    this.childModules.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (!name || name.includes('.')) throw new GeoclrError(`module entry name '${name}' must be non-empty without '.'`);
    if (this.ownParams.has(name) || this.ownBuffers.has(name) || this.childModules.has(name)) {
      throw new GeoclrError(`module entry '${name}' is registered twice`);
    }
  }

  /** Direct children, in registration order. */
  children(): [string, Module][] {
    return [...this.childModules];
  }

  /** This module and every descendant with its dotted path ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.childModules) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** Every parameter with its PyTorch name, in PyTorch order (trainable or frozen). */
  namedParameters(prefix = ''): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, v] of m.ownParams) out.push([path ? `${path}.${name}` : name, v]);
    }
    return out;
  }

  /** Every buffer with its PyTorch name. */
  namedBuffers(prefix = ''): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, v] of m.ownBuffers) out.push([path ? `${path}.${name}` : name, v]);
    }
    return out;
  }

  /** The trainable variables (what an optimizer updates). */
  parameters(): tf.Variable[] {
    return this.namedParameters()
      .map(([, v]) => v)
      .filter((v) => v.trainable);
  }

  /** Number of parameter values (trainable only by default, as `sum(p.numel() for p if p.requires_grad)`). */
  numParameters(trainableOnly = true): number {
    return this.namedParameters().reduce((n, [, v]) => n + (trainableOnly && !v.trainable ? 0 : v.size), 0);
  }

  /** Freezes (false) or unfreezes (true) every parameter of this module and its descendants. */
  requiresGrad(flag = true): this {
    for (const [, v] of this.namedParameters()) v.trainable = flag;
    return this;
  }

  /**
   * The state_dict: parameters and buffers by PyTorch name, in PyTorch order. The tensors are the live variables
   * (do not dispose them; clone to keep a snapshot). Counters such as `num_batches_tracked` are int32 here
   * (int64 in PyTorch).
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    const visit = (m: Module, path: string) => {
      for (const [name, v] of m.ownParams) out[path + name] = v;
      for (const [name, v] of m.ownBuffers) out[path + name] = v;
      for (const [name, child] of m.childModules) visit(child, `${path}${name}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * Copies values into the parameters and buffers. Every problem (missing / unexpected names, shape mismatches) is
   * reported in one StateDictError before anything is assigned. Values are cast to the variable's dtype.
   */
  loadStateDict(state: StateDict, opts: LoadStateDictOptions = {}): void {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !(k in own));
    const misShaped: { name: string; expected: number[]; got: number[] }[] = [];
    for (const [name, v] of Object.entries(own)) {
      const t = state[name];
      if (t == null) continue;
      if (!(t instanceof tf.Tensor)) throw new ShapeError(`loadStateDict: '${name}' is not a tensor`);
      if (!tf.util.arraysEqual(t.shape, v.shape)) misShaped.push({ name, expected: v.shape, got: t.shape });
    }
    if (misShaped.length || (strict && (missing.length || unexpected.length))) {
      throw new StateDictError(strict ? missing : [], strict ? unexpected : [], misShaped);
    }
    for (const [name, v] of Object.entries(own)) {
      const t = state[name];
      if (t == null) continue;
      (v as tf.Variable).assign(t.dtype === v.dtype ? t : tf.tidy(() => tf.cast(t, v.dtype)));
    }
  }

  /** Sets training mode on this module and its descendants; returns this. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (running statistics, no dropout); returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * The states of the random generators of this module's descendants (dropout masks), by module path, so a
   * resumed run draws the same masks.
   */
  randomState(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [path, m] of this.namedModules()) {
      const rng = (m as { rng?: unknown }).rng;
      if (rng instanceof Rng) out[path] = rng.getState();
    }
    return out;
  }

  setRandomState(state: Record<string, number[]>): void {
    for (const [path, m] of this.namedModules()) {
      const rng = (m as { rng?: unknown }).rng;
      if (rng instanceof Rng && state[path] != null) rng.setState(state[path]);
    }
  }

  /** Disposes every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const [, v] of this.namedParameters()) v.dispose();
    for (const [, v] of this.namedBuffers()) v.dispose();
  }
}

/** A module mapping one tensor to one tensor; what Sequential chains. */
export abstract class Layer extends Module {
  abstract forward(x: tf.Tensor): tf.Tensor;
}

/** Layers applied in order, named '0', '1', … as torch.nn.Sequential. */
export class Sequential extends Layer {
  readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.addModule(String(i), l));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.layers.reduce((h, l) => l.forward(h), x));
  }
}

/** Modules held in a list, named '0', '1', … as torch.nn.ModuleList (no forward of its own). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.addModule(String(i), m));
  }
}
