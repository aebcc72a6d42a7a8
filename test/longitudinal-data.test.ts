/**
 * Longitudinal cohorts (modalities/longitudinal): visit order and times from a manifest, every validation problem
 * reported with its subject/session/row (never a silent reorder), single-visit subjects flagged, the seeded
 * P subjects × K visits sampler, and the subject-aware loader streaming a synthetic cohort through the MRI loader.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { FileFormatError, ValueError, ConfigError } from 'geoclr';
import { readManifest, synthCohort, type Manifest } from 'geoclr/mri';
import {
  longitudinalCohort,
  readLongitudinalCohort,
  subjectBatchPlan,
  SubjectBatchLoader,
  LongitudinalCohortError,
  type LongitudinalCohort,
} from 'geoclr/longitudinal';
import { tempDir } from './support/nibabel.js';

type Row = Record<string, string | number>;

/** Writes a TSV manifest (and empty image files for every path unless `missing` lists it). */
function manifestFile(dir: string, rows: Row[], opts: { missing?: string[]; name?: string } = {}): string {
  const cols = Object.keys(rows[0]);
  const file = path.join(dir, opts.name ?? 'manifest.tsv');
  writeFileSync(file, [cols.join('\t'), ...rows.map((r) => cols.map((c) => String(r[c] ?? 'n/a')).join('\t'))].join('\n') + '\n');
  for (const r of rows) {
    const p = path.join(dir, String(r.path));
    if (opts.missing?.includes(String(r.path))) continue;
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, '');
  }
  return file;
}

function visitsOf(subject: string, times: number[], extra: (k: number) => Row = () => ({})): Row[] {
  return times.map((t, k) => ({ subject_id: subject, session_id: `ses-${k + 1}`, path: `${subject}_${k + 1}.nii.gz`, time_years: t, ...extra(k) }));
}

async function problemsOf(file: string, opts = {}): Promise<string[]> {
  try {
    await readLongitudinalCohort(file, opts);
  } catch (e) {
    assert.ok(e instanceof LongitudinalCohortError, `expected LongitudinalCohortError, got ${(e as Error).name}: ${(e as Error).message}`);
    assert.ok(e.message.startsWith(file), 'the message names the manifest');
    return e.problems;
  }
  throw new Error('expected the cohort to be rejected');
}

