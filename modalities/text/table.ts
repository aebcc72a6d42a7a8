/**
 * Delimited text tables (TSV/CSV) for manifests and reports: strict UTF-8 decoding that names the line of a bad
 * byte, RFC 4180 quoting (reports contain commas, quotes and sometimes line breaks), and line numbers kept for
 * error messages.
 */
import { FileFormatError } from '../../src/errors.js';

export interface Table {
  header: string[];
  rows: string[][];
  /** 1-based line on which each row starts (for error messages). */
  lines: number[];
}

export interface DecodeResult {
  text: string;
  /** Lines (1-based) that held invalid UTF-8, replaced by U+FFFD (only with invalid: 'replace'). */
  replacedLines: number[];
}

/**
 * Decodes UTF-8 bytes. Invalid bytes are a FileFormatError naming the line and byte (`invalid: 'error'`, the
 * default) or become U+FFFD with the lines counted (`invalid: 'replace'`). A leading BOM is dropped.
 */
export function decodeUtf8(bytes: Uint8Array, file: string, invalid: 'error' | 'replace' = 'error'): DecodeResult {
  const bad = invalidUtf8Offsets(bytes, invalid === 'error' ? 1 : Infinity);
  if (bad.length > 0 && invalid === 'error') {
    const { line, column } = position(bytes, bad[0]);
    throw new FileFormatError(
      file,
      `line ${line}, byte ${column}: invalid UTF-8 (0x${bytes[bad[0]].toString(16).toUpperCase().padStart(2, '0')}); ` +
        'the file is probably Latin-1/Windows-1252 — convert it (e.g. `iconv -f windows-1252 -t utf-8`) ' +
        "or read it with { invalidUtf8: 'replace' } to replace bad bytes with U+FFFD",
    );
  }
  let text = new TextDecoder('utf-8').decode(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const replacedLines = [...new Set(bad.map((offset) => position(bytes, offset).line))];
  return { text, replacedLines };
}

/** Byte offsets where an invalid UTF-8 sequence starts (at most `limit` of them). */
export function invalidUtf8Offsets(bytes: Uint8Array, limit = Infinity): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length && out.length < limit) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // no overlongs
      if (b === 0xed) hi = 0x9f; // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f; // ≤ U+10FFFF
    } else {
      out.push(i++);
      continue;
    }
    let ok = true;
    for (let k = 1; ok && k <= need; k++) {
      const c = bytes[i + k];
      const [min, max] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (c === undefined || c < min || c > max) ok = false;
    }
    if (ok) i += need + 1;
    else out.push(i++);
  }
  return out;
}

function position(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** The delimiter a file's name implies: ',' for .csv, tab otherwise (.tsv, .txt, …). */
export function delimiterFor(file: string): ',' | '\t' {
  return /\.csv$/i.test(file) ? ',' : '\t';
}

/**
 * Parses delimited text with RFC 4180 quoting: a field that starts with `"` runs to the closing quote, `""` is a
 * literal quote, and delimiters and line breaks inside are data. Blank lines are skipped. Rows whose field count
 * differs from the header's are a FileFormatError naming the line.
 */
export function parseTable(text: string, file: string, delimiter: string): Table {
  const records: { fields: string[]; line: number }[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new FileFormatError(file, `line ${startLine}: a quoted field is never closed`);
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') {
          throw new FileFormatError(file, `line ${line}: unexpected text after a closing quote`);
        }
      } else {
        let j = i;
        while (j < n && text[j] !== delimiter && text[j] !== '\n') j++;
        field = text.slice(i, j);
        if (field.endsWith('\r') && (j >= n || text[j] === '\n')) field = field.slice(0, -1);
        i = j;
      }
      fields.push(field);
      if (i < n && text[i] === delimiter) {
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (i < n && text[i] === '\n') {
        i++;
        line++;
      }
      break;
    }
    if (!(fields.length === 1 && fields[0] === '')) records.push({ fields, line: startLine });
  }
  if (records.length === 0) throw new FileFormatError(file, 'empty: expected a header line');
  const header = records[0].fields.map((h) => h.trim());
  const rows: string[][] = [];
  const lines: number[] = [];
  for (const r of records.slice(1)) {
    if (r.fields.length !== header.length) {
      throw new FileFormatError(file, `line ${r.line}: ${r.fields.length} fields, but the header has ${header.length}`);
    }
    rows.push(r.fields);
    lines.push(r.line);
  }
  return { header, rows, lines };
}

/** Formats a table; fields holding the delimiter, a quote or a line break are quoted (RFC 4180). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], delimiter: string): string {
  const quote = (s: string) => (s.includes(delimiter) || /["\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  return [header, ...rows].map((r) => r.map(quote).join(delimiter)).join('\n') + '\n';
}

/** The index of a required column, or a FileFormatError listing the columns there are. */
export function requireColumn(header: readonly string[], name: string, file: string): number {
  const k = header.indexOf(name);
  if (k < 0) throw new FileFormatError(file, `no '${name}' column (columns: ${header.join(', ')})`);
  return k;
}
