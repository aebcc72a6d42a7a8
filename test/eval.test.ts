// Behaviour of the evaluation toolkit: folds, intervals, retrieval, geometry, debiasing, evaluateEmbeddings, tables.
import assert from 'node:assert/strict';
import {
  Rng,
  kFoldSplits,
  foldInterval,
  bootstrapInterval,
  retrievalMetrics,
  zeroShotClassification,
  alignmentMetric,
  uniformityMetric,
  biasAlignedMask,
  evaluateEmbeddings,
  inferTask,
  parseEmbeddingTable,
  fitRidge,
  fitLogistic,
  rocAuc,
  toMatrix,
  ShapeError,
  ValueError,
  ConfigError,
  FileFormatError,
} from 'geoclr';

function gaussianRows(rng: Rng, n: number, d: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
}

/** A synthetic cohort: `subjects` × `sessions` rows; age is linear in dims 0–1, site shifts dim 2, sex shifts dim 3. */
function cohort(seed: number, subjects = 60, sessions = 2, d = 16, siteSignal = 0) {
  const rng = new Rng(seed);
  const emb: number[][] = [];
  const meta = { subject_id: [] as string[], age: [] as number[], sex: [] as string[], site: [] as string[] };
  for (let s = 0; s < subjects; s++) {
    const age = rng.uniform(20, 80);
    const sex = rng.bernoulli(0.5) ? 'F' : 'M';
    const site = ['A', 'B', 'C'][s % 3];
    for (let v = 0; v < sessions; v++) {
      const e = Array.from({ length: d }, () => rng.normal());
      e[0] += (age - 50) / 4;
      e[1] -= (age - 50) / 6;
      e[2] += siteSignal * (site === 'A' ? 1 : site === 'B' ? -1 : 0);
      e[3] += sex === 'F' ? 1.5 : -1.5;
      emb.push(e);
      meta.subject_id.push(`sub-${s}`);
      meta.age.push(age + v * 0.5);
      meta.sex.push(sex);
      meta.site.push(site);
    }
  }
  return { emb, meta };
}

describe('evaluation: cross-validation folds', () => {
  it('every sample is tested exactly once, same seed same folds, another seed other folds', () => {
    const a = kFoldSplits(23, { folds: 5, seed: 1 });
    const seen = new Array(23).fill(0);
    for (const f of a) {
      for (const i of f.test) seen[i]++;
      assert.equal(f.train.length + f.test.length, 23);
      assert.ok(f.test.length === 4 || f.test.length === 5);
      for (const i of f.test) assert.ok(!f.train.includes(i));
    }
    assert.deepEqual(seen, new Array(23).fill(1));
    assert.deepEqual(kFoldSplits(23, { folds: 5, seed: 1 }), a);
    assert.notDeepEqual(kFoldSplits(23, { folds: 5, seed: 2 }), a);
  });

  it('stratified folds keep class proportions', () => {
    const y = Array.from({ length: 100 }, (_, i) => (i < 80 ? 0 : 1));
    for (const f of kFoldSplits(100, { folds: 5, seed: 3, stratify: y })) {
      assert.equal(f.test.length, 20);
      assert.equal(Array.from(f.test).filter((i) => y[i] === 1).length, 4);
    }
  });

  it('grouped folds never split a subject; stratified-grouped stay balanced', () => {
    const rng = new Rng(4);
    const groups: string[] = [];
    const y: number[] = [];
    for (let s = 0; s < 40; s++) {
      const k = rng.int(1, 5);
      const label = s % 4 === 0 ? 1 : 0;
      for (let v = 0; v < k; v++) {
        groups.push(`s${s}`);
        y.push(label);
      }
    }
    for (const stratify of [undefined, y]) {
      const folds = kFoldSplits(groups.length, { folds: 4, seed: 0, groups, stratify });
      const foldOfGroup = new Map<string, number>();
      folds.forEach((f, fi) => {
        for (const i of f.test) {
          const prev = foldOfGroup.get(groups[i]);
          assert.ok(prev == null || prev === fi, `group ${groups[i]} in folds ${prev} and ${fi}`);
          foldOfGroup.set(groups[i], fi);
        }
        assert.ok(f.test.length > 0);
        if (stratify) assert.ok(Array.from(f.test).some((i) => y[i] === 1), 'a fold without positives');
      });
    }
  });

  it('rejects more folds than samples or groups, with the numbers', () => {
    assert.throws(() => kFoldSplits(3, { folds: 5 }), /folds=5 but there are only 3 samples/);
    assert.throws(() => kFoldSplits(6, { folds: 4, groups: ['a', 'a', 'b', 'b', 'c', 'c'] }), /only 3 groups/);
    assert.throws(() => kFoldSplits(6, { folds: 1 }), ValueError);
  });
});

