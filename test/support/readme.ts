/**
 * Running the README's examples in tests: a section's text (between its `<!-- section: X -->` marker and the next),
 * its fenced blocks of one language, and a TypeScript example run as written — transpiled, written inside the
 * package (so that `geoclr`, `geoclr/mri`… resolve to this build through package.json's self-reference) and
 * imported, with what it prints captured.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { REPO } from '../losses/fixtures.js';

/** The README's text from `<!-- section: NAME -->` to the next section marker. */
export function readmeSection(name: string): string {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf(`<!-- section: ${name} -->`);
  assert.ok(start >= 0, `README has no section '${name}'`);
  const end = readme.indexOf('<!-- section:', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The contents of the fenced blocks of one language (```ts, ```yaml, ```sh) in order. */
export function fencedBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

/**
 * Runs a TypeScript example as `file` (an .mjs path inside the package) and returns the arguments of each
 * console.log call; asserts that it parses and that every number it prints is finite.
 */
export async function runTsExample(code: string, file: string): Promise<unknown[][]> {
  const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, reportDiagnostics: true });
  assert.deepEqual(js.diagnostics ?? [], [], 'the example does not parse');
  writeFileSync(file, js.outputText);
  const log = console.log;
  const printed: unknown[][] = [];
  console.log = (...args: unknown[]) => void printed.push(args);
  try {
    await import(pathToFileURL(file).href);
  } finally {
    console.log = log;
  }
  for (const line of printed) for (const v of line) if (typeof v === 'number') assert.ok(Number.isFinite(v), `${path.basename(file)} printed ${v}`);
  return printed;
}
