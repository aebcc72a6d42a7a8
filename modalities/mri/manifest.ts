/**
 * Cohort manifests: one row per scan with `subject_id`, `session_id`, `path` and metadata columns. Read from a
 * BIDS-style folder (participants.tsv + sub-<id>/sub-<id>_sessions.tsv + sub-<id>[/ses-<id>]/anat/*.nii[.gz]), a CSV/TSV
 * table, or an Arrow IPC file. Column types are inferred (number, boolean, string; 'n/a' and empty are null) and
 * can be overridden.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, FileFormatError } from '../../src/errors.js';

export type ColumnType = 'number' | 'string' | 'boolean';
export type CellValue = number | string | boolean | null;

export interface ManifestRow {
  subject_id: string;
  session_id: string | null;
  /** Absolute path of the image. */
  path: string;
  [column: string]: CellValue;
}

export interface Manifest {
  /** Folder relative paths were resolved against. */
  root: string;
  rows: ManifestRow[];
  /** Type of every column (ids and path are 'string'). */
  columns: Record<string, ColumnType>;
}

export interface ReadManifestOptions {
  /** Column types that override inference, e.g. `{ site: 'string' }`. */
  types?: Record<string, ColumnType>;
  /** BIDS folders: which image of a session to use (default /_T1w\.nii(\.gz)?$/, else the only NIfTI). */
  pattern?: RegExp;
}

/** Cells read as null (BIDS writes 'n/a'). */
const MISSING = new Set(['', 'n/a', 'na']);
const ID_COLUMNS = new Set(['subject_id', 'session_id', 'participant_id', 'path']);

/** Splits a CSV/TSV text into header and string cells (CSV: RFC 4180 quotes; TSV: plain tabs). */
export function parseDelimited(text: string, sep: ',' | '\t', file: string): { header: string[]; rows: string[][] } {
  const rows: string[][] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (sep === '\t') {
    for (const line of lines) if (line.trim() !== '') rows.push(line.split('\t'));
  } else {
    let row: string[] = [];
    let cell = '';
    let quoted = false;
    const body = lines.join('\n');
    for (let i = 0; i < body.length; i++) {
      const ch = body[i];
      if (quoted) {
        if (ch === '"' && body[i + 1] === '"') {
          cell += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else cell += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') {
        row.push(cell);
        cell = '';
      } else if (ch === '\n') {
        row.push(cell);
        if (row.some((c) => c !== '')) rows.push(row);
        row = [];
        cell = '';
      } else cell += ch;
    }
    row.push(cell);
    if (row.some((c) => c !== '')) rows.push(row);
  }
  if (rows.length === 0) throw new FileFormatError(file, 'table is empty (no header row)');
  const header = rows[0].map((h) => h.trim());
  const body = rows.slice(1);
  body.forEach((r, i) => {
    if (r.length !== header.length) throw new FileFormatError(file, `row ${i + 2} has ${r.length} cells but the header has ${header.length}`);
  });
  return { header, rows: body };
}

function inferType(values: string[]): ColumnType {
  const present = values.map((v) => v.trim()).filter((v) => !MISSING.has(v.toLowerCase()));
  if (present.length === 0) return 'string';
  const numeric = present.filter((v) => v.toLowerCase() !== 'nan');
  if (numeric.length > 0 && numeric.every((v) => Number.isFinite(Number(v)))) return 'number';
  if (present.every((v) => /^(true|false)$/i.test(v))) return 'boolean';
  return 'string';
}

function convert(v: string, t: ColumnType, column: string, file: string, rowNo: number): CellValue {
  const s = v.trim();
  if (MISSING.has(s.toLowerCase())) return null;
  if (t === 'number') {
    if (s.toLowerCase() === 'nan') return null;
    const n = Number(s);
    if (!Number.isFinite(n)) throw new FileFormatError(file, `row ${rowNo}, column '${column}': '${v}' is not a number`);
    return n;
  }
  if (t === 'boolean') {
    if (!/^(true|false)$/i.test(s)) throw new FileFormatError(file, `row ${rowNo}, column '${column}': '${v}' is not true/false`);
    return s.toLowerCase() === 'true';
  }
  return s;
}

/** Typed records from a delimited table, with inferred/overridden types. */
export function typedTable(header: string[], rows: string[][], file: string, types: Record<string, ColumnType> = {}): { records: Record<string, CellValue>[]; columns: Record<string, ColumnType> } {
  const columns: Record<string, ColumnType> = {};
  header.forEach((h, j) => {
    columns[h] = types[h] ?? (ID_COLUMNS.has(h) ? 'string' : inferType(rows.map((r) => r[j])));
  });
  const records = rows.map((r, i) => Object.fromEntries(header.map((h, j) => [h, convert(r[j], columns[h], h, file, i + 2)])));
  return { records, columns };
}

function readTable(file: string, types: Record<string, ColumnType>) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FileFormatError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const sep = file.toLowerCase().endsWith('.csv') ? ',' : '\t';
  const { header, rows } = parseDelimited(text, sep, file);
  return typedTable(header, rows, file, types);
}