describe('evaluation: intervals', () => {
  it('fold t-interval matches the closed form; bootstrap interval covers the mean of a sample', () => {
    const v = [0.7, 0.75, 0.8, 0.72, 0.78];
    const [lo, hi] = foldInterval(v)!;
    const m = 0.75;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / 4);
    const h = (2.7764451051977987 * sd) / Math.sqrt(5);
    assert.ok(Math.abs(lo - (m - h)) < 1e-12 && Math.abs(hi - (m + h)) < 1e-12);
    assert.equal(foldInterval([0.5]), null);
    const rng = new Rng(0);
    const x = Array.from({ length: 200 }, () => rng.normal(3, 1));
    const ci = bootstrapInterval(200, (idx) => Array.from(idx).reduce((a, i) => a + x[i], 0) / idx.length, { seed: 1 })!;
    // Standard error 1/√200 ≈ 0.071: the 95% interval is ≈ ±0.14 around the sample mean.
    const mean = x.reduce((a, b) => a + b, 0) / 200;
    assert.ok(ci[0] < mean && mean < ci[1]);
    assert.ok(ci[1] - ci[0] > 0.2 && ci[1] - ci[0] < 0.35, `width ${ci[1] - ci[0]}`);
  });
});

describe('evaluation: retrieval and zero-shot', () => {
  it('perfect pairing gives R@1 = 1; a collapsed embedding scores at the bottom, not the top', () => {
    const rng = new Rng(1);
    const a = gaussianRows(rng, 30, 8);
    const b = a.map((r) => r.map((v) => v + 0.01 * rng.normal()));
    const r = retrievalMetrics(a, b);
    assert.equal(r.aToB.recall[1], 1);
    assert.equal(r.bToA.medianRank, 1);
    const flat = a.map(() => [1, 0, 0, 0, 0, 0, 0, 0]);
    const c = retrievalMetrics(flat, flat);
    assert.equal(c.aToB.recall[10], 0);
    assert.equal(c.aToB.medianRank, 30);
  });

  it('random embeddings sit at chance, and chance is the exact hypergeometric level', () => {
    const rng = new Rng(2);
    const n = 400;
    const r = retrievalMetrics(gaussianRows(rng, n, 16), gaussianRows(rng, n, 16));
    assert.ok(Math.abs(r.aToB.chance.recall[5] - 5 / n) < 1e-12);
    assert.ok(Math.abs(r.aToB.recall[10] - 10 / n) < 0.03, `R@10 ${r.aToB.recall[10]}`);
    assert.ok(Math.abs(r.aToB.medianRank - n / 2) < n / 8, `median rank ${r.aToB.medianRank}`);
    assert.equal(r.aToB.chance.medianRank, 200);
  });

  it('key pairing: a query matches every candidate with its key; chance accounts for several matches', () => {
    const rng = new Rng(3);
    const subj = gaussianRows(rng, 10, 6);
    const a = subj.map((r) => r.map((v) => v + 0.05 * rng.normal()));
    const b = [...subj, ...subj].map((r) => r.map((v) => v + 0.05 * rng.normal()));
    const keysB = [...subj.keys(), ...subj.keys()];
    const r = retrievalMetrics(a, b, { keys: [[...subj.keys()], keysB] });
    assert.equal(r.aToB.recall[1], 1);
    assert.equal(r.aToB.queries, 10);
    // 2 matches among 20 candidates: P(top-1 hits) = 2/20.
    assert.ok(Math.abs(r.aToB.chance.recall[1] - 0.1) < 1e-12);
    assert.throws(() => retrievalMetrics(a, b), /give pairs or keys/);
  });

  it('zero-shot AUC from prompt similarities', () => {
    const rng = new Rng(4);
    const prompts = [
      [1, 0, 0],
      [0, 1, 0],
    ];
    const labels = Array.from({ length: 80 }, (_, i) => i % 2 === 1);
    const emb = labels.map((l) => [l ? 0.2 : 1, l ? 1 : 0.2, 0].map((v) => v + 0.3 * rng.normal()));
    const z = zeroShotClassification(emb, prompts, labels);
    assert.ok(z.auc > 0.95 && z.accuracy > 0.85, JSON.stringify({ auc: z.auc, acc: z.accuracy }));
    const swapped = zeroShotClassification(emb, [prompts[1], prompts[0]], labels);
    assert.ok(Math.abs(swapped.auc - (1 - z.auc)) < 1e-12);
    assert.throws(() => zeroShotClassification(emb, [prompts[0]], labels), /1 prompts for 2 classes/);
  });
});

