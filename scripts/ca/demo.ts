/**
 * The contrastive-analysis demo: SepCLR, cVAE, MM-cVAE and a SimCLR single-space baseline, trained on the same
 * budget (steps × batch, same encoder) on two data sets — digits on texture (2D, DATA.md recipe 2) and the
 * synthetic brain cohort (3D: controls = background, AD/FTD patients = target) — and probed on held-out samples
 * with the SepCLR paper's protocol. Writes images (reconstructions, latent traversals, saliency; NIfTI for MRI),
 * per-method training logs, and returns the summary rows, report sections and a text table.
 *
 * Used by the demo section `contrastive-analysis` (`geoclr demo --only contrastive-analysis`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/tf.js';
import { writeFileAtomicSync } from '../../src/util/fs.js';
import { encodePng } from '../../src/report/png.js';
import type { ReportBlock } from '../../src/report/blocks.js';
import type { ReportSection } from '../../src/report/page.js';
import {
  batchTensor,
  centralSlice,
  embedDataset,
  evaluateSeparation,
  fitContrastiveAnalysis,
  gatherImages,
  imageGrid,
  meanSaliency,
  salientSaliency,
  splitDataset,
  type CAMethod,
  type ContrastiveAnalysisConfig,
  type ContrastiveDataset,
  type FitResult,
  type SeparationScores,
  type Split,
} from '../../src/contrastive-analysis/index.js';
import { digitsOnTexture } from '../../modalities/images/index.js';
import { cohortContrastiveDataset, readManifest, readNifti, writeNiftiSync, type Manifest, type Volume } from '../../modalities/mri/index.js';

export interface CAEntry {
  /** `name` in summary.json. */
  name: string;
  method: CAMethod;
  label: string;
  /** Extra config (e.g. regularisers). */
  extra?: Partial<ContrastiveAnalysisConfig>;
  /** Only in default mode. */
  defaultOnly?: boolean;
}

export const CA_METHODS: CAEntry[] = [
  { name: 'sepclr', method: 'sepclr', label: 'SepCLR (k-JEM)' },
  { name: 'cvae', method: 'cvae', label: 'cVAE' },
  { name: 'mm-cvae', method: 'mm-cvae', label: 'MM-cVAE' },
  { name: 'simclr', method: 'simclr', label: 'SimCLR (one space)' },
  // The information-theoretic regularisers of geoclr on top of SepCLR's (same budget): HSIC(common, s') and
  // MMD(background common, target common).
  { name: 'sepclr+hsic+mmd', method: 'sepclr', label: 'SepCLR + HSIC + MMD', extra: { sepclr: { hsic: 100, mmdCommon: 100 } }, defaultOnly: true },
];

/** Budget and model of one data set (the same for every method). */
export interface DatasetBudget {
  steps: number;
  batchSize: number;
  lr: number;
  encoder: Record<string, unknown>;
  commonDim: number;
  salientDim: number;
  projectorHidden: number;
  augment: ContrastiveAnalysisConfig['augment'];
  /** VAE likelihood (bernoulli for [0, 1] images, gaussian for z-scored MRI). */
  likelihood: 'gaussian' | 'bernoulli';
  /** VAE decoder widths, coarse to fine (narrow at full resolution: the last stage's conv dominates its cost). */
  decoderWidths: number[];
}

export interface CADemoParams {
  images: { n: number } & DatasetBudget;
  mri: DatasetBudget;
}

/** What both modes share per data set: the heads, the views, the likelihood. */
const IMAGES_BASE = {
  lr: 2e-3,
  commonDim: 16,
  salientDim: 16,
  projectorHidden: 64,
  augment: { shift: 2, gain: 0.1, bias: 0.05, noise: 0.02 },
  likelihood: 'bernoulli',
} as const;
const MRI_BASE = { ...IMAGES_BASE, augment: { shift: 1, gain: 0.05, bias: 0.05, noise: 0.05 }, likelihood: 'gaussian' } as const;

