/**
 * Training curves from `metrics.jsonl` (one JSON object per logged step: step, epoch, loss, per-term losses, lr,
 * and anything else numeric). Charts: the losses together, the learning rate, then one small chart per other
 * numeric field (throughput, gradient norm, temperature, validation metrics...).
 */
import { promises as fsp } from 'node:fs';
import { FileFormatError } from '../errors.js';
import type { LineSeries } from './charts.js';
import type { ReportBlock } from './blocks.js';

export type MetricsRecord = Record<string, unknown>;

export interface MetricsLog {
  records: MetricsRecord[];
  /** Lines that were not JSON objects (e.g. the torn last line of a killed run), skipped. */
  skipped: number;
}

/** Parses metrics.jsonl text; malformed lines are counted and skipped, not fatal (a run may have been killed mid-write). */
export function parseMetricsLog(text: string): MetricsLog {
  const records: MetricsRecord[] = [];
  let skipped = 0;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line);
      if (v != null && typeof v === 'object' && !Array.isArray(v)) records.push(v);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}

export async function readMetricsLog(file: string): Promise<MetricsLog> {
  try {
    return parseMetricsLog(await fsp.readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileFormatError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (e as Error).message})`);
  }
}

/** Nested objects flattened to dotted keys: {terms: {fairkl: 1}} → {'terms.fairkl': 1}. */
function flatten(rec: MetricsRecord, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(rec)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v != null && typeof v === 'object' && !Array.isArray(v)) flatten(v as MetricsRecord, key, out);
    else out[key] = v;
  }
  return out;
}

const AXIS_KEYS = new Set(['step', 'global_step', 'iteration', 'epoch', 'time', 'timestamp', 'elapsed', 'elapsed_s', 'wall', 'seconds']);
const PHASE_KEYS = ['phase', 'split', 'mode'];
const isLr = (k: string) => /(^|[._/])(lr|learning_rate)$/i.test(k);
const isLoss = (k: string) => /loss/i.test(k) || /^(terms|losses)\./.test(k);

/** Line-chart blocks for a training log (empty when there is nothing numeric to draw). */
export function trainingCurveBlocks(records: MetricsRecord[]): ReportBlock[] {
  const flat = records.map((r) => flatten(r));
  const xKey = flat.some((r) => typeof r.step === 'number') ? 'step' : flat.some((r) => typeof r.epoch === 'number') ? 'epoch' : null;
  // Series are keyed by field and phase (train / val ...).
  const series = new Map<string, { field: string; phase: string | null; x: number[]; y: number[] }>();
  flat.forEach((r, i) => {
    const x = xKey ? (r[xKey] as number) : i;
    if (typeof x !== 'number') return;
    const phaseKey = PHASE_KEYS.find((k) => typeof r[k] === 'string');
    const phase = phaseKey ? (r[phaseKey] as string) : null;
    for (const [k, v] of Object.entries(r)) {
      if (AXIS_KEYS.has(k) || typeof v !== 'number') continue;
      const id = `${k}\u0000${phase ?? ''}`;
      if (!series.has(id)) series.set(id, { field: k, phase, x: [], y: [] });
      const s = series.get(id)!;
      s.x.push(x);
      s.y.push(v);
    }
  });
  const all = [...series.values()];
  const name = (s: (typeof all)[number]) => (s.phase ? `${s.field} (${s.phase})` : s.field);
  const toLine = (s: (typeof all)[number]): LineSeries => ({ name: name(s), x: s.x, y: s.y, dashed: s.phase != null && s.phase !== 'train' });
  const xLabel = xKey ?? 'record';
  const blocks: ReportBlock[] = [];
  const losses = all.filter((s) => isLoss(s.field));
  if (losses.length) {
    const ys = losses.flatMap((s) => s.y).filter(Number.isFinite);
    const positive = ys.length > 0 && ys.every((v) => v > 0);
    const logY = positive && Math.max(...ys) / Math.min(...ys) > 20;
    // The total loss first, in the first colour.
    losses.sort((a, b) => Number(b.field === 'loss') - Number(a.field === 'loss'));
    blocks.push({ type: 'lineChart', title: 'Loss', xLabel, yLabel: logY ? 'loss (log scale)' : 'loss', logY, series: losses.map(toLine), width: 760, height: 340 });
  }
  const small: ReportBlock[] = [];
  const lrs = all.filter((s) => isLr(s.field));
  if (lrs.length) small.push({ type: 'lineChart', title: 'Learning rate', xLabel, yLabel: 'lr', series: lrs.map(toLine), width: 460, height: 260 });
  const others = new Map<string, (typeof all)[number][]>();
  for (const s of all) {
    if (isLoss(s.field) || isLr(s.field)) continue;
    if (!others.has(s.field)) others.set(s.field, []);
    others.get(s.field)!.push(s);
  }
  for (const [field, ss] of others) small.push({ type: 'lineChart', title: field, xLabel, yLabel: field, series: ss.map(toLine), width: 460, height: 260 });
  if (small.length) blocks.push({ type: 'grid', minWidth: 440, blocks: small });
  return blocks;
}
