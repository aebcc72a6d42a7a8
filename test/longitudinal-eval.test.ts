/**
 * Patient-level sequence model and the longitudinal evaluation on embeddings with known structure: each subject's
 * visits are `base_s + rate_s · t · u + noise` (u a fixed progression axis), so the interval, the rate, the subject
 * and the age are recoverable to a known degree — and pure noise recovers none of them.
 */
import assert from 'node:assert/strict';
import {
  tf,
  Rng,
  ConfigError,
  ShapeError,
  ValueError,
  VisitSequenceModel,
  packSequences,
  fitVisitSequenceModel,
  intervalPrediction,
  subjectReidentification,
  progressionRatePrediction,
  ageFromVisits,
  evaluateLongitudinal,
  LearnedDirection,
  trajectoryAlignment,
  longitudinalYAware,
} from 'geoclr';
import { assertNoLeak } from './support/tf.js';

interface Cohort {
  embeddings: number[][];
  subjects: string[];
  times: number[];
  split: string[];
  age: number[];
  rate: number[];
}

/** 40 subjects × 3–4 visits; 16 held out. */
function cohort(opts: { d?: number; noise?: number; rateSpread?: number; structured?: boolean; seed?: number } = {}): Cohort {
  const { d = 12, noise = 0.05, rateSpread = 0.5, structured = true, seed = 1 } = opts;
  const rng = new Rng(seed);
  const u = Array.from({ length: d }, (_, k) => (k === 0 ? 1 : 0));
  const out: Cohort = { embeddings: [], subjects: [], times: [], split: [], age: [], rate: [] };
  for (let s = 0; s < 40; s++) {
    const base = Array.from({ length: d }, (_, k) => (k <= 1 ? 0 : rng.normal()));
    const rate = 1 + rateSpread * rng.uniform(-1, 1);
    const age0 = rng.uniform(50, 80);
    const visits = 3 + (s % 2);
    let t = 0;
    for (let v = 0; v < visits; v++) {
      if (v > 0) t += rng.uniform(0.8, 2.5);
      const z = base.map((b, k) => (structured ? b + u[k] * rate * t + (k === 1 ? (age0 + t - 65) / 10 : 0) : 0) + noise * rng.normal());
      out.embeddings.push(z);
      out.subjects.push(`s${s}`);
      out.times.push(t);
      out.split.push(s < 24 ? 'train' : 'test');
      out.age.push(age0 + t);
      out.rate.push(rate);
    }
  }
  return out;
}

