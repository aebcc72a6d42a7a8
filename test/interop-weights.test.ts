/**
 * Encoder weights through real safetensors files, both ways, for every architecture:
 *  - geoclr → `saveEncoderFile` → PyTorch twin `load_state_dict(safetensors_lite.load_file(path), strict=True)` →
 *    the same outputs in eval mode and with train-mode batch norm (and the same running statistics afterwards);
 *  - twin → `safetensors_lite.save_file(state_dict)` → `loadEncoderFile(path, config)` → the twin's outputs.
 * Tolerance 1e-4 relative to max(1, |expected|), float32 on both sides.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, FileFormatError, Rng, createEncoder, loadEncoderFile, resolveEncoderConfig, saveEncoderFile } from 'geoclr';
import { loadSafetensors, saveSafetensors } from 'geoclr/interop';
import { needPython, runPythonFile } from './support/peers.js';
import { ENCODER_CASES, assertRel, caseInput, channelsFirst, perturbBatchNorm, type CaseInput, type EncoderCase } from './support/encoder-cases.js';

/** Train mode is comparable only without dropout (its masks come from different generators). */
const hasDropout = (c: EncoderCase) => ((c.config as { dropout?: number }).dropout ?? 0) > 0;

describe('interop: encoder weights through safetensors, geoclr ⇄ PyTorch twin', function () {
  this.timeout(120_000);
  let dir: string;
  const inputs = new Map<string, CaseInput>();
  const ours = new Map<string, Record<string, tf.Tensor>>();
  let ran = false;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-weights-'));
    const rng = new Rng(31);
    for (const c of ENCODER_CASES) {
      const encoder = createEncoder(c.config, { seed: 4 });
      perturbBatchNorm(encoder, rng);
      const input = caseInput(c, rng);
      inputs.set(c.name, input);
      await saveEncoderFile(path.join(dir, `${c.name}.geoclr.safetensors`), encoder);
      const x = channelsFirst(input.x);
      await saveSafetensors(path.join(dir, `${c.name}.io.safetensors`), { x, ...(input.mask ? { mask: input.mask } : {}) }, {}, c.kind === 'text' ? { dtypes: { x: 'I64', mask: 'I64' } } : {});
      x.dispose();
      const res: Record<string, tf.Tensor> = {};
      for (const mode of ['eval', 'train'] as const) {
        encoder.train(mode === 'train');
        const out = encoder.forward(input.x, input.mask);
        res[`${mode}.rep`] = out.representation;
        res[`${mode}.proj`] = out.projection;
      }
      for (const [k, b] of encoder.namedBuffers()) res[`after.${k}`] = tf.clone(b);
      ours.set(c.name, res);
      encoder.dispose();
    }
    writeFileSync(path.join(dir, 'cases.json'), JSON.stringify(ENCODER_CASES.map((c) => ({ name: c.name, config: resolveEncoderConfig(c.config), kind: c.kind }))));
  });

  after(() => {
    for (const r of ours.values()) tf.dispose(Object.values(r));
    for (const i of inputs.values()) tf.dispose([i.x, ...(i.mask ? [i.mask] : [])]);
    rmSync(dir, { recursive: true, force: true });
  });

  function python(ctx: Mocha.Context): void {
    needPython(ctx, ['torch']);
    if (!ran) {
      runPythonFile(path.resolve('test/support/weights_check.py'), [dir]);
      ran = true;
    }
  }

  for (const c of ENCODER_CASES) {
    it(`${c.name}: saveEncoderFile → twin load_state_dict(strict=True): same outputs (eval${hasDropout(c) ? '' : ' and train mode'}) and running statistics`, async function () {
      python(this);
      const ref = (await loadSafetensors(path.join(dir, `${c.name}.a.safetensors`))).tensors;
      const mine = ours.get(c.name)!;
      let compared = 0;
      for (const [k, v] of Object.entries(mine)) {
        if (hasDropout(c) && k.startsWith('train.')) continue;
        const e = ref.get(k);
        assert.ok(e, `the twin produced no ${k}`);
        assertRel(v, e, k);
        compared++;
      }
      assert.ok(compared >= 2);
      tf.dispose([...ref.values()]);
    });

    it(`${c.name}: twin save_file(state_dict) → loadEncoderFile(path, config): the twin's outputs`, async function () {
      python(this);
      const file = path.join(dir, `${c.name}.torch.safetensors`);
      const { encoder, metadata } = await loadEncoderFile(file, resolveEncoderConfig(c.config));
      assert.equal(metadata.format, 'pt');
      const ref = (await loadSafetensors(path.join(dir, `${c.name}.b.safetensors`))).tensors;
      const input = inputs.get(c.name)!;
      for (const mode of hasDropout(c) ? ['eval'] : ['eval', 'train']) {
        encoder.train(mode === 'train');
        const out = encoder.forward(input.x, input.mask);
        assertRel(out.representation, ref.get(`${mode}.rep`)!, `${mode} representation`);
        assertRel(out.projection, ref.get(`${mode}.proj`)!, `${mode} projection`);
        tf.dispose([out.representation, out.projection]);
      }
      encoder.dispose();
      tf.dispose([...ref.values()]);
    });
  }

  it('a twin weight file without geoclr metadata needs the config: a FileFormatError naming the file says so', async function () {
    python(this);
    const file = path.join(dir, 'resnet3d.torch.safetensors');
    await assert.rejects(loadEncoderFile(file), (e: Error) => e instanceof FileFormatError && e.message.startsWith(file) && /pass the encoder config/.test(e.message));
    // The wrong architecture's config: every mismatched name listed, the file named.
    await assert.rejects(loadEncoderFile(file, { arch: 'densenet3d' }), (e: Error) => e instanceof FileFormatError && /missing \d+: features\.conv0\.weight/.test(e.message));
  });
});
