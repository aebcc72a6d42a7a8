/**
 * Image–report pretraining: the `image-text` task over `mri-text` data (a tiny synthetic cohort and its
 * generated reports) — one run trains both encoders and the temperature without leaking, writes model.safetensors
 * and text-model.safetensors, resumes exactly (temperature included); kernel-clip with an intra-image y-Aware
 * term; config errors; bad report input (missing, empty, very long); the retrieval wiring of the demo section and
 * its summary schema on a tiny run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, ConfigError, FileFormatError, parseConfigFile, resolveTrainConfig, runTraining } from 'geoclr';
import { loadSafetensors } from '../src/io/safetensors.js';
import { synthCohort } from 'geoclr/mri';
import { writeCohortReports, readTableFile, formatTable, loadTextModel as loadTextModelPublic } from 'geoclr/text';
import { loadTextModel } from '../modalities/text/text-model.js';
import { openMriTextTrain, resolveMriTextData } from '../scripts/train/mri-text.js';
import { ZERO_SHOT_PROMPTS, crossModalMetrics, promptEnsemble } from '../scripts/demo/sections/multimodal.js';
import '../scripts/train/modalities.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'scripts', 'geoclr.js');
const SHAPE = [10, 12, 10];

describe('text: image–text pretraining (image-text task on mri-text data)', function () {
  this.timeout(120_000);
  let tmp: string;
  let cohort: string;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'geoclr-image-text-'));
    cohort = path.join(tmp, 'cohort');
    await synthCohort({ out: cohort, subjects: 12, visits: 1, seed: 4, shape: SHAPE as [number, number, number], sites: 2, progress: false });
    await writeCohortReports(cohort, { seed: 1 });
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const rawConfig = (name: string, extra: { data?: object; task?: object; top?: object } = {}) => ({
    name,
    seed: 0,
    out: path.join(tmp, 'runs', name),
    data: { modality: 'mri-text', cohort, preprocess: { shape: SHAPE }, augment: 'none', views: 1, workers: 0, maxLength: 48, ...extra.data },
    encoder: { arch: 'resnet3d', widths: [4, 8], depths: [1, 1], head: { hidden: [], out: 8 } },
    task: { name: 'image-text', objective: 'clip', textEncoder: { dim: 16, depth: 1, heads: 2, head: { hidden: [], out: 8 } }, ...extra.task },
    optimizer: { name: 'adamw', lr: 1e-2 },
    epochs: 2,
    batchSize: 4,
    checkpoint: { everySteps: 1, keep: 10 },
    evaluation: false,
    ...extra.top,
  });
  const quiet = { progress: false, log: () => {} };
  const checkpoint = async (run: string, step: number) => (await loadSafetensors(path.join(tmp, 'runs', run, 'checkpoints', `step-${String(step).padStart(6, '0')}.safetensors`))).tensors;
  const metrics = (run: string) => readFileSync(path.join(tmp, 'runs', run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  it('trains both encoders and the learnable temperature, leak-free, and writes model.safetensors + text-model.safetensors', async () => {
    const before = tf.memory().numTensors;
    const r = await runTraining({ config: resolveTrainConfig(rawConfig('clip')), ...quiet });
    assert.equal(tf.memory().numTensors, before, 'the run released every tensor it made');
    assert.equal(r.train.steps, 6);
    assert.deepEqual(r.files, [path.join(tmp, 'runs', 'clip', 'text-model.safetensors')]);
    const first = await checkpoint('clip', 1);
    const last = await checkpoint('clip', 6);
    for (const key of ['model/image/conv1.weight', 'model/text/token_embedding.weight', 'model/text/layers.0.self_attn.in_proj_weight', 'variable/logit_scale']) {
      assert.ok(first.has(key) && last.has(key), `checkpoint holds ${key}`);
      assert.notDeepEqual(Array.from(first.get(key)!.dataSync()), Array.from(last.get(key)!.dataSync()), `${key} was trained`);
    }
    tf.dispose([...first.values(), ...last.values()]);
    const m = metrics('clip');
    assert.deepEqual(Object.keys(m[0].terms), ['clip']);
    assert.ok(Math.abs(m[0].values.inv_temperature - 1 / 0.07) < 1e-3, 'starts at 1/τ = 1/0.07');
    assert.notEqual(m[5].values.inv_temperature, m[0].values.inv_temperature);
    const { metadata } = await loadSafetensors(path.join(tmp, 'runs', 'clip', 'model.safetensors'));
    assert.equal(JSON.parse(metadata['geoclr.encoder']).arch, 'resnet3d');
    const objective = JSON.parse(metadata['geoclr.objective']);
    assert.equal(objective.name, 'clip');
    assert.ok(objective.learnedTemperature > 0 && objective.learnedTemperature !== 0.07);
    const text = await loadTextModel(path.join(tmp, 'runs', 'clip'));
    try {
      assert.equal(text.pipeline.spec.tokenizer, 'bert-base-uncased');
      assert.equal(text.pipeline.spec.maxLength, 48);
      assert.ok(text.pipeline.vocabSize > 10 && text.pipeline.vocabSize < 1000, `compact vocabulary of ${text.pipeline.vocabSize}`);
      assert.equal((text.encoder.config as { vocabSize: number }).vocabSize, text.pipeline.vocabSize);
      const e = text.embed(['No hippocampal atrophy.', 'Marked frontal atrophy.']);
      assert.deepEqual([e.n, e.dim], [2, 8]);
      assert.ok(e.data.every(Number.isFinite));
    } finally {
      text.dispose();
    }
  });

  it('resumes bit for bit: both encoders, the temperature and the loss curve', async () => {
    const config = resolveTrainConfig(rawConfig('resumed'));
    const stopped = await runTraining({ config, ...quiet, maxSteps: 3 });
    assert.equal(stopped.train.steps, 3);
    assert.equal(stopped.modelFile, null);
    const r = await runTraining({ config, ...quiet, resume: true });
    assert.equal(r.train.resumedFrom, 3);
    const a = await checkpoint('clip', 6);
    const b = await checkpoint('resumed', 6);
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [k, t] of a) assert.deepEqual(Array.from(b.get(k)!.dataSync()), Array.from(t.dataSync()), k);
    tf.dispose([...a.values(), ...b.values()]);
    assert.deepEqual(metrics('resumed').map((l) => [l.loss, l.values.inv_temperature]), metrics('clip').map((l) => [l.loss, l.values.inv_temperature]));
  });

  it('kernel-clip with an intra-image y-Aware term logs both terms; a fixed temperature is not trained', async () => {
    const config = resolveTrainConfig(
      rawConfig('kernel', {
        data: { views: 2 },
        task: { objective: { name: 'kernel-clip', metadata: ['age', 'diagnosis'] }, image: [{ name: 'yaware', weight: 0.5, metadata: ['age'] }], learnTemperature: false, temperature: 0.1 },
        top: { epochs: 1 },
      }),
    );
    assert.deepEqual(config.task.objective, { name: 'kernel-clip', weight: 1, metadata: ['age', 'diagnosis'], kernel: { type: 'product', factors: [{ type: 'rbf', sigma: 5 }, { type: 'delta' }] } });
    const r = await runTraining({ config, ...quiet });
    assert.equal(r.train.steps, 3);
    const m = metrics('kernel');
    assert.deepEqual(Object.keys(m[0].terms), ['kernel-clip', 'yaware']);
    assert.ok(Math.abs(m[0].loss - (m[0].terms['kernel-clip'] + 0.5 * m[0].terms.yaware)) < 1e-4);
    assert.ok(m.every((l) => Math.abs(l.values.inv_temperature - 10) < 1e-4));
    const last = await checkpoint('kernel', 3);
    assert.ok(!last.has('variable/logit_scale'));
    tf.dispose([...last.values()]);
  });

  it('names config errors: no reports in the data, mismatched projections, clip with metadata, unknown columns', async () => {
    const fails = async (raw: object, field: RegExp, message: RegExp) =>
      assert.rejects(
        (async () => runTraining({ config: resolveTrainConfig(raw), ...quiet }))(),
        (e: unknown) => e instanceof ConfigError && field.test(e.field) && message.test(e.message),
      );
    await fails({ ...rawConfig('e1'), data: { modality: 'mri', cohort, preprocess: { shape: SHAPE }, workers: 0 } }, /^data\.modality$/, /needs paired reports/);
    await fails(rawConfig('e2', { task: { textEncoder: { dim: 16, depth: 1, heads: 2, head: { out: 4 } } } }), /textEncoder\.head\.out/, /4 dimensions but the image encoder's has 8/);
    await fails(rawConfig('e3', { task: { objective: { name: 'clip', metadata: ['age'] } } }), /objective\.metadata/, /only kernel-clip/);
    await fails(rawConfig('e4', { task: { objective: { name: 'kernel-clip', metadata: ['age', 'nope'], kernel: { type: 'product', factors: [{ type: 'rbf', sigma: 5 }, { type: 'delta' }] } } } }), /metadata\[1\]/, /no metadata column 'nope'/);
    await fails(rawConfig('e5', { task: { textEncoder: { arch: 'resnet3d' } } }), /textEncoder\.arch/, /text-transformer/);
    assert.throws(() => resolveTrainConfig(rawConfig('e6', { data: { reports: path.join(tmp, 'none.tsv') } })), (e: unknown) => e instanceof ConfigError && /geoclr reports/.test(e.message));
  });

  it('bad report input: missing and empty reports are skipped with a count (or fail), very long ones truncated, invalid UTF-8 fails or is replaced', async () => {
    const { records } = readTableFile(path.join(cohort, 'reports.tsv'));
    const rows = records.map((r) => [r.subject_id, r.session_id, r.report]);
    rows[1][2] = '   ';
    rows[2][2] = Array.from({ length: 3000 }, (_, i) => (i % 2 ? 'hippocampal' : 'atrophy')).join(' ');
    const partial = path.join(tmp, 'partial.tsv');
    writeFileSync(partial, formatTable(['subject_id', 'session_id', 'report'], rows.slice(0, 9), '\t'));
    const data = (extra: object) => resolveMriTextData({ cohort, preprocess: { shape: SHAPE }, augment: 'none', workers: 0, maxLength: 300, reports: partial, ...extra }, 'data', '/');
    const logs: string[] = [];
    const source = await openMriTextTrain(data({}) as never, { batchSize: 4, seed: 0 }, (m) => logs.push(m));
    try {
      assert.equal(source.size, 8, '3 sessions without a row, 1 empty report');
      assert.match(logs.join('\n'), /4 session\(s\) without a report skipped \(3 missing, 1 empty; e\.g\. sub-\d+\/ses-01/);
      assert.match(logs.join('\n'), /1 of 8 reports are longer than 300 tokens and are truncated/);
      assert.equal(source.inputs?.input_ids?.maxLength, 300);
      for await (const b of source.batches(0, 0)) {
        const ids = b.inputs!.input_ids!;
        assert.ok(ids.shape[1]! <= 300);
        assert.equal(ids.dtype, 'int32');
        assert.deepEqual(b.inputs!.attention_mask!.shape, ids.shape);
        tf.dispose([...b.views, ...Object.values(b.inputs!)]);
      }
    } finally {
      await source.close();
    }
    await assert.rejects(openMriTextTrain(data({ onMissingReport: 'error' }) as never, { batchSize: 4, seed: 0 }, () => {}), (e: unknown) => e instanceof FileFormatError && /an empty report for sub-002\/ses-01 \(set data\.onMissingReport: skip/.test(e.message));
    // Invalid UTF-8 (a Latin-1 'é' in one report): an error naming the line, byte and config key, or replacements, counted.
    const latin = path.join(tmp, 'latin1.tsv');
    const text = Buffer.from(formatTable(['subject_id', 'session_id', 'report'], rows.slice(0, 9).map((r, i) => (i === 3 ? [r[0], r[1], 'Mild atrophy. Caf_ note.'] : r)), '\t'), 'utf8');
    text[text.indexOf('Caf_') + 3] = 0xe9;
    writeFileSync(latin, text);
    await assert.rejects(
      openMriTextTrain(data({ reports: latin }) as never, { batchSize: 4, seed: 0 }, () => {}),
      (e: unknown) => e instanceof FileFormatError && e.file === latin && /line 5, byte \d+: invalid UTF-8 \(0xE9\).*set data\.invalidUtf8: replace/.test(e.message),
    );
    const replacedLogs: string[] = [];
    const replaced = await openMriTextTrain(data({ reports: latin, invalidUtf8: 'replace' }) as never, { batchSize: 4, seed: 0 }, (m) => replacedLogs.push(m));
    try {
      assert.equal(replaced.size, 8);
      assert.match(replacedLogs.join('\n'), /1 line\(s\) of .*latin1\.tsv held invalid UTF-8, read with U\+FFFD replacements \(e\.g\. line 5\)/);
    } finally {
      await replaced.close();
    }
    assert.throws(() => data({ invalidUtf8: 'latin1' }), (e: unknown) => e instanceof ConfigError && e.field === 'data.invalidUtf8');
    // No reports file beside a manifest without a report column.
    const bare = path.join(tmp, 'bare');
    await synthCohort({ out: bare, subjects: 4, visits: 1, seed: 5, shape: SHAPE as [number, number, number], sites: 1, progress: false });
    await assert.rejects(
      openMriTextTrain(resolveMriTextData({ cohort: bare, preprocess: { shape: SHAPE }, workers: 0 }, 'data', '/') as never, { batchSize: 2, seed: 0 }),
      (e: unknown) => e instanceof ConfigError && e.field === 'data.reports' && /geoclr reports/.test(e.message),
    );
  });

  it('retrieval wiring: recall, median rank, chance and zero-shot AUC from paired embeddings', () => {
    const n = 12;
    const d = 6;
    const img = new Float32Array(n * d).map((_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const same = crossModalMetrics({ rows: n, cols: d, data: img }, { rows: n, cols: d, data: img.map((v) => v * 2) });
    assert.deepEqual([same.r1_i2t, same.r5_i2t, same.r1_t2i, same.median_rank_i2t, same.median_rank_t2i], [1, 1, 1, 1, 1]);
    assert.ok(Math.abs(same.chance_r5 - 5 / n) < 1e-12);
    assert.deepEqual(same.rank, Array(n).fill(1));
    // Texts shifted by one: every image's own report is beaten by exactly one other.
    const shifted = new Float32Array(n * d);
    for (let i = 0; i < n; i++) shifted.set(img.subarray(((i + 1) % n) * d, ((i + 1) % n + 1) * d), i * d);
    const off = crossModalMetrics({ rows: n, cols: d, data: img }, { rows: n, cols: d, data: shifted });
    assert.equal(off.r1_i2t, 0);
    assert.deepEqual(off.top1, Array.from({ length: n }, (_, i) => (i + n - 1) % n));
    // Zero-shot: images whose first coordinate is positive are "present"; prompts along ±e₁.
    const labels = Array.from({ length: n }, (_, i) => (img[i * d] > 0 ? 1 : 0));
    const prompts = new Float32Array(2 * d);
    prompts[0] = -1;
    prompts[d] = 1;
    const z = crossModalMetrics({ rows: n, cols: d, data: img }, { rows: n, cols: d, data: img }, { f: { prompts: { rows: 2, cols: d, data: prompts }, labels }, one: { prompts: { rows: 2, cols: d, data: prompts }, labels: labels.map(() => 1) } });
    assert.equal(z.zeroshot.f, 1);
    assert.equal(z.zeroshot.one, null, 'one class only: no AUC');
  });

  it('zero-shot prompts: each class is the mean of its unit-normalised prompt embeddings; absent prompts carry no negation, present ones a severity word, as in the reports', () => {
    const e = promptEnsemble({ n: 2, dim: 2, data: new Float32Array([3, 4, 0, 2]) });
    assert.deepEqual(Array.from(e, (v) => Number(v.toFixed(6))), [0.3, 0.9]);
    for (const [finding, [absent, present]] of Object.entries(ZERO_SHOT_PROMPTS)) {
      assert.ok(absent.length >= 1 && absent.every((t) => !/\bno\b/i.test(t)), `${finding}: no negation in the absent prompts`);
      assert.deepEqual(present.map((t) => t.split(' ')[0]), ['Mild', 'Moderate', 'Marked'], finding);
      assert.equal(new Set(present.map((t) => t.split(' ').slice(1).join(' '))).size, 1, `${finding}: one finding, three severities`);
    }
  });

  it('geoclr demo --only multimodal writes summary.json `multimodal` rows with the documented schema (tiny run)', () => {
    const out = path.join(tmp, 'demo');
    const r = spawnSync(process.execPath, [BIN, 'demo', '--quick', '--only', 'multimodal', '--out', out, '--subjects', '12', '--epochs', '1', '--shape', '10,12,10'], {
      encoding: 'utf8',
      env: { ...process.env, GEOCLR_PROGRESS: '0' },
    });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    const rows = summary.multimodal as Record<string, unknown>[];
    assert.deepEqual(rows.map((x) => x.name), ['clip', 'kernel-clip', 'simclr (image only)', 'random init']);
    for (const row of rows) {
      assert.deepEqual(Object.keys(row), ['name', 'r1_i2t', 'r5_i2t', 'r5_t2i', 'median_rank_i2t', 'zeroshot_auc', 'chance_r5', 'age_mae']);
      assert.ok(typeof row.age_mae === 'number' && row.age_mae >= 0);
    }
    const pairs = summary.cohort.test_subjects;
    for (const row of rows.filter((x) => x.name !== 'simclr (image only)')) {
      for (const k of ['r1_i2t', 'r5_i2t', 'r5_t2i']) assert.ok((row[k] as number) >= 0 && (row[k] as number) <= 1, `${row.name}.${k}`);
      assert.ok((row.median_rank_i2t as number) >= 1 && (row.median_rank_i2t as number) <= pairs);
      assert.equal(row.chance_r5, Math.min(1, Number((5 / pairs).toFixed(4))));
    }
    assert.equal(rows[2].r5_i2t, null, 'image-only: no text metrics');
    for (const run of ['mm-clip', 'mm-kernel-clip']) {
      assert.ok(existsSync(path.join(out, 'runs', run, 'model.safetensors')) && existsSync(path.join(out, 'runs', run, 'text-model.safetensors')), run);
    }
    assert.match(readFileSync(path.join(out, 'report.html'), 'utf8'), /Image–report pretraining/);
    assert.match(r.stdout, /name\s+r1_i2t\s+r5_i2t\s+r5_t2i\s+median_rank_i2t\s+zeroshot_auc\s+chance_r5\s+age_mae/);
  });

  it("the README's example config (scripts/configs/image-report.yaml) trains as written, paths and length aside, and the README's code loads the run", async () => {
    const raw = parseConfigFile(path.join(ROOT, 'scripts', 'configs', 'image-report.yaml')) as Record<string, Record<string, unknown>>;
    assert.equal((raw.task.objective as { name: string }).name, 'kernel-clip');
    // Only where the files are, the run's length and a smaller grid change; encoders, objective and optimizer are as written.
    const config = resolveTrainConfig({
      ...raw,
      out: path.join(tmp, 'runs', 'image-report'),
      data: { ...raw.data, manifest: path.join(cohort, 'manifest.tsv'), reports: path.join(cohort, 'reports.tsv'), preprocess: { shape: SHAPE }, workers: 0 },
      epochs: 1,
      batchSize: 4,
    });
    const r = await runTraining({ config, ...quiet });
    assert.equal(r.train.steps, 3);
    const text = await loadTextModelPublic(config.out);
    try {
      const e = text.embed(['hippocampal atrophy', 'no hippocampal atrophy']);
      assert.deepEqual([e.n, e.dim], [2, 128]);
      assert.ok(e.data.every(Number.isFinite));
    } finally {
      text.dispose();
    }
    // The README's JavaScript example, run from the folder holding runs/image-report ('geoclr' resolves to the build).
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes("loadTextModel('runs/image-report')"));
    assert.ok(block, 'README has the example');
    const file = path.join(ROOT, 'dist', `readme-image-report-${process.pid}.mjs`);
    writeFileSync(file, block);
    try {
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: tmp });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), '2 128 128');
    } finally {
      rmSync(file, { force: true });
    }
  });
});
