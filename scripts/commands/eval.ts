/**
 * `geoclr eval`: cross-validated probes on a file of frozen embeddings (CSV/TSV/JSON now; Arrow/Parquet through
 * the interop reader) — prints a table of means and 95% intervals, or the full result as JSON.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import {
  evaluateEmbeddings,
  inferTask,
  readEmbeddingTable,
  type EmbeddingTable,
  type EvaluationResult,
  type TargetSpec,
  type Task,
  type ProbeKind,
} from '../../src/eval/index.js';
import { writeReport, evaluationBlocks } from '../../src/report/index.js';
import type { Command } from '../cli.js';

const HELP = `usage: geoclr eval --embeddings FILE --target NAME [options]

Cross-validated linear (ridge / logistic) and k-NN probes on frozen embeddings.

  --embeddings FILE   .csv .tsv .json .jsonl (an 'embedding' column, or e0,e1,… columns, plus metadata columns);
                      .arrow .feather .parquet once the interop reader is present
  --target NAME       metadata column to predict (repeatable)
  --task T            regression | classification, one per --target or one for all (default: inferred)
  --nuisance NAME     a nuisance to decode, e.g. site (repeatable; reported as decodability, lower is better)
  --bias NAME         bias variable for aligned/conflicting accuracy of classification targets
  --group COL         keep all rows of a group (e.g. subject_id) in one fold
  --split COL         held-out split column: rows 'train' fit the probes, rows 'test' are scored
  --folds K           cross-validation folds (default 5)
  --seed S            seed of the folds and the bootstrap (default 0)
  --probe P           linear | knn | both (default both)
  --k K               neighbours of the k-NN probe (default 5)
  --metric M          cosine | euclidean distance for k-NN (default cosine)
  --bootstrap B       bootstrap resamples for the pooled interval (default 1000; 0 off)
  --json              print the full result as JSON
  --out FILE          also write the JSON result to FILE (atomically)
  --report DIR        also write DIR/report.html: the tables and a 2D map of the embeddings coloured by each target
  --time COL          with --report and --group: join each group's points in the order of COL (trajectories)

example: geoclr eval --embeddings emb.csv --target age --task regression --nuisance site --group subject_id`;

const ARROW_EXTENSIONS = new Set(['.arrow', '.feather', '.ipc', '.parquet']);

/** The part of interop's `readEmbeddings` result that evaluation uses (INTEROP.md's embedding table). */
interface InteropEmbeddingTable {
  numRows: number;
  dim: number;
  subjectId: string[];
  sessionId: (string | null)[];
  modality: string[];
  embedding: Float32Array;
  split: (string | null)[] | null;
  columns: Record<string, (number | string | boolean | null | undefined)[]>;
}

/** Arrow/Parquet rows → the evaluation's table: the fixed columns become metadata columns like the others. */
export function fromInteropTable(t: InteropEmbeddingTable): EmbeddingTable {
  const columns: EmbeddingTable['columns'] = { subject_id: t.subjectId, session_id: t.sessionId, modality: t.modality };
  if (t.split) columns.split = t.split;
  for (const [k, v] of Object.entries(t.columns)) columns[k] = v.map((x) => (x === undefined ? null : x));
  return { embeddings: { rows: t.numRows, cols: t.dim, data: Float64Array.from(t.embedding) }, columns };
}

// The interop reader is developed in parallel; it is loaded by path so this command builds with or without it.
const INTEROP_MODULE = '../../interop/index.js';

/** Reads embeddings + metadata from any supported file. */
export async function loadEmbeddingTable(file: string): Promise<EmbeddingTable> {
  if (ARROW_EXTENSIONS.has(path.extname(file).toLowerCase())) {
    let interop: { readEmbeddings?: (f: string) => Promise<InteropEmbeddingTable> };
    try {
      interop = await import(INTEROP_MODULE);
    } catch {
      interop = {};
    }
    if (typeof interop.readEmbeddings !== 'function') {
      throw new FileFormatError(file, 'Arrow/Parquet embeddings need the interop reader, which this build does not include; export the embeddings as CSV, TSV or JSON');
    }
    return fromInteropTable(await interop.readEmbeddings(file));
  }
  return readEmbeddingTable(file);
}

