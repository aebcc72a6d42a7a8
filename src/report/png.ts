/**
 * A minimal PNG encoder (8-bit grey, grey+alpha, RGB or RGBA; zlib from node:zlib) so reports can embed images —
 * MRI slices, reconstructions, saliency maps — as inline data URIs without an image library.
 */
import { deflateSync } from 'node:zlib';
import { ShapeError, ValueError } from '../errors.js';

export interface RasterImage {
  width: number;
  height: number;
  /** 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) channels, interleaved, row-major. */
  channels: 1 | 2 | 3 | 4;
  /** 8-bit samples (Uint8Array/Uint8ClampedArray), or floats in [0, 1] that are scaled and clamped. */
  data: ArrayLike<number>;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(payload, 8);
  view.setUint32(8 + payload.length, crc32(out.subarray(4, 8 + payload.length)));
  return out;
}

/** Encodes an image as PNG bytes. */
export function encodePng(img: RasterImage): Uint8Array {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ValueError(`encodePng: width and height must be positive integers, got ${width}×${height}`);
  }
  if (![1, 2, 3, 4].includes(channels)) throw new ValueError(`encodePng: channels must be 1, 2, 3 or 4, got ${channels}`);
  if (data.length !== width * height * channels) {
    throw new ShapeError(`encodePng: ${data.length} samples for ${width}×${height}×${channels} = ${width * height * channels}`);
  }
  const isFloat = !(data instanceof Uint8Array || data instanceof Uint8ClampedArray);
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let yy = 0; yy < height; yy++) {
    raw[yy * (stride + 1)] = 0; // filter: none
    for (let i = 0; i < stride; i++) {
      const v = data[yy * stride + i];
      raw[yy * (stride + 1) + 1 + i] = isFloat ? Math.round(Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * 255) : v;
    }
  }
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = { 1: 0, 2: 4, 3: 2, 4: 6 }[channels]!;
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** `data:image/png;base64,…` for an image or already-encoded PNG bytes. */
export function pngDataUri(img: RasterImage | Uint8Array): string {
  const bytes = img instanceof Uint8Array ? img : encodePng(img);
  return `data:image/png;base64,${Buffer.from(bytes).toString('base64')}`;
}
