import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FileFormatError, tf } from 'geoclr';
import {
  asClosestCanonical,
  axisCodes,
  batchToTensors,
  CohortFileError,
  CohortLoader,
  columnLevels,
  designCohort,
  loadColin27,
  MANIFEST_COLUMNS,
  metaTensor,
  readManifest,
  readNifti,
  renderScan,
  synthCohort,
  cohortGrid,
  type Batch,
  type LoaderOptions,
} from 'geoclr/mri';
import { needPython, runPython } from './support/peers.js';
import { tempDir } from './support/nibabel.js';
import { assertNoLeak } from './support/tf.js';

const SPACING = 8; // 23×27×23 volumes keep the suite fast

async function collect(loader: CohortLoader, epoch: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.batches(epoch)) out.push(b);
  return out;
}

function sameBatches(a: Batch[], b: Batch[], what: string) {
  assert.equal(a.length, b.length, `${what}: batch count`);
  a.forEach((x, i) => {
    assert.deepEqual(x.shape, b[i].shape, `${what}: batch ${i} shape`);
    assert.deepEqual(x.rows.map((r) => r.path), b[i].rows.map((r) => r.path), `${what}: batch ${i} rows`);
    x.views.forEach((v, k) => assert.ok(Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(b[i].views[k].buffer, b[i].views[k].byteOffset, b[i].views[k].byteLength)), `${what}: batch ${i} view ${k}`));
  });
}