function positiveInt(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value == null) return fallback;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`--${name}`, `expected an integer ≥ ${min}, got '${value}'`);
  return v;
}

function fmt(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e4 || a < 1e-3) ? v.toExponential(2) : v.toFixed(a >= 100 ? 1 : 3);
}

/** The human-readable table of an evaluation. */
export function formatEvaluation(r: EvaluationResult): string {
  const head = ['target', 'probe', 'metric', 'mean', 'sd', '95% CI (folds)', 'pooled', '95% CI (bootstrap)', 'baseline'];
  const rows: string[][] = [];
  for (const [name, t] of Object.entries(r.targets)) {
    for (const [kind, p] of Object.entries(t.probes)) {
      for (const [metric, m] of Object.entries(p!.metrics)) {
        rows.push([
          `${name}${t.nuisance ? ' (nuisance)' : ''}`,
          kind,
          metric,
          fmt(m.mean),
          fmt(m.std),
          m.ci ? `[${fmt(m.ci[0])}, ${fmt(m.ci[1])}]` : '—',
          fmt(m.pooled),
          m.bootstrapCi ? `[${fmt(m.bootstrapCi[0])}, ${fmt(m.bootstrapCi[1])}]` : '—',
          fmt(p!.baseline[metric]),
        ]);
      }
    }
    if (t.bias) {
      const b = t.bias;
      rows.push([name, 'bias', `bacc aligned (${b.aligned.n})`, fmt(b.aligned.balanced_accuracy), '', '', '', '', '']);
      rows.push([name, 'bias', `bacc conflicting (${b.conflicting.n})`, fmt(b.conflicting.balanced_accuracy), '', '', '', '', '']);
    }
  }
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => c.padEnd(widths[j])).join('  ').trimEnd();
  const p = r.protocol;
  const protocol = p.split ? 'held-out split' : `${p.folds}-fold CV`;
  const lines = [
    `${r.n} embeddings × ${r.dim} dims, ${protocol}${p.groups ? ` grouped by ${p.groups}` : ''}, seed ${p.seed}`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  if (r.geometry.uniformity != null) lines.push('', `uniformity (t=2) ${fmt(r.geometry.uniformity)}${r.geometry.alignment != null ? `, alignment ${fmt(r.geometry.alignment)}` : ''}`);
  const nuisances = Object.entries(r.targets).filter(([, t]) => t.nuisance);
  if (nuisances.length) lines.push('nuisance decodability: lower is better (chance = 1/K balanced accuracy).');
  return lines.join('\n');
}

