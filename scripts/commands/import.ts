/** `geoclr import`: turn a lab's ONNX model into a run folder that `geoclr train --init` fine-tunes. */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../src/errors.js';
import { initBackend } from '../../src/backend.js';
import type { Command } from '../cli.js';
import { parseDims } from './export.js';

const HELP = `usage: geoclr import --onnx FILE --out RUNDIR [options]

Checks that geoclr can run and train an ONNX model (e.g. from torch.onnx.export, opset <= 17) — every unsupported
operator is listed in one error —, then copies it to RUNDIR/model.onnx with RUNDIR/import.json describing how it
is wrapped as an encoder. Fine-tune it with: geoclr train --init RUNDIR …

  --onnx FILE                    the ONNX model
  --out RUNDIR                   the run folder to create
  --representation-output NAME   the value used as the representation (default: the output named
                                 'representation', else the first output; any inner value name works)
  --head DIMS                    a fresh MLP projection head: hidden widths then the output width, e.g. 256,128
                                 (default: none; the model's 'projection' output, if any, else the representation)
  --head-batchnorm               BatchNorm1d after each hidden layer of the head
  --seed N                       seed of the head's initialisation (default 0)
  --layout L                     layout of geoclr's data: channels-last (default; transposed to the model's
                                 channels-first input) | channels-first (fed as is)
  --representation-dim N         the representation's width, when the model does not say and its input sizes are
                                 dynamic
  --force                        replace a model already in RUNDIR

example: geoclr import --onnx lab_resnet.onnx --out runs/lab-init --head 256,128`;

function intFlag(text: string | undefined, flag: string, min: number): number | undefined {
  if (text == null) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(flag, `expected an integer ≥ ${min}, got '${text}'`);
  return n;
}

export const command: Command = {
  summary: 'check an ONNX model and make it a run folder for fine-tuning (--onnx FILE --out RUNDIR [--head DIMS])',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        onnx: { type: 'string' },
        out: { type: 'string' },
        'representation-output': { type: 'string' },
        head: { type: 'string' },
        'head-batchnorm': { type: 'boolean' },
        seed: { type: 'string' },
        layout: { type: 'string' },
        'representation-dim': { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    for (const flag of ['onnx', 'out'] as const) if (values[flag] == null) throw new ConfigError(`--${flag}`, 'is required (see geoclr import --help)');
    const layout = values.layout;
    if (layout != null && layout !== 'channels-last' && layout !== 'channels-first') {
      throw new ConfigError('--layout', `must be channels-last or channels-first, got '${layout}'`);
    }
    let head: { hidden: number[]; out: number; batchNorm: boolean } | null = null;
    if (values.head != null && values.head !== 'none') {
      const dims = parseDims(values.head, '--head');
      head = { hidden: dims.slice(0, -1), out: dims[dims.length - 1], batchNorm: values['head-batchnorm'] ?? false };
    } else if (values['head-batchnorm']) throw new ConfigError('--head-batchnorm', 'needs --head');
    await initBackend();
    const { importOnnxRun } = await import('../../interop/run-dir.js');
    const r = await importOnnxRun(values.onnx!, values.out!, {
      representationOutput: values['representation-output'],
      head,
      seed: intFlag(values.seed, '--seed', 0),
      layout: layout as 'channels-last' | 'channels-first' | undefined,
      representationDim: intFlag(values['representation-dim'], '--representation-dim', 1),
      force: values.force ?? false,
    });
    const io = (t: { name: string; onnxType: string; shape: (number | string | null)[] | null }) => `${t.name} ${t.onnxType} [${(t.shape ?? []).map((d) => d ?? '?').join(', ')}]`;
    console.log(`imported ${values.onnx} → ${values.out}/model.onnx (opset ${r.opset}, ${r.producer || 'unknown producer'}, ${r.parameters} trainable values)`);
    console.log(`  inputs:         ${r.inputs.map(io).join('; ')}  (forward() takes ${r.layout} data)`);
    console.log(`  representation: ${r.representationOutput} [batch, ${r.representationDim}]`);
    console.log(`  projection:     ${r.head ? `fresh MLP head ${[...r.head.hidden, r.head.out].join('→')} (seed ${r.seed})` : r.projectionOutput ?? 'the representation'} [batch, ${r.projectionDim}]`);
    console.log(`fine-tune it: geoclr train --init ${values.out} …`);
    return 0;
  },
};
