import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, FileFormatError, ConfigError } from 'geoclr';
import { loadTokenizer, loadPretrainedTextEncoder, bertBaseUncasedDir, type PretrainedTextEncoder } from 'geoclr/text';
import { needPython, runPythonFile } from './support/peers.js';
import { assertClose } from './support/tf.js';

const TINY_BERT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/support/tiny_bert.py');
const MAX_POS = 128;

const TEXTS = [
  'Moderate ventricular enlargement.',
  'No hippocampal atrophy. Mild diffuse cortical volume loss for age.',
  'FINDINGS: Marked frontal-predominant atrophy; the hippocampi are preserved. IMPRESSION: frontal-predominant pattern.',
  '',
  'Incidental 4 mm pineal cyst.',
];

describe('text: frozen pretrained ONNX text encoder (tiny BERT built by PyTorch)', function () {
  let dir: string;
  let modelDir: string;
  let ref: { mean: number[][]; cls: number[][]; opset: number };

  before(function () {
    needPython(this, ['torch']);
    this.timeout(120_000);
  });

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-tinybert-'));
    modelDir = path.join(dir, 'tiny-bert');
    mkdirSync(modelDir);
    // the model folder transformers.js expects: config.json, tokenizer files, onnx/model.onnx
    for (const name of ['tokenizer.json', 'vocab.txt', 'special_tokens_map.json']) copyFileSync(path.join(bertBaseUncasedDir(), name), path.join(modelDir, name));
    const config = JSON.parse(readFileSync(path.join(bertBaseUncasedDir(), 'tokenizer_config.json'), 'utf8'));
    writeFileSync(path.join(modelDir, 'tokenizer_config.json'), JSON.stringify({ ...config, model_max_length: MAX_POS }));
    const tok = await loadTokenizer(modelDir);
    writeFileSync(path.join(dir, 'ids.json'), JSON.stringify(TEXTS.map((t) => tok.encode(t))));
    runPythonFile(TINY_BERT, [modelDir, path.join(dir, 'ids.json'), path.join(dir, 'ref.json'), '--max-pos', String(MAX_POS)]);
    ref = JSON.parse(readFileSync(path.join(dir, 'ref.json'), 'utf8'));
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function embedAndCompare(encoder: PretrainedTextEncoder, expected: number[][], what: string) {
    const before = tf.memory().numTensors;
    const emb = await encoder.embed(TEXTS);
    assert.equal(tf.memory().numTensors, before + 1, 'embed returns exactly one tensor');
    assert.deepEqual(emb.shape, [TEXTS.length, 32]);
    assertClose(await emb.data(), expected.flat(), 0, 1e-4, what);
    emb.dispose();
    await encoder.dispose();
  }

  for (const runtime of ['onnxruntime', 'transformers'] as const) {
    for (const pooling of ['mean', 'cls'] as const) {
      it(`${runtime}, ${pooling} pooling: embeddings equal PyTorch's within 1e-4 (batched with padding vs one text at a time)`, async () => {
        const encoder = await loadPretrainedTextEncoder(modelDir, { runtime, pooling });
        assert.equal(encoder.dim, 32);
        assert.equal(encoder.runtime, runtime);
        await embedAndCompare(encoder, ref[pooling], `${runtime}/${pooling}`);
      });
    }
  }

  it('batch size and normalization: same directions, unit norms', async () => {
    const a = await loadPretrainedTextEncoder(modelDir, { batchSize: 2, normalize: true, threads: 1 });
    const emb = await a.embed(TEXTS);
    const rows = emb.arraySync();
    emb.dispose();
    rows.forEach((r, i) => {
      const norm = Math.hypot(...ref.mean[i]);
      assertClose(r, ref.mean[i].map((v) => v / norm), 0, 1e-5, `row ${i}`);
    });
    const empty = await a.embed([]);
    assert.deepEqual(empty.shape, [0, 32]);
    empty.dispose();
    await a.dispose();
  });

  it('bad input: missing model file, unknown options, hub ids without opting in', async () => {
    const bare = path.join(dir, 'bare');
    mkdirSync(bare, { recursive: true });
    await assert.rejects(loadPretrainedTextEncoder(bare), (e: Error) =>
      e instanceof FileFormatError && e.file === path.join(bare, 'onnx', 'model.onnx') && e.message.includes(`looked in ${bare} for onnx/model.onnx and model.onnx`));
    await assert.rejects(loadPretrainedTextEncoder(modelDir, { pooling: 'max' as 'mean' }), (e: Error) => e instanceof ConfigError && /pooling/.test(e.message));
    await assert.rejects(loadPretrainedTextEncoder('sentence-transformers/all-MiniLM-L6-v2'), /downloading it as a Hugging Face Hub id is disabled/);
    await assert.rejects(loadPretrainedTextEncoder(modelDir, { maxLength: 4096 }), /exceeds the model's max_position_embeddings \(128\)/);
    const enc = await loadPretrainedTextEncoder(modelDir);
    await assert.rejects(enc.embed(['ok', 5 as unknown as string]), /texts\[1\]: expected a string/);
    // a very long text is truncated to the model's positions, not an out-of-range crash
    const long = await enc.embed(['moderate ventricular enlargement '.repeat(5000)]);
    assert.ok(long.dataSync().every(Number.isFinite));
    long.dispose();
    await enc.dispose();
  });
});
