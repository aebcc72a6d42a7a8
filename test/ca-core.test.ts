/**
 * Contrastive analysis core: data-set validation and bad input (group labels, empty groups), balanced batches,
 * grouped stratified splits, seeded views, configs, training of every method on a tiny synthetic set (finite
 * per-term logs, determinism, no leaks, the information-less constraint taking effect), the probe evaluation on
 * embeddings with a known answer, saliency and image grids.
 */
import assert from 'node:assert/strict';
import * as g from 'geoclr';
import { ConfigError, ShapeError, ValueError, type ContrastiveDataset } from 'geoclr';
import { assertNoLeak } from './support/tf.js';

const { tf } = g;

/**
 * A tiny 8×8 set: every image has a background level (common factor `level`, 3 values) plus noise; targets add a
 * bright 3×3 square on the left or the right (salient factor `side`).
 */
function tinySet(n = 96, seed = 1): ContrastiveDataset {
  const rng = new g.Rng(seed);
  const size = 8;
  const images = new Float32Array(n * size * size);
  const group = new Uint8Array(n);
  const factors: ContrastiveDataset['factors'] = { side: [], level: [] };
  for (let s = 0; s < n; s++) {
    const level = s % 3;
    const gr = s % 2;
    group[s] = gr;
    const side = gr ? (Math.floor(s / 2) % 2 === 0 ? 'left' : 'right') : null;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let v = level * 0.5 + rng.normal(0, 0.1);
        if (side && y >= 2 && y < 5 && (side === 'left' ? x >= 1 && x < 4 : x >= 4 && x < 7)) v += 2;
        images[s * 64 + y * size + x] = v;
      }
    }
    factors.side.push(side);
    factors.level.push(level);
  }
  return {
    name: 'tiny',
    shape: [size, size],
    n,
    images,
    group,
    factors,
    salient: { name: 'side', task: 'classification' },
    common: [{ name: 'level', task: 'classification' }],
  };
}

const tinyEncoder = { arch: 'convnet2d', widths: [4, 8], pooling: 'flatten', inputShape: [8, 8] } as const;

