import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from 'geoclr';
import {
  applyAffine,
  asClosestCanonical,
  axisCodes,
  cropOrPad,
  distanceTransform,
  gaussianBlur,
  invert4,
  ioOrientation,
  matmul4,
  minMax,
  percentileClip,
  percentiles,
  readNifti,
  reorient,
  resample,
  resampleToGrid,
  targetGrid,
  type Volume,
  writeNifti,
  zscore,
} from 'geoclr/mri';
import { needPython, runPython } from './support/peers.js';
import { NIBABEL_DATA, nibabelLoad, tempDir } from './support/nibabel.js';
import { assertClose } from './support/tf.js';

function randomVolume(shape: number[], seed: number, affine?: number[][]): Volume {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    shape,
    spacing: [1, 1, 1],
    affine: affine ?? [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
    data: Float32Array.from({ length: n }, () => rng.uniform(0, 100)),
  };
}

function readF64(file: string): Float64Array {
  const b = readFileSync(file);
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
}

describe('mri: orientation and canonical RAS match nibabel', function () {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  it('io_orientation / aff2axcodes on 200 random (oblique, flipped, permuted) affines', function () {
    needPython(this, ['nibabel']);
    const rng = new Rng(11);
    const affines: number[][][] = [];
    for (let k = 0; k < 200; k++) {
      // random permutation + flips + rotation up to ±40° + anisotropic zooms
      const perm = rng.permutation(3);
      const m = [0, 1, 2].map((i) => [0, 1, 2].map((j) => (perm[j] === i ? (rng.bernoulli(0.5) ? -1 : 1) * rng.uniform(0.5, 3) : 0)));
      const t = rng.uniform(-0.7, 0.7);
      const rot = [[Math.cos(t), -Math.sin(t), 0], [Math.sin(t), Math.cos(t), 0], [0, 0, 1]];
      const r = rot.map((row) => [0, 1, 2].map((j) => row[0] * m[0][j] + row[1] * m[1][j] + row[2] * m[2][j]));
      affines.push([...r.map((row, i) => [...row, rng.uniform(-50, 50) + i]), [0, 0, 0, 1]]);
    }
    const ref = JSON.parse(
      runPython(
        `import sys, json, numpy as np, nibabel as nib
A = json.loads(sys.stdin.read())
print(json.dumps([[list(nib.aff2axcodes(np.array(a))), nib.io_orientation(np.array(a)).tolist()] for a in A]))`,
        [],
        JSON.stringify(affines),
      ),
    ) as [string[], number[][]][];
    affines.forEach((a, k) => {
      assert.deepEqual(axisCodes(a), ref[k][0], `affine ${k}`);
      assert.deepEqual(ioOrientation(a), ref[k][1], `affine ${k}`);
    });
  });

  it('asClosestCanonical = nibabel.as_closest_canonical (LAS anatomical, oblique 4-D, PIR-permuted crafted)', async function () {
    needPython(this, ['nibabel']);
    const crafted = path.join(tmp.dir, 'pir.nii.gz');
    const vol = randomVolume([5, 6, 7], 2, [[0, 0, -2, 40], [-1.5, 0, 0, 10], [0, 3, 0, -20], [0, 0, 0, 1]]);
    await writeNifti(crafted, vol);
    const files = [path.join(NIBABEL_DATA, 'anatomical.nii'), path.join(NIBABEL_DATA, 'example4d.nii.gz'), crafted];
    const out = JSON.parse(
      runPython(
        `import sys, json, numpy as np, nibabel as nib
res = []
for i, f in enumerate(sys.argv[2:]):
    c = nib.as_closest_canonical(nib.load(f))
    np.asarray(c.get_fdata(), '<f8').ravel(order='F').tofile(f"{sys.argv[1]}/can{i}.bin")
    res.append(dict(shape=list(c.shape), affine=c.affine.tolist()))
print(json.dumps(res))`,
        [tmp.dir, ...files],
      ),
    );
    for (let i = 0; i < files.length; i++) {
      const c = asClosestCanonical(await readNifti(files[i], { dtype: 'float64' }));
      assert.deepEqual(c.shape, out[i].shape, `${files[i]} shape`);
      assertClose(c.affine.flat(), out[i].affine.flat(), 0, 1e-9, `${files[i]} affine`);
      assert.deepEqual(Array.from(c.data), Array.from(readF64(path.join(tmp.dir, `can${i}.bin`))), `${files[i]} data`);
    }
    assert.deepEqual(axisCodes(asClosestCanonical(vol).affine), ['R', 'A', 'S']);
  });

  it('reorient to LPS keeps every voxel at its world position', () => {
    const vol = randomVolume([4, 5, 6], 3, [[2, 0, 0, -3], [0, 1.5, 0, 4], [0, 0, 2.5, 5], [0, 0, 0, 1]]);
    const lps = reorient(vol, 'LPS');
    assert.deepEqual(axisCodes(lps.affine), ['L', 'P', 'S']);
    const back = reorient(lps, 'RAS');
    assert.deepEqual(Array.from(back.data), Array.from(vol.data));
    assertClose(back.affine.flat(), vol.affine.flat(), 0, 1e-12);
    // voxel (1,2,3) of the LPS volume holds the value of the RAS voxel at the same world point
    const w = applyAffine(lps.affine, [1, 2, 3]);
    const v = applyAffine(invert4(vol.affine), w).map(Math.round);
    assert.equal(lps.data[1 + 2 * 4 + 3 * 20], vol.data[v[0] + v[1] * 4 + v[2] * 20]);
  });
});

