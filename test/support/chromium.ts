/**
 * Loads a local HTML file in headless Chromium (Debian `chromium`) and returns the DOM after load and the page's
 * console messages (CSP violations, failed loads and script errors all land there). Use with
 * `needBinary(this, CHROMIUM, 'chromium')`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = process.env.GEOCLR_CHROMIUM ?? '/usr/bin/chromium';

export interface PageLoad {
  status: number | null;
  dom: string;
  /** Lines Chromium logged for the page's console (`…:CONSOLE…] "message", source: …`). */
  console: string[];
  stderr: string;
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--no-first-run',
  '--no-default-browser-check',
  '--enable-logging=stderr',
  '--v=0',
];

/** `chromium --dump-dom` (or `--screenshot=FILE` with `screenshot`) of a file, with a private profile folder. */
export function loadInChromium(file: string, opts: { screenshot?: string; windowSize?: string; timeoutMs?: number } = {}): PageLoad {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'geoclr-chromium-'));
  try {
    const args = [...FLAGS, `--user-data-dir=${profile}`];
    if (opts.windowSize) args.push(`--window-size=${opts.windowSize}`);
    args.push(opts.screenshot ? `--screenshot=${opts.screenshot}` : '--dump-dom', pathToFileURL(path.resolve(file)).href);
    const r = spawnSync(CHROMIUM, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 1 << 28 });
    const stderr = r.stderr ?? '';
    return {
      status: r.status,
      dom: r.stdout ?? '',
      console: stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l)),
      stderr,
    };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