describe('contrastive-analysis data sets', () => {
  it('validateDataset: group labels other than 0/1, an empty group, wrong sizes and NaN are typed errors naming the problem', () => {
    const ds = tinySet(12);
    assert.doesNotThrow(() => g.validateDataset(ds));
    const badGroup = { ...ds, group: Uint8Array.from(ds.group, (v, i) => (i === 5 ? 2 : v)) };
    assert.throws(() => g.validateDataset(badGroup), (e: Error) => e instanceof ValueError && /group\[5\].*0.*1.*got 2/.test(e.message));
    const noBackground = { ...ds, group: new Uint8Array(ds.n).fill(1) };
    assert.throws(() => g.validateDataset(noBackground), (e: Error) => e instanceof ValueError && /background \(group 0\) set is empty/.test(e.message));
    const noTarget = { ...ds, group: new Uint8Array(ds.n) };
    assert.throws(() => g.validateDataset(noTarget), (e: Error) => e instanceof ValueError && /target \(group 1\) set is empty/.test(e.message));
    assert.throws(() => g.validateDataset({ ...ds, images: ds.images.subarray(1) }), ShapeError);
    const nan = { ...ds, images: Float32Array.from(ds.images, (v, i) => (i === 70 ? NaN : v)) };
    assert.throws(() => g.validateDataset(nan), (e: Error) => e instanceof ValueError && /sample 1/.test(e.message));
    assert.throws(() => g.validateDataset({ ...ds, salient: { name: 'digit', task: 'classification' } }), (e: Error) => e instanceof ConfigError && /digit/.test(e.message));
  });

  it('fitContrastiveAnalysis refuses a data set with an empty group, and a training split without one group', () => {
    const ds = tinySet(12);
    const cfg = { method: 'sepclr', encoder: tinyEncoder, steps: 1, batchSize: 4 } as const;
    assert.throws(() => g.fitContrastiveAnalysis({ ...ds, group: new Uint8Array(ds.n) }, cfg), /target \(group 1\) set is empty/);
    const onlyBackground = Array.from({ length: ds.n }, (_, i) => i).filter((i) => ds.group[i] === 0);
    assert.throws(() => g.fitContrastiveAnalysis(ds, cfg, { indices: onlyBackground }), (e: Error) => e instanceof ValueError && /0 target samples/.test(e.message));
  });

  it('BalancedBatches: every batch holds both groups in the requested proportion, each group drawn without replacement', () => {
    const ds = tinySet(20);
    const all = Array.from({ length: 20 }, (_, i) => i);
    const b = new g.BalancedBatches(ds, all, 8, { seed: 3, targetFraction: 0.25 });
    assert.deepEqual(b.perGroup, [6, 2]);
    const seen = new Map<number, number>();
    for (let k = 0; k < 5; k++) {
      const batch = b.next();
      assert.equal(batch.length, 8);
      assert.deepEqual(batch.map((i) => ds.group[i]), [0, 0, 0, 0, 0, 0, 1, 1]);
      for (const i of batch.slice(6)) seen.set(i, (seen.get(i) ?? 0) + 1);
    }
    // 10 targets, 10 drawn: each exactly once (one pass without replacement).
    assert.equal(seen.size, 10);
    assert.throws(() => new g.BalancedBatches(ds, all, 1), ConfigError);
  });

  it('splitDataset: stratified by group and factor, deterministic, subjects (ids) never straddle the split', () => {
    const ds = { ...tinySet(40), ids: Array.from({ length: 40 }, (_, i) => `sub-${Math.floor(i / 4)}`) };
    const a = g.splitDataset(ds, { testFraction: 0.3, seed: 5 });
    const b = g.splitDataset(ds, { testFraction: 0.3, seed: 5 });
    assert.deepEqual(a, b);
    assert.equal(a.train.length + a.test.length, 40);
    const trainIds = new Set(Array.from(a.train, (i) => ds.ids[i]));
    for (const i of a.test) assert.ok(!trainIds.has(ds.ids[i]), `subject ${ds.ids[i]} on both sides`);
    const plain = tinySet(40);
    const s = g.splitDataset(plain, { testFraction: 0.25, seed: 1, stratify: 'side' });
    const count = (idx: Int32Array, f: (i: number) => boolean) => Array.from(idx).filter(f).length;
    assert.equal(count(s.test, (i) => plain.group[i] === 0), 5);
    assert.equal(count(s.test, (i) => plain.factors.side[i] === 'left'), 3);
    assert.throws(() => g.splitDataset(plain, { testFraction: 1 }), ConfigError);
  });
});

