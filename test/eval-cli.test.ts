// `geoclr eval` on embedding files: the table, --json/--out/--report, and clear errors with non-zero exits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from 'geoclr';

function geoclr(args: string[]) {
  const r = spawnSync(process.execPath, ['scripts/geoclr.js', ...args], { encoding: 'utf8', env: { ...process.env, GEOCLR_PROGRESS: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('geoclr eval (CLI)', () => {
  let dir: string;
  let csv: string;
  let json: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'geoclr-eval-cli-'));
    const rng = new Rng(1);
    const lines = ['subject_id,visit,age,sex,site,embedding'];
    const rows: { embedding: number[]; age: number; sex: string; subject_id: string }[] = [];
    for (let s = 0; s < 40; s++) {
      const age = rng.uniform(20, 80);
      const sex = rng.bernoulli(0.5) ? 'F' : 'M';
      for (let v = 0; v < 2; v++) {
        const e = Array.from({ length: 6 }, () => rng.normal());
        e[0] += (age - 50) / 4;
        e[1] += sex === 'F' ? 2 : -2;
        lines.push([`sub-${s}`, v, (age + v).toFixed(2), sex, 'ABC'[s % 3], `"${e.map((x) => x.toFixed(5)).join(' ')}"`].join(','));
        rows.push({ embedding: e, age: age + v, sex, subject_id: `sub-${s}` });
      }
    }
    csv = path.join(dir, 'emb.csv');
    writeFileSync(csv, lines.join('\n') + '\n');
    json = path.join(dir, 'emb.json');
    writeFileSync(json, JSON.stringify(rows));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints a table of probe metrics with intervals, grouped by subject', () => {
    const r = geoclr(['eval', '--embeddings', csv, '--target', 'age', '--target', 'sex', '--nuisance', 'site', '--group', 'subject_id', '--bootstrap', '100']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /80 embeddings × 6 dims, 5-fold CV grouped by subject_id, seed 0/);
    const mae = /^age\s+linear\s+mae\s+([\d.]+)\s/m.exec(r.stdout);
    assert.ok(mae && Number(mae[1]) < 6, `age MAE row: ${mae?.[0]}`);
    const bacc = /^sex\s+linear\s+balanced_accuracy\s+([\d.]+)/m.exec(r.stdout);
    assert.ok(bacc && Number(bacc[1]) > 0.85, `sex row: ${bacc?.[0]}`);
    assert.match(r.stdout, /^site \(nuisance\)\s+knn\s+balanced_accuracy/m);
  });

  it('--json, --out and --report write the full result and a report (JSON input)', () => {
    const out = path.join(dir, 'result.json');
    const rep = path.join(dir, 'report');
    const r = geoclr(['eval', '--embeddings', json, '--target', 'age', '--task', 'regression', '--probe', 'linear', '--folds', '4', '--seed', '3', '--json', '--out', out, '--report', rep, '--group', 'subject_id']);
    assert.equal(r.status, 0, r.stderr);
    const printed = JSON.parse(r.stdout);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), printed);
    assert.equal(printed.protocol.folds, 4);
    assert.equal(printed.protocol.seed, 3);
    assert.equal(printed.targets.age.probes.linear.metrics.mae.perFold.length, 4);
    assert.ok(printed.summary.age_mae < 6);
    assert.ok(existsSync(path.join(rep, 'report.html')));
    assert.match(readFileSync(path.join(rep, 'report.html'), 'utf8'), /data-points="80"/);
  });

  it('reads Arrow and Parquet embedding tables through the interop reader', async function () {
    // The interop module is developed on its own branch; until it is merged this test says so and skips.
    const interopFile = path.resolve('dist/interop/index.js');
    if (!existsSync(interopFile)) {
      console.log('      skipped: the interop reader (interop/index.ts) is not in this checkout yet');
      this.skip();
    }
    const { writeEmbeddings } = await import(interopFile);
    const rows = JSON.parse(readFileSync(json, 'utf8')).map((r: { subject_id: string; embedding: number[]; age: number; sex: string }, i: number) => ({
      subject_id: r.subject_id,
      session_id: `ses-${i % 2}`,
      modality: 'mri',
      embedding: r.embedding,
      age: r.age,
      sex: r.sex,
    }));
    for (const ext of ['arrow', 'parquet']) {
      const file = path.join(dir, `emb.${ext}`);
      await writeEmbeddings(file, rows, { metadata: { model: 'test' } });
      const r = geoclr(['eval', '--embeddings', file, '--target', 'age', '--target', 'sex', '--group', 'subject_id', '--probe', 'linear', '--json', '--bootstrap', '0']);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.n, 80);
      assert.equal(out.dim, 6);
      assert.ok(out.summary.age_mae < 6 && out.summary.sex_bacc > 0.85, `${ext}: ${JSON.stringify(out.summary)}`);
    }
  });

  it('bad input: a located message and a non-zero exit', () => {
    const cases: [string[], number, RegExp][] = [
      [['eval', '--target', 'age'], 1, /'--embeddings': is required/],
      [['eval', '--embeddings', csv], 1, /give at least one --target/],
      [['eval', '--embeddings', csv, '--target', 'weight'], 1, /column 'weight' is not in .*emb\.csv; columns are subject_id, visit, age, sex, site/],
      [['eval', '--embeddings', csv, '--target', 'age', '--task', 'ranking'], 1, /expected 'regression' or 'classification', got 'ranking'/],
      [['eval', '--embeddings', csv, '--target', 'age', '--folds', '1'], 1, /'--folds': expected an integer ≥ 2, got '1'/],
      [['eval', '--embeddings', csv, '--target', 'age', '--group', 'subject_id', '--folds', '50'], 1, /folds=50 but there are only 40 groups/],
      [['eval', '--embeddings', path.join(dir, 'missing.csv'), '--target', 'age'], 1, /missing\.csv: no such file/],
      [['eval', '--embeddings', path.join(dir, 'missing.parquet'), '--target', 'age'], 1, /missing\.parquet: /],
      [['eval', '--embeddings', csv, '--target', 'age', '--bogus'], 2, /Unknown option '--bogus'/],
    ];
    for (const [args, status, re] of cases) {
      const r = geoclr(args);
      assert.equal(r.status, status, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace for ${args.join(' ')}:\n${r.stderr}`);
    }
  });
});
