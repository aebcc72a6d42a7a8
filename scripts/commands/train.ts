/** `geoclr train --config FILE [--resume] [--init RUNDIR] [--out DIR]`: a training run from a YAML/JSON config. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../../src/backend.js';
import { ConfigError } from '../../src/errors.js';
import { readTrainConfig } from '../../src/train/config.js';
import { runTraining } from '../../src/train/run.js';
import { loadInitModel, runModelSaver } from '../train/init-model.js';
import '../train/modalities.js';
import type { Command } from '../cli.js';

const HELP = `usage: geoclr train --config FILE [--resume] [--init RUNDIR] [--out DIR]

Trains from a YAML or JSON config (see the README, "Training and the demo", and scripts/configs/).
Writes the run folder: config.json, metrics.jsonl, checkpoints/, model.safetensors, report.html.

  --config FILE     the training config (.yaml, .yml or .json)
  --out DIR         run folder (default: the config's 'out', else runs/<name>)
  --resume          continue the run in the folder from its last checkpoint (bit for bit)
  --init RUNDIR     start from the model of a finished run (RUNDIR/model.safetensors)
  --max-steps N     stop after N steps; the run stays resumable
  --no-progress     no progress bar

example: geoclr train --config scripts/configs/yaware-fairkl.yaml --out runs/yaware`;

export const command: Command = {
  summary: 'train an encoder from a YAML/JSON config (contrastive objectives, checkpoints, --resume, report)',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        out: { type: 'string' },
        resume: { type: 'boolean', default: false },
        init: { type: 'string' },
        'max-steps': { type: 'string' },
        'no-progress': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!values.config) throw new ConfigError('--config', 'a training config file is required (geoclr train --help)');
    let maxSteps: number | undefined;
    if (values['max-steps'] != null) {
      maxSteps = Number(values['max-steps']);
      if (!(Number.isInteger(maxSteps) && maxSteps >= 1)) throw new ConfigError('--max-steps', `must be a positive integer, got '${values['max-steps']}'`);
    }
    const config = readTrainConfig(values.config);
    if (values.out) config.out = path.resolve(values.out);
    if (values.init) config.init = path.resolve(values.init);
    const backend = await initBackend();
    const init = config.init ? await loadInitModel(config.init) : null;
    console.error(`geoclr train: ${config.name} on ${backend.choice} → ${config.out}${init ? ` (init: ${init.file})` : ''}`);
    const r = await runTraining({ config, resume: values.resume, init: init?.model ?? null, saveModel: runModelSaver(init), progress: !values['no-progress'], maxSteps });
    const t = r.train;
    const done = t.complete ? 'done' : `stopped at step ${t.steps} of ${t.totalSteps} (resumable with --resume)`;
    console.log(`${done}: ${t.steps} steps in ${t.seconds.toFixed(1)} s, ${t.samplesPerSecond.toFixed(1)} samples/s, last loss ${t.loss?.toFixed(4) ?? '—'}`);
    if (r.modelFile) console.log(`model:  ${r.modelFile}`);
    if (r.reportFile) console.log(`report: ${r.reportFile}`);
    return 0;
  },
};