describe('view augmentation', () => {
  it('shifts with edge replication, flips, and is deterministic for a seed', () => {
    const src = Float32Array.from({ length: 12 }, (_, i) => i); // 3 × 4
    const spec = g.resolveViewAugmentation({ shift: 1, gain: 0, bias: 0, noise: 0 }, 2);
    const outs = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const out = new Float32Array(12);
      g.augmentInto(out, src, [3, 4], spec, new g.Rng(seed));
      // Each output row is a row of the source shifted by ≤ 1 with the edge repeated.
      const rows = [0, 1, 2].map((r) => Array.from(out.subarray(r * 4, r * 4 + 4)));
      for (const row of rows) {
        const base = Math.floor(row[1] / 4) * 4;
        const candidates = [
          [base, base, base + 1, base + 2],
          [base, base + 1, base + 2, base + 3],
          [base + 1, base + 2, base + 3, base + 3],
        ].map((c) => c.join());
        assert.ok(candidates.includes(row.join()), `row ${row}`);
      }
      outs.add(out.join());
    }
    assert.equal(outs.size, 9, 'all 3×3 shifts occur');
    const flip = g.resolveViewAugmentation({ shift: 0, flip: [1], gain: 0, bias: 0, noise: 0 }, 2);
    const flipped = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      const out = new Float32Array(12);
      g.augmentInto(out, src, [3, 4], flip, new g.Rng(seed));
      flipped.add(Array.from(out.subarray(0, 4)).join());
    }
    assert.deepEqual([...flipped].sort(), ['0,1,2,3', '3,2,1,0']);
    const full = g.resolveViewAugmentation({}, 2);
    const run = () => {
      const o = new Float32Array(12);
      g.augmentInto(o, src, [3, 4], full, new g.Rng(42));
      return o;
    };
    assert.deepEqual(run(), run());
    // Resized crop: the full box is the identity; a quarter-area box of a ramp is a ramp of half the slope.
    const ramp = Float32Array.from({ length: 64 }, (_, i) => i % 8); // 8 × 8, value = column
    const id = new Float32Array(64);
    g.augmentInto(id, ramp, [8, 8], g.resolveViewAugmentation({ crop: [1, 1], shift: 0, gain: 0, bias: 0, noise: 0 }, 2), new g.Rng(1));
    assert.deepEqual(id, ramp);
    const zoom = new Float32Array(64);
    g.augmentInto(zoom, ramp, [8, 8], g.resolveViewAugmentation({ crop: [0.25, 0.25], shift: 0, gain: 0, bias: 0, noise: 0 }, 2), new g.Rng(2));
    for (let x = 1; x < 8; x++) assert.ok(Math.abs(zoom[x] - zoom[x - 1] - 0.5) < 1e-5, `slope at ${x}: ${zoom[x] - zoom[x - 1]}`);
    for (let y = 1; y < 8; y++) assert.deepEqual(zoom.subarray(y * 8, y * 8 + 8), zoom.subarray(0, 8));
    assert.throws(() => g.resolveViewAugmentation({ crop: [0, 1] }, 2), ConfigError);
    assert.throws(() => g.resolveViewAugmentation({ flip: [2] }, 2), ConfigError);
    assert.throws(() => g.resolveViewAugmentation({ gain: 1.5 }, 2), ConfigError);
    assert.throws(() => g.resolveViewAugmentation({ blur: 1 } as never, 2), ConfigError);
  });
});

describe('contrastive-analysis configs', () => {
  it('fills defaults and rejects unknown keys, bad methods, and MMD weights on plain cVAE', () => {
    const c = g.resolveContrastiveAnalysisConfig({ method: 'mm-cvae', encoder: tinyEncoder });
    assert.equal(c.vae.mmdCommon, 100);
    assert.equal(c.sepclr.betaSalient, 1000);
    assert.equal(g.resolveContrastiveAnalysisConfig({ method: 'cvae', encoder: tinyEncoder }).vae.mmdSalient, 0);
    assert.throws(() => g.resolveContrastiveAnalysisConfig({ method: 'pca', encoder: tinyEncoder }), (e: Error) => e instanceof ConfigError && /method/.test(e.message));
    assert.throws(() => g.resolveContrastiveAnalysisConfig({ method: 'sepclr', encoder: tinyEncoder, stepz: 3 }), (e: Error) => e instanceof ConfigError && /stepz/.test(e.message));
    assert.throws(() => g.resolveContrastiveAnalysisConfig({ method: 'cvae', encoder: tinyEncoder, vae: { mmdCommon: 5 } }), (e: Error) => e instanceof ConfigError && /mm-cvae/.test(e.message));
    assert.throws(() => g.resolveContrastiveAnalysisConfig({ method: 'sepclr', encoder: tinyEncoder, sepclr: { betaReg: -1 } }), (e: Error) => e instanceof ConfigError && /betaReg/.test(e.message));
    assert.throws(() => g.resolveContrastiveAnalysisConfig({ method: 'sepclr', encoder: { arch: 'vit' } }), (e: Error) => e instanceof ConfigError && /encoder.arch/.test(e.message));
  });
});

