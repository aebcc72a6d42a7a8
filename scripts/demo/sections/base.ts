/**
 * Demo section `base`: the same small 3D encoder pretrained four ways on the training subjects of the synthetic
 * cohort — (a) random init, (b) SimCLR InfoNCE, (c) y-Aware InfoNCE with an age RBF × sex delta kernel,
 * (d) y-Aware + FairKL against the acquisition site — then probed on held-out subjects (linear probes fit on the
 * training subjects' frozen representations, scored on the held-out ones): age MAE, diagnosis AUC, sex and site
 * balanced accuracy (site: decodability, lower is better), alignment and uniformity.
 */
import path from 'node:path';
import { alignmentMetric, uniformityMetric } from '../../../src/eval/geometry.js';
import { evaluateEmbeddings, type EvaluationResult } from '../../../src/eval/evaluate.js';
import { evaluationBlocks, comparisonTable } from '../../../src/report/evaluation.js';
import type { ReportBlock } from '../../../src/report/blocks.js';
import type { ReportSection } from '../../../src/report/page.js';
import { dataModality, resolveDataConfig } from '../../../src/train/data.js';
import { embedAll, embedViews, type EmbeddingSet } from '../../../src/train/embed.js';
import type { TrainableModel } from '../../../src/train/types.js';
import { writeEmbeddingSet } from '../../train/tables.js';
import '../../train/modalities.js';
import type { DemoContext, DemoSection, DemoSectionResult } from '../context.js';
import { demoMethodModel } from '../method-model.js';

/** Sizes of the section in each mode (measured on the 2-core development machine; see the README). */
export interface BaseParams {
  subjects: number;
  shape: [number, number, number];
  /** Voxel size in mm of the cohort: the grid is the central `shape × spacing` mm of the brain (see CohortNeeds). */
  spacing: number;
  encoder: Record<string, unknown>;
  batchSize: number;
  /** Target optimisation steps per method (rounded up to whole epochs). */
  steps: number;
  lr: number;
}

/**
 * The same small encoder for every method: ResNet-style 3D with one block per stage (a ResNet-10 shape: half the
 * cost of two blocks, and as good here at the demo's budget), batch norm in the projection head (SimCLR v2).
 */
export const DEMO_ENCODER = { arch: 'resnet3d', widths: [8, 16, 32, 64], depths: [1, 1, 1, 1], head: { hidden: [64], out: 128, batchNorm: true } };

/**
 * The cohort is the central 96×112×96 mm of the brain at 4 mm (default) rather than the whole head at ≈ 7.5 mm:
 * the age effects are millimetres (ventricles widen by ≤ 4 mm, the cortex thins by ≤ 0.8 mm), below half a voxel
 * on the whole-head grid, where no method beat a random encoder reliably; at 4 mm the ventricles' growth spans
 * a voxel and the same number of voxels costs the same.
 */
export const BASE_PARAMS: Record<'default' | 'quick', BaseParams> = {
  default: { subjects: 300, shape: [24, 28, 24], spacing: 4, encoder: DEMO_ENCODER, batchSize: 16, steps: 200, lr: 3e-3 },
  quick: { subjects: 120, shape: [16, 20, 16], spacing: 5, encoder: DEMO_ENCODER, batchSize: 16, steps: 100, lr: 3e-3 },
};

/**
 * Augmentations that keep sizes and intensities: flips, cutout and noise. The y-Aware paper's random
 * crop-and-resize zooms by up to 25 %, which erases exactly what carries age and sex here (ventricle and brain
 * size); blur, rigid jitter and intensity scale/shift, at these few millimetre-sized voxels, wash out the partial-
 * volume contrast that shows the same effects — with them y-Aware's held-out age MAE was 1.5× worse on the
 * whole-head grid, and at 4 mm the same but with the site more decodable (README, "What we changed").
 */
export const DEMO_AUGMENT = [
  { type: 'flip', axes: [0], p: 0.5 },
  { type: 'cutout', size: [0.1, 0.25], p: 0.5 },
  { type: 'gaussianNoise', std: [0, 0.1], p: 0.5 },
];

/** Hyper-parameters of the objectives (shared by every mode). */
export const OBJECTIVES = {
  simclr: [{ name: 'infonce', temperature: 0.1 }],
  yaware: [{ name: 'yaware', temperature: 0.1, metadata: ['age', 'sex'], kernel: { type: 'product', factors: [{ type: 'rbf', sigma: 5 }, { type: 'delta' }] } }],
  fairkl: { name: 'fairkl', weight: 1, labels: { column: 'age', bins: [40, 60] }, bias: 'site', temperature: 1, mode: 'moments' },
};

export interface Method {
  name: string;
  label: string;
  objectives: unknown[] | null;
}