describe('mri: synthetic cohort', function () {
  let tmp: ReturnType<typeof tempDir>;
  let dir: string;
  before(async function () {
    this.timeout(120_000);
    tmp = tempDir();
    dir = path.join(tmp.dir, 'cohort');
    await synthCohort({ out: dir, subjects: 6, visits: 2, seed: 5, spacing: SPACING, workers: 1, progress: false });
  });
  after(() => tmp.cleanup());

  it('writes BIDS-like tables whose values are exactly the design', () => {
    const design = designCohort({ subjects: 6, visits: 2, seed: 5 });
    const lines = readFileSync(path.join(dir, 'manifest.tsv'), 'utf8').trim().split('\n');
    assert.deepEqual(lines[0].split('\t'), MANIFEST_COLUMNS);
    assert.equal(lines.length, 13);
    lines.slice(1).forEach((line, i) => {
      const cells = line.split('\t');
      const row = design.scans[i] as unknown as Record<string, unknown>;
      MANIFEST_COLUMNS.forEach((c, j) => assert.equal(cells[j], String(row[c]), `row ${i} ${c}`));
    });
    const parts = readFileSync(path.join(dir, 'participants.tsv'), 'utf8').trim().split('\n');
    assert.deepEqual(parts[0].split('\t'), ['participant_id', 'sex', 'site', 'diagnosis', 'baseline_age', 'rate']);
    assert.ok(existsSync(path.join(dir, 'sub-001', 'sub-001_sessions.tsv')));
    const desc = JSON.parse(readFileSync(path.join(dir, 'dataset_description.json'), 'utf8'));
    assert.equal(desc.BIDSVersion, '1.8.0');
  });

  it('every volume is a valid .nii.gz with the right affine (checked by nibabel)', async function () {
    needPython(this, ['nibabel']);
    const grid = cohortGrid({ spacing: SPACING });
    const files = designCohort({ subjects: 6, visits: 2, seed: 5 }).scans.map((s) => path.join(dir, s.path));
    const ref = JSON.parse(
      runPython(
        `import sys, json, numpy as np, nibabel as nib
print(json.dumps([[list(i.shape), i.affine.tolist(), str(i.get_data_dtype()), float(np.asanyarray(i.dataobj).max())] for i in map(nib.load, sys.argv[1:])]))`,
        files,
      ),
    );
    for (const [shape, affine, dtype, max] of ref) {
      assert.deepEqual(shape, grid.shape);
      assert.deepEqual(affine, grid.affine);
      assert.equal(dtype, 'int16');
      assert.ok(max > 500, 'has brain signal');
    }
    assert.deepEqual(grid.shape, [23, 27, 23]);
    const v = await readNifti(files[0]);
    assert.deepEqual(axisCodes(v.affine), ['R', 'A', 'S']);
  });

  it('is deterministic: the same seed renders the same volumes on any number of workers', async () => {
    const again = path.join(tmp.dir, 'again');
    await synthCohort({ out: again, subjects: 2, visits: 2, seed: 5, spacing: SPACING, workers: 0, progress: false });
    for (const s of designCohort({ subjects: 2, visits: 2, seed: 5 }).scans) {
      const a = await readNifti(path.join(dir, s.path));
      const b = await readNifti(path.join(again, s.path));
      assert.deepEqual(Array.from(a.data), Array.from(b.data), s.path);
    }
    await assert.rejects(synthCohort({ out: again, subjects: 1, visits: 1, progress: false }), /is not empty/);
  });

  it("'mixed' orientation stores each site in its own axis order with a correct affine", async function () {
    const design = designCohort({ subjects: 12, visits: 1, seed: 2, orientation: 'mixed' });
    const grid = cohortGrid({ spacing: SPACING });
    const seen = new Set<string>();
    for (const s of design.scans) {
      const { render, ...row } = s;
      const stored = renderScan({ row, render }, grid);
      const ras = renderScan({ row, render: { ...render, orientation: 'RAS' } }, grid);
      assert.equal(axisCodes(stored.affine).join(''), render.orientation);
      seen.add(render.orientation);
      const canon = asClosestCanonical(stored);
      assert.deepEqual(canon.shape, ras.shape);
      assert.deepEqual(Array.from(canon.data), Array.from(ras.data));
      canon.affine.flat().forEach((v, i) => assert.ok(Math.abs(v - ras.affine.flat()[i]) < 1e-9));
    }
    assert.ok(seen.size >= 3, `orientations seen: ${[...seen]}`);
  });

  it('effects change the image in the expected direction', () => {
    const grid = cohortGrid({ spacing: 2 });
    const base = designCohort({ subjects: 1, visits: 1, seed: 9 }).scans[0];
    const { render, ...row } = base;
    const clean = { ...row, noise_sigma: 0, bias_strength: 0, resolution_mm: 2, gain: 1, scale: 1, cortical_thinning: 0, ventricle_dilation: 0, hippocampal_atrophy: 0, frontal_atrophy: 0 };
    const img = (over: Partial<typeof clean>) => renderScan({ row: { ...clean, ...over }, render }, grid).data;
    const { labels } = loadColin27();
    const sum = (d: ArrayLike<number>, region: number) => {
      let a = 0;
      for (let i = 0; i < d.length; i++) if (labels.data[i] === region) a += d[i];
      return a;
    };
    const ref = img({});
    // ventricle dilation darkens the tissue around the ventricles (deep grey: caudate/thalamus)
    assert.ok(sum(img({ ventricle_dilation: 4 }), 5) < 0.9 * sum(ref, 5));
    // hippocampal atrophy darkens the medial temporal region; frontal atrophy the frontal lobe
    assert.ok(sum(img({ hippocampal_atrophy: 3 }), 4) < 0.85 * sum(ref, 4));
    assert.ok(sum(img({ frontal_atrophy: 2 }), 2) < 0.9 * sum(ref, 2));
    // (region 1 is mostly deep white matter, which thinning leaves alone)
    assert.ok(sum(img({ cortical_thinning: 1 }), 1) < 0.98 * sum(ref, 1));
    // global scale grows the brain ≈ s³
    const count = (d: ArrayLike<number>) => {
      let a = 0;
      for (let i = 0; i < d.length; i++) if (d[i] > 0) a++;
      return a;
    };
    const ratio = count(img({ scale: 1.1 })) / count(ref);
    assert.ok(ratio > 1.2 && ratio < 1.45, `volume ratio ${ratio}`);
  });

  it('design: sites independent of age and diagnosis; visits monotone; columns consistent', () => {
    const { scans, participants } = designCohort({ subjects: 3000, visits: 3, seed: 1 });
    const bySite = new Map<string, { n: number; age: number; ad: number }>();
    for (const p of participants) {
      const s = bySite.get(p.site) ?? { n: 0, age: 0, ad: 0 };
      s.n++;
      s.age += p.baseline_age;
      s.ad += p.diagnosis === 'AD' ? 1 : 0;
      bySite.set(p.site, s);
    }
    assert.equal(bySite.size, 4);
    const meanAge = participants.reduce((a, p) => a + p.baseline_age, 0) / participants.length;
    const adRate = participants.filter((p) => p.diagnosis === 'AD').length / participants.length;
    for (const [site, s] of bySite) {
      assert.ok(Math.abs(s.age / s.n - meanAge) < 2.5, `${site} mean age ${s.age / s.n} vs ${meanAge}`);
      assert.ok(Math.abs(s.ad / s.n - adRate) < 0.06, `${site} AD rate`);
    }
    for (let i = 0; i < scans.length; i += 3) {
      const v = scans.slice(i, i + 3);
      assert.ok(v.every((s) => s.subject_id === v[0].subject_id));
      for (let k = 1; k < 3; k++) {
        assert.ok(v[k].time_years > v[k - 1].time_years);
        for (const c of ['cortical_thinning', 'ventricle_dilation', 'hippocampal_atrophy', 'frontal_atrophy'] as const) assert.ok(v[k][c] >= v[k - 1][c], `${c} decreased`);
      }
      for (const s of v) {
        assert.equal(s.group, s.diagnosis === 'CN' ? 0 : 1);
        assert.ok(Math.abs(s.age - (s.baseline_age + s.time_years)) < 1e-3);
        assert.equal(s.hippocampal_atrophy > 0, s.diagnosis === 'AD');
        assert.equal(s.frontal_atrophy > 0, s.diagnosis === 'FTD');
      }
    }
    // age is visible by design: thinning and dilation grow with age
    const corr = (xs: number[], ys: number[]) => {
      const mx = xs.reduce((a, b) => a + b) / xs.length, my = ys.reduce((a, b) => a + b) / ys.length;
      let sxy = 0, sxx = 0, syy = 0;
      xs.forEach((x, i) => { sxy += (x - mx) * (ys[i] - my); sxx += (x - mx) ** 2; syy += (ys[i] - my) ** 2; });
      return sxy / Math.sqrt(sxx * syy);
    };
    assert.ok(corr(scans.map((s) => s.age), scans.map((s) => s.ventricle_dilation)) > 0.9);
  });

  describe('manifests', () => {
    it('BIDS folder and manifest.tsv give the same rows with inferred types', async () => {
      const bids = await readManifest(dir);
      const flat = await readManifest(path.join(dir, 'manifest.tsv'));
      assert.equal(bids.rows.length, 12);
      assert.deepEqual(bids.rows.map((r) => [r.subject_id, r.session_id, r.path]), flat.rows.map((r) => [r.subject_id, r.session_id, r.path]));
      assert.deepEqual(bids.rows.map((r) => r.age), flat.rows.map((r) => r.age));
      assert.equal(flat.columns.age, 'number');
      assert.equal(flat.columns.site, 'string');
      assert.equal(flat.columns.group, 'number');
      assert.equal(bids.columns.diagnosis, 'string');
      assert.ok(path.isAbsolute(flat.rows[0].path) && existsSync(flat.rows[0].path));
      const typed = await readManifest(path.join(dir, 'manifest.tsv'), { types: { group: 'string' } });
      assert.equal(typeof typed.rows[0].group, 'string');
      assert.deepEqual(columnLevels(flat, 'sex').every((v) => v === 'F' || v === 'M'), true);
    });

    it('CSV with quotes, n/a and booleans; missing columns are clear errors', async () => {
      const f = path.join(tmp.dir, 'm.csv');
      writeFileSync(f, 'subject_id,session_id,path,age,note,flag\n001,ses-1,a.nii.gz,71.5,"says ""hi"", twice",true\n002,n/a,b.nii.gz,n/a,plain,FALSE\n');
      const m = await readManifest(f);
      assert.equal(m.rows[0].subject_id, '001');
      assert.equal(m.rows[0].note, 'says "hi", twice');
      assert.equal(m.rows[1].session_id, null);
      assert.equal(m.rows[1].age, null);
      assert.equal(m.columns.flag, 'boolean');
      assert.equal(m.rows[1].flag, false);
      const bad = path.join(tmp.dir, 'bad.tsv');
      writeFileSync(bad, 'subject_id\tage\nsub-1\t3\n');
      await assert.rejects(readManifest(bad), (e: unknown) => e instanceof FileFormatError && /needs a 'path' column/.test((e as Error).message));
    });
  });

  describe('streaming loader', () => {
    const base: LoaderOptions = {
      batchSize: 5,
      views: 2,
      seed: 3,
      preprocess: { spacing: SPACING, shape: [20, 24, 20] },
      augment: [{ type: 'flip', p: 0.5 }, { type: 'gaussianNoise', std: 0.1 }, { type: 'randomCropResize', scale: [0.8, 1] }],
    };

    it('yields [B, D, H, W] views + rows, identical with 2 workers and on the main thread', async () => {
      const m = await readManifest(path.join(dir, 'manifest.tsv'));
      const a = new CohortLoader(m, { ...base, workers: 2, prefetch: 2 });
      const b = new CohortLoader(m, { ...base, workers: 0 });
      try {
        const ea = await collect(a, 0);
        const eb = await collect(b, 0);
        sameBatches(ea, eb, 'workers vs main');
        assert.deepEqual(ea.map((x) => x.shape), [[5, 20, 24, 20], [5, 20, 24, 20], [2, 20, 24, 20]]);
        assert.equal(new Set(ea.flatMap((x) => x.rows.map((r) => r.path))).size, 12, 'each row once per epoch');
        assert.notDeepEqual(Array.from(ea[0].views[0]), Array.from(ea[0].views[1]), 'two different views');
        const e1 = await collect(a, 1);
        assert.notDeepEqual(e1[0].rows.map((r) => r.path), ea[0].rows.map((r) => r.path), 'epochs reshuffle');
        assert.ok(a.stats.maxInFlight <= 2, `prefetch bound: ${a.stats.maxInFlight}`);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('cache: volumes are preprocessed once, epochs stay identical to the uncached loader', async () => {
      const m = await readManifest(path.join(dir, 'manifest.tsv'));
      const cached = new CohortLoader(m, { ...base, workers: 1, cache: true });
      const plain = new CohortLoader(m, { ...base, workers: 1 });
      try {
        for (const epoch of [0, 1]) sameBatches(await collect(cached, epoch), await collect(plain, epoch), `epoch ${epoch}`);
        assert.equal(cached.cachedCount, 12);
        assert.equal(plain.cachedCount, 0);
      } finally {
        await cached.close();
        await plain.close();
      }
    });

    it('a bad file is fatal (naming subject and session) or skipped with a count', async () => {
      const broken = path.join(tmp.dir, 'broken');
      cpSync(dir, broken, { recursive: true });
      const victim = path.join(broken, 'sub-003/ses-02/anat/sub-003_ses-02_T1w.nii.gz');
      truncateSync(victim, 400);
      copyFileSync(path.join(broken, 'participants.tsv'), path.join(broken, 'participants.bak'));
      const m = await readManifest(path.join(broken, 'manifest.tsv'));
      const fatal = new CohortLoader(m, { ...base, workers: 1, shuffle: false });
      await assert.rejects(collect(fatal, 0), (e: unknown) => {
        assert.ok(e instanceof CohortFileError && e instanceof FileFormatError);
        assert.equal((e as CohortFileError).subject, 'sub-003');
        assert.equal((e as CohortFileError).session, 'ses-02');
        assert.match((e as Error).message, /sub-003_ses-02_T1w\.nii\.gz: truncated gzip stream .*\(subject sub-003, session ses-02\)/);
        return true;
      });
      await fatal.close();
      const logs: string[] = [];
      const skip = new CohortLoader(m, { ...base, workers: 1, onBadFile: 'skip', log: (s) => logs.push(s) });
      try {
        const e0 = await collect(skip, 0);
        assert.equal(e0.reduce((a, b) => a + b.rows.length, 0), 11);
        assert.deepEqual(skip.skipped.map((s) => [s.subject_id, s.session_id]), [['sub-003', 'ses-02']]);
        assert.ok(logs.some((l) => /skipped 1 bad file\(s\) of 12/.test(l)), logs.join('\n'));
        const e1 = await collect(skip, 1);
        assert.equal(e1.reduce((a, b) => a + b.rows.length, 0), 11, 'stays excluded');
      } finally {
        await skip.close();
      }
    });

    it('batchToTensors gives [B, D, H, W, 1] tensors and coded metadata without leaking', async () => {
      const m = await readManifest(path.join(dir, 'manifest.tsv'));
      const loader = new CohortLoader(m, { ...base, workers: 0 });
      const [batch] = await collect(loader, 0);
      await assertNoLeak(() => {
        const t = batchToTensors(batch, ['age', 'site'], m);
        assert.deepEqual(t.views[0].shape, [5, 20, 24, 20, 1]);
        assert.equal(t.meta.age.dtype, 'float32');
        assert.equal(t.meta.site.dtype, 'int32');
        const levels = columnLevels(m, 'site');
        const codes = Array.from(t.meta.site.dataSync());
        assert.deepEqual(codes.map((c) => levels[c]), batch.rows.map((r) => r.site));
        tf.dispose([...t.views, ...Object.values(t.meta)]);
      }, 'batchToTensors');
      const sexes = metaTensor(batch.rows, 'sex', ['F', 'M']);
      sexes.dispose();
      assert.throws(() => metaTensor(batch.rows, 'nope'), /no such manifest column/);
      await loader.close();
    });
  });

  describe('CLI', () => {
    const cli = (args: string[]) => spawnSync(process.execPath, ['scripts/geoclr.js', ...args], { encoding: 'utf8', env: { ...process.env, GEOCLR_PROGRESS: '0' } });

    it('synth cohort, nifti info --json and nifti convert', function () {
      needPython(this, ['nibabel']);
      const out = path.join(tmp.dir, 'cli');
      const r = cli(['synth', 'cohort', '--out', out, '--subjects', '2', '--visits', '1', '--shape', '20,24,20', '--seed', '4', '--workers', '0']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /wrote 2 volumes of 2 subjects \(20×24×20\)/);
      const vol = path.join(out, 'sub-001/ses-01/anat/sub-001_ses-01_T1w.nii.gz');
      const info = cli(['nifti', 'info', vol, '--json']);
      assert.equal(info.status, 0, info.stderr);
      const j = JSON.parse(info.stdout);
      assert.deepEqual(j.shape, [20, 24, 20]);
      assert.equal(j.axisCodes, 'RAS');
      assert.equal(j.datatype, 'int16');
      const conv = path.join(out, 'converted.nii.gz');
      const c = cli(['nifti', 'convert', vol, conv, '--reorient', 'LPS', '--spacing', '5', '--normalize', 'zscore']);
      assert.equal(c.status, 0, c.stderr);
      const ref = JSON.parse(runPython(`import sys, json, numpy as np, nibabel as nib
i = nib.load(sys.argv[1]); d = i.get_fdata()
print(json.dumps([''.join(nib.aff2axcodes(i.affine)), [float(z) for z in i.header.get_zooms()], float(d.mean()), float(d.std())]))`, [conv]));
      assert.equal(ref[0], 'LPS');
      assert.deepEqual(ref[1].map((z: number) => Math.round(z * 1e4) / 1e4), [5, 5, 5]);
      assert.ok(Math.abs(ref[2]) < 1e-4 && Math.abs(ref[3] - 1) < 1e-4);
      const bad = cli(['nifti', 'info', path.join(tmp.dir, 'cohort', 'participants.tsv')]);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /participants\.tsv: (not a NIfTI file|file is too short)/);
    });
  });
});
