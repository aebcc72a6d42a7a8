/**
 * The README's "objectives" section: every ```ts example runs as written (transpiled with TypeScript, imported
 * as an ES module inside the package so that `import … from 'geoclr'` resolves to this build).
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './losses/fixtures.js';
import { fencedBlocks, readmeSection, runTsExample } from './support/readme.js';

describe('README objectives section', () => {
  const blocks = fencedBlocks(readmeSection('objectives'), 'ts');
  const dir = path.join(REPO, 'dist', `.readme-examples-${process.pid}`);
  before(() => mkdirSync(dir, { recursive: true }));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has runnable examples', () => assert.ok(blocks.length >= 4, `only ${blocks.length} examples`));
  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs (${code.split('\n')[0].slice(0, 60)}…)`, async () => {
      await runTsExample(code, path.join(dir, `example-${i + 1}.mjs`));
    });
  });
});
