/**
 * Longitudinal modelling against PyTorch:
 * - the composed objective (subject × time × age y-Aware + y-Aware on age + λ·trajectory direction on the stacked
 *   views + μ·FairKL against site), end to end through a small MLP encoder: value and the gradient of every weight
 *   and of the learned direction equal the float64 reference built from geoclr_ref (LOSSES.md §4, §5, §10);
 * - the patient-level VisitSequenceModel and its twin geoclr_torch.VisitSequenceModel: identical parameter names,
 *   state_dicts load both ways (strict) and give the same outputs on padded sequences.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  tf,
  Rng,
  Linear,
  LearnedDirection,
  longitudinalObjective,
  yAwareInfoNCE,
  fairKL,
  rbfKernel,
  VisitSequenceModel,
  packSequences,
} from 'geoclr';
import { needPython, runPythonFile } from './support/peers.js';
import { readExchange, tempExchangeDir, writeExchange, type ExchangeArray } from './support/exchange.js';
import { assertNoLeak } from './support/tf.js';

function maxRel(a: ArrayLike<number>, e: ArrayLike<number>): number {
  assert.equal(a.length, e.length);
  let scale = 1e-12;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]));
  let d = 0;
  for (let i = 0; i < e.length; i++) d = Math.max(d, Math.abs(a[i] - e[i]));
  return Number.isNaN(d) ? Infinity : d / scale;
}

// 5 subjects: 2–3 visits each, times in years, ages, diagnosis and site labels (both sites in each class).
const SUBJECTS = ['a', 'a', 'a', 'b', 'b', 'c', 'c', 'd', 'd', 'd', 'e', 'e'];
const TIMES = [0, 1.2, 3.1, 0, 2, 0.5, 1.5, 0, 0.8, 4, 0, 2.5];
const AGE0: Record<string, number> = { a: 61, b: 70, c: 55, d: 78, e: 66 };
const AGES = SUBJECTS.map((s, i) => AGE0[s] + TIMES[i]);
const DX = SUBJECTS.map((s) => (s === 'a' || s === 'd' ? 'AD' : 'CN'));
const SITE = SUBJECTS.map((_, i) => (i % 3 === 0 ? 'A' : 'B'));
const OPTS = { temperature: 0.2, sigmaTime: 1.5, ageSigma: 20, ageWeight: 0.5, directionWeight: 0.7, fairWeight: 0.3 };

describe('longitudinal objectives and sequence model vs PyTorch', function () {
  let ref: Record<string, ExchangeArray> = {};
  let ours: { value: number; grads: Record<string, Float32Array> };
  let seqOurs: Record<string, Float32Array>;
  let seqReverse: Record<string, Float32Array>;
  const seqConfig = { inputDim: 6, dim: 8, depth: 2, heads: 2, ffDim: 12, timeFrequencies: 2, maxPeriod: 10, outputs: 2 };

  before(function () {
    needPython(this, ['torch', 'numpy']);
    const rng = new Rng(3);
    const n = SUBJECTS.length;
    const lin1 = new Linear(7, 6, { rng });
    const head = new Linear(6, 5, { rng });
    const dir = new LearnedDirection(6, { seed: 2 });
    const x1 = tf.tensor2d(rng.normalArray(n * 7), [n, 7]);
    const x2 = tf.tensor2d(rng.normalArray(n * 7), [n, 7]);
    const vars: Record<string, tf.Variable> = { 'lin1.weight': lin1.weight, 'lin1.bias': lin1.bias!, 'head.weight': head.weight, 'head.bias': head.bias!, direction: dir.direction };
    const names = Object.keys(vars);
    const { value, grads } = tf.variableGrads(() => {
      const r1 = tf.relu(lin1.forward(x1));
      const r2 = tf.relu(lin1.forward(x2));
      const z1 = head.forward(r1);
      const z2 = head.forward(r2);
      const batch = { subjects: SUBJECTS, times: TIMES, metadata: AGES.map((a) => [a]) };
      const long = longitudinalObjective({ z1, z2, r1, r2 }, batch, dir.direction, {
        temperature: OPTS.temperature,
        sigmaTime: OPTS.sigmaTime,
        metadataKernel: rbfKernel(OPTS.ageSigma),
        directionWeight: OPTS.directionWeight,
      });
      const age = yAwareInfoNCE(z1, z2, AGES, { kernel: rbfKernel(5) });
      const fair = fairKL(r1, DX, SITE, { mode: 'kl' });
      return tf.addN([long.total, tf.mul(age, OPTS.ageWeight), tf.mul(fair, OPTS.fairWeight)]) as tf.Scalar;
    }, names.map((k) => vars[k]));
    ours = { value: value.dataSync()[0], grads: Object.fromEntries(names.map((k) => [k, grads[vars[k].name].dataSync() as Float32Array])) };

    // Sequence model: 3 subjects with 3, 1 and 2 visits (padded to 3).
    const model = new VisitSequenceModel(seqConfig, { seed: 5 });
    const seqs = [
      { subject: 's1', embeddings: [0, 1, 2].map(() => Array.from(rng.normalArray(6))), times: [0, 1.5, 4] },
      { subject: 's2', embeddings: [Array.from(rng.normalArray(6))], times: [2] },
      { subject: 's3', embeddings: [0, 1].map(() => Array.from(rng.normalArray(6))), times: [1, 3.3] },
    ];
    const packed = packSequences(seqs, 6);
    model.eval();
    const out = model.forward(packed.visits, packed.times, packed.padding);
    seqOurs = { patient: out.patient.dataSync() as Float32Array, prediction: out.prediction.dataSync() as Float32Array, attention: out.attention.dataSync() as Float32Array };
    const items: Record<string, tf.Tensor> = { 'obj.x1': x1, 'obj.x2': x2, 'seq.x': packed.visits, 'seq.times': packed.times, 'seq.padding': packed.padding };
    for (const k of names) items[`obj.param.${k}`] = vars[k];
    for (const [k, v] of Object.entries(model.stateDict())) items[`seq.state.${k}`] = v;

    const { dir: folder, cleanup } = tempExchangeDir();
    try {
      writeExchange(folder, items);
      writeFileSync(
        path.join(folder, 'cases.json'),
        JSON.stringify([
          { kind: 'objective', subjects: SUBJECTS, times: TIMES, ages: AGES, dx: DX, site: SITE, ...OPTS },
          { kind: 'sequence', config: seqConfig },
        ]),
      );
      runPythonFile(path.resolve('test/support/longitudinal_check.py'), [folder]);
      ref = readExchange(path.join(folder, 'out'));
    } finally {
      cleanup();
    }
    // Direction B: the twin's weights in geoclr.
    const twin = new VisitSequenceModel(seqConfig, { seed: 99 });
    const state = Object.fromEntries(
      Object.entries(ref)
        .filter(([k]) => k.startsWith('seq.pystate.'))
        .map(([k, v]) => [k.slice('seq.pystate.'.length), tf.tensor(v.data as Float32Array, v.shape)]),
    );
    twin.loadStateDict(state);
    twin.eval();
    const o2 = twin.forward(packed.visits, packed.times, packed.padding);
    seqReverse = { patient: o2.patient.dataSync() as Float32Array, prediction: o2.prediction.dataSync() as Float32Array, attention: o2.attention.dataSync() as Float32Array };
    tf.dispose([value, ...Object.values(grads), x1, x2, out.patient, out.prediction, out.attention, o2.patient, o2.prediction, o2.attention, ...Object.values(state), packed.visits, packed.times, packed.padding]);
    for (const m of [lin1, head, dir, model, twin]) m.dispose();
  });

  it('composed objective: value within 1e-4 and every gradient (weights, direction) within 1e-3 of float64 PyTorch', function () {
    needPython(this, ['torch', 'numpy']);
    const v = ref['obj.value'].data[0];
    assert.ok(Math.abs(ours.value - v) / Math.abs(v) < 1e-4, `value ${ours.value} vs ${v}`);
    for (const [k, g] of Object.entries(ours.grads)) {
      const e = ref[`obj.grad.${k}`];
      assert.ok(e, `reference has no gradient for ${k}`);
      assert.ok(e.data.some((x) => Math.abs(x) > 1e-6), `${k}: the reference gradient is not trivially zero`);
      const rel = maxRel(g, e.data);
      assert.ok(rel < 1e-3, `${k}: max relative difference ${rel.toExponential(2)}`);
    }
  });

  it('sequence model: geoclr weights → twin (strict load) gives the same patient embedding, prediction and attention', function () {
    needPython(this, ['torch', 'numpy']);
    for (const [k, v] of Object.entries(seqOurs)) {
      const rel = maxRel(v, ref[`seq.py.${k}`].data);
      assert.ok(rel < 1e-4, `${k}: ${rel.toExponential(2)}`);
    }
    // Padding gets no attention, real visits share all of it.
    assert.deepEqual(Array.from(seqOurs.attention.slice(3, 6)).map((a) => Number(a.toFixed(6))), [1, 0, 0]);
  });

  it('sequence model: twin weights → geoclr gives the twin’s outputs', function () {
    needPython(this, ['torch', 'numpy']);
    for (const [k, v] of Object.entries(seqReverse)) {
      const rel = maxRel(v, ref[`seq.pyB.${k}`].data);
      assert.ok(rel < 1e-4, `${k}: ${rel.toExponential(2)}`);
    }
  });

  it('the composed objective leaks no tensor', async () => {
    const rng = new Rng(1);
    const z = () => tf.tensor2d(rng.normalArray(12 * 4), [12, 4]);
    const [z1, z2, r1, r2] = [z(), z(), z(), z()];
    const dir = new LearnedDirection(4);
    await assertNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => longitudinalObjective({ z1, z2, r1, r2 }, { subjects: SUBJECTS, times: TIMES }, dir.direction, { sigmaTime: 1 }).total, [dir.direction]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    tf.dispose([z1, z2, r1, r2]);
    dir.dispose();
  });
});
