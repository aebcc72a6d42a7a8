/**
 * `geoclr demo` end to end on a few subjects (a `--quick`-like run shrunk with the advanced options): exit status,
 * the printed table, summary.json's schema, the report and the embedding tables. The demo's *results* are
 * measured in the README, not asserted here (they need the full budget).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEmbeddings } from '../interop/embeddings.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'scripts', 'geoclr.js');

function geoclr(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GEOCLR_PROGRESS: '0' } });
}

describe('demo: geoclr demo (tiny end-to-end run)', function () {
  this.timeout(240_000);
  let tmp: string;
  before(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'geoclr-demo-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes summary.json with the documented schema, report.html, embeddings and prints the table', async () => {
    const out = path.join(tmp, 'demo');
    const r = geoclr(['demo', '--quick', '--only', 'base', '--out', out, '--subjects', '16', '--epochs', '1', '--shape', '12,14,12']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    assert.equal(typeof summary.backend, 'string');
    assert.ok(summary.seconds > 0);
    assert.deepEqual(summary.methods.map((m: { name: string }) => m.name), ['random', 'simclr', 'yaware', 'yaware+fairkl']);
    for (const m of summary.methods) {
      assert.deepEqual(Object.keys(m), ['name', 'age_mae', 'diagnosis_auc', 'sex_bacc', 'site_bacc', 'site_knn_bacc', 'align', 'unif']);
      for (const k of ['age_mae', 'sex_bacc', 'site_bacc', 'site_knn_bacc', 'unif']) assert.ok(typeof m[k] === 'number' && Number.isFinite(m[k]), `${m.name}.${k} = ${m[k]}`);
      assert.ok(m.age_mae >= 0 && m.sex_bacc >= 0 && m.sex_bacc <= 1 && m.site_bacc <= 1);
    }
    assert.equal(summary.cohort.train_subjects + summary.cohort.test_subjects, 16);
    for (const name of ['random', 'simclr', 'yaware', 'yaware-fairkl']) {
      const t = await readEmbeddings(path.join(out, 'embeddings', `${name}.arrow`));
      assert.equal(t.numRows, 16);
      assert.deepEqual([...new Set(t.split)].sort(), ['test', 'train']);
      assert.ok('age' in t.columns && 'site' in t.columns);
    }
    for (const run of ['simclr', 'yaware', 'yaware-fairkl']) assert.ok(existsSync(path.join(out, 'runs', run, 'model.safetensors')), run);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /Pretraining objectives on held-out subjects/);
    assert.match(html, /y-Aware \+ FairKL/);
    assert.match(r.stdout, /name\s+age_mae\s+diagnosis_auc\s+sex_bacc\s+site_bacc\s+site_knn_bacc\s+align\s+unif/);
    assert.match(r.stdout, /yaware\+fairkl/);
    // A second run reuses the cohort.
    const again = geoclr(['demo', '--quick', '--only', 'base', '--out', out, '--subjects', '16', '--epochs', '1', '--shape', '12,14,12']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /cohort: reusing/);
  });

  it('rejects an unknown section', () => {
    const r = geoclr(['demo', '--only', 'nope', '--out', path.join(tmp, 'x')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /config field '--only': unknown section 'nope'; expected one of base/);
  });
});
