/** Where the files shipped with geoclr's text modality live (resolved from the compiled or the source module). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** `modalities/text/assets/` in the package (tsc does not copy assets into dist/, so look beside the sources). */
export function textAssetsDir(): string {
  const candidates = [path.join(here, 'assets'), path.resolve(here, '../../../modalities/text/assets')];
  return candidates.find((dir) => existsSync(dir)) ?? candidates[candidates.length - 1];
}

/** The shipped offline default tokenizer: bert-base-uncased WordPiece (see assets/bert-base-uncased/NOTICE). */
export function bertBaseUncasedDir(): string {
  return path.join(textAssetsDir(), 'bert-base-uncased');
}
