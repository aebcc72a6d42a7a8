import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { tf, initBackend, BackendError } from 'geoclr';

describe('backend selection', () => {
  it('activates a backend and reports every candidate', async () => {
    const info = await initBackend();
    assert.equal(tf.getBackend(), info.tfBackend);
    assert.deepEqual(
      info.probes.map((p) => p.choice).slice(0, 4),
      process.env.GEOCLR_BACKEND ? [info.choice] : ['node-gpu', 'node', 'wasm', 'cpu'],
    );
    for (const p of info.probes) if (p.choice !== info.choice) assert.ok(p.reason, `${p.choice} has no reason`);
  });

  it('`geoclr info --json` prints the active backend', () => {
    const out = execFileSync(process.execPath, ['scripts/geoclr.js', 'info', '--json'], { encoding: 'utf8' });
    const info = JSON.parse(out);
    assert.equal(typeof info.choice, 'string');
    assert.equal(info.tfjsVersion, tf.version_core);
  });

  it('an impossible GEOCLR_BACKEND is a clear error, not a silent fallback', () => {
    const r = spawnSync(process.execPath, ['scripts/geoclr.js', 'info'], {
      encoding: 'utf8',
      env: { ...process.env, GEOCLR_BACKEND: 'quantum' },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /GEOCLR_BACKEND='quantum' is not a backend; expected one of node-gpu, node, wasm, cpu/);
    assert.ok(BackendError);
  });
});
