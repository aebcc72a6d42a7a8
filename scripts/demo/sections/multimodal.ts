/**
 * Demo section `multimodal`: image–report pretraining on the synthetic cohort. The base section's 3D encoder and a
 * small text transformer are trained jointly on the training subjects' (volume, report) pairs with CLIP
 * (learnable temperature) and with the geometric kernel-CLIP (soft targets from an age RBF × diagnosis delta
 * kernel), then evaluated on held-out subjects:
 *  - image→text and text→image retrieval among the held-out pairs (R@1/5/10, median rank, chance);
 *  - zero-shot classification of each finding by prompts ("Mild/Moderate/Marked hippocampal atrophy." vs "The
 *    hippocampi are normal in volume."),
 *    labels from the generator's ground truth, as AUC;
 *  - linear-probe age MAE of the image representation (probe fit on training subjects), against image-only
 *    pretraining at the same budget (the base section's SimCLR / y-Aware models when it ran with the same
 *    settings, otherwise a SimCLR run trained here) and a random encoder.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as tf from '../../../src/tf.js';
import { evaluateEmbeddings } from '../../../src/eval/evaluate.js';
import { retrievalMetrics, similarityMatrix, zeroShotClassification } from '../../../src/eval/retrieval.js';
import { toMatrix } from '../../../src/eval/matrix.js';
import { createEncoder } from '../../../src/nn/encoders/factory.js';
import { loadEncoderFile } from '../../../src/io/model-file.js';
import { comparisonTable } from '../../../src/report/evaluation.js';
import type { ReportBlock } from '../../../src/report/blocks.js';
import type { ReportSection } from '../../../src/report/page.js';
import { readMetricsLog } from '../../../src/report/training.js';
import { configDifferences, resolveTrainConfig } from '../../../src/train/config.js';
import { dataModality, resolveDataConfig, type EmbedSource } from '../../../src/train/data.js';
import { runTraining } from '../../../src/train/run.js';
import type { MetaValue, TrainableModel } from '../../../src/train/types.js';
import { DEFAULT_KERNEL_CLIP } from '../../../src/train/image-text.js';
import { writeCohortReports } from '../../../modalities/text/reports-io.js';
import { FINDINGS, FINDING_COLUMNS, SEVERITIES, reportFindings, type Finding, type ReportFacts } from '../../../modalities/text/reports.js';
import { embedTexts, loadTextModel, type TextEmbeddings, type TextModel } from '../../../modalities/text/text-model.js';
import type { TextPipelineSpec } from '../../../modalities/text/pipeline.js';
import { createTextPipeline } from '../../../modalities/text/pipeline.js';
import { joinReports, sampleKey } from '../../train/mri-text.js';
import '../../train/modalities.js';
import type { DemoContext, DemoSection, DemoSectionResult } from '../context.js';
import { BASE_PARAMS, METHODS, OBJECTIVES, baseSection, epochsFor, methodConfig, type BaseParams, type Method } from './base.js';

/**
 * The sizes of the section in each mode. The cohort, image encoder and batch size are the base section's; the
 * grid and the number of steps are the section's own (volumes are resampled to `shape`), so that two image–text
 * runs and the image-only reference fit the section's budget (≤ 5 min default, ≤ 2 min quick, 2 cores). The
 * image-only references are the base runs themselves whenever the base section ran with the same settings.
 * Measured choices (2-core machine, default cohort): the base learning rate (3e-3) with its augmentations
 * collapses CLIP to the uniform solution (loss ln B) within a few epochs; 1e-3 without augmentation trains. A
 * one-layer text transformer matched or beat two layers on every held-out metric at half the cost; at 16×20×16
 * the held-out metrics matched 24×28×24 at a third of the image encoder's cost (README, text section). Those
 * choices were measured on the earlier whole-head cohort (≈ 7.5 mm); on the 4 mm central cohort 16×20×16 means
 * ≈ 6 mm voxels, and one seed-0 run on the cohort's own 24×28×24 grid was not clearly better (mixed, within noise).
 */
