/**
 * ONNX export of every geoclr encoder architecture (interop/onnx/export.ts): the file passes
 * onnx.checker.check_model(full_check=True); onnxruntime-node, the PyTorch twin (weights from saveEncoderFile) and
 * importOnnx give tfjs' outputs within 1e-4 (float32) for two batch sizes (and other spatial / sequence sizes where
 * the axes are dynamic); the imported graph's weights carry the encoder's state_dict names.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, ConfigError, Encoder, MLPHead, Rng, ValueError, createEncoder, resolveEncoderConfig, saveEncoderFile } from 'geoclr';
import { OnnxEncoder, createOnnxSession, decodeOnnxModel, exportOnnx, importOnnx, loadSafetensors, saveSafetensors, type OnnxExportInfo } from 'geoclr/interop';
import { needPython, runPythonFile } from './support/peers.js';
import { ENCODER_CASES, assertRel, caseInput, channelsFirst, firstItems, perturbBatchNorm, type CaseInput, type EncoderCase } from './support/encoder-cases.js';

interface Prepared {
  encoder: Encoder;
  input: CaseInput;
  /** A second input: batch 1, and smaller spatial / sequence sizes where the export's axes are dynamic. */
  small: CaseInput;
  file: string;
  info: OnnxExportInfo;
}

function exportShape(c: EncoderCase): number[] | undefined {
  if (!c.staticShape) return undefined;
  return c.kind === 'text' ? c.shape.slice(1) : c.shape.slice(1, -1);
}

/** Batch 1; for dynamic axes also cropped (spatial sizes − 4, sequence − 3). */
function smallInput(c: EncoderCase, input: CaseInput): CaseInput {
  if (c.staticShape) return firstItems(input, 1);
  const crop = (t: tf.Tensor, sizes: number[]) => tf.slice(t, new Array(t.rank).fill(0), sizes);
  if (c.kind === 'text') {
    const l = c.shape[1] - 3;
    return { x: crop(input.x, [1, l]), mask: crop(input.mask!, [1, l]) };
  }
  return { x: crop(input.x, [1, ...c.shape.slice(1, -1).map((d) => d - 4), c.shape[c.shape.length - 1]]) };
}

function feedsFor(c: EncoderCase, info: OnnxExportInfo, input: CaseInput): Record<string, tf.Tensor> {
  if (c.kind === 'text') return { input_ids: input.x, attention_mask: input.mask! };
  return { [info.inputs[0].name]: channelsFirst(input.x) };
}

