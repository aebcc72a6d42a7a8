/**
 * Streaming cohort loader: reads, preprocesses and augments volumes in worker threads and yields batches of V
 * views plus the manifest rows. At most `prefetch` batches exist ahead of the consumer, so memory is bounded by
 * the prefetch depth, not the cohort size (unless `cache` is on: then preprocessed volumes are kept once, in
 * shared memory, and each epoch only augments them).
 *
 * Batches are deterministic for a given seed and epoch, whatever the number of workers: the order comes from a
 * seeded permutation and every view's augmentation from a seed derived from (seed, epoch, row, view).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { hashString, Rng } from '../../src/util/random.js';
import { stopWorker } from '../../src/util/workers.js';
import { buildTransform, type AugmentSpec, type Transform } from './augment.js';
import { runTask, type TaskItem, type TaskResult } from './loader-core.js';
import type { Manifest, ManifestRow } from './manifest.js';
import { checkPreprocessSpec, type PreprocessSpec } from './preprocess.js';

export interface LoaderOptions {
  /** Volumes per batch (default 8). */
  batchSize?: number;
  /** Augmented views per volume (default 2, as contrastive learning needs). */
  views?: number;
  preprocess?: PreprocessSpec;
  /** Augmentation specs (see `buildTransform`); default none, so all views are equal. */
  augment?: AugmentSpec[];
  /** Worker threads (default: CPUs − 1, at least 1, at most 4); 0 runs everything on the calling thread. */
  workers?: number;
  /** Batches prepared ahead of the consumer (default max(2, workers)). */
  prefetch?: number;
  /** Shuffle rows each epoch (default true). */
  shuffle?: boolean;
  /** Drop a last, smaller batch (default false). */
  dropLast?: boolean;
  seed?: number;
  /** Keep preprocessed volumes in (shared) memory after the first epoch (default false). */
  cache?: boolean;
  /** A file that cannot be read: 'fatal' (default) throws CohortFileError; 'skip' drops it and counts it. */
  onBadFile?: 'fatal' | 'skip';
  /** Where skip notices and the per-epoch count go (default console.warn). */
  log?: (message: string) => void;
}

export interface Batch {
  /** V arrays, each B·D·H·W float32, C-order [B, D, H, W] = [B, Z, Y, X]. */
  views: Float32Array[];
  /** [B, D, H, W] */
  shape: [number, number, number, number];
  rows: ManifestRow[];
  epoch: number;
  /** Batch number within the epoch. */
  index: number;
}

export interface BadFile {
  subject_id: string;
  session_id: string | null;
  path: string;
  problem: string;
}

/** A cohort file that could not be used, naming its subject and session. */
export class CohortFileError extends FileFormatError {
  constructor(
    file: string,
    problem: string,
    readonly subject: string,
    readonly session: string | null,
  ) {
    super(file, `${problem} (subject ${subject}${session ? `, session ${session}` : ''})`);
  }
}

interface Slot {
  worker: Worker;
  busy: number;
}

export class CohortLoader {
  readonly rows: ManifestRow[];
  private readonly batchSize: number;
  private readonly views: number;
  private readonly preprocess: PreprocessSpec;
  private readonly augment: AugmentSpec[];
  private readonly transform: Transform | null;
  private readonly nWorkers: number;
  private readonly prefetch: number;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly seed: number;
  private readonly useCache: boolean;
  private readonly onBadFile: 'fatal' | 'skip';
  private readonly log: (message: string) => void;
  private slots: Slot[] | null = null;
  private readonly cache = new Map<number, { data: Float32Array; shape: number[] }>();
  private readonly bad = new Map<number, string>();
  private readonly pending = new Map<number, { resolve: (r: TaskResult) => void; reject: (e: Error) => void; slot: Slot }>();
  private nextId = 0;
  private closed = false;
  /** Counters: tasks submitted and the most batches ever prepared ahead of the consumer (≤ prefetch). */
  readonly stats = { tasks: 0, maxInFlight: 0 };

  constructor(manifest: Manifest | ManifestRow[], opts: LoaderOptions = {}) {
    this.rows = Array.isArray(manifest) ? manifest : manifest.rows;
    const int = (name: string, v: number, min: number) => {
      if (!(Number.isInteger(v) && v >= min)) throw new ConfigError(`loader.${name}`, `${v} must be an integer ≥ ${min}`);
      return v;
    };
    this.batchSize = int('batchSize', opts.batchSize ?? 8, 1);
    this.views = int('views', opts.views ?? 2, 1);
    this.preprocess = opts.preprocess ?? {};
    checkPreprocessSpec(this.preprocess, 'loader.preprocess');
    this.augment = opts.augment ?? [];
    this.transform = this.augment.length ? buildTransform(this.augment) : null; // validates specs up front
    this.nWorkers = int('workers', opts.workers ?? Math.max(1, Math.min(4, availableParallelism() - 1)), 0);
    this.prefetch = int('prefetch', opts.prefetch ?? Math.max(2, this.nWorkers), 1);
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? false;
    this.seed = opts.seed ?? 0;
    this.useCache = opts.cache ?? false;
    this.onBadFile = opts.onBadFile ?? 'fatal';
    if (this.onBadFile !== 'fatal' && this.onBadFile !== 'skip') throw new ConfigError('loader.onBadFile', `must be 'fatal' or 'skip'`);
    this.log = opts.log ?? ((m) => console.warn(m));
    if (this.rows.length === 0) throw new ConfigError('loader', 'the manifest has no rows');
  }