export interface MultimodalParams {
  /** Grid [X, Y, Z] every volume is resampled to. */
  shape: [number, number, number];
  /** Target optimisation steps per method (rounded up to whole epochs), the image-only reference included. */
  steps: number;
  /** Report tokens kept (reports are ~100 tokens; longer ones lose the end of their impression). */
  maxLength: number;
  textEncoder: Record<string, unknown>;
  lr: number;
  /** Image augmentation of the image–text runs ('none' or a list of transform specs). */
  augment: unknown;
}

const TEXT_SIDE = {
  maxLength: 128,
  textEncoder: { arch: 'text-transformer', dim: 64, depth: 1, heads: 2, dropout: 0.1, pooling: 'cls' },
  lr: 1e-3,
  augment: 'none',
};

export const MULTIMODAL_PARAMS: Record<'default' | 'quick', MultimodalParams> = {
  default: { shape: [16, 20, 16], steps: 100, ...TEXT_SIDE },
  quick: { shape: [16, 20, 16], steps: 30, ...TEXT_SIDE },
};

export interface MultimodalMethod {
  name: string;
  label: string;
  /** The task's objective, or null for the image-only / random references. */
  objective: Record<string, unknown> | null;
}

export const MULTIMODAL_METHODS: MultimodalMethod[] = [
  { name: 'clip', label: 'CLIP (learnable τ)', objective: { name: 'clip' } },
  { name: 'kernel-clip', label: 'kernel-CLIP (age RBF σ=5 × diagnosis)', objective: { name: 'kernel-clip', ...DEFAULT_KERNEL_CLIP } },
];

/**
 * Zero-shot prompts per finding: [absent, present] (the class order of the labels 0/1), each class a list of
 * prompts whose unit-normalised embeddings are averaged (CLIP's prompt ensembling, Radford et al. 2021 §3.1.4).
 * Written as the reports write findings, without negations: a present finding always carries a severity word,
 * so "present" is the ensemble of "Mild/Moderate/Marked X."; "absent" is a normal statement. The small text
 * encoder separates "no X" from "X" poorly: with "no hippocampal atrophy" vs "hippocampal atrophy" the hippocampal
 * zero-shot AUC was 0.30–0.86 on the 4 mm demo cohort (0.40 and 0.30 on seed 0), and with "No X." against the
 * severity ensemble the ventricles fell to 0.25 on one run; these prompts gave 0.66–0.88 and 0.94–0.99 on the
 * same models (README, text section).
 */
export const ZERO_SHOT_PROMPTS: Record<Finding, [string[], string[]]> = {
  hippocampal: [['The hippocampi are normal in volume.'], severityPrompts('hippocampal atrophy')],
  ventricles: [['The ventricles are normal in size.'], severityPrompts('ventricular enlargement')],
  frontal: [['The frontal lobes are preserved in volume.'], severityPrompts('frontal atrophy')],
  cortical: [['Normal brain volume for age.'], severityPrompts('cortical volume loss')],
};

/** "Mild X.", "Moderate X.", "Marked X.": the severity words of the reports (SEVERITIES). */
function severityPrompts(finding: string): string[] {
  return SEVERITIES.filter((s) => s !== 'none').map((s) => `${s[0].toUpperCase()}${s.slice(1)} ${finding}.`);
}

/** One class embedding from several prompts' embeddings (rows): the mean of the unit-normalised rows. */
export function promptEnsemble(e: { n: number; dim: number; data: Float32Array }): Float32Array {
  const out = new Float32Array(e.dim);
  for (let i = 0; i < e.n; i++) {
    const row = e.data.subarray(i * e.dim, (i + 1) * e.dim);
    const norm = Math.hypot(...row) || 1;
    for (let j = 0; j < e.dim; j++) out[j] += row[j] / norm / e.n;
  }
  return out;
}

