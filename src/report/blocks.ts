/**
 * Report blocks: the vocabulary a run description is written in. A section is a list of blocks; each block has a
 * `type` and is rendered by the renderer registered for that type. Built-in types cover text, key–value lists,
 * tables, line charts, scatter plots, embedding maps, image grids, collapsible details, JSON and trusted HTML;
 * `registerBlockRenderer` adds a new type without touching the writer.
 */
import { ValueError } from '../errors.js';
import type { MatrixLike } from '../eval/matrix.js';
import { IdSource, lineChart, scatterChart, type LineChartSpec, type ScatterSpec } from './charts.js';
import { pngDataUri, type RasterImage } from './png.js';
import { project2d, type Projection, type ProjectionOptions } from './project.js';
import { esc, formatNumber } from './svg.js';

export interface TextBlock {
  type: 'text';
  /** Plain text; blank lines separate paragraphs. */
  text: string;
}

export interface KeyValueBlock {
  type: 'keyValue';
  title?: string;
  items: Record<string, unknown>;
}

/** A table cell may be a plain value or a value with an interval / spread. */
export interface IntervalCell {
  value: number | null;
  ci?: [number, number] | null;
  sd?: number | null;
}

export interface TableColumn {
  key: string;
  label?: string;
  /** Fixed decimals for numbers (default: 3 significant digits). */
  digits?: number;
  /** Highlight the best row of this column. */
  better?: 'lower' | 'higher';
  /** Tooltip on the header. */
  description?: string;
}

export interface TableBlock {
  type: 'table';
  title?: string;
  caption?: string;
  /** Default: every key of the rows, in first-seen order. */
  columns?: (string | TableColumn)[];
  rows: Record<string, unknown>[];
}

export interface LineChartBlock extends LineChartSpec {
  type: 'lineChart';
}

export interface ScatterBlock extends ScatterSpec {
  type: 'scatter';
}

export interface EmbeddingMapBlock {
  type: 'embeddingMap';
  title?: string;
  /** Embeddings [n, d], projected with `projection` — or a projection computed beforehand. */
  embeddings?: MatrixLike;
  coordinates?: Projection;
  projection?: ProjectionOptions;
  /** One map per variable (small multiples sharing the same 2D layout); none: a single uncoloured map. */
  colorBy?: Record<string, ArrayLike<unknown> | { values: ArrayLike<unknown>; kind: 'continuous' | 'categorical' }>;
  labels?: ArrayLike<string>;
  /** Join the points of each group (subject) in time order. */
  trajectories?: { group: ArrayLike<unknown>; time: ArrayLike<number> };
  caption?: string;
}

export interface ImageItem {
  /** A data: URI, PNG bytes, or raw pixels. */
  src: string | Uint8Array | RasterImage;
  caption?: string;
  alt?: string;
}

export interface ImagesBlock {
  type: 'images';
  title?: string;
  images: ImageItem[];
  /** Display width of each image in CSS pixels (default: natural size, at least 96). */
  width?: number;
  /** Keep hard pixel edges when scaling (default true: slices and maps are data, not photos). */
  pixelated?: boolean;
}

export interface GridBlock {
  type: 'grid';
  blocks: ReportBlock[];
  /** Minimum column width in px (default 420): as many columns as fit. */
  minWidth?: number;
}

export interface DetailsBlock {
  type: 'details';
  summary: string;
  blocks: ReportBlock[];
  open?: boolean;
}

export interface JsonBlock {
  type: 'json';
  title?: string;
  value: unknown;
}

/** Trusted HTML inserted as is (the caller escapes user text). */
export interface HtmlBlock {
  type: 'html';
  html: string;
}

export type BuiltinBlock =
  | TextBlock
  | KeyValueBlock
  | TableBlock
  | LineChartBlock
  | ScatterBlock
  | EmbeddingMapBlock
  | ImagesBlock
  | GridBlock
  | DetailsBlock
  | JsonBlock
  | HtmlBlock;

/** A block of a type added with `registerBlockRenderer`. */
export interface CustomBlock {
  type: string;
  [key: string]: unknown;
}

export type ReportBlock = BuiltinBlock | CustomBlock;

/** What a renderer gets besides its block: unique ids, and rendering of nested blocks. */
export interface RenderContext {
  ids: IdSource;
  render(block: ReportBlock): string;
}

export type BlockRenderer = (block: any, ctx: RenderContext) => string;