/** Sizes per mode, measured on the 2-core development machine (README, contrastive-analysis section). */
export const CA_PARAMS: Record<'default' | 'quick', CADemoParams> = {
  default: {
    images: { ...IMAGES_BASE, n: 2000, steps: 120, batchSize: 64, encoder: { arch: 'convnet2d', widths: [16, 32, 64], pooling: 'flatten' }, decoderWidths: [64, 32, 8] },
    mri: { ...MRI_BASE, steps: 40, batchSize: 16, encoder: { arch: 'convnet3d', widths: [8, 16, 32], pooling: 'flatten' }, decoderWidths: [32, 16, 4] },
  },
  quick: {
    images: { ...IMAGES_BASE, n: 1200, steps: 50, batchSize: 32, encoder: { arch: 'convnet2d', widths: [8, 16, 32], pooling: 'flatten' }, decoderWidths: [32, 16, 8] },
    mri: { ...MRI_BASE, steps: 20, batchSize: 16, encoder: { arch: 'convnet3d', widths: [4, 8], pooling: 'flatten' }, decoderWidths: [8, 4] },
  },
};

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

export interface CADemoOptions {
  out: string;
  quick: boolean;
  seed: number;
  /** The cohort manifest (a `split` column with train/test by subject is used when present). */
  cohortManifest: string;
  /** Override steps of every method (quick checks, tests). */
  steps?: number;
  /** Override the number of digits-on-texture images (quick checks, tests). */
  imagesN?: number;
  /** Which data sets (default both). */
  datasets?: ('images' | 'mri')[];
  log?: (m: string) => void;
}

export interface CADemoResult {
  rows: CARow[];
  report: ReportSection[];
  table: string;
  seconds: number;
}

function configFor(entry: CAEntry, b: DatasetBudget, seed: number, steps: number, inputShape: number[]): ContrastiveAnalysisConfig {
  return {
    ...(entry.extra ?? {}),
    method: entry.method,
    encoder: { ...b.encoder, inputShape },
    commonDim: b.commonDim,
    salientDim: b.salientDim,
    projector: { hidden: b.projectorHidden },
    steps,
    batchSize: b.batchSize,
    lr: b.lr,
    seed,
    augment: b.augment,
    logEvery: Math.max(1, Math.floor(steps / 20)),
    decoderWidths: b.decoderWidths,
    vae: { likelihood: b.likelihood },
  };
}

const round = (v: number, d = 3) => (Number.isFinite(v) ? Number(v.toFixed(d)) : v);

function png(file: string, img: Parameters<typeof encodePng>[0]): Uint8Array {
  const bytes = encodePng(img);
  writeFileAtomicSync(file, bytes);
  return bytes;
}

/** Tiles of samples (2D images, or central axial slices of volumes). */
function tilesOf(ds: ContrastiveDataset, data: Float32Array, count: number): { tiles: Float32Array[]; shape: [number, number] } {
  const size = ds.shape.reduce((a, b) => a * b, 1);
  const tiles: Float32Array[] = [];
  let shape: [number, number] = [ds.shape[ds.shape.length - 2], ds.shape[ds.shape.length - 1]];
  for (let k = 0; k < count; k++) {
    const s = centralSlice(data.subarray(k * size, (k + 1) * size), ds.shape, 0);
    tiles.push(s.data);
    shape = s.shape;
  }
  return { tiles, shape };
}

/** Held-out examples shown in the figures: up to `k` targets (one per salient class first) and `k` backgrounds. */
function examples(ds: ContrastiveDataset, split: Split, k: number): { targets: number[]; background: number[] } {
  const targets: number[] = [];
  const seen = new Set<string>();
  for (const i of split.test) {
    if (ds.group[i] !== 1) continue;
    const c = String(ds.factors[ds.salient.name][i]);
    if (!seen.has(c)) {
      seen.add(c);
      targets.push(i);
    }
  }
  for (const i of split.test) if (ds.group[i] === 1 && targets.length < k && !targets.includes(i)) targets.push(i);
  const background = Array.from(split.test).filter((i) => ds.group[i] === 0).slice(0, k);
  return { targets: targets.slice(0, k), background };
}

interface Figures {
  blocks: ReportBlock[];
}