describe('longitudinal: cohort view', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir('geoclr-long-')));
  afterEach(() => tmp.cleanup());

  it('orders each subject by visit, computes elapsed years, flags single-visit subjects', async () => {
    const rows = [...visitsOf('a', [0, 1.1, 2.5]), ...visitsOf('b', [0]), ...visitsOf('c', [0.2, 3])];
    const c = await readLongitudinalCohort(manifestFile(tmp.dir, rows));
    assert.deepEqual(c.subjects.map((s) => s.subject), ['a', 'b', 'c']);
    assert.deepEqual(c.subject('a').visits.map((v) => [v.session, v.time, v.order]), [['ses-1', 0, 0], ['ses-2', 1.1, 1], ['ses-3', 2.5, 2]]);
    assert.deepEqual(c.subject('c').visits.map((v) => v.elapsed), [0, 3 - 0.2]);
    assert.equal(c.subject('c').span, 3 - 0.2);
    assert.deepEqual(c.singleVisitSubjects, ['b']);
    assert.deepEqual(c.longitudinalSubjects.map((s) => s.subject), ['a', 'c']);
    assert.equal(c.timeColumn, 'time_years');
    const batch = [c.rows[5], c.rows[0]];
    assert.deepEqual(c.timesOf(batch), { subjects: ['c', 'a'], times: Float64Array.from([3, 0]) });
    assert.match(c.describe(), /3 subjects \(2 longitudinal, 1 single-visit\), 6 sessions/);
  });

  it('reads ages, months, days and ISO dates as years', async () => {
    const rows = [
      { subject_id: 's', session_id: 'x', path: 'x.nii', age: 70.5, months: 0, days: 10, date: '2020-01-01' },
      { subject_id: 's', session_id: 'y', path: 'y.nii', age: 72, months: 18, days: 375.25, date: '2021-07-02' },
    ];
    const file = manifestFile(tmp.dir, rows);
    const m = await readManifest(file);
    assert.deepEqual(longitudinalCohort(m).subject('s').visits.map((v) => v.time), [70.5, 72], "default: 'age' without time_years");
    assert.deepEqual(longitudinalCohort(m, { time: { column: 'months', unit: 'months' } }).subject('s').visits.map((v) => v.elapsed), [0, 1.5]);
    const days = longitudinalCohort(m, { time: { column: 'days', unit: 'days' } }).subject('s').visits;
    assert.ok(Math.abs(days[1].elapsed - 1) < 1e-12 && days[0].elapsed === 0);
    const byDate = longitudinalCohort(m, { time: 'date' });
    assert.equal(byDate.timeUnit, 'date');
    assert.ok(Math.abs(byDate.subject('s').visits[1].elapsed - 548 / 365.25) < 1e-9);
  });

  it('rejects times that go backwards in visit order — and sorts only when asked', async () => {
    const rows = [...visitsOf('a', [0, 2, 1]), ...visitsOf('b', [0, 1])];
    const file = manifestFile(tmp.dir, rows);
    const problems = await problemsOf(file);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /subject a: session ses-3 \(row 3, time_years 1\) is earlier than session ses-2 \(row 2, time_years 2\)/);
    assert.match(problems[0], /order: 'time'/);
    const sorted = await readLongitudinalCohort(file, { order: 'time' });
    assert.deepEqual(sorted.subject('a').visits.map((v) => v.session), ['ses-1', 'ses-3', 'ses-2']);
    // A `visit` column defines the order when present.
    const withVisit = manifestFile(tmp.dir, visitsOf('a', [0, 2, 1], (k) => ({ visit: [0, 2, 1][k] })), { name: 'v.tsv' });
    assert.deepEqual((await readLongitudinalCohort(withVisit)).subject('a').visits.map((v) => v.session), ['ses-1', 'ses-3', 'ses-2']);
    const badVisit = manifestFile(tmp.dir, visitsOf('a', [0, 2, 1], (k) => ({ visit: k })), { name: 'bv.tsv' });
    assert.match((await problemsOf(badVisit))[0], /visit 2 comes after visit 1/);
  });

  it('reports duplicate sessions, duplicate times, missing times and missing files all at once, located', async () => {
    const rows = [
      ...visitsOf('a', [0, 1]),
      { subject_id: 'a', session_id: 'ses-2', path: 'a_dup.nii.gz', time_years: 4 },
      ...visitsOf('b', [0, 0]),
      { subject_id: 'c', session_id: 'ses-1', path: 'c_1.nii.gz', time_years: 'n/a' },
      { subject_id: 'c', session_id: 'ses-2', path: 'c_2.nii.gz', time_years: 2 },
    ];
    const problems = await problemsOf(manifestFile(tmp.dir, rows, { missing: ['c_2.nii.gz'] }));
    const text = problems.join('\n');
    assert.match(text, /subject a: session ses-2 is listed twice \(rows 2 and 3\)/);
    assert.match(text, /subject b: sessions ses-1 \(row 4\) and ses-2 \(row 5\) have the same time 0/);
    assert.match(text, /subject c, session ses-1 \(row 6\): column 'time_years' has no time/);
    assert.match(text, /subject c, session ses-2 \(row 7\): image .*c_2\.nii\.gz does not exist/);
    assert.equal(problems.length, 4);
  });

  it('missing files: skip mode drops and logs each session (a subject may become single-visit)', async () => {
    const rows = [...visitsOf('a', [0, 1, 2]), ...visitsOf('b', [0, 1])];
    const logs: string[] = [];
    const c = await readLongitudinalCohort(manifestFile(tmp.dir, rows, { missing: ['b_2.nii.gz'] }), { onMissingFile: 'skip', log: (m) => logs.push(m) });
    assert.equal(c.rows.length, 4);
    assert.deepEqual(c.skipped.map((s) => [s.subject, s.session]), [['b', 'ses-2']]);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /skipping subject b, session ses-2 \(row 5\): image .*b_2\.nii\.gz does not exist/);
    assert.deepEqual(c.singleVisitSubjects, ['b']);
    assert.equal(c.subject('a').visits[2].index, 2);
  });

  it('missing or unusable time column: a clear error naming the manifest and the columns', async () => {
    const noTime = manifestFile(tmp.dir, [{ subject_id: 'a', session_id: 's1', path: 'p.nii', site: 'A' }]);
    await assert.rejects(readLongitudinalCohort(noTime), (e: Error) => e instanceof FileFormatError && e.message.includes(noTime) && /no time column: pass time: '<column>'.*columns are subject_id, session_id, path, site/.test(e.message));
    await assert.rejects(readLongitudinalCohort(noTime, { time: 'scan_age' }), /has no time column 'scan_age'; columns are/);
    await assert.rejects(readLongitudinalCohort(noTime, { time: { column: 'site', unit: 'years' } }), /time column 'site' holds string values, which cannot be read as years/);
    const dates = manifestFile(tmp.dir, [{ subject_id: 'a', session_id: 's1', path: 'p.nii', d: '03/04/2020' }, { subject_id: 'a', session_id: 's2', path: 'q.nii', d: '2020-13-45' }], { name: 'd.tsv' });
    const problems = await problemsOf(dates, { time: 'd' });
    assert.match(problems[0], /row 1\): column 'd' has date '03\/04\/2020', expected ISO 8601/);
    assert.match(problems[1], /row 2\): column 'd' has an invalid date '2020-13-45'/);
    assert.throws(() => longitudinalCohort({ root: tmp.dir, rows: [], columns: {} } as Manifest), /no rows/);
    await assert.rejects(readLongitudinalCohort(noTime, { time: 'site', order: 'sideways' as never }), ValueError);
  });
});

