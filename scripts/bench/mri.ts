/**
 * `geoclr bench mri`: volumes/s for read (.nii.gz) → canonical RAS → resample to 2 mm (trilinear) → z-score
 * (non-zero voxels) on a Colin27-sized (181×217×181, 1 mm, int16, stored LAS) volume, geoclr vs nibabel + numpy
 * + scipy (nibabel.processing.resample_from_to) in the same run, on the same file and the same target grid.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { writeFileAtomic } from '../../src/util/fs.js';
import {
  asClosestCanonical,
  loadColin27,
  readNiftiSync,
  reorient,
  resample,
  resampleToGrid,
  targetGrid,
  writeNifti,
  zscore,
  type Volume,
} from '../../modalities/mri/index.js';

const PYTHON = process.env.GEOCLR_PYTHON ?? '/usr/bin/python3';

const PY = `
import sys, json, time
import numpy as np, nibabel as nib
from nibabel.processing import resample_from_to
f, reps = sys.argv[1], int(sys.argv[2])
grid = json.loads(sys.stdin.read())
times = {'read': [], 'canonical': [], 'resample': [], 'zscore': [], 'total': []}
for r in range(reps + 1):
    t0 = time.perf_counter()
    img = nib.load(f); data = img.get_fdata(dtype=np.float32); img = nib.Nifti1Image(data, img.affine, img.header)
    t1 = time.perf_counter()
    c = nib.as_closest_canonical(img)
    t2 = time.perf_counter()
    rs = resample_from_to(c, (tuple(grid['shape']), np.array(grid['affine'])), order=1, mode='constant', cval=0)
    t3 = time.perf_counter()
    d = np.asanyarray(rs.dataobj).astype(np.float32); m = d != 0
    mu, sd = d[m].mean(dtype=np.float64), d[m].std(dtype=np.float64)
    z = np.where(m, (d - mu) / sd, 0).astype(np.float32)
    t4 = time.perf_counter()
    if r == 0: continue  # warm-up
    for k, v in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)): times[k].append(v)
z.ravel(order='F').tofile(sys.argv[3])
print(json.dumps({k: float(np.median(v)) for k, v in times.items()}))
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A Colin27-sized 1 mm volume (the shipped 2 mm template, upsampled), stored int16 LAS like an FSL image. */
async function makeInput(dir: string): Promise<string> {
  const { t1 } = loadColin27();
  const affine = [
    [1, 0, 0, -90],
    [0, 1, 0, -125],
    [0, 0, 1, -71],
    [0, 0, 0, 1],
  ];
  const up = resampleToGrid(t1, { shape: [181, 217, 181], affine });
  const vol: Volume = reorient({ ...up, data: up.data.map((v) => Math.round(v * 8)) }, 'LAS');
  const file = path.join(dir, 'colin27_1mm_las.nii.gz');
  await writeNifti(file, vol, { datatype: 'int16' });
  return file;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { reps: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: geoclr bench mri [--reps N]   (default 5; needs /usr/bin/python3 with nibabel + scipy for the comparison)');
    return 0;
  }
  const reps = Number(values.reps ?? 5);
  const dir = mkdtempSync(path.join(tmpdir(), 'geoclr-bench-mri-'));
  try {
    const file = await makeInput(dir);
    const times: Record<'read' | 'canonical' | 'resample' | 'zscore' | 'total', number[]> = { read: [], canonical: [], resample: [], zscore: [], total: [] };
    let out: Volume | null = null;
    let grid = null as ReturnType<typeof targetGrid> | null;
    for (let r = 0; r <= reps; r++) {
      const t0 = performance.now();
      const img = readNiftiSync(file);
      const t1 = performance.now();
      const c = asClosestCanonical(img);
      const t2 = performance.now();
      grid ??= targetGrid(c, { spacing: 2 });
      const rs = resample(c, { spacing: 2 });
      const t3 = performance.now();
      out = zscore(rs, { mask: 'nonzero' });
      const t4 = performance.now();
      if (r === 0) continue; // warm-up (JIT)
      [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0].forEach((v, i) => times[(['read', 'canonical', 'resample', 'zscore', 'total'] as const)[i]].push(v / 1000));
    }
    const ours = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<string, number>;
    const result: Record<string, unknown> = {
      suite: 'mri',
      task: 'read .nii.gz (181×217×181 int16, LAS) → canonical RAS → resample to 2 mm (trilinear) → z-score (non-zero)',
      reps,
      output_shape: out!.shape,
      geoclr: { seconds: ours, volumes_per_s: 1 / ours.total },
    };
    const refFile = path.join(dir, 'py.bin');
    const py = spawnSync(PYTHON, ['-c', PY, file, String(reps), refFile], { input: JSON.stringify(grid), encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' } });
    if (py.status === 0) {
      const theirs = JSON.parse(py.stdout) as Record<string, number>;
      const { readFileSync } = await import('node:fs');
      const buf = readFileSync(refFile);
      const ref = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      let maxDiff = 0;
      for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - out!.data[i]));
      result.python = { stack: 'nibabel + numpy + scipy (resample_from_to, order 1)', seconds: theirs, volumes_per_s: 1 / theirs.total };
      result.ratio_geoclr_over_python = theirs.total / ours.total;
      result.max_abs_diff_zscored = maxDiff;
    } else {
      result.python = { skipped: `${PYTHON} failed: ${(py.stderr || '').trim().split('\n').pop()}` };
    }
    const f = (v: number) => `${(v * 1000).toFixed(0).padStart(6)} ms`;
    console.log(`mri bench: ${result.task}; median of ${reps} after a warm-up`);
    console.log(`            ${'read'.padStart(9)} ${'canonical'.padStart(9)} ${'resample'.padStart(9)} ${'zscore'.padStart(9)} ${'total'.padStart(9)}   vol/s`);
    console.log(`geoclr      ${['read', 'canonical', 'resample', 'zscore', 'total'].map((k) => f(ours[k])).join(' ')}   ${(1 / ours.total).toFixed(2)}`);
    const p = result.python as { seconds?: Record<string, number> };
    if (p.seconds) {
      console.log(`nibabel     ${['read', 'canonical', 'resample', 'zscore', 'total'].map((k) => f(p.seconds![k])).join(' ')}   ${(1 / p.seconds.total).toFixed(2)}`);
      console.log(`ratio (geoclr volumes/s ÷ nibabel volumes/s): ${(result.ratio_geoclr_over_python as number).toFixed(2)}×; outputs agree to ${(result.max_abs_diff_zscored as number).toExponential(1)}`);
    } else console.log(`python comparison skipped: ${(result.python as { skipped: string }).skipped}`);
    await writeFileAtomic(path.join('bench', 'results', 'mri.json'), JSON.stringify(result, null, 2) + '\n');
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
