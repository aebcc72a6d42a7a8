/**
 * Seeded, composable 3-D augmentations in the style of MONAI/TorchIO dictionary transforms: a transform maps a
 * `Sample` (named volumes on one grid) and an `Rng` to a new sample. Spatial transforms move every key with the
 * same random parameters (label keys with nearest-neighbour sampling); intensity transforms touch image keys only.
 * Same seed → same output. The set is y-Aware's (Dufumier et al., MICCAI 2021): random crop + resize, flip,
 * cutout, Gaussian noise, Gaussian blur, intensity shift/scale; plus a small random affine.
 *
 * Every transform also has a plain-data spec (`{ type: 'flip', axes: [0] }`) so that worker threads can rebuild
 * the same pipeline: `buildTransform(specs)`.
 */
import { ConfigError, ShapeError, ValueError } from '../../src/errors.js';
import { Rng } from '../../src/util/random.js';
import { type Mat4 } from './affine.js';
import { gaussianBlurData } from './filters.js';
import { addGaussianNoise } from './noise.js';
import { sampleAffine } from './resample.js';
import { type Volume } from './volume.js';

/** Named volumes on one voxel grid, e.g. `{ image, label }`. */
export type Sample = Record<string, Volume>;

export type Transform = (sample: Sample, rng: Rng) => Sample;

/** A number, or a [lo, hi] range drawn uniformly per call. */
export type Range = number | readonly [number, number];

export interface KeyOptions {
  /** Image keys (spatial + intensity transforms; trilinear). Default ['image']. */
  keys?: string[];
  /** Label keys (spatial transforms only; nearest neighbour). Default []. */
  labelKeys?: string[];
  /** Probability of applying the transform (default 1, except flip: 0.5). */
  p?: number;
}

function draw(rng: Rng, r: Range): number {
  return typeof r === 'number' ? r : rng.uniform(r[0], r[1]);
}

function checkRange(name: string, r: Range, lo = -Infinity, hi = Infinity): void {
  const [a, b] = typeof r === 'number' ? [r, r] : r;
  if (!(Number.isFinite(a) && Number.isFinite(b) && a <= b && a >= lo && b <= hi)) {
    throw new ValueError(`${name} ${JSON.stringify(r)} must be a number or [lo, hi] within [${lo}, ${hi}]`);
  }
}

function checkP(name: string, p: number | undefined): number {
  const v = p ?? 1;
  if (!(v >= 0 && v <= 1)) throw new ValueError(`${name}: p = ${p} must be in [0, 1]`);
  return v;
}

function keysOf(sample: Sample, o: KeyOptions): { images: string[]; labels: string[] } {
  const images = o.keys ?? ['image'];
  const labels = o.labelKeys ?? [];
  for (const k of [...images, ...labels]) {
    const v = sample[k];
    if (v == null) throw new ShapeError(`augmentation: sample has no key '${k}' (has ${Object.keys(sample).join(', ') || 'none'})`);
    if (v.shape.length !== 3) throw new ShapeError(`augmentation: '${k}' has shape ${v.shape.join('×')}; 3-D volumes expected`);
  }
  return { images, labels };
}

/** Applies a voxel map M (target voxel → source voxel) to every key. */
function warpAll(sample: Sample, o: KeyOptions, m: Mat4): Sample {
  const { images, labels } = keysOf(sample, o);
  const out = { ...sample };
  for (const k of [...images, ...labels]) {
    const v = sample[k];
    const data = sampleAffine(v.data, v.shape, v.shape, m, labels.includes(k) ? 0 : 1, 0);
    out[k] = { ...v, data };
  }
  return out;
}

function mapImages(sample: Sample, o: KeyOptions, f: (v: Volume) => Float32Array | Float64Array): Sample {
  const { images } = keysOf(sample, o);
  const out = { ...sample };
  for (const k of images) out[k] = { ...sample[k], data: f(sample[k]) };
  return out;
}

