/**
 * `geoclr embed --run DIR --data MANIFEST_OR_COHORT --out FILE`: the representations of a trained model for every
 * session of a cohort, as an INTEROP.md embedding table (`.arrow` or `.parquet`, by extension).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../../src/backend.js';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { sha256File } from '../../src/io/safetensors.js';
import { dataModality, resolveDataConfig } from '../../src/train/data.js';
import { embedAll } from '../../src/train/embed.js';
import { tableFormatOf } from '../../interop/embeddings.js';
import { loadInitModel } from '../train/init-model.js';
import { writeEmbeddingSet } from '../train/tables.js';
import '../train/modalities.js';
import type { Command } from '../cli.js';

const HELP = `usage: geoclr embed --run DIR --data MANIFEST_OR_COHORT --out FILE.arrow|FILE.parquet [options]

Embeds every session of a cohort with the model of a finished run (DIR/model.safetensors), preprocessing the
volumes exactly as in training (no augmentation), and writes one row per session: subject_id, session_id,
modality, embedding, and every metadata column of the manifest; the schema metadata 'geoclr' names the model,
its weights' sha256, the objective and the source manifest.

  --run DIR          a finished run folder (geoclr train)
  --data PATH        a cohort folder (BIDS / geoclr synth) or a manifest (.tsv, .csv, .arrow)
  --out FILE         .arrow (Arrow IPC / Feather v2) or .parquet (zstd)
  --output KIND      representation (default) | projection
  --batch-size N     volumes per forward pass (default 16)

example: geoclr embed --run runs/yaware --data cohort/ --out yaware.parquet`;

export const command: Command = {
  summary: "embed a cohort with a trained run's model → Arrow/Parquet embedding table",
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        run: { type: 'string' },
        data: { type: 'string' },
        out: { type: 'string' },
        output: { type: 'string', default: 'representation' },
        'batch-size': { type: 'string', default: '16' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!values.run) throw new ConfigError('--run', 'a run folder is required (geoclr embed --help)');
    if (!values.data) throw new ConfigError('--data', 'a cohort folder or manifest is required');
    if (!values.out) throw new ConfigError('--out', 'an output file (.arrow or .parquet) is required');
    tableFormatOf(values.out); // the extension is checked before any work
    const output = values.output;
    if (output !== 'representation' && output !== 'projection') throw new ConfigError('--output', `must be representation or projection, got '${output}'`);
    const batchSize = Number(values['batch-size']);
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new ConfigError('--batch-size', `must be a positive integer, got '${values['batch-size']}'`);
    await initBackend();
    const runDir = path.resolve(values.run);
    const init = await loadInitModel(runDir, '--run');
    const data = init.metadata['geoclr.data'] as Record<string, unknown> | undefined;
    if (data == null || typeof data.modality !== 'string') {
      throw new FileFormatError(init.file, "has no 'geoclr.data' metadata (modality and preprocessing); it was not written by geoclr train");
    }
    const section = resolveDataConfig({ modality: data.modality, manifest: path.resolve(values.data), preprocess: data.preprocess, augment: 'none' }, process.cwd());
    const source = await dataModality(data.modality).openEmbed(section, { batchSize });
    try {
      const set = await embedAll(init.model, source, { output });
      const run = (init.metadata['geoclr.run'] ?? {}) as { name?: string };
      const encoder = init.metadata['geoclr.encoder'] as { arch?: string } | undefined;
      await writeEmbeddingSet(values.out, set, {
        modality: source.modality,
        metadata: {
          model: `${run.name ?? path.basename(runDir)} (${encoder?.arch ?? 'encoder'})`,
          weights_sha256: await sha256File(init.file),
          loss: (init.metadata['geoclr.objective'] as { name: string } | undefined) ?? null,
          manifest: source.origin,
          run: runDir,
          output,
          input: init.metadata['geoclr.input'] ?? null,
        },
      });
      console.log(`wrote ${set.n} embeddings (${set.dim}-d ${output}) to ${values.out}`);
    } finally {
      await source.close();
      init.model.dispose();
    }
    return 0;
  },
};