describe('longitudinal: subject-aware batches', () => {
  let tmp: ReturnType<typeof tempDir>;
  let cohort: LongitudinalCohort;
  before(async () => {
    tmp = tempDir('geoclr-long-');
    const rows: Row[] = [];
    for (let s = 0; s < 10; s++) rows.push(...visitsOf(`s${s}`, Array.from({ length: s === 9 ? 1 : 2 + (s % 3) }, (_, k) => k * 1.5)));
    cohort = await readLongitudinalCohort(manifestFile(tmp.dir, rows));
  });
  after(() => tmp.cleanup());

  it('P subjects × K visits, each longitudinal subject once per epoch, visits in time order, seeded', () => {
    const plan = subjectBatchPlan(cohort, 0, { subjectsPerBatch: 3, visitsPerSubject: 2, seed: 4 });
    assert.equal(plan.length, 3, '9 longitudinal subjects / 3 per batch');
    const seen = new Set<string>();
    for (const batch of plan) {
      assert.equal(batch.length, 6);
      const visits = batch.map((i) => cohort.visitOf(cohort.rows[i]));
      for (let k = 0; k < batch.length; k += 2) {
        assert.equal(visits[k].subject, visits[k + 1].subject, 'a subject block is contiguous');
        assert.ok(visits[k].time < visits[k + 1].time, 'visit order kept');
        assert.ok(!seen.has(visits[k].subject), 'no subject twice in an epoch');
        seen.add(visits[k].subject);
      }
    }
    assert.ok(!seen.has('s9'), 'single-visit subjects are left out by default');
    assert.deepEqual(subjectBatchPlan(cohort, 0, { subjectsPerBatch: 3, visitsPerSubject: 2, seed: 4 }), plan, 'same seed and epoch → same plan');
    assert.notDeepEqual(subjectBatchPlan(cohort, 1, { subjectsPerBatch: 3, visitsPerSubject: 2, seed: 4 }), plan, 'another epoch → another plan');
    // Subjects with 4 visits contribute different pairs over epochs.
    const pairs = new Set<string>();
    for (let e = 0; e < 12; e++) for (const b of subjectBatchPlan(cohort, e, { subjectsPerBatch: 3, visitsPerSubject: 2, seed: 4 })) for (const i of b) if (cohort.rows[i].subject_id === 's2') pairs.add(String(cohort.rows[i].session_id));
    assert.ok(pairs.size > 2, `s2's visits vary across epochs (${[...pairs]})`);
  });

  it('single-visit subjects on request, smaller last batch on request, clear errors', () => {
    const all = subjectBatchPlan(cohort, 0, { subjectsPerBatch: 4, visitsPerSubject: 3, includeSingleVisit: true, dropLast: false, seed: 1 });
    const expected = cohort.subjects.reduce((n, s) => n + Math.min(3, s.visits.length), 0);
    assert.equal(all.flat().length, expected, 'every subject once, with min(K, visits) visits');
    assert.equal(new Set(all.flat()).size, expected);
    assert.ok(all.flat().some((i) => cohort.rows[i].subject_id === 's9'));
    assert.throws(() => subjectBatchPlan(cohort, 0, { subjectsPerBatch: 12 }), (e: Error) => e instanceof ConfigError && /12 subjects per batch, but only 9 subject\(s\) have 2\+ visits/.test(e.message));
    assert.throws(() => subjectBatchPlan(cohort, 0, { visitsPerSubject: 0 }), /visitsPerSubject.*integer ≥ 1/);
  });
});