  /** Batches in one epoch (before any bad file is dropped). */
  get batchesPerEpoch(): number {
    const n = this.rows.length - this.bad.size;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Files dropped so far ('skip' mode), with subject and session. */
  get skipped(): BadFile[] {
    return [...this.bad].map(([i, problem]) => ({ subject_id: this.rows[i].subject_id, session_id: this.rows[i].session_id, path: this.rows[i].path, problem }));
  }

  /** Number of preprocessed volumes held in the cache. */
  get cachedCount(): number {
    return this.cache.size;
  }

  /** The augmentation seed of one view of one row in one epoch. */
  viewSeed(epoch: number, row: number, view: number): number {
    return hashString(`${this.seed}/${epoch}/${row}/${view}`);
  }

  /** Row indices of each batch of an epoch, in order. */
  epochPlan(epoch: number): number[][] {
    const usable = this.rows.map((_, i) => i).filter((i) => !this.bad.has(i));
    const order = this.shuffle ? new Rng(`${this.seed}/order/${epoch}`).shuffle(usable) : usable;
    const plan: number[][] = [];
    for (let s = 0; s < order.length; s += this.batchSize) {
      const chunk = order.slice(s, s + this.batchSize);
      if (chunk.length < this.batchSize && this.dropLast) break;
      plan.push(chunk);
    }
    return plan;
  }

  /**
   * Yields the batches of one epoch, from batch number `start` on (a resumed run continues mid-epoch with the
   * very batches it would have seen).
   *
   * ```ts
   * for await (const batch of loader.batches(epoch)) { const [v1, v2] = batch.views; ... }
   * ```
   */
  async *batches(epoch = 0, start = 0): AsyncGenerator<Batch> {
    if (this.closed) throw new ConfigError('loader', 'is closed');
    const plan = this.epochPlan(epoch);
    const badBefore = this.bad.size;
    const inFlight: Promise<TaskResult>[] = [];
    let next = start;
    const launch = () => {
      while (next < plan.length && inFlight.length < this.prefetch) {
        inFlight.push(this.submit(plan[next++], epoch));
        this.stats.tasks++;
        this.stats.maxInFlight = Math.max(this.stats.maxInFlight, inFlight.length);
      }
    };
    launch();
    try {
      for (let b = start; b < plan.length; b++) {
        const result = await inFlight.shift()!;
        launch();
        for (const c of result.cache) this.cache.set(c.index, { data: c.data, shape: c.shape });
        for (const { index, problem } of result.bad) this.reportBad(index, problem);
        if (result.ok.length === 0 || result.shape == null) continue;
        const [x, y, z] = result.shape;
        yield { views: result.views, shape: [result.ok.length, z, y, x], rows: result.ok.map((i) => this.rows[i]), epoch, index: b };
      }
    } finally {
      // Let abandoned tasks finish in the background; their results are dropped.
      for (const p of inFlight) p.catch(() => undefined);
    }
    const dropped = this.bad.size - badBefore;
    if (dropped > 0) this.log(`geoclr loader: epoch ${epoch}: skipped ${dropped} bad file(s) of ${this.rows.length} (${this.bad.size} in total so far; see loader.skipped)`);
  }

  private reportBad(index: number, problem: string): void {
    const r = this.rows[index];
    if (this.onBadFile === 'fatal') throw new CohortFileError(r.path, problem, r.subject_id, r.session_id);
    if (!this.bad.has(index)) {
      this.bad.set(index, problem);
      this.log(`geoclr loader: skipping ${r.subject_id}${r.session_id ? ` ${r.session_id}` : ''} (${r.path}): ${problem}`);
    }
  }

  private submit(indices: number[], epoch: number): Promise<TaskResult> {
    const items: TaskItem[] = indices.map((i) => ({
      index: i,
      path: this.rows[i].path,
      seeds: Array.from({ length: this.views }, (_, v) => this.viewSeed(epoch, i, v)),
      cached: this.cache.get(i),
    }));
    if (this.nWorkers === 0) {
      return new Promise((resolve, reject) =>
        setImmediate(() => {
          try {
            resolve(runTask(items, this.views, this.preprocess, this.transform, this.useCache, false));
          } catch (e) {
            reject(e);
          }
        }),
      );
    }
    const slots = this.startWorkers();
    const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    return new Promise<TaskResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      if (slot.busy++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, items, wantCache: this.useCache });
    });
  }

  private startWorkers(): Slot[] {
    if (this.slots) return this.slots;
    this.slots = Array.from({ length: this.nWorkers }, () => {
      const worker = new Worker(new URL('./loader-worker.js', import.meta.url), {
        workerData: { preprocess: this.preprocess, augment: this.augment, views: this.views },
      });
      const slot: Slot = { worker, busy: 0 };
      worker.unref(); // idle workers never keep the process alive
      worker.on('message', (msg: { id: number; result?: TaskResult; error?: { name: string; message: string; stack?: string } }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (--slot.busy === 0) worker.unref();
        if (msg.error) {
          const e = new Error(msg.error.message);
          e.name = msg.error.name;
          e.stack = msg.error.stack;
          p.reject(e);
        } else p.resolve(msg.result!);
      });
      const fail = (err: Error) => {
        for (const [id, p] of this.pending) {
          if (p.slot === slot) {
            this.pending.delete(id);
            p.reject(err);
          }
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!this.closed) fail(new Error(`geoclr loader: worker thread exited (code ${code})`));
      });
      return slot;
    });
    return this.slots;
  }

  /** Stops the worker threads (the loader cannot be used afterwards). */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots ?? [];
    this.slots = null;
    await Promise.all(slots.map((s) => stopWorker(s.worker)));
    this.cache.clear();
  }
}
