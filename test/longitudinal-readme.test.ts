/**
 * The README's "longitudinal" section: every ```ts example runs as written (transpiled with TypeScript, imported as
 * an ES module inside the package so that `geoclr` and `geoclr/longitudinal` resolve to this build), in a temporary
 * working folder (the first example writes a small cohort there); then the YAML config trains through
 * `geoclr train` (as written: 20 steps on the 8 subjects) and the shell example's chain train → embed →
 * longitudinal runs on that cohort.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readEmbeddings } from '../interop/embeddings.js';
import { REPO } from './losses/fixtures.js';
import { tempDir } from './support/nibabel.js';
import { fencedBlocks, readmeSection, runTsExample } from './support/readme.js';

describe('README longitudinal section', () => {
  const text = readmeSection('longitudinal');
  const blocks = fencedBlocks(text, 'ts');
  const dir = path.join(REPO, 'dist', `.readme-longitudinal-${process.pid}`);
  let work: ReturnType<typeof tempDir>;
  const cwd = process.cwd();
  before(() => {
    mkdirSync(dir, { recursive: true });
    work = tempDir('geoclr-long-readme-');
    process.chdir(work.dir);
  });
  after(() => {
    process.chdir(cwd);
    work.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has runnable examples and the measured table', () => {
    assert.ok(blocks.length >= 3, `only ${blocks.length} examples`);
    assert.match(text, /\| method \| interval MAE/);
  });
  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs (${code.split('\n')[0].slice(0, 60)}…)`, async function () {
      this.timeout(120_000);
      const printed = await runTsExample(code, path.join(dir, `example-${i + 1}.mjs`));
      assert.ok(printed.length > 0, 'the example prints its result');
    });
  });

  it('the YAML config and the shell example run on the first example’s cohort (train → embed → longitudinal)', async function () {
    this.timeout(180_000);
    const yaml = fencedBlocks(text, 'yaml');
    assert.equal(yaml.length, 1, 'one YAML config');
    writeFileSync(path.join(work.dir, 'long.yaml'), yaml[0]);
    const sh = fencedBlocks(text, 'sh').flatMap((b) => b.trim().split('\n'));
    assert.deepEqual(sh.map((l) => l.split(' ')[2]), ['train', 'embed', 'longitudinal']);
    for (const line of sh) {
      const [npx, bin, ...args] = line.split(/\s+/);
      assert.deepEqual([npx, bin], ['npx', 'geoclr']);
      const r = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'geoclr.js'), ...args], { cwd: work.dir, encoding: 'utf8', env: { ...process.env, GEOCLR_PROGRESS: '0' } });
      assert.equal(r.status, 0, `${line}\n${r.stderr}`);
    }
    const metrics = readFileSync(path.join(work.dir, 'runs', 'long', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(metrics.at(-1).step, 20, '20 epochs of one 8 × 2 batch (8 subjects)');
    for (const m of metrics) assert.ok(Number.isFinite(m.loss), `loss ${m.loss}`);
    const visits = await readEmbeddings(path.join(work.dir, 'visits.arrow'));
    const patients = await readEmbeddings(path.join(work.dir, 'patients.arrow'));
    assert.equal(patients.numRows, new Set(visits.subjectId).size);
    assert.ok('predicted_rate' in patients.columns && 'rate' in patients.columns);
    assert.ok(existsSync(path.join(work.dir, 'long-report', 'report.html')));
  });
});