describe('training every method (tiny set)', () => {
  const ds = tinySet(96);
  const split = g.splitDataset(ds, { testFraction: 0.25, seed: 0 });
  const base = { encoder: tinyEncoder, commonDim: 4, salientDim: 4, batchSize: 16, logEvery: 2, seed: 3, projector: { hidden: 16 } };

  for (const [method, expected] of [
    ['sepclr', ['common', 'salient', 'reg', 'jem', 'mmdCommon', 'hsic']],
    ['simclr', ['infoNCE']],
    ['cvae', ['reconstruction', 'klCommon', 'klSalient', 'mmdCommon', 'mmdSalient']],
    ['mm-cvae', ['reconstruction', 'klCommon', 'klSalient', 'mmdCommon', 'mmdSalient']],
  ] as const) {
    it(`${method}: finite per-term logs, deterministic for a seed, embeddings of the right widths, no leaks`, async () => {
      const extra = method === 'sepclr' ? { sepclr: { mmdCommon: 1, hsic: 1 } } : {};
      const cfg = { ...base, ...extra, method, steps: 4 };
      const before = tf.memory().numTensors;
      const a = g.fitContrastiveAnalysis(ds, cfg, { indices: split.train });
      const b = g.fitContrastiveAnalysis(ds, cfg, { indices: split.train });
      assert.deepEqual(a.history.map((r) => r.step), [1, 2, 4]);
      assert.deepEqual(Object.keys(a.history[0].terms).sort(), [...expected].sort());
      for (const r of a.history) {
        assert.ok(Number.isFinite(r.loss), `loss at step ${r.step}`);
        for (const [k, v] of Object.entries(r.terms)) assert.ok(Number.isFinite(v), `${k} at step ${r.step}`);
      }
      assert.deepEqual(a.history.map((r) => r.loss), b.history.map((r) => r.loss), 'same seed, same losses');
      const e = await assertNoLeak(() => g.embedDataset(a.method, ds, split.test, 7), 'embedDataset');
      assert.equal(e.common.length, split.test.length * e.commonDim);
      assert.equal(e.salient.length, split.test.length * e.salientDim);
      const dims = method === 'simclr' ? [8, 8] : [4, 4];
      assert.deepEqual([e.commonDim, e.salientDim], dims);
      if (a.method.reconstruct) {
        const x = g.batchTensor(g.gatherImages(ds, [0, 1]), 2, ds.shape);
        await assertNoLeak(() => {
          const r = a.method.reconstruct!(x, [0, 1]);
          assert.deepEqual(r.shape, [2, 8, 8, 1]);
          r.dispose();
        }, 'reconstruct');
        x.dispose();
      }
      a.method.model.dispose();
      b.method.model.dispose();
      assert.equal(tf.memory().numTensors, before, 'training left tensors behind');
    });
  }

  it('SepCLR pushes background salient codes towards the origin (information-less constraint) within a few steps', () => {
    const fit = g.fitContrastiveAnalysis(ds, { ...base, method: 'sepclr', steps: 30, lr: 3e-3 }, { indices: split.train });
    const tr = g.embedDataset(fit.method, ds, split.train);
    const te = g.embedDataset(fit.method, ds, split.test);
    const s = g.evaluateSeparation(ds, tr, te);
    assert.ok(s.background_salient_norm < 0.5, `background/target salient norm ${s.background_salient_norm}`);
    assert.ok(fit.history[fit.history.length - 1].terms.reg < fit.history[0].terms.reg, 'reg term decreased');
    fit.method.model.dispose();
  });
});

