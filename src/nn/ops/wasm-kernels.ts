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
 * Semantics are unchanged (same outputs, same dtypes, strings delegated to the original kernels); installation is
 * idempotent and only touches the 'wasm' backend.
 */
import * as tf from '../../tf.js';

interface WasmBackendLike {
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

let installed = false;

/** Installs the fixed kernels for the wasm backend (no-op when already done or when wasm is not registered). */
export function installWasmKernelFixes(): void {
  if (installed) return;
  const slice = tf.getKernel('Slice', 'wasm');
  const identity = tf.getKernel('Identity', 'wasm');
  if (slice == null || identity == null) return;
  installed = true;

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
