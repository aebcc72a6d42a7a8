import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as arrow from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { FileFormatError, ShapeError, ValueError } from 'geoclr';
import {
  openEmbeddingWriter,
  readEmbeddingBatches,
  readEmbeddings,
  writeEmbeddings,
  type EmbeddingRow,
  type GeoclrTableMetadata,
} from 'geoclr/interop';
import { pythonProblem, runPython } from './support/peers.js';

const D = 8;
const META: GeoclrTableMetadata = {
  model: 'resnet18-3d',
  weights_sha256: 'ab'.repeat(32),
  loss: { name: 'y-aware-infonce', tau: 0.1, sigma: 5 },
  manifest: 'data/manifest.csv',
};

/** 50 rows with every kind of column, nulls included; embedding values exact in float32. */
function sampleRows(n = 50): EmbeddingRow[] {
  return Array.from({ length: n }, (_, i) => ({
    subject_id: `sub-${String(i).padStart(3, '0')}`,
    session_id: i % 4 === 0 ? null : `ses-${i % 3}`,
    modality: i % 2 ? 'T1w' : 'report',
    embedding: Array.from({ length: D }, (_, j) => (i * D + j) / 64 - 3),
    age: i % 7 === 3 ? null : 20 + i * 0.5,
    sex: i % 5 === 0 ? null : ['F', 'M'][i % 2],
    site: ['Paris', 'Lyon', 'Zürich'][i % 3],
    responder: i % 3 === 0,
    note: `free text ${i}`,
    split: i < 35 ? 'train' : i < 45 ? 'val' : 'test',
  }));
}