const RENDERERS = new Map<string, BlockRenderer>();

/** Adds (or replaces) the renderer of a block type; it returns an HTML fragment. */
export function registerBlockRenderer(type: string, renderer: BlockRenderer): void {
  RENDERERS.set(type, renderer);
}

export function renderBlock(block: ReportBlock, ctx: RenderContext): string {
  const r = RENDERERS.get(block?.type);
  if (r == null) throw new ValueError(`no renderer for block type '${block?.type}'; built-in types are ${[...RENDERERS.keys()].join(', ')}`);
  return r(block, ctx);
}

function titleHtml(title?: string): string {
  return title ? `<h3>${esc(title)}</h3>` : '';
}

function isIntervalCell(v: unknown): v is IntervalCell {
  return v != null && typeof v === 'object' && 'value' in (v as object);
}

function cellValue(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (isIntervalCell(v)) return typeof v.value === 'number' && Number.isFinite(v.value) ? v.value : null;
  return null;
}

function cellHtml(v: unknown, digits?: number): string {
  if (isIntervalCell(v)) {
    let s = esc(formatNumber(v.value, digits));
    if (v.sd != null && Number.isFinite(v.sd)) s += ` <span class="sd">± ${esc(formatNumber(v.sd, digits))}</span>`;
    if (v.ci) s += ` <span class="ci">[${esc(formatNumber(v.ci[0], digits))}, ${esc(formatNumber(v.ci[1], digits))}]</span>`;
    return s;
  }
  if (typeof v === 'number') return esc(formatNumber(v, digits));
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (v == null) return '—';
  if (typeof v === 'object') return `<code>${esc(JSON.stringify(v))}</code>`;
  return esc(v);
}

function renderTable(b: TableBlock): string {
  const cols: TableColumn[] = (b.columns ?? [...new Set(b.rows.flatMap((r) => Object.keys(r)))]).map((c) => (typeof c === 'string' ? { key: c } : c));
  const best = new Map<string, number>();
  for (const c of cols) {
    if (!c.better) continue;
    let bi = -1;
    b.rows.forEach((r, i) => {
      const v = cellValue(r[c.key]);
      if (v == null) return;
      const cur = bi >= 0 ? cellValue(b.rows[bi][c.key])! : null;
      if (cur == null || (c.better === 'lower' ? v < cur : v > cur)) bi = i;
    });
    if (bi >= 0) best.set(c.key, bi);
  }
  const head = cols
    .map((c) => {
      const arrow = c.better === 'lower' ? ' ↓' : c.better === 'higher' ? ' ↑' : '';
      const tip = c.description ?? (c.better ? `${c.better} is better` : '');
      return `<th${tip ? ` title="${esc(tip)}"` : ''}>${esc(c.label ?? c.key)}${arrow}</th>`;
    })
    .join('');
  const body = b.rows
    .map(
      (r, i) =>
        '<tr>' +
        cols
          .map((c) => {
            const num = cellValue(r[c.key]) != null;
            const cls = [num ? 'num' : '', best.get(c.key) === i ? 'best' : ''].filter(Boolean).join(' ');
            return `<td${cls ? ` class="${cls}"` : ''}>${cellHtml(r[c.key], c.digits)}</td>`;
          })
          .join('') +
        '</tr>',
    )
    .join('');
  return (
    `<div class="block table-block">${titleHtml(b.title)}<div class="table-wrap"><table class="metrics"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>` +
    (b.caption ? `<p class="caption">${esc(b.caption)}</p>` : '') +
    '</div>'
  );
}

