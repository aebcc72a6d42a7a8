/** `geoclr synth cohort --out DIR --subjects N --visits K --seed S [...]`: the synthetic brain cohort (DATA.md recipe 3). */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../src/errors.js';
import { synthCohort } from '../../modalities/mri/index.js';
import type { Command } from '../cli.js';

const USAGE = `usage: geoclr synth cohort --out DIR [--subjects N] [--visits K] [--seed S]
                          [--spacing MM | --shape X,Y,Z] [--sites N] [--interval YEARS]
                          [--diagnosis CN:0.5,AD:0.3,FTD:0.2] [--orientation RAS|mixed]
                          [--workers N] [--gzip-level 1-9] [--force]

Writes a BIDS-like cohort of skull-stripped T1 volumes rendered from the Colin27 template, with exact ground
truth: DIR/participants.tsv, DIR/sub-*/sub-*_sessions.tsv, DIR/manifest.tsv (one row per scan) and
DIR/sub-*/ses-*/anat/*_T1w.nii.gz. Defaults: 100 subjects, 3 visits, seed 0, 2 mm (91×109×91), 4 sites.`;

function int(field: string, v: string | undefined, dflt: number): number {
  if (v == null) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ConfigError(field, `'${v}' must be an integer`);
  return n;
}

export const command: Command = {
  summary: 'generate synthetic data: `synth cohort` = brain MRI cohort with exact ground truth',
  async run(argv) {
    const [what, ...rest] = argv;
    if (what !== 'cohort') {
      console.log(USAGE);
      return what === '--help' || what === '-h' ? 0 : what == null ? 1 : 2;
    }
    const { values } = parseArgs({
      args: rest,
      options: {
        out: { type: 'string' },
        subjects: { type: 'string' },
        visits: { type: 'string' },
        seed: { type: 'string' },
        spacing: { type: 'string' },
        shape: { type: 'string' },
        sites: { type: 'string' },
        interval: { type: 'string' },
        diagnosis: { type: 'string' },
        orientation: { type: 'string' },
        workers: { type: 'string' },
        'gzip-level': { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.out) throw new ConfigError('--out', 'an output folder is required');
    let diagnosis: Record<string, number> | undefined;
    if (values.diagnosis) {
      diagnosis = {};
      for (const part of values.diagnosis.split(',')) {
        const [k, v] = part.split(':');
        if (!['CN', 'AD', 'FTD'].includes(k) || !Number.isFinite(Number(v))) throw new ConfigError('--diagnosis', `'${part}' must look like CN:0.5 (CN, AD or FTD)`);
        diagnosis[k] = Number(v);
      }
    }
    const shape = values.shape?.split(',').map(Number);
    if (shape && (shape.length !== 3 || shape.some((n) => !Number.isInteger(n) || n < 1))) throw new ConfigError('--shape', `'${values.shape}' must be X,Y,Z positive integers`);
    const spacing = values.spacing == null ? undefined : Number(values.spacing);
    if (spacing != null && !(spacing > 0)) throw new ConfigError('--spacing', `'${values.spacing}' must be a positive number of mm`);
    const interval = values.interval == null ? undefined : Number(values.interval);
    const orientation = (values.orientation ?? 'RAS') as 'RAS' | 'mixed';
    const r = await synthCohort({
      out: values.out,
      subjects: int('--subjects', values.subjects, 100),
      visits: int('--visits', values.visits, 3),
      seed: int('--seed', values.seed, 0),
      spacing,
      shape,
      sites: int('--sites', values.sites, 4),
      interval,
      diagnosis,
      orientation,
      workers: values.workers == null ? undefined : int('--workers', values.workers, 2),
      gzipLevel: int('--gzip-level', values['gzip-level'], 3),
      overwrite: values.force ?? false,
    });
    console.log(`wrote ${r.scans} volumes of ${r.subjects} subjects (${r.grid.shape.join('×')}) to ${r.out} in ${r.seconds.toFixed(1)} s; ground truth in ${r.manifest}`);
    return 0;
  },
};