describe('interop: embedding tables (Arrow IPC, Parquet)', () => {
  let dir: string;
  let duck: DuckDBConnection;
  const rows = sampleRows();

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-emb-'));
    duck = await (await DuckDBInstance.create(':memory:')).connect();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function checkValues(t: Awaited<ReturnType<typeof readEmbeddings>>) {
    assert.equal(t.numRows, rows.length);
    assert.equal(t.dim, D);
    assert.deepEqual(t.subjectId, rows.map((r) => r.subject_id));
    assert.deepEqual(t.sessionId, rows.map((r) => r.session_id));
    assert.deepEqual(t.modality, rows.map((r) => r.modality));
    assert.deepEqual(Array.from(t.embedding), rows.flatMap((r) => Array.from(r.embedding)));
    for (const c of ['age', 'sex', 'site', 'responder', 'note']) assert.deepEqual(t.columns[c], rows.map((r) => r[c]), c);
    assert.deepEqual(t.split, rows.map((r) => r.split));
  }

  function fieldTypes(schema: arrow.Schema) {
    return Object.fromEntries(schema.fields.map((f) => [f.name, String(f.type)]));
  }

  const EXPECTED_TYPES = {
    subject_id: 'Utf8',
    session_id: 'Utf8',
    modality: 'Utf8',
    embedding: `FixedSizeList[${D}]<Float32>`,
    age: 'Float64',
    sex: 'Dictionary<Int32, Utf8>',
    site: 'Dictionary<Int32, Utf8>',
    responder: 'Bool',
    note: 'Utf8',
    split: 'Utf8',
  };

  it('Arrow IPC: schema types, schema metadata and values round-trip', async () => {
    const file = path.join(dir, 'emb.arrow');
    const res = await writeEmbeddings(file, rows, { metadata: META, batchSize: 16, columnTypes: { note: 'utf8' } });
    assert.deepEqual(res, { file, rows: 50, format: 'arrow' });
    const t = await readEmbeddings(file);
    assert.deepEqual(fieldTypes(t.schema), EXPECTED_TYPES);
    assert.deepEqual(Object.keys(EXPECTED_TYPES), t.schema.fields.map((f) => f.name), 'column order');
    assert.equal(t.schema.fields[0].nullable, false);
    assert.equal(t.schema.fields[1].nullable, true);
    assert.deepEqual(t.metadata, { ...META, geoclr_version: JSON.parse(readFileSync('package.json', 'utf8')).version });
    checkValues(t);
  });

  it('Arrow IPC: an independent reader (arrow-rs, via parquet-wasm) decodes the file\'s messages', async () => {
    // An Arrow IPC file is "ARROW1\0\0" + the IPC stream + footer + int32 footer length + "ARROW1".
    const bytes = readFileSync(path.join(dir, 'emb.arrow'));
    assert.equal(bytes.subarray(0, 6).toString('latin1'), 'ARROW1');
    assert.equal(bytes.subarray(bytes.length - 6).toString('latin1'), 'ARROW1');
    const footerLen = bytes.readInt32LE(bytes.length - 10);
    const stream = bytes.subarray(8, bytes.length - 10 - footerLen);
    const pq = await import('parquet-wasm/node');
    const rs = pq.Table.fromIPCStream(stream);
    assert.equal(rs.schema.metadata().get('geoclr'), JSON.stringify({ ...META, geoclr_version: JSON.parse(readFileSync('package.json', 'utf8')).version }));
    const back = arrow.tableFromIPC(rs.intoIPCStream());
    assert.equal(back.numRows, 50);
    assert.deepEqual(fieldTypes(back.schema), EXPECTED_TYPES);
    const emb = back.getChild('embedding')!;
    assert.deepEqual(Array.from(emb.get(49)!.toArray() as Float32Array), Array.from(rows[49].embedding));
    assert.deepEqual(back.getChild('site')!.toArray(), rows.map((r) => r.site));
  });

  it('Parquet (zstd): DuckDB reads the same values and types, and the geoclr metadata', async () => {
    const file = path.join(dir, 'emb.parquet');
    await writeEmbeddings(file, rows, { metadata: META, batchSize: 16, rowGroupSize: 20, columnTypes: { note: 'utf8' } });
    const types = (await duck.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjectsJson();
    assert.deepEqual(
      Object.fromEntries(types.map((r) => [r.column_name, r.column_type])),
      {
        subject_id: 'VARCHAR', session_id: 'VARCHAR', modality: 'VARCHAR', embedding: 'FLOAT[]', age: 'DOUBLE',
        sex: 'VARCHAR', site: 'VARCHAR', responder: 'BOOLEAN', note: 'VARCHAR', split: 'VARCHAR',
      },
    );
    const got = (await duck.runAndReadAll(`SELECT * FROM read_parquet('${file}')`)).getRowObjectsJson();
    assert.equal(got.length, 50);
    got.forEach((g, i) => {
      const r = rows[i];
      assert.equal(g.subject_id, r.subject_id);
      assert.equal(g.session_id, r.session_id);
      assert.equal(g.modality, r.modality);
      assert.deepEqual(g.embedding, Array.from(r.embedding));
      assert.equal(g.age, r.age);
      assert.equal(g.sex, r.sex);
      assert.equal(g.site, r.site);
      assert.equal(g.responder, r.responder);
      assert.equal(g.split, r.split);
    });
    const kv = (await duck.runAndReadAll(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${file}')`)).getRowObjectsJson();
    const geo = kv.find((r) => r.k === 'geoclr');
    assert.ok(geo, `no geoclr key in the Parquet key-value metadata: ${kv.map((r) => r.k)}`);
    assert.deepEqual(JSON.parse(String(geo.v)).loss, META.loss);
    const meta = (await duck.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`)).getRowObjectsJson();
    assert.deepEqual(meta.map((r) => r.compression), ['ZSTD']);
    const groups = (await duck.runAndReadAll(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${file}')`)).getRowObjectsJson();
    assert.equal(Number(groups[0].n), 3, 'rowGroupSize 20 → 3 row groups for 50 rows');
    const t = await readEmbeddings(file);
    assert.deepEqual(fieldTypes(t.schema), EXPECTED_TYPES);
    assert.equal(t.metadata?.model, META.model);
    checkValues(t);
  });

  it('columns input, a tensor-free Float32Array, and the streaming writer with categories that grow', async () => {
    for (const ext of ['arrow', 'parquet']) {
      const file = path.join(dir, `stream.${ext}`);
      const w = await openEmbeddingWriter(file, { metadata: { model: 'toy' } });
      const emb = (k: number, n: number) => Float32Array.from({ length: n * 3 }, (_, i) => k * 100 + i);
      await w.write({ subject_id: ['a', 'b'], modality: 'T1w', embedding: emb(0, 2), columns: { site: ['X', 'Y'], age: [1, 2] } });
      await w.write({ subject_id: ['c'], modality: ['T2w'], embedding: emb(1, 1), columns: { site: ['Z'], age: [null] } });
      await w.write([{ subject_id: 'd', modality: 'T1w', embedding: [7, 8, 9], site: 'X', age: 4 }]);
      assert.equal(w.numRows, 4);
      assert.deepEqual(await w.close(), { file, rows: 4, format: ext });
      const batches = [];
      for await (const b of readEmbeddingBatches(file)) batches.push(b);
      const t = await readEmbeddings(file);
      assert.equal(t.numRows, 4, ext);
      assert.deepEqual(t.columns.site, ['X', 'Y', 'Z', 'X'], ext);
      assert.deepEqual(t.columns.age, [1, 2, null, 4], ext);
      assert.deepEqual(t.modality, ['T1w', 'T1w', 'T2w', 'T1w']);
      assert.deepEqual(Array.from(t.embedding), [0, 1, 2, 3, 4, 5, 100, 101, 102, 7, 8, 9]);
      assert.equal(batches.reduce((a, b) => a + b.numRows, 0), 4);
      assert.equal(t.split, null);
    }
  });

  it('reads Parquet written by another tool (DuckDB, embedding as FLOAT[] list)', async () => {
    const file = path.join(dir, 'duck.parquet');
    await duck.run(
      `COPY (SELECT 'sub-' || i AS subject_id, 'T1w' AS modality, [i::FLOAT, 0.5::FLOAT, -i::FLOAT] AS embedding, (i * 1.5)::DOUBLE AS age
             FROM range(5) t(i)) TO '${file}' (FORMAT parquet, COMPRESSION zstd)`,
    );
    const t = await readEmbeddings(file);
    assert.equal(t.dim, 3);
    assert.equal(t.metadata, null);
    assert.deepEqual(Array.from(t.embedding.subarray(3, 6)), [1, 0.5, -1]);
    assert.deepEqual(t.columns.age, [0, 1.5, 3, 4.5, 6]);
  });

  describe('bad input', () => {
    it('a table without an embedding column, or with the wrong type: FileFormatError naming the file', async () => {
      const missing = path.join(dir, 'noemb.parquet');
      await duck.run(`COPY (SELECT 'a' AS subject_id, [1.0, 2.0] AS emb) TO '${missing}' (FORMAT parquet)`);
      await assert.rejects(readEmbeddings(missing), (e: unknown) => e instanceof FileFormatError && e.file === missing && /no 'embedding' column \(columns: subject_id, emb\)/.test(e.message));
      const wrong = path.join(dir, 'strings.parquet');
      await duck.run(`COPY (SELECT 'a' AS subject_id, 'not a vector' AS embedding) TO '${wrong}' (FORMAT parquet)`);
      await assert.rejects(readEmbeddings(wrong), /'embedding' column has type Utf8; expected FixedSizeList<Float32>\[d\]/);
      const ints = path.join(dir, 'ints.arrow');
      const tbl = arrow.tableFromArrays({ subject_id: ['a'], embedding: Int32Array.from([1]) });
      writeFileSync(ints, arrow.tableToIPC(tbl, 'file'));
      await assert.rejects(readEmbeddings(ints), (e: unknown) => e instanceof FileFormatError && /'embedding' column has type Int32/.test(e.message));
    });

    it('garbage, truncated and missing files: FileFormatError', async () => {
      const garbage = path.join(dir, 'garbage.parquet');
      writeFileSync(garbage, 'this is not parquet at all');
      await assert.rejects(readEmbeddings(garbage), (e: unknown) => e instanceof FileFormatError && /not a readable Parquet file/.test(e.message));
      const good = readFileSync(path.join(dir, 'emb.arrow'));
      const cut = path.join(dir, 'cut.arrow');
      writeFileSync(cut, good.subarray(0, good.length >> 1));
      await assert.rejects(readEmbeddings(cut), FileFormatError);
      const notArrow = path.join(dir, 'text.arrow');
      writeFileSync(notArrow, 'hello');
      await assert.rejects(readEmbeddings(notArrow), /not an Arrow IPC file/);
      await assert.rejects(readEmbeddings(path.join(dir, 'absent.parquet')), (e: unknown) => e instanceof FileFormatError && /cannot open/.test(e.message));
      await assert.rejects(readEmbeddings(path.join(dir, 'x.csv')), ValueError);
    });

    it('a write that fails midway leaves no file (nor temp file) behind', async () => {
      for (const ext of ['arrow', 'parquet']) {
        const file = path.join(dir, 'fail', `partial.${ext}`);
        const w = await openEmbeddingWriter(file, { metadata: { model: 'toy' } });
        await w.write({ subject_id: ['a'], modality: 'T1w', embedding: new Float32Array(4) });
        await assert.rejects(w.write({ subject_id: ['b'], modality: 'T1w', embedding: new Float32Array(5) }), ShapeError);
        await assert.rejects(w.close(), /aborted/);
        assert.deepEqual(readdirSync(path.dirname(file)), [], ext);
      }
      await assert.rejects(writeEmbeddings(path.join(dir, 'fail', 'bad.arrow'), [{ subject_id: 'a', modality: 'x', embedding: [1], age: 3 }, { subject_id: 'b', modality: 'x', embedding: [2], age: 'old' }], { metadata: { model: 'm' } }), /age.*holds numbers/);
      await assert.rejects(writeEmbeddings(path.join(dir, 'fail', 'nomodel.arrow'), rows, { metadata: {} as GeoclrTableMetadata }), /metadata\.model/);
      assert.deepEqual(readdirSync(path.join(dir, 'fail')), []);
    });
  });

  it('pandas.read_feather reads the Arrow file (needs pyarrow)', function () {
    // Debian's python3-pandas reads Feather only through pyarrow, which Debian does not package: this
    // cross-check runs where a lab has pyarrow, and is skipped (with this reason) everywhere else, CI included.
    const problem = pythonProblem(['pandas', 'pyarrow']);
    if (problem) {
      console.log(`      skipped: ${problem} (pandas.read_feather needs pyarrow; Debian ships no python3-pyarrow)`);
      this.skip();
    }
    const out = runPython(
      `import sys, json, pandas as pd, pyarrow.feather as pf
df = pd.read_feather(sys.argv[1]); meta = pf.read_table(sys.argv[1]).schema.metadata
print(json.dumps({"n": len(df), "site": str(df["site"].dtype), "geoclr": json.loads(meta[b"geoclr"])["model"]}))`,
      [path.join(dir, 'emb.arrow')],
    );
    assert.deepEqual(JSON.parse(out), { n: 50, site: 'category', geoclr: META.model });
  });
});