describe('evaluation: geometry', () => {
  it('alignment and uniformity take their closed-form values', () => {
    assert.equal(alignmentMetric([[1, 0]], [[1, 0]]), 0);
    // Orthogonal unit vectors: squared distance 2.
    assert.ok(Math.abs(alignmentMetric([[3, 0]], [[0, 2]]) - 2) < 1e-12);
    // Two antipodal points: log exp(−2·4) = −8.
    assert.ok(Math.abs(uniformityMetric([[1, 0], [-1, 0]]) + 8) < 1e-12);
    // Collapse is maximally non-uniform (0); spread points are lower.
    assert.equal(uniformityMetric([[1, 1], [1, 1], [1, 1]]), 0);
    const rng = new Rng(0);
    assert.ok(uniformityMetric(gaussianRows(rng, 300, 8)) < -1.5);
    assert.throws(() => alignmentMetric([[1, 0]], [[1, 0, 0]]), ShapeError);
  });
});

describe('evaluation: debiasing view', () => {
  it('aligned = over-represented (target, bias) pairs', () => {
    const y = ['AD', 'AD', 'AD', 'CN', 'CN', 'CN', 'CN', 'AD'];
    const site = ['s1', 's1', 's1', 's2', 's2', 's2', 's1', 's2'];
    assert.deepEqual(biasAlignedMask(y, site), [true, true, true, true, true, true, false, false]);
  });
});

