/**
 * Embedding tables (INTEROP.md "Embeddings and tables"): Arrow IPC files (`.arrow`, Feather v2) and Parquet
 * (`.parquet`, zstd), one row per (subject, session, modality):
 *
 *   subject_id Utf8 · session_id Utf8 (nullable) · modality Utf8 · embedding FixedSizeList<Float32>[d]
 *   · metadata columns (numbers Float64, categorical strings Dictionary<Utf8>, free text Utf8, flags Bool)
 *   · split Utf8 (optional)
 *
 * and schema metadata key `geoclr`: JSON `{model, weights_sha256, loss, geoclr_version, manifest, ...}`.
 *
 * Writing streams record batches: `openEmbeddingWriter` returns a writer that accepts batches and sends each
 * to the file before the next arrives, so a million-row table is never held whole (let alone twice). The file
 * appears under its final name only when `close()` succeeds (temp file + rename). Readers: `readEmbeddings`
 * (whole table) and `readEmbeddingBatches` (one batch at a time). The format follows the extension.
 */
import * as arrow from 'apache-arrow';
import { promises as fsp, openAsBlob, createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import path from 'node:path';
import * as tf from '../src/tf.js';
import { FileFormatError, ShapeError, ValueError } from '../src/errors.js';
import { withAtomicPath } from '../src/util/fs.js';
import { geoclrVersion } from './version.js';
import { halfToFloat } from './dtypes.js';

export type TableFormat = 'arrow' | 'parquet';

/** The `geoclr` schema metadata (JSON). */
export interface GeoclrTableMetadata {
  /** Model (encoder) name, e.g. `resnet18-3d`. */
  model: string;
  /** sha256 of the weight file the embeddings came from. */
  weights_sha256?: string | null;
  /** The training loss and its hyper-parameters, e.g. `{name: 'y-aware-infonce', tau: 0.1, sigma: 5}`. */
  loss?: ({ name: string } & Record<string, unknown>) | null;
  /** Filled in by the writer. */
  geoclr_version?: string;
  /** The source manifest (path or identifier) the rows came from. */
  manifest?: string | null;
  [extra: string]: unknown;
}

/** How a metadata column is stored. Inferred (numbers → float64, strings → dictionary, booleans → bool) unless set. */
export type MetaColumnType = 'float64' | 'dictionary' | 'utf8' | 'bool';

export type MetaValue = number | string | boolean | null | undefined;

/** One row; every key other than the fixed columns is a metadata column. */
export interface EmbeddingRow {
  subject_id: string;
  session_id?: string | null;
  modality: string;
  embedding: ArrayLike<number>;
  split?: string | null;
  [column: string]: MetaValue | ArrayLike<number>;
}

/** Column-wise batch: `embedding` as n×d (flat Float32Array of n·d values, rows of numbers, or a 2-D tensor). */
export interface EmbeddingColumns {
  subject_id: readonly string[];
  session_id?: readonly (string | null | undefined)[];
  /** One modality for every row, or one per row. */
  modality: string | readonly string[];
  embedding: Float32Array | readonly ArrayLike<number>[] | tf.Tensor;
  split?: readonly (string | null | undefined)[];
  /** Metadata columns by name (same length as subject_id). */
  columns?: Record<string, readonly MetaValue[] | Float64Array>;
}

export interface EmbeddingWriterOptions {
  metadata: GeoclrTableMetadata;
  /** Embedding width; inferred from the first batch. */
  dim?: number;
  /** Storage type per metadata column (overrides inference from the first batch). */
  columnTypes?: Record<string, MetaColumnType>;
  /**
   * Known categories of dictionary columns (e.g. from the manifest). Values seen later are appended; in Arrow
   * IPC files they become delta dictionaries (readable by pyarrow ≥ 7), so listing them up front keeps one
   * dictionary per column.
   */
  categories?: Record<string, readonly string[]>;
  /** Whether to write a `split` column (inferred from the first batch). */
  split?: boolean;
  /** Override the extension. */
  format?: TableFormat;
  /** Parquet: codec (default zstd) and rows per row group (default 65 536). */
  compression?: 'zstd' | 'snappy' | 'none';
  rowGroupSize?: number;
}

const FIXED = new Set(['subject_id', 'session_id', 'modality', 'embedding', 'split']);
const GEOCLR_KEY = 'geoclr';

/** `.arrow` / `.feather` / `.ipc` → arrow, `.parquet` / `.pq` → parquet. */
export function tableFormatOf(file: string, override?: TableFormat): TableFormat {
  if (override) return override;
  const ext = path.extname(file).toLowerCase();
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc') return 'arrow';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  throw new ValueError(`${file}: cannot tell the table format from the extension '${ext}'; use .arrow or .parquet`);
}

// --- building Arrow batches ------------------------------------------------------------------------------------

/** A dictionary column's categories so far; new values are appended as a new chunk (a delta). */
class CategoryState {
  readonly index = new Map<string, number>();
  chunks: arrow.Data<arrow.Utf8>[] = [];

  constructor(initial: readonly string[] = []) {
    this.add(initial);
  }

  add(values: readonly string[]): void {
    const fresh: string[] = [];
    for (const v of values) {
      if (!this.index.has(v)) {
        this.index.set(v, this.index.size);
        fresh.push(v);
      }
    }
    if (fresh.length > 0 || this.chunks.length === 0) this.chunks.push(utf8Data(fresh));
  }

  /** Chunked (delta-friendly) dictionary for the Arrow IPC file writer. */
  chunked(): arrow.Vector<arrow.Utf8> {
    return new arrow.Vector(this.chunks);
  }

  /** One-chunk dictionary (for per-batch IPC streams handed to the Parquet writer). */
  flat(): arrow.Vector<arrow.Utf8> {
    return new arrow.Vector([utf8Data([...this.index.keys()])]);
  }
}

/**
 * Utf8 column data built in one pass: all strings joined and encoded by one native call, offsets from the
 * lengths (string lengths when everything is ASCII). Several times faster than apache-arrow's per-string builder.
 */
function utf8Data(values: ArrayLike<string | null | undefined>): arrow.Data<arrow.Utf8> {
  const n = values.length;
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = values[i] ?? '';
  const joined = parts.join('');
  const bytes = Buffer.from(joined, 'utf8');
  const offsets = new Int32Array(n + 1);
  const ascii = bytes.length === joined.length;
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + (ascii ? parts[i].length : Buffer.byteLength(parts[i], 'utf8'));
  const { bitmap, nulls } = validityOf(values);
  return arrow.makeData({
    type: new arrow.Utf8(),
    length: n,
    nullCount: nulls,
    nullBitmap: bitmap,
    valueOffsets: offsets,
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
  });
}

function validityOf(values: ArrayLike<unknown>): { bitmap: Uint8Array | undefined; nulls: number } {
  let nulls = 0;
  for (let i = 0; i < values.length; i++) if (values[i] == null) nulls++;
  if (nulls === 0) return { bitmap: undefined, nulls };
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) if (values[i] != null) bitmap[i >> 3] |= 1 << (i & 7);
  return { bitmap, nulls };
}

