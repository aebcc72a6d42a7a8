/**
 * Longitudinal results as files and report blocks (scripts side: src/ must not import interop):
 * patient embeddings as an Arrow/Parquet embedding table with subject metadata, the per-method comparison table,
 * and the trajectory map (each subject's visits joined in time order).
 */
import { writeEmbeddings, type EmbeddingRow, type GeoclrTableMetadata } from '../../interop/embeddings.js';
import type { ReportBlock } from '../../src/report/blocks.js';
import type { PatientRecord } from '../../src/longitudinal/evaluate.js';

type Cell = number | string | boolean | null | undefined;

/**
 * The columns whose value is the same on every visit of a subject (sex, site, diagnosis, baseline age, rate, …):
 * the subject-level metadata of a patient row. Per-visit columns (age, session, time) are left out.
 */
export function subjectColumns(subjects: ArrayLike<string>, columns: Record<string, ArrayLike<Cell>>, skip: readonly string[] = []): Record<string, Map<string, Cell>> {
  const out: Record<string, Map<string, Cell>> = {};
  for (const [name, values] of Object.entries(columns)) {
    if (skip.includes(name) || name === 'subject_id' || name === 'session_id' || name === 'split' || name === 'modality') continue;
    const bySubject = new Map<string, Cell>();
    let constant = true;
    for (let i = 0; i < subjects.length && constant; i++) {
      const s = subjects[i];
      if (!bySubject.has(s)) bySubject.set(s, values[i]);
      else if (bySubject.get(s) !== values[i]) constant = false;
    }
    if (constant) out[name] = bySubject;
  }
  return out;
}

/**
 * Writes one row per patient: `subject_id`, `modality: 'patient'`, the patient embedding, `split`, `visits`,
 * `span_years`, the prediction (`predicted_<target>`), and the subject-level metadata columns.
 */
export async function writePatientEmbeddings(
  file: string,
  patients: readonly PatientRecord[],
  opts: { target: string; subjectMeta?: Record<string, Map<string, Cell>>; metadata: GeoclrTableMetadata },
): Promise<{ file: string; rows: number }> {
  const meta = opts.subjectMeta ?? {};
  const rows = patients.map((p) => {
    const row: Record<string, unknown> = {
      subject_id: p.subject,
      modality: 'patient',
      embedding: p.embedding,
      split: p.split,
      visits: p.visits,
      span_years: p.span,
      [`predicted_${opts.target}`]: p.predicted,
    };
    for (const [name, values] of Object.entries(meta)) if (!(name in row)) row[name] = (values.get(p.subject) ?? null) as Cell;
    return row as EmbeddingRow;
  });
  const r = await writeEmbeddings(file, rows, { metadata: opts.metadata });
  return { file: r.file, rows: r.rows };
}

/** The 2D map of visit embeddings with each subject's visits joined in time order, coloured by the given columns. */
export function trajectoryMap(opts: {
  embeddings: readonly ArrayLike<number>[] | { rows: number; cols: number; data: ArrayLike<number> };
  subjects: ArrayLike<string>;
  times: ArrayLike<number>;
  colorBy: Record<string, ArrayLike<unknown>>;
  title?: string;
  seed?: number;
  caption?: string;
}): ReportBlock {
  return {
    type: 'embeddingMap',
    ...(opts.title ? { title: opts.title } : {}),
    embeddings: opts.embeddings as never,
    projection: { seed: opts.seed ?? 0 },
    colorBy: opts.colorBy,
    labels: Array.from(opts.subjects),
    trajectories: { group: opts.subjects, time: opts.times },
    ...(opts.caption ? { caption: opts.caption } : {}),
  };
}