describe('longitudinal: sequence model', () => {
  const cfg = { inputDim: 5, dim: 8, depth: 1, heads: 2 };

  it('padding is ignored: a subject padded with garbage gives its unpadded output; dropping a visit does not', () => {
    const model = new VisitSequenceModel(cfg, { seed: 1 }).eval();
    const rng = new Rng(2);
    const visits = [0, 1, 2].map(() => Array.from(rng.normalArray(5)));
    const alone = packSequences([{ subject: 'a', embeddings: visits, times: [0, 1, 2.5] }], 5);
    const withLonger = packSequences([
      { subject: 'a', embeddings: visits, times: [0, 1, 2.5] },
      { subject: 'b', embeddings: [...visits, ...visits].map((v) => v.map((x) => x * 7)), times: [0, 1, 2, 3, 4, 5] },
    ], 5);
    const shorter = packSequences([{ subject: 'a', embeddings: visits.slice(0, 2), times: [0, 1] }], 5);
    const o1 = model.forward(alone.visits, alone.times, alone.padding);
    const o2 = model.forward(withLonger.visits, withLonger.times, withLonger.padding);
    const o3 = model.forward(shorter.visits, shorter.times, shorter.padding);
    const p1 = o1.patient.dataSync();
    const p2 = o2.patient.dataSync().slice(0, 8);
    for (let k = 0; k < 8; k++) assert.ok(Math.abs(p1[k] - p2[k]) < 1e-5, `patient[${k}] ${p1[k]} vs ${p2[k]}`);
    assert.ok(Array.from(o3.patient.dataSync()).some((v, k) => Math.abs(v - p1[k]) > 1e-3));
    const att = o2.attention.dataSync();
    assert.ok(Math.abs(att[0] + att[1] + att[2] - 1) < 1e-6 && att.slice(3, 6).every((a) => a === 0));
    assert.deepEqual(model.namedParameters().map(([n]) => n).slice(0, 6), ['input_proj.weight', 'input_proj.bias', 'time_proj.weight', 'time_proj.bias', 'layers.0.self_attn.in_proj_weight', 'layers.0.self_attn.in_proj_bias']);
    for (const p of [alone, withLonger, shorter]) tf.dispose(Object.values(p));
    for (const o of [o1, o2, o3]) tf.dispose(Object.values(o));
    model.dispose();
  });

  it('learns a subject’s progression rate (a slope over time) from its visit embeddings, without leaking tensors', async () => {
    const c = cohort({ d: 4, noise: 0.02 });
    const r = await assertNoLeak(() => progressionRatePrediction(c, { seed: 3 }), 'rate prediction');
    assert.equal(r.subjects.train, 24);
    assert.equal(r.subjects.test, 16);
    assert.ok(r.spearman > 0.8, `Spearman ${r.spearman}`);
    assert.equal(r.patients.length, 40, 'every subject gets a patient embedding');
    assert.equal(r.patients.filter((q) => q.split === 'test').length, 16);
    assert.equal(r.patients[0].embedding.length, 16);
    assert.deepEqual([r.patients[1].visits, r.patients[1].span > 0], [4, true]);
  });

  it('classification head: fits diagnosis-like labels', () => {
    const rng = new Rng(4);
    const seqs = Array.from({ length: 20 }, (_, s) => ({
      subject: `s${s}`,
      embeddings: [0, 1].map(() => Array.from(rng.normalArray(5)).map((x, k) => x * 0.1 + (k === 0 ? (s % 2 ? 1 : -1) : 0))),
      times: [0, 1],
    }));
    const model = new VisitSequenceModel({ ...cfg, outputs: 2 }, { seed: 2 });
    const fitted = fitVisitSequenceModel(model, seqs, seqs.map((_, s) => s % 2), { task: 'classification', epochs: 60 });
    assert.ok(fitted.losses[59] < fitted.losses[0] / 4, `loss ${fitted.losses[0]} → ${fitted.losses[59]}`);
    assert.deepEqual(Array.from(fitted.predict(seqs).prediction), seqs.map((_, s) => s % 2));
    model.dispose();
  });

  it('bad input: config fields, shapes, empty or unordered sequences', () => {
    assert.throws(() => new VisitSequenceModel({ inputDim: 4, width: 3 } as never), (e: Error) => e instanceof ConfigError && /sequence\.width.*unknown key/.test(e.message));
    assert.throws(() => new VisitSequenceModel({ inputDim: 4, dim: 6, heads: 4 }), /sequence\.heads.*must divide dim \(6\)/);
    assert.throws(() => new VisitSequenceModel({} as never), /sequence\.inputDim.*required/);
    const model = new VisitSequenceModel(cfg);
    const x = tf.zeros([2, 3, 5]);
    assert.throws(() => model.forward(tf.zeros([2, 3, 4]), tf.zeros([2, 3])), (e: Error) => e instanceof ShapeError && /\[B, L, 5\]/.test(e.message));
    assert.throws(() => model.forward(x, tf.zeros([2, 2])), /times must be \[2, 3\]/);
    assert.throws(() => model.forward(x, tf.zeros([2, 3]), tf.tensor2d([[0, 0, 1], [1, 1, 1]])), (e: Error) => e instanceof ValueError && /subject 1 of the batch has no visit/.test(e.message));
    assert.throws(() => packSequences([{ subject: 'q', embeddings: [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]], times: [2, 1] }], 5), /subject q: times must increase/);
    assert.throws(() => packSequences([{ subject: 'q', embeddings: [[1, 2]], times: [0] }], 5), /subject q visit 0 embedding has 2 values, expected 5/);
    assert.throws(() => fitVisitSequenceModel(model, [{ subject: 'q', embeddings: [[1, 2, 3, 4, 5]], times: [0] }], [NaN]), /target of subject q is NaN/);
    x.dispose();
    model.dispose();
  });
});