/** Reconstructions and latent traversals of a VAE; gradient × input saliency of every method. */
function figures(ds: ContrastiveDataset, split: Split, fit: FitResult, dir: string, affine: Volume['affine'] | null, spacing: number[] | null, name: string): Figures {
  const blocks: ReportBlock[] = [];
  const m = fit.method;
  const ex = examples(ds, split, 8);
  const is3d = ds.shape.length === 3;
  const scale = is3d ? 4 : 3;
  if (m.reconstruct && m.decode) {
    const idx = [...ex.targets, ...ex.background];
    const group = idx.map((i) => ds.group[i]);
    const x = batchTensor(gatherImages(ds, idx), idx.length, ds.shape);
    const r = m.reconstruct(x, group);
    const orig = tilesOf(ds, gatherImages(ds, idx), idx.length);
    const rec = tilesOf(ds, r.dataSync() as Float32Array, idx.length);
    const img = imageGrid([...orig.tiles, ...rec.tiles], orig.shape, { columns: idx.length, scale, flipRows: is3d });
    const bytes = png(path.join(dir, `${name}-reconstructions.png`), img);
    blocks.push({ type: 'images', title: `${name}: held-out samples (top) and reconstructions (bottom)`, images: [{ src: bytes, caption: `${ex.targets.length} targets, then ${ex.background.length} background samples` }] });
    // Traversals of the salient and of the common latent with the largest spread over the held-out targets shown,
    // from −2 to +2 sd around their mean, the other code kept at one held-out target's.
    const te = embedDataset(m, ds, ex.targets);
    const spread = (codes: Float32Array, d: number) => {
      const mean = new Float64Array(d);
      const sq = new Float64Array(d);
      const k = codes.length / d;
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < d; j++) {
          mean[j] += codes[i * d + j] / k;
          sq[j] += codes[i * d + j] ** 2 / k;
        }
      }
      const sd = Array.from(mean, (mu, j) => Math.sqrt(Math.max(sq[j] - mu * mu, 1e-6)));
      const dim = sd.indexOf(Math.max(...sd));
      return { dim, mean: mean[dim], sd: sd[dim] };
    };
    const steps = [-2, -1, 0, 1, 2];
    const traverse = (which: 'salient' | 'common') => {
      const z = new Float32Array(steps.length * te.commonDim);
      const s = new Float32Array(steps.length * te.salientDim);
      const t = which === 'salient' ? spread(te.salient, te.salientDim) : spread(te.common, te.commonDim);
      steps.forEach((u, k) => {
        z.set(te.common.subarray(0, te.commonDim), k * te.commonDim);
        s.set(te.salient.subarray(0, te.salientDim), k * te.salientDim);
        if (which === 'salient') s[k * te.salientDim + t.dim] = t.mean + u * t.sd;
        else z[k * te.commonDim + t.dim] = t.mean + u * t.sd;
      });
      const zt = tf.tensor2d(z, [steps.length, te.commonDim]);
      const st = tf.tensor2d(s, [steps.length, te.salientDim]);
      const out = m.decode!(zt, st);
      const data = out.dataSync() as Float32Array;
      tf.dispose([zt, st, out]);
      return { data, dim: t.dim };
    };
    const sal = traverse('salient');
    const com = traverse('common');
    const tiles = [...tilesOf(ds, sal.data, steps.length).tiles, ...tilesOf(ds, com.data, steps.length).tiles];
    const tb = png(path.join(dir, `${name}-traversals.png`), imageGrid(tiles, tilesOf(ds, sal.data, 1).shape, { columns: steps.length, scale, flipRows: is3d }));
    blocks.push({
      type: 'images',
      title: `${name}: latent traversals, −2…+2 sd — salient latent ${sal.dim} (top), common latent ${com.dim} (bottom)`,
      images: [{ src: tb }],
    });
    if (is3d && affine && spacing) {
      writeVolumes(path.join(dir, `${name}-salient-traversal.nii.gz`), sal.data, ds.shape, steps.length, affine, spacing);
      writeVolumes(path.join(dir, `${name}-common-traversal.nii.gz`), com.data, ds.shape, steps.length, affine, spacing);
      writeVolumes(path.join(dir, `${name}-reconstructions.nii.gz`), r.dataSync() as Float32Array, ds.shape, idx.length, affine, spacing);
    }
    tf.dispose([x, r]);
  }
  // Saliency: per salient class, the mean |gradient × input| over held-out targets of that class.
  const classes = [...new Set(Array.from(split.test).filter((i) => ds.group[i] === 1).map((i) => String(ds.factors[ds.salient.name][i])))].sort();
  const maps: Float32Array[] = [];
  const shown: string[] = [];
  for (const c of classes.slice(0, 10)) {
    const members = Array.from(split.test).filter((i) => ds.group[i] === 1 && String(ds.factors[ds.salient.name][i]) === c).slice(0, 32);
    const mean = meanSaliency(m, ds, members);
    maps.push(mean);
    shown.push(c);
    if (is3d && affine && spacing) writeVolumes(path.join(dir, `${name}-saliency-${c}.nii.gz`), mean, ds.shape, 1, affine, spacing);
  }
  const tiles = maps.map((v) => centralSlice(v, ds.shape, 0));
  const heat = png(path.join(dir, `${name}-saliency.png`), imageGrid(tiles.map((t) => t.data), tiles[0].shape, { colormap: 'heat', scale, flipRows: is3d, range: [0, Math.max(...maps.flatMap((v) => Array.from(v)))] }));
  blocks.push({ type: 'images', title: `${name}: mean |gradient × input| of ‖salient code‖² per ${ds.salient.name} (${shown.join(', ')})${is3d ? ', central axial slice' : ''}`, images: [{ src: heat }] });
  // One example per class with its own map, for 2D.
  if (!is3d) {
    const idx = ex.targets;
    const x = batchTensor(gatherImages(ds, idx), idx.length, ds.shape);
    const sal = salientSaliency(m, x);
    const abs = tf.tidy(() => tf.abs(sal));
    const data = abs.dataSync() as Float32Array;
    const size = ds.shape[0] * ds.shape[1];
    const orig = tilesOf(ds, gatherImages(ds, idx), idx.length);
    const per = idx.map((_, k) => data.slice(k * size, (k + 1) * size));
    const a = imageGrid(orig.tiles, orig.shape, { columns: idx.length, scale });
    const b = imageGrid(per, orig.shape, { columns: idx.length, scale, colormap: 'heat' });
    writeFileAtomicSync(path.join(dir, `${name}-saliency-examples.png`), encodePng(b));
    blocks.push({ type: 'images', title: `${name}: held-out targets and their |gradient × input| maps`, images: [{ src: encodePng(a) }, { src: encodePng(b) }] });
    tf.dispose([x, sal, abs]);
  }
  return { blocks };
}

