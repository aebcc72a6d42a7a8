/**
 * Embeddings plus metadata as plain text tables — CSV, TSV, JSON, JSON Lines — for `geoclr eval` and for users
 * without Arrow. (Arrow/Parquet go through the interop reader and arrive as the same `EmbeddingTable`.)
 *
 * The embedding is either one column named `embedding` (numbers separated by spaces, ';' or ',', optionally in
 * [brackets]) or numbered columns such as `e0, e1, …`, `emb_0, …`, `z0, …`, `dim_0, …`. Every other column is
 * metadata; numeric-looking cells become numbers, empty/NA/NaN/null cells become null.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { FileFormatError } from '../errors.js';
import type { Matrix } from './matrix.js';

export type Cell = string | number | boolean | null;

export interface EmbeddingTable {
  embeddings: Matrix;
  /** Metadata columns, one value per row. */
  columns: Record<string, Cell[]>;
}

const NUMBERED = /^(?:embedding|emb|e|z|dim|feat|f)[_.-]?(\d+)$/i;
const MISSING = new Set(['', 'na', 'nan', 'null', 'none', 'n/a']);

/** Parses delimited text (RFC 4180 quoting: "a, b" and doubled "" inside quotes). */
export function parseDelimited(text: string, delimiter: string, file: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  let line = 1;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === delimiter) {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      cell = '';
      line++;
    } else cell += ch;
  }
  if (quoted) throw new FileFormatError(file, `unterminated quoted field (opened before line ${line})`);
  row.push(cell);
  if (row.length > 1 || row[0] !== '') rows.push(row);
  return rows;
}

function parseCell(s: string): Cell {
  const t = s.trim();
  if (MISSING.has(t.toLowerCase())) return null;
  const v = Number(t);
  // Identifiers such as '007' stay text (a leading zero would be lost as a number).
  return Number.isFinite(v) && /^[-+.\d]/.test(t) && !/^[-+]?0\d/.test(t) ? v : t;
}

function parseVector(s: string, file: string, where: string): number[] {
  const t = s.trim().replace(/^\[/, '').replace(/\]$/, '');
  const parts = t.split(/[\s;,]+/).filter((p) => p !== '');
  const out = parts.map(Number);
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (parts.length === 0 || bad >= 0) {
    throw new FileFormatError(file, `${where}: embedding value ${bad >= 0 ? JSON.stringify(parts[bad]) : '(empty)'} is not a finite number`);
  }
  return out;
}

/** Builds the table from rows of cells given a header. */
function fromRecords(header: string[], body: string[][], file: string): EmbeddingTable {
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup != null) throw new FileFormatError(file, `column '${dup}' appears twice in the header`);
  const embCol = header.findIndex((h) => h.toLowerCase() === 'embedding');
  const numbered = header
    .map((h, i) => ({ i, m: NUMBERED.exec(h) }))
    .filter((x) => x.m != null && x.i !== embCol)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]));
  if (embCol < 0 && numbered.length === 0) {
    throw new FileFormatError(file, `no embedding column: expected a column 'embedding' or numbered columns like e0, e1, … (header: ${header.slice(0, 8).join(', ')}${header.length > 8 ? ', …' : ''})`);
  }
  const embIdx = new Set(embCol >= 0 ? [embCol] : numbered.map((x) => x.i));
  const metaIdx = header.map((_, i) => i).filter((i) => !embIdx.has(i));
  const n = body.length;
  if (n === 0) throw new FileFormatError(file, 'no data rows after the header');
  let d = -1;
  let data = new Float64Array(0);
  const columns: Record<string, Cell[]> = {};
  for (const j of metaIdx) columns[header[j]] = new Array(n);
  body.forEach((cells, r) => {
    const where = `row ${r + 1}`;
    if (cells.length !== header.length) {
      throw new FileFormatError(file, `${where} has ${cells.length} fields, the header ${header.length}`);
    }
    const vec = embCol >= 0 ? parseVector(cells[embCol], file, where) : numbered.map((x) => parseVector(cells[x.i], file, `${where}, column ${header[x.i]}`)[0]);
    if (d < 0) {
      d = vec.length;
      data = new Float64Array(n * d);
    } else if (vec.length !== d) {
      throw new FileFormatError(file, `${where}: embedding has ${vec.length} values, row 1 has ${d}`);
    }
    data.set(vec, r * d);
    for (const j of metaIdx) columns[header[j]][r] = parseCell(cells[j]);
  });
  return { embeddings: { rows: n, cols: d, data }, columns };
}

