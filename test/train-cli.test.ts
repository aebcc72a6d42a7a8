/**
 * `geoclr train` and `geoclr embed` end to end on a tiny synthetic cohort: the run folder layout, a run killed
 * after a checkpoint and resumed (the loss curve and weights equal an uninterrupted run's), and bad input —
 * config errors, missing files, an empty cohort, a batch larger than the data, a diverging loss — each a clear
 * message, a non-zero exit status and intact checkpoints.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadSafetensors, readSafetensors } from '../src/io/safetensors.js';
import { readEmbeddings } from '../interop/embeddings.js';
import { synthCohort } from '../modalities/mri/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'scripts', 'geoclr.js');
const ENV = { ...process.env, GEOCLR_PROGRESS: '0' };

function geoclr(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: ENV });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function config(tmp: string, cohort: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tiny',
    seed: 1,
    data: { modality: 'mri', manifest: path.join(cohort, 'manifest.tsv'), preprocess: { shape: [10, 12, 10] }, augment: 'yaware', views: 2, workers: 1 },
    encoder: { arch: 'resnet3d', widths: [4, 8], depths: [1, 1], head: { hidden: [8], out: 8 } },
    task: {
      name: 'contrastive',
      objectives: [
        { name: 'yaware', temperature: 0.2, metadata: ['age', 'sex'], kernel: { type: 'product', factors: [{ type: 'rbf', sigma: 8 }, { type: 'delta' }] } },
        { name: 'fairkl', weight: 0.5, labels: { column: 'age', bins: [50] }, bias: 'site' },
      ],
    },
    optimizer: { name: 'adamw', lr: 0.003 },
    schedule: { warmupSteps: 1 },
    epochs: 3,
    batchSize: 6,
    checkpoint: { everySteps: 1, keep: 3 },
    ...extra,
  };
}

function writeConfig(file: string, c: Record<string, unknown>): string {
  writeFileSync(file, stringify(c));
  return file;
}

function curve(runDir: string): unknown[] {
  return readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { samples_per_s: _s, elapsed_s: _e, ...r } = JSON.parse(l);
      return r;
    });
}

describe('train: geoclr train / embed (CLI)', function () {
  this.timeout(180_000);
  let tmp: string;
  let cohort: string;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'geoclr-train-cli-'));
    cohort = path.join(tmp, 'cohort');
    await synthCohort({ out: cohort, subjects: 12, visits: 1, seed: 2, shape: [10, 12, 10], sites: 2, progress: false });
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes the run folder: config.json, metrics.jsonl, checkpoints, model.safetensors, report.html', async () => {
    const out = path.join(tmp, 'run-full');
    const r = geoclr(['train', '--config', writeConfig(path.join(tmp, 'full.yaml'), config(tmp, cohort)), '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /done: 6 steps/);
    for (const f of ['config.json', 'metrics.jsonl', 'model.safetensors', 'report.html', 'checkpoints/latest.json']) assert.ok(existsSync(path.join(out, f)), f);
    const stored = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.equal(stored.out, out);
    assert.equal(stored.optimizer.weightDecay, 0.01, 'defaults are resolved');
    const { metadata } = await readSafetensors(path.join(out, 'model.safetensors'));
    assert.deepEqual(JSON.parse(metadata['geoclr.input']), { shape: [10, 12, 10], channels: 1 });
    assert.equal(JSON.parse(metadata['geoclr.objective']).name, 'y-aware-infonce+fairkl');
    assert.deepEqual(JSON.parse(metadata['geoclr.preprocessing']).shape, [10, 12, 10]);
    assert.equal(JSON.parse(metadata['geoclr.encoder']).arch, 'resnet3d');
    const pointer = JSON.parse(readFileSync(path.join(out, 'checkpoints', 'latest.json'), 'utf8'));
    assert.equal(pointer.step, 6);
    assert.equal(readdirSync(path.join(out, 'checkpoints')).filter((f) => f.endsWith('.safetensors')).length, 3, 'keep: 3');
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /Embedding map/);
  });

  it('resumes a killed run bit for bit (same loss curve and weights as an uninterrupted run)', async function () {
    const out = path.join(tmp, 'run-killed');
    const file = writeConfig(path.join(tmp, 'killed.yaml'), config(tmp, cohort));
    const latest = path.join(out, 'checkpoints', 'latest.json');
    // Kill the child (SIGKILL: no cleanup) as soon as a checkpoint at step ≥ 2 exists.
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'train', '--config', file, '--out', out], { env: ENV, stdio: 'ignore' });
      const timer = setInterval(() => {
        try {
          if (existsSync(latest) && JSON.parse(readFileSync(latest, 'utf8')).step >= 2) {
            clearInterval(timer);
            child.kill('SIGKILL');
          }
        } catch {
          /* the pointer is being renamed into place */
        }
      }, 20);
      child.on('exit', (code, signal) => {
        clearInterval(timer);
        if (signal === 'SIGKILL') resolve();
        else reject(new Error(`the run finished (code ${code}) before it could be killed`));
      });
    });
    const killedAt = JSON.parse(readFileSync(latest, 'utf8')).step;
    assert.ok(killedAt >= 2 && killedAt < 6, `killed after step ${killedAt}`);
    assert.ok(!existsSync(path.join(out, 'model.safetensors')));
    const again = geoclr(['train', '--config', file, '--out', out]);
    assert.equal(again.status, 1, 'a fresh start over a run needs --resume');
    assert.match(again.stderr, /already holds a run; pass --resume/);
    const r = geoclr(['train', '--config', file, '--out', out, '--resume']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`resuming .* at step ${killedAt}`));
    const full = path.join(tmp, 'run-full');
    assert.deepEqual(curve(out), curve(full));
    const a = await loadSafetensors(path.join(out, 'model.safetensors'));
    const b = await loadSafetensors(path.join(full, 'model.safetensors'));
    for (const [name, t] of b.tensors) assert.deepEqual(Array.from(a.tensors.get(name)!.dataSync()), Array.from(t.dataSync()), name);
    for (const t of [...a.tensors.values(), ...b.tensors.values()]) t.dispose();
    // Resuming under a changed configuration is refused, naming the field.
    const changed = writeConfig(path.join(tmp, 'changed.yaml'), config(tmp, cohort, { epochs: 4 }));
    const c = geoclr(['train', '--config', changed, '--out', out, '--resume']);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /config field 'epochs': differs from the run's .*config\.json/);
  });

  it('embeds a cohort into an Arrow table with the INTEROP.md metadata', async () => {
    const file = path.join(tmp, 'emb.arrow');
    const r = geoclr(['embed', '--run', path.join(tmp, 'run-full'), '--data', path.join(cohort, 'manifest.tsv'), '--out', file]);
    assert.equal(r.status, 0, r.stderr);
    const t = await readEmbeddings(file);
    assert.equal(t.numRows, 12);
    assert.equal(t.dim, 8);
    assert.deepEqual(t.subjectId.slice(0, 2), ['sub-001', 'sub-002']);
    assert.equal(t.sessionId[0], 'ses-01');
    assert.ok(['age', 'sex', 'site', 'diagnosis'].every((c) => c in t.columns));
    assert.equal(t.modality[0], 'T1w');
    const meta = t.metadata as Record<string, unknown>;
    assert.equal(meta.model, 'tiny (resnet3d)');
    assert.match(String(meta.weights_sha256), /^[0-9a-f]{64}$/);
    assert.equal((meta.loss as { name: string }).name, 'y-aware-infonce+fairkl');
    assert.equal(meta.manifest, path.join(cohort, 'manifest.tsv'));
    assert.ok(typeof meta.geoclr_version === 'string');
  });

  it('--init starts from a finished run, and from an ONNX model imported with geoclr import', async () => {
    const one = (out: string) => config(tmp, cohort, { epochs: 1, out });
    const fresh = path.join(tmp, 'run-fresh');
    assert.equal(geoclr(['train', '--config', writeConfig(path.join(tmp, 'fresh.yaml'), one(fresh))]).status, 0);
    const fromRun = path.join(tmp, 'run-init');
    const r = geoclr(['train', '--config', writeConfig(path.join(tmp, 'init.yaml'), one(fromRun)), '--init', path.join(tmp, 'run-full')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(path.join(fromRun, 'config.json'), 'utf8')).init, path.join(tmp, 'run-full'));
    const first = (dir: string) => (curve(dir)[0] as { loss: number }).loss;
    assert.notEqual(first(fromRun), first(fresh), 'the pretrained weights change the first loss');
    // geoclr export → geoclr import → train --init → embed: a lab's ONNX encoder fine-tuned and used.
    const onnx = path.join(tmp, 'full.onnx');
    const ex = geoclr(['export', '--run', path.join(tmp, 'run-full'), '--format', 'onnx', '--out', onnx]);
    assert.equal(ex.status, 0, ex.stderr);
    const imported = path.join(tmp, 'imported');
    const im = geoclr(['import', '--onnx', onnx, '--out', imported]);
    assert.equal(im.status, 0, im.stderr);
    const tuned = path.join(tmp, 'run-tuned');
    const t = geoclr(['train', '--config', writeConfig(path.join(tmp, 'tuned.yaml'), one(tuned)), '--init', imported]);
    assert.equal(t.status, 0, t.stderr);
    for (const f of ['model.onnx', 'import.json', 'model.safetensors']) assert.ok(existsSync(path.join(tuned, f)), f);
    const e = geoclr(['embed', '--run', tuned, '--data', cohort, '--out', path.join(tmp, 'tuned.arrow')]);
    assert.equal(e.status, 0, e.stderr);
    assert.equal((await readEmbeddings(path.join(tmp, 'tuned.arrow'))).numRows, 12);
  });

  describe('bad input: a clear message, exit status 1, checkpoints intact', () => {
    function fails(args: string[], pattern: RegExp) {
      const r = geoclr(args);
      assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      return r;
    }

    it('config errors name the field and what is expected', () => {
      fails(['train', '--config', writeConfig(path.join(tmp, 'bad1.yaml'), config(tmp, cohort, { epoch: 2 }))], /config field 'epoch': unknown key \(did you mean 'epochs'\?\)/);
      fails(['train', '--config', writeConfig(path.join(tmp, 'bad2.yaml'), config(tmp, cohort, { optimizer: { lr: 'fast' } }))], /config field 'optimizer.lr': must be a number > 0, got "fast"/);
      fails(['train', '--config', path.join(tmp, 'nope.yaml')], /nope\.yaml: no such config file/);
      fails(['train'], /config field '--config': a training config file is required/);
      const c = config(tmp, cohort);
      (c.data as Record<string, unknown>).manifest = path.join(tmp, 'missing', 'manifest.tsv');
      fails(['train', '--config', writeConfig(path.join(tmp, 'bad3.yaml'), c)], /config field 'data.manifest': no such file or folder: .*missing.manifest\.tsv/);
    });

    it('an empty cohort and a batch larger than the data', () => {
      const empty = path.join(tmp, 'empty.tsv');
      writeFileSync(empty, readFileSync(path.join(cohort, 'manifest.tsv'), 'utf8').split('\n')[0] + '\n');
      const c = config(tmp, cohort, { out: path.join(tmp, 'run-empty') });
      (c.data as Record<string, unknown>).manifest = empty;
      fails(['train', '--config', writeConfig(path.join(tmp, 'empty.yaml'), c)], /empty\.tsv has no scans: the cohort is empty/);
      fails(['train', '--config', writeConfig(path.join(tmp, 'big.yaml'), config(tmp, cohort, { batchSize: 50, out: path.join(tmp, 'run-big') }))], /config field 'batchSize': 50 is larger than the 12 training scans/);
    });

    it('a diverging loss stops with the last checkpoint intact and no model written', async () => {
      const out = path.join(tmp, 'run-nan');
      const r = fails(['train', '--config', writeConfig(path.join(tmp, 'nan.yaml'), config(tmp, cohort, { optimizer: { name: 'sgd', lr: 1e30 }, out }))], /training diverged at step \d+ \(epoch \d+\): (loss|gradient norm) = (NaN|Infinity).*checkpoint \(step \d+\) in .* is intact/);
      const step = Number(/diverged at step (\d+)/.exec(r.stderr)![1]);
      const pointer = JSON.parse(readFileSync(path.join(out, 'checkpoints', 'latest.json'), 'utf8'));
      assert.equal(pointer.step, step - 1);
      const ckpt = await loadSafetensors(path.join(out, 'checkpoints', pointer.file));
      for (const [name, t] of ckpt.tensors) {
        assert.ok(Array.from(t.dataSync()).every(Number.isFinite), `${name} is finite`);
        t.dispose();
      }
      assert.ok(!existsSync(path.join(out, 'model.safetensors')));
    });

    it('embed: missing run, unknown table extension', () => {
      fails(['embed', '--run', path.join(tmp, 'nowhere'), '--data', cohort, '--out', path.join(tmp, 'x.arrow')], /config field '--run': no such run folder/);
      fails(['embed', '--run', path.join(tmp, 'run-full'), '--data', cohort, '--out', path.join(tmp, 'x.csv')], /x\.csv: cannot tell the table format from the extension '\.csv'/);
      fails(['embed', '--run', path.join(tmp, 'run-nan'), '--data', cohort, '--out', path.join(tmp, 'x.arrow')], /holds neither model\.safetensors \(a geoclr run\) nor import\.json/);
    });
  });
});