/** Runs transforms in order. */
export function compose(...transforms: Transform[]): Transform {
  return (sample, rng) => transforms.reduce((s, t) => t(s, rng), sample);
}

/** Applies `t` with a fresh generator seeded by `seed` (same seed → same output). */
export function applyTransform(t: Transform, sample: Sample, seed: number | string): Sample {
  return t(sample, new Rng(seed));
}

export interface RandomCropResizeOptions extends KeyOptions {
  /** Crop size as a fraction of each axis (default [0.7, 1]). */
  scale?: Range;
  /** One fraction for all axes (default true) or one per axis. */
  isotropic?: boolean;
}

/** Crops a random box (a fraction of the volume) and resizes it back to the full grid (trilinear). */
export function randomCropResize(o: RandomCropResizeOptions = {}): Transform {
  const scale = o.scale ?? [0.7, 1];
  checkRange('randomCropResize.scale', scale, 1e-3, 1);
  const p = checkP('randomCropResize', o.p);
  return (sample, rng) => {
    if (!rng.bernoulli(p)) return sample;
    const first = sample[(o.keys ?? ['image'])[0]];
    if (!first) throw new ShapeError(`randomCropResize: sample has no key '${(o.keys ?? ['image'])[0]}'`);
    const n = first.shape;
    const f0 = draw(rng, scale);
    const m: Mat4 = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    for (let a = 0; a < 3; a++) {
      const f = o.isotropic === false && a > 0 ? draw(rng, scale) : f0;
      const size = n[a] * f;
      const start = rng.uniform(0, n[a] - size); // continuous crop box [start, start + size) in voxel-edge units
      m[a][a] = f;
      m[a][3] = start + (f - 1) / 2; // target voxel centres spread over the box
    }
    return warpAll(sample, o, m);
  };
}

export interface FlipOptions extends KeyOptions {
  /** Voxel axes that may flip, each independently with probability p (default [0] = left–right, p 0.5). */
  axes?: number[];
}

/** Random flips along voxel axes. */
export function randomFlip(o: FlipOptions = {}): Transform {
  const axes = o.axes ?? [0];
  if (axes.some((a) => a !== 0 && a !== 1 && a !== 2)) throw new ValueError(`randomFlip.axes ${JSON.stringify(axes)} must be among 0, 1, 2`);
  const p = checkP('randomFlip', o.p ?? 0.5);
  return (sample, rng) => {
    const flips = axes.filter(() => rng.bernoulli(p));
    if (flips.length === 0) return sample;
    const first = sample[(o.keys ?? ['image'])[0]];
    if (!first) throw new ShapeError(`randomFlip: sample has no key '${(o.keys ?? ['image'])[0]}'`);
    const m: Mat4 = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    for (const a of flips) {
      m[a][a] = -1;
      m[a][3] = first.shape[a] - 1;
    }
    return warpAll(sample, o, m);
  };
}

export interface CutoutOptions extends KeyOptions {
  /** Box size as a fraction of each axis (default [0.1, 0.25]). */
  size?: Range;
  /** Number of boxes (default 1). */
  count?: number;
  /** Value written into the boxes (default 0). */
  fill?: number;
}

/** Sets random boxes to `fill` (DeVries & Taylor 2017; y-Aware's "cutout"). */
export function randomCutout(o: CutoutOptions = {}): Transform {
  const size = o.size ?? [0.1, 0.25];
  checkRange('cutout.size', size, 0, 1);
  const count = o.count ?? 1;
  if (!(Number.isInteger(count) && count >= 1)) throw new ValueError(`cutout.count ${count} must be a positive integer`);
  const p = checkP('cutout', o.p);
  return (sample, rng) => {
    if (!rng.bernoulli(p)) return sample;
    const first = sample[(o.keys ?? ['image'])[0]];
    if (!first) throw new ShapeError(`cutout: sample has no key '${(o.keys ?? ['image'])[0]}'`);
    const [nx, ny, nz] = first.shape;
    const boxes: number[][] = [];
    for (let c = 0; c < count; c++) {
      const s = [nx, ny, nz].map((n) => Math.max(1, Math.round(n * draw(rng, size))));
      const st = [nx, ny, nz].map((n, a) => rng.int(0, n - s[a] + 1));
      boxes.push([...st, ...s]);
    }
    return mapImages(sample, o, (v) => {
      const d = v.data.slice();
      for (const [x0, y0, z0, sx, sy, sz] of boxes) {
        for (let z = z0; z < z0 + sz; z++) for (let y = y0; y < y0 + sy; y++) d.fill(o.fill ?? 0, (z * ny + y) * nx + x0, (z * ny + y) * nx + x0 + sx);
      }
      return d;
    });
  };
}