export const METHODS: Method[] = [
  { name: 'random', label: '(a) random init', objectives: null },
  { name: 'simclr', label: '(b) SimCLR InfoNCE', objectives: OBJECTIVES.simclr },
  { name: 'yaware', label: '(c) y-Aware (age RBF σ=5 × sex)', objectives: OBJECTIVES.yaware },
  { name: 'yaware+fairkl', label: '(d) y-Aware + FairKL(site)', objectives: [...OBJECTIVES.yaware, OBJECTIVES.fairkl] },
];

export interface MethodSummary {
  name: string;
  age_mae: number | null;
  diagnosis_auc: number | null;
  sex_bacc: number | null;
  site_bacc: number | null;
  /** Site decodability by a k-NN probe (cosine neighbours): what FairKL, acting on similarities, changes directly. */
  site_knn_bacc: number | null;
  align: number | null;
  unif: number | null;
}

/** Whole epochs reaching the target steps (the advanced --epochs option overrides). */
export function epochsFor(ctx: DemoContext, p: BaseParams): number {
  if (ctx.overrides.epochs) return ctx.overrides.epochs;
  const perEpoch = Math.max(1, Math.floor(ctx.cohort.trainSubjects.length / p.batchSize));
  return Math.max(1, Math.ceil(p.steps / perEpoch));
}

/** A training config for one method, as a user would write it. */
export function methodConfig(ctx: DemoContext, p: BaseParams, m: Method): Record<string, unknown> {
  return {
    name: m.name.replace('+', '-'),
    seed: ctx.seed,
    out: path.join(ctx.out, 'runs', m.name.replace('+', '-')),
    data: { modality: 'mri', manifest: ctx.cohort.manifest, filter: { split: 'train' }, preprocess: { shape: p.shape }, augment: DEMO_AUGMENT, views: 2, workers: 1, cache: true },
    encoder: p.encoder,
    task: { name: 'contrastive', objectives: m.objectives },
    optimizer: { name: 'adamw', lr: p.lr, weightDecay: 1e-4 },
    schedule: { name: 'cosine', warmupEpochs: 1, minFactor: 0.05 },
    clipGradNorm: 10,
    epochs: epochsFor(ctx, p),
    batchSize: p.batchSize,
    checkpoint: { everySteps: 10_000, keep: 1 },
    evaluation: false,
  };
}

const TARGETS = { age: { task: 'regression' as const }, sex: { task: 'classification' as const }, diagnosis: { task: 'classification' as const }, site: { task: 'classification' as const, nuisance: true } };

function summaryOf(name: string, ev: EvaluationResult, align: number | null, unif: number | null): MethodSummary {
  const s = ev.summary;
  const r = (v: number | null | undefined, d = 4) => (v == null || !Number.isFinite(v) ? null : Number(v.toFixed(d)));
  return { name, age_mae: r(s.age_mae, 3), diagnosis_auc: r(s.diagnosis_auc), sex_bacc: r(s.sex_bacc), site_bacc: r(s.site_bacc), site_knn_bacc: r(s.site_knn_bacc), align: r(align), unif: r(unif) };
}

function rowsOf(set: EmbeddingSet, keep: (i: number) => boolean): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < set.n; i++) if (keep(i)) out.push(Array.from(set.embeddings.subarray(i * set.dim, (i + 1) * set.dim)));
  return out;
}

/** Held-out evaluation of one encoder: probes fit on training subjects, scored on held-out subjects. */
async function evaluateMethod(ctx: DemoContext, p: BaseParams, model: TrainableModel, m: Method): Promise<{ summary: MethodSummary; evaluation: EvaluationResult; set: EmbeddingSet }> {
  const mri = dataModality('mri');
  const dataCfg = methodConfig(ctx, p, m).data as Record<string, unknown>;
  const all = resolveDataConfig({ ...dataCfg, filter: undefined, augment: 'none' }, ctx.out);
  const source = await mri.openEmbed(all, { batchSize: 32 });
  let set: EmbeddingSet;
  try {
    set = await embedAll(model, source, { label: `embed ${m.name}` });
  } finally {
    await source.close();
  }
  const test = resolveDataConfig({ ...dataCfg, filter: { split: 'test' } }, ctx.out);
  const viewSource = await mri.openEmbed(test, { batchSize: 32 });
  let views: EmbeddingSet[] | null;
  try {
    views = await embedViews(model, viewSource, 2, ctx.seed + 1);
  } finally {
    await viewSource.close();
  }
  const split = set.meta.split as string[];
  const evaluation = evaluateEmbeddings({
    embeddings: { rows: set.n, cols: set.dim, data: set.embeddings },
    metadata: { ...set.meta, subject_id: set.subjects },
    targets: TARGETS,
    split: 'split',
    seed: ctx.seed,
    groups: 'subject_id',
    bootstrap: 200,
    geometry: false,
  });
  const testRows = rowsOf(set, (i) => split[i] === 'test');
  const align = views ? alignmentMetric(rowsOf(views[0], () => true), rowsOf(views[1], () => true)) : null;
  const unif = uniformityMetric(testRows, { seed: ctx.seed });
  return { summary: summaryOf(m.name, evaluation, align, unif), evaluation, set };
}

