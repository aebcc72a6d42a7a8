/**
 * A brain cohort as a contrastive-analysis data set: healthy controls are the background (group 0), patients the
 * target (group 1); the salient factor is the diagnosis subtype (e.g. AD vs FTD in the synthetic cohort), the common
 * factors are those both groups vary in (age, site, sex). Volumes are read, preprocessed (`preprocessVolume`) and
 * held in memory as one Float32Array, `[D, H, W] = [Z, Y, X]` per volume.
 */
import { ConfigError, FileFormatError, ValueError } from '../../src/errors.js';
import { ProgressBar } from '../../src/util/progress.js';
import type { ContrastiveDataset, FactorSpec, FactorValue } from '../../src/contrastive-analysis/dataset.js';
import { readManifest, type Manifest } from './manifest.js';
import { readNifti } from './nifti/read.js';
import { preprocessVolume, type PreprocessSpec } from './preprocess.js';

export interface CohortContrastiveOptions {
  /** Column holding the group (0 background, 1 target). Default 'group'; absent: derived from `backgroundLabels`. */
  groupColumn?: string;
  /** Without a group column: values of `salient` that are background (default ['CN']). */
  backgroundLabels?: string[];
  /** The salient factor's column (default 'diagnosis'; classification among targets). */
  salient?: string;
  /** Common factors (default age: regression, site and sex: classification — those present in the manifest). */
  common?: FactorSpec[];
  /** Preprocessing of every volume (default: canonical orientation, z-score inside the brain, grid kept). */
  preprocess?: PreprocessSpec;
  progress?: boolean;
}

/** Reads a cohort (manifest.tsv, a BIDS folder, …: see `readManifest`) into a ContrastiveDataset. */
export async function cohortContrastiveDataset(source: string | Manifest, opts: CohortContrastiveOptions = {}): Promise<ContrastiveDataset> {
  const manifest = typeof source === 'string' ? await readManifest(source) : source;
  const rows = manifest.rows;
  if (rows.length === 0) throw new ValueError('cohortContrastiveDataset: the manifest has no scans');
  const salient = opts.salient ?? 'diagnosis';
  if (!(salient in manifest.columns)) throw new ConfigError('salient', `the manifest has no column '${salient}' (columns: ${Object.keys(manifest.columns).join(', ')})`);
  const groupColumn = opts.groupColumn ?? 'group';
  const background = new Set(opts.backgroundLabels ?? ['CN']);
  const common =
    opts.common ??
    ([
      { name: 'age', task: 'regression' },
      { name: 'site', task: 'classification' },
      { name: 'sex', task: 'classification' },
    ] as FactorSpec[]).filter((f) => f.name in manifest.columns);
  for (const f of common) if (!(f.name in manifest.columns)) throw new ConfigError('common', `the manifest has no column '${f.name}'`);

  const group = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    const g = groupColumn in manifest.columns ? Number(r[groupColumn]) : background.has(String(r[salient])) ? 0 : 1;
    if (g !== 0 && g !== 1) {
      throw new ValueError(`cohortContrastiveDataset: ${r.subject_id}/${r.session_id ?? ''}: ${groupColumn} must be 0 (background) or 1 (target), got ${JSON.stringify(r[groupColumn])}`);
    }
    group[i] = g;
  });

  const spec: PreprocessSpec = { canonical: true, normalize: 'zscore-nonzero', ...(opts.preprocess ?? {}) };
  const bar = opts.progress ? new ProgressBar({ label: 'read cohort', total: rows.length, unit: 'volumes' }) : null;
  let shape: number[] | null = null;
  let images: Float32Array | null = null;
  for (let i = 0; i < rows.length; i++) {
    const vol = preprocessVolume(await readNifti(rows[i].path), spec);
    const [x, y, z] = vol.shape;
    if (shape == null) {
      shape = [z, y, x];
      images = new Float32Array(rows.length * x * y * z);
    } else if (shape[0] !== z || shape[1] !== y || shape[2] !== x) {
      throw new FileFormatError(rows[i].path, `preprocessed to ${x}×${y}×${z}, the first scan to ${shape[2]}×${shape[1]}×${shape[0]}: set preprocess.shape`);
    }
    images!.set(vol.data as Float32Array, i * x * y * z);
    bar?.tick();
  }
  bar?.finish();
  const factors: Record<string, FactorValue[]> = {};
  for (const name of [salient, ...common.map((f) => f.name)]) {
    factors[name] = rows.map((r, i) => (name === salient && group[i] === 0 ? null : (r[name] as FactorValue) ?? null));
  }
  return {
    name: 'mri-cohort',
    shape: shape!,
    n: rows.length,
    images: images!,
    group,
    factors,
    salient: { name: salient, task: 'classification' },
    common,
    ids: rows.map((r) => r.subject_id),
  };
}