function inferType(name: string, values: ArrayLike<MetaValue>): MetaColumnType {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v == null) continue;
    if (typeof v === 'number') return 'float64';
    if (typeof v === 'string') return 'dictionary';
    if (typeof v === 'boolean') return 'bool';
    throw new ValueError(`metadata column '${name}' holds a ${typeof v}; expected numbers, strings or booleans`);
  }
  return 'float64'; // all null: nothing better to go on
}

function arrowTypeOf(t: MetaColumnType): arrow.DataType {
  switch (t) {
    case 'float64':
      return new arrow.Float64();
    case 'utf8':
      return new arrow.Utf8();
    case 'bool':
      return new arrow.Bool();
    case 'dictionary':
      return new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32());
  }
}

/** A batch normalised to columns, checked for consistent lengths and widths. */
interface NormalBatch {
  n: number;
  subject: readonly string[];
  session: readonly (string | null | undefined)[] | null;
  modality: readonly string[];
  embedding: Float32Array;
  dim: number;
  split: readonly (string | null | undefined)[] | null;
  columns: Map<string, ArrayLike<MetaValue>>;
}

function flattenEmbedding(e: EmbeddingColumns['embedding'], n: number, dimHint: number | undefined): { data: Float32Array; dim: number } {
  if (e instanceof tf.Tensor) {
    if (e.rank !== 2 || e.shape[0] !== n) throw new ShapeError(`embedding tensor has shape [${e.shape}]; expected [${n}, d]`);
    return { data: Float32Array.from(e.dataSync() as Float32Array), dim: e.shape[1]! };
  }
  if (e instanceof Float32Array) {
    const dim = dimHint ?? (n > 0 ? e.length / n : 0);
    if (!Number.isInteger(dim) || e.length !== n * dim) {
      throw new ShapeError(`embedding holds ${e.length} values for ${n} rows; expected n·d (d = ${dimHint ?? 'inferred'})`);
    }
    return { data: e, dim };
  }
  const rows = e as readonly ArrayLike<number>[];
  if (rows.length !== n) throw new ShapeError(`embedding has ${rows.length} rows; expected ${n}`);
  const dim = dimHint ?? (n > 0 ? rows[0].length : 0);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    if (rows[i].length !== dim) throw new ShapeError(`embedding row ${i} has ${rows[i].length} values; expected ${dim}`);
    data.set(rows[i], i * dim);
  }
  return { data, dim };
}

function normaliseColumns(c: EmbeddingColumns, dimHint: number | undefined): NormalBatch {
  const n = c.subject_id.length;
  const check = (name: string, arr: ArrayLike<unknown> | undefined | null) => {
    if (arr != null && arr.length !== n) throw new ShapeError(`column '${name}' has ${arr.length} values; subject_id has ${n}`);
  };
  for (let i = 0; i < n; i++) {
    if (typeof c.subject_id[i] !== 'string') throw new ValueError(`subject_id[${i}] is ${c.subject_id[i]}; expected a string`);
  }
  const modality = typeof c.modality === 'string' ? new Array<string>(n).fill(c.modality) : c.modality;
  check('modality', modality);
  for (let i = 0; i < n; i++) {
    if (typeof modality[i] !== 'string') throw new ValueError(`modality[${i}] is ${modality[i]}; expected a string`);
  }
  check('session_id', c.session_id);
  check('split', c.split);
  const columns = new Map<string, ArrayLike<MetaValue>>();
  for (const [name, values] of Object.entries(c.columns ?? {})) {
    if (FIXED.has(name)) throw new ValueError(`metadata column '${name}' clashes with a fixed column`);
    check(name, values);
    columns.set(name, values as ArrayLike<MetaValue>);
  }
  const { data, dim } = flattenEmbedding(c.embedding, n, dimHint);
  return { n, subject: c.subject_id, session: c.session_id ?? null, modality, embedding: data, dim, split: c.split ?? null, columns };
}