/** Writes `count` volumes `[D, H, W]` (C-order = x fastest) as one 4-D NIfTI (or 3-D for one). */
function writeVolumes(file: string, data: Float32Array, shape: number[], count: number, affine: Volume['affine'], spacing: number[]): void {
  const [d, h, w] = shape;
  const vol: Volume = {
    shape: count === 1 ? [w, h, d] : [w, h, d, count],
    spacing: count === 1 ? spacing.slice(0, 3) : [...spacing.slice(0, 3), 1],
    affine,
    data: Float32Array.from(data.subarray(0, count * d * h * w)),
  };
  writeNiftiSync(file, vol);
}

async function mriData(manifestFile: string, log: (m: string) => void): Promise<{ ds: ContrastiveDataset; split: Split; manifest: Manifest }> {
  const manifest = await readManifest(manifestFile, { types: { site: 'string' } });
  log(`contrastive-analysis: reading ${manifest.rows.length} volumes`);
  const ds = await cohortContrastiveDataset(manifest, { progress: false });
  let split: Split;
  if ('split' in manifest.columns) {
    const train: number[] = [];
    const test: number[] = [];
    manifest.rows.forEach((r, i) => (r.split === 'test' ? test : train).push(i));
    split = { train: Int32Array.from(train), test: Int32Array.from(test) };
  } else {
    split = splitDataset(ds, { testFraction: 0.3, seed: 0, stratify: 'diagnosis' });
  }
  return { ds, split, manifest };
}

