import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, FileFormatError, ShapeError, ValueError } from 'geoclr';
import {
  createOnnxSession,
  importOnnx,
  loadSafetensors,
  OnnxAttr,
  OnnxGraphBuilder,
  OnnxModel,
  OnnxUnsupportedError,
} from 'geoclr/interop';
import { needPython, runPython, runPythonFile } from './support/peers.js';
import { assertClose, assertNoLeak } from './support/tf.js';

const MODELS = ['cnn3d', 'cnn12d', 'text', 'torch_transformer'] as const;
type ModelName = (typeof MODELS)[number];

let fixtureDir: string | null = null;
/** Exports the PyTorch fixture models once (torch.onnx.export, opset 17) into a temp folder. */
function fixtures(ctx: Mocha.Context): string {
  needPython(ctx, ['torch', 'onnx']);
  if (fixtureDir == null) {
    const dir = mkdtempSync(path.join(tmpdir(), 'geoclr-onnx-'));
    runPythonFile(path.resolve('test/fixtures/onnx_models.py'), [dir]);
    fixtureDir = dir;
  }
  return fixtureDir;
}

async function load(ctx: Mocha.Context, name: ModelName) {
  const dir = fixtures(ctx);
  const model = await importOnnx(path.join(dir, `${name}.onnx`));
  const io = (await loadSafetensors(path.join(dir, `${name}.io.safetensors`))).tensors;
  const feeds = Object.fromEntries(model.inputNames.map((n) => [n, io.get(`input.${n}`)!]));
  return { model, io, feeds, file: path.join(dir, `${name}.onnx`) };
}

function outputsOf(model: OnnxModel, out: tf.Tensor | Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  return out instanceof tf.Tensor ? { [model.outputNames[0]]: out } : out;
}

/** The fixtures' linear loss L = Σ_o <out_o, R_o> (R saved by the Python side). */
function linearLoss(model: OnnxModel, io: Map<string, tf.Tensor>, feeds: Record<string, tf.Tensor>): tf.Scalar {
  const outs = outputsOf(model, model.apply(feeds));
  return Object.entries(outs)
    .map(([k, v]) => tf.sum(tf.mul(v, io.get(`loss.${k}`)!)))
    .reduce((a, b) => tf.add(a, b)) as tf.Scalar;
}