function rowsToColumns(rows: readonly EmbeddingRow[], from = 0, to = rows.length): EmbeddingColumns {
  const slice = rows.slice(from, to);
  const names = new Set<string>();
  for (const r of slice) for (const k of Object.keys(r)) if (!FIXED.has(k)) names.add(k);
  const columns: Record<string, MetaValue[]> = {};
  for (const k of names) columns[k] = slice.map((r) => r[k] as MetaValue);
  const hasSession = slice.some((r) => r.session_id != null);
  const hasSplit = slice.some((r) => r.split != null);
  return {
    subject_id: slice.map((r) => r.subject_id),
    modality: slice.map((r) => r.modality),
    embedding: slice.map((r) => r.embedding),
    ...(hasSession ? { session_id: slice.map((r) => r.session_id ?? null) } : {}),
    ...(hasSplit ? { split: slice.map((r) => r.split ?? null) } : {}),
    columns,
  };
}

/** Fixes the schema from the options and the first batch; later batches must match it. */
class SchemaPlan {
  readonly schema: arrow.Schema;
  readonly dim: number;
  readonly metaColumns: { name: string; type: MetaColumnType; arrowType: arrow.DataType; categories?: CategoryState }[];
  readonly hasSplit: boolean;

  constructor(first: NormalBatch, opts: EmbeddingWriterOptions) {
    this.dim = opts.dim ?? first.dim;
    if (!(this.dim > 0)) throw new ShapeError(`embedding width must be positive, got ${this.dim}`);
    this.hasSplit = opts.split ?? first.split != null;
    const names = new Set([...first.columns.keys(), ...Object.keys(opts.columnTypes ?? {})]);
    this.metaColumns = [...names].map((name) => {
      if (FIXED.has(name)) throw new ValueError(`metadata column '${name}' clashes with a fixed column`);
      const type = opts.columnTypes?.[name] ?? inferType(name, first.columns.get(name) ?? []);
      const arrowType = arrowTypeOf(type);
      return type === 'dictionary'
        ? { name, type, arrowType, categories: new CategoryState(opts.categories?.[name] ?? []) }
        : { name, type, arrowType };
    });
    for (const name of Object.keys(opts.categories ?? {})) {
      if (!this.metaColumns.some((c) => c.name === name && c.type === 'dictionary')) {
        throw new ValueError(`categories given for '${name}', which is not a dictionary column`);
      }
    }
    const fields = [
      new arrow.Field('subject_id', new arrow.Utf8(), false),
      new arrow.Field('session_id', new arrow.Utf8(), true),
      new arrow.Field('modality', new arrow.Utf8(), false),
      new arrow.Field('embedding', new arrow.FixedSizeList(this.dim, new arrow.Field('item', new arrow.Float32(), true)), false),
      ...this.metaColumns.map((c) => new arrow.Field(c.name, c.arrowType, true)),
      ...(this.hasSplit ? [new arrow.Field('split', new arrow.Utf8(), true)] : []),
    ];
    const { model, weights_sha256 = null, loss = null, manifest = null, ...extra } = opts.metadata;
    const meta: GeoclrTableMetadata = { model, weights_sha256, loss, manifest, ...extra, geoclr_version: geoclrVersion() };
    this.schema = new arrow.Schema(fields, new Map([[GEOCLR_KEY, JSON.stringify(meta)]]));
  }

  /** Builds the record batch; `flatDictionaries` for self-contained batches (Parquet), else chunked deltas. */
  toRecordBatch(b: NormalBatch, flatDictionaries: boolean): arrow.RecordBatch {
    if (b.dim !== this.dim && b.n > 0) throw new ShapeError(`embedding width ${b.dim} differs from the table's ${this.dim}`);
    for (const name of b.columns.keys()) {
      if (!this.metaColumns.some((c) => c.name === name)) {
        throw new ValueError(`metadata column '${name}' was not in the first batch; pass columnTypes to declare it up front`);
      }
    }
    if (!this.hasSplit && b.split != null) throw new ValueError("a 'split' column appeared after the first batch; pass split: true");
    const utf8 = (values: readonly (string | null | undefined)[] | null) => utf8Data(values ?? new Array<null>(b.n).fill(null));
    const embType = this.schema.fields[3].type as arrow.FixedSizeList;
    const child = arrow.makeData({ type: new arrow.Float32(), length: b.n * this.dim, data: b.embedding });
    const children: arrow.Data[] = [
      utf8(b.subject),
      utf8(b.session),
      utf8(b.modality),
      arrow.makeData({ type: embType, length: b.n, nullCount: 0, child }),
    ];
    for (const c of this.metaColumns) children.push(this.metaData(c, b.columns.get(c.name) ?? new Array<null>(b.n).fill(null), b.n, flatDictionaries));
    if (this.hasSplit) children.push(utf8(b.split));
    const struct = arrow.makeData({ type: new arrow.Struct(this.schema.fields), length: b.n, nullCount: 0, children });
    return new arrow.RecordBatch(this.schema, struct);
  }

