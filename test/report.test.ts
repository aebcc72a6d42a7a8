// Run reports: the page opens offline in headless Chromium without console errors and shows its charts.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Rng,
  writeReport,
  renderReport,
  registerBlockRenderer,
  project2d,
  encodePng,
  parseMetricsLog,
  trainingCurveBlocks,
  comparisonTable,
  evaluateEmbeddings,
  evaluationBlocks,
  ValueError,
  type ReportBlock,
} from 'geoclr';
import { needBinary, needPython, runPython } from './support/peers.js';
import { CHROMIUM, loadInChromium } from './support/chromium.js';

/** Runs `fn` in a fresh temporary folder, removed afterwards. */
async function inTmpDir<T>(fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'geoclr-report-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function count(html: string, re: RegExp): number {
  return (html.match(re) ?? []).length;
}

/** A small longitudinal cohort: 20 subjects × 3 visits. */
function cohort() {
  const rng = new Rng(0);
  const emb: number[][] = [];
  const meta = { age: [] as number[], site: [] as string[], dx: [] as string[], subject: [] as string[], years: [] as number[] };
  for (let s = 0; s < 20; s++) {
    const age0 = rng.uniform(55, 85);
    const base = Array.from({ length: 12 }, () => rng.normal());
    for (let v = 0; v < 3; v++) {
      emb.push(base.map((x, j) => x + 0.3 * rng.normal() + (j === 0 ? (age0 + v - 70) / 5 : 0)));
      meta.age.push(age0 + v);
      meta.site.push(['A', 'B', 'C'][s % 3]);
      meta.dx.push(s % 4 === 0 ? 'AD' : 'CN');
      meta.subject.push(`sub-${s}`);
      meta.years.push(v);
    }
  }
  return { emb, meta };
}

function metricsLines(): string {
  const lines: string[] = [];
  for (let step = 0; step <= 200; step += 10) {
    lines.push(JSON.stringify({ step, epoch: step / 100, loss: 5 * Math.exp(-step / 80) + 1, terms: { yaware: 4 * Math.exp(-step / 80) + 1, fairkl: 0.2 }, lr: 1e-3 * Math.min(1, step / 50), samples_per_s: 30 }));
    if (step % 50 === 0) lines.push(JSON.stringify({ step, split: 'val', loss: 5 * Math.exp(-step / 80) + 1.3 }));
  }
  return lines.join('\n') + '\n{"step": 210, "lo'; // a torn last line, as a killed run leaves it
}

