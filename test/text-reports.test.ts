import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng, FileFormatError, ValueError, tf } from 'geoclr';
import {
  generateReport,
  randomReportFacts,
  reportFindings,
  writeCohortReports,
  readReports,
  loadTokenizer,
  parseTable,
  formatTable,
  FINDINGS,
  SEVERITIES,
  type Finding,
  type Severity,
  type ReportFacts,
} from 'geoclr/text';

const MANIFEST_COLUMNS = [
  'subject_id', 'session_id', 'path', 'age', 'sex', 'site', 'diagnosis', 'group', 'visit', 'time_years', 'rate',
  'cortical_thinning', 'ventricle_dilation', 'hippocampal_atrophy', 'frontal_atrophy',
  'scale', 'bias_strength', 'noise_sigma', 'gain', 'resolution_mm',
];

/** A random session in the shape of the cohort generator's manifest. */
function randomRow(rng: Rng, i: number): ReportFacts & Record<string, unknown> {
  return { subject_id: `sub-${String(i).padStart(3, '0')}`, session_id: 'ses-01', site: rng.choice(['A', 'B', 'C']), ...randomReportFacts(rng) };
}

const KEYWORDS: Record<Finding, RegExp> = {
  cortical: /cortical|cerebral|sulci/i,
  ventricles: /ventric/i,
  hippocampal: /hippocamp|medial temporal/i,
  frontal: /frontal/i,
};
const LEVEL: [Severity, RegExp][] = [
  ['none', /^(no\b|.*\b(normal|preserved)\b)/i],
  ['mild', /\b(mild|mildly|slight|slightly)\b/i],
  ['moderate', /\bmoderate(ly)?\b/i],
  ['marked', /\b(marked|markedly|severe|severely|pronounced)\b/i],
];

/**
 * A reader independent of the generator's templates: splits the report into clauses and reads a severity from
 * every clause that names exactly one finding and one severity (or a negation).
 */
function readSeverities(report: string): Record<Finding, Set<Severity>> {
  const out = Object.fromEntries(FINDINGS.map((f) => [f, new Set<Severity>()])) as Record<Finding, Set<Severity>>;
  const body = report.replace(/\b[A-Z ]+:\s/g, '. ');
  for (const clause of body.split(/[.,;]\s+|\s+and\s+/)) {
    const findings = FINDINGS.filter((f) => KEYWORDS[f].test(clause));
    const levels = LEVEL.filter(([, re]) => re.test(clause.trim())).map(([s]) => s);
    if (findings.length === 1 && levels.length === 1) out[findings[0]].add(levels[0]);
  }
  return out;
}

