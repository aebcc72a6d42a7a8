/**
 * A synthetic brain cohort as a contrastive-analysis data set: controls are the background, patients the target,
 * the diagnosis the salient factor (null on controls), age/site/sex the common ones; volumes as [Z, Y, X]; a group
 * column holding anything but 0/1 is a ValueError naming the scan.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ValueError, validateDataset } from 'geoclr';
import { cohortContrastiveDataset, readManifest, readNifti, synthCohort } from 'geoclr/mri';

describe('cohortContrastiveDataset', function () {
  let dir = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-ca-cohort-'));
    await synthCohort({ out: dir, subjects: 10, visits: 1, seed: 3, spacing: 12, shape: [12, 16, 12], workers: 0, progress: false });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('maps controls to the background and patients to the target, with the ground-truth factors', async () => {
    const manifest = await readManifest(path.join(dir, 'manifest.tsv'));
    const ds = await cohortContrastiveDataset(manifest);
    validateDataset(ds);
    assert.deepEqual(ds.shape, [12, 16, 12]);
    assert.equal(ds.n, 10);
    manifest.rows.forEach((r, i) => {
      assert.equal(ds.group[i], r.diagnosis === 'CN' ? 0 : 1);
      assert.equal(ds.factors.diagnosis[i], r.diagnosis === 'CN' ? null : r.diagnosis);
      assert.equal(ds.factors.age[i], r.age);
      assert.equal(ds.factors.site[i], r.site);
      assert.equal(ds.ids![i], r.subject_id);
    });
    assert.deepEqual(ds.common.map((c) => c.name), ['age', 'site', 'sex']);
    // Volumes are z-scored inside the brain and laid out [Z, Y, X] (x fastest), as the file's data.
    const vol = await readNifti(manifest.rows[0].path);
    const first = ds.images.subarray(0, 12 * 16 * 12);
    let brain = 0;
    for (let k = 0; k < first.length; k++) {
      assert.equal(first[k] !== 0, vol.data[k] !== 0, `voxel ${k}: background must stay 0`);
      if (first[k] !== 0) brain++;
    }
    assert.ok(brain > 100);
  });

  it('a group column holding anything but 0/1 is a ValueError naming the scan', async () => {
    const file = path.join(dir, 'manifest.tsv');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const col = lines[0].split('\t').indexOf('group');
    const cells = lines[2].split('\t');
    cells[col] = '2';
    lines[2] = cells.join('\t');
    const bad = path.join(dir, 'bad-manifest.tsv');
    writeFileSync(bad, lines.join('\n') + '\n');
    await assert.rejects(cohortContrastiveDataset(bad), (e: Error) => e instanceof ValueError && /sub-002.*group must be 0 \(background\) or 1 \(target\), got 2/.test(e.message));
  });
});