describe('report: page content', () => {
  it('renders loss curves, tables, embedding maps with trajectories, images; all escaped and self-contained', async () => {
    await inTmpDir(async (dir) => {
      writeFileSync(path.join(dir, 'metrics.jsonl'), metricsLines());
      const { emb, meta } = cohort();
      const file = await writeReport(dir, {
        title: 'Run <b>1</b>',
        info: { backend: 'wasm', seconds: 12.5 },
        generatedAt: '2025-01-01T00:00:00Z',
        sections: [
          { title: 'Comparison', blocks: [comparisonTable([{ name: 'SimCLR', age_mae: 7.1, site_bacc: 0.8 }, { name: 'y-Aware', age_mae: 4.2, site_bacc: 0.9 }, { name: 'FairKL', age_mae: 4.5, site_bacc: 0.4 }])] },
          { title: 'Map', blocks: [{ type: 'embeddingMap', embeddings: emb, colorBy: { age: meta.age, site: meta.site }, labels: meta.subject, trajectories: { group: meta.subject, time: meta.years } }] },
          { title: 'Images', blocks: [{ type: 'images', images: [{ src: { width: 4, height: 3, channels: 1, data: new Float32Array(12).fill(0.5) }, caption: 'grey' }] }] },
        ],
      });
      assert.equal(file, path.join(dir, 'report.html'));
      // Atomic write: no temporary file left beside it.
      assert.deepEqual(readdirSync(dir).sort(), ['metrics.jsonl', 'report.html']);
      const html = readFileSync(file, 'utf8');
      assert.match(html, /<title>Run &lt;b&gt;1&lt;\/b&gt;<\/title>/);
      assert.ok(!/<script/i.test(html), 'no scripts');
      assert.ok(!/(src|href)="(https?:|\/\/|file:)/i.test(html), 'no external references');
      assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
      // Training section from metrics.jsonl: loss chart with total, val and term series; lr chart; throughput chart.
      assert.match(html, /<h2>Training<\/h2><p class="intro">26 logged steps/);
      for (const s of ['loss', 'loss (val)', 'terms.yaware', 'terms.fairkl']) assert.ok(html.includes(`data-series="${s}"`), s);
      assert.ok(html.includes('>Learning rate</text>') && html.includes('>samples_per_s</text>'));
      // Best values: y-Aware's MAE and FairKL's site decodability.
      assert.match(html, /<td class="num best">4.2<\/td>/);
      assert.match(html, /<td class="num best">0.4<\/td>/);
      // Two maps of 60 points, 20 trajectories each.
      assert.equal(count(html, /class="chart scatter-chart"[^>]*data-points="60"/g), 2);
      assert.equal(count(html, /class="trajectory"/g), 40);
      assert.match(html, /<img src="data:image\/png;base64,[A-Za-z0-9+/=]+" alt="grey"/);
    });
  });

  it('loads in headless Chromium without console errors and shows the charts', async function () {
    needBinary(this, CHROMIUM, 'chromium');
    await inTmpDir(async (dir) => {
      writeFileSync(path.join(dir, 'metrics.jsonl'), metricsLines());
      const { emb, meta } = cohort();
      const ev = evaluateEmbeddings({ embeddings: emb, metadata: meta, groups: 'subject', targets: { age: { task: 'regression' }, site: { nuisance: true } }, folds: 4, bootstrap: 50 });
      const file = path.join(dir, 'report.html');
      writeFileSync(
        file,
        renderReport({
          title: 'chromium check',
          metrics: parseMetricsLog(metricsLines()).records,
          sections: [
            { title: 'Evaluation', blocks: evaluationBlocks(ev) },
            { title: 'Map', blocks: [{ type: 'embeddingMap', embeddings: emb, colorBy: { age: meta.age, dx: meta.dx }, trajectories: { group: meta.subject, time: meta.years } }] },
            { title: 'Images', blocks: [{ type: 'images', images: [{ src: encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]) }) }] }] },
          ],
        }),
      );
      const page = loadInChromium(file);
      assert.equal(page.status, 0, page.stderr.slice(-2000));
      assert.deepEqual(page.console, [], `console messages:\n${page.console.join('\n')}`);
      const dom = page.dom;
      // The parsed DOM holds every chart with its data points: loss, lr and throughput curves, 2 scatter maps.
      assert.equal(count(dom, /<svg class="chart line-chart"/g), 3);
      assert.equal(count(dom, /<svg class="chart scatter-chart"[^>]*data-points="60"/g), 2);
      assert.ok(count(dom, /<circle class="pt"/g) >= 120 + 26, 'data points in the DOM');
      assert.ok(count(dom, /<polyline class="trajectory"/g) === 40);
      assert.ok(count(dom, /<title>/g) > 150, 'tooltips');
      assert.match(dom, /<h3>age \(regression\)<\/h3>/);
      assert.match(dom, /<img src="data:image\/png;base64,/);
    });
  });

  it('the console check catches an external fetch (negative control)', async function () {
    needBinary(this, CHROMIUM, 'chromium');
    await inTmpDir(async (dir) => {
      const file = path.join(dir, 'bad.html');
      writeFileSync(file, renderReport({ title: 'bad', sections: [{ title: 'x', blocks: [{ type: 'html', html: '<img src="http://127.0.0.1:9/x.png" alt="x">' }] }] }));
      const page = loadInChromium(file);
      assert.ok(page.console.some((l) => /Content Security Policy/.test(l)), `expected a CSP console message, got:\n${page.console.join('\n')}`);
    });
  });
});

