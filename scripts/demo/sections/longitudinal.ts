/**
 * Demo section `longitudinal`: a synthetic cohort with several visits per subject (each subject's brain ages at
 * its own, exactly known progression rate), the same small 3D encoder pretrained on the training subjects with a
 * cross-sectional objective and with longitudinal ones on the same budget (steps × batch), then evaluated on
 * held-out subjects: the years between two visits from their embeddings (MAE), each subject's progression rate from
 * a patient-level sequence model over its visits (Spearman ρ), subject re-identification across visits (top-1),
 * and age at scan (MAE). Methods:
 *   random          — the untrained encoder (reference);
 *   yaware          — cross-sectional y-Aware InfoNCE, age RBF σ = 5 y, random batches of visits;
 *   longitudinal    — LOSSES.md §10: y-Aware with δ(subject)·RBF_σt(Δt) + the LSSL direction term, P × K batches;
 *   yaware+direction — y-Aware on age + the direction term, P × K batches.
 * Writes visit and patient embedding tables and trajectory maps (each subject's visits joined in time order).
 */
import path from 'node:path';
import { evaluateLongitudinal, type LongitudinalEvaluation } from '../../../src/longitudinal/evaluate.js';
import { comparisonTable } from '../../../src/report/evaluation.js';
import type { ReportBlock } from '../../../src/report/blocks.js';
import type { ReportSection } from '../../../src/report/page.js';
import { dataModality, resolveDataConfig } from '../../../src/train/data.js';
import { embedAll, type EmbeddingSet } from '../../../src/train/embed.js';
import { writeEmbeddingSet } from '../../train/tables.js';
import '../../train/modalities.js';
import { formatLongitudinal } from '../../commands/longitudinal.js';
import { subjectColumns, trajectoryMap, writePatientEmbeddings } from '../../longitudinal/patients.js';
import { demoMethodModel } from '../method-model.js';
import { prepareCohort, type DemoContext, type DemoSection, type DemoSectionResult } from '../context.js';
import { DEMO_AUGMENT } from './base.js';

export interface LongitudinalParams {
  subjects: number;
  visits: number;
  /** Years between visits (synthetic cohort option). */
  interval: number;
  shape: [number, number, number];
  encoder: Record<string, unknown>;
  /** Visits per batch (P subjects × K visits for the longitudinal methods; random visits for the cross-sectional one). */
  batchSize: number;
  visitsPerSubject: number;
  /** Optimisation steps per method (the same budget for every method). */
  steps: number;
  lr: number;
}

/** A small ResNet-style 3D encoder (one block per stage): three trainings fit the section's budget. */
export const LONGITUDINAL_ENCODER = { arch: 'resnet3d', widths: [4, 8, 16, 32], depths: [1, 1, 1, 1], head: { hidden: [64], out: 64, batchNorm: true } };

/**
 * Sizes per mode (README, longitudinal section: about 200 s of CPU for the default run, 90–110 s for the quick
 * one). Quick keeps enough held-out subjects (36) and steps (150, on smaller volumes) for the rate to say something;
 * the cohort's rendering is a third of its time.
 */
export const LONGITUDINAL_PARAMS: Record<'default' | 'quick', LongitudinalParams> = {
  default: { subjects: 150, visits: 4, interval: 2, shape: [24, 28, 24], encoder: LONGITUDINAL_ENCODER, batchSize: 16, visitsPerSubject: 2, steps: 200, lr: 3e-3 },
  quick: { subjects: 120, visits: 3, interval: 2, shape: [16, 20, 16], encoder: LONGITUDINAL_ENCODER, batchSize: 16, visitsPerSubject: 2, steps: 150, lr: 3e-3 },
};

const AGE = { name: 'yaware', temperature: 0.1, metadata: ['age'], kernel: { type: 'rbf', sigma: 5 } };

export interface LongitudinalMethod {
  name: string;
  label: string;
  /** null: untrained. */
  task: Record<string, unknown> | null;
  /** Subject-aware batches (P × K) or random batches of visits. */
  sampler: 'subjects' | 'random';
}

export const LONGITUDINAL_METHODS: LongitudinalMethod[] = [
  { name: 'random', label: 'random init', task: null, sampler: 'random' },
  { name: 'yaware', label: 'y-Aware (age, cross-sectional)', task: { name: 'contrastive', objectives: [AGE] }, sampler: 'random' },
  {
    name: 'longitudinal',
    label: 'longitudinal: subject × time kernel + direction',
    task: { name: 'longitudinal', objectives: [{ name: 'longitudinal-yaware', temperature: 0.1, sigmaTime: 2 }], direction: { weight: 1 } },
    sampler: 'subjects',
  },
  { name: 'yaware+direction', label: 'y-Aware (age) + direction', task: { name: 'longitudinal', objectives: [AGE], direction: { weight: 1 } }, sampler: 'subjects' },
];

