/** `geoclr ca --config FILE [--out DIR]`: one contrastive-analysis run (SepCLR, cVAE, MM-cVAE, SimCLR) from a config. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../../src/backend.js';
import { ConfigError } from '../../src/errors.js';
import { parseConfigFile } from '../../src/train/config.js';
import { resolveCARunConfig, runCAConfig } from '../ca/run-config.js';
import type { Command } from '../cli.js';

const HELP = `usage: geoclr ca --config FILE [--out DIR]

Contrastive analysis from a YAML or JSON config (README, "Contrastive analysis"; example:
scripts/configs/ca-sepclr-digits.yaml): trains SepCLR, cVAE, MM-cVAE or SimCLR on background + target samples
(digits on texture, or a brain cohort manifest), probes the common and salient spaces on held-out samples, and
writes the run folder: config.json, <name>-metrics.jsonl, results.json, model.safetensors, figures, report.html.

  --config FILE   the run config (.yaml, .yml or .json)
  --out DIR       run folder (default: the config's 'out', else runs/<name>)

example: geoclr ca --config scripts/configs/ca-sepclr-digits.yaml --out runs/sepclr-digits`;

export const command: Command = {
  summary: 'contrastive analysis (SepCLR, cVAE, MM-cVAE, SimCLR) from a config: common vs salient spaces, probes',
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!values.config) throw new ConfigError('--config', 'a contrastive-analysis config file is required (geoclr ca --help)');
    const config = resolveCARunConfig(parseConfigFile(values.config), { defaultName: path.basename(values.config).replace(/\.(ya?ml|json)$/i, '') });
    if (values.out) config.out = path.resolve(values.out);
    const backend = await initBackend();
    console.error(`geoclr ca: ${config.name} on ${backend.choice} → ${config.out}`);
    const r = await runCAConfig(config, { log: (m) => console.error(`geoclr ca: ${m}`) });
    const row = r.row;
    console.log(
      `held-out probes (${row.salient_metric} for ${row.salient_factor}, ${row.common_metric} for ${row.common_factor}): ` +
        `salient_from_salient ${row.salient_from_salient}, salient_from_common ${row.salient_from_common}, ` +
        `common_from_common ${row.common_from_common}, common_from_salient ${row.common_from_salient}; ` +
        `background ‖s‖ ${row.background_salient_norm}, HSIC ${row.hsic}; ${row.train_seconds} s training`,
    );
    console.log(`model:  ${r.modelFile}`);
    console.log(`report: ${r.reportFile}`);
    return 0;
  },
};
