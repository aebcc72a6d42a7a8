/**
 * IDX files (LeCun's format of MNIST and Fashion-MNIST): a 4-byte magic `0x00 0x00 <type> <rank>`, `rank` big-endian
 * uint32 dimensions, then the values in C order. Only unsigned bytes (type 0x08) are read — what MNIST uses.
 * Every header is checked against the file's length before anything it claims is allocated.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { FileFormatError } from '../../src/errors.js';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = { 0x08: 'uint8', 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

/** Validates the header at the start of `head` and checks it against the body length; returns the shape. */
function idxHeader(head: Uint8Array, totalBytes: number, file: string): { shape: number[]; headerBytes: number } {
  if (head.length < 4) throw new FileFormatError(file, `too short for an IDX header (${head.length} bytes)`);
  if (head[0] !== 0 || head[1] !== 0) {
    throw new FileFormatError(file, `bad IDX magic ${Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')} (expected 00 00 <type> <rank>)`);
  }
  const type = head[2];
  const rank = head[3];
  if (type !== 0x08) {
    throw new FileFormatError(file, `IDX element type 0x${type.toString(16)} (${TYPE_NAMES[type] ?? 'unknown'}) is not supported; only uint8 (0x08)`);
  }
  if (rank < 1) throw new FileFormatError(file, 'IDX rank 0');
  const headerBytes = 4 + 4 * rank;
  if (head.length < headerBytes) throw new FileFormatError(file, `truncated IDX header: rank ${rank} needs ${headerBytes} bytes, the file has ${head.length}`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const count = shape.reduce((a, b) => a * b, 1);
  if (totalBytes - headerBytes !== count) {
    throw new FileFormatError(file, `IDX header claims [${shape.join(', ')}] = ${count} values, the file holds ${totalBytes - headerBytes}`);
  }
  return { shape, headerBytes };
}

/** Parses IDX bytes (`file` names the source in errors). */
export function parseIdx(bytes: Uint8Array, file = '<bytes>'): IdxArray {
  const { shape, headerBytes } = idxHeader(bytes, bytes.length, file);
  return { shape, data: bytes.subarray(headerBytes) };
}

/**
 * Reads an IDX file, or only its first `limit` entries along the first axis (the header is still checked against
 * the whole file's size, and only what is returned is read).
 */
export async function readIdx(file: string, opts: { limit?: number } = {}): Promise<IdxArray> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    throw new FileFormatError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const size = (await handle.stat()).size;
    const head = new Uint8Array(Math.min(size, 4 + 4 * 255));
    await handle.read(head, 0, head.length, 0);
    const { shape, headerBytes } = idxHeader(head, size, file);
    const first = opts.limit == null ? shape[0] : Math.min(shape[0], Math.max(0, Math.floor(opts.limit)));
    const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
    const data = new Uint8Array(first * rowSize);
    if (data.length > 0) await handle.read(data, 0, data.length, headerBytes);
    return { shape: [first, ...shape.slice(1)], data };
  } finally {
    await handle.close();
  }
}