describe('text: radiology reports for the synthetic cohort', () => {
  it('is deterministic per seed, varied across seeds, and ignores site/scanner fields', () => {
    const row = randomRow(new Rng(3), 0);
    const a = generateReport(row, new Rng(42));
    assert.equal(generateReport(row, new Rng(42)), a);
    const other = new Set(Array.from({ length: 20 }, (_, s) => generateReport(row, new Rng(s))));
    assert.ok(other.size >= 18, `only ${other.size} distinct wordings in 20 seeds`);
    const rescanned = { ...row, site: 'Z', noise_sigma: 0.3, gain: 2, bias_strength: 0.9, resolution_mm: 3 };
    assert.equal(generateReport(rescanned, new Rng(42)), a);
    assert.doesNotMatch(a, /site|scanner|tesla|\b1\.5\s*T\b|\b3\s*T\b|noise/i);
  });

  it('states every present finding with its severity and negates only absent ones (read back independently)', () => {
    const rng = new Rng(7);
    const seen = Object.fromEntries(FINDINGS.map((f) => [f, new Set<Severity>()])) as Record<Finding, Set<Severity>>;
    let negations = 0;
    for (let i = 0; i < 400; i++) {
      const row = randomRow(rng, i);
      const truth = reportFindings(row);
      const report = generateReport(row, rng.fork());
      const read = readSeverities(report);
      for (const f of FINDINGS) {
        seen[f].add(truth[f]);
        for (const s of read[f]) assert.equal(s, truth[f], `${f}: report says ${s}, truth ${truth[f]}\n${report}`);
        if (truth[f] !== 'none') assert.ok(read[f].has(truth[f]), `${f} (${truth[f]}) is not stated\n${report}`);
        if (truth[f] === 'none' && read[f].has('none')) negations++;
      }
    }
    for (const f of FINDINGS) assert.deepEqual([...seen[f]].sort(), [...SEVERITIES].sort(), `${f}: not every severity occurs`);
    assert.ok(negations > 200, `only ${negations} negations`);
  });

  it('has paraphrase variety: the same findings are worded differently across sessions', () => {
    const rng = new Rng(11);
    const row = { ...randomRow(rng, 0), hippocampal_atrophy: 1.0, frontal_atrophy: 0, cortical_thinning: 0.3, ventricle_dilation: 0.8 };
    const hippocampalSentences = new Set<string>();
    for (let s = 0; s < 200; s++) {
      for (const sentence of generateReport(row, new Rng(s)).split(/(?<=\.)\s+/)) {
        if (/hippocamp|medial temporal/i.test(sentence) && /moderate/i.test(sentence)) hippocampalSentences.add(sentence.replace(/^[A-Z ]+:\s/, ''));
      }
    }
    assert.ok(hippocampalSentences.size >= 4, [...hippocampalSentences].join('\n'));
  });

  it('a follow-up visit is compared with the prior session', () => {
    const base = randomRow(new Rng(5), 0);
    const prior = { ...base, hippocampal_atrophy: 0.05, time_years: 0, visit: 0 };
    const now = { ...base, hippocampal_atrophy: 0.7, time_years: 1.5, visit: 1 };
    const r = generateReport(now, new Rng(1), { prior });
    assert.match(r, /18 months/);
    assert.match(r, /Interval progression of [^.]*hippocampal atrophy/);
    assert.doesNotMatch(generateReport(prior, new Rng(1)), /Interval|months/);
  });

  it('rejects bad thresholds and non-finite magnitudes', () => {
    const row = randomRow(new Rng(1), 0);
    assert.throws(() => generateReport(row, new Rng(1), { thresholds: { frontal: { mild: 0.5, moderate: 0.2, marked: 0.9 } } }), (e) => e instanceof ValueError && /thresholds.frontal/.test(e.message));
    assert.throws(() => generateReport({ ...row, ventricle_dilation: NaN }, new Rng(1)), /finite/);
  });
});