describe('mri: resampling matches nibabel.processing / scipy', function () {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  it('trilinear and nearest onto axis-aligned and oblique grids = resample_from_to (order 1 / 0)', async function () {
    needPython(this, ['nibabel', 'scipy']);
    const src = path.join(NIBABEL_DATA, 'anatomical.nii');
    const img = await readNifti(src);
    const g1 = targetGrid(img, { spacing: [3, 2.5, 3.5] });
    const g2 = targetGrid(img, { spacing: 1.7, shape: [30, 40, 20] });
    const rot = 0.3;
    const obl = matmul4(img.affine, [[Math.cos(rot) * 1.3, -Math.sin(rot), 0, 3.3], [Math.sin(rot), Math.cos(rot) * 1.3, 0.2, 1.1], [0, 0.1, 1.2, 0.7], [0, 0, 0, 1]]);
    const grids = [g1, g2, { shape: [25, 30, 20], affine: obl }];
    const ref = JSON.parse(
      runPython(
        `import sys, json, numpy as np, nibabel as nib
from nibabel.processing import resample_from_to
img = nib.load(sys.argv[2]); G = json.loads(sys.stdin.read())
for i, g in enumerate(G):
    for order in (0, 1):
        r = resample_from_to(img, (tuple(g['shape']), np.array(g['affine'])), order=order, mode='constant', cval=0)
        np.asarray(r.get_fdata(), '<f8').ravel(order='F').tofile(f"{sys.argv[1]}/rs{i}_{order}.bin")
print(json.dumps('ok'))`,
        [tmp.dir, src],
        JSON.stringify(grids),
      ),
    );
    assert.equal(ref, 'ok');
    grids.forEach((g, i) => {
      for (const order of [0, 1] as const) {
        const r = resampleToGrid(img, g, { order });
        const exp = readF64(path.join(tmp.dir, `rs${i}_${order}.bin`));
        let mismatched = 0;
        for (let k = 0; k < exp.length; k++) if (Math.abs(r.data[k] - exp[k]) > 1e-3 * Math.max(1, Math.abs(exp[k]))) mismatched++;
        // order 0 may round exact .5 ties differently; order 1 may differ only where a sample sits on the edge
        assert.ok(mismatched <= Math.ceil(exp.length * 0.0005), `grid ${i} order ${order}: ${mismatched} of ${exp.length} voxels differ`);
      }
    });
  });

  it('resample to a spacing keeps orientation and field-of-view centre; labels stay labels', async () => {
    const img = await readNifti(path.join(NIBABEL_DATA, 'anatomical.nii'));
    const r = resample(img, { spacing: 4 });
    assert.deepEqual(r.shape, [17, 21, 13]);
    assertClose(r.spacing, [4, 4, 4], 1e-12, 0);
    assert.deepEqual(axisCodes(r.affine), axisCodes(img.affine));
    const c0 = applyAffine(img.affine, img.shape.map((n) => (n - 1) / 2));
    const c1 = applyAffine(r.affine, r.shape.map((n) => (n - 1) / 2));
    assertClose(c1, c0, 0, 1e-9, 'centre');
    const labels: Volume = { ...img, data: img.data.map((v) => Math.floor(v / 500)) };
    const lr = resample(labels, { spacing: 3, order: 'nearest' });
    const allowed = new Set(labels.data);
    for (const v of lr.data) assert.ok(v === 0 || allowed.has(v), `label ${v} was invented`);
    const aa = resample(img, { spacing: 4, antialias: true });
    assert.deepEqual(aa.shape, r.shape);
    assert.notDeepEqual(Array.from(aa.data), Array.from(r.data));
  });
});

