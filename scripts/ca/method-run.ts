/**
 * One contrastive-analysis run on a data set with a train/held-out split: train a method, log its terms to
 * `<name>-metrics.jsonl`, embed both splits, probe them (SepCLR paper protocol) and draw its figures. Shared by the
 * demo (several methods per data set) and `geoclr ca --config` (one run).
 */
import path from 'node:path';
import { ValueError } from '../../src/errors.js';
import { writeFileAtomicSync } from '../../src/util/fs.js';
import type { ReportBlock } from '../../src/report/blocks.js';
import {
  embedDataset,
  evaluateSeparation,
  fitContrastiveAnalysis,
  groupCounts,
  splitDataset,
  type ContrastiveAnalysisConfig,
  type ResolvedContrastiveAnalysisConfig,
  type ContrastiveDataset,
  type FitResult,
  type SeparationScores,
  type Split,
} from '../../src/contrastive-analysis/index.js';
import { digitsOnTexture } from '../../modalities/images/index.js';
import { cohortContrastiveDataset, preprocessVolume, readManifest, readNifti, type PreprocessSpec } from '../../modalities/mri/index.js';
import { figures, type VolumeGeometry } from './figures.js';

/** One row of summary.json → contrastive_analysis. */
export interface CARow {
  name: string;
  label: string;
  dataset: string;
  salient_factor: string;
  common_factor: string;
  salient_from_salient: number;
  salient_from_common: number;
  common_from_common: number;
  common_from_salient: number;
  /** The common factor probed on background samples from the common space (null when not defined). */
  common_from_common_background: number | null;
  /** (salient_from_salient − salient_from_common) + (common_from_common − common_from_salient). */
  separation: number;
  background_salient_norm: number;
  hsic: number;
  common_factors: SeparationScores['common'];
  salient_metric: string;
  common_metric: string;
  steps: number;
  batch_size: number;
  train_seconds: number;
  samples_per_second: number;
  final_terms: Record<string, number>;
}

/** A data set, its split, and (3D) where its volumes lie in space. */
export interface CAData {
  ds: ContrastiveDataset;
  split: Split;
  geometry: VolumeGeometry | null;
}

export const round = (v: number, d = 3) => (Number.isFinite(v) ? Number(v.toFixed(d)) : v);

/** Both groups must be present in the training split and among the held-out samples (the probes read targets). */
function checkSplit(ds: ContrastiveDataset, split: Split, where: string): void {
  for (const [part, idx] of [['training', split.train], ['held-out', split.test]] as const) {
    const c = groupCounts(Array.from(idx, (i) => ds.group[i]));
    if (c.background === 0 || c.target === 0) {
      throw new ValueError(`${where}: the ${part} split has ${c.background} background and ${c.target} target samples; contrastive analysis needs both groups in each split`);
    }
  }
}

/** Digits on texture (DATA.md recipe 2), split stratified by digit. */
export async function digitsData(opts: { n: number; seed: number; testFraction?: number }): Promise<CAData> {
  const ds = await digitsOnTexture({ n: opts.n, seed: opts.seed });
  const split = splitDataset(ds, { testFraction: opts.testFraction ?? 0.3, seed: opts.seed, stratify: 'digit' });
  checkSplit(ds, split, 'digits-on-texture');
  return { ds, split, geometry: null };
}

/**
 * How many times a VAE decoder of `cfg` halves each size (its stages: `decoderWidths`, else the encoder's widths):
 * the image sizes must be multiples of 2^stages.
 */
export function sizeMultiple(cfg: { decoderWidths?: number[] | null; encoder: unknown }): number {
  const widths = cfg.decoderWidths ?? (cfg.encoder as { widths?: number[] }).widths ?? [64, 32, 16];
  return 2 ** widths.length;
}

/**
 * The cohort of a manifest as a contrastive data set; its `split` column (train/test, e.g. the demo's split by
 * subject) when present, else a stratified split of `testFraction`. Volumes are padded (zeros around the centre,
 * as `preprocess.shape` does) to sizes divisible by `multipleOf`, for the VAE decoders.
 */
