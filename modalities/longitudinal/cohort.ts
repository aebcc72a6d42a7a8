/**
 * A longitudinal view of a cohort manifest: each subject's sessions in visit order, each with a time in years
 * (age at scan, years since baseline, or an acquisition date). Validated up front — a missing time column,
 * missing or unparsable times, duplicate sessions, two sessions at the same time, times that do not increase
 * with visit order, image files that do not exist — and every problem is reported at once with its subject,
 * session and manifest row. Visits are never reordered silently: the order is the `visit` column (or the order
 * the rows are listed in), and times must increase along it; `order: 'time'` sorts by time only when asked.
 * Single-visit subjects stay in the cohort (cross-sectional terms use them) and are flagged
 * (`longitudinal: false`) for the longitudinal ones.
 */
import { existsSync } from 'node:fs';
import { FileFormatError, ValueError } from '../../src/errors.js';
import { readManifest, type CellValue, type Manifest, type ManifestRow, type ReadManifestOptions } from '../mri/manifest.js';

/** How the time column is read: plain years, months or days, or calendar dates (ISO 8601 strings). */
export type TimeUnit = 'years' | 'months' | 'days' | 'date';

export interface TimeSpec {
  column: string;
  /** Default 'years' for a numeric column, 'date' for a string column. */
  unit?: TimeUnit;
}

export interface LongitudinalCohortOptions {
  /**
   * The time column (a name, or `{column, unit}`). Default: `time_years` if the manifest has it, else `age`.
   * Only differences of times matter to the objectives; `age` additionally gives the age at scan.
   */
  time?: string | TimeSpec;
  /**
   * Visit order: 'visit' (a numeric `visit` column; the default when it exists), 'listed' (the order of the rows
   * in the manifest; the default otherwise), or 'time' (sort each subject's sessions by time — only on request).
   */
  order?: 'visit' | 'listed' | 'time';
  /** Check that every image file exists (default true). */
  checkFiles?: boolean;
  /** A missing image file: 'fatal' (default) lists them all in the error; 'skip' drops those sessions and logs each. */
  onMissingFile?: 'fatal' | 'skip';
  /** Where skip notices go (default console.warn). */
  log?: (message: string) => void;
  /** Name of the manifest in messages (default: its root folder). */
  source?: string;
}

export interface Visit {
  /** Index of the row in `cohort.rows` (what the loader and the sampler use). */
  index: number;
  subject: string;
  session: string | null;
  /** Time in years as read (age, years since baseline, or years since 1970 for dates). */
  time: number;
  /** Years since the subject's first visit. */
  elapsed: number;
  /** Position in the subject's visit order (0 = baseline). */
  order: number;
  row: ManifestRow;
}

export interface SubjectTimeline {
  subject: string;
  /** Sessions in visit order; times strictly increase. */
  visits: Visit[];
  /** At least two visits: usable by longitudinal terms (pairs, direction, time kernel). */
  longitudinal: boolean;
  /** Years between the first and the last visit (0 for one visit). */
  span: number;
}

/** Every problem found while building a longitudinal cohort, at once (`problems`), each located. */
export class LongitudinalCohortError extends FileFormatError {
  constructor(
    file: string,
    readonly problems: string[],
  ) {
    const shown = problems.slice(0, 20);
    const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : '';
    super(file, `${problems.length} problem(s) in the longitudinal cohort:\n  ${shown.join('\n  ')}${more}`);
  }
}

const YEAR_MS = 365.25 * 86_400_000;
const UNIT_YEARS: Record<Exclude<TimeUnit, 'date'>, number> = { years: 1, months: 1 / 12, days: 1 / 365.25 };

export class LongitudinalCohort {
  /** The manifest (after dropping sessions with missing files in 'skip' mode). */
  readonly manifest: Manifest;
  /** Manifest rows; `Visit.index` points here. */
  readonly rows: ManifestRow[];
  /** Subjects in order of first appearance. */
  readonly subjects: SubjectTimeline[];
  readonly timeColumn: string;
  readonly timeUnit: TimeUnit;
  /** Sessions dropped because their image file is missing ('skip' mode). */
  readonly skipped: { subject: string; session: string | null; path: string }[];
  private readonly visitByRow: Map<ManifestRow, Visit>;
  private readonly bySubject: Map<string, SubjectTimeline>;