export type LongitudinalSummary = { name: string } & Pick<LongitudinalEvaluation, 'interval_mae_years' | 'rate_spearman' | 'reid_top1' | 'age_mae'>;

function params(ctx: DemoContext): LongitudinalParams {
  const p = { ...LONGITUDINAL_PARAMS[ctx.quick ? 'quick' : 'default'] };
  if (ctx.overrides.subjects) p.subjects = ctx.overrides.subjects;
  if (ctx.overrides.shape) p.shape = ctx.overrides.shape;
  return p;
}

/** Whole epochs reaching the step budget with this method's batches per epoch (the advanced --epochs overrides). */
function epochsFor(ctx: DemoContext, p: LongitudinalParams, m: LongitudinalMethod, trainSubjects: number): number {
  if (ctx.overrides.epochs) return ctx.overrides.epochs;
  const perEpoch = m.sampler === 'subjects' ? Math.floor(trainSubjects / (p.batchSize / p.visitsPerSubject)) : Math.floor((trainSubjects * p.visits) / p.batchSize);
  return Math.max(1, Math.ceil(p.steps / Math.max(1, perEpoch)));
}

/** The training config of one method, as a user would write it. */
export function longitudinalConfig(ctx: DemoContext, p: LongitudinalParams, m: LongitudinalMethod, manifest: string, trainSubjects: number): Record<string, unknown> {
  const data: Record<string, unknown> = { manifest, filter: { split: 'train' }, preprocess: { shape: p.shape }, augment: DEMO_AUGMENT, views: 2, workers: 1, cache: true };
  const run = `longitudinal-${m.name.replace('+', '-')}`;
  return {
    name: run,
    seed: ctx.seed,
    out: path.join(ctx.out, 'runs', run),
    data: m.sampler === 'subjects' ? { modality: 'mri-longitudinal', visitsPerSubject: p.visitsPerSubject, ...data } : { modality: 'mri', ...data },
    encoder: p.encoder,
    task: m.task,
    optimizer: { name: 'adamw', lr: p.lr, weightDecay: 1e-4 },
    schedule: { name: 'cosine', warmupSteps: 10, minFactor: 0.05 },
    clipGradNorm: 10,
    epochs: epochsFor(ctx, p, m, trainSubjects),
    batchSize: Math.min(p.batchSize, trainSubjects - (trainSubjects % p.visitsPerSubject)),
    checkpoint: { everySteps: 10_000, keep: 1 },
    evaluation: false,
  };
}

function round(v: number, d = 4): number {
  return Number.isFinite(v) ? Number(v.toFixed(d)) : NaN;
}

