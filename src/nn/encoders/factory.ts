/**
 * `createEncoder(config)`: builds an encoder from a plain JSON config, so training configs, checkpoints and the
 * PyTorch twins (interop/python/geoclr_torch) name architectures the same way. Configs are validated field by
 * field with ConfigError (unknown key, wrong type, out of range), and `resolveEncoderConfig` returns the config with
 * every default filled in — store that one, and the same weights load into the same architecture later.
 */
import { ConfigError } from '../../errors.js';
import { Rng } from '../../util/random.js';
import type { HeadConfig } from './encoder.js';
import { Encoder } from './encoder.js';
import { DENSENET_DEFAULTS, DenseNetEncoder, type DenseNetConfig, type ResolvedDenseNetConfig } from './densenet.js';
import { RESNET_DEFAULTS, ResNetEncoder, type ResNetConfig, type ResolvedResNetConfig } from './resnet.js';
import { CONVNET_DEFAULTS, ConvNetEncoder, convNetRepresentationDim, type ConvNetConfig, type ResolvedConvNetConfig } from './convnet.js';
import {
  TEXT_TRANSFORMER_DEFAULTS,
  TextTransformerEncoder,
  type ResolvedTextTransformerConfig,
  type TextTransformerConfig,
} from './text.js';

export type EncoderConfig = ResNetConfig | DenseNetConfig | ConvNetConfig | TextTransformerConfig;
export type ResolvedEncoderConfig = ResolvedResNetConfig | ResolvedDenseNetConfig | ResolvedConvNetConfig | ResolvedTextTransformerConfig;
export const ENCODER_ARCHS = ['resnet3d', 'resnet2d', 'densenet3d', 'densenet2d', 'convnet3d', 'convnet2d', 'text-transformer'] as const;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Obj, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new ConfigError(`${field}.${k}`, `unknown key; expected one of ${allowed.join(', ')}`);
  }
}

