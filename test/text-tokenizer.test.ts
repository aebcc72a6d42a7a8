import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, FileFormatError, ValueError } from 'geoclr';
import { loadTokenizer, bertBaseUncasedDir, type TextTokenizer } from 'geoclr/text';
import { makeBertTokenizer } from '../scripts/make-bert-tokenizer.js';
import { needPython, runPythonFile } from './support/peers.js';
import { assertNoLeak } from './support/tf.js';

const REFERENCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/support/bert_wordpiece.py');

/** Radiology sentences that exercise accents, punctuation, hyphens, numbers, units and "##" continuations. */
const SENTENCES = [
  'FINDINGS: Moderate ventricular enlargement. No hippocampal atrophy.',
  'Mild diffuse cortical volume loss for age; frontal-predominant atrophy (left > right).',
  'Periventricular and subcortical T2/FLAIR hyperintensities, Fazekas grade 2, likely chronic small-vessel ischaemic change.',
  'MTA score 3 bilaterally; Koedam score 1. Evans index 0.31.',
  'Comparison: MRI brain dated 2019-03-14 (1.5T); interval progression of medial-temporal atrophy since 14/03/2019.',
  'Naïve patient, Ménière’s disease, Sjögren syndrome, café-au-lait macules — no acute intracranial abnormality.',
  'Hippocampal volumes: L 2,874 mm³, R 3,012 mm³ (z = −1.8 and −1.5); ±5% test–retest.',
  'Ex-vacuo dilatation of the temporal horns; no transependymal CSF flow to suggest hydrocephalus.',
  'Incidental 4 mm pineal cyst; mega cisterna magna. Mastoid air cells clear. Paranasal sinuses: mucosal thickening.',
  '  Tabs\tand\nnew lines\r\nand  double  spaces  ',
  'ÉLARGISSEMENT VENTRICULAIRE MODÉRÉ; atrophie hippocampique « légère ».',
  'Symbols: #1, $200, 50%, a+b=c, <3>, ^_^, `code`, {x|y}, ~approx, @home, 3×3×3 mm, 37°C, 10µm.',
  'Unknown-to-vocab: 🧠 brainstem, ☃, and a CJK term 海马 (hippocampus).',
  'supercalifragilisticexpialidociousnessfulness and pneumonoultramicroscopicsilicovolcanoconiosis',
  'x'.repeat(120) + ' (an overlong word becomes unknown)',
  'Odd spacing: a\vb c\fd e\ufeffg h\u00a0i j\u2028k l\u200bm n\u0085o p\u3000q r\u0000s t\ufffdu',
  '',
];

