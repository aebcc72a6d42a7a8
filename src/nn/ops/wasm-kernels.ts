/**
 * Two tfjs-backend-wasm 4.22 kernels, re-registered without their hidden whole-tensor copies.
 *
 * - `Slice` reads its input with `backend.readSync`, which copies the *entire* input out of the wasm heap (and
 *   allocates a fresh buffer) before copying the slice: slicing one depth plane of a batch of volumes cost a full
 *   copy of the batch (3 ms per slice of a 3 MB activation, ~10× the slice itself). The replacement reads a view
 *   of the heap, as tfjs-wasm's own Concat does.
 * - `Identity` (used by `tf.clone` and by the engine to keep tensors for a backward pass) copies the data; tensors
 *   are immutable, so sharing the buffer with a reference count, as the cpu backend and wasm's own Reshape do, is
 *   equivalent and free.
 * - `BatchMatMul` with a batch of more than one matrix pair takes a naive loop in tfjs-wasm (~0.7 GFLOP/s; only a
 *   single pair goes to XNNPACK). Attention's per-head products ([B·H] pairs of [L, dh]·[dh, L]) spent half of a
 *   text-transformer training step there. The replacement feeds each pair to the original kernel as a batch of
 *   one (XNNPACK) when the pairs are large enough for that to pay (bit-identical results: the same kernel).
 * Semantics are unchanged (same outputs, same dtypes, strings delegated to the original kernels); installation is
 * idempotent and only touches the 'wasm' backend.
 */
import * as tf from '../../tf.js';

interface WasmBackendLike {
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

let installed = false;

/** Installs the fixed kernels for the wasm backend (no-op when already done or when wasm is not registered). */
export function installWasmKernelFixes(): void {
  if (installed) return;
  const slice = tf.getKernel('Slice', 'wasm');
  const identity = tf.getKernel('Identity', 'wasm');
  const batchMatMul = tf.getKernel('BatchMatMul', 'wasm');
  if (slice == null || identity == null || batchMatMul == null) return;
  installed = true;

  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: (args) => pairwiseBatchMatMul(args, batchMatMul.kernelFunc) });

  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return identity.kernelFunc(args);
      (args.backend as unknown as WasmBackendLike).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });

  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({
    kernelName: 'Slice',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return slice.kernelFunc(args);
      const attrs = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
      const backend = args.backend as unknown as WasmBackendLike;
      const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
      // Allocate first: a heap growth would detach views taken earlier.
      const out = backend.makeOutput(size, x.dtype);
      if (tf.util.sizeFromShape(size) === 0) return out;
      const src = backend.typedArrayFromHeap(x);
      const dst = backend.typedArrayFromHeap(out);
      copySlice(src, x.shape, begin, size, dst);
      return out;
    },
  });
}

/**
 * Below this many multiply-adds per pair (M·K·N), the naive batched loop is faster than one XNNPACK call per pair
 * (~0.1 ms of fixed cost each: two copies, an operator with packed weights). Measured on the 2-core machine.
 */
const PAIRWISE_MIN_MACS = 32_768;

type KernelFunc = tf.KernelConfig["kernelFunc"];

/** BatchMatMul as one single-pair (XNNPACK) product per batch entry, when that is faster; else the original. */
function pairwiseBatchMatMul(args: Parameters<KernelFunc>[0], original: KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  const ra = a.shape.length;
  const rb = b.shape.length;
  const lead = a.shape.slice(0, -2);
  const batch = lead.reduce((p, e) => p * e, 1);
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[rb - 1];
  const plain =
    a.dtype === 'float32' && b.dtype === 'float32' && !attrs.transposeA && !attrs.transposeB && ra >= 3 && ra === rb &&
    lead.every((d, i) => d === b.shape[i]) && b.shape[rb - 2] === k;
  if (!plain || batch < 2 || m * k * n < PAIRWISE_MIN_MACS) return original(args);
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput([...lead, m, n], 'float32');
  for (let i = 0; i < batch; i++) {
    // Allocate before taking heap views: a heap growth would detach views taken earlier.
    const ai = backend.makeOutput([1, m, k], 'float32');
    const bi = backend.makeOutput([1, k, n], 'float32');
    backend.typedArrayFromHeap(ai).set(backend.typedArrayFromHeap(a).subarray(i * m * k, (i + 1) * m * k));
    backend.typedArrayFromHeap(bi).set(backend.typedArrayFromHeap(b).subarray(i * k * n, (i + 1) * k * n));
    const r = original({ inputs: { a: ai, b: bi }, backend: args.backend, attrs: args.attrs }) as tf.TensorInfo;
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(r), i * m * n);
    backend.disposeData(ai.dataId);
    backend.disposeData(bi.dataId);
    backend.disposeData(r.dataId);
  }
  return out;
}

/** Copies the [begin, begin + size) box of a row-major array, one contiguous innermost run at a time. */
function copySlice(
  src: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  begin: number[],
  size: number[],
  dst: Float32Array | Int32Array | Uint8Array,
): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0];
    return;
  }
  // Merge trailing axes that are taken whole into one contiguous run.
  let inner = rank - 1;
  let run = size[inner];
  while (inner > 0 && size[inner] === shape[inner] && begin[inner] === 0) {
    inner--;
    run *= size[inner];
  }
  const strides = tf.util.computeStrides(shape);
  strides.push(1);
  const outer = size.slice(0, inner);
  const count = outer.reduce((p, e) => p * e, 1);
  const idx = new Array(inner).fill(0);
  let out = 0;
  for (let n = 0; n < count; n++) {
    let off = begin[inner] * strides[inner];
    for (let a = 0; a < inner; a++) off += (begin[a] + idx[a]) * strides[a];
    dst.set(src.subarray(off, off + run), out);
    out += run;
    for (let a = inner - 1; a >= 0; a--) {
      if (++idx[a] < outer[a]) break;
      idx[a] = 0;
    }
  }
}