describe('evaluateSeparation', () => {
  it('scores embeddings with a known answer: the salient factor in the salient space only, the common one in the common space only', () => {
    const ds = tinySet(120);
    const split = g.splitDataset(ds, { testFraction: 0.3, seed: 2 });
    const rng = new g.Rng(9);
    const embed = (idx: Int32Array): g.Embeddings => {
      const common = new Float32Array(idx.length * 2);
      const salient = new Float32Array(idx.length * 2);
      idx.forEach((i, k) => {
        const level = ds.factors.level[i] as number;
        const side = ds.factors.side[i];
        common[k * 2] = level + rng.normal(0, 0.1);
        common[k * 2 + 1] = rng.normal();
        salient[k * 2] = ds.group[i] ? (side === 'left' ? 1 : -1) + rng.normal(0, 0.1) : 0;
        salient[k * 2 + 1] = ds.group[i] ? rng.normal() : 0;
      });
      return { common, salient, salientCode: salient, commonDim: 2, salientDim: 2, codeDim: 2, indices: idx };
    };
    const s = g.evaluateSeparation(ds, embed(split.train), embed(split.test));
    assert.ok(s.salient_from_salient > 0.95, `salient from salient ${s.salient_from_salient}`);
    assert.ok(s.salient_from_common < 0.75, `salient from common ${s.salient_from_common}`);
    assert.ok(s.common_from_common > 0.95, `common from common ${s.common_from_common}`);
    assert.ok(s.common_from_salient < 0.6, `common from salient ${s.common_from_salient}`);
    assert.equal(s.background_salient_norm, 0);
    assert.ok(s.hsic < 0.3, `HSIC of independent spaces ${s.hsic}`);
    assert.equal(s.salient.metric, 'balanced_accuracy');
    assert.ok(s.common[0].background_from_common! > 0.95 && s.common[0].background_from_salient! < 0.6, JSON.stringify(s.common[0]));
    assert.equal(s.probe_samples.train + s.probe_samples.test, 60);
  });
});

describe('saliency and image grids', () => {
  it('gradient × input has the input shape, is finite, and vanishes on a zero input', async () => {
    const ds = tinySet(32);
    const fit = g.fitContrastiveAnalysis(ds, { method: 'sepclr', encoder: tinyEncoder, commonDim: 4, salientDim: 4, steps: 2, batchSize: 8 });
    const x = g.batchTensor(g.gatherImages(ds, [1, 3]), 2, ds.shape);
    await assertNoLeak(() => g.salientSaliency(fit.method, x).dispose(), 'saliency');
    const m = g.salientSaliency(fit.method, x);
    assert.deepEqual(m.shape, x.shape);
    assert.ok(Array.from(m.dataSync()).every(Number.isFinite));
    assert.ok(Array.from(m.dataSync()).some((v) => v !== 0));
    const zero = tf.zerosLike(x);
    const mz = g.salientSaliency(fit.method, zero);
    assert.ok(Array.from(mz.dataSync()).every((v) => v === 0));
    const mean = g.meanSaliency(fit.method, ds, [1, 3, 5]);
    assert.equal(mean.length, 64);
    tf.dispose([x, m, zero, mz]);
    fit.method.model.dispose();
  });

  it('imageGrid tiles images with a shared range; centralSlice cuts volumes along each axis', () => {
    const a = Float32Array.from([0, 1, 2, 3]);
    const b = Float32Array.from([3, 2, 1, 0]);
    const grid = g.imageGrid([a, b], [2, 2], { gap: 1 });
    assert.deepEqual([grid.width, grid.height, grid.channels], [5, 2, 1]);
    assert.deepEqual(Array.from(grid.data as Uint8Array), [0, 85, 255, 255, 170, 170, 255, 255, 85, 0]);
    const heat = g.imageGrid([a], [2, 2], { colormap: 'heat', scale: 2 });
    assert.deepEqual([heat.width, heat.height, heat.channels], [4, 4, 3]);
    const vol = Float32Array.from({ length: 24 }, (_, i) => i); // [D=2, H=3, W=4]
    assert.deepEqual(Array.from(g.centralSlice(vol, [2, 3, 4], 0).data), Array.from({ length: 12 }, (_, i) => 12 + i));
    assert.deepEqual(Array.from(g.centralSlice(vol, [2, 3, 4], 1).data), [4, 5, 6, 7, 16, 17, 18, 19]);
    assert.deepEqual(Array.from(g.centralSlice(vol, [2, 3, 4], 2).data), [2, 6, 10, 14, 18, 22]);
    assert.deepEqual(g.encodePng(grid).subarray(1, 4), new Uint8Array([0x50, 0x4e, 0x47]));
  });
});