function textTable(rows: MethodSummary[]): string {
  const cols: (keyof MethodSummary)[] = ['name', 'age_mae', 'diagnosis_auc', 'sex_bacc', 'site_bacc', 'site_knn_bacc', 'align', 'unif'];
  const fmt = (v: unknown) => (v == null ? '—' : typeof v === 'number' ? v.toFixed(3) : String(v));
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
  return [line(cols as string[]), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => fmt(r[c]))))].join('\n');
}

export const baseSection: DemoSection = {
  name: 'base',
  summaryKey: 'methods',
  title: 'Pretraining objectives on held-out subjects',
  cohort(quick) {
    const p = BASE_PARAMS[quick ? 'quick' : 'default'];
    return { subjects: p.subjects, visits: 1, shape: p.shape, spacing: p.spacing, sites: 4 };
  },
  async run(ctx: DemoContext): Promise<DemoSectionResult> {
    const p = { ...BASE_PARAMS[ctx.quick ? 'quick' : 'default'] };
    if (ctx.overrides.shape) p.shape = ctx.overrides.shape;
    p.batchSize = Math.min(p.batchSize, ctx.cohort.trainSubjects.length);
    const summaries: MethodSummary[] = [];
    const blocks: ReportBlock[] = [];
    const maps: ReportBlock[] = [];
    const details: ReportSection[] = [];
    const curves: { name: string; x: number[]; y: number[] }[] = [];
    const seconds: Record<string, number> = {};
    for (const m of METHODS) {
      const t0 = performance.now();
      if (m.objectives != null) ctx.log(`base: training ${m.label}`);
      const { model, dispose, curve } = await demoMethodModel(ctx, p.encoder, m.objectives == null ? null : methodConfig(ctx, p, m));
      if (curve) curves.push({ name: m.name, ...curve });
      try {
        const { summary, evaluation, set } = await evaluateMethod(ctx, p, model, m);
        summaries.push(summary);
        const split = set.meta.split as string[];
        const test = (i: number) => split[i] === 'test';
        const pick = (c: string) => (set.meta[c] ?? []).filter((_, i) => test(i));
        maps.push({ type: 'embeddingMap', title: m.label, embeddings: rowsOf(set, test), colorBy: { age: pick('age'), site: pick('site'), diagnosis: pick('diagnosis') }, projection: { seed: ctx.seed } });
        details.push({ title: `Probes: ${m.label}`, blocks: evaluationBlocks(evaluation) });
        const embDir = path.join(ctx.out, 'embeddings');
        await writeEmbeddingSet(path.join(embDir, `${m.name.replace('+', '-')}.arrow`), set, {
          modality: 'T1w',
          metadata: {
            model: `demo ${m.name} (${String(p.encoder.arch)})`,
            weights_sha256: null,
            loss: m.objectives == null ? null : m.objectives.length === 1 ? (m.objectives[0] as { name: string }) : { name: m.objectives.map((o) => (o as { name: string }).name).join('+'), terms: m.objectives },
            manifest: ctx.cohort.manifest,
          },
        });
      } finally {
        dispose();
      }
      seconds[m.name] = Number(((performance.now() - t0) / 1000).toFixed(1));
      ctx.log(`base: ${m.name} done in ${seconds[m.name]} s (demo at ${ctx.elapsed().toFixed(0)} s)`);
    }
    blocks.push(comparisonTable(summaries as unknown as Record<string, unknown>[], {
      title: 'Held-out subjects',
      caption:
        'Linear probes fit on the training subjects’ frozen representations and scored on held-out subjects. age_mae in years (↓); diagnosis_auc one-vs-rest (↑); ' +
        'sex_bacc (↑); site_bacc / site_knn_bacc = how well the acquisition site can be decoded by a linear / k-NN probe (↓, chance 0.25); align/unif: Wang & Isola on held-out subjects (↓).',
    }));
    if (curves.length) {
      blocks.push({ type: 'lineChart', title: 'Training loss', xLabel: 'step', yLabel: 'loss', series: curves });
    }
    return {
      summary: summaries,
      report: [
        { title: this.title, id: 'base', intro: `${ctx.cohort.trainSubjects.length} training and ${ctx.cohort.testSubjects.length} held-out subjects; ${p.shape.join('×')} volumes${ctx.cohort.needs.spacing ? ` of ${ctx.cohort.needs.spacing} mm` : ''}; ${epochsFor(ctx, p)} epochs of batch ${p.batchSize} (2 views) per method.`, blocks },
        { title: 'Held-out embeddings (UMAP)', id: 'base-maps', blocks: [{ type: 'grid', blocks: maps }] },
        ...details,
      ],
      table: textTable(summaries),
      extra: { base_seconds: seconds },
    };
  },
};
