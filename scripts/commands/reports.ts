import { parseArgs } from 'node:util';
import type { Command } from '../cli.js';
import { ConfigError } from '../../src/errors.js';
import { writeCohortReports } from '../../modalities/text/reports-io.js';
import { FINDINGS, SEVERITIES } from '../../modalities/text/reports.js';

const USAGE = `usage: geoclr reports <cohortDir> [--seed S] [--manifest manifest.tsv] [--out reports.tsv] [--json]

Writes a radiology-style report for every session of a synthetic cohort (DATA.md recipe 4): reads the cohort's
flat manifest (one row per session, with age, sex, visit, time_years and the effect magnitudes cortical_thinning,
ventricle_dilation, hippocampal_atrophy, frontal_atrophy) and writes reports.tsv (subject_id, session_id, report).
Prints how many sessions got each severity of each finding.`;

export const command: Command = {
  summary: 'write radiology-style reports.tsv for a synthetic cohort (see `geoclr reports --help`)',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        seed: { type: 'string' },
        manifest: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length !== 1) {
      console.error(USAGE);
      return 2;
    }
    let seed: number | undefined;
    if (values.seed != null) {
      seed = Number(values.seed);
      if (!Number.isInteger(seed)) throw new ConfigError('--seed', `expected an integer, got '${values.seed}'`);
    }
    const res = await writeCohortReports(positionals[0], {
      ...(seed != null ? { seed } : {}),
      ...(values.manifest ? { manifest: values.manifest } : {}),
      ...(values.out ? { out: values.out } : {}),
    });
    if (values.json) {
      console.log(JSON.stringify(res, null, 2));
      return 0;
    }
    console.log(`wrote ${res.reports} reports to ${res.file}`);
    console.log(`${'finding'.padEnd(12)}${SEVERITIES.map((s) => s.padStart(10)).join('')}`);
    for (const f of FINDINGS) console.log(`${f.padEnd(12)}${SEVERITIES.map((s) => String(res.severity[f][s]).padStart(10)).join('')}`);
    return 0;
  },
};