function fromJson(value: unknown, file: string): EmbeddingTable {
  let rows: Record<string, unknown>[];
  if (Array.isArray(value)) rows = value as Record<string, unknown>[];
  else if (value != null && typeof value === 'object' && Array.isArray((value as { embeddings?: unknown }).embeddings)) {
    const v = value as { embeddings: unknown[]; metadata?: Record<string, unknown[]>; columns?: Record<string, unknown[]> };
    const meta = v.metadata ?? v.columns ?? {};
    rows = v.embeddings.map((e, i) => {
      const r: Record<string, unknown> = { embedding: e };
      for (const [k, col] of Object.entries(meta)) {
        if (!Array.isArray(col) || col.length !== v.embeddings.length) {
          throw new FileFormatError(file, `metadata column '${k}' must be an array of ${v.embeddings.length} values`);
        }
        r[k] = col[i];
      }
      return r;
    });
  } else {
    throw new FileFormatError(file, 'expected an array of rows {embedding: [...], ...} or {embeddings: [[...]], metadata: {column: [...]}}');
  }
  if (rows.length === 0) throw new FileFormatError(file, 'no rows');
  const names = new Set<string>();
  rows.forEach((r, i) => {
    if (r == null || typeof r !== 'object' || !Array.isArray(r.embedding)) {
      throw new FileFormatError(file, `row ${i + 1}: expected an object with an 'embedding' array`);
    }
    for (const k of Object.keys(r)) if (k !== 'embedding') names.add(k);
  });
  const d = (rows[0].embedding as unknown[]).length;
  const data = new Float64Array(rows.length * d);
  const columns: Record<string, Cell[]> = {};
  for (const k of names) columns[k] = [];
  rows.forEach((r, i) => {
    const e = r.embedding as unknown[];
    if (e.length !== d) throw new FileFormatError(file, `row ${i + 1}: embedding has ${e.length} values, row 1 has ${d}`);
    for (let j = 0; j < d; j++) {
      const v = e[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new FileFormatError(file, `row ${i + 1}: embedding value ${j} is ${JSON.stringify(v)}, not a finite number`);
      data[i * d + j] = v;
    }
    for (const k of names) {
      const v = r[k];
      columns[k].push(v == null || (typeof v === 'number' && !Number.isFinite(v)) ? null : typeof v === 'object' ? JSON.stringify(v) : (v as Cell));
    }
  });
  if (d === 0) throw new FileFormatError(file, 'embeddings are empty (0 values per row)');
  return { embeddings: { rows: rows.length, cols: d, data }, columns };
}

export type TableFormat = 'csv' | 'tsv' | 'json' | 'jsonl';

/** Parses an embedding table from text. */
export function parseEmbeddingTable(text: string, format: TableFormat, file = '<text>'): EmbeddingTable {
  if (format === 'json' || format === 'jsonl') {
    let value: unknown;
    try {
      value =
        format === 'json'
          ? JSON.parse(text)
          : text
              .split(/\r?\n/)
              .map((l, i) => [l, i] as const)
              .filter(([l]) => l.trim() !== '')
              .map(([l, i]) => {
                try {
                  return JSON.parse(l);
                } catch (e) {
                  throw new FileFormatError(file, `line ${i + 1}: ${(e as Error).message}`);
                }
              });
    } catch (e) {
      if (e instanceof FileFormatError) throw e;
      throw new FileFormatError(file, `not valid JSON: ${(e as Error).message}`);
    }
    return fromJson(value, file);
  }
  const rows = parseDelimited(text, format === 'tsv' ? '\t' : ',', file);
  if (rows.length === 0) throw new FileFormatError(file, 'empty file (no header)');
  return fromRecords(rows[0].map((h) => h.trim()), rows.slice(1), file);
}

/** The format implied by a file name's extension, or null. */
export function tableFormatOf(file: string): TableFormat | null {
  const ext = path.extname(file).toLowerCase();
  return ext === '.csv' ? 'csv' : ext === '.tsv' || ext === '.tab' ? 'tsv' : ext === '.json' ? 'json' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : null;
}

/** Reads a CSV/TSV/JSON/JSON Lines embedding table (format from the extension). */
export async function readEmbeddingTable(file: string): Promise<EmbeddingTable> {
  const format = tableFormatOf(file);
  if (format == null) throw new FileFormatError(file, `unknown extension '${path.extname(file)}'; expected .csv, .tsv, .json or .jsonl`);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileFormatError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (e as Error).message})`);
  }
  return parseEmbeddingTable(text, format, file);
}
