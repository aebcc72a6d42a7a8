/**
 * `geoclr longitudinal`: longitudinal evaluation of a table of visit embeddings (e.g. from `geoclr embed`) on
 * held-out subjects — interval MAE, progression-target Spearman through the patient-level sequence model, subject
 * re-identification, age MAE — and the patient embeddings as an Arrow/Parquet table with subject metadata.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { Rng } from '../../src/util/random.js';
import { evaluateLongitudinal, type LongitudinalEvaluation } from '../../src/longitudinal/evaluate.js';
import { writeReport } from '../../src/report/page.js';
import { comparisonTable } from '../../src/report/evaluation.js';
import { loadEmbeddingTable } from './eval.js';
import { subjectColumns, trajectoryMap, writePatientEmbeddings } from '../longitudinal/patients.js';
import type { Command } from '../cli.js';

const HELP = `usage: geoclr longitudinal --embeddings FILE --time COL --target COL [options]

Evaluates visit embeddings on held-out subjects: the years between two visits from the difference of their
embeddings (ridge; MAE), a per-subject target (e.g. a progression rate) from a time-aware sequence model over the
subject's visits (Spearman ρ), subject re-identification across visits (top-1), and age at scan (ridge; MAE).

  --embeddings FILE   visit embeddings with metadata (.arrow .parquet .csv .tsv .json; one row per visit)
  --time COL          visit time in years (e.g. time_years or age)
  --target COL        per-subject target for the sequence model (e.g. rate)
  --subject COL       subject column (default subject_id)
  --age COL           age at scan for the age check (default: age, when present)
  --split COL         column with 'train'/'test' per visit (default: split when present, else --test-fraction)
  --test-fraction F   held-out fraction of subjects when there is no split column (default 0.3)
  --seed S            seed of the split, the probes and the sequence model (default 0)
  --epochs N          sequence-model training epochs (default 100)
  --out FILE          write patient embeddings (.arrow/.parquet): subject metadata, split, prediction
  --report DIR        write DIR/report.html: trajectory map of the visits, map of the patient embeddings
  --json              print the result as JSON

example: geoclr longitudinal --embeddings visits.arrow --time time_years --target rate --out patients.arrow`;

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : '—';
}

/** The one-table summary printed by the command (and the demo). */
export function formatLongitudinal(rows: ({ name: string } & Pick<LongitudinalEvaluation, 'interval_mae_years' | 'rate_spearman' | 'reid_top1' | 'age_mae'>)[], baselines?: LongitudinalEvaluation['baselines']): string {
  const head = ['method', 'interval MAE (y) ↓', 'rate Spearman ↑', 're-id top-1 ↑', 'age MAE (y) ↓'];
  const body = rows.map((r) => [r.name, fmt(r.interval_mae_years), fmt(r.rate_spearman), fmt(r.reid_top1), fmt(r.age_mae)]);
  if (baselines) body.push(['(predict the mean)', fmt(baselines.interval_mae_years), '0', '—', fmt(baselines.age_mae)]);
  const widths = head.map((h, j) => Math.max(h.length, ...body.map((r) => r[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => c.padEnd(widths[j])).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export const command: Command = {
  summary: 'longitudinal evaluation of visit embeddings (interval, progression rate, re-identification) and patient embeddings',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        embeddings: { type: 'string' },
        time: { type: 'string' },
        target: { type: 'string' },
        subject: { type: 'string' },
        age: { type: 'string' },
        split: { type: 'string' },
        'test-fraction': { type: 'string' },
        seed: { type: 'string' },
        epochs: { type: 'string' },
        out: { type: 'string' },
        report: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!values.embeddings) throw new ConfigError('--embeddings', 'is required (visit embeddings, one row per visit)');
    if (!values.time) throw new ConfigError('--time', 'is required: the column with each visit’s time in years (e.g. time_years, age)');
    if (!values.target) throw new ConfigError('--target', 'is required: a per-subject column for the sequence model (e.g. rate)');
    const seed = Number(values.seed ?? 0);
    if (!Number.isInteger(seed)) throw new ConfigError('--seed', `expected an integer, got '${values.seed}'`);
    const epochs = Number(values.epochs ?? 100);
    if (!(Number.isInteger(epochs) && epochs >= 1)) throw new ConfigError('--epochs', `expected a positive integer, got '${values.epochs}'`);
    const fraction = Number(values['test-fraction'] ?? 0.3);
    if (!(fraction > 0 && fraction < 1)) throw new ConfigError('--test-fraction', `expected a number in (0, 1), got '${values['test-fraction']}'`);

    const table = await loadEmbeddingTable(values.embeddings);
    const cols = table.columns;
    const need = (name: string, flag: string) => {
      if (!(name in cols)) throw new ConfigError(flag, `column '${name}' is not in ${values.embeddings}; columns are ${Object.keys(cols).join(', ')}`);
      return cols[name];
    };
    const numeric = (name: string, flag: string) =>
      need(name, flag).map((v, i) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(flag, `column '${name}' row ${i + 1} is ${JSON.stringify(v)}, not a number`);
        return v;
      });
    const subjects = need(values.subject ?? 'subject_id', '--subject').map(String);
    const times = numeric(values.time, '--time');
    const rate = numeric(values.target, '--target');
    const ageName = values.age ?? ('age' in cols ? 'age' : null);
    const age = ageName ? numeric(ageName, '--age') : undefined;
    let split: string[];
    const splitName = values.split ?? ('split' in cols ? 'split' : null);
    if (splitName) split = need(splitName, '--split').map(String);
    else {
      const ids = [...new Set(subjects)];
      const test = new Set(new Rng(`longitudinal-split/${seed}`).shuffle(ids).slice(0, Math.max(1, Math.round(ids.length * fraction))));
      split = subjects.map((s) => (test.has(s) ? 'test' : 'train'));
    }
    const visits = { embeddings: table.embeddings, subjects, times, split, rate, ...(age ? { age } : {}) };
    const result = evaluateLongitudinal(visits, { seed, fit: { epochs } });

    if (values.out) {
      const r = await writePatientEmbeddings(values.out, result.patients, {
        target: values.target,
        subjectMeta: subjectColumns(subjects, cols, [values.time, ...(ageName ? [ageName] : [])]),
        metadata: { model: 'geoclr VisitSequenceModel', loss: { name: `mse(${values.target})` }, manifest: path.resolve(values.embeddings) },
      });
      if (!values.json) console.error(`patient embeddings: ${r.rows} rows → ${r.file}`);
    }
    if (values.report) {
      const colorBy: Record<string, ArrayLike<unknown>> = { [values.time]: times, [values.target]: rate };
      for (const c of ['diagnosis', 'site']) if (c in cols) colorBy[c] = cols[c];
      const file = await writeReport(values.report, {
        title: `Longitudinal evaluation of ${path.basename(values.embeddings)}`,
        metrics: false,
        sections: [
          {
            title: 'Held-out subjects',
            blocks: [
              comparisonTable(
                [
                  { name: path.basename(values.embeddings), interval_mae_years: result.interval_mae_years, rate_spearman: result.rate_spearman, reid_top1: result.reid_top1, age_mae: result.age_mae },
                  { name: 'predict the training mean', interval_mae_years: result.baselines.interval_mae_years, rate_spearman: 0, reid_top1: null, age_mae: result.baselines.age_mae },
                ],
                { caption: `${result.counts.testSubjects} held-out subjects, ${result.counts.testPairs} visit pairs. ↓ lower is better, ↑ higher is better.` },
              ),
            ],
          },
          { title: 'Trajectories', blocks: [trajectoryMap({ embeddings: table.embeddings, subjects, times, colorBy, seed })] },
          {
            title: 'Patient embeddings',
            blocks: [{ type: 'embeddingMap', embeddings: result.patients.map((p) => p.embedding), projection: { seed }, colorBy: { [values.target]: result.patients.map((p) => p.target), split: result.patients.map((p) => p.split) }, labels: result.patients.map((p) => p.subject) }],
          },
        ],
      });
      if (!values.json) console.error(`report: ${file}`);
    }
    const { patients, ...summary } = result;
    if (values.json) console.log(JSON.stringify({ ...summary, patients: patients.length }, null, 2));
    else {
      console.log(formatLongitudinal([{ name: path.basename(values.embeddings), ...result }], result.baselines));
      const c = result.counts;
      console.log(`\n${c.trainSubjects} training / ${c.testSubjects} held-out subjects with 2+ visits; ${c.testPairs} held-out visit pairs; ${c.reidQueries} re-identification queries`);
    }
    return 0;
  },
};