describe('longitudinal: evaluation on held-out subjects', () => {
  it('interval from embedding differences: near exact when change = time along an axis, baseline-level on noise', () => {
    const good = intervalPrediction(cohort({ rateSpread: 0 }));
    assert.ok(good.mae < 0.1 && good.baselineMae > 0.8, JSON.stringify(good));
    assert.equal(good.trainPairs, 12 * 3 + 12 * 6);
    const noise = intervalPrediction(cohort({ structured: false, noise: 1 }));
    assert.ok(noise.mae > 0.85 * noise.baselineMae, JSON.stringify(noise));
  });

  it('re-identification, age and the all-in-one evaluation', () => {
    const c = cohort();
    const reid = subjectReidentification(c);
    assert.equal(reid.top1, 1);
    assert.equal(reid.queries, 16 * 3 + 8);
    const blurred = subjectReidentification({ ...c, embeddings: cohort({ structured: false, noise: 1 }).embeddings });
    assert.ok(blurred.top1 < 0.3, `noise re-identifies ${blurred.top1}`);
    const age = ageFromVisits(c);
    assert.ok(age.mae < 0.5 && age.baselineMae > 4, JSON.stringify(age));
    const all = evaluateLongitudinal(c, { fit: { epochs: 60 } });
    assert.deepEqual(Object.keys(all).slice(0, 4), ['interval_mae_years', 'rate_spearman', 'reid_top1', 'age_mae']);
    assert.equal(all.reid_top1, 1);
    assert.equal(all.counts.testSubjects, 16);
  });

  it('bad input: a subject in both splits, two visits at one time, mismatched columns, nothing held out', () => {
    const c = cohort();
    const split = [...c.split];
    split[0] = 'test';
    assert.throws(() => intervalPrediction({ ...c, split }), /subject s0 has visits in both train and test/);
    const times = [...c.times];
    times[1] = times[0];
    assert.throws(() => intervalPrediction({ ...c, times }), /subject s0 has two visits at time 0/);
    assert.throws(() => ageFromVisits({ ...c, age: c.age.slice(1) }), /age has \d+ values for \d+ visits/);
    assert.throws(() => intervalPrediction({ ...c, split: c.split.map(() => 'train') }), /no held-out subject with two visits/);
    assert.throws(() => progressionRatePrediction({ ...c, rate: undefined }), /table.rate is required/);
  });
});

describe('longitudinal: objective terms', () => {
  it('trajectory alignment is 0 when every later-minus-earlier difference points along the direction', () => {
    const rng = new Rng(5);
    const subjects = ['a', 'a', 'b', 'b', 'b'];
    const times = [0, 1, 0, 2, 3];
    const base = [0, 0, 1, 1, 1].map((s) => Array.from(rng.normalArray(4)).map((x) => x + s));
    // z = subject base + (t · rate) along e0: every within-subject difference is along e0.
    const z = tf.tensor2d(base.map((b, i) => b.map((x, k) => (k === 0 ? (i < 2 ? base[0][0] : base[2][0]) + 0.7 * times[i] : i < 2 ? base[0][k] : base[2][k]))));
    const dir = tf.tensor1d([3, 0, 0, 0]);
    const { loss, pairs } = trajectoryAlignment([z, z], { subjects, times }, dir);
    assert.ok(Math.abs(loss.dataSync()[0]) < 1e-6, `loss ${loss.dataSync()[0]}`);
    assert.equal(pairs, 4 * 1 + 4 * 3, 'stacked views: every ordered pair across both copies');
    const flipped = trajectoryAlignment(z, { subjects, times }, tf.tensor1d([-1, 0, 0, 0]));
    assert.ok(Math.abs(flipped.loss.dataSync()[0] - 2) < 1e-6);
    const none = trajectoryAlignment(z, { subjects: ['a', 'b', 'c', 'd', 'e'], times }, dir);
    assert.equal(none.pairs, 0);
    assert.equal(none.loss.dataSync()[0], 0);
    tf.dispose([z, dir, loss, flipped.loss, none.loss]);
  });

  it('longitudinal y-Aware = y-Aware InfoNCE with the subject × time kernel; clear errors', () => {
    const rng = new Rng(6);
    const z1 = tf.tensor2d(rng.normalArray(5 * 3), [5, 3]);
    const z2 = tf.tensor2d(rng.normalArray(5 * 3), [5, 3]);
    const batch = { subjects: ['a', 'a', 'b', 'b', 'c'], times: [0, 1, 0, 5, 2] };
    const l = longitudinalYAware(z1, z2, batch, { sigmaTime: 2 });
    assert.ok(Number.isFinite(l.dataSync()[0]));
    assert.throws(() => longitudinalYAware(z1, z2, { ...batch, times: [0, 1] }), /times must hold one time per visit \(5\); got 2/);
    assert.throws(() => longitudinalYAware(z1, z2, { ...batch, times: [0, 1, NaN, 0, 0] }), /times\[2\] is NaN/);
    assert.throws(() => longitudinalYAware(z1, z2, batch, { metadataKernel: (y) => y }), /metadataKernel needs batch.metadata/);
    const dir = new LearnedDirection(3, { seed: 1 });
    const u = dir.unit();
    assert.ok(Math.abs(tf.norm(u).dataSync()[0] - 1) < 1e-6);
    tf.dispose([z1, z2, l, u]);
    dir.dispose();
  });
});
