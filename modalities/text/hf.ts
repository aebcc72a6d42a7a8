/**
 * The one place geoclr touches transformers.js' global settings. transformers.js downloads from the Hugging Face
 * Hub by default; geoclr turns that off (tests, CI and the demo must never download) and lets a caller opt in per
 * call (`allowRemote: true`) or per process (`GEOCLR_ALLOW_REMOTE_MODELS=1`).
 *
 * The package is imported lazily: it pulls in onnxruntime-node and sharp, which `geoclr/text` users who only
 * generate reports should not pay for.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { FileFormatError } from '../../src/errors.js';

export type Transformers = typeof import('@huggingface/transformers');

let loaded: Promise<Transformers> | null = null;

/** transformers.js, configured for offline use (remote models off unless GEOCLR_ALLOW_REMOTE_MODELS=1). */
export function transformers(): Promise<Transformers> {
  loaded ??= import('@huggingface/transformers').then((t) => {
    t.env.allowRemoteModels = remoteAllowedByEnv();
    t.env.allowLocalModels = true;
    return t;
  });
  return loaded;
}

export function remoteAllowedByEnv(): boolean {
  return process.env.GEOCLR_ALLOW_REMOTE_MODELS === '1';
}

/** Options shared by everything that loads a tokenizer or model by folder or hub id. */
export interface ModelSourceOptions {
  /**
   * Allow `nameOrDir` to be a Hugging Face Hub id that transformers.js downloads (needs network). Default false,
   * or true when GEOCLR_ALLOW_REMOTE_MODELS=1. A local folder is always read locally.
   */
  allowRemote?: boolean;
  /** Where downloaded hub files are cached (default: transformers.js' `env.cacheDir`). */
  cacheDir?: string;
}

/** Where a model or tokenizer comes from. */
export type ModelSource = { kind: 'dir'; dir: string } | { kind: 'hub'; id: string };

const HUB_ID = /^(?:[\w\-.]+\/)?[\w\-.]{1,96}$/;

/**
 * Decides whether `nameOrDir` is a local folder or (when allowed) a hub id. Anything else is a FileFormatError
 * naming the folder it looked at and, for hub-like names, how to opt in to downloading.
 */
export function resolveModelSource(nameOrDir: string, options: ModelSourceOptions, what: string): ModelSource {
  const dir = path.resolve(nameOrDir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new FileFormatError(dir, `is a file; pass the ${what} folder that holds it`);
    return { kind: 'dir', dir };
  }
  const allowRemote = options.allowRemote ?? remoteAllowedByEnv();
  const looksLikeHubId = HUB_ID.test(nameOrDir) && !nameOrDir.includes('..') && !nameOrDir.includes('--');
  if (looksLikeHubId && allowRemote) return { kind: 'hub', id: nameOrDir };
  throw new FileFormatError(
    dir,
    `no such ${what} folder (from '${nameOrDir}')` +
      (looksLikeHubId
        ? '; downloading it as a Hugging Face Hub id is disabled — pass { allowRemote: true } or set ' +
          'GEOCLR_ALLOW_REMOTE_MODELS=1 on a machine with network'
        : ''),
  );
}

/**
 * Runs a transformers.js load with the remote switch set as requested. transformers.js reads `env.allowRemoteModels`
 * globally, so it is switched on only for the duration of an opted-in load.
 */
export async function withRemote<T>(t: Transformers, allowRemote: boolean, load: () => Promise<T>): Promise<T> {
  if (!allowRemote) return load();
  const before = t.env.allowRemoteModels;
  t.env.allowRemoteModels = true;
  try {
    return await load();
  } finally {
    t.env.allowRemoteModels = before;
  }
}
