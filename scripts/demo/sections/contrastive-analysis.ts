/**
 * Demo section `contrastive-analysis`: SepCLR, cVAE, MM-cVAE and a SimCLR single-space baseline on the same budget,
 * on digits on texture (2D) and on the demo's brain cohort (3D: controls = background, patients = target), probed
 * on held-out samples (the cohort's held-out subjects). The work is done by `runContrastiveAnalysisDemo`
 * (scripts/ca/demo.ts); this file adapts it to the demo's context.
 *
 * The advanced demo options (quick checks, tests) shrink it: `--epochs N` sets the training steps of every method,
 * `--subjects N` also sizes digits on texture to 4·N images.
 */
import { runContrastiveAnalysisDemo } from '../../ca/demo.js';
import type { DemoContext, DemoSection, DemoSectionResult } from '../context.js';
import { baseSection } from './base.js';

export const contrastiveAnalysisSection: DemoSection = {
  name: 'contrastive-analysis',
  summaryKey: 'contrastive_analysis',
  title: 'Contrastive analysis: common vs salient spaces (SepCLR, cVAE, MM-cVAE, SimCLR)',
  cohort: (quick) => baseSection.cohort(quick), // one cohort serves every section; patients are a third of it
  async run(ctx: DemoContext): Promise<DemoSectionResult> {
    const r = await runContrastiveAnalysisDemo({
      out: ctx.out,
      quick: ctx.quick,
      seed: ctx.seed,
      cohortManifest: ctx.cohort.manifest,
      steps: ctx.overrides.epochs,
      imagesN: ctx.overrides.subjects ? 4 * ctx.overrides.subjects : undefined,
      log: ctx.log,
    });
    const seconds: Record<string, number> = {};
    for (const row of r.rows) seconds[`${row.dataset}/${row.name}`] = row.train_seconds;
    return { summary: r.rows, report: r.report, table: r.table, extra: { contrastive_analysis_seconds: { total: Number(r.seconds.toFixed(1)), train: seconds } } };
  },
};