  private metaData(c: SchemaPlan['metaColumns'][number], values: ArrayLike<MetaValue>, n: number, flat: boolean): arrow.Data {
    const want = c.type === 'float64' ? 'number' : c.type === 'bool' ? 'boolean' : 'string';
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v != null && typeof v !== want) throw new ValueError(`metadata column '${c.name}' row ${i} is ${JSON.stringify(v)}; the column holds ${want}s`);
    }
    if (c.type === 'float64') {
      const { bitmap, nulls } = validityOf(values);
      const data = values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number | null>, (v) => v ?? 0);
      return arrow.makeData({ type: c.arrowType as arrow.Float64, length: n, nullCount: nulls, data, nullBitmap: bitmap });
    }
    if (c.type === 'utf8') return utf8Data(values as ArrayLike<string | null>);
    if (c.type === 'bool') return arrow.vectorFromArray(Array.from(values) as (boolean | null)[], new arrow.Bool()).data[0];
    const cats = c.categories!;
    cats.add((Array.from(values) as (string | null)[]).filter((v): v is string => v != null));
    const indices = new Int32Array(n);
    for (let i = 0; i < n; i++) indices[i] = values[i] == null ? 0 : cats.index.get(values[i] as string)!;
    const { bitmap, nulls } = validityOf(values);
    return arrow.makeData({
      type: c.arrowType as arrow.Dictionary<arrow.Utf8, arrow.Int32>,
      length: n,
      nullCount: nulls,
      data: indices,
      nullBitmap: bitmap,
      dictionary: flat ? cats.flat() : cats.chunked(),
    });
  }
}

// --- sinks -----------------------------------------------------------------------------------------------------

interface BatchSink {
  write(batch: arrow.RecordBatch): Promise<void>;
  finish(): Promise<void>;
  /** Releases the file after a failure (the temp file itself is removed by the writer). */
  abort(): Promise<void>;
}

/**
 * Arrow IPC file sink. The arrow writer queues encoded bytes; after every batch we move whatever it produced
 * to the file before accepting the next one, so at most one encoded batch is in memory.
 */
/**
 * The IPC file format is magic + the IPC *stream* (schema message first) + footer. apache-arrow's file writer
 * leaves the schema message out (readers that use the footer do not notice); write it, as Arrow C++ does, so
 * that stream readers of the file body work too.
 */
class IpcFileWriter extends arrow.RecordBatchFileWriter {
  protected override _writeSchema(schema: arrow.Schema): this {
    this['_writeMagic']()['_writePadding'](2);
    return arrow.RecordBatchWriter.prototype['_writeSchema'].call(this, schema) as this;
  }
}

