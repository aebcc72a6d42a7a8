/** Embedding sets (src/train `embedAll`) → INTEROP.md embedding tables (`.arrow` / `.parquet`). */
import { writeEmbeddings, type GeoclrTableMetadata, type MetaValue } from '../../interop/embeddings.js';
import type { EmbeddingSet } from '../../src/train/embed.js';

export interface EmbeddingTableOptions {
  metadata: GeoclrTableMetadata;
  modality: string;
  /** Per-row split labels ('train' / 'test'); default: the set's `split` column when it has one. */
  split?: (string | null)[];
}

/** Writes one row per sample: subject_id, session_id, modality, embedding, then every metadata column. */
export async function writeEmbeddingSet(file: string, set: EmbeddingSet, opts: EmbeddingTableOptions): Promise<void> {
  const columns: Record<string, MetaValue[]> = {};
  for (const [name, values] of Object.entries(set.meta)) {
    if (name === 'split' || name === 'subject_id' || name === 'session_id' || name === 'path') continue;
    if (values.every((v) => v == null)) continue; // nothing to type it by
    columns[name] = values;
  }
  const split = opts.split ?? (set.meta.split?.map((v) => (v == null ? null : String(v))) as (string | null)[] | undefined);
  await writeEmbeddings(
    file,
    {
      subject_id: set.subjects,
      session_id: set.sessions,
      modality: opts.modality,
      embedding: set.embeddings,
      columns,
      ...(split ? { split } : {}),
    },
    { metadata: opts.metadata },
  );
}
