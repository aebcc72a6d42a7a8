/**
 * The shipped CC0 textures (grass, gravel, brick from scikit-image's data, 128×128 grey; see assets/NOTICE) and the
 * binary PGM (P5) reader they are stored in.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, FileFormatError } from '../../src/errors.js';

export interface GreyImage {
  width: number;
  height: number;
  /** height × width grey levels, row-major. */
  data: Uint8Array;
}

export const TEXTURES = ['grass', 'gravel', 'brick'] as const;
export type TextureName = (typeof TEXTURES)[number];

/** Parses an 8-bit binary PGM (P5, maxval ≤ 255, `#` comments allowed in the header). */
export function parsePgm(bytes: Uint8Array, file = '<bytes>'): GreyImage {
  let pos = 0;
  const token = (): string => {
    for (;;) {
      while (pos < bytes.length && /\s/.test(String.fromCharCode(bytes[pos]))) pos++;
      if (bytes[pos] === 0x23) {
        while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
        continue;
      }
      break;
    }
    const start = pos;
    while (pos < bytes.length && !/\s/.test(String.fromCharCode(bytes[pos]))) pos++;
    return String.fromCharCode(...bytes.subarray(start, pos));
  };
  if (token() !== 'P5') throw new FileFormatError(file, 'not a binary PGM (magic P5)');
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new FileFormatError(file, `bad PGM size ${width}×${height}`);
  if (!Number.isInteger(maxval) || maxval < 1 || maxval > 255) throw new FileFormatError(file, `PGM maxval ${maxval} is not supported (8-bit only)`);
  pos += 1; // the single whitespace before the raster
  if (bytes.length - pos < width * height) throw new FileFormatError(file, `PGM raster truncated: ${bytes.length - pos} of ${width * height} bytes`);
  return { width, height, data: bytes.slice(pos, pos + width * height) };
}

/** Folder holding the textures, found from this module's location (works from dist/ and from the source tree). */
function assetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const rel of ['assets', '../../../modalities/images/assets']) {
    const dir = path.resolve(here, rel);
    if (existsSync(path.join(dir, 'grass.pgm'))) return dir;
  }
  throw new ConfigError('textures', `the texture assets (modalities/images/assets/*.pgm) were not found from ${here}`);
}

/** One of the shipped textures. */
export function loadTexture(name: TextureName): GreyImage {
  if (!TEXTURES.includes(name)) throw new ConfigError('texture', `must be one of ${TEXTURES.join(', ')}, got ${JSON.stringify(name)}`);
  const file = path.join(assetsDir(), `${name}.pgm`);
  return parsePgm(readFileSync(file), file);
}