describe('evaluation: evaluateEmbeddings', () => {
  it('decodes age and sex, site at chance, with CIs and a flat summary', () => {
    const { emb, meta } = cohort(1, 80, 1);
    const run = () =>
      evaluateEmbeddings({
        embeddings: emb,
        metadata: meta,
        targets: { age: { task: 'regression' }, sex: { task: 'classification' }, site: { task: 'classification', nuisance: true } },
        folds: 5,
        seed: 0,
        bootstrap: 200,
      });
    const r = run();
    const age = r.targets.age.probes.linear!.metrics.mae;
    assert.ok(age.mean < 0.5 * r.targets.age.probes.linear!.baseline.mae, `age MAE ${age.mean} vs baseline ${r.targets.age.probes.linear!.baseline.mae}`);
    assert.ok(age.ci![0] < age.mean && age.mean < age.ci![1]);
    assert.ok(age.bootstrapCi![0] < age.pooled && age.pooled < age.bootstrapCi![1]);
    assert.equal(age.perFold.length, 5);
    assert.ok(r.summary.sex_bacc! > 0.8, `sex bacc ${r.summary.sex_bacc}`);
    assert.ok(Math.abs(r.summary.site_bacc! - 1 / 3) < 0.15, `site bacc ${r.summary.site_bacc}`);
    assert.equal(r.targets.site.chance, 1 / 3);
    assert.ok(r.summary.age_knn_mae! > 0 && r.summary.unif! < 0);
    assert.equal(r.summary.align, null);
    // JSON-able and deterministic.
    assert.equal(JSON.stringify(run()), JSON.stringify(r));
  });

  it('a site-encoding embedding is flagged: site decodable, FairKL-style removal lowers it', () => {
    const biased = cohort(2, 150, 1, 8, 3);
    const clean = cohort(2, 150, 1, 8, 0);
    const ev = (c: typeof biased) =>
      evaluateEmbeddings({ embeddings: c.emb, metadata: c.meta, targets: { site: { nuisance: true } }, probes: ['linear'], bootstrap: 0 });
    const b = ev(biased).summary.site_bacc!;
    const c = ev(clean).summary.site_bacc!;
    assert.ok(b > 0.85 && c < 0.55, `site bacc biased ${b}, clean ${c}`);
  });

  it('groups matter: without them repeated sessions leak the subject into the test fold', () => {
    // Embeddings carry subject identity only (no age signal): any skill at predicting age is leakage.
    const rng = new Rng(7);
    const emb: number[][] = [];
    const age: number[] = [];
    const subject: string[] = [];
    for (let s = 0; s < 40; s++) {
      const id = Array.from({ length: 8 }, () => rng.normal());
      const a = rng.uniform(20, 80);
      for (let v = 0; v < 3; v++) {
        emb.push(id.map((x) => x + 0.05 * rng.normal()));
        age.push(a);
        subject.push(`s${s}`);
      }
    }
    const run = (groups?: string) =>
      evaluateEmbeddings({ embeddings: emb, metadata: { age, subject }, targets: { age: { task: 'regression' } }, probes: ['knn'], knn: { k: 1 }, groups, bootstrap: 0 });
    const leaky = run().targets.age.probes.knn!.metrics.r2.mean;
    const honest = run('subject').targets.age.probes.knn!.metrics.r2.mean;
    assert.ok(leaky > 0.8, `leaky R² ${leaky}`);
    assert.ok(honest < 0.1, `grouped R² ${honest}`);
  });

  it('bias-conflicting accuracy exposes a probe that reads the site instead of the diagnosis', () => {
    // Diagnosis correlated with site (80%); the embedding encodes only the site.
    const rng = new Rng(8);
    const emb: number[][] = [];
    const dx: string[] = [];
    const site: string[] = [];
    for (let i = 0; i < 200; i++) {
      const s = i % 2 === 0 ? 'S1' : 'S2';
      const d = rng.bernoulli(0.8) === (s === 'S1') ? 'AD' : 'CN';
      emb.push([s === 'S1' ? 1 : -1, 0, 0].map((v) => v + 0.3 * rng.normal()));
      dx.push(d);
      site.push(s);
    }
    const r = evaluateEmbeddings({ embeddings: emb, metadata: { dx, site }, targets: { dx: { task: 'classification', bias: 'site' } }, bootstrap: 0 });
    const b = r.targets.dx.bias!;
    assert.ok(b.aligned.accuracy > 0.9 && b.conflicting.accuracy < 0.1, JSON.stringify(b));
    assert.equal(b.aligned.n + b.conflicting.n, 200);
    assert.ok(r.summary.dx_bacc_conflicting! < 0.1);
  });

  it('held-out split column, alignment from two views, missing targets dropped with a count', () => {
    const { emb, meta } = cohort(3, 50, 1);
    const split = meta.age.map((_, i) => (i < 35 ? 'train' : 'test'));
    const age: (number | null)[] = meta.age.map((a, i) => (i % 10 === 0 ? null : a));
    const rng = new Rng(1);
    const views: [number[][], number[][]] = [emb, emb.map((r) => r.map((v) => v + 0.1 * rng.normal()))];
    const r = evaluateEmbeddings({ embeddings: emb, metadata: { ...meta, age, split }, split: 'split', targets: { age: {} }, views, bootstrap: 100 });
    assert.equal(r.targets.age.task, 'regression');
    assert.equal(r.targets.age.dropped, 5);
    assert.equal(r.targets.age.probes.linear!.metrics.mae.perFold.length, 1);
    assert.equal(r.protocol.split, true);
    assert.ok(r.summary.align! > 0 && r.summary.align! < 0.05);
  });

  it('bad input: clear typed errors naming the argument', () => {
    const { emb, meta } = cohort(4, 20, 1);
    assert.throws(() => evaluateEmbeddings({ embeddings: emb, metadata: meta, targets: { weight: {} } }), (e: Error) => e instanceof ConfigError && /no metadata column 'weight'; columns are subject_id, age/.test(e.message));
    assert.throws(() => evaluateEmbeddings({ embeddings: emb, metadata: { age: meta.age.slice(1) }, targets: { age: {} } }), /'age' has 19 values for 20 embeddings/);
    const nan = emb.map((r) => [...r]);
    nan[3][2] = NaN;
    assert.throws(() => evaluateEmbeddings({ embeddings: nan, metadata: meta, targets: { age: {} } }), /embeddings: row 3, column 2 is NaN/);
    assert.throws(() => evaluateEmbeddings({ embeddings: [[1, 2], [3]], targets: { a: { values: [1, 2] } } }), /row 1 has 1 values, expected 2/);
    assert.throws(() => evaluateEmbeddings({ embeddings: emb, metadata: meta, targets: { sex: { task: 'classification' } }, groups: 'subject_id', folds: 30 }), /folds=30 but there are only 20 groups/);
    assert.throws(() => fitLogistic(toMatrix([[1], [2]]), ['a', 'a']), /at least two classes/);
    assert.throws(() => fitRidge(toMatrix([[1], [2]]), [1, 2], { alpha: -1 }), /alpha must be a finite number ≥ 0/);
    assert.throws(() => rocAuc([1, 1], [0.2, 0.3]), /needs both classes/);
  });

  it('inferTask: many distinct numbers → regression, labels or few values → classification', () => {
    assert.equal(inferTask(Array.from({ length: 30 }, (_, i) => i * 1.5)), 'regression');
    assert.equal(inferTask(['F', 'M', 'F']), 'classification');
    assert.equal(inferTask([0, 1, 1, 0, null]), 'classification');
  });
});

