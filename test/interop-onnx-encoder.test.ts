/**
 * Fine-tuning a lab's ONNX model as a geoclr encoder (OnnxEncoder), run folders (`loadInitModel`, `importOnnxRun`,
 * `exportRun`) and the `geoclr import` / `geoclr export` commands.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, AdamW, ConfigError, FileFormatError, ResNetEncoder, Rng, ValueError, createEncoder, infoNCE, loadEncoderFile, parameterGroups, saveEncoderFile } from 'geoclr';
import {
  OnnxEncoder,
  OnnxGraphBuilder,
  OnnxUnsupportedError,
  createOnnxSession,
  decodeOnnxModel,
  exportOnnx,
  exportRun,
  importOnnxRun,
  loadInitModel,
  loadSafetensors,
  readImportRecord,
  saveSafetensors,
} from 'geoclr/interop';
import { needPython, runPythonFile } from './support/peers.js';
import { assertNoLeak } from './support/tf.js';
import { assertRel, channelsFirst, perturbBatchNorm } from './support/encoder-cases.js';

function geoclr(args: string[]) {
  const r = spawnSync(process.execPath, ['scripts/geoclr.js', ...args], { encoding: 'utf8', env: { ...process.env, GEOCLR_PROGRESS: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** NC… → channels-last. */
function channelsLast(x: tf.Tensor): tf.Tensor {
  return tf.transpose(x, [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1]);
}

