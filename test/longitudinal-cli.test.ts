/**
 * `geoclr longitudinal`: a CSV of visit embeddings in, the four held-out measures out (table and JSON), patient
 * embeddings as an Arrow table with subject metadata (read back with the interop reader), a report with the
 * trajectory map; bad arguments are clear errors with a non-zero exit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from 'geoclr';
import { readEmbeddings } from 'geoclr/interop';
import { tempDir } from './support/nibabel.js';

function geoclr(args: string[]) {
  return spawnSync(process.execPath, ['scripts/geoclr.js', ...args], { encoding: 'utf8', env: { ...process.env, GEOCLR_QUIET: '1' } });
}

/** 30 subjects × 3 visits: embedding = subject base + rate·t along e0 + age along e1; CN/AD with different rates. */
function writeVisits(file: string): void {
  const rng = new Rng(8);
  const lines = ['subject_id,session_id,time_years,age,rate,diagnosis,split,e0,e1,e2,e3,e4,e5'];
  for (let s = 0; s < 30; s++) {
    const dx = s % 3 === 0 ? 'AD' : 'CN';
    const rate = (dx === 'AD' ? 2.2 : 1) + 0.2 * rng.normal();
    const age0 = rng.uniform(55, 80);
    const base = [0, 0, 3 * rng.normal(), 3 * rng.normal(), 3 * rng.normal(), 3 * rng.normal()];
    for (let v = 0; v < 3; v++) {
      const t = v * 1.5 + rng.uniform(0, 0.3);
      const e = base.map((b, k) => b + (k === 0 ? (rate * t) / 3 : k === 1 ? (age0 + t - 65) / 10 : 0) + 0.02 * rng.normal());
      lines.push([`sub-${s}`, `ses-${v + 1}`, t.toFixed(3), (age0 + t).toFixed(3), rate.toFixed(4), dx, s < 20 ? 'train' : 'test', ...e.map((x) => x.toFixed(5))].join(','));
    }
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

describe('geoclr longitudinal (CLI)', function () {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir('geoclr-long-cli-')));
  after(() => tmp.cleanup());

  it('evaluates visit embeddings, writes patient embeddings with subject metadata and a trajectory report', async () => {
    const csv = path.join(tmp.dir, 'visits.csv');
    writeVisits(csv);
    const out = path.join(tmp.dir, 'patients.arrow');
    const report = path.join(tmp.dir, 'report');
    const r = geoclr(['longitudinal', '--embeddings', csv, '--time', 'time_years', '--target', 'rate', '--out', out, '--report', report, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.ok(res.interval_mae_years < 0.5 * res.baselines.interval_mae_years, `interval ${res.interval_mae_years} vs baseline ${res.baselines.interval_mae_years}`);
    assert.ok(res.rate_spearman > 0.7, `rate ρ ${res.rate_spearman}`);
    assert.equal(res.reid_top1, 1);
    assert.ok(res.age_mae < 1, `age MAE ${res.age_mae}`);
    assert.deepEqual([res.counts.trainSubjects, res.counts.testSubjects, res.patients], [20, 10, 30]);

    const t = await readEmbeddings(out);
    assert.equal(t.numRows, 30);
    assert.equal(t.dim, 16);
    assert.deepEqual([...new Set(t.modality)], ['patient']);
    assert.equal(t.split!.filter((s) => s === 'test').length, 10);
    // Subject-level columns come along; per-visit ones (time, age, session) do not.
    assert.ok('diagnosis' in t.columns && 'rate' in t.columns && 'predicted_rate' in t.columns && 'visits' in t.columns);
    assert.ok(!('age' in t.columns) && !('time_years' in t.columns) && !('e0' in t.columns));
    const i = t.subjectId.indexOf('sub-3');
    assert.equal(t.columns.diagnosis[i], 'AD');
    assert.equal(t.columns.visits[i], 3);

    const html = readFileSync(path.join(report, 'report.html'), 'utf8');
    assert.ok((html.match(/class="trajectory"/g) ?? []).length >= 30, 'one trajectory per subject');
    assert.match(html, /interval_mae_years|interval MAE/i);

    const table = geoclr(['longitudinal', '--embeddings', csv, '--time', 'time_years', '--target', 'rate', '--epochs', '20']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /interval MAE \(y\) ↓\s+rate Spearman ↑\s+re-id top-1 ↑\s+age MAE \(y\) ↓/);
    assert.match(table.stdout, /20 training \/ 10 held-out subjects with 2\+ visits; 30 held-out visit pairs/);
  });

  it('bad arguments: missing flags and columns are named, exit 1', () => {
    const csv = path.join(tmp.dir, 'v.csv');
    writeVisits(csv);
    const noTime = geoclr(['longitudinal', '--embeddings', csv, '--target', 'rate']);
    assert.equal(noTime.status, 1);
    assert.match(noTime.stderr, /--time.*is required/);
    const badCol = geoclr(['longitudinal', '--embeddings', csv, '--time', 'when', '--target', 'rate']);
    assert.equal(badCol.status, 1);
    assert.match(badCol.stderr, /--time.*column 'when' is not in .*v\.csv; columns are subject_id, session_id, time_years/);
    const strCol = geoclr(['longitudinal', '--embeddings', csv, '--time', 'time_years', '--target', 'diagnosis']);
    assert.equal(strCol.status, 1);
    assert.match(strCol.stderr, /--target.*column 'diagnosis' row 1 is "AD", not a number/);
    assert.ok(!existsSync(path.join(tmp.dir, 'patients-missing.arrow')));
  });
});
