/**
 * Report blocks for evaluation results: one table per target (probes × metrics, mean with fold interval and the
 * chance/baseline level), and comparison tables of several methods with the better direction of each column.
 */
import type { EvaluationResult } from '../eval/evaluate.js';
import type { ReportBlock, TableBlock, TableColumn } from './blocks.js';

/** Tables of an `evaluateEmbeddings` result. */
export function evaluationBlocks(result: EvaluationResult): ReportBlock[] {
  const blocks: ReportBlock[] = [];
  const p = result.protocol;
  blocks.push({
    type: 'keyValue',
    items: {
      samples: result.n,
      dimensions: result.dim,
      protocol: p.split ? 'held-out split' : `${p.folds}-fold cross-validation`,
      'grouped by': p.groups ?? 'none',
      seed: p.seed,
      alignment: result.geometry.alignment,
      'uniformity (t=2)': result.geometry.uniformity,
    },
  });
  for (const [name, t] of Object.entries(result.targets)) {
    const kinds = Object.keys(t.probes) as (keyof typeof t.probes)[];
    const metrics = [...new Set(kinds.flatMap((k) => Object.keys(t.probes[k]!.metrics)))];
    const rows = metrics.map((m) => {
      const row: Record<string, unknown> = { metric: m };
      for (const k of kinds) {
        const s = t.probes[k]!.metrics[m];
        if (s) row[k] = { value: s.mean, sd: s.std, ci: s.ci ?? s.bootstrapCi };
      }
      row.baseline = t.probes[kinds[0]]!.baseline[m];
      return row;
    });
    const probeLabel: Record<string, string> = { linear: t.task === 'regression' ? 'ridge' : 'logistic', knn: 'k-NN' };
    const columns: TableColumn[] = [
      { key: 'metric' },
      ...kinds.map((k) => ({ key: k, label: probeLabel[k] ?? k, description: 'mean ± sd over folds [95% interval]' })),
      { key: 'baseline', label: t.task === 'regression' ? 'predict the mean' : 'chance', description: 'the same metric for an uninformative predictor' },
    ];
    const caption = [
      `${t.n} samples${t.dropped ? ` (${t.dropped} without a value dropped)` : ''}.`,
      t.nuisance ? 'Nuisance variable: decodability should be low (near chance) for a debiased representation.' : '',
      t.bias
        ? `Balanced accuracy on bias-aligned samples ${t.bias.aligned.balanced_accuracy.toFixed(3)} (${t.bias.aligned.n}), bias-conflicting ${t.bias.conflicting.balanced_accuracy.toFixed(3)} (${t.bias.conflicting.n}) — bias: ${t.bias.bias}.`
        : '',
    ]
      .filter(Boolean)
      .join(' ');
    blocks.push({ type: 'table', title: `${name} (${t.task}${t.nuisance ? ', nuisance' : ''})`, columns, rows, caption });
  }
  return blocks;
}

/** Which way is better for a summary column: lower for errors, nuisance decodability, alignment and uniformity. */
export function betterDirection(key: string, nuisance: string[] = ['site']): 'lower' | 'higher' | undefined {
  if (key.startsWith('chance')) return undefined;
  if (nuisance.some((n) => key === n || key.startsWith(`${n}_`))) return 'lower';
  if (key === 'align' || key === 'unif' || /(^|_)(mae|rmse|mse|loss|rank|years|seconds)$/.test(key) || /(^|_)median_rank(_|$)/.test(key)) return 'lower';
  if (/(^|_)(bacc|acc|accuracy|auc|r2|spearman|pearson|top1)$/.test(key) || /^r\d+(_|$)/.test(key)) return 'higher';
  return undefined;
}

export interface ComparisonOptions {
  title?: string;
  caption?: string;
  /** Column-name prefixes of nuisance variables (lower is better), default ['site']. */
  nuisance?: string[];
  /** Column order/labels; default every key, 'name' first. */
  columns?: (string | TableColumn)[];
  digits?: number;
}

/**
 * A method-comparison table from flat rows such as the demo's `summary.json` methods
 * (`[{name, age_mae, diagnosis_auc, sex_bacc, site_bacc, align, unif}]`), with the best value of each column marked.
 */
export function comparisonTable(rows: Record<string, unknown>[], opts: ComparisonOptions = {}): TableBlock {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].sort((a, b) => Number(b === 'name') - Number(a === 'name'));
  const columns = (opts.columns ?? keys).map((c) => {
    const col: TableColumn = typeof c === 'string' ? { key: c } : { ...c };
    if (col.better == null) {
      const dir = betterDirection(col.key, opts.nuisance);
      if (dir) col.better = dir;
    }
    if (col.digits == null && opts.digits != null && col.key !== 'name') col.digits = opts.digits;
    return col;
  });
  return { type: 'table', title: opts.title, caption: opts.caption ?? 'Best value per column in bold (↓ lower is better, ↑ higher is better).', columns, rows };
}