/** One row of summary.json `multimodal`. */
export interface MultimodalSummary {
  name: string;
  r1_i2t: number | null;
  r5_i2t: number | null;
  r5_t2i: number | null;
  median_rank_i2t: number | null;
  /** Zero-shot AUC of hippocampal atrophy (present vs absent prompts, ZERO_SHOT_PROMPTS) on held-out images. */
  zeroshot_auc: number | null;
  /** R@5 of a random ranking among the held-out pairs. */
  chance_r5: number | null;
  age_mae: number | null;
}

export interface CrossModalResult {
  r1_i2t: number;
  r5_i2t: number;
  r10_i2t: number;
  r1_t2i: number;
  r5_t2i: number;
  r10_t2i: number;
  median_rank_i2t: number;
  median_rank_t2i: number;
  chance_r1: number;
  chance_r5: number;
  chance_median_rank: number;
  queries: number;
  /** Zero-shot AUC per finding (null when the held-out set has one class only). */
  zeroshot: Record<string, number | null>;
  /** Best-ranked report (index) of each image query, and the (pessimistic, 1-based) rank of its own report. */
  top1: number[];
  rank: number[];
}

const round = (v: number | null | undefined, d = 4): number | null => (v == null || !Number.isFinite(v) ? null : Number(v.toFixed(d)));

/**
 * Retrieval between paired image and report embeddings (row i ↔ row i, cosine) and zero-shot AUC per finding from
 * prompt embeddings (`prompts[f]` = [absent, present] rows) against 0/1 labels.
 */
export function crossModalMetrics(
  images: { rows: number; cols: number; data: Float32Array },
  texts: { rows: number; cols: number; data: Float32Array },
  zeroShot: Record<string, { prompts: { rows: number; cols: number; data: Float32Array }; labels: number[] }> = {},
): CrossModalResult {
  const r = retrievalMetrics(images, texts, { ks: [1, 5, 10] });
  const zeroshot: Record<string, number | null> = {};
  for (const [name, z] of Object.entries(zeroShot)) {
    zeroshot[name] = new Set(z.labels).size < 2 ? null : zeroShotClassification(images, z.prompts, z.labels, { classes: [0, 1] }).auc;
  }
  const sim = similarityMatrix(toMatrix(images, 'images'), toMatrix(texts, 'texts'));
  const n = texts.rows;
  const top1: number[] = [];
  const rank: number[] = [];
  for (let i = 0; i < images.rows; i++) {
    const row = sim.data.subarray(i * n, (i + 1) * n);
    let arg = 0;
    for (let j = 1; j < n; j++) if (row[j] > row[arg]) arg = j;
    top1.push(arg);
    rank.push(1 + row.reduce((c, v, j) => c + (j !== i && v >= row[i] ? 1 : 0), 0));
  }
  return {
    r1_i2t: r.aToB.recall[1],
    r5_i2t: r.aToB.recall[5],
    r10_i2t: r.aToB.recall[10],
    r1_t2i: r.bToA.recall[1],
    r5_t2i: r.bToA.recall[5],
    r10_t2i: r.bToA.recall[10],
    median_rank_i2t: r.aToB.medianRank,
    median_rank_t2i: r.bToA.medianRank,
    chance_r1: r.aToB.chance.recall[1],
    chance_r5: r.aToB.chance.recall[5],
    chance_median_rank: r.aToB.chance.medianRank,
    queries: r.aToB.queries,
    zeroshot,
    top1,
    rank,
  };
}

/** Ground truth of a manifest row as report facts (the generator's magnitudes). */
function factsOf(row: Record<string, unknown>): ReportFacts {
  const num = (k: string) => Number(row[k] ?? 0);
  return {
    age: num('age'),
    sex: String(row.sex ?? ''),
    cortical_thinning: num('cortical_thinning'),
    ventricle_dilation: num('ventricle_dilation'),
    hippocampal_atrophy: num('hippocampal_atrophy'),
    frontal_atrophy: num('frontal_atrophy'),
  };
}

