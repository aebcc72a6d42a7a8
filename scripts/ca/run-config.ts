/**
 * A contrastive-analysis run from a YAML/JSON config (`geoclr ca --config FILE`): the method config of
 * `resolveContrastiveAnalysisConfig` at the top level, plus `name`, `out` and a `data` section naming the data set:
 *
 * ```yaml
 * name: sepclr-digits
 * out: runs/sepclr-digits              # default runs/<name>
 * data: { dataset: digits-on-texture, n: 2000, testFraction: 0.3 }   # or { dataset: cohort, manifest: cohort/manifest.tsv }
 *                                       # (a `split` column train/test in the manifest is used when present)
 * method: sepclr                        # sepclr | cvae | mm-cvae | simclr
 * encoder: { arch: convnet2d, widths: [16, 32, 64], pooling: flatten }
 * steps: 120
 * sepclr: { hsic: 100, mmdCommon: 100 }
 * ```
 *
 * The run folder (created, files replaced) gets config.json (resolved), metrics.jsonl (every logged term), results.json (the four probe
 * numbers and the rest of the demo's row), model.safetensors (the state dict), the figures (PNG, NIfTI for MRI)
 * and report.html.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { saveSafetensors } from '../../src/io/safetensors.js';
import { writeReport } from '../../src/report/page.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { geoclrVersion } from '../../src/version.js';
import { resolveContrastiveAnalysisConfig } from '../../src/contrastive-analysis/index.js';
import { checkKeys, number, object, oneOfValues, string, type Obj } from '../../src/train/schema.js';
import { cohortData, digitsData, runCAMethod, sizeMultiple, type CAData, type CARow } from './method-run.js';

export type CADataConfig = { dataset: 'digits-on-texture'; n: number; seed: number; testFraction: number } | { dataset: 'cohort'; manifest: string; testFraction: number; seed: number };

export interface CARunConfig {
  name: string;
  out: string;
  data: CADataConfig;
  /** The method config as written (validated); resolved with the data's shape as `encoder.inputShape` when absent. */
  model: Obj;
}

function resolveData(raw: unknown, seed: number, baseDir: string): CADataConfig {
  const d = object(raw, 'data');
  const dataset = oneOfValues(d.dataset, 'data.dataset', ['digits-on-texture', 'cohort'] as const);
  const testFraction = number(d.testFraction, 'data.testFraction', 0.3, { min: 0, exclusiveMin: true, max: 0.9 });
  const dataSeed = number(d.seed, 'data.seed', seed, { integer: true, min: 0 });
  if (dataset === 'digits-on-texture') {
    checkKeys(d, ['dataset', 'n', 'seed', 'testFraction'], 'data');
    return { dataset, n: number(d.n, 'data.n', 2000, { integer: true, min: 4 }), seed: dataSeed, testFraction };
  }
  checkKeys(d, ['dataset', 'manifest', 'seed', 'testFraction'], 'data');
  return { dataset, manifest: path.resolve(baseDir, string(d.manifest, 'data.manifest')), seed: dataSeed, testFraction };
}

function withInputShape(model: Obj, shape: number[]): Obj {
  const encoder = model.encoder;
  if (encoder == null || typeof encoder !== 'object' || Array.isArray(encoder) || 'inputShape' in encoder) return model;
  return { ...model, encoder: { ...encoder, inputShape: shape } };
}

