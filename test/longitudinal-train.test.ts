/**
 * The `longitudinal` training task and the `mri-longitudinal` data modality through `geoclr train`: P subjects ×
 * K visits per batch with their visit times, the learned direction checkpointed as a task variable and restored
 * bit for bit on --resume, composition with other objectives (y-Aware on age, FairKL), and config errors that name
 * the field.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, tf, loadCheckpoint, readLatestPointer, resolveTrainConfig } from 'geoclr';
import { synthCohort } from 'geoclr/mri';
import { tempDir } from './support/nibabel.js';
import '../scripts/train/modalities.js';
import { openLongitudinalTrain } from '../scripts/train/longitudinal.js';

function geoclr(args: string[], cwd: string) {
  return spawnSync(process.execPath, [path.resolve('scripts/geoclr.js'), ...args], { encoding: 'utf8', cwd, env: { ...process.env, GEOCLR_QUIET: '1' } });
}

const ENCODER = { arch: 'resnet3d', widths: [4, 8], depths: [1, 1], head: { hidden: [16], out: 8 } };

function config(extra: Record<string, unknown> = {}, task: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  return {
    name: 'long',
    seed: 3,
    out: 'runs/long',
    data: { modality: 'mri-longitudinal', manifest: 'cohort', visitsPerSubject: 2, preprocess: { shape: [12, 14, 12] }, augment: [{ type: 'gaussianNoise', std: 0.05 }], workers: 0, ...data },
    encoder: ENCODER,
    task: {
      name: 'longitudinal',
      direction: { weight: 1 },
      objectives: [{ name: 'longitudinal-yaware', sigmaTime: 2 }, { name: 'yaware', metadata: ['age'], kernel: { type: 'rbf', sigma: 5 }, weight: 0.5 }],
      ...task,
    },
    epochs: 2,
    batchSize: 6,
    checkpoint: { everySteps: 2, keep: 5 },
    evaluation: false,
    ...extra,
  };
}

describe('longitudinal: training task and data modality', function () {
  let tmp: ReturnType<typeof tempDir>;
  before(async function () {
    this.timeout(120_000);
    tmp = tempDir('geoclr-long-train-');
    await synthCohort({ out: path.join(tmp.dir, 'cohort'), subjects: 9, visits: 3, interval: 2, shape: [12, 14, 12], seed: 2, workers: 0, progress: false });
  });
  after(() => tmp.cleanup());

  it('batches hold P subjects × K visits with visit_years; the direction is a checkpointed variable; --resume is exact', async () => {
    const cfg = resolveTrainConfig(config(), { baseDir: tmp.dir });
    const source = await openLongitudinalTrain(cfg.data, { batchSize: 6, seed: 1 });
    assert.equal(source.batchesPerEpoch, 3, '9 subjects / 3 per batch');
    assert.equal(source.columns.visit_years, 'number');
    for await (const b of source.batches(0, 0)) {
      const subjects = b.meta.subject_id as string[];
      const years = b.meta.visit_years as number[];
      assert.equal(b.size, 6);
      for (let k = 0; k < 6; k += 2) {
        assert.equal(subjects[k], subjects[k + 1]);
        assert.ok(years[k] < years[k + 1], `visit times ${years[k]} < ${years[k + 1]}`);
      }
      b.views.forEach((v) => v.dispose());
    }
    await source.close();

    writeFileSync(path.join(tmp.dir, 'long.json'), JSON.stringify(config()));
    const full = geoclr(['train', '--config', 'long.json', '--no-progress'], tmp.dir);
    assert.equal(full.status, 0, full.stderr);
    const metrics = readFileSync(path.join(tmp.dir, 'runs/long/metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(metrics.length, 6);
    assert.deepEqual(Object.keys(metrics[0].terms).sort(), ['direction', 'longitudinal-yaware', 'yaware']);
    const last = async (dir: string) => {
      const run = path.join(tmp.dir, dir);
      const pointer = await readLatestPointer(run);
      assert.ok(pointer && pointer.step === 6);
      const c = await loadCheckpoint(run, pointer!);
      const flat: Record<string, number[]> = {};
      for (const [part, ts] of Object.entries(c.parts)) for (const [k, t] of Object.entries(ts)) flat[`${part}/${k}`] = Array.from(t.dataSync());
      for (const [k, t] of Object.entries(c.variables)) flat[`variable/${k}`] = Array.from(t.dataSync());
      tf.dispose([...Object.values(c.parts).flatMap((p) => Object.values(p)), ...Object.values(c.variables)]);
      return flat;
    };
    const a = await last('runs/long');
    assert.equal(a['variable/direction']?.length, 8, `a direction variable [8] in the checkpoint (have ${Object.keys(a).filter((k) => k.startsWith('variable')).join(', ')})`);

    const part = geoclr(['train', '--config', 'long.json', '--no-progress', '--out', 'runs/part', '--max-steps', '3'], tmp.dir);
    assert.equal(part.status, 0, part.stderr);
    const resumed = geoclr(['train', '--config', 'long.json', '--no-progress', '--out', 'runs/part', '--resume'], tmp.dir);
    assert.equal(resumed.status, 0, resumed.stderr);
    const b = await last('runs/part');
    for (const k of Object.keys(a)) assert.deepEqual(b[k], a[k], `${k} after resume`);
    const again = readFileSync(path.join(tmp.dir, 'runs/part/metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
    assert.deepEqual(again, metrics.map((m) => m.loss), 'same loss curve');
  });

  it('composes with FairKL against site and trains the direction alone', () => {
    writeFileSync(path.join(tmp.dir, 'fair.json'), JSON.stringify(config({ out: 'runs/fair', epochs: 1 }, { objectives: [{ name: 'longitudinal-yaware', sigmaTime: 1 }, { name: 'fairkl', labels: 'diagnosis', bias: 'site', weight: 0.5, mode: 'moments' }] })));
    const r = geoclr(['train', '--config', 'fair.json', '--no-progress'], tmp.dir);
    assert.equal(r.status, 0, r.stderr);
    const terms = JSON.parse(readFileSync(path.join(tmp.dir, 'runs/fair/metrics.jsonl'), 'utf8').split('\n')[0]).terms;
    assert.deepEqual(Object.keys(terms).sort(), ['direction', 'fairkl', 'longitudinal-yaware']);
    writeFileSync(path.join(tmp.dir, 'dir.json'), JSON.stringify(config({ out: 'runs/dir', epochs: 1 }, { objectives: [], direction: { weight: 1, on: 'projection' } })));
    const d = geoclr(['train', '--config', 'dir.json', '--no-progress'], tmp.dir);
    assert.equal(d.status, 0, d.stderr);
  });

  it('config errors name the field', () => {
    const bad = (c: Record<string, unknown>, re: RegExp) =>
      assert.throws(() => resolveTrainConfig(c, { baseDir: tmp.dir }), (e: Error) => e instanceof ConfigError && re.test(e.message), `expected ${re}`);
    bad(config({}, { direction: { weight: 1, on: 'both' } }), /task\.direction\.on.*must be one of representation, projection/);
    bad(config({}, { objectives: [], direction: null }), /task\.objectives.*nothing to train/);
    bad(config({}, { sigma: 2 }), /task\.sigma.*unknown key/);
    bad(config({}, { objectives: [{ name: 'longitudinal-yaware', sigmaTime: -1 }] }), /task\.objectives\[0\]\.sigmaTime/);
    bad(config({}, {}, { visitsPerSubject: 0 }), /data\.visitsPerSubject/);
    bad(config({}, {}, { time: { column: 'age', unit: 'weeks' } }), /data\.time\.unit.*years, months, days, date/);
    bad(config({}, {}, { sampler: 1 }), /data\.sampler.*unknown key/);
    // Checked when the data is opened: the batch size must be P × K, the task's columns must exist.
    writeFileSync(path.join(tmp.dir, 'odd.json'), JSON.stringify(config({ batchSize: 5, out: 'runs/odd' })));
    const odd = geoclr(['train', '--config', 'odd.json', '--no-progress'], tmp.dir);
    assert.equal(odd.status, 1);
    assert.match(odd.stderr, /batchSize.*5 is not a multiple of data\.visitsPerSubject \(2\)/);
    writeFileSync(path.join(tmp.dir, 'plain.json'), JSON.stringify(config({ out: 'runs/plain' }, {}, { modality: 'mri', visitsPerSubject: undefined })));
    const plain = geoclr(['train', '--config', 'plain.json', '--no-progress'], tmp.dir);
    assert.equal(plain.status, 1);
    assert.match(plain.stderr, /no metadata column 'visit_years'.*columns are/);
  });
});