function finishRows(records: Record<string, CellValue>[], columns: Record<string, ColumnType>, root: string, file: string): Manifest {
  const subjectCol = 'subject_id' in columns ? 'subject_id' : 'participant_id' in columns ? 'participant_id' : null;
  if (!subjectCol) throw new FileFormatError(file, `needs a 'subject_id' (or 'participant_id') column; has ${Object.keys(columns).join(', ')}`);
  if (!('path' in columns)) throw new FileFormatError(file, `needs a 'path' column (image path, relative to the table's folder); has ${Object.keys(columns).join(', ')}`);
  const rows = records.map((r, i) => {
    const subject = r[subjectCol];
    const p = r.path;
    if (subject == null || p == null) throw new FileFormatError(file, `row ${i + 2}: missing ${subject == null ? subjectCol : 'path'}`);
    const { [subjectCol]: _s, session_id, path: _p, ...meta } = r;
    return { ...meta, subject_id: String(subject), session_id: session_id == null ? null : String(session_id), path: path.resolve(root, String(p)) } as ManifestRow;
  });
  const cols: Record<string, ColumnType> = { subject_id: 'string', session_id: 'string', path: 'string' };
  for (const [k, t] of Object.entries(columns)) if (k !== subjectCol && k !== 'session_id' && k !== 'path') cols[k] = t;
  return { root, rows, columns: cols };
}

async function readArrow(file: string, types: Record<string, ColumnType>): Promise<Manifest> {
  const { tableFromIPC } = await import('apache-arrow');
  let table;
  try {
    table = tableFromIPC(readFileSync(file));
  } catch (e) {
    throw new FileFormatError(file, `not a readable Arrow IPC file: ${(e as Error).message}`);
  }
  const names = table.schema.fields.map((f) => f.name);
  const rows = table.toArray().map((r) => names.map((n) => {
    const v = (r as Record<string, unknown>)[n];
    return v == null ? '' : typeof v === 'bigint' ? v.toString() : String(v);
  }));
  const { records, columns } = typedTable(names, rows, file, types);
  return finishRows(records, columns, path.dirname(path.resolve(file)), file);
}

function listNifti(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /\.nii(\.gz)?$/i.test(f)).sort();
}

function pickImage(dir: string, pattern: RegExp | undefined, where: string): string {
  const anat = existsSync(path.join(dir, 'anat')) ? path.join(dir, 'anat') : dir;
  const files = listNifti(anat);
  const re = pattern ?? /_T1w\.nii(\.gz)?$/i;
  const hits = files.filter((f) => re.test(f));
  const chosen = hits.length ? hits : pattern ? [] : files;
  if (chosen.length === 0) throw new FileFormatError(anat, `no NIfTI image${pattern ? ` matching ${pattern}` : ''} for ${where}`);
  return path.join(anat, chosen[0]);
}

function readBids(root: string, opts: ReadManifestOptions): Manifest {
  const participantsFile = path.join(root, 'participants.tsv');
  const parts = readTable(participantsFile, opts.types ?? {});
  if (!('participant_id' in parts.columns)) throw new FileFormatError(participantsFile, "needs a 'participant_id' column");
  const records: Record<string, CellValue>[] = [];
  const columns: Record<string, ColumnType> = { ...parts.columns };
  for (const p of parts.records) {
    const sub = String(p.participant_id);
    const subDir = path.join(root, sub);
    if (!existsSync(subDir)) throw new FileFormatError(participantsFile, `lists ${sub} but ${subDir} does not exist`);
    const sessFile = path.join(subDir, `${sub}_sessions.tsv`);
    let sessions: Record<string, CellValue>[];
    if (existsSync(sessFile)) {
      const t = readTable(sessFile, opts.types ?? {});
      if (!('session_id' in t.columns)) throw new FileFormatError(sessFile, "needs a 'session_id' column");
      for (const [k, ty] of Object.entries(t.columns)) columns[k] ??= ty;
      sessions = t.records;
    } else {
      const dirs = readdirSync(subDir).filter((d) => d.startsWith('ses-') && statSync(path.join(subDir, d)).isDirectory()).sort();
      sessions = dirs.length ? dirs.map((d) => ({ session_id: d })) : [{ session_id: null }];
    }
    for (const s of sessions) {
      const sesDir = s.session_id == null ? subDir : path.join(subDir, String(s.session_id));
      const image = pickImage(sesDir, opts.pattern, `${sub}${s.session_id ? ` ${s.session_id}` : ''}`);
      records.push({ ...p, ...s, path: image });
    }
  }
  columns.session_id = 'string';
  columns.path = 'string';
  return finishRows(records, columns, root, participantsFile);
}

/**
 * Reads a cohort manifest.
 *
 * ```ts
 * const m = await readManifest('cohort/');                  // BIDS: participants.tsv + sessions + anat images
 * const m2 = await readManifest('cohort/manifest.tsv', { types: { site: 'string' } });
 * ```
 */
export async function readManifest(source: string, opts: ReadManifestOptions = {}): Promise<Manifest> {
  if (!existsSync(source)) throw new FileFormatError(source, 'does not exist');
  if (statSync(source).isDirectory()) {
    if (existsSync(path.join(source, 'participants.tsv'))) return readBids(path.resolve(source), opts);
    for (const f of ['manifest.tsv', 'manifest.csv']) if (existsSync(path.join(source, f))) return readManifest(path.join(source, f), opts);
    throw new FileFormatError(source, 'folder has neither participants.tsv (BIDS) nor manifest.tsv/.csv');
  }
  const lower = source.toLowerCase();
  if (lower.endsWith('.arrow') || lower.endsWith('.feather') || lower.endsWith('.ipc')) return readArrow(source, opts.types ?? {});
  if (!/\.(tsv|csv|txt)$/.test(lower)) throw new ConfigError('manifest', `${source}: expected a folder, .tsv, .csv or .arrow file`);
  const { records, columns } = readTable(source, opts.types ?? {});
  return finishRows(records, columns, path.dirname(path.resolve(source)), source);
}

/** Sorted distinct non-null values of a column (the category codes `metaTensor` uses). */
export function columnLevels(manifest: Manifest | ManifestRow[], column: string): CellValue[] {
  const rows = Array.isArray(manifest) ? manifest : manifest.rows;
  const set = new Set<CellValue>();
  for (const r of rows) if (r[column] != null) set.add(r[column]);
  return [...set].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));
}