export interface NoiseOptions extends KeyOptions {
  /** Standard deviation of the additive noise (default [0, 0.1]). */
  std?: Range;
}

/** An intensity transform: draws one parameter per call from `range` and maps every image key with `f`. */
function intensityTransform(name: string, field: string, range: Range, lo: number, o: KeyOptions, f: (v: Volume, param: number, rng: Rng) => Float32Array | Float64Array): Transform {
  checkRange(`${name}.${field}`, range, lo);
  const p = checkP(name, o.p);
  return (sample, rng) => {
    if (!rng.bernoulli(p)) return sample;
    const c = draw(rng, range);
    return mapImages(sample, o, (v) => f(v, c, rng));
  };
}

/** Adds i.i.d. Gaussian noise (σ drawn per call). */
export function randomGaussianNoise(o: NoiseOptions = {}): Transform {
  return intensityTransform('gaussianNoise', 'std', o.std ?? [0, 0.1], 0, o, (v, s, rng) => {
    const d = v.data.slice();
    addGaussianNoise(d, s, rng);
    return d;
  });
}

export interface BlurOptions extends KeyOptions {
  /** Gaussian σ in voxels (default [0.1, 1]). */
  sigma?: Range;
}

/** Gaussian smoothing with a random σ. */
export function randomGaussianBlur(o: BlurOptions = {}): Transform {
  return intensityTransform('gaussianBlur', 'sigma', o.sigma ?? [0.1, 1], 0, o, (v, s) => {
    const d = v.data.slice();
    gaussianBlurData(d, v.shape, s);
    return d;
  });
}

export interface ShiftOptions extends KeyOptions {
  /** Added constant (default [−0.1, 0.1]). */
  offset?: Range;
}

/** v + offset (MONAI RandShiftIntensity). */
export function randomIntensityShift(o: ShiftOptions = {}): Transform {
  return intensityTransform('intensityShift', 'offset', o.offset ?? [-0.1, 0.1], -Infinity, o, (v, c) => v.data.map((x) => x + c));
}

export interface ScaleOptions extends KeyOptions {
  /** Multiplier (default [0.9, 1.1]). */
  factor?: Range;
}

/** v · factor (MONAI RandScaleIntensity with factor = 1 + f). */
export function randomIntensityScale(o: ScaleOptions = {}): Transform {
  return intensityTransform('intensityScale', 'factor', o.factor ?? [0.9, 1.1], -Infinity, o, (v, f) => v.data.map((x) => x * f));
}

export interface AffineOptions extends KeyOptions {
  /** Maximum rotation about each voxel axis, degrees (default 10). */
  rotate?: number;
  /** Isotropic zoom range (default [0.95, 1.05]). */
  scale?: Range;
  /** Maximum translation per axis, voxels (default 2). */
  translate?: number;
}

function rotation(ax: number, ay: number, az: number): number[][] {
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(ax), Math.sin(ax), Math.cos(ay), Math.sin(ay), Math.cos(az), Math.sin(az)];
  const Rx = [[1, 0, 0], [0, cx, -sx], [0, sx, cx]];
  const Ry = [[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]];
  const Rz = [[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]];
  const mul = (a: number[][], b: number[][]) => a.map((r) => [0, 1, 2].map((j) => r[0] * b[0][j] + r[1] * b[1][j] + r[2] * b[2][j]));
  return mul(Rz, mul(Ry, Rx));
}

