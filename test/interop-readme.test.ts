/**
 * The README's interop examples for ONNX export, the PyTorch side and OnnxEncoder run as written, in order, in a
 * scratch folder (JavaScript with node, Python with /usr/bin/python3), and print what they claim.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PYTHON, needPython } from './support/peers.js';

function section(readme: string, from: string, to: string): string {
  const start = readme.indexOf(from);
  const end = readme.indexOf(to, start);
  assert.ok(start >= 0 && end > start, `README has '${from}' before '${to}'`);
  return readme.slice(start, end);
}

describe('README: interop export / twins / OnnxEncoder examples', function () {
  this.timeout(120_000);
  it('run in order and print what they claim', function () {
    needPython(this, ['torch', 'onnx']);
    const readme = readFileSync('README.md', 'utf8');
    const text = section(readme, '### ONNX export of geoclr encoders', '### Run folders and the command line');
    const blocks = [...text.matchAll(/```(js|python)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2] }));
    assert.deepEqual(blocks.map((b) => b.lang), ['js', 'python', 'js']);
    const cwd = mkdtempSync(path.join(tmpdir(), 'geoclr-readme-interop-'));
    const outputs: string[] = [];
    try {
      blocks.forEach((b, i) => {
        let r;
        if (b.lang === 'js') {
          // Inside the package, 'geoclr' resolves to the build through package.json's self-reference.
          const file = path.resolve('dist', `readme-interop-${process.pid}-${i}.mjs`);
          writeFileSync(file, b.code);
          try {
            r = spawnSync(process.execPath, [file], { cwd, encoding: 'utf8', env: { ...process.env, GEOCLR_PROGRESS: '0' } });
          } finally {
            rmSync(file, { force: true });
          }
        } else {
          r = spawnSync(PYTHON, ['-c', b.code], { cwd, encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.resolve('interop/python') } });
        }
        assert.equal(r.status, 0, `block ${i} (${b.lang}) failed:\n${r.stderr}`);
        outputs.push(r.stdout);
      });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
    assert.match(outputs[0], /volume \[ 'batch', 1, 32, 40, 32 \] \[ 'representation \[batch,64\]', 'projection \[batch,128\]' \]/);
    assert.match(outputs[0], /\[ 2, 64 \] true/);
    assert.match(outputs[1], /\(2, 64\) \(2, 128\)/);
    assert.match(outputs[2], /^64 32 conv1\.weight$/m);
    const losses = [...outputs[2].matchAll(/^\d (\d+\.\d{4})$/gm)].map((m) => Number(m[1]));
    assert.equal(losses.length, 2, outputs[2]);
  });
});