describe('longitudinal: SubjectBatchLoader over a synthetic cohort', function () {
  let tmp: ReturnType<typeof tempDir>;
  let dir: string;
  before(async function () {
    this.timeout(120_000);
    tmp = tempDir('geoclr-long-');
    dir = path.join(tmp.dir, 'cohort');
    await synthCohort({ out: dir, subjects: 6, visits: 3, interval: 2, seed: 3, spacing: 8, workers: 0, progress: false });
  });
  after(() => tmp.cleanup());

  it('streams P × K visit batches with their subjects and times (same batches with or without workers)', async () => {
    const cohort = await readLongitudinalCohort(dir);
    assert.equal(cohort.timeColumn, 'time_years');
    assert.equal(cohort.subjects.length, 6);
    const collect = async (workers: number) => {
      const loader = new SubjectBatchLoader(cohort, { subjectsPerBatch: 3, visitsPerSubject: 2, views: 2, workers, seed: 9, augment: [{ type: 'gaussianNoise', std: 0.1 }] });
      const out = [];
      for await (const b of loader.batches(0)) out.push(b);
      assert.equal(loader.batchesPerEpoch, 2);
      await loader.close();
      return out;
    };
    const batches = await collect(1);
    assert.equal(batches.length, 2);
    for (const b of batches) {
      assert.equal(b.rows.length, 6);
      assert.equal(b.shape[0], 6);
      const { subjects, times } = cohort.timesOf(b.rows);
      for (let k = 0; k < 6; k += 2) {
        assert.equal(subjects[k], subjects[k + 1]);
        assert.ok(times[k] < times[k + 1]);
      }
      assert.notDeepEqual(b.views[0].slice(0, 100), b.views[1].slice(0, 100), 'two augmented views');
    }
    const again = await collect(0);
    assert.deepEqual(again.map((b) => b.rows.map((r) => r.path)), batches.map((b) => b.rows.map((r) => r.path)));
    assert.ok(Buffer.from(again[1].views[1].buffer).equals(Buffer.from(batches[1].views[1].buffer)), 'identical views');
  });

  it('a session whose file vanished is named by the loader (fatal) or dropped from later plans (skip)', async () => {
    const cohort = await readLongitudinalCohort(dir);
    const victim = cohort.subject('sub-002').visits[1].row.path;
    writeFileSync(victim, 'not a nifti');
    try {
      const fatal = new SubjectBatchLoader(cohort, { subjectsPerBatch: 6, visitsPerSubject: 3, workers: 0, shuffle: false });
      await assert.rejects(async () => {
        for await (const _ of fatal.batches(0)) void _;
      }, /sub-002, session ses-02/);
      await fatal.close();
      const logs: string[] = [];
      const skip = new SubjectBatchLoader(cohort, { subjectsPerBatch: 6, visitsPerSubject: 3, workers: 0, onBadFile: 'skip', log: (m) => logs.push(m) });
      for await (const b of skip.batches(0)) assert.equal(b.rows.length, 17);
      assert.ok(!skip.epochPlan(1).flat().some((i) => cohort.rows[i].path === victim), 'later epochs leave it out');
      assert.ok(logs.some((l) => /sub-002 ses-02/.test(l)));
      await skip.close();
    } finally {
      rmSync(victim);
    }
  });
});