/** Validates a run config; relative paths resolve against `baseDir`. */
export function resolveCARunConfig(raw: unknown, opts: { defaultName?: string; baseDir?: string } = {}): CARunConfig {
  const baseDir = opts.baseDir ?? process.cwd();
  const c = object(raw, 'config');
  const { name: rawName, out: rawOut, data: rawData, ...rest } = c as Obj;
  const name = rawName === undefined ? (opts.defaultName ?? 'ca') : string(rawName, 'name');
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new ConfigError('name', `must be letters, digits, '.', '_' or '-' (it names files), got ${JSON.stringify(name)}`);
  if (rawData === undefined) throw new ConfigError('data', "is required: { dataset: 'digits-on-texture', n } or { dataset: 'cohort', manifest }");
  const seed = number((rest as Obj).seed, 'seed', 0, { integer: true, min: 0 });
  const data = resolveData(rawData, seed, baseDir);
  // Validated now with a provisional input shape (the cohort's is known once read), resolved again at run time.
  resolveContrastiveAnalysisConfig(withInputShape(rest, data.dataset === 'cohort' ? [32, 32, 32] : [32, 32]));
  const out = path.resolve(baseDir, rawOut === undefined ? path.join('runs', name) : string(rawOut, 'out'));
  return { name, out, data, model: rest };
}

export interface CARunResult {
  row: CARow;
  out: string;
  modelFile: string;
  reportFile: string;
}

async function openData(cfg: CADataConfig, multipleOf: number, log: (m: string) => void): Promise<CAData> {
  if (cfg.dataset === 'digits-on-texture') return digitsData({ n: cfg.n, seed: cfg.seed, testFraction: cfg.testFraction });
  return cohortData(cfg.manifest, { testFraction: cfg.testFraction, seed: cfg.seed, multipleOf, log });
}

/** Trains, probes held-out samples, writes the run folder (see the module comment). */
export async function runCAConfig(cfg: CARunConfig, opts: { log?: (m: string) => void } = {}): Promise<CARunResult> {
  const log = opts.log ?? (() => {});
  const multipleOf = sizeMultiple({ decoderWidths: cfg.model.decoderWidths as number[] | undefined, encoder: cfg.model.encoder });
  const data = await openData(cfg.data, multipleOf, log);
  const model = resolveContrastiveAnalysisConfig(withInputShape(cfg.model, data.ds.shape));
  mkdirSync(cfg.out, { recursive: true });
  await writeFileAtomic(path.join(cfg.out, 'config.json'), JSON.stringify({ name: cfg.name, data: cfg.data, ...model, geoclr_version: geoclrVersion() }, null, 2) + '\n');
  log(`${cfg.name}: ${model.method} on ${data.ds.name} (${data.split.train.length} training / ${data.split.test.length} held-out samples), ${model.steps} steps × ${model.batchSize}`);
  const r = runCAMethod(data, model, { name: cfg.name, label: `${cfg.name} (${model.method})`, dir: cfg.out, seed: model.seed });
  try {
    const modelFile = path.join(cfg.out, 'model.safetensors');
    await saveSafetensors(modelFile, r.fit.method.model.stateDict(), { 'geoclr.contrastive_analysis': JSON.stringify(model), 'geoclr.input': JSON.stringify({ shape: data.ds.shape, channels: 1 }) });
    await writeFileAtomic(path.join(cfg.out, 'results.json'), JSON.stringify(r.row, null, 2) + '\n');
    const reportFile = await writeReport(cfg.out, {
      title: `geoclr contrastive analysis ${cfg.name}`,
      subtitle: `${model.method} on ${data.ds.name}`,
      info: { steps: model.steps, 'batch size': model.batchSize, 'training seconds': r.row.train_seconds, 'samples/s': r.row.samples_per_second, seed: model.seed },
      metrics: false,
      sections: [
        {
          title: 'Held-out probes',
          blocks: [
            { type: 'table', rows: [{ salient_from_salient: r.row.salient_from_salient, salient_from_common: r.row.salient_from_common, common_from_common: r.row.common_from_common, common_from_salient: r.row.common_from_salient, background_salient_norm: r.row.background_salient_norm, hsic: r.row.hsic }] },
            r.curve,
          ],
        },
        { title: 'Figures', blocks: r.figures },
      ],
    });
    return { row: r.row, out: cfg.out, modelFile, reportFile };
  } finally {
    r.fit.method.model.dispose();
  }
}
