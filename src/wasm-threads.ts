/**
 * Multithreaded tfjs-backend-wasm in Node.
 *
 * tfjs 4.22 ships a threaded SIMD build (XNNPACK on a pthread pool) but never uses it in Node: its feature flag
 * says "no threads in Node" (tfjs issue #3830), the pthread worker script is handed over as a `blob:` URL that
 * Node's worker_threads cannot start, and XNNPACK's pool is capped at os.cpus().length / 2 (it assumes
 * hyper-threading). On a 2-core machine that leaves one core idle during every convolution and matmul.
 *
 * `prepareWasmThreads(n)` fixes the three points around one `tf.setBackend('wasm')`:
 *  - records the text of the Blobs tfjs creates, and writes the threaded module factory to a cache file;
 *  - serves `new Worker(blobUrl)` with Node's Worker in `eval` mode on the recorded worker text, with a short
 *    prelude that gives the factory the globals its bundled source refers to;
 *  - reports 2·n logical cores while the module initialises.
 * It is tied to tfjs-backend-wasm 4.22.0 (pinned in package.json); `GEOCLR_WASM_THREADS=1` turns it off.
 */
import { createRequire } from 'node:module';
import { Worker as NodeWorker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BackendError } from './errors.js';

const FACTORY_PREFIX = 'var WasmBackendModuleThreadedSimd';

/**
 * Number of threads to ask for: GEOCLR_WASM_THREADS (1–8; 'auto' = the machine's available parallelism),
 * else 1. XNNPACK's workers spin while they wait, so on a machine whose cores are already busy more threads
 * are slower, not faster — hence opt-in.
 */
export function requestedWasmThreads(): number {
  const env = process.env.GEOCLR_WASM_THREADS?.trim();
  if (!env) return 1;
  if (env === 'auto') return Math.min(Math.max(1, os.availableParallelism?.() ?? os.cpus().length), 8);
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) {
    throw new BackendError(`GEOCLR_WASM_THREADS='${env}' must be 'auto' or an integer from 1 to 8`);
  }
  return Math.min(n, 8);
}

let installed = false;
let initialising = false;
const pthreadWorkers: NodeWorker[] = [];
let factoryPath: string | null = null;
const blobText = new WeakMap<Blob, string>();
const urlText = new Map<string, string>();

function installWorkerBridge(): void {
  if (installed) return;
  installed = true;
  const OriginalBlob = globalThis.Blob;
  class RecordingBlob extends OriginalBlob {
    constructor(parts: ConstructorParameters<typeof Blob>[0] = [], options?: ConstructorParameters<typeof Blob>[1]) {
      super(parts, options);
      if (parts.every((p: unknown) => typeof p === "string")) {
        const text = (parts as string[]).join('');
        blobText.set(this, text);
        if (text.startsWith(FACTORY_PREFIX)) factoryPath = cacheFactory(text);
      }
    }
  }
  globalThis.Blob = RecordingBlob as typeof Blob;
  const createObjectURL = URL.createObjectURL.bind(URL);
  URL.createObjectURL = (blob: Blob) => {
    const url = createObjectURL(blob);
    const text = blobText.get(blob);
    if (text != null) urlText.set(url, text);
    return url;
  };

  class PthreadWorker extends NodeWorker {
    constructor(url: string | URL, options?: ConstructorParameters<typeof NodeWorker>[1]) {
      const text = urlText.get(String(url));
      if (text == null) {
        super(url, options);
        return;
      }
      if (factoryPath == null) throw new Error('geoclr wasm threads: the threaded module factory was not captured');
      // The factory's bundled source refers to rollup's names for its imports and to _scriptDir.
      const prelude = [
        `global._scriptDir = ${JSON.stringify(factoryPath)};`,
        'global.commonjsGlobal = global;',
        "global.require$$0 = require('fs'); global.require$$1 = require('path');",
        "global.require$$3 = require('perf_hooks'); global.require$$4 = require('os');",
        `URL.createObjectURL = () => ${JSON.stringify(factoryPath)}; URL.revokeObjectURL = () => {};`,
      ].join('\n');
      // The worker text is a CommonJS script: drop flags that would make an eval'd worker an ES module.
      const execArgv = process.execArgv.filter((a) => !/^--(input-type|experimental-default-type)/.test(a));
      super(`${text}\n${prelude}\n`, { eval: true, execArgv });
      pthreadWorkers.push(this);
      if (!initialising) this.unref();
    }

    // Emscripten (this version) never unrefs its pthread workers, and attaching a 'message' listener re-refs a
    // worker's port. Workers must stay referenced while the module initialises (it waits for their 'loaded'
    // messages); afterwards the pool idles on futexes and must not keep a finished process alive.
    override on(event: string | symbol, listener: (...args: any[]) => void): this {
      super.on(event, listener);
      if (!initialising) this.unref();
      return this;
    }
  }
  // Emscripten assigns Node's Worker to the global; keep ours in place (it defers to Node's for other URLs).
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => {} });
}

function cacheFactory(text: string): string {
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'geoclr-wasm');
  const file = path.join(dir, `threaded-simd-${hash}.js`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    // rename is atomic: concurrent processes never read a half-written factory.
    renameSync(tmp, file);
  }
  return file;
}

const require = createRequire(import.meta.url);

/**
 * Runs `init` (which must call tf.setBackend('wasm')) with the threaded build enabled for `threads` threads.
 * `setFlag` sets WASM_HAS_MULTITHREAD_SUPPORT, `setThreadsCount` is tfjs-backend-wasm's.
 */
export async function withWasmThreads<T>(
  threads: number,
  setFlag: (on: boolean) => void,
  setThreadsCount: (n: number) => void,
  init: () => Promise<T>,
): Promise<T> {
  if (threads <= 1) return init();
  installWorkerBridge();
  setFlag(true);
  setThreadsCount(threads);
  const osModule = require('os') as typeof os;
  const cpus = osModule.cpus;
  osModule.cpus = () => {
    const real = cpus.call(osModule);
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
  };
  initialising = true;
  try {
    return await init();
  } finally {
    initialising = false;
    osModule.cpus = cpus;
    for (const w of pthreadWorkers) w.unref();
  }
}
