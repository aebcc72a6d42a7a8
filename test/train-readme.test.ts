/** The README's "Training and the demo" code example runs as written (extracted and executed by node). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('README: training and the demo', function () {
  it('the TypeScript example trains and writes its run folder', function () {
    this.timeout(120_000);
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('## Training and the demo');
    assert.ok(start >= 0, 'README has the section');
    const rest = readme.slice(start + 1);
    const end = rest.search(/\n## |\n<!-- section: /);
    const section = end < 0 ? rest : rest.slice(0, end);
    const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.equal(blocks.length, 1, 'one TypeScript example');
    // Inside the package, 'geoclr' resolves to the build through package.json's self-reference.
    const file = path.resolve('dist', `readme-train-example-${process.pid}.mjs`);
    writeFileSync(file, blocks[0]);
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'geoclr-readme-train-'));
    try {
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd, env: { ...process.env, GEOCLR_PROGRESS: '0' } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout.trim(), /^12 \d+\.\d+$/);
      for (const f of ['metrics.jsonl', 'checkpoints/latest.json']) assert.ok(existsSync(path.join(cwd, 'runs', 'in-code', f)), f);
    } finally {
      rmSync(file, { force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
