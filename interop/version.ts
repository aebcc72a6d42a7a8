/** geoclr's package version, recorded in every file geoclr writes for provenance. */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

export function geoclrVersion(): string {
  if (cached == null) {
    // dist/interop/version.js and interop/version.ts both sit two levels below the package root.
    const url = new URL('../../package.json', import.meta.url);
    try {
      cached = String(JSON.parse(readFileSync(url, 'utf8')).version);
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
