/**
 * Subject-aware batches: P subjects × K visits per batch, so that every batch holds within-subject visit pairs
 * for the longitudinal terms (time kernel, direction) and between-subject negatives. Seeded: the plan of an
 * epoch depends only on (seed, epoch). `SubjectBatchLoader` streams such batches through the MRI
 * `CohortLoader` (same workers, preprocessing, augmentation, prefetch and bad-file handling).
 */
import { ConfigError } from '../../src/errors.js';
import { Rng } from '../../src/util/random.js';
import { CohortLoader, type LoaderOptions } from '../mri/loader.js';
import type { LongitudinalCohort, SubjectTimeline } from './cohort.js';

export interface SubjectSamplerOptions {
  /** Subjects per batch, P (default 8). */
  subjectsPerBatch?: number;
  /** Visits per subject, K ≥ 1 (default 2); a subject with more visits contributes a random K of them each epoch. */
  visitsPerSubject?: number;
  /** Include single-visit subjects (default false: every subject in a batch has a within-subject pair when K ≥ 2). */
  includeSingleVisit?: boolean;
  /** Shuffle subjects (and draw visit subsets) each epoch (default true). */
  shuffle?: boolean;
  /** Drop a last batch with fewer than P subjects (default true: keeps batches the same shape). */
  dropLast?: boolean;
  seed?: number;
}

export interface ResolvedSamplerOptions {
  subjectsPerBatch: number;
  visitsPerSubject: number;
  includeSingleVisit: boolean;
  shuffle: boolean;
  dropLast: boolean;
  seed: number;
}

export function resolveSamplerOptions(o: SubjectSamplerOptions = {}, field = 'sampler'): ResolvedSamplerOptions {
  const int = (name: string, v: number, min: number) => {
    if (!(Number.isInteger(v) && v >= min)) throw new ConfigError(`${field}.${name}`, `${JSON.stringify(v)} must be an integer ≥ ${min}`);
    return v;
  };
  return {
    subjectsPerBatch: int('subjectsPerBatch', o.subjectsPerBatch ?? 8, 1),
    visitsPerSubject: int('visitsPerSubject', o.visitsPerSubject ?? 2, 1),
    includeSingleVisit: o.includeSingleVisit ?? false,
    shuffle: o.shuffle ?? true,
    dropLast: o.dropLast ?? true,
    seed: o.seed ?? 0,
  };
}

/** The K visits a subject contributes in an epoch: all when it has ≤ K, else a seeded subset kept in visit order. */
function pickVisits(s: SubjectTimeline, k: number, rng: Rng | null, usable: (index: number) => boolean): number[] {
  const visits = s.visits.filter((v) => usable(v.index));
  if (visits.length <= k) return visits.map((v) => v.index);
  const chosen = rng ? rng.permutation(visits.length).slice(0, k).sort((a, b) => a - b) : Array.from({ length: k }, (_, i) => i);
  return chosen.map((i) => visits[i].index);
}

/**
 * Row indices (into `cohort.rows`) of each batch of an epoch: P subjects × up to K visits, subject blocks in
 * visit order. `usable` filters rows (e.g. files a loader skipped).
 */
export function subjectBatchPlan(
  cohort: LongitudinalCohort,
  epoch: number,
  options: SubjectSamplerOptions | ResolvedSamplerOptions = {},
  usable: (index: number) => boolean = () => true,
): number[][] {
  const o = resolveSamplerOptions(options);
  const minVisits = o.includeSingleVisit || o.visitsPerSubject === 1 ? 1 : 2;
  const pool = cohort.subjects.filter((s) => s.visits.filter((v) => usable(v.index)).length >= minVisits);
  if (pool.length === 0) {
    throw new ConfigError('sampler', `no subject has ${minVisits} usable visit(s) (${cohort.describe()})`);
  }
  if (o.dropLast && pool.length < o.subjectsPerBatch) {
    throw new ConfigError(
      'sampler.subjectsPerBatch',
      `${o.subjectsPerBatch} subjects per batch, but only ${pool.length} subject(s) have ${minVisits}+ visits; lower it or set dropLast: false`,
    );
  }
  const rng = o.shuffle ? new Rng(`${o.seed}/subjects/${epoch}`) : null;
  const order = rng ? rng.shuffle([...pool]) : pool;
  const plan: number[][] = [];
  for (let s = 0; s < order.length; s += o.subjectsPerBatch) {
    const block = order.slice(s, s + o.subjectsPerBatch);
    if (block.length < o.subjectsPerBatch && o.dropLast) break;
    plan.push(block.flatMap((subject) => pickVisits(subject, o.visitsPerSubject, rng, usable)));
  }
  return plan;
}

export type SubjectBatchLoaderOptions = Omit<LoaderOptions, 'batchSize' | 'shuffle' | 'dropLast'> & SubjectSamplerOptions;

/**
 * A `CohortLoader` whose batches are P subjects × K visits (the MRI loader does the reading, preprocessing,
 * augmentation and prefetching; only the plan of each epoch differs).
 *
 * ```ts
 * const loader = new SubjectBatchLoader(cohort, { subjectsPerBatch: 8, visitsPerSubject: 2, views: 2, augment, seed: 1 });
 * for await (const batch of loader.batches(epoch)) {
 *   const { subjects, times } = cohort.timesOf(batch.rows);   // for longitudinalKernel / visitPairs
 * }
 * ```
 */
export class SubjectBatchLoader extends CohortLoader {
  readonly cohort: LongitudinalCohort;
  readonly sampler: ResolvedSamplerOptions;

  constructor(cohort: LongitudinalCohort, opts: SubjectBatchLoaderOptions = {}) {
    const sampler = resolveSamplerOptions({ ...opts, seed: opts.seed ?? 0 }, 'loader');
    super(cohort.rows, { ...opts, batchSize: sampler.subjectsPerBatch * sampler.visitsPerSubject, shuffle: sampler.shuffle, dropLast: sampler.dropLast });
    this.cohort = cohort;
    this.sampler = sampler;
  }

  private usable(): (index: number) => boolean {
    const bad = new Set(this.skipped.map((b) => b.path));
    return bad.size === 0 ? () => true : (i) => !bad.has(this.cohort.rows[i].path);
  }

  override epochPlan(epoch: number): number[][] {
    return subjectBatchPlan(this.cohort, epoch, this.sampler, this.usable());
  }

  override get batchesPerEpoch(): number {
    return this.epochPlan(0).length;
  }
}