async function arrowSink(tmp: string): Promise<BatchSink> {
  const fh = await fsp.open(tmp, 'w');
  const writer = new IpcFileWriter();
  const it = writer[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<Uint8Array>> | null = null;
  const idle = Symbol('idle');
  const drain = async () => {
    for (;;) {
      if (pending == null) {
        pending = it.next();
        pending.catch(() => undefined); // an abort rejects the outstanding read; nobody may be awaiting it
      }
      // Chunks already queued resolve in a microtask; an empty queue loses the race to the next macrotask
      // (the pending read then simply receives the next chunk).
      const r = await Promise.race([pending, new Promise<typeof idle>((res) => setImmediate(() => res(idle)))]);
      if (r === idle) return;
      pending = null;
      if (r.done) return;
      await fh.write(r.value);
    }
  };
  return {
    async write(batch) {
      writer.write(batch);
      await drain();
    },
    async finish() {
      try {
        writer.finish();
        await drain();
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
    async abort() {
      writer.abort();
      await fh.close().catch(() => undefined);
    },
  };
}

/** Parquet sink: batches flow through parquet-wasm's streaming writer (row groups are flushed as they fill). */
async function parquetSink(tmp: string, opts: EmbeddingWriterOptions, meta: string, dictionaryColumns: string[]): Promise<BatchSink> {
  const pq = await import('parquet-wasm/node');
  const codec = { zstd: pq.Compression.ZSTD, snappy: pq.Compression.SNAPPY, none: pq.Compression.UNCOMPRESSED }[opts.compression ?? 'zstd'];
  // Dictionary encoding only where values repeat (categorical columns): tried on embeddings or unique ids it is
  // wasted work that the writer throws away.
  let builder = new pq.WriterPropertiesBuilder().setDictionaryEnabled(false);
  for (const c of dictionaryColumns) builder = builder.setColumnDictionaryEnabled(c, true);
  const props = builder
    .setCompression(codec)
    .setMaxRowGroupSize(opts.rowGroupSize ?? 65_536)
    .setCreatedBy(`geoclr ${geoclrVersion()}`)
    // Besides the Arrow schema (ARROW:schema), put the provenance where non-Arrow readers (DuckDB) look.
    .setKeyValueMetadata(new Map([[GEOCLR_KEY, meta]]))
    .build();
  // A one-slot channel: write() resolves once the Parquet writer has pulled the batch.
  let offer: ((b: unknown) => void) | null = null;
  let closed = false;
  const waiters: (() => void)[] = [];
  let nextValue: { batch: unknown } | null = null;
  const source = new ReadableStream({
    async pull(controller) {
      while (nextValue == null && !closed) await new Promise<void>((res) => waiters.push(res));
      if (nextValue != null) {
        controller.enqueue(nextValue.batch);
        nextValue = null;
        offer?.(null);
      } else controller.close();
    },
  }, { highWaterMark: 0 });
  // transformParquetStream reads the first batch (for the schema) before it resolves: do not await it here.
  const file = createWriteStream(tmp);
  const done = pq
    .transformParquetStream(source, props)
    .then((out) => out.pipeTo(Writable.toWeb(file) as WritableStream<Uint8Array>));
  let failure: unknown = null;
  done.catch((e) => {
    failure = e;
    for (const w of waiters.splice(0)) w();
    offer?.(null);
  });
  return {
    async write(batch) {
      if (failure) throw failure;
      const ipc = arrow.tableToIPC(new arrow.Table([batch]), 'stream');
      const wasmBatch = pq.Table.fromIPCStream(ipc).recordBatch(0);
      await new Promise((res) => {
        offer = res;
        nextValue = { batch: wasmBatch };
        for (const w of waiters.splice(0)) w();
      });
      offer = null;
      if (failure) throw failure;
    },
    async finish() {
      closed = true;
      for (const w of waiters.splice(0)) w();
      await done;
      const fh = await fsp.open(tmp, 'r+');
      await fh.sync();
      await fh.close();
    },
    async abort() {
      closed = true;
      for (const w of waiters.splice(0)) w();
      await done.catch(() => undefined);
      if (!file.closed) await new Promise<void>((res) => file.destroy() && file.once('close', () => res()));
    },
  };
}

// --- the writer --------------------------------------------------------------------------------------------------

/** A streaming embedding-table writer; see `openEmbeddingWriter`. */
export class EmbeddingWriter {
  private plan: SchemaPlan | null = null;
  private sink: BatchSink | null = null;
  private rows = 0;
  private state: 'open' | 'closed' | 'aborted' = 'open';
  private finished!: (v: void) => void;
  private failed!: (e: unknown) => void;
  private readonly result: Promise<void>;
  private tmp: Promise<string>;

  /** @internal use openEmbeddingWriter */
  constructor(
    readonly file: string,
    readonly format: TableFormat,
    private readonly opts: EmbeddingWriterOptions,
  ) {
    let gotTmp!: (p: string) => void;
    this.tmp = new Promise((res) => (gotTmp = res));
    // The whole write happens inside withAtomicPath: close() resolves it (rename), abort() rejects it (delete).
    this.result = withAtomicPath(file, (tmp) => {
      gotTmp(tmp);
      return new Promise<void>((res, rej) => {
        this.finished = res;
        this.failed = rej;
      });
    });
    this.result.catch(() => undefined);
  }

  /** Rows written so far. */
  get numRows(): number {
    return this.rows;
  }

  /** Appends a batch (columns, or rows). Resolves once the batch has been handed to the file. */
  async write(batch: EmbeddingColumns | readonly EmbeddingRow[]): Promise<void> {
    if (this.state !== 'open') throw new ValueError(`${this.file}: the writer is ${this.state}`);
    try {
      const cols = Array.isArray(batch) ? rowsToColumns(batch as readonly EmbeddingRow[]) : (batch as EmbeddingColumns);
      const b = normaliseColumns(cols, this.plan?.dim ?? this.opts.dim);
      if (this.plan == null) {
        this.plan = new SchemaPlan(b, this.opts);
        const tmp = await this.tmp;
        const dictionaryColumns = ['modality', ...this.plan.metaColumns.filter((c) => c.type === 'dictionary').map((c) => c.name)];
        this.sink =
          this.format === 'arrow'
            ? await arrowSink(tmp)
            : await parquetSink(tmp, this.opts, this.plan.schema.metadata.get(GEOCLR_KEY)!, dictionaryColumns);
      }
      if (b.n === 0) return;
      await this.sink!.write(this.plan.toRecordBatch(b, this.format === 'parquet'));
      this.rows += b.n;
    } catch (e) {
      await this.abort(e);
      throw e;
    }
  }

  /** Finishes the file and moves it to its final name. */
  async close(): Promise<{ file: string; rows: number; format: TableFormat }> {
    if (this.state !== 'open') throw new ValueError(`${this.file}: the writer is ${this.state}`);
    if (this.plan == null) {
      await this.abort(new ValueError('no batch was written'));
      throw new ValueError(`${this.file}: no batch was written, so the schema (embedding width, columns) is unknown`);
    }
    try {
      await this.sink!.finish();
    } catch (e) {
      await this.abort(e);
      throw e;
    }
    this.state = 'closed';
    this.finished();
    await this.result;
    return { file: this.file, rows: this.rows, format: this.format };
  }

  /** Abandons the write; no file is left behind. */
  async abort(reason: unknown = new Error('aborted')): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.sink?.abort().catch(() => undefined);
    this.failed(reason);
    await this.result.catch(() => undefined);
  }
}

/** Opens a streaming writer; the format follows the extension (`.arrow` or `.parquet`). */
export async function openEmbeddingWriter(file: string, options: EmbeddingWriterOptions): Promise<EmbeddingWriter> {
  if (typeof options?.metadata?.model !== 'string' || options.metadata.model === '') {
    throw new ValueError(`${file}: options.metadata.model (the encoder's name) is required for provenance`);
  }
  return new EmbeddingWriter(file, tableFormatOf(file, options.format), options);
}

/**
 * Writes a whole table (rows, or columns) in record batches of `batchSize` rows. Column types and the categories
 * of dictionary columns are taken from the whole input first, so every batch shares one schema and dictionary.
 */
export async function writeEmbeddings(
  file: string,
  data: readonly EmbeddingRow[] | EmbeddingColumns,
  options: EmbeddingWriterOptions & { batchSize?: number },
): Promise<{ file: string; rows: number; format: TableFormat }> {
  const batchSize = options.batchSize ?? 65_536;
  const rows = Array.isArray(data) ? (data as readonly EmbeddingRow[]) : null;
  const cols = rows ? null : (data as EmbeddingColumns);
  const n = rows ? rows.length : cols!.subject_id.length;
  const metaNames = rows ? [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => !FIXED.has(k))))] : Object.keys(cols!.columns ?? {});
  const valuesOf = (name: string): ArrayLike<MetaValue> => (rows ? rows.map((r) => r[name] as MetaValue) : (cols!.columns![name] as ArrayLike<MetaValue>));
  const columnTypes: Record<string, MetaColumnType> = { ...options.columnTypes };
  const categories: Record<string, readonly string[]> = { ...options.categories };
  for (const name of metaNames) {
    const values = valuesOf(name);
    const type = (columnTypes[name] ??= inferType(name, values));
    if (type === 'dictionary') {
      const seen = new Set(categories[name] ?? []);
      for (let i = 0; i < values.length; i++) if (typeof values[i] === 'string') seen.add(values[i] as string);
      categories[name] = [...seen];
    }
  }
  const split = options.split ?? (rows ? rows.some((r) => r.split != null) : cols!.split != null);
  const writer = await openEmbeddingWriter(file, { ...options, columnTypes, categories, split });
  try {
    // A tensor is read once; batches are views (subarray) of the flat values, not copies.
    const flat = cols?.embedding instanceof tf.Tensor ? (cols.embedding.dataSync() as Float32Array) : cols?.embedding instanceof Float32Array ? cols.embedding : null;
    const dim = cols == null || n === 0 ? 0 : flat ? flat.length / n : (cols.embedding as readonly ArrayLike<number>[])[0].length;
    for (let from = 0; from < Math.max(n, 1); from += batchSize) {
      const to = Math.min(n, from + batchSize);
      if (rows) {
        await writer.write(rowsToColumns(rows, from, to));
        continue;
      }
      const c = cols!;
      const sl = <T>(a: readonly T[] | undefined) => (a == null ? undefined : a.slice(from, to));
      await writer.write({
        subject_id: c.subject_id.slice(from, to),
        session_id: sl(c.session_id),
        modality: typeof c.modality === 'string' ? c.modality : c.modality.slice(from, to),
        embedding: flat ? flat.subarray(from * dim, to * dim) : (c.embedding as readonly ArrayLike<number>[]).slice(from, to),
        split: sl(c.split),
        columns: Object.fromEntries(Object.entries(c.columns ?? {}).map(([k, v]) => [k, v.slice(from, to) as MetaValue[]])),
      });
    }
    return await writer.close();
  } catch (e) {
    await writer.abort(e);
    throw e;
  }
}