describe('text: bert-base-uncased tokenizer', function () {
  let tok: TextTokenizer;
  before(async () => {
    tok = await loadTokenizer();
  });

  it('ships the converted vocabulary with the canonical BERT ids', () => {
    const vocab = readFileSync(path.join(bertBaseUncasedDir(), 'vocab.txt'), 'utf8').split('\n');
    assert.equal(vocab.length, 30522 + 1, 'vocab.txt has 30522 lines and a final newline');
    const id = (token: string) => tok.hf.convert_tokens_to_ids(token);
    assert.deepEqual([id('[PAD]'), id('[UNK]'), id('[CLS]'), id('[SEP]'), id('[MASK]')], [0, 100, 101, 102, 103]);
    assert.equal(id('the'), 1996);
    assert.equal(id('##ing'), 2075);
    assert.equal(vocab[1], '[unused0]');
    assert.equal(tok.vocabSize, 30522);
    assert.deepEqual(tok.prefixIds, [101]);
    assert.deepEqual(tok.suffixIds, [102]);
  });

  it('the committed assets are exactly what scripts/make-bert-tokenizer.ts generates', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'geoclr-bert-'));
    try {
      await makeBertTokenizer(dir);
      const names = readdirSync(dir).sort();
      assert.deepEqual(names, ['LICENSE', 'NOTICE', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
      for (const name of names) {
        assert.ok(readFileSync(path.join(dir, name)).equals(readFileSync(path.join(bertBaseUncasedDir(), name))), `${name} differs`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('encode() gives [CLS] … [SEP] and known ids', () => {
    assert.deepEqual(tok.encode('the'), [101, 1996, 102]);
    assert.deepEqual(tok.encode(''), [101, 102]);
    const pieces = tok.tokenize('Enlarging ventricles');
    assert.ok(pieces.some((p) => p.startsWith('##')), pieces.join(' '));
    assert.equal(detokenize(pieces), 'enlarging ventricles');
    assert.equal(detokenize(tok.tokenize('Ménière NAÏVE Café')), 'meniere naive cafe', 'lower-cased, accents stripped');
    assert.equal(tok.decode(tok.encode('Mild hippocampal atrophy.')), 'mild hippocampal atrophy.');
  });

  it('ids equal an independent Python BERT BasicTokenizer + WordPiece on radiology sentences', function () {
    needPython(this, ['unicodedata']);
    const dir = mkdtempSync(path.join(tmpdir(), 'geoclr-tok-'));
    let expected: number[][];
    try {
      writeFileSync(path.join(dir, 'texts.json'), JSON.stringify(SENTENCES));
      expected = JSON.parse(runPythonFile(REFERENCE, [path.join(bertBaseUncasedDir(), 'vocab.txt'), path.join(dir, 'texts.json')]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const ids = SENTENCES.map((s) => tok.encode(s, { maxLength: 512 }));
    SENTENCES.forEach((s, i) => assert.deepEqual(ids[i], expected[i], `sentence ${i}: ${JSON.stringify(s)}\n${tok.hf.tokenize(s).join(' ')}`));
    // the sentences do exercise what they claim to
    const all = ids.flat();
    assert.ok(all.includes(100), '[UNK] occurs');
    const tokens = SENTENCES.flatMap((s) => tok.tokenize(s));
    assert.ok(tokens.filter((t) => t.startsWith('##')).length > 20, '"##" continuations occur');
    assert.ok(tokens.includes('-') && tokens.includes('/') && tokens.includes(';'), 'punctuation splits');
  });

  it('the word cache gives exactly transformers.js\u2019 own encoding', async () => {
    const texts = [...SENTENCES, 'hippocampal hippocampal HIPPOCAMPAL, hippocampal-atrophy.'];
    const uncached = await loadTokenizer(undefined, { wordCache: false });
    for (const s of texts) {
      assert.deepEqual(tok.encode(s, { maxLength: 512 }), tok.hf.encode(s), JSON.stringify(s));
      assert.deepEqual(uncached.encode(s, { maxLength: 40 }), tok.encode(s, { maxLength: 40 }), JSON.stringify(s));
    }
  });

  it('encodeBatch pads, truncates (keeping [SEP]) and masks, as int32 tensors without leaks', async () => {
    const texts = ['no hippocampal atrophy', 'moderate ventricular enlargement with marked frontal-predominant atrophy', ''];
    const single = texts.map((t) => tok.encode(t));
    await assertNoLeak(() => {
      const b = tok.encodeBatch(texts);
      const L = Math.max(...single.map((s) => s.length));
      assert.deepEqual(b.input_ids.shape, [3, L]);
      assert.equal(b.input_ids.dtype, 'int32');
      assert.equal(b.attention_mask.dtype, 'int32');
      const ids = b.input_ids.arraySync();
      const mask = b.attention_mask.arraySync();
      single.forEach((s, i) => {
        assert.deepEqual(ids[i].slice(0, s.length), s);
        assert.ok(ids[i].slice(s.length).every((v) => v === 0), 'padded with [PAD]=0');
        assert.deepEqual(mask[i], ids[i].map((_, j) => (j < s.length ? 1 : 0)));
      });
      assert.deepEqual(Array.from(b.lengths), single.map((s) => s.length));
      tf.dispose([b.input_ids, b.attention_mask]);

      const t = tok.encodeBatch(texts, { maxLength: 6, padding: 'max_length' });
      assert.deepEqual(t.input_ids.shape, [3, 6]);
      const tIds = t.input_ids.arraySync();
      assert.deepEqual(tIds[1], [...single[1].slice(0, 5), 102], 'truncated keeps [SEP] last');
      assert.deepEqual(tIds[2], [101, 102, 0, 0, 0, 0]);
      assert.deepEqual(tIds[0], [...single[0].slice(0, 5), 102]);
      assert.equal(t.truncated, 2);
      assert.deepEqual(t.attention_mask.arraySync()[2], [1, 1, 0, 0, 0, 0]);
      tf.dispose([t.input_ids, t.attention_mask]);
    });
  });

  it('a very long report is truncated quickly and equals truncating the full encoding', () => {
    const words = 'moderate ventricular enlargement; no hippocampal atrophy, mild periventricular hyperintensities. ';
    const long = words.repeat(20000); // ~2 MB
    const t0 = performance.now();
    const ids = tok.encode(long, { maxLength: 128 });
    const ms = performance.now() - t0;
    assert.equal(ids.length, 128);
    assert.equal(ids[127], 102);
    const medium = words.repeat(200);
    const full = tok.hf.encode(medium, { add_special_tokens: false });
    assert.deepEqual(tok.encode(medium, { maxLength: 64 }), [101, ...full.slice(0, 62), 102]);
    assert.ok(ms < 2000, `2 MB report took ${ms.toFixed(0)} ms`);
  });

  it('bad input: non-strings and impossible lengths are ValueErrors', () => {
    assert.throws(() => tok.encode(null as unknown as string), (e) => e instanceof ValueError && /text: expected a string, got null/.test(e.message));
    assert.throws(() => tok.encodeBatch(['ok', 3 as unknown as string]), /texts\[1\]: expected a string, got number/);
    assert.throws(() => tok.encode('x', { maxLength: 2 }), /maxLength: expected an integer ≥ 3/);
    assert.throws(() => tok.encodeBatch(['x'], { padding: 'left' as 'longest' }), /padding: expected 'longest' or 'max_length'/);
  });

  it('loads a folder with only vocab.txt (older BERT checkpoints) to the same ids', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'geoclr-vocab-'));
    try {
      copyFileSync(path.join(bertBaseUncasedDir(), 'vocab.txt'), path.join(dir, 'vocab.txt'));
      const v = await loadTokenizer(dir);
      for (const s of SENTENCES.slice(0, 8)) assert.deepEqual(v.encode(s), tok.encode(s));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hub ids load only with allowRemote, through transformers.js (stubbed fetch: no network used)', async () => {
    const { env } = await import('@huggingface/transformers');
    const saved = env.fetch;
    const urls: string[] = [];
    env.fetch = async (url: string | URL) => {
      urls.push(String(url));
      return new Response('not found', { status: 404 });
    };
    try {
      await assert.rejects(loadTokenizer('someone/clinical-bert'), /downloading it as a Hugging Face Hub id is disabled/);
      assert.equal(urls.length, 0, 'nothing fetched without the opt-in');
      await assert.rejects(loadTokenizer('someone/clinical-bert', { allowRemote: true }), (e: Error) =>
        e instanceof FileFormatError && /^someone\/clinical-bert: could not load the tokenizer from the Hugging Face Hub/.test(e.message));
      assert.ok(urls.some((u) => u.startsWith('https://huggingface.co/someone/clinical-bert/')), urls.join(', '));
      assert.equal(env.allowRemoteModels, false, 'remote loading is off again after the opted-in call');
    } finally {
      env.fetch = saved;
    }
  });

  it('missing tokenizer files: the error names the file and where it looked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'geoclr-empty-'));
    try {
      await assert.rejects(loadTokenizer(dir), (e: Error) => {
        assert.ok(e instanceof FileFormatError);
        assert.equal(e.file, path.join(dir, 'tokenizer.json'));
        assert.match(e.message, new RegExp(`looked in ${dir} for tokenizer.json \\+ tokenizer_config.json`));
        return true;
      });
      copyFileSync(path.join(bertBaseUncasedDir(), 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
      await assert.rejects(loadTokenizer(dir), (e: Error) => e instanceof FileFormatError && e.file === path.join(dir, 'tokenizer_config.json'));
      writeFileSync(path.join(dir, 'tokenizer_config.json'), '{"tokenizer_class": ');
      await assert.rejects(loadTokenizer(dir), /tokenizer_config.json: not valid JSON/);
      await assert.rejects(
        loadTokenizer('emilyalsentzer/Bio_ClinicalBERT', { allowRemote: false }),
        (e: Error) => e instanceof FileFormatError && /no such tokenizer folder .*downloading it as a Hugging Face Hub id is disabled/.test(e.message),
      );
      await assert.rejects(loadTokenizer(path.join(dir, 'nope', 'x')), /no such tokenizer folder/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Joins WordPiece tokens back into words ("##" pieces glue to the previous one). */
function detokenize(pieces: string[]): string {
  return pieces.map((p) => (p.startsWith('##') ? p.slice(2) : ` ${p}`)).join('').trim();
}
