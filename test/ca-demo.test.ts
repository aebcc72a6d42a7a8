/**
 * The contrastive-analysis demo core (scripts/ca/demo.ts) end to end at toy size: both data sets, every method of the
 * quick mode, summary rows with the four probe numbers, report sections, and the files it promises (PNG figures,
 * per-method training logs, NIfTI saliency maps, reconstructions and traversals for MRI).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readNifti, synthCohort } from 'geoclr/mri';
import { runContrastiveAnalysisDemo } from '../scripts/ca/demo.js';

describe('contrastive-analysis demo core (toy size)', function () {
  let dir = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-ca-demo-'));
    await synthCohort({ out: path.join(dir, 'cohort'), subjects: 16, visits: 1, seed: 2, spacing: 12, shape: [16, 20, 16], workers: 0, progress: false });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains every method on both data sets and writes rows, report sections, figures and NIfTI maps', async () => {
    const r = await runContrastiveAnalysisDemo({ out: dir, quick: true, seed: 1, cohortManifest: path.join(dir, 'cohort', 'manifest.tsv'), steps: 2, imagesN: 240 });
    assert.deepEqual(r.rows.map((x) => `${x.dataset}/${x.name}`), [
      'digits-on-texture/sepclr', 'digits-on-texture/cvae', 'digits-on-texture/mm-cvae', 'digits-on-texture/simclr', 'digits-on-texture/sepclr+hsic+mmd',
      'mri-cohort/sepclr', 'mri-cohort/cvae', 'mri-cohort/mm-cvae', 'mri-cohort/simclr', 'mri-cohort/sepclr+hsic+mmd',
    ]);
    for (const row of r.rows) {
      for (const k of ['salient_from_salient', 'salient_from_common', 'common_from_common', 'common_from_salient'] as const) {
        assert.ok(Number.isFinite(row[k]), `${row.dataset}/${row.name} ${k} = ${row[k]}`);
      }
      assert.equal(row.steps, 2);
    }
    assert.deepEqual(r.rows.filter((x) => x.dataset === 'mri-cohort').map((x) => [x.salient_factor, x.common_factor, x.common_metric]), new Array(5).fill(['diagnosis', 'age', 'r2']));
    assert.equal(r.report.length, 2);
    assert.match(r.table, /SepCLR/);
    const images = path.join(dir, 'contrastive-analysis', 'digits-on-texture');
    for (const f of ['cvae-reconstructions.png', 'mm-cvae-traversals.png', 'sepclr-saliency.png', 'simclr-saliency-examples.png', 'sepclr-metrics.jsonl', 'sepclr-hsic-mmd-metrics.jsonl']) {
      assert.ok(existsSync(path.join(images, f)), f);
    }
    const mri = path.join(dir, 'contrastive-analysis', 'mri-cohort');
    const maps = readdirSync(mri).filter((f) => /^sepclr-saliency-.*\.nii\.gz$/.test(f));
    assert.ok(maps.length >= 1, readdirSync(mri).join(', '));
    const vol = await readNifti(path.join(mri, maps[0]));
    assert.deepEqual(vol.shape, [16, 20, 16]);
    const rec = await readNifti(path.join(mri, 'cvae-reconstructions.nii.gz'));
    assert.deepEqual(rec.shape.slice(0, 3), [16, 20, 16]);
    const log = readFileSync(path.join(mri, 'mm-cvae-metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(Object.keys(log[0].terms).sort(), ['klCommon', 'klSalient', 'mmdCommon', 'mmdSalient', 'reconstruction']);
    assert.ok(existsSync(path.join(dir, 'contrastive-analysis', 'results.json')));
  });
});