describe('mri: crop/pad, intensity and filters', function () {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  it('cropOrPad around the centre and around a mask keeps world coordinates', () => {
    const vol = randomVolume([10, 12, 8], 5, [[2, 0, 0, -10], [0, 2, 0, -12], [0, 0, 2, -8], [0, 0, 0, 1]]);
    const c = cropOrPad(vol, [6, 16, 8]);
    assert.deepEqual(c.shape, [6, 16, 8]);
    // output voxel (i,j,k) holds the input voxel at the same world point, or 0 when padded
    const m = matmul4(invert4(vol.affine), c.affine);
    for (let k = 0; k < 8; k++) for (let j = 0; j < 16; j++) for (let i = 0; i < 6; i++) {
      const [x, y, z] = applyAffine(m, [i, j, k]).map((v) => Math.round(v));
      const inside = x >= 0 && x < 10 && y >= 0 && y < 12 && z >= 0 && z < 8;
      assert.equal(c.data[i + j * 6 + k * 96], inside ? vol.data[x + y * 10 + z * 120] : 0);
    }
    const mask = new Float32Array(960);
    mask[1 + 2 * 10 + 3 * 120] = 1;
    mask[3 + 6 * 10 + 5 * 120] = 1;
    const b = cropOrPad(vol, [3, 5, 3], { mask });
    const centre = applyAffine(b.affine, [1, 2, 1]);
    assertClose(centre, applyAffine(vol.affine, [2, 4, 4]), 0, 1e-12, 'bbox centre');
  });

  it('zscore (masked), percentiles, percentileClip and minMax agree with numpy', function () {
    needPython(this, ['numpy']);
    const vol = randomVolume([9, 8, 7], 7);
    for (let i = 0; i < 100; i++) vol.data[i * 5] = 0;
    const ref = JSON.parse(
      runPython(
        `import sys, json, numpy as np
a = np.array(json.loads(sys.stdin.read()))
m = a != 0
print(json.dumps(dict(mean=a.mean(), std=a.std(), mmean=a[m].mean(), mstd=a[m].std(),
    p=np.percentile(a[m], [0, 0.5, 2, 50, 97.5, 99.5, 100]).tolist())))`,
        [],
        JSON.stringify(Array.from(vol.data)),
      ),
    );
    const z = zscore(vol);
    assertClose(z.data, vol.data.map((v) => (v - ref.mean) / ref.std), 1e-5, 1e-5, 'zscore');
    const zm = zscore(vol, { mask: 'nonzero' });
    assertClose(zm.data, vol.data.map((v) => (v === 0 ? 0 : (v - ref.mmean) / ref.mstd)), 1e-5, 1e-5, 'masked zscore');
    const nz = new Float32Array(vol.data.map((v) => (v !== 0 ? 1 : 0)));
    assertClose(percentiles(vol.data, [0, 0.5, 2, 50, 97.5, 99.5, 100], nz), ref.p, 1e-6, 1e-6, 'percentiles');
    const clipped = percentileClip(vol, { lower: 2, upper: 97.5, mask: 'nonzero' });
    assertClose(clipped.data, vol.data.map((v) => Math.min(ref.p[4], Math.max(ref.p[2], v))), 1e-6, 1e-4, 'clip');
    const mm = minMax(vol, { range: [-1, 1] });
    assert.equal(Math.min(...mm.data), -1);
    assert.equal(Math.max(...mm.data), 1);
  });

  it('gaussianBlur = scipy.ndimage.gaussian_filter; distanceTransform = distance_transform_edt', async function () {
    needPython(this, ['scipy']);
    const vol = randomVolume([11, 9, 7], 9);
    const seed = new Uint8Array(693);
    const rng = new Rng(4);
    for (let i = 0; i < 693; i++) seed[i] = rng.bernoulli(0.03) ? 1 : 0;
    writeFileSync(path.join(tmp.dir, 'v.bin'), Buffer.from(new Float64Array(vol.data).buffer));
    writeFileSync(path.join(tmp.dir, 's.bin'), Buffer.from(seed));
    runPython(
      `import sys, numpy as np
from scipy import ndimage as nd
d = sys.argv[1]
v = np.fromfile(f"{d}/v.bin", '<f8').reshape((11, 9, 7), order='F')
s = np.fromfile(f"{d}/s.bin", np.uint8).reshape((11, 9, 7), order='F')
nd.gaussian_filter(v, (1.3, 0.7, 2.1), mode='reflect', truncate=4.0).ravel(order='F').astype('<f8').tofile(f"{d}/blur.bin")
nd.distance_transform_edt(s == 0, sampling=(1.5, 2.0, 0.8)).ravel(order='F').astype('<f8').tofile(f"{d}/edt.bin")`,
      [tmp.dir],
    );
    const b = gaussianBlur(vol, [1.3, 0.7, 2.1]);
    assertClose(b.data, readF64(path.join(tmp.dir, 'blur.bin')), 1e-5, 1e-4, 'blur');
    const e = distanceTransform(seed, [11, 9, 7], [1.5, 2.0, 0.8]);
    assertClose(e, readF64(path.join(tmp.dir, 'edt.bin')), 1e-5, 1e-5, 'edt');
  });
});
