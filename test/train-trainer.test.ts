/**
 * The trainer core on in-memory data and a tiny 3D encoder: seeded determinism, exact resume, divergence stop
 * with intact checkpoints, flat tensor count over epochs, mixed objectives and their embeddings, optimizers and
 * the learning-rate schedule.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  tf,
  ArrayDataSource,
  createTask,
  resolveTaskConfig,
  train,
  loadCheckpoint,
  readLatestPointer,
  scheduleFactor,
  DivergenceError,
  ConfigError,
  Rng,
  infoNCE,
  buildObjectives,
  type TrainerOptions,
  type TrainBatch,
} from 'geoclr';

const SHAPE = [6, 6, 6, 1];
const ENCODER = { arch: 'resnet3d', inChannels: 1, widths: [4, 8], depths: [1, 1], stemKernel: 3, stemStride: 2, stemPool: false, head: { hidden: [8], out: 8, batchNorm: false } } as const;

function dataset(n = 20, seed = 0, batchSize = 8): ArrayDataSource {
  const rng = new Rng(seed);
  const frame = SHAPE.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n * frame);
  const age: number[] = [];
  const site: string[] = [];
  for (let i = 0; i < n; i++) {
    age.push(20 + 3 * i);
    site.push(['A', 'B'][i % 2]);
    for (let k = 0; k < frame; k++) data[i * frame + k] = rng.normal() + (k < frame / 2 ? age[i] / 40 : 0) + (i % 2);
  }
  return new ArrayDataSource({ data, inputShape: SHAPE, meta: { age, site }, batchSize, seed: 3, augment: (x, r) => x.map((v) => v + 0.2 * r.normal()) });
}

function contrastive(objectives: unknown[], data: ArrayDataSource, seed = 0) {
  return createTask({ config: resolveTaskConfig({ name: 'contrastive', objectives }), encoder: { ...ENCODER, head: { ...ENCODER.head, hidden: [...ENCODER.head.hidden] }, widths: [...ENCODER.widths], depths: [...ENCODER.depths] }, seed, data: { columns: data.columns, inputShape: SHAPE } });
}

const YAWARE_FAIRKL = [
  { name: 'yaware', temperature: 0.2, metadata: 'age', kernel: { type: 'rbf', sigma: 6 } },
  { name: 'fairkl', weight: 0.5, labels: { column: 'age', bins: [45] }, bias: 'site' },
];

function records(runDir: string): Record<string, unknown>[] {
  return readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** The deterministic part of a metrics record (timings vary). */
function curve(runDir: string): unknown[] {
  return records(runDir).map(({ samples_per_s: _s, elapsed_s: _e, ...r }) => r);
}

function weights(task: { parts: Record<string, { stateDict(): Record<string, tf.Tensor> }> }): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(task.parts.encoder.stateDict())) out[name] = Array.from(t.dataSync());
  return out;
}