  constructor(init: {
    manifest: Manifest;
    subjects: SubjectTimeline[];
    timeColumn: string;
    timeUnit: TimeUnit;
    skipped: LongitudinalCohort['skipped'];
  }) {
    this.manifest = init.manifest;
    this.rows = init.manifest.rows;
    this.subjects = init.subjects;
    this.timeColumn = init.timeColumn;
    this.timeUnit = init.timeUnit;
    this.skipped = init.skipped;
    this.bySubject = new Map(this.subjects.map((s) => [s.subject, s]));
    this.visitByRow = new Map(this.subjects.flatMap((s) => s.visits.map((v) => [v.row, v] as [ManifestRow, Visit])));
  }

  /** Subjects with two or more visits. */
  get longitudinalSubjects(): SubjectTimeline[] {
    return this.subjects.filter((s) => s.longitudinal);
  }

  /** Ids of the subjects with a single visit (kept for cross-sectional terms, flagged for longitudinal ones). */
  get singleVisitSubjects(): string[] {
    return this.subjects.filter((s) => !s.longitudinal).map((s) => s.subject);
  }

  /** Every visit, subject by subject in visit order. */
  get visits(): Visit[] {
    return this.subjects.flatMap((s) => s.visits);
  }

  subject(id: string): SubjectTimeline {
    const s = this.bySubject.get(id);
    if (s == null) throw new ValueError(`longitudinal cohort: no subject '${id}'`);
    return s;
  }

  /** The visit of a manifest row of this cohort (e.g. a row of a loader batch). */
  visitOf(row: ManifestRow): Visit {
    const v = this.visitByRow.get(row);
    if (v == null) throw new ValueError(`longitudinal cohort: row ${row.subject_id} ${row.session_id ?? ''} (${row.path}) is not in this cohort`);
    return v;
  }

  /** Subject ids and times (years) of a list of rows, e.g. a batch: the inputs of `longitudinalKernel` and `visitPairs`. */
  timesOf(rows: readonly ManifestRow[]): { subjects: string[]; times: Float64Array } {
    const subjects: string[] = [];
    const times = new Float64Array(rows.length);
    rows.forEach((r, i) => {
      const v = this.visitOf(r);
      subjects.push(v.subject);
      times[i] = v.time;
    });
    return { subjects, times };
  }

  /** A one-line description, e.g. `120 subjects (112 longitudinal, 8 single-visit), 452 sessions, time = time_years`. */
  describe(): string {
    const n = this.subjects.length;
    const l = this.longitudinalSubjects.length;
    return `${n} subjects (${l} longitudinal, ${n - l} single-visit), ${this.rows.length} sessions, time = ${this.timeColumn} (${this.timeUnit})`;
  }
}

function where(r: ManifestRow, i: number): string {
  return `subject ${r.subject_id}${r.session_id ? `, session ${r.session_id}` : ''} (row ${i + 1})`;
}

function resolveTime(manifest: Manifest, spec: LongitudinalCohortOptions['time'], file: string): { column: string; unit: TimeUnit } {
  const columns = Object.keys(manifest.columns);
  let column: string;
  let unit: TimeUnit | undefined;
  if (spec == null) {
    const found = ['time_years', 'age'].find((c) => c in manifest.columns);
    if (found == null) {
      throw new FileFormatError(file, `has no time column: pass time: '<column>' (years, or {column, unit: 'date'|'days'|'months'}); columns are ${columns.join(', ')}`);
    }
    column = found;
  } else {
    const s = typeof spec === 'string' ? { column: spec } : spec;
    if (typeof s.column !== 'string' || s.column === '') throw new ValueError(`longitudinal cohort: time.column must be a column name, got ${JSON.stringify(s.column)}`);
    column = s.column;
    unit = s.unit;
    if (!(column in manifest.columns)) throw new FileFormatError(file, `has no time column '${column}'; columns are ${columns.join(', ')}`);
  }
  const type = manifest.columns[column];
  unit ??= type === 'string' ? 'date' : 'years';
  if (!['years', 'months', 'days', 'date'].includes(unit)) throw new ValueError(`longitudinal cohort: time.unit must be years, months, days or date; got ${JSON.stringify(unit)}`);
  if (unit === 'date' ? type !== 'string' : type !== 'number') {
    throw new FileFormatError(file, `time column '${column}' holds ${type} values, which cannot be read as ${unit === 'date' ? 'dates (ISO 8601 strings)' : unit}`);
  }
  return { column, unit };
}

