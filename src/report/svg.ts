/**
 * Small helpers for static SVG/HTML: escaping, number formatting, "nice" axis ticks, colour scales
 * (Okabe–Ito for categories — readable with colour-vision deficiencies — and viridis for continuous values).
 */

/** Escapes text for HTML/SVG content and attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A compact number: 3 significant digits, exponent for very large/small values, '—' for missing. */
export function formatNumber(v: unknown, digits?: number): string {
  if (typeof v !== 'number') return v == null ? '—' : String(v);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '—' : v > 0 ? '∞' : '−∞';
  if (digits != null) return v.toFixed(digits).replace('-', '−');
  // (typographic minus signs read better in tables and axes)
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e5 || a < 1e-3) {
    const [m, e] = v.toExponential(2).split('e');
    return `${Number(m)}e${Number(e)}`.replace(/-/g, '−');
  }
  if (Number.isInteger(v)) return String(v).replace('-', '−');
  return Number(v.toPrecision(3)).toString().replace('-', '−');
}

/** About `count` round tick values spanning [lo, hi] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm >= 5 ? 10 : norm >= 2 ? 5 : norm >= 1 ? 2 : 1) * mag;
  const first = Math.ceil(lo / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = first; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  return ticks;
}

/** Log-axis ticks in [lo, hi]: powers of ten, with 2× and 5× steps when the range spans few decades. */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const mult = b - a <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let k = a; k <= b; k++) for (const m of mult) out.push(Number((m * 10 ** k).toPrecision(12)));
  return out;
}

/** Okabe & Ito (2008) colour-blind-safe palette, then further distinct colours. */
export const CATEGORICAL = [
  '#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000',
  '#8C564B', '#7F7F7F', '#17BECF', '#BCBD22',
];

export const MISSING_COLOR = '#bbbbbb';

export function categoricalColor(i: number): string {
  return CATEGORICAL[i % CATEGORICAL.length];
}

// Viridis, 9 stops (matplotlib), interpolated linearly in RGB.
const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];

function hexToRgb(h: string): [number, number, number] {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

/** Viridis colour for t in [0, 1]. */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = hexToRgb(VIRIDIS[i]);
  const b = hexToRgb(VIRIDIS[i + 1]);
  return '#' + a.map((v, k) => Math.round(v + (b[k] - v) * f).toString(16).padStart(2, '0')).join('');
}

export const VIRIDIS_STOPS = VIRIDIS;