describe('interop: OnnxEncoder, run folders, geoclr import / export', function () {
  this.timeout(120_000);
  let dir: string;
  let fixtureDir: string | null = null;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-onnxenc-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    if (fixtureDir) rmSync(fixtureDir, { recursive: true, force: true });
  });

  /** PyTorch models exported by torch.onnx.export (test/fixtures/onnx_models.py): a lab's pretrained encoders. */
  function labModels(ctx: Mocha.Context): string {
    needPython(ctx, ['torch', 'onnx']);
    if (fixtureDir == null) {
      const d = mkdtempSync(path.join(tmpdir(), 'geoclr-onnxenc-fx-'));
      runPythonFile(path.resolve('test/fixtures/onnx_models.py'), [d, 'cnn3d', 'text', 'cnn12d']);
      fixtureDir = d;
    }
    return fixtureDir;
  }

  async function labIo(name: string) {
    return (await loadSafetensors(path.join(fixtureDir!, `${name}.io.safetensors`))).tensors;
  }

  describe('OnnxEncoder', () => {
    it("a lab's 3D CNN: PyTorch's outputs on channels-last data, PyTorch names, frozen statistics, seeded head", async function () {
      const file = path.join(labModels(this), 'cnn3d.onnx');
      const io = await labIo('cnn3d');
      const enc = await OnnxEncoder.load(file, { head: { hidden: [16], out: 8 }, seed: 1 });
      assert.equal(enc.representationDim, 6);
      assert.equal(enc.projectionDim, 8);
      assert.deepEqual(enc.config, {
        arch: 'onnx', source: file, inputs: ['volume'], representationOutput: 'out0', projectionOutput: null, representationDim: 6,
        head: { hidden: [16], out: 8, batchNorm: false }, seed: 1, layout: 'channels-last',
      });
      const names = enc.namedParameters().map(([n]) => n);
      for (const n of ['conv1.weight', 'bn1.weight', 'bn1.bias', 'head.weight', 'head.0.weight', 'head.2.bias']) assert.ok(names.includes(n), `no parameter ${n} in ${names}`);
      assert.deepEqual(enc.namedBuffers().map(([n]) => n), ['bn1.running_mean', 'bn1.running_var']);
      assert.ok(enc.parameters().every((v) => v.trainable));
      const x = channelsLast(io.get('input.volume')!);
      const out = await assertNoLeak(() => {
        const o = enc.forward(x);
        const copy = { rep: o.representation.dataSync().slice(), shape: o.projection.shape };
        tf.dispose([o.representation, o.projection]);
        return copy;
      }, 'forward');
      assertRel(out.rep, io.get('output.out0')!.dataSync(), 'representation vs PyTorch');
      assert.deepEqual(out.shape, [2, 8]);
      // The same seed gives the same head; the state dict round-trips into a second encoder.
      const twin = await OnnxEncoder.load(file, { head: { hidden: [16], out: 8 }, seed: 1 });
      const other = await OnnxEncoder.load(file, { head: { hidden: [16], out: 8 }, seed: 2 });
      assert.deepEqual(twin.head!.stateDict()['0.weight'].dataSync(), enc.head!.stateDict()['0.weight'].dataSync());
      assert.notDeepEqual(other.head!.stateDict()['0.weight'].dataSync(), enc.head!.stateDict()['0.weight'].dataSync());
      other.loadStateDict(enc.stateDict());
      const a = enc.forward(x);
      const b = other.forward(x);
      assertRel(b.projection, a.projection, 'projection after loadStateDict', 0);
      tf.dispose([a.representation, a.projection, b.representation, b.projection, x, ...io.values()]);
      [enc, twin, other].forEach((e) => e.dispose());
    });

    it('a few AdamW steps of InfoNCE lower the loss on the active backend; running statistics stay frozen', async function () {
      const file = path.join(labModels(this), 'cnn3d.onnx');
      const enc = await OnnxEncoder.load(file, { head: { hidden: [16], out: 8 }, seed: 0 });
      const rng = new Rng(4);
      const shape = [6, 12, 10, 8, 1];
      const n = shape.reduce((p, q) => p * q, 1);
      const x = tf.tensor(rng.normalArray(n), shape);
      const views = [0, 1].map(() => tf.tidy(() => tf.add(x, tf.mul(0.3, tf.tensor(rng.normalArray(n), shape)))));
      const stats = enc.namedBuffers().map(([, v]) => v.dataSync().slice());
      const before = enc.namedParameters().map(([, v]) => v.dataSync().slice());
      enc.train();
      const optimizer = new AdamW(parameterGroups(enc, { weightDecay: 0.01 }), { lr: 3e-3 });
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        const { value, grads } = tf.variableGrads(() => infoNCE(enc.forward(views[0]).projection, enc.forward(views[1]).projection, { temperature: 0.5 }), enc.parameters());
        assert.equal(Object.keys(grads).length, enc.parameters().length, 'every parameter gets a gradient');
        optimizer.step(grads);
        losses.push(value.dataSync()[0]);
        tf.dispose([value, ...Object.values(grads)]);
      }
      const last = tf.tidy(() => infoNCE(enc.forward(views[0]).projection, enc.forward(views[1]).projection, { temperature: 0.5 }).dataSync()[0]);
      assert.ok(last < losses[0] - 1e-3, `InfoNCE did not decrease: ${losses.map((l) => l.toFixed(4))} → ${last.toFixed(4)}`);
      enc.namedParameters().forEach(([name, v], i) => assert.notDeepEqual(v.dataSync(), before[i], `${name} did not change`));
      enc.namedBuffers().forEach(([name, v], i) => assert.deepEqual(v.dataSync(), stats[i], `${name} changed`));
      optimizer.dispose();
      tf.dispose([x, ...views]);
      enc.dispose();
    });

    it("token ids pass unchanged; a mask goes to the model's second input (ones when absent) or is refused", async function () {
      const io = await labIo('text');
      const lab = await OnnxEncoder.load(path.join(labModels(this), 'text.onnx'));
      const ids = io.get('input.input_ids')!;
      const out = lab.forward(ids);
      assertRel(out.representation, io.get('output.out0')!, 'text representation vs PyTorch');
      assert.throws(() => lab.forward(ids, tf.onesLike(ids)), (e: Error) => e instanceof ValueError && /takes no attention mask/.test(e.message));
      tf.dispose([out.representation, out.projection, ...io.values()]);
      lab.dispose();
      // A geoclr text encoder exported with input_ids + attention_mask.
      const text = createEncoder({ arch: 'text-transformer', vocabSize: 20, maxLength: 6, dim: 8, heads: 2, depth: 1, dropout: 0, pooling: 'mean' }, { seed: 2 });
      text.eval();
      const file = path.join(dir, 'text.onnx');
      await exportOnnx(text, file);
      const wrapped = await OnnxEncoder.load(file, { representationDim: 8 });
      const t = tf.tensor([[1, 5, 7, 2, 0, 0], [3, 3, 9, 11, 12, 4]], [2, 6], 'int32');
      const mask = tf.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], [2, 6], 'int32');
      for (const m of [undefined, mask]) {
        const ref = text.forward(t, m);
        const got = wrapped.forward(t, m);
        assertRel(got.projection, ref.projection, `projection (${m ? 'with' : 'without'} mask)`);
        tf.dispose([ref.representation, ref.projection, got.representation, got.projection]);
      }
      tf.dispose([t, mask]);
      wrapped.dispose();
      text.dispose();
    });

    it('bad wiring is a ConfigError naming the problem: unknown output, two float inputs, a clashing head, an unknown width', async function () {
      const fx = labModels(this);
      await assert.rejects(OnnxEncoder.load(path.join(fx, 'cnn3d.onnx'), { representationOutput: 'nope' }), (e: Error) => e instanceof ConfigError && /no value named 'nope' \(outputs: out0\)/.test(e.message));
      await assert.rejects(OnnxEncoder.load(path.join(fx, 'cnn12d.onnx')), (e: Error) => e instanceof ConfigError && /signal \(FLOAT\), image \(FLOAT\)/.test(e.message));
      const enc = createEncoder({ arch: 'resnet2d', widths: [4], depths: [1], head: { hidden: [], out: 4 } });
      enc.eval();
      const file = path.join(dir, 'r2d.onnx');
      await exportOnnx(enc, file);
      await assert.rejects(OnnxEncoder.load(file, { representationOutput: 'projection', head: { out: 4 } }), (e: Error) => e instanceof ConfigError && /already has weights named head\.0\.weight/.test(e.message));
      const pooled = decodeOnnxModel(readFileSync(file), file).graph!.node!.find((nd) => nd.op_type === 'GlobalAveragePool')!.output![0];
      await assert.rejects(OnnxEncoder.load(file, { representationOutput: pooled, head: { out: 4 } }), (e: Error) => e instanceof ConfigError && /pass representationDim/.test(e.message));
      // With the width given, an inner [B, C, 1, 1] value works (flattened to [B, C]).
      const inner = await OnnxEncoder.load(file, { representationOutput: pooled, representationDim: 4 });
      const x = tf.randomNormal([2, 9, 7, 1], 0, 1, 'float32', 3);
      const a = inner.forward(x);
      const b = enc.forward(x);
      assertRel(a.representation, b.representation, 'inner value as representation');
      tf.dispose([x, a.representation, a.projection, b.representation, b.projection]);
      inner.dispose();
      enc.dispose();
    });
  });

  describe('run folders and the CLI', () => {
    let runDir: string;
    let encoder: ResNetEncoder;
    before(async () => {
      runDir = path.join(dir, 'run');
      encoder = createEncoder({ arch: 'resnet3d', widths: [4, 8], depths: [1, 1] }, { seed: 6 }) as ResNetEncoder;
      perturbBatchNorm(encoder, new Rng(8));
      encoder.eval();
      await saveEncoderFile(path.join(runDir, 'model.safetensors'), encoder, { 'geoclr.input': { shape: [12, 16, 12], channels: 1 } });
      writeFileSync(path.join(runDir, 'config.json'), JSON.stringify({ encoder: encoder.config }));
    });
    after(() => encoder.dispose());

    it('geoclr export --format onnx: the input size recorded in the weights, outputs equal to tfjs in onnxruntime', async () => {
      const out = path.join(dir, 'run.onnx');
      const r = geoclr(['export', '--run', runDir, '--format', 'onnx', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /input size \[12,16,12\] \(recorded in the weights\)/);
      assert.match(r.stdout, /volume float32 \[batch, 1, 12, 16, 12\]/);
      assert.match(r.stdout, /tf\.transpose\(x, \[0,4,1,2,3\]\)/);
      const x = tf.randomNormal([2, 12, 16, 12, 1], 0, 1, 'float32', 1);
      const ref = encoder.forward(x);
      const session = await createOnnxSession(out);
      const xcf = channelsFirst(x);
      const o = await session.run(xcf);
      await session.release();
      assertRel(o.representation, ref.representation, 'representation');
      assertRel(o.projection, ref.projection, 'projection');
      tf.dispose([x, xcf, ref.representation, ref.projection, ...Object.values(o)]);
    });

    it('geoclr export --format safetensors keeps the weights, config and input metadata; loadInitModel gives the geoclr encoder', async () => {
      const out = path.join(dir, 'run.safetensors');
      const r = geoclr(['export', '--run', runDir, '--format', 'safetensors', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      const { encoder: back, metadata } = await loadEncoderFile(out);
      assert.deepEqual(metadata['geoclr.input'], { shape: [12, 16, 12], channels: 1 });
      assert.deepEqual(back.config, encoder.config);
      const init = await loadInitModel(runDir);
      assert.ok(init instanceof ResNetEncoder);
      for (const [name, v] of Object.entries(encoder.stateDict())) {
        assert.deepEqual(back.stateDict()[name].dataSync(), v.dataSync(), name);
        assert.deepEqual(init.stateDict()[name].dataSync(), v.dataSync(), name);
      }
      back.dispose();
      init.dispose();
    });

    it('export errors: missing folder, no weights, a bad format, an input size that contradicts the weights', async () => {
      const missing = geoclr(['export', '--run', path.join(dir, 'nope'), '--format', 'onnx', '--out', path.join(dir, 'x.onnx')]);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /nope: the run folder does not exist/);
      const bad = geoclr(['export', '--run', runDir, '--format', 'pt', '--out', path.join(dir, 'x.pt')]);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /--format.*must be onnx or safetensors/);
      const empty = path.join(dir, 'empty');
      mkdirSync(empty);
      await assert.rejects(exportRun(empty, { format: 'onnx', out: path.join(dir, 'x.onnx') }), (e: Error) => e instanceof FileFormatError && /has no model\.safetensors to export/.test(e.message));
      await assert.rejects(exportRun(runDir, { format: 'onnx', out: path.join(dir, 'x.onnx'), inputShape: [8, 8, 8] }), (e: Error) => e instanceof ConfigError && /differs from the input size the weights record/.test(e.message));
      await assert.rejects(loadInitModel(empty), (e: Error) => e instanceof FileFormatError && /holds neither model\.safetensors/.test(e.message));
      await assert.rejects(loadInitModel(path.join(dir, 'nope')), (e: Error) => e instanceof FileFormatError && /does not exist/.test(e.message));
      assert.ok(!existsSync(path.join(dir, 'x.onnx')));
    });

    it("geoclr import: copies a lab's model with import.json; loadInitModel fine-tunes it (same head, same outputs)", async function () {
      const file = path.join(labModels(this), 'cnn3d.onnx');
      const target = path.join(dir, 'imported');
      const r = geoclr(['import', '--onnx', file, '--out', target, '--head', '16,8', '--seed', '2']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /representation: out0 \[batch, 6\]/);
      assert.match(r.stdout, /fresh MLP head 16→8 \(seed 2\)/);
      assert.deepEqual(readFileSync(path.join(target, 'model.onnx')), readFileSync(file));
      const record = await readImportRecord(target);
      assert.equal(record.representationOutput, 'out0');
      assert.deepEqual(record.head, { hidden: [16], out: 8, batchNorm: false });
      assert.equal(record.opset, 17);
      assert.match(record.producer, /pytorch/);
      const init = await loadInitModel(target);
      assert.ok(init instanceof OnnxEncoder);
      const direct = await OnnxEncoder.load(file, { head: { hidden: [16], out: 8 }, seed: 2 });
      assert.equal(record.parameters, direct.numParameters());
      const x = tf.randomNormal([2, 12, 10, 8, 1], 0, 1, 'float32', 5);
      const a = init.forward(x);
      const b = direct.forward(x);
      assertRel(a.projection, b.projection, 'projection', 0);
      // Fine-tuned weights saved beside the import (as a run trained from it keeps them) are loaded back.
      for (const [, v] of init.namedParameters()) v.assign(tf.mul(v, 0.9));
      const tuned = init.forward(x);
      await saveSafetensors(path.join(target, 'model.safetensors'), init.stateDict());
      const resumed = await loadInitModel(target);
      const c = resumed.forward(x);
      assertRel(c.projection, tuned.projection, 'projection after reloading fine-tuned weights', 0);
      assert.ok(Math.abs(c.projection.dataSync()[0] - b.projection.dataSync()[0]) > 1e-6, 'the fine-tuned weights were not used');
      await assert.rejects(exportRun(target, { format: 'onnx', out: path.join(dir, 'y.onnx') }), (e: Error) => e instanceof FileFormatError && /holds an imported ONNX model/.test(e.message));
      tf.dispose([x, a.representation, a.projection, b.representation, b.projection, tuned.representation, tuned.projection, c.representation, c.projection]);
      [init, direct, resumed].forEach((e) => e.dispose());
      rmSync(path.join(target, 'model.safetensors'));
      // A second import into the same folder needs --force; a changed model.onnx is refused by loadInitModel.
      const again = geoclr(['import', '--onnx', file, '--out', target]);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /already holds model\.onnx, import\.json; .* --force/);
      writeFileSync(path.join(target, 'model.onnx'), Buffer.concat([readFileSync(file), Buffer.from([0])]));
      await assert.rejects(loadInitModel(target), (e: Error) => e instanceof FileFormatError && /sha256 differs/.test(e.message));
      writeFileSync(path.join(target, 'import.json'), '{"format": "something else"}');
      await assert.rejects(loadInitModel(target), (e: Error) => e instanceof FileFormatError && /not a geoclr import record/.test(e.message));
    });

    it('import errors: every unsupported operator in one message, not-ONNX files, and nothing written', async () => {
      const g = new OnnxGraphBuilder('odd');
      const x = g.input('x', 'float32', ['batch', 4]);
      const [a] = g.node('FancyNorm', [x]);
      const [b] = g.node('Relu', [g.node('Hardmax', [a])[0]]);
      g.output(g.node('SpecialPool', [b])[0], 'float32', ['batch', 4], 'y');
      const odd = path.join(dir, 'odd.onnx');
      await g.save(odd);
      const target = path.join(dir, 'odd-run');
      const r = geoclr(['import', '--onnx', odd, '--out', target]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /unsupported ONNX operators: FancyNorm, Hardmax, SpecialPool/);
      await assert.rejects(importOnnxRun(odd, target), (e: Error) => e instanceof OnnxUnsupportedError && e.ops.length === 3);
      const junk = path.join(dir, 'junk.onnx');
      writeFileSync(junk, 'not a model at all');
      await assert.rejects(importOnnxRun(junk, target), (e: Error) => e instanceof FileFormatError && e.message.startsWith(junk));
      assert.ok(!existsSync(target), 'a failed import created the run folder');
      const noArgs = geoclr(['import', '--onnx', odd]);
      assert.equal(noArgs.status, 1);
      assert.match(noArgs.stderr, /--out.*is required/);
    });
  });
});