export const command: Command = {
  summary: 'evaluate frozen embeddings with cross-validated linear and k-NN probes (age MAE, balanced accuracy, AUC, site decodability)',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        embeddings: { type: 'string' },
        target: { type: 'string', multiple: true },
        task: { type: 'string', multiple: true },
        nuisance: { type: 'string', multiple: true },
        bias: { type: 'string' },
        group: { type: 'string' },
        split: { type: 'string' },
        folds: { type: 'string' },
        seed: { type: 'string' },
        probe: { type: 'string' },
        k: { type: 'string' },
        metric: { type: 'string' },
        bootstrap: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        report: { type: 'string' },
        time: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!values.embeddings) throw new ConfigError('--embeddings', 'is required (a .csv/.tsv/.json file of embeddings and metadata)');
    const targetNames = values.target ?? [];
    const nuisances = values.nuisance ?? [];
    if (targetNames.length === 0 && nuisances.length === 0) throw new ConfigError('--target', 'give at least one --target (or --nuisance) column');
    const tasks = values.task ?? [];
    if (tasks.length > 1 && tasks.length !== targetNames.length) {
      throw new ConfigError('--task', `got ${tasks.length} --task for ${targetNames.length} --target; give one per target or one for all`);
    }
    for (const t of tasks) if (t !== 'regression' && t !== 'classification') throw new ConfigError('--task', `expected 'regression' or 'classification', got '${t}'`);
    const probeArg = values.probe ?? 'both';
    if (!['linear', 'knn', 'both'].includes(probeArg)) throw new ConfigError('--probe', `expected linear, knn or both, got '${probeArg}'`);
    const probes: ProbeKind[] = probeArg === 'both' ? ['linear', 'knn'] : [probeArg as ProbeKind];
    const metric = values.metric ?? 'cosine';
    if (metric !== 'cosine' && metric !== 'euclidean') throw new ConfigError('--metric', `expected cosine or euclidean, got '${metric}'`);
    const seedText = values.seed ?? '0';
    const seed = Number(seedText);
    if (!Number.isInteger(seed)) throw new ConfigError('--seed', `expected an integer, got '${seedText}'`);

    const table = await loadEmbeddingTable(values.embeddings);
    const columns = Object.keys(table.columns);
    const needColumn = (name: string, flag: string) => {
      if (!(name in table.columns)) throw new ConfigError(flag, `column '${name}' is not in ${values.embeddings}; columns are ${columns.join(', ') || '(none)'}`);
    };
    const targets: Record<string, TargetSpec> = {};
    targetNames.forEach((name, i) => {
      needColumn(name, '--target');
      const task = (tasks.length === 1 ? tasks[0] : tasks[i]) as Task | undefined;
      targets[name] = { task: task ?? inferTask(table.columns[name]), ...(values.bias ? { bias: values.bias } : {}) };
    });
    for (const name of nuisances) {
      needColumn(name, '--nuisance');
      targets[name] = { task: 'classification', nuisance: true };
    }
    if (values.bias) needColumn(values.bias, '--bias');
    if (values.group) needColumn(values.group, '--group');
    if (values.split) needColumn(values.split, '--split');
    if (values.time) {
      needColumn(values.time, '--time');
      if (!values.group) throw new ConfigError('--time', 'needs --group (whose points to join in time order)');
    }

    const result = evaluateEmbeddings({
      embeddings: table.embeddings,
      metadata: table.columns,
      targets,
      folds: positiveInt(values.folds, 'folds', 5, 2),
      seed,
      groups: values.group,
      split: values.split,
      probes,
      knn: { k: positiveInt(values.k, 'k', 5), metric },
      bootstrap: positiveInt(values.bootstrap, 'bootstrap', 1000, 0),
    });
    const json = JSON.stringify(result, null, 2);
    if (values.out) await writeFileAtomic(values.out, json + '\n');
    if (values.report) {
      const cols = table.columns;
      const file = await writeReport(values.report, {
        title: `Evaluation of ${path.basename(values.embeddings)}`,
        subtitle: 'Cross-validated probes on frozen embeddings (geoclr eval)',
        metrics: false,
        sections: [
          { title: 'Probes', blocks: evaluationBlocks(result) },
          {
            title: 'Embedding map',
            blocks: [
              {
                type: 'embeddingMap',
                embeddings: table.embeddings,
                projection: { seed },
                colorBy: Object.fromEntries(Object.keys(targets).map((name) => [name, cols[name]])),
                ...(values.group ? { labels: cols[values.group].map(String) } : {}),
                ...(values.time && values.group ? { trajectories: { group: cols[values.group], time: cols[values.time].map((v) => (typeof v === 'number' ? v : NaN)) } } : {}),
              },
            ],
          },
        ],
      });
      if (!values.json) console.error(`report: ${file}`);
    }
    console.log(values.json ? json : formatEvaluation(result));
    return 0;
  },
};
