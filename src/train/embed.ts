/**
 * Embedding a data set with a trained model (evaluation mode, no gradient): the representation of every sample,
 * with its subject, session and metadata, ready for `evaluateEmbeddings`, report maps and embedding tables.
 */
import * as tf from '../tf.js';
import { ProgressBar } from '../util/progress.js';
import type { EmbedBatch, EmbedSource } from './data.js';
import type { MetaValue, TrainableModel } from './types.js';

export interface EmbeddingSet {
  n: number;
  dim: number;
  /** Row-major n × dim representations. */
  embeddings: Float32Array;
  subjects: string[];
  sessions: (string | null)[];
  meta: Record<string, MetaValue[]>;
}

export interface EmbedOptions {
  /** 'representation' (default: what probes and embedding tables use) or 'projection'. */
  output?: 'representation' | 'projection';
  progress?: boolean;
  label?: string;
}

/** Appends each batch's rows to growing columns. */
class Collector {
  readonly chunks: Float32Array[] = [];
  dim = 0;
  readonly subjects: string[] = [];
  readonly sessions: (string | null)[] = [];
  readonly meta: Record<string, MetaValue[]> = {};

  add(values: Float32Array, dim: number, batch: EmbedBatch): void {
    this.dim = dim;
    this.chunks.push(values);
    this.subjects.push(...batch.subjects);
    this.sessions.push(...batch.sessions);
    for (const [k, v] of Object.entries(batch.meta)) (this.meta[k] ??= []).push(...v);
  }

  result(): EmbeddingSet {
    const n = this.subjects.length;
    const embeddings = new Float32Array(n * this.dim);
    let at = 0;
    for (const c of this.chunks) {
      embeddings.set(c, at);
      at += c.length;
    }
    return { n, dim: this.dim, embeddings, subjects: this.subjects, sessions: this.sessions, meta: this.meta };
  }
}

function run(model: TrainableModel, batch: EmbedBatch, output: 'representation' | 'projection'): { values: Float32Array; dim: number } {
  const out = tf.tidy(() => {
    const o = model.forward(batch.input, batch.inputs?.mask);
    return output === 'representation' ? o.representation : o.projection;
  });
  try {
    return { values: out.dataSync() as Float32Array, dim: out.shape[1] };
  } finally {
    out.dispose();
  }
}

/** Embeds every sample of `source` (model in eval mode; restores training mode when the model was training). */
export async function embedAll(model: TrainableModel, source: EmbedSource, opts: EmbedOptions = {}): Promise<EmbeddingSet> {
  const output = opts.output ?? 'representation';
  model.eval();
  const bar = opts.progress === false ? null : new ProgressBar({ label: opts.label ?? 'embed', total: source.size, unit: 'samples' });
  const acc = new Collector();
  for await (const batch of source.batches()) {
    try {
      const { values, dim } = run(model, batch, output);
      acc.add(values, dim, batch);
      bar?.tick(batch.size);
    } finally {
      tf.dispose([batch.input, ...Object.values(batch.inputs ?? {})]);
    }
  }
  bar?.finish();
  return acc.result();
}

/** Embeds V augmented views of every sample (for the alignment metric); null when the source has no views. */
export async function embedViews(model: TrainableModel, source: EmbedSource, count: number, seed: number, opts: EmbedOptions = {}): Promise<EmbeddingSet[] | null> {
  const stream = source.views?.(count, seed);
  if (stream == null) return null;
  const output = opts.output ?? 'representation';
  model.eval();
  const accs = Array.from({ length: count }, () => new Collector());
  for await (const views of stream) {
    views.forEach((batch, v) => {
      try {
        const { values, dim } = run(model, batch, output);
        accs[v].add(values, dim, batch);
      } finally {
        tf.dispose([batch.input, ...Object.values(batch.inputs ?? {})]);
      }
    });
  }
  return accs.map((a) => a.result());
}
