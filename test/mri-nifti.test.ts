import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { FileFormatError, Rng, ValueError } from 'geoclr';
import { assetsDir, encodeNifti, readNifti, readNiftiHeader, readNiftiSync, writeNifti, type Volume } from 'geoclr/mri';
import { needPython, runPython } from './support/peers.js';
import { NIBABEL_DATA, nibabelLoad, tempDir } from './support/nibabel.js';
import { assertClose } from './support/tf.js';

function assertAffine(actual: number[][], expected: number[][], tol: number, what: string) {
  assertClose(actual.flat(), expected.flat(), 0, tol, `${what} affine`);
}

describe('mri: NIfTI reading matches nibabel', function () {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  it("reads nibabel's own test images (big-endian, 4-D scaled, oblique, NIfTI-2) exactly as nibabel", async function () {
    needPython(this, ['nibabel']);
    const names = ['anatomical.nii', 'functional.nii', 'example4d.nii.gz', 'example_nifti2.nii.gz', 'standard.nii.gz', 'reoriented_anat_moved.nii'];
    const files = names.map((n) => path.join(NIBABEL_DATA, n));
    for (const f of files) if (!existsSync(f)) assert.fail(`${f} is missing (python3-nibabel installs it)`);
    const refs = nibabelLoad(files, tmp.dir);
    for (let i = 0; i < files.length; i++) {
      const img = await readNifti(files[i], { dtype: 'float64' });
      const ref = refs[i];
      assert.deepEqual(img.shape, ref.shape, `${names[i]} shape`);
      assertClose(img.spacing, ref.zooms, 1e-12, 0, `${names[i]} zooms`);
      assertAffine(img.affine, ref.affine, 1e-12, names[i]);
      assert.equal(img.datatype, ref.dtype, `${names[i]} datatype`);
      assert.deepEqual(Array.from(img.data), Array.from(ref.data), `${names[i]} values`);
    }
    assert.equal((await readNifti(files[0])).header.littleEndian, false, 'anatomical.nii is big endian');
    assert.equal((await readNifti(files[3])).header.version, 2);
  });

  it('reads the shipped Colin27 template and its labels as nibabel does', async function () {
    needPython(this, ['nibabel']);
    const files = ['colin27_t1_2mm.nii.gz', 'colin27_labels_2mm.nii.gz'].map((f) => path.join(assetsDir(), f));
    const refs = nibabelLoad(files, tmp.dir);
    for (let i = 0; i < 2; i++) {
      const img = await readNifti(files[i]);
      assert.deepEqual(img.shape, [91, 109, 91]);
      assertAffine(img.affine, refs[i].affine, 0, files[i]);
      assertClose(img.data, refs[i].data, 0, 0, files[i]);
    }
  });

  it('reads crafted files of every datatype, both byte orders, scaled, qform-only, no xform, NIfTI-2, 4-D', async function () {
    needPython(this, ['nibabel']);
    const manifest = runPython(
      `
import sys, json, numpy as np, nibabel as nib
out = sys.argv[1]
rng = np.random.default_rng(3)
files = []
def save(img, name, endian=None):
    p = f"{out}/{name}"
    if endian == '>':
        hdr = img.header.as_byteswapped('>')
        img = img.__class__(np.asanyarray(img.dataobj), img.affine, hdr)
    nib.save(img, p)
    files.append(p)
oblique = np.array([[1.9, 0.3, 0.1, -80.2], [-0.25, 1.85, 0.4, -100.5], [0.05, -0.35, 2.4, -60.0], [0, 0, 0, 1]])
for dt in ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64']:
    info = np.iinfo(dt) if dt[0] in 'iu' else None
    lo, hi = (info.min, info.max) if info else (-1e6, 1e6)
    if dt in ('int64', 'uint64'): lo, hi = (max(lo, -2**52), min(hi, 2**52))
    a = rng.uniform(lo, hi, size=(5, 6, 7))
    a[0, 0, 0], a[1, 0, 0] = lo, hi
    a = a.astype(dt) if info is None else np.clip(np.round(a), lo, hi).astype(dt)
    for e in ('<', '>'):
        img = nib.Nifti1Image(a, oblique, dtype=dt)
        save(img, f"{dt}_{'le' if e == '<' else 'be'}.nii", e)
# scaled integers (slope/inter), gzipped
s = nib.Nifti1Image(rng.integers(-3000, 3000, (8, 7, 6)).astype(np.int16), np.diag([2, 2, 3, 1.0]))
s.header.set_slope_inter(0.37, -12.5)
save(s, 'scaled_int16.nii.gz')
s2 = nib.Nifti1Image(rng.integers(0, 255, (8, 7, 6, 3)).astype(np.uint8), np.diag([2, 2, 3, 1.0]))
s2.header.set_slope_inter(2.5, 0.125)
save(s2, 'scaled_uint8_4d.nii', '>')
# qform only (sform_code 0), with a rotation and qfac -1
q = nib.Nifti1Image(rng.normal(size=(6, 5, 4)).astype(np.float32), np.eye(4))
rot = np.array([[0, -1, 0], [1, 0, 0], [0, 0, -1]]) @ np.diag([1.5, 2.0, 2.5])
aff = np.eye(4); aff[:3, :3] = rot; aff[:3, 3] = [10, -20, 30]
q.set_qform(aff, code=1); q.set_sform(None, code=0)
save(q, 'qform_only.nii')
# neither: nibabel's base affine (centred, x flipped)
n = nib.Nifti1Image(rng.normal(size=(6, 5, 4)).astype(np.float32), np.eye(4))
n.header.set_zooms((1.5, 2.0, 2.5)); n.set_qform(None, code=0); n.set_sform(None, code=0)
save(n, 'no_xform.nii')
# NIfTI-2, big endian, oblique, 4-D
n2 = nib.Nifti2Image(rng.normal(size=(4, 5, 6, 2)).astype(np.float64), oblique)
save(n2, 'nifti2_be.nii', '>')
save(nib.Nifti2Image(rng.integers(0, 9, (4, 5, 6)).astype(np.int16), oblique), 'nifti2.nii.gz')
print(json.dumps(files))
`,
      [tmp.dir],
    );
    const files = JSON.parse(manifest) as string[];
    const refs = nibabelLoad(files, tmp.dir);
    for (let i = 0; i < files.length; i++) {
      const name = path.basename(files[i]);
      const img = await readNifti(files[i], { dtype: 'float64' });
      assert.deepEqual(img.shape, refs[i].shape, `${name} shape`);
      assert.equal(img.datatype, refs[i].dtype, `${name} datatype`);
      assertAffine(img.affine, refs[i].affine, 1e-12, name);
      assertClose(img.spacing, refs[i].zooms, 1e-12, 0, `${name} zooms`);
      assertClose(img.data, refs[i].data, 0, 0, `${name} values`);
      const f32 = readNiftiSync(files[i]);
      assert.ok(f32.data instanceof Float32Array);
      assertClose(f32.data, Float32Array.from(refs[i].data), 0, 0, `${name} float32 values`);
    }
    assert.ok(files.length >= 26);
  });

  it('readNiftiHeader reads only the header and gives the same affine', async () => {
    const f = path.join(NIBABEL_DATA, 'example4d.nii.gz');
    const h = readNiftiHeader(f);
    const img = await readNifti(f);
    assert.deepEqual(h.shape, img.shape);
    assert.deepEqual(h.affine, img.affine);
    assert.equal(h.datatype.name, 'int16');
  });

  it('reads from bytes (Uint8Array and ArrayBuffer) as from the path', async () => {
    const f = path.join(NIBABEL_DATA, 'functional.nii');
    const bytes = readFileSync(f);
    const a = await readNifti(f);
    const b = await readNifti(new Uint8Array(bytes));
    const c = await readNifti(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    assert.deepEqual(Array.from(b.data), Array.from(a.data));
    assert.deepEqual(Array.from(c.data), Array.from(a.data));
  });
});

describe('mri: NIfTI writing round-trips through nibabel', function () {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  const oblique = [
    [1.9, 0.3, 0.1, -80.2],
    [-0.25, 1.85, 0.4, -100.5],
    [0.05, -0.35, 2.4, -60.0],
    [0, 0, 0, 1],
  ];

  function volume(shape: number[], f: (i: number) => number, affine = oblique): Volume {
    const n = shape.reduce((a, b) => a * b, 1);
    return { shape, spacing: [1.93, 1.9, 2.43, 1.5].slice(0, shape.length), affine, data: Float32Array.from({ length: n }, (_, i) => f(i)) };
  }

  it('nibabel reads back what writeNifti wrote: shape, affine, datatype, values (.nii, .nii.gz, NIfTI-2, 4-D)', async function () {
    needPython(this, ['nibabel']);
    const cases: { name: string; vol: Volume; opts: Parameters<typeof writeNifti>[2] }[] = [
      { name: 'f32.nii.gz', vol: volume([7, 6, 5], (i) => Math.sin(i) * 100), opts: {} },
      { name: 'i16.nii', vol: volume([7, 6, 5], (i) => (i % 700) - 350), opts: { datatype: 'int16' } },
      { name: 'u8.nii.gz', vol: volume([7, 6, 5], (i) => i % 256), opts: { datatype: 'uint8' } },
      { name: 'i16_auto.nii.gz', vol: volume([7, 6, 5], (i) => Math.cos(i) * 3.3), opts: { datatype: 'int16', scaling: 'auto' } },
      { name: 'f64_v2.nii', vol: { ...volume([4, 5, 6, 3], (i) => i / 7), data: Float64Array.from({ length: 360 }, (_, i) => i / 7) }, opts: { version: 2 } },
      { name: 'i32_4d.nii.gz', vol: volume([4, 5, 6, 2], (i) => i * 1000 - 50000), opts: { datatype: 'int32' } },
    ];
    const files: string[] = [];
    for (const c of cases) {
      const f = path.join(tmp.dir, c.name);
      await writeNifti(f, c.vol, c.opts);
      files.push(f);
    }
    const refs = nibabelLoad(files, tmp.dir);
    cases.forEach((c, i) => {
      const ref = refs[i];
      assert.deepEqual(ref.shape, c.vol.shape, `${c.name} shape`);
      const f32 = c.opts?.version === 2 ? (v: number) => v : Math.fround;
      assertAffine(ref.affine, c.vol.affine.map((r) => r.map(f32)), 0, c.name);
      const tol = c.opts?.scaling === 'auto' ? (6.6 / 65535) * 0.51 : 0;
      assertClose(ref.data, c.vol.data, 0, tol + 1e-12, `${c.name} values`);
      if (c.opts?.datatype) assert.equal(ref.dtype, c.opts.datatype, `${c.name} dtype`);
    });
    // the qform nibabel derives from the written quaternion matches the affine (no shears here → same rotation)
    const q = JSON.parse(runPython(`import sys, json, nibabel as nib; print(json.dumps(nib.load(sys.argv[1]).get_qform().tolist()))`, [files[0]]));
    const noShear = [
      [0, -1.5, 0, 10],
      [2, 0, 0, -20],
      [0, 0, -2.5, 30],
      [0, 0, 0, 1],
    ];
    const f2 = path.join(tmp.dir, 'qform.nii');
    await writeNifti(f2, volume([3, 4, 5], (i) => i, noShear), { qformCode: 1 });
    const q2 = JSON.parse(runPython(`import sys, json, nibabel as nib; print(json.dumps(nib.load(sys.argv[1]).get_qform().tolist()))`, [f2]));
    assertAffine(q2, noShear, 1e-6, 'qform');
    assert.equal(q.length, 4);
  });

  it('writes atomically and refuses values a datatype cannot hold', async () => {
    const f = path.join(tmp.dir, 'atomic.nii');
    await writeNifti(f, volume([2, 2, 2], (i) => i), { datatype: 'uint8' });
    await assert.rejects(writeNifti(f, volume([2, 2, 2], (i) => i * 100), { datatype: 'uint8' }), (e: unknown) => e instanceof ValueError && /uint8 cannot hold/.test((e as Error).message));
    const back = await readNifti(f);
    assert.deepEqual(Array.from(back.data), [0, 1, 2, 3, 4, 5, 6, 7], 'the old file is intact');
    const enc = encodeNifti(volume([2, 2, 2], (i) => i));
    assert.equal(enc.length, 352 + 8 * 4);
  });
});

describe('mri: bad NIfTI input fails fast with a typed error naming the file', function () {
  let tmp: ReturnType<typeof tempDir>;
  let good: Uint8Array;
  before(async () => {
    tmp = tempDir();
    good = encodeNifti({ shape: [20, 20, 20], spacing: [1, 1, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], data: new Float32Array(8000).fill(1) });
  });
  after(() => tmp.cleanup());

  async function expectBad(name: string, bytes: Uint8Array, pattern: RegExp) {
    const file = path.join(tmp.dir, name);
    writeFileSync(file, bytes);
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    await assert.rejects(readNifti(file), (e: unknown) => {
      assert.ok(e instanceof FileFormatError, `${name}: expected FileFormatError, got ${e}`);
      assert.equal((e as FileFormatError).file, file);
      assert.ok((e as Error).message.startsWith(file), `${name}: message names the file: ${(e as Error).message}`);
      assert.match((e as FileFormatError).problem, pattern, name);
      return true;
    });
    const ms = performance.now() - t0;
    assert.ok(ms < 500, `${name}: took ${ms.toFixed(0)} ms`);
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 64 * 2 ** 20, `${name}: allocated ${(grown / 2 ** 20).toFixed(0)} MiB`);
  }

  function withDims(dims: number[], datatype = 16): Uint8Array {
    const b = good.slice();
    const v = new DataView(b.buffer);
    v.setInt16(40, dims.length, true);
    dims.forEach((d, i) => v.setInt16(42 + 2 * i, d, true));
    v.setInt16(70, datatype, true);
    return b;
  }

  it('empty file', () => expectBad('empty.nii', new Uint8Array(0), /file is empty/));
  it('truncated header', () => expectBad('short.nii', good.subarray(0, 200), /too short for a NIfTI header/));
  it('bad magic', async () => {
    const b = good.slice();
    b.set([0x6e, 0x2b, 0x39], 344);
    await expectBad('magic.nii', b, /bad NIfTI-1 magic/);
    const c = good.slice();
    new DataView(c.buffer).setInt32(0, 123, true);
    await expectBad('sizeof.nii', c, /not a NIfTI file: bad magic/);
  });
  it('truncated voxel data', () => expectBad('truncated.nii', good.subarray(0, good.length - 100), /truncated: header claims 20×20×20 float32/));
  it('header claims more than the file holds (1 GiB)', () => expectBad('liar.nii', withDims([1024, 1024, 256], 16), /truncated: header claims 1024×1024×256/));
  it('header claims 30000³ voxels', () => expectBad('huge.nii', withDims([30000, 30000, 30000], 2), /more than the limit/));
  it('truncated gzip', async () => {
    const noisy = good.slice();
    const rng = new Rng(1);
    for (let i = 352; i < noisy.length; i++) noisy[i] = rng.int(0, 256);
    const gz = zlib.gzipSync(noisy);
    assert.ok(gz.length > 20000);
    await expectBad('trunc.nii.gz', gz.subarray(0, gz.length >> 1), /truncated gzip stream \(unexpected end of file\)/);
  });
  it('corrupt gzip', async () => {
    const gz = zlib.gzipSync(good);
    gz.fill(0xff, 60, 90);
    await expectBad('corrupt.nii.gz', gz, /gzip stream/);
  });
  it('gzip whose header claims far more than it can hold', () => expectBad('liar.nii.gz', zlib.gzipSync(withDims([1024, 1024, 256], 16)), /more than a .* gzip file can hold/));
  it('unsupported datatype (RGB24) and a bad dim[0]', async () => {
    await expectBad('rgb.nii', withDims([20, 20, 20], 128), /datatype 128 \(RGB24\) is not supported/);
    const b = good.slice();
    new DataView(b.buffer).setInt16(40, 9, true);
    await expectBad('dim0.nii', b, /dim\[0\] is 9/);
  });
  it('a .hdr/.img pair header', async () => {
    const b = good.slice();
    b.set([0x6e, 0x69, 0x31], 344);
    await expectBad('pair.nii', b, /\.hdr\/\.img pair/);
  });
  it('a missing file', async () => {
    await assert.rejects(readNifti(path.join(tmp.dir, 'nope.nii')), (e: unknown) => e instanceof FileFormatError && /cannot open: ENOENT/.test((e as Error).message));
  });
});