describe('text: reports.tsv for a cohort, and reading users\u2019 reports', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-reports-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function writeManifest(subjects: number, visits: number): Record<string, string>[] {
    const rng = new Rng(9);
    const records: Record<string, string>[] = [];
    for (let i = 0; i < subjects; i++) {
      const row = randomRow(rng, i);
      for (let v = 0; v < visits; v++) {
        const grow = 1 + 0.4 * v;
        records.push(Object.fromEntries(MANIFEST_COLUMNS.map((c) => {
          const value: unknown = ({
            ...row,
            session_id: `ses-${String(v + 1).padStart(2, '0')}`,
            path: `sub/${row.subject_id}/ses-${v + 1}.nii.gz`,
            group: row.diagnosis === 'CN' ? 0 : 1,
            visit: v,
            time_years: 1.25 * v,
            rate: 1,
            age: row.age + 1.25 * v,
            cortical_thinning: row.cortical_thinning * grow,
            ventricle_dilation: row.ventricle_dilation * grow,
            hippocampal_atrophy: row.hippocampal_atrophy * grow,
            frontal_atrophy: row.frontal_atrophy * grow,
            scale: 1, bias_strength: 0.2, noise_sigma: 0.02, gain: 1, resolution_mm: 2,
          } as Record<string, unknown>)[c];
          return [c, String(value)];
        })));
      }
    }
    writeFileSync(path.join(dir, 'manifest.tsv'), formatTable(MANIFEST_COLUMNS, records.map((r) => MANIFEST_COLUMNS.map((c) => r[c])), '\t'));
    return records;
  }

  it('writeCohortReports writes one report per session, reproducibly, and readReports joins them back', async () => {
    const records = writeManifest(30, 2);
    const res = await writeCohortReports(dir, { seed: 3 });
    assert.equal(res.file, path.join(dir, 'reports.tsv'));
    assert.equal(res.reports, 60);
    for (const f of FINDINGS) assert.equal(Object.values(res.severity[f]).reduce((a, b) => a + b, 0), 60);
    const first = readFileSync(res.file);
    await writeCohortReports(dir, { seed: 3 });
    assert.ok(readFileSync(res.file).equals(first), 'same seed, same bytes');
    await writeCohortReports(dir, { seed: 4, out: 'reports-4.tsv' });
    assert.ok(!readFileSync(path.join(dir, 'reports-4.tsv')).equals(first), 'another seed, other wording');

    const table = readReports(res.file, { manifest: path.join(dir, 'manifest.tsv') });
    assert.equal(table.joinedOn, 'subject_id+session_id');
    assert.equal(table.rows.length, 60);
    assert.equal(table.missing + table.empty + table.unmatched, 0);
    table.rows.forEach((r, i) => {
      assert.equal(r.subject_id, records[i].subject_id);
      assert.equal(r.session_id, records[i].session_id);
      assert.equal(r.record?.diagnosis, records[i].diagnosis);
    });
    // follow-ups compare with their first visit
    assert.ok(table.rows.filter((r) => r.session_id === 'ses-02').every((r) => /15 months/.test(r.report)));
    assert.ok(table.rows.filter((r) => r.session_id === 'ses-01').every((r) => !/months/.test(r.report)));
  });

  it('`geoclr reports DIR --seed S` writes the same file as writeCohortReports', async () => {
    writeManifest(5, 2);
    const r = spawnSync(process.execPath, ['scripts/geoclr.js', 'reports', dir, '--seed', '3', '--out', 'cli.tsv', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.reports, 10);
    await writeCohortReports(dir, { seed: 3, out: 'api.tsv' });
    assert.ok(readFileSync(path.join(dir, 'cli.tsv')).equals(readFileSync(path.join(dir, 'api.tsv'))));
    const bad = spawnSync(process.execPath, ['scripts/geoclr.js', 'reports', path.join(dir, 'missing')], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /manifest\.tsv: cannot read: no such file/);
  });

  it('bad manifest values are errors naming the file, line and column', async () => {
    writeManifest(3, 1);
    const file = path.join(dir, 'manifest.tsv');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\t\d\.\d+\t/, '\tn/a\t'));
    await assert.rejects(writeCohortReports(dir), (e: Error) => e instanceof FileFormatError && new RegExp(`manifest.tsv:2: column '\\w+' is 'n/a', expected a number`).test(e.message));
  });

  it('reads CSV with quoted reports (commas, quotes, line breaks) and joins on subject_id alone', () => {
    const csv = [
      'subject_id,report',
      'sub-1,"Mild ventricular enlargement, no ""acute"" findings.\nIMPRESSION: mild."',
      'sub-2,No hippocampal atrophy.',
      'sub-3,Orphan report.',
      '',
    ].join('\r\n');
    writeFileSync(path.join(dir, 'reports.csv'), csv);
    const t = readReports(path.join(dir, 'reports.csv'), { manifest: [{ subject_id: 'sub-2', session_id: 'a' }, { subject_id: 'sub-1', session_id: 'b' }] });
    assert.equal(t.joinedOn, 'subject_id');
    assert.deepEqual(t.rows.map((r) => [r.subject_id, r.session_id]), [['sub-2', 'a'], ['sub-1', 'b']]);
    assert.equal(t.rows[1].report, 'Mild ventricular enlargement, no "acute" findings.\nIMPRESSION: mild.');
    assert.equal(t.unmatched, 1);
    assert.deepEqual(parseTable(formatTable(['a', 'b'], [['x\ty', 'q"uote']], '\t'), 't', '\t').rows, [['x\ty', 'q"uote']]);
  });

  it('sessions without a report or with an empty one are skipped with a count, or fail, as chosen', () => {
    writeFileSync(path.join(dir, 'r.tsv'), 'subject_id\tsession_id\treport\nsub-1\tses-1\tMild atrophy.\nsub-2\tses-1\t   \n');
    const manifest = [1, 2, 3].map((i) => ({ subject_id: `sub-${i}`, session_id: 'ses-1' }));
    const t = readReports(path.join(dir, 'r.tsv'), { manifest });
    assert.equal(t.rows.length, 1);
    assert.equal(t.empty, 1);
    assert.equal(t.missing, 1);
    assert.deepEqual(t.skippedExamples, ['sub-2/ses-1', 'sub-3/ses-1']);
    assert.throws(() => readReports(path.join(dir, 'r.tsv'), { manifest, onMissing: 'error' }), (e) => e instanceof FileFormatError && /r\.tsv:3: an empty report for sub-2\/ses-1/.test(e.message));
    assert.throws(() => readReports(path.join(dir, 'r.tsv'), { manifest: manifest.slice(2), onMissing: 'error' }), /no report for sub-3\/ses-1/);
  });

  it('non-UTF-8 bytes: an error naming the line and byte, or U+FFFD replacement by choice', () => {
    const file = path.join(dir, 'latin1.tsv');
    const head = Buffer.from('subject_id\treport\nsub-1\tok\nsub-2\tMild atrophy, M');
    writeFileSync(file, Buffer.concat([head, Buffer.from([0xe9]), Buffer.from('ni\xe8re\n'.replace('\xe8', 'e'))]));
    assert.throws(() => readReports(file), (e) => e instanceof FileFormatError && e.file === file && /line 3, byte 22: invalid UTF-8 \(0xE9\)/.test(e.message));
    const t = readReports(file, { invalidUtf8: 'replace' });
    assert.equal(t.rows[1].report, 'Mild atrophy, M\uFFFDniere');
    assert.deepEqual(t.replacedLines, [3]);
  });

  it('duplicate reports, missing columns and ragged rows are errors naming the lines', () => {
    writeFileSync(path.join(dir, 'd.tsv'), 'subject_id\treport\nsub-1\ta\nsub-2\tb\nsub-1\tc\n');
    assert.throws(() => readReports(path.join(dir, 'd.tsv')), /d\.tsv: lines 2 and 4: two reports for subject sub-1/);
    writeFileSync(path.join(dir, 'c.tsv'), 'subject_id\ttext\nsub-1\ta\n');
    assert.throws(() => readReports(path.join(dir, 'c.tsv')), /no 'report' column \(columns: subject_id, text\)/);
    assert.equal(readReports(path.join(dir, 'c.tsv'), { reportColumn: 'text' }).rows[0].report, 'a');
    writeFileSync(path.join(dir, 'r.tsv'), 'subject_id\treport\nsub-1\ta\textra\n');
    assert.throws(() => readReports(path.join(dir, 'r.tsv')), /line 2: 3 fields, but the header has 2/);
    assert.throws(() => readReports(path.join(dir, 'nope.tsv')), (e) => e instanceof FileFormatError && /nope\.tsv: cannot read: no such file/.test(e.message));
  });

  it('a very long report is read whole and truncated by the tokenizer, never crashing', async () => {
    const long = 'Marked ventricular enlargement with periventricular change. '.repeat(40000); // ~2.4 MB
    writeFileSync(path.join(dir, 'long.tsv'), `subject_id\treport\nsub-1\t${long}\nsub-2\t\n`);
    const t = readReports(path.join(dir, 'long.tsv'));
    assert.equal(t.rows[0].report.length, long.length);
    assert.equal(t.empty, 1);
    const tok = await loadTokenizer();
    const b = tok.encodeBatch(t.rows.map((r) => r.report), { maxLength: 64 });
    assert.deepEqual(b.input_ids.shape, [1, 64]);
    assert.equal(b.truncated, 1);
    tf.dispose([b.input_ids, b.attention_mask]);
  });
});
