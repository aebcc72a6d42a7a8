/**
 * Training-config validation: every bad field is a ConfigError naming it and what is expected; defaults are
 * filled; YAML syntax errors name the file; data columns are checked when the task meets the data.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, FileFormatError, resolveTrainConfig, readTrainConfig, configDifferences, createTask, resolveTaskConfig, buildObjectives } from 'geoclr';
import '../scripts/train/modalities.js';

describe('train: configuration', () => {
  let tmp: string;
  let manifest: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'geoclr-config-'));
    manifest = path.join(tmp, 'manifest.tsv');
    writeFileSync(manifest, 'subject_id\tpath\tage\tsite\nsub-1\ta.nii.gz\t60\tA\n');
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const valid = () => ({
    name: 'demo',
    data: { modality: 'mri', manifest, preprocess: { shape: [16, 20, 16] } },
    task: { name: 'contrastive', objectives: [{ name: 'yaware', metadata: ['age'], kernel: { type: 'rbf', sigma: 5 } }] },
  });

  function rejects(mutate: (c: Record<string, any>) => void, field: string, message: RegExp) {
    const c = valid() as Record<string, any>;
    mutate(c);
    assert.throws(
      () => resolveTrainConfig(c, { baseDir: tmp }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        assert.equal((e as ConfigError).field, field, (e as Error).message);
        assert.match((e as Error).message, message);
        return true;
      },
    );
  }

  it('fills every default', () => {
    const c = resolveTrainConfig(valid(), { baseDir: tmp });
    assert.equal(c.seed, 0);
    assert.equal(c.out, path.join(tmp, 'runs', 'demo'));
    assert.deepEqual(c.optimizer, { name: 'adamw', lr: 1e-3, weightDecay: 0.01, betas: [0.9, 0.999], eps: 1e-8, momentum: 0, dampening: 0, nesterov: false });
    assert.deepEqual(c.schedule, { name: 'cosine', warmupSteps: null, warmupEpochs: null, minFactor: 0 });
    assert.equal(c.epochs, 10);
    assert.equal(c.batchSize, 16);
    assert.deepEqual(c.checkpoint, { everySteps: 100, keep: 2 });
    assert.equal(c.encoder.arch, 'resnet3d');
    assert.equal(c.data.manifest, manifest);
    assert.equal(c.data.views, 2);
    assert.equal(c.data.augmentName, 'yaware');
    assert.equal((c.data.preprocess as { normalize: string }).normalize, 'zscore-nonzero');
  });

  it('names unknown keys (with a suggestion), wrong types and out-of-range values', () => {
    rejects((c) => (c.epoch = 3), 'epoch', /unknown key \(did you mean 'epochs'\?\)/);
    rejects((c) => (c.optimizer = { name: 'adamw', learningRate: 1 }), 'optimizer.learningRate', /unknown key; expected one of name, lr/);
    rejects((c) => (c.optimizer = { lr: '1e-3' }), 'optimizer.lr', /must be a number > 0, got "1e-3"/);
    rejects((c) => (c.optimizer = { name: 'rmsprop' }), 'optimizer.name', /one of adam, adamw, sgd/);
    rejects((c) => (c.epochs = 2.5), 'epochs', /integer ≥ 1/);
    rejects((c) => (c.batchSize = 1), 'batchSize', /integer ≥ 2/);
    rejects((c) => (c.schedule = { warmupSteps: 3, warmupEpochs: 1 }), 'schedule.warmupEpochs', /not both/);
    rejects((c) => (c.encoder = { arch: 'resnet3d', widths: [8, -1] }), 'encoder.widths', /non-empty list of integers/);
    rejects((c) => (c.name = 'a/b'), 'name', /letters, digits/);
  });

  it('checks the data section: required paths that exist, a preprocessing grid, known transforms', () => {
    rejects((c) => delete c.data, 'data', /is required/);
    rejects((c) => (c.data.manifest = path.join(tmp, 'nope.tsv')), 'data.manifest', /no such file or folder: .*nope\.tsv/);
    rejects((c) => delete c.data.manifest, 'data.manifest', /is required: a cohort folder/);
    rejects((c) => (c.data.modality = 'ct'), 'data.modality', /unknown modality 'ct'; expected one of mri/);
    rejects((c) => delete c.data.preprocess.shape, 'data.preprocess.shape', /is required: the grid \[X, Y, Z\]/);
    rejects((c) => (c.data.preprocess.shape = [16, 20]), 'data.preprocess.shape', /list of 3 numbers/);
    rejects((c) => (c.data.views = 0), 'data.views', /integer ≥ 1/);
    rejects((c) => (c.data.augment = 'strong'), 'data.augment', /'yaware', 'none' or a list/);
    rejects((c) => (c.data.filter = { split: [] }), 'data.filter.split', /a value or a list/);
  });

  it('checks the task and objectives before any data is read', () => {
    rejects((c) => (c.task = { name: 'clip' }), 'task.name', /unknown task 'clip'; expected one of contrastive/);
    rejects((c) => (c.task.objectives = []), 'task.objectives', /non-empty list of objectives/);
    rejects((c) => (c.task.objectives = [{ name: 'simclr' }]), 'task.objectives[0].name', /unknown objective 'simclr'; expected one of infonce, yaware, fairkl/);
    rejects((c) => (c.task.objectives[0].temperature = 0), 'task.objectives[0].temperature', /> 0/);
    rejects((c) => (c.task.objectives[0].sigma = 5), 'task.objectives[0].sigma', /unknown key/);
    rejects((c) => (c.task.objectives[0].kernel = { type: 'gaussian' }), 'task.objectives[0].kernel.type', /unknown kernel 'gaussian'/);
    rejects((c) => (c.task.objectives[0].kernel = { type: 'product', factors: [{ type: 'rbf', sigma: 5 }, { type: 'delta' }] }), 'task.objectives[0].kernel', /reads 2 column\(s\) but metadata lists 1/);
    rejects((c) => c.task.objectives.push({ name: 'fairkl', labels: 'age' }), 'task.objectives[1].bias', /is required: the bias/);
    rejects((c) => c.task.objectives.push({ name: 'fairkl', labels: { column: 'age', bins: [60, 40] }, bias: 'site' }), 'task.objectives[1].labels.bins', /must increase/);
    rejects((c) => (c.task.objectives[0].weight = -1), 'task.objectives[0].weight', /≥ 0/);
  });

  it('checks objective columns against the data when the task is created', () => {
    const data = { columns: { age: 'number' as const, site: 'string' as const }, inputShape: [4, 4, 4, 1] };
    const make = (objectives: unknown[]) => createTask({ config: resolveTaskConfig({ name: 'contrastive', objectives }), encoder: null, seed: 0, data });
    assert.throws(() => make([{ name: 'yaware', metadata: ['age', 'sex'], kernel: { type: 'product', factors: [{ type: 'rbf', sigma: 5 }, { type: 'delta' }] } }]), /'task.objectives\[0\].metadata\[1\]': no metadata column 'sex' in the training data; columns are age, site/);
    assert.throws(() => make([{ name: 'yaware', metadata: ['site'] }]), /a rbf kernel needs a numeric column but 'site' holds categories/);
    assert.throws(() => make([{ name: 'fairkl', labels: { column: 'site', bins: [1] }, bias: 'site' }]), /column 'site' holds categories/);
    const terms = buildObjectives([{ name: 'infonce' }, { name: 'infonce', weight: 0.1, on: 'representation' }], 'o', data);
    assert.deepEqual(terms.map((t) => [t.key, t.on, t.weight]), [['infonce', 'projection', 1], ['infonce_2', 'representation', 0.1]]);
  });

  it('reads YAML and JSON files and names the file and line of a syntax error', () => {
    const yamlFile = path.join(tmp, 'ok.yaml');
    writeFileSync(yamlFile, `data:\n  modality: mri\n  manifest: ${manifest}\n  preprocess: {shape: [8, 8, 8]}\ntask:\n  name: contrastive\n  objectives:\n    - {name: infonce, temperature: 0.2}\n`);
    const c = readTrainConfig(yamlFile);
    assert.equal(c.name, 'ok');
    assert.equal((c.task.objectives as { temperature: number }[])[0].temperature, 0.2);
    const bad = path.join(tmp, 'bad.yaml');
    writeFileSync(bad, 'data:\n  modality: mri\n  manifest: [unclosed\n');
    assert.throws(() => readTrainConfig(bad), (e: unknown) => e instanceof FileFormatError && e.file === bad && /not valid YAML.*line/.test(e.message));
    const badJson = path.join(tmp, 'bad.json');
    writeFileSync(badJson, '{"data": }');
    assert.throws(() => readTrainConfig(badJson), (e: unknown) => e instanceof FileFormatError && /not valid JSON/.test((e as Error).message));
    assert.throws(() => readTrainConfig(path.join(tmp, 'missing.yaml')), /missing\.yaml: no such config file/);
  });

  it('lists the fields where two configs differ, ignoring the output folder', () => {
    const a = resolveTrainConfig(valid(), { baseDir: tmp });
    const b = resolveTrainConfig({ ...valid(), out: 'elsewhere', epochs: 3, optimizer: { lr: 0.1 } }, { baseDir: tmp });
    assert.deepEqual(configDifferences(a, b).sort(), ['epochs', 'optimizer.lr']);
  });
});
