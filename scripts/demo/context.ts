/**
 * What every demo section shares: the output folder, the mode (--quick or default), the backend, one synthetic
 * cohort (generated once, reused by every section and by later runs with the same options), its subject split
 * into training and held-out subjects, and the time budget.
 *
 * Budget rules (README, "Training and the demo"): each section's default run stays within its share of ~10 min
 * and its `--quick` run within 2 min on a 2-core machine; a section sizes its training by measuring, not hoping.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../src/util/fs.js';
import { Rng } from '../../src/util/random.js';
import type { BackendInfo } from '../../src/backend.js';
import type { ReportSection } from '../../src/report/page.js';
import { readManifest, synthCohort, type Manifest } from '../../modalities/mri/index.js';

/** The cohort a section needs; the demo generates the union of what the selected sections ask for. */
export interface CohortNeeds {
  subjects: number;
  visits: number;
  /** Grid [X, Y, Z] of the volumes. */
  shape: [number, number, number];
  /**
   * Voxel size in mm. Absent: the grid spans the template's whole field of view (≈ 181×217×181 mm); set, the grid
   * is the central `shape × spacing` mm of it (a crop at a finer resolution).
   */
  spacing?: number;
  sites: number;
  /** Years between visits (synthetic cohort option; default 1). */
  interval?: number;
}

export interface DemoCohort {
  dir: string;
  /** manifest.tsv of the cohort plus a `split` column ('train' / 'test' by subject): `data.filter` selects. */
  manifest: string;
  rows: Manifest['rows'];
  trainSubjects: string[];
  testSubjects: string[];
  needs: CohortNeeds;
  /** Seconds spent generating it (0 when reused). */
  seconds: number;
}

/** Advanced overrides (quick checks, tests): they replace every section's own sizes. */
export interface DemoOverrides {
  subjects?: number;
  epochs?: number;
  shape?: [number, number, number];
}

export interface DemoContext {
  out: string;
  quick: boolean;
  overrides: DemoOverrides;
  seed: number;
  backend: BackendInfo;
  cohort: DemoCohort;
  /** Seconds since the demo started. */
  elapsed(): number;
  log(message: string): void;
}

export interface DemoSectionResult {
  /** Goes to summary.json under the section's `summaryKey`. */
  summary: unknown;
  report: ReportSection[];
  /** Printed at the end (a text table). */
  table: string;
  /** Extra top-level keys of summary.json (rarely needed). */
  extra?: Record<string, unknown>;
}

export interface DemoSection {
  /** `--only NAME`. */
  name: string;
  /** Key of summary.json the section writes (`methods` for base). */
  summaryKey: string;
  title: string;
  /** Cohort requirements in each mode. */
  cohort(quick: boolean): Partial<CohortNeeds>;
  run(ctx: DemoContext): Promise<DemoSectionResult>;
}

/** Fraction of subjects held out for evaluation. */
export const TEST_FRACTION = 0.3;

export function mergeNeeds(needs: Partial<CohortNeeds>[], base: CohortNeeds): CohortNeeds {
  const out = { ...base };
  for (const n of needs) {
    out.subjects = Math.max(out.subjects, n.subjects ?? 0);
    out.visits = Math.max(out.visits, n.visits ?? 0);
    out.sites = Math.max(out.sites, n.sites ?? 0);
    if (n.shape) out.shape = n.shape;
    if (n.spacing) out.spacing = n.spacing;
  }
  return out;
}

/** The shared cohort of a run whose sections all bring their own: nothing is generated. */
export function noSharedCohort(out: string, needs: CohortNeeds): DemoCohort {
  return { dir: path.join(out, 'cohort'), manifest: '', rows: [], trainSubjects: [], testSubjects: [], needs: { ...needs, subjects: 0 }, seconds: 0 };
}

/** Generates the cohort into `DIR/cohort` (or reuses one generated with the same options) and splits subjects. */
export async function prepareCohort(out: string, needs: CohortNeeds, seed: number, log: (m: string) => void): Promise<DemoCohort> {
  const dir = path.join(out, 'cohort');
  const stamp = path.join(dir, 'demo-cohort.json');
  const wanted = JSON.stringify({ ...needs, seed });
  let seconds = 0;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === wanted && existsSync(path.join(dir, 'manifest.tsv'))) {
    log(`cohort: reusing ${dir}`);
  } else {
    const t0 = performance.now();
    const fov = needs.spacing ? ` of ${needs.spacing} mm (central ${needs.shape.map((n) => n * needs.spacing!).join('×')} mm)` : '';
    log(`cohort: ${needs.subjects} subjects × ${needs.visits} visit(s), ${needs.shape.join('×')} voxels${fov}, ${needs.sites} sites → ${dir}`);
    await synthCohort({ out: dir, subjects: needs.subjects, visits: needs.visits, sites: needs.sites, seed, shape: needs.shape, spacing: needs.spacing, overwrite: true, ...(needs.interval ? { interval: needs.interval } : {}) });
    await writeFileAtomic(stamp, wanted + '\n');
    seconds = (performance.now() - t0) / 1000;
  }
  const base = await readManifest(path.join(dir, 'manifest.tsv'));
  const subjects = [...new Set(base.rows.map((r) => r.subject_id))].sort();
  const order = new Rng(`${seed}/demo-split`).shuffle([...subjects]);
  const nTest = Math.max(2, Math.round(subjects.length * TEST_FRACTION));
  const testSubjects = order.slice(0, nTest).sort();
  const test = new Set(testSubjects);
  const trainSubjects = subjects.filter((s) => !test.has(s));
  // The cohort's manifest with a split column, beside it (paths stay relative to the cohort folder).
  const lines = readFileSync(path.join(dir, 'manifest.tsv'), 'utf8').trimEnd().split('\n');
  const header = lines[0].split('\t');
  const sub = header.indexOf('subject_id');
  const text = [`${lines[0]}\tsplit`, ...lines.slice(1).map((l) => `${l}\t${test.has(l.split('\t')[sub]) ? 'test' : 'train'}`)].join('\n') + '\n';
  const manifest = path.join(dir, 'demo-manifest.tsv');
  await writeFileAtomic(manifest, text);
  const rows = (await readManifest(manifest)).rows;
  return { dir, manifest, rows, trainSubjects, testSubjects, needs, seconds };
}