describe('interop: ONNX export of geoclr encoders', function () {
  this.timeout(120_000);
  let dir: string;
  const prepared = new Map<string, Prepared>();
  let python: { checker: Record<string, { checker: string; opset: number; ir_version: number; inputs: Record<string, (number | string)[]>; outputs: Record<string, (number | string)[]> }> } | null = null;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-export-'));
    const rng = new Rng(21);
    for (const c of ENCODER_CASES) {
      const encoder = createEncoder(c.config, { seed: 3 });
      perturbBatchNorm(encoder, rng);
      encoder.eval();
      const input = caseInput(c, rng);
      const file = path.join(dir, `${c.name}.onnx`);
      const info = await exportOnnx(encoder, file, { inputShape: exportShape(c) });
      prepared.set(c.name, { encoder, input, small: smallInput(c, input), file, info });
    }
  });

  after(() => {
    for (const p of prepared.values()) {
      p.encoder.dispose();
      tf.dispose([p.input.x, p.small.x, ...(p.input.mask ? [p.input.mask, p.small.mask!] : [])]);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs test/support/export_check.py once: onnx.checker on every file, twin outputs from the safetensors weights. */
  async function peers(ctx: Mocha.Context) {
    needPython(ctx, ['torch', 'onnx']);
    if (python == null) {
      for (const c of ENCODER_CASES) {
        const p = prepared.get(c.name)!;
        await saveEncoderFile(path.join(dir, `${c.name}.safetensors`), p.encoder);
        const x = channelsFirst(p.input.x);
        const io: Record<string, tf.Tensor> = { x, ...(p.input.mask ? { mask: p.input.mask } : {}) };
        await saveSafetensors(path.join(dir, `${c.name}.io.safetensors`), io, {}, c.kind === 'text' ? { dtypes: { x: 'I64', mask: 'I64' } } : {});
        x.dispose();
      }
      writeFileSync(path.join(dir, 'cases.json'), JSON.stringify(ENCODER_CASES.map((c) => ({ name: c.name, config: resolveEncoderConfig(c.config), kind: c.kind }))));
      runPythonFile(path.resolve('test/support/export_check.py'), [dir]);
      python = { checker: JSON.parse(readFileSync(path.join(dir, 'checker.json'), 'utf8')) };
    }
    return python;
  }

  for (const c of ENCODER_CASES) {
    describe(c.name, () => {
      it('passes onnx.checker.check_model(full_check=True): opset 17, IR 8, dynamic batch, NC… input', async function () {
        const { checker } = await peers(this);
        const r = checker[c.name];
        assert.equal(r.checker, 'ok');
        assert.equal(r.opset, 17);
        assert.equal(r.ir_version, 8);
        const { encoder } = prepared.get(c.name)!;
        assert.deepEqual(r.outputs, { representation: ['batch', encoder.representationDim], projection: ['batch', encoder.projectionDim] });
        const spatial = exportShape(c) ?? (c.kind === 'text' ? ['sequence'] : c.kind === 'volume' ? ['depth', 'height', 'width'] : ['height', 'width']);
        const expected =
          c.kind === 'text'
            ? { input_ids: ['batch', ...spatial], attention_mask: ['batch', ...spatial] }
            : { [c.kind]: ['batch', (encoder.config as { inChannels: number }).inChannels, ...spatial] };
        assert.deepEqual(r.inputs, expected);
      });

      it("onnxruntime-node gives tfjs' outputs within 1e-4, for two batch sizes", async function () {
        const p = prepared.get(c.name)!;
        const session = await createOnnxSession(p.file);
        try {
          for (const input of [p.input, p.small]) {
            const ref = p.encoder.forward(input.x, input.mask);
            const feeds = feedsFor(c, p.info, input);
            const out = await session.run(feeds);
            assertRel(out.representation, ref.representation, `representation [${input.x.shape}]`);
            assertRel(out.projection, ref.projection, `projection [${input.x.shape}]`);
            tf.dispose([...Object.values(out), ref.representation, ref.projection]);
            if (c.kind !== 'text') tf.dispose(Object.values(feeds));
          }
        } finally {
          await session.release();
        }
      });

      it("the PyTorch twin (weights from saveEncoderFile) gives onnxruntime's outputs", async function () {
        await peers(this);
        const p = prepared.get(c.name)!;
        const twin = (await loadSafetensors(path.join(dir, `${c.name}.twin.safetensors`))).tensors;
        const session = await createOnnxSession(p.file);
        const feeds = feedsFor(c, p.info, p.input);
        const out = await session.run(feeds);
        await session.release();
        assertRel(out.representation, twin.get('representation')!, 'representation (onnxruntime vs twin)');
        assertRel(out.projection, twin.get('projection')!, 'projection (onnxruntime vs twin)');
        tf.dispose([...Object.values(out), ...twin.values()]);
        if (c.kind !== 'text') tf.dispose(Object.values(feeds));
      });

      it('importOnnx reproduces the encoder: outputs, weights under state_dict names, OnnxEncoder on channels-last data', async function () {
        const p = prepared.get(c.name)!;
        const model = await importOnnx(p.file);
        const state = p.encoder.stateDict();
        const expectedNames = Object.keys(state).filter((n) => !n.endsWith('num_batches_tracked'));
        assert.deepEqual([...model.namedVariables.keys()].sort(), expectedNames.sort());
        for (const n of expectedNames) assert.deepEqual(model.namedVariables.get(n)!.dataSync(), state[n].dataSync(), n);
        // Running statistics stay frozen; every other weight trains.
        for (const [n, v] of model.namedVariables) assert.equal(v.trainable, !/running_(mean|var)$/.test(n), n);
        const ref = p.encoder.forward(p.input.x, p.input.mask);
        const feeds = feedsFor(c, p.info, p.input);
        const out = model.apply(feeds) as Record<string, tf.Tensor>;
        assertRel(out.representation, ref.representation, 'representation (importOnnx)');
        assertRel(out.projection, ref.projection, 'projection (importOnnx)');
        tf.dispose(Object.values(out));
        if (c.kind !== 'text') tf.dispose(Object.values(feeds));
        const wrapped = new OnnxEncoder(model);
        const w = wrapped.forward(p.input.x, p.input.mask);
        assertRel(w.representation, ref.representation, 'representation (OnnxEncoder)');
        assertRel(w.projection, ref.projection, 'projection (OnnxEncoder)');
        assert.equal(wrapped.representationDim, p.encoder.representationDim);
        assert.equal(wrapped.projectionDim, p.encoder.projectionDim);
        tf.dispose([w.representation, w.projection, ref.representation, ref.projection]);
        wrapped.dispose();
      });
    });
  }

  it("output 'representation' / 'projection', opset 18, and a lone MLP head run in onnxruntime-node", async () => {
    const rng = new Rng(5);
    const encoder = createEncoder({ arch: 'resnet2d', widths: [4, 8], depths: [1, 1], head: { hidden: [12], out: 6, batchNorm: true } }, { seed: 1 });
    perturbBatchNorm(encoder, rng);
    encoder.eval();
    const x = tf.tensor(rng.normalArray(2 * 16 * 16), [2, 16, 16, 1]);
    const ref = encoder.forward(x);
    const xcf = channelsFirst(x);
    for (const [output, opset] of [['representation', 17], ['projection', 18]] as const) {
      const file = path.join(dir, `only-${output}.onnx`);
      const info = await exportOnnx(encoder, file, { inputShape: [16, 16], output, opset });
      assert.deepEqual(info.outputs.map((o) => o.name), [output]);
      const model = decodeOnnxModel(readFileSync(file), file);
      assert.equal(model.opset_import![0].version, opset);
      const session = await createOnnxSession(file);
      const out = await session.run(xcf);
      await session.release();
      assert.deepEqual(Object.keys(out), [output]);
      assertRel(out[output], ref[output], `${output} (opset ${opset})`);
      tf.dispose(Object.values(out));
    }
    const headFile = path.join(dir, 'head.onnx');
    const info = await exportOnnx(encoder.head!, headFile);
    assert.deepEqual(info.inputs, [{ name: 'representation', elemType: 'float32', shape: ['batch', encoder.representationDim] }]);
    const session = await createOnnxSession(headFile);
    const out = await session.run(ref.representation);
    await session.release();
    assertRel(out.projection, ref.projection, 'MLPHead alone');
    tf.dispose([...Object.values(out), x, xcf, ref.representation, ref.projection]);
    encoder.dispose();
  });

  it('bad options are ConfigErrors naming the option and leave no file; unknown modules are named', async () => {
    const encoder = createEncoder({ arch: 'resnet3d', widths: [4], depths: [1] });
    const text = createEncoder({ arch: 'text-transformer', vocabSize: 10, maxLength: 6, dim: 8, heads: 2, depth: 1 });
    const file = path.join(dir, 'never.onnx');
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => exportOnnx(encoder, file, { inputShape: [16, 16] }), /inputShape.*resnet3d needs 3 positive integer sizes/],
      [() => exportOnnx(encoder, file, { inputShape: [16, 0, 16] }), /inputShape/],
      [() => exportOnnx(encoder, file, { opset: 16 }), /opset.*17 to 21/],
      [() => exportOnnx(encoder, file, { output: 'both!' as 'both' }), /output/],
      [() => exportOnnx(text, file, { inputShape: [7] }), /sequence length 7 exceeds the encoder's maxLength 6/],
      [() => exportOnnx(encoder.head!, file, { output: 'representation' }), /only the 'projection' output/],
    ];
    for (const [run, message] of cases) await assert.rejects(run, (e: Error) => e instanceof ConfigError && message.test(e.message));
    class Custom extends Encoder {
      readonly config = { arch: 'custom' };
      readonly representationDim = 4;
      readonly projectionDim = 4;
      readonly head: MLPHead | null = null;
      represent(x: tf.Tensor): tf.Tensor2D {
        return x as tf.Tensor2D;
      }
    }
    await assert.rejects(exportOnnx(new Custom(), file), (e: Error) => e instanceof ValueError && /no ONNX translation for Custom/.test(e.message));
    assert.ok(!existsSync(file), 'a failed export left a file behind');
    encoder.dispose();
    text.dispose();
  });
});
