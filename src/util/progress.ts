/**
 * A small progress bar for long work (training, synthesis, embedding, benchmarks). On a TTY it redraws one line
 * on stderr; elsewhere (CI logs, pipes) it prints a plain line at most every `logEveryMs`, so logs stay readable.
 * Set GEOCLR_PROGRESS=0 to silence it.
 */
export interface ProgressOptions {
  /** Label before the bar. */
  label: string;
  /** Total units of work (steps, volumes, ...); 0 or undefined for an open-ended counter. */
  total?: number;
  /** Unit name for the rate, e.g. 'samples'. */
  unit?: string;
  /** Minimum milliseconds between non-TTY log lines (default 10 s). */
  logEveryMs?: number;
  stream?: NodeJS.WriteStream;
}

export class ProgressBar {
  private readonly start = Date.now();
  private lastDraw = 0;
  private done = 0;
  private units = 0;
  private fields: Record<string, string> = {};
  private readonly enabled: boolean;
  private readonly tty: boolean;
  private readonly stream: NodeJS.WriteStream;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.enabled = process.env.GEOCLR_PROGRESS !== '0';
    this.tty = Boolean(this.stream.isTTY);
  }

  /**
   * Advances by `steps` units of work, counting `units` items for the rate (e.g. one step of 32 samples:
   * `tick(1, {loss: '0.41'}, 32)`), with extra fields to show.
   */
  tick(steps = 1, fields: Record<string, string | number> = {}, units = steps): void {
    this.done += steps;
    this.units += units;
    for (const [k, v] of Object.entries(fields)) this.fields[k] = typeof v === 'number' ? formatNumber(v) : v;
    this.draw(false);
  }

  /** Sets fields without advancing. */
  set(fields: Record<string, string | number>): void {
    this.tick(0, fields, 0);
  }

  /** Final line (always printed when enabled). */
  finish(message?: string): void {
    this.draw(true, message);
  }

  /** Seconds since start. */
  get elapsed(): number {
    return (Date.now() - this.start) / 1000;
  }

  private draw(final: boolean, message?: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    const every = this.tty ? 100 : (this.opts.logEveryMs ?? 10_000);
    if (!final && now - this.lastDraw < every) return;
    this.lastDraw = now;
    const secs = (now - this.start) / 1000;
    const total = this.opts.total ?? 0;
    const rate = secs > 0 ? this.units / secs : 0;
    const parts = [this.opts.label];
    if (total > 0) {
      const frac = Math.min(1, this.done / total);
      const width = 24;
      const filled = Math.round(frac * width);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${total}`);
      const stepRate = secs > 0 ? this.done / secs : 0;
      if (!final && stepRate > 0) parts.push(`ETA ${formatDuration((total - this.done) / stepRate)}`);
    } else {
      parts.push(`${this.done}`);
    }
    if (rate > 0) parts.push(`${formatNumber(rate)} ${this.opts.unit ?? 'it'}/s`);
    for (const [k, v] of Object.entries(this.fields)) parts.push(`${k} ${v}`);
    parts.push(formatDuration(secs));
    if (message) parts.push(message);
    const line = parts.join('  ');
    if (this.tty) this.stream.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
    else this.stream.write(`${line}\n`);
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toFixed(4);
}
