/**
 * The configuration of a contrastive-analysis run (SepCLR, cVAE, MM-cVAE, or the SimCLR baseline): one plain JSON
 * object, validated field by field (ConfigError names the field), every default filled in by
 * `resolveContrastiveAnalysisConfig` — store the resolved one with the run.
 */
import { ConfigError } from '../errors.js';
import { resolveEncoderConfig, type EncoderConfig } from '../nn/encoders/factory.js';
import type { MMDOptions } from '../losses/mmd.js';
import type { ContrastiveVAEOptions } from '../losses/contrastive-vae.js';
import type { ViewAugmentation } from './views.js';
import type { ProjectorConfig } from './models.js';

export const CA_METHODS = ['sepclr', 'cvae', 'mm-cvae', 'simclr'] as const;
export type CAMethod = (typeof CA_METHODS)[number];

export interface SepCLRTermsConfig {
  /** τ (default 0.5), β_s (salient term), β_reg (information-less background), λ_jem (k-JEM): LOSSES.md §8. */
  tau?: number;
  betaSalient?: number;
  betaReg?: number;
  lambdaJem?: number;
  /** λ of an MMD between the background and target common projections (0 = off). */
  mmdCommon?: number;
  /** λ of a kernel HSIC between the common projections and s' (background salient zeroed) (0 = off). */
  hsic?: number;
  /** Kernel of the MMD term (default σ = 1, biased). */
  mmd?: MMDOptions;
  /** Bandwidths of the HSIC term (default: median heuristic). */
  hsicSigma?: number | 'median';
}

/** The VAE objective's options (`contrastiveVAELoss`; MM-cVAE weights, which method 'cvae' forces to 0), plus: */
export interface VAETermsConfig extends ContrastiveVAEOptions {
  /** Train on augmented views too (default true: the same data pipeline as the contrastive methods). */
  augment?: boolean;
}

export interface ContrastiveAnalysisConfig {
  method: CAMethod;
  /** The encoder of each branch (its head is replaced by the method's own heads). */
  encoder: EncoderConfig | Record<string, unknown>;
  commonDim?: number;
  salientDim?: number;
  sharedBackbone?: boolean;
  projector?: ProjectorConfig;
  /** VAE decoder widths, coarse to fine (default: the encoder's reversed). */
  decoderWidths?: number[];
  steps?: number;
  batchSize?: number;
  /** Fraction of target samples in each batch (default 0.5). */
  targetFraction?: number;
  lr?: number;
  weightDecay?: number;
  /** Global gradient-norm clip (null: none). */
  clipGradNorm?: number | null;
  seed?: number;
  augment?: ViewAugmentation;
  sepclr?: SepCLRTermsConfig;
  vae?: VAETermsConfig;
  simclr?: { temperature?: number };
  /** Record the loss terms every this many steps (and at the last). */
  logEvery?: number;
}

export type ResolvedContrastiveAnalysisConfig = Required<Omit<ContrastiveAnalysisConfig, 'augment' | 'decoderWidths'>> & {
  augment: ViewAugmentation;
  decoderWidths: number[] | null;
  sepclr: Required<SepCLRTermsConfig>;
  vae: Required<VAETermsConfig>;
  simclr: { temperature: number };
  projector: Required<ProjectorConfig>;
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function keys(obj: Obj, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) throw new ConfigError(field ? `${field}.${k}` : k, `unknown key; expected one of ${allowed.join(', ')}`);
}