function renderEmbeddingMap(b: EmbeddingMapBlock, ctx: RenderContext): string {
  let proj = b.coordinates;
  if (proj == null) {
    if (b.embeddings == null) throw new ValueError("embeddingMap block: give 'embeddings' or 'coordinates'");
    proj = project2d(b.embeddings, b.projection);
  }
  const axis = proj.method === 'umap' ? 'UMAP' : 'PC';
  const ev = proj.explainedVariance;
  const base: ScatterSpec = {
    x: proj.x,
    y: proj.y,
    xLabel: `${axis} 1${ev ? ` (${(ev[0] * 100).toFixed(0)}% var.)` : ''}`,
    yLabel: `${axis} 2${ev ? ` (${(ev[1] * 100).toFixed(0)}% var.)` : ''}`,
    hideTicks: proj.method === 'umap',
    labels: b.labels,
    trajectories: b.trajectories,
    width: 480,
    height: 400,
  };
  const entries = Object.entries(b.colorBy ?? {});
  const charts = entries.length
    ? entries.map(([name, v]) => {
        const spec = 'values' in (v as object) && !ArrayBuffer.isView(v) && !Array.isArray(v)
          ? { name, ...(v as { values: ArrayLike<unknown>; kind: 'continuous' | 'categorical' }) }
          : { name, values: v as ArrayLike<unknown> };
        return scatterChart({ ...base, title: `coloured by ${name}`, color: spec }, ctx.ids);
      })
    : [scatterChart({ ...base, title: b.title }, ctx.ids)];
  const method = proj.method === 'umap' ? 'UMAP' : 'PCA';
  return (
    `<div class="block map-block">${titleHtml(b.title)}<div class="grid" style="--min:460px">${charts.map((c) => `<figure>${c}</figure>`).join('')}</div>` +
    `<p class="caption">${esc(b.caption ?? `${proj.x.length} points, 2D ${method} of the embeddings${b.trajectories ? '; lines join each subject’s visits in time order' : ''}.`)}</p></div>`
  );
}

function imageSrc(src: ImageItem['src']): string {
  if (typeof src === 'string') {
    // Only inline images: the page must open offline and never fetch anything.
    if (!/^data:image\/(png|jpeg|gif|webp|svg\+xml);base64,/.test(src)) throw new ValueError('images block: src must be a data:image/...;base64 URI (the report never loads external files)');
    return src;
  }
  if (src instanceof Uint8Array) {
    if (!(src[0] === 0x89 && src[1] === 0x50 && src[2] === 0x4e && src[3] === 0x47)) throw new ValueError('images block: bytes are not a PNG file');
    return pngDataUri(src);
  }
  return pngDataUri(src);
}

registerBlockRenderer('text', (b: TextBlock) =>
  `<div class="block text-block">${b.text
    .split(/\n\s*\n/)
    .map((p) => `<p>${esc(p.trim())}</p>`)
    .join('')}</div>`,
);

registerBlockRenderer('keyValue', (b: KeyValueBlock) =>
  `<div class="block kv-block">${titleHtml(b.title)}<dl class="kv">${Object.entries(b.items)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${cellHtml(v)}</dd>`)
    .join('')}</dl></div>`,
);

registerBlockRenderer('table', renderTable);
registerBlockRenderer('lineChart', (b: LineChartBlock, ctx) => `<figure class="block chart-block">${lineChart(b, ctx.ids)}</figure>`);
registerBlockRenderer('scatter', (b: ScatterBlock, ctx) => `<figure class="block chart-block">${scatterChart(b, ctx.ids)}</figure>`);
registerBlockRenderer('embeddingMap', renderEmbeddingMap);

registerBlockRenderer('images', (b: ImagesBlock) => {
  const style = `${b.width ? `width:${b.width}px;` : 'min-width:96px;'}${b.pixelated ?? true ? 'image-rendering:pixelated;' : ''}`;
  const items = b.images
    .map((im, i) => {
      const alt = im.alt ?? im.caption ?? `image ${i + 1}`;
      return `<figure class="image"><img src="${imageSrc(im.src)}" alt="${esc(alt)}" title="${esc(alt)}" style="${style}">${im.caption ? `<figcaption>${esc(im.caption)}</figcaption>` : ''}</figure>`;
    })
    .join('');
  return `<div class="block images-block">${titleHtml(b.title)}<div class="image-grid">${items}</div></div>`;
});

registerBlockRenderer('grid', (b: GridBlock, ctx) => `<div class="grid" style="--min:${b.minWidth ?? 420}px">${b.blocks.map((x) => `<div>${ctx.render(x)}</div>`).join('')}</div>`);

registerBlockRenderer('details', (b: DetailsBlock, ctx) => `<details class="block"${b.open ? ' open' : ''}><summary>${esc(b.summary)}</summary>${b.blocks.map((x) => ctx.render(x)).join('')}</details>`);

registerBlockRenderer('json', (b: JsonBlock) =>
  `<div class="block json-block">${titleHtml(b.title)}<pre>${esc(JSON.stringify(b.value, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v), 2))}</pre></div>`,
);

registerBlockRenderer('html', (b: HtmlBlock) => `<div class="block html-block">${b.html}</div>`);
