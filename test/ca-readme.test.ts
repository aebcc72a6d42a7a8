/** The README's contrastive-analysis example runs as written (extracted and executed by node) and prints its scores. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

describe('README: contrastive analysis', function () {
  it('the example trains SepCLR with the regularisers and prints finite scores', function () {
    this.timeout(120_000);
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('## Contrastive analysis');
    assert.ok(start >= 0, 'README has the section');
    const rest = readme.slice(start + 1);
    const end = rest.search(/\n## |\n<!-- section: /);
    const blocks = [...(end < 0 ? rest : rest.slice(0, end)).matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.equal(blocks.length, 1, 'one JavaScript example');
    const file = path.resolve('dist', `readme-ca-example-${process.pid}.mjs`);
    writeFileSync(file, blocks[0]);
    try {
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, GEOCLR_PROGRESS: '0' } });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(r.stdout, /common.*salient.*reg.*jem.*mmdCommon.*hsic/s);
      const [scores, checks] = lines.slice(-2).map((l) => l.split(' ').map(Number));
      assert.equal(scores.length, 4);
      assert.ok(scores.every(Number.isFinite), lines.at(-2));
      assert.ok(checks.every(Number.isFinite), lines.at(-1));
    } finally {
      rmSync(file, { force: true });
    }
  });
});
