/**
 * `geoclr demo --only longitudinal` end to end on a few subjects (a quick run shrunk with the advanced options):
 * exit status, the printed table, summary.json's `longitudinal` schema, its own multi-visit cohort, the visit and
 * patient embedding tables and the trajectory maps in the report. The section's *results* are measured in the
 * README, not asserted here (they need the full budget).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readEmbeddings } from '../interop/embeddings.js';
import { tempDir } from './support/nibabel.js';

describe('demo: geoclr demo --only longitudinal (tiny end-to-end run)', function () {
  this.timeout(240_000);
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir('geoclr-long-demo-')));
  after(() => tmp.cleanup());

  it('writes summary.longitudinal, visit and patient embeddings, trajectory maps, and prints the table', async () => {
    const out = path.join(tmp.dir, 'demo');
    const r = spawnSync(process.execPath, ['scripts/geoclr.js', 'demo', '--quick', '--only', 'longitudinal', '--out', out, '--subjects', '16', '--epochs', '1', '--shape', '12,14,12'], {
      encoding: 'utf8',
      env: { ...process.env, GEOCLR_PROGRESS: '0' },
    });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.longitudinal.map((m: { name: string }) => m.name), ['random', 'yaware', 'longitudinal', 'yaware+direction']);
    for (const m of summary.longitudinal) {
      assert.deepEqual(Object.keys(m), ['name', 'interval_mae_years', 'rate_spearman', 'reid_top1', 'age_mae']);
      for (const k of ['interval_mae_years', 'rate_spearman', 'reid_top1', 'age_mae']) assert.ok(Number.isFinite(m[k]), `${m.name}.${k} = ${m[k]}`);
      assert.ok(m.reid_top1 >= 0 && m.reid_top1 <= 1 && m.rate_spearman >= -1 && m.rate_spearman <= 1);
    }
    assert.deepEqual(summary.longitudinal_cohort.visits, 3);
    assert.equal(summary.longitudinal_cohort.train_subjects + summary.longitudinal_cohort.test_subjects, 16);
    assert.ok(!existsSync(path.join(out, 'cohort', 'manifest.tsv')), 'no shared cohort is generated for this section alone');
    assert.ok(existsSync(path.join(out, 'longitudinal', 'cohort', 'manifest.tsv')));
    // Equal budgets: the same number of steps for the cross-sectional and the P × K runs (here one epoch each, the override).
    assert.deepEqual(Object.keys(summary.longitudinal_steps), ['yaware', 'longitudinal', 'yaware+direction']);

    const visits = await readEmbeddings(path.join(out, 'embeddings', 'longitudinal-longitudinal.arrow'));
    assert.equal(visits.numRows, 48);
    assert.ok('time_years' in visits.columns && 'rate' in visits.columns);
    const patients = await readEmbeddings(path.join(out, 'embeddings', 'longitudinal-yaware-direction-patients.arrow'));
    assert.equal(patients.numRows, 16);
    assert.deepEqual([...new Set(patients.modality)], ['patient']);
    assert.ok('predicted_rate' in patients.columns && 'diagnosis' in patients.columns && 'rate' in patients.columns);

    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /Longitudinal objectives on held-out subjects/);
    assert.match(html, /Trajectories of held-out subjects/);
    assert.ok((html.match(/class="trajectory"/g) ?? []).length >= 4 * 4, 'trajectories for each method’s held-out subjects');
    assert.match(r.stdout, /method\s+interval MAE \(y\) ↓\s+rate Spearman ↑\s+re-id top-1 ↑\s+age MAE \(y\) ↓/);
    assert.match(r.stdout, /yaware\+direction/);
    assert.ok(existsSync(path.join(out, 'runs', 'longitudinal-longitudinal', 'model.safetensors')));
  });
});
