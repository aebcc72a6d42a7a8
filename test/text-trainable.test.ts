/**
 * The trainable text encoder's whole training path on the active backend (wasm by default): BERT-tokenized
 * reports through a compact vocabulary, the text transformer (embedding gradient by scatterND, masked attention
 * through the pairwise BatchMatMul), CLIP's loss — gradients of every parameter against the PyTorch twin in
 * float64 — an AdamW step without leaks, and text-model files that embed raw texts again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, AdamW, clipLoss, createEncoder, resolveEncoderConfig, FileFormatError, ValueError, type Encoder } from 'geoclr';
import { loadTokenizer } from 'geoclr/text';
import { TextPipeline, corpusVocabulary, createTextPipeline } from '../modalities/text/pipeline.js';
import { embedTexts, loadTextModel, saveTextModel } from '../modalities/text/text-model.js';
import { needPython, runPython } from './support/peers.js';
import { readExchange, tempExchangeDir, writeExchange } from './support/exchange.js';
import { assertClose, assertNoLeak } from './support/tf.js';

const REPORTS = [
  'FINDINGS: Moderate hippocampal atrophy. The lateral ventricles are mildly enlarged. IMPRESSION: Moderate hippocampal atrophy, mild ventricular enlargement. Medial temporal predominant pattern of volume loss, in keeping with the clinical question of Alzheimer disease.',
  'No hippocampal atrophy. Normal brain volume for age. The basal cisterns are patent.',
  'CLINICAL INFORMATION: 71-year-old female, memory complaints. Marked frontal-predominant atrophy; the hippocampi are preserved. Incidental 4 mm pineal cyst. IMPRESSION: frontal-predominant pattern.',
  'Mild diffuse cortical volume loss for age. No acute infarct, hemorrhage or mass effect. The ventricles are normal in size and configuration.',
];

describe('text: trainable text encoder (training path)', function () {
  this.timeout(60_000);
  let pipeline: TextPipeline;

  before(async () => {
    const tok = await loadTokenizer();
    pipeline = new TextPipeline(tok, { tokenizer: 'bert-base-uncased', maxLength: 64, vocabulary: corpusVocabulary(tok, REPORTS.slice(0, 3), 64) });
  });

  it('maps tokenizer ids to a compact corpus vocabulary (padding 0, unseen tokens to the out-of-vocabulary id 1)', () => {
    const v = pipeline.spec.vocabulary!;
    assert.equal(v[0], 0, '[PAD]');
    assert.equal(v[1], 100, '[UNK]');
    assert.deepEqual(v.slice(2, 4), [101, 102], '[CLS], [SEP] next');
    assert.deepEqual(v.slice(4), [...v.slice(4)].sort((a, b) => a - b), 'then sorted ids');
    const a = pipeline.encodeArrays(['No hippocampal atrophy.', 'zebra'], { padding: 'max_length' });
    assert.equal(a.length, 64);
    const back = Array.from(a.ids.subarray(0, 6), (c) => v[c]);
    assert.deepEqual(back, [101, 2053, 5099, 6873, 26468, 2389].slice(0, 6), 'compact ids map back to the BERT ids');
    assert.equal(a.outOfVocabulary, 1, "'zebra' is not in the corpus");
    assert.equal(a.ids[64 + 1], 1);
    assert.equal(a.mask[64 + 3], 0, 'padding masked');
    assert.ok(Math.max(...a.ids) < pipeline.vocabSize);
    assert.throws(() => new TextPipeline(pipeline.tokenizer, { ...pipeline.spec, vocabulary: [5, 100] }), ValueError);
    assert.throws(() => new TextPipeline(pipeline.tokenizer, { ...pipeline.spec, vocabulary: [0, 100, 7, 7] }), /twice/);
  });

  it('CLIP gradients of every parameter (embeddings, masked attention, pooling, head) match the PyTorch twin in float64', function () {
    needPython(this, ['torch']);
    const { dir, cleanup } = tempExchangeDir('geoclr-text-grad-');
    try {
      // dim 32 with 2 heads and ~50-token reports: attention products are large enough for the pairwise BatchMatMul.
      for (const pooling of ['cls', 'mean'] as const) {
        const config = resolveEncoderConfig({ arch: 'text-transformer', vocabSize: pipeline.vocabSize, maxLength: 64, dim: 32, depth: 2, heads: 2, dropout: 0, pooling, head: { hidden: [32], out: 16 } });
        const enc = createEncoder(config, { seed: 3 });
        const batch = pipeline.encode(REPORTS);
        const target = tf.tensor2d(Float32Array.from({ length: REPORTS.length * 16 }, (_, i) => Math.sin(i * 1.7)), [REPORTS.length, 16]);
        const { value, grads } = tf.variableGrads(() => clipLoss(enc.forward(batch.ids, batch.mask).projection, target, { temperature: 0.1 }), enc.parameters());
        const names = new Map(enc.namedParameters().map(([n, v]) => [v.name, n]));
        const items: Record<string, tf.Tensor> = { ids: batch.ids, mask: batch.mask, target };
        for (const [k, t] of Object.entries(enc.stateDict())) items[`state.${k}`] = t;
        writeExchange(dir, items);
        writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
        runPython(
          `
import json, os, sys, torch
sys.path.insert(0, ${JSON.stringify(path.resolve('test/support'))}); sys.path.insert(0, ${JSON.stringify(path.resolve('interop/python'))})
from exchange import read_exchange, write_exchange
from geoclr_torch import build_encoder
d = sys.argv[1]; a = read_exchange(d); cfg = json.load(open(os.path.join(d, 'config.json')))
m = build_encoder(cfg).double()
m.load_state_dict({k[6:]: torch.tensor(v, dtype=torch.float64) for k, v in a.items() if k.startswith('state.')}, strict=True)
m.eval()
_, u = m(torch.tensor(a['ids'], dtype=torch.int64), torch.tensor(a['mask'], dtype=torch.int64))
v = torch.tensor(a['target'], dtype=torch.float64)
u = u / u.norm(dim=1, keepdim=True); v = v / v.norm(dim=1, keepdim=True)
logits = u @ v.T / 0.1
labels = torch.arange(len(u))
loss = 0.5 * (torch.nn.functional.cross_entropy(logits, labels) + torch.nn.functional.cross_entropy(logits.T, labels))
loss.backward()
out = {'loss': loss.detach().numpy()}
for k, p in m.named_parameters(): out['grad.' + k] = p.grad.numpy()
os.makedirs(os.path.join(d, 'out'), exist_ok=True); write_exchange(os.path.join(d, 'out'), out)
`,
          [dir],
        );
        const ref = readExchange(path.join(dir, 'out'));
        assertClose(value.dataSync(), ref.loss.data, 1e-5, 1e-6, `${pooling}: loss`);
        let compared = 0;
        for (const [id, g] of Object.entries(grads)) {
          const name = names.get(id)!;
          const e = ref[`grad.${name}`];
          assert.ok(e, `PyTorch has no gradient for ${name}`);
          const scale = Math.max(1e-3, ...Array.from(e.data, Math.abs));
          assertClose(g.dataSync(), e.data, 0, 2e-4 * scale, `${pooling}: d loss / d ${name}`);
          compared++;
        }
        assert.equal(compared, enc.namedParameters().length);
        assert.ok(ref['grad.token_embedding.weight'].data.some((x) => x !== 0), 'the embedding gradient is not trivially zero');
        tf.dispose([value, ...Object.values(grads), batch.ids, batch.mask, target]);
        enc.dispose();
      }
    } finally {
      cleanup();
    }
  });

  it('an AdamW training step on tokenized reports (dropout on) updates the weights and leaves no tensor behind', async () => {
    const enc = createEncoder({ arch: 'text-transformer', vocabSize: pipeline.vocabSize, maxLength: 64, dim: 32, depth: 1, heads: 2, dropout: 0.1, head: { out: 8 } }, { seed: 1 });
    const opt = new AdamW(enc, { lr: 1e-2 });
    const target = tf.randomNormal([REPORTS.length, 8], 0, 1, 'float32', 4);
    const step = () => {
      const b = pipeline.encode(REPORTS);
      const { value, grads } = tf.variableGrads(() => clipLoss(enc.forward(b.ids, b.mask).projection, target), enc.parameters());
      opt.step(grads);
      tf.dispose([value, ...Object.values(grads), b.ids, b.mask]);
    };
    step();
    const before = enc.stateDict()['token_embedding.weight'].dataSync().slice();
    await assertNoLeak(step, 'a text training step');
    assert.ok(enc.stateDict()['token_embedding.weight'].dataSync().some((x, i) => x !== before[i]));
    opt.dispose();
    enc.dispose();
    target.dispose();
  });

  it('text-model.safetensors stores the pipeline and embeds raw texts the same after loading; bad files are named', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'geoclr-text-model-'));
    try {
      const enc = createEncoder({ arch: 'text-transformer', vocabSize: pipeline.vocabSize, maxLength: 64, dim: 16, depth: 1, heads: 2, head: { out: 8 } }, { seed: 2 }) as Encoder;
      const file = path.join(tmp, 'text-model.safetensors');
      await saveTextModel(file, enc, pipeline.spec);
      const a = await assertNoLeak(() => embedTexts(enc, pipeline, REPORTS, { batchSize: 3 }), 'embedTexts');
      assert.equal(enc.training, true, 'training mode restored');
      const loaded = await loadTextModel(tmp);
      const b = loaded.embed(REPORTS);
      assert.deepEqual([b.n, b.dim], [4, 8]);
      assertClose(b.data, a.data, 0, 1e-6, 'embeddings after loading');
      assert.deepEqual(loaded.pipeline.spec, pipeline.spec);
      loaded.dispose();
      const again = await createTextPipeline(pipeline.spec);
      assert.deepEqual(Array.from(again.encodeArrays(REPORTS).ids), Array.from(pipeline.encodeArrays(REPORTS).ids));
      await assert.rejects(loadTextModel(path.join(tmp, 'nope')), (e: unknown) => e instanceof FileFormatError && /no such file/.test(e.message));
      const plain = path.join(tmp, 'plain.safetensors');
      const { saveEncoderFile } = await import('../src/io/model-file.js');
      await saveEncoderFile(plain, enc);
      await assert.rejects(loadTextModel(plain), (e: unknown) => e instanceof FileFormatError && /geoclr\.text/.test(e.message));
      enc.dispose();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