export async function cohortData(manifestFile: string, opts: { testFraction?: number; seed?: number; multipleOf?: number; log?: (m: string) => void } = {}): Promise<CAData> {
  const log = opts.log ?? (() => {});
  const manifest = await readManifest(manifestFile, { types: { site: 'string' } });
  if (manifest.rows.length === 0) throw new ValueError(`${manifestFile}: the manifest has no scans`);
  const m = opts.multipleOf ?? 1;
  const first = await readNifti(manifest.rows[0].path);
  const canonical = preprocessVolume(first, { canonical: true, normalize: 'none' });
  const grid = canonical.shape.slice(0, 3).map((n) => Math.ceil(n / m) * m);
  // The same spacing with a larger grid: zeros added around the centre, the voxels themselves untouched.
  const preprocess: PreprocessSpec = { canonical: true, normalize: 'zscore-nonzero', spacing: canonical.spacing.slice(0, 3), shape: grid };
  log(`contrastive-analysis: reading ${manifest.rows.length} volumes (grid ${grid.join('×')})`);
  const ds = await cohortContrastiveDataset(manifest, { progress: false, preprocess });
  let split: Split;
  if ('split' in manifest.columns) {
    const train: number[] = [];
    const test: number[] = [];
    manifest.rows.forEach((r, i) => (r.split === 'test' ? test : train).push(i));
    split = { train: Int32Array.from(train), test: Int32Array.from(test) };
  } else {
    split = splitDataset(ds, { testFraction: opts.testFraction ?? 0.3, seed: opts.seed ?? 0, stratify: 'diagnosis' });
  }
  checkSplit(ds, split, manifestFile);
  const placed = preprocessVolume(first, preprocess);
  return { ds, split, geometry: { affine: placed.affine, spacing: placed.spacing } };
}

export interface MethodRun {
  row: CARow;
  fit: FitResult;
  /** Reconstructions, traversals, saliency. */
  figures: ReportBlock[];
  /** The loss terms over training. */
  curve: ReportBlock;
}

/**
 * Trains `config` on `data`'s training split, writes `<dir>/<name>-metrics.jsonl` ('+' in the name becomes '-')
 * and the figures, probes held-out samples. The caller disposes `fit.method.model`.
 */
export function runCAMethod(data: CAData, config: ContrastiveAnalysisConfig | ResolvedContrastiveAnalysisConfig, opts: { name: string; label: string; dir: string; seed: number }): MethodRun {
  const { ds, split } = data;
  const { name, label, dir } = opts;
  const lines: string[] = [];
  const fit = fitContrastiveAnalysis(ds, config, { indices: split.train, onLog: (r) => lines.push(JSON.stringify(r)) });
  const stem = name.replace(/[^A-Za-z0-9._-]/g, '-'); // file names without '+' (sepclr+hsic+mmd → sepclr-hsic-mmd)
  writeFileAtomicSync(path.join(dir, `${stem}-metrics.jsonl`), lines.join('\n') + '\n');
  const tr = embedDataset(fit.method, ds, split.train);
  const te = embedDataset(fit.method, ds, split.test);
  const s = evaluateSeparation(ds, tr, te, { seed: opts.seed });
  const last = fit.history[fit.history.length - 1];
  const row: CARow = {
    name,
    label,
    dataset: ds.name,
    salient_factor: ds.salient.name,
    common_factor: ds.common[0].name,
    salient_from_salient: round(s.salient_from_salient),
    salient_from_common: round(s.salient_from_common),
    common_from_common: round(s.common_from_common),
    common_from_salient: round(s.common_from_salient),
    common_from_common_background: s.common[0].background_from_common == null ? null : round(s.common[0].background_from_common),
    separation: round(s.salient_from_salient - s.salient_from_common + s.common_from_common - s.common_from_salient),
    background_salient_norm: round(s.background_salient_norm),
    hsic: round(s.hsic),
    common_factors: s.common.map((c) => ({ ...c, from_common: round(c.from_common), from_salient: round(c.from_salient) })),
    salient_metric: s.salient.metric,
    common_metric: s.common[0].metric,
    steps: fit.config.steps,
    batch_size: fit.config.batchSize,
    train_seconds: round(fit.seconds, 1),
    samples_per_second: round(fit.samplesPerSecond, 1),
    final_terms: Object.fromEntries(Object.entries(last.terms).map(([k, v]) => [k, round(v, 4)])),
  };
  const figs = figures(ds, split, fit, dir, data.geometry, stem).blocks;
  const curve: ReportBlock = {
    type: 'lineChart',
    title: `${label}: loss terms`,
    xLabel: 'step',
    series: Object.keys(last.terms).map((k) => ({ name: k, x: fit.history.map((r) => r.step), y: fit.history.map((r) => r.terms[k]) })),
  };
  return { row, fit, figures: figs, curve };
}
