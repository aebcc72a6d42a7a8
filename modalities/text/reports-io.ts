/**
 * Reports on disk: `writeCohortReports` writes the synthetic cohort's `reports.tsv` (subject_id, session_id,
 * report); `readReports` reads a user's reports (TSV or CSV, any column name) and joins them to a manifest by
 * subject_id (+ session_id when both files have it).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, FileFormatError, ValueError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { Rng } from '../../src/util/random.js';
import { requireColumn, decodeUtf8, delimiterFor, formatTable, parseTable, type Table } from './table.js';
import {
  FINDINGS,
  FINDING_COLUMNS,
  SEVERITIES,
  generateReport,
  reportFindings,
  type Finding,
  type ReportFacts,
  type ReportOptions,
  type Severity,
} from './reports.js';

export type TableRecord = Record<string, string>;

export interface ReadTableOptions {
  /** Invalid UTF-8: 'error' (default) names the line and byte; 'replace' reads it as U+FFFD. */
  invalidUtf8?: 'error' | 'replace';
}

/** Reads a TSV/CSV file (by extension) into records keyed by the header, with their line numbers. */
export function readTableFile(file: string, options: ReadTableOptions = {}): { records: TableRecord[]; lines: number[]; header: string[]; replacedLines: number[] } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new FileFormatError(file, `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const { text, replacedLines } = decodeUtf8(bytes, file, options.invalidUtf8 ?? 'error');
  const table: Table = parseTable(text, file, delimiterFor(file));
  const records = table.rows.map((row) => Object.fromEntries(table.header.map((h, k) => [h, row[k]])));
  return { records, lines: table.lines, header: table.header, replacedLines };
}

/** The ReportFacts of one manifest record, with numbers checked (errors name the file, line and column). */
export function reportFactsOf(record: TableRecord, where: string): ReportFacts {
  const num = (column: string, required = true): number | undefined => {
    const raw = record[column];
    if (raw == null || raw.trim() === '') {
      if (!required) return undefined;
      throw new FileFormatError(where, `column '${column}' is ${raw == null ? 'missing' : 'empty'}`);
    }
    const v = Number(raw);
    if (!Number.isFinite(v)) throw new FileFormatError(where, `column '${column}' is '${raw}', expected a number`);
    return v;
  };
  const facts: ReportFacts = {
    subject_id: record.subject_id,
    session_id: record.session_id,
    age: num('age')!,
    sex: record.sex ?? '',
    visit: num('visit', false),
    time_years: num('time_years', false),
    cortical_thinning: 0,
    ventricle_dilation: 0,
    hippocampal_atrophy: 0,
    frontal_atrophy: 0,
  };
  for (const f of FINDINGS) {
    const v = num(FINDING_COLUMNS[f])!;
    if (v < 0) throw new FileFormatError(where, `column '${FINDING_COLUMNS[f]}' is ${v}, expected ≥ 0`);
    facts[FINDING_COLUMNS[f]] = v;
  }
  return facts;
}

export interface WriteCohortReportsOptions extends ReportOptions {
  /** Seed of the wording (default 0). Each session draws from its own stream, so row order does not matter. */
  seed?: number | string;
  /** The manifest, relative to the cohort folder (default 'manifest.tsv'). */
  manifest?: string;
  /** The output, relative to the cohort folder (default 'reports.tsv'). */
  out?: string;
}

export interface CohortReportsResult {
  file: string;
  reports: number;
  /** How many sessions got each severity of each finding: check that the thresholds give a realistic spread. */
  severity: Record<Finding, Record<Severity, number>>;
}

/**
 * Generates a report for every session of a synthetic cohort (its flat `manifest.tsv`, one row per session) and
 * writes `reports.tsv` (subject_id, session_id, report) beside it, atomically. A follow-up session is compared with
 * the same subject's previous visit.
 */
export async function writeCohortReports(cohortDir: string, options: WriteCohortReportsOptions = {}): Promise<CohortReportsResult> {
  const manifestFile = path.resolve(cohortDir, options.manifest ?? 'manifest.tsv');
  const { records, lines } = readTableFile(manifestFile);
  const facts = records.map((r, i) => {
    const where = `${manifestFile}:${lines[i]}`;
    if (!r.subject_id || !r.session_id) throw new FileFormatError(where, 'subject_id and session_id must be non-empty');
    return reportFactsOf(r, where);
  });
  const bySubject = new Map<string, ReportFacts[]>();
  for (const f of facts) bySubject.set(f.subject_id!, [...(bySubject.get(f.subject_id!) ?? []), f]);
  const priorOf = new Map<ReportFacts, ReportFacts>();
  for (const sessions of bySubject.values()) {
    const ordered = [...sessions].sort((a, b) => (a.visit ?? a.time_years ?? 0) - (b.visit ?? b.time_years ?? 0));
    ordered.slice(1).forEach((s, i) => priorOf.set(s, ordered[i]));
  }
  const severity = Object.fromEntries(FINDINGS.map((f) => [f, Object.fromEntries(SEVERITIES.map((s) => [s, 0]))])) as CohortReportsResult['severity'];
  const seed = options.seed ?? 0;
  const rows = facts.map((f) => {
    const rng = new Rng(`${seed}/${f.subject_id}/${f.session_id}`);
    const prior = priorOf.get(f);
    const report = generateReport(f, rng, { thresholds: options.thresholds, ...(prior ? { prior } : {}) });
    const s = reportFindings(f, options.thresholds);
    for (const k of FINDINGS) severity[k][s[k]]++;
    return [f.subject_id!, f.session_id!, report];
  });
  const file = path.resolve(cohortDir, options.out ?? 'reports.tsv');
  await writeFileAtomic(file, formatTable(['subject_id', 'session_id', 'report'], rows, delimiterFor(file)));
  return { file, reports: rows.length, severity };
}

export interface ReadReportsOptions extends ReadTableOptions {
  /** The manifest to join to: a TSV/CSV path, or records with subject_id (and session_id). Omit to read only. */
  manifest?: string | readonly TableRecord[];
  /** The column holding the report text (default 'report'). */
  reportColumn?: string;
  /**
   * A manifest session whose report is missing or empty (whitespace only): 'skip' it and count it (default), or
   * 'error' naming the first such session.
   */
  onMissing?: 'skip' | 'error';
}

export interface ReportRow {
  subject_id: string;
  session_id: string;
  report: string;
  /** The joined manifest record (absent when no manifest was given). */
  record?: TableRecord;
}

export interface ReportsTable {
  /** In manifest order when a manifest was given, else in file order. Reports are never cut here: the tokenizer truncates. */
  rows: ReportRow[];
  /** Manifest sessions without a report row / with an empty report (skipped). */
  missing: number;
  empty: number;
  /** The first few skipped sessions, as 'subject/session'. */
  skippedExamples: string[];
  /** Reports whose subject (and session) are not in the manifest (ignored). */
  unmatched: number;
  /** Lines that held invalid UTF-8 and were read with replacements (invalidUtf8: 'replace'). */
  replacedLines: number[];
  /** Whether the join used session_id (both files have it) or subject_id alone. */
  joinedOn: 'subject_id+session_id' | 'subject_id';
}

/**
 * Reads a reports file (TSV, or CSV by extension; RFC 4180 quotes for reports with tabs, commas or line breaks)
 * and, given a manifest, joins each session to its report. Bad input: invalid UTF-8 is a FileFormatError naming
 * the line (or replaced, by choice); a duplicate report for one session is an error naming both lines; sessions
 * with no or an empty report are skipped and counted, or an error (`onMissing: 'error'`).
 */
export function readReports(file: string, options: ReadReportsOptions = {}): ReportsTable {
  const column = options.reportColumn ?? 'report';
  const onMissing = options.onMissing ?? 'skip';
  if (onMissing !== 'skip' && onMissing !== 'error') throw new ConfigError('onMissing', `expected 'skip' or 'error', got '${onMissing}'`);
  const { records, lines, header, replacedLines } = readTableFile(file, options);
  requireColumn(header, 'subject_id', file);
  requireColumn(header, column, file);

  let manifest: readonly TableRecord[] | null = null;
  let manifestName = 'manifest';
  if (typeof options.manifest === 'string') {
    manifestName = options.manifest;
    const m = readTableFile(options.manifest, options);
    requireColumn(m.header, 'subject_id', options.manifest);
    manifest = m.records;
  } else if (options.manifest != null) {
    manifest = options.manifest;
    manifest.forEach((r, i) => {
      if (typeof r.subject_id !== 'string') throw new ValueError(`manifest[${i}]: no subject_id`);
    });
  }
  const useSession = header.includes('session_id') && (manifest == null || manifest.every((r) => typeof r.session_id === 'string'));
  const keyOf = (r: TableRecord) => (useSession ? `${r.subject_id}\u0000${r.session_id}` : r.subject_id);

  const byKey = new Map<string, { record: TableRecord; line: number }>();
  records.forEach((record, i) => {
    const key = keyOf(record);
    const seen = byKey.get(key);
    if (seen) {
      const who = useSession ? `subject ${record.subject_id}, session ${record.session_id}` : `subject ${record.subject_id}`;
      throw new FileFormatError(file, `lines ${seen.line} and ${lines[i]}: two reports for ${who}`);
    }
    byKey.set(key, { record, line: lines[i] });
  });

  const out: ReportsTable = {
    rows: [],
    missing: 0,
    empty: 0,
    skippedExamples: [],
    unmatched: 0,
    replacedLines,
    joinedOn: useSession ? 'subject_id+session_id' : 'subject_id',
  };
  if (manifest == null) {
    for (const record of records) {
      if (record[column].trim() === '') {
        skip(out, record, 'empty', onMissing, file);
        continue;
      }
      out.rows.push({ subject_id: record.subject_id, session_id: record.session_id ?? '', report: record[column] });
    }
    return out;
  }
  const used = new Set<string>();
  for (const m of manifest) {
    const hit = byKey.get(keyOf(m));
    if (hit == null) {
      skip(out, m, 'missing', onMissing, `${file} (joined to ${manifestName})`);
      continue;
    }
    used.add(keyOf(m));
    const report = hit.record[column];
    if (report.trim() === '') {
      skip(out, m, 'empty', onMissing, `${file}:${hit.line}`);
      continue;
    }
    out.rows.push({ subject_id: m.subject_id, session_id: m.session_id ?? hit.record.session_id ?? '', report, record: m });
  }
  out.unmatched = [...byKey.keys()].filter((k) => !used.has(k)).length;
  return out;
}

function skip(out: ReportsTable, r: TableRecord, why: 'missing' | 'empty', onMissing: 'skip' | 'error', where: string): void {
  const id = r.session_id != null ? `${r.subject_id}/${r.session_id}` : r.subject_id;
  if (onMissing === 'error') {
    throw new FileFormatError(where, `${why === 'missing' ? 'no report' : 'an empty report'} for ${id} (pass onMissing: 'skip' to skip such sessions)`);
  }
  out[why]++;
  if (out.skippedExamples.length < 5) out.skippedExamples.push(id);
}
