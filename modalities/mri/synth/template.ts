/**
 * The Colin27 template shipped with geoclr (modalities/mri/assets, see NOTICE there): the skull-stripped T1 and
 * a region map on the MNI 2 mm grid (91×109×91, RAS), built from Debian's mricron-data by build_assets.py.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { FileFormatError } from '../../../src/errors.js';
import { readNiftiSync } from '../nifti/read.js';
import type { Volume } from '../volume.js';

/** Region ids of colin27_labels_2mm.nii.gz (see colin27_labels_2mm.tsv). */
export const REGION = {
  background: 0,
  cerebrumOther: 1,
  frontalLobe: 2,
  temporalLobeLateral: 3,
  medialTemporal: 4,
  deepGrey: 5,
  cerebellum: 6,
  ventricles: 7,
  unlabelledTissue: 8,
  csf: 9,
} as const;

/** Folder holding the assets, found from this module's location (works from dist/ and from the source tree). */
export function assetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../assets', '../../../../modalities/mri/assets']) {
    const dir = path.resolve(here, rel);
    if (existsSync(path.join(dir, 'colin27_t1_2mm.nii.gz'))) return dir;
  }
  throw new FileFormatError(path.resolve(here, '../../../../modalities/mri/assets'), 'geoclr MRI assets (colin27_*_2mm.nii.gz) not found');
}

export interface Colin27 {
  /** T1 intensities (uint8 range; CSF ≈ 30–50, grey ≈ 85, white ≈ 115), 0 outside the brain. */
  t1: Volume;
  /** Region ids (REGION). */
  labels: Volume;
}

let cached: Colin27 | null = null;

/** Loads (once per thread) the shipped 2 mm Colin27 T1 and its region map. */
export function loadColin27(): Colin27 {
  if (!cached) {
    const dir = assetsDir();
    const t1 = readNiftiSync(path.join(dir, 'colin27_t1_2mm.nii.gz'));
    const labels = readNiftiSync(path.join(dir, 'colin27_labels_2mm.nii.gz'));
    cached = { t1, labels };
  }
  return cached;
}