// --- reading -----------------------------------------------------------------------------------------------------

export interface EmbeddingBatch {
  numRows: number;
  dim: number;
  subjectId: string[];
  sessionId: (string | null)[];
  modality: string[];
  /** Row-major n × d (from `readEmbeddingBatches`, possibly a view of the batch's buffer). */
  embedding: Float32Array;
  split: (string | null)[] | null;
  /** Metadata columns (Float64 → numbers, dictionaries and Utf8 → strings, Bool → booleans; null where missing). */
  columns: Record<string, (MetaValue)[]>;
}

export interface EmbeddingTable extends EmbeddingBatch {
  format: TableFormat;
  /** The `geoclr` schema metadata, or null for tables written by other tools. */
  metadata: GeoclrTableMetadata | null;
  /** The Arrow schema as read (field names and types, e.g. `Dictionary<Int32, Utf8>`). */
  schema: arrow.Schema;
}

function describeType(t: arrow.DataType): string {
  return String(t);
}

/** Checks the schema before any batch is read: the embedding column must exist and be a list of floats. */
function checkSchema(file: string, schema: arrow.Schema): { dim: number | null; metadata: GeoclrTableMetadata | null } {
  const field = (name: string) => schema.fields.find((f) => f.name === name);
  const emb = field('embedding');
  if (!emb) throw new FileFormatError(file, `no 'embedding' column (columns: ${schema.fields.map((f) => f.name).join(', ')})`);
  const t = emb.type;
  const isFloat = (c: arrow.DataType) => arrow.DataType.isFloat(c);
  let dim: number | null = null;
  if (arrow.DataType.isFixedSizeList(t) && isFloat(t.children[0].type)) dim = t.listSize;
  else if (!(arrow.DataType.isList(t) && isFloat(t.children[0].type))) {
    throw new FileFormatError(file, `the 'embedding' column has type ${describeType(t)}; expected FixedSizeList<Float32>[d]`);
  }
  const sub = field('subject_id');
  if (!sub) throw new FileFormatError(file, "no 'subject_id' column");
  if (!arrow.DataType.isUtf8(sub.type) && !arrow.DataType.isDictionary(sub.type) && !arrow.DataType.isLargeUtf8(sub.type)) {
    throw new FileFormatError(file, `the 'subject_id' column has type ${describeType(sub.type)}; expected Utf8`);
  }
  const raw = schema.metadata.get(GEOCLR_KEY);
  let metadata: GeoclrTableMetadata | null = null;
  if (raw != null) {
    try {
      metadata = JSON.parse(raw);
    } catch {
      throw new FileFormatError(file, `schema metadata '${GEOCLR_KEY}' is not JSON`);
    }
  }
  return { dim, metadata };
}

function plain(v: unknown): MetaValue {
  if (v == null) return null;
  if (typeof v === 'bigint') return Number(v);
  return v as MetaValue;
}