function num(v: unknown, field: string, opts: { min?: number; int?: boolean; positive?: boolean; max?: number } = {}): number {
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!opts.int || Number.isInteger(v)) &&
    (opts.min == null || v >= opts.min) &&
    (!opts.positive || v > 0) &&
    (opts.max == null || v < opts.max);
  if (!ok) {
    const what = [opts.int ? 'an integer' : 'a number', opts.positive ? '> 0' : opts.min != null ? `≥ ${opts.min}` : '', opts.max != null ? `< ${opts.max}` : '']
      .filter(Boolean)
      .join(' ');
    throw new ConfigError(field, `must be ${what}, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

function section(v: unknown, field: string): Obj {
  if (v === undefined) return {};
  if (!isObj(v)) throw new ConfigError(field, `must be an object, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates a config and fills every default (`field` prefixes error names, e.g. 'task' in a training config). */
export function resolveContrastiveAnalysisConfig(config: unknown, field = ''): ResolvedContrastiveAnalysisConfig {
  const f = (k: string) => (field ? `${field}.${k}` : k);
  if (!isObj(config)) throw new ConfigError(field || 'config', `must be an object with 'method' and 'encoder', got ${JSON.stringify(config)}`);
  keys(
    config,
    ['method', 'encoder', 'commonDim', 'salientDim', 'sharedBackbone', 'projector', 'decoderWidths', 'steps', 'batchSize', 'targetFraction', 'lr', 'weightDecay', 'clipGradNorm', 'seed', 'augment', 'sepclr', 'vae', 'simclr', 'logEvery'],
    field,
  );
  const method = config.method;
  if (!CA_METHODS.includes(method as CAMethod)) throw new ConfigError(f('method'), `must be one of ${CA_METHODS.join(', ')}, got ${JSON.stringify(method)}`);
  const encoder = resolveEncoderConfig(config.encoder, f('encoder'));
  const sep = section(config.sepclr, f('sepclr'));
  keys(sep, ['tau', 'betaSalient', 'betaReg', 'lambdaJem', 'mmdCommon', 'hsic', 'mmd', 'hsicSigma'], f('sepclr'));
  const vae = section(config.vae, f('vae'));
  keys(vae, ['likelihood', 'sigma', 'beta', 'mmdCommon', 'mmdSalient', 'mmd', 'augment'], f('vae'));
  const sim = section(config.simclr, f('simclr'));
  keys(sim, ['temperature'], f('simclr'));
  const proj = section(config.projector, f('projector'));
  keys(proj, ['hidden', 'batchNorm'], f('projector'));
  const likelihood = vae.likelihood ?? 'gaussian';
  if (likelihood !== 'gaussian' && likelihood !== 'bernoulli') throw new ConfigError(f('vae.likelihood'), `must be 'gaussian' or 'bernoulli', got ${JSON.stringify(likelihood)}`);
  const mmdOptions = (v: unknown, name: string): MMDOptions => {
    const o = section(v, name);
    keys(o, ['sigma', 'estimator'], name);
    return o as MMDOptions;
  };
  const hsicSigma = sep.hsicSigma ?? 'median';
  if (hsicSigma !== 'median') num(hsicSigma, f('sepclr.hsicSigma'), { positive: true });
  const mm = method === 'mm-cvae';
  if (method === 'cvae') {
    for (const k of ['mmdCommon', 'mmdSalient']) {
      if (vae[k] != null && vae[k] !== 0) throw new ConfigError(f(`vae.${k}`), `cVAE has no MMD terms (got ${JSON.stringify(vae[k])}); use method 'mm-cvae'`);
    }
  }
  const clip = config.clipGradNorm === undefined ? null : config.clipGradNorm;
  if (clip !== null) num(clip, f('clipGradNorm'), { positive: true });
  let decoderWidths: number[] | null = null;
  if (config.decoderWidths != null) {
    if (!Array.isArray(config.decoderWidths) || config.decoderWidths.length === 0) throw new ConfigError(f('decoderWidths'), 'must be a non-empty list of positive integers');
    decoderWidths = config.decoderWidths.map((w, i) => num(w, f(`decoderWidths[${i}]`), { int: true, positive: true }));
  }
  if (config.sharedBackbone != null && typeof config.sharedBackbone !== 'boolean') throw new ConfigError(f('sharedBackbone'), 'must be true or false');
  if (vae.augment != null && typeof vae.augment !== 'boolean') throw new ConfigError(f('vae.augment'), 'must be true or false');
  if (proj.batchNorm != null && typeof proj.batchNorm !== 'boolean') throw new ConfigError(f('projector.batchNorm'), 'must be true or false');
  if (config.augment != null && !isObj(config.augment)) throw new ConfigError(f('augment'), 'must be an object {shift, flip, gain, bias, noise}');
  return {
    method: method as CAMethod,
    encoder,
    commonDim: num(config.commonDim ?? 32, f('commonDim'), { int: true, positive: true }),
    salientDim: num(config.salientDim ?? 32, f('salientDim'), { int: true, positive: true }),
    sharedBackbone: (config.sharedBackbone as boolean | undefined) ?? false,
    projector: { hidden: num(proj.hidden ?? 128, f('projector.hidden'), { int: true, positive: true }), batchNorm: (proj.batchNorm as boolean | undefined) ?? true },
    decoderWidths,
    steps: num(config.steps ?? 200, f('steps'), { int: true, positive: true }),
    batchSize: num(config.batchSize ?? 64, f('batchSize'), { int: true, min: 2 }),
    targetFraction: num(config.targetFraction ?? 0.5, f('targetFraction'), { positive: true, max: 1 }),
    lr: num(config.lr ?? 1e-3, f('lr'), { positive: true }),
    weightDecay: num(config.weightDecay ?? 0, f('weightDecay'), { min: 0 }),
    clipGradNorm: clip as number | null,
    seed: num(config.seed ?? 0, f('seed'), { int: true, min: 0 }),
    augment: (config.augment as ViewAugmentation | undefined) ?? {},
    sepclr: {
      tau: num(sep.tau ?? 0.5, f('sepclr.tau'), { positive: true }),
      betaSalient: num(sep.betaSalient ?? 1000, f('sepclr.betaSalient'), { min: 0 }),
      betaReg: num(sep.betaReg ?? 1000, f('sepclr.betaReg'), { min: 0 }),
      lambdaJem: num(sep.lambdaJem ?? 10, f('sepclr.lambdaJem'), { min: 0 }),
      mmdCommon: num(sep.mmdCommon ?? 0, f('sepclr.mmdCommon'), { min: 0 }),
      hsic: num(sep.hsic ?? 0, f('sepclr.hsic'), { min: 0 }),
      mmd: mmdOptions(sep.mmd, f('sepclr.mmd')),
      hsicSigma: hsicSigma as number | 'median',
    },
    vae: {
      likelihood,
      sigma: num(vae.sigma ?? 1, f('vae.sigma'), { positive: true }),
      beta: num(vae.beta ?? 1, f('vae.beta'), { min: 0 }),
      mmdCommon: mm ? num(vae.mmdCommon ?? 100, f('vae.mmdCommon'), { min: 0 }) : 0,
      mmdSalient: mm ? num(vae.mmdSalient ?? 100, f('vae.mmdSalient'), { min: 0 }) : 0,
      mmd: mmdOptions(vae.mmd, f('vae.mmd')),
      augment: (vae.augment as boolean | undefined) ?? true,
    },
    simclr: { temperature: num(sim.temperature ?? 0.1, f('simclr.temperature'), { positive: true }) },
    logEvery: num(config.logEvery ?? 10, f('logEvery'), { int: true, positive: true }),
  };
}
