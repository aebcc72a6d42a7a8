/**
 * Static SVG charts for run reports: line charts (loss curves, schedules) and scatter plots (2D embedding maps,
 * coloured by a continuous or categorical variable, optionally with per-subject trajectories). Every data point
 * carries a <title> tooltip; no script is needed to read them.
 */
import { ShapeError } from '../errors.js';
import {
  CATEGORICAL,
  MISSING_COLOR,
  VIRIDIS_STOPS,
  categoricalColor,
  esc,
  formatNumber,
  logTicks,
  niceTicks,
  viridis,
} from './svg.js';

/** Unique element ids within one page (gradients, markers, title references). */
export class IdSource {
  private n = 0;
  next(prefix: string): string {
    return `${prefix}-${++this.n}`;
  }
}

export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  dashed?: boolean;
  color?: string;
}

export interface LineChartSpec {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic y axis (non-positive values are skipped). */
  logY?: boolean;
  series: LineSeries[];
  width?: number;
  height?: number;
}

export interface ScatterColor {
  /** Variable name, shown in the legend and tooltips. */
  name: string;
  values: ArrayLike<unknown>;
  /** Default: continuous when every value is a number and there are more than 12 distinct values. */
  kind?: 'continuous' | 'categorical';
}

export interface ScatterSpec {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: ScatterColor;
  /** Per-point tooltip label (e.g. subject/session id). */
  labels?: ArrayLike<string>;
  /** Join the points of each group in time order (e.g. one subject's visits). */
  trajectories?: { group: ArrayLike<unknown>; time: ArrayLike<number> };
  /** Hide tick labels (meaningless for UMAP coordinates). */
  hideTicks?: boolean;
  width?: number;
  height?: number;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Plot frame; the left margin grows with the longest y tick label so it never runs into the axis title. */
function frame(width: number, height: number, legendWidth: number, title: boolean, yTickLabels: string[] = []): Frame {
  const longest = yTickLabels.reduce((m, t) => Math.max(m, t.length), 0);
  return { width, height, left: Math.max(52, 30 + longest * 6.5), right: width - 16 - legendWidth, top: title ? 34 : 14, bottom: height - 46 };
}

function svgOpen(f: Frame, cls: string, title: string | undefined, ids: IdSource, points: number): string {
  const id = ids.next('chart-title');
  return (
    `<svg class="chart ${cls}" xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="${id}" ` +
    `viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" data-points="${points}">` +
    `<title id="${id}">${esc(title ?? cls)}</title>` +
    `<rect class="bg" x="0" y="0" width="${f.width}" height="${f.height}" fill="#fff"/>` +
    (title ? `<text class="chart-title" x="${f.left}" y="20">${esc(title)}</text>` : '')
  );
}

type Scale = (v: number) => number;

function linearScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function axes(f: Frame, xTicks: number[], yTicks: number[], sx: Scale, sy: Scale, xLabel?: string, yLabel?: string, hideTicks = false): string {
  const parts: string[] = [];
  parts.push(`<g class="grid">`);
  for (const t of yTicks) parts.push(`<line x1="${f.left}" x2="${f.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}"/>`);
  for (const t of xTicks) parts.push(`<line y1="${f.top}" y2="${f.bottom}" x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}"/>`);
  parts.push('</g>');
  parts.push(`<g class="axis"><line x1="${f.left}" x2="${f.right}" y1="${f.bottom}" y2="${f.bottom}"/><line x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${f.bottom}"/>`);
  if (!hideTicks) {
    for (const t of xTicks) parts.push(`<text class="tick" x="${sx(t).toFixed(1)}" y="${f.bottom + 16}" text-anchor="middle">${esc(formatNumber(t))}</text>`);
    for (const t of yTicks) parts.push(`<text class="tick" x="${f.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${esc(formatNumber(t))}</text>`);
  }
  parts.push('</g>');
  if (xLabel) parts.push(`<text class="axis-label" x="${(f.left + f.right) / 2}" y="${f.height - 8}" text-anchor="middle">${esc(xLabel)}</text>`);
  if (yLabel) {
    const cy = (f.top + f.bottom) / 2;
    parts.push(`<text class="axis-label" x="14" y="${cy}" text-anchor="middle" transform="rotate(-90 14 ${cy})">${esc(yLabel)}</text>`);
  }
  return parts.join('');
}

function legendSwatches(f: Frame, items: { label: string; color: string; dashed?: boolean; count?: number }[], heading?: string): string {
  const x = f.right + 16;
  let y = f.top + 4;
  const parts: string[] = [`<g class="legend">`];
  if (heading) {
    parts.push(`<text class="legend-title" x="${x}" y="${y + 8}">${esc(heading)}</text>`);
    y += 18;
  }
  const maxItems = Math.max(1, Math.floor((f.bottom - y) / 18));
  items.slice(0, maxItems).forEach((it) => {
    parts.push(
      it.dashed != null
        ? `<line x1="${x}" x2="${x + 18}" y1="${y + 5}" y2="${y + 5}" stroke="${it.color}" stroke-width="2.5"${it.dashed ? ' stroke-dasharray="5 3"' : ''}/>`
        : `<circle cx="${x + 6}" cy="${y + 5}" r="5" fill="${it.color}"/>`,
    );
    const label = it.label.length > 20 ? it.label.slice(0, 19) + '…' : it.label;
    parts.push(`<text x="${x + 24}" y="${y + 9}">${esc(label)}${it.count != null ? ` (${it.count})` : ''}<title>${esc(it.label)}</title></text>`);
    y += 18;
  });
  if (items.length > maxItems) parts.push(`<text x="${x}" y="${y + 9}">… ${items.length - maxItems} more</text>`);
  parts.push('</g>');
  return parts.join('');
}

/** A line chart with one line per series; non-finite values break the line. */
export function lineChart(spec: LineChartSpec, ids = new IdSource()): string {
  const series = spec.series.filter((s) => s.x.length > 0);
  const legendWidth = series.length > 1 ? 150 : 0;
  const keep = (y: number) => Number.isFinite(y) && (!spec.logY || y > 0);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series) {
    if (s.x.length !== s.y.length) throw new ShapeError(`lineChart series '${s.name}': ${s.x.length} x values but ${s.y.length} y values`);
    for (let i = 0; i < s.x.length; i++) {
      if (Number.isFinite(s.x[i]) && keep(s.y[i])) {
        xs.push(s.x[i]);
        ys.push(s.y[i]);
      }
    }
  }
  const total = xs.length;
  if (total === 0) {
    const f = frame(spec.width ?? 640, spec.height ?? 320, legendWidth, Boolean(spec.title));
    return svgOpen(f, 'line-chart', spec.title, ids, 0) + `<text class="empty" x="${(f.left + f.right) / 2}" y="${(f.top + f.bottom) / 2}" text-anchor="middle">no data</text></svg>`;
  }
  let [x0, x1] = extent(xs);
  if (x0 === x1) {
    x0 -= 1;
    x1 += 1;
  }
  // The y domain and ticks first: their labels set the left margin.
  let [y0, y1] = extent(ys);
  let yTicks: number[];
  let toUnit: (v: number) => number; // value → [0, 1] along the axis
  if (spec.logY) {
    if (y0 === y1) {
      y0 /= 2;
      y1 *= 2;
    }
    const l0 = Math.log10(y0);
    const l1 = Math.log10(y1);
    const pad = (l1 - l0) * 0.05;
    const [a, b] = [l0 - pad, l1 + pad];
    toUnit = (v) => (Math.log10(v) - a) / (b - a);
    yTicks = logTicks(10 ** a, 10 ** b).filter((t) => t >= 10 ** a && t <= 10 ** b);
    if (yTicks.length < 2) yTicks = [y0, y1];
  } else {
    const pad = (y1 - y0) * 0.05 || Math.abs(y0) * 0.1 || 1;
    y0 -= pad;
    y1 += pad;
    yTicks = niceTicks(y0, y1, 5).filter((t) => t >= y0 && t <= y1);
    toUnit = (v) => (v - y0) / (y1 - y0);
  }
  const f = frame(spec.width ?? 640, spec.height ?? 320, legendWidth, Boolean(spec.title), yTicks.map((t) => formatNumber(t)));
  const sy: Scale = (v) => f.bottom - toUnit(v) * (f.bottom - f.top);
  let out = svgOpen(f, 'line-chart', spec.title, ids, total);
  const sx = linearScale(x0, x1, f.left, f.right);
  const xTicks = niceTicks(x0, x1, 6).filter((t) => t >= x0 && t <= x1);
  out += axes(f, xTicks, yTicks, sx, sy, spec.xLabel, spec.yLabel);
  const legend: { label: string; color: string; dashed: boolean }[] = [];
  series.forEach((s, si) => {
    const color = s.color ?? categoricalColor(si);
    legend.push({ label: s.name, color, dashed: Boolean(s.dashed) });
    let d = '';
    let pen = false;
    const valid: number[] = [];
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]) || !keep(s.y[i])) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${sx(s.x[i]).toFixed(1)} ${sy(s.y[i]).toFixed(1)}`;
      pen = true;
      valid.push(i);
    }
    out += `<g class="series" data-series="${esc(s.name)}" data-n="${valid.length}">`;
    out += `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`;
    // Hover targets on at most ~120 points per series keep the file small for long runs.
    const every = Math.max(1, Math.ceil(valid.length / 120));
    for (let j = 0; j < valid.length; j += every) {
      const i = valid[j];
      out +=
        `<circle class="pt" cx="${sx(s.x[i]).toFixed(1)}" cy="${sy(s.y[i]).toFixed(1)}" r="2.5" fill="${color}">` +
        `<title>${esc(s.name)} — ${esc(spec.xLabel ?? 'x')} ${esc(formatNumber(s.x[i]))}: ${esc(formatNumber(s.y[i]))}</title></circle>`;
    }
    out += '</g>';
  });
  if (legendWidth) out += legendSwatches(f, legend);
  return out + '</svg>';
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Continuous when all present values are numbers with more than 12 distinct values. */
export function colorKind(values: ArrayLike<unknown>): 'continuous' | 'categorical' {
  const present = Array.from(values).filter((v) => v != null && v !== '' && !(typeof v === 'number' && Number.isNaN(v)));
  return present.length > 0 && present.every(isNumber) && new Set(present).size > 12 ? 'continuous' : 'categorical';
}

/** A scatter plot; with `color`, a legend (categories) or a colour bar (continuous values). */
export function scatterChart(spec: ScatterSpec, ids = new IdSource()): string {
  const n = spec.x.length;
  if (spec.y.length !== n) throw new ShapeError(`scatterChart: ${n} x values but ${spec.y.length} y values`);
  if (spec.color && spec.color.values.length !== n) throw new ShapeError(`scatterChart: colour '${spec.color.name}' has ${spec.color.values.length} values for ${n} points`);
  const legendWidth = spec.color ? 150 : 0;
  const idx = Array.from({ length: n }, (_, i) => i).filter((i) => Number.isFinite(spec.x[i]) && Number.isFinite(spec.y[i]));
  if (idx.length === 0) {
    const f = frame(spec.width ?? 520, spec.height ?? 420, legendWidth, Boolean(spec.title));
    return svgOpen(f, 'scatter-chart', spec.title, ids, 0) + `<text class="empty" x="${(f.left + f.right) / 2}" y="${(f.top + f.bottom) / 2}" text-anchor="middle">no data</text></svg>`;
  }
  let [x0, x1] = extent(idx.map((i) => spec.x[i]));
  let [y0, y1] = extent(idx.map((i) => spec.y[i]));
  const px = (x1 - x0) * 0.05 || 1;
  const py = (y1 - y0) * 0.05 || 1;
  x0 -= px;
  x1 += px;
  y0 -= py;
  y1 += py;
  const yTicks = niceTicks(y0, y1, 5).filter((t) => t >= y0 && t <= y1);
  const f = frame(spec.width ?? 520, spec.height ?? 420, legendWidth, Boolean(spec.title), spec.hideTicks ? [] : yTicks.map((t) => formatNumber(t)));
  let out = svgOpen(f, 'scatter-chart', spec.title, ids, idx.length);
  const sx = linearScale(x0, x1, f.left, f.right);
  const sy = linearScale(y0, y1, f.bottom, f.top);
  out += axes(
    f,
    niceTicks(x0, x1, 6).filter((t) => t >= x0 && t <= x1),
    yTicks,
    sx,
    sy,
    spec.xLabel,
    spec.yLabel,
    spec.hideTicks,
  );

  // Colours.
  const colors = new Array<string>(n).fill(CATEGORICAL[0]);
  let legend = '';
  if (spec.color) {
    const vals = spec.color.values;
    const kind = spec.color.kind ?? colorKind(vals);
    if (kind === 'continuous') {
      const nums = idx.map((i) => vals[i]).filter(isNumber);
      const [c0, c1] = nums.length ? extent(nums) : [0, 1];
      for (const i of idx) colors[i] = isNumber(vals[i]) ? viridis((vals[i] - c0) / (c1 - c0 || 1)) : MISSING_COLOR;
      const gid = ids.next('grad');
      const bx = f.right + 24;
      const top = f.top + 26;
      const bottom = f.bottom - 10;
      legend +=
        `<defs><linearGradient id="${gid}" x1="0" y1="1" x2="0" y2="0">` +
        VIRIDIS_STOPS.map((c, k) => `<stop offset="${(k / (VIRIDIS_STOPS.length - 1)).toFixed(3)}" stop-color="${c}"/>`).join('') +
        `</linearGradient></defs><g class="legend colorbar"><text class="legend-title" x="${f.right + 16}" y="${f.top + 12}">${esc(spec.color.name)}</text>` +
        `<rect x="${bx}" y="${top}" width="14" height="${bottom - top}" fill="url(#${gid})" stroke="#888" stroke-width="0.5"/>`;
      const cs = linearScale(c0, c1, bottom, top);
      for (const t of niceTicks(c0, c1, 5).filter((t) => t >= c0 && t <= c1)) {
        legend += `<line x1="${bx + 14}" x2="${bx + 18}" y1="${cs(t).toFixed(1)}" y2="${cs(t).toFixed(1)}" stroke="#555"/><text x="${bx + 21}" y="${(cs(t) + 4).toFixed(1)}">${esc(formatNumber(t))}</text>`;
      }
      legend += '</g>';
    } else {
      const counts = new Map<string, number>();
      for (const i of idx) {
        const v = vals[i];
        if (v == null || v === '' || (typeof v === 'number' && Number.isNaN(v))) continue;
        counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
      }
      const cats = [...counts.keys()].sort((a, b) => {
        const na = Number(a);
        const nb = Number(b);
        return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a < b ? -1 : a > b ? 1 : 0;
      });
      const colorOf = new Map(cats.map((c, k) => [c, categoricalColor(k)]));
      for (const i of idx) colors[i] = colorOf.get(String(vals[i])) ?? MISSING_COLOR;
      const items = cats.map((c) => ({ label: c, color: colorOf.get(c)!, count: counts.get(c)! }));
      const missing = idx.length - [...counts.values()].reduce((a, b) => a + b, 0);
      if (missing > 0) items.push({ label: 'missing', color: MISSING_COLOR, count: missing });
      legend += legendSwatches(f, items, spec.color.name);
    }
  }

  // Trajectories under the points.
  if (spec.trajectories) {
    const { group, time } = spec.trajectories;
    if (group.length !== n || time.length !== n) throw new ShapeError(`scatterChart trajectories: group/time need ${n} values`);
    const mid = ids.next('arrow');
    out += `<defs><marker id="${mid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#555"/></marker></defs>`;
    const byGroup = new Map<string, number[]>();
    for (const i of idx) {
      if (group[i] == null || !Number.isFinite(time[i])) continue;
      const k = String(group[i]);
      if (!byGroup.has(k)) byGroup.set(k, []);
      byGroup.get(k)!.push(i);
    }
    out += '<g class="trajectories">';
    for (const [g, members] of byGroup) {
      if (members.length < 2) continue;
      members.sort((a, b) => time[a] - time[b]);
      const pts = members.map((i) => `${sx(spec.x[i]).toFixed(1)},${sy(spec.y[i]).toFixed(1)}`).join(' ');
      out += `<polyline class="trajectory" points="${pts}" fill="none" stroke="#555" stroke-opacity="0.55" stroke-width="1.2" marker-end="url(#${mid})"><title>${esc(g)}: ${members.length} visits, ${esc(formatNumber(time[members[0]]))} → ${esc(formatNumber(time[members[members.length - 1]]))}</title></polyline>`;
    }
    out += '</g>';
  }

  out += '<g class="points">';
  const r = idx.length > 2000 ? 2 : idx.length > 400 ? 3 : 4;
  for (const i of idx) {
    const tip = [spec.labels ? String(spec.labels[i]) : `#${i}`];
    if (spec.color) tip.push(`${spec.color.name} = ${formatNumber(spec.color.values[i])}`);
    if (spec.trajectories) tip.push(`time ${formatNumber(spec.trajectories.time[i])}`);
    out += `<circle class="pt" cx="${sx(spec.x[i]).toFixed(1)}" cy="${sy(spec.y[i]).toFixed(1)}" r="${r}" fill="${colors[i]}" fill-opacity="0.85" stroke="#fff" stroke-width="0.5"><title>${esc(tip.join(' · '))}</title></circle>`;
  }
  out += '</g>';
  return out + legend + '</svg>';
}