/** Representation and projection of every sample in one pass (eval mode), keyed like training batches. */
async function embedImages(model: TrainableModel, source: EmbedSource): Promise<{ keys: string[]; rep: Float32Array; proj: Float32Array; repDim: number; projDim: number; meta: Record<string, MetaValue[]> }> {
  model.eval();
  const keys: string[] = [];
  const reps: Float32Array[] = [];
  const projs: Float32Array[] = [];
  const meta: Record<string, MetaValue[]> = {};
  let repDim = 0;
  let projDim = 0;
  for await (const b of source.batches()) {
    try {
      const [rep, proj] = tf.tidy(() => {
        const o = model.forward(b.input);
        return [o.representation, o.projection];
      });
      repDim = rep.shape[1];
      projDim = proj.shape[1];
      reps.push(rep.dataSync() as Float32Array);
      projs.push(proj.dataSync() as Float32Array);
      tf.dispose([rep, proj]);
      b.subjects.forEach((s, i) => keys.push(sampleKey({ subject_id: s, session_id: b.sessions[i] })));
      for (const [k, v] of Object.entries(b.meta)) (meta[k] ??= []).push(...v);
    } finally {
      tf.dispose([b.input, ...Object.values(b.inputs ?? {})]);
    }
  }
  const cat = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return { keys, rep: cat(reps), proj: cat(projs), repDim, projDim, meta };
}

/** Texts → projections (a trained text model, or a random one for the reference row). */
type TextEmbedder = { embed(texts: readonly string[]): TextEmbeddings };

interface Evaluated {
  summary: MultimodalSummary;
  details: Record<string, unknown>;
  examples: { key: string; report: string; retrieved: string; rank: number }[];
}

/** A training config for one image–text method, as a user would write it (image side as base, the section's grid and budget). */
export function multimodalConfig(ctx: DemoContext, base: BaseParams, p: MultimodalParams, m: MultimodalMethod): Record<string, unknown> {
  const image = methodConfig(ctx, base, { name: 'simclr', label: 'SimCLR', objectives: OBJECTIVES.simclr });
  return {
    ...image,
    name: `mm-${m.name}`,
    out: path.join(ctx.out, 'runs', `mm-${m.name}`),
    data: {
      ...(image.data as Record<string, unknown>),
      modality: 'mri-text',
      reports: path.join(ctx.cohort.dir, 'reports.tsv'),
      augment: p.augment,
      views: 1,
      maxLength: p.maxLength,
    },
    task: { name: 'image-text', objective: m.objective, temperature: 0.07, learnTemperature: true, textEncoder: p.textEncoder },
    optimizer: { ...(image.optimizer as Record<string, unknown>), lr: p.lr },
  };
}

/** A base run (runs/<name>) that finished with exactly the settings base would use now, so the same budget. */
function reusableBaseRun(ctx: DemoContext, base: BaseParams, method: Method): string | null {
  const config = resolveTrainConfig(methodConfig(ctx, base, method));
  const model = path.join(config.out, 'model.safetensors');
  const stored = path.join(config.out, 'config.json');
  if (!existsSync(model) || !existsSync(stored)) return null;
  try {
    const { geoclr_version: _v, ...previous } = JSON.parse(readFileSync(stored, 'utf8'));
    return configDifferences(previous, config).length === 0 ? model : null;
  } catch {
    return null;
  }
}