/** A column as plain values; dictionaries are decoded once per chunk and numbers read straight from buffers. */
function columnValues(v: arrow.Vector): MetaValue[] {
  const out: MetaValue[] = new Array(v.length);
  let at = 0;
  for (const d of v.data) {
    const valid = (i: number) => d.nullCount === 0 || d.getValid(i);
    if (arrow.DataType.isDictionary(d.type) && d.dictionary) {
      const dict = d.dictionary;
      const labels = Array.from({ length: dict.length }, (_, i) => plain(dict.get(i)));
      const idx = d.values as Int32Array;
      for (let i = 0; i < d.length; i++) out[at + i] = valid(i) ? labels[Number(idx[i])] : null;
    } else if (arrow.DataType.isUtf8(d.type)) {
      // Decode the whole buffer once; slice per row (by byte offsets, which equal char offsets for ASCII).
      const offsets = d.valueOffsets as Int32Array;
      const bytes = d.values as Uint8Array;
      const base = offsets[0];
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset + base, offsets[d.length] - base);
      const text = buf.toString('utf8');
      const ascii = text.length === buf.length;
      for (let i = 0; i < d.length; i++) {
        if (!valid(i)) out[at + i] = null;
        else if (ascii) out[at + i] = text.slice(offsets[i] - base, offsets[i + 1] - base);
        else out[at + i] = buf.toString('utf8', offsets[i] - base, offsets[i + 1] - base);
      }
    } else if (arrow.DataType.isFloat(d.type) && (d.type as arrow.Float).precision !== arrow.Precision.HALF) {
      const vals = d.values as Float32Array | Float64Array;
      for (let i = 0; i < d.length; i++) out[at + i] = valid(i) ? vals[i] : null;
    } else {
      const chunk = new arrow.Vector([d]);
      for (let i = 0; i < d.length; i++) out[at + i] = plain(chunk.get(i));
    }
    at += d.length;
  }
  return out;
}

/** Copies the float values of a list child into `out` at `at` (Float16 children are widened). */
function copyFloats(file: string, child: arrow.Data, count: number, out: Float32Array, at: number): void {
  if (child.nullCount > 0) throw new FileFormatError(file, "the 'embedding' column holds null values");
  const vals = child.values as Float32Array | Float64Array | Uint16Array;
  if ((child.type as arrow.Float).precision === arrow.Precision.HALF) {
    for (let i = 0; i < count; i++) out[at + i] = halfToFloat(vals[i]);
  } else out.set(vals.subarray(0, count), at);
}

/** Converts one record batch; the embedding values go to `out` (n·d floats from `at`) or a fresh array. */
function toBatch(file: string, rb: arrow.RecordBatch, dim: number | null, out?: { array: Float32Array; at: number }): EmbeddingBatch {
  const n = rb.numRows;
  const emb = rb.getChild('embedding')!;
  let embedding: Float32Array;
  const single = emb.data.length === 1 ? emb.data[0].children[0] : null;
  if (dim != null && !out && single && single.nullCount === 0 && single.values instanceof Float32Array && emb.data[0].nullCount === 0) {
    // One float32 chunk: hand out a view of the batch's buffer instead of a copy.
    embedding = (single.values as Float32Array).subarray(0, n * dim);
  } else if (dim != null) {
    embedding = out ? out.array.subarray(out.at, out.at + n * dim) : new Float32Array(n * dim);
    let at = 0;
    for (const d of emb.data) {
      // Sliced FixedSizeList data slices its child too: row i of `d` is child values [i·dim, (i+1)·dim).
      if (d.nullCount > 0) throw new FileFormatError(file, "the 'embedding' column holds null rows");
      copyFloats(file, d.children[0], d.length * dim, embedding, at);
      at += d.length * dim;
    }
  } else {
    // Variable-size list (e.g. Parquet written by another tool): every row must have the same length.
    const rows: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      const r = emb.get(i) as arrow.Vector | null;
      if (r == null) throw new FileFormatError(file, `the 'embedding' column is null at row ${i}`);
      rows.push(Float32Array.from(r.toArray() as ArrayLike<number>));
      if (rows[i].length !== rows[0].length) throw new FileFormatError(file, `embedding row ${i} has ${rows[i].length} values; row 0 has ${rows[0].length}`);
    }
    dim = rows[0]?.length ?? 0;
    embedding = out ? out.array.subarray(out.at, out.at + n * dim) : new Float32Array(n * dim);
    rows.forEach((r, i) => embedding.set(r, i * dim!));
  }
  const values = (name: string): MetaValue[] => {
    const v = rb.getChild(name);
    return v ? columnValues(v) : new Array(n).fill(null);
  };
  const columns: Record<string, MetaValue[]> = {};
  for (const f of rb.schema.fields) if (!FIXED.has(f.name)) columns[f.name] = values(f.name);
  return {
    numRows: n,
    dim,
    subjectId: values('subject_id') as string[],
    sessionId: values('session_id') as (string | null)[],
    modality: values('modality') as string[],
    embedding,
    split: rb.schema.fields.some((f) => f.name === 'split') ? (values('split') as (string | null)[]) : null,
    columns,
  };
}

/** An opened table: its schema (checked), its row count when the format records it, and its batches. */
interface OpenTable {
  schema: arrow.Schema;
  dim: number | null;
  metadata: GeoclrTableMetadata | null;
  numRows: number | null;
  batches(): AsyncGenerator<arrow.RecordBatch>;
  close(): Promise<void>;
}

