/**
 * Proof against PyTorch: every objective (float32, active backend) against the independent float64 PyTorch
 * reference in interop/python/geoclr_ref — values within 1e-4 relative (|Δ| ≤ 1e-4·max(|v|, 1e-3)) and
 * gradients w.r.t. every differentiable input within 1e-3 of the largest reference gradient of that input
 * (max_k |Δg_k| ≤ 1e-3·max_k |g_k|). The committed fixtures are checked always; when /usr/bin/python3 has
 * torch they are also regenerated now and compared with the committed ones.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { needPython, runPythonFile } from './support/peers.js';
import {
  evaluateCase,
  gradError,
  GENERATOR,
  GRAD_TOL,
  loadFixtures,
  valueError,
  VALUE_RTOL,
  type FixtureCase,
  type FixtureFile,
} from './losses/fixtures.js';

const committed = loadFixtures();

function checkCase(c: FixtureCase): void {
  const r = evaluateCase(c);
  const ve = valueError(r.value, c.value);
  assert.ok(ve <= VALUE_RTOL, `${c.name}: value ${r.value} vs reference ${c.value} (relative error ${ve.toExponential(2)})`);
  for (const [term, expected] of Object.entries(c.terms ?? {})) {
    const te = valueError(r.terms![term], expected);
    assert.ok(te <= VALUE_RTOL, `${c.name}: term ${term} ${r.terms![term]} vs ${expected} (relative error ${te.toExponential(2)})`);
  }
  for (const [input, expected] of Object.entries(c.grads)) {
    const ge = gradError(r.grads[input], expected);
    assert.ok(ge <= GRAD_TOL, `${c.name}: gradient w.r.t. ${input} off by ${ge.toExponential(2)} of its max |grad|`);
  }
}

describe('objectives vs the PyTorch float64 reference (committed fixtures)', () => {
  it('covers every objective of LOSSES.md and the contrastive-analysis regularisers', () => {
    const losses = new Set(committed.cases.map((c) => c.loss));
    for (const name of [
      'infoNCE', 'supCon', 'epsilonSupInfoNCE', 'yAwareInfoNCE', 'fairKL', 'decoupledUniformity',
      'alignment', 'uniformity', 'sepCLR', 'clipLoss', 'kernelClipLoss', 'longitudinalDirection',
      'mmd', 'hsic', 'contrastiveVAELoss',
    ]) {
      assert.ok(losses.has(name), `no fixture for ${name}`);
    }
  });
  for (const c of committed.cases) {
    it(c.name, () => checkCase(c));
  }
});

describe('objectives vs PyTorch, fixtures regenerated now by /usr/bin/python3', function () {
  let fresh: FixtureFile | null = null;
  let dir: string | null = null;

  before(function () {
    needPython(this as unknown as Mocha.Context, ['torch', 'numpy']);
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-fixtures-'));
    const out = path.join(dir, 'reference.json');
    runPythonFile(GENERATOR, ['--out', out]);
    fresh = loadFixtures(out);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reproduces the committed fixtures (same cases, values and gradients)', () => {
    assert.deepEqual(fresh!.cases.map((c) => c.name), committed.cases.map((c) => c.name), 'case list changed: regenerate the fixtures');
    fresh!.cases.forEach((c, i) => {
      const old = committed.cases[i];
      assert.deepEqual(c.inputs, old.inputs, `${c.name}: inputs differ`);
      assert.ok(Math.abs(c.value - old.value) <= 1e-9 * Math.max(1, Math.abs(old.value)), `${c.name}: value ${c.value} ≠ committed ${old.value}`);
      for (const k of Object.keys(old.grads)) {
        assert.ok(gradError(c.grads[k], old.grads[k]) <= 1e-7, `${c.name}: gradient w.r.t. ${k} differs from the committed one`);
      }
    });
  });

  it('geoclr matches the regenerated reference on every case', () => {
    for (const c of fresh!.cases) checkCase(c);
  });
});