/** Small random rotation, zoom and translation about the volume centre (in voxel space). */
export function randomAffine(o: AffineOptions = {}): Transform {
  const rot = o.rotate ?? 10;
  const scale = o.scale ?? [0.95, 1.05];
  const tr = o.translate ?? 2;
  if (!(rot >= 0 && tr >= 0)) throw new ValueError('randomAffine: rotate and translate must be ≥ 0');
  checkRange('randomAffine.scale', scale, 1e-3);
  const p = checkP('randomAffine', o.p);
  return (sample, rng) => {
    if (!rng.bernoulli(p)) return sample;
    const first = sample[(o.keys ?? ['image'])[0]];
    if (!first) throw new ShapeError(`randomAffine: sample has no key '${(o.keys ?? ['image'])[0]}'`);
    const deg = Math.PI / 180;
    const R = rotation(rng.uniform(-rot, rot) * deg, rng.uniform(-rot, rot) * deg, rng.uniform(-rot, rot) * deg);
    const z = draw(rng, scale);
    const t = [0, 1, 2].map(() => rng.uniform(-tr, tr));
    const c = first.shape.map((n) => (n - 1) / 2);
    // source = R/z · (target − c) + c + t
    const m: Mat4 = [0, 1, 2].map((i) => {
      const row = [0, 1, 2].map((j) => R[i][j] / z);
      return [...row, c[i] + t[i] - row[0] * c[0] - row[1] * c[1] - row[2] * c[2]];
    });
    m.push([0, 0, 0, 1]);
    return warpAll(sample, o, m);
  };
}

/** Plain-data description of a transform, for configs and worker threads. */
export type AugmentSpec =
  | ({ type: 'randomCropResize' } & RandomCropResizeOptions)
  | ({ type: 'flip' } & FlipOptions)
  | ({ type: 'cutout' } & CutoutOptions)
  | ({ type: 'gaussianNoise' } & NoiseOptions)
  | ({ type: 'gaussianBlur' } & BlurOptions)
  | ({ type: 'intensityShift' } & ShiftOptions)
  | ({ type: 'intensityScale' } & ScaleOptions)
  | ({ type: 'affine' } & AffineOptions);

const FACTORIES: { [K in AugmentSpec['type']]: (o: Extract<AugmentSpec, { type: K }>) => Transform } = {
  randomCropResize,
  flip: randomFlip,
  cutout: randomCutout,
  gaussianNoise: randomGaussianNoise,
  gaussianBlur: randomGaussianBlur,
  intensityShift: randomIntensityShift,
  intensityScale: randomIntensityScale,
  affine: randomAffine,
};

/** Builds the composed transform a list of specs describes. */
export function buildTransform(specs: readonly AugmentSpec[]): Transform {
  return compose(
    ...specs.map((s, i) => {
      const f = FACTORIES[s?.type as AugmentSpec['type']] as ((o: AugmentSpec) => Transform) | undefined;
      if (!f) throw new ConfigError(`augment[${i}].type`, `unknown transform ${JSON.stringify(s?.type)}; expected one of ${Object.keys(FACTORIES).join(', ')}`);
      return f(s);
    }),
  );
}

/** y-Aware's augmentation set at moderate strength, for z-scored brain volumes. */
export function yAwareAugmentations(): AugmentSpec[] {
  return [
    { type: 'flip', axes: [0], p: 0.5 },
    { type: 'randomCropResize', scale: [0.8, 1], p: 0.5 },
    { type: 'cutout', size: [0.1, 0.25], p: 0.5 },
    { type: 'gaussianBlur', sigma: [0.1, 1], p: 0.3 },
    { type: 'gaussianNoise', std: [0, 0.1], p: 0.5 },
    { type: 'intensityScale', factor: [0.9, 1.1], p: 0.5 },
    { type: 'intensityShift', offset: [-0.1, 0.1], p: 0.5 },
  ];
}
