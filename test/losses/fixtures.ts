/**
 * Shared by the loss tests: the committed PyTorch fixtures and a dispatcher that runs the geoclr objective a
 * fixture case names, with the case's tensors as the differentiable inputs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as g from 'geoclr';
import type { KernelSpec } from 'geoclr';

const { tf } = g;

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURE_FILE = path.join(REPO, 'test/fixtures/losses/reference.json');
export const GENERATOR = path.join(REPO, 'interop/python/geoclr_ref/fixtures.py');

export interface FixtureCase {
  name: string;
  loss: string;
  options: Record<string, unknown>;
  args: Record<string, unknown>;
  inputs: Record<string, { shape: number[]; data: number[] }>;
  value: number;
  grads: Record<string, number[]>;
  terms?: Record<string, number>;
}

export interface FixtureFile {
  torch: string;
  cases: FixtureCase[];
}

export function loadFixtures(file = FIXTURE_FILE): FixtureFile {
  return JSON.parse(readFileSync(file, 'utf8')) as FixtureFile;
}

/** Options with a kernel spec turned into a kernel. */
function withKernel(options: Record<string, unknown>) {
  const out: Record<string, unknown> = { ...options };
  if (options.kernel != null) out.kernel = g.kernelFromSpec(options.kernel as KernelSpec);
  return out;
}

/** Runs the case's objective on `x` (tensors in the case's input order); sepCLR and contrastiveVAELoss return all their terms. */
export function runCase(c: FixtureCase, x: Record<string, g.tf.Tensor>): g.tf.Scalar | g.SepCLRLoss | g.ContrastiveVAELoss {
  const o = withKernel(c.options);
  const a = c.args as Record<string, never>;
  switch (c.loss) {
    case 'infoNCE':
      return g.infoNCE(x.z1, x.z2, o);
    case 'supCon':
      return g.supCon(x.views, a.labels, o);
    case 'epsilonSupInfoNCE':
      return g.epsilonSupInfoNCE(x.views, a.labels ?? null, o);
    case 'yAwareInfoNCE':
      return g.yAwareInfoNCE(x.z1, x.z2, a.metadata, o as never);
    case 'fairKL':
      return g.fairKL(x.features, a.labels, a.biasLabels, o);
    case 'decoupledUniformity':
      return g.decoupledUniformity(x.views, { ...o, ...(a.prior ? { prior: a.prior } : {}) });
    case 'alignment':
      return g.alignment(x.z1, x.z2, o);
    case 'uniformity':
      return g.uniformity(x.z, o);
    case 'sepCLR':
      return g.sepCLR({ c1: x.c1, c2: x.c2, s1: x.s1, s2: x.s2, group: a.group }, o);
    case 'clipLoss':
      return g.clipLoss(x.u, x.v, { ...o, ...(x.logitScale ? { logitScale: x.logitScale } : {}) });
    case 'kernelClipLoss':
      return g.kernelClipLoss(x.u, x.v, a.metadata, { ...(o as unknown as g.KernelClipOptions), ...(x.logitScale ? { logitScale: x.logitScale } : {}) });
    case 'longitudinalDirection':
      return g.longitudinalDirection(x.zEarlier, x.zLater, x.direction);
    case 'mmd':
      return (a as Record<string, unknown>).origin ? tf.tidy(() => g.mmd(x.x, tf.zerosLike(x.x), o)) : g.mmd(x.x, x.y, o);
    case 'hsic':
      return g.hsic(x.x, x.y, o);
    case 'contrastiveVAELoss':
      return g.contrastiveVAELoss({ x: x.x, recon: x.recon, zMu: x.zMu, zLogvar: x.zLogvar, z: x.z, sMu: x.sMu, sLogvar: x.sLogvar, s: x.s, group: a.group }, o);
    default:
      throw new Error(`fixture names an unknown objective '${c.loss}'`);
  }
}

export function scalarOf(out: g.tf.Scalar | g.SepCLRLoss | g.ContrastiveVAELoss): g.tf.Scalar {
  return out instanceof tf.Tensor ? out : out.total;
}

export interface CaseResult {
  value: number;
  terms?: Record<string, number>;
  grads: Record<string, Float32Array>;
}

/** Evaluates a case on the active backend: value (and terms) and the gradient w.r.t. every input. */
export function evaluateCase(c: FixtureCase): CaseResult {
  const names = Object.keys(c.inputs);
  const tensors = names.map((k) => tf.tensor(c.inputs[k].data, c.inputs[k].shape, 'float32'));
  const bind = (ts: g.tf.Tensor[]) => Object.fromEntries(names.map((k, i) => [k, ts[i]]));
  try {
    const out = runCase(c, bind(tensors));
    const result: CaseResult = { value: scalarOf(out).dataSync()[0], grads: {} };
    if (!(out instanceof tf.Tensor)) {
      result.terms = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.dataSync()[0]]));
    }
    tf.dispose(out as never);
    const grads = tf.grads((...ts: g.tf.Tensor[]) => scalarOf(runCase(c, bind(ts))))(tensors);
    names.forEach((k, i) => (result.grads[k] = grads[i].dataSync() as Float32Array));
    tf.dispose(grads);
    return result;
  } finally {
    tf.dispose(tensors);
  }
}

/** Tolerances of the PyTorch comparison (float32 geoclr vs float64 reference). */
export const VALUE_RTOL = 1e-4;
export const GRAD_TOL = 1e-3;

/** |actual − expected| / max(|expected|, 1e-3): relative error (absolute, scaled by 1e-3, for values near 0). */
export function valueError(actual: number, expected: number): number {
  const e = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-3);
  return Number.isNaN(e) ? Infinity : e;
}

/** max_k |g_k − e_k| / max_k |e_k|: the error scaled by the largest reference gradient of that input. */
export function gradError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  if (Number.isNaN(diff) || actual.length !== expected.length) return Infinity;
  return scale === 0 ? diff / 1e-6 : diff / scale;
}