function int(obj: Obj, key: string, dflt: number | undefined, field: string, min = 1): number {
  const v = obj[key] ?? dflt;
  if (v === undefined) throw new ConfigError(`${field}.${key}`, 'is required');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ConfigError(`${field}.${key}`, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function intList(obj: Obj, key: string, dflt: readonly number[], field: string, min = 1): number[] {
  const v = obj[key] ?? dflt;
  if (!Array.isArray(v) || v.length === 0 || v.some((e) => typeof e !== 'number' || !Number.isInteger(e) || e < min)) {
    throw new ConfigError(`${field}.${key}`, `must be a non-empty list of integers ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return [...v];
}

function bool(obj: Obj, key: string, dflt: boolean, field: string): boolean {
  const v = obj[key] ?? dflt;
  if (typeof v !== 'boolean') throw new ConfigError(`${field}.${key}`, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function prob(obj: Obj, key: string, dflt: number, field: string): number {
  const v = obj[key] ?? dflt;
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new ConfigError(`${field}.${key}`, `must be a number in [0, 1), got ${JSON.stringify(v)}`);
  return v;
}

function head(obj: Obj, inDim: number, field: string): Required<HeadConfig> | null {
  const v = obj.head;
  if (v === null || v === false) return null;
  if (v !== undefined && !isObj(v)) throw new ConfigError(`${field}.head`, `must be an object {hidden, out, batchNorm} or null, got ${JSON.stringify(v)}`);
  const h = (v ?? {}) as Obj;
  checkKeys(h, ['hidden', 'out', 'batchNorm'], `${field}.head`);
  const hidden = h.hidden === undefined ? [inDim] : Array.isArray(h.hidden) && h.hidden.length === 0 ? [] : intList(h, 'hidden', [], `${field}.head`);
  return { hidden, out: int(h, 'out', 128, `${field}.head`), batchNorm: bool(h, 'batchNorm', false, `${field}.head`) };
}

/** Validates a config and fills every default; `field` names it in errors (e.g. 'encoder' in a training config). */
export function resolveEncoderConfig(config: unknown, field = 'encoder'): ResolvedEncoderConfig {
  if (!isObj(config)) throw new ConfigError(field, `must be an object with an 'arch', got ${JSON.stringify(config)}`);
  const arch = config.arch;
  if (typeof arch !== 'string' || !(ENCODER_ARCHS as readonly string[]).includes(arch)) {
    throw new ConfigError(`${field}.arch`, `must be one of ${ENCODER_ARCHS.join(', ')}, got ${JSON.stringify(arch)}`);
  }
  if (arch === 'resnet3d' || arch === 'resnet2d') {
    checkKeys(config, ['arch', 'inChannels', 'widths', 'depths', 'stemKernel', 'stemStride', 'stemPool', 'head'], field);
    const d = RESNET_DEFAULTS;
    const widths = intList(config, 'widths', d.widths, field);
    const depths = intList(config, 'depths', widths.length === d.widths.length ? d.depths : widths.map(() => 2), field);
    if (depths.length !== widths.length) {
      throw new ConfigError(`${field}.depths`, `needs one entry per stage (${widths.length} widths), got ${depths.length}`);
    }
    return {
      arch,
      inChannels: int(config, 'inChannels', d.inChannels, field),
      widths,
      depths,
      stemKernel: int(config, 'stemKernel', d.stemKernel, field),
      stemStride: int(config, 'stemStride', d.stemStride, field),
      stemPool: bool(config, 'stemPool', d.stemPool, field),
      head: head(config, widths[widths.length - 1], field),
    };
  }
  if (arch === 'densenet3d' || arch === 'densenet2d') {
    checkKeys(config, ['arch', 'inChannels', 'growthRate', 'blocks', 'initFeatures', 'bnSize', 'dropRate', 'stemKernel', 'stemStride', 'stemPool', 'head'], field);
    const d = DENSENET_DEFAULTS;
    const resolved: Omit<ResolvedDenseNetConfig, 'head'> = {
      arch,
      inChannels: int(config, 'inChannels', d.inChannels, field),
      growthRate: int(config, 'growthRate', d.growthRate, field),
      blocks: intList(config, 'blocks', d.blocks, field),
      initFeatures: int(config, 'initFeatures', d.initFeatures, field),
      bnSize: int(config, 'bnSize', d.bnSize, field),
      dropRate: prob(config, 'dropRate', d.dropRate, field),
      stemKernel: int(config, 'stemKernel', d.stemKernel, field),
      stemStride: int(config, 'stemStride', d.stemStride, field),
      stemPool: bool(config, 'stemPool', d.stemPool, field),
    };
    let n = resolved.initFeatures;
    resolved.blocks.forEach((layers, i) => {
      n += layers * resolved.growthRate;
      if (i < resolved.blocks.length - 1) n = Math.floor(n / 2);
    });
    return { ...resolved, head: head(config, n, field) };
  }
  if (arch === 'convnet3d' || arch === 'convnet2d') {
    checkKeys(config, ['arch', 'inChannels', 'widths', 'kernel', 'batchNorm', 'pooling', 'inputShape', 'head'], field);
    const d = CONVNET_DEFAULTS;
    const kernel = int(config, 'kernel', 3, field);
    if (kernel % 2 !== 1) throw new ConfigError(`${field}.kernel`, `must be odd (padding kernel/2 halves each size), got ${kernel}`);
    const pooling = config.pooling ?? d.pooling;
    if (pooling !== 'avg' && pooling !== 'flatten') throw new ConfigError(`${field}.pooling`, `must be 'avg' or 'flatten', got ${JSON.stringify(pooling)}`);
    const dims = arch === 'convnet3d' ? 3 : 2;
    let inputShape: number[] | null = null;
    if (config.inputShape != null) {
      inputShape = intList(config, 'inputShape', [], field);
      if (inputShape.length !== dims) throw new ConfigError(`${field}.inputShape`, `needs ${dims} sizes for ${arch}, got [${inputShape}]`);
    }
    if (pooling === 'flatten' && inputShape == null) throw new ConfigError(`${field}.inputShape`, `is required with pooling 'flatten'`);
    const resolved = {
      arch,
      inChannels: int(config, 'inChannels', d.inChannels, field),
      widths: intList(config, 'widths', d.widths, field),
      kernel,
      batchNorm: bool(config, 'batchNorm', d.batchNorm, field),
      pooling,
      inputShape,
    } as const;
    return { ...resolved, head: head(config, convNetRepresentationDim(resolved), field) } as ResolvedConvNetConfig;
  }
  checkKeys(config, ['arch', 'vocabSize', 'maxLength', 'dim', 'depth', 'heads', 'ffDim', 'dropout', 'pooling', 'head'], field);
  const d = TEXT_TRANSFORMER_DEFAULTS;
  const dim = int(config, 'dim', d.dim, field);
  const heads = int(config, 'heads', d.heads, field);
  if (dim % heads !== 0) throw new ConfigError(`${field}.heads`, `must divide dim (${dim}), got ${heads}`);
  const pooling = config.pooling ?? d.pooling;
  if (pooling !== 'cls' && pooling !== 'mean') throw new ConfigError(`${field}.pooling`, `must be 'cls' or 'mean', got ${JSON.stringify(pooling)}`);
  return {
    arch: 'text-transformer',
    vocabSize: int(config, 'vocabSize', undefined, field),
    maxLength: int(config, 'maxLength', d.maxLength, field),
    dim,
    depth: int(config, 'depth', d.depth, field),
    heads,
    ffDim: int(config, 'ffDim', 4 * dim, field),
    dropout: prob(config, 'dropout', d.dropout, field),
    pooling,
    head: head(config, dim, field),
  };
}

export interface CreateEncoderOptions {
  /** Seed of the weight initialisation (default 0). Ignored when `rng` is given. */
  seed?: number | string;
  rng?: Rng;
  /** Name of the config in error messages (default 'encoder'). */
  field?: string;
}

/** Builds an encoder from a JSON config: `createEncoder({arch: 'resnet3d', widths: [8, 16, 32, 64]}, {seed: 1})`. */
export function createEncoder(config: EncoderConfig | Record<string, unknown>, opts: CreateEncoderOptions = {}): Encoder {
  const resolved = resolveEncoderConfig(config, opts.field);
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  switch (resolved.arch) {
    case 'resnet3d':
    case 'resnet2d':
      return new ResNetEncoder(resolved, rng);
    case 'densenet3d':
    case 'densenet2d':
      return new DenseNetEncoder(resolved, rng);
    case 'convnet3d':
    case 'convnet2d':
      return new ConvNetEncoder(resolved, rng);
    case 'text-transformer':
      return new TextTransformerEncoder(resolved, rng);
  }
}