export const longitudinalSection: DemoSection = {
  name: 'longitudinal',
  summaryKey: 'longitudinal',
  title: 'Longitudinal objectives on held-out subjects',
  // Its own cohort (several visits per subject, 2 years apart): the shared one stays cross-sectional.
  cohort: () => ({}),
  async run(ctx: DemoContext): Promise<DemoSectionResult> {
    const p = params(ctx);
    const dir = path.join(ctx.out, 'longitudinal');
    const cohort = await prepareCohort(dir, { subjects: p.subjects, visits: p.visits, interval: p.interval, shape: p.shape, sites: 4 }, ctx.seed, ctx.log);
    const nTrain = cohort.trainSubjects.length;
    const summaries: LongitudinalSummary[] = [];
    const maps: ReportBlock[] = [];
    const curves: { name: string; x: number[]; y: number[] }[] = [];
    const seconds: Record<string, number> = {};
    let baselines: LongitudinalEvaluation['baselines'] | null = null;
    let counts: LongitudinalEvaluation['counts'] | null = null;
    const steps: Record<string, number> = {};
    for (const m of LONGITUDINAL_METHODS) {
      const t0 = performance.now();
      if (m.task != null) ctx.log(`longitudinal: training ${m.label}`);
      const { model, dispose, steps: taken, curve } = await demoMethodModel(ctx, p.encoder, m.task == null ? null : longitudinalConfig(ctx, p, m, cohort.manifest, nTrain));
      if (curve) {
        steps[m.name] = taken;
        curves.push({ name: m.name, ...curve });
      }
      try {
        const all = resolveDataConfig({ modality: 'mri', manifest: cohort.manifest, preprocess: { shape: p.shape }, augment: 'none', workers: 1 }, ctx.out);
        const source = await dataModality('mri').openEmbed(all, { batchSize: 32 });
        let set: EmbeddingSet;
        try {
          set = await embedAll(model, source, { label: `embed ${m.name}` });
        } finally {
          await source.close();
        }
        const num = (c: string) => set.meta[c].map((v) => v as number);
        const split = set.meta.split.map(String);
        const times = num('time_years');
        const ev = evaluateLongitudinal(
          { embeddings: { rows: set.n, cols: set.dim, data: set.embeddings }, subjects: set.subjects, times, split, age: num('age'), rate: num('rate') },
          { seed: ctx.seed },
        );
        baselines ??= ev.baselines;
        counts ??= ev.counts;
        summaries.push({ name: m.name, interval_mae_years: round(ev.interval_mae_years), rate_spearman: round(ev.rate_spearman), reid_top1: round(ev.reid_top1), age_mae: round(ev.age_mae, 3) });
        const test = Array.from({ length: set.n }, (_, i) => i).filter((i) => split[i] === 'test');
        const pick = (values: unknown[]) => test.map((i) => values[i]);
        maps.push(
          trajectoryMap({
            title: m.label,
            embeddings: test.map((i) => set.embeddings.subarray(i * set.dim, (i + 1) * set.dim)),
            subjects: pick(set.subjects) as string[],
            times: pick(times) as number[],
            colorBy: { rate: pick(set.meta.rate), diagnosis: pick(set.meta.diagnosis), years: pick(times) },
            seed: ctx.seed,
          }),
        );
        const embDir = path.join(ctx.out, 'embeddings');
        const file = `longitudinal-${m.name.replace('+', '-')}`;
        const metadata = { model: `demo longitudinal ${m.name} (${String(p.encoder.arch)})`, weights_sha256: null, loss: m.task == null ? null : { name: m.name, task: m.task }, manifest: cohort.manifest };
        await writeEmbeddingSet(path.join(embDir, `${file}.arrow`), set, { modality: 'T1w', metadata });
        await writePatientEmbeddings(path.join(embDir, `${file}-patients.arrow`), ev.patients, {
          target: 'rate',
          subjectMeta: subjectColumns(set.subjects, set.meta as Record<string, ArrayLike<string | number | null>>, ['time_years', 'age', 'visit', 'split']),
          metadata: { ...metadata, model: `${metadata.model} → VisitSequenceModel (rate head)` },
        });
      } finally {
        dispose();
      }
      seconds[m.name] = Number(((performance.now() - t0) / 1000).toFixed(1));
      ctx.log(`longitudinal: ${m.name} done in ${seconds[m.name]} s (demo at ${ctx.elapsed().toFixed(0)} s)`);
    }
    const blocks: ReportBlock[] = [
      comparisonTable(
        [...summaries, ...(baselines ? [{ name: '(predict the training mean)', interval_mae_years: round(baselines.interval_mae_years), rate_spearman: 0, reid_top1: null, age_mae: round(baselines.age_mae, 3) }] : [])],
        {
          title: 'Held-out subjects',
          caption:
            `interval_mae_years: years between two visits of a held-out subject predicted from the difference of their embeddings (ridge fit on training subjects' pairs; ${counts?.testPairs} pairs, ↓). ` +
            `rate_spearman: each held-out subject's progression rate from a time-aware sequence model over its visits (trained on the training subjects; ${counts?.testSubjects} subjects, ↑). ` +
            'reid_top1: the nearest other held-out visit is of the same subject (↑). age_mae: age at scan from one visit (ridge, ↓).',
        },
      ),
    ];
    if (curves.length) blocks.push({ type: 'lineChart', title: 'Training loss', xLabel: 'step', yLabel: 'loss', series: curves });
    const report: ReportSection[] = [
      {
        title: this.title,
        id: 'longitudinal',
        intro: `${nTrain} training and ${cohort.testSubjects.length} held-out subjects × ${p.visits} visits (${p.interval} years apart, jittered); ${p.shape.join('×')} volumes; ${[...new Set(Object.values(steps))].join(' / ') || p.steps} steps of ${p.batchSize} visits (2 views) per method (whole epochs); the longitudinal methods see ${p.batchSize / p.visitsPerSubject} subjects × ${p.visitsPerSubject} visits per batch.`,
        blocks,
      },
      { title: 'Trajectories of held-out subjects (each subject’s visits joined in time order)', id: 'longitudinal-maps', blocks: [{ type: 'grid', blocks: maps }] },
    ];
    return {
      summary: summaries,
      report,
      table: formatLongitudinal(summaries, baselines ?? undefined),
      extra: { longitudinal_seconds: seconds, longitudinal_steps: steps, longitudinal_cohort: { subjects: p.subjects, visits: p.visits, interval: p.interval, shape: p.shape, train_subjects: nTrain, test_subjects: cohort.testSubjects.length, seconds: Number(cohort.seconds.toFixed(1)) } },
    };
  },
};
