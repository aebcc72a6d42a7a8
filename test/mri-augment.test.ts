import assert from 'node:assert/strict';
import { ConfigError, Rng, ValueError } from 'geoclr';
import {
  applyTransform,
  buildTransform,
  compose,
  meanStd,
  normalTable,
  randomAffine,
  randomCropResize,
  randomCutout,
  randomFlip,
  randomGaussianBlur,
  randomGaussianNoise,
  randomIntensityScale,
  randomIntensityShift,
  type Sample,
  type Volume,
  yAwareAugmentations,
} from 'geoclr/mri';

function vol(shape: [number, number, number], f: (x: number, y: number, z: number) => number): Volume {
  const [nx, ny, nz] = shape;
  const data = new Float32Array(nx * ny * nz);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) data[x + nx * (y + ny * z)] = f(x, y, z);
  return { shape, spacing: [1, 1, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], data };
}

const image = vol([12, 10, 8], (x, y, z) => x + 10 * y + 100 * z + Math.sin(x * y));
const label = vol([12, 10, 8], (x, y) => (x < 6 ? 1 : 2) + (y > 4 ? 2 : 0));

describe('mri: seeded 3-D augmentations', () => {
  it('same seed → same output, different seed → different output (full y-Aware set)', () => {
    const t = buildTransform(yAwareAugmentations());
    const a = applyTransform(t, { image }, 42);
    const b = applyTransform(t, { image }, 42);
    const c = applyTransform(t, { image }, 43);
    assert.deepEqual(Array.from(a.image.data), Array.from(b.image.data));
    assert.notDeepEqual(Array.from(a.image.data), Array.from(c.image.data));
    assert.deepEqual(a.image.shape, image.shape);
    assert.deepEqual(Array.from(image.data.slice(0, 3)), [0, 1, 2], 'input untouched');
  });

  it('flip mirrors every key exactly', () => {
    const out = randomFlip({ axes: [0, 2], p: 1, labelKeys: ['label'] })({ image, label }, new Rng(1));
    const [nx, ny, nz] = image.shape;
    for (const k of ['image', 'label'] as const) {
      const src = k === 'image' ? image : label;
      for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
        assert.equal(out[k].data[x + nx * (y + ny * z)], src.data[nx - 1 - x + nx * (y + ny * (nz - 1 - z))]);
      }
    }
  });

  it('crop+resize: scale 1 is the identity; scale 0.5 zooms into a box; labels stay labels', () => {
    const id = randomCropResize({ scale: 1 })({ image }, new Rng(3));
    assert.deepEqual(Array.from(id.image.data), Array.from(image.data));
    const lin = vol([12, 10, 8], (x) => x);
    const z = randomCropResize({ scale: 0.5, labelKeys: ['label'] })({ image: lin, label }, new Rng(5));
    // along x the values now step by 0.5 (a half-size box stretched over the grid)
    const d = z.image.data[6] - z.image.data[5];
    assert.ok(Math.abs(d - 0.5) < 1e-5, `step ${d}`);
    const allowed = new Set([1, 2, 3, 4]);
    for (const v of z.label.data) assert.ok(allowed.has(v), `label ${v} invented`);
  });

  it('cutout zeroes boxes of the requested size in image keys only', () => {
    const ones = vol([20, 20, 20], () => 1);
    const out = randomCutout({ size: 0.25, count: 2, labelKeys: ['label'] })({ image: ones, label: ones }, new Rng(7));
    const zeros = out.image.data.filter((v) => v === 0).length;
    assert.ok(zeros >= 125 && zeros <= 250, `${zeros} zeros (one or two 5³ boxes)`);
    assert.equal(out.label.data.filter((v) => v === 0).length, 0, 'labels are not cut out');
  });

  it('noise has the drawn σ; blur smooths; shift/scale are affine in intensity', () => {
    const flat = vol([30, 30, 30], () => 5);
    const n = randomGaussianNoise({ std: 0.2 })({ image: flat }, new Rng(9));
    const { mean, std } = meanStd(n.image.data);
    assert.ok(Math.abs(mean - 5) < 0.01 && Math.abs(std - 0.2) < 0.01, `mean ${mean} std ${std}`);
    const b = randomGaussianBlur({ sigma: 1.5 })({ image: n.image }, new Rng(1));
    assert.ok(meanStd(b.image.data).std < 0.05);
    const s = randomIntensityShift({ offset: [0.5, 0.5] })({ image }, new Rng(1));
    assert.ok(s.image.data.every((v, i) => Math.abs(v - image.data[i] - 0.5) < 1e-4));
    const m = randomIntensityScale({ factor: 2 })({ image }, new Rng(1));
    assert.ok(m.image.data.every((v, i) => Math.abs(v - 2 * image.data[i]) < 1e-3));
  });

  it('the tabulated normal noise has N(0, 1) quantiles and moments', () => {
    const t = normalTable();
    const { mean, std } = meanStd(t);
    assert.ok(Math.abs(mean) < 1e-9 && Math.abs(std - 1) < 1e-3, `mean ${mean} std ${std}`);
    assert.ok(Math.abs(t[Math.round(0.975 * 65536)] - 1.959964) < 1e-3);
    assert.ok(t.every((v, i) => i === 0 || v > t[i - 1]), 'increasing');
  });

  it('random affine: identity parameters give the identity; otherwise moves the image', () => {
    const id = randomAffine({ rotate: 0, scale: 1, translate: 0 })({ image }, new Rng(2));
    assertCloseArr(id.image.data, image.data, 1e-4);
    const moved = randomAffine({ rotate: 10, scale: [0.9, 1.1], translate: 2 })({ image }, new Rng(2));
    assert.notDeepEqual(Array.from(moved.image.data), Array.from(image.data));
  });

  it('p = 0 skips; compose runs in order; specs build the same pipeline as functions', () => {
    const skip = randomGaussianNoise({ std: 1, p: 0 })({ image }, new Rng(1));
    assert.equal(skip.image, image);
    const f = compose(randomFlip({ p: 1 }), randomIntensityShift({ offset: 1 }));
    const g = buildTransform([{ type: 'flip', p: 1 }, { type: 'intensityShift', offset: 1 }]);
    assert.deepEqual(Array.from(applyTransform(f, { image }, 1).image.data), Array.from(applyTransform(g, { image }, 1).image.data));
  });

  it('bad options and specs are typed errors', () => {
    assert.throws(() => buildTransform([{ type: 'twirl' } as never]), (e: unknown) => e instanceof ConfigError && /augment\[0\]\.type/.test((e as Error).message));
    assert.throws(() => randomCropResize({ scale: [0.9, 0.5] }), ValueError);
    assert.throws(() => randomFlip({ axes: [3] }), ValueError);
    assert.throws(() => randomGaussianNoise({ p: 2 }), ValueError);
    const s: Sample = { image };
    assert.throws(() => randomFlip({ p: 1, keys: ['t1'] })(s, new Rng(1)), /no key 't1'/);
  });
});

function assertCloseArr(a: ArrayLike<number>, b: ArrayLike<number>, tol: number) {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `index ${i}: ${a[i]} vs ${b[i]}`);
}
