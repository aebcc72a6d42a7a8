/**
 * The README's "objectives" section: every ```ts example runs as written (transpiled with TypeScript, imported
 * as an ES module inside the package so that `import … from 'geoclr'` resolves to this build).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { REPO } from './losses/fixtures.js';

function section(name: string): string {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf(`<!-- section: ${name} -->`);
  assert.ok(start >= 0, `README has no section '${name}'`);
  const end = readme.indexOf('<!-- section:', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('README objectives section', () => {
  const blocks = [...section('objectives').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const dir = path.join(REPO, 'dist', `.readme-examples-${process.pid}`);
  before(() => mkdirSync(dir, { recursive: true }));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has runnable examples', () => assert.ok(blocks.length >= 4, `only ${blocks.length} examples`));
  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs (${code.split('\n')[0].slice(0, 60)}…)`, async () => {
      const js = ts.transpileModule(code, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        reportDiagnostics: true,
      });
      assert.deepEqual(js.diagnostics ?? [], [], 'the example does not parse');
      const file = path.join(dir, `example-${i + 1}.mjs`);
      writeFileSync(file, js.outputText);
      const log = console.log;
      const printed: unknown[][] = [];
      console.log = (...args: unknown[]) => void printed.push(args);
      try {
        await import(pathToFileURL(file).href);
      } finally {
        console.log = log;
      }
      for (const line of printed) {
        for (const v of line) if (typeof v === 'number') assert.ok(Number.isFinite(v), `example ${i + 1} printed ${v}`);
      }
    });
  });
});
