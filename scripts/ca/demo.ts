/**
 * The contrastive-analysis demo: SepCLR, cVAE, MM-cVAE and a SimCLR single-space baseline, trained on the same
 * budget (steps × batch, same encoder) on two data sets — digits on texture (2D, DATA.md recipe 2) and the
 * synthetic brain cohort (3D: controls = background, AD/FTD patients = target) — and probed on held-out samples
 * with the SepCLR paper's protocol. Writes images (reconstructions, latent traversals, saliency; NIfTI for MRI),
 * per-method training logs, and returns the summary rows, report sections and a text table.
 *
 * Used by the demo section `contrastive-analysis` (`geoclr demo --only contrastive-analysis`).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../../src/util/fs.js';
import type { ReportBlock } from '../../src/report/blocks.js';
import type { ReportSection } from '../../src/report/page.js';
import type { CAMethod, ContrastiveAnalysisConfig } from '../../src/contrastive-analysis/index.js';
import { cohortData, digitsData, round, runCAMethod, type CAData, type CARow } from './method-run.js';

export type { CARow } from './method-run.js';

export interface CAEntry {
  /** `name` in summary.json. */
  name: string;
  method: CAMethod;
  label: string;
  /** Extra config (e.g. regularisers). */
  extra?: Partial<ContrastiveAnalysisConfig>;
}

export const CA_METHODS: CAEntry[] = [
  { name: 'sepclr', method: 'sepclr', label: 'SepCLR (k-JEM)' },
  { name: 'cvae', method: 'cvae', label: 'cVAE' },
  { name: 'mm-cvae', method: 'mm-cvae', label: 'MM-cVAE' },
  { name: 'simclr', method: 'simclr', label: 'SimCLR (one space)' },
  // SepCLR with geoclr's information-theoretic regularisers on top (same budget): HSIC(common, s') and
  // MMD(background common, target common), and the term weights that worked best on digits on texture at this
  // budget (README): the CheXpert β_s = 1, β_reg = 10 of the paper with a stronger k-JEM, λ = 100.
  {
    name: 'sepclr+hsic+mmd',
    method: 'sepclr',
    label: 'SepCLR + HSIC + MMD (β_s 1, β_reg 10, λ 100)',
    extra: { sepclr: { betaSalient: 1, betaReg: 10, lambdaJem: 100, hsic: 100, mmdCommon: 100 } },
  },
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
    mri: { ...MRI_BASE, steps: 60, batchSize: 16, encoder: { arch: 'convnet3d', widths: [8, 16, 32], pooling: 'flatten' }, decoderWidths: [32, 16, 4] },
  },
  quick: {
    images: { ...IMAGES_BASE, n: 1200, steps: 50, batchSize: 32, encoder: { arch: 'convnet2d', widths: [8, 16, 32], pooling: 'flatten' }, decoderWidths: [32, 16, 8] },
    mri: { ...MRI_BASE, steps: 20, batchSize: 16, encoder: { arch: 'convnet3d', widths: [4, 8], pooling: 'flatten' }, decoderWidths: [8, 4] },
  },
};

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

/** Whether a row separates: the salient factor read better from the salient space, the common one from the common. */
function separationWords(r: CARow): string {
  const f = (v: number) => v.toFixed(2);
  const salientOk = r.salient_from_salient > r.salient_from_common;
  const commonOk = r.common_from_common > r.common_from_salient;
  if (salientOk && commonOk) return 'separates both factors';
  const why: string[] = [];
  if (!salientOk) why.push(`${r.salient_factor} is read ${f(r.salient_from_salient)} from the salient space, ${f(r.salient_from_common)} from the common one`);
  if (!commonOk) why.push(`${r.common_factor} ${f(r.common_from_common)} from the common space, ${f(r.common_from_salient)} from the salient one`);
  return `does not separate (${why.join('; ')})`;
}

/**
 * Compares SepCLR with the best VAE per data set, in words for the report and the log: the separation score, and
 * whether each actually separates (a higher score alone can come from one factor only).
 */
export function verdict(rows: CARow[]): string[] {
  const out: string[] = [];
  for (const dataset of [...new Set(rows.map((r) => r.dataset))]) {
    const sep = rows.find((r) => r.dataset === dataset && r.name === 'sepclr');
    const vaes = rows.filter((r) => r.dataset === dataset && (r.name === 'cvae' || r.name === 'mm-cvae'));
    const variant = rows.find((r) => r.dataset === dataset && r.name === 'sepclr+hsic+mmd');
    if (!sep || vaes.length === 0) continue;
    const best = vaes.reduce((a, b) => (b.separation > a.separation ? b : a));
    const cmp = sep.separation > best.separation ? 'above' : 'not above';
    out.push(
      `${dataset}: SepCLR's separation score ${sep.separation.toFixed(3)} is ${cmp} the best VAE's (${best.label}, ${best.separation.toFixed(3)}) on this budget. ` +
        `SepCLR ${separationWords(sep)}; ${best.label} ${separationWords(best)}.` +
        (variant ? ` ${variant.label}: separation ${variant.separation.toFixed(3)}, ${separationWords(variant)}.` : ''),
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
    const budget: DatasetBudget = kind === 'images' ? params.images : params.mri;
    let data: CAData;
    if (kind === 'images') {
      const n = opts.imagesN ?? params.images.n;
      log(`contrastive-analysis: digits on texture, ${n} images`);
      data = await digitsData({ n, seed: opts.seed });
    } else {
      data = await cohortData(opts.cohortManifest, { log, multipleOf: 2 ** budget.decoderWidths.length });
    }
    const { ds, split } = data;
    const dir = path.join(root, ds.name);
    mkdirSync(dir, { recursive: true });
    const steps = opts.steps ?? budget.steps;
    const blocks: ReportBlock[] = [];
    const figureBlocks: ReportBlock[] = [];
    const curves: ReportBlock[] = [];
    for (const entry of CA_METHODS) {
      const { name, label } = entry;
      log(`contrastive-analysis: ${ds.name}: ${label}, ${steps} steps × ${budget.batchSize}`);
      const r = runCAMethod(data, configFor(entry, budget, opts.seed, steps, ds.shape), { name, label, dir, seed: opts.seed });
      rows.push(r.row);
      figureBlocks.push(...r.figures);
      curves.push(r.curve);
      r.fit.method.model.dispose();
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
      id: `contrastive-analysis-${ds.name}`,
      intro: verdict(rows.filter((r) => r.dataset === ds.name)).join(' '),
      blocks: [...blocks, { type: 'grid', blocks: curves, minWidth: 360 }, ...figureBlocks],
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  const table = textTable(rows);
  writeFileAtomicSync(path.join(root, 'results.json'), JSON.stringify({ rows, verdict: verdict(rows), seconds: round(seconds, 1) }, null, 2) + '\n');
  return { rows, report, table: [table, ...verdict(rows)].join('\n'), seconds };
}