describe('interop: ONNX import (trainable), onnxruntime-node, graph builder', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-onnx-t-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    if (fixtureDir) rmSync(fixtureDir, { recursive: true, force: true });
  });

  describe('PyTorch models exported by torch.onnx.export (opset 17)', () => {
    for (const name of MODELS) {
      it(`${name}: outputs equal PyTorch's within 1e-4`, async function () {
        const { model, io, feeds } = await load(this, name);
        assert.equal(model.opset, 17);
        const outs = outputsOf(model, model.apply(feeds));
        assert.deepEqual(Object.keys(outs), model.outputNames);
        for (const [k, v] of Object.entries(outs)) {
          const ref = io.get(`output.${k}`)!;
          assert.deepEqual(v.shape, ref.shape, `${name}.${k} shape`);
          assertClose(v.dataSync(), ref.dataSync(), 0, 1e-4, `${name}.${k}`);
        }
        tf.dispose(Object.values(outs));
        model.dispose();
      });

      it(`${name}: gradients of every parameter and float input equal PyTorch's (${name === 'text' ? 'Gather/scatterND' : 'wasm-safe kernels'})`, async function () {
        const { model, io, feeds } = await load(this, name);
        const { value, grads } = tf.variableGrads(() => linearLoss(model, io, feeds), model.trainableVariables);
        let compared = 0;
        for (const [pname, v] of model.namedVariables) {
          const ref = io.get(`grad.${pname}`);
          if (!ref || !v.trainable) continue; // folded Conv+BN weights have ONNX-made names
          compared++;
          const scale = Math.max(1e-3, ...Array.from(ref.dataSync(), Math.abs));
          assertClose(grads[v.name].dataSync(), ref.dataSync(), 0, 1e-4 * scale, `${name} ∂L/∂${pname}`);
        }
        assert.ok(compared >= 6, `${name}: only ${compared} parameters matched by name`);
        const floatInputs = model.inputs.filter((i) => i.dtype === 'float32').map((i) => i.name);
        if (floatInputs.length) {
          const g = tf.grads((...xs: tf.Tensor[]) => linearLoss(model, io, { ...feeds, ...Object.fromEntries(floatInputs.map((n, i) => [n, xs[i]])) }));
          const dx = g(floatInputs.map((n) => feeds[n]));
          floatInputs.forEach((n, i) => assertClose(dx[i].dataSync(), io.get(`grad.input.${n}`)!.dataSync(), 0, 1e-5, `${name} ∂L/∂${n}`));
          tf.dispose(dx);
        }
        tf.dispose([value, ...Object.values(grads)]);
        model.dispose();
      });
    }

    it('one fine-tuning step changes the outputs and lowers a contrastive loss (3D CNN and text encoder)', async function () {
      for (const name of ['cnn3d', 'text'] as const) {
        const { model, feeds } = await load(this, name);
        // A geoclr-style InfoNCE between the embeddings of the batch and fixed random anchors.
        const batch = Object.values(feeds)[0].shape[0];
        const probe = outputsOf(model, model.predict(feeds))[model.outputNames[0]];
        const dim = probe.shape[1]!;
        probe.dispose();
        const anchors = tf.randomNormal([batch, dim], 0, 1, 'float32', 11);
        const loss = () =>
          tf.tidy(() => {
            const z = outputsOf(model, model.apply(feeds))[model.outputNames[0]];
            const zn = tf.div(z, tf.norm(z, 2, 1, true));
            const an = tf.div(anchors, tf.norm(anchors, 2, 1, true));
            const logits = tf.div(tf.matMul(zn, an, false, true), 0.1);
            return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.range(0, batch, 1, 'int32'), batch), logits) as tf.Scalar;
          });
        const before = outputsOf(model, model.predict(feeds))[model.outputNames[0]];
        const l0 = loss().dataSync()[0];
        const opt = tf.train.sgd(1e-3); // gradient norms are ~30 here: a small step is a descent step
        const { value, grads } = tf.variableGrads(loss, model.trainableVariables);
        for (const v of model.trainableVariables) assert.ok(grads[v.name], `no gradient for ${v.name}`);
        opt.applyGradients(grads);
        const l1 = loss().dataSync()[0];
        const after = outputsOf(model, model.predict(feeds))[model.outputNames[0]];
        assert.ok(l1 < l0, `${name}: loss did not decrease (${l0} → ${l1})`);
        const change = tf.max(tf.abs(tf.sub(after, before))).dataSync()[0];
        assert.ok(change > 1e-4, `${name}: outputs did not change (${change})`);
        tf.dispose([value, ...Object.values(grads), before, after, anchors]);
        opt.dispose();
        model.dispose();
      }
    });

    it('dynamic batch axis, input metadata, predict() frees intermediates, and no tensor leaks', async function () {
      const { model, feeds } = await load(this, 'cnn3d');
      assert.deepEqual(model.inputNames, ['volume']);
      assert.deepEqual(model.inputs[0].shape, ['batch', 1, 12, 10, 8]);
      assert.deepEqual(model.outputNames, ['out0']);
      const full = model.predict(feeds.volume) as tf.Tensor;
      const one = tf.slice(feeds.volume, [1, 0, 0, 0, 0], [1, 1, 12, 10, 8]);
      const single = await assertNoLeak(() => {
        const y = model.predict(one) as tf.Tensor;
        const copy = y.dataSync().slice();
        y.dispose();
        return copy;
      }, 'predict');
      assertClose(single, full.dataSync().slice(6, 12), 0, 1e-5, 'batch of 1 vs row 1 of the batch of 2');
      await assertNoLeak(() => tf.dispose(model.apply(one)), 'apply');
      const inter = model.predict(one, { outputs: ['/Flatten_output_0'] }) as Record<string, tf.Tensor>;
      assert.deepEqual(inter['/Flatten_output_0'].shape, [1, 8]);
      tf.dispose([full, one, ...Object.values(inter)]);
      model.dispose();
    });

    it('wrong inputs are typed errors naming the input', async function () {
      const { model, feeds } = await load(this, 'cnn12d');
      assert.throws(() => model.apply(feeds.signal), /has 2 inputs \(signal, image\); pass a record/);
      assert.throws(() => model.apply({ signal: feeds.signal }), (e: unknown) => e instanceof ValueError && /input 'image' is missing/.test((e as Error).message));
      const bad = tf.zeros([2, 3, 7, 9]);
      assert.throws(() => model.apply({ signal: feeds.signal, image: bad }), (e: unknown) => e instanceof ShapeError && /input 'image' has shape \[2,3,7,9\]; the model expects \[batch,2,11,9\]/.test((e as Error).message));
      const text = await load(this, 'text');
      assert.throws(() => text.model.apply(tf.zeros([2, 5])), /must be an integer tensor \(INT64\)/);
      tf.dispose(bad);
      model.dispose();
      text.model.dispose();
    });

    it('onnxruntime-node runs the same models with PyTorch\'s outputs (fast embedding extraction)', async function () {
      for (const name of MODELS) {
        const dir = fixtures(this);
        const session = await createOnnxSession(path.join(dir, `${name}.onnx`));
        const io = (await loadSafetensors(path.join(dir, `${name}.io.safetensors`))).tensors;
        const out = await session.run(Object.fromEntries(session.inputNames.map((n) => [n, io.get(`input.${n}`)!])));
        for (const [k, v] of Object.entries(out)) assertClose(v.dataSync(), io.get(`output.${k}`)!.dataSync(), 0, 1e-4, `ort ${name}.${k}`);
        tf.dispose(Object.values(out));
        await session.release();
      }
    });
  });

  describe('bad input', () => {
    it('not a model, truncated bytes, a protobuf that is no model, a missing file: FileFormatError', async function () {
      const good = readFileSync(path.join(fixtures(this), 'cnn3d.onnx'));
      const cut = path.join(dir, 'cut.onnx');
      writeFileSync(cut, good.subarray(0, Math.floor(good.length * 0.6)));
      await assert.rejects(importOnnx(cut), (e: unknown) => e instanceof FileFormatError && e.file === cut && /not a valid ONNX model/.test(e.message));
      const text = path.join(dir, 'readme.onnx');
      writeFileSync(text, 'This is a README, not a model.\n');
      await assert.rejects(importOnnx(text), FileFormatError);
      await assert.rejects(importOnnx(new Uint8Array([0x08, 0x07])), /not an ONNX model: no graph/); // ir_version only
      await assert.rejects(importOnnx(path.join(dir, 'absent.onnx')), /cannot open/);
      await assert.rejects(createOnnxSession(text), FileFormatError);
    });
  });

  describe('unsupported operators', () => {
    it('are all listed, by name, in one error before anything runs', async () => {
      const g = new OnnxGraphBuilder('unsupported');
      const x = g.input('x', 'float32', ['batch', 4]);
      const [a] = g.node('Relu', [x]);
      const [b] = g.node('FancyAttention', [a]);
      const [c] = g.node('Hardmax', [b]);
      const [d] = g.node('GroupQueryAttention', [c], {}, { domain: 'com.microsoft' });
      const [e] = g.node('FancyAttention', [d]);
      const [m] = g.node('MaxPool', [e], { kernel_shape: [2], dilations: [2] });
      g.output(m, 'float32');
      const before = tf.memory().numTensors;
      await assert.rejects(importOnnx(g.toBytes()), (err: unknown) => {
        assert.ok(err instanceof OnnxUnsupportedError);
        assert.deepEqual(err.ops, ['FancyAttention', 'Hardmax', 'com.microsoft::GroupQueryAttention']);
        assert.match(err.message, /unsupported ONNX operators: FancyAttention, Hardmax, com\.microsoft::GroupQueryAttention/);
        assert.match(err.message, /MaxPool 'MaxPool_5': dilations ≠ 1 are not supported/);
        return true;
      });
      assert.equal(tf.memory().numTensors, before, 'nothing was allocated');
    });
  });

  describe('graph builder (foundation of ONNX export)', () => {
    it('Conv+Relu+GlobalAveragePool+Gemm with a dynamic batch passes onnx.checker (full_check) and runs in onnxruntime-node', async function () {
      const g = new OnnxGraphBuilder('tiny-encoder', { metadata: { geoclr: '{"model":"tiny"}' } });
      const x = g.input('image', 'float32', ['batch', 3, 16, 16]);
      const params = {
        'conv.weight': tf.randomNormal([8, 3, 3, 3], 0, 0.3, 'float32', 1),
        'conv.bias': tf.randomNormal([8], 0, 0.1, 'float32', 2),
        'fc.weight': tf.randomNormal([4, 8], 0, 0.3, 'float32', 3),
        'fc.bias': tf.randomNormal([4], 0, 0.1, 'float32', 4),
      };
      for (const [k, v] of Object.entries(params)) g.initializer(k, v);
      const [c] = g.node('Conv', [x, 'conv.weight', 'conv.bias'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] });
      const [r] = g.node('Relu', [c]);
      const [p] = g.node('GlobalAveragePool', [r]);
      const [f] = g.node('Flatten', [p], { axis: 1 });
      const [y] = g.node('Gemm', [f, 'fc.weight', 'fc.bias'], { transB: 1, alpha: OnnxAttr.float(1) });
      g.output(y, 'float32', ['batch', 4], 'embedding');
      const file = path.join(dir, 'tiny.onnx');
      await g.save(file);
      const input = tf.randomNormal([3, 3, 16, 16], 0, 1, 'float32', 5);
      const session = await createOnnxSession(file);
      const ort = (await session.run(input)).embedding;
      const model = await importOnnx(file);
      const mine = model.apply(input) as tf.Tensor;
      assert.deepEqual(ort.shape, [3, 4]);
      assertClose(mine.dataSync(), ort.dataSync(), 0, 1e-5, 'importOnnx vs onnxruntime');
      needPython(this, ['onnx', 'torch']);
      writeFileSync(path.join(dir, 'tiny.input.json'), JSON.stringify(Array.from(input.dataSync())));
      const out = runPython(
        `import sys, json, onnx, torch, torch.nn.functional as F
from onnx import numpy_helper
m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)
w = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
x = torch.tensor(json.load(open(sys.argv[2]))).reshape(3, 3, 16, 16)
y = F.linear(F.relu(F.conv2d(x, w['conv.weight'], w['conv.bias'], stride=2, padding=1)).mean(dim=(2, 3)), w['fc.weight'], w['fc.bias'])
dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
print(json.dumps({"ir": m.ir_version, "opset": m.opset_import[0].version, "dims": dims, "y": y.flatten().tolist(), "meta": {p.key: p.value for p in m.metadata_props}}))`,
        [file, path.join(dir, 'tiny.input.json')],
      );
      const res = JSON.parse(out);
      assert.equal(res.ir, 8);
      assert.equal(res.opset, 17);
      assert.deepEqual(res.dims, ['batch', 3, 16, 16]);
      assert.deepEqual(res.meta, { geoclr: '{"model":"tiny"}' });
      assertClose(ort.dataSync(), res.y, 0, 1e-5, 'onnxruntime vs PyTorch');
      tf.dispose([input, ort, mine, ...Object.values(params)]);
      model.dispose();
      await session.release();
    });

    it('an op zoo built with the builder runs the same in importOnnx (wasm) and onnxruntime-node', async () => {
      const g = new OnnxGraphBuilder('zoo');
      const x = g.input('x', 'float32', ['batch', 3, 6, 5]);
      const ids = g.input('ids', 'int64', ['batch', 4]);
      const outs: string[] = [];
      const emit = (v: string) => outs.push(g.output(v, 'float32', null, `o${outs.length}`));
      emit(g.node('Slice', [x, g.int64s([5, 4]), g.int64s([-100, 0]), g.int64s([2, 3]), g.int64s([-2, -1])])[0]);
      emit(g.node('Pad', [x, g.int64s([0, 0, 1, 2, 0, 0, 2, 1])], { mode: 'reflect' })[0]);
      emit(g.node('Pad', [x, g.int64s([0, 0, 1, 0, 0, 0, 0, 2])], { mode: 'edge' })[0]);
      emit(g.node('Softmax', [x], { axis: 1 })[0]);
      emit(g.node('LogSoftmax', [x], { axis: 2 })[0]);
      const scale = g.initializer('in.scale', tf.tensor1d([1, 2, 0.5]));
      const bias = g.initializer('in.bias', tf.tensor1d([0, -1, 1]));
      emit(g.node('InstanceNormalization', [x, scale, bias], { epsilon: OnnxAttr.float(1e-5) })[0]);
      const [s0, s1] = g.node('Split', [x, g.int64s([2, 3])], { axis: 3 }, { outputs: 2 });
      emit(g.node('Tile', [s0, g.int64s([1, 2, 1, 2])])[0]);
      emit(g.node('Mul', [s0, g.node('Slice', [s1, g.int64s([0]), g.int64s([2]), g.int64s([3])])[0]])[0]);
      emit(g.node('Expand', [g.node('ReduceMax', [x], { axes: [1], keepdims: 1 })[0], g.int64s([1, 3, 1, 1])])[0]);
      const [am] = g.node('ArgMax', [x], { axis: 2, keepdims: 0 });
      emit(g.node('Cast', [am], { to: 1 })[0]);
      emit(g.node('CumSum', [x, g.int64s([3])], { exclusive: 1 })[0]);
      emit(g.node('Where', [g.node('Greater', [x, g.node('ReduceMean', [x], { axes: [2, 3], keepdims: 1 })[0]])[0], x, g.node('Neg', [x])[0]])[0]);
      const table = g.initializer('emb', tf.randomNormal([10, 3], 0, 1, 'float32', 9));
      emit(g.node('Gather', [table, ids], { axis: 0 })[0]);
      emit(g.node('Gather', [x, g.int64s([-1, 0])], { axis: 3 })[0]);
      emit(g.node('HardSigmoid', [g.node('Clip', [x, g.node('Constant', [], { value: tf.scalar(-0.5) })[0], ''])[0]])[0]);
      emit(g.node('ReduceLogSumExp', [g.node('Transpose', [x], { perm: [0, 2, 3, 1] })[0]], { axes: [-1], keepdims: 0 })[0]);
      emit(g.node('Sqrt', [g.node('Abs', [x])[0]])[0]);
      // Volumes: 3D conv (stride, dilation, groups, asymmetric pads) and 3D/1D pooling with padding and ceil mode.
      const v = g.input('v', 'float32', ['batch', 4, 7, 6, 5]);
      const w3 = g.initializer('w3', tf.randomNormal([6, 2, 3, 2, 3], 0, 0.3, 'float32', 31));
      emit(g.node('Conv', [v, w3], { kernel_shape: [3, 2, 3], strides: [2, 1, 2], dilations: [1, 2, 1], pads: [1, 0, 2, 0, 1, 1], group: 2 })[0]);
      emit(g.node('MaxPool', [v], { kernel_shape: [3, 3, 2], strides: [2, 2, 2], pads: [1, 1, 0, 1, 1, 1], ceil_mode: 1 })[0]);
      emit(g.node('AveragePool', [v], { kernel_shape: [2, 3, 3], strides: [2, 2, 1], pads: [0, 1, 1, 1, 1, 1], count_include_pad: 0 })[0]);
      emit(g.node('AveragePool', [v], { kernel_shape: [3, 2, 2], strides: [2, 2, 2], pads: [1, 1, 0, 1, 0, 1], count_include_pad: 1, ceil_mode: 1 })[0]);
      const [flat] = g.node('Reshape', [v, g.int64s([0, 4, -1])]);
      emit(g.node('AveragePool', [flat], { kernel_shape: [4], strides: [3], pads: [2, 2], ceil_mode: 1 })[0]);
      emit(g.node('GlobalMaxPool', [v])[0]);
      const file = path.join(dir, 'zoo.onnx');
      await g.save(file);
      const feeds = {
        x: tf.randomNormal([2, 3, 6, 5], 0, 1, 'float32', 21),
        ids: tf.tensor2d([[1, 0, 9, 3], [9, 9, 2, 5]], [2, 4], 'int32'),
        v: tf.randomNormal([2, 4, 7, 6, 5], 0, 1, 'float32', 22),
      };
      const session = await createOnnxSession(file);
      const ref = await session.run(feeds);
      const model = await importOnnx(file);
      const mine = model.apply(feeds) as Record<string, tf.Tensor>;
      for (const o of outs) {
        assert.deepEqual(mine[o].shape, ref[o].shape, `${o} shape`);
        assertClose(mine[o].dataSync(), ref[o].dataSync(), 1e-5, 1e-5, o);
      }
      tf.dispose([...Object.values(feeds), ...Object.values(ref), ...Object.values(mine)]);
      model.dispose();
      await session.release();
    });
  });
});