function parseTime(v: CellValue, unit: TimeUnit): number | string {
  if (v == null) return 'has no time (empty or n/a)';
  if (unit === 'date') {
    const s = String(v);
    // ISO 8601 dates only: Date.parse accepts many locale formats with surprising results.
    if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) return `has date '${s}', expected ISO 8601 (YYYY-MM-DD)`;
    const ms = Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s);
    if (!Number.isFinite(ms)) return `has an invalid date '${s}'`;
    return ms / YEAR_MS + 1970;
  }
  const n = v as number;
  if (!Number.isFinite(n)) return `has time ${n}`;
  return n * UNIT_YEARS[unit];
}

/**
 * Builds the longitudinal view of a manifest (see the module comment for what is checked).
 *
 * ```ts
 * const cohort = longitudinalCohort(await readManifest('cohort/manifest.tsv'));             // time_years
 * const byDate = longitudinalCohort(m, { time: { column: 'acq_date', unit: 'date' } });
 * cohort.longitudinalSubjects.length; cohort.singleVisitSubjects;
 * ```
 */
export function longitudinalCohort(manifest: Manifest, opts: LongitudinalCohortOptions = {}): LongitudinalCohort {
  const file = opts.source ?? manifest.root;
  if (manifest.rows.length === 0) throw new FileFormatError(file, 'the manifest has no rows');
  const { column, unit } = resolveTime(manifest, opts.time, file);
  const order = opts.order ?? ('visit' in manifest.columns && manifest.columns.visit === 'number' ? 'visit' : 'listed');
  if (!['visit', 'listed', 'time'].includes(order)) throw new ValueError(`longitudinal cohort: order must be 'visit', 'listed' or 'time'; got ${JSON.stringify(order)}`);
  if (order === 'visit' && manifest.columns.visit !== 'number') throw new FileFormatError(file, "order 'visit' needs a numeric 'visit' column");
  const onMissing = opts.onMissingFile ?? 'fatal';
  if (onMissing !== 'fatal' && onMissing !== 'skip') throw new ValueError(`longitudinal cohort: onMissingFile must be 'fatal' or 'skip'; got ${JSON.stringify(onMissing)}`);
  const log = opts.log ?? ((m: string) => console.warn(m));

  const problems: string[] = [];
  const skipped: LongitudinalCohort['skipped'] = [];
  const kept: ManifestRow[] = [];
  const rowNo = new Map<ManifestRow, number>();
  manifest.rows.forEach((r, i) => {
    rowNo.set(r, i);
    if ((opts.checkFiles ?? true) && !existsSync(r.path)) {
      if (onMissing === 'skip') {
        skipped.push({ subject: r.subject_id, session: r.session_id, path: r.path });
        log(`geoclr longitudinal: skipping ${where(r, i)}: image ${r.path} does not exist`);
        return;
      }
      problems.push(`${where(r, i)}: image ${r.path} does not exist`);
    }
    kept.push(r);
  });

  // Group by subject (first appearance), keeping the listed order inside each subject.
  const groups = new Map<string, ManifestRow[]>();
  for (const r of kept) {
    let g = groups.get(r.subject_id);
    if (g == null) groups.set(r.subject_id, (g = []));
    g.push(r);
  }
  const times = new Map<ManifestRow, number>();
  for (const r of kept) {
    const t = parseTime(r[column], unit);
    if (typeof t === 'string') problems.push(`${where(r, rowNo.get(r)!)}: column '${column}' ${t}`);
    else times.set(r, t);
  }
  for (const [subject, rows] of groups) {
    const sessions = new Map<string, ManifestRow>();
    for (const r of rows) {
      if (r.session_id == null) {
        if (rows.length > 1) problems.push(`${where(r, rowNo.get(r)!)}: has no session_id, but the subject has ${rows.length} rows`);
        continue;
      }
      const first = sessions.get(r.session_id);
      if (first) problems.push(`subject ${subject}: session ${r.session_id} is listed twice (rows ${rowNo.get(first)! + 1} and ${rowNo.get(r)! + 1})`);
      else sessions.set(r.session_id, r);
    }
    if (order === 'visit') {
      const visits = new Map<number, ManifestRow>();
      for (const r of rows) {
        const v = r.visit;
        if (typeof v !== 'number') {
          problems.push(`${where(r, rowNo.get(r)!)}: column 'visit' is empty`);
          continue;
        }
        const first = visits.get(v);
        if (first) problems.push(`subject ${subject}: visit ${v} is listed twice (rows ${rowNo.get(first)! + 1} and ${rowNo.get(r)! + 1})`);
        else visits.set(v, r);
      }
    }
    const timed = rows.filter((r) => times.has(r));
    const byTime = new Map<number, ManifestRow>();
    for (const r of timed) {
      const first = byTime.get(times.get(r)!);
      if (first && first.session_id !== r.session_id) {
        problems.push(`subject ${subject}: sessions ${first.session_id} (row ${rowNo.get(first)! + 1}) and ${r.session_id} (row ${rowNo.get(r)! + 1}) have the same time ${r[column]}`);
      } else byTime.set(times.get(r)!, r);
    }
    if (order !== 'time') {
      const seq = order === 'visit' ? timed.filter((r) => typeof r.visit === 'number').sort((a, b) => (a.visit as number) - (b.visit as number)) : timed;
      for (let k = 1; k < seq.length; k++) {
        const [a, b] = [seq[k - 1], seq[k]];
        if (times.get(b)! < times.get(a)!) {
          const by = order === 'visit' ? `visit ${b.visit} comes after visit ${a.visit}` : 'it is listed after it';
          problems.push(
            `subject ${subject}: session ${b.session_id} (row ${rowNo.get(b)! + 1}, ${column} ${b[column]}) is earlier than session ${a.session_id} (row ${rowNo.get(a)! + 1}, ${column} ${a[column]}) but ${by}; times must increase with visit order (fix the table, or pass order: 'time' to sort by time)`,
          );
        }
      }
    }
  }
  if (problems.length) throw new LongitudinalCohortError(file, problems);

  const outManifest: Manifest = kept.length === manifest.rows.length ? manifest : { ...manifest, rows: kept };
  const index = new Map(kept.map((r, i) => [r, i]));
  const subjects: SubjectTimeline[] = [];
  for (const [subject, rows] of groups) {
    const ordered = order === 'listed' ? rows : [...rows].sort(order === 'visit' ? (a, b) => (a.visit as number) - (b.visit as number) : (a, b) => times.get(a)! - times.get(b)!);
    const t0 = times.get(ordered[0])!;
    const visits = ordered.map((r, k) => ({ index: index.get(r)!, subject, session: r.session_id, time: times.get(r)!, elapsed: times.get(r)! - t0, order: k, row: r }));
    subjects.push({ subject, visits, longitudinal: visits.length >= 2, span: visits[visits.length - 1].elapsed });
  }
  return new LongitudinalCohort({ manifest: outManifest, subjects, timeColumn: column, timeUnit: unit, skipped });
}

/**
 * Reads a manifest (folder, TSV/CSV or Arrow; see `readManifest`) and builds its longitudinal view; messages name
 * the manifest file.
 */
export async function readLongitudinalCohort(
  source: string,
  opts: LongitudinalCohortOptions & { manifest?: ReadManifestOptions } = {},
): Promise<LongitudinalCohort> {
  const manifest = await readManifest(source, opts.manifest);
  return longitudinalCohort(manifest, { ...opts, source: opts.source ?? source });
}
