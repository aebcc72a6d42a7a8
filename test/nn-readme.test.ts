/** The README's "Encoders and optimizers" examples run as written (extracted, concatenated, executed by node). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

describe('README: encoders and optimizers', function () {
  it('the TypeScript examples run and print what they claim', function () {
    this.timeout(120_000);
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('## Encoders and optimizers');
    assert.ok(start >= 0, 'README has the section');
    const rest = readme.slice(start + 1);
    const end = rest.search(/\n## |\n<!-- section: /);
    const section = end < 0 ? rest : rest.slice(0, end);
    const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(blocks.length >= 2, 'two TypeScript examples');
    // The examples are plain JavaScript in TS fences; one module, imports first.
    const code = blocks.join('\n');
    const imports = code.split('\n').filter((l) => l.startsWith('import '));
    const body = code.split('\n').filter((l) => !l.startsWith('import '));
    // Inside the package, 'geoclr' resolves to the build through package.json's self-reference.
    const file = path.resolve('dist', `readme-nn-example-${process.pid}.mjs`);
    writeFileSync(file, [...imports, ...body].join('\n'));
    try {
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, GEOCLR_PROGRESS: '0' } });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0], /^\d+ \[ 4, 64 \] \[ 4, 128 \]$/);
      assert.match(r.stdout, /arch: 'resnet3d'/);
      const steps = lines.filter((l) => /^\d \d+\.\d{4} \d+\.\d{3}$/.test(l));
      assert.equal(steps.length, 3, r.stdout);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
