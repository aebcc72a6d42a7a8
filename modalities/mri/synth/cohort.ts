/**
 * `synthCohort`: writes a BIDS-like synthetic brain cohort — sub-XXX/ses-YY/anat/*_T1w.nii.gz, participants.tsv,
 * per-subject sessions files, a flat manifest.tsv with every scan's ground truth, and dataset_description.json.
 * Volumes are rendered in worker threads; the design (and so every value) depends only on the options.
 */
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../../../src/errors.js';
import { writeFileAtomic } from '../../../src/util/fs.js';
import { ProgressBar } from '../../../src/util/progress.js';
import { stopWorker } from '../../../src/util/workers.js';
import { targetGrid, type Grid } from '../resample.js';
import { type DesignOptions, designCohort, MANIFEST_COLUMNS, PARTICIPANT_COLUMNS, SESSION_COLUMNS } from './design.js';
import { type RenderJob, writeScan } from './render.js';
import { loadColin27 } from './template.js';

export interface SynthCohortOptions extends DesignOptions {
  /** Output folder (created; must be empty or absent unless `overwrite`). */
  out: string;
  /** Voxel size in mm (default 2, the template's). */
  spacing?: number | number[];
  /** Grid [X, Y, Z] (default: the MNI field of view at `spacing`). */
  shape?: number[];
  /** Worker threads (default min(2, CPUs)); 0 renders on the calling thread. */
  workers?: number;
  /** gzip level 1–9 (default 3: as fast as 1, 2% larger files than 6). */
  gzipLevel?: number;
  /** Allow writing into a non-empty folder. */
  overwrite?: boolean;
  /** Show a progress bar (default true). */
  progress?: boolean;
}

export interface SynthCohortResult {
  out: string;
  subjects: number;
  scans: number;
  grid: Grid;
  seconds: number;
  manifest: string;
}

function cell(v: unknown): string {
  if (v == null) return 'n/a';
  return String(v);
}

function tsv(rows: Record<string, unknown>[], columns: readonly string[]): string {
  return [columns.join('\t'), ...rows.map((r) => columns.map((c) => cell(r[c])).join('\t'))].join('\n') + '\n';
}

/** The output grid for the options: the template's MNI field of view at the requested spacing/shape. */
export function cohortGrid(opts: Pick<SynthCohortOptions, 'spacing' | 'shape'>): Grid {
  const { t1 } = loadColin27();
  return targetGrid(t1, { spacing: opts.spacing ?? (opts.shape ? undefined : 2), shape: opts.shape });
}

async function renderAll(root: string, jobs: RenderJob[], grid: Grid, nWorkers: number, gzipLevel: number, chunk: number, bar: ProgressBar | null): Promise<void> {
  if (nWorkers === 0) {
    for (const job of jobs) {
      writeScan(root, job, grid, gzipLevel);
      bar?.tick();
    }
    return;
  }
  // a subject's visits go to one worker together: they share its anatomy (sampling map)
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(nWorkers, jobs.length) }, () =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { root, grid, gzipLevel } });
        const feed = () => {
          if (next >= jobs.length) {
            stopWorker(worker).then(() => resolve(), reject);
            return;
          }
          const batch = jobs.slice(next, next + chunk);
          next += batch.length;
          worker.postMessage(batch);
        };
        worker.on('message', (msg: { done?: number; error?: string }) => {
          if (msg.error) {
            void stopWorker(worker);
            reject(new Error(msg.error));
            return;
          }
          bar?.tick(msg.done ?? 0);
          feed();
        });
        worker.on('error', reject);
        feed();
      }),
    ),
  );
}

/**
 * Generates a synthetic cohort from the Colin27 template.
 *
 * ```ts
 * await synthCohort({ out: 'cohort', subjects: 200, visits: 3, seed: 1, spacing: 4 });
 * ```
 */
export async function synthCohort(opts: SynthCohortOptions): Promise<SynthCohortResult> {
  const t0 = performance.now();
  if (!opts.out) throw new ConfigError('out', 'an output folder is required');
  const out = path.resolve(opts.out);
  if (existsSync(out) && readdirSync(out).length > 0 && !opts.overwrite) {
    throw new ConfigError('out', `${out} is not empty (pass overwrite / --force to write into it)`);
  }
  const gzipLevel = opts.gzipLevel ?? 3;
  if (!(Number.isInteger(gzipLevel) && gzipLevel >= 1 && gzipLevel <= 9)) throw new ConfigError('gzipLevel', `${gzipLevel} must be in 1..9`);
  const workers = opts.workers ?? Math.min(2, availableParallelism());
  if (!(Number.isInteger(workers) && workers >= 0)) throw new ConfigError('workers', `${workers} must be an integer ≥ 0`);
  const grid = cohortGrid(opts);
  const design = designCohort(opts);
  const jobs: RenderJob[] = design.scans.map(({ render, ...row }) => ({ row, render }));
  const bar = opts.progress === false ? null : new ProgressBar({ label: 'synth cohort', total: jobs.length, unit: 'volumes' });
  await renderAll(out, jobs, grid, workers, gzipLevel, opts.visits ?? 3, bar);
  bar?.finish();

  // Tables last: a folder without manifest.tsv is an unfinished run.
  for (const p of design.participants) {
    const rows = jobs.filter((j) => j.row.subject_id === p.participant_id).map((j) => j.row as unknown as Record<string, unknown>);
    await writeFileAtomic(path.join(out, p.participant_id, `${p.participant_id}_sessions.tsv`), tsv(rows, SESSION_COLUMNS));
  }
  await writeFileAtomic(path.join(out, 'participants.tsv'), tsv(design.participants as unknown as Record<string, unknown>[], PARTICIPANT_COLUMNS));
  const description = {
    Name: 'geoclr synthetic brain cohort (Colin27 phantom)',
    BIDSVersion: '1.8.0',
    DatasetType: 'raw',
    GeneratedBy: [{ Name: 'geoclr synth cohort', Description: 'DATA.md recipe 3; ground truth in manifest.tsv' }],
    geoclr: {
      subjects: design.participants.length,
      visits: opts.visits ?? 3,
      seed: opts.seed ?? 0,
      sites: design.sites.map(({ bias_pattern: _p, ...s }) => s),
      interval: opts.interval ?? 1,
      orientation: opts.orientation ?? 'RAS',
      grid: { shape: grid.shape, affine: grid.affine },
    },
  };
  await writeFileAtomic(path.join(out, 'dataset_description.json'), JSON.stringify(description, null, 2) + '\n');
  const manifest = path.join(out, 'manifest.tsv');
  await writeFileAtomic(manifest, tsv(jobs.map((j) => j.row as unknown as Record<string, unknown>), MANIFEST_COLUMNS));
  return { out, subjects: design.participants.length, scans: jobs.length, grid, seconds: (performance.now() - t0) / 1000, manifest };
}
