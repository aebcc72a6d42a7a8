/**
 * Small raster helpers for the contrastive-analysis report: tile 2D images (or central slices of volumes) into one
 * grey or heat-map grid, ready for `encodePng`. Reconstructions, latent traversals and saliency maps use them.
 */
import { ShapeError } from '../errors.js';
import type { RasterImage } from '../report/png.js';

/** The central slice of a volume `[D, H, W]` along `axis` (0: axial D, 1: coronal H, 2: sagittal W), as `[rows, cols]`. */
export function centralSlice(volume: Float32Array, shape: readonly number[], axis: 0 | 1 | 2 = 0, index?: number): { data: Float32Array; shape: [number, number] } {
  if (shape.length === 2) return { data: volume, shape: [shape[0], shape[1]] };
  const [d, h, w] = shape;
  const at = index ?? Math.floor(shape[axis] / 2);
  if (axis === 0) return { data: volume.slice(at * h * w, (at + 1) * h * w), shape: [h, w] };
  if (axis === 1) {
    const out = new Float32Array(d * w);
    for (let z = 0; z < d; z++) for (let x = 0; x < w; x++) out[z * w + x] = volume[(z * h + at) * w + x];
    return { data: out, shape: [d, w] };
  }
  const out = new Float32Array(d * h);
  for (let z = 0; z < d; z++) for (let y = 0; y < h; y++) out[z * h + y] = volume[(z * h + y) * w + at];
  return { data: out, shape: [d, h] };
}

export interface GridOptions {
  /** Tiles per row (default: all in one row). */
  columns?: number;
  /** Value range mapped to black–white (default: min–max over all tiles); 'symmetric': [−m, m], m = max |v|. */
  range?: [number, number] | 'symmetric';
  /** 'grey' (default) or 'heat' (black → red → yellow → white, for saliency). */
  colormap?: 'grey' | 'heat';
  /** Pixels between tiles (default 1). */
  gap?: number;
  /** Integer upscaling of every pixel (default 1). */
  scale?: number;
  /** Vertical flip of every tile (display a volume's axial slice with anterior up). */
  flipRows?: boolean;
}

function heat(t: number): [number, number, number] {
  return [Math.min(1, 3 * t), Math.min(1, Math.max(0, 3 * t - 1)), Math.min(1, Math.max(0, 3 * t - 2))];
}

/** Tiles `[rows, cols]` images into one raster (RGB for 'heat', grey otherwise). */
export function imageGrid(tiles: Float32Array[], tileShape: readonly [number, number], opts: GridOptions = {}): RasterImage {
  const [th, tw] = tileShape;
  if (tiles.length === 0) throw new ShapeError('imageGrid: no tiles');
  for (const t of tiles) if (t.length !== th * tw) throw new ShapeError(`imageGrid: a tile has ${t.length} values, expected ${th}×${tw}`);
  const cols = Math.max(1, Math.min(tiles.length, opts.columns ?? tiles.length));
  const rows = Math.ceil(tiles.length / cols);
  const gap = opts.gap ?? 1;
  const scale = opts.scale ?? 1;
  let lo: number;
  let hi: number;
  if (Array.isArray(opts.range)) [lo, hi] = opts.range;
  else {
    lo = Infinity;
    hi = -Infinity;
    for (const t of tiles) for (const v of t) if (Number.isFinite(v)) ((lo = Math.min(lo, v)), (hi = Math.max(hi, v)));
    if (opts.range === 'symmetric') {
      const m = Math.max(Math.abs(lo), Math.abs(hi));
      [lo, hi] = [-m, m];
    }
  }
  const span = hi > lo ? hi - lo : 1;
  const channels = opts.colormap === 'heat' ? 3 : 1;
  const width = (cols * tw + (cols - 1) * gap) * scale;
  const height = (rows * th + (rows - 1) * gap) * scale;
  const data = new Uint8Array(width * height * channels).fill(channels === 3 ? 0 : 255);
  tiles.forEach((tile, k) => {
    const r0 = Math.floor(k / cols) * (th + gap);
    const c0 = (k % cols) * (tw + gap);
    for (let y = 0; y < th; y++) {
      const sy = opts.flipRows ? th - 1 - y : y;
      for (let x = 0; x < tw; x++) {
        const t = Math.min(1, Math.max(0, (tile[sy * tw + x] - lo) / span));
        const rgb = channels === 3 ? heat(t) : [t];
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const p = ((r0 + y) * scale + dy) * width + (c0 + x) * scale + dx;
            for (let c = 0; c < channels; c++) data[p * channels + c] = Math.round(rgb[c] * 255);
          }
        }
      }
    }
  });
  return { width, height, channels: channels as 1 | 3, data };
}