describe('evaluation: embedding tables', () => {
  it('CSV with an embedding column, quoted fields and missing cells', () => {
    const t = parseEmbeddingTable('subject_id,age,site,embedding\n007,61.5,"A, north","0.1 0.2 0.3"\ns2,NA,B,"[1;2;3]"\n', 'csv');
    assert.equal(t.embeddings.rows, 2);
    assert.equal(t.embeddings.cols, 3);
    assert.deepEqual(Array.from(t.embeddings.data), [0.1, 0.2, 0.3, 1, 2, 3]);
    assert.deepEqual(t.columns.subject_id, ['007', 's2']);
    assert.deepEqual(t.columns.age, [61.5, null]);
    assert.deepEqual(t.columns.site, ['A, north', 'B']);
  });

  it('TSV with numbered columns (ordered numerically) and JSON forms', () => {
    const t = parseEmbeddingTable('e1\te0\te10\tsex\n1\t0\t10\tF\n', 'tsv');
    assert.deepEqual(Array.from(t.embeddings.data), [0, 1, 10]);
    assert.deepEqual(t.columns.sex, ['F']);
    const j = parseEmbeddingTable(JSON.stringify({ embeddings: [[1, 2], [3, 4]], metadata: { age: [50, 60] } }), 'json');
    assert.deepEqual(j.columns.age, [50, 60]);
    const l = parseEmbeddingTable('{"embedding":[1,2],"sex":"F"}\n{"embedding":[3,4],"sex":"M"}\n', 'jsonl');
    assert.deepEqual(Array.from(l.embeddings.data), [1, 2, 3, 4]);
  });

  it('malformed tables: the file, the row and the problem', () => {
    const bad = (text: string, fmt: 'csv' | 'json', re: RegExp) =>
      assert.throws(() => parseEmbeddingTable(text, fmt, 'emb.csv'), (e: Error) => e instanceof FileFormatError && re.test(e.message) && e.message.startsWith('emb.csv: '));
    bad('age,sex\n1,F\n', 'csv', /no embedding column/);
    bad('embedding,age\n"1 2",3\n"1 2 3",4\n', 'csv', /row 2: embedding has 3 values, row 1 has 2/);
    bad('embedding,age\n"1 x",3\n', 'csv', /row 1: embedding value "x" is not a finite number/);
    bad('embedding,age\n"1 2",3,4\n', 'csv', /row 1 has 3 fields, the header 2/);
    bad('embedding,age\n"1 2,3\n', 'csv', /unterminated quoted field/);
    bad('{"embeddings": [[1, 2]], "metadata": {"age": [1, 2]}}', 'json', /metadata column 'age' must be an array of 1 values/);
    bad('{not json', 'json', /not valid JSON/);
  });
});
