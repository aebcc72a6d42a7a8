/**
 * `geoclr demo [--quick] [--out DIR] [--only SECTION]`: the main job. On a fresh machine, with no user data, it
 * generates the synthetic brain cohort, runs each demo section (base: four pretraining methods compared on
 * held-out subjects; later: multimodal, longitudinal, contrastive analysis), and writes DIR/summary.json,
 * DIR/report.html, DIR/embeddings/*.arrow and DIR/runs/*, then prints the tables.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../../src/backend.js';
import { ConfigError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { formatDuration } from '../../src/util/progress.js';
import { writeReport, type ReportSection } from '../../src/report/page.js';
import { mergeNeeds, noSharedCohort, prepareCohort, type DemoContext, type DemoOverrides } from '../demo/context.js';
import { DEMO_SECTIONS } from '../demo/sections/index.js';
import type { Command } from '../cli.js';

const HELP = `usage: geoclr demo [--quick] [--out DIR] [--only SECTION] [--seed S]

Generates a synthetic brain MRI cohort (from the Colin27 template, with exact age/sex/site/diagnosis ground
truth), pretrains the same small 3D encoder with several objectives and compares them on held-out subjects.

  --quick          a smaller run (≤ 2 min per section on 2 cores; default ≤ 10 min)
  --out DIR        output folder (default ./geoclr-demo): summary.json, report.html, embeddings/, runs/, cohort/
  --only SECTION   run one section: ${DEMO_SECTIONS.map((s) => s.name).join(', ')}
  --seed S         seed of the cohort, the split, initialisation and data order (default 0)

advanced (quick checks; they override every section's sizes):
  --subjects N     cohort size (contrastive-analysis: also 4·N digit images)
  --epochs N       training epochs per method (contrastive-analysis: steps per method)
  --shape X,Y,Z    volume grid`;

export const command: Command = {
  summary: 'the main job: synthetic cohort → pretrain with 4 objectives → held-out table, report.html, embeddings',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        out: { type: 'string', default: 'geoclr-demo' },
        only: { type: 'string' },
        seed: { type: 'string', default: '0' },
        subjects: { type: 'string' },
        epochs: { type: 'string' },
        shape: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const seed = Number(values.seed);
    if (!(Number.isInteger(seed) && seed >= 0)) throw new ConfigError('--seed', `must be an integer ≥ 0, got '${values.seed}'`);
    const positive = (name: string, v: string | undefined) => {
      if (v == null) return undefined;
      const n = Number(v);
      if (!(Number.isInteger(n) && n >= 1)) throw new ConfigError(name, `must be a positive integer, got '${v}'`);
      return n;
    };
    const overrides: DemoOverrides = { subjects: positive('--subjects', values.subjects), epochs: positive('--epochs', values.epochs) };
    if (values.shape != null) {
      const shape = values.shape.split(',').map(Number);
      if (shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n >= 4)) throw new ConfigError('--shape', `must be X,Y,Z integers ≥ 4, got '${values.shape}'`);
      overrides.shape = shape as [number, number, number];
    }
    const sections = values.only ? DEMO_SECTIONS.filter((s) => s.name === values.only) : DEMO_SECTIONS;
    if (sections.length === 0) throw new ConfigError('--only', `unknown section '${values.only}'; expected one of ${DEMO_SECTIONS.map((s) => s.name).join(', ')}`);
    const quick = values.quick;
    const out = path.resolve(values.out);
    const t0 = performance.now();
    const log = (m: string) => console.error(`demo: ${m}`);
    const backend = await initBackend();
    log(`backend ${backend.choice}, ${quick ? 'quick' : 'default'} mode, output ${out}`);
    let needs = mergeNeeds(sections.map((s) => s.cohort(quick)), { subjects: 0, visits: 1, sites: 4, shape: [32, 40, 32] });
    needs = { ...needs, ...(overrides.subjects ? { subjects: overrides.subjects } : {}), ...(overrides.shape ? { shape: overrides.shape, spacing: undefined } : {}) };
    // Sections that bring their own cohort (longitudinal) ask for no subjects of the shared one.
    const shared = sections.some((s) => (s.cohort(quick).subjects ?? 0) > 0);
    const cohort = shared ? await prepareCohort(out, needs, seed, log) : noSharedCohort(out, needs);
    const ctx: DemoContext = { out, quick, overrides, seed, backend, cohort, elapsed: () => (performance.now() - t0) / 1000, log };

    const summary: Record<string, unknown> = {};
    const report: ReportSection[] = [];
    const tables: string[] = [];
    const sectionSeconds: Record<string, number> = {};
    for (const s of sections) {
      const ts = performance.now();
      log(`section ${s.name}: ${s.title}`);
      const r = await s.run(ctx);
      summary[s.summaryKey] = r.summary;
      Object.assign(summary, r.extra ?? {});
      report.push(...r.report);
      tables.push(`${s.title}\n${r.table}`);
      sectionSeconds[s.name] = Number(((performance.now() - ts) / 1000).toFixed(1));
    }
    const seconds = Number(ctx.elapsed().toFixed(1));
    Object.assign(summary, {
      backend: backend.choice,
      seconds,
      quick,
      seed,
      sections: sectionSeconds,
      cohort: { ...cohort.needs, train_subjects: cohort.trainSubjects.length, test_subjects: cohort.testSubjects.length, seconds: Number(cohort.seconds.toFixed(1)) },
    });
    await writeFileAtomic(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    const reportFile = await writeReport(out, {
      title: 'geoclr demo',
      subtitle: 'Geometric contrastive pretraining on a synthetic brain MRI cohort with known ground truth',
      info: { backend: backend.choice, mode: quick ? 'quick' : 'default', seed, 'total time': formatDuration(seconds), sections: sections.map((s) => s.name).join(', ') },
      metrics: false,
      sections: report,
    });
    console.log(`\n${tables.join('\n\n')}\n`);
    console.log(`${formatDuration(seconds)} on ${backend.choice}; summary: ${path.join(out, 'summary.json')}; report: ${reportFile}`);
    return 0;
  },
};
