/**
 * Compute-backend selection. geoclr runs on any tfjs backend; which one is chosen at run time:
 *
 *   tfjs-node-gpu → tfjs-node → wasm → cpu
 *
 * The first two are optional packages (their install downloads libtensorflow, which is impossible on
 * machines without internet), so they are looked up with a dynamic import and simply skipped when absent.
 * `GEOCLR_BACKEND` (node-gpu | node | wasm | cpu | webgpu) overrides the order; an override that cannot be
 * honoured is an error, never a silent fallback.
 */
import * as tf from './tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BackendError } from './errors.js';
import { requestedWasmThreads, withWasmThreads } from './wasm-threads.js';

export type BackendChoice = 'node-gpu' | 'node' | 'wasm' | 'cpu' | 'webgpu';
export const BACKEND_ORDER: readonly BackendChoice[] = ['node-gpu', 'node', 'wasm', 'cpu'];
const BACKEND_CHOICES: readonly BackendChoice[] = [...BACKEND_ORDER, 'webgpu'];

/** The package that provides each choice, and the tfjs backend name it registers. */
const PROVIDERS: Record<BackendChoice, { pkg: string; tfName: string }> = {
  'node-gpu': { pkg: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow' },
  node: { pkg: '@tensorflow/tfjs-node', tfName: 'tensorflow' },
  wasm: { pkg: '@tensorflow/tfjs-backend-wasm', tfName: 'wasm' },
  cpu: { pkg: '@tensorflow/tfjs-backend-cpu', tfName: 'cpu' },
  // Open for later: WebGPU in Node through the `webgpu` npm package (Dawn bindings).
  webgpu: { pkg: '@tensorflow/tfjs-backend-webgpu', tfName: 'webgpu' },
};

export interface BackendProbe {
  choice: BackendChoice;
  package: string;
  /** Whether the package could be imported and registered a backend with geoclr's tfjs-core. */
  available: boolean;
  /** Why it was not used (absent, failed to initialise, lower priority, ...). */
  reason?: string;
}

export interface BackendInfo {
  /** The active geoclr choice and the tfjs backend name. */
  choice: BackendChoice;
  tfBackend: string;
  tfjsVersion: string;
  /** wasm only: SIMD and multithreading as detected by tfjs. */
  simd?: boolean;
  threads?: boolean;
  numThreads?: number;
  override?: string;
  probes: BackendProbe[];
}

let active: Promise<BackendInfo> | null = null;

function isMissingModule(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

async function tryLoad(choice: BackendChoice): Promise<BackendProbe> {
  const { pkg, tfName } = PROVIDERS[choice];
  const probe: BackendProbe = { choice, package: pkg, available: false };
  try {
    if (choice === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Point tfjs at the .wasm binaries inside the installed package (works from any cwd).
      const require = createRequire(import.meta.url);
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
    } else if (choice !== 'cpu') {
      await import(pkg);
    }
  } catch (e) {
    probe.reason = isMissingModule(e) ? 'not installed' : `failed to load: ${(e as Error).message}`;
    return probe;
  }
  if (tf.findBackendFactory(tfName) == null) {
    probe.reason =
      `${pkg} loaded but registered no '${tfName}' backend with geoclr's @tensorflow/tfjs-core ${tf.version_core}` +
      ' (two tfjs-core copies? install the matching version)';
    return probe;
  }
  probe.available = true;
  return probe;
}

async function activate(choice: BackendChoice): Promise<boolean> {
  const init = async () => {
    const ok = await tf.setBackend(PROVIDERS[choice].tfName);
    if (ok) await tf.ready();
    return ok;
  };
  if (choice !== 'wasm') return init();
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  return withWasmThreads(
    requestedWasmThreads(),
    (on) => tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', on),
    (n) => wasm.setThreadsCount(n),
    init,
  );
}

async function select(): Promise<BackendInfo> {
  const override = process.env.GEOCLR_BACKEND?.trim();
  const probes: BackendProbe[] = [];
  let chosen: BackendChoice | null = null;
  if (override) {
    if (!BACKEND_CHOICES.includes(override as BackendChoice)) {
      throw new BackendError(
        `GEOCLR_BACKEND='${override}' is not a backend; expected one of ${BACKEND_CHOICES.join(', ')}`,
      );
    }
    const probe = await tryLoad(override as BackendChoice);
    probes.push(probe);
    if (!probe.available) {
      throw new BackendError(`GEOCLR_BACKEND='${override}' requested, but ${probe.package} is ${probe.reason}`);
    }
    if (!(await activate(probe.choice))) {
      throw new BackendError(`GEOCLR_BACKEND='${override}': ${probe.package} failed to initialise`);
    }
    chosen = probe.choice;
  } else {
    for (const choice of BACKEND_ORDER) {
      const probe = await tryLoad(choice);
      probes.push(probe);
      if (!probe.available) continue;
      if (chosen != null) {
        probe.reason = `available, lower priority than ${chosen}`;
        continue;
      }
      if (await activate(choice)) chosen = choice;
      else probe.reason = 'registered but failed to initialise';
    }
    if (chosen == null) throw new BackendError('no tfjs backend could be initialised: ' + JSON.stringify(probes));
  }
  const info: BackendInfo = {
    choice: chosen,
    tfBackend: tf.getBackend(),
    tfjsVersion: tf.version_core,
    probes,
    ...(override ? { override } : {}),
  };
  if (chosen === 'wasm') {
    info.simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    info.threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    info.numThreads = wasm.getThreadsCount();
  }
  return info;
}

/**
 * Selects and initialises the backend once per process (idempotent); every entry point awaits it
 * before computing. Resolves to a description of what was chosen and why the others were not.
 */
export function initBackend(): Promise<BackendInfo> {
  if (active == null) {
    active = select().catch((e) => {
      active = null;
      throw e;
    });
  }
  return active;
}

/** The info of the backend chosen by `initBackend` (throws if it was not awaited yet). */
export async function backendInfo(): Promise<BackendInfo> {
  return initBackend();
}