async function openTable(file: string, fmt: TableFormat, batchSize: number): Promise<OpenTable> {
  if (fmt === 'arrow') {
    const fh = await fsp.open(file, 'r').catch((e) => {
      throw new FileFormatError(file, `cannot open: ${(e as Error).message}`);
    });
    try {
      const head = Buffer.alloc(6);
      await fh.read(head, 0, 6, 0);
      if (head.toString('latin1') !== 'ARROW1') throw new FileFormatError(file, 'not an Arrow IPC file (no ARROW1 magic)');
      const reader = await arrow.RecordBatchReader.from(fh).catch((e) => {
        throw new FileFormatError(file, `not a readable Arrow IPC file: ${(e as Error).message}`);
      });
      await Promise.resolve(reader.open()).catch((e) => {
        throw new FileFormatError(file, `not a readable Arrow IPC file: ${(e as Error).message}`);
      });
      const checked = checkSchema(file, reader.schema);
      return {
        schema: reader.schema,
        ...checked,
        numRows: null,
        async *batches() {
          try {
            for await (const rb of reader as AsyncIterable<arrow.RecordBatch>) yield rb;
          } catch (e) {
            if (e instanceof FileFormatError) throw e;
            throw new FileFormatError(file, `corrupt Arrow IPC data: ${(e as Error).message}`);
          }
        },
        close: () => fh.close(),
      };
    } catch (e) {
      await fh.close();
      throw e;
    }
  }
  const pq = await import('parquet-wasm/node');
  let pf: import('parquet-wasm/node').ParquetFile;
  await fsp.access(file).catch((e) => {
    throw new FileFormatError(file, `cannot open: ${(e as Error).message}`);
  });
  try {
    pf = await pq.ParquetFile.fromFile(await openAsBlob(file));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new FileFormatError(file, `not a readable Parquet file: ${msg}`);
  }
  const schema = arrow.tableFromIPC(pf.schema().intoIPCStream()).schema;
  const checked = checkSchema(file, schema);
  return {
    schema,
    ...checked,
    numRows: Number(pf.metadata().fileMetadata().numRows()),
    async *batches() {
      let stream: AsyncIterable<{ intoIPCStream(): Uint8Array }>;
      try {
        stream = (await pf.stream({ batchSize })) as unknown as AsyncIterable<{ intoIPCStream(): Uint8Array }>;
        for await (const wasmBatch of stream) yield* arrow.tableFromIPC(wasmBatch.intoIPCStream()).batches;
      } catch (e) {
        if (e instanceof FileFormatError) throw e;
        throw new FileFormatError(file, `corrupt Parquet data: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
    close: async () => pf.free(),
  };
}

/** Reads a table one record batch at a time (the schema and the embedding column are checked first). */
export async function* readEmbeddingBatches(
  file: string,
  { batchSize = 65_536, format }: { batchSize?: number; format?: TableFormat } = {},
): AsyncGenerator<EmbeddingBatch> {
  const t = await openTable(file, tableFormatOf(file, format), batchSize);
  try {
    for await (const rb of t.batches()) yield toBatch(file, rb, t.dim);
  } finally {
    await t.close();
  }
}

/**
 * Reads a whole embedding table (`.arrow` or `.parquet`) with its `geoclr` metadata. Parquet records its row
 * count, so embeddings are copied straight into one array; Arrow IPC batches are collected, then joined.
 */
export async function readEmbeddings(file: string, { format }: { format?: TableFormat } = {}): Promise<EmbeddingTable> {
  const fmt = tableFormatOf(file, format);
  const t = await openTable(file, fmt, 65_536);
  const parts: EmbeddingBatch[] = [];
  try {
    const direct = t.numRows != null && t.dim != null ? { array: new Float32Array(t.numRows * t.dim), at: 0 } : undefined;
    for await (const rb of t.batches()) {
      if (direct && direct.at + rb.numRows * t.dim! > direct.array.length) {
        throw new FileFormatError(file, `holds more rows than its metadata's ${t.numRows}`);
      }
      const b = toBatch(file, rb, t.dim, direct);
      if (direct) direct.at += b.embedding.length;
      parts.push(b);
    }
    const n = parts.reduce((a, b) => a + b.numRows, 0);
    const dim = t.dim ?? parts.find((p) => p.numRows > 0)?.dim ?? 0;
    let embedding: Float32Array;
    if (direct && n === t.numRows) embedding = direct.array;
    else {
      embedding = new Float32Array(n * dim);
      let at = 0;
      for (const p of parts) {
        if (p.numRows > 0 && p.dim !== dim) throw new FileFormatError(file, `embedding width changes from ${dim} to ${p.dim}`);
        embedding.set(p.embedding, at);
        at += p.embedding.length;
        p.embedding = new Float32Array(0); // release each batch's copy as soon as it is joined
      }
    }
    const cat = <T>(pick: (p: EmbeddingBatch) => T[]) => {
      const out: T[] = new Array(n);
      let at = 0;
      for (const p of parts) for (const v of pick(p)) out[at++] = v;
      return out;
    };
    const columns: Record<string, MetaValue[]> = {};
    for (const f of t.schema.fields) if (!FIXED.has(f.name)) columns[f.name] = cat((p) => p.columns[f.name]);
    return {
      format: fmt,
      metadata: t.metadata,
      schema: t.schema,
      numRows: n,
      dim,
      subjectId: cat((p) => p.subjectId),
      sessionId: cat((p) => p.sessionId),
      modality: cat((p) => p.modality),
      embedding,
      split: t.schema.fields.some((f) => f.name === 'split') ? cat((p) => p.split!) : null,
      columns,
    };
  } finally {
    await t.close();
  }
}