describe('report: building blocks', () => {
  it('UMAP maps are seeded (same seed, same map); PCA below 15 points', () => {
    const { emb } = cohort();
    const a = project2d(emb, { seed: 3 });
    const b = project2d(emb, { seed: 3 });
    assert.equal(a.method, 'umap');
    assert.deepEqual(Array.from(a.x), Array.from(b.x));
    assert.deepEqual(Array.from(a.y), Array.from(b.y));
    const c = project2d(emb, { seed: 4 });
    assert.notDeepEqual(Array.from(c.x), Array.from(a.x));
    // PCA on points along a line: the first component carries all the variance.
    const small = Array.from({ length: 10 }, (_, i) => [i, 2 * i, -i]);
    const p = project2d(small);
    assert.equal(p.method, 'pca');
    assert.ok(p.explainedVariance![0] > 0.999);
    const spread = Math.max(...p.x) - Math.min(...p.x);
    assert.ok(Math.abs(spread - 9 * Math.sqrt(6)) < 1e-9, `spread ${spread}`);
  });

  it('PNG bytes decode with Python zlib/binascii to the same pixels', function () {
    needPython(this, ['zlib', 'binascii', 'base64']);
    const data = new Uint8Array(5 * 3 * 4).map((_, i) => (i * 37) % 256);
    const png = encodePng({ width: 5, height: 3, channels: 4, data });
    const out = runPython(
      `import sys, zlib, struct, binascii, json, base64
b = base64.b64decode(sys.stdin.read())
assert b[:8] == bytes([0x89, 80, 78, 71, 13, 10, 26, 10])
p = 8; chunks = {}; idat = b''
while p < len(b):
    n, = struct.unpack('>I', b[p:p+4]); t = b[p+4:p+8]; d = b[p+8:p+8+n]; crc, = struct.unpack('>I', b[p+8+n:p+12+n])
    assert binascii.crc32(t + d) == crc, t
    if t == b'IDAT': idat += d
    chunks[t.decode()] = d; p += 12 + n
w, h, depth, ctype = struct.unpack('>IIBB', chunks['IHDR'][:10])
raw = zlib.decompress(idat); stride = w * 4
px = [x for r in range(h) for x in raw[r*(stride+1)+1:(r+1)*(stride+1)]]
print(json.dumps({'w': w, 'h': h, 'depth': depth, 'ctype': ctype, 'px': px, 'end': list(chunks)[-1]}))`,
      [],
      Buffer.from(png).toString('base64'),
    );
    const r = JSON.parse(out);
    assert.deepEqual([r.w, r.h, r.depth, r.ctype, r.end], [5, 3, 8, 6, 'IEND']);
    assert.deepEqual(r.px, Array.from(data));
  });

  it('custom block types plug in without changing the writer; unknown types are named', () => {
    registerBlockRenderer('retrievalTable', (b: { rows: number }) => `<div class="retrieval">${b.rows} rows</div>`);
    const html = renderReport({ title: 't', sections: [{ title: 'Multimodal', blocks: [{ type: 'retrievalTable', rows: 3 } as ReportBlock] }] });
    assert.match(html, /<div class="retrieval">3 rows<\/div>/);
    assert.throws(
      () => renderReport({ title: 't', sections: [{ title: 'S', blocks: [{ type: 'heatmap' } as ReportBlock] }] }),
      (e: Error) => e instanceof ValueError && /section 'S': no renderer for block type 'heatmap'/.test(e.message),
    );
    assert.throws(() => renderReport({ title: '', sections: [] }), /'title' is required/);
    assert.throws(
      () => renderReport({ title: 't', sections: [{ title: 'I', blocks: [{ type: 'images', images: [{ src: 'https://example.org/a.png' }] }] }] }),
      /src must be a data:image/,
    );
  });

  it('metrics log: torn lines skipped, losses/lr/other charts, phases as separate series', () => {
    const log = parseMetricsLog(metricsLines());
    assert.equal(log.skipped, 1);
    assert.equal(log.records.length, 26);
    const blocks = trainingCurveBlocks(log.records) as any[];
    assert.equal(blocks[0].type, 'lineChart');
    assert.deepEqual(blocks[0].series.map((s: any) => s.name), ['loss', 'loss (val)', 'terms.yaware', 'terms.fairkl']);
    assert.equal(blocks[0].series[1].dashed, true);
    assert.deepEqual(blocks[1].blocks.map((b: any) => b.title), ['Learning rate', 'samples_per_s']);
    assert.deepEqual(trainingCurveBlocks([]), []);
  });

  it('comparison tables infer the better direction of each column', () => {
    const t = comparisonTable([{ name: 'a', age_mae: 1, diagnosis_auc: 0.7, site_bacc: 0.5, r5_i2t: 0.2, chance_r5: 0.05, median_rank_i2t: 3, unif: -3 }]);
    const dir = Object.fromEntries(t.columns!.map((c: any) => [c.key, c.better ?? null]));
    assert.deepEqual(dir, { name: null, age_mae: 'lower', diagnosis_auc: 'higher', site_bacc: 'lower', r5_i2t: 'higher', chance_r5: null, median_rank_i2t: 'lower', unif: 'lower' });
  });
});