describe('train: trainer core', function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'geoclr-trainer-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  async function run(name: string, extra: Partial<TrainerOptions> = {}, seed = 0, objectives: unknown[] = YAWARE_FAIRKL) {
    const data = dataset();
    const task = contrastive(objectives, data, seed);
    const runDir = path.join(tmp, name);
    try {
      const result = await train({
        runDir,
        parts: task.parts,
        loss: task.loss.bind(task),
        data,
        epochs: 3,
        optimizer: { name: 'adamw', lr: 3e-3, weightDecay: 0.05 },
        schedule: { name: 'cosine', warmupSteps: 2, minFactor: 0.1 },
        clipGradNorm: 5,
        checkpoint: { everySteps: 2, keep: 2 },
        progress: false,
        log: () => undefined,
        ...extra,
      });
      return { result, runDir, weights: weights(task) };
    } finally {
      task.dispose();
    }
  }

  it('gives the same loss curve and weights for the same seed, and another curve for another seed', async () => {
    const a = await run('seed-a');
    const b = await run('seed-b');
    const c = await run('seed-c', {}, 1);
    assert.equal(a.result.steps, 6);
    assert.equal(a.result.complete, true);
    assert.deepEqual(curve(b.runDir), curve(a.runDir));
    assert.deepEqual(b.weights, a.weights);
    assert.notDeepEqual(curve(c.runDir), curve(a.runDir));
    const first = records(a.runDir)[0];
    for (const key of ['step', 'epoch', 'loss', 'terms', 'lr', 'grad_norm', 'samples_per_s', 'elapsed_s']) assert.ok(key in first, `metrics record has ${key}`);
    assert.deepEqual(Object.keys(first.terms as object), ['yaware', 'fairkl']);
  });

  it('resumes bit for bit from a checkpoint in the middle of an epoch', async () => {
    const full = await run('full');
    // 2 batches per epoch: stop after step 3 (mid-epoch 2); the checkpoint at step 3 holds the data position.
    const part = await run('part', { maxSteps: 3 });
    assert.equal(part.result.steps, 3);
    assert.equal(part.result.complete, false);
    assert.equal((await readLatestPointer(part.runDir))!.step, 3);
    const resumed = await run('part', { resume: true });
    assert.equal(resumed.result.resumedFrom, 3);
    assert.equal(resumed.result.steps, 6);
    assert.deepEqual(curve(resumed.runDir), curve(full.runDir));
    assert.deepEqual(resumed.weights, full.weights);
  });

  it('refuses to start over a run without --resume, and to resume under another configuration', async () => {
    await assert.rejects(run('full'), (e: unknown) => e instanceof ConfigError && /already holds a run.*--resume/.test((e as Error).message));
    await assert.rejects(run('full', { resume: true, fingerprint: 'other' }), (e: unknown) => e instanceof ConfigError && /another configuration/.test((e as Error).message));
  });

  it('stops on a NaN loss with a DivergenceError, before the update, leaving the checkpoints intact', async () => {
    const data = dataset();
    const task = contrastive([{ name: 'infonce' }], data);
    const runDir = path.join(tmp, 'nan');
    let calls = 0;
    const loss = (batch: TrainBatch, info: { step: number; epoch: number }) => {
      const out = task.loss(batch, info);
      if (++calls < 4) return out;
      return { total: tf.mul(out.total, NaN) as tf.Scalar, terms: out.terms };
    };
    try {
      await assert.rejects(
        train({ runDir, parts: task.parts, loss, data, epochs: 5, checkpoint: { everySteps: 1, keep: 2 }, progress: false, log: () => undefined }),
        (e: unknown) => e instanceof DivergenceError && /diverged at step 4 .*loss = NaN.*not applied.*checkpoint \(step 3\).*intact/s.test((e as Error).message),
      );
      const pointer = await readLatestPointer(runDir);
      assert.equal(pointer!.step, 3);
      const ckpt = await loadCheckpoint(runDir, pointer!);
      const saved = ckpt.parts.encoder;
      for (const [name, t] of Object.entries(task.parts.encoder.stateDict())) {
        assert.deepEqual(Array.from(saved[name].dataSync()), Array.from(t.dataSync()), `${name}: the NaN step changed nothing`);
        assert.ok(Array.from(saved[name].dataSync()).every(Number.isFinite), `${name} finite`);
      }
      tf.dispose([...Object.values(ckpt.parts.encoder)]);
      const last = records(runDir).at(-1)!;
      assert.equal(last.diverged, true);
      assert.ok(!existsSync(path.join(runDir, 'model.safetensors')));
    } finally {
      task.dispose();
    }
  });

  it('keeps the tensor count flat across epochs and releases everything it made', async () => {
    const data = dataset(24);
    const task = contrastive(YAWARE_FAIRKL, data);
    const counts: number[] = [];
    const start = tf.memory().numTensors;
    try {
      await train({ runDir: path.join(tmp, 'leak'), parts: task.parts, loss: task.loss.bind(task), data, epochs: 4, progress: false, log: () => undefined, onEpochEnd: () => counts.push(tf.memory().numTensors) });
      assert.equal(counts.length, 4);
      assert.ok(counts.every((c) => c === counts[0]), `tensors after each epoch: ${counts.join(', ')}`);
      assert.equal(tf.memory().numTensors, start, 'the optimizer state and every batch are released');
    } finally {
      task.dispose();
    }
  });

  it('combines objectives with their weights, each on its own embedding', async () => {
    const data = dataset();
    const task = contrastive(YAWARE_FAIRKL, data);
    const batch = (await data.batches(0, 0)[Symbol.asyncIterator]().next()).value as TrainBatch;
    try {
      const out = task.loss(batch, { step: 0, epoch: 0 });
      const total = out.total.dataSync()[0];
      assert.ok(Math.abs(total - (out.terms.yaware.dataSync()[0] + 0.5 * out.terms.fairkl.dataSync()[0])) < 1e-5);
      tf.dispose([out.total, ...Object.values(out.terms)]);
      // FairKL alone acts on the representation: the projection head gets no gradient.
      const onlyFair = contrastive([YAWARE_FAIRKL[1]], data);
      const params = onlyFair.parts.encoder.namedParameters();
      const { value, grads } = tf.variableGrads(() => onlyFair.loss(batch, { step: 0, epoch: 0 }).total, params.map(([, v]) => v));
      const named = new Map(params.map(([n, v]) => [v.name, n]));
      const withGrad = Object.keys(grads).map((k) => named.get(k)!);
      assert.ok(withGrad.some((n) => n.startsWith('conv1')), 'the backbone is trained');
      assert.ok(!withGrad.some((n) => n.startsWith('head.')), `no head gradient, got ${withGrad.filter((n) => n.startsWith('head'))}`);
      tf.dispose([value, ...Object.values(grads)]);
      onlyFair.dispose();
    } finally {
      tf.dispose(batch.views);
      task.dispose();
    }
  });

  it('averages a pairwise objective over every pair of V views', () => {
    const [term] = buildObjectives([{ name: 'infonce', temperature: 0.5 }], 'objectives', {});
    const views = [0, 1, 2].map((s) => tf.tensor2d(new Rng(s).normalArray(5 * 4), [5, 4]));
    const batch = { views: [], meta: {}, ids: [], size: 5 } as TrainBatch;
    const got = term.compute(views as tf.Tensor2D[], batch);
    const pairs = [[0, 1], [0, 2], [1, 2]].map(([i, j]) => infoNCE(views[i], views[j], { temperature: 0.5 }).dataSync()[0]);
    assert.ok(Math.abs(got.dataSync()[0] - (pairs[0] + pairs[1] + pairs[2]) / 3) < 1e-6);
    tf.dispose([got, ...views]);
  });

  it('follows the warm-up cosine schedule and trains with SGD momentum and Adam too', async () => {
    const f = scheduleFactor({ name: 'cosine', warmupSteps: 2, minFactor: 0.1 }, 6, 2);
    const lrs = records(path.join(tmp, 'seed-a')).map((r) => r.lr as number);
    lrs.forEach((lr, s) => assert.ok(Math.abs(lr - 3e-3 * f(s)) < 1e-12, `step ${s + 1}: lr ${lr}`));
    for (const name of ['sgd', 'adam'] as const) {
      const r = await run(`opt-${name}`, { optimizer: { name, lr: 1e-2, momentum: 0.9 } }, 0, [{ name: 'infonce' }]);
      const losses = records(r.runDir).map((x) => x.loss as number);
      assert.ok(losses.every(Number.isFinite) && r.result.complete, `${name}: ${losses}`);
    }
  });

  it('rejects a batch larger than the data', () => {
    assert.throws(() => dataset(5, 0, 8), (e: unknown) => e instanceof ConfigError && /8 is larger than the 5 training samples/.test((e as Error).message));
  });
});
