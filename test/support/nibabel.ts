/** Helpers for the MRI tests: temporary folders and nibabel (Debian python3-nibabel) as the reference reader. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runPython } from './peers.js';

export const NIBABEL_DATA = '/usr/lib/python3/dist-packages/nibabel/tests/data';

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'geoclr-mri-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface NibabelImage {
  shape: number[];
  zooms: number[];
  affine: number[][];
  /** get_fdata() (float64), x fastest. */
  data: Float64Array;
  dtype: string;
}

/** Loads files with nibabel; returns shape, zooms, affine and get_fdata() values (Fortran order = x fastest). */
export function nibabelLoad(files: string[], scratch: string): NibabelImage[] {
  const out = runPython(
    `
import sys, json, numpy as np, nibabel as nib
res = []
for i, f in enumerate(sys.argv[2:]):
    img = nib.load(f)
    d = np.asarray(img.get_fdata(), dtype='<f8')
    d.ravel(order='F').tofile(f"{sys.argv[1]}/nib{i}.bin")
    res.append(dict(shape=list(img.shape), zooms=[float(z) for z in img.header.get_zooms()],
                    affine=img.affine.tolist(), dtype=str(img.get_data_dtype().newbyteorder('=').name)))
print(json.dumps(res))
`,
    [scratch, ...files],
  );
  const meta = JSON.parse(out) as Omit<NibabelImage, 'data'>[];
  return meta.map((m, i) => {
    const buf = readFileSync(path.join(scratch, `nib${i}.bin`));
    return { ...m, data: new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8) };
  });
}
