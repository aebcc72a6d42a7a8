/**
 * `customOp`: a differentiable op with a hand-written backward pass whose input gradients are computed lazily.
 *
 * Why not `tf.customGrad`: it computes every input's gradient eagerly, even for inputs the gradient does not need
 * (a conv on the network input, whose image needs no gradient, would pay for a full input-gradient conv). The
 * engine's tape prunes inputs that do not lead to the variables *before* calling a node's gradient thunks, so
 * returning one thunk per input (as registered kernels do) makes unused gradients free. The forward runs with the
 * tape off, like a kernel; tensors passed to `save` are kept for the backward and released after it.
 */
import * as tf from '../../tf.js';
import { installWasmKernelFixes } from './wasm-kernels.js';

export type GradThunks = Record<string, () => tf.Tensor>;

interface EngineInternals {
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor | tf.Tensor[];
    backwardsFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => GradThunks;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor | tf.Tensor[];
}

export interface CustomOpSpec<I extends Record<string, tf.Tensor>> {
  /** Scope name shown in profiles; must not be a registered kernel name (it would shadow the gradient). */
  name: string;
  inputs: I;
  /** Computes the outputs with the tape off; `save` keeps tensors for `backward`. */
  forward: (save: (tensors: tf.Tensor[]) => void) => tf.Tensor | tf.Tensor[];
  /**
   * Returns one thunk per input name; only the thunks of inputs on the path to the differentiated variables
   * are called. `dys` has one entry per output (zeros for outputs that do not reach the loss).
   */
  backward: (dys: tf.Tensor[], saved: tf.Tensor[]) => { [K in keyof I]: () => tf.Tensor };
}

/** Runs a custom op with a single output. */
export function customOp<I extends Record<string, tf.Tensor>>(spec: CustomOpSpec<I>): tf.Tensor {
  const out = runCustom(spec);
  if (Array.isArray(out)) throw new Error(`customOp '${spec.name}' returned several outputs; use customOpMulti`);
  return out;
}

/** Runs a custom op with several outputs (e.g. batch norm: normalised values and the batch statistics). */
export function customOpMulti<I extends Record<string, tf.Tensor>>(spec: CustomOpSpec<I>): tf.Tensor[] {
  const out = runCustom(spec);
  return Array.isArray(out) ? out : [out];
}

function runCustom<I extends Record<string, tf.Tensor>>(spec: CustomOpSpec<I>): tf.Tensor | tf.Tensor[] {
  installWasmKernelFixes();
  const engine = tf.engine() as unknown as EngineInternals;
  // A named tidy scope gives the tape node a name no registered gradient can claim.
  return tf.tidy(`geoclr.${spec.name}`, () =>
    engine.runKernelFunc({
      inputs: spec.inputs,
      forwardFunc: (_backend, save) => spec.forward(save),
      backwardsFunc: (dy, saved) => spec.backward(Array.isArray(dy) ? dy : [dy], saved) as GradThunks,
    }),
  );
}
