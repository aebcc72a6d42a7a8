/** Rendering and writing one scan of a designed cohort (shared by the worker threads and the calling thread). */
import { writeFileAtomicSync } from '../../../src/util/fs.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { encodeNifti } from '../nifti/write.js';
import { reorient } from '../orientation.js';
import type { Grid } from '../resample.js';
import type { Volume } from '../volume.js';
import type { ScanRender, ScanRow } from './design.js';
import { PhantomBase } from './phantom.js';
import { loadColin27 } from './template.js';

export interface RenderJob {
  row: ScanRow;
  render: ScanRender;
}

let base: PhantomBase | null = null;

function phantom(): PhantomBase {
  base ??= new PhantomBase(loadColin27());
  return base;
}

/** The scan as a volume (RAS, or the site's storage orientation), integer values. */
export function renderScan(job: RenderJob, grid: Grid): Volume {
  const { row, render } = job;
  const data = phantom().render({ ...row, ...render }, grid);
  const spacing = [0, 1, 2].map((i) => Math.abs(grid.affine[i][i]));
  let vol: Volume = { shape: grid.shape.slice(), spacing, affine: grid.affine.map((r) => r.slice()), data };
  if (render.orientation !== 'RAS') vol = reorient(vol, render.orientation);
  return vol;
}

/** Renders and writes one scan under `root` as int16 .nii.gz (atomic). */
export function writeScan(root: string, job: RenderJob, grid: Grid, gzipLevel: number): void {
  const vol = renderScan(job, grid);
  const file = path.join(root, job.row.path);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, encodeNifti(vol, { datatype: 'int16', scaling: { slope: 1, inter: 0 }, gzip: true, gzipLevel, sformCode: 1, qformCode: 1, description: 'geoclr synthetic T1 (Colin27 phantom)' }));
}