function textTable(rows: CARow[]): string {
  const head = ['dataset', 'method', 'sal←sal', 'sal←com', 'com←com', 'com←sal', 'separation', 'bg ‖s‖', 'HSIC', 'train s'];
  const lines = rows.map((r) => [
    r.dataset,
    r.label,
    r.salient_from_salient.toFixed(3),
    r.salient_from_common.toFixed(3),
    r.common_from_common.toFixed(3),
    r.common_from_salient.toFixed(3),
    r.separation.toFixed(3),
    r.background_salient_norm.toFixed(2),
    r.hsic.toFixed(2),
    r.train_seconds.toFixed(0),
  ]);
  const widths = head.map((h, j) => Math.max(h.length, ...lines.map((l) => l[j].length)));
  const fmt = (cells: string[]) => cells.map((c, j) => (j < 2 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ');
  return [fmt(head), ...lines.map(fmt)].join('\n');
}

/** Compares SepCLR's separation with the best VAE's, per data set — in words, for the report and the log. */
export function verdict(rows: CARow[]): string[] {
  const out: string[] = [];
  for (const dataset of [...new Set(rows.map((r) => r.dataset))]) {
    const sep = rows.find((r) => r.dataset === dataset && r.name === 'sepclr');
    const vaes = rows.filter((r) => r.dataset === dataset && (r.name === 'cvae' || r.name === 'mm-cvae'));
    const variant = rows.find((r) => r.dataset === dataset && r.name === 'sepclr+hsic+mmd');
    if (!sep || vaes.length === 0) continue;
    const best = vaes.reduce((a, b) => (b.separation > a.separation ? b : a));
    const word = sep.separation > best.separation ? 'separates better than' : 'does not separate better than';
    out.push(
      `${dataset}: SepCLR ${word} the best VAE (${best.label}) on this budget — separation ${sep.separation.toFixed(3)} vs ${best.separation.toFixed(3)} ` +
        `(salient factor ${sep.salient_from_salient.toFixed(2)}/${sep.salient_from_common.toFixed(2)} vs ${best.salient_from_salient.toFixed(2)}/${best.salient_from_common.toFixed(2)} from salient/common; ` +
        `common factor ${sep.common_from_common.toFixed(2)}/${sep.common_from_salient.toFixed(2)} vs ${best.common_from_common.toFixed(2)}/${best.common_from_salient.toFixed(2)} from common/salient).` +
        (variant ? ` With geoclr's HSIC + MMD regularisers: separation ${variant.separation.toFixed(3)}.` : ''),
    );
  }
  return out;
}

/** Runs the comparison; see the module comment. */
export async function runContrastiveAnalysisDemo(opts: CADemoOptions): Promise<CADemoResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const params = CA_PARAMS[opts.quick ? 'quick' : 'default'];
  const root = path.join(opts.out, 'contrastive-analysis');
  mkdirSync(root, { recursive: true });
  const rows: CARow[] = [];
  const report: ReportSection[] = [];
  const which = opts.datasets ?? ['images', 'mri'];

  for (const kind of which) {
    let ds: ContrastiveDataset;
    let split: Split;
    let budget: DatasetBudget;
    let affine: Volume['affine'] | null = null;
    let spacing: number[] | null = null;
    if (kind === 'images') {
      budget = params.images;
      const n = opts.imagesN ?? params.images.n;
      log(`contrastive-analysis: digits on texture, ${n} images`);
      ds = await digitsOnTexture({ n, seed: opts.seed });
      split = splitDataset(ds, { testFraction: 0.3, seed: opts.seed, stratify: 'digit' });
    } else {
      budget = params.mri;
      const d = await mriData(opts.cohortManifest, log);
      ds = d.ds;
      split = d.split;
      const first = await readNifti(d.manifest.rows[0].path);
      affine = first.affine;
      spacing = first.spacing;
    }
    const dir = path.join(root, ds.name);
    mkdirSync(dir, { recursive: true });
    const steps = opts.steps ?? budget.steps;
    const blocks: ReportBlock[] = [];
    const figureBlocks: ReportBlock[] = [];
    const curves: ReportBlock[] = [];
    for (const entry of CA_METHODS.filter((e) => !(opts.quick && e.defaultOnly))) {
      const { name, label } = entry;
      log(`contrastive-analysis: ${ds.name}: ${label}, ${steps} steps × ${budget.batchSize}`);
      const cfg = configFor(entry, budget, opts.seed, steps, ds.shape);
      const lines: string[] = [];
      const fit = fitContrastiveAnalysis(ds, cfg, { indices: split.train, onLog: (r) => lines.push(JSON.stringify(r)) });
      writeFileSync(path.join(dir, `${name}-metrics.jsonl`), lines.join('\n') + '\n');
      const tr = embedDataset(fit.method, ds, split.train);
      const te = embedDataset(fit.method, ds, split.test);
      const s = evaluateSeparation(ds, tr, te, { seed: opts.seed });
      const last = fit.history[fit.history.length - 1];
      rows.push({
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
        steps,
        batch_size: budget.batchSize,
        train_seconds: round(fit.seconds, 1),
        samples_per_second: round(fit.samplesPerSecond, 1),
        final_terms: Object.fromEntries(Object.entries(last.terms).map(([k, v]) => [k, round(v, 4)])),
      });
      figureBlocks.push(...figures(ds, split, fit, dir, affine, spacing, name).blocks);
      const termNames = Object.keys(last.terms);
      curves.push({
        type: 'lineChart',
        title: `${label}: loss terms`,
        xLabel: 'step',
        series: termNames.map((k) => ({ name: k, x: fit.history.map((r) => r.step), y: fit.history.map((r) => r.terms[k]) })),
      });
      fit.method.model.dispose();
    }
    const dsRows = rows.filter((r) => r.dataset === ds.name);
    const sm = dsRows[0].salient_metric === 'r2' ? 'R²' : 'balanced accuracy';
    const cm = dsRows[0].common_metric === 'r2' ? 'R²' : 'balanced accuracy';
    blocks.push({
      type: 'table',
      title: `${ds.name}: linear probes on held-out targets (salient: ${ds.salient.name}, ${sm}; common: ${ds.common[0].name}, ${cm})`,
      columns: [
        { key: 'label', label: 'method' },
        { key: 'salient_from_salient', label: `${ds.salient.name} ← salient`, better: 'higher', digits: 3 },
        { key: 'salient_from_common', label: `${ds.salient.name} ← common`, better: 'lower', digits: 3 },
        { key: 'common_from_common', label: `${ds.common[0].name} ← common`, better: 'higher', digits: 3 },
        { key: 'common_from_salient', label: `${ds.common[0].name} ← salient`, better: 'lower', digits: 3 },
        { key: 'common_from_common_background', label: `${ds.common[0].name} ← common (background)`, digits: 3, description: 'the common factor probed on background samples' },
        { key: 'separation', better: 'higher', digits: 3, description: '(sal←sal − sal←com) + (com←com − com←sal)' },
        { key: 'background_salient_norm', label: 'bg ‖s‖ / target ‖s‖', better: 'lower', digits: 2 },
        { key: 'hsic', label: 'nHSIC(common, salient)', better: 'lower', digits: 2 },
      ],
      rows: dsRows as unknown as Record<string, unknown>[],
      caption:
        `${split.train.length} training / ${split.test.length} held-out samples; every method: ${steps} steps × batch ${budget.batchSize} ` +
        `(half background, half target), the same ${String(budget.encoder.arch)} encoder [${(budget.encoder.widths as number[]).join(', ')}] per branch, ` +
        `seed ${opts.seed}. SimCLR has one space: both columns read it.`,
    });
    const extra = dsRows.flatMap((r) => r.common_factors.slice(1).map((c) => ({ method: r.label, factor: c.factor, metric: c.metric, from_common: c.from_common, from_salient: c.from_salient })));
    if (extra.length) blocks.push({ type: 'table', title: `${ds.name}: other common factors`, rows: extra });
    report.push({
      title: `Contrastive analysis — ${ds.name}`,
      intro: verdict(rows.filter((r) => r.dataset === ds.name)).join(' '),
      blocks: [...blocks, { type: 'grid', blocks: curves, minWidth: 360 }, ...figureBlocks],
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  const table = textTable(rows);
  writeFileAtomicSync(path.join(root, 'results.json'), JSON.stringify({ rows, verdict: verdict(rows), seconds: round(seconds, 1) }, null, 2) + '\n');
  return { rows, report, table: [table, ...verdict(rows)].join('\n'), seconds };
}
