/**
 * Contrastive analysis from the command line: `geoclr ca --config` at toy size (the run folder it promises, finite
 * held-out probe numbers, weights that load back), its config errors (typed, naming the field), and the demo
 * section `geoclr demo --only contrastive-analysis` (summary.json → contrastive_analysis for both data sets).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNifti, synthCohort } from 'geoclr/mri';
import { readSafetensors } from '../src/io/safetensors.js';
import { resolveCARunConfig } from '../scripts/ca/run-config.js';
import { cohortData } from '../scripts/ca/method-run.js';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../src/errors.js';
import { parseConfigFile } from '../src/train/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'scripts', 'geoclr.js');
const PROBES = ['salient_from_salient', 'salient_from_common', 'common_from_common', 'common_from_salient'] as const;

function geoclr(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GEOCLR_PROGRESS: '0' } });
}

const TINY = {
  name: 'tiny',
  data: { dataset: 'digits-on-texture', n: 120, testFraction: 0.3 },
  method: 'mm-cvae',
  encoder: { arch: 'convnet2d', widths: [4, 8], pooling: 'flatten' },
  commonDim: 4,
  salientDim: 4,
  steps: 3,
  batchSize: 16,
  logEvery: 1,
  vae: { likelihood: 'bernoulli' },
};

describe('contrastive analysis: geoclr ca and the demo section', function () {
  this.timeout(240_000);
  let tmp: string;
  before(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'geoclr-ca-cli-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('geoclr ca --config trains, probes held-out samples and writes the run folder', async () => {
    const file = path.join(tmp, 'tiny.json');
    writeFileSync(file, JSON.stringify(TINY));
    const out = path.join(tmp, 'run');
    const r = geoclr(['ca', '--config', file, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /salient_from_salient [-\d.]+, salient_from_common/);
    const row = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    assert.equal(row.dataset, 'digits-on-texture');
    for (const k of PROBES) assert.ok(Number.isFinite(row[k]), `${k} = ${row[k]}`);
    assert.equal(row.steps, 3);
    const log = readFileSync(path.join(out, 'tiny-metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(log.map((x) => x.step), [1, 2, 3]);
    assert.deepEqual(Object.keys(log[0].terms).sort(), ['klCommon', 'klSalient', 'mmdCommon', 'mmdSalient', 'reconstruction']);
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.deepEqual(config.encoder.inputShape, [32, 32]);
    assert.equal(config.vae.mmdCommon, 100); // defaults filled in
    const weights = await readSafetensors(path.join(out, 'model.safetensors'));
    assert.ok(weights.entries.size > 10);
    assert.ok([...weights.entries.keys()].some((k) => k.startsWith('decoder.')), [...weights.entries.keys()].join(', '));
    assert.equal(JSON.parse(weights.metadata['geoclr.contrastive_analysis']).method, 'mm-cvae');
    for (const f of ['report.html', 'tiny-reconstructions.png', 'tiny-traversals.png', 'tiny-saliency.png']) assert.ok(existsSync(path.join(out, f)), f);
  });

  it('the README example config and scripts/configs/ca-sepclr-digits.yaml are valid', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('<!-- section: contrastive-analysis -->'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section);
    assert.ok(yaml, 'a yaml block in the contrastive-analysis section');
    const a = resolveCARunConfig(parseYaml(yaml[1]));
    assert.equal(a.name, 'ca-sepclr-digits');
    assert.deepEqual(a.data, { dataset: 'digits-on-texture', n: 2000, seed: 0, testFraction: 0.3 });
    const b = resolveCARunConfig(parseConfigFile(path.join(ROOT, 'scripts', 'configs', 'ca-sepclr-digits.yaml')), { baseDir: tmp });
    assert.equal(b.out, path.join(tmp, 'runs', 'ca-sepclr-digits'));
    assert.equal(b.model.method, 'sepclr');
  });

  it('cohortData pads volumes to the decoder multiple without touching a voxel, and shifts the affine to match', async () => {
    const cohort = path.join(tmp, 'pad-cohort');
    await synthCohort({ out: cohort, subjects: 12, visits: 1, seed: 3, shape: [12, 14, 12], workers: 0, progress: false });
    const manifest = path.join(cohort, 'manifest.tsv');
    const padded = await cohortData(manifest, { multipleOf: 8 });
    const plain = await cohortData(manifest, { multipleOf: 1 });
    assert.deepEqual(plain.ds.shape, [12, 14, 12]);
    assert.deepEqual(padded.ds.shape, [16, 16, 16]);
    const [D, H, W] = padded.ds.shape;
    const [d, h, w] = plain.ds.shape;
    const off = [(D - d) / 2, (H - h) / 2, (W - w) / 2];
    let inside = 0;
    let outside = 0;
    for (let i = 0; i < plain.ds.n; i++) {
      for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        const v = padded.ds.images[i * D * H * W + (z * H + y) * W + x];
        const [zz, yy, xx] = [z - off[0], y - off[1], x - off[2]];
        if (zz >= 0 && zz < d && yy >= 0 && yy < h && xx >= 0 && xx < w) inside = Math.max(inside, Math.abs(v - plain.ds.images[i * d * h * w + (zz * h + yy) * w + xx]));
        else outside = Math.max(outside, Math.abs(v));
      }
    }
    assert.equal(inside, 0);
    assert.equal(outside, 0);
    assert.deepEqual(padded.geometry!.spacing, plain.geometry!.spacing);
    // The padded grid's first voxel lies `off` voxels before the plain one's (x, y, z = the reversed [D, H, W]).
    const A = plain.geometry!.affine;
    const o = [off[2], off[1], off[0]];
    for (let r = 0; r < 3; r++) {
      const expected = A[r][3] - (A[r][0] * o[0] + A[r][1] * o[1] + A[r][2] * o[2]);
      assert.ok(Math.abs(padded.geometry!.affine[r][3] - expected) < 1e-3, `row ${r}: ${padded.geometry!.affine[r][3]} vs ${expected}`);
    }
  });

  it('config errors name the field', () => {
    const bad = (patch: Record<string, unknown>, field: RegExp) =>
      assert.throws(() => resolveCARunConfig({ ...TINY, ...patch }), (e: Error) => e instanceof ConfigError && field.test(e.message), JSON.stringify(patch));
    bad({ data: undefined }, /'data'/);
    bad({ data: { dataset: 'cifar' } }, /'data.dataset'.*digits-on-texture, cohort/);
    bad({ data: { dataset: 'cohort' } }, /'data.manifest'.*required/);
    bad({ data: { dataset: 'digits-on-texture', testFraction: 1 } }, /'data.testFraction'/);
    bad({ data: { dataset: 'digits-on-texture', texture: 'grass' } }, /'data.texture'/);
    bad({ method: 'pca' }, /'method'/);
    bad({ stepz: 3 }, /'stepz'/);
    bad({ name: 'a/b' }, /'name'/);
    const cli = geoclr(['ca', '--config', path.join(tmp, 'missing.yaml')]);
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /missing\.yaml.*no such config file/);
  });

  it('geoclr demo --only contrastive-analysis writes contrastive_analysis rows for both data sets', async () => {
    const out = path.join(tmp, 'demo');
    const r = geoclr(['demo', '--quick', '--only', 'contrastive-analysis', '--out', out, '--subjects', '30', '--epochs', '2', '--shape', '12,14,12']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    const rows = summary.contrastive_analysis as Record<string, unknown>[];
    assert.deepEqual(rows.map((x) => `${x.dataset}/${x.name}`), ['digits-on-texture', 'mri-cohort'].flatMap((d) => ['sepclr', 'cvae', 'mm-cvae', 'simclr', 'sepclr+hsic+mmd'].map((m) => `${d}/${m}`)));
    for (const row of rows) for (const k of PROBES) assert.ok(typeof row[k] === 'number' && Number.isFinite(row[k] as number), `${row.dataset}/${row.name} ${k}`);
    assert.ok(summary.contrastive_analysis_seconds.total > 0);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /Contrastive analysis — digits-on-texture/);
    assert.match(html, /Contrastive analysis — mri-cohort/);
    assert.match(r.stdout, /sal←sal\s+sal←com\s+com←com\s+com←sal/);
    // 12×14×12 volumes are padded to multiples of 4 for the two-stage VAE decoder (maps are written on that grid).
    const rec = await readNifti(path.join(out, 'contrastive-analysis', 'mri-cohort', 'cvae-reconstructions.nii.gz'));
    assert.deepEqual(rec.shape.slice(0, 3), [12, 16, 12]);
  });
});