export const multimodalSection: DemoSection = {
  name: 'multimodal',
  summaryKey: 'multimodal',
  title: 'Image–report pretraining (CLIP vs kernel-CLIP) on held-out subjects',
  // The base section's cohort (volumes are resampled to this section's grid), so the full demo generates one.
  cohort: (quick) => baseSection.cohort(quick),
  async run(ctx: DemoContext): Promise<DemoSectionResult> {
    const mode = ctx.quick ? 'quick' : 'default';
    const p = MULTIMODAL_PARAMS[mode];
    const base: BaseParams = { ...BASE_PARAMS[mode], shape: p.shape, steps: p.steps };
    if (ctx.overrides.shape) base.shape = ctx.overrides.shape;
    base.batchSize = Math.min(base.batchSize, ctx.cohort.trainSubjects.length);
    const epochs = epochsFor(ctx, base);
    const reports = await writeCohortReports(ctx.cohort.dir, { seed: ctx.seed });
    ctx.log(`multimodal: ${reports.reports} reports → ${reports.file}`);

    // Held-out pairs: every test session with its report, and the ground truth of each finding.
    const testRows = ctx.cohort.rows.filter((r) => r.split === 'test');
    const join = joinReports(testRows, { reports: reports.file, reportColumn: 'report', onMissingReport: 'error', manifest: ctx.cohort.manifest });
    const testKeys = join.rows.map((r) => sampleKey(r));
    const testReports = testKeys.map((k) => join.reports.get(k)!);
    const labels: Record<Finding, number[]> = Object.fromEntries(FINDINGS.map((f) => [f, join.rows.map((r) => (reportFindings(factsOf(r))[f] === 'none' ? 0 : 1))])) as Record<Finding, number[]>;

    const mri = dataModality('mri');
    const allData = resolveDataConfig({ modality: 'mri', manifest: ctx.cohort.manifest, preprocess: { shape: base.shape }, augment: 'none', workers: 1 }, ctx.out);

    /** Held-out evaluation of an image encoder (and a text model, for the image–text methods). */
    const evaluate = async (name: string, image: TrainableModel, text: TextEmbedder | null): Promise<Evaluated> => {
      const source = await mri.openEmbed(allData, { batchSize: 32 });
      let emb;
      try {
        emb = await embedImages(image, source);
      } finally {
        await source.close();
      }
      const split = emb.meta.split as string[];
      const probe = evaluateEmbeddings({
        embeddings: { rows: emb.keys.length, cols: emb.repDim, data: emb.rep },
        metadata: { ...emb.meta, subject_id: emb.keys.map((k) => k.split('/')[0]) },
        targets: { age: { task: 'regression' }, diagnosis: { task: 'classification' } },
        split: 'split',
        seed: ctx.seed,
        groups: 'subject_id',
        bootstrap: 0,
        geometry: false,
        probes: ['linear'],
      });
      const ageMae = round(probe.summary.age_mae, 3);
      if (text == null) {
        return {
          summary: { name, r1_i2t: null, r5_i2t: null, r5_t2i: null, median_rank_i2t: null, zeroshot_auc: null, chance_r5: null, age_mae: ageMae },
          details: { name, diagnosis_auc: round(probe.summary.diagnosis_auc) },
          examples: [],
        };
      }
      // Image projections of the held-out pairs, in the order of testKeys.
      const at = new Map(emb.keys.map((k, i) => [k, i]));
      const d = emb.projDim;
      const img = new Float32Array(testKeys.length * d);
      testKeys.forEach((k, i) => {
        const j = at.get(k);
        if (j == null || split[j] !== 'test') throw new Error(`multimodal: held-out session ${k} was not embedded`);
        img.set(emb.proj.subarray(j * d, (j + 1) * d), i * d);
      });
      const txt = text.embed(testReports);
      const zeroShot: Record<string, { prompts: { rows: number; cols: number; data: Float32Array }; labels: number[] }> = {};
      for (const f of FINDINGS) {
        const [absent, present] = ZERO_SHOT_PROMPTS[f].map((list) => promptEnsemble(text.embed(list)));
        const data = new Float32Array(2 * absent.length);
        data.set(absent, 0);
        data.set(present, absent.length);
        zeroShot[f] = { prompts: { rows: 2, cols: absent.length, data }, labels: labels[f] };
      }
      const m = crossModalMetrics({ rows: testKeys.length, cols: d, data: img }, { rows: txt.n, cols: txt.dim, data: txt.data }, zeroShot);
      const examples = [0, 1, 2].filter((i) => i < testKeys.length).map((i) => ({ key: testKeys[i], report: testReports[i], retrieved: testReports[m.top1[i]], rank: m.rank[i] }));
      return {
        summary: {
          name,
          r1_i2t: round(m.r1_i2t),
          r5_i2t: round(m.r5_i2t),
          r5_t2i: round(m.r5_t2i),
          median_rank_i2t: m.median_rank_i2t,
          zeroshot_auc: round(m.zeroshot.hippocampal),
          chance_r5: round(m.chance_r5),
          age_mae: ageMae,
        },
        details: {
          name,
          r10_i2t: round(m.r10_i2t),
          r1_t2i: round(m.r1_t2i),
          r10_t2i: round(m.r10_t2i),
          median_rank_t2i: m.median_rank_t2i,
          chance_r1: round(m.chance_r1),
          chance_median_rank: m.chance_median_rank,
          pairs: m.queries,
          ...Object.fromEntries(Object.entries(m.zeroshot).map(([f, v]) => [`zeroshot_auc_${f}`, round(v)])),
          diagnosis_auc: round(probe.summary.diagnosis_auc),
          truncated_reports: txt.truncated,
        },
        examples,
      };
    };

    const rows: MultimodalSummary[] = [];
    const details: Record<string, unknown>[] = [];
    const curves: { name: string; x: number[]; y: number[] }[] = [];
    const temps: { name: string; x: number[]; y: number[] }[] = [];
    const exampleBlocks: ReportBlock[] = [];
    const seconds: Record<string, number> = {};
    let textSpec: TextPipelineSpec | null = null;

    for (const m of MULTIMODAL_METHODS) {
      const t0 = performance.now();
      ctx.log(`multimodal: training ${m.label}`);
      const config = resolveTrainConfig(multimodalConfig(ctx, base, p, m));
      rmSync(config.out, { recursive: true, force: true }); // a demo run always starts afresh
      const r = await runTraining({ config, keepTask: true, log: ctx.log });
      const task = r.task!;
      let text: TextModel | null = null;
      try {
        task.parts.text.dispose(); // evaluated from the saved text-model.safetensors instead (same weights)
        text = await loadTextModel(config.out);
        textSpec ??= text.pipeline.spec;
        const ev = await evaluate(m.name, task.parts.image, text);
        const tau = (task.describe() as { learnedTemperature?: number }).learnedTemperature ?? null;
        rows.push(ev.summary);
        details.push({ ...ev.details, temperature: tau, steps: r.train.steps });
        exampleBlocks.push({
          type: 'table',
          title: `${m.label}: held-out images and their best-ranked report`,
          columns: [{ key: 'session' }, { key: 'true report' }, { key: 'best-ranked report' }, { key: 'rank of the true report' }],
          rows: ev.examples.map((e) => ({ session: e.key, 'true report': e.report, 'best-ranked report': e.retrieved, 'rank of the true report': e.rank })),
        });
      } finally {
        text?.dispose();
        task.parts.image.dispose();
        for (const v of Object.values(task.variables)) v.dispose();
      }
      const metrics = (await readMetricsLog(path.join(config.out, 'metrics.jsonl'))).records;
      curves.push({ name: m.name, x: metrics.map((x) => x.step as number), y: metrics.map((x) => x.loss as number) });
      temps.push({ name: m.name, x: metrics.map((x) => x.step as number), y: metrics.map((x) => 1 / ((x as { values?: { inv_temperature?: number } }).values?.inv_temperature ?? NaN)) });
      seconds[m.name] = Number(((performance.now() - t0) / 1000).toFixed(1));
      ctx.log(`multimodal: ${m.name} done in ${seconds[m.name]} s (demo at ${ctx.elapsed().toFixed(0)} s)`);
    }

    // Image-only references: the base section's models when they match this budget, else SimCLR trained here.
    const t0 = performance.now();
    const references: string[] = [];
    for (const method of METHODS.filter((x) => x.name === 'simclr' || x.name === 'yaware')) {
      const name = method.name;
      const file = reusableBaseRun(ctx, base, method);
      if (file == null) continue;
      const { encoder } = await loadEncoderFile(file);
      try {
        const ev = await evaluate(`${name} (image only, base run)`, encoder, null);
        rows.push(ev.summary);
        details.push(ev.details);
        references.push(`${name}: ${path.relative(ctx.out, file)}`);
      } finally {
        encoder.dispose();
      }
    }
    if (references.length === 0) {
      ctx.log('multimodal: training the image-only reference (SimCLR, same budget)');
      const config = resolveTrainConfig({ ...methodConfig(ctx, base, { name: 'simclr', label: 'SimCLR', objectives: OBJECTIVES.simclr }), name: 'mm-simclr', out: path.join(ctx.out, 'runs', 'mm-simclr') });
      rmSync(config.out, { recursive: true, force: true });
      const r = await runTraining({ config, keepTask: true, log: ctx.log });
      try {
        const ev = await evaluate('simclr (image only)', r.task!.parts[r.task!.primary], null);
        rows.push(ev.summary);
        details.push({ ...ev.details, steps: r.train.steps });
        references.push(`simclr: trained here (${path.relative(ctx.out, config.out)})`);
      } finally {
        r.task!.dispose();
      }
    }
    // Untrained encoders: where retrieval and zero-shot sit at chance, and what the probe gets from random features.
    const random = createEncoder(base.encoder, { seed: ctx.seed });
    const pipeline = await createTextPipeline(textSpec!);
    const randomText = createEncoder({ ...p.textEncoder, vocabSize: pipeline.vocabSize, maxLength: p.maxLength }, { seed: `${ctx.seed}/text` });
    try {
      const ev = await evaluate('random init', random, { embed: (t) => embedTexts(randomText, pipeline, t) });
      rows.push(ev.summary);
      details.push(ev.details);
    } finally {
      random.dispose();
      randomText.dispose();
    }
    seconds.references = Number(((performance.now() - t0) / 1000).toFixed(1));

    const blocks: ReportBlock[] = [
      comparisonTable(rows as unknown as Record<string, unknown>[], {
        title: 'Held-out subjects: retrieval, zero-shot, age probe',
        caption:
          `${testKeys.length} held-out (volume, report) pairs. r1/r5_i2t: image→report recall@k, r5_t2i: report→image; median_rank_i2t (↓); chance_r5: a random ranking's R@5; ` +
          'zeroshot_auc: "Mild/Moderate/Marked hippocampal atrophy." (averaged) vs "The hippocampi are normal in volume." prompts against the ground truth; age_mae: linear probe on the image representation, fit on training subjects (years, ↓). ' +
          `Image-only references: ${references.join('; ')}; random init: untrained encoders.`,
      }),
      comparisonTable(details, { title: 'More metrics', caption: 'r10, report→image ranks, zero-shot AUC per finding, diagnosis AUC of the image probe, learned temperature τ, training steps.' }),
      { type: 'lineChart', title: 'Training loss', xLabel: 'step', yLabel: 'loss', series: curves },
      { type: 'lineChart', title: 'Learned temperature τ', xLabel: 'step', yLabel: 'τ', series: temps },
    ];
    const section: ReportSection = {
      title: this.title,
      id: 'multimodal',
      intro:
        `${ctx.cohort.trainSubjects.length} training and ${ctx.cohort.testSubjects.length} held-out subjects; ${base.shape.join('×')} volumes with their generated reports ` +
        `(${p.maxLength} tokens kept); ${epochs} epochs of batch ${base.batchSize} per method, image-only reference included; the image encoder is the base section's, the text encoder a ` +
        `${String(p.textEncoder.depth)}-layer transformer of width ${String(p.textEncoder.dim)}.`,
      blocks,
    };
    return {
      summary: rows,
      report: [section, { title: 'Example retrievals (held-out)', id: 'multimodal-examples', blocks: exampleBlocks }],
      table: textTable(rows),
      extra: { multimodal_details: details, multimodal_seconds: seconds },
    };
  },
};

function textTable(rows: MultimodalSummary[]): string {
  const cols: (keyof MultimodalSummary)[] = ['name', 'r1_i2t', 'r5_i2t', 'r5_t2i', 'median_rank_i2t', 'zeroshot_auc', 'chance_r5', 'age_mae'];
  const fmt = (v: unknown) => (v == null ? '—' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v));
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
  return [line(cols as string[]), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => fmt(r[c]))))].join('\n');
}
