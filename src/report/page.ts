/**
 * `report.html` for a run: one self-contained static page (inline SVG and CSS, images as data URIs, no script),
 * whose Content-Security-Policy forbids every network or file fetch — it opens offline, from an e-mail, or years
 * later. The run description is a list of sections of blocks (see blocks.ts), so later parts of geoclr add their
 * own sections (retrieval tables, trajectories, probe tables, image grids) without changing the writer.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ValueError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { IdSource } from './charts.js';
import { renderBlock, type RenderContext, type ReportBlock } from './blocks.js';
import { esc } from './svg.js';
import { readMetricsLog, trainingCurveBlocks, type MetricsRecord } from './training.js';

export interface ReportSection {
  title: string;
  /** Anchor id (default: from the title). */
  id?: string;
  /** A paragraph under the heading. */
  intro?: string;
  blocks: ReportBlock[];
}

export interface ReportRun {
  title: string;
  subtitle?: string;
  /** Run facts shown under the title (backend, seconds, seed, config file, ...). */
  info?: Record<string, unknown>;
  /**
   * Training log records for the loss curves. Default ('auto'): `metrics.jsonl` in the report's folder when it
   * exists; `false`: none.
   */
  metrics?: MetricsRecord[] | 'auto' | false;
  sections?: ReportSection[];
  /** Footer timestamp (default: now); fixed values make the file reproducible. */
  generatedAt?: string;
}

const CSS = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--accent:#0072B2;--bg:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 20px}
header{padding-top:24px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:0 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:8px 0}
.subtitle{color:var(--muted);margin:0 0 12px}
nav.toc{margin:12px 0 4px;display:flex;flex-wrap:wrap;gap:6px 16px}
nav.toc a{color:var(--accent);text-decoration:none}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:18px 0}
.intro{color:var(--muted);margin-top:0}
.block{margin:10px 0}
figure{margin:0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(var(--min,420px),1fr));gap:12px;align-items:start}
svg.chart{max-width:100%;height:auto;font-size:11px;font-family:inherit}
svg.chart .grid line{stroke:#eef0f3}
svg.chart .axis line{stroke:#444}
svg.chart text{fill:#333}
svg.chart .tick{fill:#555}
svg.chart .chart-title{font-size:13px;font-weight:600}
svg.chart .axis-label{font-size:12px;fill:#333}
svg.chart .legend-title{font-weight:600}
svg.chart .pt:hover{stroke:#000;stroke-width:1.5}
svg.chart .trajectory:hover{stroke-opacity:1;stroke-width:2.4}
.table-wrap{overflow-x:auto}
table.metrics{border-collapse:collapse;font-variant-numeric:tabular-nums;min-width:50%}
table.metrics th,table.metrics td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
table.metrics th{background:#f0f2f5;font-weight:600}
table.metrics td.num{text-align:right}
table.metrics td.best{font-weight:700;background:#eaf4fb}
table.metrics tbody tr:hover{background:#fafbfc}
.ci,.sd{color:var(--muted);font-size:12px}
.caption{color:var(--muted);font-size:12.5px;margin:6px 0 0}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;font-variant-numeric:tabular-nums}
.image-grid{display:flex;flex-wrap:wrap;gap:10px}
.image-grid figure{text-align:center}
.image-grid figcaption{font-size:12px;color:var(--muted)}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;font-size:12px}
details summary{cursor:pointer;color:var(--accent)}
footer{color:var(--muted);font-size:12px;padding-bottom:30px}
`;

function slug(text: string, used: Set<string>): string {
  const base = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'section';
  let s = base;
  for (let i = 2; used.has(s); i++) s = `${base}-${i}`;
  used.add(s);
  return s;
}

/** The report page as an HTML string (training records already resolved). */
export function renderReport(run: ReportRun): string {
  if (!run || typeof run.title !== 'string' || run.title.trim() === '') throw new ValueError("report: 'title' is required (a non-empty string)");
  const ids = new IdSource();
  const ctx: RenderContext = { ids, render: (b) => renderBlock(b, ctx) };
  const sections: ReportSection[] = [];
  if (Array.isArray(run.metrics) && run.metrics.length > 0) {
    const blocks = trainingCurveBlocks(run.metrics);
    if (blocks.length) sections.push({ title: 'Training', id: 'training', intro: `${run.metrics.length} logged steps.`, blocks });
  }
  sections.push(...(run.sections ?? []));
  const used = new Set<string>();
  const rendered = sections.map((s, i) => {
    if (!s || typeof s.title !== 'string') throw new ValueError(`report: section ${i} needs a 'title'`);
    if (!Array.isArray(s.blocks)) throw new ValueError(`report: section '${s.title}' needs a 'blocks' array`);
    const id = slug(s.id ?? s.title, used);
    let body: string;
    try {
      body = s.blocks.map((b) => ctx.render(b)).join('\n');
    } catch (e) {
      if (e instanceof ValueError) throw new ValueError(`report section '${s.title}': ${e.message}`);
      throw e;
    }
    return { id, title: s.title, html: `<section id="${id}"><h2>${esc(s.title)}</h2>${s.intro ? `<p class="intro">${esc(s.intro)}</p>` : ''}${body}</section>` };
  });
  const info = run.info && Object.keys(run.info).length ? renderBlock({ type: 'keyValue', items: run.info }, ctx) : '';
  const toc = rendered.length > 1 ? `<nav class="toc">${rendered.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join('')}</nav>` : '';
  const generated = run.generatedAt ?? new Date().toISOString();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(run.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(run.title)}</h1>${run.subtitle ? `<p class="subtitle">${esc(run.subtitle)}</p>` : ''}${info}${toc}</header>
<main>
${rendered.map((s) => s.html).join('\n')}
</main>
<footer>Generated by geoclr on ${esc(generated)} · a static page: no scripts, no network access.</footer>
</body>
</html>
`;
}

/**
 * Writes `dir/report.html` atomically and returns its path. With `metrics: 'auto'` (the default) the loss curves
 * come from `dir/metrics.jsonl` when it exists.
 */
export async function writeReport(dir: string, run: ReportRun): Promise<string> {
  let metrics = run.metrics ?? 'auto';
  if (metrics === 'auto') {
    const file = path.join(dir, 'metrics.jsonl');
    metrics = existsSync(file) ? (await readMetricsLog(file)).records : false;
  }
  const target = path.join(dir, 'report.html');
  await writeFileAtomic(target, renderReport({ ...run, metrics }));
  return target;
}
