/**
 * Runs geoclr modules and their PyTorch counterparts (float64, /usr/bin/python3) on the same weights and inputs,
 * in one Python process for a whole batch of cases, and compares outputs, input gradients, parameter gradients and
 * buffers after the call (running statistics). See test/support/nn_reference.py for the Python side.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tf, Rng, type Module } from 'geoclr';
import { readExchange, tempExchangeDir, writeExchange, type ExchangeArray } from './exchange.js';
import { runPythonFile } from './peers.js';

export interface ReferenceCase {
  name: string;
  module: Module;
  /** The geoclr call; receives the inputs (float inputs as variables, so their gradients are taken). */
  forward: (inputs: Record<string, tf.Tensor>) => tf.Tensor;
  /** A Python expression building the torch module (over `nn`, `torch`, `F`, `geoclr_torch`). */
  pyModule: string;
  /** A Python call over `m` and the input names; default `m(x)`. */
  pyCall?: string;
  inputs: Record<string, tf.Tensor>;
  /** Inputs given channels-last, to permute for PyTorch (the output is permuted back). */
  channelsLast?: string[];
  /** Integer inputs PyTorch wants as bool (masks). */
  boolInputs?: string[];
  train: boolean;
}

export interface Comparison {
  /** name → [geoclr values, reference values]. */
  pairs: Record<string, [Float32Array | Int32Array, Float32Array | Float64Array | Int32Array]>;
}

const SCRIPT = path.resolve('test/support/nn_reference.py');

export function compareWithTorch(cases: ReferenceCase[], seed = 1): Record<string, Comparison> {
  const { dir, cleanup } = tempExchangeDir();
  try {
    const items: Record<string, tf.Tensor | ExchangeArray> = {};
    const specs: object[] = [];
    const ours: Record<string, Record<string, Float32Array | Int32Array>> = {};
    const rng = new Rng(seed);
    const keep: tf.Tensor[] = [];
    for (const c of cases) {
      c.module.train(c.train);
      for (const [k, v] of Object.entries(c.module.stateDict())) {
        const copy = tf.clone(v);
        keep.push(copy);
        items[`${c.name}.state.${k}`] = copy;
      }
      for (const [k, v] of Object.entries(c.inputs)) items[`${c.name}.in.${k}`] = v;
      const vars: Record<string, tf.Variable> = {};
      const args: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(c.inputs)) {
        if (v.dtype === 'float32') args[k] = vars[k] = tf.variable(v, true);
        else args[k] = v;
      }
      const params = c.module.namedParameters().filter(([, p]) => p.trainable);
      const probe = tf.tidy(() => c.forward(args));
      const r = tf.tensor(rng.normalArray(probe.size), probe.shape);
      probe.dispose();
      // Reset buffers changed by the probe forward (running statistics) before the measured call.
      c.module.loadStateDict(Object.fromEntries(Object.keys(c.module.stateDict()).map((k) => [k, items[`${c.name}.state.${k}`] as tf.Tensor])));
      items[`${c.name}.r`] = r;
      let y: tf.Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const out = c.forward(args);
        y = tf.keep(tf.clone(out));
        return tf.sum(tf.mul(out, r));
      }, [...Object.values(vars), ...params.map(([, p]) => p)]);
      value.dispose();
      const res: Record<string, Float32Array | Int32Array> = { out: (y as unknown as tf.Tensor).dataSync() as Float32Array };
      (y as unknown as tf.Tensor).dispose();
      for (const [k, v] of Object.entries(vars)) res[`grad.in.${k}`] = grads[v.name].dataSync() as Float32Array;
      for (const [k, p] of params) res[`grad.state.${k}`] = grads[p.name].dataSync() as Float32Array;
      tf.dispose(Object.values(grads));
      Object.values(vars).forEach((v) => v.dispose());
      for (const [k, b] of c.module.namedBuffers()) res[`after.${k}`] = b.dataSync() as Float32Array | Int32Array;
      ours[c.name] = res;
      keep.push(r);
      specs.push({
        name: c.name,
        module: c.pyModule,
        call: c.pyCall ?? 'm(x)',
        train: c.train,
        inputs: Object.keys(c.inputs),
        channels_last: c.channelsLast ?? [],
        bool_inputs: c.boolInputs ?? [],
      });
    }
    writeExchange(dir, items);
    tf.dispose(keep);
    writeFileSync(path.join(dir, 'cases.json'), JSON.stringify(specs));
    runPythonFile(SCRIPT, [dir]);
    const ref = readExchange(path.join(dir, 'out'));
    const out: Record<string, Comparison> = {};
    for (const c of cases) {
      const pairs: Comparison['pairs'] = {};
      for (const [k, v] of Object.entries(ours[c.name])) {
        const e = ref[`${c.name}.${k}`];
        if (e == null) throw new Error(`${c.name}: the reference produced no '${k}'`);
        pairs[k] = [v, e.data];
      }
      for (const k of Object.keys(ref)) {
        if (k.startsWith(`${c.name}.`) && !(k.slice(c.name.length + 1) in pairs)) {
          throw new Error(`${c.name}: geoclr produced no '${k.slice(c.name.length + 1)}' (the reference did)`);
        }
      }
      out[c.name] = { pairs };
    }
    return out;
  } finally {
    cleanup();
  }
}

/** Max |a − e| relative to max |e| (with a floor), for every pair; returns the worst offender. */
export function worstRelative(cmp: Comparison, floor = 1e-3): { name: string; rel: number } {
  let worst = { name: '', rel: 0 };
  for (const [name, [a, e]] of Object.entries(cmp.pairs)) {
    if (a.length !== e.length) return { name: `${name} (length ${a.length} ≠ ${e.length})`, rel: Infinity };
    let scale = floor;
    for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]));
    let d = 0;
    for (let i = 0; i < e.length; i++) d = Math.max(d, Math.abs(a[i] - e[i]));
    const rel = Number.isNaN(d) ? Infinity : d / scale;
    if (rel > worst.rel) worst = { name, rel };
  }
  return worst;
}
